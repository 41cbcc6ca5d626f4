/* SPDX-License-Identifier: MIT */
/*
 * The reconciler: compares the desired objects with what the kernel contains
 * and returns the operations that make the kernel match. A pure function.
 *
 * Only objects marked as enid's are ever deleted: routes and rules with
 * enid's protocol number inside its table, priority and metric ranges,
 * and addresses with its protocol number. Foreign objects that share a
 * priority or a table are left alone. An owned object is kept when it
 * belongs to a link whose metadata is not known yet (after a restart,
 * while the service is slow), and deleted when it belongs to a known ENI
 * that no longer wants it or to no link at all (a detached ENI's rules).
 */
#ifndef ENID_DAEMON_RECONCILE_H
#define ENID_DAEMON_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/netobj.h"
#include "daemon/config.h"

struct reconcile_input {
	const struct settings *settings;
	/* ADD operations from the planner, for every known ENI. */
	const struct net_op_list *desired;
	/* Fresh dump: links, all addresses, owned routes, all rules. */
	const struct net_state *kernel;
	/* Links whose ENI is known (their objects follow desired). */
	const int *known_links;
	size_t n_known_links;
	/* Tables of the known ENIs. */
	const uint32_t *known_tables;
	size_t n_known_tables;
};

/* Returns true when the rule carries enid's marks. */
bool reconcile_rule_is_owned(const struct settings *s,
			     const struct net_rule *rule);

/* Returns true when the route carries enid's marks. */
bool reconcile_route_is_owned(const struct settings *s,
			      const struct net_route *route);

/* Returns true when the address carries enid's protocol. */
bool reconcile_addr_is_owned(const struct settings *s,
			     const struct net_addr *addr);

/*
 * Appends to ops, in the order they must be sent: link settings, then
 * deletions (rules, routes, addresses), then additions (addresses,
 * routes on the link, routes via a gateway, rules). Returns 0 or -ENOMEM.
 */
int reconcile(const struct reconcile_input *in, struct net_op_list *ops);

#endif
