/*
 * api.h: the read-only JSON API under /api/v1/ (docs/api.md), what a
 * replica follows its primary with and what scripts may read.
 *
 * Private to serve/. route_parse() hands every "/api/..." URL here
 * (ROUTE_API, r->path the part after "/api/"); api_reply() answers it in
 * one short read transaction of the store: a JSON body, a snapshot
 * manifest's bytes, or a blob (a REPLY_FILE, served as any pool file is,
 * with ranges and validators). Nothing here writes.
 *
 * Threads: any server thread, each with its own reply.
 */
#ifndef SERVE_API_H
#define SERVE_API_H

#include "mirrord/common.h"
#include "mirrord/conf.h"
#include "mirrord/store.h"
#include "serve/server.h"

/* The version in the URL; a change that breaks readers is a new one. */
#define API_VERSION 1

/* "application/json", the Content-Type of every JSON answer. */
#define API_CTYPE "application/json"

/*
 * Answers path (what follows "/api/", e.g. "v1/state") against c and s
 * into out (zeroed and its buffers initialised by the caller, as
 * server_reply() does; released with server_reply_release()). Unknown
 * paths, mirrors, snapshots and blobs the blobs table does not list are
 * 404; a store error is a 500, logged here.
 */
void api_reply(const struct conf *c, struct store *s, const char *path,
    struct server_reply *out);

/*
 * The store's generation for the mirrors of c, as api_reply() states it
 * in v1/state: a SHA-256 over each mirror's snapshot IDs and each
 * channel's state (target, move time, Release files), so that any
 * commit, drop or move changes it; and the newest of those times in
 * *time (0 when there is nothing). t is any read transaction.
 */
int api_generation(struct store_txn *t, const struct conf *c,
    unsigned char gen[HASH_LEN], int64_t *time, struct merr *err);

#endif
