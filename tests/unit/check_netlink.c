/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of netlink/: requests built from plain objects and parsed
 * back, hand-made kernel messages, and the facade against the kernel.
 *
 * The kernel tests need root. Each one runs in the process Check forks
 * for it, which first moves into a private network namespace (unshare).
 * There it creates veth pairs and bridges with ip(8), and the namespace
 * disappears with the process. Without root they print a note and pass.
 */
#include <net/if.h> /* before the linux/ headers, which defer to it */

#include <check.h>
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <net/if_arp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/netobj.h"
#include "netlink/netlink-internal.h"
#include "netlink/netlink.h"

#define PROTO_ENID 236
#define TABLE_ENI 10001
#define GROUP_ENI 0x2ec

/* Plain values */

static struct ip_prefix prefix(const char *text)
{
	struct ip_prefix p;

	ck_assert_msg(ip_prefix_parse(text, AF_UNSPEC, &p) == 0, "%s", text);
	return p;
}

static struct ip_prefix address(const char *text)
{
	struct ip_prefix p;

	ck_assert_msg(ip_addr_parse(text, AF_UNSPEC, &p) == 0, "%s", text);
	return p;
}

static struct net_op addr_op(enum net_op_kind kind, int ifindex,
			     const char *local, uint32_t flags,
			     uint8_t protocol)
{
	return (struct net_op){
		.kind = kind,
		.type = NET_OBJECT_ADDR,
		.owner = ifindex,
		.addr =
			{
				.ifindex = ifindex,
				.local = prefix(local),
				.flags = flags,
				.protocol = protocol,
			},
	};
}

/* Returns a unicast route of protocol PROTO_ENID. gateway may be NULL. */
static struct net_route route_value(const char *dst, const char *gateway,
				    int oif, uint32_t table, uint32_t metric,
				    uint8_t scope)
{
	struct net_route r = {
		.table = table,
		.dst = prefix(dst),
		.oif = oif,
		.metric = metric,
		.protocol = PROTO_ENID,
		.scope = scope,
		.type = RTN_UNICAST,
	};

	if (gateway)
		r.gateway = address(gateway);

	return r;
}

/* Returns a rule of protocol PROTO_ENID. src is NULL for "from all". */
static struct net_rule rule_value(int family, uint32_t priority,
				  const char *src, uint32_t table)
{
	struct net_rule r = {
		.family = family,
		.priority = priority,
		.table = table,
		.action = FR_ACT_TO_TBL,
		.protocol = PROTO_ENID,
		.suppress_ifgroup = NET_RULE_UNSET,
		.suppress_prefixlen = NET_RULE_UNSET,
	};

	if (src)
		r.src = prefix(src);

	return r;
}

static struct net_op route_op(enum net_op_kind kind, struct net_route r)
{
	return (struct net_op){
		.kind = kind,
		.type = NET_OBJECT_ROUTE,
		.owner = r.oif,
		.route = r,
	};
}

static struct net_op rule_op(enum net_op_kind kind, struct net_rule r)
{
	return (struct net_op){
		.kind = kind,
		.type = NET_OBJECT_RULE,
		.rule = r,
	};
}

/* Request buffer with the alignment nlmsghdr needs. */
union message {
	struct nlmsghdr nlh;
	uint8_t bytes[NETLINK_REQUEST_MAX];
};

static const struct nlmsghdr *build(const struct net_op *op, uint32_t seq,
				    union message *msg)
{
	int len = netlink_build_request(op, seq, msg, sizeof(*msg));

	ck_assert_int_gt(len, 0);
	ck_assert_uint_eq((unsigned)len, msg->nlh.nlmsg_len);
	return &msg->nlh;
}

static struct net_event parse(const struct nlmsghdr *nlh)
{
	struct net_event event;

	ck_assert_int_eq(netlink_parse_message(nlh, &event), 0);
	return event;
}

/* Requests built and parsed back */

static const struct {
	const char *local;
	uint32_t flags;
	uint8_t protocol;
	uint8_t scope;
} addr_cases[] = {
	{"10.0.1.20/24", IFA_F_NOPREFIXROUTE, PROTO_ENID, RT_SCOPE_UNIVERSE},
	{"10.0.1.21/32", 0, 0, RT_SCOPE_UNIVERSE},
	{"2001:db8:1::10/128", IFA_F_NODAD | IFA_F_NOPREFIXROUTE, PROTO_ENID,
	 RT_SCOPE_UNIVERSE},
	{"fe80::1/64", IFA_F_NODAD, 0, RT_SCOPE_LINK},
};

START_TEST(request_addr_roundtrip)
{
	struct net_op op =
		addr_op(NET_OP_ADD, 7, addr_cases[_i].local,
			addr_cases[_i].flags, addr_cases[_i].protocol);
	const struct nlmsghdr *nlh;
	union message msg;
	struct net_event ev;

	op.addr.scope = addr_cases[_i].scope;
	nlh = build(&op, 42, &msg);
	ck_assert_uint_eq(nlh->nlmsg_type, RTM_NEWADDR);
	ck_assert_uint_eq(nlh->nlmsg_seq, 42);
	ck_assert_uint_eq(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK |
						    NLM_F_CREATE | NLM_F_EXCL);

	ev = parse(nlh);
	ck_assert_int_eq(ev.kind, NET_EVENT_NEW);
	ck_assert_int_eq(ev.type, NET_OBJECT_ADDR);
	ck_assert(net_addr_same(&ev.addr, &op.addr));
	ck_assert_uint_eq(ev.addr.local.len, op.addr.local.len);
	ck_assert_uint_eq(ev.addr.flags, op.addr.flags);
	ck_assert_uint_eq(ev.addr.scope, op.addr.scope);
	ck_assert_uint_eq(ev.addr.protocol, op.addr.protocol);
}
END_TEST

