/* SPDX-License-Identifier: MIT */
/*
 * Batched changes: many requests per datagram (mnl_nlmsg_batch), each
 * with its own sequence number and NLM_F_ACK. The kernel handles the
 * messages of a datagram one after another, goes on after a failing one
 * and acknowledges each, so every acknowledgement is mapped back to its
 * operation by sequence number.
 */
#include "netlink/netlink.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "netlink/netlink-internal.h"

/* Bytes of requests per send, well under the default send buffer. */
#define BATCH_BYTES 32768

/*
 * Requests per send. Each one queues an acknowledgement on the request
 * socket, and the kernel charges an acknowledgement's whole buffer
 * allocation (hundreds of bytes) to the receive buffer, so this bounds
 * what one send can queue.
 */
#define BATCH_MESSAGES 128

/* errors[] value of an operation without a result yet. */
#define RESULT_PENDING 1

struct apply_context {
	const struct net_op *ops;
	int *errors;
	size_t count;
	uint32_t first_seq;
	size_t outstanding; /* requests sent and not acknowledged yet */
};

/* Returns true when an error means the kernel already is as requested. */
static bool error_is_success(const struct net_op *op, int error)
{
	if (op->type == NET_OBJECT_LINK)
		return false;

	if (op->kind == NET_OP_ADD)
		return error == -EEXIST;

	switch (error) {
	case -ENOENT:
	case -ESRCH:
	case -ENODEV: /* the link is gone, and its objects with it */
		return true;
	case -EADDRNOTAVAIL:
		return op->type == NET_OBJECT_ADDR;
	default:
		return false;
	}
}

static void log_reply(const struct net_op *op, int code, bool success,
		      const char *text)
{
	char request[512];

	if (!log_enabled(LOG_DEBUG))
		return;

	net_op_format(op, NULL, NULL, request, sizeof(request));
	log_msg(LOG_DEBUG, "rtnl: %s: %s%s%s%s", request,
		code ? strerror(-code) : "done",
		code && success ? " (taken as success)" : "", text ? ": " : "",
		text ? text : "");
}

static int apply_ack(const struct nlmsghdr *nlh, void *data)
{
	struct apply_context *ctx = data;
	uint32_t index = nlh->nlmsg_seq - ctx->first_seq;
	const struct net_op *op;
	const char *text;
	bool success;
	int code;

	if (index >= ctx->count || ctx->errors[index] != RESULT_PENDING) {
		log_msg(LOG_DEBUG,
			"rtnl: ignored the reply to unknown request %u",
			nlh->nlmsg_seq);
		return MNL_CB_OK;
	}

	op = &ctx->ops[index];
	code = netlink_error_code(nlh);
	success = code == 0 || error_is_success(op, code);
	text = netlink_ext_ack_text(nlh);
	if (code < 0 || text)
		log_reply(op, code, success, text);

	ctx->errors[index] = success ? 0 : code;
	ctx->outstanding--;
	return MNL_CB_OK;
}

/* NLMSG_DONE and data messages can only belong to an abandoned dump. */
static mnl_cb_t apply_control[NLMSG_MIN_TYPE] = {
	[NLMSG_ERROR] = apply_ack,
};

static int collect_acks(struct netlink *nl, struct apply_context *ctx)
{
	while (ctx->outstanding > 0) {
		ssize_t len = netlink_receive(nl);

		if (len < 0)
			return (int)len;

		/* Sequence numbers are checked by apply_ack(), so pass 0. */
		if (mnl_cb_run2(nl->buf, (size_t)len, 0, nl->portid, NULL, ctx,
				apply_control,
				MNL_ARRAY_SIZE(apply_control)) == MNL_CB_ERROR)
			log_msg(LOG_DEBUG, "rtnl: ignored a stale reply: %s",
				strerror(errno));
	}

	return 0;
}

static int send_batch(struct netlink *nl, struct mnl_nlmsg_batch *batch,
		      size_t messages, struct apply_context *ctx)
{
	int err = netlink_send(nl, mnl_nlmsg_batch_head(batch),
			       mnl_nlmsg_batch_size(batch));

	if (err < 0)
		return err;

	ctx->outstanding += messages;
	return collect_acks(nl, ctx);
}

/*
 * Adds the request of operation i to the batch, sending the batch first
 * when the request does not fit or after BATCH_MESSAGES requests.
 */
static int queue_op(struct netlink *nl, struct mnl_nlmsg_batch *batch,
		    size_t *messages, struct apply_context *ctx, size_t i)
{
	const struct net_op *op = &ctx->ops[i];
	int len, err;

	len = netlink_build_request(op, ctx->first_seq + (uint32_t)i,
				    mnl_nlmsg_batch_current(batch),
				    NETLINK_REQUEST_MAX);
	if (len < 0) {
		char request[512];

		net_op_format(op, NULL, NULL, request, sizeof(request));
		log_msg(LOG_WARNING,
			"rtnl: cannot build the request \"%s\": %s", request,
			strerror(-len));
		ctx->errors[i] = len;
		return 0;
	}

	if (!mnl_nlmsg_batch_next(batch)) {
		/* Send the earlier requests, then reset moves this one first.
		 */
		err = send_batch(nl, batch, *messages, ctx);
		mnl_nlmsg_batch_reset(batch);
		*messages = 1;
		return err;
	}

	if (++*messages < BATCH_MESSAGES)
		return 0;

	err = send_batch(nl, batch, *messages, ctx);
	mnl_nlmsg_batch_reset(batch);
	*messages = 0;
	return err;
}

/*
 * Fills in the operations left without a result and returns the result
 * of the whole batch.
 */
static int apply_result(struct apply_context *ctx, int err)
{
	int first = 0;

	for (size_t i = 0; i < ctx->count; i++) {
		if (ctx->errors[i] == RESULT_PENDING)
			ctx->errors[i] = err ? err : -EIO;
		if (ctx->errors[i] < 0 && !first)
			first = ctx->errors[i];
	}

	return err ? err : first;
}

int netlink_apply(struct netlink *nl, const struct net_op *ops, size_t count,
		  int *errors)
{
	struct apply_context ctx = {
		.ops = ops,
		.errors = errors,
		.count = count,
	};
	struct mnl_nlmsg_batch *batch = NULL;
	size_t messages = 0;
	char *buf;
	int err = 0;

	if (count == 0)
		return 0;

	for (size_t i = 0; i < count; i++)
		errors[i] = RESULT_PENDING;

	/* The batch may run over its limit by one request. */
	buf = malloc(BATCH_BYTES + NETLINK_REQUEST_MAX);
	if (buf)
		batch = mnl_nlmsg_batch_start(buf, BATCH_BYTES);
	if (!batch) {
		err = -ENOMEM;
		goto out;
	}

	ctx.first_seq = netlink_reserve_seqs(nl, count);
	for (size_t i = 0; i < count && !err; i++)
		err = queue_op(nl, batch, &messages, &ctx, i);

	if (!err && messages > 0)
		err = send_batch(nl, batch, messages, &ctx);

	if (err)
		log_msg(LOG_DEBUG, "rtnl: batch of %zu requests failed: %s",
			count, strerror(-err));
out:
	if (batch)
		mnl_nlmsg_batch_stop(batch);
	free(buf);
	return apply_result(&ctx, err);
}
