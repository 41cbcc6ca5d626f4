/* SPDX-License-Identifier: MIT */
/*
 * The reconciler: desired objects versus the kernel's, as a mark and
 * sweep over enid's own objects. Objects are matched by exact value, so
 * a foreign object that shares a priority or a table never matches, and
 * an unchanged desired set yields no operation at all.
 */
#include "daemon/reconcile.h"

#include <errno.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/planner.h"

/* The highest table or priority offset: card 15, device 99. */
#define OWNED_SPAN (100 * (CONFIG_MAX_CARDS - 1) + CONFIG_MAX_DEVICES)

bool reconcile_rule_is_owned(const struct settings *s,
			     const struct net_rule *rule)
{
	uint32_t first = s->table_base - 1;

	return rule->protocol == s->protocol && rule->priority >= first &&
	       rule->priority < s->table_base + OWNED_SPAN;
}

static bool in_table_range(const struct settings *s, uint32_t table)
{
	return table >= s->table_base && table < s->table_base + OWNED_SPAN;
}

bool reconcile_route_is_owned(const struct settings *s,
			      const struct net_route *route)
{
	if (route->protocol != s->protocol)
		return false;

	/* Routes in main and local (delegated prefixes) carry an ENI's
	 * metric; routes in enid's tables are marked by the table. */
	if (route->table == RT_TABLE_MAIN || route->table == RT_TABLE_LOCAL)
		return route->metric >= s->metric_base &&
		       route->metric < s->metric_base + OWNED_SPAN;

	return in_table_range(s, route->table);
}

bool reconcile_addr_is_owned(const struct settings *s,
			     const struct net_addr *addr)
{
	return addr->protocol == s->protocol;
}

/* Working state of one reconcile() call. */
struct reconcile_run {
	const struct reconcile_input *in;
	const struct net_op_list *desired;
	bool *present;		/* per desired op: the kernel has it */
	/*
	 * Desired ops chained by the hash of their identity, so matching a
	 * dump of thousands of objects stays linear: buckets[h] is the first
	 * op of a chain, chain[i] the next one (SIZE_MAX ends it).
	 */
	size_t *buckets;
	size_t *chain;
	size_t n_buckets;	/* a power of two */
	struct net_op_list deletions;
	struct net_op_list *ops;
};

static const void *op_object(const struct net_op *op)
{
	switch (op->type) {
	case NET_OBJECT_ADDR:
		return &op->addr;
	case NET_OBJECT_ROUTE:
		return &op->route;
	case NET_OBJECT_RULE:
		return &op->rule;
	case NET_OBJECT_LINK:
		break;
	}

	return &op->link.ifindex;
}

static int index_desired(struct reconcile_run *run)
{
	size_t count = run->desired->count;

	run->n_buckets = 16;
	while (run->n_buckets < 2 * count)
		run->n_buckets *= 2;

	run->buckets = malloc(run->n_buckets * sizeof(size_t));
	run->chain = malloc((count + 1) * sizeof(size_t));
	if (!run->buckets || !run->chain)
		return -ENOMEM;

	memset(run->buckets, 0xff, run->n_buckets * sizeof(size_t));
	/* Chains keep the desired order, so the first unmatched op wins. */
	for (size_t i = count; i-- > 0;) {
		const struct net_op *op = &run->desired->ops[i];
		size_t bucket = net_object_hash(op->type, op_object(op)) &
				(run->n_buckets - 1);

		run->chain[i] = run->buckets[bucket];
		run->buckets[bucket] = i;
	}

	return 0;
}

static bool link_exists(const struct reconcile_run *run, int ifindex)
{
	return net_state_find_link(run->in->kernel, ifindex) != NULL;
}

static bool link_known(const struct reconcile_run *run, int ifindex)
{
	for (size_t i = 0; i < run->in->n_known_links; i++) {
		if (run->in->known_links[i] == ifindex)
			return true;
	}

	return false;
}

static bool table_known(const struct reconcile_run *run, uint32_t table)
{
	for (size_t i = 0; i < run->in->n_known_tables; i++) {
		if (run->in->known_tables[i] == table)
			return true;
	}

	return false;
}

/* An object on a present link whose ENI is not known yet is kept. */
static bool link_protected(const struct reconcile_run *run, int ifindex)
{
	return ifindex > 0 && link_exists(run, ifindex) &&
	       !link_known(run, ifindex);
}

