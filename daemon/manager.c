/* SPDX-License-Identifier: MIT */
/*
 * The daemon's core: start-up, the rtnetlink event handler, metadata that
 * concerns the whole instance, reconcile scheduling, readiness and the
 * end of a one-shot run.
 */
#include "daemon/manager.h"

#include <errno.h>
#include <linux/rtnetlink.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "common/log.h"
#include "daemon/apply.h"
#include "daemon/link.h"
#include "daemon/reconcile.h"
#include "daemon/status.h"
#include "imds/parse.h"

#define USEC_PER_MSEC 1000ull
#define USEC_PER_SEC 1000000ull
/* How long one metadata request may take across its retries. */
#define IMDS_DEADLINE_USEC (10 * USEC_PER_SEC)
/* Repairs of outside deletions: the first at once, then 250 ms doubling
 * to 10 s while they keep coming; 60 s of quiet starts over. */
#define DRIFT_INITIAL_USEC (250 * USEC_PER_MSEC)
#define DRIFT_MAX_USEC (10 * USEC_PER_SEC)
#define DRIFT_QUIET_USEC (60 * USEC_PER_SEC)

uint64_t manager_now(const struct manager *m)
{
	uint64_t now = 0;

	sd_event_now(m->event, CLOCK_MONOTONIC, &now);
	return now;
}

struct link *manager_find_link(const struct manager *m, int ifindex)
{
	for (size_t i = 0; i < m->n_links; i++) {
		if (m->links[i]->ifindex == ifindex)
			return m->links[i];
	}

	return NULL;
}

static void update_imds_binding(struct manager *m);

static int add_link(struct manager *m, const struct net_link *kernel,
		    bool hot)
{
	struct link *link;

	if (m->n_links == m->links_capacity) {
		size_t capacity = m->links_capacity ? m->links_capacity * 2 : 16;
		struct link **links;

		links = reallocarray(m->links, capacity, sizeof(*links));
		if (!links)
			return -ENOMEM;
		m->links = links;
		m->links_capacity = capacity;
	}

	/* The slot is taken before evaluation, which may look links up. */
	link = link_new(m, kernel, hot);
	if (!link)
		return -ENOMEM;

	m->links[m->n_links++] = link;
	update_imds_binding(m);
	manager_link_changed(m);
	return 0;
}

static void remove_link(struct manager *m, struct link *link)
{
	bool mattered = link_is_candidate(link) || link->have_record;

	for (size_t i = 0; i < m->n_links; i++) {
		if (m->links[i] != link)
			continue;
		m->links[i] = m->links[--m->n_links];
		break;
	}

	log_link(mattered ? LOG_INFO : LOG_DEBUG, link->kernel.name,
		 "link %d removed", link->ifindex);
	link_free(link);
	update_imds_binding(m);
	if (mattered)
		manager_schedule_reconcile(m);
	manager_link_changed(m);
}

/* --- instance-level metadata --- */

static int on_instance_timer(sd_event_source *s, uint64_t usec, void *data);
static void request_primary_mac(struct manager *m);

static void retry_instance_later(struct manager *m)
{
	uint64_t when = manager_now(m) + backoff_next(&m->instance_backoff);

	if (m->instance_timer) {
		sd_event_source_set_time(m->instance_timer, when);
		sd_event_source_set_enabled(m->instance_timer,
					    SD_EVENT_ONESHOT);
		return;
	}

	sd_event_add_time(m->event, &m->instance_timer, CLOCK_MONOTONIC, when,
			  USEC_PER_MSEC, on_instance_timer, m);
}

static bool any_link_needs_listing(const struct manager *m)
{
	for (size_t i = 0; i < m->n_links; i++) {
		if (m->links[i]->needs_listing)
			return true;
	}

	return false;
}

static int on_instance_timer(sd_event_source *s, uint64_t usec, void *data)
{
	struct manager *m = data;

	if (!m->instance.primary_known)
		request_primary_mac(m);
	if (any_link_needs_listing(m))
		manager_request_listing(m);
	return 0;
}

