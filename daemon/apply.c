/* SPDX-License-Identifier: MIT */
/*
 * One reconcile pass. The kernel is the state: every pass starts from a
 * fresh dump, so objects lost without a notification (IPv4 routes of a
 * link that went down) are found missing and added again.
 */
#include "daemon/apply.h"

#include <errno.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "daemon/link.h"
#include "daemon/manager.h"
#include "daemon/planner.h"
#include "daemon/reconcile.h"
#include "daemon/status.h"

/* Room for the formatted text of one operation. */
#define OP_TEXT_LEN 512
/* A failure of the same change is logged as a warning this often. */
#define FAILURE_REPEAT_USEC (5 * 60 * 1000000ull)

/* The inputs the reconciler needs, built from the links. */
struct desired_set {
	struct net_op_list ops;
	int *known_links;
	uint32_t *known_tables;
	size_t n_known;
};

static void desired_clear(struct desired_set *d)
{
	net_op_list_clear(&d->ops);
	free(d->known_links);
	free(d->known_tables);
	*d = (struct desired_set){0};
}

static bool has_address(const struct net_state *kernel, int ifindex,
			const struct ip_prefix *addr)
{
	for (size_t i = 0; i < kernel->n_addrs; i++) {
		const struct net_addr *a = &kernel->addrs[i];

		if (a->ifindex == ifindex && a->local.family == addr->family &&
		    ip_addr_equal(addr->family, &a->local.addr, &addr->addr))
			return true;
	}

	return false;
}

/* Returns true when desired has a route with the same kernel key (table,
 * destination, metric), which a second add would only collide with. */
static bool route_key_planned(const struct net_op_list *desired,
			      const struct net_route *route)
{
	for (size_t i = 0; i < desired->count; i++) {
		const struct net_op *op = &desired->ops[i];

		if (op->type == NET_OBJECT_ROUTE &&
		    op->route.table == route->table &&
		    op->route.metric == route->metric &&
		    ip_prefix_equal(&op->route.dst, &route->dst))
			return true;
	}

	return false;
}

/* Returns true for a route someone else put in main through the link,
 * other than a default route or the kernel's own prefix routes. */
static bool route_mirrored(const struct manager *m, const struct net_route *r,
			   int ifindex)
{
	return r->table == RT_TABLE_MAIN && r->oif == ifindex &&
	       r->dst.len > 0 && r->type == RTN_UNICAST &&
	       r->protocol != m->settings.protocol &&
	       r->protocol != RTPROT_KERNEL;
}

/*
 * Copies the link's foreign routes in main into its table. The shared
 * rule rejects main's results that leave through an ENI, so without a
 * copy a static route through an appliance would be bypassed for the
 * ENI's own addresses.
 */
static int plan_mirrors(struct manager *m, const struct link *link,
			const struct net_state *kernel, struct net_op_list *ops)
{
	struct net_op op = {.kind = NET_OP_ADD, .type = NET_OBJECT_ROUTE,
			    .owner = link->ifindex};
	uint32_t metric = 0;

	for (size_t i = 0; i < ops->count; i++) {
		if (ops->ops[i].type == NET_OBJECT_ROUTE &&
		    ops->ops[i].owner == link->ifindex)
			metric = ops->ops[i].route.metric;
	}

	for (size_t i = 0; i < kernel->n_routes; i++) {
		const struct net_route *r = &kernel->routes[i];
		int ret;

		if (!route_mirrored(m, r, link->ifindex))
			continue;

		op.route = *r;
		op.route.table = link->table;
		op.route.metric = metric;
		op.route.protocol = m->settings.protocol;
		op.route.flags = 0;
		if (route_key_planned(ops, &op.route))
			continue;

		ret = net_op_list_append(ops, &op);
		if (ret < 0)
			return ret;
	}

	return 0;
}

/* Plans one known link; returns false when its record cannot be planned. */
static bool plan_link(struct manager *m, struct link *link,
		      const struct net_state *kernel, struct desired_set *d)
{
	const struct eni_record *r = &link->record;
	struct plan_input in = {
		.record = r,
		.ifindex = link->ifindex,
		.first_ipv4_present = r->n_ipv4 > 0 &&
				      has_address(kernel, link->ifindex,
						  &r->ipv4[0]),
		.settings = &m->settings,
	};
	size_t before = d->ops.count;
	const char *why = NULL;
	int ret;

	ret = plan_eni(&in, &d->ops, &why);
	if (ret < 0) {
		d->ops.count = before;
		link_transition(link, LINK_STATE_FAILED,
				why ? why : strerror(-ret));
		return false;
	}

	if (plan_mirrors(m, link, kernel, &d->ops) < 0) {
		d->ops.count = before;
		return false;
	}

	d->known_links[d->n_known] = link->ifindex;
	d->known_tables[d->n_known] = link->table;
	d->n_known++;
	return true;
}

