/*
 * t_version.c: Debian version ordering (dpkg's, through version.c), the
 * length-delimited form and version constraints.
 */
#include "mirrord/common.h"

#include "mirrord/version.h"
#include "tap.h"

static void
test_order(void)
{
	/* Cases from deb-version(7) and dpkg's lib/dpkg/t/t-version.c. */
	static const struct {
		const char *a, *b;
		int want;
	} t[] = {
		{ "1.0", "1.0", 0 },
		{ "1.0", "1.0-0", 0 },
		{ "0:1.0", "1.0", 0 },
		{ "0:0-0-0", "0-0-0", 0 },
		{ "0", "00", 0 },
		{ "1.002", "1.2", 0 },
		{ "0:1.18.36", "1.18.36", 0 },
		{ "1.0~rc1", "1.0", -1 },
		{ "1.0~", "1.0", -1 },
		{ "1.0~~", "1.0~", -1 },
		{ "1.0~~", "1.0~~a", -1 },
		{ "1.0~~a", "1.0~", -1 },
		{ "1.0~a", "1.0~b", -1 },
		{ "1:0.1", "2.0", 1 },
		{ "1:0.4", "10.3", 1 },
		{ "2:1.0", "10:0.1", -1 },
		{ "1.0a", "1.0", 1 },
		{ "1.0.1", "1.0", 1 },
		{ "1.2", "1.10", -1 },
		{ "2.10-3", "2.10-3+deb12u2", -1 },
		{ "1.0-1", "1.0-1.1", -1 },
		{ "1.0-1", "1.0-2", -1 },
		{ "1.0-1ubuntu1", "1.0-1", 1 },
		{ "1.0a", "1.0+", -1 },		/* letters sort first */
		{ "1.0+", "1.0.", -1 },		/* then ASCII */
		{ "1:3.0.5+dfsg-1", "1:3.0.5-1", 1 },
		{ "1.0-1-2", "1.0-1", 1 },	/* the last '-' splits */
		{ "7.6p2-4", "7.6-0", 1 },
		{ "1.0.3-3", "1.0-1", 1 },
		{ "1.3", "1.2.2-2", 1 },
		{ "1.3", "1.2.2", 1 },
		{ "0-pre", "0-pre", 0 },
		{ "0-pre", "0-pree", -1 },
		{ "1.1.6r2-2", "1.1.6r-1", 1 },
		{ "2.6b2-1", "2.6b-2", 1 },
		{ "98.1p5-1", "98.1-pre2-b6-2", -1 },
		{ "0.4a6-2", "0.4-1", 1 },
		{ "1:1.25-4", "1:1.25-8", -1 },
		{ "1.18.36", "1.18.35", 1 },
		{ "0:1.18.36", "1.18.35", 1 },
		{ "9:1.18.36:5.4-20", "10:0.5.1-22", -1 },  /* 1st ':' */
		{ "9:1.18.36:5.4-20", "9:1.18.36:5.5-1", -1 },
		{ "1.18.36-0.17.35-18", "1.18.36-19", 1 },
		{ "1:1.2.13-3", "1:1.2.13-3.1", -1 },
		{ "2.0.7pre1-4", "2.0.7r-1", -1 },
		{ "4294967295:1", "4294967294:2", 1 },	/* UINT_MAX */
	};
	struct buf la = BUF_INIT, lb = BUF_INIT;
	size_t i;
	int i2;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		is_int(version_cmp(t[i].a, t[i].b), t[i].want,
		    "version '%s' vs '%s'", t[i].a, t[i].b);
		is_int(version_cmp(t[i].b, t[i].a), -t[i].want,
		    "version '%s' vs '%s'", t[i].b, t[i].a);
	}

	/* Versions longer than the stack buffer take the heap path. */
	buf_adds(&la, "1:");
	for (i2 = 0; i2 < 100; i2++)
		buf_adds(&la, "1.");
	buf_adds(&lb, la.p);
	buf_adds(&la, "2~rc1-1");
	buf_adds(&lb, "2-1");
	is_int(version_cmp(la.p, lb.p), -1, "long versions (%zu bytes)",
	    la.len);
	is_int(version_cmp(lb.p, la.p), 1, "long versions, reversed");
	is_int(version_cmp(la.p, la.p), 0, "long version equal itself");
	buf_release(&la);
	buf_release(&lb);
}


/* Versions inside a longer text compare by their length alone. */
static void
test_counted(void)
{
	const char *text = "1.2-1 1.10-1~bpo1";

	is_int(version_cmp_n(text, 5, text + 6, 6), -1,
	    "counted: '1.2-1' < '1.10-1' (not NUL-terminated)");
	is_int(version_cmp_n(text + 6, 11, text + 6, 6), -1,
	    "counted: '1.10-1~bpo1' < '1.10-1'");
	is_int(version_cmp_n(text, 3, "1.2", 3), 0, "counted: '1.2' = '1.2'");
	is_int(version_cmp_n("2:1", 3, "1:9", 3), 1, "counted: epochs");
	is_int(version_cmp_n("1.0~", 4, "1.0", 3), -1, "counted: '~' first");
	is_int(version_cmp_n("1.0-", 4, "1.0", 3), 0,
	    "counted: an empty revision is no revision");
}

static void
test_satisfies(void)
{
	static const struct {
		const char *have;
		enum dep_op op;
		const char *want;
		bool sat;
	} t[] = {
		{ "1.0", DEP_NONE, "", true },
		{ "1.0", DEP_LT, "1.1", true },
		{ "1.1", DEP_LT, "1.1", false },
		{ "1.1", DEP_LE, "1.1", true },
		{ "1.2", DEP_LE, "1.1", false },
		{ "1.1", DEP_EQ, "1.1", true },
		{ "0:1.1", DEP_EQ, "1.1", true },
		{ "1.1-1", DEP_EQ, "1.1", false },
		{ "1.1", DEP_GE, "1.1", true },
		{ "1.1~rc1", DEP_GE, "1.1", false },
		{ "1.1+b1", DEP_GE, "1.1", true },
		{ "1.1", DEP_GT, "1.1", false },
		{ "1:0.1", DEP_GT, "9.9", true },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++)
		ok(version_satisfies(t[i].have, strlen(t[i].have), t[i].op,
		    t[i].want, strlen(t[i].want)) == t[i].sat,
		    "'%s' %s (%s '%s')", t[i].have, t[i].sat ? "satisfies" :
		    "does not satisfy", version_op_str(t[i].op), t[i].want);
	is_str(version_op_str(DEP_GT), ">>", "op spelling");
}

int
main(void)
{
	test_order();
	test_counted();
	test_satisfies();
	return tap_done();
}