static void primary_mac_done(const struct imds_reply *reply, void *userdata)
{
	struct manager *m = userdata;
	struct imds_why why = {{0}};
	char text[MAC_STRLEN];

	m->mac_request = NULL;
	if (reply->result != IMDS_OK ||
	    imds_parse_mac(reply->body, reply->length, m->instance.primary_mac,
			   &why) < 0) {
		log_msg(LOG_WARNING, "imds: cannot read the primary MAC: %s",
			reply->result == IMDS_OK ? why.text :
			reply->result == IMDS_NOT_FOUND ? "not found" :
							  strerror(-reply->error));
		retry_instance_later(m);
		return;
	}

	m->instance.primary_known = true;
	log_msg(LOG_INFO, "imds: primary ENI has MAC %s",
		mac_format(m->instance.primary_mac, text));
	update_imds_binding(m);
	if (any_link_needs_listing(m))
		manager_request_listing(m);
}

static void request_primary_mac(struct manager *m)
{
	if (m->mac_request)
		return;

	m->mac_request = imds_get(m->imds, "mac", primary_mac_done, m);
}

/* The MACs of one macs/ listing. */
struct mac_set {
	uint8_t (*macs)[MAC_LEN];
	size_t count;
};

static int collect_mac(const char *name, int is_directory, void *userdata)
{
	struct mac_set *set = userdata;
	uint8_t mac[MAC_LEN];

	if (!is_directory || mac_parse(name, mac) < 0)
		return 0;

	memcpy(set->macs[set->count++], mac, MAC_LEN);
	return 0;
}

static bool mac_set_has(const struct mac_set *set, const uint8_t *mac)
{
	for (size_t i = 0; i < set->count; i++) {
		if (memcmp(set->macs[i], mac, MAC_LEN) == 0)
			return true;
	}

	return false;
}

static void deliver_listing(struct manager *m, const struct mac_set *set)
{
	/* A link may be freed or added by a callee, so walk by index. */
	for (size_t i = 0; i < m->n_links; i++) {
		struct link *link = m->links[i];

		if (link->needs_listing)
			link_listing_done(link,
					  mac_set_has(set, link->kernel.mac));
	}
}

static void fail_listing(struct manager *m, const char *error)
{
	for (size_t i = 0; i < m->n_links; i++) {
		if (m->links[i]->needs_listing)
			link_listing_failed(m->links[i], error);
	}

	retry_instance_later(m);
}

static void listing_done(const struct imds_reply *reply, void *userdata)
{
	struct manager *m = userdata;
	struct imds_why why = {{0}};
	uint8_t macs[IMDS_MAX_LISTING][MAC_LEN];
	struct mac_set set = {macs, 0};

	m->listing_request = NULL;
	if (reply->result == IMDS_FAILED) {
		fail_listing(m, strerror(-reply->error));
		return;
	}

	/* 404: no ENI is listed at all, which a fresh ENI may see. */
	if (reply->result == IMDS_OK &&
	    imds_parse_listing(reply->body, reply->length, collect_mac, &set,
			       &why) < 0) {
		log_msg(LOG_WARNING,
			"imds: invalid network/interfaces/macs/ listing: %s",
			why.text);
		fail_listing(m, "invalid macs/ listing");
		return;
	}

	if (m->instance.primary_known) {
		bool again = m->listing_again;

		m->listing_again = false;
		deliver_listing(m, &set);
		if (again && any_link_needs_listing(m))
			manager_request_listing(m);
		return;
	}

	/* Links are judged once the primary MAC is known. */
	request_primary_mac(m);
}

void manager_request_listing(struct manager *m)
{
	if (m->listing_request) {
		m->listing_again = true;
		return;
	}

	if (!m->instance.primary_known) {
		request_primary_mac(m);
		if (!m->instance.primary_known && m->mac_request)
			return;
	}

	m->listing_again = false;
	m->listing_request = imds_get(m->imds, "network/interfaces/macs/",
				      listing_done, m);
}

static void recheck_waiting_links(struct manager *m)
{
	for (size_t i = 0; i < m->n_links; i++) {
		struct link *link = m->links[i];

		if (link->state == LINK_STATE_WAITING &&
		    link->first_fetch_done && !link->fetch)
			link_refresh_now(link);
	}
}

void manager_learn_cards(struct manager *m, const struct eni_record *r)
{
	enum instance_cards cards;

	if (!r->primary || !r->keys_listed)
		return;

	cards = r->listed_keys & (1u << ENI_KEY_NETWORK_CARD) ?
			INSTANCE_CARDS_MULTI :
			INSTANCE_CARDS_SINGLE;
	if (cards == m->instance.cards)
		return;

	m->instance.cards = cards;
	log_msg(LOG_DEBUG, "imds: instance has %s network card%s",
		cards == INSTANCE_CARDS_MULTI ? "several" : "one",
		cards == INSTANCE_CARDS_MULTI ? "s" : "");
	recheck_waiting_links(m);
}

