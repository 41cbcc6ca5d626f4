/* SPDX-License-Identifier: MIT */
/*
 * Comparison, containers and text forms of the plain kernel objects.
 */
#include "common/netobj.h"

#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

bool net_addr_same(const struct net_addr *a, const struct net_addr *b)
{
	/* The kernel identifies an address by device, family and value. */
	return a->ifindex == b->ifindex &&
	       a->local.family == b->local.family &&
	       ip_addr_equal(a->local.family, &a->local.addr, &b->local.addr);
}

static bool optional_prefix_equal(const struct ip_prefix *a,
				  const struct ip_prefix *b)
{
	if (a->family == 0 || b->family == 0)
		return a->family == b->family;

	return ip_prefix_equal(a, b);
}

bool net_route_equal(const struct net_route *a, const struct net_route *b)
{
	return a->table == b->table && ip_prefix_equal(&a->dst, &b->dst) &&
	       optional_prefix_equal(&a->gateway, &b->gateway) &&
	       a->oif == b->oif && a->metric == b->metric &&
	       a->protocol == b->protocol && a->scope == b->scope &&
	       a->type == b->type;
}

bool net_rule_equal(const struct net_rule *a, const struct net_rule *b)
{
	return a->family == b->family && a->priority == b->priority &&
	       optional_prefix_equal(&a->src, &b->src) &&
	       a->table == b->table && a->action == b->action &&
	       a->protocol == b->protocol &&
	       a->suppress_ifgroup == b->suppress_ifgroup &&
	       a->suppress_prefixlen == b->suppress_prefixlen &&
	       !a->other_selectors && !b->other_selectors;
}

static uint64_t hash_bytes(uint64_t hash, const void *data, size_t size)
{
	const unsigned char *bytes = data;

	/* FNV-1a */
	for (size_t i = 0; i < size; i++)
		hash = (hash ^ bytes[i]) * 0x100000001b3ull;
	return hash;
}

static uint64_t hash_prefix(uint64_t hash, const struct ip_prefix *p)
{
	hash = hash_bytes(hash, &p->family, sizeof(p->family));
	return hash_bytes(hash, &p->addr, ip_family_bits(p->family) / 8);
}

uint64_t net_object_hash(enum net_object_type type, const void *object)
{
	uint64_t hash = hash_bytes(0xcbf29ce484222325ull, &type, sizeof(type));
	const struct net_addr *addr = object;
	const struct net_route *route = object;
	const struct net_rule *rule = object;

	switch (type) {
	case NET_OBJECT_ADDR:
		hash = hash_bytes(hash, &addr->ifindex, sizeof(addr->ifindex));
		return hash_prefix(hash, &addr->local);
	case NET_OBJECT_ROUTE:
		hash = hash_bytes(hash, &route->table, sizeof(route->table));
		hash = hash_bytes(hash, &route->metric, sizeof(route->metric));
		hash = hash_bytes(hash, &route->dst.len, sizeof(route->dst.len));
		return hash_prefix(hash, &route->dst);
	case NET_OBJECT_RULE:
		hash = hash_bytes(hash, &rule->priority, sizeof(rule->priority));
		return hash_prefix(hash, &rule->src);
	case NET_OBJECT_LINK:
		return hash_bytes(hash, object, sizeof(int));
	}

	return hash;
}

int net_op_list_append(struct net_op_list *list, const struct net_op *op)
{
	if (list->count == list->capacity) {
		size_t capacity = list->capacity ? list->capacity * 2 : 32;
		struct net_op *ops;

		ops = reallocarray(list->ops, capacity, sizeof(*ops));
		if (!ops)
			return -ENOMEM;

		list->ops = ops;
		list->capacity = capacity;
	}

	list->ops[list->count++] = *op;
	return 0;
}

void net_op_list_clear(struct net_op_list *list)
{
	free(list->ops);
	*list = (struct net_op_list){0};
}

void net_state_clear(struct net_state *state)
{
	free(state->links);
	free(state->addrs);
	free(state->routes);
	free(state->rules);
	*state = (struct net_state){0};
}

const struct net_link *net_state_find_link(const struct net_state *state,
					   int ifindex)
{
	for (size_t i = 0; i < state->n_links; i++) {
		if (state->links[i].ifindex == ifindex)
			return &state->links[i];
	}

	return NULL;
}

const char *mac_format(const uint8_t mac[MAC_LEN], char *buf)
{
	snprintf(buf, MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0],
		 mac[1], mac[2], mac[3], mac[4], mac[5]);
	return buf;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int mac_parse(const char *text, uint8_t mac[MAC_LEN])
{
	uint8_t value[MAC_LEN];

	if (strlen(text) != MAC_STRLEN - 1)
		return -EINVAL;

	for (int i = 0; i < MAC_LEN; i++) {
		const char *pair = text + i * 3;
		int high = hex_digit(pair[0]);
		int low = hex_digit(pair[1]);

		if (high < 0 || low < 0)
			return -EINVAL;
		if (i < MAC_LEN - 1 && pair[2] != ':')
			return -EINVAL;

		value[i] = (uint8_t)(high << 4 | low);
	}

	memcpy(mac, value, MAC_LEN);
	return 0;
}

