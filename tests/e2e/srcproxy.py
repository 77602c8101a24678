#!/usr/bin/env python3
"""srcproxy.py: an HTTP proxy for apt whose connections come from a given
loopback address, so that a test's apt clients reach mirrord as distinct
machines (apt cannot choose its source address; every 127.0.0.0/8 address
is this host's).

    srcproxy.py SOURCE_ADDR PORT_FILE

Listens on 127.0.0.1 (a free port, written to PORT_FILE), takes GET and
HEAD requests in absolute form ("GET http://127.0.0.1:8080/x HTTP/1.1"),
forwards each to its origin from SOURCE_ADDR with "Connection: close" and
relays the answer byte for byte, then closes. One request a connection:
apt opens another for the next. Loopback origins only; exits after
10 minutes whatever happens.
"""
import os
import socket
import socketserver
import sys
import threading
import urllib.parse

SRC = sys.argv[1]


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline(65536).decode("latin-1")
        parts = line.split()
        if len(parts) != 3 or parts[0] not in ("GET", "HEAD"):
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\n"
                             b"Connection: close\r\nContent-Length: 0\r\n\r\n")
            return
        url = urllib.parse.urlsplit(parts[1])
        host = url.hostname or ""
        if not host.startswith("127.") and host not in ("localhost", "::1"):
            self.wfile.write(b"HTTP/1.1 403 Forbidden\r\n"
                             b"Connection: close\r\nContent-Length: 0\r\n\r\n")
            return
        headers = []
        while True:
            h = self.rfile.readline(65536).decode("latin-1")
            if h in ("\r\n", "\n", ""):
                break
            name = h.split(":", 1)[0].strip().lower()
            if name not in ("connection", "proxy-connection", "keep-alive"):
                headers.append(h.rstrip("\r\n"))
        path = url.path or "/"
        if url.query:
            path += "?" + url.query
        req = "%s %s HTTP/1.1\r\n%s\r\nConnection: close\r\n\r\n" % (
            parts[0], path, "\r\n".join(headers))
        with socket.create_connection((host, url.port or 80), timeout=60,
                                      source_address=(SRC, 0)) as up:
            up.sendall(req.encode("latin-1"))
            while True:
                data = up.recv(65536)
                if not data:
                    break
                self.wfile.write(data)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    tmp = sys.argv[2] + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, sys.argv[2])
    threading.Timer(600, os._exit, args=(0,)).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