static int delete_object(struct reconcile_run *run, enum net_object_type type,
			 int owner, const void *object)
{
	struct net_op op = {.kind = NET_OP_DELETE, .type = type,
			    .owner = owner};

	switch (type) {
	case NET_OBJECT_ADDR:
		op.addr = *(const struct net_addr *)object;
		break;
	case NET_OBJECT_ROUTE:
		op.route = *(const struct net_route *)object;
		break;
	case NET_OBJECT_RULE:
		op.rule = *(const struct net_rule *)object;
		break;
	case NET_OBJECT_LINK:
		return -EINVAL;
	}

	return net_op_list_append(&run->deletions, &op);
}

/* Marks the first unmatched desired op equal to a kernel object. */
static bool mark_desired(struct reconcile_run *run, enum net_object_type type,
			 bool (*equal)(const struct net_op *, const void *),
			 const void *object)
{
	size_t bucket = net_object_hash(type, object) & (run->n_buckets - 1);

	for (size_t i = run->buckets[bucket]; i != SIZE_MAX; i = run->chain[i]) {
		const struct net_op *op = &run->desired->ops[i];

		if (op->type != type || run->present[i] || !equal(op, object))
			continue;

		run->present[i] = true;
		return true;
	}

	return false;
}

static bool rule_matches(const struct net_op *op, const void *object)
{
	return net_rule_equal(&op->rule, object);
}

static bool route_matches(const struct net_op *op, const void *object)
{
	return net_route_equal(&op->route, object);
}

/* An owned address must match in prefix length too. */
static bool owned_addr_matches(const struct net_op *op, const void *object)
{
	const struct net_addr *addr = object;

	return net_addr_same(&op->addr, addr) &&
	       op->addr.local.len == addr->local.len;
}

static bool any_addr_matches(const struct net_op *op, const void *object)
{
	return net_addr_same(&op->addr, object);
}

/* Returns the link a rule belongs to: the holder of its source address,
 * or the device of a route in its table. 0 when none is found. */
static int rule_link(const struct reconcile_run *run,
		     const struct net_rule *rule)
{
	const struct net_state *kernel = run->in->kernel;

	for (size_t i = 0; rule->src.family && i < kernel->n_addrs; i++) {
		const struct net_addr *addr = &kernel->addrs[i];

		if (addr->local.family == rule->src.family &&
		    ip_addr_equal(rule->src.family, &addr->local.addr,
				  &rule->src.addr))
			return addr->ifindex;
	}

	for (size_t i = 0; i < kernel->n_routes; i++) {
		const struct net_route *route = &kernel->routes[i];

		if (route->table == rule->table && route->oif > 0 &&
		    link_exists(run, route->oif))
			return route->oif;
	}

	return 0;
}

static int sweep_rules(struct reconcile_run *run)
{
	const struct settings *s = run->in->settings;
	const struct net_state *kernel = run->in->kernel;

	for (size_t i = 0; i < kernel->n_rules; i++) {
		const struct net_rule *rule = &kernel->rules[i];
		int ifindex;

		if (!reconcile_rule_is_owned(s, rule))
			continue;
		if (mark_desired(run, NET_OBJECT_RULE, rule_matches, rule))
			continue;

		ifindex = rule_link(run, rule);
		if (!table_known(run, rule->table) &&
		    link_protected(run, ifindex))
			continue;

		if (delete_object(run, NET_OBJECT_RULE, ifindex, rule) < 0)
			return -ENOMEM;
	}

	return 0;
}

static int sweep_routes(struct reconcile_run *run)
{
	const struct settings *s = run->in->settings;
	const struct net_state *kernel = run->in->kernel;

	for (size_t i = 0; i < kernel->n_routes; i++) {
		const struct net_route *route = &kernel->routes[i];

		if (!reconcile_route_is_owned(s, route))
			continue;
		if (mark_desired(run, NET_OBJECT_ROUTE, route_matches, route))
			continue;
		if (link_protected(run, route->oif))
			continue;

		if (delete_object(run, NET_OBJECT_ROUTE, route->oif, route) < 0)
			return -ENOMEM;
	}

	return 0;
}

static int sweep_addresses(struct reconcile_run *run)
{
	const struct settings *s = run->in->settings;
	const struct net_state *kernel = run->in->kernel;

	for (size_t i = 0; i < kernel->n_addrs; i++) {
		const struct net_addr *addr = &kernel->addrs[i];

		if (!reconcile_addr_is_owned(s, addr)) {
			/* A foreign address satisfies a desired one. */
			mark_desired(run, NET_OBJECT_ADDR, any_addr_matches,
				     addr);
			continue;
		}

		if (mark_desired(run, NET_OBJECT_ADDR, owned_addr_matches,
				 addr))
			continue;
		if (link_protected(run, addr->ifindex) ||
		    !link_exists(run, addr->ifindex))
			continue;

		if (delete_object(run, NET_OBJECT_ADDR, addr->ifindex, addr) <
		    0)
			return -ENOMEM;
	}

	return 0;
}

