/* SPDX-License-Identifier: MIT */
/*
 * Dumps of links, addresses, routes and rules into a net_state. libmnl
 * runs each dump, one at a time on the request socket, and the dump is
 * restarted when the kernel marks it interrupted. Every reply is parsed
 * into a plain object by netlink_parse_message().
 */
#include "netlink/netlink.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "netlink/netlink-internal.h"

/* A table that keeps changing during the dump fails after this many. */
#define DUMP_ATTEMPTS 8

struct dump_request {
	unsigned what; /* enum netlink_dump_what */
	uint16_t type; /* RTM_GET* */
	uint8_t family;
	const char *name;
};

static const struct dump_request dump_requests[] = {
	{NETLINK_DUMP_LINKS, RTM_GETLINK, AF_UNSPEC, "links"},
	{NETLINK_DUMP_ADDRS, RTM_GETADDR, AF_INET, "IPv4 addresses"},
	{NETLINK_DUMP_ADDRS, RTM_GETADDR, AF_INET6, "IPv6 addresses"},
	{NETLINK_DUMP_ROUTES, RTM_GETROUTE, AF_INET, "IPv4 routes"},
	{NETLINK_DUMP_ROUTES, RTM_GETROUTE, AF_INET6, "IPv6 routes"},
	{NETLINK_DUMP_RULES, RTM_GETRULE, AF_INET, "IPv4 rules"},
	{NETLINK_DUMP_RULES, RTM_GETRULE, AF_INET6, "IPv6 rules"},
};

struct dump_context {
	struct net_state state;
	size_t links_capacity;
	size_t addrs_capacity;
	size_t routes_capacity;
	size_t rules_capacity;
	uint8_t route_protocol;
	const struct dump_request *request;
	bool finished; /* the kernel's last message was seen */
	int error;     /* error of a callback or of the kernel */
};

/* Returns array with room for one more element, or NULL. */
static void *grow(void *array, size_t count, size_t *capacity, size_t size)
{
	size_t new_capacity;
	void *bigger;

	if (count < *capacity)
		return array;

	new_capacity = *capacity ? *capacity * 2 : 16;
	bigger = reallocarray(array, new_capacity, size);
	if (bigger)
		*capacity = new_capacity;

	return bigger;
}

static int store_object(struct dump_context *ctx, const struct net_event *ev)
{
	struct net_state *s = &ctx->state;

	switch (ev->type) {
	case NET_OBJECT_LINK:
		s->links = grow(s->links, s->n_links, &ctx->links_capacity,
				sizeof(*s->links));
		if (!s->links)
			return -ENOMEM;
		s->links[s->n_links++] = ev->link;
		return 0;
	case NET_OBJECT_ADDR:
		s->addrs = grow(s->addrs, s->n_addrs, &ctx->addrs_capacity,
				sizeof(*s->addrs));
		if (!s->addrs)
			return -ENOMEM;
		s->addrs[s->n_addrs++] = ev->addr;
		return 0;
	case NET_OBJECT_ROUTE:
		s->routes = grow(s->routes, s->n_routes, &ctx->routes_capacity,
				 sizeof(*s->routes));
		if (!s->routes)
			return -ENOMEM;
		s->routes[s->n_routes++] = ev->route;
		return 0;
	case NET_OBJECT_RULE:
		s->rules = grow(s->rules, s->n_rules, &ctx->rules_capacity,
				sizeof(*s->rules));
		if (!s->rules)
			return -ENOMEM;
		s->rules[s->n_rules++] = ev->rule;
		return 0;
	}

	return -EINVAL;
}

static int dump_data(const struct nlmsghdr *nlh, void *data)
{
	struct dump_context *ctx = data;
	struct net_event event;
	int err = netlink_parse_message(nlh, &event);

	if (err == -ENOENT)
		return MNL_CB_OK;

	if (err == -ENOMEM) {
		ctx->error = err;
		return MNL_CB_ERROR;
	}

	if (err < 0) {
		log_msg(LOG_WARNING,
			"rtnl: skipped an invalid message of type %u in the "
			"dump of %s: %s",
			nlh->nlmsg_type, ctx->request->name, strerror(-err));
		return MNL_CB_OK;
	}

	/* The kernel filters by protocol only when strict checking works. */
	if (event.type == NET_OBJECT_ROUTE && ctx->route_protocol &&
	    event.route.protocol != ctx->route_protocol)
		return MNL_CB_OK;

	err = store_object(ctx, &event);
	if (err < 0) {
		ctx->error = err;
		return MNL_CB_ERROR;
	}

	return MNL_CB_OK;
}

static int dump_failed(struct dump_context *ctx, const struct nlmsghdr *nlh,
		       int code)
{
	const char *text = netlink_ext_ack_text(nlh);

	log_msg(LOG_DEBUG, "rtnl: dump of %s failed: %s%s%s",
		ctx->request->name, strerror(-code), text ? ": " : "",
		text ? text : "");
	ctx->error = code;
	return MNL_CB_ERROR;
}

static int dump_done(const struct nlmsghdr *nlh, void *data)
{
	struct dump_context *ctx = data;
	int code = netlink_done_code(nlh);

	ctx->finished = true;
	if (code < 0)
		return dump_failed(ctx, nlh, code);

	return MNL_CB_STOP;
}

