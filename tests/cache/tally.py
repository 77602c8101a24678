#!/usr/bin/env python3
"""tally.py: what a cache in front of mirrord did, by URL kind.

usage: tally.py NGINX_LOG MIRRORD_LOG FIXED_REFS [FIRST:LAST]

NGINX_LOG is in tests/cache/nginx.conf.in's "cache" format, MIRRORD_LOG
is mirrord's access log (common log format). FIXED_REFS is a
comma-separated list of refs that name one snapshot for good (an ID, a
past timestamp). A URL /<mirror>/<ref>/<path> is of kind:
  snapshot  under a fixed ref (every file)
  by-hash   .../by-hash/... under a moving ref (latest, a channel)
  pool      pool/... under a moving ref
  moving    any other file under a moving ref (Release files, indices)
The first three are immutable. Prints a table of cache statuses per kind,
the Cache-Control values clients sent per kind, and the hit ratio (HIT
over every request). Exits 1, saying why, if an immutable URL reached
mirrord more than once, or if one of the nginx lines FIRST to LAST
(1-based: the requests made after a warm-up) was for an immutable URL
and not a HIT. The table and ratio count the lines up to LAST.
"""
import collections
import re
import sys

IMMUTABLE = ("snapshot", "by-hash", "pool")
NGINX_RE = re.compile(r'^(\S+) (\d{3}) "([^"]*)" "([^"]*)" "([^"]*)"')
CLF_RE = re.compile(r'"(?:GET|HEAD) (\S+) HTTP/[0-9.]+" (\d{3})')


def kind(path, fixed):
    parts = path.split("?")[0].split("/")
    if len(parts) < 4 or parts[3] == "":
        return None
    ref, rest = parts[2], "/".join(parts[3:])
    if ref in fixed:
        return "snapshot"
    if "/by-hash/" in "/" + rest:
        return "by-hash"
    if rest.startswith("pool/"):
        return "pool"
    return "moving"


def main():
    nginx_log, mirrord_log, fixed = sys.argv[1:4]
    first, last = (sys.argv[4] if len(sys.argv) > 4 else "0:0").split(":")
    first, last = int(first), int(last)
    fixed = set(fixed.split(","))
    status = collections.defaultdict(collections.Counter)
    sent = collections.defaultdict(collections.Counter)
    bad = []
    total = hits = 0
    for n, line in enumerate(open(nginx_log), 1):
        m = NGINX_RE.match(line)
        if last and n > last:
            break
        if not m:
            continue
        cs, code, path, cc, pragma = m.groups()
        k = kind(path, fixed)
        if k is None:
            continue
        status[k][cs] += 1
        sent[k]["cache-control: " + cc if cc != "-" else "none"] += 1
        if pragma != "-":
            sent[k]["pragma: " + pragma] += 1
        total += 1
        hits += cs == "HIT"
        if first <= n <= last and k in IMMUTABLE and cs != "HIT":
            bad.append("line %d: %s %s (%s) was a %s" % (n,
                       k, path, code, cs))
    origin = collections.Counter()
    for line in open(mirrord_log):
        m = CLF_RE.search(line)
        if m and kind(m.group(1), fixed) in IMMUTABLE:
            origin[m.group(1)] += 1
    for path, n in sorted(origin.items()):
        if n > 1:
            bad.append("immutable %s reached mirrord %d times" % (path, n))
    cols = ["HIT", "MISS", "REVALIDATED", "EXPIRED", "STALE", "UPDATING",
            "-"]
    print("%-9s %8s " % ("kind", "requests") +
          " ".join("%11s" % c for c in cols))
    for k in IMMUTABLE + ("moving",):
        print("%-9s %8d " % (k, sum(status[k].values())) +
              " ".join("%11d" % status[k][c] for c in cols))
    for k in IMMUTABLE + ("moving",):
        for v, n in sorted(sent[k].items()):
            print("%s requests sent %s: %d" % (k, v, n))
    print("immutable URLs fetched from mirrord: %d, each once" % len(origin)
          if not bad else "")
    print("hit ratio: %.1f%% (%d of %d requests answered from the cache)" %
          (100.0 * hits / total if total else 0, hits, total))
    for b in bad[:20]:
        print("error: " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
