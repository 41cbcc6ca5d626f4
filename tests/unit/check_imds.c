/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the metadata client and the ENI fetch against a scripted
 * HTTP server on 127.0.0.1 that runs in a thread of the test. Each script
 * rule replies to one method and path with a list of responses (the last
 * one repeats); the server records every request it receives, so a test
 * checks both what the client returned and what it sent. Every wait in
 * the event loop is bounded.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "imds/fetch.h"
#include "imds/imds.h"

#define MSEC 1000ull
#define SEC 1000000ull

#define TOKEN_PATH "/latest/api/token"
#define MD "/latest/meta-data/"
#define MAC_DIR MD "network/interfaces/macs/02:ab:cd:00:00:02/"

/* Scripted server */

#define MOCK_RULES 32
#define MOCK_RESPONSES 8
#define MOCK_LOG 256
#define MOCK_CONNECTIONS 32
#define MOCK_BUFFER 8192

enum mock_action {
	MOCK_REPLY,
	MOCK_HANG,	/* read the request, never answer */
	MOCK_CLOSE,	/* close the connection without an answer */
	MOCK_LONG_HEADER, /* a reply with a header line over the cap */
};

struct mock_response {
	enum mock_action action;
	int status;
	char *body;
	size_t length;
};

struct mock_rule {
	char method[8];
	char path[256];
	struct mock_response responses[MOCK_RESPONSES];
	unsigned count;
	unsigned next;
};

struct mock_request {
	char method[8];
	char target[512];
	char headers[4096];
};

struct mock_connection {
	int fd;
	char buffer[MOCK_BUFFER];
	size_t used;
	bool hung;
};

struct mock {
	int listen_fd;
	int port;
	int wake[2];
	pthread_t thread;
	pthread_mutex_t lock;
	struct mock_rule rules[MOCK_RULES];
	unsigned n_rules;
	struct mock_request log[MOCK_LOG];
	unsigned n_log;
	struct mock_connection connections[MOCK_CONNECTIONS];
	unsigned accepted;		/* connections accepted so far */
	unsigned open_max;		/* most connections open at once */
};

static struct mock mock;

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec / 1000;
}

static struct mock_rule *mock_rule(const char *method, const char *path)
{
	for (unsigned i = 0; i < mock.n_rules; i++) {
		struct mock_rule *rule = &mock.rules[i];

		if (strcmp(rule->method, method) == 0 &&
		    strcmp(rule->path, path) == 0)
			return rule;
	}

	return NULL;
}

/* Appends a response to the rule of method and path. */
static void mock_add(const char *method, const char *path,
		     enum mock_action action, int status, const char *body,
		     size_t length)
{
	struct mock_rule *rule;
	struct mock_response *response;

	pthread_mutex_lock(&mock.lock);
	rule = mock_rule(method, path);
	if (!rule) {
		ck_assert_uint_lt(mock.n_rules, MOCK_RULES);
		rule = &mock.rules[mock.n_rules++];
		snprintf(rule->method, sizeof(rule->method), "%s", method);
		snprintf(rule->path, sizeof(rule->path), "%s", path);
	}

	ck_assert_uint_lt(rule->count, MOCK_RESPONSES);
	response = &rule->responses[rule->count++];
	response->action = action;
	response->status = status;
	response->body = malloc(length + 1);
	ck_assert_ptr_nonnull(response->body);
	memcpy(response->body, body, length);
	response->length = length;
	pthread_mutex_unlock(&mock.lock);
}

static void mock_reply(const char *method, const char *path, int status,
		       const char *body)
{
	mock_add(method, path, MOCK_REPLY, status, body, strlen(body));
}

static void mock_get(const char *path, int status, const char *body)
{
	mock_reply("GET", path, status, body);
}

static void mock_token(int status, const char *body)
{
	mock_reply("PUT", TOKEN_PATH, status, body);
}

/* Copies the next response of the rule, or a 404 when none matches. */
static struct mock_response mock_next(const char *method, const char *path)
{
	struct mock_response response = { MOCK_REPLY, 404, NULL, 0 };
	struct mock_rule *rule;

	pthread_mutex_lock(&mock.lock);
	rule = mock_rule(method, path);
	if (rule && rule->count > 0) {
		response = rule->responses[rule->next];
		if (rule->next + 1 < rule->count)
			rule->next++;
	}
	pthread_mutex_unlock(&mock.lock);
	return response;
}

static void send_all(int fd, const char *data, size_t length)
{
	while (length > 0) {
		ssize_t n = send(fd, data, length, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		data += n;
		length -= (size_t)n;
	}
}

static void mock_send(int fd, const struct mock_response *response)
{
	char padding[IMDS_MAX_HEADER_LINE + 1];
	char head[2 * IMDS_MAX_HEADER_LINE];
	bool long_header = response->action == MOCK_LONG_HEADER;
	int n;

	memset(padding, 'x', sizeof(padding) - 1);
	padding[sizeof(padding) - 1] = '\0';
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d Scripted\r\n"
		     "Content-Type: text/plain\r\n"
		     "Content-Length: %zu\r\n"
		     "X-aws-ec2-metadata-token-ttl-seconds: 21600\r\n"
		     "X-Padding: %s\r\n"
		     "\r\n",
		     response->status, response->length,
		     long_header ? padding : "none");
	send_all(fd, head, (size_t)n);
	send_all(fd, response->body ? response->body : "", response->length);
}

static void mock_close(struct mock_connection *c)
{
	close(c->fd);
	c->fd = -1;
	c->used = 0;
	c->hung = false;
}

/* Records one request of head_length bytes and replies to it. */
static void mock_handle(struct mock_connection *c, size_t head_length)
{
	struct mock_request request = { "", "", "" };
	struct mock_response response;
	char *line_end = strstr(c->buffer, "\r\n");
	size_t header_length;

	sscanf(c->buffer, "%7s %511s", request.method, request.target);
	header_length = head_length - (size_t)(line_end + 2 - c->buffer);
	if (header_length >= sizeof(request.headers))
		header_length = sizeof(request.headers) - 1;
	memcpy(request.headers, line_end + 2, header_length);

	pthread_mutex_lock(&mock.lock);
	if (mock.n_log < MOCK_LOG)
		mock.log[mock.n_log++] = request;
	pthread_mutex_unlock(&mock.lock);

	response = mock_next(request.method, request.target);
	if (response.action == MOCK_HANG)
		c->hung = true;
	else if (response.action == MOCK_CLOSE)
		mock_close(c);
	else
		mock_send(c->fd, &response);
}

static void mock_read(struct mock_connection *c)
{
	ssize_t n = read(c->fd, c->buffer + c->used,
			 sizeof(c->buffer) - c->used - 1);
	char *end;

	if (n <= 0) {
		mock_close(c);
		return;
	}

	c->used += (size_t)n;
	c->buffer[c->used] = '\0';
	while (c->fd >= 0 && !c->hung &&
	       (end = strstr(c->buffer, "\r\n\r\n"))) {
		size_t length = (size_t)(end + 4 - c->buffer);

		mock_handle(c, length);
		if (c->fd < 0)
			return;
		memmove(c->buffer, c->buffer + length, c->used - length + 1);
		c->used -= length;
	}

	if (c->hung || c->used + 1 >= sizeof(c->buffer))
		c->used = 0;
}

