/* SPDX-License-Identifier: MIT */
/*
 * The per-interface state machine: which links are candidates, reading
 * their metadata until it is complete, handing complete records to the
 * reconciler, and the timers for re-polls, refreshes and retries.
 *
 * A fresh ENI's metadata lags behind the kernel's link, so a link that
 * appeared while the daemon runs is re-polled on a backoff schedule
 * through the settle window, and at the refresh interval after it.
 */
#include "daemon/link.h"

#include <errno.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "daemon/manager.h"
#include "daemon/planner.h"
#include "daemon/udev.h"

#define USEC_PER_MSEC 1000ull
#define USEC_PER_SEC 1000000ull

/* Re-polls of a fresh ENI: 200 ms doubling to 2 s, +-20 %, so an ENI is
 * configured within about 2 s of its metadata turning complete. */
#define POLL_INITIAL_USEC (200 * USEC_PER_MSEC)
#define POLL_MAX_USEC (2 * USEC_PER_SEC)
/* udev normally finishes with a new link within milliseconds. */
#define UDEV_POLL_USEC (50 * USEC_PER_MSEC)
#define UDEV_WAIT_MAX_USEC (5 * USEC_PER_SEC)
/* Retries of failed kernel changes: 500 ms doubling to 30 s. */
#define APPLY_INITIAL_USEC (500 * USEC_PER_MSEC)
#define APPLY_MAX_USEC (30 * USEC_PER_SEC)
#define JITTER_PERCENT 20

static const char *const link_state_names[LINK_STATE_COUNT] = {
	[LINK_STATE_NEW] = "new",
	[LINK_STATE_IGNORED] = "ignored",
	[LINK_STATE_WAITING] = "waiting",
	[LINK_STATE_CONFIGURING] = "configuring",
	[LINK_STATE_CONFIGURED] = "configured",
	[LINK_STATE_FAILED] = "failed",
};

const char *link_state_name(enum link_state state)
{
	return state < LINK_STATE_COUNT ? link_state_names[state] : "unknown";
}

bool link_is_candidate(const struct link *link)
{
	return link->state != LINK_STATE_IGNORED;
}

bool link_is_known(const struct link *link)
{
	return link->have_record && link->state != LINK_STATE_IGNORED;
}

static bool in_settle_window(const struct link *link)
{
	const struct manager *m = link->manager;
	uint64_t since = link->hot ? link->appeared_usec : m->start_usec;

	return manager_now(m) - since < m->settings.settle_window_usec;
}

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata);

static void arm_timer(struct link *link, uint64_t delay_usec)
{
	struct manager *m = link->manager;
	uint64_t when = manager_now(m) + delay_usec;
	int r;

	if (link->timer) {
		sd_event_source_set_time(link->timer, when);
		sd_event_source_set_enabled(link->timer, SD_EVENT_ONESHOT);
		return;
	}

	r = sd_event_add_time(m->event, &link->timer, CLOCK_MONOTONIC, when,
			      USEC_PER_MSEC, on_timer, link);
	if (r < 0)
		log_link(LOG_ERR, link->kernel.name,
			 "cannot arm timer: %s", strerror(-r));
}

static void disarm_timer(struct link *link)
{
	if (link->timer)
		sd_event_source_set_enabled(link->timer, SD_EVENT_OFF);
}

/* The refresh interval with +-20 % jitter, so ENIs spread their reads. */
static uint64_t refresh_delay(struct link *link)
{
	return backoff_jitter(&link->poll_backoff,
			      link->manager->settings.refresh_interval_usec,
			      JITTER_PERCENT);
}

/* Delay before the next read of incomplete or fresh metadata. */
static uint64_t poll_delay(struct link *link)
{
	if (in_settle_window(link) || link->manager->options.oneshot)
		return backoff_next(&link->poll_backoff);

	return refresh_delay(link);
}

static void arm_state_timer(struct link *link)
{
	switch (link->state) {
	case LINK_STATE_NEW:
	case LINK_STATE_CONFIGURING:
		disarm_timer(link);
		break;
	case LINK_STATE_IGNORED:
		/* An unlisted MAC may be listed later; filters are final. */
		if (link->ignore == LINK_IGNORE_NOT_LISTED &&
		    !link->manager->options.oneshot)
			arm_timer(link, refresh_delay(link));
		else
			disarm_timer(link);
		break;
	case LINK_STATE_WAITING:
		/* A link waiting for a listing request has no timer. */
		if (link->needs_listing)
			disarm_timer(link);
		else
			arm_timer(link, poll_delay(link));
		break;
	case LINK_STATE_CONFIGURED:
		arm_timer(link, in_settle_window(link) && link->hot ?
					backoff_next(&link->poll_backoff) :
					refresh_delay(link));
		break;
	case LINK_STATE_FAILED:
		arm_timer(link, backoff_next(&link->apply_backoff));
		break;
	case LINK_STATE_COUNT:
		break;
	}
}