START_TEST(request_addr_delete)
{
	struct net_op op =
		addr_op(NET_OP_DELETE, 7, "10.0.1.20/24", 0, PROTO_ENID);
	union message msg;
	const struct nlmsghdr *nlh = build(&op, 1, &msg);
	struct net_event ev = parse(nlh);

	ck_assert_uint_eq(nlh->nlmsg_type, RTM_DELADDR);
	ck_assert_uint_eq(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	ck_assert_int_eq(ev.kind, NET_EVENT_DELETE);
	ck_assert(net_addr_same(&ev.addr, &op.addr));
	/* IFA_PROTO goes only into additions. */
	ck_assert_uint_eq(ev.addr.protocol, 0);
}
END_TEST

static const struct {
	const char *dst;
	const char *gateway;
	uint32_t table;
	uint32_t metric;
	uint8_t scope;
	uint32_t flags;
} route_cases[] = {
	{"10.0.1.0/24", NULL, RT_TABLE_MAIN, 513, RT_SCOPE_LINK, 0},
	{"10.0.1.0/24", NULL, TABLE_ENI, 0, RT_SCOPE_LINK, 0},
	{"0.0.0.0/0", "10.0.1.1", TABLE_ENI, 0, RT_SCOPE_UNIVERSE, 0},
	{"0.0.0.0/0", "10.0.1.1", TABLE_ENI, 0, RT_SCOPE_UNIVERSE,
	 RTNH_F_ONLINK},
	{"2001:db8:1::/64", NULL, TABLE_ENI, 1024, RT_SCOPE_UNIVERSE, 0},
	{"::/0", "fe80:ec2::1", TABLE_ENI, 512, RT_SCOPE_UNIVERSE, 0},
	{"::/0", "fe80:ec2::1", 200, 512, RT_SCOPE_UNIVERSE, 0},
};

START_TEST(request_route_roundtrip)
{
	struct net_route r =
		route_value(route_cases[_i].dst, route_cases[_i].gateway, 7,
			    route_cases[_i].table, route_cases[_i].metric,
			    route_cases[_i].scope);
	struct net_op op;
	const struct nlmsghdr *nlh;
	const struct rtmsg *rtm;
	union message msg;
	struct net_event ev;

	r.flags = route_cases[_i].flags;
	op = route_op(NET_OP_ADD, r);
	nlh = build(&op, 9, &msg);
	rtm = NLMSG_DATA(nlh);
	ck_assert_uint_eq(nlh->nlmsg_type, RTM_NEWROUTE);
	ck_assert_uint_eq(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK |
						    NLM_F_CREATE | NLM_F_EXCL);
	/* Ids above 255 travel only in RTA_TABLE. */
	ck_assert_uint_eq(rtm->rtm_table,
			  r.table < 256 ? r.table : RT_TABLE_UNSPEC);
	ck_assert_uint_eq(rtm->rtm_protocol, PROTO_ENID);

	ev = parse(nlh);
	ck_assert_int_eq(ev.type, NET_OBJECT_ROUTE);
	ck_assert(net_route_equal(&ev.route, &r));
	ck_assert_uint_eq(ev.route.flags & RTNH_F_ONLINK, r.flags);
}
END_TEST

START_TEST(request_route_type_defaults)
{
	struct net_route r = route_value("10.0.1.0/24", NULL, 7, TABLE_ENI, 0,
					 RT_SCOPE_LINK);
	struct net_op op;
	union message msg;

	r.type = RTN_UNSPEC;
	op = route_op(NET_OP_ADD, r);
	ck_assert_uint_eq(parse(build(&op, 1, &msg)).route.type, RTN_UNICAST);

	/* On delete, type 0 matches any route and is sent as it is. */
	op.kind = NET_OP_DELETE;
	ck_assert_uint_eq(parse(build(&op, 1, &msg)).route.type, RTN_UNSPEC);
	ck_assert_uint_eq(msg.nlh.nlmsg_type, RTM_DELROUTE);
}
END_TEST

static const struct {
	int family;
	uint32_t priority;
	const char *src;
	uint32_t table;
	int64_t suppress_ifgroup;
	int64_t suppress_prefixlen;
} rule_cases[] = {
	{AF_INET, 10001, "10.0.1.20/32", TABLE_ENI, NET_RULE_UNSET,
	 NET_RULE_UNSET},
	{AF_INET6, 10001, "2001:db8:1::10/128", TABLE_ENI, NET_RULE_UNSET,
	 NET_RULE_UNSET},
	{AF_INET, 10001, "10.0.8.0/28", TABLE_ENI, NET_RULE_UNSET,
	 NET_RULE_UNSET},
	{AF_INET, 9999, NULL, RT_TABLE_MAIN, GROUP_ENI, NET_RULE_UNSET},
	{AF_INET6, 9999, NULL, RT_TABLE_MAIN, GROUP_ENI, NET_RULE_UNSET},
	{AF_INET, 9998, NULL, RT_TABLE_MAIN, NET_RULE_UNSET, 0},
};

START_TEST(request_rule_roundtrip)
{
	struct net_rule r =
		rule_value(rule_cases[_i].family, rule_cases[_i].priority,
			   rule_cases[_i].src, rule_cases[_i].table);
	struct net_op op;
	const struct nlmsghdr *nlh;
	const struct fib_rule_hdr *frh;
	union message msg;
	struct net_event ev;

	r.suppress_ifgroup = rule_cases[_i].suppress_ifgroup;
	r.suppress_prefixlen = rule_cases[_i].suppress_prefixlen;
	op = rule_op(NET_OP_ADD, r);
	nlh = build(&op, 5, &msg);
	frh = NLMSG_DATA(nlh);
	ck_assert_uint_eq(nlh->nlmsg_type, RTM_NEWRULE);
	ck_assert_uint_eq(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK |
						    NLM_F_CREATE | NLM_F_EXCL);
	ck_assert_uint_eq(frh->action, FR_ACT_TO_TBL);
	ck_assert_uint_eq(frh->table, r.table < 256 ? r.table : 0);

	ev = parse(nlh);
	ck_assert_int_eq(ev.type, NET_OBJECT_RULE);
	ck_assert(!ev.rule.other_selectors);
	ck_assert_int_eq(ev.rule.suppress_ifgroup, r.suppress_ifgroup);
	ck_assert_int_eq(ev.rule.suppress_prefixlen, r.suppress_prefixlen);
	ck_assert(net_rule_equal(&ev.rule, &r));
}
END_TEST

START_TEST(request_rule_action_defaults)
{
	struct net_rule r =
		rule_value(AF_INET, 10001, "10.0.1.20/32", TABLE_ENI);
	struct net_op op;
	union message msg;

	/* Action 0 would make every lookup through the rule fail. */
	r.action = FR_ACT_UNSPEC;
	op = rule_op(NET_OP_ADD, r);
	ck_assert_uint_eq(parse(build(&op, 1, &msg)).rule.action,
			  FR_ACT_TO_TBL);

	op.kind = NET_OP_DELETE;
	ck_assert_uint_eq(parse(build(&op, 1, &msg)).rule.action,
			  FR_ACT_UNSPEC);
	ck_assert_uint_eq(msg.nlh.nlmsg_type, RTM_DELRULE);
	ck_assert_uint_eq(msg.nlh.nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
}
END_TEST

/* Returns the attribute of that type in len bytes of attributes, or NULL. */
static const struct nlattr *find_attr(const void *data, size_t len,
				      uint16_t type)
{
	const struct nlattr *attr = data;

	while (len >= (size_t)NLA_HDRLEN && attr->nla_len >= NLA_HDRLEN &&
	       attr->nla_len <= len) {
		if ((attr->nla_type & NLA_TYPE_MASK) == type)
			return attr;
		if ((size_t)NLA_ALIGN(attr->nla_len) >= len)
			break;

		len -= NLA_ALIGN(attr->nla_len);
		attr = (const void *)((const char *)attr +
				      NLA_ALIGN(attr->nla_len));
	}

	return NULL;
}

static const struct nlattr *message_attr(const struct nlmsghdr *nlh,
					 size_t header, uint16_t type)
{
	size_t offset = NLMSG_SPACE(header);

	ck_assert_uint_ge(nlh->nlmsg_len, offset);
	return find_attr((const char *)nlh + offset, nlh->nlmsg_len - offset,
			 type);
}

static const struct nlattr *nested_attr(const struct nlattr *nest,
					uint16_t type)
{
	ck_assert_ptr_nonnull(nest);
	return find_attr((const char *)nest + NLA_HDRLEN,
			 nest->nla_len - NLA_HDRLEN, type);
}

static uint32_t attr_u32(const struct nlattr *attr)
{
	uint32_t value;

	ck_assert_ptr_nonnull(attr);
	ck_assert_uint_eq(attr->nla_len, NLA_HDRLEN + sizeof(value));
	memcpy(&value, (const char *)attr + NLA_HDRLEN, sizeof(value));
	return value;
}

START_TEST(request_link_change)
{
	struct net_op op = {
		.kind = NET_OP_ADD,
		.type = NET_OBJECT_LINK,
		.link =
			{
				.ifindex = 7,
				.set_up = true,
				.mtu = 9001,
				.set_group = true,
				.group = GROUP_ENI,
				.promote_secondaries = true,
			},
	};
	union message msg;
	const struct nlmsghdr *nlh = build(&op, 3, &msg);
	const struct ifinfomsg *ifi = NLMSG_DATA(nlh);
	const struct nlattr *inet;

	ck_assert_uint_eq(nlh->nlmsg_type, RTM_NEWLINK);
	ck_assert_uint_eq(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	ck_assert_int_eq(ifi->ifi_index, 7);
	ck_assert_uint_eq(ifi->ifi_flags & IFF_UP, IFF_UP);
	ck_assert_uint_eq(ifi->ifi_change, IFF_UP);
	ck_assert_uint_eq(attr_u32(message_attr(nlh, sizeof(*ifi), IFLA_MTU)),
			  9001);
	ck_assert_uint_eq(attr_u32(message_attr(nlh, sizeof(*ifi), IFLA_GROUP)),
			  GROUP_ENI);

	/* IFLA_AF_SPEC / AF_INET / IFLA_INET_CONF / one devconf entry. */
	inet = nested_attr(message_attr(nlh, sizeof(*ifi), IFLA_AF_SPEC),
			   AF_INET);
	ck_assert_uint_eq(
		attr_u32(nested_attr(nested_attr(inet, IFLA_INET_CONF),
				     IPV4_DEVCONF_PROMOTE_SECONDARIES)),
		1);
}
END_TEST

START_TEST(request_link_change_minimal)
{
	struct net_op op = {
		.kind = NET_OP_ADD,
		.type = NET_OBJECT_LINK,
		.link = {.ifindex = 7, .mtu = 1500},
	};
	union message msg;
	const struct nlmsghdr *nlh = build(&op, 3, &msg);
	const struct ifinfomsg *ifi = NLMSG_DATA(nlh);
	const struct nlattr *af_spec;

	/* Nothing but the MTU changes: no flag, group or devconf. */
	ck_assert_uint_eq(ifi->ifi_change, 0);
	ck_assert_uint_eq(attr_u32(message_attr(nlh, sizeof(*ifi), IFLA_MTU)),
			  1500);
	ck_assert_ptr_null(message_attr(nlh, sizeof(*ifi), IFLA_GROUP));
	af_spec = message_attr(nlh, sizeof(*ifi), IFLA_AF_SPEC);
	if (af_spec)
		ck_assert_ptr_null(nested_attr(af_spec, AF_INET));
}
END_TEST

START_TEST(request_invalid_rejected)
{
	struct net_op rule = rule_op(
		NET_OP_ADD, rule_value(AF_INET, 1, "10.0.1.20/32", TABLE_ENI));
	struct net_op addr = addr_op(NET_OP_ADD, 7, "10.0.1.20/24", 0, 0);
	struct net_op link = {
		.kind = NET_OP_DELETE,
		.type = NET_OBJECT_LINK,
		.link = {.ifindex = 7},
	};
	union message msg;

	rule.rule.other_selectors = true;
	ck_assert_int_eq(netlink_build_request(&rule, 1, &msg, sizeof(msg)),
			 -EINVAL);

	rule.rule.other_selectors = false;
	rule.rule.src = prefix("2001:db8::1/128");
	ck_assert_int_eq(netlink_build_request(&rule, 1, &msg, sizeof(msg)),
			 -EINVAL);

	ck_assert_int_eq(netlink_build_request(&link, 1, &msg, sizeof(msg)),
			 -EINVAL);
	ck_assert_int_eq(netlink_build_request(&addr, 1, &msg, 16), -EMSGSIZE);

	addr.addr.local.family = AF_UNSPEC;
	ck_assert_int_eq(netlink_build_request(&addr, 1, &msg, sizeof(msg)),
			 -EINVAL);
}
END_TEST

/* Hand-made kernel messages */

static void *raw_start(union message *msg, uint16_t type, size_t header)
{
	memset(msg, 0, sizeof(*msg));
	msg->nlh.nlmsg_type = type;
	msg->nlh.nlmsg_len = NLMSG_LENGTH(header);
	return NLMSG_DATA(&msg->nlh);
}

static void raw_put(union message *msg, uint16_t type, const void *data,
		    size_t len)
{
	size_t offset = NLMSG_ALIGN(msg->nlh.nlmsg_len);
	struct nlattr *attr = (struct nlattr *)(msg->bytes + offset);

	ck_assert_uint_le(offset + NLA_HDRLEN + NLA_ALIGN(len), sizeof(*msg));
	attr->nla_type = type;
	attr->nla_len = (uint16_t)(NLA_HDRLEN + len);
	memcpy(msg->bytes + offset + NLA_HDRLEN, data, len);
	msg->nlh.nlmsg_len = (uint32_t)(offset + NLA_ALIGN(attr->nla_len));
}

static void raw_put_u32(union message *msg, uint16_t type, uint32_t value)
{
	raw_put(msg, type, &value, sizeof(value));
}

static size_t raw_nest_start(union message *msg, uint16_t type)
{
	size_t offset = NLMSG_ALIGN(msg->nlh.nlmsg_len);
	struct nlattr *attr = (struct nlattr *)(msg->bytes + offset);

	ck_assert_uint_le(offset + NLA_HDRLEN, sizeof(*msg));
	attr->nla_type = type | NLA_F_NESTED;
	msg->nlh.nlmsg_len = (uint32_t)(offset + NLA_HDRLEN);
	return offset;
}

static void raw_nest_end(union message *msg, size_t offset)
{
	struct nlattr *attr = (struct nlattr *)(msg->bytes + offset);

	attr->nla_len = (uint16_t)(msg->nlh.nlmsg_len - offset);
}

/* A link as the kernel reports a veth "ens6" enslaved to ifindex 9. */
static void raw_link(union message *msg, bool with_devconf)
{
	struct ifinfomsg *ifi = raw_start(msg, RTM_NEWLINK, sizeof(*ifi));
	uint8_t mac[MAC_LEN] = {0x02, 0xab, 0xcd, 0x00, 0x00, 0x01};
	uint32_t devconf[IPV4_DEVCONF_MAX] = {0};
	uint8_t operstate = IF_OPER_UP;
	size_t info, af_spec, inet;

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = 5;
	ifi->ifi_type = ARPHRD_ETHER;
	ifi->ifi_flags = IFF_UP | IFF_RUNNING;
	raw_put(msg, IFLA_IFNAME, "ens6", 5);
	raw_put(msg, IFLA_ADDRESS, mac, sizeof(mac));
	raw_put_u32(msg, IFLA_MTU, 9001);
	raw_put_u32(msg, IFLA_GROUP, GROUP_ENI);
	raw_put_u32(msg, IFLA_MASTER, 9);
	raw_put(msg, IFLA_OPERSTATE, &operstate, sizeof(operstate));

	info = raw_nest_start(msg, IFLA_LINKINFO);
	raw_put(msg, IFLA_INFO_KIND, "veth", 5);
	raw_nest_end(msg, info);

	if (!with_devconf)
		return;

	/* Dumps carry the devconf as an array, not as attributes. */
	devconf[IPV4_DEVCONF_PROMOTE_SECONDARIES - 1] = 1;
	af_spec = raw_nest_start(msg, IFLA_AF_SPEC);
	inet = raw_nest_start(msg, AF_INET);
	raw_put(msg, IFLA_INET_CONF, devconf, sizeof(devconf));
	raw_nest_end(msg, inet);
	raw_nest_end(msg, af_spec);
}

START_TEST(parse_link_fields)
{
	uint8_t mac[MAC_LEN] = {0x02, 0xab, 0xcd, 0x00, 0x00, 0x01};
	union message msg;
	struct net_event ev;

	raw_link(&msg, true);
	ev = parse(&msg.nlh);
	ck_assert_int_eq(ev.kind, NET_EVENT_NEW);
	ck_assert_int_eq(ev.type, NET_OBJECT_LINK);
	ck_assert_int_eq(ev.link.ifindex, 5);
	ck_assert_str_eq(ev.link.name, "ens6");
	ck_assert(ev.link.has_mac);
	ck_assert_mem_eq(ev.link.mac, mac, MAC_LEN);
	ck_assert_uint_eq(ev.link.type, ARPHRD_ETHER);
	ck_assert_uint_eq(ev.link.flags, IFF_UP | IFF_RUNNING);
	ck_assert_uint_eq(ev.link.operstate, IF_OPER_UP);
	ck_assert_uint_eq(ev.link.mtu, 9001);
	ck_assert_uint_eq(ev.link.group, GROUP_ENI);
	ck_assert_int_eq(ev.link.master, 9);
	ck_assert_str_eq(ev.link.kind, "veth");
	ck_assert_int_eq(ev.link.promote_secondaries, 1);
}
END_TEST

START_TEST(parse_link_without_devconf)
{
	union message msg;

	raw_link(&msg, false);
	msg.nlh.nlmsg_type = RTM_DELLINK;
	ck_assert_int_eq(parse(&msg.nlh).kind, NET_EVENT_DELETE);
	ck_assert_int_eq(parse(&msg.nlh).link.promote_secondaries, -1);
}
END_TEST

/* A rule as the kernel reports "from 10.0.1.20 lookup 10001 proto 236". */
static struct fib_rule_hdr *raw_rule(union message *msg)
{
	struct fib_rule_hdr *frh = raw_start(msg, RTM_NEWRULE, sizeof(*frh));
	struct in_addr src = address("10.0.1.20").addr.in;
	uint8_t protocol = PROTO_ENID;

	frh->family = AF_INET;
	frh->src_len = 32;
	frh->action = FR_ACT_TO_TBL;
	raw_put_u32(msg, FRA_TABLE, TABLE_ENI);
	raw_put_u32(msg, FRA_SUPPRESS_PREFIXLEN, UINT32_MAX);
	raw_put(msg, FRA_PROTOCOL, &protocol, sizeof(protocol));
	raw_put(msg, FRA_SRC, &src, sizeof(src));
	raw_put_u32(msg, FRA_PRIORITY, 10001);
	return frh;
}

START_TEST(parse_rule_plain)
{
	struct net_rule expected =
		rule_value(AF_INET, 10001, "10.0.1.20/32", TABLE_ENI);
	union message msg;
	struct net_event ev;

	raw_rule(&msg);
	ev = parse(&msg.nlh);
	ck_assert(!ev.rule.other_selectors);
	ck_assert_int_eq(ev.rule.suppress_prefixlen, NET_RULE_UNSET);
	ck_assert(net_rule_equal(&ev.rule, &expected));
}
END_TEST

START_TEST(parse_rule_suppress_values)
{
	union message msg;
	struct net_event ev;

	raw_rule(&msg);
	raw_put_u32(&msg, FRA_SUPPRESS_IFGROUP, GROUP_ENI);
	ev = parse(&msg.nlh);
	ck_assert_int_eq(ev.rule.suppress_ifgroup, GROUP_ENI);
	ck_assert(!ev.rule.other_selectors);
}
END_TEST

/* Selectors this program never sets, each added to the plain rule. */
enum selector {
	SELECTOR_FWMARK,
	SELECTOR_IIFNAME,
	SELECTOR_OIFNAME,
	SELECTOR_DST,
	SELECTOR_TOS,
	SELECTOR_UID_RANGE,
	SELECTOR_IP_PROTO,
	SELECTOR_DPORT,
	SELECTOR_GOTO,
	SELECTOR_L3MDEV,
	SELECTOR_INVERT,
	SELECTOR_UNKNOWN,
	SELECTOR_COUNT,
};

static void add_selector(union message *msg, struct fib_rule_hdr *frh,
			 enum selector selector)
{
	struct fib_rule_uid_range uids = {1000, 2000};
	struct fib_rule_port_range ports = {443, 443};
	struct in_addr dst = address("10.9.0.0").addr.in;
	uint8_t byte_value = 1;

	switch (selector) {
	case SELECTOR_FWMARK:
		raw_put_u32(msg, FRA_FWMARK, 5);
		break;
	case SELECTOR_IIFNAME:
		raw_put(msg, FRA_IIFNAME, "eth0", 5);
		break;
	case SELECTOR_OIFNAME:
		raw_put(msg, FRA_OIFNAME, "eth0", 5);
		break;
	case SELECTOR_DST:
		frh->dst_len = 16;
		raw_put(msg, FRA_DST, &dst, sizeof(dst));
		break;
	case SELECTOR_TOS:
		frh->tos = 0x10;
		break;
	case SELECTOR_UID_RANGE:
		raw_put(msg, FRA_UID_RANGE, &uids, sizeof(uids));
		break;
	case SELECTOR_IP_PROTO:
		raw_put(msg, FRA_IP_PROTO, &byte_value, sizeof(byte_value));
		break;
	case SELECTOR_DPORT:
		raw_put(msg, FRA_DPORT_RANGE, &ports, sizeof(ports));
		break;
	case SELECTOR_GOTO:
		raw_put_u32(msg, FRA_GOTO, 20000);
		break;
	case SELECTOR_L3MDEV:
		raw_put(msg, FRA_L3MDEV, &byte_value, sizeof(byte_value));
		break;
	case SELECTOR_INVERT:
		frh->flags |= FIB_RULE_INVERT;
		break;
	case SELECTOR_UNKNOWN:
		/* A selector newer than these headers (FRA_DSCP is 24). */
		raw_put(msg, FRA_DPORT_RANGE + 1, &byte_value,
			sizeof(byte_value));
		break;
	case SELECTOR_COUNT:
		break;
	}
}

START_TEST(parse_rule_other_selectors)
{
	union message msg;
	struct fib_rule_hdr *frh = raw_rule(&msg);
	struct net_event ev;

	add_selector(&msg, frh, (enum selector)_i);
	ev = parse(&msg.nlh);
	ck_assert_msg(ev.rule.other_selectors, "selector %d", _i);
}
END_TEST

START_TEST(parse_rule_truncated_attr)
{
	union message msg;

	raw_rule(&msg);
	/* FRA_SUPPRESS_IFGROUP must be a u32. */
	raw_put(&msg, FRA_SUPPRESS_IFGROUP, "ab", 2);
	ck_assert_int_eq(
		netlink_parse_message(&msg.nlh, &(struct net_event){0}),
		-EBADMSG);
}
END_TEST

START_TEST(parse_addr_protocol)
{
	union message msg;
	struct ifaddrmsg *ifa = raw_start(&msg, RTM_NEWADDR, sizeof(*ifa));
	struct in6_addr local = address("2001:db8:1::10").addr.in6;
	uint8_t protocol = PROTO_ENID;
	struct net_event ev;

	ifa->ifa_family = AF_INET6;
	ifa->ifa_prefixlen = 128;
	ifa->ifa_index = 3;
	raw_put(&msg, IFA_ADDRESS, &local, sizeof(local));
	raw_put_u32(&msg, IFA_FLAGS, IFA_F_NODAD | IFA_F_NOPREFIXROUTE);

	ev = parse(&msg.nlh);
	ck_assert_uint_eq(ev.addr.protocol, 0);
	ck_assert_uint_eq(ev.addr.flags, IFA_F_NODAD | IFA_F_NOPREFIXROUTE);
	ck_assert_int_eq(ev.addr.ifindex, 3);

	raw_put(&msg, IFA_PROTO, &protocol, sizeof(protocol));
	ev = parse(&msg.nlh);
	ck_assert_uint_eq(ev.addr.protocol, PROTO_ENID);
}
END_TEST

START_TEST(parse_ignored_messages)
{
	union message msg;
	struct net_event ev;
	struct ifinfomsg *ifi;
	struct rtmsg *rtm;

	/* The bridge driver's copy of a port's link message. */
	ifi = raw_start(&msg, RTM_NEWLINK, sizeof(*ifi));
	ifi->ifi_family = AF_BRIDGE;
	ifi->ifi_index = 3;
	ck_assert_int_eq(netlink_parse_message(&msg.nlh, &ev), -ENOENT);

	rtm = raw_start(&msg, RTM_NEWROUTE, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_flags = RTM_F_CLONED;
	ck_assert_int_eq(netlink_parse_message(&msg.nlh, &ev), -ENOENT);

	rtm->rtm_flags = 0;
	rtm->rtm_family = RTNL_FAMILY_IPMR;
	ck_assert_int_eq(netlink_parse_message(&msg.nlh, &ev), -ENOENT);

	raw_start(&msg, RTM_NEWNEIGH, 12);
	ck_assert_int_eq(netlink_parse_message(&msg.nlh, &ev), -ENOENT);

	raw_start(&msg, RTM_NEWADDR, 0);
	ck_assert_int_eq(netlink_parse_message(&msg.nlh, &ev), -EBADMSG);
}
END_TEST

/* The kernel, inside a private network namespace */

/*
 * Moves the test process into a new network namespace and opens a
 * request socket there with lo up. Returns NULL, after a note, when the
 * test cannot run because it lacks root.
 */
static struct netlink *netns_enter(const char *test)
{
	struct net_op lo_up = {
		.kind = NET_OP_ADD,
		.type = NET_OBJECT_LINK,
		.link = {.ifindex = 1, .set_up = true},
	};
	struct netlink *nl;
	int error;

	if (geteuid() != 0) {
		/* Check names the test function after the test plus "_fn". */
		fprintf(stderr, "check_netlink: %.*s skipped: needs root\n",
			(int)(strlen(test) - 3), test);
		return NULL;
	}

	/* First of all: nothing may touch the machine's own namespace. */
	if (unshare(CLONE_NEWNET) < 0)
		ck_abort_msg("unshare(CLONE_NEWNET): %s", strerror(errno));

	ck_assert_int_eq(netlink_open(&nl), 0);
	ck_assert_int_eq(netlink_apply(nl, &lo_up, 1, &error), 0);
	return nl;
}

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void run(const char *fmt, ...)
{
	char command[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(command, sizeof(command), fmt, ap);
	va_end(ap);

	ck_assert_msg(system(command) == 0, "failed: %s", command);
}

/* Creates a veth pair with both ends up and returns name's ifindex. */
static int veth_up(const char *name, const char *peer)
{
	run("ip link add name %s type veth peer name %s", name, peer);
	run("ip link set %s up && ip link set %s up", name, peer);
	return (int)if_nametoindex(name);
}

static int apply_one(struct netlink *nl, const struct net_op *op)
{
	int error = 1;
	int ret = netlink_apply(nl, op, 1, &error);

	ck_assert_int_eq(ret, error);
	return error;
}

static struct net_state dump(struct netlink *nl, unsigned what,
			     uint8_t protocol)
{
	struct net_state state = {0};

	ck_assert_int_eq(netlink_dump(nl, what, protocol, &state), 0);
	return state;
}

static const struct net_addr *find_addr(const struct net_state *s,
					const struct net_addr *a)
{
	for (size_t i = 0; i < s->n_addrs; i++) {
		if (net_addr_same(&s->addrs[i], a))
			return &s->addrs[i];
	}

	return NULL;
}

static size_t count_routes(const struct net_state *s, const struct net_route *r)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_routes; i++)
		n += net_route_equal(&s->routes[i], r);

	return n;
}

static size_t count_rules(const struct net_state *s, const struct net_rule *r)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_rules; i++)
		n += net_rule_equal(&s->rules[i], r);

	return n;
}

static const struct net_link *find_link(const struct net_state *s,
					const char *name)
{
	for (size_t i = 0; i < s->n_links; i++) {
		if (strcmp(s->links[i].name, name) == 0)
			return &s->links[i];
	}

	return NULL;
}

START_TEST(kernel_addr_add_dump_delete)
{
	struct netlink *nl = netns_enter(__func__);
	struct net_op ops[3];
	struct net_state s = {0};
	const struct net_addr *found;
	int errors[3], ifindex;

	if (!nl)
		return;

	ifindex = veth_up("eni1", "eni1-vpc");
	ops[0] = addr_op(NET_OP_ADD, ifindex, "10.0.1.20/24",
			 IFA_F_NOPREFIXROUTE, PROTO_ENID);
	ops[1] = addr_op(NET_OP_ADD, ifindex, "2001:db8:1::10/128",
			 IFA_F_NODAD | IFA_F_NOPREFIXROUTE, PROTO_ENID);
	ops[2] = addr_op(NET_OP_ADD, ifindex, "10.0.1.21/32", 0, 0);
	ck_assert_int_eq(netlink_apply(nl, ops, 3, errors), 0);

	s = dump(nl, NETLINK_DUMP_ADDRS, 0);
	for (int i = 0; i < 3; i++) {
		found = find_addr(&s, &ops[i].addr);
		ck_assert_msg(found, "address %d missing", i);
		ck_assert_uint_eq(found->local.len, ops[i].addr.local.len);
		ck_assert_uint_eq(found->flags & ops[i].addr.flags,
				  ops[i].addr.flags);
		ck_assert_uint_eq(found->protocol, ops[i].addr.protocol);
	}
	net_state_clear(&s);

	/* Adding again: "exists" counts as success. */
	ck_assert_int_eq(netlink_apply(nl, ops, 3, errors), 0);

	for (int i = 0; i < 3; i++)
		ops[i].kind = NET_OP_DELETE;
	ck_assert_int_eq(netlink_apply(nl, ops, 3, errors), 0);

	s = dump(nl, NETLINK_DUMP_ADDRS, 0);
	for (int i = 0; i < 3; i++)
		ck_assert_msg(!find_addr(&s, &ops[i].addr), "address %d kept",
			      i);
	net_state_clear(&s);

	/* Deleting what is gone succeeds too (EADDRNOTAVAIL). */
	ck_assert_int_eq(netlink_apply(nl, ops, 3, errors), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(errors[i], 0);

	netlink_close(nl);
}
END_TEST

START_TEST(kernel_route_add_dump_delete)
{
	struct netlink *nl = netns_enter(__func__);
	struct net_route routes[6];
	struct net_op ops[6];
	struct net_state s = {0};
	int errors[6], eni;

	if (!nl)
		return;

	eni = veth_up("eni1", "eni1-vpc");
	routes[0] = route_value("10.0.1.0/24", NULL, eni, RT_TABLE_MAIN, 513,
				RT_SCOPE_LINK);
	/* The subnet route first, so the gateway below resolves. */
	routes[1] = route_value("10.0.1.0/24", NULL, eni, TABLE_ENI, 0,
				RT_SCOPE_LINK);
	routes[2] = route_value("0.0.0.0/0", "10.0.1.1", eni, TABLE_ENI, 0,
				RT_SCOPE_UNIVERSE);
	routes[3] = route_value("10.9.0.0/16", "10.99.0.1", eni, TABLE_ENI, 0,
				RT_SCOPE_UNIVERSE);
	routes[3].flags = RTNH_F_ONLINK;
	/* The kernel reports scope universe for every IPv6 route. */
	routes[4] = route_value("2001:db8:1::/64", NULL, eni, TABLE_ENI, 1024,
				RT_SCOPE_UNIVERSE);
	routes[5] = route_value("::/0", "fe80:ec2::1", eni, TABLE_ENI, 512,
				RT_SCOPE_UNIVERSE);
	for (int i = 0; i < 6; i++)
		ops[i] = route_op(NET_OP_ADD, routes[i]);
	ck_assert_int_eq(netlink_apply(nl, ops, 6, errors), 0);

	s = dump(nl, NETLINK_DUMP_ROUTES, PROTO_ENID);
	ck_assert_uint_eq(s.n_routes, 6);
	for (int i = 0; i < 6; i++)
		ck_assert_msg(count_routes(&s, &routes[i]) == 1, "route %d", i);
	for (size_t i = 0; i < s.n_routes; i++) {
		if (s.routes[i].dst.len == 16)
			ck_assert(s.routes[i].flags & RTNH_F_ONLINK);
	}
	net_state_clear(&s);

	/* Unfiltered, the kernel's own routes (local table, fe80::/64) too. */
	s = dump(nl, NETLINK_DUMP_ROUTES, 0);
	ck_assert_uint_gt(s.n_routes, 6);
	net_state_clear(&s);

	for (int i = 5; i >= 0; i--)
		ops[5 - i] = route_op(NET_OP_DELETE, routes[i]);
	ck_assert_int_eq(netlink_apply(nl, ops, 6, errors), 0);
	s = dump(nl, NETLINK_DUMP_ROUTES, PROTO_ENID);
	ck_assert_uint_eq(s.n_routes, 0);
	net_state_clear(&s);

	/* Deleting what is gone succeeds (ESRCH, ENOENT). */
	ck_assert_int_eq(netlink_apply(nl, ops, 6, errors), 0);
	netlink_close(nl);
}
END_TEST

START_TEST(kernel_rule_add_dump_delete)
{
	struct netlink *nl = netns_enter(__func__);
	struct net_rule rules[3];
	struct net_op ops[4];
	struct net_state s = {0};
	int errors[4];

	if (!nl)
		return;

	rules[0] = rule_value(AF_INET, 10001, "10.0.1.20/32", TABLE_ENI);
	rules[1] = rule_value(AF_INET6, 10001, "2001:db8:1::10/128", TABLE_ENI);
	rules[2] = rule_value(AF_INET, 9999, NULL, RT_TABLE_MAIN);
	rules[2].suppress_ifgroup = GROUP_ENI;

	/* The same rule twice: EXCL makes the second "exists". */
	ops[0] = rule_op(NET_OP_ADD, rules[0]);
	ops[1] = rule_op(NET_OP_ADD, rules[0]);
	ops[2] = rule_op(NET_OP_ADD, rules[1]);
	ops[3] = rule_op(NET_OP_ADD, rules[2]);
	ck_assert_int_eq(netlink_apply(nl, ops, 4, errors), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(errors[i], 0);

	run("ip rule add fwmark 5 lookup 100 priority 500");
	s = dump(nl, NETLINK_DUMP_RULES, 0);
	for (int i = 0; i < 3; i++)
		ck_assert_msg(count_rules(&s, &rules[i]) == 1, "rule %d", i);
	for (size_t i = 0; i < s.n_rules; i++) {
		const struct net_rule *r = &s.rules[i];

		ck_assert_int_eq(r->other_selectors, r->priority == 500);
		if (r->priority == 32766)
			ck_assert_uint_eq(r->protocol, RTPROT_KERNEL);
	}
	net_state_clear(&s);

	for (int i = 0; i < 3; i++)
		ops[i] = rule_op(NET_OP_DELETE, rules[i]);
	ck_assert_int_eq(netlink_apply(nl, ops, 3, errors), 0);
	s = dump(nl, NETLINK_DUMP_RULES, 0);
	for (int i = 0; i < 3; i++)
		ck_assert_msg(count_rules(&s, &rules[i]) == 0, "rule %d", i);
	net_state_clear(&s);

	/* Deleting what is gone succeeds (ENOENT). */
	ck_assert_int_eq(netlink_apply(nl, ops, 3, errors), 0);
	netlink_close(nl);
}
END_TEST

START_TEST(kernel_batch_failure_in_middle)
{
	struct netlink *nl = netns_enter(__func__);
	struct net_op ops[3];
	int errors[3], eni, ret;

	if (!nl)
		return;

	eni = veth_up("eni1", "eni1-vpc");
	ops[0] = addr_op(NET_OP_ADD, eni, "10.0.1.20/24", 0, 0);
	/* No such device: the kernel fails this one and goes on. */
	ops[1] = route_op(NET_OP_ADD, route_value("10.0.2.0/24", NULL, 9999,
						  TABLE_ENI, 0, RT_SCOPE_LINK));
	ops[2] = rule_op(NET_OP_ADD,
			 rule_value(AF_INET, 10001, "10.0.1.20/32", TABLE_ENI));

	ret = netlink_apply(nl, ops, 3, errors);
	ck_assert_int_eq(errors[0], 0);
	ck_assert_int_eq(errors[1], -ENODEV);
	ck_assert_int_eq(errors[2], 0);
	ck_assert_int_eq(ret, -ENODEV);
	netlink_close(nl);
}
END_TEST

START_TEST(kernel_link_change_and_dump)
{
	struct netlink *nl = netns_enter(__func__);
	const struct net_link *eni, *peer, *bridge, *lo;
	struct net_op op = {.kind = NET_OP_ADD, .type = NET_OBJECT_LINK};
	struct net_state s = {0};

	if (!nl)
		return;

	run("ip link add name eni1 type veth peer name eni1-vpc");
	run("ip link add name br0 type bridge");
	run("ip link set eni1-vpc master br0");
	op.link = (struct net_link_change){
		.ifindex = (int)if_nametoindex("eni1"),
		.set_up = true,
		.mtu = 9001,
		.set_group = true,
		.group = GROUP_ENI,
		.promote_secondaries = true,
	};
	ck_assert_int_eq(apply_one(nl, &op), 0);

	s = dump(nl, NETLINK_DUMP_LINKS, 0);
	eni = find_link(&s, "eni1");
	peer = find_link(&s, "eni1-vpc");
	bridge = find_link(&s, "br0");
	lo = find_link(&s, "lo");
	ck_assert_ptr_nonnull(eni);
	ck_assert_ptr_nonnull(peer);
	ck_assert_ptr_nonnull(bridge);
	ck_assert_ptr_nonnull(lo);

	ck_assert_int_eq(eni->ifindex, op.link.ifindex);
	ck_assert_uint_eq(eni->flags & IFF_UP, IFF_UP);
	ck_assert_uint_eq(eni->mtu, 9001);
	ck_assert_uint_eq(eni->group, GROUP_ENI);
	ck_assert_int_eq(eni->promote_secondaries, 1);
	ck_assert_str_eq(eni->kind, "veth");
	ck_assert(eni->has_mac);
	ck_assert_uint_eq(eni->type, ARPHRD_ETHER);
	ck_assert_int_eq(eni->master, 0);

	ck_assert_int_eq(peer->promote_secondaries, 0);
	ck_assert_uint_eq(peer->group, 0);
	ck_assert_int_eq(peer->master, bridge->ifindex);
	ck_assert_uint_eq(peer->flags & IFF_UP, 0);
	ck_assert_uint_eq(peer->operstate, IF_OPER_DOWN);
	ck_assert_str_eq(bridge->kind, "bridge");

	ck_assert_str_eq(lo->kind, "");
	ck_assert_uint_eq(lo->type, ARPHRD_LOOPBACK);
	ck_assert_uint_eq(lo->flags & IFF_UP, IFF_UP);
	net_state_clear(&s);
	netlink_close(nl);
}
END_TEST

#define MANY_ADDRS 2000

/*
 * Adds MANY_ADDRS /32 addresses (10.1.0.1 onwards) to the link in one
 * netlink_apply() call and checks that each succeeded.
 */
static void add_many_addrs(struct netlink *nl, int ifindex, uint8_t protocol)
{
	struct net_op *ops = calloc(MANY_ADDRS, sizeof(*ops));
	int *errors = calloc(MANY_ADDRS, sizeof(*errors));
	char text[32];

	ck_assert_ptr_nonnull(ops);
	ck_assert_ptr_nonnull(errors);
	for (int i = 0; i < MANY_ADDRS; i++) {
		snprintf(text, sizeof(text), "10.1.%d.%d/32", i / 250,
			 i % 250 + 1);
		ops[i] = addr_op(NET_OP_ADD, ifindex, text, 0, protocol);
	}

	ck_assert_int_eq(netlink_apply(nl, ops, MANY_ADDRS, errors), 0);
	for (int i = 0; i < MANY_ADDRS; i++)
		ck_assert_int_eq(errors[i], 0);

	free(ops);
	free(errors);
}

static size_t count_addrs_of(const struct net_state *s, int ifindex,
			     uint8_t protocol)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_addrs; i++)
		n += s->addrs[i].ifindex == ifindex &&
		     s->addrs[i].protocol == protocol;

	return n;
}

START_TEST(kernel_apply_large_batch)
{
	struct netlink *nl = netns_enter(__func__);
	struct net_state s = {0};
	int eni;

	if (!nl)
		return;

	eni = veth_up("eni1", "eni1-vpc");
	add_many_addrs(nl, eni, PROTO_ENID);

	/* The dump spans many datagrams. */
	s = dump(nl, NETLINK_DUMP_ADDRS | NETLINK_DUMP_LINKS, 0);
	ck_assert_uint_eq(count_addrs_of(&s, eni, PROTO_ENID), MANY_ADDRS);
	ck_assert_ptr_nonnull(find_link(&s, "eni1"));
	net_state_clear(&s);
	netlink_close(nl);
}
END_TEST

/*
 * Forks a process that adds and deletes one address on the link every
 * 5 ms, 200 times (at least one second), and stops early when the test
 * process exits.
 */
static pid_t start_address_churn(int ifindex)
{
	struct net_op op = addr_op(NET_OP_ADD, ifindex, "10.2.0.1/32", 0, 0);
	pid_t parent = getpid();
	struct netlink *nl;
	pid_t pid = fork();
	int error;

	ck_assert_int_ge(pid, 0);
	if (pid > 0)
		return pid;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent || netlink_open(&nl) < 0)
		_exit(1);

	for (int i = 0; i < 200; i++) {
		op.kind = i % 2 ? NET_OP_DELETE : NET_OP_ADD;
		netlink_apply(nl, &op, 1, &error);
		usleep(5000);
	}

	netlink_close(nl);
	_exit(0);
}

