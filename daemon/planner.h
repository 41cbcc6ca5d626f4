/* SPDX-License-Identifier: MIT */
/*
 * The planner: a pure function from an ENI record and the settings to the
 * objects the kernel should hold for that ENI. It does no I/O.
 *
 * Numbering follows amazon-ec2-net-utils: table and rule priority
 * table_base + 100 * card + device, metric in main metric_base + 100 *
 * card + device. The shared rule sits at table_base - 1.
 */
#ifndef ENID_DAEMON_PLANNER_H
#define ENID_DAEMON_PLANNER_H

#include <stdbool.h>

#include "common/eni.h"
#include "common/netobj.h"
#include "daemon/config.h"

/* The IPv6 router of every VPC subnet, reachable on each ENI's link. */
#define VPC_IPV6_ROUTER "fe80:ec2::1"

struct eni_numbers {
	uint32_t table;		/* also the rule priority */
	uint32_t metric;	/* of its routes */
};

/*
 * Computes an ENI's table and metric. Returns -ERANGE when card or device
 * is out of range or the result would reach a reserved table (0,
 * 253-255), the shared rule's priority or the main rule (32766).
 */
int eni_numbers(const struct settings *s, uint32_t card, uint32_t device,
		struct eni_numbers *out);

struct plan_input {
	const struct eni_record *record;
	int ifindex;
	/*
	 * For the primary ENI: whether its first IPv4 address (the DHCP
	 * client's) is on the link. Until it is, enid adds no other IPv4
	 * address, so the DHCP address stays the primary one of the prefix.
	 */
	bool first_ipv4_present;
	const struct settings *settings;
};

/*
 * Appends the ADD operations for one ENI to desired, each with owner set
 * to the ifindex: link settings, addresses, routes in main and in the
 * ENI's table, and source rules. Returns 0, -ENOMEM, or -EINVAL when the
 * record is inconsistent (an address outside its subnet, numbers out of
 * range), with *why set for the log.
 */
int plan_eni(const struct plan_input *in, struct net_op_list *desired,
	     const char **why);

/* Appends the shared "lookup main suppress_ifgroup" rules of both families. */
int plan_shared(const struct settings *s, struct net_op_list *desired);

#endif
