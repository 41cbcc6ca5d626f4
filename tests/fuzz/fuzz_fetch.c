/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the ENI fetch merge (imds/fetch.c): a series of
 * replies, each a key listing or one key's 200, 404 or failure, applied
 * through the seam in imds/fetch-internal.h without any request.
 *
 * Input: chunks of a 6-byte header and a body. The header bytes are:
 *   0    subject, modulo 10: the nine keys of enum eni_key, then the listing
 *   1    result, modulo 3: enum imds_result
 *   2    HTTP status, an index into statuses[]
 *   3    errno, an index into errors[]
 *   4-5  body length, little endian, cut to the bytes left
 * After each reply the record must keep its bounds, and a failed or
 * rejected reply must leave it unchanged. Seeds: corpus/fetch/. Run with
 * "make fuzz".
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "common/eni.h"
#include "imds/fetch-internal.h"
#include "imds/imds.h"
#include "tests/fuzz/fuzz.h"

#define CHUNK_HEADER 6
#define SUBJECT_LISTING ENI_KEY_COUNT

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The merge never starts a request, so these only satisfy the linker. */
struct imds_request *imds_get(struct imds_client *client, const char *path,
			      imds_callback callback, void *userdata)
{
	abort();
}

void imds_cancel(struct imds_request *request)
{
	FUZZ_CHECK(request == NULL);
}

static const long statuses[] = { 0, 200, 404, 401, 429, 500, 503, 301 };
static const int errors[] = {
	0, -EIO, -EFBIG, -ETIMEDOUT, -ECONNREFUSED, -EPROTO, -ENOMEM, -EINVAL,
};

static void check_prefixes(const struct ip_prefix *list, size_t count,
			   size_t max, int family)
{
	FUZZ_CHECK(count <= max);
	for (size_t i = 0; i < count; i++) {
		FUZZ_CHECK(list[i].family == family);
		FUZZ_CHECK(!ip_prefix_has_host_bits(&list[i]));
	}
}

static void check_record(const struct eni_record *r)
{
	for (int key = 0; key < ENI_KEY_COUNT; key++)
		FUZZ_CHECK(r->state[key] <= ENI_VALUE_PRESENT);
	FUZZ_CHECK(memchr(r->interface_id, '\0',
			  sizeof(r->interface_id)) != NULL);
	check_prefixes(r->ipv4, r->n_ipv4, ENI_MAX_ADDRESSES, AF_INET);
	check_prefixes(r->ipv6, r->n_ipv6, ENI_MAX_ADDRESSES, AF_INET6);
	check_prefixes(r->subnet_ipv6, r->n_subnet_ipv6, ENI_MAX_SUBNETS,
		       AF_INET6);
	check_prefixes(r->prefix_ipv4, r->n_prefix_ipv4, ENI_MAX_PREFIXES,
		       AF_INET);
	check_prefixes(r->prefix_ipv6, r->n_prefix_ipv6, ENI_MAX_PREFIXES,
		       AF_INET6);
	if (r->state[ENI_KEY_SUBNET_IPV4] == ENI_VALUE_PRESENT)
		check_prefixes(&r->subnet_ipv4, 1, 1, AF_INET);
}

static void check_result(const struct eni_fetch_result *result)
{
	FUZZ_CHECK(memchr(result->error, '\0', sizeof(result->error)) != NULL);
	FUZZ_CHECK(result->failed_keys < (1u << ENI_KEY_COUNT));
	check_record(&result->record);
}

static void apply_key(struct eni_fetch_result *result, enum eni_key key,
		      const struct imds_reply *reply)
{
	struct eni_record before;
	unsigned failed_before = result->failed_keys;
	bool failed;

	memcpy(&before, &result->record, sizeof(before));
	result->failed_keys = 0;
	eni_fetch_merge_key(result, key, reply);
	failed = result->failed_keys != 0;
	FUZZ_CHECK(result->failed_keys == 0 ||
		   result->failed_keys == (1u << key));
	result->failed_keys |= failed_before;

	switch (reply->result) {
	case IMDS_OK:
		if (!failed)
			FUZZ_CHECK(result->record.state[key] ==
				   ENI_VALUE_PRESENT);
		break;
	case IMDS_NOT_FOUND:
		FUZZ_CHECK(!failed);
		break;
	case IMDS_FAILED:
		FUZZ_CHECK(failed);
		FUZZ_CHECK(result->error[0] != '\0');
		break;
	}

	/* A failed or rejected reply changes nothing in the record. */
	if (failed)
		FUZZ_CHECK(memcmp(&before, &result->record,
				  sizeof(before)) == 0);
}

static void apply_listing(struct eni_fetch_result *result,
			  const struct imds_reply *reply)
{
	struct eni_record before;
	uint32_t listed;
	int r;

	memcpy(&before, &result->record, sizeof(before));
	result->listing_failed = false;
	r = eni_fetch_merge_listing(result, reply, &listed);
	FUZZ_CHECK(r == 0 || r == -EIO || r == -EINVAL);
	FUZZ_CHECK(result->listing_failed == (r < 0));
	if (r < 0) {
		FUZZ_CHECK(memcmp(&before, &result->record,
				  sizeof(before)) == 0);
		FUZZ_CHECK(result->error[0] != '\0');
		return;
	}

	FUZZ_CHECK(result->record.keys_listed);
	FUZZ_CHECK(result->record.listed_keys == listed);
	for (int key = 0; key < ENI_KEY_COUNT; key++) {
		if (!(listed & (1u << key)))
			FUZZ_CHECK(result->record.state[key] ==
				   ENI_VALUE_ABSENT);
	}
}

/* Applies one chunk; returns the bytes it used. */
static size_t apply_chunk(struct eni_fetch_result *result,
			  const uint8_t *data, size_t size)
{
	size_t length = (size_t)data[4] | (size_t)data[5] << 8;
	unsigned subject = data[0] % (ENI_KEY_COUNT + 1);
	struct imds_reply reply = {
		.result = (enum imds_result)(data[1] % 3),
		.status = statuses[data[2] % 8],
		.error = errors[data[3] % 8],
		.path = "network/interfaces/macs/02:ab:cd:00:00:02/",
	};
	char *body;

	if (length > size - CHUNK_HEADER)
		length = size - CHUNK_HEADER;
	body = malloc(length + 1);
	FUZZ_CHECK(body);
	memcpy(body, data + CHUNK_HEADER, length);
	body[length] = '\0';
	reply.body = body;
	reply.length = length;

	if (subject == SUBJECT_LISTING)
		apply_listing(result, &reply);
	else
		apply_key(result, (enum eni_key)subject, &reply);
	check_result(result);
	free(body);
	return CHUNK_HEADER + length;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t mac[MAC_LEN] = { 0x02, 0xab, 0xcd, 0, 0, 2 };
	struct eni_fetch_result *result = calloc(1, sizeof(*result));

	FUZZ_CHECK(result);
	eni_record_init(&result->record, mac);
	while (size >= CHUNK_HEADER) {
		size_t used = apply_chunk(result, data, size);

		data += used;
		size -= used;
	}

	free(result);
	return 0;
}
