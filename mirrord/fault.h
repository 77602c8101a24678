/*
 * fault.h: fault injection in the store's write path (debug builds only).
 *
 * Built with -DMIRRORD_FAULTS (`make FAULTS=1`), a few system calls of the
 * write path ask fault_check() first whether to fail. The environment
 * variable MIRRORD_FAULT, read once per process, says which call fails:
 *
 *	MIRRORD_FAULT=POINT:N[:ERRNO][,POINT:N[:ERRNO]...]
 *
 * fails the Nth call (counted from 1, per process) of POINT with ERRNO (a
 * name such as ENOSPC or EIO, or a number; default EIO). "N+" instead of
 * N fails the Nth call and every later one (a disk that stays full).
 * ERRNO "KILL" instead sends the process SIGKILL just before the Nth call
 * is made: a crash at an exact point of the write path.
 * Points:
 *
 *	write	blob.c: store_write_all() (blob writers, the write-behind);
 *		util.c: write_file_atomic()
 *	fsync	util.c: write_file_atomic() (the file's fsync)
 *	rename	blob.c: store_blob_place(); blob_behind.c: placing a blob
 *		written behind (its create in place, or its link);
 *		store_format.c: the upgrade's moves; util.c:
 *		write_file_atomic()
 *	syncfs	store_open.c: store_sync(), the barrier before a commit
 *	commit	store.c: store_txn_commit(), the LMDB commit (the txn is
 *		aborted, as a failed mdb_txn_commit() frees it)
 *
 * An injected failure takes the same path as the real one: errno is set
 * and the call's error branch runs. Each injection prints one line on
 * stderr, "mirrord: fault: injected ERRNO-NAME at POINT #N" ("killing at
 * POINT #N" for KILL), so that a test can tell that the fault fired. A
 * malformed MIRRORD_FAULT aborts the process with a message (a test must
 * not pass by a typo).
 *
 * Without -DMIRRORD_FAULTS, fault_check() and fault_fail() are constant 0
 * inline functions and release builds carry nothing.
 *
 * fault.c is a leaf: it uses libc only (util.c calls fault_fail(), so
 * fault.c must not call util.c), and its state is the process's.
 */
#ifndef MIRRORD_FAULT_H
#define MIRRORD_FAULT_H

#include <errno.h>

#ifdef MIRRORD_FAULTS

/*
 * Counts one call of POINT (a string literal); returns the errno to
 * inject for this call, or 0. Thread-safe.
 */
int fault_check(const char *point);

#else

static inline int
fault_check(const char *point)
{
	(void)point;
	return 0;
}

#endif

/*
 * For `if (fault_fail("syncfs") < 0 || syncfs(fd) < 0)`: -1 with errno set
 * when the call is to fail, 0 otherwise (errno untouched).
 */
static inline int
fault_fail(const char *point)
{
	int e = fault_check(point);

	if (e == 0)
		return 0;
	errno = e;
	return -1;
}

#endif /* MIRRORD_FAULT_H */