void link_transition(struct link *link, enum link_state state,
		     const char *reason)
{
	enum link_state old = link->state;
	bool same_reason = reason ? strcmp(reason, link->reason) == 0 :
				    link->reason[0] == '\0';

	snprintf(link->reason, sizeof(link->reason), "%s", reason ? reason : "");
	link->state = state;

	if (old != state || !same_reason) {
		int level = state == LINK_STATE_FAILED ? LOG_WARNING :
			    state == LINK_STATE_CONFIGURED ? LOG_INFO :
							     LOG_DEBUG;

		log_link(level, link->kernel.name, "%s -> %s%s%s%s",
			 link_state_name(old), link_state_name(state),
			 reason ? " (" : "", reason ? reason : "",
			 reason ? ")" : "");
	}

	arm_state_timer(link);
	manager_link_changed(link->manager);
}

static void ignore(struct link *link, enum link_ignore why,
		   const char *reason)
{
	/* An operator's opt-out deserves a line; veths and bridges do not. */
	if (why == LINK_IGNORE_CONFIG && link->ignore != why)
		log_link(LOG_INFO, link->kernel.name, "not managed: %s",
			 reason);

	link->ignore = why;
	link_transition(link, LINK_STATE_IGNORED, reason);
}

/* Applies the filters of the link's kind and driver. Returns false when
 * the link was ignored or must be evaluated again. */
static bool passes_link_filters(struct link *link)
{
	const struct settings *s = &link->manager->settings;
	char reason[LINK_REASON_LEN];
	int r;

	if (link->kernel.type != ARPHRD_ETHER || !link->kernel.has_mac) {
		ignore(link, LINK_IGNORE_NOT_ETHERNET, "not an Ethernet link");
		return false;
	}

	r = netlink_link_driver(link->ifindex, link->kernel.name, link->driver,
				sizeof(link->driver));
	if (r == -ENODEV) {
		/* Renamed meanwhile: the rename's event evaluates it again. */
		link_transition(link, LINK_STATE_NEW, "renamed while evaluated");
		return false;
	}

	if (r < 0 || !config_list_match(&s->drivers, link->driver)) {
		snprintf(reason, sizeof(reason), "driver %s is not in drivers",
			 r < 0 ? "(none)" : link->driver);
		ignore(link, LINK_IGNORE_DRIVER, reason);
		return false;
	}

	return true;
}

/* Applies the opt-outs of the configuration and of udev's
 * ID_NET_MANAGED_BY. Returns false when the link was ignored. */
static bool passes_config_filters(struct link *link, const char *managed_by)
{
	const struct settings *s = &link->manager->settings;
	char reason[LINK_REASON_LEN];

	if (managed_by[0] && strcmp(managed_by, UDEV_MANAGER_ID) != 0) {
		snprintf(reason, sizeof(reason),
			 "udev's ID_NET_MANAGED_BY is %.100s", managed_by);
		ignore(link, LINK_IGNORE_CONFIG, reason);
		return false;
	}

	if (config_list_match(&s->exclude_interfaces, link->kernel.name)) {
		ignore(link, LINK_IGNORE_CONFIG, "name in exclude_interfaces");
		return false;
	}

	if (settings_excludes_mac(s, link->kernel.mac)) {
		ignore(link, LINK_IGNORE_CONFIG, "MAC in exclude_macs");
		return false;
	}

	return true;
}

static void wait_for_listing(struct link *link)
{
	link->needs_listing = true;
	link_transition(link, LINK_STATE_WAITING, "MAC listed under macs/");
	manager_request_listing(link->manager);
}

/* Returns true when udev has finished with the link, or the wait for it
 * is over; otherwise re-arms the evaluation. */
static bool udev_done(struct link *link, char *managed_by, size_t size)
{
	struct manager *m = link->manager;

	if (udev_link(link->ifindex, managed_by, size) == UDEV_LINK_READY)
		return true;

	if (manager_now(m) - link->appeared_usec >= UDEV_WAIT_MAX_USEC) {
		log_link(LOG_WARNING, link->kernel.name,
			 "udev has not processed the link after %llu s; "
			 "going on without it",
			 (unsigned long long)(UDEV_WAIT_MAX_USEC / USEC_PER_SEC));
		return true;
	}

	link_transition(link, LINK_STATE_NEW, "waiting for udev");
	arm_timer(link, UDEV_POLL_USEC);
	return false;
}

