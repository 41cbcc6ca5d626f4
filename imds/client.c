/* SPDX-License-Identifier: MIT */
/*
 * The metadata client: libcurl's multi interface inside sd-event. libcurl
 * names the sockets to watch (socket callback) and when to wake it up
 * (timer callback); sd-event io and time sources then call
 * curl_multi_socket_action. Finished transfers are first collected from
 * curl_multi_info_read into a queue and only then handed on, so a
 * caller's callback may cancel other requests or free the client.
 *
 * A request waits for the session token, runs one attempt (an easy handle
 * in the multi handle) or waits out a backoff delay, until it completes
 * with exactly one callback. One token PUT at a time serves every waiting
 * request.
 */
#include "imds/imds.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <time.h>

#include "common/backoff.h"
#include "common/log.h"
#include "imds/transfer.h"

#ifndef ENID_VERSION
#define ENID_VERSION "unknown"
#endif

#define USEC_PER_MSEC 1000ull
#define USEC_PER_SEC 1000000ull

/* Retry schedule of a request or of the token request. */
#define RETRY_INITIAL_USEC (100 * USEC_PER_MSEC)
#define RETRY_MAX_USEC (5 * USEC_PER_SEC)
#define RETRY_JITTER_PERCENT 20

/*
 * Pause before the next token request after a final rejection (403, 400,
 * or 404/405 without the IMDSv1 fallback). The service replied, so an
 * immediate new request would only get the same reply.
 */
#define TOKEN_BLOCK_INITIAL_USEC (5 * USEC_PER_SEC)
#define TOKEN_BLOCK_MAX_USEC (300 * USEC_PER_SEC)

/*
 * Further requests queue inside libcurl instead of opening connections.
 * A full ENI read sends ten requests at once, so the limit leaves room
 * for another ENI beside one whose requests stall.
 * NOTE: libcurl counts the time queued against CURLOPT_TIMEOUT_MS, so
 * behind sixteen stalled connections a queued attempt times out and is
 * retried like any other timeout.
 */
#define MAX_HOST_CONNECTIONS 16L
/* Maximum token length accepted (AEMM issues 44 base64 characters). */
#define TOKEN_MAX_LENGTH 512
/* Paths remembered with their backoff after failing (see failed_paths). */
#define PATH_BACKOFF_SLOTS 64
/* A remembered backoff is forgotten this long after its resume time. */
#define PATH_BACKOFF_KEEP_USEC (60 * USEC_PER_SEC)
/* libcurl's timers sit on the path of every request: fire them on time. */
#define TIMER_ACCURACY_USEC 1

#define TOKEN_PATH "/latest/api/token"
#define META_DATA_PATH "/latest/meta-data/"
#define TOKEN_HEADER "X-aws-ec2-metadata-token"

struct imds_client;

/* One HTTP attempt and the client's bookkeeping around it. */
struct attempt {
	struct transfer transfer;
	struct imds_client *client;
	struct imds_request *request;	/* NULL for the token request */
	bool in_multi;
	bool queued;			/* on the client's finished queue */
	struct attempt *next_finished;
	unsigned endpoint;		/* index into client->urls */
	bool bound;			/* bound to client->interface */
	uint64_t started;		/* CLOCK_MONOTONIC */
	uint64_t token_generation;	/* token the GET carried, 0 for none */
};

enum request_state {
	REQUEST_WAITING_TOKEN,	/* timer: the request's deadline */
	REQUEST_RUNNING,	/* an attempt is in the multi handle */
	REQUEST_BACKOFF,	/* timer: the next attempt */
	REQUEST_FAILING,	/* timer: now; completes with r->error */
	REQUEST_COMPLETING,	/* its callback is running */
};

struct imds_request {
	struct imds_client *client;
	struct imds_request *prev;
	struct imds_request *next;
	char *path;
	imds_callback callback;
	void *userdata;
	enum request_state state;
	struct attempt attempt;
	sd_event_source *timer;
	uint64_t deadline;
	struct backoff backoff;
	bool token_retried;	/* the one retry after a 401 was used */
	int error;		/* of the last attempt or the pending failure */
	long status;
};

enum token_mode {
	TOKEN_MODE_V2,		/* GETs carry a session token */
	TOKEN_MODE_V1,		/* the service has no IMDSv2: plain GETs */
};

enum token_availability {
	TOKEN_READY,		/* send now */
	TOKEN_WAIT,		/* a token request runs or will run */
	TOKEN_BLOCKED,		/* rejected recently, so fail at once */
};

struct token_state {
	enum token_mode mode;
	char *value;
	uint64_t generation;		/* incremented for each new token */
	uint64_t refresh_at;
	uint64_t expires_at;
	struct attempt attempt;
	bool fetching;
	sd_event_source *retry_timer;
	bool retry_pending;
	struct backoff backoff;		/* after transient failures */
	struct backoff block_backoff;	/* after final rejections */
	uint64_t blocked_until;
	int error;			/* last failure, for waiting requests */
	long status;
	bool unsupported_logged;
};

struct socket_watch {
	struct imds_client *client;
	sd_event_source *source;
	struct socket_watch *prev;
	struct socket_watch *next;
};

struct imds_client {
	sd_event *event;
	CURLM *multi;
	bool curl_initialized;
	sd_event_source *curl_timer;
	struct socket_watch *watches;

