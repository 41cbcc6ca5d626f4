/* SPDX-License-Identifier: MIT */
/*
 * Exponential backoff with jitter, as a pure function of its state, so
 * the schedule is tested on a fake clock with a fixed seed.
 */
#ifndef ENID_COMMON_BACKOFF_H
#define ENID_COMMON_BACKOFF_H

#include <stdint.h>

struct backoff {
	uint64_t initial_usec;	/* first delay */
	uint64_t max_usec;	/* cap on the delay before jitter */
	unsigned jitter_percent; /* each delay is scaled by 1 +- this / 100 */
	unsigned attempt;	/* delays handed out so far */
	uint64_t random;	/* PRNG state; any value but 0 */
};

/* Starts a schedule; seed 0 is replaced by a fixed non-zero value. */
void backoff_init(struct backoff *b, uint64_t initial_usec, uint64_t max_usec,
		  unsigned jitter_percent, uint64_t seed);

/* Returns the next delay: initial * 2^attempt, capped, then jittered. */
uint64_t backoff_next(struct backoff *b);

/* Starts the schedule over at the initial delay. */
void backoff_reset(struct backoff *b);

/* Returns a delay of base scaled by a random factor in 1 +- percent / 100. */
uint64_t backoff_jitter(struct backoff *b, uint64_t base, unsigned percent);

#endif
