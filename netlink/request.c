/* SPDX-License-Identifier: MIT */
/*
 * Plain objects to request messages. Each operation is described as an
 * rtnl object and turned into a message by libnl-route-3's
 * rtnl_*_build_*_request(). The bytes are copied into the caller's batch
 * buffer, where the sequence number and flags are set and the attributes
 * libnl 3.7 lacks are appended with libmnl.
 */
#include "netlink/netlink.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/ip.h>
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

/* Maps a libnl error code to an errno value. */
static int libnl_errno(int error)
{
	switch (-error) {
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_MSGSIZE:
		return -EMSGSIZE;
	default:
		return -EINVAL;
	}
}

static bool ip_family(int family)
{
	return family == AF_INET || family == AF_INET6;
}

/*
 * Returns a new nl_addr for p (the caller puts it), or NULL. A zero
 * prefix length gives an empty address, so no destination attribute is
 * sent for a default route.
 */
static struct nl_addr *build_nl_addr(const struct ip_prefix *p)
{
	struct nl_addr *addr;

	if (p->len == 0) {
		addr = nl_addr_alloc(0);
		if (addr)
			nl_addr_set_family(addr, p->family);
		return addr;
	}

	addr = nl_addr_build(p->family, &p->addr,
			     ip_family_bits(p->family) / 8);
	if (addr)
		nl_addr_set_prefixlen(addr, p->len);
	return addr;
}

static int build_link(const struct net_op *op, struct nl_msg **msg)
{
	const struct net_link_change *change = &op->link;
	struct rtnl_link *orig = rtnl_link_alloc();
	struct rtnl_link *changes = rtnl_link_alloc();
	int err = -NLE_NOMEM;

	if (!orig || !changes)
		goto out;

	/* An orig with only the ifindex is enough to address the link. */
	rtnl_link_set_ifindex(orig, change->ifindex);
	if (change->set_up)
		rtnl_link_set_flags(changes, IFF_UP);
	if (change->mtu)
		rtnl_link_set_mtu(changes, change->mtu);
	if (change->set_group)
		rtnl_link_set_group(changes, change->group);
	if (change->promote_secondaries) {
		/* Sent as IFLA_AF_SPEC / AF_INET / IFLA_INET_CONF. */
		err = rtnl_link_inet_set_conf(
			changes, IPV4_DEVCONF_PROMOTE_SECONDARIES, 1);
		if (err < 0)
			goto out;
	}

	err = rtnl_link_build_change_request(orig, changes, 0, msg);
out:
	rtnl_link_put(orig);
	rtnl_link_put(changes);
	return err;
}

static int build_addr(const struct net_op *op, struct nl_msg **msg)
{
	const struct net_addr *a = &op->addr;
	struct rtnl_addr *addr;
	struct nl_addr *local;
	int err = -NLE_NOMEM;

	if (!ip_family(a->local.family) || a->local.len == 0 ||
	    a->local.len > ip_family_bits(a->local.family))
		return -NLE_INVAL;

	addr = rtnl_addr_alloc();
	local = build_nl_addr(&a->local);
	if (!addr || !local)
		goto out;

	rtnl_addr_set_ifindex(addr, a->ifindex);
	rtnl_addr_set_family(addr, a->local.family);
	err = rtnl_addr_set_local(addr, local);
	if (err < 0)
		goto out;

	rtnl_addr_set_prefixlen(addr, a->local.len);
	rtnl_addr_set_flags(addr, a->flags);
	rtnl_addr_set_scope(addr, a->scope);

	if (op->kind == NET_OP_ADD)
		err = rtnl_addr_build_add_request(addr, 0, msg);
	else
		err = rtnl_addr_build_delete_request(addr, 0, msg);
out:
	nl_addr_put(local);
	rtnl_addr_put(addr);
	return err;
}