	/*
	 * Paths whose last request failed after its retries, so a new request
	 * for the same path (a re-poll) continues that backoff schedule
	 * instead of starting over at 100 ms.
	 */
	struct path_backoff {
		uint64_t hash;		/* of the path; 0 for a free slot */
		unsigned attempt;	/* backoff steps taken */
		uint64_t resume_at;	/* when the next attempt may go */
	} failed_paths[PATH_BACKOFF_SLOTS];

	char *urls[2];
	bool bindable[2];		/* the endpoint is link-local */
	char interface[IFNAMSIZ];	/* link to bind to, "" for none */
	uint64_t unbound_until;		/* a bound attempt failed to connect */
	unsigned n_urls;
	unsigned endpoint;		/* the one new attempts use */
	bool endpoint_logged[2];
	char *user_agent;
	bool v1_fallback;
	uint64_t timeout_usec;
	uint64_t deadline_usec;
	uint32_t token_ttl_sec;

	struct imds_request *requests;
	struct attempt *finished_head;
	struct attempt *finished_tail;
	struct token_state token;

	uint64_t requests_sent;
	uint64_t seed;
	unsigned busy;			/* depth of event handlers running */
	bool free_pending;
	struct log_ratelimit failure_log;
};

static void request_dispatch(struct imds_request *r);
static void token_send(struct imds_client *c);

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC +
	       (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Returns a seed for one backoff schedule (splitmix64 steps). */
static uint64_t next_seed(struct imds_client *c)
{
	uint64_t z = (c->seed += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void timer_arm(sd_event_source *timer, uint64_t usec)
{
	int r = sd_event_source_set_time(timer, usec);

	if (r >= 0)
		r = sd_event_source_set_enabled(timer, SD_EVENT_ONESHOT);
	if (r < 0)
		log_msg(LOG_ERR, "imds: failed to arm a timer, a request may "
			"stall: %s", strerror(-r));
}

static int timer_new(struct imds_client *c, sd_event_source **out,
		     sd_event_time_handler_t handler, void *userdata)
{
	int r;

	r = sd_event_add_time(c->event, out, CLOCK_MONOTONIC, 0,
			      TIMER_ACCURACY_USEC, handler, userdata);
	if (r < 0)
		return r;

	return sd_event_source_set_enabled(*out, SD_EVENT_OFF);
}

/* Event handlers run between client_enter and client_leave. */
static void client_destroy(struct imds_client *c);

static void client_enter(struct imds_client *c)
{
	c->busy++;
}

static void client_leave(struct imds_client *c)
{
	if (--c->busy == 0 && c->free_pending)
		client_destroy(c);
}

/* The finished queue: attempts libcurl is done with, not yet handled. */

static void finished_push(struct imds_client *c, struct attempt *a)
{
	a->queued = true;
	a->next_finished = NULL;
	if (c->finished_tail)
		c->finished_tail->next_finished = a;
	else
		c->finished_head = a;
	c->finished_tail = a;
}

static struct attempt *finished_pop(struct imds_client *c)
{
	struct attempt *a = c->finished_head;

	if (!a)
		return NULL;

	c->finished_head = a->next_finished;
	if (!c->finished_head)
		c->finished_tail = NULL;
	a->queued = false;
	return a;
}

static void finished_remove(struct imds_client *c, struct attempt *a)
{
	struct attempt *prev = NULL;

	for (struct attempt *i = c->finished_head; i; i = i->next_finished) {
		if (i != a) {
			prev = i;
			continue;
		}

		if (prev)
			prev->next_finished = a->next_finished;
		else
			c->finished_head = a->next_finished;
		if (c->finished_tail == a)
			c->finished_tail = prev;
		break;
	}

	a->queued = false;
}

/* Attempts */

/* Frees the attempt's handle and body, so the attempt can start again. */
static void attempt_reset(struct attempt *a)
{
	struct imds_client *c = a->client;
	struct imds_request *request = a->request;

	if (a->queued)
		finished_remove(c, a);
	if (a->in_multi)
		curl_multi_remove_handle(c->multi, a->transfer.easy);

	transfer_release(&a->transfer);
	*a = (struct attempt){ .client = c, .request = request };
}

/*
 * Starts an attempt to path below the current endpoint. Takes headers
 * (freed with the attempt, also on failure). Returns 0 or a negative
 * errno, and never calls back.
 */
static int attempt_start(struct attempt *a, const char *path,
			 struct curl_slist *headers, bool put,
			 uint64_t timeout_usec)
{
	struct imds_client *c = a->client;
	struct transfer_request request = {
		.user_agent = c->user_agent,
		.headers = headers,
		.put = put,
		.timeout_usec = timeout_usec,
		.private = a,
	};
	char *url;
	int r;

	attempt_reset(a);
	if (asprintf(&url, "%s%s", c->urls[c->endpoint], path) < 0) {
		curl_slist_free_all(headers);
		return -ENOMEM;
	}

	request.url = url;
	if (c->interface[0] && c->bindable[c->endpoint] &&
	    now_usec() >= c->unbound_until)
		request.interface = c->interface;
	r = transfer_prepare(&a->transfer, &request);
	free(url);
	if (r < 0)
		return r;

	a->transfer.token_reply = put;
	a->bound = request.interface != NULL;
	a->endpoint = c->endpoint;
	a->started = now_usec();
	if (curl_multi_add_handle(c->multi, a->transfer.easy) != CURLM_OK) {
		attempt_reset(a);
		return -ENOMEM;
	}

	a->in_multi = true;
	c->requests_sent++;
	return 0;
}

/* How long attempts go unbound after a bound one failed to connect. */
#define UNBOUND_USEC (30 * USEC_PER_SEC)

/*
 * Moves new attempts to the other endpoint when this one rejects them.
 * A bound attempt that failed to connect is first retried unbound.
 */
static void note_endpoint(struct imds_client *c, const struct attempt *a,
			  const struct outcome *o)
{
	unsigned endpoint = a->endpoint;
	unsigned other = 1 - endpoint;
	int level;

	if (o->connect_failed && a->bound) {
		log_msg(LOG_INFO, "imds: no connection through %s; trying "
				  "without binding to it", c->interface);
		c->unbound_until = now_usec() + UNBOUND_USEC;
		return;
	}

	if (!o->connect_failed || c->n_urls < 2 || endpoint != c->endpoint)
		return;

	c->endpoint = other;
	level = c->endpoint_logged[other] ? LOG_DEBUG : LOG_INFO;
	c->endpoint_logged[other] = true;
	log_msg(level, "imds: %s accepts no connection, switching to %s",
		c->urls[endpoint], c->urls[other]);
}

static void describe(int error, long status, char *buf, size_t size)
{
	struct imds_reply reply = {
		.result = IMDS_FAILED, .status = status, .error = error,
	};

	imds_reply_reason(&reply, buf, size);
}

/* Requests */

static bool client_has_waiters(const struct imds_client *c)
{
	for (const struct imds_request *r = c->requests; r; r = r->next) {
		if (r->state == REQUEST_WAITING_TOKEN)
			return true;
	}

	return false;
}

static void request_unlink(struct imds_request *r)
{
	struct imds_client *c = r->client;

	if (r->prev)
		r->prev->next = r->next;
	else if (c->requests == r)
		c->requests = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
}

static void request_free(struct imds_request *r)
{
	attempt_reset(&r->attempt);
	sd_event_source_unref(r->timer);
	free(r->path);
	free(r);
}

static void log_failure(struct imds_client *c, const struct imds_reply *reply)
{
	unsigned suppressed;
	char reason[128];

	if (!log_ratelimit_allow(&c->failure_log, now_usec(), &suppressed))
		return;

	if (suppressed > 0)
		log_msg(LOG_WARNING, "imds: %u similar failures not logged",
			suppressed);

	log_msg(LOG_WARNING, "imds: GET %s failed: %s", reply->path,
		imds_reply_reason(reply, reason, sizeof(reason)));
}

/* Calls back once and frees the request; takes body (may be NULL). */
static uint64_t path_hash(const char *path)
{
	uint64_t hash = 0xcbf29ce484222325ull; /* FNV-1a */

	for (const char *c = path; *c; c++)
		hash = (hash ^ (unsigned char)*c) * 0x100000001b3ull;

	return hash ? hash : 1;
}

static struct path_backoff *path_backoff_find(struct imds_client *c,
					      uint64_t hash)
{
	for (size_t i = 0; i < PATH_BACKOFF_SLOTS; i++) {
		if (c->failed_paths[i].hash == hash)
			return &c->failed_paths[i];
	}

	return NULL;
}

/* Stores a failed request's backoff under its path, or clears it. */
static void path_backoff_note(struct imds_request *r, enum imds_result result)
{
	struct imds_client *c = r->client;
	uint64_t hash = path_hash(r->path);
	struct path_backoff *slot = path_backoff_find(c, hash);
	uint64_t now = now_usec();

	if (result != IMDS_FAILED || r->backoff.attempt == 0) {
		if (slot)
			*slot = (struct path_backoff){0};
		return;
	}

	for (size_t i = 0; !slot && i < PATH_BACKOFF_SLOTS; i++) {
		struct path_backoff *candidate = &c->failed_paths[i];

		if (candidate->hash == 0 ||
		    candidate->resume_at + PATH_BACKOFF_KEEP_USEC < now)
			slot = candidate;
	}

	if (!slot)
		return;

	*slot = (struct path_backoff){
		.hash = hash,
		.attempt = r->backoff.attempt,
		.resume_at = now + backoff_next(&r->backoff),
	};
}

/*
 * Continues a failed path's backoff for a new request of it. Returns the
 * time its first attempt may go, or 0 for at once.
 */
static uint64_t path_backoff_resume(struct imds_request *r)
{
	struct path_backoff *slot;
	uint64_t now = now_usec();

	slot = path_backoff_find(r->client, path_hash(r->path));
	if (!slot || slot->resume_at + PATH_BACKOFF_KEEP_USEC < now)
		return 0;

	r->backoff.attempt = slot->attempt;
	return slot->resume_at > now ? slot->resume_at : 0;
}

static void request_complete(struct imds_request *r, enum imds_result result,
			     int error, long status, char *body, size_t length)
{
	struct imds_reply reply = {
		.result = result,
		.status = status,
		.error = result == IMDS_FAILED ? error : 0,
		.path = r->path,
		.body = body ? body : "",
		.length = body ? length : 0,
	};

	if (result == IMDS_FAILED)
		log_failure(r->client, &reply);

	path_backoff_note(r, result);
	request_unlink(r);
	attempt_reset(&r->attempt);
	sd_event_source_set_enabled(r->timer, SD_EVENT_OFF);
	r->state = REQUEST_COMPLETING;

	r->callback(&reply, r->userdata);

	free(body);
	request_free(r);
}

/* Completes the request from the event loop with error, soon. */
static void request_fail_later(struct imds_request *r, int error, long status)
{
	r->error = error;
	r->status = status;
	r->state = REQUEST_FAILING;
	timer_arm(r->timer, now_usec());
}

static void request_send(struct imds_request *r, uint64_t now)
{
	struct imds_client *c = r->client;
	struct curl_slist *headers = NULL;
	char *path;
	int err;

	if (c->token.mode == TOKEN_MODE_V2) {
		headers = transfer_header(TOKEN_HEADER, c->token.value);
		if (!headers) {
			request_fail_later(r, -ENOMEM, 0);
			return;
		}
	}

	if (asprintf(&path, META_DATA_PATH "%s", r->path) < 0) {
		curl_slist_free_all(headers);
		request_fail_later(r, -ENOMEM, 0);
		return;
	}

	err = attempt_start(&r->attempt, path, headers, false,
			     min_u64(c->timeout_usec, r->deadline - now));
	free(path);
	if (err < 0) {
		request_fail_later(r, err, 0);
		return;
	}

	r->attempt.token_generation =
		c->token.mode == TOKEN_MODE_V2 ? c->token.generation : 0;
	r->state = REQUEST_RUNNING;
	sd_event_source_set_enabled(r->timer, SD_EVENT_OFF);
}

static void request_wait_token(struct imds_request *r)
{
	r->state = REQUEST_WAITING_TOKEN;
	timer_arm(r->timer, r->deadline);
}

/* Token */

static void token_drop(struct imds_client *c)
{
	if (!c->token.value)
		return;

	explicit_bzero(c->token.value, strlen(c->token.value));
	free(c->token.value);
	c->token.value = NULL;
}

static enum token_availability token_availability(struct imds_client *c,
						  uint64_t now)
{
	if (c->token.mode == TOKEN_MODE_V1)
		return TOKEN_READY;
	if (c->token.value && now < c->token.expires_at)
		return TOKEN_READY;
	if (now < c->token.blocked_until)
		return TOKEN_BLOCKED;
	return TOKEN_WAIT;
}

/* Starts a token request unless one runs, waits to retry or is blocked. */
static void token_kick(struct imds_client *c, uint64_t now)
{
	if (c->token.fetching || c->token.retry_pending ||
	    now < c->token.blocked_until)
		return;

	token_send(c);
}

static void token_fail_waiters(struct imds_client *c, int error, long status)
{
	for (struct imds_request *r = c->requests; r; r = r->next) {
		if (r->state == REQUEST_WAITING_TOKEN)
			request_fail_later(r, error, status);
	}
}

static void token_release_waiters(struct imds_client *c)
{
	for (struct imds_request *r = c->requests; r; r = r->next) {
		if (r->state == REQUEST_WAITING_TOKEN)
			request_dispatch(r);
	}
}

static void token_send(struct imds_client *c)
{
	struct curl_slist *headers;
	char ttl[16];
	int r;

	snprintf(ttl, sizeof(ttl), "%u", c->token_ttl_sec);
	headers = transfer_header(TOKEN_TTL_HEADER, ttl);
	r = headers ? attempt_start(&c->token.attempt, TOKEN_PATH, headers,
				     true, c->timeout_usec)
		    : -ENOMEM;
	if (r < 0) {
		c->token.error = r;
		c->token.status = 0;
		token_fail_waiters(c, r, 0);
		return;
	}

	c->token.fetching = true;
}

/* Fails the waiting requests and pauses token requests for a while. */
static uint64_t token_block(struct imds_client *c, int error, long status)
{
	uint64_t delay = backoff_next(&c->token.block_backoff);

	c->token.blocked_until = now_usec() + delay;
	c->token.error = error;
	c->token.status = status;
	token_fail_waiters(c, error, status);
	return delay;
}

static int token_error(const struct outcome *o)
{
	if (o->http && o->status == 403)
		return -EACCES;
	if (o->http && o->status == 400)
		return -EINVAL;
	return o->error;
}

static const char *token_hint(int error)
{
	if (error == -EACCES)
		return " (IMDS disabled or access forbidden)";
	if (error == -EINVAL)
		return " (enid sent an invalid token request: a bug)";
	if (error == -EBADMSG)
		return " (the reply is not a valid token)";
	return "";
}

static void token_rejected(struct imds_client *c, int error, long status)
{
	uint64_t delay = token_block(c, error, status);
	char reason[128];

	if (status != 0 && status != 200)
		snprintf(reason, sizeof(reason), "HTTP %ld", status);
	else
		describe(error, status, reason, sizeof(reason));
	log_msg(LOG_WARNING,
		"imds: token request failed: %s%s; next attempt in %llu s",
		reason, token_hint(error),
		(unsigned long long)(delay / USEC_PER_SEC));
}

/* 404 or 405 on the token request: the endpoint has no IMDSv2. */
static void token_unsupported(struct imds_client *c, long status)
{
	bool logged = c->token.unsupported_logged;

	c->token.unsupported_logged = true;
	if (c->v1_fallback) {
		if (!logged)
			log_msg(LOG_INFO, "imds: token request returned HTTP "
				"%ld: no IMDSv2, using IMDSv1 GETs", status);
		c->token.mode = TOKEN_MODE_V1;
		token_release_waiters(c);
		return;
	}

	if (!logged)
		log_msg(LOG_WARNING, "imds: token request returned HTTP %ld: "
			"no IMDSv2, and the IMDSv1 fallback is off; "
			"metadata requests fail", status);
	token_block(c, -EOPNOTSUPP, status);
}

static void token_retry(struct imds_client *c, const struct outcome *o)
{
	uint64_t delay = backoff_next(&c->token.backoff);
	char reason[128];

	describe(o->error, o->status, reason, sizeof(reason));
	log_msg(LOG_DEBUG, "imds: token request failed: %s, retry in %llu ms",
		reason, (unsigned long long)(delay / USEC_PER_MSEC));

	/* Without waiters the timer only spaces out later attempts. */
	c->token.retry_pending = true;
	timer_arm(c->token.retry_timer, now_usec() + delay);
}

/* Returns a copy of a token body: visible ASCII, one optional newline. */
static char *token_from_body(const char *body, size_t length)
{
	if (length > 0 && body[length - 1] == '\n')
		length--;
	if (length > 0 && body[length - 1] == '\r')
		length--;

	if (length == 0 || length > TOKEN_MAX_LENGTH)
		return NULL;

	for (size_t i = 0; i < length; i++) {
		if (body[i] <= ' ' || body[i] >= 0x7f)
			return NULL;
	}

	return strndup(body, length);
}

/*
 * Renews at 80 % of the lifetime, or earlier so that a request started
 * just before the renewal still ends before the token expires.
 */
static void token_set_lifetime(struct imds_client *c, uint64_t start,
			       uint32_t ttl_sec)
{
	uint64_t lifetime = ttl_sec * USEC_PER_SEC;
	uint64_t renew = lifetime / 5 * 4;

	if (lifetime > c->timeout_usec)
		renew = min_u64(renew, lifetime - c->timeout_usec);
	else
		renew = 0;

	c->token.expires_at = start + lifetime;
	c->token.refresh_at = start + renew;
}

/* Stores a new token (value may be NULL: an invalid reply). */
static void token_accept(struct imds_client *c, char *value, uint64_t start,
			 uint32_t granted_ttl)
{
	uint32_t ttl = c->token_ttl_sec;

	if (!value) {
		token_rejected(c, -EBADMSG, 200);
		return;
	}

	if (granted_ttl > 0 && granted_ttl < ttl)
		ttl = granted_ttl;

	token_drop(c);
	c->token.value = value;
	c->token.generation++;
	token_set_lifetime(c, start, ttl);
	c->token.mode = TOKEN_MODE_V2;
	c->token.blocked_until = 0;
	backoff_reset(&c->token.backoff);
	backoff_reset(&c->token.block_backoff);

	log_msg(LOG_DEBUG, "imds: new session token, valid for %u s", ttl);
	token_release_waiters(c);
}

static void token_finished(struct imds_client *c)
{
	struct attempt *a = &c->token.attempt;
	uint32_t granted_ttl = a->transfer.granted_ttl;
	uint64_t start = a->started;
	const char *body = a->transfer.body ? a->transfer.body : "";
	char *value = NULL;
	struct outcome o;

	c->token.fetching = false;
	transfer_outcome(&a->transfer, &o);
	note_endpoint(c, a, &o);
	if (o.error == 0)
		value = token_from_body(body, a->transfer.length);

	/* Released waiters may start the next token request on a. */
	attempt_reset(a);
	c->token.error = o.error;
	c->token.status = o.status;

	if (o.error == 0)
		token_accept(c, value, start, granted_ttl);
	else if (o.http && (o.status == 404 || o.status == 405))
		token_unsupported(c, o.status);
	else if (o.retry)
		token_retry(c, &o);
	else
		token_rejected(c, token_error(&o), o.status);
}

static int on_token_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct imds_client *c = userdata;

	client_enter(c);
	c->token.retry_pending = false;
	if (client_has_waiters(c))
		token_send(c);
	client_leave(c);
	return 0;
}

/* Request flow */

static void request_dispatch(struct imds_request *r)
{
	struct imds_client *c = r->client;
	uint64_t now = now_usec();
	enum token_availability availability;

	if (now >= r->deadline) {
		request_fail_later(r, r->error ? r->error : -ETIMEDOUT,
				   r->status);
		return;
	}

	availability = token_availability(c, now);
	switch (availability) {
	case TOKEN_READY:
		if (c->token.mode == TOKEN_MODE_V2 &&
		    now >= c->token.refresh_at)
			token_kick(c, now);
		request_send(r, now);
		break;
	case TOKEN_WAIT:
		request_wait_token(r);
		token_kick(c, now);
		break;
	case TOKEN_BLOCKED:
		request_fail_later(r, c->token.error, c->token.status);
		break;
	}
}

static void request_retry(struct imds_request *r, const struct outcome *o)
{
	uint64_t now = now_usec();
	uint64_t delay = backoff_next(&r->backoff);
	char reason[128];

	if (now + delay >= r->deadline) {
		request_complete(r, IMDS_FAILED, o->error, o->status, NULL, 0);
		return;
	}

	describe(o->error, o->status, reason, sizeof(reason));
	log_msg(LOG_DEBUG, "imds: GET %s: %s, retry in %llu ms", r->path,
		reason, (unsigned long long)(delay / USEC_PER_MSEC));

	r->state = REQUEST_BACKOFF;
	timer_arm(r->timer, now + delay);
}

/* 401: the token expired or tokens became required; one new try. */
static void request_reauthorize(struct imds_request *r, uint64_t generation)
{
	struct imds_client *c = r->client;

	if (r->token_retried) {
		request_complete(r, IMDS_FAILED, -EIO, 401, NULL, 0);
		return;
	}

	r->token_retried = true;
	if (c->token.mode == TOKEN_MODE_V1) {
		log_msg(LOG_INFO, "imds: a GET without a token returned "
			"HTTP 401; using IMDSv2 tokens again");
		c->token.mode = TOKEN_MODE_V2;
	} else if (generation == c->token.generation) {
		log_msg(LOG_DEBUG, "imds: GET %s returned HTTP 401, renewing "
			"the token", r->path);
		token_drop(c);
	}

	request_dispatch(r);
}

static void request_attempt_finished(struct imds_request *r)
{
	struct attempt *a = &r->attempt;
	uint64_t generation = a->token_generation;
	size_t length = a->transfer.length;
	char *body = a->transfer.body;
	struct outcome o;

	transfer_outcome(&a->transfer, &o);
	note_endpoint(r->client, a, &o);
	r->error = o.error;
	r->status = o.status;

	/* The reply keeps the body; the attempt lets go of it. */
	a->transfer.body = NULL;
	attempt_reset(a);

	if (o.error == 0) {
		request_complete(r, IMDS_OK, 0, o.status, body, length);
		return;
	}

	free(body);
	if (o.http && o.status == 404)
		request_complete(r, IMDS_NOT_FOUND, 0, o.status, NULL, 0);
	else if (o.http && o.status == 401)
		request_reauthorize(r, generation);
	else if (o.retry)
		request_retry(r, &o);
	else
		request_complete(r, IMDS_FAILED, o.error, o.status, NULL, 0);
}

static int on_request_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct imds_request *r = userdata;
	struct imds_client *c = r->client;

	client_enter(c);
	switch (r->state) {
	case REQUEST_WAITING_TOKEN:
		request_complete(r, IMDS_FAILED,
				 c->token.error ? c->token.error : -ETIMEDOUT,
				 c->token.status, NULL, 0);
		break;
	case REQUEST_BACKOFF:
		request_dispatch(r);
		break;
	case REQUEST_FAILING:
		request_complete(r, IMDS_FAILED, r->error, r->status, NULL, 0);
		break;
	case REQUEST_RUNNING:
	case REQUEST_COMPLETING:
		break;
	}
	client_leave(c);
	return 0;
}

/* libcurl glue */

static void collect_finished(struct imds_client *c)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(c->multi, &left))) {
		CURL *easy = msg->easy_handle;
		CURLcode result = msg->data.result;
		char *private = NULL;
		struct attempt *a;

		if (msg->msg != CURLMSG_DONE)
			continue;

		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &private);
		a = (struct attempt *)private;

		/* msg is invalid once the handle is removed. */
		curl_multi_remove_handle(c->multi, easy);
		a->in_multi = false;
		a->transfer.result = result;
		finished_push(c, a);
	}
}