static void mock_note_open(void)
{
	unsigned open = 0;

	for (int i = 0; i < MOCK_CONNECTIONS; i++)
		open += mock.connections[i].fd >= 0;

	pthread_mutex_lock(&mock.lock);
	mock.accepted++;
	if (open > mock.open_max)
		mock.open_max = open;
	pthread_mutex_unlock(&mock.lock);
}

static void mock_accept(void)
{
	struct timeval timeout = { .tv_sec = 2 };
	int fd = accept(mock.listen_fd, NULL, NULL);

	if (fd < 0)
		return;

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
	for (int i = 0; i < MOCK_CONNECTIONS; i++) {
		if (mock.connections[i].fd < 0) {
			mock.connections[i].fd = fd;
			mock_note_open();
			return;
		}
	}

	close(fd);
}

static void *mock_main(void *arg)
{
	for (;;) {
		struct pollfd fds[2 + MOCK_CONNECTIONS];
		int owner[2 + MOCK_CONNECTIONS];
		nfds_t n = 2;

		fds[0] = (struct pollfd){ mock.wake[0], POLLIN, 0 };
		fds[1] = (struct pollfd){ mock.listen_fd, POLLIN, 0 };
		for (int i = 0; i < MOCK_CONNECTIONS; i++) {
			if (mock.connections[i].fd < 0)
				continue;
			owner[n] = i;
			fds[n++] = (struct pollfd){
				.fd = mock.connections[i].fd, .events = POLLIN,
			};
		}

		if (poll(fds, n, 1000) < 0)
			continue;
		if (fds[0].revents)
			break;
		if (fds[1].revents)
			mock_accept();
		for (nfds_t i = 2; i < n; i++) {
			if (fds[i].revents)
				mock_read(&mock.connections[owner[i]]);
		}
	}

	return NULL;
}

static int listen_loopback(int backlog)
{
	struct sockaddr_in address = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&address,
			      sizeof(address)), 0);
	if (backlog > 0)
		ck_assert_int_eq(listen(fd, backlog), 0);
	return fd;
}

static int socket_port(int fd)
{
	struct sockaddr_in address;
	socklen_t length = sizeof(address);

	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&address, &length),
			 0);
	return ntohs(address.sin_port);
}

static void mock_start(void)
{
	memset(&mock, 0, sizeof(mock));
	pthread_mutex_init(&mock.lock, NULL);
	for (int i = 0; i < MOCK_CONNECTIONS; i++)
		mock.connections[i].fd = -1;

	mock.listen_fd = listen_loopback(64);
	mock.port = socket_port(mock.listen_fd);
	ck_assert_int_eq(pipe(mock.wake), 0);
	ck_assert_int_eq(pthread_create(&mock.thread, NULL, mock_main, NULL),
			 0);
}

static void mock_stop(void)
{
	ck_assert_int_eq(write(mock.wake[1], "x", 1), 1);
	pthread_join(mock.thread, NULL);

	for (int i = 0; i < MOCK_CONNECTIONS; i++) {
		if (mock.connections[i].fd >= 0)
			close(mock.connections[i].fd);
	}
	for (unsigned i = 0; i < mock.n_rules; i++) {
		for (unsigned j = 0; j < mock.rules[i].count; j++)
			free(mock.rules[i].responses[j].body);
	}

	close(mock.listen_fd);
	close(mock.wake[0]);
	close(mock.wake[1]);
}

static unsigned mock_count(const char *method, const char *target)
{
	unsigned count = 0;

	pthread_mutex_lock(&mock.lock);
	for (unsigned i = 0; i < mock.n_log; i++) {
		if (strcmp(mock.log[i].method, method) == 0 &&
		    strcmp(mock.log[i].target, target) == 0)
			count++;
	}
	pthread_mutex_unlock(&mock.lock);
	return count;
}

static unsigned mock_accepted(void)
{
	unsigned n;

	pthread_mutex_lock(&mock.lock);
	n = mock.accepted;
	pthread_mutex_unlock(&mock.lock);
	return n;
}

static unsigned mock_open_max(void)
{
	unsigned n;

	pthread_mutex_lock(&mock.lock);
	n = mock.open_max;
	pthread_mutex_unlock(&mock.lock);
	return n;
}

static unsigned mock_total(void)
{
	unsigned n;

	pthread_mutex_lock(&mock.lock);
	n = mock.n_log;
	pthread_mutex_unlock(&mock.lock);
	return n;
}

/* Copies request i of the log; fails the test when there is none. */
static struct mock_request mock_request(unsigned i)
{
	struct mock_request request;

	pthread_mutex_lock(&mock.lock);
	ck_assert_uint_lt(i, mock.n_log);
	request = mock.log[i];
	pthread_mutex_unlock(&mock.lock);
	return request;
}

/* Returns the value of header name in request r ("" when absent). */
static const char *header_value(const struct mock_request *r,
				const char *name, char *buf, size_t size)
{
	size_t name_length = strlen(name);

	buf[0] = '\0';
	for (const char *line = r->headers; *line;) {
		const char *end = strstr(line, "\r\n");
		size_t length = end ? (size_t)(end - line) : strlen(line);

		if (length > name_length && line[name_length] == ':' &&
		    strncasecmp(line, name, name_length) == 0) {
			const char *value = line + name_length + 1;

			while (*value == ' ')
				value++;
			snprintf(buf, size, "%.*s",
				 (int)(length - (size_t)(value - line)), value);
			return buf;
		}

		line += length + (end ? 2 : 0);
	}

	return buf;
}

static bool has_header(const struct mock_request *r, const char *name)
{
	size_t name_length = strlen(name);

	for (const char *line = r->headers; *line;) {
		const char *end = strstr(line, "\r\n");

		if (strncasecmp(line, name, name_length) == 0 &&
		    line[name_length] == ':')
			return true;
		if (!end)
			break;
		line = end + 2;
	}

	return false;
}

/* Client harness */

struct reply_record {
	enum imds_result result;
	long status;
	int error;
	char path[256];
	char *body;
	size_t length;
};

static sd_event *event;
static struct imds_client *client;
static struct imds_options options;
static char mock_url[64];
static struct reply_record replies[32];
static int n_replies;

static void on_reply(const struct imds_reply *reply, void *userdata)
{
	struct reply_record *r;

	ck_assert_int_lt(n_replies, 32);
	r = &replies[n_replies++];
	r->result = reply->result;
	r->status = reply->status;
	r->error = reply->error;
	snprintf(r->path, sizeof(r->path), "%s", reply->path);
	r->length = reply->length;
	r->body = malloc(reply->length + 1);
	ck_assert_ptr_nonnull(r->body);
	memcpy(r->body, reply->body, reply->length + 1);
}

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (getenv("ENID_TEST_DEBUG"))
		log_setup(LOG_DEBUG, false);

	mock_start();
	snprintf(mock_url, sizeof(mock_url), "http://127.0.0.1:%d", mock.port);
	ck_assert_int_ge(sd_event_new(&event), 0);

	options = (struct imds_options){
		.url = mock_url,
		.timeout_usec = 300 * MSEC,
		.deadline_usec = 2 * SEC,
		.token_ttl_sec = 21600,
		.user_agent = "enid/test",
	};
	n_replies = 0;
}

