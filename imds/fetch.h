/* SPDX-License-Identifier: MIT */
/*
 * Reading one ENI's record: the MAC's key listing, then its keys, all
 * requested concurrently, each parsed strictly.
 *
 * The result starts from the caller's last record and takes only what was
 * read and parsed successfully: a key whose request failed, or whose value
 * is malformed, keeps its previous value and is marked failed. A 404 means
 * "none" only for keys that are absent when empty (ipv6s, the prefix
 * keys, subnet-ipv6-cidr-blocks and network-card); for the others it
 * means "not there yet" and leaves the key as it was.
 */
#ifndef ENID_IMDS_FETCH_H
#define ENID_IMDS_FETCH_H

#include <stdbool.h>

#include "common/eni.h"
#include "imds/imds.h"

enum eni_fetch_mode {
	/* The key listing, then every listed key. */
	ENI_FETCH_FULL,
	/* The keys whose values change after attach: addresses, prefixes. */
	ENI_FETCH_ADDRESSES,
};

struct eni_fetch_result {
	struct eni_record record;
	/* Bit (1 << eni_key) per key whose read or parse failed. */
	unsigned failed_keys;
	bool listing_failed;
	/* The first failure, for status and logs ("" when none). */
	char error[192];
};

struct eni_fetch;

typedef void (*eni_fetch_callback)(const struct eni_fetch_result *result,
				   void *userdata);

/*
 * Starts reading the ENI of base->mac, merging into a copy of base. The
 * callback runs once, from the event loop, after every request finished,
 * unless the fetch is cancelled first. Malformed values are logged as
 * warnings naming the MAC and key. Returns NULL when out of memory.
 */
struct eni_fetch *eni_fetch_start(struct imds_client *client,
				  const struct eni_record *base,
				  enum eni_fetch_mode mode,
				  eni_fetch_callback callback, void *userdata);

/* Cancels every request of the fetch; the callback will not run. */
void eni_fetch_cancel(struct eni_fetch *fetch);

#endif
