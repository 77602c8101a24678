#!/usr/bin/env python3
"""upstream.py: a static HTTP/1.1 server with fault injection, for e2e tests.

    upstream.py [--control FILE] [--log FILE] [--port N] DIR

Serves DIR on 127.0.0.1 (port 0 = any free port) and prints the port as the
first line on stdout. HTTP/1.1 with keep-alive, GET and HEAD, one byte range
per request (206, 416), If-Range, ETag, Last-Modified, If-None-Match and
If-Modified-Since (304).

Faults come from the JSON object in --control FILE, re-read on every
request (write it atomically: a temp file, then rename). Patterns are
Python regular expressions searched in the request path; every key is
optional:

  {"fail500": {"pattern": "pool/", "count": 3}}
        the first 3 matching requests get 500 (with Retry-After: 0)
  {"stall": "pattern"}      send the headers, then no body, ever
  {"truncate": "pattern"}   send the headers and half the body, then close
  {"status": {"pattern": 404}}   answer this status (no body) for matches
  {"delay": {"pattern": "", "seconds": 0.05}}   sleep before answering
  {"rate": {"pattern": "", "bytes_per_second": 20000}}  throttle bodies
  {"ignore_range": "pattern"}   answer 200 with the whole file to Range

Counters (fail500) restart whenever the control file's content changes.
Each request is logged to --log FILE as one line, written before the body
is sent:
    METHOD PATH STATUS BODY_BYTES [range=...] [fault=...]
"""

import argparse
import email.utils
import http.server
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.parse


class State:
    """What the handlers share: the control file, its counters, the log."""

    def __init__(self, root, control, log):
        self.root = os.path.realpath(root)
        self.control = control
        self.log = log
        self.lock = threading.Lock()
        self.raw = None
        self.counters = {}

    def rules(self):
        if not self.control:
            return {}
        try:
            with open(self.control) as f:
                raw = f.read()
        except FileNotFoundError:
            raw = ""
        with self.lock:
            if raw != self.raw:
                self.raw = raw
                self.counters = {}
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except ValueError as e:
            sys.stderr.write("upstream: bad control file: %s\n" % e)
            return {}

    def take(self, name, limit):
        """True for the first `limit` calls with this name since the last
        control change."""
        with self.lock:
            n = self.counters.get(name, 0)
            if n >= limit:
                return False
            self.counters[name] = n + 1
            return True

    def write_log(self, line):
        if not self.log:
            return
        with self.lock:
            with open(self.log, "a") as f:
                f.write(line + "\n")


def matches(pattern, path):
    return pattern is not None and re.search(pattern, path) is not None


