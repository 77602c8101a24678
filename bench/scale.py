#!/usr/bin/env python3
"""Scale test: how mirrord's costs grow with the archive and with history.

    scale.py MIRRORD [--files N] [--snapshots S] [--checkpoints A,B,...]
                     [--churn C] [--dir DIR]

A generated upstream (file:// URI, so that the upstream costs nothing) of
two suites, as a real distribution has them:
  scale          N pool files (tiny, distinct: one blob each), never changing,
                 like jammy or bookworm after release;
  scale-updates  the churn: each sync, C packages of `scale` get a new
                 version (a new pool file) here, and the oldest entries of the
                 updates index are superseded, so it holds the last 20*C.
The Release files are signed (ed25519, SHA-512) and verified by mirrord as
always. One sync per snapshot; at each checkpoint (a snapshot count) this
times `snapshot list`, `status`, `gc --dry-run`, `gc`, `fsck`, and serving a
file by a timestamp ref (the oldest and the newest snapshot, through
`mirrord serve` with curl), and reads the index size. Every command's wall
time and peak RSS come from /usr/bin/time. Nothing asserts: the table says,
per checkpoint, what each command cost, so that what grows faster than the
data it touches shows. `make scale` runs it; see bench/README.md.
"""

import argparse
import gzip
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from email.utils import formatdate


def die(msg):
    print("scale: error: " + msg, file=sys.stderr)
    sys.exit(1)


def gpg(home, *args, inp=None):
    env = dict(os.environ, GNUPGHOME=home)
    return subprocess.run(["gpg", "--batch", "--quiet", "--pinentry-mode",
                           "loopback", "--passphrase", ""] + list(args),
                          input=inp, env=env, check=True,
                          stdout=subprocess.PIPE).stdout


class Upstream:
    def __init__(self, root, nfiles, churn):
        self.root = root
        self.www = os.path.join(root, "www")
        self.home = os.path.join(root, "gnupg")
        self.nfiles = nfiles
        self.churn = churn
        self.gen = 0
        self.version = {}          # package index -> its updates version
        self.updates = []          # (package index, version), oldest first
        self.date0 = time.time() - 86400 * 2

    def pool_path(self, i, v):
        name = "p%07d" % i
        return "pool/main/%s/%s/%s_%d_amd64.deb" % (name[:4], name, name, v)

    def write_pool(self, i, v):
        rel = self.pool_path(i, v)
        path = os.path.join(self.www, rel)
        d = os.path.dirname(path)
        if d not in self.dirs:
            os.makedirs(d, exist_ok=True)
            self.dirs.add(d)
        data = b"scale %d %d\n" % (i, v)
        with open(path, "wb") as f:
            f.write(data)
        return rel, data

    def para(self, i, v, rel, data):
        return ("Package: p%07d\nVersion: %d\nArchitecture: amd64\n"
                "Maintainer: Scale <scale@example.org>\nFilename: %s\n"
                "Size: %d\nSHA256: %s\nDescription: scale test %d\n" %
                (i, v, rel, len(data), hashlib.sha256(data).hexdigest(), i))

    def write_suite(self, suite, paras):
        sdir = os.path.join(self.www, "dists", suite)
        bdir = os.path.join(sdir, "main", "binary-amd64")
        os.makedirs(bdir, exist_ok=True)
        text = "\n".join(paras).encode()
        gz = gzip.compress(text, compresslevel=1, mtime=0)
        with open(os.path.join(bdir, "Packages.gz"), "wb") as f:
            f.write(gz)
        sums = "".join(" %s %d %s\n" % (hashlib.sha256(d).hexdigest(),
                                         len(d), rel)
                       for rel, d in (("main/binary-amd64/Packages", text),
                                      ("main/binary-amd64/Packages.gz", gz)))
        date = formatdate(self.date0 + 60 * self.gen, usegmt=True)
        release = ("Origin: Scale\nLabel: Scale\nSuite: %s\nCodename: %s\n"
                   "Date: %s\nArchitectures: amd64\nComponents: main\n"
                   "Description: mirrord scale test\nSHA256:\n%s" %
                   (suite, suite, date, sums)).encode()
        with open(os.path.join(sdir, "Release"), "wb") as f:
            f.write(release)
        inr = gpg(self.home, "--digest-algo", "SHA512", "--clearsign",
                  "--output", "-", inp=release)
        with open(os.path.join(sdir, "InRelease"), "wb") as f:
            f.write(inr)

    def create(self):
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.home, mode=0o700)
        gpg(self.home, "--quick-gen-key", "Scale <scale@example.org>",
            "ed25519", "sign", "never")
        with open(os.path.join(self.root, "key.gpg"), "wb") as f:
            f.write(gpg(self.home, "--export"))
        self.dirs = set()
        paras = []
        for i in range(self.nfiles):
            rel, data = self.write_pool(i, 0)
            paras.append(self.para(i, 0, rel, data))
        self.write_suite("scale", paras)
        self.step()

    def step(self):
        """One more generation of scale-updates: churn new versions."""
        self.gen += 1
        start = (self.gen - 1) * self.churn
        for k in range(self.churn):
            i = (start + k) * 7919 % self.nfiles  # spread over the archive
            v = self.version.get(i, 0) + 1
            self.version[i] = v
            self.updates.append((i, v))
        keep = 20 * self.churn
        self.updates = self.updates[-keep:]
        latest = {}
        for i, v in self.updates:
            latest[i] = v
        paras = []
        for i in sorted(latest):
            rel, data = self.write_pool(i, latest[i])
            paras.append(self.para(i, latest[i], rel, data))
        self.write_suite("scale-updates", paras)