static void process_finished(struct imds_client *c)
{
	struct attempt *a;

	collect_finished(c);
	while (!c->free_pending && (a = finished_pop(c))) {
		if (a->request)
			request_attempt_finished(a->request);
		else
			token_finished(c);
	}
}

static void socket_action(struct imds_client *c, curl_socket_t fd, int events)
{
	int running;

	client_enter(c);
	if (curl_multi_socket_action(c->multi, fd, events, &running) !=
	    CURLM_OK)
		log_msg(LOG_DEBUG, "imds: curl_multi_socket_action failed");
	process_finished(c);
	client_leave(c);
}

static int on_socket_ready(sd_event_source *s, int fd, uint32_t revents,
			   void *userdata)
{
	struct socket_watch *w = userdata;
	int events = 0;

	if (revents & (EPOLLIN | EPOLLHUP))
		events |= CURL_CSELECT_IN;
	if (revents & EPOLLOUT)
		events |= CURL_CSELECT_OUT;
	if (revents & EPOLLERR)
		events |= CURL_CSELECT_ERR;

	/* The action may remove this watch; w is not used afterwards. */
	socket_action(w->client, fd, events);
	return 0;
}

static int on_curl_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	socket_action(userdata, CURL_SOCKET_TIMEOUT, 0);
	return 0;
}

