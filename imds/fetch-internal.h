/* SPDX-License-Identifier: MIT */
/*
 * The fetch's merge steps on their own, without the metadata client: a
 * reply is applied to a result exactly as a running fetch applies it.
 * Only the fuzz target (tests/fuzz/fuzz_fetch.c) calls these, because
 * the daemon uses fetch.h.
 */
#ifndef ENID_IMDS_FETCH_INTERNAL_H
#define ENID_IMDS_FETCH_INTERNAL_H

#include <stdint.h>

#include "imds/fetch.h"

/* Merges one key's reply (200, 404 or failure) into result. */
void eni_fetch_merge_key(struct eni_fetch_result *result, enum eni_key key,
			 const struct imds_reply *reply);

/*
 * Applies a key listing reply to result and stores the listed keys in
 * *listed. Returns 0, or -EIO or -EINVAL with listing_failed set.
 */
int eni_fetch_merge_listing(struct eni_fetch_result *result,
			    const struct imds_reply *reply, uint32_t *listed);

#endif
