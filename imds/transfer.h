/* SPDX-License-Identifier: MIT */
/*
 * One HTTP attempt of the metadata client (private to imds/): a libcurl
 * easy handle with the client's fixed options, the reply captured under
 * the size caps of imds.h, and the result classified for the retry logic.
 * The client adds the handle to its multi handle and drives it.
 */
#ifndef ENID_IMDS_TRANSFER_H
#define ENID_IMDS_TRANSFER_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOKEN_TTL_HEADER "X-aws-ec2-metadata-token-ttl-seconds"
/* Maximum token lifetime the service grants, in seconds. */
#define TOKEN_TTL_MAX 21600

struct transfer {
	CURL *easy;
	struct curl_slist *headers;
	bool token_reply;	/* note the TTL header of a token reply */
	CURLcode result;	/* set by the client when libcurl is done */
	char *body;		/* NUL-terminated once any byte arrived */
	size_t length;
	size_t capacity;
	size_t header_bytes;
	bool body_too_large;
	bool header_too_long;
	uint32_t granted_ttl;	/* TTL header of a token reply, or 0 */
};

struct transfer_request {
	const char *url;
	const char *user_agent;
	struct curl_slist *headers;	/* taken by transfer_prepare */
	bool put;
	uint64_t timeout_usec;
	const char *interface;		/* link to bind to, or NULL */
	void *private;			/* CURLOPT_PRIVATE */
};

/* Result of one attempt, classified for the retry logic. */
struct outcome {
	bool http;		/* a complete reply with a status arrived */
	long status;		/* last HTTP status, 0 when none */
	int error;		/* 0 for a 200 */
	bool retry;		/* transient: worth another attempt */
	bool connect_failed;	/* the endpoint accepted no connection */
};

/*
 * Creates the easy handle of an empty transfer with every option set.
 * Takes request->headers, also on failure. Returns 0 or a negative errno.
 */
int transfer_prepare(struct transfer *t,
		     const struct transfer_request *request);

/* Frees the easy handle, headers and body, and empties the transfer. */
void transfer_release(struct transfer *t);

/* Classifies a finished attempt. */
void transfer_outcome(const struct transfer *t, struct outcome *o);

/* Builds the header list "name: value", or returns NULL without memory. */
struct curl_slist *transfer_header(const char *name, const char *value);

#endif