/* Dumps the addresses and returns the result of netlink_dump(). */
static int dump_addrs_exactly_once(struct netlink *nl, int ifindex)
{
	struct net_state s = {0};
	int ret = netlink_dump(nl, NETLINK_DUMP_ADDRS, 0, &s);

	/* A restarted dump contains every address once, never twice. */
	if (ret == 0)
		ck_assert_uint_eq(count_addrs_of(&s, ifindex, PROTO_ENID),
				  MANY_ADDRS);

	net_state_clear(&s);
	return ret;
}

START_TEST(kernel_dump_during_changes)
{
	struct netlink *nl = netns_enter(__func__);
	int eni, status;
	pid_t churn;

	if (!nl)
		return;

	eni = veth_up("eni1", "eni1-vpc");
	add_many_addrs(nl, eni, PROTO_ENID);
	churn = start_address_churn(eni);

	/*
	 * While the table changes, dumps are interrupted and restarted. A
	 * dump interrupted at every restart fails with -EINTR, which happens
	 * often on a slow machine (under valgrind).
	 */
	for (int i = 0; i < 1000 && waitpid(churn, &status, WNOHANG) == 0;
	     i++) {
		int ret = dump_addrs_exactly_once(nl, eni);

		ck_assert_msg(ret == 0 || ret == -EINTR, "dump: %d", ret);
	}

	kill(churn, SIGKILL);
	waitpid(churn, &status, 0);
	ck_assert_int_eq(dump_addrs_exactly_once(nl, eni), 0);
	netlink_close(nl);
}
END_TEST