static int build_desired(struct manager *m, const struct net_state *kernel,
			 struct desired_set *d)
{
	bool any_candidate = false;

	d->known_links = calloc(m->n_links + 1, sizeof(int));
	d->known_tables = calloc(m->n_links + 1, sizeof(uint32_t));
	if (!d->known_links || !d->known_tables)
		return -ENOMEM;

	for (size_t i = 0; i < m->n_links; i++) {
		struct link *link = m->links[i];

		if (link_is_candidate(link))
			any_candidate = true;
		if (link_is_known(link))
			plan_link(m, link, kernel, d);
	}

	if (!any_candidate)
		return 0;

	return plan_shared(&m->settings, &d->ops);
}

static const char *ifname_of(int ifindex, void *userdata)
{
	const struct net_state *kernel = userdata;
	const struct net_link *link = net_state_find_link(kernel, ifindex);

	return link ? link->name : NULL;
}

/* Returns true when line (without its newline) was printed before. */
static bool printed_before(const char *printed, const char *line,
			   size_t length)
{
	const char *at = printed;

	while (at && (at = strstr(at, line)) != NULL) {
		bool starts = at == printed || at[-1] == '\n';

		if (starts && at[length] == '\n')
			return true;
		at++;
	}

	return false;
}

/* Prints each planned change once, however many passes plan it. */
static void print_dry_run(struct manager *m, const struct net_op_list *ops,
			  const struct net_state *kernel)
{
	size_t used = m->printed ? strlen(m->printed) : 0;

	for (size_t i = 0; i < ops->count; i++) {
		char line[OP_TEXT_LEN];
		size_t length;
		char *grown;

		net_op_format(&ops->ops[i], ifname_of, (void *)kernel, line,
			      sizeof(line));
		length = strlen(line);
		if (printed_before(m->printed, line, length))
			continue;

		printf("%s\n", line);
		grown = realloc(m->printed, used + length + 2);
		if (!grown)
			continue;
		memcpy(grown + used, line, length);
		grown[used + length] = '\n';
		grown[used + length + 1] = '\0';
		used += length + 1;
		m->printed = grown;
	}

	fflush(stdout);
}

static struct link *owner_link(struct manager *m, const struct net_op *op)
{
	return op->owner ? manager_find_link(m, op->owner) : NULL;
}

/* Returns the past tense of an operation's leading verb ("added"). */
static const char *done_verb(const struct net_op *op)
{
	if (op->type == NET_OBJECT_LINK)
		return "set";

	return op->kind == NET_OP_ADD ? "added" : "deleted";
}

static void log_op(struct manager *m, const struct net_op *op, int error,
		   const struct net_state *kernel)
{
	char text[OP_TEXT_LEN], line[OP_TEXT_LEN + IFNAMSIZ + 64];
	struct link *link = owner_link(m, op);
	const char *prefix = link ? link->kernel.name : "rtnl";
	const char *object;

	/* net_op_format() starts with the imperative verb; drop it. */
	net_op_format(op, ifname_of, (void *)kernel, text, sizeof(text));
	object = strchr(text, ' ') ? strchr(text, ' ') + 1 : text;

	if (error == 0) {
		log_link(LOG_INFO, prefix, "%s %s", done_verb(op), object);
		return;
	}

	/* A change the kernel keeps rejecting is retried with backoff;
	 * its warning is repeated at most once per interval. */
	snprintf(line, sizeof(line), "%s: %s %s failed: %s", prefix,
		 op->kind == NET_OP_ADD ? "adding" : "deleting", object,
		 strerror(-error));
	log_msg(log_repeat_allowed(line, FAILURE_REPEAT_USEC) ? LOG_WARNING :
								 LOG_DEBUG,
		"%s", line);
}

static void note_repair(struct manager *m, const struct net_op *op)
{
	const void *object = &op->link.ifindex;

	if (op->type == NET_OBJECT_ADDR)
		object = &op->addr;
	else if (op->type == NET_OBJECT_ROUTE)
		object = &op->route;
	else if (op->type == NET_OBJECT_RULE)
		object = &op->rule;

	manager_note_repair(m, op->type, object);
}

/*
 * Counts a pass that put back objects a configured ENI had lost: another
 * program removed them. Repairs come with backoff, so this warns once
 * per backoff step, and enid status shows the count.
 */