static void watch_free(struct imds_client *c, struct socket_watch *w)
{
	if (!w)
		return;

	if (w->prev)
		w->prev->next = w->next;
	else
		c->watches = w->next;
	if (w->next)
		w->next->prev = w->prev;

	sd_event_source_unref(w->source);
	free(w);
}

static uint32_t epoll_events(int what)
{
	if (what == CURL_POLL_IN)
		return EPOLLIN;
	if (what == CURL_POLL_OUT)
		return EPOLLOUT;
	return EPOLLIN | EPOLLOUT;
}

static struct socket_watch *watch_new(struct imds_client *c,
				      curl_socket_t fd, uint32_t events)
{
	struct socket_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;

	if (sd_event_add_io(c->event, &w->source, fd, events, on_socket_ready,
			    w) < 0) {
		free(w);
		return NULL;
	}

	w->client = c;
	w->next = c->watches;
	if (c->watches)
		c->watches->prev = w;
	c->watches = w;
	return w;
}

/* CURLMOPT_SOCKETFUNCTION: adds, changes or removes one io source. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what,
			  void *userp, void *socketp)
{
	struct imds_client *c = userp;
	struct socket_watch *w = socketp;

	if (what == CURL_POLL_REMOVE) {
		watch_free(c, w);
		return 0;
	}

	if (w)
		return sd_event_source_set_io_events(w->source,
						     epoll_events(what)) < 0
			       ? -1 : 0;

	w = watch_new(c, fd, epoll_events(what));
	if (!w)
		return -1;

	curl_multi_assign(c->multi, fd, w);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: -1 disables the timer, 0 means at once. */
