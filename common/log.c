/* SPDX-License-Identifier: MIT */
/*
 * stderr logging with optional sd-daemon priority prefixes, and a small
 * rate limiter for failures that repeat.
 */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int log_max_level = LOG_INFO;
static bool log_prefix_priority;

void log_setup(int max_level, bool priority_prefix)
{
	log_max_level = max_level;
	log_prefix_priority = priority_prefix;
}

bool log_stderr_is_journal(void)
{
	const char *stream = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	/* systemd sets JOURNAL_STREAM=<device>:<inode> of the stream. */
	if (!stream || sscanf(stream, "%llu:%llu", &dev, &ino) != 2)
		return false;

	if (fstat(STDERR_FILENO, &st) < 0)
		return false;

	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

bool log_enabled(int level)
{
	return level <= log_max_level;
}

static void log_vprint(int level, const char *ifname, const char *fmt,
		       va_list ap)
{
	char line[1024];
	int used = 0;

	if (!log_enabled(level))
		return;

	if (log_prefix_priority)
		used = snprintf(line, sizeof(line), "<%d>", level);

	if (ifname)
		used += snprintf(line + used, sizeof(line) - (size_t)used,
				 "%s: ", ifname);

	vsnprintf(line + used, sizeof(line) - (size_t)used, fmt, ap);

	/* One write per line, so concurrent writers do not interleave. */
	fprintf(stderr, "%s\n", line);
}

void log_msg(int level, const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vprint(level, NULL, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

void log_link(int level, const char *ifname, const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vprint(level, ifname, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

bool log_ratelimit_allow(struct log_ratelimit *rl, uint64_t now_usec,
			 unsigned *suppressed)
{
	*suppressed = 0;

	if (rl->window_start == 0 ||
	    now_usec - rl->window_start >= rl->interval_usec) {
		*suppressed = rl->suppressed;
		rl->window_start = now_usec ? now_usec : 1;
		rl->printed = 0;
		rl->suppressed = 0;
	}

	if (rl->printed < rl->burst) {
		rl->printed++;
		return true;
	}

	rl->suppressed++;
	return false;
}

/* Recent messages of log_repeat_allowed(): hash and time last printed. */
#define RECENT_MESSAGES 64

static struct {
	uint64_t hash;
	uint64_t printed_usec;
} recent[RECENT_MESSAGES];

static uint64_t hash_text(const char *text)
{
	uint64_t hash = 0xcbf29ce484222325ull; /* FNV-1a */

	for (const char *c = text; *c; c++)
		hash = (hash ^ (unsigned char)*c) * 0x100000001b3ull;

	return hash ? hash : 1;
}

static uint64_t monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

bool log_repeat_allowed(const char *message, uint64_t interval_usec)
{
	uint64_t hash = hash_text(message);
	uint64_t now = monotonic_usec();
	size_t oldest = 0;

	for (size_t i = 0; i < RECENT_MESSAGES; i++) {
		if (recent[i].hash == hash) {
			if (now - recent[i].printed_usec < interval_usec)
				return false;
			recent[i].printed_usec = now;
			return true;
		}
		if (recent[i].printed_usec < recent[oldest].printed_usec)
			oldest = i;
	}

	recent[oldest].hash = hash;
	recent[oldest].printed_usec = now;
	return true;
}