static void note_conflict(struct link *link, size_t restored)
{
	link->conflicts++;
	log_link(LOG_WARNING, link->kernel.name,
		 "restored %zu object%s that another program removed "
		 "(%u time%s so far)",
		 restored, restored == 1 ? "" : "s", link->conflicts,
		 link->conflicts == 1 ? "" : "s");
	snprintf(link->reason, sizeof(link->reason),
		 "in conflict: restored objects another program removed "
		 "%u time%s", link->conflicts, link->conflicts == 1 ? "" : "s");
}

/* Reports to every known link the first error of its operations. */
static void report_links(struct manager *m, const struct net_op_list *ops,
			 const int *errors, const struct desired_set *d,
			 struct apply_result *result)
{
	for (size_t k = 0; k < d->n_known; k++) {
		struct link *link = manager_find_link(m, d->known_links[k]);
		int error = 0;
		char what[OP_TEXT_LEN] = "";

		size_t restored = 0;

		if (!link)
			continue;

		for (size_t i = 0; i < ops->count; i++) {
			const struct net_op *op = &ops->ops[i];

			if (op->owner != link->ifindex)
				continue;
			if (op->kind == NET_OP_ADD &&
			    link->state == LINK_STATE_CONFIGURED) {
				restored++;
				if (errors && !errors[i])
					note_repair(m, op);
			}
			if (errors && errors[i] && !error) {
				error = errors[i];
				net_op_format(op, NULL, NULL, what,
					      sizeof(what));
			}
		}

		if (restored && errors && !link->readding)
			note_conflict(link, restored);
		if (restored && errors)
			link->readding = false;
		result->repaired = result->repaired || restored > 0;
		link_applied(link, error, what);
	}
}

/* Writes a link's sysctl under /proc/sys/net (per network namespace). */
static int write_link_sysctl(const char *family, const char *ifname,
			     const char *key, const char *value)
{
	char path[128];
	FILE *f;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/%s", family,
		 ifname, key);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	if (fputs(value, f) < 0)
		r = -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	return r;
}

/*
 * Applies the link settings rtnetlink cannot set (IPv6 devconf) before
 * the batch, so a new link ignores router advertisements' default routes
 * from the moment it comes up.
 */
static void write_sysctls(const struct net_op_list *ops,
			  const struct net_state *kernel, int *errors)
{
	for (size_t i = 0; i < ops->count; i++) {
		const struct net_op *op = &ops->ops[i];
		const struct net_link *link;

		if (op->type != NET_OBJECT_LINK || !op->link.ignore_ra_default)
			continue;

		link = net_state_find_link(kernel, op->link.ifindex);
		if (!link)
			continue;
		errors[i] = write_link_sysctl("ipv6", link->name,
					      "accept_ra_defrtr", "0");
	}
}

static int send_ops(struct manager *m, const struct net_op_list *ops,
		    const struct net_state *kernel, int *errors,
		    struct apply_result *result)
{
	int *sysctl_errors;
	int r;

	if (ops->count == 0)
		return 0;

	sysctl_errors = calloc(ops->count, sizeof(int));
	if (!sysctl_errors)
		return -ENOMEM;
	write_sysctls(ops, kernel, sysctl_errors);

	r = netlink_apply(m->nl, ops->ops, ops->count, errors);
	for (size_t i = 0; i < ops->count; i++) {
		if (sysctl_errors[i] && !errors[i])
			errors[i] = sysctl_errors[i];
		log_op(m, &ops->ops[i], errors[i], kernel);
		if (errors[i])
			result->failures++;
	}

	result->changes = ops->count;
	free(sysctl_errors);
	return r;
}

/* Returns the kernel's address of the link equal to addr, or NULL. */
static const struct net_addr *kernel_address(const struct net_state *kernel,
					     int ifindex,
					     const struct ip_prefix *addr)
{
	for (size_t i = 0; i < kernel->n_addrs; i++) {
		const struct net_addr *a = &kernel->addrs[i];

		if (a->ifindex == ifindex && a->local.family == addr->family &&
		    ip_addr_equal(addr->family, &a->local.addr, &addr->addr))
			return a;
	}

	return NULL;
}

/*
 * After the DHCP client's address of the primary was lost and regained,
 * one of enid's addresses was promoted to primary of the prefix and the
 * DHCP address came back as a secondary. Deleting enid's promoted
 * addresses (promote_secondaries is on) makes the DHCP address primary
 * again; the next pass adds them back as secondaries.
 */