static int on_curl_timer(CURLM *multi, long timeout, void *userp)
{
	struct imds_client *c = userp;

	if (timeout < 0)
		return sd_event_source_set_enabled(c->curl_timer,
						   SD_EVENT_OFF) < 0 ? -1 : 0;

	timer_arm(c->curl_timer,
		  now_usec() + (uint64_t)timeout * USEC_PER_MSEC);
	return 0;
}

/* Client */

static int multi_setup(struct imds_client *c)
{
	CURLMcode results[] = {
		curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION,
				  on_curl_socket),
		curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c),
		curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION,
				  on_curl_timer),
		curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c),
		curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
				  MAX_HOST_CONNECTIONS),
		curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS,
				  MAX_HOST_CONNECTIONS),
	};

	for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
		if (results[i] != CURLM_OK)
			return -EINVAL;
	}

	return 0;
}

/* Returns true when the URL's host is link-local (169.254.0.0/16,
 * fe80::/10) or in the EC2 IPv6 service prefix fd00:ec2::/32. */
static bool url_bindable(const char *url)
{
	const char *host = strstr(url, "://");
	char text[INET6_ADDRSTRLEN];
	struct in6_addr in6;
	struct in_addr in;
	size_t length;

	if (!host)
		return false;
	host += 3;

	if (*host == '[') {
		host++;
		length = strcspn(host, "]");
	} else {
		length = strcspn(host, ":/");
	}

	if (length == 0 || length >= sizeof(text))
		return false;
	memcpy(text, host, length);
	text[length] = '\0';

	if (inet_pton(AF_INET, text, &in) == 1)
		return (ntohl(in.s_addr) & 0xffff0000) == 0xa9fe0000;
	if (inet_pton(AF_INET6, text, &in6) == 1)
		return (in6.s6_addr[0] == 0xfe && (in6.s6_addr[1] & 0xc0) == 0x80) ||
		       (in6.s6_addr[0] == 0xfd && in6.s6_addr[1] == 0x00 &&
			in6.s6_addr[2] == 0x0e && in6.s6_addr[3] == 0xc2);
	return false;
}

