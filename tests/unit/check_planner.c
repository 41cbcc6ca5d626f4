/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the planner: numbering, and the objects planned for each
 * kind of ENI record.
 */
#include <check.h>
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/planner.h"

#define IFINDEX 7

static struct settings settings;

static void setup(void)
{
	settings_defaults(&settings);
}

static struct ip_prefix parse(const char *text)
{
	struct ip_prefix p;

	if (strchr(text, '/'))
		ck_assert_msg(ip_prefix_parse(text, AF_UNSPEC, &p) == 0, "%s",
			      text);
	else
		ck_assert_msg(ip_addr_parse(text, AF_UNSPEC, &p) == 0, "%s",
			      text);
	return p;
}

/* Returns true when addr equals the address written as text. */
static bool is_address(int family, const union ip_addr *addr, const char *text)
{
	struct ip_prefix expected = parse(text);

	return ip_addr_equal(family, addr, &expected.addr);
}

static void record_ipv4(struct eni_record *r, uint32_t card, uint32_t device,
			const char *subnet, const char *const *addresses)
{
	memset(r, 0, sizeof(*r));
	r->mac[0] = 2;
	r->listed = r->keys_listed = true;
	r->state[ENI_KEY_DEVICE_NUMBER] = ENI_VALUE_PRESENT;
	r->device_number = device;
	r->state[ENI_KEY_NETWORK_CARD] = ENI_VALUE_PRESENT;
	r->network_card = card;
	r->state[ENI_KEY_LOCAL_IPV4S] = ENI_VALUE_PRESENT;
	for (r->n_ipv4 = 0; addresses[r->n_ipv4]; r->n_ipv4++)
		r->ipv4[r->n_ipv4] = parse(addresses[r->n_ipv4]);
	r->state[ENI_KEY_SUBNET_IPV4] = ENI_VALUE_PRESENT;
	r->subnet_ipv4 = parse(subnet);
}

static int plan(const struct eni_record *r, bool first_present,
		struct net_op_list *ops)
{
	struct plan_input in = {.record = r, .ifindex = IFINDEX,
				.first_ipv4_present = first_present,
				.settings = &settings};
	const char *why;

	return plan_eni(&in, ops, &why);
}

static size_t count_type(const struct net_op_list *ops,
			 enum net_object_type type)
{
	size_t n = 0;

	for (size_t i = 0; i < ops->count; i++)
		n += ops->ops[i].type == type;
	return n;
}

static const struct net_addr *find_addr(const struct net_op_list *ops,
					const char *text)
{
	struct ip_prefix p = parse(text);

	for (size_t i = 0; i < ops->count; i++) {
		const struct net_op *op = &ops->ops[i];

		if (op->type == NET_OBJECT_ADDR &&
		    ip_prefix_equal(&op->addr.local, &p))
			return &op->addr;
	}

	return NULL;
}

static const struct net_op *find_addr_op(const struct net_op_list *ops,
					 const char *text)
{
	const struct net_addr *addr = find_addr(ops, text);

	ck_assert_ptr_nonnull(addr);
	return (const struct net_op *)((const char *)addr -
				       offsetof(struct net_op, addr));
}

static const struct net_route *find_route(const struct net_op_list *ops,
					  uint32_t table, const char *dst)
{
	struct ip_prefix p = parse(dst);

	for (size_t i = 0; i < ops->count; i++) {
		const struct net_op *op = &ops->ops[i];

		if (op->type == NET_OBJECT_ROUTE && op->route.table == table &&
		    ip_prefix_equal(&op->route.dst, &p))
			return &op->route;
	}

	return NULL;
}

static const struct net_rule *find_rule(const struct net_op_list *ops,
					const char *src)
{
	struct ip_prefix p = parse(src);

	for (size_t i = 0; i < ops->count; i++) {
		const struct net_op *op = &ops->ops[i];

		if (op->type == NET_OBJECT_RULE &&
		    ip_prefix_equal(&op->rule.src, &p))
			return &op->rule;
	}

	return NULL;
}

START_TEST(numbers_follow_cards_and_devices)
{
	struct eni_numbers n;

	ck_assert_int_eq(eni_numbers(&settings, 0, 0, &n), 0);
	ck_assert_uint_eq(n.table, 10000);
	ck_assert_uint_eq(n.metric, 512);
	ck_assert_int_eq(eni_numbers(&settings, 0, 1, &n), 0);
	ck_assert_uint_eq(n.table, 10001);
	ck_assert_uint_eq(n.metric, 513);
	ck_assert_int_eq(eni_numbers(&settings, 1, 0, &n), 0);
	ck_assert_uint_eq(n.table, 10100);
	ck_assert_uint_eq(n.metric, 612);
	ck_assert_int_eq(eni_numbers(&settings, 0, 100, &n), -ERANGE);
	ck_assert_int_eq(eni_numbers(&settings, 16, 0, &n), -ERANGE);
}
END_TEST