static void teardown(void)
{
	imds_client_free(client);
	client = NULL;
	sd_event_unref(event);
	mock_stop();
	for (int i = 0; i < n_replies; i++)
		free(replies[i].body);
}

static void client_start(void)
{
	ck_assert_int_eq(imds_client_new(&client, event, &options), 0);
}

/* Runs the loop until want replies arrived or max_usec passed. */
static bool run_until_replies(int want, uint64_t max_usec)
{
	uint64_t end = now_usec() + max_usec;

	while (n_replies < want && now_usec() < end)
		ck_assert_int_ge(sd_event_run(event, 20 * MSEC), 0);
	return n_replies >= want;
}

static void run_for(uint64_t usec)
{
	uint64_t end = now_usec() + usec;

	while (now_usec() < end)
		ck_assert_int_ge(sd_event_run(event, 20 * MSEC), 0);
}

static struct imds_request *get(const char *path)
{
	struct imds_request *r = imds_get(client, path, on_reply, NULL);

	ck_assert_ptr_nonnull(r);
	return r;
}

/* Client tests */

START_TEST(client_token_then_get)
{
	struct mock_request put, get_mac;
	char buf[256];

	mock_token(200, "tok-A");
	mock_get(MD "mac", 200, "02:ab:cd:00:00:01");
	client_start();

	get("mac");
	ck_assert_int_eq(n_replies, 0);
	ck_assert(run_until_replies(1, 3 * SEC));

	ck_assert_int_eq(replies[0].result, IMDS_OK);
	ck_assert_int_eq(replies[0].status, 200);
	ck_assert_int_eq(replies[0].error, 0);
	ck_assert_str_eq(replies[0].path, "mac");
	ck_assert_str_eq(replies[0].body, "02:ab:cd:00:00:01");
	ck_assert_uint_eq(replies[0].length, 17);

	ck_assert_uint_eq(mock_total(), 2);
	put = mock_request(0);
	ck_assert_str_eq(put.method, "PUT");
	ck_assert_str_eq(put.target, TOKEN_PATH);
	ck_assert_str_eq(header_value(&put,
				      "X-aws-ec2-metadata-token-ttl-seconds",
				      buf, sizeof(buf)),
			 "21600");
	get_mac = mock_request(1);
	ck_assert_str_eq(get_mac.method, "GET");
	ck_assert_str_eq(get_mac.target, MD "mac");
	ck_assert_str_eq(header_value(&get_mac, "X-aws-ec2-metadata-token", buf,
				      sizeof(buf)), "tok-A");
	ck_assert_str_eq(header_value(&get_mac, "User-Agent", buf, sizeof(buf)),
			 "enid/test");
	ck_assert_uint_eq(imds_requests_sent(client), 2);
	ck_assert_uint_eq(mock_accepted(), 1);
}
END_TEST

START_TEST(client_token_reused)
{
	char buf[64];

	mock_token(200, "tok-A");
	mock_get(MD "mac", 200, "02:ab:cd:00:00:01");
	mock_get(MD "instance-id", 200, "i-0123456789abcdef0");
	client_start();

	get("mac");
	get("instance-id");
	ck_assert(run_until_replies(2, 3 * SEC));
	get("mac");
	ck_assert(run_until_replies(3, 3 * SEC));

	ck_assert_int_eq(replies[2].result, IMDS_OK);
	ck_assert_uint_eq(mock_count("PUT", TOKEN_PATH), 1);
	ck_assert_uint_eq(mock_count("GET", MD "mac"), 2);
	ck_assert_uint_eq(mock_count("GET", MD "instance-id"), 1);
	for (unsigned i = 1; i < 4; i++) {
		struct mock_request r = mock_request(i);

		ck_assert_str_eq(header_value(&r, "X-aws-ec2-metadata-token",
					      buf, sizeof(buf)), "tok-A");
	}
}
END_TEST

START_TEST(client_401_renews_token)
{
	struct mock_request last;
	char buf[64];

	mock_token(200, "tok-A");
	mock_token(200, "tok-B");
	mock_get(MD "mac", 401, "");
	mock_get(MD "mac", 200, "02:ab:cd:00:00:01");
	client_start();

	get("mac");
	ck_assert(run_until_replies(1, 3 * SEC));

	ck_assert_int_eq(replies[0].result, IMDS_OK);
	ck_assert_uint_eq(mock_count("PUT", TOKEN_PATH), 2);
	ck_assert_uint_eq(mock_count("GET", MD "mac"), 2);
	last = mock_request(3);
	ck_assert_str_eq(last.method, "GET");
	ck_assert_str_eq(header_value(&last, "X-aws-ec2-metadata-token", buf,
				      sizeof(buf)), "tok-B");
}
END_TEST

START_TEST(client_401_twice_fails)
{
	mock_token(200, "tok-A");
	mock_get(MD "mac", 401, "");
	mock_get(MD "mac", 401, "");
	mock_get(MD "mac", 200, "never reached");
	client_start();

	get("mac");
	ck_assert(run_until_replies(1, 3 * SEC));

	ck_assert_int_eq(replies[0].result, IMDS_FAILED);
	ck_assert_int_eq(replies[0].status, 401);
	ck_assert_int_eq(replies[0].error, -EIO);
	ck_assert_uint_eq(mock_count("GET", MD "mac"), 2);
	ck_assert_uint_eq(mock_count("PUT", TOKEN_PATH), 2);
}
END_TEST

START_TEST(client_5xx_retried)
{
	mock_token(200, "tok-A");
	mock_get(MD "mac", 500, "oops");
	mock_get(MD "mac", 200, "02:ab:cd:00:00:01");
	client_start();

	get("mac");
	ck_assert(run_until_replies(1, 3 * SEC));

	ck_assert_int_eq(replies[0].result, IMDS_OK);
	ck_assert_str_eq(replies[0].body, "02:ab:cd:00:00:01");
	ck_assert_uint_eq(mock_count("GET", MD "mac"), 2);
}
END_TEST

START_TEST(client_429_retried)
{
	mock_token(429, "slow down");
	mock_token(200, "tok-A");
	mock_get(MD "mac", 429, "slow down");
	mock_get(MD "mac", 429, "slow down");
	mock_get(MD "mac", 200, "02:ab:cd:00:00:01");
	client_start();

	get("mac");
	ck_assert(run_until_replies(1, 4 * SEC));

	ck_assert_int_eq(replies[0].result, IMDS_OK);
	ck_assert_uint_eq(mock_count("PUT", TOKEN_PATH), 2);
	ck_assert_uint_eq(mock_count("GET", MD "mac"), 3);
}
END_TEST

