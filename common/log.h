/* SPDX-License-Identifier: MIT */
/*
 * Logging to stderr. Under systemd (stderr connected to the journal) each
 * line carries the sd-daemon "<N>" priority prefix; on a terminal or a
 * file it is a plain line. Module lines start with a prefix such as
 * "imds: "; interface lines start with the interface name, added by
 * log_link() so no caller types it by hand.
 */
#ifndef ENID_COMMON_LOG_H
#define ENID_COMMON_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

/* Sets the maximum level printed and whether to add "<N>" prefixes. */
void log_setup(int max_level, bool priority_prefix);

/* Returns true when stderr is the journal's stream ($JOURNAL_STREAM). */
bool log_stderr_is_journal(void);

/* Returns true when a message of this level would be printed. */
bool log_enabled(int level);

/* Prints one line at level (LOG_ERR .. LOG_DEBUG). */
void log_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prints one line starting with "ifname: ". */
void log_link(int level, const char *ifname, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Rate limit for a repeated failure: allows burst messages per interval,
 * then suppresses the rest of that interval and counts them.
 */
struct log_ratelimit {
	uint64_t interval_usec;
	unsigned burst;
	uint64_t window_start;
	unsigned printed;
	unsigned suppressed;
};

/*
 * Returns true when a message may be printed at now_usec (CLOCK_MONOTONIC).
 * When a new window opens after suppressed messages, *suppressed receives
 * their count so the caller can mention it; otherwise it is set to 0.
 */
bool log_ratelimit_allow(struct log_ratelimit *rl, uint64_t now_usec,
			 unsigned *suppressed);

/*
 * Returns true when this exact message was not printed within interval,
 * and remembers it. A small table of recent messages is kept, so a
 * warning that repeats at every refresh is printed once per interval.
 */
bool log_repeat_allowed(const char *message, uint64_t interval_usec);

#endif