START_TEST(numbers_never_collide)
{
	static bool tables[100 * 16], metrics[100 * 16];
	struct eni_numbers n;

	memset(tables, 0, sizeof(tables));
	memset(metrics, 0, sizeof(metrics));
	for (uint32_t card = 0; card < 16; card++) {
		for (uint32_t device = 0; device < 100; device++) {
			ck_assert_int_eq(eni_numbers(&settings, card, device,
						     &n),
					 0);
			ck_assert(!tables[n.table - settings.table_base]);
			ck_assert(!metrics[n.metric - settings.metric_base]);
			ck_assert_uint_ne(n.table, settings.table_base - 1);
			tables[n.table - settings.table_base] = true;
			metrics[n.metric - settings.metric_base] = true;
		}
	}
}
END_TEST

START_TEST(numbers_refuse_reserved_tables)
{
	struct eni_numbers n;

	settings.table_base = 200;
	ck_assert_int_eq(eni_numbers(&settings, 0, 52, &n), -ERANGE);
	ck_assert_int_eq(eni_numbers(&settings, 0, 55, &n), -ERANGE);
	ck_assert_int_eq(eni_numbers(&settings, 0, 56, &n), 0);
	settings.table_base = 32000;
	ck_assert_int_eq(eni_numbers(&settings, 15, 0, &n), -ERANGE);
}
END_TEST

START_TEST(plan_secondary_eni_ipv4)
{
	static const char *const addresses[] = {"10.0.1.20", NULL};
	struct eni_record r;
	struct net_op_list ops = {0};
	const struct net_route *route;
	const struct net_rule *rule;
	const struct net_addr *addr;

	record_ipv4(&r, 0, 1, "10.0.1.0/24", addresses);
	ck_assert_int_eq(plan(&r, false, &ops), 0);

	ck_assert_uint_eq(count_type(&ops, NET_OBJECT_LINK), 1);
	ck_assert(ops.ops[0].link.set_up);
	ck_assert_uint_eq(ops.ops[0].link.mtu, 9001);
	ck_assert_uint_eq(ops.ops[0].link.group, 0x2ec);

	addr = find_addr(&ops, "10.0.1.20/24");
	ck_assert_ptr_nonnull(addr);
	ck_assert(addr->flags & IFA_F_NOPREFIXROUTE);
	ck_assert_uint_eq(addr->protocol, 236);

	route = find_route(&ops, RT_TABLE_MAIN, "10.0.1.0/24");
	ck_assert_ptr_nonnull(route);
	ck_assert_uint_eq(route->metric, 513);
	ck_assert_uint_eq(route->scope, RT_SCOPE_LINK);
	ck_assert_int_eq(route->oif, IFINDEX);
	ck_assert_ptr_nonnull(find_route(&ops, 10001, "10.0.1.0/24"));

	route = find_route(&ops, 10001, "0.0.0.0/0");
	ck_assert_ptr_nonnull(route);
	ck_assert_int_eq(route->gateway.family, AF_INET);
	ck_assert(is_address(AF_INET, &route->gateway.addr, "10.0.1.1"));

	rule = find_rule(&ops, "10.0.1.20/32");
	ck_assert_ptr_nonnull(rule);
	ck_assert_uint_eq(rule->priority, 10001);
	ck_assert_uint_eq(rule->table, 10001);
	ck_assert_uint_eq(rule->action, FR_ACT_TO_TBL);
	ck_assert_uint_eq(rule->protocol, 236);

	for (size_t i = 0; i < ops.count; i++)
		ck_assert_int_eq(ops.ops[i].owner, IFINDEX);
	net_op_list_clear(&ops);
}
END_TEST

