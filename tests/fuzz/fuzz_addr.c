/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for ip_addr_parse and ip_prefix_parse (common/addr.h),
 * the parsers behind every address in metadata and configuration.
 *
 * Input: bit 0 of byte 0 picks the parser (address or prefix), and
 * byte 0 / 2 modulo 3 picks the family (AF_UNSPEC, AF_INET, AF_INET6).
 * The rest is the text, cut at its first NUL. A parsed value must format
 * and parse back to itself. Seeds: corpus/addr/. Run with "make fuzz".
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "common/addr.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int families[] = { AF_UNSPEC, AF_INET, AF_INET6 };

static int parse(bool prefix, const char *text, int family,
		 struct ip_prefix *out)
{
	return prefix ? ip_prefix_parse(text, family, out) :
			ip_addr_parse(text, family, out);
}

/* Checks a parsed value against the request and the other helpers. */
static void check_parsed(bool prefix, int family, const struct ip_prefix *p)
{
	char text[IP_PREFIX_STRLEN];
	struct ip_prefix again;
	union ip_addr base;
	unsigned bits = ip_family_bits(p->family);

	FUZZ_CHECK(p->family == AF_INET || p->family == AF_INET6);
	FUZZ_CHECK(family == AF_UNSPEC || p->family == family);
	FUZZ_CHECK(p->len <= bits);
	if (!prefix)
		FUZZ_CHECK(p->len == bits);

	/* Formatting and parsing again gives the same value. */
	if (prefix)
		ip_prefix_format(p, text);
	else
		ip_addr_format(p->family, &p->addr, text);
	FUZZ_CHECK(memchr(text, '\0', sizeof(text)) != NULL);
	FUZZ_CHECK(parse(prefix, text, p->family, &again) == 0);
	FUZZ_CHECK(ip_prefix_equal(p, &again));

	/* A prefix contains its own address, which is its 0th address. */
	FUZZ_CHECK(ip_prefix_contains(p, p->family, &p->addr));
	FUZZ_CHECK(ip_prefix_nth(p, 0, &base) == 0);
	FUZZ_CHECK(ip_addr_equal(p->family, &base, &p->addr));
	if (p->len == bits)
		FUZZ_CHECK(!ip_prefix_has_host_bits(p));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ip_prefix out;
	bool prefix;
	int family;
	char *text;
	int r;

	if (size < 1)
		return 0;

	prefix = data[0] & 1;
	family = families[(data[0] >> 1) % 3];
	text = malloc(size);
	FUZZ_CHECK(text);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';

	memset(&out, FUZZ_CANARY, sizeof(out));
	r = parse(prefix, text, family, &out);
	FUZZ_CHECK(r == 0 || r == -EINVAL);
	if (r < 0)
		FUZZ_CHECK(fuzz_untouched(&out, sizeof(out)));
	else
		check_parsed(prefix, family, &out);

	free(text);
	return 0;
}