static int add_nexthop(struct rtnl_route *route, const struct net_route *r)
{
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *gateway;

	if (!nh)
		return -NLE_NOMEM;

	rtnl_route_nh_set_ifindex(nh, r->oif);
	rtnl_route_nh_set_flags(nh, r->flags & RTNH_F_ONLINK);

	if (r->gateway.family) {
		struct ip_prefix full = r->gateway;

		full.len = (uint8_t)ip_family_bits(full.family);
		gateway = build_nl_addr(&full);
		if (!gateway) {
			rtnl_route_nh_free(nh);
			return -NLE_NOMEM;
		}

		rtnl_route_nh_set_gateway(nh, gateway);
		nl_addr_put(gateway);
	}

	/* The route owns the nexthop from here on. */
	rtnl_route_add_nexthop(route, nh);
	return 0;
}

static bool route_valid(const struct net_route *r)
{
	return ip_family(r->dst.family) &&
	       r->dst.len <= ip_family_bits(r->dst.family) &&
	       (r->gateway.family == 0 || r->gateway.family == r->dst.family);
}

static int build_route(const struct net_op *op, struct nl_msg **msg)
{
	const struct net_route *r = &op->route;
	struct rtnl_route *route;
	struct nl_addr *dst;
	uint8_t type = r->type;
	int err = -NLE_NOMEM;

	if (!route_valid(r))
		return -NLE_INVAL;

	/* A type of 0 matches any route on delete, but on add means unicast. */
	if (op->kind == NET_OP_ADD && type == RTN_UNSPEC)
		type = RTN_UNICAST;

	route = rtnl_route_alloc();
	dst = build_nl_addr(&r->dst);
	if (!route || !dst)
		goto out;

	rtnl_route_set_family(route, (uint8_t)r->dst.family);
	err = rtnl_route_set_dst(route, dst);
	if (err < 0)
		goto out;

	rtnl_route_set_table(route, r->table);
	rtnl_route_set_protocol(route, r->protocol);
	rtnl_route_set_priority(route, r->metric);
	rtnl_route_set_scope(route, r->scope);
	err = rtnl_route_set_type(route, type);
	if (err < 0)
		goto out;

	err = add_nexthop(route, r);
	if (err < 0)
		goto out;

	if (op->kind == NET_OP_ADD)
		err = rtnl_route_build_add_request(route, 0, msg);
	else
		err = rtnl_route_build_del_request(route, 0, msg);
out:
	nl_addr_put(dst);
	rtnl_route_put(route);
	return err;
}

static bool rule_valid(const struct net_rule *r)
{
	/* A rule with selectors of others cannot be expressed here. */
	return ip_family(r->family) && !r->other_selectors &&
	       (r->src.family == 0 ||
		(r->src.family == r->family &&
		 r->src.len <= ip_family_bits(r->family)));
}

static int build_rule(const struct net_op *op, struct nl_msg **msg)
{
	const struct net_rule *r = &op->rule;
	struct nl_addr *src = NULL;
	struct rtnl_rule *rule;
	uint8_t action = r->action;
	int err = -NLE_NOMEM;

	if (!rule_valid(r))
		return -NLE_INVAL;

	/*
	 * libnl leaves the action at FR_ACT_UNSPEC, which makes every lookup
	 * that matches the rule fail. On delete, 0 matches any action.
	 */
	if (op->kind == NET_OP_ADD && action == FR_ACT_UNSPEC)
		action = FR_ACT_TO_TBL;

	rule = rtnl_rule_alloc();
	if (!rule)
		goto out;

	rtnl_rule_set_family(rule, r->family);
	rtnl_rule_set_prio(rule, r->priority);
	rtnl_rule_set_table(rule, r->table);
	rtnl_rule_set_action(rule, action);
	rtnl_rule_set_protocol(rule, r->protocol);

	if (r->src.family) {
		src = build_nl_addr(&r->src);
		if (!src)
			goto out;

		err = rtnl_rule_set_src(rule, src);
		if (err < 0)
			goto out;
	}

	if (op->kind == NET_OP_ADD)
		err = rtnl_rule_build_add_request(rule, 0, msg);
	else
		err = rtnl_rule_build_delete_request(rule, 0, msg);
out:
	nl_addr_put(src);
	rtnl_rule_put(rule);
	return err;
}