static void evaluate(struct link *link)
{
	char managed_by[64];

	link->ignore = LINK_IGNORE_NONE;
	if (!passes_link_filters(link))
		return;
	if (!udev_done(link, managed_by, sizeof(managed_by)))
		return;
	if (!passes_config_filters(link, managed_by))
		return;

	wait_for_listing(link);
}

struct link *link_new(struct manager *m, const struct net_link *kernel,
		      bool hot)
{
	struct link *link = calloc(1, sizeof(*link));

	if (!link)
		return NULL;

	link->manager = m;
	link->ifindex = kernel->ifindex;
	link->kernel = *kernel;
	link->hot = hot;
	link->appeared_usec = manager_now(m);
	mac_format(kernel->mac, link->mac_text);
	eni_record_init(&link->fetched, kernel->mac);
	backoff_init(&link->poll_backoff, POLL_INITIAL_USEC, POLL_MAX_USEC,
		     JITTER_PERCENT, (uint64_t)link->appeared_usec ^
					     (uint64_t)kernel->ifindex);
	backoff_init(&link->apply_backoff, APPLY_INITIAL_USEC, APPLY_MAX_USEC,
		     JITTER_PERCENT, link->appeared_usec + 1);

	log_link(LOG_DEBUG, kernel->name, "link %d appeared, MAC %s%s",
		 kernel->ifindex, link->mac_text, hot ? " (hot attach)" : "");
	evaluate(link);
	return link;
}

void link_free(struct link *link)
{
	if (!link)
		return;

	eni_fetch_cancel(link->fetch);
	sd_event_source_disable_unref(link->timer);
	free(link);
}

void link_update(struct link *link, const struct net_link *kernel)
{
	bool renamed = strcmp(link->kernel.name, kernel->name) != 0;
	char old_name[IFNAMSIZ];

	snprintf(old_name, sizeof(old_name), "%s", link->kernel.name);
	link->kernel = *kernel;

	if (!renamed)
		return;

	log_link(LOG_INFO, kernel->name, "renamed from %s", old_name);

	/* Name globs are evaluated again for links not configured yet. */
	if (!link->have_record && (link->state == LINK_STATE_NEW ||
				   link->state == LINK_STATE_WAITING ||
				   link->ignore == LINK_IGNORE_CONFIG)) {
		eni_fetch_cancel(link->fetch);
		link->fetch = NULL;
		evaluate(link);
	}
}

static void start_fetch(struct link *link, enum eni_fetch_mode mode);

static void fetch_done(const struct eni_fetch_result *result, void *userdata);

static void start_fetch(struct link *link, enum eni_fetch_mode mode)
{
	struct manager *m = link->manager;

	if (link->fetch)
		return;

	link->fetched.primary = m->instance.primary_known &&
				memcmp(m->instance.primary_mac,
				       link->fetched.mac, MAC_LEN) == 0;
	link->fetch = eni_fetch_start(m->imds, &link->fetched, mode,
				      fetch_done, link);
	if (!link->fetch) {
		log_link(LOG_ERR, link->kernel.name,
			 "cannot start metadata requests: out of memory");
		arm_timer(link, backoff_next(&link->poll_backoff));
	}
}

void link_listing_done(struct link *link, bool listed)
{
	if (!link->needs_listing)
		return;

	link->needs_listing = false;
	if (listed) {
		link->fetched.listed = true;
		backoff_reset(&link->poll_backoff);
		start_fetch(link, ENI_FETCH_FULL);
		return;
	}

	/* A fresh ENI may not be listed yet. A link present at start that
	 * is not listed is not an ENI (or not one of this instance). */
	if (link->hot && in_settle_window(link)) {
		link_transition(link, LINK_STATE_WAITING,
				"MAC listed under macs/");
		return;
	}

	ignore(link, LINK_IGNORE_NOT_LISTED, "MAC not listed in metadata");
}

void link_listing_failed(struct link *link, const char *error)
{
	char reason[LINK_REASON_LEN];

	if (!link->needs_listing)
		return;

	link->needs_listing = false;
	snprintf(reason, sizeof(reason), "metadata unreachable: %.120s",
		 error);
	link_transition(link, LINK_STATE_WAITING, reason);
}

/* Returns true when settled metadata excludes the ENI. */
static bool excluded_by_device(struct link *link)
{
	const struct eni_record *r = &link->fetched;

	return settings_excludes_device(&link->manager->settings, eni_card(r),
					r->device_number);
}

