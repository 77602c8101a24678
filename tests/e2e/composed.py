#!/usr/bin/env python3
"""composed.py: reads and checks what a composed snapshot serves (issue 15).

    composed.py fetch URL KEYRING ARCHIVE OUT SUITE...
        URL is a snapshot or channel URL (http://HOST/MIRROR/REF). For each
        SUITE: InRelease verifies with gpgv against KEYRING (mirrord's key)
        and says what Release says; Origin, Label, Suite, Codename, Version,
        Components and Architectures are those of ARCHIVE's (upstream's)
        Release; every file the Release lists and the server has is
        fetched and matches its SHA256 (at least one Packages variant per
        binary-ARCH and one Sources variant must be there); every index
        but Packages and Sources (Translation, Contents, the per-component
        Release files) is upstream's bytes; with Acquire-By-Hash: yes, each
        index is served at its by-hash URL too. Writes OUT/SUITE/ARCH.packages
        and OUT/SUITE/sources (uncompressed). Prints one line per suite.
    composed.py entries OUT ARCH
        "name version architecture" of every entry of OUT/*/ARCH.packages
        (every suite), sorted, without duplicates.
    composed.py sources OUT
        "name version" of every OUT/*/sources entry, sorted, unique.
    composed.py files OUT
        the pool paths (Filename, Directory/file) of every entry, sorted.
    composed.py pool URL OUT
        GETs every Filename of OUT/*/*.packages under URL: its SHA256 must
        be the entry's.
    composed.py expect FIXTURE SET ARCH|sources
        the closure FIXTURE (.fixture.json) gives for root set SET, in the
        same form as `entries` (or `sources`).
    composed.py drop FILE PACKAGE OUTFILE
        FILE without PACKAGE's paragraph (dose-distcheck's negative control).
"""

import gzip
import hashlib
import json
import lzma
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

KEPT = ("Origin", "Label", "Suite", "Codename", "Version", "Components",
        "Architectures")


def die(msg):
    sys.stderr.write("composed.py: %s\n" % msg)
    sys.exit(1)


def get(url):
    """(status, bytes)."""
    try:
        with urllib.request.urlopen(url, timeout=20) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""


def paragraphs(text):
    """[{field: value}] of a deb822 text (continuation lines kept)."""
    out = []
    for block in text.split("\n\n"):
        f, last = {}, None
        for line in block.split("\n"):
            if not line:
                continue
            if line[0] in " \t" and last:
                f[last] += "\n" + line
            elif ":" in line:
                last, v = line.split(":", 1)
                f[last] = v.strip()
        if f:
            out.append(f)
    return out


def release_files(rel):
    """{path: (sha256, size)} of a Release's SHA256 field."""
    out = {}
    for line in rel.get("SHA256", "").split("\n"):
        w = line.split()
        if len(w) == 3:
            out[w[2]] = (w[0], int(w[1]))
    return out


def decompress(path, data):
    if path.endswith(".xz"):
        return lzma.decompress(data)
    if path.endswith(".gz"):
        return gzip.decompress(data)
    return data


