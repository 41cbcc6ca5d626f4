/* SPDX-License-Identifier: MIT */
/*
 * Kernel messages to plain objects. Each message is parsed into an rtnl
 * object by libnl-route-3 and copied into the structs of common/netobj.h.
 * Attributes libnl 3.7 does not parse (an address's IFA_PROTO, a rule's
 * suppress_ifgroup, suppress_prefixlength and newer selectors) are read
 * from the raw message with libmnl's attribute parser.
 */
#include "netlink/netlink.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/inet.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>
#include <string.h>

#include "netlink/netlink-internal.h"

struct message_type {
	uint16_t type;
	enum net_object_type object;
	enum net_event_kind kind;
	size_t header_size;
};

static const struct message_type message_types[] = {
	{RTM_NEWLINK, NET_OBJECT_LINK, NET_EVENT_NEW, sizeof(struct ifinfomsg)},
	{RTM_DELLINK, NET_OBJECT_LINK, NET_EVENT_DELETE,
	 sizeof(struct ifinfomsg)},
	{RTM_NEWADDR, NET_OBJECT_ADDR, NET_EVENT_NEW, sizeof(struct ifaddrmsg)},
	{RTM_DELADDR, NET_OBJECT_ADDR, NET_EVENT_DELETE,
	 sizeof(struct ifaddrmsg)},
	{RTM_NEWROUTE, NET_OBJECT_ROUTE, NET_EVENT_NEW, sizeof(struct rtmsg)},
	{RTM_DELROUTE, NET_OBJECT_ROUTE, NET_EVENT_DELETE,
	 sizeof(struct rtmsg)},
	{RTM_NEWRULE, NET_OBJECT_RULE, NET_EVENT_NEW,
	 sizeof(struct fib_rule_hdr)},
	{RTM_DELRULE, NET_OBJECT_RULE, NET_EVENT_DELETE,
	 sizeof(struct fib_rule_hdr)},
};

/* State of one nl_msg_parse() call. */
struct parse_context {
	const struct nlmsghdr *nlh;
	struct net_event *event;
	int error; /* -EBADMSG until libnl hands over an object */
};

static const struct message_type *find_message_type(uint16_t type)
{
	for (size_t i = 0; i < MNL_ARRAY_SIZE(message_types); i++) {
		if (message_types[i].type == type)
			return &message_types[i];
	}

	return NULL;
}

static bool ip_family(int family)
{
	return family == AF_INET || family == AF_INET6;
}

/*
 * Returns true for the messages this program tracks: links of the
 * generic family (the bridge driver also sends AF_BRIDGE copies that
 * lack most attributes), IPv4 and IPv6 objects, and routes the kernel
 * did not clone from another route.
 */
static bool message_tracked(const struct nlmsghdr *nlh,
			   enum net_object_type object)
{
	const struct rtmsg *rtm = NLMSG_DATA(nlh);
	/* Every rtnetlink header starts with the family byte. */
	uint8_t family = *(const uint8_t *)NLMSG_DATA(nlh);

	switch (object) {
	case NET_OBJECT_LINK:
		return family == AF_UNSPEC;
	case NET_OBJECT_ADDR:
	case NET_OBJECT_RULE:
		return ip_family(family);
	case NET_OBJECT_ROUTE:
		return ip_family(family) && !(rtm->rtm_flags & RTM_F_CLONED);
	}

	return false;
}

/* Maps a libnl error code to an errno value. */
static int libnl_errno(int error)
{
	switch (-error) {
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_MSGSIZE:
		return -EMSGSIZE;
	default:
		return -EBADMSG;
	}
}

/*
 * Copies an nl_addr of the family into out. An empty address (a default
 * route's destination) reads as the family's zero address.
 */
static int copy_prefix(struct nl_addr *addr, int family, struct ip_prefix *out)
{
	unsigned bits = ip_family_bits(family);
	unsigned len = nl_addr_get_len(addr);
	unsigned prefixlen = nl_addr_get_prefixlen(addr);

	if (len != 0 && len != bits / 8)
		return -EBADMSG;
	if (prefixlen > bits)
		return -EBADMSG;

	*out = (struct ip_prefix){.family = family, .len = (uint8_t)prefixlen};
	memcpy(&out->addr, nl_addr_get_binary_addr(addr), len);
	return 0;
}

