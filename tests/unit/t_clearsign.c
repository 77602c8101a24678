/*
 * t_clearsign.c: the structure of a clearsigned message (clearsign.h) on
 * hand-made messages, with no key and no gpg: the forms apt 2.6 accepts
 * and those it refuses (t0620 asks the real apt), and clearsign_same_text.
 * t_gpg.c checks the same rules through real signatures.
 */
#include "mirrord/common.h"

#include "mirrord/clearsign.h"
#include "tests/unit/tap.h"

/* Splits data, which must split; returns the text and sig with lengths. */
static void
expect_split(const char *data, const char *want_text, const char *want_sig,
    const char *what)
{
	struct clearsign cs;
	struct merr err;
	int rc;

	rc = clearsign_split(data, strlen(data), &cs, &err);
	is_int(rc, 0, "split %s (%s)", what, rc ? err.msg : "ok");
	if (rc)
		return;
	is_str(cs.text, want_text, "split %s: text", what);
	is_int(cs.textlen, strlen(want_text), "split %s: text length", what);
	is_int(cs.datalen, cs.textlen ? cs.textlen - 1 : 0,
	    "split %s: signed data is the text but its last newline", what);
	is_str(cs.sig, want_sig, "split %s: signature blocks", what);
	is_int(cs.siglen, strlen(want_sig), "split %s: sig length", what);
	clearsign_release(&cs);
}

static void
expect_nosplit(const char *data, size_t len, const char *msgpart,
    const char *what)
{
	struct clearsign cs = { (char *)"untouched", 9, 8, NULL, 0 };
	struct merr err;
	int rc;

	rc = clearsign_split(data, len, &cs, &err);
	is_int(rc, MERR_VERIFY, "refuse %s", what);
	ok(rc != 0 && strstr(err.msg, msgpart) != NULL,
	    "refuse %s: message '%s' says '%s'", what, rc ? err.msg : "",
	    msgpart);
	ok(strcmp(cs.text, "untouched") == 0 && cs.textlen == 9,
	    "refuse %s: out untouched", what);
}

#define nosplit(data, msgpart, what) \
	expect_nosplit((data), strlen(data), (msgpart), (what))
#define M_BEGIN "-----BEGIN PGP SIGNED MESSAGE-----"
#define S_BLOCK "-----BEGIN PGP SIGNATURE-----\n\niQ\n=ab\n" \
	"-----END PGP SIGNATURE-----\n"

