/* SPDX-License-Identifier: MIT */
/*
 * The record of the addresses enid added, for kernels that do not keep an
 * address's protocol (IFA_PROTO arrived in Linux 6.1). There, the record
 * in the runtime directory is what marks an address as enid's: a restart
 * finds it again, and an address enid did not add is never removed. The
 * runtime directory is a tmpfs, so the record goes with a reboot, as the
 * addresses do.
 */
#ifndef ENID_DAEMON_RECORDS_H
#define ENID_DAEMON_RECORDS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/netobj.h"

struct address_records {
	struct net_addr *addrs;
	size_t count;
	bool changed;		/* not yet written */
};

/* Returns true when the running kernel keeps IFA_PROTO (Linux 6.1+). */
bool records_kernel_keeps_protocol(void);

/* Loads <runtime directory>/addresses; a missing file is an empty record. */
int records_load(struct address_records *records);

/* Writes the record atomically when it changed. */
int records_save(struct address_records *records);

void records_free(struct address_records *records);

/* Adds or removes one address (by link, family and value). */
int records_add(struct address_records *records, const struct net_addr *addr);
void records_remove(struct address_records *records,
		    const struct net_addr *addr);

/*
 * Marks the dumped addresses found in the record with protocol, and drops
 * from the record the addresses the kernel no longer has.
 */
void records_apply(struct address_records *records, struct net_state *kernel,
		   uint8_t protocol);

#endif