static const char *device_name(int ifindex, net_ifname_fn ifname,
			       void *userdata, char *buf)
{
	const char *name = ifname ? ifname(ifindex, userdata) : NULL;

	if (name)
		return name;

	snprintf(buf, IFNAMSIZ + 8, "if%d", ifindex);
	return buf;
}

static const char *table_name(uint32_t table, char *buf, size_t size)
{
	if (table == RT_TABLE_MAIN)
		return "main";
	if (table == RT_TABLE_LOCAL)
		return "local";

	snprintf(buf, size, "%u", table);
	return buf;
}

static void format_link(const struct net_link_change *c, const char *dev,
			char *buf, size_t size)
{
	int used = snprintf(buf, size, "link %s", dev);

	if (c->set_up)
		used += snprintf(buf + used, size - (size_t)used, " up");
	if (c->mtu)
		used += snprintf(buf + used, size - (size_t)used, " mtu %u",
				 c->mtu);
	if (c->set_group)
		used += snprintf(buf + used, size - (size_t)used, " group %#x",
				 c->group);
	if (c->promote_secondaries)
		used += snprintf(buf + used, size - (size_t)used,
				 " promote_secondaries 1");
	if (c->ignore_ra_default)
		snprintf(buf + used, size - (size_t)used,
			 " accept_ra_defrtr 0");
}

static void format_addr(const struct net_addr *a, const char *dev, char *buf,
			size_t size)
{
	char text[IP_PREFIX_STRLEN];

	snprintf(buf, size, "address %s dev %s%s%s proto %u",
		 ip_prefix_format(&a->local, text), dev,
		 a->flags & IFA_F_NOPREFIXROUTE ? " noprefixroute" : "",
		 a->flags & IFA_F_NODAD ? " nodad" : "", a->protocol);
}

static void format_route(const struct net_route *r, const char *dev,
			 char *buf, size_t size)
{
	char dst[IP_PREFIX_STRLEN], via[IP_PREFIX_STRLEN], table[16];
	int used;

	if (r->dst.len == 0)
		snprintf(dst, sizeof(dst), "default");
	else
		ip_prefix_format(&r->dst, dst);

	used = snprintf(buf, size, "route %s", dst);
	if (r->gateway.family)
		used += snprintf(buf + used, size - (size_t)used, " via %s",
				 ip_addr_format(r->gateway.family,
						&r->gateway.addr, via));

	snprintf(buf + used, size - (size_t)used,
		 " dev %s table %s metric %u proto %u%s", dev,
		 table_name(r->table, table, sizeof(table)), r->metric,
		 r->protocol, r->flags & RTNH_F_ONLINK ? " onlink" : "");
}

static void format_rule(const struct net_rule *r, char *buf, size_t size)
{
	char src[IP_PREFIX_STRLEN], table[16];
	int used;

	used = snprintf(buf, size, "rule %u: from %s lookup %s", r->priority,
			r->src.family ? ip_prefix_format(&r->src, src) : "all",
			table_name(r->table, table, sizeof(table)));
	if (r->suppress_ifgroup != NET_RULE_UNSET)
		used += snprintf(buf + used, size - (size_t)used,
				 " suppress_ifgroup %#llx",
				 (unsigned long long)r->suppress_ifgroup);
	if (r->suppress_prefixlen != NET_RULE_UNSET)
		used += snprintf(buf + used, size - (size_t)used,
				 " suppress_prefixlength %lld",
				 (long long)r->suppress_prefixlen);
	snprintf(buf + used, size - (size_t)used, " proto %u%s", r->protocol,
		 r->family == AF_INET6 ? " (IPv6)" : "");
}

void net_op_format(const struct net_op *op, net_ifname_fn ifname,
		   void *userdata, char *buf, size_t size)
{
	char dev_buf[IFNAMSIZ + 8];
	const char *verb = op->kind == NET_OP_ADD ? "add" : "delete";
	char object[512];

	switch (op->type) {
	case NET_OBJECT_LINK:
		verb = "set";
		format_link(&op->link,
			    device_name(op->link.ifindex, ifname, userdata,
					dev_buf),
			    object, sizeof(object));
		break;
	case NET_OBJECT_ADDR:
		format_addr(&op->addr,
			    device_name(op->addr.ifindex, ifname, userdata,
					dev_buf),
			    object, sizeof(object));
		break;
	case NET_OBJECT_ROUTE:
		format_route(&op->route,
			     device_name(op->route.oif, ifname, userdata,
					 dev_buf),
			     object, sizeof(object));
		break;
	case NET_OBJECT_RULE:
		format_rule(&op->rule, object, sizeof(object));
		break;
	}

	snprintf(buf, size, "%s %s", verb, object);
}