def verify(inrelease, keyring):
    """The signed text of inrelease, if gpgv accepts it with keyring."""
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "InRelease")
        open(p, "wb").write(inrelease)
        r = subprocess.run(["gpgv", "--keyring", os.path.abspath(keyring),
                            "--output", os.path.join(d, "out"), p],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            die("InRelease does not verify with %s: %s" % (
                keyring, r.stdout.decode(errors="replace")))
        return open(os.path.join(d, "out"), "rb").read()


def fetch_suite(url, keyring, archive, out, suite):
    st, inrel = get("%s/dists/%s/InRelease" % (url, suite))
    if st != 200:
        die("%s/dists/%s/InRelease: HTTP %d" % (url, suite, st))
    text = verify(inrel, keyring).decode()
    rel = paragraphs(text)[0]
    up = paragraphs(open(os.path.join(archive, "dists", suite, "Release"))
                    .read())[0]
    for k in KEPT:
        if rel.get(k) != up.get(k):
            die("suite %s: Release %s is '%s', upstream's is '%s'" % (
                suite, k, rel.get(k), up.get(k)))
    st, plain = get("%s/dists/%s/Release" % (url, suite))
    if st != 200 or plain.decode() != text:
        die("suite %s: Release (HTTP %d) is not InRelease's signed text"
            % (suite, st))
    files = release_files(rel)
    have, kept = {}, 0
    for path, (h, size) in sorted(files.items()):
        st, data = get("%s/dists/%s/%s" % (url, suite, path))
        if st == 404:
            continue
        if st != 200:
            die("suite %s: %s: HTTP %d" % (suite, path, st))
        if hashlib.sha256(data).hexdigest() != h or len(data) != size:
            die("suite %s: %s does not match its Release line" % (suite,
                                                                  path))
        have[path] = data
        base = path.rsplit(".", 1)[0] if path.endswith((".xz", ".gz")) \
            else path
        if base.endswith(("/Packages", "/Sources")):
            continue
        upf = os.path.join(archive, "dists", suite, path)
        if os.path.exists(upf) and open(upf, "rb").read() != data:
            die("suite %s: %s is not upstream's bytes" % (suite, path))
        kept += os.path.exists(upf)
    os.makedirs(os.path.join(out, suite), exist_ok=True)
    idx = 0
    for kind in sorted({p.rsplit(".", 1)[0] if p.endswith((".xz", ".gz"))
                        else p for p in files}):
        if not kind.endswith(("/Packages", "/Sources")):
            continue
        var = [p for p in (kind, kind + ".xz", kind + ".gz") if p in have]
        if not var:
            die("suite %s: no variant of %s is served" % (suite, kind))
        if rel.get("Acquire-By-Hash") == "yes":
            h = hashlib.sha256(have[var[-1]]).hexdigest()
            st, data = get("%s/dists/%s/%s/by-hash/SHA256/%s" % (
                url, suite, os.path.dirname(var[-1]), h))
            if st != 200 or data != have[var[-1]]:
                die("suite %s: Acquire-By-Hash: yes, but by-hash/SHA256/%s "
                    "of %s answers HTTP %d" % (suite, h, var[-1], st))
        texts = {decompress(p, have[p]) for p in var}
        if len(texts) != 1:
            die("suite %s: the variants of %s differ" % (suite, kind))
        name = "sources" if kind.endswith("/Sources") else \
            kind.split("/")[-2][len("binary-"):] + ".packages"
        open(os.path.join(out, suite, name), "wb").write(texts.pop())
        idx += 1
    print("suite %s: signed by mirrord's key, %d files listed, %d served, "
          "%d Packages/Sources, %d other files are upstream's bytes" % (
              suite, len(files), len(have), idx, kept))


def each(out, name):
    for suite in sorted(os.listdir(out)):
        p = os.path.join(out, suite, name)
        if os.path.exists(p):
            yield suite, paragraphs(open(p).read())


def main():
    if len(sys.argv) < 2:
        die("usage: see the docstring")
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "fetch":
        url, keyring, archive, out = args[:4]
        for s in args[4:]:
            fetch_suite(url, keyring, archive, out, s)
    elif cmd == "entries":
        got = {"%s %s %s" % (p["Package"], p["Version"], p["Architecture"])
               for _, ps in each(args[0], args[1] + ".packages") for p in ps}
        print("\n".join(sorted(got)))
    elif cmd == "sources":
        got = {"%s %s" % (p["Package"], p["Version"])
               for _, ps in each(args[0], "sources") for p in ps}
        print("\n".join(sorted(got)))
    elif cmd in ("files", "pool"):
        want = {}
        for suite in sorted(os.listdir(args[-1])):
            for n in os.listdir(os.path.join(args[-1], suite)):
                for p in paragraphs(open(os.path.join(args[-1], suite,
                                                      n)).read()):
                    if "Filename" in p:
                        want[p["Filename"]] = p["SHA256"]
                    for line in p.get("Checksums-Sha256", "").split("\n"):
                        w = line.split()
                        if len(w) == 3:
                            want["%s/%s" % (p["Directory"], w[2])] = w[0]
        if cmd == "files":
            print("\n".join(sorted(want)))
            return
        for path, h in sorted(want.items()):
            st, data = get("%s/%s" % (args[0], path))
            if st != 200 or hashlib.sha256(data).hexdigest() != h:
                die("%s/%s: HTTP %d, sha256 %s, expected %s" % (
                    args[0], path, st, hashlib.sha256(data).hexdigest(), h))
        print("%d pool files verified" % len(want))
    elif cmd == "expect":
        c = json.load(open(args[0]))["closures"][args[1]]
        if args[2] == "sources":
            print("\n".join(sorted("%s %s" % tuple(s) for s in c["sources"])))
        else:
            print("\n".join(sorted("%s %s %s" % tuple(e)
                                   for e in c[args[2]])))
    elif cmd == "drop":
        keep = [b for b in open(args[0]).read().split("\n\n")
                if b.strip() and "Package: %s\n" % args[1] not in b + "\n"]
        if len(keep) == len([b for b in open(args[0]).read().split("\n\n")
                             if b.strip()]):
            die("no paragraph of %s in %s" % (args[1], args[0]))
        open(args[2], "w").write("\n\n".join(k.strip("\n") for k in keep)
                                 + "\n")
    else:
        die("unknown command '%s'" % cmd)


if __name__ == "__main__":
    main()
