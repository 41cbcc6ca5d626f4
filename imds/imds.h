/* SPDX-License-Identifier: MIT */
/*
 * The instance metadata service (IMDS) client: IMDSv2 GETs driven by
 * libcurl's multi interface inside the sd-event loop. No call blocks.
 *
 * One session token serves every request for its lifetime; it is renewed
 * before it expires and once when a GET returns 401. Transient failures
 * (timeouts, connection errors, 429, 5xx) are retried with exponential
 * backoff and jitter until the request's deadline; the caller then sees
 * the failure. Proxies from the environment are ignored.
 */
#ifndef ENID_IMDS_IMDS_H
#define ENID_IMDS_IMDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

/* Caps on what one reply may carry; a larger one is a failed request. */
#define IMDS_MAX_BODY (64 * 1024)
#define IMDS_MAX_HEADER_LINE 1024

struct imds_options {
	const char *url;	/* e.g. "http://169.254.169.254" */
	const char *url_ipv6;	/* tried when url does not answer; NULL or "": never */
	bool v1_fallback;	/* plain GETs when the token request gets 404/405 */
	uint64_t timeout_usec;	/* per attempt */
	uint64_t deadline_usec;	/* per request, across its retries */
	uint32_t token_ttl_sec;	/* 1..21600 */
	const char *user_agent;
};

struct imds_client;
struct imds_request;

enum imds_result {
	IMDS_OK,	/* 200 with a body */
	IMDS_NOT_FOUND,	/* 404: absent, or not propagated yet */
	IMDS_FAILED,	/* anything else, after retries */
};

struct imds_reply {
	enum imds_result result;
	long status;		/* last HTTP status, 0 when none arrived */
	int error;		/* negative errno when result is IMDS_FAILED */
	const char *path;
	const char *body;	/* NUL-terminated; may contain NUL bytes */
	size_t length;
};

typedef void (*imds_callback)(const struct imds_reply *reply, void *userdata);

/* Creates a client on the event loop. */
int imds_client_new(struct imds_client **out, sd_event *event,
		    const struct imds_options *options);

/* Cancels every request without calling back and frees the client. */
void imds_client_free(struct imds_client *client);

/*
 * Starts a GET of path below "/latest/meta-data/" (e.g. "mac" or
 * "network/interfaces/macs/"). The callback runs exactly once, from the
 * event loop, unless the request is cancelled first. Returns the request,
 * or NULL when out of memory.
 */
struct imds_request *imds_get(struct imds_client *client, const char *path,
			      imds_callback callback, void *userdata);

/* Cancels a request; its callback will not run. Accepts NULL. */
void imds_cancel(struct imds_request *request);

/*
 * Binds later requests to a link when the endpoint is link-local
 * (169.254.0.0/16, fe80::/10) or the EC2 IPv6 endpoint (fd00:ec2::/32),
 * so a default route moved elsewhere cannot cut the client off. NULL
 * unbinds. After a bound attempt fails to connect, attempts go unbound
 * for a while.
 */
int imds_client_set_interface(struct imds_client *client, const char *ifname);

/* Number of HTTP requests sent so far, token requests included. */
uint64_t imds_requests_sent(const struct imds_client *client);

/* Formats why a reply failed ("HTTP 500", "Connection refused") into buf. */
const char *imds_reply_reason(const struct imds_reply *reply, char *buf,
			      size_t size);

#endif
