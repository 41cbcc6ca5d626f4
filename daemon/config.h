/* SPDX-License-Identifier: MIT */
/*
 * Settings and the configuration file: "key = value" lines, "#" comments,
 * lists separated by spaces, durations with a unit ("500ms", "60s",
 * "5min", "6h"), booleans "yes" or "no".
 */
#ifndef ENID_DAEMON_CONFIG_H
#define ENID_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/netobj.h"

#define CONFIG_DEFAULT_PATH "/etc/enid/enid.conf"
#define CONFIG_URL_LEN 256
#define CONFIG_MAX_LIST 32
#define CONFIG_ITEM_LEN 64
#define CONFIG_MAX_CARDS 16
#define CONFIG_MAX_DEVICES 100

/* A space-separated list of words (drivers, globs). */
struct config_list {
	char items[CONFIG_MAX_LIST][CONFIG_ITEM_LEN];
	size_t count;
};

/* card:first-last, both ends included. */
struct device_range {
	uint32_t card;
	uint32_t first;
	uint32_t last;
};

enum prefix_routes {
	PREFIX_ROUTES_NONE,
	PREFIX_ROUTES_LOCAL,
};

struct settings {
	char imds_url[CONFIG_URL_LEN];
	char imds_url_ipv6[CONFIG_URL_LEN];
	bool imds_v1_fallback;
	uint64_t imds_timeout_usec;
	uint32_t token_ttl_sec;
	uint64_t refresh_interval_usec;
	uint64_t settle_window_usec;
	uint64_t ready_timeout_usec;
	uint32_t table_base;
	uint32_t metric_base;
	uint32_t interface_group;
	uint8_t protocol;
	uint32_t mtu;		/* 0: leave the MTU alone ("keep") */
	struct config_list drivers;
	struct config_list exclude_interfaces;
	struct config_list exclude_macs;
	struct device_range exclude_devices[CONFIG_MAX_LIST];
	size_t n_exclude_devices;
	bool secondary_addresses;
	enum prefix_routes prefix_routes;
};

/* Fills settings with the documented defaults. */
void settings_defaults(struct settings *s);

/*
 * Reads a configuration file over the current settings. A missing file at
 * the default path is not an error (missing_ok). Returns 0, -ENOENT, or
 * -EINVAL after printing "FILE:LINE: ..." naming the key and value.
 */
int config_load(struct settings *s, const char *path, bool missing_ok);

/*
 * Parses configuration text (as config_load does for a file's contents);
 * name is used in error messages. Returns 0 or -EINVAL.
 */
int config_parse(struct settings *s, const char *name, const char *text);

/*
 * Checks values that depend on each other (tables and priorities must
 * not reach the kernel's reserved tables). Returns 0 or -EINVAL after
 * printing why.
 */
int settings_validate(const struct settings *s, const char *name);

/* Returns true when a list item (a glob) matches text. */
bool config_list_match(const struct config_list *list, const char *text);

/* Returns true when the configuration excludes this card and device. */
bool settings_excludes_device(const struct settings *s, uint32_t card,
			      uint32_t device);

/* Returns true when the configuration excludes this MAC. */
bool settings_excludes_mac(const struct settings *s,
			   const uint8_t mac[MAC_LEN]);

#endif
