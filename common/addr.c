/* SPDX-License-Identifier: MIT */
/*
 * Address and prefix values: parsing with inet_pton, comparison and the
 * prefix arithmetic the planner needs (host bits, containment, base + n).
 */
#include "common/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

unsigned ip_family_bits(int family)
{
	if (family == AF_INET)
		return 32;
	if (family == AF_INET6)
		return 128;
	return 0;
}

static size_t family_bytes(int family)
{
	return ip_family_bits(family) / 8;
}

bool ip_addr_equal(int family, const union ip_addr *a, const union ip_addr *b)
{
	size_t n = family_bytes(family);

	return n > 0 && memcmp(a, b, n) == 0;
}

bool ip_prefix_equal(const struct ip_prefix *a, const struct ip_prefix *b)
{
	return a->family == b->family && a->len == b->len &&
	       ip_addr_equal(a->family, &a->addr, &b->addr);
}

/* Returns the byte of a mask of len bits at byte index i. */
static uint8_t mask_byte(unsigned len, size_t i)
{
	if (len >= (i + 1) * 8)
		return 0xff;
	if (len <= i * 8)
		return 0;
	return (uint8_t)(0xff << (8 - (len - i * 8)));
}

bool ip_prefix_has_host_bits(const struct ip_prefix *p)
{
	const uint8_t *bytes = (const uint8_t *)&p->addr;
	size_t n = family_bytes(p->family);

	for (size_t i = 0; i < n; i++) {
		if (bytes[i] & ~mask_byte(p->len, i))
			return true;
	}

	return false;
}

bool ip_prefix_contains(const struct ip_prefix *p, int family,
			const union ip_addr *addr)
{
	const uint8_t *net = (const uint8_t *)&p->addr;
	const uint8_t *host = (const uint8_t *)addr;
	size_t n = family_bytes(family);

	if (family != p->family || n == 0)
		return false;

	for (size_t i = 0; i < n; i++) {
		uint8_t mask = mask_byte(p->len, i);

		if ((net[i] & mask) != (host[i] & mask))
			return false;
	}

	return true;
}

int ip_prefix_nth(const struct ip_prefix *p, uint32_t n, union ip_addr *out)
{
	union ip_addr result = p->addr;
	uint8_t *bytes = (uint8_t *)&result;
	size_t size = family_bytes(p->family);
	uint64_t carry = n;

	if (size == 0)
		return -EINVAL;

	for (size_t i = size; i-- > 0 && carry;) {
		uint64_t sum = bytes[i] + (carry & 0xff);

		bytes[i] = (uint8_t)sum;
		carry = (carry >> 8) + (sum >> 8);
	}

	if (carry || !ip_prefix_contains(p, p->family, &result))
		return -ERANGE;

	*out = result;
	return 0;
}

int ip_addr_parse(const char *text, int family, struct ip_prefix *out)
{
	struct ip_prefix p = {0};

	if (family != AF_INET6 && inet_pton(AF_INET, text, &p.addr.in) == 1)
		p.family = AF_INET;
	else if (family != AF_INET &&
		 inet_pton(AF_INET6, text, &p.addr.in6) == 1)
		p.family = AF_INET6;
	else
		return -EINVAL;

	p.len = (uint8_t)ip_family_bits(p.family);
	*out = p;
	return 0;
}

/* Parses a prefix length: decimal digits, no sign, no leading zero. */
static int parse_length(const char *text, unsigned max, uint8_t *out)
{
	unsigned value = 0;

	if (text[0] == '\0' || (text[0] == '0' && text[1] != '\0'))
		return -EINVAL;

	for (const char *c = text; *c; c++) {
		if (*c < '0' || *c > '9')
			return -EINVAL;
		value = value * 10 + (unsigned)(*c - '0');
		if (value > max)
			return -EINVAL;
	}

	*out = (uint8_t)value;
	return 0;
}

int ip_prefix_parse(const char *text, int family, struct ip_prefix *out)
{
	char address[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t address_len;
	struct ip_prefix p;
	int r;

	if (!slash)
		return -EINVAL;

	address_len = (size_t)(slash - text);
	if (address_len == 0 || address_len >= sizeof(address))
		return -EINVAL;

	memcpy(address, text, address_len);
	address[address_len] = '\0';

	r = ip_addr_parse(address, family, &p);
	if (r < 0)
		return r;

	r = parse_length(slash + 1, ip_family_bits(p.family), &p.len);
	if (r < 0)
		return r;

	*out = p;
	return 0;
}

const char *ip_addr_format(int family, const union ip_addr *addr, char *buf)
{
	if (!inet_ntop(family, addr, buf, IP_PREFIX_STRLEN))
		snprintf(buf, IP_PREFIX_STRLEN, "(family %d)", family);

	return buf;
}

const char *ip_prefix_format(const struct ip_prefix *p, char *buf)
{
	size_t used;

	ip_addr_format(p->family, &p->addr, buf);
	used = strlen(buf);
	snprintf(buf + used, IP_PREFIX_STRLEN - used, "/%u", p->len);
	return buf;
}