/* The forms apt accepts, the forms it refuses, same_text. */
static void
test_split(void)
{
	static const char nul[] = M_BEGIN "\nHash: SHA512\n\nA: b\0c\n"
	    S_BLOCK;

	expect_split(M_BEGIN "\nHash: SHA512\n\nA: b\n- -x\n- B: c\n\n"
	    S_BLOCK, "A: b\n-x\nB: c\n\n", S_BLOCK, "LF, dash-escaped");
	expect_split(M_BEGIN "\r\nHash: SHA512\r\n\r\nA: b\r\n- -x\r\n"
	    "-----BEGIN PGP SIGNATURE-----\r\n\r\niQ\r\n=ab\r\n"
	    "-----END PGP SIGNATURE-----\r\n", "A: b\n-x\n", S_BLOCK,
	    "CRLF");
	expect_split(M_BEGIN " \nHash: SHA512\t\n \t\nA: b \t \n  c\t\r\n"
	    S_BLOCK, "A: b\n  c\n", S_BLOCK,
	    "trailing blanks, a whitespace-only line ends the headers");
	expect_split(M_BEGIN "\nHash: SHA512\nComment: x\n\nA: b\n" S_BLOCK
	    S_BLOCK, "A: b\n", S_BLOCK S_BLOCK,
	    "any armor header, two signature blocks");
	expect_split(M_BEGIN "\n\nA: b\n-----BEGIN PGP SIGNATURE-----\n\n"
	    "iQ\n=ab\n-----END PGP SIGNATURE-----", "A: b\n", S_BLOCK,
	    "no header, no newline at the end");
	expect_split(M_BEGIN "\nHash: SHA512\n\n" S_BLOCK, "", S_BLOCK,
	    "no signed line");
	expect_split(M_BEGIN "\nHash: SHA512\n\n\n" S_BLOCK, "\n", S_BLOCK,
	    "one empty signed line");

	expect_nosplit("", 0, "empty", "an empty file");
	nosplit("\n" M_BEGIN "\n\nA: b\n" S_BLOCK,
	    "no BEGIN PGP SIGNED MESSAGE line at the start",
	    "a blank line before BEGIN");
	nosplit(" " M_BEGIN "\n\nA: b\n" S_BLOCK, "at the start",
	    "a blank before BEGIN");
	nosplit("A: b\n", "at the start", "an unsigned Release");
	nosplit(M_BEGIN "\n\nA: b\n" S_BLOCK "\n",
	    "data after END PGP SIGNATURE", "a blank line after END");
	nosplit(M_BEGIN "\n\nA: b\n" S_BLOCK " \r\n",
	    "data after END PGP SIGNATURE", "a blank CRLF line after END");
	nosplit(M_BEGIN "\n\nA: b\n" S_BLOCK "A: c\n",
	    "data after END PGP SIGNATURE", "text after END");
	nosplit(M_BEGIN "\n\nA: b\n" S_BLOCK M_BEGIN "\n\nA: c\n" S_BLOCK,
	    "second BEGIN PGP SIGNED MESSAGE", "a second signed message");
	nosplit(M_BEGIN "\n\nA: b\n" M_BEGIN "\n" S_BLOCK,
	    "second BEGIN PGP SIGNED MESSAGE", "BEGIN again in the text");
	nosplit(M_BEGIN "\n\nA: b\n-x\n" S_BLOCK, "not dash-escaped",
	    "an unescaped dash line");
	nosplit(M_BEGIN "\n\nA: b\n-\n" S_BLOCK, "not dash-escaped",
	    "a line of one dash");
	/* "- " loses its trailing blank first, as in apt: a bare dash. */
	nosplit(M_BEGIN "\n\nA: b\n- \n" S_BLOCK, "not dash-escaped",
	    "an escaped empty line");
	nosplit(M_BEGIN "\n-Hash: SHA512\n\nA: b\n" S_BLOCK,
	    "armor header starts with a dash", "a header starting with a dash");
	nosplit(M_BEGIN "\n\nA: b\n-----BEGIN PGP SIGNATURE-----\n"
	    "-----BEGIN PGP MESSAGE-----\n-----END PGP SIGNATURE-----\n",
	    "unexpected armor line in signature",
	    "an armor line inside the signature");
	nosplit(M_BEGIN "\n\nA: b\n", "no BEGIN PGP SIGNATURE", "no signature");
	nosplit(M_BEGIN "\nHash: SHA512\n", "no BEGIN PGP SIGNATURE",
	    "headers only");
	nosplit(M_BEGIN "\n\nA: b\n-----BEGIN PGP SIGNATURE-----\n\niQ\n",
	    "no END PGP SIGNATURE", "an unclosed signature");
	expect_nosplit(nul, sizeof(nul) - 1, "NUL", "a NUL byte");

	/* A Release beside an InRelease: read the way the split reads. */
	ok(clearsign_same_text("A: b\nC: d\n", 10, "A: b\r\nC: d \r\n\n",
	    14), "same text: CRLF, trailing blanks, an empty last line");
	ok(clearsign_same_text("", 0, "", 0), "same text: both empty");
	ok(!clearsign_same_text("A: b\nC: d\n", 10, "A: b\nC: e\n", 10),
	    "other text: one letter");
	ok(!clearsign_same_text("A: b\nC: d\n", 10, "A: b\nC:  d\n", 11),
	    "other text: a blank inside a line");
	ok(!clearsign_same_text("A: b\n", 5, "A: b\n\nC: d\n", 11),
	    "other text: a line more");
}

int
main(void)
{
	test_split();
	return tap_done();
}