/* Events collected from the event socket. */
struct collector {
	struct net_event events[256];
	size_t count;
};

static void collect(const struct net_event *event, void *userdata)
{
	struct collector *c = userdata;

	if (c->count < sizeof(c->events) / sizeof(*c->events))
		c->events[c->count++] = *event;
}

typedef bool (*event_match_fn)(const struct net_event *event, const void *arg);

/* Reads events for up to two seconds until one matches. */
static const struct net_event *wait_event(struct netlink_monitor *mon,
					  struct collector *c,
					  event_match_fn match, const void *arg)
{
	struct pollfd pfd = {.fd = netlink_monitor_fd(mon), .events = POLLIN};

	for (int round = 0; round < 20; round++) {
		for (size_t i = 0; i < c->count; i++) {
			if (match(&c->events[i], arg))
				return &c->events[i];
		}

		c->count = 0;
		poll(&pfd, 1, 100);
		ck_assert_int_eq(netlink_monitor_read(mon, collect, c), 0);
	}

	return NULL;
}

static bool link_named(const struct net_event *ev, const void *arg)
{
	return ev->kind == NET_EVENT_NEW && ev->type == NET_OBJECT_LINK &&
	       strcmp(ev->link.name, arg) == 0;
}

static bool addr_added(const struct net_event *ev, const void *arg)
{
	return ev->kind == NET_EVENT_NEW && ev->type == NET_OBJECT_ADDR &&
	       net_addr_same(&ev->addr, arg);
}

