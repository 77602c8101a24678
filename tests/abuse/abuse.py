#!/usr/bin/env python3
"""abuse.py: abusive HTTP clients against `mirrord serve` (stdlib only).

    abuse.py --port P --pid PID --file URLPATH=LOCALFILE --out JSON
             [--duration S] [--idle N] [--trickle N] [--churn N]
             [--conc N] [--seed N]

Runs at once, for --duration seconds (the churn may end sooner):
  idle      N connections that send nothing, reopened when the server
            closes them (slowloris, idle flavour)
  trickle   N connections sending an endless header one byte a second
  churn     N connection attempts, --conc at a time: connect+close,
            connect+RST, connect+partial request+close
  pipeline  8 requests pipelined on one connection; either every answer
            read and checked, or the connection dropped (FIN or RST)
            after a part of the first answer or mid-way through a request
  range     Range headers: many, overlapping, past EOF, huge, negative,
            malformed; a 206 must hold exactly the bytes asked for, a 200
            the whole file, else 416 (or 400)
  headers   huge and malformed headers and request lines
  methods   every method but GET/HEAD, POST with a body, garbage methods
and samples /proc/PID/status VmRSS every 100 ms.

A "violation" is what the server must never do: a 5xx, an answer that is
not HTTP, wrong bytes, a 2xx to a method it does not implement, or no
answer at all within 15 s to a complete request (a close is fine for a
malformed one). The JSON written to --out holds the counts per category,
the peak RSS and up to 30 violations; the exit status is 0 (the caller
judges).
"""
import argparse
import asyncio
import collections
import hashlib
import json
import random
import socket
import struct
import sys
import threading
import time

ANSWER_TIMEOUT = 15.0
# --may-close: any request may be closed without an answer (Max-Clients
# reached: the server closes new connections at once).
MAY_CLOSE = False


class Stats:
    def __init__(self):
        self.count = collections.defaultdict(collections.Counter)
        self.violations = []
        self.nviol = 0
        self.case = collections.defaultdict(collections.Counter)

    def add(self, cat, what):
        self.count[cat][what] += 1

    def bad(self, cat, msg):
        self.nviol += 1
        self.count[cat]["VIOLATION"] += 1
        if len(self.violations) < 30:
            self.violations.append("%s: %s" % (cat, msg))


ST = Stats()


def closed_bad(cat, msg):
    """A close without an answer: a violation unless --may-close."""
    if MAY_CLOSE:
        ST.add(cat, "close")
    else:
        ST.bad(cat, msg)


# ------------------------------------------------------------ RSS sampler

def rss_sampler(pid, stop, res):
    """VmRSS of pid every 100 ms: res["peak_kb"], res["samples"]."""
    res.update(peak_kb=0, samples=0, last_kb=0, gone=False)
    while not stop.is_set():
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        kb = int(line.split()[1])
                        res["last_kb"] = kb
                        res["peak_kb"] = max(res["peak_kb"], kb)
                        res["samples"] += 1
                    elif line.startswith("VmHWM:"):
                        res["hwm_kb"] = int(line.split()[1])
        except OSError:
            res["gone"] = True
            return
        stop.wait(0.1)


# ------------------------------------------------------------ HTTP helpers

class Reader:
    """A StreamReader with a push-back buffer (for pipelined answers)."""

    def __init__(self, r):
        self.r, self.buf = r, b""

    async def read(self, n):
        if self.buf:
            b, self.buf = self.buf[:n], self.buf[n:]
            return b
        return await self.r.read(n)

    def unread(self, b):
        self.buf = b + self.buf


# --source: the address abusers connect from (another "host" than the
# apt client's 127.0.0.1), or None for the system's choice.
SOURCE = None


async def connect(port):
    r, w = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port,
                                local_addr=(SOURCE, 0) if SOURCE else None), 10)
    return Reader(r), w


def rst_close(w):
    """Closes with an RST (SO_LINGER 0) instead of a FIN."""
    sock = w.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
        except OSError:
            pass
    w.close()


