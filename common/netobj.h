/* SPDX-License-Identifier: MIT */
/*
 * Kernel networking objects as plain values: links, addresses, routes and
 * policy rules, a snapshot of them, and the add or delete operations the
 * reconciler hands to the netlink layer.
 *
 * The netlink layer parses kernel messages into these types and builds
 * requests from them; nothing outside netlink/ includes a netlink library.
 * Equality follows the kernel's own identity for each object, so a
 * desired object and the one the kernel reports compare equal.
 */
#ifndef ENID_COMMON_NETOBJ_H
#define ENID_COMMON_NETOBJ_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

#define MAC_LEN 6
/* "02:ab:cd:00:00:01" and its terminating NUL. */
#define MAC_STRLEN 18
#define LINK_KIND_LEN 16

struct net_link {
	int ifindex;
	char name[IFNAMSIZ];
	uint8_t mac[MAC_LEN];
	bool has_mac;
	unsigned short type;	/* ARPHRD_* */
	unsigned flags;		/* IFF_* */
	uint8_t operstate;	/* IF_OPER_* */
	uint32_t mtu;
	uint32_t group;
	int master;		/* ifindex of the master device, or 0 */
	char kind[LINK_KIND_LEN]; /* IFLA_INFO_KIND, "" for hardware */
	int promote_secondaries; /* IPv4 devconf value, -1 when not reported */
	int accept_ra_defrtr;	/* IPv6 devconf value, -1 when not reported */
};

struct net_addr {
	int ifindex;
	struct ip_prefix local; /* address and its prefix length */
	uint32_t flags;		/* IFA_F_* */
	uint8_t scope;		/* RT_SCOPE_* */
	uint8_t protocol;	/* IFA_PROTO, 0 when the kernel sent none */
};

struct net_route {
	uint32_t table;
	struct ip_prefix dst;	/* family of the route, destination */
	struct ip_prefix gateway; /* family 0 when the route has none */
	int oif;
	uint32_t metric;	/* RTA_PRIORITY */
	uint8_t protocol;	/* rtm_protocol */
	uint8_t scope;
	uint8_t type;		/* RTN_* */
	uint32_t flags;		/* RTNH_F_*, only RTNH_F_ONLINK is sent */
};

/* No value for an optional u32 rule attribute. */
#define NET_RULE_UNSET (-1)

struct net_rule {
	int family;
	uint32_t priority;
	struct ip_prefix src;	/* family 0 matches any source */
	uint32_t table;
	uint8_t action;		/* FR_ACT_* */
	uint8_t protocol;	/* FRA_PROTOCOL */
	int64_t suppress_ifgroup;     /* NET_RULE_UNSET or a group */
	int64_t suppress_prefixlen;   /* NET_RULE_UNSET or a length */
	/*
	 * Set when the kernel reports a selector this program never sets
	 * (destination, fwmark, interface names, TOS, ports, ...). Such a
	 * rule is never equal to one of ours.
	 */
	bool other_selectors;
};

enum net_object_type {
	NET_OBJECT_LINK,
	NET_OBJECT_ADDR,
	NET_OBJECT_ROUTE,
	NET_OBJECT_RULE,
};

/* Changes to a link's settings; a zero field leaves that setting alone. */
struct net_link_change {
	int ifindex;
	bool set_up;
	uint32_t mtu;
	bool set_group;
	uint32_t group;
	bool promote_secondaries; /* set IPv4 devconf promote_secondaries=1 */
	/* Set the IPv6 sysctl accept_ra_defrtr=0 (written to /proc/sys by
	 * the daemon, since rtnetlink cannot set IPv6 devconf). */
	bool ignore_ra_default;
};

enum net_op_kind {
	NET_OP_ADD,
	NET_OP_DELETE,
};

/*
 * One request. owner is the ifindex of the interface the object is for
 * (0 for shared objects), so a failure is reported on that interface.
 */
struct net_op {
	enum net_op_kind kind;
	enum net_object_type type;
	int owner;
	/*
	 * For a desired object: keep it when the kernel has it, but do not
	 * add it now (an address waiting for the DHCP client's to return).
	 */
	bool keep_only;
	union {
		struct net_link_change link;
		struct net_addr addr;
		struct net_route route;
		struct net_rule rule;
	};
};

/* Growable array of operations. */
struct net_op_list {
	struct net_op *ops;
	size_t count;
	size_t capacity;
};

/* A dump of the kernel's objects. */
struct net_state {
	struct net_link *links;
	size_t n_links;
	struct net_addr *addrs;
	size_t n_addrs;
	struct net_route *routes;
	size_t n_routes;
	struct net_rule *rules;
	size_t n_rules;
};

/* Returns true when the kernel would treat both as the same address. */
bool net_addr_same(const struct net_addr *a, const struct net_addr *b);

/*
 * Returns true when both routes are equal in every attribute this program
 * sets: table, destination, gateway, device, metric, protocol, scope and
 * type.
 */
bool net_route_equal(const struct net_route *a, const struct net_route *b);

/* Returns true when both rules are equal in every attribute. */
bool net_rule_equal(const struct net_rule *a, const struct net_rule *b);

/*
 * Returns a hash of the fields the type's equality compares (for a link,
 * object points to its ifindex), so equal objects hash equally.
 */
uint64_t net_object_hash(enum net_object_type type, const void *object);

/* Appends op; returns 0 or -ENOMEM. */
int net_op_list_append(struct net_op_list *list, const struct net_op *op);
void net_op_list_clear(struct net_op_list *list);

/* Frees the arrays of a snapshot and zeroes it. Accepts a zeroed state. */
void net_state_clear(struct net_state *state);

/* Returns the link with that ifindex in a snapshot, or NULL. */
const struct net_link *net_state_find_link(const struct net_state *state,
					   int ifindex);

/* Formats a MAC as lowercase "02:ab:cd:00:00:01" into buf[MAC_STRLEN]. */
const char *mac_format(const uint8_t mac[MAC_LEN], char *buf);

/* Parses exactly "xx:xx:xx:xx:xx:xx" in either case; 0 or -EINVAL. */
int mac_parse(const char *text, uint8_t mac[MAC_LEN]);

/*
 * Formats an object in the words of iproute2 ("rule 10001: from
 * 10.0.1.20 lookup 10001 proto 236"), for logs and --dry-run. ifname
 * resolves an ifindex to a name for display; it may return NULL.
 */
typedef const char *(*net_ifname_fn)(int ifindex, void *userdata);
void net_op_format(const struct net_op *op, net_ifname_fn ifname,
		   void *userdata, char *buf, size_t size);

#endif
