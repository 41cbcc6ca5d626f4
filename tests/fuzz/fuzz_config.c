/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the configuration file parser: config_parse over
 * the defaults, then settings_validate and the exclusion lookups.
 *
 * Input: the file's text, cut at its first NUL (config_load rejects a
 * file that contains one). A rejected file must leave the settings as
 * they were, and accepted values must stay within their bounds. Seeds:
 * corpus/config/. Run with "make fuzz".
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "common/netobj.h"
#include "daemon/config.h"
#include "tests/fuzz/fuzz.h"

#define USEC_PER_MSEC 1000ull
#define USEC_PER_SEC (1000 * USEC_PER_MSEC)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_list(const struct config_list *list)
{
	FUZZ_CHECK(list->count <= CONFIG_MAX_LIST);
	for (size_t i = 0; i < list->count; i++) {
		size_t n = strnlen(list->items[i], CONFIG_ITEM_LEN);

		FUZZ_CHECK(n > 0);
		FUZZ_CHECK(n < CONFIG_ITEM_LEN);
	}
}

/* Checks the range that config.c enforces on each numeric key. */
static void check_numbers(const struct settings *s)
{
	FUZZ_CHECK(s->imds_timeout_usec >= 10 * USEC_PER_MSEC);
	FUZZ_CHECK(s->imds_timeout_usec <= 60 * USEC_PER_SEC);
	FUZZ_CHECK(s->token_ttl_sec >= 1);
	FUZZ_CHECK(s->token_ttl_sec <= 21600);
	FUZZ_CHECK(s->refresh_interval_usec >= 100 * USEC_PER_MSEC);
	FUZZ_CHECK(s->settle_window_usec <= 24 * 3600 * USEC_PER_SEC);
	FUZZ_CHECK(s->ready_timeout_usec <= 3600 * USEC_PER_SEC);
	FUZZ_CHECK(s->table_base >= 2);
	FUZZ_CHECK(s->table_base <= 32765);
	FUZZ_CHECK(s->metric_base >= 1);
	FUZZ_CHECK(s->interface_group >= 1);
	FUZZ_CHECK(s->interface_group <= INT32_MAX);
	FUZZ_CHECK(s->protocol >= 5);
	FUZZ_CHECK(s->mtu == 0 || s->mtu >= 68);
	FUZZ_CHECK(s->mtu <= 65535);
}

static void check_settings(const struct settings *s)
{
	static const uint8_t mac[MAC_LEN] = { 0x02, 0xab, 0xcd, 0, 0, 1 };

	FUZZ_CHECK(memchr(s->imds_url, '\0', sizeof(s->imds_url)) != NULL);
	FUZZ_CHECK(strncmp(s->imds_url, "http://", 7) == 0);
	FUZZ_CHECK(memchr(s->imds_url_ipv6, '\0',
			  sizeof(s->imds_url_ipv6)) != NULL);
	check_numbers(s);
	check_list(&s->drivers);
	check_list(&s->exclude_interfaces);
	check_list(&s->exclude_macs);
	FUZZ_CHECK(s->n_exclude_devices <= CONFIG_MAX_LIST);
	for (size_t i = 0; i < s->n_exclude_devices; i++) {
		const struct device_range *range = &s->exclude_devices[i];

		FUZZ_CHECK(range->card < CONFIG_MAX_CARDS);
		FUZZ_CHECK(range->first <= range->last);
		FUZZ_CHECK(range->last < CONFIG_MAX_DEVICES);
		FUZZ_CHECK(settings_excludes_device(s, range->card,
						    range->first));
	}

	FUZZ_CHECK(s->prefix_routes == PREFIX_ROUTES_NONE ||
		   s->prefix_routes == PREFIX_ROUTES_LOCAL);
	(void)settings_validate(s, "fuzz");
	(void)config_list_match(&s->exclude_interfaces, "eth1");
	(void)config_list_match(&s->drivers, "ena");
	(void)settings_excludes_mac(s, mac);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct settings *s = malloc(sizeof(*s));
	struct settings *before = malloc(sizeof(*before));
	char *text = malloc(size + 1);
	int r;

	FUZZ_CHECK(s && before && text);
	memcpy(text, data, size);
	text[size] = '\0';

	settings_defaults(s);
	memcpy(before, s, sizeof(*s));
	r = config_parse(s, "fuzz.conf", text);
	FUZZ_CHECK(r == 0 || r == -EINVAL);
	if (r < 0)
		FUZZ_CHECK(memcmp(s, before, sizeof(*s)) == 0);
	else
		check_settings(s);

	free(text);
	free(before);
	free(s);
	return 0;
}
