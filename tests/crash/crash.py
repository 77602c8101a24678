#!/usr/bin/env python3
"""crash.py: kill -9, fault-injection and full-disk checks of mirrord's store.

    crash.py --mirrord BIN [--faults-bin BIN] [--seed S] [--iters N]
             [--faults none|quick|full] [--fulldisk none|injected|all]
             [--budget SECONDS] [--keep]

Against a real upstream (tests/e2e/upstream.py serving an archive built by
tests/fixtures/mkarchive.py, rebuilt with a new generation now and then:
churn), with `mirrord serve` running on the store all along:

1. Kill loop (--iters). Each iteration picks an operation (sync, promote,
   rollback, gc with Gc-Grace 0 and Keep-Snapshots 'last 3') and a delay,
   starts it and kill -9s it at that delay. Then: `fsck` exits 0; every
   snapshot committed before serves, over HTTP, the bytes recorded right
   after its commit (all Release files, a sample of indices and pool
   files); snapshots vanish only by gc's retention, never the latest or a
   channel's target; channels move only by promote/rollback of that
   channel, and an unmoved channel serves the same bytes; the next
   uninterrupted sync succeeds, leaves tmp/ empty and its snapshot has the
   content of an uninterrupted sync of the same upstream into another
   store (`snapshot show --json` without ids, times and new-blob counts).
2. Fault cases (--faults, needs --faults-bin, a -DMIRRORD_FAULTS build):
   MIRRORD_FAULT=POINT:N[:ERRNO] on sync, promote and gc. The command must
   fail cleanly (exit 1, an "error:" line naming the failure, e.g. the
   strerror text) or, if it tolerated the fault, be complete and correct;
   nothing is half-committed (snapshots and channels as before, fsck 0,
   bytes served unchanged); the next run without fault succeeds.
3. Full disk (--fulldisk): sticky ENOSPC injected at write and commit; and,
   when `mount -t tmpfs` is permitted, a store on a small tmpfs filled up.
   Sync fails naming no space, nothing is committed, a `mirrord serve`
   started before keeps serving the previous snapshot unchanged, and once
   space is freed the next sync succeeds.

Everything random comes from --seed: on failure the seed, the iteration and
the operation are printed, and the same seed replays the same sequence of
operations and delay fractions (kill timing itself is best effort).
Exit status: 0 all passed, 1 a check failed, 2 a setup error.
"""

import argparse
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MKARCHIVE = os.path.join(ROOT, "tests", "fixtures", "mkarchive.py")
UPSTREAM = os.path.join(ROOT, "tests", "e2e", "upstream.py")
PY = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) \
    else sys.executable
SUITES = ("stable", "stable-updates")
RELEASE = ("InRelease", "Release", "Release.gpg")
MAX_GEN = 50            # mkarchive's Date is now - 3600 + 60 * generation
STRERROR = {"EIO": os.strerror(5), "ENOSPC": os.strerror(28)}


class Fail(Exception):
    """A check failed: a bug in mirrord (or in this test)."""


def log(msg):
    print("# " + msg, flush=True)


def sha(b):
    return hashlib.sha256(b).hexdigest()


def norm_content(j):
    """snapshot show --json minus what differs between two equal syncs."""
    j = dict(j)
    for k in ("id", "time", "new_files", "new_bytes"):
        j.pop(k, None)

    def norm(x):
        if isinstance(x, dict):
            return {k: norm(v) for k, v in x.items()}
        if isinstance(x, list):
            return sorted((norm(e) for e in x), key=json.dumps)
        return x
    return norm(j)


