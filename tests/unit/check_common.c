/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of common/: address arithmetic, MAC text, the backoff
 * schedule, and when an ENI record counts as complete.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/addr.h"
#include "common/backoff.h"
#include "common/eni.h"
#include "common/netobj.h"

static struct ip_prefix prefix(const char *text)
{
	struct ip_prefix p;

	ck_assert_msg(ip_prefix_parse(text, AF_UNSPEC, &p) == 0, "%s", text);
	return p;
}

static struct ip_prefix address(const char *text)
{
	struct ip_prefix p;

	ck_assert_msg(ip_addr_parse(text, AF_UNSPEC, &p) == 0, "%s", text);
	return p;
}

static const struct {
	const char *text;
	int family;
	int expected;
} prefix_cases[] = {
	{"10.0.16.0/20", AF_INET, 0},
	{"10.0.16.0/0", AF_INET, 0},
	{"10.0.16.0/32", AF_INET, 0},
	{"10.0.16.0/33", AF_INET, -EINVAL},
	{"10.0.16.0", AF_INET, -EINVAL},
	{"/20", AF_INET, -EINVAL},
	{"10.0.16.0/", AF_INET, -EINVAL},
	{"10.0.16.0/020", AF_INET, -EINVAL},
	{"10.0.16.0/+2", AF_INET, -EINVAL},
	{"10.0.16.0/2x", AF_INET, -EINVAL},
	{"2001:db8:1:0:0:0:0:0/64", AF_INET6, 0},
	{"2001:db8:1::/64", AF_UNSPEC, 0},
	{"2001:db8:1::/129", AF_INET6, -EINVAL},
	{"2001:db8:1::/64", AF_INET, -EINVAL},
	{"10.0.1.0/24", AF_INET6, -EINVAL},
	{"garbage/8", AF_UNSPEC, -EINVAL},
	{"", AF_UNSPEC, -EINVAL},
};

START_TEST(prefix_parse_table)
{
	struct ip_prefix p;

	ck_assert_msg(ip_prefix_parse(prefix_cases[_i].text,
				      prefix_cases[_i].family,
				      &p) == prefix_cases[_i].expected,
		      "case %s", prefix_cases[_i].text);
}
END_TEST

START_TEST(prefix_host_bits)
{
	struct ip_prefix clean = prefix("10.0.16.0/20");
	struct ip_prefix host = prefix("10.0.16.5/20");
	struct ip_prefix v6 = prefix("2001:db8:2::1/80");

	ck_assert(!ip_prefix_has_host_bits(&clean));
	ck_assert(ip_prefix_has_host_bits(&host));
	ck_assert(ip_prefix_has_host_bits(&v6));
}
END_TEST

START_TEST(prefix_contains_address)
{
	struct ip_prefix subnet = prefix("10.0.16.0/20");
	struct ip_prefix inside = address("10.0.20.7");
	struct ip_prefix outside = address("10.0.32.1");
	struct ip_prefix v6 = address("2001:db8::1");

	ck_assert(ip_prefix_contains(&subnet, AF_INET, &inside.addr));
	ck_assert(!ip_prefix_contains(&subnet, AF_INET, &outside.addr));
	ck_assert(!ip_prefix_contains(&subnet, AF_INET6, &v6.addr));
}
END_TEST

START_TEST(prefix_nth_router)
{
	struct ip_prefix subnet = prefix("10.0.16.0/20");
	struct ip_prefix small = prefix("10.0.1.252/31");
	struct ip_prefix carry = prefix("10.0.0.255/24");
	union ip_addr out;
	char text[IP_PREFIX_STRLEN];

	ck_assert_int_eq(ip_prefix_nth(&subnet, 1, &out), 0);
	ck_assert_str_eq(ip_addr_format(AF_INET, &out, text), "10.0.16.1");
	ck_assert_int_eq(ip_prefix_nth(&small, 2, &out), -ERANGE);

	/* Host bits carried into the next byte leave the /24. */
	ck_assert_int_eq(ip_prefix_nth(&carry, 1, &out), -ERANGE);
}
END_TEST

START_TEST(mac_parse_cases)
{
	uint8_t mac[MAC_LEN];
	char text[MAC_STRLEN];

	ck_assert_int_eq(mac_parse("02:AB:cd:00:00:01", mac), 0);
	ck_assert_str_eq(mac_format(mac, text), "02:ab:cd:00:00:01");
	ck_assert_int_eq(mac_parse("02:ab:cd:00:00:0", mac), -EINVAL);
	ck_assert_int_eq(mac_parse("02:ab:cd:00:00:011", mac), -EINVAL);
	ck_assert_int_eq(mac_parse("02-ab-cd-00-00-01", mac), -EINVAL);
	ck_assert_int_eq(mac_parse("02:ab:cd:00:00:0g", mac), -EINVAL);
}
END_TEST