static bool rule_deleted(const struct net_event *ev, const void *arg)
{
	return ev->kind == NET_EVENT_DELETE && ev->type == NET_OBJECT_RULE &&
	       net_rule_equal(&ev->rule, arg);
}

START_TEST(kernel_monitor_events)
{
	struct netlink *nl = netns_enter(__func__);
	struct collector *c = calloc(1, sizeof(*c));
	struct net_rule rule =
		rule_value(AF_INET6, 10001, "2001:db8:1::10/128", TABLE_ENI);
	struct netlink_monitor *mon;
	const struct net_event *ev;
	struct net_op op;
	int ifindex;

	if (!nl)
		goto out;

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(netlink_monitor_open(&mon, 0), 0);

	run("ip link add name eth1 type veth peer name eth1-vpc");
	ev = wait_event(mon, c, link_named, "eth1");
	ck_assert_ptr_nonnull(ev);
	ifindex = ev->link.ifindex;
	ck_assert_int_eq(ifindex, (int)if_nametoindex("eth1"));
	ck_assert_str_eq(ev->link.kind, "veth");

	/* A rename arrives as RTM_NEWLINK with the same ifindex. */
	run("ip link set eth1 name ens6");
	ev = wait_event(mon, c, link_named, "ens6");
	ck_assert_ptr_nonnull(ev);
	ck_assert_int_eq(ev->link.ifindex, ifindex);

	op = addr_op(NET_OP_ADD, ifindex, "10.0.1.20/24", IFA_F_NOPREFIXROUTE,
		     PROTO_ENID);
	ck_assert_int_eq(apply_one(nl, &op), 0);
	ev = wait_event(mon, c, addr_added, &op.addr);
	ck_assert_ptr_nonnull(ev);
	ck_assert_uint_eq(ev->addr.protocol, PROTO_ENID);

	op = rule_op(NET_OP_ADD, rule);
	ck_assert_int_eq(apply_one(nl, &op), 0);
	op.kind = NET_OP_DELETE;
	ck_assert_int_eq(apply_one(nl, &op), 0);
	ck_assert_ptr_nonnull(wait_event(mon, c, rule_deleted, &rule));

	netlink_monitor_close(mon);
	netlink_close(nl);
out:
	free(c);
}
END_TEST

