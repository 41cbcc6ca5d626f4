/* SPDX-License-Identifier: MIT */
/*
 * Operator views: the status file the daemon rewrites on every change,
 * `enid status` (that file joined with what the kernel holds), and
 * `enid cleanup` (removal of every object enid owns).
 */
#ifndef ENID_DAEMON_STATUS_H
#define ENID_DAEMON_STATUS_H

#include <stdbool.h>

#include "daemon/config.h"

struct manager;

/* Returns the runtime directory: $RUNTIME_DIRECTORY or /run/enid. */
const char *status_directory(void);

/*
 * Rewrites <runtime directory>/status atomically (write, then rename)
 * with one line per link. Returns 0 or a negative errno; the daemon logs
 * a failure once and goes on.
 */
int status_write(const struct manager *m);

/*
 * Prints one block per ENI: link, MAC, ENI id, card and device, table,
 * addresses, rules, state, what it waits for or its last error; as JSON
 * with json. Returns an exit status.
 */
int status_command(const struct settings *s, bool json);

/*
 * Deletes every rule, route and address that carries enid's marks, and
 * prints what it removed. Returns an exit status.
 */
int cleanup_command(const struct settings *s);

#endif