static int build_object(const struct net_op *op, struct nl_msg **msg)
{
	switch (op->type) {
	case NET_OBJECT_LINK:
		/* A link change has no delete, because links are never removed.
		 */
		if (op->kind != NET_OP_ADD)
			return -NLE_INVAL;
		return build_link(op, msg);
	case NET_OBJECT_ADDR:
		return build_addr(op, msg);
	case NET_OBJECT_ROUTE:
		return build_route(op, msg);
	case NET_OBJECT_RULE:
		return build_rule(op, msg);
	}

	return -NLE_INVAL;
}

static uint16_t request_flags(const struct net_op *op)
{
	uint16_t flags = NLM_F_REQUEST | NLM_F_ACK;

	/*
	 * EXCL makes an existing object fail with EEXIST. Without it,
	 * identical rules would pile up.
	 */
	if (op->type != NET_OBJECT_LINK && op->kind == NET_OP_ADD)
		flags |= NLM_F_CREATE | NLM_F_EXCL;

	return flags;
}

/*
 * libnl also copies the table id into the 8-bit header field, which
 * truncates ids above 255. The kernel reads the id from the attribute, so
 * the header gets RT_TABLE_UNSPEC instead, as iproute2 sends.
 */
static uint8_t header_table(uint32_t table)
{
	return table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
}

static bool put_optional_u32(struct nlmsghdr *nlh, size_t size, uint16_t type,
			     int64_t value)
{
	if (value == NET_RULE_UNSET)
		return true;

	return mnl_attr_put_u32_check(nlh, size, type, (uint32_t)value);
}

/* Appends what libnl 3.7 cannot set and fixes its header fields. */
static int finish_request(const struct net_op *op, struct nlmsghdr *nlh,
			  size_t size)
{
	bool fits = true;

	switch (op->type) {
	case NET_OBJECT_LINK:
		break;
	case NET_OBJECT_ADDR:
		/* IFA_PROTO needs Linux 6.1, and older kernels ignore it. */
		if (op->kind == NET_OP_ADD && op->addr.protocol)
			fits = mnl_attr_put_u8_check(nlh, size, IFA_PROTO,
						     op->addr.protocol);
		break;
	case NET_OBJECT_ROUTE: {
		struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);

		rtm->rtm_table = header_table(op->route.table);
		break;
	}
	case NET_OBJECT_RULE: {
		struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);

		frh->table = header_table(op->rule.table);
		fits = put_optional_u32(nlh, size, FRA_SUPPRESS_IFGROUP,
					op->rule.suppress_ifgroup) &&
		       put_optional_u32(nlh, size, FRA_SUPPRESS_PREFIXLEN,
					op->rule.suppress_prefixlen);
		break;
	}
	}

	return fits ? 0 : -EMSGSIZE;
}

int netlink_build_request(const struct net_op *op, uint32_t seq, void *buf,
			  size_t size)
{
	struct nl_msg *msg = NULL;
	struct nlmsghdr *nlh;
	int err;

	err = build_object(op, &msg);
	if (err < 0)
		return libnl_errno(err);

	nlh = nlmsg_hdr(msg);
	if (nlh->nlmsg_len > size) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}

	/* libmnl 1.0.4 leaves the padding of appended attributes unset. */
	memcpy(buf, nlh, nlh->nlmsg_len);
	memset((char *)buf + nlh->nlmsg_len, 0, size - nlh->nlmsg_len);
	nlmsg_free(msg);

	nlh = buf;
	nlh->nlmsg_flags = request_flags(op);
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = 0;

	err = finish_request(op, nlh, size);
	if (err < 0)
		return err;

	return (int)nlh->nlmsg_len;
}
