#!/usr/bin/env python3
"""Build a signed Debian-style upstream archive for the mirrord benchmarks.

    mkupstream.py OUT [--shape generated|bookworm] [--packages N] [--lists FILE]
                  [--generation G --churn P]

Layout written under OUT:
    OUT/www/debian/dists/SUITE/{InRelease,Release,Release.gpg}
    OUT/www/debian/dists/SUITE/COMP/binary-ARCH/{Packages.gz,Packages.xz}
    OUT/www/debian/dists/SUITE/COMP/binary-ARCH/by-hash/SHA256/<sha256>   (hard links)
    OUT/www/debian/pool/...                stand-in pool files (random bytes)
    OUT/gnupg/                             throwaway GNUPGHOME holding the signing key
    OUT/archive-key.gpg                    the public key, binary keyring (gpgv / Signed-By)
    OUT/shape.env                          shell variables describing the archive

Shapes:
  generated  N pool files (default 20,000) over components main+contrib and architectures
             amd64+arm64: every 10th source package is Architecture: all (one file, listed in
             binary-all and, as Debian does with No-Support-for-Architecture-all, in both arch
             indices), the others have one amd64 and one arm64 file.  Pool files are 1-4 KiB
             of pseudo-random bytes.
  bookworm   the real Debian bookworm main/binary-amd64 Packages from apt's lists (lz4), with
             every paragraph kept but Size/MD5sum/SHA256 rewritten to point at a 1-2 KiB
             stand-in file at its real Filename (63,440 files): the realistic shape.

--generation G --churn P (generated shape): the archive as it is after G updates, each of
which gives a new version (and pool file) to a fraction P of the packages, picked afresh
each time; a pool file's bytes follow from its name, so the files that did not change keep
their hashes from one generation to the next (bench/index-size.sh syncs G = 0, 1, 2...).

The stand-in pool files are not real .debs: aptly's `mirror update` only checks size and
checksums of downloaded files, it does not open them (checked with aptly 1.5).
"""

import argparse
import glob
import gzip
import hashlib
import lzma
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from email.utils import formatdate

BOOKWORM_GLOB = "/var/lib/apt/lists/*debian_dists_bookworm_main_binary-amd64_Packages.lz4"


def die(msg):
    print("mkupstream: error: " + msg, file=sys.stderr)
    sys.exit(1)


class Pool:
    """Writes stand-in pool files and remembers created directories."""

    def __init__(self, root, seed, lo, hi, by_name=False):
        self.root = root
        self.seed = seed
        self.rng = random.Random(seed)
        self.by_name = by_name  # content a function of the name (generations)
        self.lo, self.hi = lo, hi
        self.dirs = set()
        self.files = 0
        self.bytes = 0

    def add(self, relpath):
        """Create relpath with fresh random content; return (size, md5, sha256)."""
        rng = random.Random("%d/%s" % (self.seed, relpath)) if self.by_name else self.rng
        data = rng.randbytes(rng.randint(self.lo, self.hi))
        path = os.path.join(self.root, relpath)
        d = os.path.dirname(path)
        if d not in self.dirs:
            os.makedirs(d, exist_ok=True)
            self.dirs.add(d)
        with open(path, "wb") as f:
            f.write(data)
        self.files += 1
        self.bytes += len(data)
        return len(data), hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest()


def bumps(k, generation, churn):
    """How many of updates 1..generation gave package k a new version."""
    n = 0
    for g in range(1, generation + 1):
        h = hashlib.sha256(b"%d/%d" % (k, g)).digest()
        if int.from_bytes(h[:4], "big") < churn * 2**32:
            n += 1
    return n


