/* SPDX-License-Identifier: MIT */
/*
 * The event socket: a non-blocking libmnl socket joined to the rtnetlink
 * groups of links, addresses, routes and rules of both families. Each
 * notification is parsed into a plain object and handed to the caller.
 * NETLINK_NO_ENOBUFS stays off: a lost notification must surface as
 * ENOBUFS so the caller re-dumps what it tracks.
 */
#include "netlink/netlink.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "netlink/netlink-internal.h"

#define MONITOR_DEFAULT_RCVBUF (4 * 1024 * 1024)

struct netlink_monitor {
	struct mnl_socket *sock;
	void *buf; /* NETLINK_RECV_SIZE bytes */
};

struct monitor_context {
	net_event_fn fn;
	void *userdata;
	int error;
};

/*
 * RTNLGRP_IPV6_RULE (19) has no RTMGRP_* bind mask, so every group is
 * joined by number with NETLINK_ADD_MEMBERSHIP.
 */
static const unsigned monitor_groups[] = {
	RTNLGRP_LINK,	   RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV4_ROUTE,
	RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV6_ROUTE,
	RTNLGRP_IPV6_RULE,
};

static int join_groups(struct mnl_socket *sock)
{
	for (size_t i = 0; i < MNL_ARRAY_SIZE(monitor_groups); i++) {
		unsigned group = monitor_groups[i];

		if (mnl_socket_setsockopt(sock, NETLINK_ADD_MEMBERSHIP, &group,
					  sizeof(group)) < 0)
			return -errno;
	}

	return 0;
}

int netlink_monitor_open(struct netlink_monitor **out, int rcvbuf)
{
	struct netlink_monitor *mon;
	int err;

	if (rcvbuf < 0)
		return -EINVAL;

	mon = calloc(1, sizeof(*mon));
	if (!mon)
		return -ENOMEM;

	mon->buf = malloc(NETLINK_RECV_SIZE);
	if (!mon->buf) {
		err = -ENOMEM;
		goto fail;
	}

	mon->sock =
		mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!mon->sock ||
	    mnl_socket_bind(mon->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto fail;
	}

	err = join_groups(mon->sock);
	if (err < 0)
		goto fail;

	err = netlink_set_rcvbuf(mnl_socket_get_fd(mon->sock),
				 rcvbuf ? rcvbuf : MONITOR_DEFAULT_RCVBUF);
	if (err < 0)
		goto fail;

	*out = mon;
	return 0;

fail:
	netlink_monitor_close(mon);
	return err;
}

void netlink_monitor_close(struct netlink_monitor *mon)
{
	if (!mon)
		return;

	if (mon->sock)
		mnl_socket_close(mon->sock);
	free(mon->buf);
	free(mon);
}

int netlink_monitor_fd(const struct netlink_monitor *mon)
{
	return mnl_socket_get_fd(mon->sock);
}

static int monitor_data(const struct nlmsghdr *nlh, void *data)
{
	struct monitor_context *ctx = data;
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
			"rtnl: skipped an invalid notification of type %u: %s",
			nlh->nlmsg_type, strerror(-err));
		return MNL_CB_OK;
	}

	ctx->fn(&event, ctx->userdata);
	return MNL_CB_OK;
}

/* Maps a failed receive to the result of netlink_monitor_read(). */
static int receive_error(int error)
{
	switch (error) {
	case EAGAIN: /* drained; EWOULDBLOCK on Linux too */
		return 0;
	case ENOBUFS:
		log_msg(LOG_DEBUG, "rtnl: event socket overrun");
		return -ENOBUFS;
	case ENOSPC:
		/* A notification did not fit the buffer, so it is lost too. */
		log_msg(LOG_WARNING,
			"rtnl: dropped a notification larger than %d bytes",
			NETLINK_RECV_SIZE);
		return -ENOBUFS;
	default:
		return -error;
	}
}

int netlink_monitor_read(struct netlink_monitor *mon, net_event_fn fn,
			 void *userdata)
{
	struct monitor_context ctx = {.fn = fn, .userdata = userdata};

	for (;;) {
		ssize_t len = mnl_socket_recvfrom(mon->sock, mon->buf,
						  NETLINK_RECV_SIZE);

		if (len < 0) {
			if (errno == EINTR)
				continue;
			return receive_error(errno);
		}

		/* Notifications carry sequence number and port id 0. */
		if (mnl_cb_run(mon->buf, (size_t)len, 0, 0, monitor_data,
			       &ctx) == MNL_CB_ERROR &&
		    ctx.error)
			return ctx.error;
	}
}
