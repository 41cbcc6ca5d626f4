/* SPDX-License-Identifier: MIT */
/*
 * The daemon: the event loop, the set of links, instance-level metadata
 * (the primary MAC and the macs/ listing), and reconciliation of the
 * kernel with what every known ENI wants.
 */
#ifndef ENID_DAEMON_MANAGER_H
#define ENID_DAEMON_MANAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "common/backoff.h"
#include "common/eni.h"
#include "common/netobj.h"
#include "daemon/config.h"
#include "daemon/records.h"
#include "imds/imds.h"
#include "netlink/netlink.h"

struct link;

struct manager_options {
	bool oneshot;
	bool dry_run;
	uint64_t oneshot_timeout_usec;
	int netlink_rcvbuf;	/* 0: default */
	bool address_records;	/* record addresses even where IFA_PROTO works */
};

struct manager {
	sd_event *event;
	struct settings settings;
	struct manager_options options;

	struct netlink *nl;
	struct netlink_monitor *monitor;
	sd_event_source *monitor_source;

	struct imds_client *imds;
	struct instance_info instance;
	struct imds_request *mac_request;
	struct imds_request *listing_request;
	struct imds_request *cards_request;
	bool listing_again;	/* a link asked while one was in flight */
	struct backoff instance_backoff;
	sd_event_source *instance_timer;

	/* Record of enid's addresses, used where the kernel keeps no
	 * address protocol (before Linux 6.1). */
	bool use_records;
	struct address_records records;

	struct link **links;
	size_t n_links;
	size_t links_capacity;

	sd_event_source *reconcile_source;
	bool reconcile_source_pending;
	bool first_reconcile_done;
	sd_event_source *drift_timer;
	bool drift_pending;
	/*
	 * Objects enid put back after another program removed them, by the
	 * hash of their identity: repairs of one object back off while it
	 * keeps being removed, without delaying repairs of the others.
	 */
	struct repair_history {
		uint64_t hash;		/* 0 for a free slot */
		unsigned count;
		uint64_t last_usec;
	} repairs[64];

	bool ready_sent;
	sd_event_source *ready_timer;
	sd_event_source *oneshot_timer;
	uint64_t start_usec;
	bool finishing;		/* a one-shot run is ending */
	bool status_failed;	/* the last status file write failed */
	char last_status[128];	/* the last STATUS= sent to systemd */
	int exit_code;

	/* --dry-run: the changes printed last, so repeats are not printed. */
	char *printed;
};

/* Sets up sockets, the metadata client and the initial links. */
int manager_new(struct manager **out, const struct settings *settings,
		const struct manager_options *options);

/* Runs until SIGTERM, SIGINT, or the end of a one-shot run; returns the
 * exit status. */
int manager_run(struct manager *m);

/* Frees everything. Accepts NULL. */
void manager_free(struct manager *m);

/* Returns the current CLOCK_MONOTONIC time of the loop. */
uint64_t manager_now(const struct manager *m);

/* Schedules a reconcile on the next loop iteration. */
void manager_schedule_reconcile(struct manager *m);

/* Asks for a fresh macs/ listing for the links that wait for one. */
void manager_request_listing(struct manager *m);

/* Asks which kind of instance this is (single or multi-card) when no
 * record of the primary reports it yet. */
void manager_request_cards(struct manager *m);

/* Called by links when their state changes (readiness, one-shot end). */
void manager_link_changed(struct manager *m);

/* Returns the link with that ifindex, or NULL. */
struct link *manager_find_link(const struct manager *m, int ifindex);

/* Notes that a pass put back an object another program had removed. */
void manager_note_repair(struct manager *m, enum net_object_type type,
			 const void *object);

/* Learns the instance's card layout from a record of the primary. */
void manager_learn_cards(struct manager *m, const struct eni_record *r);

#endif
