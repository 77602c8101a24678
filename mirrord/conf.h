/*
 * conf.h: mirrord's configuration, in apt's deb822 format.
 *
 * The file given with -c holds one global stanza (the one without Name:)
 * and any number of mirror stanzas (with Name:); a folder mirrors.d/
 * beside it holds more mirror stanzas in files named NAME.sources.
 * Keys are case-insensitive. Relative paths (Store:, Signed-By:, Log-File:,
 * and "file:" URIs without "//") are relative to the directory of the file
 * that holds them.
 */
#ifndef MIRRORD_CONF_H
#define MIRRORD_CONF_H

#include "mirrord/common.h"

#include "mirrord/hash.h"

struct conf_mirror {
	char *name;		/* [a-z0-9][a-z0-9._-]*, at most 64 bytes */
	bool deb;		/* Types: deb */
	bool deb_src;		/* Types: deb-src */
	char *uri;		/* http://, https:// or file:///; no trailing '/' */
	char **suites;
	size_t nsuites;
	char **components;
	size_t ncomponents;
	char **arches;		/* Architectures:; required when deb */
	size_t narches;
	/* Signed-By:, as apt reads it (see mirrord.conf(5)). */
	char **keyrings;	/* keyring files, absolute */
	size_t nkeyrings;
	char *keyblock;		/* an inline armoured key block, or NULL */
	char **key_fprs;	/* fingerprints: 40 upper hex, maybe '!' */
	size_t nkey_fprs;
	char *pubkey_algo;	/* Assert-Pubkey-Algo:, NULL = apt's */
	bool enabled;		/* Enabled: yes|no, default yes */
	long sync_interval;	/* seconds; 0 = the global value */
	long max_sync_age;	/* Max-Sync-Age:, seconds; 0 = the global */
	bool strict;		/* Strict: yes: what is configured and
				 * missing upstream fails the sync */
	char *keep_snapshots;	/* NULL = the global value */
	char *file;		/* where it was defined, for messages */
	unsigned line;
};

struct conf {
	char *path;		/* the main file */
	char *store;		/* Store:, absolute; default /var/lib/mirrord */
	char *listen;		/* Listen:, default 127.0.0.1:8080 */
	char *base_url;		/* Base-URL:, NULL if unset */
	char *log_file;		/* Log-File:, NULL = stderr */
	char *access_log;	/* Access-Log:, NULL = with the log */
	unsigned connections;	/* Connections:, default 8, 1..64 */
	unsigned retries;	/* Retries:, default 5 */
	long connect_timeout;	/* Connect-Timeout:, seconds, default 30 */
	long stall_timeout;	/* Stall-Timeout:, seconds, default 60 */
	long clock_skew;	/* Clock-Skew:, seconds, default 600 */
	long sync_interval;	/* Sync-Interval:, seconds, default 6h */
	long max_sync_age;	/* Max-Sync-Age:, seconds; 0 = three times
				 * each mirror's Sync-Interval */
	char *keep_snapshots;	/* Keep-Snapshots:, NULL = keep all */
	long valid_for;		/* Valid-For:, seconds, 0 = no Valid-Until */
	long gc_grace;		/* Gc-Grace:, seconds, default 36h */
	unsigned channel_history; /* Channel-History:, default 5 */
	unsigned serve_threads;	/* Serve-Threads:, 0 = one per CPU */
	unsigned serve_map_mib;	/* Serve-Map-MiB:, default 64; 0: none */
	unsigned max_clients;	/* Max-Clients:, default 1024 */
	unsigned max_clients_per_ip; /* Max-Clients-Per-IP:, 0 = a quarter
				 * of Max-Clients */
	long client_timeout;	/* Client-Timeout:, seconds, default 30 */
	char *signing_key;	/* Signing-Key:, absolute; NULL = the
				 * default <Store>/signing-key.asc */
	char *trusted_parts;	/* Trusted-Parts:, default
				 * /etc/apt/trusted.gpg.d: the keyrings of
				 * a Signed-By of fingerprints alone */
	struct conf_mirror *mirrors;
	size_t nmirrors;
	size_t mirrors_cap;	/* private: allocated entries */
	struct hash_index names; /* private: name -> position in mirrors */
};

/*
 * Loads path and path's sibling mirrors.d/NAME.sources (in name order).
 * Errors name the file and line: unknown keys, missing required keys
 * (Name, Types, URIs, Suites, Signed-By; Components unless a suite is
 * flat), bad values, duplicate mirror names, duplicate keys in a stanza.
 * *out is owned; free with conf_free().
 */
int conf_load(const char *path, struct conf **out, struct merr *err);
void conf_free(struct conf *c);

/*
 * How old m's last successful sync may be before /healthz says unhealthy:
 * its Max-Sync-Age, else the global one, else 3 x its Sync-Interval.
 */
long conf_max_sync_age(const struct conf *c, const struct conf_mirror *m);

/*
 * The mirror named name, or NULL: one hash lookup (a linear search if
 * mirrors were set by hand, as tests do, and names is empty).
 */
const struct conf_mirror *conf_mirror(const struct conf *c, const char *name);

/*
 * Keep-Snapshots: a duration ("30d": keep snapshots newer than that),
 * "last N" (keep the newest N), or both (keep what either keeps). Zero
 * means "no such rule".
 */
int conf_parse_keep(const char *s, long *max_age, unsigned *last_n,
    struct merr *err);

/*
 * A duration: a number followed by s, m, h, d or w ("90s", "30m", "6h",
 * "30d"); a bare number is seconds. 0 or MERR_PARSE.
 */
int conf_parse_duration(const char *s, size_t len, long *secs,
    struct merr *err);

#endif