START_TEST(client_reset_retried)
{
	mock_token(200, "tok-A");
	mock_add("GET", MD "mac", MOCK_CLOSE, 0, "", 0);
	mock_get(MD "mac", 200, "02:ab:cd:00:00:01");
	client_start();

	get("mac");
	ck_assert(run_until_replies(1, 3 * SEC));

	ck_assert_int_eq(replies[0].result, IMDS_OK);
	ck_assert_uint_eq(mock_count("GET", MD "mac"), 2);
}
END_TEST

START_TEST(client_404_not_retried)
{
	mock_token(200, "tok-A");
	mock_get(MD "ipv6", 404, "<html>not found</html>");
	client_start();

	get("ipv6");
	ck_assert(run_until_replies(1, 3 * SEC));
	run_for(300 * MSEC);

	ck_assert_int_eq(n_replies, 1);
	ck_assert_int_eq(replies[0].result, IMDS_NOT_FOUND);
	ck_assert_int_eq(replies[0].status, 404);
	ck_assert_uint_eq(replies[0].length, 0);
	ck_assert_uint_eq(mock_count("GET", MD "ipv6"), 1);
}
END_TEST

START_TEST(client_403_not_retried)
{
	mock_token(200, "tok-A");
	mock_get(MD "mac", 403, "forbidden");
	client_start();

	get("mac");
	ck_assert(run_until_replies(1, 3 * SEC));
	run_for(300 * MSEC);

	ck_assert_int_eq(replies[0].result, IMDS_FAILED);
	ck_assert_int_eq(replies[0].status, 403);
	ck_assert_uint_eq(mock_count("GET", MD "mac"), 1);
}
END_TEST

START_TEST(client_deadline_reached)
{
	uint64_t start;
	uint64_t elapsed;
	unsigned attempts;

	options.deadline_usec = 700 * MSEC;
	mock_token(200, "tok-A");
	mock_get(MD "mac", 503, "unavailable");
	client_start();

	start = now_usec();
	get("mac");
	ck_assert(run_until_replies(1, 5 * SEC));
	elapsed = now_usec() - start;

	ck_assert_int_eq(replies[0].result, IMDS_FAILED);
	ck_assert_int_eq(replies[0].status, 503);
	ck_assert_int_eq(replies[0].error, -EIO);
	ck_assert_uint_le(elapsed, 700 * MSEC + 200 * MSEC);
	attempts = mock_count("GET", MD "mac");
	ck_assert_uint_ge(attempts, 2);
	ck_assert_uint_le(attempts, 6);
}
END_TEST

START_TEST(client_timeout_fails)
{
	options.timeout_usec = 100 * MSEC;
	options.deadline_usec = 500 * MSEC;
	mock_token(200, "tok-A");
	mock_add("GET", MD "mac", MOCK_HANG, 0, "", 0);
	client_start();

	get("mac");
	ck_assert(run_until_replies(1, 3 * SEC));

	ck_assert_int_eq(replies[0].result, IMDS_FAILED);
	ck_assert_int_eq(replies[0].error, -ETIMEDOUT);
	ck_assert_uint_ge(mock_count("GET", MD "mac"), 2);
}
END_TEST

START_TEST(client_oversize_body_fails)
{
	char *body = malloc(IMDS_MAX_BODY + 1);

	ck_assert_ptr_nonnull(body);
	memset(body, 'a', IMDS_MAX_BODY + 1);
	mock_token(200, "tok-A");
	mock_add("GET", MD "big", MOCK_REPLY, 200, body, IMDS_MAX_BODY + 1);
	mock_add("GET", MD "max", MOCK_REPLY, 200, body, IMDS_MAX_BODY);
	free(body);
	client_start();

	get("big");
	get("max");
	ck_assert(run_until_replies(2, 3 * SEC));

	for (int i = 0; i < 2; i++) {
		bool big = strcmp(replies[i].path, "big") == 0;

		ck_assert_int_eq(replies[i].result,
				 big ? IMDS_FAILED : IMDS_OK);
		ck_assert_int_eq(replies[i].error, big ? -EFBIG : 0);
		ck_assert_uint_eq(replies[i].length, big ? 0 : IMDS_MAX_BODY);
	}
	ck_assert_uint_eq(mock_count("GET", MD "big"), 1);
}
END_TEST

START_TEST(client_body_with_nul)
{
	mock_token(200, "tok-A");
	mock_add("GET", MD "nul", MOCK_REPLY, 200, "a\0b", 3);
	client_start();

	get("nul");
	ck_assert(run_until_replies(1, 3 * SEC));

	ck_assert_int_eq(replies[0].result, IMDS_OK);
	ck_assert_uint_eq(replies[0].length, 3);
	ck_assert_mem_eq(replies[0].body, "a\0b\0", 4);
}
END_TEST

START_TEST(client_cancel_no_callback)
{
	struct imds_request *hung;
	struct imds_request *early;

	mock_token(200, "tok-A");
	mock_add("GET", MD "hang", MOCK_HANG, 0, "", 0);
	mock_get(MD "mac", 200, "02:ab:cd:00:00:01");
	client_start();

	hung = get("hang");
	early = get("mac");
	imds_cancel(early);
	run_for(200 * MSEC);
	ck_assert_uint_eq(mock_count("GET", MD "hang"), 1);
	imds_cancel(hung);
	imds_cancel(NULL);
	run_for(300 * MSEC);
	ck_assert_int_eq(n_replies, 0);

	get("mac");
	ck_assert(run_until_replies(1, 3 * SEC));
	ck_assert_int_eq(replies[0].result, IMDS_OK);
	ck_assert_uint_eq(mock_count("GET", MD "mac"), 1);
}
END_TEST

/* Two requests whose callbacks each cancel the other one. */
static struct imds_request *pair[2];

static void cancel_partner(const struct imds_reply *reply, void *userdata)
{
	int self = userdata ? 1 : 0;

	on_reply(reply, NULL);
	pair[self] = NULL;
	imds_cancel(pair[1 - self]);
	pair[1 - self] = NULL;
}

START_TEST(client_callback_cancels_other)
{
	mock_token(200, "tok-A");
	mock_get(MD "a", 200, "a");
	mock_get(MD "b", 200, "b");
	client_start();

	pair[0] = imds_get(client, "a", cancel_partner, NULL);
	pair[1] = imds_get(client, "b", cancel_partner, &pair);
	ck_assert_ptr_nonnull(pair[0]);
	ck_assert_ptr_nonnull(pair[1]);
	run_for(500 * MSEC);

	ck_assert_int_eq(n_replies, 1);
	ck_assert_int_eq(replies[0].result, IMDS_OK);
}
END_TEST

static void free_client(const struct imds_reply *reply, void *userdata)
{
	on_reply(reply, userdata);
	imds_client_free(client);
	client = NULL;
}

START_TEST(client_callback_frees_client)
{
	mock_token(200, "tok-A");
	mock_get(MD "a", 200, "a");
	mock_add("GET", MD "hang", MOCK_HANG, 0, "", 0);
	client_start();

	get("hang");
	ck_assert_ptr_nonnull(imds_get(client, "a", free_client, NULL));
	ck_assert(run_until_replies(1, 3 * SEC));
	run_for(200 * MSEC);

	ck_assert_ptr_null(client);
	ck_assert_int_eq(n_replies, 1);
	ck_assert_str_eq(replies[0].path, "a");
}
END_TEST

