#!/usr/bin/env python3
"""compose.py: kill -9 during a partial sync, `patch` (issue 15) and `phase`
(issue 16).

    compose.py --mirrord BIN [--faults-bin BIN] [--seed S] [--iters N]
               [--budget SECONDS] [--keep]

The crash suite's checks (crash.py: its Env, Store and kill_at are reused)
for composed snapshots, against the compose fixture (tests/fixtures/
mkcompose.py) served by tests/e2e/upstream.py with a little latency:

1. Partial sync (a mirror with Include:, the fixture's 'partial' roots),
   upstream at generation 2, from two starting stores: an empty one (with
   its signing key) and one holding the partial snapshot of generation 1.
2. patch: a whole mirror with production -> the sync of generation 1 and
   latest = generation 2; `patch demo production --from latest sec-a`.
3. phase: the same store; `phase demo production latest 50` (a composed
   snapshot of kind phase, then the move).

Each case is killed -9 at a random delay (--iters per operation, the delay
drawn up to 1.2 times an uninterrupted run) and, with --faults-bin (a
-DMIRRORD_FAULTS build), just before the Nth write, fsync, rename, syncfs
and commit (MIRRORD_FAULT=POINT:N:KILL). After the kill: `fsck` exits 0;
the snapshots are the old ones plus at most one new one; a new snapshot is
complete: every Release verifies (gpgv, mirrord's key or upstream's), every
listed index it serves and every pool file its Packages and Sources name
match their hashes, and its content (the entries of every Packages and
Sources) is that of the same operation run uninterrupted in another copy
of the store; production is at its old target or at that new snapshot,
never elsewhere, and what it serves is its target's content; every older
snapshot serves the bytes it served before, byte for byte. Then the
operation runs again uninterrupted (for patch and phase: only if
production did not move) and must succeed, leave tmp/ empty, and give the reference content.
Exit status: 0 passed, 1 a check failed, 2 a setup error.
"""

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True     # no __pycache__ in the tree
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import crash  # noqa: E402
import composed  # noqa: E402
from crash import Fail, log  # noqa: E402

MKCOMPOSE = os.path.join(ROOT, "tests", "fixtures", "mkcompose.py")
SUITES = ("stable", "stable-security")
PATCH = ["patch", "demo", "production", "--from", "latest", "sec-a"]
PHASE = ["phase", "demo", "production", "latest", "50"]
# Each operation: its arguments, and whether it moves production.
OPS = {"partial": ["sync"], "patch": PATCH, "phase": PHASE}
POINTS = ["write", "fsync", "rename", "syncfs", "commit"]


class Env(crash.Env):
    """crash.py's Env with the compose fixture as the upstream."""

    FIXTURE = MKCOMPOSE
    FIXTURE_ARGS = ["--no-closures"]


