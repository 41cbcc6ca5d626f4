/* SPDX-License-Identifier: MIT */
/*
 * What udev records about a link, read from its database files
 * (/run/udev/data/n<ifindex>), without libudev: whether udev has finished
 * with the link (names settle after a rename), and which manager, if any,
 * claims it through the ID_NET_MANAGED_BY property.
 */
#ifndef ENID_DAEMON_UDEV_H
#define ENID_DAEMON_UDEV_H

#include <stdbool.h>
#include <stddef.h>

/* The value of ID_NET_MANAGED_BY that leaves a link to enid. */
#define UDEV_MANAGER_ID "enid"

/*
 * Chooses the database directory. data_dir (a test option) forces the
 * given directory; NULL uses /run/udev/data when udev runs
 * (/run/udev/control exists) in this network namespace.
 */
void udev_setup(const char *data_dir);

/* Returns true when links must wait for udev before being configured. */
bool udev_active(void);

enum udev_link_state {
	UDEV_LINK_PENDING,	/* udev has not finished with the link */
	UDEV_LINK_READY,	/* finished, or udev does not run */
};

/*
 * Returns the link's state and stores its ID_NET_MANAGED_BY value in
 * managed_by ("" when unset).
 */
enum udev_link_state udev_link(int ifindex, char *managed_by, size_t size);

#endif
