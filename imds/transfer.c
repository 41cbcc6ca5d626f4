/* SPDX-License-Identifier: MIT */
/*
 * One metadata HTTP attempt on a libcurl easy handle: plain HTTP only, no
 * proxy from the environment, no redirects, a per-attempt timeout, and
 * write and header callbacks that abort replies over the caps of imds.h.
 * A finished attempt is classified into an errno and "worth a retry".
 */
#include "imds/transfer.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imds/imds.h"

#define USEC_PER_MSEC 1000ull

#define CONNECT_TIMEOUT_MAX_USEC (500 * USEC_PER_MSEC)
/* Maximum of all header bytes in one reply. */
#define MAX_HEADER_BYTES (16 * 1024)

static bool body_reserve(struct transfer *t, size_t need)
{
	size_t capacity = t->capacity ? t->capacity : 256;
	char *body;

	if (need <= t->capacity)
		return true;

	while (capacity < need)
		capacity *= 2;
	if (capacity > IMDS_MAX_BODY + 1)
		capacity = IMDS_MAX_BODY + 1;

	body = realloc(t->body, capacity);
	if (!body)
		return false;

	t->body = body;
	t->capacity = capacity;
	return true;
}

/* libcurl write callback: keeps the body, at most IMDS_MAX_BODY bytes. */
static size_t on_body(char *data, size_t size, size_t count, void *userdata)
{
	struct transfer *t = userdata;
	size_t length = size * count;

	if (length > IMDS_MAX_BODY - t->length) {
		t->body_too_large = true;
		return 0;
	}

	if (!body_reserve(t, t->length + length + 1))
		return 0;

	memcpy(t->body + t->length, data, length);
	t->length += length;
	t->body[t->length] = '\0';
	return length;
}

/* Stores the TTL a token reply grants, when its header is well formed. */
static void note_granted_ttl(struct transfer *t, const char *line,
			     size_t length)
{
	static const char name[] = TOKEN_TTL_HEADER ":";
	size_t i = sizeof(name) - 1;
	uint32_t value = 0;

	if (length < i || strncasecmp(line, name, i) != 0)
		return;

	while (i < length && line[i] == ' ')
		i++;

	for (; i < length && line[i] >= '0' && line[i] <= '9'; i++) {
		value = value * 10 + (uint32_t)(line[i] - '0');
		if (value > TOKEN_TTL_MAX)
			return;
	}

	if (i < length && line[i] != '\r' && line[i] != '\n')
		return;

	t->granted_ttl = value;
}

/* libcurl header callback: one header line per call. */
static size_t on_header(char *data, size_t size, size_t count,
			void *userdata)
{
	struct transfer *t = userdata;
	size_t length = size * count;

	t->header_bytes += length;
	if (length > IMDS_MAX_HEADER_LINE ||
	    t->header_bytes > MAX_HEADER_BYTES) {
		t->header_too_long = true;
		return 0;
	}

	if (t->token_reply)
		note_granted_ttl(t, data, length);
	return length;
}

static long timeout_ms(uint64_t usec)
{
	uint64_t ms = (usec + USEC_PER_MSEC - 1) / USEC_PER_MSEC;

	return ms > 0 ? (long)ms : 1;
}

/* Sets every option of an attempt. Returns 0 or -EINVAL. */
static int easy_setup(struct transfer *t, const struct transfer_request *rq)
{
	CURL *easy = t->easy;
	uint64_t connect_usec = rq->timeout_usec < CONNECT_TIMEOUT_MAX_USEC
					? rq->timeout_usec
					: CONNECT_TIMEOUT_MAX_USEC;
	CURLcode results[] = {
		curl_easy_setopt(easy, CURLOPT_URL, rq->url),
		curl_easy_setopt(easy, CURLOPT_PRIVATE, rq->private),
		curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L),
		/* An explicit empty proxy overrides http_proxy and friends. */
		curl_easy_setopt(easy, CURLOPT_PROXY, ""),
		curl_easy_setopt(easy, CURLOPT_NOPROXY, "*"),
#if LIBCURL_VERSION_NUM >= 0x075500
		curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http"),
#else
		curl_easy_setopt(easy, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTP),
#endif
		curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L),
		curl_easy_setopt(easy, CURLOPT_HTTP_VERSION,
				 (long)CURL_HTTP_VERSION_1_1),
		curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
				 timeout_ms(rq->timeout_usec)),
		curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
				 timeout_ms(connect_usec)),
		curl_easy_setopt(easy, CURLOPT_USERAGENT, rq->user_agent),
		curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->headers),
		curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body),
		curl_easy_setopt(easy, CURLOPT_WRITEDATA, t),
		curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header),
		curl_easy_setopt(easy, CURLOPT_HEADERDATA, t),
		curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE,
				 (curl_off_t)IMDS_MAX_BODY),
		curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST,
				 rq->put ? "PUT" : NULL),
	};

	for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
		if (results[i] != CURLE_OK)
			return -EINVAL;
	}

	if (rq->interface) {
		char name[IFNAMSIZ + 4];

		/* "if!" makes libcurl bind with SO_BINDTODEVICE, so the
		 * request leaves through the link whatever the main table
		 * contains. */
		snprintf(name, sizeof(name), "if!%s", rq->interface);
		if (curl_easy_setopt(easy, CURLOPT_INTERFACE, name) != CURLE_OK)
			return -EINVAL;
	}

	return 0;
}

