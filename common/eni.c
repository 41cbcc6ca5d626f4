/* SPDX-License-Identifier: MIT */
/*
 * ENI metadata records: key names and the rule that decides when a fresh
 * ENI's metadata is complete enough to configure.
 */
#include "common/eni.h"

#include <string.h>

static const char *const eni_key_names[ENI_KEY_COUNT] = {
	[ENI_KEY_DEVICE_NUMBER] = "device-number",
	[ENI_KEY_NETWORK_CARD] = "network-card",
	[ENI_KEY_INTERFACE_ID] = "interface-id",
	[ENI_KEY_LOCAL_IPV4S] = "local-ipv4s",
	[ENI_KEY_SUBNET_IPV4] = "subnet-ipv4-cidr-block",
	[ENI_KEY_IPV6S] = "ipv6s",
	[ENI_KEY_SUBNET_IPV6] = "subnet-ipv6-cidr-blocks",
	[ENI_KEY_IPV4_PREFIX] = "ipv4-prefix",
	[ENI_KEY_IPV6_PREFIX] = "ipv6-prefix",
};

const char *eni_key_name(enum eni_key key)
{
	return key < ENI_KEY_COUNT ? eni_key_names[key] : "(unknown key)";
}

int eni_key_from_name(const char *text)
{
	for (int key = 0; key < ENI_KEY_COUNT; key++) {
		if (strcmp(text, eni_key_names[key]) == 0)
			return key;
	}

	return -1;
}

void eni_record_init(struct eni_record *r, const uint8_t mac[MAC_LEN])
{
	memset(r, 0, sizeof(*r));
	memcpy(r->mac, mac, MAC_LEN);
}

bool eni_has(const struct eni_record *r, enum eni_key key)
{
	return r->state[key] == ENI_VALUE_PRESENT;
}

static bool listing_has(const struct eni_record *r, enum eni_key key)
{
	return r->listed_keys & (1u << key);
}

static const char *missing_card(const struct eni_record *r,
				const struct instance_info *instance)
{
	if (eni_has(r, ENI_KEY_NETWORK_CARD))
		return NULL;

	/* A single-card instance has no network-card key on any ENI. */
	if (r->state[ENI_KEY_NETWORK_CARD] == ENI_VALUE_ABSENT &&
	    (r->primary || instance->cards == INSTANCE_CARDS_SINGLE))
		return NULL;

	return eni_key_name(ENI_KEY_NETWORK_CARD);
}

static const char *missing_device(const struct eni_record *r)
{
	if (!eni_has(r, ENI_KEY_DEVICE_NUMBER))
		return eni_key_name(ENI_KEY_DEVICE_NUMBER);

	/*
	 * A hot-attached ENI reads device-number 0 until the service catches
	 * up. Only the primary, or an ENI on another card, may really be 0.
	 */
	if (r->device_number == 0 && !r->primary && eni_card(r) == 0)
		return "device-number (reads 0)";

	return NULL;
}

static const char *missing_addresses(const struct eni_record *r)
{
	bool ipv4_listed = listing_has(r, ENI_KEY_LOCAL_IPV4S) ||
			   listing_has(r, ENI_KEY_SUBNET_IPV4);

	if (eni_has(r, ENI_KEY_LOCAL_IPV4S) && eni_has(r, ENI_KEY_SUBNET_IPV4))
		return NULL;

	/* An IPv6-only ENI lists no IPv4 keys at all. */
	if (r->keys_listed && !ipv4_listed && eni_has(r, ENI_KEY_IPV6S) &&
	    eni_has(r, ENI_KEY_SUBNET_IPV6))
		return NULL;

	if (!eni_has(r, ENI_KEY_LOCAL_IPV4S) && ipv4_listed)
		return eni_key_name(ENI_KEY_LOCAL_IPV4S);
	if (!eni_has(r, ENI_KEY_SUBNET_IPV4) && ipv4_listed)
		return eni_key_name(ENI_KEY_SUBNET_IPV4);
	if (!eni_has(r, ENI_KEY_IPV6S))
		return eni_key_name(ENI_KEY_IPV6S);
	return eni_key_name(ENI_KEY_SUBNET_IPV6);
}

const char *eni_missing(const struct eni_record *r,
			const struct instance_info *instance)
{
	const char *missing;

	if (!r->listed)
		return "MAC listed under macs/";
	if (!r->keys_listed)
		return "key listing";

	missing = missing_card(r, instance);
	if (missing)
		return missing;

	missing = missing_device(r);
	if (missing)
		return missing;

	return missing_addresses(r);
}

uint32_t eni_card(const struct eni_record *r)
{
	return eni_has(r, ENI_KEY_NETWORK_CARD) ? r->network_card : 0;
}

bool eni_has_ipv4(const struct eni_record *r)
{
	return eni_has(r, ENI_KEY_LOCAL_IPV4S) && eni_has(r, ENI_KEY_SUBNET_IPV4);
}

static bool prefixes_equal(const struct ip_prefix *a, size_t n_a,
			   const struct ip_prefix *b, size_t n_b)
{
	if (n_a != n_b)
		return false;

	for (size_t i = 0; i < n_a; i++) {
		if (!ip_prefix_equal(&a[i], &b[i]))
			return false;
	}

	return true;
}

bool eni_record_same_config(const struct eni_record *a,
			    const struct eni_record *b)
{
	if (memcmp(a->mac, b->mac, MAC_LEN) != 0 || a->primary != b->primary)
		return false;

	if (memcmp(a->state, b->state, sizeof(a->state)) != 0)
		return false;

	if (a->device_number != b->device_number ||
	    a->network_card != b->network_card)
		return false;

	if (eni_has(a, ENI_KEY_SUBNET_IPV4) &&
	    !ip_prefix_equal(&a->subnet_ipv4, &b->subnet_ipv4))
		return false;

	return prefixes_equal(a->ipv4, a->n_ipv4, b->ipv4, b->n_ipv4) &&
	       prefixes_equal(a->ipv6, a->n_ipv6, b->ipv6, b->n_ipv6) &&
	       prefixes_equal(a->subnet_ipv6, a->n_subnet_ipv6, b->subnet_ipv6,
			      b->n_subnet_ipv6) &&
	       prefixes_equal(a->prefix_ipv4, a->n_prefix_ipv4, b->prefix_ipv4,
			      b->n_prefix_ipv4) &&
	       prefixes_equal(a->prefix_ipv6, a->n_prefix_ipv6, b->prefix_ipv6,
			      b->n_prefix_ipv6);
}
