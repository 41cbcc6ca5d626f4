/* SPDX-License-Identifier: MIT */
/*
 * Private interfaces of the netlink module: the request socket shared by
 * the dump and batch code, and the conversions between kernel messages
 * and the plain objects of common/netobj.h.
 *
 * This header names no libmnl or libnl type, so the unit tests can call
 * the conversions directly with hand-built messages.
 */
#ifndef ENID_NETLINK_NETLINK_INTERNAL_H
#define ENID_NETLINK_NETLINK_INTERNAL_H

#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "netlink/netlink.h"

/*
 * Receive buffer for one datagram. The kernel builds dump datagrams of up
 * to 32 KiB, and a smaller buffer truncates them (libmnl then fails with
 * ENOSPC), so this leaves room to spare.
 */
#define NETLINK_RECV_SIZE 65536

/* Room reserved for one request built by netlink_build_request(). */
#define NETLINK_REQUEST_MAX 1024

struct mnl_socket;

struct netlink {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq; /* last sequence number used */
	void *buf;    /* NETLINK_RECV_SIZE bytes */
};

/* Returns the next sequence number of the socket, never 0. */
uint32_t netlink_next_seq(struct netlink *nl);

/* Reserves count consecutive sequence numbers and returns the first. */
uint32_t netlink_reserve_seqs(struct netlink *nl, size_t count);

/* Sends len bytes of requests in one datagram. Returns 0 or a negative errno.
 */
int netlink_send(struct netlink *nl, const void *data, size_t len);

/*
 * Receives one datagram into nl->buf. Returns its length, -ETIMEDOUT
 * when the kernel sent nothing for the receive timeout, or another
 * negative errno (-ENOSPC for a truncated datagram).
 */
ssize_t netlink_receive(struct netlink *nl);

/*
 * Reads and discards replies until the end of the reply to seq (its
 * NLMSG_DONE or NLMSG_ERROR), so a failed dump leaves nothing behind.
 */
void netlink_drain(struct netlink *nl, uint32_t seq);

/*
 * Returns true when buf (len bytes of messages) contains the NLMSG_DONE
 * or NLMSG_ERROR message that ends the reply to seq.
 */
bool netlink_buffer_ends_reply(const void *buf, size_t len, uint32_t seq);

/*
 * Returns the error of an NLMSG_ERROR message: 0 for an acknowledgement,
 * a negative errno for an error, -EBADMSG when the message is truncated.
 */
int netlink_error_code(const struct nlmsghdr *nlh);

/* Returns the error an NLMSG_DONE message carries, 0 when none. */
int netlink_done_code(const struct nlmsghdr *nlh);

/*
 * Returns the text of the extended acknowledgement (NLMSGERR_ATTR_MSG)
 * of an NLMSG_ERROR or NLMSG_DONE message, or NULL when it has none.
 */
const char *netlink_ext_ack_text(const struct nlmsghdr *nlh);

/*
 * Sets the receive buffer of a socket to size bytes: SO_RCVBUFFORCE,
 * which passes net.core.rmem_max but needs CAP_NET_ADMIN, then plain
 * SO_RCVBUF when that is refused with EPERM. Returns 0 or a negative
 * errno.
 */
int netlink_set_rcvbuf(int fd, int size);

/*
 * Parses one kernel message (RTM_NEW* or RTM_DEL* of a link, address,
 * route or rule) of nlh->nlmsg_len readable bytes into event. Returns 0,
 * -ENOENT for a message of no interest (another message type or family,
 * a cloned route, a bridge port notification), -EBADMSG for a malformed
 * one, or -ENOMEM.
 */
int netlink_parse_message(const struct nlmsghdr *nlh, struct net_event *event);

/*
 * Writes the request for op into buf (size bytes) with sequence number
 * seq and the flags of its kind: NLM_F_REQUEST | NLM_F_ACK, plus
 * NLM_F_CREATE | NLM_F_EXCL for additions. Returns the message length,
 * -EINVAL for an object that cannot be expressed, -EMSGSIZE when buf is
 * too small, or -ENOMEM.
 */
int netlink_build_request(const struct net_op *op, uint32_t seq, void *buf,
			  size_t size);

#endif