int transfer_prepare(struct transfer *t,
		     const struct transfer_request *request)
{
	int r;

	*t = (struct transfer){ .headers = request->headers };
	t->easy = curl_easy_init();
	if (!t->easy) {
		transfer_release(t);
		return -ENOMEM;
	}

	r = easy_setup(t, request);
	if (r < 0)
		transfer_release(t);
	return r;
}

void transfer_release(struct transfer *t)
{
	curl_easy_cleanup(t->easy);
	curl_slist_free_all(t->headers);
	free(t->body);
	*t = (struct transfer){ 0 };
}

struct curl_slist *transfer_header(const char *name, const char *value)
{
	struct curl_slist *list;
	char *line;

	if (asprintf(&line, "%s: %s", name, value) < 0)
		return NULL;

	/* The line may carry the session token: wipe the copy. */
	list = curl_slist_append(NULL, line);
	explicit_bzero(line, strlen(line));
	free(line);
	return list;
}

struct curl_error {
	CURLcode code;
	int error;
	bool retry;
};

/* libcurl results with their errno and retry policy. Others: final -EIO. */
static const struct curl_error curl_errors[] = {
	{ CURLE_COULDNT_CONNECT, -ECONNREFUSED, true },
	{ CURLE_OPERATION_TIMEDOUT, -ETIMEDOUT, true },
	{ CURLE_GOT_NOTHING, -ECONNRESET, true },
	{ CURLE_RECV_ERROR, -ECONNRESET, true },
	{ CURLE_SEND_ERROR, -ECONNRESET, true },
	{ CURLE_PARTIAL_FILE, -ECONNRESET, true },
	{ CURLE_COULDNT_RESOLVE_HOST, -EHOSTUNREACH, true },
	{ CURLE_FILESIZE_EXCEEDED, -EFBIG, false },
	{ CURLE_OUT_OF_MEMORY, -ENOMEM, false },
	{ CURLE_WRITE_ERROR, -ENOMEM, false },
	{ CURLE_UNSUPPORTED_PROTOCOL, -EPROTONOSUPPORT, false },
	{ CURLE_URL_MALFORMAT, -EINVAL, false },
	{ CURLE_WEIRD_SERVER_REPLY, -EBADMSG, false },
	{ CURLE_BAD_CONTENT_ENCODING, -EBADMSG, false },
};

static void curl_outcome(const struct transfer *t, struct outcome *o)
{
	curl_off_t connect_time = 0;
	char *peer = NULL;
	long os_errno = 0;

	o->error = -EIO;
	for (size_t i = 0; i < sizeof(curl_errors) / sizeof(curl_errors[0]);
	     i++) {
		if (curl_errors[i].code == t->result) {
			o->error = curl_errors[i].error;
			o->retry = curl_errors[i].retry;
		}
	}

	if (t->result == CURLE_COULDNT_CONNECT) {
		curl_easy_getinfo(t->easy, CURLINFO_OS_ERRNO, &os_errno);
		if (os_errno > 0)
			o->error = -(int)os_errno;
		o->connect_failed = true;
	}

	/*
	 * A connect timeout leaves the connect time at zero. An attempt that
	 * timed out while queued for a connection has no peer address yet
	 * and does not show that the endpoint is unreachable.
	 */
	if (t->result == CURLE_OPERATION_TIMEDOUT) {
		curl_easy_getinfo(t->easy, CURLINFO_CONNECT_TIME_T,
				  &connect_time);
		curl_easy_getinfo(t->easy, CURLINFO_PRIMARY_IP, &peer);
		o->connect_failed = connect_time == 0 && peer && peer[0];
	}
}

void transfer_outcome(const struct transfer *t, struct outcome *o)
{
	long status = 0;

	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	*o = (struct outcome){ .status = status };

	if (t->body_too_large) {
		o->error = -EFBIG;
	} else if (t->header_too_long) {
		o->error = -EBADMSG;
	} else if (t->result != CURLE_OK) {
		curl_outcome(t, o);
	} else {
		o->http = true;
		if (status != 200)
			o->error = -EIO;
		o->retry = status == 429 || (status >= 500 && status <= 599);
	}
}

const char *imds_reply_reason(const struct imds_reply *reply, char *buf,
			      size_t size)
{
	if (reply->result == IMDS_NOT_FOUND)
		snprintf(buf, size, "HTTP 404");
	else if (reply->error == -EIO && reply->status != 0)
		snprintf(buf, size, "HTTP %ld", reply->status);
	else if (reply->error == -EFBIG)
		snprintf(buf, size, "reply larger than %d bytes",
			 IMDS_MAX_BODY);
	else if (reply->error != 0 && reply->status != 0 &&
		 reply->status != 200)
		snprintf(buf, size, "%s (HTTP %ld)", strerror(-reply->error),
			 reply->status);
	else if (reply->error != 0)
		snprintf(buf, size, "%s", strerror(-reply->error));
	else
		snprintf(buf, size, "no error");

	return buf;
}
