/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the strict metadata parsers: tables of bodies, including
 * the malformed values seen in the field (half-written CIDRs, host bits,
 * wrong families, NUL bytes, oversize lists), with the explanation each
 * rejection gives.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "imds/parse.h"

/* A body with its exact length, so NUL bytes can be part of it. */
struct body {
	const char *text;
	size_t length;
};

#define BODY(s) { (s), sizeof(s) - 1 }

/* Room for the longest list any case produces. */
#define OUT_MAX 300

static void assert_why(const struct imds_why *why, const char *expected,
		       const char *body)
{
	if (!expected)
		return;

	ck_assert_msg(strstr(why->text, expected) != NULL,
		      "body \"%s\": why \"%s\" lacks \"%s\"", body, why->text,
		      expected);
}

/* imds_parse_uint */

static const struct {
	struct body body;
	uint32_t max;
	int expected;
	uint32_t value;
	const char *why;
} uint_cases[] = {
	{ BODY("0"), 1023, 0, 0, NULL },
	{ BODY("1\n"), 1023, 0, 1, NULL },
	{ BODY("17\r\n"), 1023, 0, 17, NULL },
	{ BODY("\n5\n\n"), 1023, 0, 5, NULL },
	{ BODY("1023"), 1023, 0, 1023, NULL },
	{ BODY("4294967295"), UINT32_MAX, 0, UINT32_MAX, NULL },
	{ BODY("1024"), 1023, -EINVAL, 0,
	  "line 1: 1024 is above the maximum 1023" },
	{ BODY("4294967296"), UINT32_MAX, -EINVAL, 0, "above the maximum" },
	{ BODY("99999999999999999999999"), UINT32_MAX, -EINVAL, 0, "above" },
	{ BODY("01"), 1023, -EINVAL, 0, "leading zeros" },
	{ BODY("00"), 1023, -EINVAL, 0, "leading zeros" },
	{ BODY("-1"), 1023, -EINVAL, 0, "not a decimal number" },
	{ BODY("+1"), 1023, -EINVAL, 0, "not a decimal number" },
	{ BODY(" 1"), 1023, -EINVAL, 0, "not a decimal number" },
	{ BODY("1 "), 1023, -EINVAL, 0, "not a decimal number" },
	{ BODY("0x10"), 1023, -EINVAL, 0, "not a decimal number" },
	{ BODY(""), 1023, -EINVAL, 0, "empty value" },
	{ BODY("\n\r\n"), 1023, -EINVAL, 0, "empty value" },
	{ BODY("1\n2"), 1023, -EINVAL, 0, "line 2: more than one value" },
	{ BODY("1\0"), 1023, -EINVAL, 0, "line 1: NUL byte" },
	{ BODY("1\r"), 1023, -EINVAL, 0, "carriage return" },
	{ BODY("1\t"), 1023, -EINVAL, 0, "control character \\x09" },
	{ BODY("\xef\xbc\x91"), 1023, -EINVAL, 0, "non-ASCII byte \\xef" },
};

START_TEST(parse_uint_table)
{
	const struct body *b = &uint_cases[_i].body;
	struct imds_why why = { "" };
	uint32_t value = 4242;

	ck_assert_int_eq(imds_parse_uint(b->text, b->length, uint_cases[_i].max,
					 &value, &why),
			 uint_cases[_i].expected);
	if (uint_cases[_i].expected == 0)
		ck_assert_uint_eq(value, uint_cases[_i].value);
	else
		ck_assert_uint_eq(value, 4242);
	assert_why(&why, uint_cases[_i].why, b->text);
}
END_TEST

/* imds_parse_mac */

static const struct {
	struct body body;
	int expected;
	uint8_t mac[MAC_LEN];
} mac_cases[] = {
	{ BODY("02:ab:cd:00:00:01"), 0, { 0x02, 0xab, 0xcd, 0, 0, 0x01 } },
	{ BODY("02:AB:CD:00:00:01\n"), 0, { 0x02, 0xab, 0xcd, 0, 0, 0x01 } },
	{ BODY("0e:49:61:0F:c3:11\r\n"), 0,
	  { 0x0e, 0x49, 0x61, 0x0f, 0xc3, 0x11 } },
	{ BODY("02:ab:cd:00:00"), -EINVAL, { 0 } },
	{ BODY("02-ab-cd-00-00-01"), -EINVAL, { 0 } },
	{ BODY("02:ab:cd:00:00:01:02"), -EINVAL, { 0 } },
	{ BODY("02:ab:cd:00:00:0g"), -EINVAL, { 0 } },
	{ BODY("02:ab:cd:00:00:01 "), -EINVAL, { 0 } },
	{ BODY("02:ab:cd:00:00:01\n02:ab:cd:00:00:02"), -EINVAL, { 0 } },
	{ BODY(""), -EINVAL, { 0 } },
	{ BODY("02:ab:cd\0:00:00:01"), -EINVAL, { 0 } },
};