START_TEST(kernel_monitor_overflow)
{
	struct netlink *nl = netns_enter(__func__);
	struct collector *c = calloc(1, sizeof(*c));
	struct netlink_monitor *mon;
	int eni;

	if (!nl)
		goto out;

	ck_assert_ptr_nonnull(c);
	eni = veth_up("eni1", "eni1-vpc");

	/* A tiny buffer, not read while the addresses appear. */
	ck_assert_int_eq(netlink_monitor_open(&mon, 4096), 0);
	add_many_addrs(nl, eni, 0);

	ck_assert_int_eq(netlink_monitor_read(mon, collect, c), -ENOBUFS);
	/* The socket stays usable after the overrun. */
	ck_assert_int_eq(netlink_monitor_read(mon, collect, c), 0);

	netlink_monitor_close(mon);
	netlink_close(nl);
out:
	free(c);
}
END_TEST

START_TEST(kernel_link_driver)
{
	struct netlink *nl = netns_enter(__func__);
	char driver[32], tiny[3];
	int eni, bridge;

	if (!nl)
		return;

	eni = veth_up("eni1", "eni1-vpc");
	run("ip link add name br0 type bridge");
	bridge = (int)if_nametoindex("br0");

	ck_assert_int_eq(
		netlink_link_driver(eni, "eni1", driver, sizeof(driver)), 0);
	ck_assert_str_eq(driver, "veth");
	ck_assert_int_eq(
		netlink_link_driver(bridge, "br0", driver, sizeof(driver)), 0);
	ck_assert_str_eq(driver, "bridge");
	ck_assert_int_eq(netlink_link_driver(eni, "eni1", tiny, sizeof(tiny)),
			 -ENOBUFS);

	/* A name that no longer maps to the ifindex. */
	ck_assert_int_eq(
		netlink_link_driver(bridge, "eni1", driver, sizeof(driver)),
		-ENODEV);
	run("ip link set eni1 name ens6");
	ck_assert_int_eq(
		netlink_link_driver(eni, "eni1", driver, sizeof(driver)),
		-ENODEV);
	ck_assert_int_eq(
		netlink_link_driver(eni, "ens6", driver, sizeof(driver)), 0);
	netlink_close(nl);
}
END_TEST