static int mark_network_card(const char *name, int is_directory, void *data)
{
	bool *found = data;

	if (!is_directory && strcmp(name, "network-card") == 0)
		*found = true;
	return 0;
}

static void cards_done(const struct imds_reply *reply, void *userdata)
{
	struct manager *m = userdata;
	struct eni_record primary;
	struct imds_why why = {{0}};
	bool found = false;

	m->cards_request = NULL;
	if (reply->result != IMDS_OK ||
	    imds_parse_listing(reply->body, reply->length, mark_network_card,
			       &found, &why) < 0)
		return;

	eni_record_init(&primary, m->instance.primary_mac);
	primary.primary = true;
	primary.keys_listed = true;
	primary.listed_keys = found ? 1u << ENI_KEY_NETWORK_CARD : 0;
	manager_learn_cards(m, &primary);
}

void manager_request_cards(struct manager *m)
{
	char path[64], mac[MAC_STRLEN];

	if (m->cards_request || !m->instance.primary_known)
		return;

	snprintf(path, sizeof(path), "network/interfaces/macs/%s/",
		 mac_format(m->instance.primary_mac, mac));
	m->cards_request = imds_get(m->imds, path, cards_done, m);
}

/* --- readiness, status and the end of a one-shot run --- */

/* Returns true when a link has reached a state it can report. */
static bool link_settled(const struct link *link)
{
	switch (link->state) {
	case LINK_STATE_IGNORED:
	case LINK_STATE_CONFIGURED:
	case LINK_STATE_FAILED:
		return true;
	case LINK_STATE_WAITING:
		return !link->needs_listing && !link->fetch;
	case LINK_STATE_NEW:
	case LINK_STATE_CONFIGURING:
	case LINK_STATE_COUNT:
		break;
	}

	return false;
}

static void count_states(const struct manager *m, unsigned *configured,
			 unsigned *waiting, unsigned *failed)
{
	*configured = *waiting = *failed = 0;

	for (size_t i = 0; i < m->n_links; i++) {
		switch (m->links[i]->state) {
		case LINK_STATE_CONFIGURED:
			(*configured)++;
			break;
		case LINK_STATE_FAILED:
			(*failed)++;
			break;
		case LINK_STATE_NEW:
		case LINK_STATE_WAITING:
		case LINK_STATE_CONFIGURING:
			(*waiting)++;
			break;
		case LINK_STATE_IGNORED:
		case LINK_STATE_COUNT:
			break;
		}
	}
}

static void notify_status(struct manager *m, bool ready)
{
	unsigned configured, waiting, failed;
	char status[128];

	count_states(m, &configured, &waiting, &failed);
	snprintf(status, sizeof(status),
		 "%u ENI%s configured, %u waiting for metadata, %u failed",
		 configured, configured == 1 ? "" : "s", waiting, failed);

	/* systemd keeps the last STATUS=; repeating it costs a wakeup. */
	if (!ready && strcmp(status, m->last_status) == 0)
		return;

	snprintf(m->last_status, sizeof(m->last_status), "%s", status);
	sd_notifyf(0, "%sSTATUS=%s", ready ? "READY=1\n" : "", status);
}

static void send_ready(struct manager *m, const char *why)
{
	if (m->ready_sent)
		return;

	m->ready_sent = true;
	log_msg(LOG_INFO, "ready: %s", why);
	notify_status(m, true);
}

static bool initial_links_settled(const struct manager *m)
{
	for (size_t i = 0; i < m->n_links; i++) {
		if (!m->links[i]->hot && !link_settled(m->links[i]))
			return false;
	}

	return true;
}

static const struct link *primary_link(const struct manager *m)
{
	for (size_t i = 0; m->instance.primary_known && i < m->n_links; i++) {
		if (memcmp(m->links[i]->kernel.mac, m->instance.primary_mac,
			   MAC_LEN) == 0)
			return m->links[i];
	}

	return NULL;
}

/* A one-shot run is done when the primary has a link and every candidate
 * is configured or failed. */
/* Binds metadata requests to the primary ENI's link, by its current name. */
static void update_imds_binding(struct manager *m)
{
	const struct link *primary = primary_link(m);

	imds_client_set_interface(m->imds, primary ? primary->kernel.name :
						     NULL);
}