int imds_client_set_interface(struct imds_client *client, const char *ifname)
{
	if (ifname && strlen(ifname) >= sizeof(client->interface))
		return -EINVAL;

	if (strcmp(client->interface, ifname ? ifname : "") == 0)
		return 0;

	snprintf(client->interface, sizeof(client->interface), "%s",
		 ifname ? ifname : "");
	client->unbound_until = 0;
	if (ifname && (client->bindable[0] || client->bindable[1]))
		log_msg(LOG_DEBUG, "imds: requests bound to %s", ifname);
	return 0;
}

/* Copies a base URL without its trailing '/'. */
static char *base_url(const char *url)
{
	size_t length = strlen(url);

	while (length > 0 && url[length - 1] == '/')
		length--;

	return strndup(url, length);
}

static int client_copy_options(struct imds_client *c,
			       const struct imds_options *o)
{
	c->urls[0] = base_url(o->url);
	c->n_urls = 1;
	if (o->url_ipv6 && o->url_ipv6[0] != '\0') {
		c->urls[1] = base_url(o->url_ipv6);
		c->n_urls = 2;
	}

	c->bindable[0] = url_bindable(c->urls[0] ? c->urls[0] : "");
	c->bindable[1] = c->n_urls == 2 && c->urls[1] &&
			 url_bindable(c->urls[1]);
	c->user_agent = strdup(o->user_agent ? o->user_agent
					     : "enid/" ENID_VERSION);
	if (!c->urls[0] || (c->n_urls == 2 && !c->urls[1]) || !c->user_agent)
		return -ENOMEM;

	c->v1_fallback = o->v1_fallback;
	c->timeout_usec = o->timeout_usec;
	c->deadline_usec = o->deadline_usec;
	c->token_ttl_sec = o->token_ttl_sec;
	return 0;
}

