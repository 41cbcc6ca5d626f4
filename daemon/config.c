/* SPDX-License-Identifier: MIT */
/*
 * The configuration file. One handler per value type, one table row per
 * key; any error names the file, the line, the key and the value.
 */
#include "daemon/config.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USEC_PER_MSEC 1000ull
#define USEC_PER_SEC (1000 * USEC_PER_MSEC)
#define CONFIG_MAX_FILE (64 * 1024)
/* Tables the kernel reserves: unspec, compat, default, main, local. */
#define TABLE_COMPAT 252
#define TABLE_LOCAL 255
/* The priority of the kernel's rule for the main table. */
#define MAIN_RULE_PRIORITY 32766

void settings_defaults(struct settings *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->imds_url, sizeof(s->imds_url), "http://169.254.169.254");
	snprintf(s->imds_url_ipv6, sizeof(s->imds_url_ipv6),
		 "http://[fd00:ec2::254]");
	s->imds_timeout_usec = 1 * USEC_PER_SEC;
	s->token_ttl_sec = 6 * 3600;
	s->refresh_interval_usec = 60 * USEC_PER_SEC;
	s->settle_window_usec = 60 * USEC_PER_SEC;
	s->ready_timeout_usec = 10 * USEC_PER_SEC;
	s->table_base = 10000;
	s->metric_base = 512;
	s->interface_group = 0x2ec;
	s->protocol = 236;
	s->mtu = 9001;
	s->drivers.count = 3;
	snprintf(s->drivers.items[0], CONFIG_ITEM_LEN, "ena");
	snprintf(s->drivers.items[1], CONFIG_ITEM_LEN, "ixgbevf");
	snprintf(s->drivers.items[2], CONFIG_ITEM_LEN, "vif");
	s->secondary_addresses = true;
	s->prefix_routes = PREFIX_ROUTES_NONE;
}

/* Position of a value in the configuration, for error messages. */
struct config_position {
	const char *name;
	unsigned line;
	const char *key;
};

static int invalid(const struct config_position *pos, const char *value,
		   const char *expected)
{
	fprintf(stderr, "%s:%u: invalid value \"%s\" for %s: expected %s\n",
		pos->name, pos->line, value, pos->key, expected);
	return -EINVAL;
}

static int parse_u64(const char *text, uint64_t *out)
{
	char *end;
	unsigned long long value;

	if (!isdigit((unsigned char)text[0]))
		return -EINVAL;

	errno = 0;
	value = strtoull(text, &end, 0);
	if (errno || *end)
		return -EINVAL;

	*out = value;
	return 0;
}

static int parse_duration(const char *text, uint64_t *out)
{
	static const struct {
		const char *suffix;
		uint64_t usec;
	} units[] = {
		{"ms", USEC_PER_MSEC},
		{"s", USEC_PER_SEC},
		{"min", 60 * USEC_PER_SEC},
		{"h", 3600 * USEC_PER_SEC},
	};
	char *end;
	unsigned long long value;

	if (!isdigit((unsigned char)text[0]))
		return -EINVAL;

	errno = 0;
	value = strtoull(text, &end, 10);
	if (errno || end == text)
		return -EINVAL;

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) != 0)
			continue;
		if (value > UINT64_MAX / units[i].usec)
			return -EINVAL;
		*out = value * units[i].usec;
		return 0;
	}

	return -EINVAL;
}

static int set_url(struct settings *s, const struct config_position *pos,
		   const char *value, char *field, bool empty_ok)
{
	if (value[0] == '\0' && empty_ok) {
		field[0] = '\0';
		return 0;
	}

	if (strncmp(value, "http://", 7) != 0 || value[7] == '\0' ||
	    strlen(value) >= CONFIG_URL_LEN)
		return invalid(pos, value, "an http:// URL");

	snprintf(field, CONFIG_URL_LEN, "%s", value);
	return 0;
}

static int set_imds_url(struct settings *s, const struct config_position *pos,
			const char *value)
{
	return set_url(s, pos, value, s->imds_url, false);
}

static int set_imds_url_ipv6(struct settings *s,
			     const struct config_position *pos,
			     const char *value)
{
	return set_url(s, pos, value, s->imds_url_ipv6, true);
}

static int parse_bool(const struct config_position *pos, const char *value,
		      bool *out)
{
	if (strcmp(value, "yes") == 0) {
		*out = true;
		return 0;
	}
	if (strcmp(value, "no") == 0) {
		*out = false;
		return 0;
	}

	return invalid(pos, value, "yes or no");
}