/* Returns the change a link needs, or false when it has its settings. */
static bool link_change_needed(const struct net_link_change *want,
			       const struct net_link *link,
			       struct net_link_change *change)
{
	*change = (struct net_link_change){.ifindex = want->ifindex};

	change->set_up = want->set_up && !(link->flags & IFF_UP);
	if (want->mtu && link->mtu != want->mtu)
		change->mtu = want->mtu;
	if (want->set_group && link->group != want->group) {
		change->set_group = true;
		change->group = want->group;
	}
	/* Only a reported 0 is changed, so an unchanged link gets nothing. */
	change->promote_secondaries = want->promote_secondaries &&
				      link->promote_secondaries == 0;
	change->ignore_ra_default = want->ignore_ra_default &&
				    link->accept_ra_defrtr > 0;

	return change->set_up || change->mtu || change->set_group ||
	       change->promote_secondaries || change->ignore_ra_default;
}

static int emit_link_changes(struct reconcile_run *run)
{
	for (size_t i = 0; i < run->desired->count; i++) {
		const struct net_op *want = &run->desired->ops[i];
		const struct net_link *link;
		struct net_op op;

		if (want->type != NET_OBJECT_LINK)
			continue;

		link = net_state_find_link(run->in->kernel, want->link.ifindex);
		if (!link)
			continue;

		op = *want;
		if (!link_change_needed(&want->link, link, &op.link))
			continue;
		if (net_op_list_append(run->ops, &op) < 0)
			return -ENOMEM;
	}

	return 0;
}

static int emit_deletions(struct reconcile_run *run,
			  enum net_object_type type)
{
	for (size_t i = 0; i < run->deletions.count; i++) {
		const struct net_op *op = &run->deletions.ops[i];

		if (op->type == type && net_op_list_append(run->ops, op) < 0)
			return -ENOMEM;
	}

	return 0;
}

/* Additions go in dependency order; stage selects one group. */
enum add_stage {
	ADD_STAGE_ADDRESSES,
	ADD_STAGE_LINK_ROUTES,
	ADD_STAGE_GATEWAY_ROUTES,
	ADD_STAGE_RULES,
};

static bool op_in_stage(const struct net_op *op, enum add_stage stage)
{
	switch (stage) {
	case ADD_STAGE_ADDRESSES:
		return op->type == NET_OBJECT_ADDR;
	case ADD_STAGE_LINK_ROUTES:
		return op->type == NET_OBJECT_ROUTE && !op->route.gateway.family;
	case ADD_STAGE_GATEWAY_ROUTES:
		return op->type == NET_OBJECT_ROUTE && op->route.gateway.family;
	case ADD_STAGE_RULES:
		return op->type == NET_OBJECT_RULE;
	}

	return false;
}

static int emit_additions(struct reconcile_run *run, enum add_stage stage)
{
	for (size_t i = 0; i < run->desired->count; i++) {
		const struct net_op *op = &run->desired->ops[i];

		if (run->present[i] || op->keep_only || !op_in_stage(op, stage))
			continue;
		if (op->owner && !link_exists(run, op->owner))
			continue;
		if (net_op_list_append(run->ops, op) < 0)
			return -ENOMEM;
	}

	return 0;
}

static int emit_all(struct reconcile_run *run)
{
	static const enum net_object_type deletion_order[] = {
		NET_OBJECT_RULE, NET_OBJECT_ROUTE, NET_OBJECT_ADDR};
	static const enum add_stage addition_order[] = {
		ADD_STAGE_ADDRESSES, ADD_STAGE_LINK_ROUTES,
		ADD_STAGE_GATEWAY_ROUTES, ADD_STAGE_RULES};
	int r = emit_link_changes(run);

	for (size_t i = 0; r == 0 && i < 3; i++)
		r = emit_deletions(run, deletion_order[i]);

	for (size_t i = 0; r == 0 && i < 4; i++)
		r = emit_additions(run, addition_order[i]);

	return r;
}

int reconcile(const struct reconcile_input *in, struct net_op_list *ops)
{
	struct reconcile_run run = {.in = in, .desired = in->desired,
				    .ops = ops};
	int r;

	run.present = calloc(in->desired->count + 1, sizeof(bool));
	if (!run.present)
		return -ENOMEM;

	r = index_desired(&run);
	if (r == 0)
		r = sweep_rules(&run);
	if (r == 0)
		r = sweep_routes(&run);
	if (r == 0)
		r = sweep_addresses(&run);
	if (r == 0)
		r = emit_all(&run);

	net_op_list_clear(&run.deletions);
	free(run.buckets);
	free(run.chain);
	free(run.present);
	return r;
}
