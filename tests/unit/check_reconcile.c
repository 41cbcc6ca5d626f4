/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the reconciler: what it adds, what it deletes, and above
 * all what it leaves alone (foreign objects, objects of links whose
 * metadata is not known yet).
 */
#include <check.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/planner.h"
#include "daemon/reconcile.h"

#define M1 7		/* known ENI, card 0 device 1 */
#define M2 8		/* present, metadata not known yet */
#define GONE 9		/* no such link */

static struct settings settings;
static struct net_state kernel;
static struct net_op_list desired;
static struct net_op_list ops;
static int known_links[4];
static uint32_t known_tables[4];
static size_t n_known;

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

static void add_kernel_link(int ifindex, unsigned flags, uint32_t mtu,
			    uint32_t group)
{
	struct net_link *links = reallocarray(kernel.links, kernel.n_links + 1,
					      sizeof(*links));

	ck_assert_ptr_nonnull(links);
	kernel.links = links;
	links[kernel.n_links++] = (struct net_link){
		.ifindex = ifindex, .flags = flags, .mtu = mtu,
		.group = group, .promote_secondaries = 1};
	snprintf(links[kernel.n_links - 1].name, IFNAMSIZ, "if%d", ifindex);
}

static void add_kernel_addr(int ifindex, const char *text, uint8_t protocol)
{
	struct net_addr *addrs = reallocarray(kernel.addrs, kernel.n_addrs + 1,
					      sizeof(*addrs));

	ck_assert_ptr_nonnull(addrs);
	kernel.addrs = addrs;
	addrs[kernel.n_addrs++] = (struct net_addr){
		.ifindex = ifindex, .local = parse(text),
		.flags = IFA_F_NOPREFIXROUTE, .protocol = protocol};
}

static void add_kernel_route(const struct net_route *route)
{
	struct net_route *routes = reallocarray(
		kernel.routes, kernel.n_routes + 1, sizeof(*routes));

	ck_assert_ptr_nonnull(routes);
	kernel.routes = routes;
	routes[kernel.n_routes++] = *route;
}

static void add_kernel_rule(const struct net_rule *rule)
{
	struct net_rule *rules = reallocarray(kernel.rules, kernel.n_rules + 1,
					      sizeof(*rules));

	ck_assert_ptr_nonnull(rules);
	kernel.rules = rules;
	rules[kernel.n_rules++] = *rule;
}

static struct net_rule source_rule(const char *src, uint32_t table,
				   uint8_t protocol)
{
	return (struct net_rule){.family = parse(src).family,
				 .priority = table, .src = parse(src),
				 .table = table, .action = FR_ACT_TO_TBL,
				 .protocol = protocol,
				 .suppress_ifgroup = NET_RULE_UNSET,
				 .suppress_prefixlen = NET_RULE_UNSET};
}

/* Plans M1 (card 0, device 1) with the given addresses as known. */
static void plan_m1(const char *const *addresses)
{
	struct eni_record r;
	struct plan_input in = {.record = &r, .ifindex = M1,
				.settings = &settings};
	const char *why;

	memset(&r, 0, sizeof(r));
	r.state[ENI_KEY_DEVICE_NUMBER] = ENI_VALUE_PRESENT;
	r.device_number = 1;
	r.state[ENI_KEY_LOCAL_IPV4S] = ENI_VALUE_PRESENT;
	for (r.n_ipv4 = 0; addresses[r.n_ipv4]; r.n_ipv4++)
		r.ipv4[r.n_ipv4] = parse(addresses[r.n_ipv4]);
	r.state[ENI_KEY_SUBNET_IPV4] = ENI_VALUE_PRESENT;
	r.subnet_ipv4 = parse("10.0.1.0/24");

	ck_assert_int_eq(plan_eni(&in, &desired, &why), 0);
	known_links[n_known] = M1;
	known_tables[n_known++] = 10001;
}

static void run(void)
{
	struct reconcile_input in = {
		.settings = &settings, .desired = &desired, .kernel = &kernel,
		.known_links = known_links, .n_known_links = n_known,
		.known_tables = known_tables, .n_known_tables = n_known};

	net_op_list_clear(&ops);
	ck_assert_int_eq(reconcile(&in, &ops), 0);
}