START_TEST(plan_keeps_metadata_order)
{
	static const char *const addresses[] = {"10.0.1.123", "10.0.1.34",
						NULL};
	struct eni_record r;
	struct net_op_list ops = {0};
	const struct net_op *first = NULL, *second = NULL;

	record_ipv4(&r, 0, 1, "10.0.1.0/24", addresses);
	ck_assert_int_eq(plan(&r, false, &ops), 0);
	for (size_t i = 0; i < ops.count; i++) {
		if (ops.ops[i].type != NET_OBJECT_ADDR)
			continue;
		if (!first)
			first = &ops.ops[i];
		else if (!second)
			second = &ops.ops[i];
	}

	ck_assert_ptr_nonnull(second);
	ck_assert(is_address(AF_INET, &first->addr.local.addr, "10.0.1.123"));
	ck_assert(is_address(AF_INET, &second->addr.local.addr, "10.0.1.34"));
	net_op_list_clear(&ops);
}
END_TEST

START_TEST(plan_primary_leaves_dhcp_address)
{
	static const char *const addresses[] = {"10.0.0.200", "10.0.0.15",
						NULL};
	struct eni_record r;
	struct net_op_list ops = {0};

	record_ipv4(&r, 0, 0, "10.0.0.0/24", addresses);
	r.primary = true;

	/* Until DHCP's address is there, no other address is added, but
	 * one that is there already is kept. */
	ck_assert_int_eq(plan(&r, false, &ops), 0);
	ck_assert_uint_eq(count_type(&ops, NET_OBJECT_ADDR), 1);
	ck_assert(find_addr_op(&ops, "10.0.0.15/24")->keep_only);
	ck_assert_ptr_nonnull(find_rule(&ops, "10.0.0.200/32"));
	ck_assert_ptr_nonnull(find_rule(&ops, "10.0.0.15/32"));
	net_op_list_clear(&ops);

	ck_assert_int_eq(plan(&r, true, &ops), 0);
	ck_assert_uint_eq(count_type(&ops, NET_OBJECT_ADDR), 1);
	ck_assert_ptr_nonnull(find_addr(&ops, "10.0.0.15/24"));
	ck_assert(!find_addr_op(&ops, "10.0.0.15/24")->keep_only);
	ck_assert_ptr_null(find_addr(&ops, "10.0.0.200/24"));
	ck_assert_ptr_nonnull(find_route(&ops, 10000, "0.0.0.0/0"));
	net_op_list_clear(&ops);
}
END_TEST

START_TEST(plan_wide_subnet_router)
{
	static const char *const addresses[] = {"10.0.20.7", NULL};
	struct eni_record r;
	struct net_op_list ops = {0};
	const struct net_route *route;

	record_ipv4(&r, 0, 1, "10.0.16.0/20", addresses);
	ck_assert_int_eq(plan(&r, false, &ops), 0);
	ck_assert_ptr_nonnull(find_addr(&ops, "10.0.20.7/20"));
	route = find_route(&ops, 10001, "0.0.0.0/0");
	ck_assert_ptr_nonnull(route);
	ck_assert(is_address(AF_INET, &route->gateway.addr, "10.0.16.1"));
	net_op_list_clear(&ops);
}
END_TEST

START_TEST(plan_rejects_address_outside_subnet)
{
	static const char *const addresses[] = {"10.0.1.20", "10.0.2.5", NULL};
	struct eni_record r;
	struct net_op_list ops = {0};
	struct plan_input in = {.record = &r, .ifindex = IFINDEX,
				.settings = &settings};
	const char *why = NULL;

	record_ipv4(&r, 0, 1, "10.0.1.0/24", addresses);
	ck_assert_int_eq(plan_eni(&in, &ops, &why), -EINVAL);
	ck_assert_ptr_nonnull(why);
	net_op_list_clear(&ops);
}
END_TEST

START_TEST(plan_rejects_device_out_of_range)
{
	static const char *const addresses[] = {"10.0.1.20", NULL};
	struct eni_record r;
	struct net_op_list ops = {0};

	record_ipv4(&r, 0, 100, "10.0.1.0/24", addresses);
	ck_assert_int_eq(plan(&r, false, &ops), -EINVAL);
	net_op_list_clear(&ops);
}
END_TEST

static void add_ipv6(struct eni_record *r, const char *subnet,
		     const char *const *addresses)
{
	r->state[ENI_KEY_IPV6S] = ENI_VALUE_PRESENT;
	for (r->n_ipv6 = 0; addresses[r->n_ipv6]; r->n_ipv6++)
		r->ipv6[r->n_ipv6] = parse(addresses[r->n_ipv6]);
	r->state[ENI_KEY_SUBNET_IPV6] = ENI_VALUE_PRESENT;
	r->subnet_ipv6[0] = parse(subnet);
	r->n_subnet_ipv6 = 1;
}

