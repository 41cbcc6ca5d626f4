/* SPDX-License-Identifier: MIT */
/*
 * Reading one ENI: the MAC's key listing (full mode), then each key as a
 * concurrent GET, merged key by key into a copy of the caller's record.
 * A table holds, per key, its parser, the bounds it enforces and whether
 * a 404 means "none" or only "not propagated yet".
 */
#include "imds/fetch.h"
#include "imds/fetch-internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "imds/parse.h"

/* A warning about the same bad value is repeated at most this often. */
#define WARNING_REPEAT_USEC (10 * 60 * 1000000ull)

/*
 * Bounds on the integer keys. EC2 documents no maximum, so these are
 * estimates far above the largest instance types (a few dozen interfaces
 * over at most a few dozen cards). Values that collide in the numbering
 * scheme are the planner's to reject.
 */
#define MAX_DEVICE_NUMBER 1023
#define MAX_NETWORK_CARD 255

struct key_handler;

typedef int (*key_parser)(const struct key_handler *h, struct eni_record *r,
			  const char *body, size_t length,
			  struct imds_why *why);

struct key_handler {
	key_parser parse;
	int family;
	uint32_t max;
	size_t value_offset;	/* of the field in struct eni_record */
	size_t value_size;
	size_t count_offset;	/* of the list length, when has_count */
	bool has_count;
	bool absent_on_404;	/* 404 means "none", not "not yet" */
};

struct key_request {
	struct eni_fetch *fetch;
	enum eni_key key;
	struct imds_request *request;
	bool started;
};

struct eni_fetch {
	struct imds_client *client;
	enum eni_fetch_mode mode;
	eni_fetch_callback callback;
	void *userdata;
	struct eni_fetch_result result;
	char mac[MAC_STRLEN];
	struct imds_request *listing;
	struct key_request keys[ENI_KEY_COUNT];
	unsigned pending;
	bool finishing;
};

static void *field(struct eni_record *r, size_t offset)
{
	return (char *)r + offset;
}

static int parse_uint_key(const struct key_handler *h, struct eni_record *r,
			  const char *body, size_t length,
			  struct imds_why *why)
{
	return imds_parse_uint(body, length, h->max,
			       field(r, h->value_offset), why);
}

static int parse_eni_id_key(const struct key_handler *h, struct eni_record *r,
			    const char *body, size_t length,
			    struct imds_why *why)
{
	return imds_parse_eni_id(body, length, field(r, h->value_offset),
				 h->value_size, why);
}

static int parse_address_key(const struct key_handler *h,
			     struct eni_record *r, const char *body,
			     size_t length, struct imds_why *why)
{
	return imds_parse_addresses(body, length, h->family,
				    field(r, h->value_offset), h->max,
				    field(r, h->count_offset), why);
}

static int parse_prefix_key(const struct key_handler *h, struct eni_record *r,
			    const char *body, size_t length,
			    struct imds_why *why)
{
	return imds_parse_prefixes(body, length, h->family,
				   field(r, h->value_offset), h->max,
				   field(r, h->count_offset), why);
}

/* A key holding exactly one prefix (subnet-ipv4-cidr-block). */
static int parse_single_prefix_key(const struct key_handler *h,
				   struct eni_record *r, const char *body,
				   size_t length, struct imds_why *why)
{
	size_t count;

	return imds_parse_prefixes(body, length, h->family,
				   field(r, h->value_offset), 1, &count, why);
}

#define VALUE(name)                                                   \
	.value_offset = offsetof(struct eni_record, name),            \
	.value_size = sizeof(((struct eni_record *)NULL)->name)
#define COUNT(name)                                                   \
	.count_offset = offsetof(struct eni_record, name), .has_count = true

