/*
 * clearsign.h: the structure of a clearsigned OpenPGP message (an InRelease
 * file), with no cryptography: the one parser that both the verifier
 * (gpg.c, at sync) and the channel code (channel.c, at promote) use, so that
 * the text mirrord re-signs is the text whose signature it checked.
 *
 * The rules are apt's (apt 2.6, SplitClearSignedFile in
 * apt-pkg/contrib/gpgv.cc), because apt is the client: a form apt refuses
 * must be refused at sync, a form apt accepts must be accepted and must
 * promote. Each line is read without its line end ("\n", and any "\r"
 * before it) and without trailing blanks (spaces, tabs: RFC 4880 7.1), so
 * CRLF files and whitespace-only lines need no special case. Then:
 *   - the very first line is "-----BEGIN PGP SIGNED MESSAGE-----" (no blank
 *     line before it: apt says NOSPLIT);
 *   - armor headers ("Hash: SHA512"...) up to the first empty line; any
 *     header is accepted and none is used, but none may start with a dash;
 *   - the text, up to "-----BEGIN PGP SIGNATURE-----": a line starting
 *     with "- " is dash-escaped (the two bytes are dropped), any other line
 *     starting with a dash is refused;
 *   - one or more signature blocks, each "-----BEGIN PGP SIGNATURE-----" to
 *     "-----END PGP SIGNATURE-----", one right after the other; inside
 *     them no line but the END line may start with a dash;
 *   - nothing else after the last END line, not even an empty line.
 * A NUL byte anywhere is refused too (apt would pass it on to its deb822
 * parser; mirrord does not parse text with NULs).
 *
 * Threads: pure functions, no state; any thread.
 */
#ifndef MIRRORD_CLEARSIGN_H
#define MIRRORD_CLEARSIGN_H

#include "mirrord/common.h"

/*
 * A split clearsigned message. text holds the signed lines, each ended by
 * "\n" (empty if there are none), dash-escaping undone, line ends and
 * trailing blanks removed: what a Release parser reads. What the
 * signatures cover is the first datalen bytes of text: the same lines
 * joined by "\n", without the last line's "\n", which belongs to the
 * armor (RFC 4880 7.1); datalen is textlen - 1, or 0 for no lines. sig
 * holds the signature blocks, one "\n"-ended line each, for a detached
 * verification over those datalen bytes (what apt gives gpgv).
 */
struct clearsign {
	char *text;		/* owned, NUL-terminated */
	size_t textlen;
	size_t datalen;
	char *sig;		/* owned, NUL-terminated */
	size_t siglen;
};

/*
 * Splits the clearsigned message data. On success *out is filled (free
 * with clearsign_release()). Fails with MERR_VERIFY and a message saying
 * which rule the data breaks ("no BEGIN PGP SIGNED MESSAGE line at the
 * start", "data after END PGP SIGNATURE"...); out is then untouched.
 */
int clearsign_split(const char *data, size_t len, struct clearsign *out,
    struct merr *err);
/* Frees c's buffers and zeroes it (c itself is the caller's; NULL is fine). */
void clearsign_release(struct clearsign *c);

/*
 * Whether data (a Release file) says what text (a split's text) says:
 * line by line, each line read as the split reads it (line ends and
 * trailing blanks aside, which a text signature ignores too), empty lines
 * at the end aside.
 */
bool clearsign_same_text(const char *text, size_t textlen, const char *data,
    size_t len);

#endif
