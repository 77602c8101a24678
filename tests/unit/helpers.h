/*
 * helpers.h: what several unit tests need besides tap.h: a private
 * directory under /tmp for the stores and files a test makes, removed
 * with all it holds at the end. Linked into every unit test (Makefile).
 *
 * Single-threaded, as the tests that call them.
 */
#ifndef TESTS_UNIT_HELPERS_H
#define TESTS_UNIT_HELPERS_H

#include "mirrord/common.h"

/*
 * Makes a fresh directory /tmp/<name>.XXXXXX, mode 0700, and returns its
 * real path (owned: release it with helpers_tmpdir_free(), which removes
 * it). Returns NULL, with "# mkdtemp: <reason>" printed as a TAP comment,
 * if it cannot be made.
 */
char *helpers_tmpdir_new(const char *name);

/* Removes dir and everything under it, then frees it. NULL is a no-op. */
void helpers_tmpdir_free(char *dir);

/*
 * Removes path and everything under it, without following symbolic links.
 * Best effort: what cannot be removed stays (a leftover in /tmp is no
 * reason to fail a test).
 */
void helpers_rm_rf(const char *path);

/* Entries in directory path other than . and .., or -1. */
int helpers_count_dir(const char *path);

#endif