static const struct key_handler key_handlers[ENI_KEY_COUNT] = {
	[ENI_KEY_DEVICE_NUMBER] = {
		parse_uint_key, .max = MAX_DEVICE_NUMBER,
		VALUE(device_number),
	},
	[ENI_KEY_NETWORK_CARD] = {
		parse_uint_key, .max = MAX_NETWORK_CARD,
		VALUE(network_card), .absent_on_404 = true,
	},
	[ENI_KEY_INTERFACE_ID] = {
		parse_eni_id_key, VALUE(interface_id),
	},
	[ENI_KEY_LOCAL_IPV4S] = {
		parse_address_key, AF_INET, ENI_MAX_ADDRESSES,
		VALUE(ipv4), COUNT(n_ipv4),
	},
	[ENI_KEY_SUBNET_IPV4] = {
		parse_single_prefix_key, AF_INET, 1, VALUE(subnet_ipv4),
	},
	[ENI_KEY_IPV6S] = {
		parse_address_key, AF_INET6, ENI_MAX_ADDRESSES,
		VALUE(ipv6), COUNT(n_ipv6), .absent_on_404 = true,
	},
	[ENI_KEY_SUBNET_IPV6] = {
		parse_prefix_key, AF_INET6, ENI_MAX_SUBNETS,
		VALUE(subnet_ipv6), COUNT(n_subnet_ipv6),
		.absent_on_404 = true,
	},
	[ENI_KEY_IPV4_PREFIX] = {
		parse_prefix_key, AF_INET, ENI_MAX_PREFIXES,
		VALUE(prefix_ipv4), COUNT(n_prefix_ipv4),
		.absent_on_404 = true,
	},
	[ENI_KEY_IPV6_PREFIX] = {
		parse_prefix_key, AF_INET6, ENI_MAX_PREFIXES,
		VALUE(prefix_ipv6), COUNT(n_prefix_ipv6),
		.absent_on_404 = true,
	},
};

static uint32_t key_bit(enum eni_key key)
{
	return 1u << key;
}

/* Marks a key absent and clears its value, so no stale value lingers. */
static void key_set_absent(struct eni_record *r, enum eni_key key)
{
	const struct key_handler *h = &key_handlers[key];

	memset(field(r, h->value_offset), 0, h->value_size);
	if (h->has_count)
		*(size_t *)field(r, h->count_offset) = 0;
	r->state[key] = ENI_VALUE_ABSENT;
}

static void note_error(struct eni_fetch *f, const char *what,
		       const char *reason)
{
	if (f->result.error[0] == '\0')
		snprintf(f->result.error, sizeof(f->result.error), "%s: %s",
			 what, reason);
}

static void key_failed(struct eni_fetch *f, enum eni_key key,
		       const char *reason)
{
	f->result.failed_keys |= key_bit(key);
	note_error(f, eni_key_name(key), reason);
}

static void key_parse(struct eni_fetch *f, enum eni_key key,
		      const struct imds_reply *reply)
{
	const struct key_handler *h = &key_handlers[key];
	struct eni_record *record = &f->result.record;
	struct imds_why why = { "" };

	if (h->parse(h, record, reply->body, reply->length, &why) < 0) {
		char message[IMDS_WHY_LEN + 96];

		snprintf(message, sizeof(message),
			 "imds: %s: invalid %s, keeping the previous value: %s",
			 f->mac, eni_key_name(key), why.text);
		/* The same bad value comes back at every refresh. */
		log_msg(log_repeat_allowed(message, WARNING_REPEAT_USEC) ?
				LOG_WARNING :
				LOG_DEBUG,
			"%s", message);
		key_failed(f, key, why.text);
		return;
	}

	record->state[key] = ENI_VALUE_PRESENT;
}

static void fetch_finish(struct eni_fetch *f)
{
	f->finishing = true;
	f->callback(&f->result, f->userdata);
	free(f);
}

static void on_key(const struct imds_reply *reply, void *userdata);

static int key_start(struct eni_fetch *f, enum eni_key key)
{
	struct key_request *k = &f->keys[key];
	char path[128];

	snprintf(path, sizeof(path), "network/interfaces/macs/%s/%s", f->mac,
		 eni_key_name(key));
	k->request = imds_get(f->client, path, on_key, k);
	if (!k->request)
		return -ENOMEM;

	k->started = true;
	f->pending++;
	return 0;
}