async def read_answer(r, head_only=False):
    """One HTTP answer: (status, headers dict, body) or None on EOF before
    any byte. Raises asyncio.TimeoutError, ConnectionError, ValueError."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        c = await asyncio.wait_for(r.read(65536), ANSWER_TIMEOUT)
        if not c:
            if buf:
                raise ValueError("EOF inside the header: %r" % buf[:120])
            return None
        buf += c
        if len(buf) > 1 << 20:
            raise ValueError("header over 1 MB")
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or \
            not parts[1].isdigit():
        raise ValueError("not an HTTP status line: %r" % lines[0][:120])
    status = int(parts[1])
    hdr = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdr[k.strip().lower()] = v.strip()
    if head_only or status in (204, 304) or 100 <= status < 200:
        r.unread(rest)  # unread: the next pipelined answer
        return status, hdr, b""
    if "content-length" in hdr:
        n = int(hdr["content-length"])
        while len(rest) < n:
            c = await asyncio.wait_for(r.read(min(1 << 20, n - len(rest))),
                                       ANSWER_TIMEOUT)
            if not c:
                raise ValueError("body short: %d of %d bytes" % (len(rest), n))
            rest += c
        r.unread(rest[n:])
        return status, hdr, rest[:n]
    if hdr.get("transfer-encoding", "").lower() == "chunked":
        raise ValueError("chunked answer (not expected from mirrord)")
    # no length: the body ends with the connection
    while True:
        c = await asyncio.wait_for(r.read(65536), ANSWER_TIMEOUT)
        if not c:
            return status, hdr, rest
        rest += c


async def exchange(port, raw, head_only=False):
    """Sends raw on a new connection, reads one answer. Returns (status or
    "close" or "reset", hdr, body)."""
    try:
        r, w = await connect(port)
    except (OSError, asyncio.TimeoutError) as e:
        return "connect-failed %s" % type(e).__name__, {}, b""
    try:
        try:
            w.write(raw)
            await w.drain()
        except (ConnectionError, OSError):
            pass  # the server may answer and close before reading it all
        try:
            a = await read_answer(r, head_only)
        except asyncio.TimeoutError:
            return "timeout", {}, b""
        except (ConnectionError, OSError):
            return "reset", {}, b""
        if a is None:
            return "close", {}, b""
        return a
    finally:
        w.close()


def req(path, method="GET", extra=b"", close=True):
    return (method.encode() + b" " + path.encode() +
            b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra +
            (b"Connection: close\r\n" if close else b"") + b"\r\n")


def judge(cat, desc, st, body=b"", ok=(), may_close=True, expect=None,
          may_hold=False, also=()):
    """Records the outcome; a 5xx, a timeout, a non-HTTP answer, or a
    status outside ok (when given) is a violation."""
    ST.case["%s: %s" % (cat, desc)][str(st).split()[0]] += 1
    if isinstance(st, int):
        ST.add(cat, str(st))
        if st in also:
            pass
        elif st >= 500:
            ST.bad(cat, "%s: status %d" % (desc, st))
        elif ok and st not in ok:
            ST.bad(cat, "%s: status %d, expected one of %s" % (desc, st, ok))
        elif expect is not None and st == 200 and body != expect:
            ST.bad(cat, "%s: 200 with wrong bytes (%d, expected %d)" %
                   (desc, len(body), len(expect)))
    else:
        ST.add(cat, st.split()[0])
        if MAY_CLOSE and st != "timeout":
            pass
        elif st == "timeout" and may_hold:
            pass
        elif st == "timeout":
            ST.bad(cat, "%s: no answer in %.0f s" % (desc, ANSWER_TIMEOUT))
        elif st.startswith("bad"):
            ST.bad(cat, "%s: %s" % (desc, st))
        elif not may_close:
            ST.bad(cat, "%s: %s without an answer" % (desc, st))


async def checked(cat, desc, port, raw, **kw):
    head_only = raw.startswith(b"HEAD ")
    try:
        st, hdr, body = await exchange(port, raw, head_only)
    except ValueError as e:
        st, hdr, body = "bad answer: %s" % e, {}, b""
    judge(cat, desc, st, body, **kw)
    return st, hdr, body


# ------------------------------------------------------------ the abusers

async def idle_one(port, end, i, held):
    """One idle connection, reopened when the server closes it."""
    await asyncio.sleep(i * 0.005)
    while time.time() < end:
        try:
            r, w = await connect(port)
        except (OSError, asyncio.TimeoutError):
            ST.add("idle", "connect-failed")
            await asyncio.sleep(0.5)
            continue
        ST.add("idle", "opened")
        held[0] += 1
        held[1] = max(held[1], held[0])
        t0 = time.time()
        try:
            c = await asyncio.wait_for(r.read(1), max(0.1, end - time.time()))
            ST.add("idle", "closed-by-server" if not c else "got-bytes")
            if c:
                ST.bad("idle", "bytes sent to an idle connection: %r" % c)
            held[2] = max(held[2], time.time() - t0)
        except asyncio.TimeoutError:
            ST.add("idle", "held-to-end")
        except (ConnectionError, OSError):
            ST.add("idle", "reset-by-server")
        held[0] -= 1
        w.close()
        await asyncio.sleep(0.2)  # not a tight loop when refused


async def trickle_one(port, end, i, life):
    """An endless header, one byte a second (a slowloris)."""
    await asyncio.sleep(i * 0.02)
    while time.time() < end:
        try:
            r, w = await connect(port)
        except (OSError, asyncio.TimeoutError):
            ST.add("trickle", "connect-failed")
            await asyncio.sleep(0.5)
            continue
        ST.add("trickle", "opened")
        t0 = time.time()
        data = (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                b"".join(b"X-Slow-%d: %s\r\n" % (k, b"x" * 20)
                         for k in range(100000)))
        how, k = "held-to-end", 0
        while time.time() < end:
            try:
                w.write(data[k:k + 1])
                await w.drain()
                k += 1
                c = await asyncio.wait_for(r.read(4096), 1.0)
                if not c:
                    how = "closed-by-server"
                    break
                how = "answered"
                line = c.split(b"\r\n")[0]
                ST.add("trickle", "answer " + line[9:12].decode("latin-1"))
                if line[9:10] == b"5":
                    ST.bad("trickle", "answered %r" % line)
                break
            except asyncio.TimeoutError:
                continue
            except (ConnectionError, OSError):
                how = "reset-by-server"
                break
        ST.add("trickle", how)
        life[0] = max(life[0], time.time() - t0)
        life[1] = max(life[1], k)
        w.close()


async def churn(port, n, conc, partials):
    """n connection attempts, conc at a time."""
    sem = asyncio.Semaphore(conc)

    async def one(i):
        async with sem:
            mode = i % 3
            try:
                r, w = await connect(port)
            except ConnectionRefusedError:
                ST.add("churn", "refused")
                return
            except (OSError, asyncio.TimeoutError) as e:
                ST.add("churn", "connect-failed " + type(e).__name__)
                return
            ST.add("churn", "connected")
            try:
                if mode == 0:
                    w.close()           # connect + close
                elif mode == 1:
                    rst_close(w)        # connect + RST
                else:                   # connect + partial request + close
                    w.write(random.choice(partials))
                    await w.drain()
                    await asyncio.sleep(0.01)
                    if i % 2:
                        rst_close(w)
                    else:
                        w.close()
            except (ConnectionError, OSError):
                ST.add("churn", "reset")
                w.close()
    t0 = time.time()
    await asyncio.gather(*(one(i) for i in range(n)))
    ST.add("churn", "seconds %d" % round(time.time() - t0))


async def pipeline_round(port, files, rnd):
    """8 pipelined requests; then all read, or the connection dropped."""
    names = list(files)
    paths = [random.choice(names) for _ in range(8)]
    raw = b"".join(req(p, "HEAD" if k == 3 else "GET", close=False)
                   for k, p in enumerate(paths))
    mode = rnd.choice(["all", "all", "drop-after-part", "rst-after-part",
                       "drop-mid-request", "rst-unread"])
    try:
        r, w = await connect(port)
    except (OSError, asyncio.TimeoutError) as e:
        ST.bad("pipeline", "connect failed: %s" % e)
        return
    try:
        if mode == "drop-mid-request":
            w.write(raw[:len(raw) - rnd.randint(1, 40)])
            await w.drain()
            a = await read_answer(r)    # the first is complete: answered
            if a is None:
                closed_bad("pipeline", "no answer to the first complete request")
            else:
                judge("pipeline", "pipelined GET", a[0], a[2], ok=(200,),
                      expect=files[paths[0]])
            w.close()
            ST.add("pipeline", "dropped-mid-request")
            return
        w.write(raw)
        await w.drain()
        if mode == "rst-unread":
            rst_close(w)
            ST.add("pipeline", "rst-unread")
            return
        if mode in ("drop-after-part", "rst-after-part"):
            await asyncio.wait_for(r.read(rnd.randint(1, 3000)), ANSWER_TIMEOUT)
            (rst_close if mode == "rst-after-part" else lambda x: x.close())(w)
            ST.add("pipeline", mode)
            return
        for k, p in enumerate(paths):
            a = await read_answer(r, head_only=(k == 3))
            if a is None:
                closed_bad("pipeline", "EOF after %d of 8 pipelined answers" % k)
                break
            st, hdr, body = a
            judge("pipeline", "pipelined %s %s" % ("HEAD" if k == 3 else "GET",
                  p), st, body, ok=(200,), expect=None if k == 3 else files[p])
            if k == 3 and int(hdr.get("content-length", -1)) != len(files[p]):
                ST.bad("pipeline", "HEAD %s: Content-Length %s, expected %d" %
                       (p, hdr.get("content-length"), len(files[p])))
        ST.add("pipeline", "read-all")
    except asyncio.TimeoutError:
        ST.bad("pipeline", "%s: no answer in %.0f s" % (mode, ANSWER_TIMEOUT))
    except (ConnectionError, OSError) as e:
        closed_bad("pipeline", "%s: connection error %s" % (mode, e))
    except ValueError as e:
        ST.bad("pipeline", "%s: %s" % (mode, e))
    finally:
        w.close()


def range_cases(size):
    big = "9" * 40
    many = ",".join("%d-%d" % (i, i) for i in range(0, min(size, 2000)))
    return [
        ("0-0", "bytes=0-0"), ("first", "bytes=0-99"), ("suffix", "bytes=-100"),
        ("open", "bytes=%d-" % (size // 2)), ("last byte", "bytes=%d-%d" % (size - 1, size - 1)),
        ("end past EOF", "bytes=10-%d" % (size * 10)),
        ("start at EOF", "bytes=%d-" % size), ("start past EOF", "bytes=%d-%d" % (size + 5, size + 50)),
        ("suffix > size", "bytes=-%d" % (size * 3)), ("suffix 0", "bytes=-0"),
        ("two", "bytes=0-1,5-9"), ("overlapping", "bytes=0-500,100-600,0-"),
        ("2000 ranges", "bytes=" + many), ("many overlapping", "bytes=" + ",".join(["0-"] * 500)),
        ("huge numbers", "bytes=%s-%s" % (big, big)), ("huge end", "bytes=0-%s" % big),
        ("2^64", "bytes=18446744073709551615-18446744073709551616"),
        ("2^63", "bytes=9223372036854775807-"), ("huge suffix", "bytes=-%s" % big),
        ("negative start", "bytes=-5-10"), ("negative end", "bytes=0--1"),
        ("reversed", "bytes=100-50"), ("no numbers", "bytes=-"), ("empty", "bytes="),
        ("bad unit", "pages=0-1"), ("no unit", "0-100"), ("spaces", "bytes = 0 - 10"),
        ("garbage", "bytes=abc-def"), ("commas", "bytes=,,,0-1,,,"), ("hex", "bytes=0x10-0x20"),
        ("plus", "bytes=+1-+2"), ("float", "bytes=1.5-2.5"), ("NUL", "bytes=0-1\x00"),
        ("10 KB header", "bytes=" + "0-1," * 2500),
    ]


async def range_round(port, path, data, cases, rnd):
    desc, v = rnd.choice(cases)
    raw = req(path, extra=b"Range: " + v.encode("latin-1") + b"\r\n")
    st, hdr, body = await checked("range", "Range %s" % desc, port, raw,
                                  ok=(200, 206, 400, 416, 431), may_close=True)
    if st == 206:
        cr = hdr.get("content-range", "")
        try:
            unit, spec = cr.split(" ", 1)
            a, b = spec.split("/")[0].split("-")
            a, b = int(a), int(b)
            if unit != "bytes" or body != data[a:b + 1] or \
                    spec.split("/")[1] != str(len(data)):
                raise ValueError
        except ValueError:
            ST.bad("range", "Range %s (%s): 206 with Content-Range %r and %d "
                   "wrong bytes" % (desc, v[:60], cr, len(body)))
    elif st == 200 and body != data:
        ST.bad("range", "Range %s: 200 with %d wrong bytes" % (desc, len(body)))


V505 = {"also": (505,)}
HOLD = {"may_hold": True}


def header_cases(path):
    h = b"Host: 127.0.0.1\r\n"
    g = b"GET " + path.encode() + b" HTTP/1.1\r\n"
    c = b"Connection: close\r\n\r\n"
    return [
        ("100 KB header", g + h + b"X-Big: " + b"a" * 100000 + b"\r\n" + c),
        ("1 MB header", g + h + b"X-Big: " + b"a" * (1 << 20) + b"\r\n" + c),
        ("10,000 headers", g + h + b"".join(b"X-%d: v\r\n" % i for i in range(10000)) + c),
        ("64 KB URL", b"GET /" + b"a" * 65536 + b" HTTP/1.1\r\n" + h + c),
        ("no colon", g + h + b"NoColonHere\r\n" + c),
        ("space before colon", g + h + b"X-A : b\r\n" + c),
        ("empty name", g + h + b": value\r\n" + c),
        ("obs-fold", g + h + b"X-A: b\r\n  folded\r\n" + c),
        ("bare LF", b"GET " + path.encode() + b" HTTP/1.1\nHost: x\nConnection: close\n\n"),
        ("bare CR", g + h + b"X-A: b\rX-B: c\r\n" + c),
        ("NUL in a header", g + h + b"X-A: b\x00c\r\n" + c),
        ("NUL in a name", g + h + b"X\x00A: b\r\n" + c),
        ("8-bit header", g + h + b"X-A: \xff\xfe\x80\r\n" + c),
        ("control in name", g + h + b"X\x01A: b\r\n" + c),
        # RFC 9110 15.6.6: 505 is the answer to an unsupported major
        # version (libmicrohttpd sends it itself): allowed here only.
        ("bad version", b"GET " + path.encode() + b" HTTP/9.9\r\n" + h + c, V505),
        ("junk version", b"GET " + path.encode() + b" HTXP/1.1\r\n" + h + c),
        ("no version", b"GET " + path.encode() + b"\r\n" + h + c),
        ("HTTP/1.0", b"GET " + path.encode() + b" HTTP/1.0\r\n\r\n"),
        ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", V505),
        # no end of header: the server may wait for more (Client-Timeout)
        ("TLS hello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 200, HOLD),
        ("binary junk", bytes(b for b in random.Random(5).randbytes(8192)
                              if b not in b"\r\n"), HOLD),
        ("empty lines", b"\r\n" * 1000 + g + h + c),
        ("many spaces", b"GET" + b" " * 5000 + path.encode() + b" HTTP/1.1\r\n" + h + c),
        ("two Hosts", g + h + h + c),
        ("CL on GET", g + h + b"Content-Length: 5\r\n" + c + b"hello"),
        ("negative CL", g + h + b"Content-Length: -1\r\n" + c),
        ("huge CL", g + h + b"Content-Length: 99999999999999999999999\r\n" + c),
        ("two CLs", g + h + b"Content-Length: 1\r\nContent-Length: 2\r\n" + c + b"xx"),
        ("chunked GET", g + h + b"Transfer-Encoding: chunked\r\n" + c + b"5\r\nhello\r\n0\r\n\r\n"),
        ("bad chunked", g + h + b"Transfer-Encoding: chunked\r\n" + c + b"zz\r\nhello\r\n"),
        ("TE and CL", g + h + b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n" + c + b"0\r\n\r\n"),
        ("Expect 100", g + h + b"Expect: 100-continue\r\n" + c),
        ("bad If-Modified-Since", g + h + b"If-Modified-Since: " + b"x" * 5000 + b"\r\n" + c),
        ("bad If-None-Match", g + h + b'If-None-Match: "' + b"," * 5000 + b"\r\n" + c),
        ("huge cookie", g + h + b"Cookie: " + b"a=b; " * 3000 + b"\r\n" + c),
    ]


def method_cases(path):
    p = path.encode()
    h = b"Host: 127.0.0.1\r\nConnection: close\r\n"
    cases = []
    for m in (b"POST", b"PUT", b"DELETE", b"OPTIONS", b"TRACE", b"PATCH",
              b"PROPFIND", b"MKCOL", b"LOCK", b"COPY", b"MOVE", b"BREW",
              b"get", b"Get", b"FOO", b"X" * 300, b"G-E-T", b"M-SEARCH"):
        cases.append(("method %s" % m[:20].decode(), m + b" " + p + b" HTTP/1.1\r\n" + h + b"\r\n", True))
    cases += [
        ("POST with a body", b"POST " + p + b" HTTP/1.1\r\n" + h + b"Content-Length: 11\r\n\r\nhello world", True),
        ("POST 1 MB body", b"POST " + p + b" HTTP/1.1\r\n" + h + b"Content-Length: 1048576\r\n\r\n" + b"z" * 1048576, True),
        ("POST unsent 1 GB", b"POST " + p + b" HTTP/1.1\r\n" + h + b"Content-Length: 1073741824\r\n\r\nabc", True),
        ("PUT chunked", b"PUT " + p + b" HTTP/1.1\r\n" + h + b"Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n", True),
        ("TRACE with headers", b"TRACE / HTTP/1.1\r\n" + h + b"X-Secret: s3cr3t\r\n\r\n", True),
        ("OPTIONS *", b"OPTIONS * HTTP/1.1\r\n" + h + b"\r\n", True),
        ("CONNECT", b"CONNECT example.org:443 HTTP/1.1\r\n" + h + b"\r\n", True),
        ("CONNECT self", b"CONNECT 127.0.0.1:22 HTTP/1.1\r\n" + h + b"\r\n", True),
        ("NUL method", b"G\x00T " + p + b" HTTP/1.1\r\n" + h + b"\r\n", False),
        ("control method", b"\x01\x02\x03 " + p + b" HTTP/1.1\r\n" + h + b"\r\n", False),
        ("8-bit method", b"\xc3\xa9T " + p + b" HTTP/1.1\r\n" + h + b"\r\n", False),
        ("empty method", b" " + p + b" HTTP/1.1\r\n" + h + b"\r\n", False),
    ]
    return cases


async def loop_until(end, fn, pause):
    while time.time() < end:
        await fn()
        await asyncio.sleep(pause)


async def main_async(a, files):
    end = time.time() + a.duration
    rnd = random.Random(a.seed)
    fpath, fdata = max(files.items(), key=lambda kv: len(kv[1]))
    rcases = range_cases(len(fdata))
    hcases = header_cases(fpath)
    mcases = method_cases(fpath)
    partials = [b"GET /demo/la", b"GET " + fpath.encode() + b" HTTP/1.1\r\nHo",
                b"G", b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc",
                b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 50]
    held = [0, 0, 0.0]   # now, most at once, longest before a server close
    life = [0.0, 0]      # a trickler's longest life (s) and most bytes sent

    async def one_header():
        case = rnd.choice(hcases)
        d, raw, kw = case[0], case[1], (case[2] if len(case) > 2 else {})
        await checked("headers", d, a.port, raw, may_close=True, **kw)

    async def one_method():
        d, raw, wellformed = rnd.choice(mcases)
        # 405 (or 400/501 are NOT fine: 501 is a 5xx); a close is fine
        # only for a request line that is not well-formed, or a body the
        # server does not wait for (it answers 405 at once and closes
        # with the body unread: the kernel then sends an RST that may
        # destroy the 405 in flight).
        await checked("methods", d, a.port, raw, ok=(400, 405, 411, 413, 414, 431),
                      may_close=not wellformed or b"1073741824" in raw or
                      b"1048576" in raw)

    async def one_range():
        await range_round(a.port, fpath, fdata, rcases, rnd)

    async def one_pipeline():
        await pipeline_round(a.port, files, rnd)

    tasks = [asyncio.ensure_future(idle_one(a.port, end, i, held))
             for i in range(a.idle)]
    tasks += [asyncio.ensure_future(trickle_one(a.port, end, i, life))
              for i in range(a.trickle)]
    # let the holders get their connections first
    await asyncio.sleep(min(3.0, a.duration / 4))
    tasks += [asyncio.ensure_future(churn(a.port, a.churn, a.conc, partials))]
    for fn, pause, n in ((one_header, 0.05, 2), (one_method, 0.05, 2),
                         (one_range, 0.05, 2), (one_pipeline, 0.1, 2)):
        tasks += [asyncio.ensure_future(loop_until(end, fn, pause))
                  for _ in range(n)]
    await asyncio.gather(*tasks)
    return held, life


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--file", action="append", required=True,
                    help="URLPATH=LOCALFILE, a file the server serves")
    ap.add_argument("--out", required=True)
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--idle", type=int, default=300)
    ap.add_argument("--trickle", type=int, default=50)
    ap.add_argument("--churn", type=int, default=10000)
    ap.add_argument("--conc", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--may-close", action="store_true")
    ap.add_argument("--source", default=None,
                    help="connect from this loopback address")
    a = ap.parse_args()
    global SOURCE
    SOURCE = a.source
    global MAY_CLOSE
    MAY_CLOSE = a.may_close
    random.seed(a.seed)
    files = {}
    for f in a.file:
        u, _, l = f.partition("=")
        files[u] = open(l, "rb").read()
    stop, rss = threading.Event(), {}
    th = threading.Thread(target=rss_sampler, args=(a.pid, stop, rss),
                          daemon=True)
    th.start()
    t0 = time.time()
    held, life = asyncio.run(main_async(a, files))
    stop.set()
    th.join()
    counts = {k: dict(v) for k, v in ST.count.items()}
    reqs = sum(n for cat in ("headers", "methods", "range", "pipeline")
               for w, n in ST.count[cat].items() if w.isdigit())
    out = {
        "seconds": round(time.time() - t0, 1),
        "counts": counts,
        "answers": reqs,
        "idle_most_at_once": held[1],
        "idle_longest_before_server_close_s": round(held[2], 1),
        "trickle_longest_life_s": round(life[0], 1),
        "trickle_most_bytes": life[1],
        "rss": rss,
        "violations": ST.nviol,
        "per_case": {k: dict(v) for k, v in sorted(ST.case.items())},
        "examples": ST.violations,
    }
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
