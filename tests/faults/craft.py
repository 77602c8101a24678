#!/usr/bin/env python3
"""craft.py: builds the archives of the fault suite (make faults).

    craft.py FIX --gnupghome DIR [NAME...]

Builds, under FIX, with tests/fixtures/mkarchive.py and one signing key
(FIX/key.gpg, the Signed-By of every case):

  gen1, gen2, gen3   generations 1, 2, 3, each built over a copy of the
                     one before (so 'stable' stays byte-identical and the
                     older by-hash objects stay, as on a real mirror)
  expired            generation 2 with Valid-Until half an hour ago

and the crafted archives NAME (all when none is named): copies of gen2
whose stable-updates index is changed as said below, then listed with
its new hashes and sizes in a Release signed again with the same key, so
that only mirrord's own checks stand between it and the bad data:

  bomb-small     main/binary-amd64/Packages.xz: 10 GiB of zeros in 2 MB of
                 xz; the signed Release states the true (small) size of
                 the uncompressed Packages
  bomb-huge      the same bomb; the Release states 10 GiB for Packages
  bomb-lines     10 GiB of newlines (valid, empty deb822); Release: 10 GiB
  fn-traversal   a package with Filename: pool/main/../../../../tmp/...
  fn-absolute    a package with Filename: /tmp/faults-evil.deb
  fn-nul         a package whose Filename holds a NUL byte
  fn-ctrl        a package whose Filename holds control bytes (\\x01 ESC)
  src-traversal  main/source/Sources: a source with Directory: ../../../tmp
  pool-hash      Packages gives hello's new amd64 .deb a wrong SHA256
  pool-size      Packages gives hello's new amd64 .deb a Size 1 too small

Existing outputs are kept (delete FIX to rebuild). Prints one line per
archive built.
"""

import hashlib
import json
import lzma
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
import mkarchive  # noqa: E402  (gpg helpers, xz/gz, hashes)

SUITE = "stable-updates"
PKGS = "main/binary-amd64/Packages"
SRCS = "main/source/Sources"
BOMB_SIZE = 10 << 30            # what the bombs expand to
BOMB_STREAM = 4 << 20           # one xz stream; the bomb concatenates them
EVIL = b"not a deb, and never to be written outside the mirror\n"
CRAFTED = ["bomb-small", "bomb-huge", "bomb-lines", "fn-traversal",
           "fn-absolute", "fn-nul", "fn-ctrl", "src-traversal", "pool-hash",
           "pool-size"]


def sha256(d):
    return hashlib.sha256(d).hexdigest()


def md5(d):
    return hashlib.md5(d).hexdigest()


def mkarchive_run(out, home, *args):
    cmd = [sys.executable, mkarchive.__file__, out, "--gnupghome", home]
    r = subprocess.run(cmd + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=300)
    if r.returncode != 0:
        sys.exit("craft: mkarchive %s failed: %s" % (" ".join(args),
                                                    r.stdout.decode()))


def generation(fix, home, name, base, *args):
    out = os.path.join(fix, name)
    if os.path.isdir(out):
        return
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    if base:
        shutil.copytree(os.path.join(fix, base), tmp, symlinks=True)
    mkarchive_run(tmp, home, *args)
    os.rename(tmp, out)
    print("craft: %s" % name)