START_TEST(parse_mac_table)
{
	const struct body *b = &mac_cases[_i].body;
	uint8_t untouched[MAC_LEN] = { 0xee, 0xee, 0xee, 0xee, 0xee, 0xee };
	uint8_t mac[MAC_LEN];
	struct imds_why why = { "" };

	memcpy(mac, untouched, MAC_LEN);
	ck_assert_int_eq(imds_parse_mac(b->text, b->length, mac, &why),
			 mac_cases[_i].expected);
	if (mac_cases[_i].expected == 0)
		ck_assert_mem_eq(mac, mac_cases[_i].mac, MAC_LEN);
	else
		ck_assert_mem_eq(mac, untouched, MAC_LEN);
}
END_TEST

/* imds_parse_eni_id */

static const struct {
	struct body body;
	size_t size;
	int expected;
	const char *value;
} eni_cases[] = {
	{ BODY("eni-0a1b2c3d4e5f60001"), 32, 0, "eni-0a1b2c3d4e5f60001" },
	{ BODY("eni-12345678\n"), 32, 0, "eni-12345678" },
	{ BODY("eni-0f95d3625f5c521cc\r\n"), 32, 0, "eni-0f95d3625f5c521cc" },
	{ BODY("eni-0A1B2C3D4E5F60001"), 32, -EINVAL, NULL },
	{ BODY("eni-1234567"), 32, -EINVAL, NULL },
	{ BODY("eni-0a1b2c3d4e5f6000"), 32, -EINVAL, NULL },
	{ BODY("eni-0a1b2c3d4e5f600012"), 32, -EINVAL, NULL },
	{ BODY("eni-"), 32, -EINVAL, NULL },
	{ BODY("ENI-12345678"), 32, -EINVAL, NULL },
	{ BODY("eni-1234567g"), 32, -EINVAL, NULL },
	{ BODY("eni-12345678\neni-12345679"), 32, -EINVAL, NULL },
	{ BODY(""), 32, -EINVAL, NULL },
	{ BODY("eni-0a1b2c3d4e5f60001"), 21, -EINVAL, NULL },
	{ BODY("eni-0a1b2c3d4e5f60001"), 22, 0, "eni-0a1b2c3d4e5f60001" },
};

START_TEST(parse_eni_id_table)
{
	const struct body *b = &eni_cases[_i].body;
	struct imds_why why = { "" };
	char out[32] = "untouched";

	ck_assert_int_eq(imds_parse_eni_id(b->text, b->length, out,
					   eni_cases[_i].size, &why),
			 eni_cases[_i].expected);
	if (eni_cases[_i].expected == 0)
		ck_assert_str_eq(out, eni_cases[_i].value);
	else
		ck_assert_str_eq(out, "untouched");
}
END_TEST

/* imds_parse_addresses */

struct list_case {
	struct body body;
	int family;
	size_t max;
	int expected;
	size_t count;
	const char *first;	/* expected entries, in order */
	const char *second;
	const char *why;
};

