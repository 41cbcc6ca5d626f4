/* SPDX-License-Identifier: MIT */
/*
 * The planner: ENI record + settings -> the objects the kernel should hold.
 *
 * Per ENI: the link up, in the interface group, with its MTU; every
 * address with the subnet's prefix length and no prefix route; the subnet
 * routes in main (with the ENI's metric) and in its table; a default
 * route via the VPC router in its table; one source rule per address and
 * per delegated prefix. Shared: a rule before all per-ENI rules that
 * consults main but rejects any answer leaving through a managed ENI, so
 * routes to bridges, containers and tunnels win for every source address.
 */
#include "daemon/planner.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

int eni_numbers(const struct settings *s, uint32_t card, uint32_t device,
		struct eni_numbers *out)
{
	uint64_t table, metric;

	if (card >= CONFIG_MAX_CARDS || device >= CONFIG_MAX_DEVICES)
		return -ERANGE;

	table = (uint64_t)s->table_base + 100 * card + device;
	metric = (uint64_t)s->metric_base + 100 * card + device;

	/* Reserved tables: 0 unspec, 252 compat, 253 default, 254 main,
	 * 255 local; 32766 is the priority of the main rule. */
	if (table == 0 || (table >= 252 && table <= 255) || table >= 32766 ||
	    table == (uint64_t)s->table_base - 1 || metric > UINT32_MAX)
		return -ERANGE;

	out->table = (uint32_t)table;
	out->metric = (uint32_t)metric;
	return 0;
}

/* Everything plan_eni() needs while it appends objects. */
struct plan_context {
	const struct plan_input *in;
	const struct eni_record *r;
	struct eni_numbers numbers;
	struct net_op_list *desired;
};

static int append_add(struct plan_context *ctx, struct net_op *op)
{
	op->kind = NET_OP_ADD;
	op->owner = ctx->in->ifindex;
	return net_op_list_append(ctx->desired, op);
}

static int add_link(struct plan_context *ctx)
{
	const struct settings *s = ctx->in->settings;
	struct net_op op = {.type = NET_OBJECT_LINK};

	op.link = (struct net_link_change){
		.ifindex = ctx->in->ifindex,
		.set_up = true,
		.mtu = s->mtu,
		.set_group = true,
		.group = s->interface_group,
		/* Deleting an address must never take a foreign one along. */
		.promote_secondaries = true,
		/* Only the primary's router advertisements may give main an
		 * IPv6 default route; the other ENIs have one in their table. */
		.ignore_ra_default = !ctx->r->primary,
	};
	return append_add(ctx, &op);
}

static int add_address(struct plan_context *ctx, const struct ip_prefix *addr,
		       uint8_t prefixlen)
{
	struct net_op op = {.type = NET_OBJECT_ADDR};
	uint32_t flags = IFA_F_NOPREFIXROUTE;

	/* The VPC guarantees uniqueness: duplicate address detection
	 * would only delay the address. */
	if (addr->family == AF_INET6)
		flags |= IFA_F_NODAD;

	op.addr = (struct net_addr){
		.ifindex = ctx->in->ifindex,
		.local = *addr,
		.flags = flags,
		.protocol = ctx->in->settings->protocol,
	};
	op.addr.local.len = prefixlen;
	return append_add(ctx, &op);
}

static int add_route(struct plan_context *ctx, uint32_t table,
		     const struct ip_prefix *dst, const struct ip_prefix *via)
{
	struct net_op op = {.type = NET_OBJECT_ROUTE};
	bool ipv6 = dst->family == AF_INET6;

	op.route = (struct net_route){
		.table = table,
		.dst = *dst,
		.oif = ctx->in->ifindex,
		.metric = ctx->numbers.metric,
		.protocol = ctx->in->settings->protocol,
		.type = RTN_UNICAST,
	};

	/* The kernel reports every IPv6 route with universe scope. */
	if (!via && !ipv6)
		op.route.scope = RT_SCOPE_LINK;
	if (via)
		op.route.gateway = *via;

	return append_add(ctx, &op);
}

static int add_rule(struct plan_context *ctx, const struct ip_prefix *src)
{
	struct net_op op = {.type = NET_OBJECT_RULE};

	op.rule = (struct net_rule){
		.family = src->family,
		.priority = ctx->numbers.table,
		.src = *src,
		.table = ctx->numbers.table,
		.action = FR_ACT_TO_TBL,
		.protocol = ctx->in->settings->protocol,
		.suppress_ifgroup = NET_RULE_UNSET,
		.suppress_prefixlen = NET_RULE_UNSET,
	};
	return append_add(ctx, &op);
}

