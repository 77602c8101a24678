/*
 * fuzz_clearsign.c: the split of a clearsigned message (mirrord/clearsign.h),
 * which sees upstream's InRelease before any signature is checked.
 *
 * A refusal is MERR_VERIFY with a message and leaves out untouched. An
 * accepted split gives:
 *  - text: "\n"-ended lines (or nothing), none with a NUL or a trailing
 *    blank; datalen is textlen - 1 (0 for no lines);
 *  - sig: whole signature blocks, from a BEGIN PGP SIGNATURE line to an
 *    END PGP SIGNATURE line, no other line of which starts with a dash;
 *  - a fixed point: the text dash-escaped and wrapped again with the same
 *    signature blocks splits to the same text and sig (unless a line of
 *    either ends in a CR: apt strips CRs before blanks, so "a\r \n" reads as "a\r",
 *    which wrapped again reads as "a"), and clearsign_same_text() holds
 *    between the text and itself.
 */
#include "mirrord/common.h"

#include "mirrord/clearsign.h"
#include "tests/fuzz/fuzz.h"

#define SIG_BEGIN "-----BEGIN PGP SIGNATURE-----\n"
#define SIG_END "-----END PGP SIGNATURE-----\n"

/* Checks c's text; returns whether a line of it ends in a CR. */
static bool
check_text(const struct clearsign *c)
{
	const char *p = c->text, *end = c->text + c->textlen, *nl;
	bool cr = false;

	FUZZ_CHECK(strlen(c->text) == c->textlen, "NUL in text");
	FUZZ_CHECK(c->datalen == (c->textlen ? c->textlen - 1 : 0),
	    "datalen %zu, textlen %zu", c->datalen, c->textlen);
	FUZZ_CHECK(c->textlen == 0 || end[-1] == '\n', "text not \\n-ended");
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		FUZZ_CHECK(nl != NULL, "unended line");
		FUZZ_CHECK(nl == p || (nl[-1] != ' ' && nl[-1] != '\t'),
		    "untrimmed line");
		if (nl > p && nl[-1] == '\r')
			cr = true;
	}
	return cr;
}

/* Checks c's signature blocks; returns whether a line ends in a CR. */
static bool
check_sig(const struct clearsign *c)
{
	const char *p = c->sig, *end = c->sig + c->siglen, *nl;
	bool open = false, cr = false;

	FUZZ_CHECK(strlen(c->sig) == c->siglen && c->siglen > 0, "sig");
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		FUZZ_CHECK(nl != NULL, "unended sig line");
		if (nl > p && nl[-1] == '\r')
			cr = true;
		if (!open) {
			FUZZ_CHECK(strncmp(p, SIG_BEGIN, nl + 1 - p) == 0 &&
			    (size_t)(nl + 1 - p) == strlen(SIG_BEGIN),
			    "sig block does not begin with BEGIN");
			open = true;
		} else if ((size_t)(nl + 1 - p) == strlen(SIG_END) &&
		    memcmp(p, SIG_END, strlen(SIG_END)) == 0) {
			open = false;
		} else {
			FUZZ_CHECK(*p != '-', "dash line inside a sig block");
		}
	}
	FUZZ_CHECK(!open, "unclosed sig block");
	return cr;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct clearsign c = { NULL, 0, 0, NULL, 0 }, c2;
	struct merr err = { 0, "" };
	struct buf b = BUF_INIT;
	const char *p, *end, *nl;
	bool cr;
	int rc;

	rc = clearsign_split((const char *)data, size, &c, &err);
	if (rc != 0) {
		FUZZ_CHECK(rc == MERR_VERIFY && err.code == rc &&
		    err.msg[0] != '\0', "refusal %d '%s'", rc, err.msg);
		FUZZ_CHECK(c.text == NULL && c.sig == NULL && c.textlen == 0,
		    "out touched by a refusal");
		return 0;
	}
	cr = check_text(&c);
	cr = check_sig(&c) || cr;
	FUZZ_CHECK(clearsign_same_text(c.text, c.textlen, c.text, c.textlen) ||
	    cr, "text differs from itself");
	if (cr) {
		clearsign_release(&c);
		return 0;
	}

	buf_adds(&b, "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n");
	end = c.text + c.textlen;
	for (p = c.text; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (*p == '-')
			buf_adds(&b, "- ");
		buf_add(&b, p, (size_t)(nl + 1 - p));
	}
	buf_add(&b, c.sig, c.siglen);
	rc = clearsign_split(b.p, b.len, &c2, &err);
	FUZZ_CHECK(rc == 0, "rewrapped message refused: %s", err.msg);
	FUZZ_CHECK(c2.textlen == c.textlen &&
	    memcmp(c2.text, c.text, c.textlen) == 0, "rewrapped text differs");
	FUZZ_CHECK(c2.siglen == c.siglen &&
	    memcmp(c2.sig, c.sig, c.siglen) == 0, "rewrapped sig differs");
	clearsign_release(&c2);
	buf_release(&b);
	clearsign_release(&c);
	return 0;
}
