/* SPDX-License-Identifier: MIT */
/*
 * The address record: one "ifindex address/length" line per address enid
 * added, in <runtime directory>/addresses.
 */
#include "daemon/records.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "daemon/status.h"

#define RECORDS_FILE "addresses"

bool records_kernel_keeps_protocol(void)
{
	struct utsname name;
	unsigned major = 0, minor = 0;

	if (uname(&name) < 0 ||
	    sscanf(name.release, "%u.%u", &major, &minor) != 2)
		return true;

	return major > 6 || (major == 6 && minor >= 1);
}

static void records_path(char *path, size_t size)
{
	snprintf(path, size, "%s/%s", status_directory(), RECORDS_FILE);
}

static ssize_t find(const struct address_records *records,
		    const struct net_addr *addr)
{
	for (size_t i = 0; i < records->count; i++) {
		if (net_addr_same(&records->addrs[i], addr))
			return (ssize_t)i;
	}

	return -1;
}

int records_add(struct address_records *records, const struct net_addr *addr)
{
	struct net_addr *grown;

	if (find(records, addr) >= 0)
		return 0;

	grown = reallocarray(records->addrs, records->count + 1,
			     sizeof(*grown));
	if (!grown)
		return -ENOMEM;

	records->addrs = grown;
	records->addrs[records->count++] = *addr;
	records->changed = true;
	return 0;
}

void records_remove(struct address_records *records,
		    const struct net_addr *addr)
{
	ssize_t i = find(records, addr);

	if (i < 0)
		return;

	records->addrs[i] = records->addrs[--records->count];
	records->changed = true;
}

int records_load(struct address_records *records)
{
	char path[512], line[128], text[IP_PREFIX_STRLEN];
	FILE *f;

	*records = (struct address_records){0};
	records_path(path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;

	while (fgets(line, sizeof(line), f)) {
		struct net_addr addr = {0};

		if (sscanf(line, "%d %45s", &addr.ifindex, text) != 2 ||
		    ip_prefix_parse(text, AF_UNSPEC, &addr.local) < 0)
			continue;
		if (records_add(records, &addr) < 0)
			break;
	}

	fclose(f);
	records->changed = false;
	return 0;
}

int records_save(struct address_records *records)
{
	char path[512], temporary[520], text[IP_PREFIX_STRLEN];
	FILE *f;

	if (!records->changed)
		return 0;

	records_path(path, sizeof(path));
	snprintf(temporary, sizeof(temporary), "%s.new", path);
	if (mkdir(status_directory(), 0755) < 0 && errno != EEXIST)
		return -errno;

	f = fopen(temporary, "we");
	if (!f)
		return -errno;

	for (size_t i = 0; i < records->count; i++)
		fprintf(f, "%d %s\n", records->addrs[i].ifindex,
			ip_prefix_format(&records->addrs[i].local, text));

	if (fclose(f) != 0 || rename(temporary, path) < 0) {
		int r = -errno;

		unlink(temporary);
		return r;
	}

	records->changed = false;
	return 0;
}

void records_free(struct address_records *records)
{
	free(records->addrs);
	*records = (struct address_records){0};
}

static bool kernel_has(const struct net_state *kernel,
		       const struct net_addr *addr)
{
	for (size_t i = 0; i < kernel->n_addrs; i++) {
		if (net_addr_same(&kernel->addrs[i], addr))
			return true;
	}

	return false;
}

void records_apply(struct address_records *records, struct net_state *kernel,
		   uint8_t protocol)
{
	for (size_t i = records->count; i-- > 0;) {
		if (!kernel_has(kernel, &records->addrs[i]))
			records_remove(records, &records->addrs[i]);
	}

	for (size_t i = 0; i < kernel->n_addrs; i++) {
		if (find(records, &kernel->addrs[i]) >= 0)
			kernel->addrs[i].protocol = protocol;
	}
}
