/*
 * fuzz.h: shared by the libFuzzer targets of tests/fuzz/ and their
 * regression driver (driver.c).
 *
 * A target defines LLVMFuzzerTestOneInput() and, if it needs one-time
 * set-up (a temp directory, a tiny store), LLVMFuzzerInitialize(). Every
 * target asserts invariants with FUZZ_CHECK: a violated invariant aborts,
 * which libFuzzer (and the driver, under ASan) reports as a crash with a
 * stack trace, so a wrong answer is found like a memory error.
 *
 * Everything here is static: each target is its own program linked
 * against all of mirrord's core objects, so nothing may clash with them.
 */
#ifndef FUZZ_FUZZ_H
#define FUZZ_FUZZ_H

#include "mirrord/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz: invariant failed at %s:%d: %s\n", \
		    __FILE__, __LINE__, #cond); \
		fprintf(stderr, "fuzz: " __VA_ARGS__); \
		fputc('\n', stderr); \
		abort(); \
	} \
} while (0)

/* Is [s, s+len) a canonical relative path? An independent re-statement
 * of path.h's rules, to check path_check() and its callers against. */
static inline bool
fuzz_path_ok(const char *s, size_t len)
{
	size_t i, seg = 0;

	if (len == 0 || len > 1024 || s[0] == '/' || s[len - 1] == '/')
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x21 || c == 0x7f || c == '%' || c == '\\')
			return false;
		if (c == '/' && i + 1 < len && s[i + 1] == '/')
			return false;
	}
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '/')
			continue;
		if ((i - seg == 1 && s[seg] == '.') ||
		    (i - seg == 2 && s[seg] == '.' && s[seg + 1] == '.'))
			return false;
		seg = i + 1;
	}
	return true;
}

/* A C string made of [data, data+size), cut at the first NUL. Owned. */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	return xstrndup((const char *)data, size);
}

/* Is the message of an error a proper C string of printable text? */
static inline bool
fuzz_msg_ok(const struct merr *err)
{
	size_t i, n = strnlen(err->msg, sizeof(err->msg));

	if (n == sizeof(err->msg) || n == 0)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)err->msg[i];

		/* '\n' may come from a quoted multi-line value. */
		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

#endif
