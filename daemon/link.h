/* SPDX-License-Identifier: MIT */
/*
 * One network interface as the daemon tracks it, keyed by ifindex (names
 * change on rename and are reused after a detach), with an explicit state
 * and one transition function that logs the change and arms the timer.
 */
#ifndef ENID_DAEMON_LINK_H
#define ENID_DAEMON_LINK_H

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "common/backoff.h"
#include "common/eni.h"
#include "common/netobj.h"
#include "imds/fetch.h"

struct manager;

#define LINK_REASON_LEN 256

enum link_state {
	LINK_STATE_NEW,		/* seen; not evaluated yet */
	LINK_STATE_IGNORED,	/* not managed: filtered or not an ENI */
	LINK_STATE_WAITING,	/* a candidate whose metadata is incomplete */
	LINK_STATE_CONFIGURING,	/* metadata complete; changes pending */
	LINK_STATE_CONFIGURED,	/* the kernel holds what the ENI wants */
	LINK_STATE_FAILED,	/* applying failed; retried with backoff */
	LINK_STATE_COUNT,
};

/* Returns the state's name for logs and status ("waiting"). */
const char *link_state_name(enum link_state state);

/* Why a link is ignored; decides whether it is checked again. */
enum link_ignore {
	LINK_IGNORE_NONE,
	LINK_IGNORE_NOT_ETHERNET,
	LINK_IGNORE_DRIVER,
	LINK_IGNORE_CONFIG,	/* exclude_interfaces, exclude_macs, devices */
	LINK_IGNORE_NOT_LISTED,	/* the metadata service does not list it */
};

struct link {
	struct manager *manager;
	int ifindex;
	struct net_link kernel;	/* last state the kernel reported */
	char mac_text[MAC_STRLEN];
	char driver[32];

	enum link_state state;
	enum link_ignore ignore;
	char reason[LINK_REASON_LEN]; /* what it waits for, or why it failed */

	uint64_t appeared_usec;	/* CLOCK_MONOTONIC */
	bool hot;		/* appeared after the daemon started */
	bool needs_listing;	/* waits for the next macs/ listing */
	bool first_fetch_done;

	/* The working record: every successful read merged in. */
	struct eni_record fetched;
	/* The last complete record; what the kernel is made to hold. */
	struct eni_record record;
	bool have_record;
	uint32_t table;		/* of the applied record, when have_record */
	unsigned conflicts;	/* passes that restored removed objects */
	bool readding;		/* enid itself removed addresses to re-add */

	struct eni_fetch *fetch;
	struct backoff poll_backoff;	/* re-polls of incomplete metadata */
	struct backoff apply_backoff;	/* retries of failed changes */
	sd_event_source *timer;
};

/* Creates a link for a kernel link and starts its evaluation. */
struct link *link_new(struct manager *m, const struct net_link *kernel,
		      bool hot);

/* Cancels requests and timers, frees the link. Accepts NULL. */
void link_free(struct link *link);

/* Takes a new kernel state (rename, flags, MTU) of the same ifindex. */
void link_update(struct link *link, const struct net_link *kernel);

/*
 * Moves to a new state, logs "old -> new (reason)" and arms the timer for
 * the new state. reason may be NULL.
 */
void link_transition(struct link *link, enum link_state state,
		     const char *reason);

/* Called by the manager with the MACs of a macs/ listing. */
void link_listing_done(struct link *link, bool listed);

/* Called by the manager when a listing request failed. */
void link_listing_failed(struct link *link, const char *error);

/* Called by the manager after a reconcile: error 0 or negative errno. */
void link_applied(struct link *link, int error, const char *what);

/* Starts a re-read of the metadata now (SIGHUP). */
void link_refresh_now(struct link *link);

/* Returns true when the link is, or may become, an ENI enid manages. */
bool link_is_candidate(const struct link *link);

/* Returns true when the link's objects follow its applied record. */
bool link_is_known(const struct link *link);

#endif
