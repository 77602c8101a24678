#!/usr/bin/env python3
"""mkcorpus.py: (re)writes the seed corpora of tests/fuzz/corpus/.

    tests/fuzz/mkcorpus.py [ARCHIVE]

ARCHIVE is an archive built by tests/fixtures/mkarchive.py (one is built
in a temp directory if not given, with --evil-filename). Seeds are small,
real-looking inputs in each target's input format (see the comment at the
top of each fuzz_<target>.c): snippets of the archive's Release, Packages
and Sources files, its compressed indices, URLs of its layout, and the
repository's configuration files.
"""

import gzip
import lzma
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def paragraphs(text, n):
    return "\n\n".join(text.split("\n\n")[:n]).rstrip("\n") + "\n"


def main():
    tmp = None
    if len(sys.argv) > 1:
        arch = sys.argv[1]
    else:
        tmp = tempfile.mkdtemp(prefix="mkcorpus-")
        arch = os.path.join(tmp, "archive")
        subprocess.run([sys.executable,
                        os.path.join(ROOT, "tests/fixtures/mkarchive.py"),
                        arch, "--gnupghome", os.path.join(tmp, "gnupg"),
                        "--packages", "2", "--evil-filename"],
                       check=True, stdout=subprocess.DEVNULL)
    for t in ("deb822", "release", "index", "path", "route", "conf"):
        shutil.rmtree(os.path.join(CORPUS, t), ignore_errors=True)
    dists = os.path.join(arch, "dists")
    release = open(os.path.join(dists, "stable/Release")).read()
    upd = open(os.path.join(dists, "stable-updates/Release")).read()
    inrel = open(os.path.join(dists, "stable/InRelease")).read()
    comp = open(os.path.join(dists, "stable/main/binary-amd64/Release")).read()

    def idx(p):
        return open(os.path.join(dists, p), "rb").read()

    pk_xz = idx("stable/main/binary-amd64/Packages.xz")
    pk_gz = idx("stable/main/binary-amd64/Packages.gz")
    src_xz = idx("stable/main/source/Sources.xz")
    src_gz = idx("stable/main/source/Sources.gz")
    evil_gz = idx("stable-updates/main/binary-amd64/Packages.gz")
    packages = lzma.decompress(pk_xz).decode()
    sources = lzma.decompress(src_xz).decode()
    evil = gzip.decompress(evil_gz).decode()
    conf = open(os.path.join(ROOT, "conf/mirrord.conf")).read()
    demo = open(os.path.join(ROOT, "conf/demo/mirrord.conf")).read()

    # Release: the SHA256 section cut to the first few lines keeps it small.
    def short_release(text, keep=12):
        head, _, sha = text.partition("SHA256:\n")
        lines = sha.split("\n")
        head = head.split("MD5Sum:")[0]
        return head + "SHA256:\n" + "\n".join(lines[:keep]) + "\n"

    # deb822: byte 0 (0xff: 1 MiB limit; >= 0xf0 small limits), byte 1
    # the callback's split seed.
    write("deb822", "release", b"\xff\x01" + short_release(release).encode())
    write("deb822", "packages", b"\xff\x02" + paragraphs(packages, 3).encode())
    write("deb822", "sources", b"\xff\x03" + paragraphs(sources, 2).encode())
    write("deb822", "conf-demo", b"\xff\x04" + demo.encode())
    write("deb822", "component-release", b"\xff\x05" + comp.encode())
    write("deb822", "small-limit", b"\xf2\x06" + paragraphs(packages, 2).encode())
    write("deb822", "crlf-comments",
          b"\xff\x07# comment\r\nA: 1\r\nB:\r\n two\r\n \t.\r\n\r\n\r\nC: x \t\r\n")

    write("release", "stable", short_release(release, 40))
    write("release", "stable-updates", short_release(upd))
    write("release", "component", comp)
    write("release", "inrelease", short_release(inrel, 8))
    write("release", "selection",
          "Date: Sat, 01 Jun 2024 12:00:00 +0000\n"
          "Valid-Until: 02 Jun 2024 12:00:00 GMT\n"
          "Acquire-By-Hash: yes\n"
          "SHA256:\n" + "".join(
              " %064x %d %s\n" % (i, i * 7, p) for i, p in enumerate([
                  "Contents-amd64.gz", "Contents-source", "main/Contents-all.gz",
                  "main/binary-amd64/Packages", "main/binary-all/Packages.xz",
                  "main/binary-i386/Packages.gz", "main/source/Sources.xz",
                  "main/binary-amd64/Packages.diff/Index",
                  "main/i18n/Translation-en.bz2", "main/i18n/Translation-en.diff/Index",
                  "main/dep11/Components-amd64.yml.gz", "main/dep11/icons-64x64.tar.gz",
                  "main/cnf/Commands-arm64.xz", "contrib/binary-arm64/Packages.zst",
                  "main/binary-amd64/Release", "non-free/source/Sources"])))

    # index: byte 0 bit 0 kind (0 Packages, 1 Sources), bits 1-2 mode
    # (0 plain, 1 gz, 2 xz, 3 compressed here), bits 3-7 stop/split.
    write("index", "packages-plain", b"\xf8" + paragraphs(packages, 3).encode())
    write("index", "packages-gz", b"\xfa" + pk_gz)
    write("index", "packages-both", b"\x56" + paragraphs(packages, 2).encode())
    write("index", "packages-stop", b"\x08" + paragraphs(packages, 3).encode())
    write("index", "packages-evil", b"\xfa" + evil_gz)
    # The xz indices recompressed with a 4 KiB dictionary: the archive's
    # own 8 MiB one makes each execution slow (the decoder allocates and
    # clears it), so they are not seeds.
    small = [{"id": lzma.FILTER_LZMA2, "dict_size": 4096}]
    write("index", "packages-xz-small", b"\xfc" + lzma.compress(
        packages.encode(), check=lzma.CHECK_CRC32, filters=small))
    write("index", "sources-xz-small", b"\xfd" + lzma.compress(
        sources.encode(), check=lzma.CHECK_CRC64, filters=small))
    write("index", "xz-two-streams", b"\xfc" + lzma.compress(
        paragraphs(packages, 1).encode(), filters=small) + lzma.compress(
        paragraphs(packages, 2).encode(), filters=small) + b"\0" * 4)
    write("index", "sources-plain", b"\xf9" + paragraphs(sources, 2).encode())
    write("index", "sources-gz", b"\xfb" + src_gz)
    write("index", "sources-both", b"\x2f" + paragraphs(sources, 2).encode())
    write("index", "gz-two-members", b"\xfa" +
          gzip.compress(paragraphs(packages, 1).encode()) +
          gzip.compress(paragraphs(packages, 2).encode()))

    for i, p in enumerate([
            "pool/main/h/hello/hello_1.0-1_amd64.deb",
            "main/binary-amd64/Packages.xz",
            "main/binary-amd64/by-hash/SHA256/" + "ab" * 32,
            "pool/main/libf/libfoo/libfoo1_2.0+dfsg-1~bpo12+1_arm64.deb",
            "../../../etc/evil.deb", "a/./b", "a//b", "/abs", "a/b/",
            "x%2e%2e", "a\\b", "a b", "."]):
        write("path", "p%02d" % i, p)

    for i, u in enumerate([
            "/", "/healthz", "/metrics", "/keyring.gpg", "/demo", "/demo/",
            "/demo/latest/", "/demo/latest/dists/",
            "/demo/latest/dists/stable/InRelease",
            "/demo/latest/dists/stable/main/binary-amd64/Packages.xz",
            "/demo/latest/dists/stable/main/binary-amd64/by-hash/SHA256/"
            "0000000000000000000000000000000000000000000000000000000000000000",
            "/demo/latest/dists/stable/main/i18n/x%3Cb%3E%26%22y",
            "/demo/latest/dists/stable/main",
            "/demo/20991231T000000Z/pool/main/h/hello/hello_1.0_amd64.deb",
            "/demo/latest/pool/", "/demo/production/dists/stable/Release",
            "http://mirror.example.org/demo/latest/dists/stable/Release",
            "/demo/latest/dists/stable/%2e%2e/x", "/demo/%2Fetc", "/a/%00",
            "/demo/latest/dists/%3Cscript%3E/"]):
        write("route", "u%02d" % i, u)

    write("conf", "mirrord.conf", conf)
    write("conf", "demo", demo.replace("../../build/demo/archive-key.gpg",
                                       "key.gpg"))
    write("conf", "mirrors-d",
          "Store: store\nKeep-Snapshots: 30d last 50\nValid-For: 7d\n"
          "%%\n"
          "Name: ubuntu\nTypes: deb deb-src\n"
          "URIs: http://archive.ubuntu.com/ubuntu/\n"
          "Suites: jammy jammy-updates\nComponents: main universe\n"
          "Architectures: amd64 arm64\nSigned-By: ../key.gpg\n"
          "Sync-Interval: 6h\nKeep-Snapshots: last 3\n"
          "%%\n"
          "Name: local\nTypes: deb\nURIs: file:../archive\nSuites: stable\n"
          "Components: main\nArchitectures: all\nSigned-By: ./../mirrors.d/../key.gpg\n"
          "Enabled: no\n")
    write("conf", "duration", "90s")
    write("conf", "keep", "30d last 50")
    if tmp:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
