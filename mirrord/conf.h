/*
 * conf.h: mirrord's configuration, in apt's deb822 format.
 *
 * The file given with -c holds one global stanza (the one without Name:)
 * and any number of mirror stanzas (with Name:); a folder mirrors.d/
 * beside it holds more mirror stanzas in files named NAME.sources.
 * Keys are case-insensitive. Relative paths (Store:, Signed-By:, Log-File:,
 * and "file:" URIs without "//") are relative to the directory of the file
 * that holds them.
 *
 * Each key is one row of the key table (confkey.c), which holds its
 * stanza, its limits and its default; the defaults below are that
 * table's. A loaded struct conf has every default filled in, so readers
 * need no fallbacks of their own. The value parsers are confval.h's.
 *
 * Ownership: a struct conf owns every string and array it points to.
 * Threads: a struct conf is immutable once loaded; any number of threads
 * may read it at once. A reload loads a new one (the old one is freed by
 * whoever swaps them, once no reader holds it).
 */
#ifndef MIRRORD_CONF_H
#define MIRRORD_CONF_H

#include "mirrord/common.h"

#include "mirrord/confroll.h"
#include "mirrord/confval.h"
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
	/*
	 * A partial mirror (Include:): its snapshots list only the closure
	 * of these selectors (names, globs, priority:LEVEL, section:GLOB;
	 * the lines of a file:PATH are read at load time and listed here
	 * in their place). NULL/0 when the mirror is whole.
	 */
	char **include;
	size_t ninclude;
	char **exclude;		/* Exclude:, the same forms */
	size_t nexclude;
	bool include_recommends;	/* Include-Recommends: yes */
	bool include_build_depends;	/* Include-Build-Depends: yes */
	bool include_warn;	/* Include-Unsatisfied: warn (default error) */
	/* Security-Suites:; NULL = the suites whose name ends in -security */
	char **security_suites;
	size_t nsecurity_suites;
	bool security_all;	/* Security: yes: every suite is a security
				 * suite (Debian's separate security archive) */
	/*
	 * Advisory feeds (exposure.h): Security-Tracker: Debian's security
	 * tracker JSON, Security-OSV: a folder of Ubuntu OSV records; each
	 * an absolute path, or an http(s) URL the daemon fetches. NULL: none.
	 */
	char *security_tracker;
	char *security_osv;
	/*
	 * Download: on-demand: a sync fetches the Release files and indices
	 * only; each pool file is fetched the first time a client asks for
	 * it (the server), by `mirrord fetch`, or before a promotion to a
	 * channel named in Prefetch: (NULL/0: none).
	 */
	bool on_demand;
	char **prefetch;
	size_t nprefetch;
	char *file;		/* where it was defined, for messages */
	unsigned line;
};

/* The longest Replica-Of: URL. */
#define CONF_REPLICA_URL_MAX 512

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
	long fleet_window;	/* Fleet-Window:, seconds, default 24h: how
				 * recent a client's apt update must be to
				 * count in a channel's fleet */
	unsigned serve_threads;	/* Serve-Threads:, 0 = one per CPU */
	unsigned serve_map_mib;	/* Serve-Map-MiB:, default 64; 0: none */
	unsigned max_clients;	/* Max-Clients:, default 1024 */
	unsigned max_clients_per_ip; /* Max-Clients-Per-IP:, 0 = a quarter
				 * of Max-Clients */
	long client_timeout;	/* Client-Timeout:, seconds, default 30 */
	char *signing_key;	/* Signing-Key:, absolute; NULL = the
				 * default <Store>/signing-key.asc, which
				 * mirrord creates (conf_signing_key()) */
	char *trusted_parts;	/* Trusted-Parts:, default
				 * /etc/apt/trusted.gpg.d: the keyrings of
				 * a Signed-By of fingerprints alone */
	/*
	 * Blobs: where blob bytes live. NULL ("file", the default): the
	 * store's blobs/ directory. "s3://BUCKET[/PREFIX]": an S3 bucket,
	 * with blobs/ a local cache of at most s3_cache bytes (store_s3.c).
	 */
	char *blobs;
	char *s3_endpoint;	/* S3-Endpoint:, http(s) URL; NULL = AWS */
	char *s3_region;	/* S3-Region:, NULL = us-east-1 */
	char *s3_credentials;	/* S3-Credentials:, absolute; NULL = the
				 * AWS_* environment */
	uint64_t s3_cache;	/* S3-Cache:, bytes, default 10 GiB */
	bool s3_redirect;	/* S3-Redirect:, default no */
	long s3_redirect_expiry; /* S3-Redirect-Expiry:, seconds, 5m */
	/*
	 * Read replicas (replica.h): Replica-Of:, the primary's base URL
	 * (http or https, no trailing '/'), "" when this store is no
	 * replica; Replica-Interval:, seconds between polls, default 5.
	 * A fixed array: conf_free() has nothing more to free.
	 */
	char replica_of[CONF_REPLICA_URL_MAX + 1];
	long replica_interval;
	struct conf_mirror *mirrors;
	size_t nmirrors;
	size_t mirrors_cap;	/* private: allocated entries */
	struct hash_index names; /* private: name -> position in mirrors */
	/* Rollout: stanzas (confroll.h), in the order read. */
	struct conf_rollout *rollouts;
	size_t nrollouts;
};

/*
 * Loads path and path's sibling mirrors.d/NAME.sources (in name order).
 * A stanza with a Rollout: field, in either, is a rollout plan
 * (confroll.h), checked against the mirrors once all are read.
 * Errors (MERR_CONF) name the file and line: unknown keys, missing
 * required keys (Name, Types, URIs, Suites, Components, Signed-By;
 * Architectures for deb), bad values, keys of the other stanza, duplicate
 * mirror names, a second global stanza, malformed deb822, keyrings that
 * cannot be opened now; MERR_IO or MERR_LIMIT if a file cannot be read or
 * is over 1 MiB. Other files in mirrors.d are warned about (log_warn) and
 * skipped. *out is owned; free with conf_free(). err is untouched on
 * success.
 */
int conf_load(const char *path, struct conf **out, struct merr *err);

/*
 * A configuration holding every global default and no mirror (path
 * NULL): what a file with no global stanza gives, for tests and tools
 * that build one by hand. Owned; free with conf_free().
 */
struct conf *conf_new(void);

/* Frees c and all it owns; NULL is fine. */
void conf_free(struct conf *c);

/*
 * The signing key file: Signing-Key:, else <Store>/signing-key.asc.
 * Returns owned memory. Whether mirrord may create it is whether
 * c->signing_key is NULL (gpg_signer_new()'s create).
 */
char *conf_signing_key(const struct conf *c);

/*
 * How old m's last successful sync may be before /healthz says unhealthy:
 * its Max-Sync-Age, else the global one, else 3 x its Sync-Interval (or
 * the global Sync-Interval); LONG_MAX if that overflows.
 */
long conf_max_sync_age(const struct conf *c, const struct conf_mirror *m);

/*
 * The mirror named name, or NULL: one hash lookup (a linear search if
 * mirrors were set by hand, as tests do, and names is empty). Valid while
 * c lives.
 */
const struct conf_mirror *conf_mirror(const struct conf *c, const char *name);


#endif