/*
 * Starts a GET for every key in mask. A key whose request cannot start
 * counts as failed.
 */
static void keys_start(struct eni_fetch *f, uint32_t mask)
{
	for (int key = 0; key < ENI_KEY_COUNT; key++) {
		if (!(mask & key_bit(key)))
			continue;

		if (key_start(f, key) < 0)
			key_failed(f, key, "out of memory");
	}
}

/* An address refresh that finds new ipv6s also needs their subnet. */
static void maybe_start_subnet_ipv6(struct eni_fetch *f, enum eni_key key)
{
	const struct eni_record *r = &f->result.record;

	if (f->mode != ENI_FETCH_ADDRESSES || key != ENI_KEY_IPV6S ||
	    !eni_has(r, ENI_KEY_IPV6S) || eni_has(r, ENI_KEY_SUBNET_IPV6) ||
	    f->keys[ENI_KEY_SUBNET_IPV6].started)
		return;

	if (key_start(f, ENI_KEY_SUBNET_IPV6) < 0)
		key_failed(f, ENI_KEY_SUBNET_IPV6, "out of memory");
}

static void key_result(struct eni_fetch *f, enum eni_key key,
		       const struct imds_reply *reply)
{
	char reason[128];

	switch (reply->result) {
	case IMDS_OK:
		key_parse(f, key, reply);
		break;
	case IMDS_NOT_FOUND:
		/* Other keys 404 until the service has propagated them. */
		if (key_handlers[key].absent_on_404)
			key_set_absent(&f->result.record, key);
		break;
	case IMDS_FAILED:
		key_failed(f, key, imds_reply_reason(reply, reason,
						     sizeof(reason)));
		break;
	}
}

static void on_key(const struct imds_reply *reply, void *userdata)
{
	struct key_request *k = userdata;
	struct eni_fetch *f = k->fetch;

	k->request = NULL;
	key_result(f, k->key, reply);
	maybe_start_subnet_ipv6(f, k->key);

	if (--f->pending == 0)
		fetch_finish(f);
}

static int listing_entry(const char *name, int is_directory, void *userdata)
{
	uint32_t *listed = userdata;
	int key = eni_key_from_name(name);

	if (key >= 0 && !is_directory)
		*listed |= key_bit(key);
	return 0;
}

/* Applies a key listing and stores the keys to read. Returns 0 or -EINVAL. */
static int listing_apply(struct eni_fetch *f, const struct imds_reply *reply,
			 uint32_t *listed)
{
	struct eni_record *r = &f->result.record;
	struct imds_why why = { "" };

	*listed = 0;
	if (imds_parse_listing(reply->body, reply->length, listing_entry,
			       listed, &why) < 0) {
		char message[IMDS_WHY_LEN + 64];

		snprintf(message, sizeof(message),
			 "imds: %s: invalid key listing: %s", f->mac, why.text);
		log_msg(log_repeat_allowed(message, WARNING_REPEAT_USEC) ?
				LOG_WARNING :
				LOG_DEBUG,
			"%s", message);
		note_error(f, "key listing", why.text);
		return -EINVAL;
	}

	r->keys_listed = true;
	r->listed_keys = *listed;
	for (int key = 0; key < ENI_KEY_COUNT; key++) {
		if (!(*listed & key_bit(key)))
			key_set_absent(r, key);
	}

	return 0;
}

/*
 * Applies the listing reply to the fetch. Returns 0 with the keys to read
 * in *listed, or -EIO (request failed) or -EINVAL (malformed listing)
 * with listing_failed set.
 */
static int listing_result(struct eni_fetch *f, const struct imds_reply *reply,
			  uint32_t *listed)
{
	char reason[128];

	*listed = 0;
	if (reply->result != IMDS_OK) {
		note_error(f, "key listing",
			   imds_reply_reason(reply, reason, sizeof(reason)));
		f->result.listing_failed = true;
		return -EIO;
	}

	if (listing_apply(f, reply, listed) < 0) {
		f->result.listing_failed = true;
		return -EINVAL;
	}

	return 0;
}