static int dump_error(const struct nlmsghdr *nlh, void *data)
{
	struct dump_context *ctx = data;
	int code = netlink_error_code(nlh);

	ctx->finished = true;
	if (code < 0)
		return dump_failed(ctx, nlh, code);

	return MNL_CB_STOP;
}

static mnl_cb_t dump_control[NLMSG_MIN_TYPE] = {
	[NLMSG_ERROR] = dump_error,
	[NLMSG_DONE] = dump_done,
};

static size_t put_request(void *buf, const struct dump_request *req,
			  uint32_t seq, uint8_t route_protocol)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;
	struct ifaddrmsg *ifa;
	struct rtmsg *rtm;
	struct fib_rule_hdr *frh;

	nlh->nlmsg_type = req->type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;

	switch (req->type) {
	case RTM_GETLINK:
		ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
		ifi->ifi_family = req->family;
		break;
	case RTM_GETADDR:
		ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
		ifa->ifa_family = req->family;
		break;
	case RTM_GETROUTE:
		/* With NETLINK_GET_STRICT_CHK the kernel filters on this. */
		rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
		rtm->rtm_family = req->family;
		rtm->rtm_protocol = route_protocol;
		break;
	default:
		frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
		frh->family = req->family;
		break;
	}

	return nlh->nlmsg_len;
}

/* Handles a failed mnl_cb_run2() and returns the error of the dump. */
static int dump_stopped(struct netlink *nl, struct dump_context *ctx,
			uint32_t seq, size_t len, int run_errno)
{
	int err = ctx->error ? ctx->error : -run_errno;

	/* Leave no reply behind to confuse the next request. */
	if (!ctx->finished && !netlink_buffer_ends_reply(nl->buf, len, seq))
		netlink_drain(nl, seq);

	return err;
}

static int dump_once(struct netlink *nl, struct dump_context *ctx,
		     const struct dump_request *req)
{
	uint32_t request[32]; /* 4-byte aligned, as nlmsghdr requires */
	uint32_t seq = netlink_next_seq(nl);
	int err;

	ctx->request = req;
	ctx->finished = false;
	ctx->error = 0;

	err = netlink_send(nl, request,
			   put_request(request, req, seq, ctx->route_protocol));
	if (err < 0)
		return err;

	for (;;) {
		ssize_t len = netlink_receive(nl);
		int ret;

		if (len < 0)
			return (int)len;

		ret = mnl_cb_run2(nl->buf, (size_t)len, seq, nl->portid,
				  dump_data, ctx, dump_control,
				  MNL_ARRAY_SIZE(dump_control));
		if (ret == MNL_CB_STOP)
			return 0;
		if (ret == MNL_CB_OK)
			continue;

		/* A datagram of an earlier, abandoned request. */
		if (!ctx->error && errno == EPROTO)
			continue;

		return dump_stopped(nl, ctx, seq, (size_t)len, errno);
	}
}

/* Returns how many objects of every type ctx holds, to undo a dump. */
static struct net_state state_counts(const struct net_state *s)
{
	return (struct net_state){
		.n_links = s->n_links,
		.n_addrs = s->n_addrs,
		.n_routes = s->n_routes,
		.n_rules = s->n_rules,
	};
}

static void restore_counts(struct net_state *s, const struct net_state *c)
{
	s->n_links = c->n_links;
	s->n_addrs = c->n_addrs;
	s->n_routes = c->n_routes;
	s->n_rules = c->n_rules;
}

/*
 * Runs one dump, restarting it while the kernel reports it interrupted
 * (NLM_F_DUMP_INTR: the table changed while it was being dumped).
 */
static int dump_restarting(struct netlink *nl, struct dump_context *ctx,
			   const struct dump_request *req)
{
	struct net_state before = state_counts(&ctx->state);

	for (int attempt = 1; attempt <= DUMP_ATTEMPTS; attempt++) {
		int err = dump_once(nl, ctx, req);

		if (err != -EINTR)
			return err;

		log_msg(LOG_DEBUG, "rtnl: dump of %s interrupted, restarting",
			req->name);
		restore_counts(&ctx->state, &before);
	}

	log_msg(LOG_WARNING, "rtnl: dump of %s interrupted %d times", req->name,
		DUMP_ATTEMPTS);
	return -EINTR;
}

int netlink_dump(struct netlink *nl, unsigned what, uint8_t route_protocol,
		 struct net_state *state)
{
	struct dump_context ctx = {.route_protocol = route_protocol};

	net_state_clear(state);

	for (size_t i = 0; i < MNL_ARRAY_SIZE(dump_requests); i++) {
		const struct dump_request *req = &dump_requests[i];
		int err;

		if (!(what & req->what))
			continue;

		err = dump_restarting(nl, &ctx, req);
		if (err < 0) {
			log_msg(LOG_DEBUG, "rtnl: cannot dump %s: %s",
				req->name, strerror(-err));
			net_state_clear(&ctx.state);
			return err;
		}
	}

	*state = ctx.state;
	return 0;
}