START_TEST(plan_dual_stack)
{
	static const char *const v4[] = {"10.0.1.20", NULL};
	static const char *const v6[] = {"2001:db8:1::10", "2001:db8:1::11",
					 NULL};
	struct eni_record r;
	struct net_op_list ops = {0};
	const struct net_addr *addr;
	const struct net_route *route;

	record_ipv4(&r, 0, 1, "10.0.1.0/24", v4);
	add_ipv6(&r, "2001:db8:1:0:0:0:0:0/64", v6);
	ck_assert_int_eq(plan(&r, false, &ops), 0);

	addr = find_addr(&ops, "2001:db8:1::11/64");
	ck_assert_ptr_nonnull(addr);
	ck_assert(addr->flags & IFA_F_NODAD);
	ck_assert(addr->flags & IFA_F_NOPREFIXROUTE);

	route = find_route(&ops, RT_TABLE_MAIN, "2001:db8:1::/64");
	ck_assert_ptr_nonnull(route);
	ck_assert_uint_eq(route->metric, 513);
	ck_assert_uint_eq(route->scope, RT_SCOPE_UNIVERSE);

	route = find_route(&ops, 10001, "::/0");
	ck_assert_ptr_nonnull(route);
	ck_assert(is_address(AF_INET6, &route->gateway.addr, VPC_IPV6_ROUTER));
	ck_assert_ptr_nonnull(find_rule(&ops, "2001:db8:1::10/128"));
	ck_assert_ptr_nonnull(find_rule(&ops, "2001:db8:1::11/128"));
	net_op_list_clear(&ops);
}
END_TEST

START_TEST(plan_ipv6_only_has_no_ipv4)
{
	static const char *const v6[] = {"2001:db8:3::20", NULL};
	struct eni_record r;
	struct net_op_list ops = {0};

	memset(&r, 0, sizeof(r));
	r.listed = r.keys_listed = true;
	r.state[ENI_KEY_DEVICE_NUMBER] = ENI_VALUE_PRESENT;
	r.device_number = 3;
	r.state[ENI_KEY_LOCAL_IPV4S] = ENI_VALUE_ABSENT;
	r.state[ENI_KEY_SUBNET_IPV4] = ENI_VALUE_ABSENT;
	add_ipv6(&r, "2001:db8:3::/64", v6);
	ck_assert_int_eq(plan(&r, false, &ops), 0);

	for (size_t i = 0; i < ops.count; i++) {
		const struct net_op *op = &ops.ops[i];

		if (op->type == NET_OBJECT_ADDR)
			ck_assert_int_eq(op->addr.local.family, AF_INET6);
		if (op->type == NET_OBJECT_ROUTE)
			ck_assert_int_eq(op->route.dst.family, AF_INET6);
		if (op->type == NET_OBJECT_RULE)
			ck_assert_int_eq(op->rule.family, AF_INET6);
	}
	ck_assert_ptr_nonnull(find_rule(&ops, "2001:db8:3::20/128"));
	net_op_list_clear(&ops);
}
END_TEST

START_TEST(plan_delegated_prefix_rules)
{
	static const char *const v4[] = {"10.0.1.20", NULL};
	static const char *const v6[] = {"2001:db8:1::10", NULL};
	struct eni_record r;
	struct net_op_list ops = {0};

	record_ipv4(&r, 0, 1, "10.0.1.0/24", v4);
	add_ipv6(&r, "2001:db8:1::/64", v6);
	r.state[ENI_KEY_IPV4_PREFIX] = ENI_VALUE_PRESENT;
	r.prefix_ipv4[0] = parse("10.0.1.48/28");
	r.n_prefix_ipv4 = 1;
	r.state[ENI_KEY_IPV6_PREFIX] = ENI_VALUE_PRESENT;
	r.prefix_ipv6[0] = parse("2001:db8:1:0:2::/80");
	r.n_prefix_ipv6 = 1;
	ck_assert_int_eq(plan(&r, false, &ops), 0);

	ck_assert_ptr_nonnull(find_rule(&ops, "10.0.1.48/28"));
	ck_assert_ptr_nonnull(find_rule(&ops, "2001:db8:1:0:2::/80"));
	net_op_list_clear(&ops);
}
END_TEST