static void on_listing(const struct imds_reply *reply, void *userdata)
{
	struct eni_fetch *f = userdata;
	uint32_t listed;

	f->listing = NULL;
	listing_result(f, reply, &listed);

	if (--f->pending == 0)
		fetch_finish(f);
}

/* The keys an address refresh reads. */
static uint32_t address_keys(const struct eni_record *base)
{
	uint32_t mask = key_bit(ENI_KEY_IPV6S) | key_bit(ENI_KEY_IPV4_PREFIX) |
			key_bit(ENI_KEY_IPV6_PREFIX);

	if (eni_has(base, ENI_KEY_LOCAL_IPV4S) ||
	    (base->listed_keys & key_bit(ENI_KEY_LOCAL_IPV4S)))
		mask |= key_bit(ENI_KEY_LOCAL_IPV4S);
	if (eni_has(base, ENI_KEY_IPV6S) && !eni_has(base, ENI_KEY_SUBNET_IPV6))
		mask |= key_bit(ENI_KEY_SUBNET_IPV6);
	return mask;
}

static void fetch_cancel_requests(struct eni_fetch *f)
{
	imds_cancel(f->listing);
	f->listing = NULL;
	for (int key = 0; key < ENI_KEY_COUNT; key++) {
		imds_cancel(f->keys[key].request);
		f->keys[key].request = NULL;
	}
}

static int fetch_begin(struct eni_fetch *f)
{
	char path[128];

	if (f->mode == ENI_FETCH_ADDRESSES) {
		keys_start(f, address_keys(&f->result.record));
		return f->pending > 0 ? 0 : -ENOMEM;
	}

	/*
	 * The listing and every key go out together, which saves a round
	 * trip on a hot attach. Keys the listing lacks are then absent
	 * whatever their GET returned (a 404, normally).
	 */
	snprintf(path, sizeof(path), "network/interfaces/macs/%s/", f->mac);
	f->listing = imds_get(f->client, path, on_listing, f);
	if (!f->listing)
		return -ENOMEM;

	f->pending++;
	keys_start(f, key_bit(ENI_KEY_COUNT) - 1);
	return 0;
}

struct eni_fetch *eni_fetch_start(struct imds_client *client,
				  const struct eni_record *base,
				  enum eni_fetch_mode mode,
				  eni_fetch_callback callback, void *userdata)
{
	struct eni_fetch *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;

	f->client = client;
	f->mode = mode;
	f->callback = callback;
	f->userdata = userdata;
	f->result.record = *base;
	mac_format(base->mac, f->mac);
	for (int key = 0; key < ENI_KEY_COUNT; key++)
		f->keys[key] = (struct key_request){ .fetch = f, .key = key };

	if (fetch_begin(f) < 0) {
		fetch_cancel_requests(f);
		free(f);
		return NULL;
	}

	return f;
}

void eni_fetch_cancel(struct eni_fetch *fetch)
{
	if (!fetch || fetch->finishing)
		return;

	fetch_cancel_requests(fetch);
	free(fetch);
}

/* The merge steps without requests, for the fuzz target. */

static void fetch_borrow(struct eni_fetch *f,
			 const struct eni_fetch_result *result)
{
	*f = (struct eni_fetch){ .result = *result };
	mac_format(result->record.mac, f->mac);
}

void eni_fetch_merge_key(struct eni_fetch_result *result, enum eni_key key,
			 const struct imds_reply *reply)
{
	struct eni_fetch f;

	fetch_borrow(&f, result);
	key_result(&f, key, reply);
	*result = f.result;
}

int eni_fetch_merge_listing(struct eni_fetch_result *result,
			    const struct imds_reply *reply, uint32_t *listed)
{
	struct eni_fetch f;
	int r;

	fetch_borrow(&f, result);
	r = listing_result(&f, reply, listed);
	*result = f.result;
	return r;
}