static int reorder_primary(struct manager *m, const struct net_state *kernel,
			   struct net_op_list *ops)
{
	for (size_t i = 0; i < m->n_links; i++) {
		struct link *link = m->links[i];
		const struct eni_record *r = &link->record;
		const struct net_addr *dhcp;

		if (!link_is_known(link) || !r->primary || r->n_ipv4 == 0)
			continue;

		dhcp = kernel_address(kernel, link->ifindex, &r->ipv4[0]);
		if (!dhcp || !(dhcp->flags & IFA_F_SECONDARY))
			continue;

		for (size_t k = 0; k < kernel->n_addrs; k++) {
			const struct net_addr *a = &kernel->addrs[k];
			struct net_op op = {.kind = NET_OP_DELETE,
					    .type = NET_OBJECT_ADDR,
					    .owner = link->ifindex, .addr = *a};

			if (a->ifindex != link->ifindex ||
			    a->local.family != AF_INET ||
			    (a->flags & IFA_F_SECONDARY) ||
			    !reconcile_addr_is_owned(&m->settings, a))
				continue;
			if (net_op_list_append(ops, &op) < 0)
				return -ENOMEM;
			/* Adding them back is no conflict with anyone. */
			link->readding = true;
		}
	}

	return 0;
}

/* Notes the addresses a pass added or deleted in the record. */
static void update_records(struct manager *m, const struct net_op_list *ops,
			   const int *errors)
{
	int r;

	for (size_t i = 0; i < ops->count; i++) {
		const struct net_op *op = &ops->ops[i];

		if (op->type != NET_OBJECT_ADDR || errors[i])
			continue;
		if (op->kind == NET_OP_ADD)
			records_add(&m->records, &op->addr);
		else
			records_remove(&m->records, &op->addr);
	}

	r = records_save(&m->records);
	if (r < 0)
		log_msg(LOG_WARNING, "cannot write %s/addresses: %s",
			status_directory(), strerror(-r));
}

static int plan_and_diff(struct manager *m, struct net_state *kernel,
			 struct desired_set *d, struct net_op_list *ops)
{
	struct reconcile_input in;
	int r;

	/* Routes of every protocol: foreign routes in main are mirrored. */
	r = netlink_dump(m->nl,
			 NETLINK_DUMP_LINKS | NETLINK_DUMP_ADDRS |
				 NETLINK_DUMP_ROUTES | NETLINK_DUMP_RULES,
			 0, kernel);
	if (r < 0) {
		log_msg(LOG_ERR, "rtnl: cannot read the kernel's state: %s",
			strerror(-r));
		return r;
	}

	if (m->use_records)
		records_apply(&m->records, kernel, m->settings.protocol);

	r = build_desired(m, kernel, d);
	if (r < 0)
		return r;

	in = (struct reconcile_input){
		.settings = &m->settings,
		.desired = &d->ops,
		.kernel = kernel,
		.known_links = d->known_links,
		.n_known_links = d->n_known,
		.known_tables = d->known_tables,
		.n_known_tables = d->n_known,
	};
	r = reconcile(&in, ops);
	if (r < 0)
		return r;

	return reorder_primary(m, kernel, ops);
}

int apply_reconcile(struct manager *m, struct apply_result *result)
{
	struct net_state kernel = {0};
	struct desired_set d = {0};
	struct net_op_list ops = {0};
	int *errors = NULL;
	int r;

	*result = (struct apply_result){0};
	r = plan_and_diff(m, &kernel, &d, &ops);
	if (r < 0)
		goto out;

	if (m->options.dry_run) {
		print_dry_run(m, &ops, &kernel);
		result->changes = ops.count;
		report_links(m, &ops, NULL, &d, result);
		goto out;
	}

	errors = calloc(ops.count + 1, sizeof(int));
	if (!errors) {
		r = -ENOMEM;
		goto out;
	}

	/* Without IFA_PROTO, the record alone marks enid's addresses. */
	for (size_t i = 0; m->use_records && i < ops.count; i++) {
		if (ops.ops[i].type == NET_OBJECT_ADDR)
			ops.ops[i].addr.protocol = 0;
	}

	r = send_ops(m, &ops, &kernel, errors, result);
	if (m->use_records)
		update_records(m, &ops, errors);
	if (r < 0 && result->failures == 0)
		log_msg(LOG_ERR, "rtnl: sending changes failed: %s",
			strerror(-r));
	report_links(m, &ops, errors, &d, result);
	r = 0;

out:
	free(errors);
	net_op_list_clear(&ops);
	desired_clear(&d);
	net_state_clear(&kernel);
	return r;
}

int apply_count_pending(struct manager *m, size_t *pending)
{
	struct net_state kernel = {0};
	struct desired_set d = {0};
	struct net_op_list ops = {0};
	int r;

	r = plan_and_diff(m, &kernel, &d, &ops);
	if (r == 0)
		*pending = ops.count;

	net_op_list_clear(&ops);
	desired_clear(&d);
	net_state_clear(&kernel);
	return r;
}
