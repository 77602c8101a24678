/*
 * fault.c: fault injection in the store's write path (see fault.h).
 *
 * Compiled to nothing unless -DMIRRORD_FAULTS. The state below is the one
 * exception to "no global mutable state": MIRRORD_FAULT is a property of
 * the process, and the counters must see every call of a point whichever
 * thread or store makes it. It is parsed once (pthread_once) and the
 * counters are atomic, as blob writes run in several threads.
 */
#include "mirrord/common.h"

#include "mirrord/fault.h"

#ifdef MIRRORD_FAULTS

#include <pthread.h>
#include <signal.h>

#define FAULT_MAX 8		/* specs in one MIRRORD_FAULT */
#define FAULT_KILL (-1)		/* ERRNO "KILL": a crash at that call */

struct fault_spec {
	char point[16];
	unsigned long nth;	/* the call to fail, from 1 */
	bool sticky;		/* "N+": every call from the Nth */
	int err;		/* the errno to inject */
	unsigned long calls;	/* counted with __atomic builtins */
};

static struct fault_spec faults[FAULT_MAX];
static size_t nfaults;
static pthread_once_t fault_once = PTHREAD_ONCE_INIT;

/* The points of fault.h: a typo must not make a test pass vacuously. */
static const char *const fault_points[] = {
	"write", "fsync", "rename", "syncfs", "commit", NULL
};

static const struct {
	const char *name;
	int err;
} fault_errnos[] = {
	{ "EIO", EIO }, { "ENOSPC", ENOSPC }, { "EDQUOT", EDQUOT },
	{ "EROFS", EROFS }, { "ENOMEM", ENOMEM }, { "EACCES", EACCES },
	{ "EPERM", EPERM }, { "EFBIG", EFBIG }, { "EXDEV", EXDEV },
	{ "ENOENT", ENOENT }, { "EEXIST", EEXIST }, { "EBADF", EBADF },
	{ "EMFILE", EMFILE }, { "ENFILE", ENFILE }, { "EINTR", EINTR },
	{ "EAGAIN", EAGAIN },
};

static void
fault_die(const char *spec, const char *why)
{
	fprintf(stderr, "mirrord: fault: bad MIRRORD_FAULT '%s': %s\n",
	    spec, why);
	abort();
}

static const char *
fault_errno_name(int e)
{
	size_t i;

	for (i = 0; i < sizeof(fault_errnos) / sizeof(fault_errnos[0]); i++)
		if (fault_errnos[i].err == e)
			return fault_errnos[i].name;
	return "errno";
}

/* Parses one "POINT:N[+][:ERRNO]" (in place) into f. */
static void
fault_parse_one(const char *all, char *s, struct fault_spec *f)
{
	char *n, *e, *end;
	size_t i;

	n = strchr(s, ':');
	if (n == NULL)
		fault_die(all, "expected POINT:N[:ERRNO]");
	*n++ = '\0';
	for (i = 0; fault_points[i] != NULL; i++)
		if (strcmp(s, fault_points[i]) == 0)
			break;
	if (fault_points[i] == NULL)
		fault_die(all, "unknown point (write, fsync, rename, syncfs, "
		    "commit)");
	snprintf(f->point, sizeof(f->point), "%s", s);
	e = strchr(n, ':');
	if (e != NULL)
		*e++ = '\0';
	errno = 0;
	if (*n < '1' || *n > '9')
		fault_die(all, "N must be a number from 1");
	f->nth = strtoul(n, &end, 10);
	if (errno != 0)
		fault_die(all, "N is out of range");
	if (*end == '+') {
		f->sticky = true;
		end++;
	}
	if (*end != '\0')
		fault_die(all, "N must be a number from 1, optionally with '+'");
	f->err = EIO;
	if (e == NULL)
		return;
	if (strcmp(e, "KILL") == 0) {
		f->err = FAULT_KILL;
		return;
	}
	for (i = 0; i < sizeof(fault_errnos) / sizeof(fault_errnos[0]); i++)
		if (strcmp(e, fault_errnos[i].name) == 0) {
			f->err = fault_errnos[i].err;
			return;
		}
	if (*e < '1' || *e > '9')
		fault_die(all, "unknown errno name");
	f->err = (int)strtol(e, &end, 10);
	if (*end != '\0' || f->err <= 0 || f->err > 4095)
		fault_die(all, "bad errno number");
}

static void
fault_init(void)
{
	const char *env = getenv("MIRRORD_FAULT");
	char *copy, *s, *next;

	if (env == NULL || *env == '\0')
		return;
	/* Not xstrdup: util.c calls fault_fail, so this file stays a leaf. */
	copy = strdup(env);
	if (copy == NULL)
		fault_die(env, "out of memory");
	for (s = copy; s != NULL; s = next) {
		next = strchr(s, ',');
		if (next != NULL)
			*next++ = '\0';
		if (nfaults == FAULT_MAX)
			fault_die(env, "too many specs");
		fault_parse_one(env, s, &faults[nfaults++]);
	}
	free(copy);
}

int
fault_check(const char *point)
{
	unsigned long n;
	size_t i;
	int e = 0;

	pthread_once(&fault_once, fault_init);
	/* Every spec of the point counts the call; the first that fires wins. */
	for (i = 0; i < nfaults; i++) {
		struct fault_spec *f = &faults[i];

		if (strcmp(f->point, point) != 0)
			continue;
		n = __atomic_add_fetch(&f->calls, 1, __ATOMIC_RELAXED);
		if (e != 0 || (n != f->nth && !(f->sticky && n > f->nth)))
			continue;
		if (f->err == FAULT_KILL) {
			fprintf(stderr, "mirrord: fault: killing at %s #%lu\n",
			    point, n);
			raise(SIGKILL);
		}
		fprintf(stderr, "mirrord: fault: injected %s at %s #%lu\n",
		    fault_errno_name(f->err), point, n);
		e = f->err;
	}
	return e;
}

#endif /* MIRRORD_FAULTS */