static bool oneshot_done(const struct manager *m)
{
	if (!primary_link(m) || m->reconcile_source_pending)
		return false;

	for (size_t i = 0; i < m->n_links; i++) {
		enum link_state state = m->links[i]->state;

		if (state != LINK_STATE_IGNORED &&
		    state != LINK_STATE_CONFIGURED && state != LINK_STATE_FAILED)
			return false;
	}

	return true;
}

static void finish_oneshot(struct manager *m, bool timed_out);

static void write_status(struct manager *m)
{
	int r = status_write(m);

	if (r < 0 && !m->status_failed)
		log_msg(LOG_WARNING, "cannot write %s/status: %s",
			status_directory(), strerror(-r));
	m->status_failed = r < 0;
}

void manager_link_changed(struct manager *m)
{
	write_status(m);

	if (!m->ready_sent && m->first_reconcile_done &&
	    initial_links_settled(m))
		send_ready(m, "every interface present at start is settled");
	else if (m->ready_sent)
		notify_status(m, false);

	if (m->options.oneshot && !m->finishing && m->first_reconcile_done &&
	    oneshot_done(m))
		finish_oneshot(m, false);
}

static void report_unfinished(const struct manager *m)
{
	char mac[MAC_STRLEN];

	if (!m->instance.primary_known)
		log_msg(LOG_ERR, "imds: the primary MAC was never read");
	else if (!primary_link(m))
		log_msg(LOG_ERR, "no link has the primary ENI's MAC %s",
			mac_format(m->instance.primary_mac, mac));

	for (size_t i = 0; i < m->n_links; i++) {
		const struct link *link = m->links[i];

		if (link->state != LINK_STATE_CONFIGURED &&
		    link->state != LINK_STATE_IGNORED)
			log_link(LOG_ERR, link->kernel.name, "not configured: %s%s%s",
				 link_state_name(link->state),
				 link->reason[0] ? ", " : "", link->reason);
	}
}

static void finish_oneshot(struct manager *m, bool timed_out)
{
	size_t pending = 0;
	unsigned configured, waiting, failed;

	m->finishing = true;
	count_states(m, &configured, &waiting, &failed);
	m->exit_code = timed_out || failed || waiting ? 1 : 0;

	/* Read the kernel again: a change that did not stick is a failure. */
	if (m->exit_code == 0 && !m->options.dry_run &&
	    (apply_count_pending(m, &pending) < 0 || pending > 0)) {
		log_msg(LOG_ERR, "%zu change%s did not stick in the kernel",
			pending, pending == 1 ? "" : "s");
		m->exit_code = 1;
	}

	if (m->exit_code)
		report_unfinished(m);
	else
		log_msg(LOG_INFO, "one-shot run done: %u ENI%s configured",
			configured, configured == 1 ? "" : "s");

	sd_event_exit(m->event, m->exit_code);
}

static int on_ready_timeout(sd_event_source *s, uint64_t usec, void *data)
{
	send_ready(data, "ready_timeout reached");
	return 0;
}

static int on_oneshot_timeout(sd_event_source *s, uint64_t usec, void *data)
{
	struct manager *m = data;

	log_msg(LOG_ERR, "one-shot run timed out");
	if (!m->finishing)
		finish_oneshot(m, true);
	return 0;
}

/* --- reconcile scheduling --- */

static int on_reconcile(sd_event_source *s, void *userdata)
{
	struct manager *m = userdata;
	struct apply_result result;
	uint64_t now = manager_now(m);

	m->reconcile_source_pending = false;
	if (apply_reconcile(m, &result) < 0) {
		/* The kernel could not be read; try again shortly. */
		m->drift_pending = true;
		sd_event_source_set_time(m->drift_timer, now + USEC_PER_SEC);
		sd_event_source_set_enabled(m->drift_timer, SD_EVENT_ONESHOT);
		return 0;
	}

	m->first_reconcile_done = true;
	manager_link_changed(m);
	return 0;
}

void manager_schedule_reconcile(struct manager *m)
{
	m->reconcile_source_pending = true;
	sd_event_source_set_enabled(m->reconcile_source, SD_EVENT_ONESHOT);
}

static int on_drift_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct manager *m = userdata;

	m->drift_pending = false;
	manager_schedule_reconcile(m);
	return 0;
}

