/*
 * fuzz_path.c: path canonicalisation (mirrord/path.h).
 *
 * The input is the path, as raw bytes (NUL and all). path_check() must
 * agree exactly with an independent statement of its rules (fuzz.h's
 * fuzz_path_ok: accepted means no leading or trailing '/', no "//", no
 * "." or ".." segment, no control byte, space, DEL, '%' or '\\', 1 to
 * 1024 bytes), and a refusal must say why in a printable message.
 *
 * path_quote() is run into buffers of every small size: its output must
 * be NUL-terminated inside the buffer, printable, and, when not cut short,
 * decode back to the input.
 */
#include "mirrord/common.h"

#include "mirrord/path.h"
#include "tests/fuzz/fuzz.h"

static int
hexdig(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The quote of [s, s+len) into a buffer of exactly n bytes; owned. */
static char *
quote_n(const char *s, size_t len, size_t n)
{
	/* Exact size on the heap: ASan sees a write past it. */
	char *out = xmalloc(n ? n : 1);
	size_t olen, i;

	memset(out, 'Z', n ? n : 1);
	path_quote(s, len, out, n);
	if (n == 0) {
		FUZZ_CHECK(out[0] == 'Z', "path_quote wrote into a 0 buffer");
		out[0] = '\0';
		return out;
	}
	olen = strnlen(out, n);
	FUZZ_CHECK(olen < n, "path_quote output not NUL-terminated in %zu",
	    n);
	for (i = 0; i < olen; i++)
		FUZZ_CHECK(out[i] >= 0x21 && out[i] <= 0x7e,
		    "path_quote wrote byte 0x%02x", (unsigned char)out[i]);
	return out;
}

/*
 * A full quote (room for every byte escaped) must decode to the input; a
 * smaller buffer gets the full quote, or a prefix of it ending at an
 * escape boundary followed by "..." (nothing but the NUL below 8 bytes).
 */
static void
check_quote(const char *s, size_t len)
{
	char *full = quote_n(s, len, 4 * len + 9), *dec, *out;
	size_t flen = strlen(full), i, o = 0, n;

	dec = xmalloc(flen + 1);
	for (i = 0; i < flen; ) {
		if (full[i] == '\\') {
			FUZZ_CHECK(i + 4 <= flen && full[i + 1] == 'x' &&
			    hexdig(full[i + 2]) >= 0 &&
			    hexdig(full[i + 3]) >= 0, "bad escape in quote");
			dec[o++] = (char)(hexdig(full[i + 2]) << 4 |
			    hexdig(full[i + 3]));
			i += 4;
		} else {
			dec[o++] = full[i++];
		}
	}
	FUZZ_CHECK(o == len && (len == 0 || memcmp(dec, s, len) == 0),
	    "path_quote does not decode to its input");
	free(dec);

	for (n = 0; n < 300; n += n < 24 ? 1 : 37) {
		size_t olen;

		out = quote_n(s, len, n);
		olen = strlen(out);
		if (strcmp(out, full) != 0) {
			if (n < 8) {
				FUZZ_CHECK(olen == 0, "short quote '%s'", out);
			} else {
				FUZZ_CHECK(olen >= 3 &&
				    strcmp(out + olen - 3, "...") == 0 &&
				    strncmp(out, full, olen - 3) == 0 &&
				    full[olen - 3] != '\0',
				    "cut quote '%s' of '%s'", out, full);
			}
		}
		free(out);
	}
	free(full);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct merr err;
	int rc;
	bool want = fuzz_path_ok(s, size);

	memset(&err, 0, sizeof(err));
	rc = path_check(s, size, &err);
	FUZZ_CHECK(rc == 0 || rc == MERR_PARSE, "path_check returned %d", rc);
	FUZZ_CHECK((rc == 0) == want, "path_check says %d, the rules say %s",
	    rc, want ? "accept" : "refuse");
	if (rc == 0) {
		FUZZ_CHECK(err.code == 0 && err.msg[0] == '\0',
		    "err touched on success");
	} else {
		FUZZ_CHECK(err.code == MERR_PARSE, "err.code %d", err.code);
		FUZZ_CHECK(fuzz_msg_ok(&err), "unprintable message '%s'",
		    err.msg);
		FUZZ_CHECK(strncmp(err.msg, "unsafe path '", 13) == 0,
		    "message '%s'", err.msg);
	}
	/* NULL err is allowed and gives the same answer. */
	FUZZ_CHECK(path_check(s, size, NULL) == rc, "NULL err changes rc");

	check_quote(s, size);
	return 0;
}
