#!/usr/bin/env python3
"""hostile.py: a hostile HTTP/1.1 upstream for the fault suite (make faults).

    hostile.py --control FILE [--log FILE] [--port N]

Listens on 127.0.0.1 (port 0: any free one) and prints the port as the
first line on stdout. URLs are /debian/<path>; everything else is 404.
What it serves, and how it misbehaves, comes from the JSON object in the
control FILE, re-read on every request (write it atomically: a temp file,
then rename). Keys:

  "root": DIR          the archive served for /debian/ (required)
  "swap": {"after": RE, "root": DIR}
                       from the first request whose path matches RE on
                       (that one included), serve DIR instead of root:
                       upstream changing under a running sync
  "rules": [RULE...]   the first rule whose "match" (a Python regular
                       expression searched in the path) matches decides;
                       no match: the file is served as it is

A RULE is {"match": RE, "action": A, ...} with A one of:

  "serve"      the file from "root" (another archive) instead
  "stall"      read the request, then send nothing at all, ever
  "trickle"    headers (the true Content-Length), then one byte every
               "interval" seconds (default 1)
  "reset"      headers, "fraction" (default 0.5) of the body, then a TCP
               reset (SO_LINGER 0), on every attempt (Range is ignored)
  "endless"    headers, then the file and endless filler bytes ("fill",
               default "\\n") until the client goes; with "length": N the
               headers promise N bytes, without it none (close-delimited)
  "status"     answer "code" with "headers" ({name: value}) and a short
               body
  "redirect"   answer "code" (default 302) with a Location header whose
               value is "location" written raw (it may hold CR, LF...)

Counters and the swap restart whenever the control file's content
changes. Each request is logged to --log FILE as one line, before the body:
    METHOD PATH STATUS ACTION
Python 3 standard library only.
"""

import argparse
import http.server
import json
import os
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse

PREFIX = "/debian/"
STALL_MAX = 900         # a stalled handler gives up after this (seconds)
ENDLESS_MAX = 64 << 30  # endless bodies end here, should a client never stop