static struct repair_history *find_repair(struct manager *m, uint64_t hash,
					  bool create)
{
	uint64_t now = manager_now(m);
	struct repair_history *free_slot = NULL;

	for (size_t i = 0; i < sizeof(m->repairs) / sizeof(m->repairs[0]);
	     i++) {
		struct repair_history *h = &m->repairs[i];
		bool stale = now - h->last_usec >= DRIFT_QUIET_USEC;

		if (h->hash == hash && !stale)
			return h;
		if (!free_slot && (h->hash == 0 || stale))
			free_slot = h;
	}

	if (!create || !free_slot)
		return NULL;

	*free_slot = (struct repair_history){.hash = hash};
	return free_slot;
}

void manager_note_repair(struct manager *m, enum net_object_type type,
			 const void *object)
{
	struct repair_history *h;

	h = find_repair(m, net_object_hash(type, object), true);
	if (!h)
		return;

	h->count++;
	h->last_usec = manager_now(m);
}

/* Returns the repair delay of an object: none at first, then 250 ms
 * doubling to 10 s while it keeps being removed within a minute. */
static uint64_t repair_delay(struct manager *m, enum net_object_type type,
			     const void *object)
{
	struct repair_history *h;
	uint64_t delay = DRIFT_INITIAL_USEC;

	h = find_repair(m, net_object_hash(type, object), false);
	if (!h || h->count == 0)
		return 0;

	for (unsigned i = 1; i < h->count && delay < DRIFT_MAX_USEC; i++)
		delay *= 2;

	return delay < DRIFT_MAX_USEC ? delay : DRIFT_MAX_USEC;
}

/*
 * Schedules a repair after another program removed or changed one of
 * enid's objects. An object that keeps being removed (a program fighting
 * over it) is repaired with backoff; others are repaired at once.
 */
static void schedule_repair(struct manager *m, enum net_object_type type,
			    const void *object)
{
	uint64_t delay = repair_delay(m, type, object);
	uint64_t when = manager_now(m) + delay;
	uint64_t pending;

	if (delay == 0) {
		manager_schedule_reconcile(m);
		return;
	}

	if (m->drift_pending &&
	    sd_event_source_get_time(m->drift_timer, &pending) >= 0 &&
	    pending <= when)
		return;

	m->drift_pending = true;
	sd_event_source_set_time(m->drift_timer, when);
	sd_event_source_set_enabled(m->drift_timer, SD_EVENT_ONESHOT);
}

/* --- rtnetlink events --- */

static bool link_settings_changed(const struct net_link *old,
				  const struct net_link *new)
{
	return old->flags != new->flags || old->mtu != new->mtu ||
	       old->group != new->group ||
	       old->promote_secondaries != new->promote_secondaries;
}

static void handle_link_event(struct manager *m, const struct net_event *ev)
{
	struct link *link = manager_find_link(m, ev->link.ifindex);

	if (ev->kind == NET_EVENT_DELETE) {
		if (link)
			remove_link(m, link);
		return;
	}

	if (!link) {
		if (add_link(m, &ev->link, true) < 0)
			log_msg(LOG_ERR, "%s: cannot track link: out of memory",
				ev->link.name);
		return;
	}

	if (link_is_known(link) &&
	    link_settings_changed(&link->kernel, &ev->link)) {
		link_update(link, &ev->link);
		update_imds_binding(m);
		schedule_repair(m, NET_OBJECT_LINK, &link->ifindex);
		return;
	}

	link_update(link, &ev->link);
	update_imds_binding(m);
}

static void handle_addr_event(struct manager *m, const struct net_event *ev)
{
	struct link *link = manager_find_link(m, ev->addr.ifindex);
	bool owned = reconcile_addr_is_owned(&m->settings, &ev->addr);

	if (!link || !link_is_known(link))
		return;

	if (ev->kind == NET_EVENT_DELETE && owned)
		schedule_repair(m, NET_OBJECT_ADDR, &ev->addr);
	else if (!owned)
		/* The DHCP client's address gates the primary's others. */
		manager_schedule_reconcile(m);
}

static void handle_route_event(struct manager *m, const struct net_event *ev)
{
	const struct net_route *route = &ev->route;
	struct link *link;

	if (reconcile_route_is_owned(&m->settings, route)) {
		if (ev->kind == NET_EVENT_DELETE)
			schedule_repair(m, NET_OBJECT_ROUTE, route);
		return;
	}

	/* A foreign route in main through an ENI is mirrored in its table. */
	link = manager_find_link(m, route->oif);
	if (route->table == RT_TABLE_MAIN && route->protocol != RTPROT_KERNEL &&
	    link && link_is_known(link))
		manager_schedule_reconcile(m);
}