START_TEST(client_token_404_without_fallback)
{
	mock_token(404, "not found");
	mock_get(MD "mac", 200, "02:ab:cd:00:00:01");
	client_start();

	get("mac");
	ck_assert(run_until_replies(1, 3 * SEC));

	ck_assert_int_eq(replies[0].result, IMDS_FAILED);
	ck_assert_int_eq(replies[0].error, -EOPNOTSUPP);
	ck_assert_int_eq(replies[0].status, 404);
	ck_assert_uint_eq(mock_count("GET", MD "mac"), 0);
}
END_TEST

START_TEST(client_token_404_with_fallback)
{
	struct mock_request r;

	options.v1_fallback = true;
	mock_token(404, "not found");
	mock_get(MD "mac", 200, "02:ab:cd:00:00:01");
	client_start();

	get("mac");
	ck_assert(run_until_replies(1, 3 * SEC));
	get("mac");
	ck_assert(run_until_replies(2, 3 * SEC));

	ck_assert_int_eq(replies[0].result, IMDS_OK);
	ck_assert_int_eq(replies[1].result, IMDS_OK);
	ck_assert_uint_eq(mock_count("PUT", TOKEN_PATH), 1);
	ck_assert_uint_eq(mock_count("GET", MD "mac"), 2);
	r = mock_request(1);
	ck_assert(!has_header(&r, "X-aws-ec2-metadata-token"));
}
END_TEST

START_TEST(client_token_403_not_repeated)
{
	mock_token(403, "forbidden");
	client_start();

	get("mac");
	ck_assert(run_until_replies(1, 3 * SEC));
	get("instance-id");
	ck_assert(run_until_replies(2, 3 * SEC));

	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(replies[i].result, IMDS_FAILED);
		ck_assert_int_eq(replies[i].error, -EACCES);
		ck_assert_int_eq(replies[i].status, 403);
	}
	ck_assert_uint_eq(mock_count("PUT", TOKEN_PATH), 1);
	ck_assert_uint_eq(mock_total(), 1);
}
END_TEST

START_TEST(client_ignores_proxy_environment)
{
	char proxy[64];

	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", mock.port);
	setenv("http_proxy", proxy, 1);
	setenv("HTTP_PROXY", proxy, 1);
	setenv("ALL_PROXY", proxy, 1);
	setenv("all_proxy", proxy, 1);
	unsetenv("no_proxy");
	unsetenv("NO_PROXY");
	mock_token(200, "tok-A");
	mock_get(MD "mac", 200, "02:ab:cd:00:00:01");
	client_start();

	get("mac");
	ck_assert(run_until_replies(1, 3 * SEC));

	ck_assert_int_eq(replies[0].result, IMDS_OK);
	ck_assert_uint_eq(mock_total(), 2);
	for (unsigned i = 0; i < 2; i++) {
		struct mock_request r = mock_request(i);

		ck_assert_int_eq(r.target[0], '/');
		ck_assert(!has_header(&r, "X-Forwarded-For"));
		ck_assert(!has_header(&r, "Proxy-Connection"));
		ck_assert(!has_header(&r, "Via"));
	}
}
END_TEST

START_TEST(client_falls_back_to_ipv6_url)
{
	int closed = listen_loopback(0);
	char refused[64];

	/* A bound socket that does not listen refuses connections. */
	snprintf(refused, sizeof(refused), "http://127.0.0.1:%d/",
		 socket_port(closed));
	options.url = refused;
	options.url_ipv6 = mock_url;
	mock_token(200, "tok-A");
	mock_get(MD "mac", 200, "02:ab:cd:00:00:01");
	client_start();

	get("mac");
	ck_assert(run_until_replies(1, 3 * SEC));
	get("mac");
	ck_assert(run_until_replies(2, 3 * SEC));

	ck_assert_int_eq(replies[0].result, IMDS_OK);
	ck_assert_int_eq(replies[1].result, IMDS_OK);
	ck_assert_uint_eq(mock_count("PUT", TOKEN_PATH), 1);
	ck_assert_uint_eq(mock_count("GET", MD "mac"), 2);
	close(closed);
}
END_TEST

START_TEST(client_refused_fails_at_deadline)
{
	int closed = listen_loopback(0);
	char refused[64];

	snprintf(refused, sizeof(refused), "http://127.0.0.1:%d",
		 socket_port(closed));
	options.url = refused;
	options.deadline_usec = 500 * MSEC;
	client_start();

	get("mac");
	ck_assert(run_until_replies(1, 3 * SEC));

	ck_assert_int_eq(replies[0].result, IMDS_FAILED);
	ck_assert_int_eq(replies[0].error, -ECONNREFUSED);
	ck_assert_int_eq(replies[0].status, 0);
	close(closed);
}
END_TEST

START_TEST(client_invalid_path_fails_later)
{
	mock_token(200, "tok-A");
	client_start();

	get("../api/token");
	ck_assert_int_eq(n_replies, 0);
	ck_assert(run_until_replies(1, 3 * SEC));

	ck_assert_int_eq(replies[0].result, IMDS_FAILED);
	ck_assert_int_eq(replies[0].error, -EINVAL);
	ck_assert_uint_eq(mock_total(), 0);
}
END_TEST

START_TEST(client_rejects_bad_options)
{
	struct imds_client *c = NULL;

	options.token_ttl_sec = 0;
	ck_assert_int_eq(imds_client_new(&c, event, &options), -EINVAL);
	options.token_ttl_sec = 21601;
	ck_assert_int_eq(imds_client_new(&c, event, &options), -EINVAL);
	options.token_ttl_sec = 60;
	options.url = "";
	ck_assert_int_eq(imds_client_new(&c, event, &options), -EINVAL);
	ck_assert_ptr_null(c);
}
END_TEST

START_TEST(client_token_renewed_before_expiry)
{
	struct mock_request r;
	char buf[64];

	/* Renewal at 0.7 s (lifetime minus timeout), expiry at 1 s. */
	options.token_ttl_sec = 1;
	mock_token(200, "tok-A");
	mock_token(200, "tok-B");
	mock_get(MD "mac", 200, "02:ab:cd:00:00:01");
	client_start();

	get("mac");
	ck_assert(run_until_replies(1, 3 * SEC));
	run_for(750 * MSEC);
	get("mac");
	ck_assert(run_until_replies(2, 3 * SEC));
	run_for(100 * MSEC);
	get("mac");
	ck_assert(run_until_replies(3, 3 * SEC));

	ck_assert_uint_eq(mock_count("PUT", TOKEN_PATH), 2);
	ck_assert_uint_eq(mock_count("GET", MD "mac"), 3);
	r = mock_request(mock_total() - 1);
	ck_assert_str_eq(header_value(&r, "X-aws-ec2-metadata-token", buf,
				      sizeof(buf)), "tok-B");
}
END_TEST

