/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the libFuzzer targets in this directory: an invariant
 * check that aborts (so libFuzzer saves the input) and the canary byte
 * that outputs are filled with to prove a failed parse wrote nothing.
 */
#ifndef ENID_TESTS_FUZZ_H
#define ENID_TESTS_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#include <sanitizer/common_interface_defs.h>

#define FUZZ_CANARY 0xa5

/*
 * Aborts with the failed condition when an invariant does not hold. The
 * message goes through the sanitizer's report channel, because libFuzzer
 * closes the target's stderr under -close_fd_mask=2.
 */
#define FUZZ_CHECK(condition)                                           \
	do {                                                            \
		if (!(condition))                                       \
			fuzz_fail(__FILE__, __LINE__, #condition);      \
	} while (0)

static inline void fuzz_fail(const char *file, int line,
			     const char *condition)
{
	char message[512];

	snprintf(message, sizeof(message), "%s:%d: invariant failed: %s",
		 file, line, condition);
	__sanitizer_report_error_summary(message);
	abort();
}

/* Returns true when every byte of the buffer is still the canary. */
static inline int fuzz_untouched(const void *buffer, size_t size)
{
	const unsigned char *bytes = buffer;

	for (size_t i = 0; i < size; i++) {
		if (bytes[i] != FUZZ_CANARY)
			return 0;
	}

	return 1;
}

#endif