static int add_rules(struct plan_context *ctx, const struct ip_prefix *list,
		     size_t count)
{
	for (size_t i = 0; i < count; i++) {
		int r = add_rule(ctx, &list[i]);

		if (r < 0)
			return r;
	}

	return 0;
}

/* Adds the subnet route in main and in the table, then the default. */
static int add_subnet_routes(struct plan_context *ctx,
			     const struct ip_prefix *subnet,
			     const struct ip_prefix *router)
{
	struct ip_prefix any = {.family = subnet->family};
	int r;

	r = add_route(ctx, RT_TABLE_MAIN, subnet, NULL);
	if (r < 0)
		return r;

	r = add_route(ctx, ctx->numbers.table, subnet, NULL);
	if (r < 0)
		return r;

	if (!router)
		return 0;

	return add_route(ctx, ctx->numbers.table, &any, router);
}

static bool ipv4_addresses_wanted(const struct plan_context *ctx, size_t i)
{
	const struct eni_record *r = ctx->r;

	/* The primary's first address belongs to the DHCP client. */
	if (r->primary)
		return i > 0 && ctx->in->settings->secondary_addresses;

	return i == 0 || ctx->in->settings->secondary_addresses;
}

/*
 * The primary's other addresses wait for the DHCP client's, so that it
 * stays the primary address of the prefix. While it is gone (a lease lost
 * and regained), they are kept but not added.
 */
static bool ipv4_address_waits(const struct plan_context *ctx)
{
	return ctx->r->primary && !ctx->in->first_ipv4_present;
}

static int plan_ipv4(struct plan_context *ctx, const char **why)
{
	const struct eni_record *r = ctx->r;
	const struct ip_prefix *subnet = &r->subnet_ipv4;
	struct ip_prefix router = {.family = AF_INET, .len = 32};
	int ret;

	for (size_t i = 0; i < r->n_ipv4; i++) {
		if (!ip_prefix_contains(subnet, AF_INET, &r->ipv4[i].addr)) {
			*why = "an address of local-ipv4s is outside "
			       "subnet-ipv4-cidr-block";
			return -EINVAL;
		}
	}

	/* The VPC router is the subnet's base address + 1. */
	if (subnet->len > 30 || ip_prefix_nth(subnet, 1, &router.addr) < 0) {
		*why = "subnet-ipv4-cidr-block has no room for a router";
		return -EINVAL;
	}

	for (size_t i = 0; i < r->n_ipv4; i++) {
		if (!ipv4_addresses_wanted(ctx, i))
			continue;
		ret = add_address(ctx, &r->ipv4[i], subnet->len);
		if (ret < 0)
			return ret;
		ctx->desired->ops[ctx->desired->count - 1].keep_only =
			ipv4_address_waits(ctx);
	}

	ret = add_subnet_routes(ctx, subnet, &router);
	if (ret < 0)
		return ret;

	ret = add_rules(ctx, r->ipv4, r->n_ipv4);
	if (ret < 0)
		return ret;

	return add_rules(ctx, r->prefix_ipv4,
			 eni_has(r, ENI_KEY_IPV4_PREFIX) ? r->n_prefix_ipv4 : 0);
}

/* Returns the subnet of subnet-ipv6-cidr-blocks holding addr, or NULL. */
static const struct ip_prefix *ipv6_subnet_of(const struct eni_record *r,
					      const struct ip_prefix *addr)
{
	for (size_t i = 0; i < r->n_subnet_ipv6; i++) {
		if (ip_prefix_contains(&r->subnet_ipv6[i], AF_INET6,
				       &addr->addr))
			return &r->subnet_ipv6[i];
	}

	return NULL;
}

static int plan_ipv6_addresses(struct plan_context *ctx, const char **why)
{
	const struct eni_record *r = ctx->r;

	for (size_t i = 0; i < r->n_ipv6; i++) {
		const struct ip_prefix *subnet = ipv6_subnet_of(r, &r->ipv6[i]);
		int ret;

		if (!subnet) {
			*why = "an address of ipv6s is outside "
			       "subnet-ipv6-cidr-blocks";
			return -EINVAL;
		}

		if (i > 0 && !ctx->in->settings->secondary_addresses)
			continue;

		ret = add_address(ctx, &r->ipv6[i], subnet->len);
		if (ret < 0)
			return ret;
	}

	return 0;
}