START_TEST(client_short_ttl_renews)
{
	/* A lifetime below the timeout: every release also renews. */
	options.token_ttl_sec = 1;
	options.timeout_usec = 1 * SEC;
	options.deadline_usec = 2 * SEC;
	mock_token(200, "tok-A");
	mock_token(200, "tok-B");
	mock_token(200, "tok-C");
	mock_get(MD "mac", 200, "02:ab:cd:00:00:01");
	client_start();

	get("mac");
	ck_assert(run_until_replies(1, 3 * SEC));
	run_for(1100 * MSEC);
	get("mac");
	ck_assert(run_until_replies(2, 3 * SEC));

	ck_assert_int_eq(replies[0].result, IMDS_OK);
	ck_assert_int_eq(replies[1].result, IMDS_OK);
	ck_assert_uint_ge(mock_count("PUT", TOKEN_PATH), 2);
}
END_TEST

START_TEST(client_long_header_fails)
{
	mock_token(200, "tok-A");
	mock_add("GET", MD "mac", MOCK_LONG_HEADER, 200, "x", 1);
	client_start();

	get("mac");
	ck_assert(run_until_replies(1, 3 * SEC));

	ck_assert_int_eq(replies[0].result, IMDS_FAILED);
	ck_assert_int_eq(replies[0].error, -EBADMSG);
	ck_assert_uint_eq(mock_count("GET", MD "mac"), 1);
}
END_TEST

START_TEST(client_requests_concurrent)
{
	struct imds_request *slow;

	mock_token(200, "tok-A");
	mock_add("GET", MD "slow", MOCK_HANG, 0, "", 0);
	mock_get(MD "mac", 200, "02:ab:cd:00:00:01");
	client_start();

	slow = get("slow");
	get("mac");
	ck_assert(run_until_replies(1, 3 * SEC));

	ck_assert_str_eq(replies[0].path, "mac");
	ck_assert_uint_eq(mock_count("GET", MD "slow"), 1);
	imds_cancel(slow);
}
END_TEST

START_TEST(client_queues_past_host_limit)
{
	char path[64];

	options.timeout_usec = 300 * MSEC;
	mock_token(200, "tok-A");
	mock_get(MD "mac", 200, "02:ab:cd:00:00:01");
	client_start();

	for (int i = 0; i < 20; i++) {
		snprintf(path, sizeof(path), MD "hang%d", i);
		mock_add("GET", path, MOCK_HANG, 0, "", 0);
		snprintf(path, sizeof(path), "hang%d", i);
		get(path);
	}
	get("mac");
	ck_assert(run_until_replies(1, 3 * SEC));

	ck_assert_str_eq(replies[0].path, "mac");
	ck_assert_int_eq(replies[0].result, IMDS_OK);
	ck_assert_uint_le(mock_open_max(), 16);
}
END_TEST

/* Fetch harness */

static const uint8_t test_mac[MAC_LEN] = { 0x02, 0xab, 0xcd, 0x00, 0x00, 0x02 };

struct fetch_record {
	int calls;
	struct eni_fetch_result result;
};

static struct fetch_record fetched;

static void on_fetch(const struct eni_fetch_result *result, void *userdata)
{
	fetched.calls++;
	fetched.result = *result;
}

static void run_until_fetched(uint64_t max_usec)
{
	uint64_t end = now_usec() + max_usec;

	while (fetched.calls == 0 && now_usec() < end)
		ck_assert_int_ge(sd_event_run(event, 20 * MSEC), 0);
	ck_assert_int_eq(fetched.calls, 1);
}

static void fetch(const struct eni_record *base, enum eni_fetch_mode mode)
{
	memset(&fetched, 0, sizeof(fetched));
	ck_assert_ptr_nonnull(eni_fetch_start(client, base, mode, on_fetch,
					      NULL));
	ck_assert_int_eq(fetched.calls, 0);
	run_until_fetched(4 * SEC);
}

static void add_prefix(struct ip_prefix *list, size_t *count, const char *text)
{
	struct ip_prefix p;

	if (strchr(text, '/'))
		ck_assert_int_eq(ip_prefix_parse(text, AF_UNSPEC, &p), 0);
	else
		ck_assert_int_eq(ip_addr_parse(text, AF_UNSPEC, &p), 0);
	list[(*count)++] = p;
}

static const char *entry_text(const struct ip_prefix *p)
{
	static char buf[4][IP_PREFIX_STRLEN];
	static unsigned next;

	return ip_prefix_format(p, buf[next++ % 4]);
}

/* A record as an earlier read left it: IPv4 and IPv6 addresses present. */
static void base_with_addresses(struct eni_record *r)
{
	eni_record_init(r, test_mac);
	r->listed = true;
	add_prefix(r->ipv4, &r->n_ipv4, "10.0.2.10");
	r->state[ENI_KEY_LOCAL_IPV4S] = ENI_VALUE_PRESENT;
	add_prefix(r->ipv6, &r->n_ipv6, "2001:db8:1::10");
	r->state[ENI_KEY_IPV6S] = ENI_VALUE_PRESENT;
	ck_assert_int_eq(ip_prefix_parse("2001:db8:1::/64", AF_INET6,
					 &r->subnet_ipv6[0]), 0);
	r->n_subnet_ipv6 = 1;
	r->state[ENI_KEY_SUBNET_IPV6] = ENI_VALUE_PRESENT;
}

/* Fetch tests */