def bomb(fix, fill):
    """FILL * BOMB_SIZE as concatenated xz streams (cached in FIX)."""
    path = os.path.join(fix, "bomb-%02x.xz" % fill[0])
    if not os.path.exists(path):
        one = lzma.compress(fill * BOMB_STREAM, format=lzma.FORMAT_XZ,
                            preset=6)
        with open(path + ".tmp", "wb") as f:
            for _ in range(BOMB_SIZE // BOMB_STREAM):
                f.write(one)
        os.rename(path + ".tmp", path)
    with open(path, "rb") as f:
        return f.read()


class Suite:
    """One suite of a copied archive: change files, then sign again."""

    def __init__(self, root, suite):
        self.dir = os.path.join(root, "dists", suite)
        self.listed = {}        # path -> (size, sha256, md5) overrides

    def read(self, rel):
        with open(os.path.join(self.dir, rel), "rb") as f:
            return f.read()

    def put(self, rel, data):
        """Writes a file of the suite and its by-hash copies; lists it."""
        mkarchive.write_file(os.path.join(self.dir, rel), data)
        d = os.path.join(self.dir, os.path.dirname(rel), "by-hash")
        mkarchive.write_file(os.path.join(d, "SHA256", sha256(data)), data)
        mkarchive.write_file(os.path.join(d, "MD5Sum", md5(data)), data)
        self.list(rel, len(data), sha256(data), md5(data))

    def list(self, rel, size, sha, md):
        self.listed[rel] = (size, sha, md)

    def index(self, rel, edit):
        """Replaces index rel (Packages, Sources) by edit(text)."""
        text = edit(lzma.decompress(self.read(rel + ".xz")))
        self.put(rel + ".xz", mkarchive.xz(text))
        self.put(rel + ".gz", mkarchive.gz(text))
        self.list(rel, len(text), sha256(text), md5(text))

    def sign(self, home):
        lines, section = [], None
        for line in self.read("Release").decode().split("\n"):
            if line and not line[0].isspace():
                section = line.split(":")[0]
            elif section in ("MD5Sum", "SHA256") and line.strip():
                h, size, rel = line.split()
                if rel in self.listed:
                    size, sha, md = self.listed[rel]
                    h = md if section == "MD5Sum" else sha
                    line = " %s %8d %s" % (h, size, rel)
            lines.append(line)
        text = "\n".join(lines).encode()
        mkarchive.write_file(os.path.join(self.dir, "Release"), text)
        fpr = mkarchive.secret_fpr(home)
        with tempfile.NamedTemporaryFile() as f:
            f.write(text)
            f.flush()
            for out, args in (("InRelease", ["--clearsign"]),
                              ("Release.gpg", ["--armor", "--detach-sign"])):
                sig = mkarchive.gpg(home, ["--local-user", fpr + "!",
                                           "--digest-algo", "SHA512"] +
                                    args + ["--output", "-", f.name])
                mkarchive.write_file(os.path.join(self.dir, out), sig)


def add_package(filename):
    """An edit appending a package named zz-evil with this Filename."""
    para = mkarchive.paragraph([
        ("Package", "zz-evil"), ("Version", "1.0"),
        ("Architecture", "amd64"), ("Maintainer", mkarchive.MAINTAINER),
        ("Description", "a package whose path is hostile"),
        ("Filename", filename), ("Size", str(len(EVIL))),
        ("MD5sum", md5(EVIL)), ("SHA256", sha256(EVIL))]).encode("latin-1")
    return lambda text: text.rstrip(b"\n") + b"\n\n" + para


def hello_deb(root):
    """The new hello amd64 .deb of gen2, and its bytes."""
    info = json.load(open(os.path.join(root, ".fixture.json")))
    rel = [f["path"] for f in info["pool"]
           if "/hello_2.10-3+deb12u" in f["path"] and
           f["path"].endswith("_amd64.deb")][-1]
    return rel, open(os.path.join(root, rel), "rb").read()


def edit_field(deb_rel, field, value):
    """An edit setting FIELD of the paragraph whose Filename is deb_rel."""
    def edit(text):
        paras = text.split(b"\n\n")
        hit = 0
        for i, p in enumerate(paras):
            if b"\nFilename: %s\n" % deb_rel.encode() in b"\n" + p + b"\n":
                paras[i] = re.sub(rb"(?m)^%s: .*$" % field.encode(),
                                  field.encode() + b": " + value.encode(), p)
                hit += 1
        if hit != 1:
            sys.exit("craft: no single paragraph for '%s'" % deb_rel)
        return b"\n\n".join(paras)
    return edit


def crafted(fix, home, name):
    out = os.path.join(fix, name)
    if os.path.isdir(out):
        return
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(os.path.join(fix, "gen2"), tmp, symlinks=True)
    s = Suite(tmp, SUITE)
    if name.startswith("bomb-"):
        data = bomb(fix, b"\n" if name == "bomb-lines" else b"\0")
        s.put(PKGS + ".xz", data)
        if name != "bomb-small":        # a 10 GiB Packages, signed
            s.list(PKGS, BOMB_SIZE, sha256(b"x"), md5(b"x"))
    elif name == "fn-traversal":
        s.index(PKGS, add_package("pool/main/../../../../tmp/faults-evil.deb"))
    elif name == "fn-absolute":
        s.index(PKGS, add_package("/tmp/faults-evil.deb"))
    elif name == "fn-nul":
        s.index(PKGS, add_package("pool/main/e/evil/x.deb\0/../../../../"
                                  "tmp/faults-evil.deb"))
    elif name == "fn-ctrl":
        s.index(PKGS, add_package("pool/main/e/evil/ev\x01il\x1b[2J.deb"))
    elif name == "src-traversal":
        s.index(SRCS, lambda t: re.sub(
            rb"(?m)^Directory: .*$", b"Directory: ../../../tmp/faults-evil",
            t, count=1))
    elif name == "pool-hash":
        rel, deb = hello_deb(tmp)
        s.index(PKGS, edit_field(rel, "SHA256", sha256(deb + b"x")))
    elif name == "pool-size":
        rel, deb = hello_deb(tmp)
        s.index(PKGS, edit_field(rel, "Size", str(len(deb) - 1)))
    else:
        sys.exit("craft: unknown archive '%s'" % name)
    try:
        s.sign(home)
    finally:
        mkarchive.stop_agent(home)
    os.rename(tmp, out)
    print("craft: %s" % name)


def main():
    args = sys.argv[1:]
    if len(args) < 3 or args[1] != "--gnupghome":
        sys.exit("usage: craft.py FIX --gnupghome DIR [NAME...]")
    fix, home = os.path.abspath(args[0]), os.path.abspath(args[2])
    names = args[3:] or ["expired"] + CRAFTED
    os.makedirs(fix, exist_ok=True)
    generation(fix, home, "gen1", None, "--generation", "1")
    generation(fix, home, "gen2", "gen1", "--generation", "2")
    if not os.path.exists(os.path.join(fix, "key.gpg")):
        shutil.copy(os.path.join(fix, "gen1", "archive-key.gpg"),
                    os.path.join(fix, "key.gpg"))
    for n in names:
        if n == "gen3":
            generation(fix, home, "gen3", "gen2", "--generation", "3")
        elif n == "expired":
            generation(fix, home, "expired", "gen1", "--generation", "2",
                       "--valid-until-offset", "-1800")
        elif n not in ("gen1", "gen2"):
            crafted(fix, home, n)


if __name__ == "__main__":
    main()