class State:
    def __init__(self, control, log):
        self.control = control
        self.log = log
        self.lock = threading.Lock()
        self.raw = None
        self.swapped = False

    def rules(self):
        try:
            with open(self.control) as f:
                raw = f.read()
        except FileNotFoundError:
            raw = ""
        with self.lock:
            if raw != self.raw:
                self.raw = raw
                self.swapped = False
        try:
            return json.loads(raw) if raw.strip() else {}
        except ValueError as e:
            sys.stderr.write("hostile: bad control file: %s\n" % e)
            return {}

    def root_for(self, rules, path):
        """The archive root for this request (the swap is sticky)."""
        sw = rules.get("swap")
        with self.lock:
            if sw and not self.swapped and re.search(sw["after"], path):
                self.swapped = True
            if sw and self.swapped:
                return sw["root"]
        return rules.get("root", "")

    def write_log(self, line):
        if not self.log:
            return
        with self.lock:
            with open(self.log, "a") as f:
                f.write(line + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hostile.py"
    state = None

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self.handle_req(head=False)

    def do_HEAD(self):
        self.handle_req(head=True)

    def log_line(self, status, action):
        self.state.write_log("%s %s %s %s" % (self.command, self.path,
                                              status, action))

    def raw(self, data):
        """Writes bytes as they are; False once the client is gone."""
        try:
            self.wfile.write(data)
            self.wfile.flush()
            return True
        except OSError:
            self.close_connection = True
            return False

    def head_lines(self, code, reason, headers):
        out = ["HTTP/1.1 %d %s" % (code, reason),
               "Server: hostile.py"] + ["%s: %s" % kv for kv in headers]
        return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")

    def simple(self, code, reason, action, headers=(), body=b""):
        self.log_line(code, action)
        h = list(headers) + [("Content-Length", str(len(body)))]
        self.raw(self.head_lines(code, reason, h) +
                 (b"" if self.command == "HEAD" else body))

    def handle_req(self, head):
        st = self.state
        rules = st.rules()
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        if not path.startswith(PREFIX):
            return self.simple(404, "Not Found", "-")
        rel = os.path.normpath("/" + path[len(PREFIX):]).lstrip("/")
        root = st.root_for(rules, path)
        rule = {}
        for r in rules.get("rules", []):
            if re.search(r["match"], path):
                rule = r
                break
        action = rule.get("action", "serve")
        if action == "serve" and "root" in rule:
            root = rule["root"]

        if action == "stall":
            self.log_line("-", "stall")
            self.close_connection = True
            end = time.time() + STALL_MAX
            self.connection.settimeout(1.0)
            while time.time() < end:    # until the client goes away
                try:
                    if self.connection.recv(4096) == b"":
                        return
                except socket.timeout:
                    continue
                except OSError:
                    return
            return
        if action == "status":
            code = int(rule.get("code", 500))
            return self.simple(code, "Hostile", "status",
                               list(rule.get("headers", {}).items()),
                               b"hostile error page\n")
        if action == "redirect":
            code = int(rule.get("code", 302))
            self.log_line(code, "redirect")
            self.close_connection = True
            loc = rule["location"].encode("latin-1")
            self.raw(b"HTTP/1.1 %d Found\r\nLocation: " % code + loc +
                     b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return

        full = os.path.join(root, rel)
        if not rel or any(p.startswith(".") for p in rel.split("/")) or \
                not os.path.isfile(full):
            return self.simple(404, "Not Found", action)
        with open(full, "rb") as f:
            data = f.read()

        if action == "trickle":
            self.log_line(200, "trickle")
            interval = float(rule.get("interval", 1))
            if not self.raw(self.head_lines(200, "OK", [
                    ("Content-Length", str(len(data)))])) or head:
                return
            for i in range(len(data)):
                if not self.raw(data[i:i + 1]):
                    return
                time.sleep(interval)
            return
        if action == "reset":
            self.log_line(200, "reset")
            cut = int(len(data) * float(rule.get("fraction", 0.5)))
            self.raw(self.head_lines(200, "OK", [
                ("Content-Length", str(len(data)))]) + data[:cut])
            self.close_connection = True
            time.sleep(0.2)     # let the client read what was sent
            try:                # close with RST, not FIN
                self.connection.setsockopt(socket.SOL_SOCKET,
                                           socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.connection.close()
            except OSError:
                pass
            return
        if action == "endless":
            self.log_line(200, "endless")
            self.close_connection = True
            h = [("Connection", "close")]
            if "length" in rule:
                h.append(("Content-Length", str(int(rule["length"]))))
            if not self.raw(self.head_lines(200, "OK", h)) or head:
                return
            if not self.raw(data):
                return
            fill = rule.get("fill", "\n").encode("latin-1") * 65536
            sent = len(data)
            while sent < ENDLESS_MAX:
                if not self.raw(fill):
                    return
                sent += len(fill)
            return

        # Plain serving, with "Range: bytes=N-" (mirrord resumes so).
        start, code = 0, 200
        h = [("Content-Type", "application/octet-stream")]
        m = re.fullmatch(r"\s*bytes=(\d+)-\s*", self.headers.get("Range", ""))
        if m and int(m.group(1)) < len(data):
            start, code = int(m.group(1)), 206
            h.append(("Content-Range", "bytes %d-%d/%d" % (
                start, len(data) - 1, len(data))))
        body = data[start:]
        h.append(("Content-Length", str(len(body))))
        self.log_line(code, "serve" if root == rules.get("root") else
                      "serve:" + os.path.basename(root.rstrip("/")))
        self.raw(self.head_lines(code, "OK" if code == 200 else
                                 "Partial Content", h) +
                 (b"" if head else body))


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--control", required=True)
    ap.add_argument("--log")
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    Handler.state = State(a.control, a.log)
    srv = Server(("127.0.0.1", a.port), Handler)
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
