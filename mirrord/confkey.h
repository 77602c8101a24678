/*
 * confkey.h: the configuration's key table, for conf.c alone (other code
 * reads a loaded struct conf, conf.h). One row per key holds where it may
 * appear, the field it sets, its type, limits and default; the setters
 * check values with confval.h's parsers and store them.
 *
 * Errors are MERR_CONF, "'FILE' line N: ..." naming the field's line.
 * Everything here is reentrant: no state but the constant table.
 */
#ifndef MIRRORD_CONFKEY_H
#define MIRRORD_CONFKEY_H

#include "mirrord/common.h"

struct deb822_field;

/* The stanzas, as flags. */
#define CONFKEY_GLOBAL 1	/* the global stanza: struct conf */
#define CONFKEY_MIRROR 2	/* a mirror stanza: struct conf_mirror */

/* Where a stanza comes from. */
struct confkey_src {
	const char *file;	/* as shown in messages */
	const char *dir;	/* realpath of the file's directory */
	bool mirrors_d;		/* in mirrors.d: mirrors only */
};

/*
 * Sets every field of base (a struct conf for CONFKEY_GLOBAL, a struct
 * conf_mirror for CONFKEY_MIRROR, zeroed) to its key's default. A key of
 * both stanzas has its default in the global one and 0 or NULL ("the
 * global value") in a mirror's. String defaults are owned copies.
 */
void confkey_defaults(void *base, int stanza);

/*
 * Sets the key of field f (from src) in base, a struct conf or struct
 * conf_mirror as stanza says: an unknown key, a key of the other stanza
 * or a bad value is MERR_CONF. A string or list the key held before is
 * freed. Keyring files named by Signed-By must be readable now.
 */
int confkey_apply(const struct confkey_src *src, const struct deb822_field *f,
    int stanza, void *base, struct merr *err);

/* Sets err to MERR_CONF, "'FILE' line N: <fmt>"; returns MERR_CONF. */
int confkey_err(struct merr *err, const struct confkey_src *src,
    unsigned line, const char *fmt, ...) ATTR_PRINTF(4, 5);

#endif