/* Copies every desired object into the kernel, as after a good apply. */
static void apply_desired(void)
{
	for (size_t i = 0; i < desired.count; i++) {
		const struct net_op *op = &desired.ops[i];

		switch (op->type) {
		case NET_OBJECT_ADDR:
			add_kernel_addr(op->addr.ifindex, "0.0.0.0/0", 0);
			kernel.addrs[kernel.n_addrs - 1] = op->addr;
			break;
		case NET_OBJECT_ROUTE:
			add_kernel_route(&op->route);
			break;
		case NET_OBJECT_RULE:
			add_kernel_rule(&op->rule);
			break;
		case NET_OBJECT_LINK:
			break;
		}
	}
}

static size_t count_ops(enum net_op_kind kind, enum net_object_type type)
{
	size_t n = 0;

	for (size_t i = 0; i < ops.count; i++)
		n += ops.ops[i].kind == kind && ops.ops[i].type == type;
	return n;
}

static void setup(void)
{
	settings_defaults(&settings);
	memset(&kernel, 0, sizeof(kernel));
	memset(&desired, 0, sizeof(desired));
	memset(&ops, 0, sizeof(ops));
	n_known = 0;
	add_kernel_link(M1, IFF_UP, 9001, 0x2ec);
	add_kernel_link(M2, IFF_UP, 1500, 0);
}

static void teardown(void)
{
	net_state_clear(&kernel);
	net_op_list_clear(&desired);
	net_op_list_clear(&ops);
}

static const char *const one_address[] = {"10.0.1.20", NULL};

START_TEST(reconcile_adds_in_order)
{
	enum net_object_type last = NET_OBJECT_ADDR;
	bool seen_gateway = false;

	plan_m1(one_address);
	run();
	ck_assert_uint_eq(count_ops(NET_OP_ADD, NET_OBJECT_ADDR), 1);
	ck_assert_uint_eq(count_ops(NET_OP_ADD, NET_OBJECT_ROUTE), 3);
	ck_assert_uint_eq(count_ops(NET_OP_ADD, NET_OBJECT_RULE), 1);
	ck_assert_uint_eq(count_ops(NET_OP_DELETE, NET_OBJECT_RULE), 0);

	/* Addresses, then link routes, then gateway routes, then rules. */
	for (size_t i = 0; i < ops.count; i++) {
		const struct net_op *op = &ops.ops[i];

		if (op->type == NET_OBJECT_ROUTE && op->route.gateway.family)
			seen_gateway = true;
		else if (op->type == NET_OBJECT_ROUTE)
			ck_assert(!seen_gateway);
		ck_assert_int_ge(op->type, last);
		last = op->type;
	}
}
END_TEST

START_TEST(reconcile_unchanged_is_silent)
{
	plan_m1(one_address);
	apply_desired();
	run();
	ck_assert_uint_eq(ops.count, 0);
}
END_TEST

START_TEST(reconcile_link_down_gets_up)
{
	plan_m1(one_address);
	apply_desired();
	kernel.links[0].flags = 0;
	kernel.links[0].mtu = 1500;
	run();
	ck_assert_uint_eq(ops.count, 1);
	ck_assert_int_eq(ops.ops[0].type, NET_OBJECT_LINK);
	ck_assert(ops.ops[0].link.set_up);
	ck_assert_uint_eq(ops.ops[0].link.mtu, 9001);
	ck_assert(!ops.ops[0].link.set_group);
}
END_TEST

START_TEST(reconcile_leaves_foreign_rules)
{
	struct net_rule admin = source_rule("10.0.1.116/32", 10001, 4);
	struct net_rule mark = source_rule("10.0.1.20/32", 10001, 236);

	plan_m1(one_address);
	apply_desired();
	admin.priority = 500;
	add_kernel_rule(&admin);
	/* Same priority and table as ours, but another protocol. */
	add_kernel_rule(&(struct net_rule){
		.family = AF_INET, .priority = 10001, .table = 100,
		.action = FR_ACT_TO_TBL, .protocol = RTPROT_STATIC,
		.suppress_ifgroup = NET_RULE_UNSET,
		.suppress_prefixlen = NET_RULE_UNSET});
	/* Our protocol, but with a selector enid never sets. */
	mark.other_selectors = true;
	mark.priority = 1000;
	add_kernel_rule(&mark);
	run();
	ck_assert_uint_eq(ops.count, 0);
}
END_TEST