static int set_v1_fallback(struct settings *s,
			   const struct config_position *pos, const char *value)
{
	return parse_bool(pos, value, &s->imds_v1_fallback);
}

static int set_secondary_addresses(struct settings *s,
				   const struct config_position *pos,
				   const char *value)
{
	return parse_bool(pos, value, &s->secondary_addresses);
}

static int duration_in(const struct config_position *pos, const char *value,
		       uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t usec;

	if (parse_duration(value, &usec) < 0 || usec < min || usec > max)
		return invalid(pos, value,
			       "a duration such as 500ms, 60s, 5min or 6h, "
			       "in the allowed range");

	*out = usec;
	return 0;
}

static int set_imds_timeout(struct settings *s,
			    const struct config_position *pos,
			    const char *value)
{
	return duration_in(pos, value, 10 * USEC_PER_MSEC, 60 * USEC_PER_SEC,
			   &s->imds_timeout_usec);
}

static int set_token_ttl(struct settings *s, const struct config_position *pos,
			 const char *value)
{
	uint64_t usec;
	int r;

	/* The service accepts 1 s to 6 h (21600 s). */
	r = duration_in(pos, value, USEC_PER_SEC, 21600 * USEC_PER_SEC, &usec);
	if (r < 0)
		return r;

	s->token_ttl_sec = (uint32_t)(usec / USEC_PER_SEC);
	return 0;
}

static int set_refresh_interval(struct settings *s,
				const struct config_position *pos,
				const char *value)
{
	return duration_in(pos, value, 100 * USEC_PER_MSEC,
			   24 * 3600 * USEC_PER_SEC, &s->refresh_interval_usec);
}

static int set_settle_window(struct settings *s,
			     const struct config_position *pos,
			     const char *value)
{
	return duration_in(pos, value, 0, 24 * 3600 * USEC_PER_SEC,
			   &s->settle_window_usec);
}

static int set_ready_timeout(struct settings *s,
			     const struct config_position *pos,
			     const char *value)
{
	return duration_in(pos, value, 0, 3600 * USEC_PER_SEC,
			   &s->ready_timeout_usec);
}

static int number_in(const struct config_position *pos, const char *value,
		     uint64_t min, uint64_t max, const char *expected,
		     uint32_t *out)
{
	uint64_t number;

	if (parse_u64(value, &number) < 0 || number < min || number > max)
		return invalid(pos, value, expected);

	*out = (uint32_t)number;
	return 0;
}

static int set_table_base(struct settings *s,
			  const struct config_position *pos, const char *value)
{
	return number_in(pos, value, 2, MAIN_RULE_PRIORITY - 1,
			 "a table number from 2 to 32765", &s->table_base);
}

static int set_metric_base(struct settings *s,
			   const struct config_position *pos,
			   const char *value)
{
	return number_in(pos, value, 1, UINT32_MAX - 100 * CONFIG_MAX_CARDS,
			 "a route metric above 0", &s->metric_base);
}

static int set_interface_group(struct settings *s,
			       const struct config_position *pos,
			       const char *value)
{
	/* Group 0 is every link's default: it would match them all. */
	return number_in(pos, value, 1, INT32_MAX,
			 "a link group number other than 0 (decimal or 0x hex)",
			 &s->interface_group);
}

static int set_protocol(struct settings *s, const struct config_position *pos,
			const char *value)
{
	uint32_t protocol;
	int r;

	/* 0-4 have kernel meanings (unspec, redirect, kernel, boot, static). */
	r = number_in(pos, value, 5, 255, "a routing protocol number 5-255",
		      &protocol);
	if (r < 0)
		return r;

	s->protocol = (uint8_t)protocol;
	return 0;
}

static int set_mtu(struct settings *s, const struct config_position *pos,
		   const char *value)
{
	if (strcmp(value, "keep") == 0) {
		s->mtu = 0;
		return 0;
	}

	return number_in(pos, value, 68, 65535, "an MTU of 68-65535 or keep",
			 &s->mtu);
}

/* Splits value on spaces into list; each item is checked by valid(). */
static int parse_list(const struct config_position *pos, const char *value,
		      bool (*valid)(const char *item), const char *expected,
		      struct config_list *list)
{
	struct config_list parsed = {0};
	const char *c = value;

	while (*c) {
		size_t len = strcspn(c, " \t");

		if (len == 0) {
			c++;
			continue;
		}

		if (parsed.count == CONFIG_MAX_LIST || len >= CONFIG_ITEM_LEN)
			return invalid(pos, value, "a shorter list");

		memcpy(parsed.items[parsed.count], c, len);
		parsed.items[parsed.count][len] = '\0';
		if (valid && !valid(parsed.items[parsed.count]))
			return invalid(pos, parsed.items[parsed.count],
				       expected);

		parsed.count++;
		c += len;
	}