def content_diff(a, b):
    sa = json.dumps(a, indent=1, sort_keys=True).splitlines()
    sb = json.dumps(b, indent=1, sort_keys=True).splitlines()
    import difflib
    return "\n".join(list(difflib.unified_diff(sa, sb, "reference", "got",
                                               lineterm="", n=1))[:30])


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Env:
    """The temp dir, the upstream, the binaries, the child processes."""

    FIXTURE = MKARCHIVE         # the upstream's generator, and its options
    FIXTURE_ARGS = []

    def __init__(self, a):
        self.a = a
        self.t = tempfile.mkdtemp(prefix="mirrord-crash.",
                                  dir=os.environ.get("TMPDIR", "/tmp"))
        self.gnupg = os.environ.get("E2E_GNUPG") or \
            os.path.join(self.t, "gnupg")
        self.own_gnupg = not os.environ.get("E2E_GNUPG")
        # Gc-Grace: 0 is below the floor of 1h: lowered for the tests,
        # so that gc removes blobs while the kills land.
        os.environ["MIRRORD_TEST_GC_GRACE_MIN"] = "0"
        os.environ.setdefault("MKARCHIVE_CACHE",
                              os.path.join(self.t, "debcache"))
        self.srv = os.path.join(self.t, "srv")
        self.archive = os.path.join(self.srv, "debian")
        self.key = os.path.join(self.t, "archive-key.gpg")
        self.procs = []
        self.killed_pids = []
        self.mounts = []
        self.gen = 0
        self.ref = {}           # generation -> normalised content
        self.fixture = {}       # generation -> .fixture.json
        self.upstream_port = None
        self.records = {}       # snapshot id -> its record (any store)

    # ---------------------------------------------------------- processes

    def spawn(self, args, **kw):
        p = subprocess.Popen(args, **kw)
        self.procs.append(p)
        return p

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for m in reversed(self.mounts):
            subprocess.call(["umount", m], stderr=subprocess.DEVNULL)
        # Signer homes left by the processes we killed (gpg.c gap 5).
        left = 0
        for pid in self.killed_pids:
            for d in self.signer_homes(pid):
                left += 1
                subprocess.call(["gpgconf", "--homedir", d, "--kill", "all"],
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
                shutil.rmtree(d, ignore_errors=True)
        if left:
            log("removed %d signer home(s) of killed processes" % left)
        if self.own_gnupg:
            subprocess.call(["gpgconf", "--homedir", self.gnupg, "--kill",
                             "gpg-agent"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
        if self.a.keep:
            log("kept " + self.t)
        else:
            shutil.rmtree(self.t, ignore_errors=True)

    @staticmethod
    def signer_homes(pid):
        pre = "mirrord-sign.%d." % pid
        try:
            return [os.path.join("/tmp", n) for n in os.listdir("/tmp")
                    if n.startswith(pre)]
        except OSError:
            return []

    # ---------------------------------------------------------- upstream

    def bump(self):
        """Upstream moves to the next generation; returns it."""
        self.gen += 1
        r = subprocess.run([PY, self.FIXTURE, self.archive, "--gnupghome",
                            self.gnupg, "--generation", str(self.gen)] +
                           self.FIXTURE_ARGS,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=180)
        if r.returncode != 0:
            raise RuntimeError("%s: %s" % (os.path.basename(self.FIXTURE),
                                           r.stdout.decode()))
        if not os.path.exists(self.key):
            shutil.copy(os.path.join(self.archive, "archive-key.gpg"),
                        self.key)
        with open(os.path.join(self.archive, ".fixture.json")) as f:
            self.fixture[self.gen] = json.load(f)
        return self.gen

    def set_delay(self, secs):
        """Latency per upstream request (kills land mid-transfer)."""
        ctl = os.path.join(self.t, "control.json")
        with open(ctl + ".tmp", "w") as f:
            f.write('{"delay": {"pattern": "", "seconds": %g}}\n' % secs)
        os.rename(ctl + ".tmp", ctl)

    def start_upstream(self):
        ctl = os.path.join(self.t, "control.json")
        self.set_delay(0)
        p = self.spawn([PY, UPSTREAM, "--control", ctl, "--log",
                        os.path.join(self.t, "upstream.log"), self.srv],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = p.stdout.readline().decode().strip()
        if not line.isdigit():
            raise RuntimeError("upstream.py did not start")
        self.upstream_port = int(line)


class Store:
    """One store: its config, a `mirrord serve` on it, and its model."""

    def __init__(self, env, name, keep="last 3", bin=None, dir=None):
        self.env = env
        self.name = name
        self.dir = dir or os.path.join(env.t, name)
        self.conf = os.path.join(env.t, name + ".conf")
        self.bin = bin or env.a.mirrord
        self.keep = keep
        self.port = None
        self.serve = None
        self.snaps = {}         # id -> {"rel": {url: sha}, "idx": ..., "pool": ...}
        self.chans = {}         # name -> {"target": id, "files": {url: sha}}
        self.orphans = 0
        self.late = 0           # commits seen only after the next writer
        self.write_conf()

    def write_conf(self, listen=None):
        with open(self.conf, "w") as f:
            f.write("Store: %s\nRetries: 2\nStall-Timeout: 5\n"
                    "Connect-Timeout: 5\nGc-Grace: 0\nKeep-Snapshots: %s\n"
                    % (self.dir, self.keep))
            if listen:
                f.write("Listen: 127.0.0.1:%d\n" % listen)
            f.write("\nName: demo\nTypes: deb deb-src\n"
                    "URIs: http://127.0.0.1:%d/debian\n"
                    "Suites: stable stable-updates\n"
                    "Components: main contrib\nArchitectures: amd64 arm64\n"
                    "Signed-By: %s\n" % (self.env.upstream_port, self.env.key))

    # ---------------------------------------------------------- commands

    def run(self, *args, fault=None, bin=None, timeout=120):
        env = dict(os.environ)
        env.pop("MIRRORD_FAULT", None)
        if fault:
            env["MIRRORD_FAULT"] = fault
        r = subprocess.run([bin or self.bin, "-c", self.conf] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=env, timeout=timeout)
        return r.returncode, r.stdout.decode(errors="replace"), \
            r.stderr.decode(errors="replace")

    def must(self, *args):
        rc, out, err = self.run(*args)
        if rc != 0:
            raise Fail("'mirrord %s' exited %d: %s" % (" ".join(args), rc,
                                                      err.strip()[-800:]))
        return out

    def json(self, *args):
        return json.loads(self.must(*(list(args) + ["--json"])))

    def snapshot_ids(self):
        if not os.path.isdir(os.path.join(self.dir, "index")):
            return []
        return [s["id"] for s in self.json("snapshot", "list", "demo")]

    def channels(self):
        if not os.path.isdir(os.path.join(self.dir, "index")):
            return {}
        return {c["name"]: c["target"]
                for c in self.json("channel", "list", "demo")}

    def latest_content(self):
        return norm_content(self.json("snapshot", "show", "demo", "latest"))

    # ---------------------------------------------------------- serving

    def start_serve(self):
        for _ in range(5):
            self.port = free_port()
            self.write_conf(self.port)
            log_path = self.conf + ".serve.log"
            self.serve = self.env.spawn(
                [self.env.a.mirrord, "-c", self.conf, "serve"],
                stdout=subprocess.DEVNULL, stderr=open(log_path, "w"))
            for _ in range(100):
                if self.serve.poll() is not None:
                    break
                try:
                    st, body = self.get("/healthz")
                    if st == 200:
                        return
                except OSError:
                    pass
                time.sleep(0.1)
            if self.serve.poll() is None:
                self.serve.kill()
            self.serve.wait()
        raise RuntimeError("mirrord serve did not start: " +
                           open(self.conf + ".serve.log").read()[-500:])

    def stop_serve(self):
        if self.serve and self.serve.poll() is None:
            self.serve.terminate()
            self.serve.wait(timeout=15)
        self.serve = None

    def get(self, url):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            c.request("GET", url)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def fetch_sha(self, url):
        if self.serve is None or self.serve.poll() is not None:
            raise Fail("mirrord serve on '%s' died" % self.name)
        st, body = self.get(url)
        if st != 200:
            return "HTTP %d" % st
        return sha(body)

    # ---------------------------------------------------------- the model

    def record_snapshot(self, sid, gen):
        """Right after its commit: the bytes of every file of sid, over
        HTTP, must be those the manifest and upstream (generation gen)
        say; remembered."""
        show = self.json("snapshot", "show", "demo", sid)
        known = self.env.records.get(sid)
        if known is not None and norm_content(show) == known["content"]:
            # the same snapshot in a copy of a store: check a sample
            self.snaps[sid] = {k: dict(known[k])
                               for k in ("rel", "idx", "pool")}
            self.check_snapshots(random.Random(sid), npool=6, nidx=6,
                                 only=sid)
            return
        if norm_content(show) != self.env.ref[gen]:
            raise Fail("new snapshot %s differs from the uninterrupted sync"
                       " of generation %d:\n%s" % (sid, gen, content_diff(
                           self.env.ref[gen], norm_content(show))))
        rec = {"rel": {}, "idx": {}, "pool": {}}
        for s in show["suites"]:
            for f in s["files"]:
                url = "/demo/%s/dists/%s/%s" % (sid, s["name"], f["path"])
                kind = "rel" if f["path"] in RELEASE else "idx"
                rec[kind][url] = f["sha256"]
        for f in self.env.fixture[gen]["pool"]:
            rec["pool"]["/demo/%s/%s" % (sid, f["path"])] = f["sha256"]
        for kind in rec:
            for url, want in rec[kind].items():
                got = self.fetch_sha(url)
                if got != want:
                    raise Fail("new snapshot %s: %s serves %s, expected %s"
                               % (sid, url, got, want))
        self.snaps[sid] = rec
        self.env.records[sid] = dict(rec, content=norm_content(show))

    def check_snapshots(self, rng, npool=4, nidx=3, only=None):
        """Every remembered snapshot still serves the same bytes."""
        n = 0
        for sid in sorted(self.snaps):
            if only and sid != only:
                continue
            rec = self.snaps[sid]
            urls = list(rec["rel"].items())
            urls += rng.sample(sorted(rec["pool"].items()),
                               min(npool, len(rec["pool"])))
            urls += rng.sample(sorted(rec["idx"].items()),
                               min(nidx, len(rec["idx"])))
            for url, want in urls:
                got = self.fetch_sha(url)
                n += 1
                if got != want:
                    raise Fail("snapshot %s changed: %s serves %s, recorded "
                               "%s" % (sid, url, got, want))
        return n

    def channel_files(self, ch, target):
        files = {}
        for s in SUITES:
            for r in RELEASE:
                url = "/demo/%s/dists/%s/%s" % (ch, s, r)
                files[url] = self.fetch_sha(url)
        # an index of the channel is the target snapshot's
        rec = self.snaps.get(target)
        if rec:
            for url, want in sorted(rec["idx"].items())[:2]:
                curl = url.replace("/demo/%s/" % target, "/demo/%s/" % ch)
                got = self.fetch_sha(curl)
                if got != want:
                    raise Fail("channel %s (-> %s): %s serves %s, expected "
                               "%s" % (ch, target, curl, got, want))
        return files

    def observe(self, op=None, moving=None, want_target=None, gen=None,
                late=None):
        """After a command: snapshots and channels against the model.
        op: what ran ('sync', 'gc', 'promote', 'rollback', None = nothing
        may change); moving: the channel it may move; want_target: where
        promote may move it (None: any snapshot). late: (op, moving,
        want_target) of a command killed before this one, whose commit
        may show only now: LMDB readers trust the txnid in lock.mdb,
        which a writer killed between its meta page write and that update
        leaves behind while another process (serve) keeps the environment
        open, until the next write transaction repairs it."""
        ids = self.snapshot_ids()
        chans = self.channels()
        lop, lmoving, lwant = late or (None, None, None)
        for sid in sorted(self.snaps):
            if sid in ids:
                continue
            if op != "gc" and lop == "gc":
                self.late += 1
                log("late commit: snapshot %s dropped by the killed gc "
                    "shows only after %s" % (sid, op))
            elif op != "gc":
                raise Fail("snapshot %s vanished after %s" % (sid, op))
            if sid in chans.values():
                raise Fail("gc dropped snapshot %s, the target of a channel"
                           % sid)
            if ids and sid > ids[-1]:
                raise Fail("gc dropped snapshot %s, newer than latest" % sid)
            del self.snaps[sid]
        for sid in ids:
            if sid not in self.snaps:
                if op != "sync":
                    raise Fail("new snapshot %s after %s" % (sid, op))
                self.record_snapshot(sid, gen or self.env.gen)
        for ch in sorted(self.chans):
            if ch not in chans:
                raise Fail("channel %s vanished after %s" % (ch, op))
        for ch, target in sorted(chans.items()):
            old = self.chans.get(ch)
            if old and old["target"] == target:
                files = self.channel_files(ch, target)
                if files != old["files"]:
                    bad = [u for u in files if files[u] != old["files"][u]]
                    raise Fail("channel %s (-> %s, unmoved) serves other "
                               "bytes after %s: %s" % (ch, target, op, bad))
                continue
            if ch != moving and ch == lmoving:
                self.late += 1
                log("late commit: channel %s moved by the killed %s shows "
                    "only after %s" % (ch, lop, op))
                moving, want_target = lmoving, lwant
            if ch != moving:
                raise Fail("channel %s moved (%s -> %s) after %s" % (
                    ch, old and old["target"], target, op))
            if want_target and target != want_target:
                raise Fail("channel %s moved to %s, promote asked for %s" %
                           (ch, target, want_target))
            if target not in self.snaps:
                raise Fail("channel %s points at unknown snapshot %s" %
                           (ch, target))
            self.chans[ch] = {"target": target,
                              "files": self.channel_files(ch, target)}
        return ids, chans

    def fsck(self, what):
        rc, out, err = self.run("fsck")
        if rc != 0:
            raise Fail("fsck exited %d %s:\n%s%s" % (rc, what, out[-1500:],
                                                     err[-1500:]))
        for line in (out + err).splitlines():
            if "unreferenced blob files" in line:
                for w in line.split(","):
                    if "unreferenced" in w:
                        self.orphans = int(w.split()[0])

    def check_tmp(self, what):
        tmp = os.path.join(self.dir, "tmp")
        left = os.listdir(tmp) if os.path.isdir(tmp) else []
        if left:
            raise Fail("files left in tmp/ %s: %s" % (what, left[:5]))
        extra = set(os.listdir(self.dir)) - {"blobs", "tmp", "index", "lock",
                                            "lock.channels", "gc-swept",
                                            "signing-key.asc", "keyring.gpg",
                                            "adoption"}
        if extra:
            raise Fail("unexpected entries in the store %s: %s" %
                       (what, sorted(extra)))

    def recover(self, what, late=None):
        """The next uninterrupted sync: succeeds, cleans tmp/, and latest
        has the content of the reference."""
        rc, out, err = self.run("sync")
        if rc != 0:
            raise Fail("the sync after %s exited %d: %s" % (what, rc,
                                                           err.strip()[-800:]))
        self.check_tmp("after the sync following " + what)
        got = self.latest_content()
        if got != self.env.ref[self.env.gen]:
            raise Fail("after %s, the next sync's snapshot differs from the "
                       "uninterrupted one:\n%s" % (what, content_diff(
                           self.env.ref[self.env.gen], got)))
        self.observe("sync", late=late)


# -------------------------------------------------------------- the phases

def setup(env):
    """Upstream at generation 1; the reference store synced; the store
    under test a copy of it, with a signing key, served; a pristine copy
    of that for the fault cases. Returns the store and the first guesses
    of each operation's duration (kill delays are drawn up to 1.2 times
    these; an operation that finishes first raises its guess)."""
    env.bump()
    env.start_upstream()
    env.set_delay(0.01)
    ref = Store(env, "ref", keep="last 1000")
    env.refstore = ref
    t0 = time.time()
    ref_sync(env)
    durs = {"sync_change": time.time() - t0, "sync_nochange": 0.4,
            "promote": 2.0, "rollback": 2.0, "gc": 0.3}
    main = Store(env, "store")
    shutil.copytree(ref.dir, main.dir, symlinks=True)
    main.must("key", "export")            # generates the signing key
    shutil.copytree(main.dir, os.path.join(env.t, "pristine"), symlinks=True)
    main.start_serve()
    main.observe("sync")
    env.set_delay(0)
    return main, durs


def ref_sync(env):
    """The reference: an uninterrupted sync of the current upstream."""
    ref = env.refstore
    rc, out, err = ref.run("sync")
    if rc != 0:
        raise RuntimeError("reference sync failed: " + err)
    env.ref[env.gen] = ref.latest_content()


def kill_loop(env, st, durs, rng, a, deadline):
    ops = ["sync"] * 8 + ["promote"] * 5 + ["rollback"] * 3 + ["gc"] * 4
    stats = {"killed": 0, "finished": 0, "iters": 0}
    srng = random.Random("%s:sample" % a.seed)   # the sampled files
    for i in range(1, a.iters + 1):
        if time.time() > deadline:
            log("time budget reached after %d iterations" % (i - 1))
            break
        op = rng.choice(ops)
        bump = op == "sync" and env.gen < MAX_GEN and rng.random() < a.churn
        frac = rng.random()
        args = [op]
        moving = want = None
        if op in ("promote", "rollback"):
            moving = rng.choice(["prod", "staging"])
        if op == "promote":
            ids = sorted(st.snaps)
            ref = rng.choice(ids + ["latest"])
            want = ids[-1] if ref == "latest" else ref
            args = ["promote", "demo", ref, moving]
        elif op == "rollback":
            args = ["rollback", "demo", moving]
        if bump:
            env.bump()
            ref_sync(env)
        key = "sync_change" if bump else op
        if op == "sync" and not bump:
            key = "sync_nochange"
        delay = frac * durs[key] * 1.2
        ctx = "seed %s iteration %d: %s (delay %.0f ms%s)" % (
            a.seed, i, " ".join(args), delay * 1000,
            ", upstream generation %d" % env.gen if bump else "")
        try:
            how = kill_at(env, st, args, delay)
            stats["killed" if how == "killed" else "finished"] += 1
            if how != "killed":
                durs[key] = max(durs[key] * 0.8, how)
            st.fsck("after the kill")
            st.observe(op, moving, want)
            st.check_snapshots(srng)
            st.recover("the kill", late=(op, moving, want)
                       if how == "killed" else None)
            st.fsck("after the next sync")
        except Fail as e:
            raise Fail("%s\n  at %s\n  replay: CRASH_SEED=%s CRASH_ITERS=%d"
                       % (e, ctx, a.seed, i))
        stats["iters"] = i
        if i % 10 == 0 or a.verbose:
            log("iteration %d: %s, %d snapshots, %d orphan blobs, "
                "generation %d" % (i, ctx.split(": ", 1)[1], len(st.snaps),
                                   st.orphans, env.gen))
    return stats


def kill_at(env, st, args, delay):
    """Runs mirrord ARGS, kill -9 after delay seconds. Returns "killed" or
    the run time of a command that finished first (which must have exited
    0, or 1 with an error line for promote/rollback)."""
    env_ = dict(os.environ)
    env_.pop("MIRRORD_FAULT", None)
    t0 = time.time()
    p = subprocess.Popen([st.bin, "-c", st.conf, "-q"] + args,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env_)
    try:
        p.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        pass
    if p.poll() is None:
        p.kill()
        p.communicate(timeout=60)
        env.killed_pids.append(p.pid)
        return "killed"
    out, err = p.communicate()
    took = time.time() - t0
    err = err.decode(errors="replace")
    if p.returncode == 0:
        return took
    if p.returncode == 1 and args[0] in ("promote", "rollback") and \
            "error:" in err:
        return took
    raise Fail("uninterrupted '%s' exited %d: %s" % (" ".join(args),
                                                    p.returncode, err[-800:]))


# -------------------------------------------------------------- faults

# (op, point, [N...], errno): a series stops at the first N not reached.
FULL_PLAN = [
    ("sync", "write", [1, 2, 3, 5, 10, 20, 40, 80], "EIO"),
    ("sync", "write", [4, 30], "ENOSPC"),
    ("sync", "rename", [1, 2, 3, 5, 10, 20, 40, 80], "EIO"),
    ("sync", "syncfs", [1, 2, 3], "EIO"),
    ("sync", "commit", [1, 2, 3, 4, 5], "EIO"),
    ("sync", "commit", [2], "ENOSPC"),
    ("promote", "write", [1, 2, 3, 5, 8], "EIO"),
    ("promote", "fsync", [1, 2, 3, 5, 8], "EIO"),
    ("promote", "rename", [1, 2, 3, 5, 8], "EIO"),
    ("promote", "syncfs", [1, 2], "EIO"),
    ("promote", "commit", [1, 2, 3, 4], "EIO"),
    ("gc", "commit", [1, 2, 3], "EIO"),
]
QUICK_PLAN = [                 # one case per point
    ("sync", "write", [3], "ENOSPC"),
    ("sync", "rename", [2], "EIO"),
    ("sync", "syncfs", [1], "EIO"),
    ("sync", "commit", [1], "EIO"),
    ("promote", "fsync", [1], "EIO"),
]


def case_store(env, n, bin=None, keep="last 3", base=None):
    """A copy of the pristine store (one snapshot of generation 1) served
    by its own `mirrord serve`."""
    name = "case%d" % n
    shutil.copytree(base or os.path.join(env.t, "pristine"),
                    os.path.join(env.t, name), symlinks=True)
    st = Store(env, name, keep=keep, bin=bin)
    st.start_serve()
    st.observe("sync", gen=1)
    return st


def expect_clean_failure(st, rc, out, err, args, errname):
    """A command that met an injected fault: exit 1, an error line naming
    the failure, nothing on stdout. Returns the error text."""
    if rc != 1:
        raise Fail("'%s' exited %d (a crash?): %s" % (" ".join(args), rc,
                                                      err[-800:]))
    errl = [l for l in err.splitlines() if "error:" in l]
    if not errl:
        raise Fail("'%s' failed without an error line: %s" % (
            " ".join(args), err[-800:]))
    if STRERROR[errname] not in "\n".join(errl):
        raise Fail("the error does not name the failure ('%s'): %s" %
                   (STRERROR[errname], errl))
    if out.strip():
        raise Fail("a failed '%s' printed on stdout: %s" % (" ".join(args),
                                                            out))
    return errl[-1].split("error: ", 1)[-1][:150]


# The sample's chain: one store, each sync fails at a later point of the
# pass than the one before (the blobs a failed pass recorded are not
# fetched again), so one injection per point needs one store and one
# recovery; then a promote.
CHAIN = [("sync", "write:3:ENOSPC"), ("sync", "rename:2:EIO"),
         ("sync", "syncfs:1:EIO"), ("sync", "commit:1:EIO"),
         ("promote", "fsync:1:EIO")]


def fault_chain(env, a, rng):
    st = case_store(env, 1, bin=a.faults_bin)
    done = []
    try:
        for op, spec in CHAIN:
            errname = spec.rsplit(":", 1)[1]
            if op == "promote":
                st.recover("the injected faults")
                args = ["promote", "demo", sorted(st.snaps)[0], "fault"]
            else:
                args = ["sync"]
            try:
                rc, out, err = st.run(*args, fault=spec)
                if "fault: injected" not in err:
                    raise Fail("the fault was never injected (exit %d): %s"
                               % (rc, err[-500:]))
                msg = expect_clean_failure(st, rc, out, err, args, errname)
                st.fsck("after an injected fault")
                st.observe(None)
                st.check_snapshots(rng, npool=1000, nidx=1000)
            except Fail as e:
                raise Fail("%s\n  at fault case %s MIRRORD_FAULT=%s (seed "
                           "%s)" % (e, op, spec, a.seed))
            done.append((op, spec, msg))
            log("fault %s MIRRORD_FAULT=%s: failed cleanly: %s" % (
                op, spec, msg))
        st.must(*args)
        st.observe("promote", "fault", args[2])
        st.check_tmp("after the runs without fault")
        st.fsck("after the runs without fault")
        return done
    finally:
        st.stop_serve()
        shutil.rmtree(st.dir, ignore_errors=True)


def fault_cases(env, a, rng, deadline):
    if a.sample:
        return fault_chain(env, a, rng)
    plan = QUICK_PLAN if a.faults == "quick" else FULL_PLAN
    done = []
    n = 0
    for op, point, ns, errname in plan:
        for nth in ns:
            if time.time() > deadline:
                log("time budget reached: fault cases stop")
                return done
            n += 1
            spec = "%s:%d:%s" % (point, nth, errname)
            try:
                res = fault_case(env, a, rng, n, op, spec, errname)
            except Fail as e:
                raise Fail("%s\n  at fault case %s MIRRORD_FAULT=%s (seed %s)"
                           % (e, op, spec, a.seed))
            done.append((op, spec, res))
            log("fault %s MIRRORD_FAULT=%s: %s" % (op, spec, res))
            if res == "not reached":
                break
    return done


def fault_case(env, a, rng, n, op, spec, errname):
    st = case_store(env, n, bin=a.faults_bin,
                    keep="last 1" if op == "gc" else "last 3")
    try:
        if op == "sync":
            args = ["sync"]
        else:
            st.recover("nothing")         # two snapshots: S1, S2
            if op == "promote":
                args = ["promote", "demo", sorted(st.snaps)[0], "fault"]
            else:
                args = ["gc"]
        rc, out, err = st.run(*args, fault=spec)
        if "fault: injected" not in err:
            if rc != 0:
                raise Fail("'%s' without an injection exited %d: %s" % (
                    " ".join(args), rc, err[-500:]))
            return "not reached"
        if rc == 0:
            # tolerated (e.g. retried): the result must be complete
            res = "tolerated (exit 0)"
            st.fsck("after a tolerated fault")
            if op == "sync":
                st.check_tmp("after a tolerated fault")
                if st.latest_content() != env.ref[env.gen]:
                    raise Fail("a sync that tolerated a fault made a "
                               "snapshot unlike the reference")
                st.observe("sync")
            elif op == "promote":
                st.observe("promote", "fault", args[2])
            else:
                st.observe("gc")
        else:
            res = "failed cleanly: " + expect_clean_failure(
                st, rc, out, err, args, errname)
            st.fsck("after an injected fault")
            st.observe(None)              # nothing may have changed
            st.check_snapshots(rng, npool=1000, nidx=1000)
        # the next run, without fault
        if op == "sync":
            st.recover("an injected fault")
        elif op == "promote":
            rc2, out2, err2 = st.run(*args)
            if rc2 != 0 and not (rc == 0 and "already at" in err2):
                raise Fail("promote after the fault exited %d: %s" % (
                    rc2, err2[-500:]))
            st.observe("promote", "fault", args[2])
            st.recover("an injected fault")
        else:
            st.must("gc")
            st.observe("gc")
            if len(st.snaps) != 1:
                raise Fail("gc after the fault kept %d snapshots, "
                           "expected 1" % len(st.snaps))
            st.recover("an injected fault")
        st.fsck("after the next run")
        return res
    finally:
        st.stop_serve()
        shutil.rmtree(st.dir, ignore_errors=True)


# -------------------------------------------------------------- kill points

# MIRRORD_FAULT=POINT:N:KILL: SIGKILL just before the Nth call of POINT,
# a crash at an exact point of the write path. "key" is `key export` on a
# store without a signing key yet (first use: generated, then written with
# write_file_atomic: fsync #3 is the key file's).
KILL_FULL = [
    ("sync", "write", [1, 2, 3, 5, 10]),
    ("sync", "rename", [1, 2, 3, 5, 10]),
    ("sync", "syncfs", [1, 2]),
    ("sync", "commit", [1, 2]),
    ("promote", "rename", [3, 4]),
    ("promote", "syncfs", [1]),
    ("promote", "commit", [1]),
    ("gc", "commit", [1]),
    ("key", "write", [3]),
    ("key", "fsync", [1, 2, 3]),
    ("key", "rename", [3]),
]
KILL_QUICK = [("key", "fsync", [3])]


def kill_points(env, a, rng, deadline):
    plan = KILL_QUICK if a.faults == "quick" or a.sample else KILL_FULL
    done = []
    n = 100
    for op, point, ns in plan:
        for nth in ns:
            if time.time() > deadline:
                log("time budget reached: kill points stop")
                return done
            n += 1
            spec = "%s:%d:KILL" % (point, nth)
            try:
                res = kill_point(env, a, rng, n, op, spec)
            except Fail as e:
                raise Fail("%s\n  at kill point %s MIRRORD_FAULT=%s (seed %s)"
                           % (e, op, spec, a.seed))
            done.append((op, spec, res))
            log("kill point %s MIRRORD_FAULT=%s: %s" % (op, spec, res))
            if res == "not reached":
                break
    return done


def run_kill_point(st, args, spec):
    """mirrord ARGS with MIRRORD_FAULT=SPEC (POINT:N:KILL): "killed", or
    "not reached" if it finished (with status 0) before the Nth call."""
    rc, out, err = st.run(*args, fault=spec)
    if "fault: killing" not in err:
        if rc != 0:
            raise Fail("'%s' exited %d: %s" % (" ".join(args), rc,
                                               err[-500:]))
        return "not reached"
    if rc != -signal.SIGKILL:
        raise Fail("'%s' was not killed (exit %d)" % (" ".join(args), rc))
    return "killed"


def kill_point(env, a, rng, n, op, spec):
    if op == "key":
        name = "case%d" % n
        d = os.path.join(env.t, name)
        shutil.copytree(os.path.join(env.t, "pristine"), d, symlinks=True)
        for f in ("signing-key.asc", "keyring.gpg"):
            if os.path.exists(os.path.join(d, f)):
                os.unlink(os.path.join(d, f))
        st = Store(env, name, bin=a.faults_bin)
        try:
            rc, out, err = st.run("key", "export", fault=spec)
            if "fault: killing" not in err:
                if rc != 0:
                    raise Fail("key export exited %d: %s" % (rc, err[-500:]))
                return "not reached"
            if rc != -signal.SIGKILL:
                raise Fail("key export was not killed (exit %d)" % rc)
            key1 = st.must("key", "export")
            if st.must("key", "export") != key1:
                raise Fail("the signing key changed between two exports")
            st.check_tmp("after a kill in key generation and the next use")
            st.fsck("after a kill in key generation")
            return "killed; next use generated the key, nothing left over"
        finally:
            shutil.rmtree(d, ignore_errors=True)
    st = case_store(env, n, bin=a.faults_bin,
                    keep="last 1" if op == "gc" else "last 3")
    try:
        want = None
        if op == "sync":
            args = ["sync"]
        else:
            st.recover("nothing")
            if op == "promote":
                want = sorted(st.snaps)[0]
                args = ["promote", "demo", want, "fault"]
            else:
                args = ["gc"]
        if run_kill_point(st, args, spec) == "not reached":
            return "not reached"
        st.fsck("after the kill")
        st.observe(op, "fault", want)
        st.check_snapshots(rng, npool=1000, nidx=1000)
        st.recover("the kill")
        if op == "promote":
            rc2, out2, err2 = st.run(*args)
            if rc2 != 0 and "already at" not in err2:
                raise Fail("promote after the kill exited %d: %s" % (
                    rc2, err2[-500:]))
            st.observe("promote", "fault", want)
        elif op == "gc":
            st.must("gc")
            st.observe("gc")
        st.check_tmp("after the next runs")
        st.fsck("after the next runs")
        return "killed; checks passed"
    finally:
        st.stop_serve()
        shutil.rmtree(st.dir, ignore_errors=True)


# -------------------------------------------------------------- full disk

def fulldisk(env, a, rng):
    res = []
    specs = ["write:1+:ENOSPC", "write:6+:ENOSPC", "commit:1+:ENOSPC",
             "rename:3+:ENOSPC", "syncfs:1+:ENOSPC"]
    if a.sample:
        # one case: a real full tmpfs if we may mount one, else injected
        if a.fulldisk == "all":
            r = full_tmpfs(env, a, rng)
            log("full disk, tmpfs: " + r)
            if not r.startswith("skipped"):
                return [("tmpfs", r)]
        specs = specs[1:2]
    if a.faults_bin:
        for spec in specs:
            res.append(("injected " + spec,
                        full_injected(env, a, rng, spec)))
            log("full disk, injected %s: %s" % (spec, res[-1][1]))
    else:
        log("skipped: injected full disk (no faults binary)")
    if a.fulldisk == "all" and not a.sample:
        r = full_tmpfs(env, a, rng)
        res.append(("tmpfs", r))
        log("full disk, tmpfs: " + r)
    return res


def expect_nospace(st, rc, out, err, what):
    if rc != 1:
        raise Fail("sync on a full disk (%s) exited %d, expected 1: %s" %
                   (what, rc, err[-800:]))
    errl = [l for l in err.splitlines() if "error:" in l]
    if not any(STRERROR["ENOSPC"] in l for l in errl):
        raise Fail("sync on a full disk (%s): no error line names '%s': %s"
                   % (what, STRERROR["ENOSPC"], err[-800:]))
    if out.strip():
        raise Fail("a failed sync printed a snapshot: " + out)
    return errl[-1].split("error: ", 1)[-1][:150]


def served_latest(st):
    return {u: st.fetch_sha(u) for u in
            ["/demo/latest/dists/%s/%s" % (s, r)
             for s in SUITES for r in RELEASE]}


def full_injected(env, a, rng, spec):
    st = case_store(env, 900 + len(spec) + rng.randrange(1000),
                    bin=a.faults_bin)
    try:
        before = served_latest(st)
        rc, out, err = st.run("sync", fault=spec)
        if "fault: injected" not in err:
            raise Fail("%s was never injected" % spec)
        msg = expect_nospace(st, rc, out, err, spec)
        st.observe(None)
        st.fsck("after a full disk")
        st.check_snapshots(rng, npool=1000, nidx=1000)
        if served_latest(st) != before:
            raise Fail("latest serves other bytes after a failed sync")
        st.recover("a full disk (fault removed)")
        st.fsck("after space was freed")
        return "failed cleanly (%s); next sync ok" % msg
    finally:
        st.stop_serve()
        shutil.rmtree(st.dir, ignore_errors=True)


def full_tmpfs(env, a, rng):
    mnt = os.path.join(env.t, "tmpfs")
    os.mkdir(mnt)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs",
                        mnt], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    if r.returncode != 0:
        return "skipped: mount -t tmpfs not permitted here (%s)" % \
            r.stdout.decode().strip()
    env.mounts.append(mnt)
    st = None
    try:
        shutil.copytree(os.path.join(env.t, "pristine"),
                        os.path.join(mnt, "store"), symlinks=True)
        st = Store(env, "tmpfs-store", dir=os.path.join(mnt, "store"))
        st.start_serve()
        st.observe("sync", gen=1)
        before = served_latest(st)
        # fill the file system to the last block
        filler = os.path.join(mnt, "filler")
        with open(filler, "wb", buffering=0) as f:
            chunk = b"\0" * 65536
            try:
                while True:
                    f.write(chunk)
                    f.flush()
            except OSError:
                pass
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError:
                pass
            # room for the lock, the verifier's home and a few blobs: the
            # sync starts, downloads, and runs out of space midway
            f.truncate(max(0, f.tell() - a.tmpfs_room * 1024))
        rc, out, err = st.run("sync")
        msg = expect_nospace(st, rc, out, err, "tmpfs")
        st.observe(None)
        st.fsck("on a full tmpfs")
        st.check_snapshots(rng, npool=1000, nidx=1000)
        if served_latest(st) != before:
            raise Fail("latest serves other bytes after a failed sync")
        # space freed: the file system grows
        r = subprocess.run(["mount", "-o", "remount,size=48m", mnt],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            os.unlink(filler)
            how = "filler removed"
        else:
            how = "remount,size=48m"
        st.recover("a full tmpfs (%s)" % how)
        st.fsck("after space was freed")
        return "failed cleanly (%s); after %s the next sync ok" % (msg, how)
    finally:
        if st:
            st.stop_serve()
        subprocess.call(["umount", mnt])
        env.mounts.remove(mnt)


# -------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirrord", required=True)
    ap.add_argument("--faults-bin")
    ap.add_argument("--seed", default=os.environ.get("CRASH_SEED"))
    ap.add_argument("--iters", type=int,
                    default=int(os.environ.get("CRASH_ITERS", "200")))
    ap.add_argument("--churn", type=float, default=0.5,
                    help="chance that a sync follows a new generation")
    ap.add_argument("--faults", choices=["none", "quick", "full"],
                    default="full")
    ap.add_argument("--fulldisk", choices=["none", "injected", "all"],
                    default="all")
    ap.add_argument("--budget", type=float, default=0,
                    help="seconds; stop starting work after this")
    ap.add_argument("--tmpfs-room", type=int, default=48,
                    help="KiB left free on the full tmpfs")
    ap.add_argument("--sample", action="store_true",
                    help="the bounded sample of make check: one fault case "
                    "per point, one full-disk case")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    a.mirrord = os.path.abspath(a.mirrord)
    if a.faults_bin:
        a.faults_bin = os.path.abspath(a.faults_bin)
    if not a.seed:
        a.seed = str(int.from_bytes(os.urandom(4), "big"))
    rng = random.Random(a.seed)
    start = time.time()
    deadline = start + a.budget if a.budget else float("inf")
    log("seed %s, %d iterations, faults %s, full disk %s%s" % (
        a.seed, a.iters, a.faults if a.faults_bin else "none (no binary)",
        a.fulldisk, ", sample" if a.sample else ""))
    env = Env(a)

    def body():
        main_st, durs = setup(env)
        log("setup (%.0f s): %s" % (time.time() - start, ", ".join("%s %.0f ms" % (k, v * 1000)
                                    for k, v in sorted(durs.items()))))
        # Upstream moves on: the fault cases sync generation 2 over a
        # copy of the store at generation 1; the kill loop follows.
        env.bump()
        ref_sync(env)
        if a.faults != "none":
            if a.faults_bin:
                t0 = time.time()
                cases = fault_cases(env, a, rng, deadline)
                log("fault cases: %d run in %.0f s" % (len(cases),
                                                      time.time() - t0))
                t0 = time.time()
                kills = kill_points(env, a, rng, deadline)
                log("kill points: %d run in %.0f s" % (len(kills),
                                                      time.time() - t0))
            else:
                log("skipped: fault cases (no faults binary: set "
                    "MIRRORD_FAULTS_BIN)")
        if a.fulldisk != "none":
            t0 = time.time()
            fulldisk(env, a, rng)
            log("full disk: %.0f s" % (time.time() - t0))
        env.set_delay(0.01)
        t0 = time.time()
        stats = kill_loop(env, main_st, durs, rng, a, deadline)
        log("kill loop: %d iterations (%d killed, %d finished first), "
            "%d snapshots live, %d orphan blob files, %d late commits, "
            "generation %d, %.0f s" % (
                stats["iters"], stats["killed"], stats["finished"],
                len(main_st.snaps), main_st.orphans, main_st.late, env.gen,
                time.time() - t0))
        left = sum(1 for p in env.killed_pids if env.signer_homes(p))
        if left:
            log("note: %d signer home(s) of killed processes remain in /tmp"
                % left)
        main_st.stop_serve()
        log("passed in %.0f s (seed %s)" % (time.time() - start, a.seed))
    return guarded(env, a, body)


def guarded(env, a, body):
    """Runs body(); returns the exit status: 0, 1 on a failed check, 2 on
    a setup error. env is cleaned up in every case."""
    try:
        body()
        return 0
    except Fail as e:
        print("FAIL: %s" % e, flush=True)
        return 1
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        print("ERROR: %s (seed %s)" % (e, a.seed), flush=True)
        return 2
    finally:
        env.cleanup()


def run_main(main_fn):
    """The scripts' entry point: SIGTERM exits 143 (cleanups run)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main_fn())


if __name__ == "__main__":
    run_main(main)
