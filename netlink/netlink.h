/* SPDX-License-Identifier: MIT */
/*
 * The rtnetlink facade: the only interface between the daemon and the
 * kernel's routing configuration.
 *
 * Inside, libmnl carries bytes (the event socket, dumps, batched requests
 * and their acknowledgements) and libnl-route-3 describes objects (links,
 * addresses, routes and rules are built and parsed as rtnl objects).
 * Attributes libnl 3.7 lacks (a rule's suppress_ifgroup, an address's
 * IFA_PROTO) are appended to or read from the raw messages. Callers see
 * only the plain types of common/netobj.h. Functions return 0 or a
 * negative errno.
 */
#ifndef ENID_NETLINK_NETLINK_H
#define ENID_NETLINK_NETLINK_H

#include <stddef.h>
#include <stdint.h>

#include "common/netobj.h"

/* A request socket: dumps and batched changes, used synchronously. */
struct netlink;

/* Opens a request socket in the caller's network namespace. */
int netlink_open(struct netlink **out);

/* Closes the socket. Accepts NULL. */
void netlink_close(struct netlink *nl);

/* Object kinds netlink_dump() collects; OR the flags together. */
enum netlink_dump_what {
	NETLINK_DUMP_LINKS = 1 << 0,
	NETLINK_DUMP_ADDRS = 1 << 1,
	NETLINK_DUMP_ROUTES = 1 << 2,
	NETLINK_DUMP_RULES = 1 << 3,
};

/*
 * Replaces the contents of state with fresh dumps of both families.
 * Routes of every table are dumped, but only those whose protocol is
 * route_protocol are kept (the kernel filters when it can); pass 0 to
 * keep all. A dump the kernel marks interrupted is restarted. On error
 * state is left empty.
 */
int netlink_dump(struct netlink *nl, unsigned what, uint8_t route_protocol,
		 struct net_state *state);

/*
 * Sends the operations as batched requests (as many per send as fit in
 * one buffer), then collects one acknowledgement per operation. errors
 * (count entries) receives 0 or a negative errno per operation; "exists"
 * on an add and "not found" on a delete count as success. The return
 * value is 0 when every operation succeeded, the first error otherwise,
 * or an error of the socket itself. When the kernel explains an error
 * (extended acknowledgement), the text is logged at debug level.
 */
int netlink_apply(struct netlink *nl, const struct net_op *ops, size_t count,
		  int *errors);

/* The event socket: multicast notifications of links, addresses,
 * routes and rules of both families. */
struct netlink_monitor;

enum net_event_kind {
	NET_EVENT_NEW,
	NET_EVENT_DELETE,
};

struct net_event {
	enum net_event_kind kind;
	enum net_object_type type;
	union {
		struct net_link link;
		struct net_addr addr;
		struct net_route route;
		struct net_rule rule;
	};
};

typedef void (*net_event_fn)(const struct net_event *event, void *userdata);

/*
 * Opens the event socket with a receive buffer of rcvbuf bytes (0: the
 * default of 4 MiB). The buffer is forced past net.core.rmem_max where
 * the caller has CAP_NET_ADMIN.
 */
int netlink_monitor_open(struct netlink_monitor **out, int rcvbuf);
void netlink_monitor_close(struct netlink_monitor *mon);

/* Returns the socket for the caller's event loop (readable = events). */
int netlink_monitor_fd(const struct netlink_monitor *mon);

/*
 * Reads every pending message without blocking and calls fn once per
 * object. Returns 0 when the socket is drained, or -ENOBUFS when the
 * kernel dropped notifications: the caller must then re-dump everything
 * it tracks.
 */
int netlink_monitor_read(struct netlink_monitor *mon, net_event_fn fn,
			 void *userdata);

/*
 * Stores the driver bound to the link (ethtool's driver name, e.g. "ena"
 * or "veth") in buf. Returns -ENODEV when the link is gone or was renamed
 * meanwhile, -EOPNOTSUPP when the driver reports none.
 */
int netlink_link_driver(int ifindex, const char *ifname, char *buf,
			size_t size);

#endif
