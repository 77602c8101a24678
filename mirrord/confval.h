/*
 * confval.h: the value parsers of mirrord's configuration, one per kind of
 * value (duration, Keep-Snapshots rule, Listen address, URI, word list,
 * inline key block, fingerprint, number, yes/no, mirror name).
 *
 * They are pure functions: no file is opened, no global state is read or
 * written, so they are safe from any thread and easy to fuzz. conf.c calls
 * them key by key and puts "'FILE' line N: " (and, where the message does
 * not start with it, the key's name) in front of their messages, which is
 * why the messages here are lowercase fragments such as "must be yes or
 * no, not 'maybe'".
 *
 * Errors: every parser returns 0 or MERR_CONF (confval_duration():
 * MERR_PARSE, as it is also used on values that are not configuration),
 * sets err (which may be NULL) and leaves its outputs untouched on error.
 * Inputs are borrowed; a string out parameter gets owned memory (free()),
 * a string array is freed with strv_free().
 */
#ifndef MIRRORD_CONFVAL_H
#define MIRRORD_CONFVAL_H

#include "mirrord/common.h"

/* Mirror names: [a-z0-9][a-z0-9._-]*, at most this many bytes. */
#define CONFVAL_NAME_MAX 64

/*
 * A duration: a number followed by s, m, h, d or w ("90s", "30m", "6h",
 * "30d"); a bare number is seconds. Only len bytes of s are read. Values
 * that overflow a long are refused. 0 or MERR_PARSE ("invalid duration").
 */
int confval_duration(const char *s, size_t len, long *secs, struct merr *err);

/*
 * Keep-Snapshots (NUL-terminated): a duration ("30d": keep snapshots newer
 * than that; a bare number is refused, surely not meant as seconds),
 * "last N" (keep the newest N, 1 to 1000000), or both in either order
 * (keep what either keeps). A rule absent is 0 in its output.
 */
int confval_keep(const char *s, long *max_age, unsigned *last_n,
    struct merr *err);

/* A decimal number (len bytes of s) in [min, max]. */
int confval_uint(const char *s, size_t len, unsigned min, unsigned max,
    unsigned *out, struct merr *err);

/* "yes" or "no", any case. */
int confval_bool(const char *s, size_t len, bool *out, struct merr *err);

/*
 * Listen: HOST:PORT or [ADDRESS]:PORT (NUL-terminated), port 1 to 65535.
 * The value is only checked; the server resolves it.
 */
int confval_listen(const char *s, struct merr *err);

/* Whether s (len bytes) is a valid mirror name. */
bool confval_name(const char *s, size_t len);

/*
 * An http:// or https:// URL with a host (NUL-terminated); *out gets it
 * without trailing '/'. hint completes the list of accepted schemes in the
 * message ("" for none, " or file:" for URIs).
 */
int confval_http_url(const char *u, const char *hint, char **out,
    struct merr *err);

/*
 * URIs: exactly one URI among len bytes of s, http(s) or file. "file:///p"
 * and "file:/p" are absolute; "file:p" is relative to dir. *out gets
 * http(s) URLs as confval_http_url() does and file URIs normalised as
 * "file:///abs/path"; a file URI naming a host or "/" is refused.
 */
int confval_uri(const char *dir, const char *s, size_t len, char **out,
    struct merr *err);

/*
 * dir joined with p (len bytes; p alone if absolute), normalised lexically:
 * no empty, "." or ".." segments, no trailing '/' (but "/" itself). The
 * target need not exist. Returns owned memory.
 */
char *confval_abspath(const char *dir, const char *p, size_t len);

/*
 * Splits len bytes of s on spaces, tabs and newlines (continuation lines).
 * Returns an owned array of *n owned strings (NULL when *n is 0).
 */
char **confval_split(const char *s, size_t len, size_t *n);

/* Appends the owned string v (taken) to the owned array *vp of *np. */
void confval_strv_push(char ***vp, size_t *np, char *v);

/*
 * A list of words (len bytes of s) that end up in URLs and file names:
 * each must pass path_check() and appear once (a hash index: a stanza may
 * list thousands of suites). No word is fine (*n is 0): the caller says
 * which key needs a value. Messages: "'WORD' given twice", or
 * path_check()'s.
 */
int confval_words(const char *s, size_t len, char ***out, size_t *n,
    struct merr *err);

/*
 * Whether len bytes of s are hex digits (after an optional "0x", before an
 * optional '!'): meant as a key ID or fingerprint, not as a path (a keyring
 * file's name has a dot).
 */
bool confval_is_hex_id(const char *s, size_t len);

/*
 * A Signed-By fingerprint (NUL-terminated): 40 hex digits, maybe a
 * trailing '!' (that key alone, not its subkeys). *out gets it with the
 * digits upper-case. Key IDs are refused, as apt refuses them.
 */
int confval_fingerprint(const char *s, char **out, struct merr *err);

/*
 * Whether len bytes of s hold an inline key block (a BEGIN PGP PUBLIC KEY
 * BLOCK line): apt then reads the whole value as one.
 */
bool confval_has_keyblock(const char *s, size_t len);

/*
 * An inline key block, normalised as apt does (debmetaindex.cc): every
 * line stripped, a "." line standing for an empty one. It must be one
 * block, alone in the value: apt takes a value holding a BEGIN line as a
 * key block whole, so a path or fingerprint beside it would be key data.
 */
int confval_keyblock(const char *s, size_t len, char **out,
    struct merr *err);

#endif
