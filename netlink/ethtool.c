/* SPDX-License-Identifier: MIT */
/*
 * The driver bound to a link, as ethtool reports it (ETHTOOL_GDRVINFO
 * through the SIOCETHTOOL ioctl). The ioctl addresses the link by name,
 * so the name is checked against the ifindex afterwards: a link renamed
 * in between must not lend its driver to another.
 */
#include "netlink/netlink.h"

#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Any datagram socket carries the ioctl, and AF_UNIX works without IPv4. */
static int ioctl_socket(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 && errno == EAFNOSUPPORT)
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	return fd < 0 ? -errno : fd;
}

static int read_drvinfo(const char *ifname, struct ethtool_drvinfo *info)
{
	struct ifreq ifr = {0};
	int fd, err = 0;

	fd = ioctl_socket();
	if (fd < 0)
		return fd;

	*info = (struct ethtool_drvinfo){.cmd = ETHTOOL_GDRVINFO};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)info;

	if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
		err = -errno;

	close(fd);
	return err;
}

int netlink_link_driver(int ifindex, const char *ifname, char *buf, size_t size)
{
	struct ethtool_drvinfo info;
	size_t len;
	int err;

	if (ifindex <= 0 || strlen(ifname) >= IFNAMSIZ)
		return -ENODEV;

	err = read_drvinfo(ifname, &info);
	if (err < 0)
		return err;

	if (if_nametoindex(ifname) != (unsigned)ifindex)
		return -ENODEV;

	len = strnlen(info.driver, sizeof(info.driver));
	if (len == 0)
		return -EOPNOTSUPP;
	if (len >= size)
		return -ENOBUFS;

	memcpy(buf, info.driver, len);
	buf[len] = '\0';
	return 0;
}