START_TEST(reconcile_foreign_twin_does_not_count)
{
	struct net_rule twin = source_rule("10.0.1.20/32", 10001, 4);

	plan_m1(one_address);
	apply_desired();
	kernel.n_rules = 0;
	add_kernel_rule(&twin);
	run();
	ck_assert_uint_eq(count_ops(NET_OP_ADD, NET_OBJECT_RULE), 1);
	ck_assert_uint_eq(count_ops(NET_OP_DELETE, NET_OBJECT_RULE), 0);
}
END_TEST

START_TEST(reconcile_deletes_removed_address_rule)
{
	static const char *const two[] = {"10.0.1.20", "10.0.1.21", NULL};
	struct net_rule stale = source_rule("10.0.1.21/32", 10001, 236);

	plan_m1(one_address);
	apply_desired();
	add_kernel_rule(&stale);
	add_kernel_addr(M1, "10.0.1.21/24", 236);
	run();
	ck_assert_uint_eq(count_ops(NET_OP_DELETE, NET_OBJECT_RULE), 1);
	ck_assert_uint_eq(count_ops(NET_OP_DELETE, NET_OBJECT_ADDR), 1);
	ck_assert_uint_eq(ops.count, 2);

	/* With both addresses wanted, nothing is deleted. */
	net_op_list_clear(&desired);
	n_known = 0;
	plan_m1(two);
	run();
	ck_assert_uint_eq(ops.count, 0);
}
END_TEST

START_TEST(reconcile_keeps_pending_link_objects)
{
	struct net_rule rule = source_rule("10.0.2.30/32", 10002, 236);
	struct net_route route = {
		.table = 10002, .dst = parse("10.0.2.0/24"), .oif = M2,
		.metric = 514, .protocol = 236, .scope = RT_SCOPE_LINK,
		.type = RTN_UNICAST};

	add_kernel_addr(M2, "10.0.2.30/24", 236);
	add_kernel_rule(&rule);
	add_kernel_route(&route);
	run();
	ck_assert_uint_eq(ops.count, 0);
}
END_TEST

START_TEST(reconcile_keeps_prefix_rule_of_pending_link)
{
	struct net_rule rule = source_rule("10.0.2.48/28", 10002, 236);
	struct net_route route = {
		.table = 10002, .dst = parse("0.0.0.0/0"),
		.gateway = parse("10.0.2.1"), .oif = M2, .metric = 514,
		.protocol = 236, .type = RTN_UNICAST};

	add_kernel_rule(&rule);
	add_kernel_route(&route);
	run();
	ck_assert_uint_eq(ops.count, 0);
}
END_TEST

START_TEST(reconcile_deletes_detached_rules)
{
	struct net_rule rule = source_rule("10.0.3.40/32", 10003, 236);
	struct net_rule v6 = source_rule("2001:db8:3::40/128", 10003, 236);

	add_kernel_rule(&rule);
	add_kernel_rule(&v6);
	run();
	ck_assert_uint_eq(count_ops(NET_OP_DELETE, NET_OBJECT_RULE), 2);
	ck_assert_uint_eq(ops.count, 2);
}
END_TEST

START_TEST(reconcile_deletes_duplicate_rule)
{
	struct net_rule twin;

	plan_m1(one_address);
	apply_desired();
	twin = kernel.rules[0];
	add_kernel_rule(&twin);
	run();
	ck_assert_uint_eq(count_ops(NET_OP_DELETE, NET_OBJECT_RULE), 1);
	ck_assert_uint_eq(ops.count, 1);
}
END_TEST

START_TEST(reconcile_foreign_address_satisfies)
{
	plan_m1(one_address);
	apply_desired();
	kernel.addrs[0].protocol = 0;
	kernel.addrs[0].local.len = 32;
	run();
	ck_assert_uint_eq(ops.count, 0);
}
END_TEST

START_TEST(reconcile_never_deletes_foreign_address)
{
	plan_m1(one_address);
	apply_desired();
	add_kernel_addr(M1, "10.0.1.99/24", 0);
	add_kernel_addr(M1, "169.254.7.7/32", 0);
	run();
	ck_assert_uint_eq(ops.count, 0);
}
END_TEST

START_TEST(reconcile_fixes_owned_prefix_length)
{
	plan_m1(one_address);
	apply_desired();
	kernel.addrs[0].local.len = 32;
	run();
	ck_assert_uint_eq(count_ops(NET_OP_DELETE, NET_OBJECT_ADDR), 1);
	ck_assert_uint_eq(count_ops(NET_OP_ADD, NET_OBJECT_ADDR), 1);
}
END_TEST