static const struct list_case address_cases[] = {
	{ BODY("10.0.1.123\n10.0.1.34"), AF_INET, 64, 0, 2,
	  "10.0.1.123/32", "10.0.1.34/32", NULL },
	{ BODY("10.0.1.10"), AF_INET, 64, 0, 1, "10.0.1.10/32", NULL, NULL },
	{ BODY("10.0.1.10\r\n10.0.1.11\r\n"), AF_INET, 64, 0, 2,
	  "10.0.1.10/32", "10.0.1.11/32", NULL },
	{ BODY("\n10.0.1.10\n\n\n10.0.1.11\n\n"), AF_INET, 64, 0, 2,
	  "10.0.1.10/32", "10.0.1.11/32", NULL },
	{ BODY("2001:db8:1234:5601:1d2c:3b4a:5968:7a01"), AF_INET6, 64, 0, 1,
	  "2001:db8:1234:5601:1d2c:3b4a:5968:7a01/128", NULL, NULL },
	{ BODY("2001:db8:1:0:0:0:0:5\n2001:db8::6"), AF_INET6, 64, 0, 2,
	  "2001:db8:1::5/128", "2001:db8::6/128", NULL },
	{ BODY("10.0.1.20\n10.0.1.20"), AF_INET, 64, -EINVAL, 0, NULL, NULL,
	  "line 2: duplicate address 10.0.1.20" },
	{ BODY("2001:db8::1\n2001:0db8:0:0:0:0:0:1"), AF_INET6, 64, -EINVAL, 0,
	  NULL, NULL, "line 2: duplicate address" },
	/* Spaces are not trimmed: the service never sends them. */
	{ BODY("10.0.1.5 "), AF_INET, 64, -EINVAL, 0, NULL, NULL,
	  "line 1: invalid IPv4 address \"10.0.1.5 \"" },
	{ BODY(" 10.0.1.5"), AF_INET, 64, -EINVAL, 0, NULL, NULL, "invalid" },
	{ BODY("10.0.1.05"), AF_INET, 64, -EINVAL, 0, NULL, NULL, "invalid" },
	{ BODY("10.0.1.5/32"), AF_INET, 64, -EINVAL, 0, NULL, NULL, "invalid" },
	{ BODY("10.0.1"), AF_INET, 64, -EINVAL, 0, NULL, NULL, "invalid" },
	{ BODY("2001:db8::1"), AF_INET, 64, -EINVAL, 0, NULL, NULL,
	  "line 1: 2001:db8::1 is an IPv6 address, expected IPv4" },
	{ BODY("10.0.1.5"), AF_INET6, 64, -EINVAL, 0, NULL, NULL,
	  "is an IPv4 address, expected IPv6" },
	{ BODY("fe80::1%eth0"), AF_INET6, 64, -EINVAL, 0, NULL, NULL,
	  "invalid IPv6 address" },
	{ BODY(""), AF_INET, 64, -EINVAL, 0, NULL, NULL, "empty value" },
	{ BODY("\n\n"), AF_INET, 64, -EINVAL, 0, NULL, NULL, "empty value" },
	{ BODY("\x00"), AF_INET, 64, -EINVAL, 0, NULL, NULL, "NUL byte" },
	{ BODY("10.0.1.5\n10.0.1.6\0"), AF_INET, 64, -EINVAL, 0, NULL, NULL,
	  "line 2: NUL byte" },
	{ BODY("10.0.1.5\x7f"), AF_INET, 64, -EINVAL, 0, NULL, NULL,
	  "control character \\x7f" },
	{ BODY("10.0.1.5\n\x1b[31m"), AF_INET, 64, -EINVAL, 0, NULL, NULL,
	  "line 2: control character \\x1b" },
	{ BODY("10.0.1.\xc3\xa9"), AF_INET, 64, -EINVAL, 0, NULL, NULL,
	  "non-ASCII byte \\xc3" },
	{ BODY("10.0.1.5\r"), AF_INET, 64, -EINVAL, 0, NULL, NULL,
	  "carriage return" },
	{ BODY("10.0.1.5\r\r\n"), AF_INET, 64, -EINVAL, 0, NULL, NULL,
	  "carriage return" },
	{ BODY("10.0.1.5\n10.0.1.6\n10.0.1.7"), AF_INET, 2, -EINVAL, 0, NULL,
	  NULL, "line 3: more than 2 addresses" },
	{ BODY("10.0.1.5"), AF_UNSPEC, 64, -EINVAL, 0, NULL, NULL, "family" },
};

static void check_list_case(const struct list_case *c, bool prefixes)
{
	struct ip_prefix out[OUT_MAX];
	struct imds_why why = { "" };
	char text[IP_PREFIX_STRLEN];
	size_t count = 999;
	int r;

	memset(out, 0xee, sizeof(out));
	if (prefixes)
		r = imds_parse_prefixes(c->body.text, c->body.length, c->family,
					out, c->max, &count, &why);
	else
		r = imds_parse_addresses(c->body.text, c->body.length,
					 c->family, out, c->max, &count, &why);

	ck_assert_msg(r == c->expected, "body \"%s\": %d, why \"%s\"",
		      c->body.text, r, why.text);
	assert_why(&why, c->why, c->body.text);
	if (r < 0) {
		ck_assert_uint_eq(count, 999);
		ck_assert_uint_eq(((uint8_t *)out)[0], 0xee);
		return;
	}

	ck_assert_uint_eq(count, c->count);
	ip_prefix_format(&out[0], text);
	ck_assert_str_eq(text, c->first);
	if (c->second) {
		ip_prefix_format(&out[1], text);
		ck_assert_str_eq(text, c->second);
	}
}

