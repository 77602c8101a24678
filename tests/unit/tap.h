/*
 * tap.h: a tiny TAP producer for unit tests. Each test binary prints
 * "ok N - name" / "not ok N - name" lines and exits non-zero if any failed.
 */
#ifndef TAP_H
#define TAP_H

#include "mirrord/common.h"

static int tap_n, tap_failed;

#define ok(cond, ...) do { \
	int tap_c_ = !!(cond); \
	tap_n++; \
	if (tap_c_) { \
		printf("ok %d - ", tap_n); \
	} else { \
		tap_failed++; \
		printf("not ok %d - ", tap_n); \
	} \
	printf(__VA_ARGS__); \
	printf("\n"); \
	if (!tap_c_) \
		printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
} while (0)

#define is_int(got, want, ...) do { \
	long long tap_g_ = (long long)(got), tap_w_ = (long long)(want); \
	ok(tap_g_ == tap_w_, __VA_ARGS__); \
	if (tap_g_ != tap_w_) \
		printf("#   got %lld, want %lld\n", tap_g_, tap_w_); \
} while (0)

#define is_str(got, want, ...) do { \
	const char *tap_g_ = (got), *tap_w_ = (want); \
	int tap_eq_ = tap_g_ && tap_w_ && strcmp(tap_g_, tap_w_) == 0; \
	ok(tap_eq_, __VA_ARGS__); \
	if (!tap_eq_) \
		printf("#   got '%s', want '%s'\n", tap_g_ ? tap_g_ : "(null)", \
		    tap_w_ ? tap_w_ : "(null)"); \
} while (0)

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	if (tap_failed)
		printf("# %d of %d failed\n", tap_failed, tap_n);
	return tap_failed ? 1 : 0;
}

#endif
