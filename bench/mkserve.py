#!/usr/bin/env python3
"""Build a small signed upstream archive for the serving benchmark (bench/serve.sh).

    mkserve.py OUT [--small N] [--medium N] [--large-mb N]

Layout written under OUT:
    OUT/www/debian/dists/serve/{InRelease,Release,Release.gpg}
    OUT/www/debian/dists/serve/main/binary-amd64/{Packages.gz,Packages.xz}
    OUT/www/debian/pool/main/...           stand-in .debs (pseudo-random bytes)
    OUT/gnupg/                             throwaway GNUPGHOME holding the signing key
    OUT/archive-key.gpg                    the public key, binary keyring (Signed-By)
    OUT/files.txt                          "CLASS SIZE SHA256 RELPATH" per pool file,
                                           CLASS small|medium|large
    OUT/shape.env                          shell variables describing the archive

Pool: N small files of 50-70 KB (default 400; the size of a typical small .deb),
N medium files of ~1.5 MB (default 20) and one large file (default 100 MB).  The bytes
are pseudo-random (incompressible) and deterministic for given arguments.
"""

import argparse
import gzip
import hashlib
import lzma
import os
import random
import shutil
import subprocess
import sys
import time
from email.utils import formatdate


def gpg(home, *args, inp=None):
    env = dict(os.environ, GNUPGHOME=home)
    return subprocess.run(["gpg", "--batch", "--quiet", "--pinentry-mode", "loopback",
                           "--passphrase", ""] + list(args),
                          input=inp, env=env, check=True, stdout=subprocess.PIPE).stdout


def main():
    ap = argparse.ArgumentParser(description="build a signed upstream for bench/serve.sh")
    ap.add_argument("out")
    ap.add_argument("--small", type=int, default=400, help="~60 KB files (default 400)")
    ap.add_argument("--medium", type=int, default=20, help="~1.5 MB files (default 20)")
    ap.add_argument("--large-mb", type=int, default=100, help="size of the large file, MB")
    a = ap.parse_args()

    out = os.path.abspath(a.out)
    if os.path.exists(out):
        shutil.rmtree(out)
    www = os.path.join(out, "www", "debian")
    home = os.path.join(out, "gnupg")
    os.makedirs(home, mode=0o700)
    rng = random.Random(7)

    plan = []
    for i in range(a.small):
        plan.append(("small", "servebench-small%04d" % i, rng.randint(50000, 70000)))
    for i in range(a.medium):
        plan.append(("medium", "servebench-medium%02d" % i,
                     rng.randint(1500000 - 50000, 1500000 + 50000)))
    plan.append(("large", "servebench-large", a.large_mb * 1000 * 1000))

    paras, listing, total = [], [], 0
    for k, (cls, name, size) in enumerate(plan):
        src = name
        ver = "1.0.%d-1" % k
        rel = "pool/main/%s/%s/%s_%s_amd64.deb" % (src[:1], src, name, ver)
        data = rng.randbytes(size)
        path = os.path.join(www, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        sha = hashlib.sha256(data).hexdigest()
        paras.append(
            "Package: %s\nSource: %s\nVersion: %s\nInstalled-Size: %d\n"
            "Maintainer: Bench Maintainers <bench@example.org>\nArchitecture: amd64\n"
            "Description: serving benchmark stand-in (%s)\nSection: utils\n"
            "Priority: optional\nFilename: %s\nSize: %d\nMD5sum: %s\nSHA256: %s\n"
            % (name, src, ver, size // 1024 + 1, cls, rel, size,
               hashlib.md5(data).hexdigest(), sha))
        listing.append("%s %d %s %s" % (cls, size, sha, rel))
        total += size
        del data

    dist = os.path.join(www, "dists", "serve")
    bindir = os.path.join(dist, "main", "binary-amd64")
    os.makedirs(bindir)
    text = "\n".join(paras).encode()
    entries = [("main/binary-amd64/Packages", text)]
    for ext, blob in (("gz", gzip.compress(text, 9, mtime=0)),
                      ("xz", lzma.compress(text, preset=6))):
        with open(os.path.join(bindir, "Packages." + ext), "wb") as f:
            f.write(blob)
        entries.append(("main/binary-amd64/Packages." + ext, blob))

    rel = ["Origin: mirrord-bench", "Label: mirrord-bench", "Suite: serve", "Codename: serve",
           "Date: " + formatdate(time.time(), usegmt=True), "Architectures: amd64",
           "Components: main", "Description: mirrord serving benchmark upstream"]
    for field, fn in (("MD5Sum", hashlib.md5), ("SHA256", hashlib.sha256)):
        rel.append(field + ":")
        for name, blob in entries:
            rel.append(" %s %16d %s" % (fn(blob).hexdigest(), len(blob), name))
    release = ("\n".join(rel) + "\n").encode()
    with open(os.path.join(dist, "Release"), "wb") as f:
        f.write(release)
    gpg(home, "--quick-gen-key", "mirrord bench <bench@example.org>", "ed25519", "sign",
        "never")
    with open(os.path.join(dist, "InRelease"), "wb") as f:
        f.write(gpg(home, "--clearsign", "--digest-algo", "SHA256", inp=release))
    with open(os.path.join(dist, "Release.gpg"), "wb") as f:
        f.write(gpg(home, "--armor", "--detach-sign", "--digest-algo", "SHA256", inp=release))
    with open(os.path.join(out, "archive-key.gpg"), "wb") as f:
        f.write(gpg(home, "--export"))
    subprocess.run(["gpgconf", "--homedir", home, "--kill", "gpg-agent"],
                   stderr=subprocess.DEVNULL, check=False)

    with open(os.path.join(out, "files.txt"), "w") as f:
        f.write("\n".join(listing) + "\n")
    with open(os.path.join(out, "shape.env"), "w") as f:
        f.write("CODENAME=serve\nCOMPONENTS=main\nARCHS=amd64\nSMALL_FILES=%d\n"
                "MEDIUM_FILES=%d\nLARGE_MB=%d\nPOOL_FILES=%d\nPOOL_BYTES=%d\n"
                % (a.small, a.medium, a.large_mb, len(plan), total))
    print("mkserve: %d pool files (%.1f MB)" % (len(plan), total / 1e6), file=sys.stderr)


if __name__ == "__main__":
    main()