START_TEST(plan_local_prefix_routes)
{
	static const char *const v4[] = {"10.0.1.20", NULL};
	struct eni_record r;
	struct net_op_list ops = {0};
	const struct net_route *route;

	record_ipv4(&r, 0, 1, "10.0.1.0/24", v4);
	r.state[ENI_KEY_IPV4_PREFIX] = ENI_VALUE_PRESENT;
	r.prefix_ipv4[0] = parse("10.0.1.48/28");
	r.n_prefix_ipv4 = 1;

	ck_assert_int_eq(plan(&r, false, &ops), 0);
	ck_assert_ptr_null(find_route(&ops, RT_TABLE_LOCAL, "10.0.1.48/28"));
	net_op_list_clear(&ops);

	settings.prefix_routes = PREFIX_ROUTES_LOCAL;
	ck_assert_int_eq(plan(&r, false, &ops), 0);
	route = find_route(&ops, RT_TABLE_LOCAL, "10.0.1.48/28");
	ck_assert_ptr_nonnull(route);
	ck_assert_uint_eq(route->type, RTN_LOCAL);
	ck_assert_uint_eq(route->scope, RT_SCOPE_HOST);
	ck_assert_uint_eq(route->metric, 513);
	ck_assert_uint_eq(route->protocol, 236);
	net_op_list_clear(&ops);
}
END_TEST

START_TEST(plan_without_secondary_addresses)
{
	static const char *const addresses[] = {"10.0.1.20", "10.0.1.21",
						NULL};
	struct eni_record r;
	struct net_op_list ops = {0};

	settings.secondary_addresses = false;
	record_ipv4(&r, 0, 1, "10.0.1.0/24", addresses);
	ck_assert_int_eq(plan(&r, false, &ops), 0);
	ck_assert_ptr_nonnull(find_addr(&ops, "10.0.1.20/24"));
	ck_assert_ptr_null(find_addr(&ops, "10.0.1.21/24"));
	/* Rules still cover every address. */
	ck_assert_ptr_nonnull(find_rule(&ops, "10.0.1.21/32"));
	net_op_list_clear(&ops);
}
END_TEST

START_TEST(plan_mtu_keep)
{
	static const char *const addresses[] = {"10.0.1.20", NULL};
	struct eni_record r;
	struct net_op_list ops = {0};

	settings.mtu = 0;
	record_ipv4(&r, 0, 1, "10.0.1.0/24", addresses);
	ck_assert_int_eq(plan(&r, false, &ops), 0);
	ck_assert_uint_eq(ops.ops[0].link.mtu, 0);
	net_op_list_clear(&ops);
}
END_TEST

START_TEST(plan_shared_rules)
{
	struct net_op_list ops = {0};

	ck_assert_int_eq(plan_shared(&settings, &ops), 0);
	ck_assert_uint_eq(ops.count, 2);
	for (size_t i = 0; i < 2; i++) {
		const struct net_rule *rule = &ops.ops[i].rule;

		ck_assert_uint_eq(rule->priority, 9999);
		ck_assert_uint_eq(rule->table, RT_TABLE_MAIN);
		ck_assert_int_eq(rule->suppress_ifgroup, 0x2ec);
		ck_assert_int_eq(rule->src.family, 0);
		ck_assert_int_eq(ops.ops[i].owner, 0);
	}
	ck_assert_int_eq(ops.ops[0].rule.family, AF_INET);
	ck_assert_int_eq(ops.ops[1].rule.family, AF_INET6);
	net_op_list_clear(&ops);
}
END_TEST

/* Every combination of families (IPv4, IPv6, both), cards (0, 1) and
 * delegated prefixes (none, IPv4, IPv6, both): the invariants of a plan. */
enum { FAMILY_V4 = 1, FAMILY_V6 = 2 };
enum { PREFIX_V4 = 1, PREFIX_V6 = 2 };

static void combination_record(struct eni_record *r, int families,
			       uint32_t card, int prefixes)
{
	static const char *const v4[] = {"10.0.1.20", "10.0.1.21", NULL};
	static const char *const v6[] = {"2001:db8:1::10", NULL};

	record_ipv4(r, card, 1, "10.0.1.0/24", v4);
	if (!(families & FAMILY_V4)) {
		r->state[ENI_KEY_LOCAL_IPV4S] = ENI_VALUE_ABSENT;
		r->state[ENI_KEY_SUBNET_IPV4] = ENI_VALUE_ABSENT;
		r->n_ipv4 = 0;
	}
	if (families & FAMILY_V6)
		add_ipv6(r, "2001:db8:1::/64", v6);
	if (prefixes & PREFIX_V4) {
		r->state[ENI_KEY_IPV4_PREFIX] = ENI_VALUE_PRESENT;
		r->prefix_ipv4[0] = parse("10.0.1.48/28");
		r->n_prefix_ipv4 = 1;
	}
	if (prefixes & PREFIX_V6) {
		r->state[ENI_KEY_IPV6_PREFIX] = ENI_VALUE_PRESENT;
		r->prefix_ipv6[0] = parse("2001:db8:1:0:2::/80");
		r->n_prefix_ipv6 = 1;
	}
}