	*list = parsed;
	return 0;
}

static int set_drivers(struct settings *s, const struct config_position *pos,
		       const char *value)
{
	return parse_list(pos, value, NULL, NULL, &s->drivers);
}

static int set_exclude_interfaces(struct settings *s,
				  const struct config_position *pos,
				  const char *value)
{
	return parse_list(pos, value, NULL, NULL, &s->exclude_interfaces);
}

static bool valid_mac(const char *item)
{
	uint8_t mac[MAC_LEN];

	return mac_parse(item, mac) == 0;
}

static int set_exclude_macs(struct settings *s,
			    const struct config_position *pos,
			    const char *value)
{
	return parse_list(pos, value, valid_mac,
			  "a MAC address such as 02:ab:cd:00:00:01",
			  &s->exclude_macs);
}

/* Parses "card:first-last", "card:device", "first-last" or "device". */
static int parse_device_range(const char *item, struct device_range *out)
{
	struct device_range range = {0};
	unsigned card, first, last;
	int consumed = 0;

	if (sscanf(item, "%u:%u-%u%n", &card, &first, &last, &consumed) == 3 &&
	    item[consumed] == '\0')
		range = (struct device_range){card, first, last};
	else if (sscanf(item, "%u:%u%n", &card, &first, &consumed) == 2 &&
		 item[consumed] == '\0')
		range = (struct device_range){card, first, first};
	else if (sscanf(item, "%u-%u%n", &first, &last, &consumed) == 2 &&
		 item[consumed] == '\0')
		range = (struct device_range){0, first, last};
	else if (sscanf(item, "%u%n", &first, &consumed) == 1 &&
		 item[consumed] == '\0')
		range = (struct device_range){0, first, first};
	else
		return -EINVAL;

	if (!isdigit((unsigned char)item[0]) || range.card >= CONFIG_MAX_CARDS ||
	    range.first > range.last || range.last >= CONFIG_MAX_DEVICES)
		return -EINVAL;

	*out = range;
	return 0;
}

static int set_exclude_devices(struct settings *s,
			       const struct config_position *pos,
			       const char *value)
{
	struct config_list items;
	struct device_range ranges[CONFIG_MAX_LIST];
	int r;

	r = parse_list(pos, value, NULL, NULL, &items);
	if (r < 0)
		return r;

	for (size_t i = 0; i < items.count; i++) {
		if (parse_device_range(items.items[i], &ranges[i]) < 0)
			return invalid(pos, items.items[i],
				       "card:device or card:first-last, "
				       "cards 0-15, devices 0-99");
	}

	memcpy(s->exclude_devices, ranges, items.count * sizeof(ranges[0]));
	s->n_exclude_devices = items.count;
	return 0;
}

static int set_prefix_routes(struct settings *s,
			     const struct config_position *pos,
			     const char *value)
{
	if (strcmp(value, "none") == 0)
		s->prefix_routes = PREFIX_ROUTES_NONE;
	else if (strcmp(value, "local") == 0)
		s->prefix_routes = PREFIX_ROUTES_LOCAL;
	else
		return invalid(pos, value, "none or local");

	return 0;
}

typedef int (*config_setter)(struct settings *s,
			     const struct config_position *pos,
			     const char *value);

static const struct {
	const char *key;
	config_setter set;
} config_keys[] = {
	{"imds_url", set_imds_url},
	{"imds_url_ipv6", set_imds_url_ipv6},
	{"imds_v1_fallback", set_v1_fallback},
	{"imds_timeout", set_imds_timeout},
	{"token_ttl", set_token_ttl},
	{"refresh_interval", set_refresh_interval},
	{"settle_window", set_settle_window},
	{"ready_timeout", set_ready_timeout},
	{"table_base", set_table_base},
	{"metric_base", set_metric_base},
	{"interface_group", set_interface_group},
	{"protocol", set_protocol},
	{"mtu", set_mtu},
	{"drivers", set_drivers},
	{"exclude_interfaces", set_exclude_interfaces},
	{"exclude_macs", set_exclude_macs},
	{"exclude_device_numbers", set_exclude_devices},
	{"secondary_addresses", set_secondary_addresses},
	{"prefix_routes", set_prefix_routes},
};

static char *trim(char *text)
{
	char *end;

	while (isspace((unsigned char)*text))
		text++;

	end = text + strlen(text);
	while (end > text && isspace((unsigned char)end[-1]))
		*--end = '\0';

	return text;
}