static void copy_string(char *dst, size_t size, const char *src)
{
	if (src)
		snprintf(dst, size, "%s", src);
	else
		dst[0] = '\0';
}

/* Finds IFLA_AF_SPEC / AF_INET6 / IFLA_INET6_CONF[DEVCONF_ACCEPT_RA_DEFRTR]. */
static int inet6_conf_attr(const struct nlattr *attr, void *data)
{
	int *value = data;
	const int32_t *conf;
	size_t length;

	if (mnl_attr_get_type(attr) != IFLA_INET6_CONF)
		return MNL_CB_OK;

	conf = mnl_attr_get_payload(attr);
	length = mnl_attr_get_payload_len(attr) / sizeof(*conf);
	if (length > DEVCONF_ACCEPT_RA_DEFRTR)
		*value = conf[DEVCONF_ACCEPT_RA_DEFRTR];
	return MNL_CB_OK;
}

static int af_spec_attr(const struct nlattr *attr, void *data)
{
	if (mnl_attr_get_type(attr) != AF_INET6)
		return MNL_CB_OK;

	mnl_attr_parse_nested(attr, inet6_conf_attr, data);
	return MNL_CB_OK;
}

static int link_attr(const struct nlattr *attr, void *data)
{
	if (mnl_attr_get_type(attr) != IFLA_AF_SPEC)
		return MNL_CB_OK;

	mnl_attr_parse_nested(attr, af_spec_attr, data);
	return MNL_CB_OK;
}

/* Returns the link's IPv6 accept_ra_defrtr, or -1 when not reported. */
static int read_accept_ra_defrtr(const struct nlmsghdr *nlh)
{
	int value = -1;

	mnl_attr_parse(nlh, sizeof(struct ifinfomsg), link_attr, &value);
	return value;
}

static int copy_link(struct rtnl_link *link, const struct nlmsghdr *nlh,
		     struct net_link *out)
{
	struct nl_addr *mac = rtnl_link_get_addr(link);
	uint32_t promote;

	*out = (struct net_link){
		.ifindex = rtnl_link_get_ifindex(link),
		.type = (unsigned short)rtnl_link_get_arptype(link),
		.flags = rtnl_link_get_flags(link),
		.operstate = rtnl_link_get_operstate(link),
		.mtu = rtnl_link_get_mtu(link),
		.group = rtnl_link_get_group(link),
		.master = rtnl_link_get_master(link),
		.promote_secondaries = -1,
		.accept_ra_defrtr = read_accept_ra_defrtr(nlh),
	};

	if (out->ifindex <= 0)
		return -EBADMSG;

	copy_string(out->name, sizeof(out->name), rtnl_link_get_name(link));
	copy_string(out->kind, sizeof(out->kind), rtnl_link_get_type(link));

	if (mac && nl_addr_get_len(mac) == MAC_LEN) {
		memcpy(out->mac, nl_addr_get_binary_addr(mac), MAC_LEN);
		out->has_mac = true;
	}

	/* The kernel reports IPv4 devconf only for links with IPv4 set up. */
	if (rtnl_link_inet_get_conf(link, IPV4_DEVCONF_PROMOTE_SECONDARIES,
				    &promote) == 0)
		out->promote_secondaries = promote != 0;

	return 0;
}

static int addr_attr(const struct nlattr *attr, void *data)
{
	uint8_t *protocol = data;

	if (mnl_attr_get_type(attr) != IFA_PROTO)
		return MNL_CB_OK;
	if (mnl_attr_validate(attr, MNL_TYPE_U8) < 0)
		return MNL_CB_ERROR;

	*protocol = mnl_attr_get_u8(attr);
	return MNL_CB_OK;
}