static void handle_event(const struct net_event *ev, void *userdata)
{
	struct manager *m = userdata;

	switch (ev->type) {
	case NET_OBJECT_LINK:
		handle_link_event(m, ev);
		break;
	case NET_OBJECT_ADDR:
		handle_addr_event(m, ev);
		break;
	case NET_OBJECT_ROUTE:
		handle_route_event(m, ev);
		break;
	case NET_OBJECT_RULE:
		if (ev->kind == NET_EVENT_DELETE &&
		    reconcile_rule_is_owned(&m->settings, &ev->rule))
			schedule_repair(m, NET_OBJECT_RULE, &ev->rule);
		break;
	}
}

/* After lost notifications: take links from a fresh dump. */
static int resync_links(struct manager *m)
{
	struct net_state state = {0};
	int r;

	r = netlink_dump(m->nl, NETLINK_DUMP_LINKS, 0, &state);
	if (r < 0)
		return r;

	for (size_t i = m->n_links; i-- > 0;) {
		if (!net_state_find_link(&state, m->links[i]->ifindex))
			remove_link(m, m->links[i]);
	}

	for (size_t i = 0; i < state.n_links; i++) {
		struct net_event ev = {.kind = NET_EVENT_NEW,
				       .type = NET_OBJECT_LINK,
				       .link = state.links[i]};

		handle_link_event(m, &ev);
	}

	net_state_clear(&state);
	manager_schedule_reconcile(m);
	return 0;
}

static int on_monitor(sd_event_source *s, int fd, uint32_t revents,
		      void *userdata)
{
	struct manager *m = userdata;
	int r;

	r = netlink_monitor_read(m->monitor, handle_event, m);
	if (r == -ENOBUFS) {
		log_msg(LOG_WARNING, "rtnl: notifications were lost "
				     "(receive buffer full); reading the kernel "
				     "state again");
		r = resync_links(m);
	}

	if (r < 0)
		log_msg(LOG_ERR, "rtnl: reading notifications failed: %s",
			strerror(-r));
	return 0;
}

/* --- signals and start-up --- */

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si,
		     void *userdata)
{
	struct manager *m = userdata;

	if (si->ssi_signo == SIGHUP) {
		log_msg(LOG_INFO, "SIGHUP: reading metadata again");
		for (size_t i = 0; i < m->n_links; i++)
			link_refresh_now(m->links[i]);
		return 0;
	}

	log_msg(LOG_INFO, "signal %d: stopping; configuration stays in place",
		si->ssi_signo);
	sd_event_exit(m->event, m->options.oneshot ? 1 : 0);
	return 0;
}

static int setup_signals(struct manager *m)
{
	static const int signals[] = {SIGTERM, SIGINT, SIGHUP};
	sigset_t mask;
	int r;

	sigemptyset(&mask);
	for (size_t i = 0; i < 3; i++)
		sigaddset(&mask, signals[i]);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;

	for (size_t i = 0; i < 3; i++) {
		r = sd_event_add_signal(m->event, NULL, signals[i], on_signal, m);
		if (r < 0)
			return r;
	}

	return 0;
}

static int setup_imds(struct manager *m)
{
	const struct settings *s = &m->settings;
	struct imds_options options = {
		.url = s->imds_url,
		.url_ipv6 = s->imds_url_ipv6,
		.v1_fallback = s->imds_v1_fallback,
		.timeout_usec = s->imds_timeout_usec,
		.deadline_usec = IMDS_DEADLINE_USEC,
		.token_ttl_sec = s->token_ttl_sec,
		.user_agent = "enid/" ENID_VERSION,
	};

	backoff_init(&m->instance_backoff, 500 * USEC_PER_MSEC,
		     30 * USEC_PER_SEC, 20, m->start_usec);
	return imds_client_new(&m->imds, m->event, &options);
}

static int setup_netlink(struct manager *m)
{
	int r;

	/* Events first, so nothing between the dump and the socket is lost. */
	r = netlink_monitor_open(&m->monitor, m->options.netlink_rcvbuf);
	if (r < 0)
		return r;

	r = sd_event_add_io(m->event, &m->monitor_source,
			    netlink_monitor_fd(m->monitor), EPOLLIN, on_monitor,
			    m);
	if (r < 0)
		return r;

	return netlink_open(&m->nl);
}