START_TEST(reconcile_skips_absent_owner)
{
	struct plan_input in;
	struct eni_record r;
	const char *why;

	memset(&r, 0, sizeof(r));
	r.state[ENI_KEY_DEVICE_NUMBER] = ENI_VALUE_PRESENT;
	r.device_number = 4;
	r.state[ENI_KEY_LOCAL_IPV4S] = ENI_VALUE_PRESENT;
	r.ipv4[0] = parse("10.0.4.4");
	r.n_ipv4 = 1;
	r.state[ENI_KEY_SUBNET_IPV4] = ENI_VALUE_PRESENT;
	r.subnet_ipv4 = parse("10.0.4.0/24");
	in = (struct plan_input){.record = &r, .ifindex = GONE,
				 .settings = &settings};
	ck_assert_int_eq(plan_eni(&in, &desired, &why), 0);
	run();
	ck_assert_uint_eq(ops.count, 0);
}
END_TEST

START_TEST(reconcile_ignores_out_of_range_protocol_objects)
{
	struct net_rule low = source_rule("10.0.1.20/32", 500, 236);
	struct net_route route = {
		.table = RT_TABLE_MAIN, .dst = parse("10.9.0.0/16"), .oif = M1,
		.metric = 100, .protocol = 236, .type = RTN_UNICAST};

	add_kernel_rule(&low);
	add_kernel_route(&route);
	run();
	ck_assert_uint_eq(ops.count, 0);
}
END_TEST

START_TEST(reconcile_keep_only_is_kept_not_added)
{
	plan_m1(one_address);
	for (size_t i = 0; i < desired.count; i++) {
		if (desired.ops[i].type == NET_OBJECT_ADDR)
			desired.ops[i].keep_only = true;
	}

	/* Missing: not added. */
	run();
	ck_assert_uint_eq(count_ops(NET_OP_ADD, NET_OBJECT_ADDR), 0);

	/* Present and owned: not deleted. */
	add_kernel_addr(M1, "10.0.1.20/24", 236);
	run();
	ck_assert_uint_eq(count_ops(NET_OP_DELETE, NET_OBJECT_ADDR), 0);
}
END_TEST

START_TEST(reconcile_stale_record_keeps_rules)
{
	static const char *const v4[] = {"10.0.1.20", NULL};

	/* A refresh in flight changes nothing: the last applied record
	 * still plans the same rules, so none is deleted. */
	plan_m1(v4);
	apply_desired();
	net_op_list_clear(&desired);
	n_known = 0;
	plan_m1(v4);
	run();
	ck_assert_uint_eq(count_ops(NET_OP_DELETE, NET_OBJECT_RULE), 0);
	ck_assert_uint_eq(ops.count, 0);
}
END_TEST

static Suite *reconcile_suite(void)
{
	Suite *s = suite_create("reconcile");
	TCase *tc = tcase_create("diff");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, reconcile_adds_in_order);
	tcase_add_test(tc, reconcile_unchanged_is_silent);
	tcase_add_test(tc, reconcile_link_down_gets_up);
	tcase_add_test(tc, reconcile_leaves_foreign_rules);
	tcase_add_test(tc, reconcile_foreign_twin_does_not_count);
	tcase_add_test(tc, reconcile_deletes_removed_address_rule);
	tcase_add_test(tc, reconcile_keeps_pending_link_objects);
	tcase_add_test(tc, reconcile_keeps_prefix_rule_of_pending_link);
	tcase_add_test(tc, reconcile_deletes_detached_rules);
	tcase_add_test(tc, reconcile_deletes_duplicate_rule);
	tcase_add_test(tc, reconcile_foreign_address_satisfies);
	tcase_add_test(tc, reconcile_never_deletes_foreign_address);
	tcase_add_test(tc, reconcile_fixes_owned_prefix_length);
	tcase_add_test(tc, reconcile_skips_absent_owner);
	tcase_add_test(tc, reconcile_ignores_out_of_range_protocol_objects);
	tcase_add_test(tc, reconcile_keep_only_is_kept_not_added);
	tcase_add_test(tc, reconcile_stale_record_keeps_rules);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *runner = srunner_create(reconcile_suite());
	int failed;

	srunner_run_all(runner, CK_ENV);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
