/* SPDX-License-Identifier: MIT */
/*
 * The request socket: opening it with the options the dump and batch code
 * rely on, sequence numbers, sending and receiving datagrams, and reading
 * the kernel's acknowledgements (error codes and extended ack texts).
 */
#include "netlink/netlink.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "common/log.h"
#include "netlink/netlink-internal.h"

/*
 * Receive buffer of the request socket. It queues one acknowledgement per
 * message of a batch, each taking far more room than its few bytes.
 */
#define REQUEST_RCVBUF (1024 * 1024)

/* The kernel replies at once, so a silent socket means a lost reply. */
#define REQUEST_TIMEOUT_SEC 10

static void enable_option(struct netlink *nl, int option, const char *name)
{
	int on = 1;

	/*
	 * Older kernels lack some of them. Dumps are then filtered in user
	 * space only, and errors come without their text.
	 */
	if (mnl_socket_setsockopt(nl->sock, option, &on, sizeof(on)) < 0)
		log_msg(LOG_DEBUG, "rtnl: cannot enable %s: %s", name,
			strerror(errno));
}

int netlink_set_rcvbuf(int fd, int size)
{
	socklen_t len = sizeof(size);

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, len) == 0)
		return 0;

	if (errno != EPERM)
		return -errno;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, len) < 0)
		return -errno;

	return 0;
}

static int configure_socket(struct netlink *nl)
{
	struct timeval timeout = {.tv_sec = REQUEST_TIMEOUT_SEC};
	socklen_t len = sizeof(timeout);
	int fd = mnl_socket_get_fd(nl->sock);
	int err;

	enable_option(nl, NETLINK_EXT_ACK, "NETLINK_EXT_ACK");
	enable_option(nl, NETLINK_GET_STRICT_CHK, "NETLINK_GET_STRICT_CHK");
	/* Error replies then carry the extended ack but not the request. */
	enable_option(nl, NETLINK_CAP_ACK, "NETLINK_CAP_ACK");

	err = netlink_set_rcvbuf(fd, REQUEST_RCVBUF);
	if (err < 0)
		return err;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, len) < 0)
		return -errno;

	return 0;
}

int netlink_open(struct netlink **out)
{
	struct netlink *nl = calloc(1, sizeof(*nl));
	int err;

	if (!nl)
		return -ENOMEM;

	nl->buf = malloc(NETLINK_RECV_SIZE);
	if (!nl->buf) {
		err = -ENOMEM;
		goto fail;
	}

	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock || mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto fail;
	}

	err = configure_socket(nl);
	if (err < 0)
		goto fail;

	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);
	*out = nl;
	return 0;

fail:
	netlink_close(nl);
	return err;
}

void netlink_close(struct netlink *nl)
{
	if (!nl)
		return;

	if (nl->sock)
		mnl_socket_close(nl->sock);
	free(nl->buf);
	free(nl);
}

uint32_t netlink_next_seq(struct netlink *nl)
{
	/* libmnl treats sequence number 0 as "accept any reply". */
	if (++nl->seq == 0)
		nl->seq = 1;

	return nl->seq;
}

uint32_t netlink_reserve_seqs(struct netlink *nl, size_t count)
{
	uint32_t first = netlink_next_seq(nl);

	if (count > 1)
		nl->seq += (uint32_t)(count - 1);

	return first;
}

int netlink_send(struct netlink *nl, const void *data, size_t len)
{
	ssize_t sent = mnl_socket_sendto(nl->sock, data, len);

	if (sent < 0)
		return -errno;
	if ((size_t)sent != len)
		return -EMSGSIZE;

	return 0;
}

ssize_t netlink_receive(struct netlink *nl)
{
	for (;;) {
		ssize_t len = mnl_socket_recvfrom(nl->sock, nl->buf,
						  NETLINK_RECV_SIZE);

		if (len >= 0)
			return len;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return -ETIMEDOUT;

		return -errno;
	}
}

bool netlink_buffer_ends_reply(const void *buf, size_t len, uint32_t seq)
{
	const struct nlmsghdr *nlh = buf;
	int remaining = (int)len;

	while (mnl_nlmsg_ok(nlh, remaining)) {
		if (nlh->nlmsg_seq == seq && (nlh->nlmsg_type == NLMSG_DONE ||
					      nlh->nlmsg_type == NLMSG_ERROR))
			return true;

		nlh = mnl_nlmsg_next(nlh, &remaining);
	}

	return false;
}

void netlink_drain(struct netlink *nl, uint32_t seq)
{
	for (;;) {
		ssize_t len = netlink_receive(nl);

		if (len < 0) {
			log_msg(LOG_DEBUG,
				"rtnl: stopped discarding the reply to %u: %s",
				seq, strerror((int)-len));
			return;
		}

		if (netlink_buffer_ends_reply(nl->buf, (size_t)len, seq))
			return;
	}
}

int netlink_error_code(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err)))
		return -EBADMSG;

	/* Subsystems disagree on the sign, and rtnetlink sends -errno. */
	return err->error <= 0 ? err->error : -err->error;
}

int netlink_done_code(const struct nlmsghdr *nlh)
{
	int code;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(code))
		return 0;

	memcpy(&code, mnl_nlmsg_get_payload(nlh), sizeof(code));
	return code <= 0 ? code : -code;
}

static int ext_ack_attr(const struct nlattr *attr, void *data)
{
	const char **text = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		*text = mnl_attr_get_str(attr);

	return MNL_CB_OK;
}

/* Returns where the extended ack attributes start in the payload. */
static size_t ext_ack_offset(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type == NLMSG_DONE)
		return sizeof(int);

	/* Unless capped, the whole request is echoed before them. */
	if (nlh->nlmsg_flags & NLM_F_CAPPED ||
	    err->msg.nlmsg_len < sizeof(struct nlmsghdr))
		return sizeof(*err);

	return sizeof(*err) + err->msg.nlmsg_len - sizeof(struct nlmsghdr);
}

const char *netlink_ext_ack_text(const struct nlmsghdr *nlh)
{
	size_t payload = mnl_nlmsg_get_payload_len(nlh);
	const char *text = NULL;
	size_t offset;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	if (nlh->nlmsg_type == NLMSG_ERROR && payload < sizeof(struct nlmsgerr))
		return NULL;

	offset = ext_ack_offset(nlh);
	if (MNL_ALIGN(offset) >= payload)
		return NULL;

	mnl_attr_parse(nlh, (unsigned)offset, ext_ack_attr, &text);
	return text;
}