START_TEST(fetch_full_merges_listing_and_keys)
{
	const struct eni_record *r = &fetched.result.record;
	struct eni_record base;
	uint32_t expected_listed = 1u << ENI_KEY_DEVICE_NUMBER |
				   1u << ENI_KEY_NETWORK_CARD |
				   1u << ENI_KEY_INTERFACE_ID |
				   1u << ENI_KEY_LOCAL_IPV4S |
				   1u << ENI_KEY_SUBNET_IPV4 |
				   1u << ENI_KEY_IPV4_PREFIX;

	mock_token(200, "tok-A");
	mock_get(MAC_DIR, 200,
		 "device-number\ninterface-id\nipv4-associations/\n"
		 "ipv4-prefix\nlocal-hostname\nlocal-ipv4s\nmac\n"
		 "network-card\nowner-id\nsubnet-id\nsubnet-ipv4-cidr-block");
	mock_get(MAC_DIR "device-number", 200, "1");
	mock_get(MAC_DIR "network-card", 200, "0");
	mock_get(MAC_DIR "interface-id", 200, "eni-0a1b2c3d4e5f60002");
	mock_get(MAC_DIR "local-ipv4s", 200, "10.0.2.10\n10.0.2.11\n10.0.2.12");
	mock_get(MAC_DIR "subnet-ipv4-cidr-block", 200, "10.0.2.0/24");
	mock_get(MAC_DIR "ipv4-prefix", 200, "10.0.2.48/28");
	client_start();

	eni_record_init(&base, test_mac);
	base.listed = true;
	fetch(&base, ENI_FETCH_FULL);

	ck_assert(!fetched.result.listing_failed);
	ck_assert_uint_eq(fetched.result.failed_keys, 0);
	ck_assert_str_eq(fetched.result.error, "");
	ck_assert(r->keys_listed);
	ck_assert_uint_eq(r->listed_keys, expected_listed);
	ck_assert_mem_eq(r->mac, test_mac, MAC_LEN);
	ck_assert(r->listed);

	ck_assert_uint_eq(r->device_number, 1);
	ck_assert_int_eq(r->state[ENI_KEY_DEVICE_NUMBER], ENI_VALUE_PRESENT);
	ck_assert_uint_eq(r->network_card, 0);
	ck_assert_int_eq(r->state[ENI_KEY_NETWORK_CARD], ENI_VALUE_PRESENT);
	ck_assert_str_eq(r->interface_id, "eni-0a1b2c3d4e5f60002");
	ck_assert_uint_eq(r->n_ipv4, 3);
	ck_assert_str_eq(entry_text(&r->ipv4[0]), "10.0.2.10/32");
	ck_assert_str_eq(entry_text(&r->ipv4[2]), "10.0.2.12/32");
	ck_assert_str_eq(entry_text(&r->subnet_ipv4), "10.0.2.0/24");
	ck_assert_int_eq(r->state[ENI_KEY_SUBNET_IPV4], ENI_VALUE_PRESENT);
	ck_assert_uint_eq(r->n_prefix_ipv4, 1);
	ck_assert_str_eq(entry_text(&r->prefix_ipv4[0]), "10.0.2.48/28");

	/* Every key is requested with the listing; the ones the listing
	 * lacks are absent. */
	ck_assert_int_eq(r->state[ENI_KEY_IPV6S], ENI_VALUE_ABSENT);
	ck_assert_int_eq(r->state[ENI_KEY_SUBNET_IPV6], ENI_VALUE_ABSENT);
	ck_assert_int_eq(r->state[ENI_KEY_IPV6_PREFIX], ENI_VALUE_ABSENT);
	ck_assert_uint_eq(mock_count("GET", MAC_DIR "ipv6s"), 1);
	ck_assert_uint_eq(mock_count("GET", MAC_DIR "mac"), 0);
	ck_assert_uint_eq(mock_count("GET", MAC_DIR), 1);
	ck_assert_uint_eq(mock_count("PUT", TOKEN_PATH), 1);
}
END_TEST

START_TEST(fetch_failed_key_keeps_value)
{
	const struct eni_record *r = &fetched.result.record;
	struct eni_record base;

	options.deadline_usec = 400 * MSEC;
	mock_token(200, "tok-A");
	mock_get(MAC_DIR "local-ipv4s", 500, "oops");
	mock_get(MAC_DIR "ipv6s", 200, "2001:db8:1::10\n2001:db8:1::11");
	client_start();

	base_with_addresses(&base);
	fetch(&base, ENI_FETCH_ADDRESSES);

	ck_assert_uint_eq(fetched.result.failed_keys,
			  1u << ENI_KEY_LOCAL_IPV4S);
	ck_assert_str_eq(fetched.result.error, "local-ipv4s: HTTP 500");
	ck_assert_int_eq(r->state[ENI_KEY_LOCAL_IPV4S], ENI_VALUE_PRESENT);
	ck_assert_uint_eq(r->n_ipv4, 1);
	ck_assert_str_eq(entry_text(&r->ipv4[0]), "10.0.2.10/32");
	ck_assert_uint_eq(r->n_ipv6, 2);
	ck_assert_uint_ge(mock_count("GET", MAC_DIR "local-ipv4s"), 2);
}
END_TEST

START_TEST(fetch_malformed_key_keeps_value)
{
	const struct eni_record *r = &fetched.result.record;
	struct eni_record base;

	mock_token(200, "tok-A");
	mock_get(MAC_DIR "local-ipv4s", 200, "10.0.2.10\n10.0.2.10");
	client_start();

	base_with_addresses(&base);
	fetch(&base, ENI_FETCH_ADDRESSES);

	ck_assert_uint_eq(fetched.result.failed_keys,
			  1u << ENI_KEY_LOCAL_IPV4S);
	ck_assert_str_eq(fetched.result.error,
			 "local-ipv4s: line 2: duplicate address 10.0.2.10");
	ck_assert_int_eq(r->state[ENI_KEY_LOCAL_IPV4S], ENI_VALUE_PRESENT);
	ck_assert_uint_eq(r->n_ipv4, 1);
	ck_assert_str_eq(entry_text(&r->ipv4[0]), "10.0.2.10/32");
	ck_assert_uint_eq(mock_count("GET", MAC_DIR "local-ipv4s"), 1);
}
END_TEST

START_TEST(fetch_404_absent_only_when_optional)
{
	const struct eni_record *r = &fetched.result.record;
	struct eni_record base;

	mock_token(200, "tok-A");
	client_start();

	base_with_addresses(&base);
	fetch(&base, ENI_FETCH_ADDRESSES);

	ck_assert_uint_eq(fetched.result.failed_keys, 0);
	ck_assert_str_eq(fetched.result.error, "");
	ck_assert_int_eq(r->state[ENI_KEY_IPV6S], ENI_VALUE_ABSENT);
	ck_assert_uint_eq(r->n_ipv6, 0);
	ck_assert_int_eq(r->state[ENI_KEY_IPV4_PREFIX], ENI_VALUE_ABSENT);
	ck_assert_int_eq(r->state[ENI_KEY_IPV6_PREFIX], ENI_VALUE_ABSENT);
	ck_assert_int_eq(r->state[ENI_KEY_LOCAL_IPV4S], ENI_VALUE_PRESENT);
	ck_assert_uint_eq(r->n_ipv4, 1);
	ck_assert_str_eq(entry_text(&r->ipv4[0]), "10.0.2.10/32");
	ck_assert_uint_eq(mock_count("GET", MAC_DIR "local-ipv4s"), 1);
	ck_assert_uint_eq(mock_count("GET", MAC_DIR "ipv6s"), 1);
	ck_assert_uint_eq(mock_count("GET", MAC_DIR "subnet-ipv6-cidr-blocks"),
			  0);
	ck_assert_uint_eq(mock_count("GET", MAC_DIR), 0);
}
END_TEST

START_TEST(fetch_404_device_number_unchanged)
{
	const struct eni_record *r = &fetched.result.record;
	struct eni_record base;

	mock_token(200, "tok-A");
	mock_get(MAC_DIR, 200, "device-number\nnetwork-card\nlocal-ipv4s\n");
	mock_get(MAC_DIR "local-ipv4s", 200, "10.0.2.10");
	client_start();

	eni_record_init(&base, test_mac);
	fetch(&base, ENI_FETCH_FULL);

	ck_assert_uint_eq(fetched.result.failed_keys, 0);
	ck_assert_int_eq(r->state[ENI_KEY_DEVICE_NUMBER], ENI_VALUE_UNKNOWN);
	ck_assert_int_eq(r->state[ENI_KEY_NETWORK_CARD], ENI_VALUE_ABSENT);
	ck_assert_int_eq(r->state[ENI_KEY_LOCAL_IPV4S], ENI_VALUE_PRESENT);
	ck_assert_int_eq(r->state[ENI_KEY_SUBNET_IPV4], ENI_VALUE_ABSENT);
}
END_TEST