def gen_generated(pool, npkgs, generation=0, churn=0.0):
    """Return {(comp, arch): [paragraph text]} for the generated shape."""
    comps, archs = ("main", "contrib"), ("amd64", "arm64")
    idx = {(c, a): [] for c in comps for a in archs + ("all",)}
    rng = random.Random(4242)
    k = 0
    while pool.files < npkgs:
        comp = "contrib" if k % 7 == 3 else "main"
        name = "bench-pkg%06d" % k
        src = "bench-src%06d" % (k // 3)
        ver = "1.%d.%d-1" % (k % 17, k % 101)
        b = bumps(k, generation, churn) if churn > 0 else 0
        if b:
            ver += "+g%d" % b
        fver = ver  # no epoch, so the file name uses the version verbatim
        pkg_archs = ("all",) if k % 10 == 0 else archs
        for arch in pkg_archs:
            if pool.files >= npkgs:
                break
            fn = "pool/%s/b/%s/%s_%s_%s.deb" % (comp, src, name, fver, arch)
            size, md5, sha = pool.add(fn)
            desc = "generated benchmark package %d" % k
            deps = "libc6 (>= 2.36), bench-pkg%06d (>= 1.0)" % rng.randrange(max(k, 1))
            para = (
                "Package: %s\n"
                "Source: %s\n"
                "Version: %s\n"
                "Installed-Size: %d\n"
                "Maintainer: Bench Maintainers <bench@example.org>\n"
                "Architecture: %s\n"
                "Depends: %s\n"
                "Description: %s\n"
                "Description-md5: %s\n"
                "Section: utils\n"
                "Priority: optional\n"
                "Filename: %s\n"
                "Size: %d\n"
                "MD5sum: %s\n"
                "SHA256: %s\n"
                % (name, src, ver, rng.randint(8, 9000), arch, deps, desc,
                   hashlib.md5((desc + "\n").encode()).hexdigest(), fn, size, md5, sha))
            if arch == "all":
                for a in archs + ("all",):
                    idx[(comp, a)].append(para)
            else:
                idx[(comp, arch)].append(para)
        k += 1
    return idx


def gen_bookworm(pool, lists):
    """Return {("main","amd64"): [paragraphs]} from the real bookworm Packages."""
    if shutil.which("lz4") is None:
        die("lz4 is not installed (apt-get install lz4)")
    raw = subprocess.run(["lz4", "-dc", lists], check=True, stdout=subprocess.PIPE).stdout
    text = raw.decode("utf-8", "surrogateescape")
    out = []
    for para in text.split("\n\n"):
        if not para.strip():
            continue
        lines = para.strip("\n").split("\n")
        fn = None
        for ln in lines:
            if ln.startswith("Filename: "):
                fn = ln[len("Filename: "):].strip()
        if fn is None:
            die("paragraph without Filename in " + lists)
        size, md5, sha = pool.add(fn)
        kept = []
        for ln in lines:
            if ln.startswith(("Size: ", "MD5sum: ", "SHA256: ", "SHA1: ", "SHA512: ")):
                continue
            kept.append(ln)
        # Size/MD5sum/SHA256 stay right after Filename, where Debian puts them.
        res = []
        for ln in kept:
            res.append(ln)
            if ln.startswith("Filename: "):
                res += ["Size: %d" % size, "MD5sum: " + md5, "SHA256: " + sha]
        out.append("\n".join(res) + "\n")
    return {("main", "amd64"): out}


def write_index(distdir, comp, arch, paras, entries):
    """Write Packages.gz/.xz (+ by-hash links); append Release entries (relpath, data-or-None)."""
    rel = "%s/binary-%s" % (comp, arch)
    d = os.path.join(distdir, rel)
    os.makedirs(os.path.join(d, "by-hash", "SHA256"), exist_ok=True)
    data = "\n".join(paras).encode("utf-8", "surrogateescape")
    results = {}

    def comp_xz():
        results["xz"] = lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64,
                                      preset=6)

    def comp_gz():
        results["gz"] = gzip.compress(data, compresslevel=9, mtime=0)

    # lzma and zlib release the GIL: compress both at once.
    ts = [threading.Thread(target=comp_xz), threading.Thread(target=comp_gz)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    # The uncompressed Packages is listed in Release but not served, as on deb.debian.org.
    entries.append((rel + "/Packages", data, False))
    for ext in ("gz", "xz"):
        blob = results[ext]
        path = os.path.join(d, "Packages." + ext)
        with open(path, "wb") as f:
            f.write(blob)
        link = os.path.join(d, "by-hash", "SHA256", hashlib.sha256(blob).hexdigest())
        if not os.path.exists(link):
            os.link(path, link)
        entries.append((rel + "/Packages." + ext, blob, True))


def gpg(home, *args, inp=None):
    env = dict(os.environ, GNUPGHOME=home)
    return subprocess.run(["gpg", "--batch", "--quiet", "--pinentry-mode", "loopback",
                           "--passphrase", ""] + list(args),
                          input=inp, env=env, check=True, stdout=subprocess.PIPE).stdout


def main():
    ap = argparse.ArgumentParser(description="build a signed upstream archive for benchmarks")
    ap.add_argument("out")
    ap.add_argument("--shape", choices=("generated", "bookworm"), default="generated")
    ap.add_argument("--packages", type=int, default=20000,
                    help="pool files for the generated shape (default 20000)")
    ap.add_argument("--lists", help="bookworm main amd64 Packages.lz4 (default: apt's lists)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--generation", type=int, default=0,
                    help="updates applied (generated shape; see --churn)")
    ap.add_argument("--churn", type=float, default=0.0,
                    help="fraction of packages given a new version per update")
    a = ap.parse_args()
    if a.generation and a.shape != "generated":
        die("--generation needs the generated shape")

    out = os.path.abspath(a.out)
    if os.path.exists(out):
        shutil.rmtree(out)
    www = os.path.join(out, "www", "debian")
    home = os.path.join(out, "gnupg")
    os.makedirs(home, mode=0o700)
    t0 = time.time()

    if a.shape == "generated":
        suite, codename = "stable", "bench"
        comps, archs = ["main", "contrib"], ["amd64", "arm64"]
        pool = Pool(www, a.seed, 1024, 4096, by_name=a.churn > 0)
        idx = gen_generated(pool, a.packages, a.generation, a.churn)
    else:
        lists = a.lists
        if lists is None:
            found = sorted(glob.glob(BOOKWORM_GLOB))
            if not found:
                die("no " + BOOKWORM_GLOB + " (run apt-get update)")
            lists = found[0]
        suite, codename = "stable", "bookworm"
        comps, archs = ["main"], ["amd64"]
        pool = Pool(www, a.seed, 1024, 2048)
        idx = gen_bookworm(pool, lists)
    t1 = time.time()

    distdir = os.path.join(www, "dists", codename)
    entries = []
    biggest, biggest_size, paragraphs = None, -1, 0
    for (comp, arch), paras in sorted(idx.items()):
        write_index(distdir, comp, arch, paras, entries)
        xz = os.path.join(distdir, comp, "binary-" + arch, "Packages.xz")
        if os.path.getsize(xz) > biggest_size:
            biggest, biggest_size, biggest_paras = xz, os.path.getsize(xz), len(paras)
        paragraphs += len(paras)
    t2 = time.time()

    # Release, then InRelease and Release.gpg signed with a throwaway ed25519 key.
    all_archs = (["all"] if any(k[1] == "all" for k in idx) else []) + archs
    rel = ["Origin: mirrord-bench", "Label: mirrord-bench", "Suite: " + suite,
           "Codename: " + codename,
           "Date: " + formatdate(time.time(), usegmt=True),
           "Acquire-By-Hash: yes"]
    if "all" in all_archs:
        rel.append("No-Support-for-Architecture-all: Packages")
    rel += ["Architectures: " + " ".join(all_archs), "Components: " + " ".join(comps),
            "Description: mirrord benchmark upstream (%s shape)" % a.shape]
    for field, fn in (("MD5Sum", hashlib.md5), ("SHA256", hashlib.sha256)):
        rel.append(field + ":")
        for name, blob, _ in entries:
            rel.append(" %s %16d %s" % (fn(blob).hexdigest(), len(blob), name))
    release = ("\n".join(rel) + "\n").encode()
    with open(os.path.join(distdir, "Release"), "wb") as f:
        f.write(release)
    gpg(home, "--quick-gen-key", "mirrord bench <bench@example.org>", "ed25519", "sign",
        "never")
    with open(os.path.join(distdir, "InRelease"), "wb") as f:
        f.write(gpg(home, "--clearsign", "--digest-algo", "SHA256", inp=release))
    with open(os.path.join(distdir, "Release.gpg"), "wb") as f:
        f.write(gpg(home, "--armor", "--detach-sign", "--digest-algo", "SHA256", inp=release))
    with open(os.path.join(out, "archive-key.gpg"), "wb") as f:
        f.write(gpg(home, "--export"))
    subprocess.run(["gpgconf", "--homedir", home, "--kill", "gpg-agent"],
                   stderr=subprocess.DEVNULL, check=False)

    with open(os.path.join(out, "shape.env"), "w") as f:
        f.write("SHAPE=%s\nSUITE=%s\nCODENAME=%s\nCOMPONENTS='%s'\nARCHS='%s'\n"
                "POOL_FILES=%d\nPOOL_BYTES=%d\nPARAGRAPHS=%d\nBIGGEST_XZ=%s\n"
                "BIGGEST_PARAGRAPHS=%d\nINDEX_FILES=%d\n"
                % (a.shape, suite, codename, " ".join(comps), " ".join(archs),
                   pool.files, pool.bytes, paragraphs, biggest, biggest_paras,
                   sum(1 for e in entries if e[2])))
    print("mkupstream: %s shape: %d pool files (%.1f MB), %d paragraphs, pool %.1fs, "
          "indices %.1fs" % (a.shape, pool.files, pool.bytes / 1e6, paragraphs, t1 - t0,
                             t2 - t1), file=sys.stderr)


if __name__ == "__main__":
    main()
