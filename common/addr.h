/* SPDX-License-Identifier: MIT */
/*
 * IPv4 and IPv6 addresses and prefixes as plain values.
 *
 * Every module passes addresses in these types, so the metadata parsers,
 * the planner and the netlink layer agree on one binary form and compare
 * addresses by value, never as text.
 */
#ifndef ENID_COMMON_ADDR_H
#define ENID_COMMON_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest text form of either family, with room for "/128". */
#define IP_PREFIX_STRLEN (INET6_ADDRSTRLEN + 4)

union ip_addr {
	struct in_addr in;
	struct in6_addr in6;
};

/* An address with a prefix length; a bare address has the full length. */
struct ip_prefix {
	int family; /* AF_INET or AF_INET6 */
	union ip_addr addr;
	uint8_t len;
};

/* Returns 32 or 128 for the family, 0 for any other. */
unsigned ip_family_bits(int family);

/* Returns true when both addresses of the family are bitwise equal. */
bool ip_addr_equal(int family, const union ip_addr *a, const union ip_addr *b);

/* Returns true when family, address and length are equal. */
bool ip_prefix_equal(const struct ip_prefix *a, const struct ip_prefix *b);

/* Returns true when the address has bits set beyond the prefix length. */
bool ip_prefix_has_host_bits(const struct ip_prefix *p);

/* Returns true when prefix p covers the address of the same family. */
bool ip_prefix_contains(const struct ip_prefix *p, int family,
			const union ip_addr *addr);

/*
 * Stores in out the address of p plus n (the VPC router of an IPv4
 * subnet is its base + 1). Returns -ERANGE when the result leaves p.
 */
int ip_prefix_nth(const struct ip_prefix *p, uint32_t n, union ip_addr *out);

/*
 * Parses a bare address of the family (AF_UNSPEC accepts either) with
 * inet_pton. Returns 0, or -EINVAL; out is written only on success.
 */
int ip_addr_parse(const char *text, int family, struct ip_prefix *out);

/*
 * Parses "address/length" of the family (AF_UNSPEC accepts either). The
 * length is decimal without sign or leading zeros and must not exceed the
 * family's width. Host bits are accepted here; callers that forbid them
 * check ip_prefix_has_host_bits(). Returns 0 or -EINVAL.
 */
int ip_prefix_parse(const char *text, int family, struct ip_prefix *out);

/* Formats an address ("10.0.1.20") into buf of at least IP_PREFIX_STRLEN. */
const char *ip_addr_format(int family, const union ip_addr *addr, char *buf);

/* Formats "address/length" into buf of at least IP_PREFIX_STRLEN. */
const char *ip_prefix_format(const struct ip_prefix *p, char *buf);

#endif