START_TEST(backoff_grows_and_caps)
{
	struct backoff b;
	uint64_t previous = 0;

	backoff_init(&b, 100, 1000, 0, 1);
	for (unsigned i = 0; i < 4; i++) {
		uint64_t delay = backoff_next(&b);

		ck_assert_uint_eq(delay, 100u << i);
		ck_assert_uint_gt(delay, previous);
		previous = delay;
	}

	ck_assert_uint_eq(backoff_next(&b), 1000);
	ck_assert_uint_eq(backoff_next(&b), 1000);
	backoff_reset(&b);
	ck_assert_uint_eq(backoff_next(&b), 100);
}
END_TEST

START_TEST(backoff_jitter_spread)
{
	struct backoff b;
	uint64_t low = UINT64_MAX, high = 0;

	backoff_init(&b, 1000000, 1000000, 20, 42);
	for (unsigned i = 0; i < 2000; i++) {
		uint64_t delay = backoff_next(&b);

		low = delay < low ? delay : low;
		high = delay > high ? delay : high;
	}

	ck_assert_uint_ge(low, 800000);
	ck_assert_uint_le(high, 1200000);
	/* The spread is used, not a constant. */
	ck_assert_uint_lt(low, 850000);
	ck_assert_uint_gt(high, 1150000);
}
END_TEST

static const uint8_t primary_mac[MAC_LEN] = {2, 0xab, 0xcd, 0, 0, 1};
static const uint8_t other_mac[MAC_LEN] = {2, 0xab, 0xcd, 0, 0, 2};

/* A complete IPv4 record of a secondary ENI on card 0, device 1. */
static void complete_record(struct eni_record *r)
{
	eni_record_init(r, other_mac);
	r->listed = true;
	r->keys_listed = true;
	r->listed_keys = 1u << ENI_KEY_DEVICE_NUMBER |
			 1u << ENI_KEY_LOCAL_IPV4S | 1u << ENI_KEY_SUBNET_IPV4;
	r->state[ENI_KEY_DEVICE_NUMBER] = ENI_VALUE_PRESENT;
	r->device_number = 1;
	r->state[ENI_KEY_NETWORK_CARD] = ENI_VALUE_ABSENT;
	r->state[ENI_KEY_LOCAL_IPV4S] = ENI_VALUE_PRESENT;
	r->ipv4[0] = address("10.0.1.20");
	r->n_ipv4 = 1;
	r->state[ENI_KEY_SUBNET_IPV4] = ENI_VALUE_PRESENT;
	r->subnet_ipv4 = prefix("10.0.1.0/24");
}

static const struct instance_info single_card = {.primary_known = true,
						  .cards = INSTANCE_CARDS_SINGLE};
static const struct instance_info multi_card = {.primary_known = true,
						 .cards = INSTANCE_CARDS_MULTI};

START_TEST(eni_complete_ipv4)
{
	struct eni_record r;

	complete_record(&r);
	ck_assert_ptr_null(eni_missing(&r, &single_card));
}
END_TEST

START_TEST(eni_unlisted_waits)
{
	struct eni_record r;

	complete_record(&r);
	r.listed = false;
	ck_assert_ptr_nonnull(eni_missing(&r, &single_card));
}
END_TEST

/* Device 0 is settled only for the primary or on a card other than 0. */
static const struct {
	bool primary;
	bool has_card;
	uint32_t card;
	uint32_t device;
	bool complete;
} device_cases[] = {
	{true, false, 0, 0, true},   {false, false, 0, 0, false},
	{false, false, 0, 1, true},  {true, true, 0, 0, true},
	{false, true, 0, 0, false},  {false, true, 1, 0, true},
	{false, true, 1, 1, true},   {false, true, 0, 1, true},
};

START_TEST(eni_device_zero_table)
{
	struct eni_record r;
	const struct instance_info *instance;

	complete_record(&r);
	r.primary = device_cases[_i].primary;
	r.device_number = device_cases[_i].device;
	if (device_cases[_i].has_card) {
		r.state[ENI_KEY_NETWORK_CARD] = ENI_VALUE_PRESENT;
		r.network_card = device_cases[_i].card;
		instance = &multi_card;
	} else {
		instance = &single_card;
	}

	ck_assert_msg((eni_missing(&r, instance) == NULL) ==
			      device_cases[_i].complete,
		      "case %d: %s", _i, eni_missing(&r, instance));
}
END_TEST