def timed(cmd, out=None):
    """Runs cmd under /usr/bin/time; returns (rc, seconds, peak KiB)."""
    tf = out + ".time" if out else "/dev/null"
    t0 = time.monotonic()
    with open(out or os.devnull, "wb") as o:
        rc = subprocess.call(["/usr/bin/time", "-f", "%e %M", "-o", tf] + cmd,
                             stdout=o, stderr=subprocess.STDOUT)
    wall = time.monotonic() - t0
    rss = 0
    if out:
        with open(tf) as f:
            last = f.read().split()
            rss = int(last[-1]) if last else 0
    return rc, wall, rss


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def serve_times(mirrord, conf, port, refs, paths, log):
    """Starts `mirrord serve`, fetches each path under each ref with curl;
    returns the median time per request in ms, and the server's RSS."""
    p = subprocess.Popen([mirrord, "-c", conf, "serve"],
                         stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    try:
        base = "http://127.0.0.1:%d" % port
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        times = []
        for ref in refs:
            for path in paths:
                url = "%s/scale/%s/%s" % (base, ref, path)
                out = subprocess.run(
                    ["curl", "-s", "-o", "/dev/null", "-w",
                     "%{http_code} %{time_total}", url],
                    stdout=subprocess.PIPE, check=True).stdout.split()
                if out[0] != b"200":
                    die("GET %s: %s" % (url, out[0].decode()))
                times.append(float(out[1]) * 1000)
        rss = 0
        with open("/proc/%d/status" % p.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    rss = int(line.split()[1])
        times.sort()
        return times[len(times) // 2], rss
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mirrord")
    ap.add_argument("--files", type=int, default=1000000)
    ap.add_argument("--snapshots", type=int, default=1000)
    ap.add_argument("--checkpoints", default="1,500,1000")
    ap.add_argument("--churn", type=int, default=0,
                    help="new versions per sync (default files/1000)")
    ap.add_argument("--dir", default="build/scale")
    a = ap.parse_args()
    mirrord = os.path.abspath(a.mirrord)
    churn = a.churn or max(1, a.files // 1000)
    checks = sorted(int(x) for x in a.checkpoints.split(",") if x)
    checks = [c for c in checks if c <= a.snapshots] or [a.snapshots]
    root = os.path.abspath(a.dir)
    up = Upstream(os.path.join(root, "upstream"), a.files, churn)
    store = os.path.join(root, "store")
    logs = os.path.join(root, "logs")
    shutil.rmtree(store, ignore_errors=True)
    shutil.rmtree(logs, ignore_errors=True)
    os.makedirs(logs)
    t0 = time.monotonic()
    up.create()
    print("# upstream: %d pool files, churn %d per sync, built in %.0f s" %
          (a.files, churn, time.monotonic() - t0), flush=True)
    port = free_port()
    conf = os.path.join(root, "mirrord.conf")
    with open(conf, "w") as f:
        f.write("Store: %s\nListen: 127.0.0.1:%d\nConnections: 8\n"
                "Gc-Grace: 1h\n\nName: scale\nTypes: deb\nURIs: file://%s\n"
                "Suites: scale scale-updates\nComponents: main\n"
                "Architectures: amd64\nSigned-By: %s\n" %
                (store, port, up.www, os.path.join(up.root, "key.gpg")))
    m = [mirrord, "-c", conf, "-q"]
    rows = []
    syncs = []
    for n in range(1, a.snapshots + 1):
        if n > 1:
            up.step()
        out = os.path.join(logs, "sync.%d" % n)
        rc, wall, rss = timed(m + ["sync"], out)
        if rc != 0:
            die("sync %d failed: %s" % (n, open(out).read()[-2000:]))
        syncs.append((wall, rss))
        if n not in checks:
            continue
        row = {"snapshots": n, "sync_s": wall, "sync_kib": rss}
        recent = syncs[-min(len(syncs), 10):]
        row["sync10_s"] = sorted(s[0] for s in recent)[len(recent) // 2]
        for name, cmd in (("list", ["snapshot", "list", "scale"]),
                          ("status", ["status"]),
                          ("gc_dry", ["gc", "--dry-run"]),
                          ("gc", ["gc"]),
                          ("fsck", ["fsck"])):
            out = os.path.join(logs, "%s.%d" % (name, n))
            rc, wall, rss = timed(m + cmd, out)
            if rc != 0:
                die("%s at %d failed: %s" % (name, n, open(out).read()[-2000:]))
            row[name + "_s"] = wall
            row[name + "_kib"] = rss
        ids = subprocess.run(m + ["snapshot", "list", "scale"], check=True,
                             stdout=subprocess.PIPE).stdout.split()
        refs = [ids[0].decode(), ids[-1].decode()]
        paths = ["dists/scale-updates/InRelease",
                 "dists/scale/main/binary-amd64/Packages.gz",
                 up.pool_path(0, 0)]
        row["serve_ms"], row["serve_kib"] = serve_times(
            mirrord, conf, port, refs, paths,
            os.path.join(logs, "serve.%d" % n))
        data = os.path.join(store, "index", "data.mdb")
        row["index_mb"] = os.path.getsize(data) / 1e6
        # Package versions the index knows: the base and every update.
        versions = a.files + churn * (n - 1)
        row["b_per_version"] = os.path.getsize(data) / versions
        rows.append(row)
        print("# %s" % json.dumps(row), flush=True)
    cols = ["snapshots", "sync_s", "sync10_s", "sync_kib", "list_s",
            "status_s", "status_kib", "gc_s", "gc_kib", "fsck_s", "fsck_kib",
            "serve_ms", "serve_kib", "index_mb", "b_per_version"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(
            ("%.2f" % r[c]) if isinstance(r[c], float) else str(r[c])
            for c in cols) + " |")
    with open(os.path.join(root, "results.json"), "w") as f:
        json.dump({"files": a.files, "churn": churn, "rows": rows}, f,
                  indent=1)


if __name__ == "__main__":
    main()