static int plan_ipv6(struct plan_context *ctx, const char **why)
{
	const struct eni_record *r = ctx->r;
	struct ip_prefix router = {.family = AF_INET6, .len = 128};
	int ret;

	inet_pton(AF_INET6, VPC_IPV6_ROUTER, &router.addr.in6);

	ret = plan_ipv6_addresses(ctx, why);
	if (ret < 0)
		return ret;

	for (size_t i = 0; i < r->n_subnet_ipv6; i++) {
		/* One default route per table, with the first subnet. */
		ret = add_subnet_routes(ctx, &r->subnet_ipv6[i],
					i == 0 ? &router : NULL);
		if (ret < 0)
			return ret;
	}

	ret = add_rules(ctx, r->ipv6, r->n_ipv6);
	if (ret < 0)
		return ret;

	return add_rules(ctx, r->prefix_ipv6,
			 eni_has(r, ENI_KEY_IPV6_PREFIX) ? r->n_prefix_ipv6 : 0);
}

/* With prefix_routes = local, the host accepts packets for a delegated
 * prefix's addresses, as for its own (a local route, like `ip route add
 * local`). */
static int add_local_routes(struct plan_context *ctx,
			    const struct ip_prefix *list, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		struct net_op op = {.type = NET_OBJECT_ROUTE};
		int r;

		op.route = (struct net_route){
			.table = RT_TABLE_LOCAL,
			.dst = list[i],
			.oif = ctx->in->ifindex,
			.metric = ctx->numbers.metric,
			.protocol = ctx->in->settings->protocol,
			.scope = list[i].family == AF_INET ? RT_SCOPE_HOST :
							     RT_SCOPE_UNIVERSE,
			.type = RTN_LOCAL,
		};
		r = append_add(ctx, &op);
		if (r < 0)
			return r;
	}

	return 0;
}

static int plan_prefix_routes(struct plan_context *ctx)
{
	const struct eni_record *r = ctx->r;
	int ret;

	if (ctx->in->settings->prefix_routes != PREFIX_ROUTES_LOCAL)
		return 0;

	if (eni_has(r, ENI_KEY_IPV4_PREFIX) && eni_has_ipv4(r)) {
		ret = add_local_routes(ctx, r->prefix_ipv4, r->n_prefix_ipv4);
		if (ret < 0)
			return ret;
	}

	if (eni_has(r, ENI_KEY_IPV6_PREFIX))
		return add_local_routes(ctx, r->prefix_ipv6, r->n_prefix_ipv6);

	return 0;
}

static bool has_ipv6(const struct eni_record *r)
{
	return eni_has(r, ENI_KEY_IPV6S) && eni_has(r, ENI_KEY_SUBNET_IPV6) &&
	       r->n_ipv6 > 0 && r->n_subnet_ipv6 > 0;
}

int plan_eni(const struct plan_input *in, struct net_op_list *desired,
	     const char **why)
{
	struct plan_context ctx = {.in = in, .r = in->record,
				   .desired = desired};
	int r;

	*why = NULL;
	r = eni_numbers(in->settings, eni_card(in->record),
			in->record->device_number, &ctx.numbers);
	if (r < 0) {
		*why = "network-card or device-number out of range for the "
		       "configured table_base";
		return -EINVAL;
	}

	r = add_link(&ctx);
	if (r < 0)
		return r;

	if (eni_has_ipv4(in->record)) {
		r = plan_ipv4(&ctx, why);
		if (r < 0)
			return r;
	}

	if (has_ipv6(in->record)) {
		r = plan_ipv6(&ctx, why);
		if (r < 0)
			return r;
	}

	return plan_prefix_routes(&ctx);
}

static int add_shared_rule(const struct settings *s, int family,
			   struct net_op_list *desired)
{
	struct net_op op = {.kind = NET_OP_ADD, .type = NET_OBJECT_RULE};

	op.rule = (struct net_rule){
		.family = family,
		.priority = s->table_base - 1,
		.table = RT_TABLE_MAIN,
		.action = FR_ACT_TO_TBL,
		.protocol = s->protocol,
		.suppress_ifgroup = s->interface_group,
		.suppress_prefixlen = NET_RULE_UNSET,
	};
	return net_op_list_append(desired, &op);
}

int plan_shared(const struct settings *s, struct net_op_list *desired)
{
	int r = add_shared_rule(s, AF_INET, desired);

	if (r < 0)
		return r;

	return add_shared_rule(s, AF_INET6, desired);
}