def parse_range(header, size):
    """(start, end) inclusive, "unsatisfiable", or None (ignore: send all)."""
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if not m or (m.group(1) == "" and m.group(2) == ""):
        return None                     # malformed or multiple ranges
    if m.group(1) == "":                # suffix: the last N bytes
        n = int(m.group(2))
        if n == 0:
            return "unsatisfiable"
        return (max(0, size - n), size - 1)
    start = int(m.group(1))
    end = int(m.group(2)) if m.group(2) else size - 1
    if start >= size or end < start:
        return "unsatisfiable"
    return (start, min(end, size - 1))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "upstream.py"
    state = None                        # set by main()

    def log_message(self, fmt, *args):  # no noise on stderr
        pass

    def do_HEAD(self):
        self.serve(head=True)

    def do_GET(self):
        self.serve(head=False)

    def log_line(self, status, sent, extra=""):
        self.state.write_log("%s %s %d %d%s" % (self.command, self.path,
                                                status, sent, extra))

    def simple(self, status, extra="", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.log_line(status, 0, extra)

    def serve(self, head):
        st = self.state
        rules = st.rules()
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        extra = ""
        rng = self.headers.get("Range")
        if rng:
            extra += " range=%s" % rng.replace(" ", "")

        delay = rules.get("delay")
        if delay and matches(delay.get("pattern"), path):
            time.sleep(float(delay.get("seconds", 0)))

        status = rules.get("status") or {}
        for pat, code in status.items():
            if matches(pat, path):
                return self.simple(int(code), extra + " fault=status")

        fail = rules.get("fail500")
        if fail and matches(fail.get("pattern"), path) and \
                st.take("fail500", int(fail.get("count", 1))):
            return self.simple(500, extra + " fault=fail500",
                               [("Retry-After", "0")])

        # Map the URL path into root (normpath of an absolute path drops
        # every ".."; symlinks inside root are followed); no dot files.
        rel = os.path.normpath("/" + path).lstrip("/")
        full = os.path.join(st.root, rel)
        if any(p.startswith(".") for p in rel.split("/") if p):
            return self.simple(404, extra)
        try:
            f = open(full, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError,
                PermissionError):
            return self.simple(404, extra)
        with f:
            fs = os.fstat(f.fileno())
            if not os.path.isfile(full):
                return self.simple(404, extra)
            size = fs.st_size
            etag = '"%x-%x-%x"' % (fs.st_ino, size, fs.st_mtime_ns)
            lastmod = email.utils.formatdate(fs.st_mtime, usegmt=True)
            validators = [("ETag", etag), ("Last-Modified", lastmod),
                          ("Accept-Ranges", "bytes")]

            inm = self.headers.get("If-None-Match")
            ims = self.headers.get("If-Modified-Since")
            if inm is not None:
                if etag in [t.strip() for t in inm.split(",")] or \
                        inm.strip() == "*":
                    return self.simple(304, extra, validators)
            elif ims is not None:
                try:
                    t = email.utils.parsedate_to_datetime(ims).timestamp()
                    if int(fs.st_mtime) <= t:
                        return self.simple(304, extra, validators)
                except (TypeError, ValueError):
                    pass

            start, end, code = 0, size - 1, 200
            if rng and not matches(rules.get("ignore_range"), path):
                ifr = self.headers.get("If-Range")
                if ifr is None or ifr.strip() in (etag, lastmod):
                    r = parse_range(rng, size)
                    if r == "unsatisfiable":
                        return self.simple(416, extra, [
                            ("Content-Range", "bytes */%d" % size)])
                    if r is not None:
                        start, end, code = r[0], r[1], 206
            length = end - start + 1 if size else 0

            self.send_response(code)
            for k, v in validators:
                self.send_header(k, v)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(length))
            if code == 206:
                self.send_header("Content-Range",
                                 "bytes %d-%d/%d" % (start, end, size))
            self.end_headers()
            # Logged before the body goes out, so that a client that got
            # its answer always finds the request in the log.
            if head:
                return self.log_line(code, 0, extra)

            if matches(rules.get("stall"), path):
                self.log_line(code, 0, extra + " fault=stall")
                self.wfile.flush()
                while True:             # until the client gives up
                    time.sleep(3600)

            todo = length
            truncate = matches(rules.get("truncate"), path)
            if truncate:
                todo = length // 2
                extra += " fault=truncate"
            self.log_line(code, todo, extra)
            rate = rules.get("rate")
            bps = 0
            if rate and matches(rate.get("pattern"), path):
                bps = int(rate.get("bytes_per_second", 0))
            f.seek(start)
            sent = 0
            chunk = max(1, min(65536, bps // 10)) if bps else 65536
            try:
                while sent < todo:
                    data = f.read(min(chunk, todo - sent))
                    if not data:
                        break
                    self.wfile.write(data)
                    sent += len(data)
                    if bps:
                        self.wfile.flush()
                        time.sleep(len(data) / bps)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
                return self.state.write_log("  client closed after %d bytes"
                                            % sent)
            if truncate:
                # The promised length was not sent: drop the connection.
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--control", help="JSON fault file, re-read per request")
    ap.add_argument("--log", help="append one line per request here")
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    if not os.path.isdir(a.dir):
        sys.exit("upstream: '%s' is not a directory" % a.dir)
    Handler.state = State(a.dir, a.control, a.log)
    srv = Server(("127.0.0.1", a.port), Handler)
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