START_TEST(fetch_addresses_reads_new_ipv6_subnet)
{
	const struct eni_record *r = &fetched.result.record;
	struct eni_record base;

	mock_token(200, "tok-A");
	mock_get(MAC_DIR "local-ipv4s", 200, "10.0.2.10");
	mock_get(MAC_DIR "ipv6s", 200, "2001:db8:1::10");
	mock_get(MAC_DIR "subnet-ipv6-cidr-blocks", 200,
		 "2001:db8:1:0:0:0:0:0/64");
	client_start();

	eni_record_init(&base, test_mac);
	add_prefix(base.ipv4, &base.n_ipv4, "10.0.2.10");
	base.state[ENI_KEY_LOCAL_IPV4S] = ENI_VALUE_PRESENT;
	fetch(&base, ENI_FETCH_ADDRESSES);

	ck_assert_uint_eq(fetched.result.failed_keys, 0);
	ck_assert_int_eq(r->state[ENI_KEY_IPV6S], ENI_VALUE_PRESENT);
	ck_assert_int_eq(r->state[ENI_KEY_SUBNET_IPV6], ENI_VALUE_PRESENT);
	ck_assert_uint_eq(r->n_subnet_ipv6, 1);
	ck_assert_str_eq(entry_text(&r->subnet_ipv6[0]), "2001:db8:1::/64");
	ck_assert_uint_eq(mock_count("GET", MAC_DIR "subnet-ipv6-cidr-blocks"),
			  1);
}
END_TEST

START_TEST(fetch_listing_failure_fails_fetch)
{
	struct eni_record base;

	options.deadline_usec = 300 * MSEC;
	mock_token(200, "tok-A");
	mock_get(MAC_DIR, 500, "oops");
	client_start();

	eni_record_init(&base, test_mac);
	fetch(&base, ENI_FETCH_FULL);

	ck_assert(fetched.result.listing_failed);
	ck_assert_str_eq(fetched.result.error, "key listing: HTTP 500");
	ck_assert(!fetched.result.record.keys_listed);
	/* The keys went out with the listing, once each. */
	ck_assert_uint_eq(mock_count("GET", MAC_DIR "device-number"), 1);
	ck_assert_uint_eq(mock_total(),
			  1 + ENI_KEY_COUNT + mock_count("GET", MAC_DIR));
}
END_TEST

START_TEST(fetch_malformed_listing_fails)
{
	struct eni_record base;

	mock_token(200, "tok-A");
	mock_get(MAC_DIR, 200, "device-number\ndevice-number\n");
	client_start();

	eni_record_init(&base, test_mac);
	fetch(&base, ENI_FETCH_FULL);

	ck_assert(fetched.result.listing_failed);
	ck_assert_str_eq(fetched.result.error,
			 "key listing: line 2: duplicate entry device-number");
	ck_assert(!fetched.result.record.keys_listed);
	ck_assert_uint_eq(mock_total(), 2 + ENI_KEY_COUNT);
}
END_TEST

START_TEST(fetch_cancel_no_callback)
{
	struct eni_fetch *f;
	struct eni_record base;

	mock_token(200, "tok-A");
	mock_add("GET", MAC_DIR, MOCK_HANG, 0, "", 0);
	client_start();

	eni_record_init(&base, test_mac);
	memset(&fetched, 0, sizeof(fetched));
	f = eni_fetch_start(client, &base, ENI_FETCH_FULL, on_fetch, NULL);
	ck_assert_ptr_nonnull(f);
	run_for(200 * MSEC);
	eni_fetch_cancel(f);
	eni_fetch_cancel(NULL);
	run_for(300 * MSEC);

	ck_assert_int_eq(fetched.calls, 0);
	ck_assert_uint_eq(mock_count("GET", MAC_DIR), 1);
}
END_TEST

static Suite *imds_suite(void)
{
	Suite *s = suite_create("imds");
	TCase *tc_client = tcase_create("client");
	TCase *tc_fetch = tcase_create("fetch");

	tcase_add_checked_fixture(tc_client, setup, teardown);
	tcase_set_timeout(tc_client, 20);
	tcase_add_test(tc_client, client_token_then_get);
	tcase_add_test(tc_client, client_token_reused);
	tcase_add_test(tc_client, client_401_renews_token);
	tcase_add_test(tc_client, client_401_twice_fails);
	tcase_add_test(tc_client, client_5xx_retried);
	tcase_add_test(tc_client, client_429_retried);
	tcase_add_test(tc_client, client_reset_retried);
	tcase_add_test(tc_client, client_404_not_retried);
	tcase_add_test(tc_client, client_403_not_retried);
	tcase_add_test(tc_client, client_deadline_reached);
	tcase_add_test(tc_client, client_timeout_fails);
	tcase_add_test(tc_client, client_oversize_body_fails);
	tcase_add_test(tc_client, client_body_with_nul);
	tcase_add_test(tc_client, client_cancel_no_callback);
	tcase_add_test(tc_client, client_callback_cancels_other);
	tcase_add_test(tc_client, client_callback_frees_client);
	tcase_add_test(tc_client, client_token_404_without_fallback);
	tcase_add_test(tc_client, client_token_404_with_fallback);
	tcase_add_test(tc_client, client_token_403_not_repeated);
	tcase_add_test(tc_client, client_ignores_proxy_environment);
	tcase_add_test(tc_client, client_falls_back_to_ipv6_url);
	tcase_add_test(tc_client, client_refused_fails_at_deadline);
	tcase_add_test(tc_client, client_invalid_path_fails_later);
	tcase_add_test(tc_client, client_rejects_bad_options);
	tcase_add_test(tc_client, client_token_renewed_before_expiry);
	tcase_add_test(tc_client, client_short_ttl_renews);
	tcase_add_test(tc_client, client_long_header_fails);
	tcase_add_test(tc_client, client_requests_concurrent);
	tcase_add_test(tc_client, client_queues_past_host_limit);
	suite_add_tcase(s, tc_client);

	tcase_add_checked_fixture(tc_fetch, setup, teardown);
	tcase_set_timeout(tc_fetch, 20);
	tcase_add_test(tc_fetch, fetch_full_merges_listing_and_keys);
	tcase_add_test(tc_fetch, fetch_failed_key_keeps_value);
	tcase_add_test(tc_fetch, fetch_malformed_key_keeps_value);
	tcase_add_test(tc_fetch, fetch_404_absent_only_when_optional);
	tcase_add_test(tc_fetch, fetch_404_device_number_unchanged);
	tcase_add_test(tc_fetch, fetch_addresses_reads_new_ipv6_subnet);
	tcase_add_test(tc_fetch, fetch_listing_failure_fails_fetch);
	tcase_add_test(tc_fetch, fetch_malformed_listing_fails);
	tcase_add_test(tc_fetch, fetch_cancel_no_callback);
	suite_add_tcase(s, tc_fetch);
	return s;
}

int main(void)
{
	SRunner *runner = srunner_create(imds_suite());
	int failed;

	srunner_run_all(runner, CK_ENV);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