static Suite *netlink_suite(void)
{
	Suite *s = suite_create("netlink");
	TCase *request = tcase_create("request");
	TCase *parse_case = tcase_create("parse");
	TCase *kernel = tcase_create("kernel");

	tcase_add_loop_test(request, request_addr_roundtrip, 0,
			    (int)(sizeof(addr_cases) / sizeof(*addr_cases)));
	tcase_add_test(request, request_addr_delete);
	tcase_add_loop_test(request, request_route_roundtrip, 0,
			    (int)(sizeof(route_cases) / sizeof(*route_cases)));
	tcase_add_test(request, request_route_type_defaults);
	tcase_add_loop_test(request, request_rule_roundtrip, 0,
			    (int)(sizeof(rule_cases) / sizeof(*rule_cases)));
	tcase_add_test(request, request_rule_action_defaults);
	tcase_add_test(request, request_link_change);
	tcase_add_test(request, request_link_change_minimal);
	tcase_add_test(request, request_invalid_rejected);
	suite_add_tcase(s, request);

	tcase_add_test(parse_case, parse_link_fields);
	tcase_add_test(parse_case, parse_link_without_devconf);
	tcase_add_test(parse_case, parse_rule_plain);
	tcase_add_test(parse_case, parse_rule_suppress_values);
	tcase_add_loop_test(parse_case, parse_rule_other_selectors, 0,
			    SELECTOR_COUNT);
	tcase_add_test(parse_case, parse_rule_truncated_attr);
	tcase_add_test(parse_case, parse_addr_protocol);
	tcase_add_test(parse_case, parse_ignored_messages);
	suite_add_tcase(s, parse_case);

	/* Creating thousands of objects takes a few seconds. */
	tcase_set_timeout(kernel, 60);
	tcase_add_test(kernel, kernel_addr_add_dump_delete);
	tcase_add_test(kernel, kernel_route_add_dump_delete);
	tcase_add_test(kernel, kernel_rule_add_dump_delete);
	tcase_add_test(kernel, kernel_batch_failure_in_middle);
	tcase_add_test(kernel, kernel_link_change_and_dump);
	tcase_add_test(kernel, kernel_apply_large_batch);
	tcase_add_test(kernel, kernel_dump_during_changes);
	tcase_add_test(kernel, kernel_monitor_events);
	tcase_add_test(kernel, kernel_monitor_overflow);
	tcase_add_test(kernel, kernel_link_driver);
	suite_add_tcase(s, kernel);

	return s;
}

int main(void)
{
	SRunner *runner = srunner_create(netlink_suite());
	int failed;

	srunner_run_all(runner, CK_ENV);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