class Store(crash.Store):
    """A store whose one mirror 'demo' is partial (include) or whole."""

    def __init__(self, env, name, include=None, **kw):
        self.include = include
        self.keyring = None
        super().__init__(env, name, **kw)

    def write_conf(self, listen=None):
        with open(self.conf, "w") as f:
            f.write("Store: %s\nRetries: 2\nStall-Timeout: 5\n"
                    "Connect-Timeout: 5\nKeep-Snapshots: last 100\n"
                    % self.dir)
            if listen:
                f.write("Listen: 127.0.0.1:%d\n" % listen)
            f.write("\nName: demo\nTypes: deb deb-src\n"
                    "URIs: http://127.0.0.1:%d/debian\n"
                    "Suites: %s\nComponents: main\n"
                    "Architectures: amd64 arm64\nSigned-By: %s\n"
                    % (self.env.upstream_port, " ".join(SUITES),
                       self.env.key))
            if self.include:
                f.write("Include: %s\n" % self.include)

    def keys(self):
        """A keyring with mirrord's key and upstream's."""
        if self.keyring is None:
            rc, out, err = self.run_bytes("key", "export")
            if rc != 0:
                raise Fail("key export: " + err)
            self.keyring = os.path.join(self.env.t, self.name + ".keys.gpg")
            with open(self.keyring, "wb") as f:
                f.write(out + open(self.env.key, "rb").read())
        return self.keyring

    def run_bytes(self, *args):
        r = subprocess.run([self.bin, "-c", self.conf] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        return r.returncode, r.stdout, r.stderr.decode(errors="replace")

    def get_ok(self, url):
        st, body = self.get(url)
        if st != 200:
            raise Fail("%s: HTTP %d" % (url, st))
        return body

    def served(self, ref):
        """(content, {url: sha256}) of what /demo/REF serves: content is
        {SUITE/FILE: sorted entries} of its Packages and Sources. Every
        Release must verify and every file match its hash."""
        content, files = {}, {}
        pool = {}
        for suite in SUITES:
            base = "/demo/%s/dists/%s/" % (ref, suite)
            inrel = self.get_ok(base + "InRelease")
            files[base + "InRelease"] = crash.sha(inrel)
            text = self.verify(inrel, ref, suite)
            listed = composed.release_files(composed.paragraphs(text)[0])
            for path, (h, size) in sorted(listed.items()):
                st, body = self.get(base + path)
                if st == 404:
                    continue
                if st != 200 or crash.sha(body) != h:
                    raise Fail("%s%s: HTTP %d, not its Release hash" % (
                        base, path, st))
                files[base + path] = h
                if path.rsplit(".", 1)[0].endswith(("Packages", "Sources")):
                    key = "%s/%s" % (suite, path.rsplit(".", 1)[0]
                                     if path.endswith((".xz", ".gz"))
                                     else path)
                    paras = composed.paragraphs(composed.decompress(
                        path, body).decode())
                    content[key] = sorted(
                        "%s %s %s" % (p["Package"], p["Version"],
                                      p.get("Architecture", "")) for p in paras)
                    for p in paras:
                        if "Filename" in p:
                            pool[p["Filename"]] = p["SHA256"]
        for path, h in sorted(pool.items()):
            url = "/demo/%s/%s" % (ref, path)
            if self.fetch_sha(url) != h:
                raise Fail("%s does not serve its Packages hash" % url)
            files[url] = h
        return content, files

    def verify(self, inrel, ref, suite):
        with tempfile.TemporaryDirectory(dir=self.env.t) as d:
            p = os.path.join(d, "InRelease")
            open(p, "wb").write(inrel)
            r = subprocess.run(["gpgv", "--keyring", self.keys(), "--output",
                                os.path.join(d, "out"), p],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if r.returncode != 0:
                raise Fail("/demo/%s/dists/%s/InRelease does not verify: %s"
                           % (ref, suite, r.stdout.decode()[-300:]))
            return open(os.path.join(d, "out")).read()

    def target(self, channel):
        return self.channels().get(channel)


def check_after(st, old, want, moved_ok):
    """After a kill (or a finished run): fsck, the snapshots, the channel.
    old: {id: files} of the snapshots before; want: the reference content
    of the operation's new snapshot. Returns the new snapshot's ID or None."""
    st.fsck("after the kill")
    ids = st.snapshot_ids()
    new = [i for i in ids if i not in old]
    gone = [i for i in old if i not in ids]
    if gone:
        raise Fail("snapshots vanished: %s" % gone)
    if len(new) > 1:
        raise Fail("more than one new snapshot: %s" % new)
    for sid, files in sorted(old.items()):
        bad = [u for u in sorted(files) if st.fetch_sha(u) != files[u]]
        if bad:
            raise Fail("older snapshot %s serves other bytes: %s" % (
                sid, bad[:5]))
    if new:
        content, _ = st.served(new[0])
        if content != want:
            raise Fail("new snapshot %s is not what the uninterrupted run "
                       "makes:\n%s" % (new[0], crash.content_diff(
                           want, content)))
    if moved_ok is not None:
        t = st.target("production")
        if t != moved_ok[0] and not (new and t == new[0]):
            raise Fail("production -> %s: neither its old target %s nor the "
                       "new snapshot %s" % (t, moved_ok[0], new))
        if t != moved_ok[0]:
            content, _ = st.served("production")
            if content != want:
                raise Fail("production serves other indices than its "
                           "target %s" % t)
    return new[0] if new else None


def case(env, a, rng, kind, pristine, old, want, how):
    """One kill: kind 'partial', 'patch' or 'phase'; how = ('delay', s) or
    ('fault', spec). Returns a one-line result."""
    name = "case-%s-%d" % (kind, rng.randrange(1 << 30))
    shutil.copytree(pristine, os.path.join(env.t, name), symlinks=True)
    st = Store(env, name, include=env.include if kind == "partial" else None,
               bin=a.faults_bin if how[0] == "fault" else None)
    args = list(OPS[kind])
    try:
        st.start_serve()
        if how[0] == "delay":
            res = crash.kill_at(env, st, args, how[1])
            res = "killed" if res == "killed" else "finished (%.2f s)" % res
        else:
            res = crash.run_kill_point(st, args, how[1])
            if res == "not reached":
                return res
        moved = (env.s1,) if kind != "partial" else None
        new = check_after(st, old, want, moved)
        # the next uninterrupted run
        if kind == "partial" or st.target("production") == env.s1:
            rc, out, err = st.run(*args)
            if rc != 0 and not (new and kind == "partial"):
                raise Fail("'%s' after the kill exited %d: %s" % (
                    " ".join(args), rc, err[-500:]))
        st.check_tmp("after the next run")
        st.fsck("after the next run")
        ref = "latest" if kind == "partial" else "production"
        if st.served(ref)[0] != want:
            raise Fail("after the kill and a new run, %s is not the "
                       "reference" % ref)
        return "%s; %s" % (res, "new snapshot complete" if new else
                           "nothing new was visible")
    finally:
        st.stop_serve()
        if not a.keep:
            shutil.rmtree(st.dir, ignore_errors=True)


def setup(env, a):
    """The upstream (gen 1, then 2), the pristine stores, the references."""
    env.bump()
    env.start_upstream()
    env.set_delay(0.005)    # kills land mid-transfer
    env.include = ("deep-app alt-* webapp needs-vapi script-tool mf-user "
                   "binnmu-bin twobin priority:required")
    p = {}
    p["empty"] = Store(env, "p-empty", include=env.include)
    p["empty"].must("key", "export")
    p["gen1"] = Store(env, "p-gen1", include=env.include)
    p["gen1"].must("sync")
    p["full"] = Store(env, "p-full")
    p["full"].must("sync")
    env.s1 = p["full"].snapshot_ids()[-1]
    p["full"].must("promote", "demo", env.s1, "production")
    env.bump()
    time.sleep(1)           # snapshot IDs are seconds
    p["full"].must("sync")
    old = {}
    for k, st in p.items():
        st.start_serve()
        old[k] = {sid: st.served(sid)[1] for sid in st.snapshot_ids()}
        st.stop_serve()
    refs = {}
    for kind, base in (("partial", "empty"), ("patch", "full"),
                       ("phase", "full")):
        d = os.path.join(env.t, "ref-" + kind)
        shutil.copytree(p[base].dir, d, symlinks=True)
        st = Store(env, "ref-" + kind,
                   include=env.include if kind == "partial" else None)
        t0 = time.time()
        st.must(*OPS[kind])
        refs[kind + "_secs"] = time.time() - t0
        st.start_serve()
        refs[kind] = st.served("latest" if kind == "partial"
                               else "production")[0]
        st.stop_serve()
    return p, old, refs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirrord", required=True)
    ap.add_argument("--faults-bin")
    ap.add_argument("--seed", default=os.environ.get("CRASH_SEED"))
    ap.add_argument("--iters", type=int, default=20,
                    help="timed kills per operation")
    ap.add_argument("--budget", type=float, default=0)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    a.mirrord = os.path.abspath(a.mirrord)
    a.faults_bin = a.faults_bin and os.path.abspath(a.faults_bin)
    a.seed = a.seed or str(int.from_bytes(os.urandom(4), "big"))
    rng = random.Random(a.seed)
    start = time.time()
    deadline = start + a.budget if a.budget else float("inf")
    log("compose: seed %s, %d timed kills per operation, kill points %s" % (
        a.seed, a.iters, "yes" if a.faults_bin else "no (no faults binary)"))
    env = Env(a)

    def body():
        p, old, refs = setup(env, a)
        plan = []
        for i in range(a.iters):
            plan.append(("partial", rng.choice(["empty", "gen1"]),
                         ("delay", rng.random() * 1.2 * refs["partial_secs"])))
            for kind in ("patch", "phase"):
                plan.append((kind, "full", ("delay", rng.random() * 1.2 *
                                            refs[kind + "_secs"])))
        if a.faults_bin:
            for kind, base in (("partial", "gen1"), ("patch", "full"),
                               ("phase", "full")):
                for point in POINTS:
                    for n in (1, 2, 3, 5, 8, 13, 21, 34):
                        plan.append((kind, base, ("fault", "%s:%d:KILL" % (
                            point, n))))
        stop = set()
        n = 0
        for kind, base, how in plan:
            tag = (kind, how[1].split(":")[0]) if how[0] == "fault" else None
            if tag in stop:
                continue
            if time.time() > deadline:
                log("time budget reached")
                break
            try:
                res = case(env, a, rng, kind, p[base].dir, old[base],
                           refs[kind], how)
            except Fail as e:
                raise Fail("%s\n  at %s from the %s store, %s %s (seed %s)" % (
                    e, kind, base, how[0], how[1], a.seed))
            n += 1
            if res == "not reached" and tag:
                stop.add(tag)
            log("%s from %s, %s %s: %s" % (kind, base, how[0], how[1] if
                                          how[0] == "fault" else
                                          "%.0f ms" % (how[1] * 1000), res))
        log("compose: %d cases passed in %.0f s (seed %s)" % (
            n, time.time() - start, a.seed))
    return crash.guarded(env, a, body)


if __name__ == "__main__":
    crash.run_main(main)