static bool options_valid(const struct imds_options *o)
{
	return o->url && o->url[0] != '\0' && o->timeout_usec > 0 &&
	       o->token_ttl_sec >= 1 && o->token_ttl_sec <= TOKEN_TTL_MAX;
}

static void client_seed(struct imds_client *c)
{
	if (getrandom(&c->seed, sizeof(c->seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(c->seed))
		c->seed = now_usec() ^ (uint64_t)(uintptr_t)c;

	backoff_init(&c->token.backoff, RETRY_INITIAL_USEC, RETRY_MAX_USEC,
		     RETRY_JITTER_PERCENT, next_seed(c));
	backoff_init(&c->token.block_backoff, TOKEN_BLOCK_INITIAL_USEC,
		     TOKEN_BLOCK_MAX_USEC, RETRY_JITTER_PERCENT, next_seed(c));
}

static int client_init(struct imds_client *c, sd_event *event,
		       const struct imds_options *options)
{
	int r;

	c->event = sd_event_ref(event);
	c->token.attempt.client = c;
	c->failure_log.interval_usec = 60 * USEC_PER_SEC;
	c->failure_log.burst = 10;
	client_seed(c);

	r = client_copy_options(c, options);
	if (r < 0)
		return r;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -ENOMEM;
	c->curl_initialized = true;

	c->multi = curl_multi_init();
	if (!c->multi)
		return -ENOMEM;

	r = multi_setup(c);
	if (r < 0)
		return r;

	r = timer_new(c, &c->curl_timer, on_curl_timeout, c);
	if (r < 0)
		return r;

	return timer_new(c, &c->token.retry_timer, on_token_retry, c);
}

int imds_client_new(struct imds_client **out, sd_event *event,
		    const struct imds_options *options)
{
	struct imds_client *c;
	int r;

	if (!options_valid(options))
		return -EINVAL;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;

	r = client_init(c, event, options);
	if (r < 0) {
		client_destroy(c);
		return r;
	}

	*out = c;
	return 0;
}

static void client_cancel_all(struct imds_client *c)
{
	while (c->requests) {
		struct imds_request *r = c->requests;

		request_unlink(r);
		request_free(r);
	}

	attempt_reset(&c->token.attempt);
	c->token.fetching = false;
}

static void client_destroy(struct imds_client *c)
{
	client_cancel_all(c);
	token_drop(c);
	sd_event_source_unref(c->token.retry_timer);

	/* Closing cached connections may still call on_curl_socket. */
	if (c->multi)
		curl_multi_cleanup(c->multi);
	while (c->watches)
		watch_free(c, c->watches);
	sd_event_source_unref(c->curl_timer);

	if (c->curl_initialized)
		curl_global_cleanup();
	sd_event_unref(c->event);
	free(c->urls[0]);
	free(c->urls[1]);
	free(c->user_agent);
	free(c);
}

void imds_client_free(struct imds_client *client)
{
	if (!client)
		return;

	/* Inside a callback: cancel now, free when the handler returns. */
	if (client->busy > 0) {
		client_cancel_all(client);
		client->free_pending = true;
		return;
	}

	client_destroy(client);
}

/* Paths are built by enid; anything outside this set is a bug. */
static bool path_valid(const char *path)
{
	static const char allowed[] = "abcdefghijklmnopqrstuvwxyz"
				      "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				      "0123456789-._:/";

	return path[strspn(path, allowed)] == '\0' && path[0] != '/' &&
	       !strstr(path, "..");
}

struct imds_request *imds_get(struct imds_client *client, const char *path,
			      imds_callback callback, void *userdata)
{
	struct imds_request *r = calloc(1, sizeof(*r));
	uint64_t resume_at;

	if (!r)
		return NULL;

	r->client = client;
	r->callback = callback;
	r->userdata = userdata;
	r->attempt = (struct attempt){ .client = client, .request = r };
	r->path = strdup(path);
	if (!r->path ||
	    timer_new(client, &r->timer, on_request_timer, r) < 0) {
		request_free(r);
		return NULL;
	}

	backoff_init(&r->backoff, RETRY_INITIAL_USEC, RETRY_MAX_USEC,
		     RETRY_JITTER_PERCENT, next_seed(client));
	r->deadline = now_usec() + client->deadline_usec;

	r->next = client->requests;
	if (client->requests)
		client->requests->prev = r;
	client->requests = r;

	resume_at = path_valid(path) ? path_backoff_resume(r) : 0;
	if (!path_valid(path)) {
		request_fail_later(r, -EINVAL, 0);
	} else if (resume_at) {
		/* The path failed recently: wait out its backoff first. */
		r->state = REQUEST_BACKOFF;
		if (r->deadline < resume_at + client->deadline_usec)
			r->deadline = resume_at + client->deadline_usec;
		timer_arm(r->timer, resume_at);
	} else {
		request_dispatch(r);
	}
	return r;
}

void imds_cancel(struct imds_request *request)
{
	if (!request || request->state == REQUEST_COMPLETING)
		return;

	request_unlink(request);
	request_free(request);
}

uint64_t imds_requests_sent(const struct imds_client *client)
{
	return client->requests_sent;
}
