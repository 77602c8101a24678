#!/usr/bin/env python3
"""fetch_server.py DIR: a small HTTP/1.1 test server for t_fetch.

Listens on 127.0.0.1, port 0, and prints the chosen port on its first line
of output. Serves files of DIR (single Range "bytes=N-" or "bytes=N-M"
answered with 206, or 416), plus misbehaving special paths:

  /fail500/N/<name>  500 (Retry-After: 0) to the first N requests, then 200
  /reset/<name>      the first time: full Content-Length, half the body, close
  /reset200/<name>   the same, but later requests ignore Range (200, all)
  /stall/<name>      headers, then silence forever
  /big/<name>        endless data, no matter what the file's size is
  /declare/<N>       Content-Length: N, ten bytes, then silence forever
  /redirect-file     302 to file:///etc/passwd
  /redirect-ctl      302 to a Location holding a bare CR
  /redirect/<name>   302 to /<name>
  /etag/<name>       ETag and Last-Modified; If-None-Match -> 304
  /log               one line per earlier request: "path range user-agent"
"""
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.abspath(sys.argv[1])
LOCK = threading.Lock()
LOG = []
COUNTS = {}
LASTMOD = "Mon, 01 Jan 2024 00:00:00 GMT"


def count(key):
    with LOCK:
        COUNTS[key] = COUNTS.get(key, 0) + 1
        return COUNTS[key]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, Nagle and
    # delayed ACKs cost 40 ms per keep-alive request.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_file(self, name):
        path = os.path.normpath(os.path.join(ROOT, name))
        if not path.startswith(ROOT + "/") or not os.path.isfile(path):
            return None
        with open(path, "rb") as fp:
            return fp.read()

    def send_file(self, name, extra=(), ranges=True):
        data = self.read_file(name)
        if data is None:
            return self.reply(404, b"not found\n")
        rng = self.headers.get("Range")
        if ranges and rng and rng.startswith("bytes="):
            first, _, last = rng[6:].partition("-")
            first = int(first)
            last = int(last) if last else len(data) - 1
            if first >= len(data):
                return self.reply(416, b"", [("Content-Range",
                                              "bytes */%d" % len(data))])
            last = min(last, len(data) - 1)
            cr = "bytes %d-%d/%d" % (first, last, len(data))
            return self.reply(206, data[first:last + 1],
                              [("Content-Range", cr)] + list(extra))
        self.reply(200, data, extra)

    def do_GET(self):
        p = self.path.split("?", 1)[0]
        if p == "/log":
            with LOCK:
                body = "".join(LOG).encode()
            return self.reply(200, body)
        with LOCK:
            LOG.append("%s %s %s\n" % (p, self.headers.get("Range", "-"),
                                        self.headers.get("User-Agent")))
        parts = p.lstrip("/").split("/")
        kind = parts[0]
        if kind == "fail500" and len(parts) == 3:
            if count(p) <= int(parts[1]):
                return self.reply(500, b"try later\n",
                                  [("Retry-After", "0")])
            return self.send_file(parts[2])
        if kind in ("reset", "reset200") and len(parts) == 2:
            data = self.read_file(parts[1])
            if data is not None and count(p) == 1:
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[:len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            return self.send_file(parts[1], ranges=kind == "reset")
        if kind == "stall" and len(parts) == 2:
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.flush()
            time.sleep(3600)
            return
        if kind == "declare" and len(parts) == 2:
            self.send_response(200)
            self.send_header("Content-Length", parts[1])
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.wfile.flush()
            time.sleep(3600)
            return
        if kind == "big" and len(parts) == 2:
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                while True:
                    self.wfile.write(b"x" * 65536)
            except OSError:
                pass
            return
        if p == "/redirect-file":
            return self.reply(302, b"", [("Location", "file:///etc/passwd")])
        if p == "/redirect-ctl":
            return self.reply(302, b"", [("Location", "/a\rSet-Cookie: x")])
        if kind == "redirect" and len(parts) == 2:
            return self.reply(302, b"", [("Location", "/" + parts[1])])
        if kind == "etag" and len(parts) == 2:
            data = self.read_file(parts[1])
            if data is None:
                return self.reply(404, b"not found\n")
            tag = '"%d-%x"' % (len(data), hash(data) & 0xffffffff)
            if self.headers.get("If-None-Match") == tag:
                self.send_response(304)
                self.send_header("ETag", tag)
                self.end_headers()
                return
            return self.reply(200, data, [("ETag", tag),
                                          ("Last-Modified", LASTMOD)])
        return self.send_file(p.lstrip("/"))


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients hanging up on purpose (limits, stalls) are normal


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