static int copy_addr(struct rtnl_addr *addr, const struct nlmsghdr *nlh,
		     struct net_addr *out)
{
	struct nl_addr *local = rtnl_addr_get_local(addr);
	int family = rtnl_addr_get_family(addr);
	int err;

	if (!local)
		return -EBADMSG;

	*out = (struct net_addr){
		.ifindex = rtnl_addr_get_ifindex(addr),
		.flags = rtnl_addr_get_flags(addr),
		.scope = (uint8_t)rtnl_addr_get_scope(addr),
	};

	err = copy_prefix(local, family, &out->local);
	if (err < 0)
		return err;

	/* The prefix length belongs to the peer when there is one. */
	out->local.len = (uint8_t)rtnl_addr_get_prefixlen(addr);
	if (out->local.len > ip_family_bits(family))
		return -EBADMSG;

	/* libnl 3.7 does not parse IFA_PROTO, which Linux 6.1 added. */
	if (mnl_attr_parse(nlh, sizeof(struct ifaddrmsg), addr_attr,
			   &out->protocol) < 0)
		return -EBADMSG;

	return 0;
}

static int copy_nexthop(struct rtnl_route *route, int family,
			struct net_route *out)
{
	struct rtnl_nexthop *nh;
	struct nl_addr *gateway;
	int err;

	/*
	 * Only the first nexthop fits the plain struct. This program never
	 * installs multipath routes.
	 */
	if (rtnl_route_get_nnexthops(route) < 1)
		return 0;

	nh = rtnl_route_nexthop_n(route, 0);
	out->oif = rtnl_route_nh_get_ifindex(nh);
	out->flags = rtnl_route_nh_get_flags(nh);

	gateway = rtnl_route_nh_get_gateway(nh);
	if (!gateway)
		return 0;

	err = copy_prefix(gateway, family, &out->gateway);
	if (err < 0)
		return err;

	out->gateway.len = (uint8_t)ip_family_bits(family);
	return 0;
}

static int copy_route(struct rtnl_route *route, struct net_route *out)
{
	int family = rtnl_route_get_family(route);
	int err;

	*out = (struct net_route){
		.table = rtnl_route_get_table(route),
		.metric = rtnl_route_get_priority(route),
		.protocol = rtnl_route_get_protocol(route),
		.scope = rtnl_route_get_scope(route),
		.type = rtnl_route_get_type(route),
	};

	err = copy_prefix(rtnl_route_get_dst(route), family, &out->dst);
	if (err < 0)
		return err;

	return copy_nexthop(route, family, out);
}

/* Rule fields that only the raw attributes carry. */
struct rule_extras {
	int64_t suppress_ifgroup;
	int64_t suppress_prefixlen;
	bool other_selectors;
};

/* The kernel sends -1 (as u32) for "not set". */
static int read_optional_u32(const struct nlattr *attr, int64_t *out)
{
	uint32_t value;

	if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
		return MNL_CB_ERROR;

	value = mnl_attr_get_u32(attr);
	*out = value == UINT32_MAX ? NET_RULE_UNSET : (int64_t)value;
	return MNL_CB_OK;
}

static int rule_attr(const struct nlattr *attr, void *data)
{
	struct rule_extras *extras = data;
	uint16_t type = mnl_attr_get_type(attr);

	switch (type) {
	case FRA_SUPPRESS_IFGROUP:
		return read_optional_u32(attr, &extras->suppress_ifgroup);
	case FRA_SUPPRESS_PREFIXLEN:
		return read_optional_u32(attr, &extras->suppress_prefixlen);
	case FRA_TUN_ID:
	case FRA_UID_RANGE:
		extras->other_selectors = true;
		return MNL_CB_OK;
	default:
		/* Newer selectors: DSCP, flow label, port masks, ... */
		if (type > FRA_DPORT_RANGE)
			extras->other_selectors = true;
		return MNL_CB_OK;
	}
}

