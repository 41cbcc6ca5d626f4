/* SPDX-License-Identifier: MIT */
/*
 * One reconcile pass: dump the kernel, plan every known ENI, compare, and
 * apply the difference (or print it under --dry-run).
 */
#ifndef ENID_DAEMON_APPLY_H
#define ENID_DAEMON_APPLY_H

#include <stdbool.h>
#include <stddef.h>

struct manager;

struct apply_result {
	size_t changes;		/* operations sent (or printed) */
	size_t failures;	/* operations the kernel rejected */
	bool repaired;		/* a known ENI lost objects it had */
};

/*
 * Runs one pass and reports each link's outcome to it. Returns 0, or a
 * negative errno when the kernel could not be read (nothing is changed
 * then).
 */
int apply_reconcile(struct manager *m, struct apply_result *result);

/*
 * Dumps the kernel and returns in *pending how many changes a pass would
 * make now, without making them (used to verify a one-shot run).
 */
int apply_count_pending(struct manager *m, size_t *pending);

#endif
