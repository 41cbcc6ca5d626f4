/* SPDX-License-Identifier: MIT */
/*
 * Backoff schedule: doubling delays, a cap, and multiplicative jitter from
 * a xorshift64 generator (enough to spread retries; not for secrets).
 */
#include "common/backoff.h"

#define BACKOFF_DEFAULT_SEED 0x9e3779b97f4a7c15ull

void backoff_init(struct backoff *b, uint64_t initial_usec, uint64_t max_usec,
		  unsigned jitter_percent, uint64_t seed)
{
	b->initial_usec = initial_usec;
	b->max_usec = max_usec < initial_usec ? initial_usec : max_usec;
	b->jitter_percent = jitter_percent > 100 ? 100 : jitter_percent;
	b->attempt = 0;
	b->random = seed ? seed : BACKOFF_DEFAULT_SEED;
}

static uint64_t next_random(struct backoff *b)
{
	uint64_t x = b->random;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	b->random = x;
	return x;
}

uint64_t backoff_jitter(struct backoff *b, uint64_t base, unsigned percent)
{
	uint64_t spread = base / 100 * percent;
	uint64_t offset;

	if (spread == 0)
		return base;

	/* Uniform in [base - spread, base + spread]. */
	offset = next_random(b) % (2 * spread + 1);
	return base - spread + offset;
}

uint64_t backoff_next(struct backoff *b)
{
	uint64_t delay = b->initial_usec;

	for (unsigned i = 0; i < b->attempt && delay < b->max_usec; i++)
		delay *= 2;

	if (delay > b->max_usec)
		delay = b->max_usec;

	b->attempt++;
	return backoff_jitter(b, delay, b->jitter_percent);
}

void backoff_reset(struct backoff *b)
{
	b->attempt = 0;
}