START_TEST(eni_card_missing_on_multi)
{
	struct eni_record r;
	struct instance_info unknown = {.primary_known = true};

	complete_record(&r);
	ck_assert_str_eq(eni_missing(&r, &multi_card), "network-card");
	ck_assert_str_eq(eni_missing(&r, &unknown), "network-card");
	ck_assert_ptr_null(eni_missing(&r, &single_card));
}
END_TEST

START_TEST(eni_primary_knows_single_card)
{
	struct eni_record r;
	struct instance_info unknown = {.primary_known = true};

	complete_record(&r);
	memcpy(r.mac, primary_mac, MAC_LEN);
	r.primary = true;
	r.device_number = 0;

	/* The primary's own missing network-card means a single card. */
	ck_assert_ptr_null(eni_missing(&r, &unknown));
}
END_TEST

START_TEST(eni_ipv6_only_complete)
{
	struct eni_record r;

	complete_record(&r);
	r.listed_keys = 1u << ENI_KEY_DEVICE_NUMBER | 1u << ENI_KEY_IPV6S |
			1u << ENI_KEY_SUBNET_IPV6;
	r.state[ENI_KEY_LOCAL_IPV4S] = ENI_VALUE_ABSENT;
	r.state[ENI_KEY_SUBNET_IPV4] = ENI_VALUE_ABSENT;
	ck_assert_str_eq(eni_missing(&r, &single_card), "ipv6s");

	r.state[ENI_KEY_IPV6S] = ENI_VALUE_PRESENT;
	r.ipv6[0] = address("2001:db8:1::10");
	r.n_ipv6 = 1;
	ck_assert_str_eq(eni_missing(&r, &single_card),
			 "subnet-ipv6-cidr-blocks");

	r.state[ENI_KEY_SUBNET_IPV6] = ENI_VALUE_PRESENT;
	r.subnet_ipv6[0] = prefix("2001:db8:1::/64");
	r.n_subnet_ipv6 = 1;
	ck_assert_ptr_null(eni_missing(&r, &single_card));
}
END_TEST

START_TEST(eni_ipv4_listed_but_missing)
{
	struct eni_record r;

	complete_record(&r);
	r.state[ENI_KEY_SUBNET_IPV4] = ENI_VALUE_UNKNOWN;
	ck_assert_str_eq(eni_missing(&r, &single_card),
			 "subnet-ipv4-cidr-block");
}
END_TEST

START_TEST(eni_same_config_compares_order)
{
	struct eni_record a, b;

	complete_record(&a);
	a.ipv4[1] = address("10.0.1.21");
	a.n_ipv4 = 2;
	b = a;
	ck_assert(eni_record_same_config(&a, &b));

	b.ipv4[0] = a.ipv4[1];
	b.ipv4[1] = a.ipv4[0];
	ck_assert(!eni_record_same_config(&a, &b));
}
END_TEST

static Suite *common_suite(void)
{
	Suite *s = suite_create("common");
	TCase *addr = tcase_create("addr");
	TCase *backoff = tcase_create("backoff");
	TCase *eni = tcase_create("eni");
	size_t n_prefix = sizeof(prefix_cases) / sizeof(prefix_cases[0]);
	size_t n_device = sizeof(device_cases) / sizeof(device_cases[0]);

	tcase_add_loop_test(addr, prefix_parse_table, 0, (int)n_prefix);
	tcase_add_test(addr, prefix_host_bits);
	tcase_add_test(addr, prefix_contains_address);
	tcase_add_test(addr, prefix_nth_router);
	tcase_add_test(addr, mac_parse_cases);
	suite_add_tcase(s, addr);

	tcase_add_test(backoff, backoff_grows_and_caps);
	tcase_add_test(backoff, backoff_jitter_spread);
	suite_add_tcase(s, backoff);

	tcase_add_test(eni, eni_complete_ipv4);
	tcase_add_test(eni, eni_unlisted_waits);
	tcase_add_loop_test(eni, eni_device_zero_table, 0, (int)n_device);
	tcase_add_test(eni, eni_card_missing_on_multi);
	tcase_add_test(eni, eni_primary_knows_single_card);
	tcase_add_test(eni, eni_ipv6_only_complete);
	tcase_add_test(eni, eni_ipv4_listed_but_missing);
	tcase_add_test(eni, eni_same_config_compares_order);
	suite_add_tcase(s, eni);
	return s;
}

int main(void)
{
	SRunner *runner = srunner_create(common_suite());
	int failed;

	srunner_run_all(runner, CK_ENV);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
