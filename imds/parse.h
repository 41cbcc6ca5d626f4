/* SPDX-License-Identifier: MIT */
/*
 * Strict parsers of metadata values. They do no I/O and keep no state, so
 * unit tests and fuzz targets call them directly.
 *
 * Common rules: a body is printable ASCII in lines separated by LF; a CR
 * before an LF, blank lines and a missing final newline are tolerated;
 * NUL bytes, other control characters, non-ASCII bytes, overlong lines
 * and overlong lists are rejected. Spaces are not trimmed, so a value
 * such as "10.0.1.5 " is invalid. Every parser returns 0 or -EINVAL and
 * writes its outputs only on success; on failure *why (when not NULL)
 * points to a static or caller-owned explanation for the warning.
 */
#ifndef ENID_IMDS_PARSE_H
#define ENID_IMDS_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/netobj.h"

/* Longest line accepted in any value or listing. */
#define IMDS_MAX_LINE 256
/* Most entries in a directory listing (macs/ or a MAC's keys). */
#define IMDS_MAX_LISTING 256

/* Room for an explanation such as "line 3: duplicate 10.0.1.20". */
#define IMDS_WHY_LEN 160

struct imds_why {
	char text[IMDS_WHY_LEN];
};

/* A decimal integer on one line, at most max. */
int imds_parse_uint(const char *body, size_t length, uint32_t max,
		    uint32_t *out, struct imds_why *why);

/* A MAC address on one line; either case is accepted. */
int imds_parse_mac(const char *body, size_t length, uint8_t mac[MAC_LEN],
		   struct imds_why *why);

/* An ENI id on one line: "eni-" and 8 or 17 lowercase hex digits. */
int imds_parse_eni_id(const char *body, size_t length, char *out,
		      size_t size, struct imds_why *why);

/*
 * A list of bare addresses of the family, one per line, in order; at
 * least one and at most max, without duplicates. Each is stored with the
 * family's full prefix length.
 */
int imds_parse_addresses(const char *body, size_t length, int family,
			 struct ip_prefix *out, size_t max, size_t *count,
			 struct imds_why *why);

/*
 * A list of CIDR blocks of the family, one per line; at least one and at
 * most max, without duplicates and without host bits. Any textual form
 * inet_pton accepts (uncompressed IPv6 too) is accepted.
 */
int imds_parse_prefixes(const char *body, size_t length, int family,
			struct ip_prefix *out, size_t max, size_t *count,
			struct imds_why *why);

/*
 * A directory listing: calls entry(name, is_directory, userdata) for each
 * line, with any trailing '/' removed and is_directory set. Names must be
 * non-empty and must not contain '/' otherwise. Returns -EINVAL before
 * calling entry at all when the body is malformed, or the first negative
 * value entry returns.
 */
typedef int (*imds_listing_fn)(const char *name, int is_directory,
			       void *userdata);
int imds_parse_listing(const char *body, size_t length, imds_listing_fn entry,
		       void *userdata, struct imds_why *why);

#endif