START_TEST(parse_addresses_table)
{
	check_list_case(&address_cases[_i], false);
}
END_TEST

/* Builds n lines "10.0.<i / 250>.<i % 250 + 1>" into buf. */
static size_t address_lines(char *buf, size_t size, unsigned n)
{
	size_t used = 0;

	for (unsigned i = 0; i < n; i++)
		used += (size_t)snprintf(buf + used, size - used,
					 "10.0.%u.%u\n", i / 250, i % 250 + 1);
	return used;
}

START_TEST(parse_addresses_list_cap)
{
	struct ip_prefix out[OUT_MAX];
	struct imds_why why = { "" };
	char body[8192];
	size_t count = 0;
	size_t length;

	length = address_lines(body, sizeof(body), 64);
	ck_assert_int_eq(imds_parse_addresses(body, length, AF_INET, out, 64,
					      &count, &why),
			 0);
	ck_assert_uint_eq(count, 64);

	length = address_lines(body, sizeof(body), 65);
	count = 0;
	ck_assert_int_eq(imds_parse_addresses(body, length, AF_INET, out, 64,
					      &count, &why),
			 -EINVAL);
	ck_assert_uint_eq(count, 0);
	ck_assert_str_eq(why.text, "line 65: more than 64 addresses");
}
END_TEST

START_TEST(parse_line_too_long)
{
	struct ip_prefix out[4];
	struct imds_why why = { "" };
	char body[IMDS_MAX_LINE + 16];
	size_t count;

	memset(body, '1', sizeof(body));
	ck_assert_int_eq(imds_parse_addresses(body, IMDS_MAX_LINE, AF_INET, out,
					      4, &count, &why),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(why.text, "invalid IPv4 address"));

	ck_assert_int_eq(imds_parse_addresses(body, IMDS_MAX_LINE + 1, AF_INET,
					      out, 4, &count, &why),
			 -EINVAL);
	ck_assert_str_eq(why.text, "line 1: longer than 256 characters");
}
END_TEST

START_TEST(parse_why_sanitized_and_cut)
{
	struct ip_prefix out[4];
	struct imds_why why = { "" };
	char body[200];
	size_t count;

	memset(body, 'x', sizeof(body));
	ck_assert_int_eq(imds_parse_addresses(body, sizeof(body), AF_INET, out,
					      4, &count, &why),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(why.text, "..."));
	ck_assert_uint_lt(strlen(why.text), 100);

	ck_assert_int_eq(imds_parse_prefixes("10\\.0.0.0/8", 11, AF_INET, out,
					     4, &count, &why),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(why.text, "10\\x5c.0.0.0/8"));
}
END_TEST

/* imds_parse_prefixes */

