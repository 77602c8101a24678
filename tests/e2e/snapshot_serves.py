#!/usr/bin/env python3
# snapshot_serves.py URL MIRROR REF SHOW_JSON OUT (t0420-retention-gc.sh):
# GETs through `mirrord serve` at URL every dists file SHOW_JSON (`snapshot
# show --json` of REF) lists and every pool file of REF's Packages and
# Sources indices; each must be 200 with the listed sha256 (and size).
# Writes the sorted sha256 set of all of them to OUT. Exits 1 naming each
# bad file.
import gzip, hashlib, http.client, json, lzma, re, sys, urllib.parse
url, mirror, ref, showjson, out = sys.argv[1:6]
u = urllib.parse.urlsplit(url)
conn = None
def get(path):
    global conn
    for attempt in (0, 1, 2):
        try:
            if conn is None:
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
            conn.request("GET", urllib.parse.quote(path))
            r = conn.getresponse()
            return r.status, r.read()
        except (http.client.HTTPException, OSError):
            conn.close()
            conn = None
            if attempt == 2:
                raise
j = json.load(open(showjson))
bad = []
hashes = set()
pool = {}
ndists = 0
def fields(text):
    for para in text.split("\n\n"):
        f, last = {}, None
        for line in para.split("\n"):
            if line[:1] in (" ", "\t") and last:
                f[last] += "\n" + line.strip()
            elif ":" in line:
                last, v = line.split(":", 1)
                f[last] = v.strip()
        if f:
            yield f
def addpool(path, h, size):
    if pool.setdefault(path, (h, size)) != (h, size):
        bad.append("pool file %s has two hashes in the indices" % path)
for s in j["suites"]:
    names = [f["path"] for f in s["files"]]
    if "InRelease" not in names:
        bad.append("suite %s lists no InRelease" % s["name"])
    for f in s["files"]:
        p = "/%s/%s/dists/%s/%s" % (mirror, ref, s["name"], f["path"])
        st, body = get(p)
        ndists += 1
        if st != 200:
            bad.append("GET %s: status %d" % (p, st)); continue
        if hashlib.sha256(body).hexdigest() != f["sha256"] or len(body) != f["size"]:
            bad.append("GET %s: sha256/size differs from snapshot show" % p); continue
        hashes.add(f["sha256"])
        m = re.search(r"(^|/)(binary-[^/]+/Packages|source/Sources)\.(xz|gz)$", f["path"])
        if not m:
            continue
        text = (lzma.decompress(body) if m.group(3) == "xz"
                else gzip.decompress(body)).decode()
        for para in fields(text):
            if "Filename" in para:
                addpool(para["Filename"], para["SHA256"], int(para["Size"]))
            elif "Directory" in para:
                for l in para.get("Checksums-Sha256", "").split("\n"):
                    if l.strip():
                        h, size, name = l.split()
                        addpool(para["Directory"] + "/" + name, h, int(size))
if not pool:
    bad.append("no pool file found in the indices of %s" % ref)
for path, (h, size) in sorted(pool.items()):
    p = "/%s/%s/%s" % (mirror, ref, path)
    st, body = get(p)
    if st != 200:
        bad.append("GET %s: status %d" % (p, st)); continue
    if hashlib.sha256(body).hexdigest() != h or len(body) != size:
        bad.append("GET %s: sha256/size differs from the index" % p); continue
    hashes.add(h)
with open(out, "w") as o:
    for h in sorted(hashes):
        o.write(h + "\n")
for b in bad[:30]:
    print("  " + b)
print("# %s: %d dists files and %d pool files served%s" % (
    ref, ndists, len(pool), ", %d BAD" % len(bad) if bad else ", all good"))
sys.exit(1 if bad else 0)
