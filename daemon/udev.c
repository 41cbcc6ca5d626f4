/* SPDX-License-Identifier: MIT */
/*
 * udev's database, read as files. udev writes /run/udev/data/n<ifindex>
 * once it has processed a network link (after any rename), with one
 * "E:KEY=value" line per property. Before Linux 6.2 a link that is up
 * cannot be renamed, so a new link is brought up only after that file
 * exists.
 *
 * udev handles the links of the network namespace it runs in. Links of
 * another namespace (containers, test namespaces) never get a file, so
 * there enid does not wait.
 */
#include "daemon/udev.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define UDEV_CONTROL "/run/udev/control"
#define UDEV_DATA "/run/udev/data"
#define MANAGED_BY_PREFIX "E:ID_NET_MANAGED_BY="

static char data_dir[256];
static bool active;

/* Returns true unless this process is known to be in another network
 * namespace than PID 1 (and so than the system's udev). */
static bool same_namespace_as_init(void)
{
	struct stat self, init;

	if (stat("/proc/self/ns/net", &self) < 0 ||
	    stat("/proc/1/ns/net", &init) < 0)
		return true;

	return self.st_ino == init.st_ino && self.st_dev == init.st_dev;
}

void udev_setup(const char *dir)
{
	if (dir) {
		snprintf(data_dir, sizeof(data_dir), "%s", dir);
		active = true;
		return;
	}

	snprintf(data_dir, sizeof(data_dir), "%s", UDEV_DATA);
	active = access(UDEV_CONTROL, F_OK) == 0 && same_namespace_as_init();
}

bool udev_active(void)
{
	return active;
}

enum udev_link_state udev_link(int ifindex, char *managed_by, size_t size)
{
	char path[300], line[512];
	FILE *f;

	managed_by[0] = '\0';
	if (!active)
		return UDEV_LINK_READY;

	snprintf(path, sizeof(path), "%s/n%d", data_dir, ifindex);
	f = fopen(path, "re");
	if (!f)
		return UDEV_LINK_PENDING;

	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, MANAGED_BY_PREFIX,
			    strlen(MANAGED_BY_PREFIX)) != 0)
			continue;

		line[strcspn(line, "\n")] = '\0';
		snprintf(managed_by, size, "%s",
			 line + strlen(MANAGED_BY_PREFIX));
	}

	fclose(f);
	return UDEV_LINK_READY;
}
