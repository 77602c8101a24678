/*
 * path.c: canonical relative paths for names that come from the network.
 */
#include "mirrord/common.h"

#include "mirrord/path.h"

void
path_quote(const char *s, size_t len, char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	if (n == 0)
		return;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		/* Room for an escape, "..." and the NUL. */
		if (o + 8 >= n) {
			if (n >= 8) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (c >= 0x21 && c <= 0x7e && c != '\\') {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

static int
path_bad(const char *s, size_t len, const char *why, struct merr *err)
{
	char q[256];

	path_quote(s, len, q, sizeof(q));
	return merr_set(err, MERR_PARSE, "unsafe path '%s': %s", q, why);
}

int
path_check(const char *s, size_t len, struct merr *err)
{
	size_t i, seg = 0;

	if (len == 0)
		return path_bad(s, len, "empty", err);
	if (len > PATH_MAX_REL)
		return path_bad(s, len, "too long", err);
	if (s[0] == '/')
		return path_bad(s, len, "absolute", err);
	for (i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)s[i] : '/';

		if (c == '/') {
			size_t n = i - seg;

			if (n == 0)
				return path_bad(s, len, "empty segment", err);
			if (n == 1 && s[seg] == '.')
				return path_bad(s, len, "'.' segment", err);
			if (n == 2 && s[seg] == '.' && s[seg + 1] == '.')
				return path_bad(s, len, "'..' segment", err);
			seg = i + 1;
			continue;
		}
		if (c < 0x21 || c == 0x7f)
			return path_bad(s, len, "control byte or space", err);
		if (c == '%')
			return path_bad(s, len, "'%' escape", err);
		if (c == '\\')
			return path_bad(s, len, "backslash", err);
	}
	return 0;
}