static int op_family(const struct net_op *op)
{
	switch (op->type) {
	case NET_OBJECT_ADDR:
		return op->addr.local.family;
	case NET_OBJECT_ROUTE:
		return op->route.dst.family;
	case NET_OBJECT_RULE:
		return op->rule.family;
	case NET_OBJECT_LINK:
		break;
	}

	return 0;
}

START_TEST(plan_combinations)
{
	int families = _i % 3 + 1;
	uint32_t card = (uint32_t)(_i / 3 % 2);
	int prefixes = _i / 6;
	uint32_t table = 10000 + 100 * card + 1, metric = 512 + 100 * card + 1;
	bool v4 = families & FAMILY_V4, v6 = families & FAMILY_V6;
	size_t rules = 0, defaults = 0, expected_rules = 0;
	struct eni_record r;
	struct net_op_list ops = {0};

	combination_record(&r, families, card, prefixes);
	ck_assert_int_eq(plan(&r, false, &ops), 0);

	for (size_t i = 0; i < ops.count; i++) {
		const struct net_op *op = &ops.ops[i];
		int family = op_family(op);

		ck_assert_int_eq(op->owner, IFINDEX);
		if (family == AF_INET)
			ck_assert_msg(v4, "case %d: IPv4 object", _i);
		if (family == AF_INET6)
			ck_assert_msg(v6, "case %d: IPv6 object", _i);
		if (op->type == NET_OBJECT_RULE) {
			ck_assert_uint_eq(op->rule.priority, table);
			ck_assert_uint_eq(op->rule.table, table);
			rules++;
		}
		if (op->type == NET_OBJECT_ROUTE) {
			ck_assert_uint_eq(op->route.metric, metric);
			ck_assert(op->route.table == table ||
				  op->route.table == RT_TABLE_MAIN);
			defaults += op->route.dst.len == 0;
		}
	}

	/* A rule per address and per prefix of each family it has. */
	if (v4)
		expected_rules += 2 + ((prefixes & PREFIX_V4) != 0);
	if (v6)
		expected_rules += 1 + ((prefixes & PREFIX_V6) != 0);
	ck_assert_uint_eq(rules, expected_rules);
	ck_assert_uint_eq(defaults, (size_t)v4 + (size_t)v6);
	net_op_list_clear(&ops);
}
END_TEST

static Suite *planner_suite(void)
{
	Suite *s = suite_create("planner");
	TCase *numbers = tcase_create("numbers");
	TCase *objects = tcase_create("objects");

	tcase_add_checked_fixture(numbers, setup, NULL);
	tcase_add_test(numbers, numbers_follow_cards_and_devices);
	tcase_add_test(numbers, numbers_never_collide);
	tcase_add_test(numbers, numbers_refuse_reserved_tables);
	suite_add_tcase(s, numbers);

	tcase_add_checked_fixture(objects, setup, NULL);
	tcase_add_test(objects, plan_secondary_eni_ipv4);
	tcase_add_test(objects, plan_keeps_metadata_order);
	tcase_add_test(objects, plan_primary_leaves_dhcp_address);
	tcase_add_test(objects, plan_wide_subnet_router);
	tcase_add_test(objects, plan_rejects_address_outside_subnet);
	tcase_add_test(objects, plan_rejects_device_out_of_range);
	tcase_add_test(objects, plan_dual_stack);
	tcase_add_test(objects, plan_ipv6_only_has_no_ipv4);
	tcase_add_test(objects, plan_delegated_prefix_rules);
	tcase_add_test(objects, plan_local_prefix_routes);
	tcase_add_test(objects, plan_without_secondary_addresses);
	tcase_add_test(objects, plan_mtu_keep);
	tcase_add_test(objects, plan_shared_rules);
	tcase_add_loop_test(objects, plan_combinations, 0, 3 * 2 * 4);
	suite_add_tcase(s, objects);
	return s;
}

int main(void)
{
	SRunner *runner = srunner_create(planner_suite());
	int failed;

	srunner_run_all(runner, CK_ENV);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