/* Returns true when the rule has a selector libnl parses and we never set. */
static bool libnl_rule_selectors(struct rtnl_rule *rule)
{
	uint16_t start, end;
	uint8_t ip_proto;

	return rtnl_rule_get_dst(rule) || rtnl_rule_get_mark(rule) ||
	       rtnl_rule_get_mask(rule) || rtnl_rule_get_iif(rule) ||
	       rtnl_rule_get_oif(rule) || rtnl_rule_get_dsfield(rule) ||
	       rtnl_rule_get_goto(rule) || rtnl_rule_get_realms(rule) ||
	       rtnl_rule_get_l3mdev(rule) >= 0 ||
	       rtnl_rule_get_ipproto(rule, &ip_proto) == 0 ||
	       rtnl_rule_get_sport(rule, &start, &end) == 0 ||
	       rtnl_rule_get_dport(rule, &start, &end) == 0;
}

static int copy_rule(struct rtnl_rule *rule, const struct nlmsghdr *nlh,
		     struct net_rule *out)
{
	const struct fib_rule_hdr *frh = NLMSG_DATA(nlh);
	struct rule_extras extras = {
		.suppress_ifgroup = NET_RULE_UNSET,
		.suppress_prefixlen = NET_RULE_UNSET,
	};
	struct nl_addr *src = rtnl_rule_get_src(rule);
	int err;

	*out = (struct net_rule){
		.family = rtnl_rule_get_family(rule),
		.priority = rtnl_rule_get_prio(rule),
		.table = rtnl_rule_get_table(rule),
		.action = rtnl_rule_get_action(rule),
	};

	if (src) {
		err = copy_prefix(src, out->family, &out->src);
		if (err < 0)
			return err;
	}

	/* Absent FRA_PROTOCOL leaves the protocol 0 (unspec). */
	rtnl_rule_get_protocol(rule, &out->protocol);

	if (mnl_attr_parse(nlh, sizeof(*frh), rule_attr, &extras) < 0)
		return -EBADMSG;

	out->suppress_ifgroup = extras.suppress_ifgroup;
	out->suppress_prefixlen = extras.suppress_prefixlen;
	out->other_selectors = extras.other_selectors ||
			       libnl_rule_selectors(rule) || frh->dst_len ||
			       frh->flags & FIB_RULE_INVERT;
	return 0;
}

static void parsed_object(struct nl_object *object, void *arg)
{
	struct parse_context *ctx = arg;
	struct net_event *event = ctx->event;

	switch (event->type) {
	case NET_OBJECT_LINK:
		ctx->error =
			copy_link((struct rtnl_link *)object, ctx->nlh,
				  &event->link);
		break;
	case NET_OBJECT_ADDR:
		ctx->error = copy_addr((struct rtnl_addr *)object, ctx->nlh,
				       &event->addr);
		break;
	case NET_OBJECT_ROUTE:
		ctx->error =
			copy_route((struct rtnl_route *)object, &event->route);
		break;
	case NET_OBJECT_RULE:
		ctx->error = copy_rule((struct rtnl_rule *)object, ctx->nlh,
				       &event->rule);
		break;
	}
}

int netlink_parse_message(const struct nlmsghdr *nlh, struct net_event *event)
{
	const struct message_type *mt = find_message_type(nlh->nlmsg_type);
	struct net_event parsed = {0};
	struct parse_context ctx = {
		.nlh = nlh,
		.event = &parsed,
		.error = -EBADMSG,
	};
	struct nl_msg *msg;
	int err;

	if (!mt)
		return -ENOENT;
	if (nlh->nlmsg_len < NLMSG_LENGTH(mt->header_size))
		return -EBADMSG;
	if (!message_tracked(nlh, mt->object))
		return -ENOENT;

	/* nlmsg_convert() only copies the message it is given. */
	msg = nlmsg_convert((struct nlmsghdr *)nlh);
	if (!msg)
		return -ENOMEM;

	nlmsg_set_proto(msg, NETLINK_ROUTE);
	parsed.kind = mt->kind;
	parsed.type = mt->object;
	err = nl_msg_parse(msg, parsed_object, &ctx);
	nlmsg_free(msg);

	if (err < 0)
		return libnl_errno(err);
	if (ctx.error < 0)
		return ctx.error;

	*event = parsed;
	return 0;
}