static int parse_line(struct settings *s, const char *name, unsigned number,
		      char *line)
{
	struct config_position pos = {name, number, NULL};
	char *equals, *key, *value;

	line[strcspn(line, "#")] = '\0';
	line = trim(line);
	if (line[0] == '\0')
		return 0;

	equals = strchr(line, '=');
	if (!equals) {
		fprintf(stderr, "%s:%u: expected \"key = value\", got \"%s\"\n",
			name, number, line);
		return -EINVAL;
	}

	*equals = '\0';
	key = trim(line);
	value = trim(equals + 1);
	pos.key = key;

	for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]);
	     i++) {
		if (strcmp(key, config_keys[i].key) == 0)
			return config_keys[i].set(s, &pos, value);
	}

	fprintf(stderr, "%s:%u: unknown key \"%s\"\n", name, number, key);
	return -EINVAL;
}

int config_parse(struct settings *s, const char *name, const char *text)
{
	struct settings parsed = *s;
	unsigned number = 0;
	const char *c = text;

	while (*c) {
		size_t len = strcspn(c, "\n");
		char line[1024];
		int r;

		number++;
		if (len >= sizeof(line)) {
			fprintf(stderr, "%s:%u: line too long\n", name, number);
			return -EINVAL;
		}

		memcpy(line, c, len);
		line[len] = '\0';
		r = parse_line(&parsed, name, number, line);
		if (r < 0)
			return r;

		c += len;
		if (*c == '\n')
			c++;
	}

	*s = parsed;
	return 0;
}

int config_load(struct settings *s, const char *path, bool missing_ok)
{
	char *text;
	size_t length;
	FILE *file;
	int r;

	file = fopen(path, "re");
	if (!file) {
		r = -errno;
		if (r == -ENOENT && missing_ok)
			return 0;
		fprintf(stderr, "%s: cannot open: %s\n", path, strerror(-r));
		return r;
	}

	text = calloc(1, CONFIG_MAX_FILE + 1);
	if (!text) {
		fclose(file);
		return -ENOMEM;
	}

	length = fread(text, 1, CONFIG_MAX_FILE + 1, file);
	fclose(file);
	if (length > CONFIG_MAX_FILE || memchr(text, '\0', length)) {
		fprintf(stderr, "%s: not a configuration file (too large or "
				"binary)\n",
			path);
		free(text);
		return -EINVAL;
	}

	r = config_parse(s, path, text);
	free(text);
	return r;
}

int settings_validate(const struct settings *s, const char *name)
{
	uint64_t last_table =
		(uint64_t)s->table_base + 100 * (CONFIG_MAX_CARDS - 1) +
		(CONFIG_MAX_DEVICES - 1);
	uint32_t shared = s->table_base - 1;

	/*
	 * enid's tables must stay clear of the kernel's reserved tables
	 * (252-255), and its priorities below the main table's rule.
	 */
	if (s->table_base <= TABLE_LOCAL && last_table >= TABLE_COMPAT) {
		fprintf(stderr,
			"%s: table_base %u: enid's tables %u-%" PRIu64
			" would include the reserved tables 252-255\n",
			name, s->table_base, s->table_base, last_table);
		return -EINVAL;
	}

	if (last_table >= MAIN_RULE_PRIORITY) {
		fprintf(stderr,
			"%s: table_base %u: enid's priorities %u-%" PRIu64
			" would reach the main table's rule at 32766\n",
			name, s->table_base, shared, last_table);
		return -EINVAL;
	}

	return 0;
}

bool config_list_match(const struct config_list *list, const char *text)
{
	for (size_t i = 0; i < list->count; i++) {
		if (fnmatch(list->items[i], text, 0) == 0)
			return true;
	}

	return false;
}

bool settings_excludes_device(const struct settings *s, uint32_t card,
			      uint32_t device)
{
	for (size_t i = 0; i < s->n_exclude_devices; i++) {
		const struct device_range *range = &s->exclude_devices[i];

		if (range->card == card && device >= range->first &&
		    device <= range->last)
			return true;
	}

	return false;
}

bool settings_excludes_mac(const struct settings *s,
			   const uint8_t mac[MAC_LEN])
{
	for (size_t i = 0; i < s->exclude_macs.count; i++) {
		uint8_t excluded[MAC_LEN];

		if (mac_parse(s->exclude_macs.items[i], excluded) == 0 &&
		    memcmp(excluded, mac, MAC_LEN) == 0)
			return true;
	}

	return false;
}