static const struct list_case prefix_cases[] = {
	{ BODY("10.0.16.0/20"), AF_INET, 1, 0, 1, "10.0.16.0/20", NULL, NULL },
	{ BODY("10.0.16.0/20\r\n"), AF_INET, 1, 0, 1, "10.0.16.0/20", NULL,
	  NULL },
	{ BODY("10.0.2.48/28\n10.0.3.16/28\n"), AF_INET, 64, 0, 2,
	  "10.0.2.48/28", "10.0.3.16/28", NULL },
	{ BODY("0.0.0.0/0"), AF_INET, 1, 0, 1, "0.0.0.0/0", NULL, NULL },
	{ BODY("2001:db8:1:0:0:0:0:0/64"), AF_INET6, 8, 0, 1,
	  "2001:db8:1::/64", NULL, NULL },
	{ BODY("2001:db8:1234:5603:0:0:0:0/64\n2001:db8:1234:5604::/64"),
	  AF_INET6, 8, 0, 2, "2001:db8:1234:5603::/64",
	  "2001:db8:1234:5604::/64", NULL },
	{ BODY("2001:db8:2::/80"), AF_INET6, 64, 0, 1, "2001:db8:2::/80", NULL,
	  NULL },
	{ BODY("10.0.16.0"), AF_INET, 1, -EINVAL, 0, NULL, NULL,
	  "line 1: 10.0.16.0 has no prefix length" },
	{ BODY("/20"), AF_INET, 1, -EINVAL, 0, NULL, NULL,
	  "line 1: invalid IPv4 prefix \"/20\"" },
	{ BODY("10.0.16.0/33"), AF_INET, 1, -EINVAL, 0, NULL, NULL,
	  "line 1: invalid prefix length in 10.0.16.0/33" },
	{ BODY("10.0.16.5/20"), AF_INET, 1, -EINVAL, 0, NULL, NULL,
	  "line 1: 10.0.16.5/20 has host bits set" },
	{ BODY(""), AF_INET, 1, -EINVAL, 0, NULL, NULL, "empty value" },
	{ BODY("garbage"), AF_INET, 1, -EINVAL, 0, NULL, NULL,
	  "garbage has no prefix length" },
	{ BODY("garbage/8"), AF_INET, 1, -EINVAL, 0, NULL, NULL,
	  "invalid IPv4 prefix" },
	{ BODY("10.0.16.0/020"), AF_INET, 1, -EINVAL, 0, NULL, NULL,
	  "invalid prefix length" },
	{ BODY("10.0.16.0/"), AF_INET, 1, -EINVAL, 0, NULL, NULL,
	  "invalid prefix length" },
	{ BODY("10.0.16.0/-1"), AF_INET, 1, -EINVAL, 0, NULL, NULL,
	  "invalid prefix length" },
	{ BODY("10.0.016.0/20"), AF_INET, 1, -EINVAL, 0, NULL, NULL,
	  "invalid IPv4 prefix" },
	{ BODY("10.0.16.0/20 "), AF_INET, 1, -EINVAL, 0, NULL, NULL,
	  "invalid prefix length" },
	{ BODY("2001:db8:1::/64"), AF_INET, 1, -EINVAL, 0, NULL, NULL,
	  "line 1: 2001:db8:1::/64 is an IPv6 prefix, expected IPv4" },
	{ BODY("10.0.1.0/24"), AF_INET6, 8, -EINVAL, 0, NULL, NULL,
	  "is an IPv4 prefix, expected IPv6" },
	{ BODY("2001:db8:1::/129"), AF_INET6, 8, -EINVAL, 0, NULL, NULL,
	  "invalid prefix length" },
	{ BODY("2001:db8:2::1/80"), AF_INET6, 64, -EINVAL, 0, NULL, NULL,
	  "has host bits set" },
	{ BODY("10.0.1.0/24\n10.0.2.0/24"), AF_INET, 1, -EINVAL, 0, NULL, NULL,
	  "line 2: more than 1 prefixes" },
	{ BODY("2001:db8:1::/64\n\n2001:db8:1:0::/64"), AF_INET6, 8, -EINVAL, 0,
	  NULL, NULL, "line 3: duplicate prefix 2001:db8:1:0::/64" },
	{ BODY("10.0.1.0/24\x00"), AF_INET, 1, -EINVAL, 0, NULL, NULL,
	  "NUL byte" },
};

START_TEST(parse_prefixes_table)
{
	check_list_case(&prefix_cases[_i], true);
}
END_TEST

/* imds_parse_listing */

struct listing_log {
	unsigned count;
	char names[8][64];
	int directory[8];
	int fail_at;	/* entry number that returns -EIO, or -1 */
};

static int record_entry(const char *name, int is_directory, void *userdata)
{
	struct listing_log *log = userdata;

	if ((int)log->count == log->fail_at)
		return -EIO;

	if (log->count < 8) {
		snprintf(log->names[log->count], sizeof(log->names[0]), "%s",
			 name);
		log->directory[log->count] = is_directory;
	}

	log->count++;
	return 0;
}

