/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for every metadata value parser in imds/parse.h.
 *
 * Input: byte 0 picks the parser (modulo 8: uint, mac, eni_id, IPv4
 * addresses, IPv6 addresses, IPv4 prefixes, IPv6 prefixes, listing).
 * Byte 1 is its parameter: a maximum, a buffer size, or the entry at
 * which the listing callback stops. The rest is the body. It is passed
 * without a terminating NUL, so ASan catches a read past its length.
 * Seeds: corpus/imds_parse/. Run with "make fuzz" (see the Makefile).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "common/addr.h"
#include "common/netobj.h"
#include "imds/parse.h"
#include "tests/fuzz/fuzz.h"

enum parser {
	PARSER_UINT,
	PARSER_MAC,
	PARSER_ENI_ID,
	PARSER_IPV4_ADDRESSES,
	PARSER_IPV6_ADDRESSES,
	PARSER_IPV4_PREFIXES,
	PARSER_IPV6_PREFIXES,
	PARSER_LISTING,
	PARSER_COUNT,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Returns the why buffer, or NULL when the parameter's top bit is set. */
static struct imds_why *why_for(uint8_t param, struct imds_why *why)
{
	memset(why, FUZZ_CANARY, sizeof(*why));
	return (param & 0x80) ? NULL : why;
}

/* On failure the explanation must be a terminated, non-empty string. */
static void check_why(int r, const struct imds_why *why)
{
	FUZZ_CHECK(r == 0 || r == -EINVAL);
	if (r == 0 || !why)
		return;

	FUZZ_CHECK(memchr(why->text, '\0', sizeof(why->text)) != NULL);
	FUZZ_CHECK(why->text[0] != '\0');
}

static void fuzz_uint(uint8_t param, const char *body, size_t length)
{
	static const uint32_t maxima[] = {
		0, 1, 9, 255, 1023, 65535, UINT32_MAX - 1, UINT32_MAX,
	};
	uint32_t max = maxima[param % 8];
	struct imds_why why_buffer;
	struct imds_why *why = why_for(param, &why_buffer);
	uint32_t out;
	int r;

	memset(&out, FUZZ_CANARY, sizeof(out));
	r = imds_parse_uint(body, length, max, &out, why);
	check_why(r, why);
	if (r < 0)
		FUZZ_CHECK(fuzz_untouched(&out, sizeof(out)));
	else
		FUZZ_CHECK(out <= max);
}

static void fuzz_mac(uint8_t param, const char *body, size_t length)
{
	struct imds_why why_buffer;
	struct imds_why *why = why_for(param, &why_buffer);
	uint8_t mac[MAC_LEN], again[MAC_LEN];
	char text[MAC_STRLEN];
	int r;

	memset(mac, FUZZ_CANARY, sizeof(mac));
	r = imds_parse_mac(body, length, mac, why);
	check_why(r, why);
	if (r < 0) {
		FUZZ_CHECK(fuzz_untouched(mac, sizeof(mac)));
		return;
	}

	/* The formatted MAC parses back to the same bytes. */
	mac_format(mac, text);
	FUZZ_CHECK(imds_parse_mac(text, strlen(text), again, NULL) == 0);
	FUZZ_CHECK(memcmp(mac, again, MAC_LEN) == 0);
}

static bool lower_hex(const char *text)
{
	for (; *text; text++) {
		if (!((*text >= '0' && *text <= '9') ||
		      (*text >= 'a' && *text <= 'f')))
			return false;
	}

	return true;
}

static void fuzz_eni_id(uint8_t param, const char *body, size_t length)
{
	/* An exactly sized heap buffer, so an overflow is caught. */
	size_t out_size = param % 40;
	char *out = malloc(out_size ? out_size : 1);
	struct imds_why why_buffer;
	struct imds_why *why = why_for(param, &why_buffer);
	size_t n;
	int r;

	FUZZ_CHECK(out);
	memset(out, FUZZ_CANARY, out_size ? out_size : 1);
	r = imds_parse_eni_id(body, length, out, out_size, why);
	check_why(r, why);
	if (r < 0) {
		FUZZ_CHECK(fuzz_untouched(out, out_size));
		free(out);
		return;
	}

	FUZZ_CHECK(memchr(out, '\0', out_size) != NULL);
	n = strlen(out);
	FUZZ_CHECK(n == 12 || n == 21);
	FUZZ_CHECK(strncmp(out, "eni-", 4) == 0);
	FUZZ_CHECK(lower_hex(out + 4));
	free(out);
}

/* Checks a parsed list: bounds, family, lengths, no duplicates. */
static void check_list(const struct ip_prefix *list, size_t count,
		       size_t max, int family, bool bare)
{
	FUZZ_CHECK(count >= 1);
	FUZZ_CHECK(count <= max);
	for (size_t i = 0; i < count; i++) {
		FUZZ_CHECK(list[i].family == family);
		FUZZ_CHECK(list[i].len <= ip_family_bits(family));
		if (bare)
			FUZZ_CHECK(list[i].len == ip_family_bits(family));
		else
			FUZZ_CHECK(!ip_prefix_has_host_bits(&list[i]));
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(!ip_prefix_equal(&list[i], &list[j]));
	}
}

static void fuzz_list(uint8_t param, const char *body, size_t length,
		      int family, bool bare)
{
	/* 0 to 70 entries: around the ENI caps (8, 64) and past them. */
	size_t max = param % 71;
	size_t bytes = (max ? max : 1) * sizeof(struct ip_prefix);
	struct ip_prefix *out = malloc(bytes);
	struct imds_why why_buffer;
	struct imds_why *why = why_for(param, &why_buffer);
	size_t count;
	int r;

	FUZZ_CHECK(out);
	memset(out, FUZZ_CANARY, bytes);
	memset(&count, FUZZ_CANARY, sizeof(count));
	if (bare)
		r = imds_parse_addresses(body, length, family, out, max,
					 &count, why);
	else
		r = imds_parse_prefixes(body, length, family, out, max,
					&count, why);
	check_why(r, why);
	if (r < 0) {
		FUZZ_CHECK(fuzz_untouched(out, bytes));
		FUZZ_CHECK(fuzz_untouched(&count, sizeof(count)));
	} else {
		check_list(out, count, max, family, bare);
	}

	free(out);
}

struct listing_state {
	unsigned calls;
	unsigned stop_at;	/* 0: never stop */
};

static int listing_entry(const char *name, int is_directory, void *userdata)
{
	struct listing_state *state = userdata;

	FUZZ_CHECK(name[0] != '\0');
	FUZZ_CHECK(strchr(name, '/') == NULL);
	FUZZ_CHECK(strlen(name) <= IMDS_MAX_LINE);
	FUZZ_CHECK(is_directory == 0 || is_directory == 1);
	state->calls++;
	FUZZ_CHECK(state->calls <= IMDS_MAX_LISTING);
	if (state->calls == state->stop_at)
		return -ECANCELED;
	return 0;
}

static void fuzz_listing(uint8_t param, const char *body, size_t length)
{
	struct listing_state state = { .stop_at = param & 0x7f };
	struct imds_why why;
	int r;

	memset(&why, FUZZ_CANARY, sizeof(why));
	r = imds_parse_listing(body, length, listing_entry, &state, &why);
	if (r == -ECANCELED) {
		FUZZ_CHECK(state.calls == state.stop_at);
		return;
	}

	check_why(r, &why);
	if (r < 0)
		FUZZ_CHECK(state.calls == 0);
}

static void fuzz_parser(enum parser parser, uint8_t param, const char *body,
			size_t length)
{
	switch (parser) {
	case PARSER_UINT:
		fuzz_uint(param, body, length);
		break;
	case PARSER_MAC:
		fuzz_mac(param, body, length);
		break;
	case PARSER_ENI_ID:
		fuzz_eni_id(param, body, length);
		break;
	case PARSER_IPV4_ADDRESSES:
		fuzz_list(param, body, length, AF_INET, true);
		break;
	case PARSER_IPV6_ADDRESSES:
		fuzz_list(param, body, length, AF_INET6, true);
		break;
	case PARSER_IPV4_PREFIXES:
		fuzz_list(param, body, length, AF_INET, false);
		break;
	case PARSER_IPV6_PREFIXES:
		fuzz_list(param, body, length, AF_INET6, false);
		break;
	case PARSER_LISTING:
		fuzz_listing(param, body, length);
		break;
	case PARSER_COUNT:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t length;
	char *body;

	if (size < 2)
		return 0;

	length = size - 2;
	body = malloc(length ? length : 1);
	FUZZ_CHECK(body);
	memcpy(body, data + 2, length);
	fuzz_parser(data[0] % PARSER_COUNT, data[1], body, length);
	free(body);
	return 0;
}
