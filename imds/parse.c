/* SPDX-License-Identifier: MIT */
/*
 * Strict parsers of metadata values: one pass checks the bytes of the
 * whole body (line lengths, control and non-ASCII bytes), then each parser
 * walks the non-blank lines and converts them. Leading or trailing spaces
 * are not trimmed, so "10.0.1.5 " is rejected like any other malformed
 * value: the service never sends them, and a value that needs repair is
 * not trusted.
 */
#include "imds/parse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Maximum characters of an offending value quoted in an explanation. */
#define WHY_VALUE_MAX 48

struct line {
	const char *text;
	size_t length;
	unsigned number;
};

struct line_cursor {
	const char *body;
	size_t length;
	size_t position;
	unsigned number;
};

static void why_set(struct imds_why *why, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void why_set(struct imds_why *why, const char *fmt, ...)
{
	va_list ap;

	if (!why)
		return;

	va_start(ap, fmt);
	vsnprintf(why->text, sizeof(why->text), fmt, ap);
	va_end(ap);
}

/*
 * Copies text into out (of size bytes) with non-printable bytes and
 * backslashes escaped as \xNN, cut at WHY_VALUE_MAX characters with "...".
 */
static const char *sanitize(const char *text, size_t length, char *out,
			    size_t size)
{
	size_t used = 0;

	for (size_t i = 0; i < length; i++) {
		unsigned char c = (unsigned char)text[i];
		bool plain = c >= 0x20 && c < 0x7f && c != '\\';
		size_t need = plain ? 1 : 4;

		if (used + need > WHY_VALUE_MAX || used + need + 4 > size) {
			snprintf(out + used, size - used, "...");
			return out;
		}

		if (plain)
			out[used++] = (char)c;
		else
			used += (size_t)snprintf(out + used, size - used,
						 "\\x%02x", c);
	}

	out[used] = '\0';
	return out;
}

/* Sanitized copy of a line, for explanations. */
struct quoted {
	char text[WHY_VALUE_MAX + 8];
};

static const char *quote(const struct line *line, struct quoted *q)
{
	return sanitize(line->text, line->length, q->text, sizeof(q->text));
}

/* Returns the problem with byte c at offset i of body, or NULL. */
static const char *byte_problem(const char *body, size_t length, size_t i)
{
	unsigned char c = (unsigned char)body[i];

	if (c == '\0')
		return "NUL byte";
	if (c == '\r' && (i + 1 == length || body[i + 1] != '\n'))
		return "carriage return not followed by a line feed";
	if (c >= 0x80)
		return "non-ASCII byte";
	if ((c < 0x20 && c != '\n' && c != '\r') || c == 0x7f)
		return "control character";
	return NULL;
}

/* Checks every byte and line length of a body before any parsing. */
static int body_check(const char *body, size_t length, struct imds_why *why)
{
	unsigned number = 1;
	size_t line_length = 0;

	for (size_t i = 0; i < length; i++) {
		const char *problem = byte_problem(body, length, i);

		if (problem) {
			why_set(why, "line %u: %s \\x%02x", number, problem,
				(unsigned char)body[i]);
			return -EINVAL;
		}

		if (body[i] == '\n') {
			number++;
			line_length = 0;
		} else if (body[i] != '\r' && ++line_length > IMDS_MAX_LINE) {
			why_set(why, "line %u: longer than %d characters",
				number, IMDS_MAX_LINE);
			return -EINVAL;
		}
	}

	return 0;
}

static void cursor_init(struct line_cursor *cursor, const char *body,
			size_t length)
{
	*cursor = (struct line_cursor){ .body = body, .length = length };
}

/* Stores the next non-blank line without CR LF. Returns false at the end. */
static bool cursor_next(struct line_cursor *cursor, struct line *out)
{
	while (cursor->position < cursor->length) {
		const char *start = cursor->body + cursor->position;
		size_t rest = cursor->length - cursor->position;
		const char *lf = memchr(start, '\n', rest);
		size_t length = lf ? (size_t)(lf - start) : rest;

		cursor->number++;
		cursor->position += lf ? length + 1 : length;

		if (length > 0 && start[length - 1] == '\r')
			length--;
		if (length == 0)
			continue;

		*out = (struct line){ start, length, cursor->number };
		return true;
	}

	return false;
}

/* Copies a line into buf of IMDS_MAX_LINE + 1 bytes as a C string. */
static const char *line_string(const struct line *line, char *buf)
{
	memcpy(buf, line->text, line->length);
	buf[line->length] = '\0';
	return buf;
}

/* Finds the only non-blank line of a single-value body. */
static int single_line(const char *body, size_t length, struct line *out,
		       struct imds_why *why)
{
	struct line_cursor cursor;
	struct line extra;
	int r;

	r = body_check(body, length, why);
	if (r < 0)
		return r;

	cursor_init(&cursor, body, length);
	if (!cursor_next(&cursor, out)) {
		why_set(why, "empty value");
		return -EINVAL;
	}

	if (cursor_next(&cursor, &extra)) {
		why_set(why, "line %u: more than one value", extra.number);
		return -EINVAL;
	}

	return 0;
}

int imds_parse_uint(const char *body, size_t length, uint32_t max,
		    uint32_t *out, struct imds_why *why)
{
	struct quoted q;
	struct line line;
	uint64_t value = 0;
	int r;

	r = single_line(body, length, &line, why);
	if (r < 0)
		return r;

	for (size_t i = 0; i < line.length; i++) {
		char c = line.text[i];
		bool leading_zero = i == 0 && c == '0' && line.length > 1;

		if (c < '0' || c > '9' || leading_zero) {
			why_set(why, "line %u: \"%s\" is not a decimal number "
				"without sign or leading zeros", line.number,
				quote(&line, &q));
			return -EINVAL;
		}

		value = value * 10 + (uint64_t)(c - '0');
		if (value > max) {
			why_set(why, "line %u: %s is above the maximum %u",
				line.number, quote(&line, &q), max);
			return -EINVAL;
		}
	}

	*out = (uint32_t)value;
	return 0;
}

int imds_parse_mac(const char *body, size_t length, uint8_t mac[MAC_LEN],
		   struct imds_why *why)
{
	char buf[IMDS_MAX_LINE + 1];
	struct quoted q;
	struct line line;
	int r;

	r = single_line(body, length, &line, why);
	if (r < 0)
		return r;

	if (mac_parse(line_string(&line, buf), mac) < 0) {
		why_set(why, "line %u: invalid MAC address \"%s\"",
			line.number, quote(&line, &q));
		return -EINVAL;
	}

	return 0;
}

static bool is_lower_hex(const char *text, size_t length)
{
	for (size_t i = 0; i < length; i++) {
		char c = text[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}

	return true;
}

/* "eni-" and 8 (older ENIs) or 17 lowercase hex digits. */
static bool valid_eni_id(const struct line *line)
{
	static const char prefix[] = "eni-";
	const size_t prefix_length = sizeof(prefix) - 1;
	size_t digits;

	if (line->length < prefix_length ||
	    memcmp(line->text, prefix, prefix_length) != 0)
		return false;

	digits = line->length - prefix_length;
	return (digits == 8 || digits == 17) &&
	       is_lower_hex(line->text + prefix_length, digits);
}

int imds_parse_eni_id(const char *body, size_t length, char *out,
		      size_t size, struct imds_why *why)
{
	struct quoted q;
	struct line line;
	int r;

	r = single_line(body, length, &line, why);
	if (r < 0)
		return r;

	if (!valid_eni_id(&line)) {
		why_set(why, "line %u: invalid interface id \"%s\"",
			line.number, quote(&line, &q));
		return -EINVAL;
	}

	if (line.length >= size) {
		why_set(why, "interface id longer than its buffer");
		return -EINVAL;
	}

	line_string(&line, out);
	return 0;
}

static const char *family_name(int family)
{
	return family == AF_INET ? "IPv4" : "IPv6";
}

static int other_family(int family)
{
	return family == AF_INET ? AF_INET6 : AF_INET;
}

/* Parses a bare address line of the family into out. */
static int parse_address_line(const struct line *line, int family,
			      struct ip_prefix *out, struct imds_why *why)
{
	char buf[IMDS_MAX_LINE + 1];
	struct ip_prefix other;
	struct quoted q;

	line_string(line, buf);
	if (ip_addr_parse(buf, family, out) == 0)
		return 0;

	if (ip_addr_parse(buf, other_family(family), &other) == 0)
		why_set(why, "line %u: %s is an %s address, expected %s",
			line->number, quote(line, &q),
			family_name(other.family), family_name(family));
	else
		why_set(why, "line %u: invalid %s address \"%s\"",
			line->number, family_name(family), quote(line, &q));
	return -EINVAL;
}

/* Explains why "address/length" failed to parse as a prefix of family. */
static void explain_prefix(const struct line *line, const char *text,
			   int family, struct imds_why *why)
{
	const char *slash = strchr(text, '/');
	char address[IMDS_MAX_LINE + 1];
	struct ip_prefix p;
	struct quoted q;

	quote(line, &q);
	if (!slash) {
		why_set(why, "line %u: %s has no prefix length", line->number,
			q.text);
		return;
	}

	memcpy(address, text, (size_t)(slash - text));
	address[slash - text] = '\0';

	if (ip_addr_parse(address, family, &p) == 0)
		why_set(why, "line %u: invalid prefix length in %s",
			line->number, q.text);
	else if (ip_addr_parse(address, other_family(family), &p) == 0)
		why_set(why, "line %u: %s is an %s prefix, expected %s",
			line->number, q.text, family_name(p.family),
			family_name(family));
	else
		why_set(why, "line %u: invalid %s prefix \"%s\"",
			line->number, family_name(family), q.text);
}

/* Parses a CIDR line of the family into out and rejects host bits. */
static int parse_prefix_line(const struct line *line, int family,
			     struct ip_prefix *out, struct imds_why *why)
{
	char buf[IMDS_MAX_LINE + 1];
	struct quoted q;

	line_string(line, buf);
	if (ip_prefix_parse(buf, family, out) < 0) {
		explain_prefix(line, buf, family, why);
		return -EINVAL;
	}

	if (ip_prefix_has_host_bits(out)) {
		why_set(why, "line %u: %s has host bits set", line->number,
			quote(line, &q));
		return -EINVAL;
	}

	return 0;
}

typedef int (*entry_parser)(const struct line *line, int family,
			    struct ip_prefix *out, struct imds_why *why);

struct list_kind {
	entry_parser parse;
	const char *noun;	/* for "duplicate <noun> ..." */
	const char *plural;	/* for "more than N <plural>" */
};

static const struct list_kind address_list = {
	parse_address_line, "address", "addresses",
};

static const struct list_kind prefix_list = {
	parse_prefix_line, "prefix", "prefixes",
};

static bool list_contains(const struct ip_prefix *list, size_t count,
			  const struct ip_prefix *p)
{
	for (size_t i = 0; i < count; i++) {
		if (ip_prefix_equal(&list[i], p))
			return true;
	}

	return false;
}

/*
 * Parses one entry per line into out. Entries go to a scratch array first
 * so out is written only on success; lists are therefore capped at
 * IMDS_MAX_LISTING entries whatever max is.
 */
static int parse_list(const struct list_kind *kind, const char *body,
		      size_t length, int family, struct ip_prefix *out,
		      size_t max, size_t *count, struct imds_why *why)
{
	struct ip_prefix scratch[IMDS_MAX_LISTING];
	struct line_cursor cursor;
	struct line line;
	struct quoted q;
	size_t n = 0;
	int r;

	if (family != AF_INET && family != AF_INET6) {
		why_set(why, "unsupported address family %d", family);
		return -EINVAL;
	}

	if (max > IMDS_MAX_LISTING)
		max = IMDS_MAX_LISTING;

	r = body_check(body, length, why);
	if (r < 0)
		return r;

	cursor_init(&cursor, body, length);
	while (cursor_next(&cursor, &line)) {
		if (n == max) {
			why_set(why, "line %u: more than %zu %s", line.number,
				max, kind->plural);
			return -EINVAL;
		}

		r = kind->parse(&line, family, &scratch[n], why);
		if (r < 0)
			return r;

		if (list_contains(scratch, n, &scratch[n])) {
			why_set(why, "line %u: duplicate %s %s", line.number,
				kind->noun, quote(&line, &q));
			return -EINVAL;
		}

		n++;
	}

	if (n == 0) {
		why_set(why, "empty value");
		return -EINVAL;
	}

	memcpy(out, scratch, n * sizeof(*out));
	*count = n;
	return 0;
}

int imds_parse_addresses(const char *body, size_t length, int family,
			 struct ip_prefix *out, size_t max, size_t *count,
			 struct imds_why *why)
{
	return parse_list(&address_list, body, length, family, out, max,
			  count, why);
}

int imds_parse_prefixes(const char *body, size_t length, int family,
			struct ip_prefix *out, size_t max, size_t *count,
			struct imds_why *why)
{
	return parse_list(&prefix_list, body, length, family, out, max, count,
			  why);
}

struct listing_entry {
	struct line name;	/* without the trailing '/' */
	bool directory;
};

/* Splits a listing line into its name and whether it ends in '/'. */
static void entry_from_line(const struct line *line, struct listing_entry *e)
{
	e->name = *line;
	e->directory = line->text[line->length - 1] == '/';
	if (e->directory)
		e->name.length--;
}

static bool same_name(const struct line *a, const struct line *b)
{
	return a->length == b->length &&
	       memcmp(a->text, b->text, a->length) == 0;
}

/* Checks one listing entry against the rules and the entries before it. */
static int check_entry(const struct line *line,
		       const struct listing_entry *entries, size_t n,
		       struct imds_why *why)
{
	struct listing_entry e;
	struct quoted q;

	entry_from_line(line, &e);
	if (e.name.length == 0 || memchr(e.name.text, '/', e.name.length)) {
		why_set(why, "line %u: invalid entry \"%s\"", line->number,
			quote(line, &q));
		return -EINVAL;
	}

	for (size_t i = 0; i < n; i++) {
		if (same_name(&entries[i].name, &e.name)) {
			why_set(why, "line %u: duplicate entry %s",
				line->number, quote(line, &q));
			return -EINVAL;
		}
	}

	return 0;
}

/* Validates a whole listing and stores its entries, without callbacks. */
static int listing_entries(const char *body, size_t length,
			   struct listing_entry *entries, size_t *count,
			   struct imds_why *why)
{
	struct line_cursor cursor;
	struct line line;
	size_t n = 0;
	int r;

	r = body_check(body, length, why);
	if (r < 0)
		return r;

	cursor_init(&cursor, body, length);
	while (cursor_next(&cursor, &line)) {
		if (n == IMDS_MAX_LISTING) {
			why_set(why, "line %u: more than %d entries",
				line.number, IMDS_MAX_LISTING);
			return -EINVAL;
		}

		r = check_entry(&line, entries, n, why);
		if (r < 0)
			return r;

		entry_from_line(&line, &entries[n++]);
	}

	*count = n;
	return 0;
}

int imds_parse_listing(const char *body, size_t length, imds_listing_fn entry,
		       void *userdata, struct imds_why *why)
{
	struct listing_entry entries[IMDS_MAX_LISTING];
	char buf[IMDS_MAX_LINE + 1];
	size_t n;
	int r;

	r = listing_entries(body, length, entries, &n, why);
	if (r < 0)
		return r;

	for (size_t i = 0; i < n; i++) {
		const struct listing_entry *e = &entries[i];

		r = entry(line_string(&e->name, buf), e->directory, userdata);
		if (r < 0) {
			why_set(why, "line %u: entry rejected by the caller",
				e->name.number);
			return r;
		}
	}

	return 0;
}