static const struct {
	struct body body;
	int expected;
	unsigned count;
	const char *last;	/* name of the last entry */
	int last_is_directory;
	const char *why;
} listing_cases[] = {
	{ BODY("device-number\nlocal-ipv4s\nipv4-associations/\n"), 0, 3,
	  "ipv4-associations", 1, NULL },
	{ BODY("mac\nsubnet-id"), 0, 2, "subnet-id", 0, NULL },
	{ BODY("02:ab:cd:00:00:01/\r\n02:ab:cd:00:00:02/\r\n"), 0, 2,
	  "02:ab:cd:00:00:02", 1, NULL },
	{ BODY("\nmac\n\n"), 0, 1, "mac", 0, NULL },
	{ BODY(""), 0, 0, NULL, 0, NULL },
	{ BODY("mac\n/"), -EINVAL, 0, NULL, 0, "line 2: invalid entry \"/\"" },
	{ BODY("a//"), -EINVAL, 0, NULL, 0, "invalid entry" },
	{ BODY("a/b"), -EINVAL, 0, NULL, 0, "invalid entry" },
	{ BODY("mac\nmac/"), -EINVAL, 0, NULL, 0, "line 2: duplicate entry" },
	{ BODY("mac\nowner\x01id"), -EINVAL, 0, NULL, 0,
	  "line 2: control character" },
	{ BODY("mac\0"), -EINVAL, 0, NULL, 0, "NUL byte" },
};

START_TEST(parse_listing_table)
{
	const struct body *b = &listing_cases[_i].body;
	struct listing_log log = { .fail_at = -1 };
	struct imds_why why = { "" };
	unsigned count = listing_cases[_i].count;

	ck_assert_int_eq(imds_parse_listing(b->text, b->length, record_entry,
					    &log, &why),
			 listing_cases[_i].expected);
	ck_assert_uint_eq(log.count, count);
	assert_why(&why, listing_cases[_i].why, b->text);
	if (count == 0)
		return;

	ck_assert_str_eq(log.names[count - 1], listing_cases[_i].last);
	ck_assert_int_eq(log.directory[count - 1],
			 listing_cases[_i].last_is_directory);
}
END_TEST

START_TEST(parse_listing_callback_error)
{
	struct listing_log log = { .fail_at = 1 };
	struct imds_why why = { "" };
	const char body[] = "mac\nowner-id\nsubnet-id\n";

	ck_assert_int_eq(imds_parse_listing(body, sizeof(body) - 1,
					    record_entry, &log, &why),
			 -EIO);
	ck_assert_uint_eq(log.count, 1);
	ck_assert_ptr_nonnull(strstr(why.text, "line 2"));
}
END_TEST

START_TEST(parse_listing_cap)
{
	struct listing_log log = { .fail_at = -1 };
	struct imds_why why = { "" };
	static char body[IMDS_MAX_LISTING * 8 + 16];
	size_t used = 0;

	for (unsigned i = 0; i <= IMDS_MAX_LISTING; i++)
		used += (size_t)snprintf(body + used, sizeof(body) - used,
					 "k%u\n", i);

	ck_assert_int_eq(imds_parse_listing(body, used, record_entry, &log,
					    &why),
			 -EINVAL);
	ck_assert_uint_eq(log.count, 0);
	ck_assert_str_eq(why.text, "line 257: more than 256 entries");
}
END_TEST

START_TEST(parse_why_may_be_null)
{
	uint32_t value;

	ck_assert_int_eq(imds_parse_uint("x", 1, 10, &value, NULL), -EINVAL);
}
END_TEST

static Suite *parse_suite(void)
{
	Suite *s = suite_create("parse");
	TCase *values = tcase_create("values");
	TCase *lists = tcase_create("lists");
	TCase *listing = tcase_create("listing");

#define N(table) ((int)(sizeof(table) / sizeof(table[0])))
	tcase_add_loop_test(values, parse_uint_table, 0, N(uint_cases));
	tcase_add_loop_test(values, parse_mac_table, 0, N(mac_cases));
	tcase_add_loop_test(values, parse_eni_id_table, 0, N(eni_cases));
	tcase_add_test(values, parse_why_may_be_null);
	suite_add_tcase(s, values);

	tcase_add_loop_test(lists, parse_addresses_table, 0, N(address_cases));
	tcase_add_loop_test(lists, parse_prefixes_table, 0, N(prefix_cases));
	tcase_add_test(lists, parse_addresses_list_cap);
	tcase_add_test(lists, parse_line_too_long);
	tcase_add_test(lists, parse_why_sanitized_and_cut);
	suite_add_tcase(s, lists);

	tcase_add_loop_test(listing, parse_listing_table, 0, N(listing_cases));
	tcase_add_test(listing, parse_listing_callback_error);
	tcase_add_test(listing, parse_listing_cap);
	suite_add_tcase(s, listing);
#undef N
	return s;
}

int main(void)
{
	SRunner *runner = srunner_create(parse_suite());
	int failed;

	srunner_run_all(runner, CK_ENV);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
