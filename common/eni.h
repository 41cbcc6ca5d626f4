/* SPDX-License-Identifier: MIT */
/*
 * What the instance metadata service reports about one ENI, key by key.
 *
 * The metadata client fills a record; the planner reads it. Each key has
 * its own state, so a failed read of one key keeps that key's last good
 * value while the others move on: an error is never data.
 */
#ifndef ENID_COMMON_ENI_H
#define ENID_COMMON_ENI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/netobj.h"

/*
 * Caps on list lengths. EC2 allows each interface at most a few dozen
 * addresses and prefixes; a longer list is treated as hostile.
 * NOTE: the caps are estimates above the documented per-type limits, not
 * a published maximum.
 */
#define ENI_MAX_ADDRESSES 64
#define ENI_MAX_PREFIXES 64
#define ENI_MAX_SUBNETS 8
#define ENI_ID_LEN 32

/* Per-MAC metadata keys, in the order they are requested. */
enum eni_key {
	ENI_KEY_DEVICE_NUMBER,
	ENI_KEY_NETWORK_CARD,
	ENI_KEY_INTERFACE_ID,
	ENI_KEY_LOCAL_IPV4S,
	ENI_KEY_SUBNET_IPV4,
	ENI_KEY_IPV6S,
	ENI_KEY_SUBNET_IPV6,
	ENI_KEY_IPV4_PREFIX,
	ENI_KEY_IPV6_PREFIX,
	ENI_KEY_COUNT,
};

/* Returns the key's path component, e.g. "local-ipv4s". */
const char *eni_key_name(enum eni_key key);

/* Returns the key whose name is text, or -1. */
int eni_key_from_name(const char *text);

enum eni_value_state {
	ENI_VALUE_UNKNOWN,	/* never read successfully */
	ENI_VALUE_ABSENT,	/* read as absent: 404 or not listed */
	ENI_VALUE_PRESENT,
};

struct eni_record {
	uint8_t mac[MAC_LEN];
	bool primary;		/* the MAC is the top-level "mac" */
	bool listed;		/* the MAC appears under macs/ */
	bool keys_listed;	/* the MAC's key listing was read */
	uint32_t listed_keys;	/* bit (1 << eni_key) per key listed */

	enum eni_value_state state[ENI_KEY_COUNT];

	uint32_t device_number;
	uint32_t network_card;
	char interface_id[ENI_ID_LEN];

	/* local-ipv4s in metadata order: line 1 is the primary address. */
	struct ip_prefix ipv4[ENI_MAX_ADDRESSES];
	size_t n_ipv4;
	struct ip_prefix subnet_ipv4;

	struct ip_prefix ipv6[ENI_MAX_ADDRESSES];
	size_t n_ipv6;
	struct ip_prefix subnet_ipv6[ENI_MAX_SUBNETS];
	size_t n_subnet_ipv6;

	struct ip_prefix prefix_ipv4[ENI_MAX_PREFIXES];
	size_t n_prefix_ipv4;
	struct ip_prefix prefix_ipv6[ENI_MAX_PREFIXES];
	size_t n_prefix_ipv6;
};

/* Facts about the instance as a whole, from its primary ENI. */
enum instance_cards {
	INSTANCE_CARDS_UNKNOWN,
	INSTANCE_CARDS_SINGLE,	/* the primary has no network-card key */
	INSTANCE_CARDS_MULTI,
};

struct instance_info {
	uint8_t primary_mac[MAC_LEN];
	bool primary_known;
	enum instance_cards cards;
};

/* Starts a record for mac with every key unknown. */
void eni_record_init(struct eni_record *r, const uint8_t mac[MAC_LEN]);

/* Returns true when the key's value was read and the key exists. */
bool eni_has(const struct eni_record *r, enum eni_key key);

/*
 * Returns NULL when the record is complete enough to configure, or the
 * name of what it still waits for. Complete means: the MAC is listed;
 * its device-number is settled (non-zero, or it is the primary, or its
 * card is not 0); its card is known (network-card returned a value, or the
 * instance has a single card); and it has addresses with their subnet
 * (local-ipv4s with subnet-ipv4-cidr-block or, when the key listing has
 * no IPv4 keys, ipv6s with subnet-ipv6-cidr-blocks).
 */
const char *eni_missing(const struct eni_record *r,
			const struct instance_info *instance);

/* Returns the network card: the key's value, or 0 on a single-card instance. */
uint32_t eni_card(const struct eni_record *r);

/* Returns true when the record carries any IPv4 configuration. */
bool eni_has_ipv4(const struct eni_record *r);

/* Returns true when both records would configure the same objects. */
bool eni_record_same_config(const struct eni_record *a,
			    const struct eni_record *b);

#endif