static int setup_timers(struct manager *m)
{
	int r;

	r = sd_event_add_defer(m->event, &m->reconcile_source, on_reconcile, m);
	if (r < 0)
		return r;
	sd_event_source_set_enabled(m->reconcile_source, SD_EVENT_OFF);

	r = sd_event_add_time(m->event, &m->drift_timer, CLOCK_MONOTONIC,
			      UINT64_MAX, USEC_PER_MSEC, on_drift_timer, m);
	if (r < 0)
		return r;
	sd_event_source_set_enabled(m->drift_timer, SD_EVENT_OFF);

	if (!m->options.oneshot) {
		r = sd_event_add_time_relative(m->event, &m->ready_timer,
					       CLOCK_MONOTONIC,
					       m->settings.ready_timeout_usec,
					       USEC_PER_MSEC, on_ready_timeout,
					       m);
		if (r < 0)
			return r;
	}

	if (m->options.oneshot)
		return sd_event_add_time_relative(
			m->event, &m->oneshot_timer, CLOCK_MONOTONIC,
			m->options.oneshot_timeout_usec, USEC_PER_MSEC,
			on_oneshot_timeout, m);

	return 0;
}

static int add_initial_links(struct manager *m)
{
	struct net_state state = {0};
	int r;

	r = netlink_dump(m->nl, NETLINK_DUMP_LINKS, 0, &state);
	if (r < 0)
		return r;

	for (size_t i = 0; r == 0 && i < state.n_links; i++)
		r = add_link(m, &state.links[i], false);

	net_state_clear(&state);
	return r;
}

int manager_new(struct manager **out, const struct settings *settings,
		const struct manager_options *options)
{
	struct manager *m = calloc(1, sizeof(*m));
	int r;

	if (!m)
		return -ENOMEM;

	m->settings = *settings;
	m->options = *options;
	r = sd_event_default(&m->event);
	if (r < 0)
		goto fail;

	m->start_usec = manager_now(m);
	r = setup_signals(m);
	if (r == 0)
		r = setup_timers(m);
	if (r == 0)
		r = setup_netlink(m);
	if (r == 0)
		r = setup_imds(m);
	if (r < 0)
		goto fail;

	m->use_records = options->address_records ||
			 !records_kernel_keeps_protocol();
	if (m->use_records) {
		r = records_load(&m->records);
		if (r < 0)
			log_msg(LOG_WARNING, "cannot read %s/addresses: %s",
				status_directory(), strerror(-r));
		log_msg(LOG_INFO, "addresses enid adds are recorded in "
				  "%s/addresses (the kernel keeps no address "
				  "protocol before Linux 6.1)",
			status_directory());
	}

	/* Under systemd's watchdog, the loop sends WATCHDOG=1 by itself. */
	sd_event_set_watchdog(m->event, true);
	request_primary_mac(m);
	r = add_initial_links(m);
	if (r < 0)
		goto fail;

	/* The first pass removes what detached ENIs left behind. */
	manager_schedule_reconcile(m);
	*out = m;
	return 0;

fail:
	manager_free(m);
	return r;
}

int manager_run(struct manager *m)
{
	int r = sd_event_loop(m->event);

	if (r < 0) {
		log_msg(LOG_ERR, "event loop failed: %s", strerror(-r));
		return 1;
	}

	return m->exit_code ? m->exit_code : r;
}

void manager_free(struct manager *m)
{
	if (!m)
		return;

	for (size_t i = 0; i < m->n_links; i++)
		link_free(m->links[i]);
	free(m->links);

	imds_cancel(m->mac_request);
	imds_cancel(m->listing_request);
	imds_cancel(m->cards_request);
	imds_client_free(m->imds);

	sd_event_source_disable_unref(m->monitor_source);
	sd_event_source_disable_unref(m->reconcile_source);
	sd_event_source_disable_unref(m->drift_timer);
	sd_event_source_disable_unref(m->ready_timer);
	sd_event_source_disable_unref(m->oneshot_timer);
	sd_event_source_disable_unref(m->instance_timer);
	netlink_monitor_close(m->monitor);
	netlink_close(m->nl);
	sd_event_unref(m->event);
	records_free(&m->records);
	free(m->printed);
	free(m);
}