static void take_record(struct link *link)
{
	struct eni_numbers numbers;
	const struct eni_record *r = &link->fetched;
	bool first = !link->have_record;

	if (link->have_record && eni_record_same_config(&link->record, r)) {
		/* Unchanged metadata touches nothing in the kernel. */
		arm_state_timer(link);
		return;
	}

	link->record = *r;
	link->have_record = true;
	if (eni_numbers(&link->manager->settings, eni_card(r),
			r->device_number, &numbers) == 0)
		link->table = numbers.table;

	if (first)
		log_link(LOG_INFO, link->kernel.name,
			 "ENI %s, MAC %s, card %u, device %u, table %u",
			 eni_has(r, ENI_KEY_INTERFACE_ID) ? r->interface_id :
							    "(no id)",
			 link->mac_text, eni_card(r), r->device_number,
			 link->table);
	else
		log_link(LOG_INFO, link->kernel.name, "metadata changed");

	link_transition(link, LINK_STATE_CONFIGURING, NULL);
	manager_schedule_reconcile(link->manager);
}

static void fetch_incomplete(struct link *link, const char *missing,
			     const char *error)
{
	char reason[LINK_REASON_LEN];

	if (link->have_record) {
		/* The applied record stays; only the re-poll is armed. */
		arm_state_timer(link);
		return;
	}

	if (error[0])
		snprintf(reason, sizeof(reason), "waiting for %.40s; last error: %.100s",
			 missing, error);
	else
		snprintf(reason, sizeof(reason), "waiting for %s", missing);

	link_transition(link, LINK_STATE_WAITING, reason);
}

static void fetch_done(const struct eni_fetch_result *result, void *userdata)
{
	struct link *link = userdata;
	struct manager *m = link->manager;
	const char *missing;

	link->fetch = NULL;
	link->first_fetch_done = true;
	link->fetched = result->record;
	if (link->fetched.primary)
		manager_learn_cards(m, &link->fetched);

	if (result->error[0])
		log_link(LOG_DEBUG, link->kernel.name, "metadata: %s",
			 result->error);

	missing = eni_missing(&link->fetched, &m->instance);
	if (missing && m->instance.cards == INSTANCE_CARDS_UNKNOWN &&
	    strcmp(missing, eni_key_name(ENI_KEY_NETWORK_CARD)) == 0)
		manager_request_cards(m);

	if (missing) {
		fetch_incomplete(link, missing, result->error);
		return;
	}

	if (excluded_by_device(link)) {
		ignore(link, LINK_IGNORE_CONFIG,
		       "device number in exclude_device_numbers");
		return;
	}

	take_record(link);
}

void link_applied(struct link *link, int error, const char *what)
{
	char reason[LINK_REASON_LEN];

	if (error == 0) {
		backoff_reset(&link->apply_backoff);
		if (link->state != LINK_STATE_CONFIGURED)
			link_transition(link, LINK_STATE_CONFIGURED, NULL);
		return;
	}

	snprintf(reason, sizeof(reason), "%.100s: %.50s", what,
		 strerror(-error));
	link_transition(link, LINK_STATE_FAILED, reason);
}

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
	struct link *link = userdata;

	switch (link->state) {
	case LINK_STATE_NEW:
		evaluate(link);
		break;
	case LINK_STATE_CONFIGURING:
		break;
	case LINK_STATE_IGNORED:
		if (link->ignore == LINK_IGNORE_NOT_LISTED) {
			link->needs_listing = true;
			manager_request_listing(link->manager);
		}
		break;
	case LINK_STATE_WAITING:
		if (!link->fetched.listed) {
			wait_for_listing(link);
			break;
		}
		start_fetch(link, ENI_FETCH_FULL);
		break;
	case LINK_STATE_CONFIGURED:
		start_fetch(link, ENI_FETCH_ADDRESSES);
		break;
	case LINK_STATE_FAILED:
		manager_schedule_reconcile(link->manager);
		start_fetch(link, ENI_FETCH_ADDRESSES);
		break;
	case LINK_STATE_COUNT:
		break;
	}

	return 0;
}

void link_refresh_now(struct link *link)
{
	switch (link->state) {
	case LINK_STATE_IGNORED:
		if (link->ignore == LINK_IGNORE_NOT_LISTED)
			on_timer(NULL, 0, link);
		break;
	case LINK_STATE_WAITING:
	case LINK_STATE_CONFIGURED:
	case LINK_STATE_FAILED:
		on_timer(NULL, 0, link);
		break;
	case LINK_STATE_NEW:
	case LINK_STATE_CONFIGURING:
	case LINK_STATE_COUNT:
		break;
	}
}
