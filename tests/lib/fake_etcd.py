#!/usr/bin/env python3
"""fake_etcd.py: a scripted stand-in for etcd's JSON gateway, for the
faults a real etcd cannot produce on demand: a message split into 1-byte
chunks, a connection dropped in the middle of a message, garbage on the
stream.  Only 127.0.0.1.

  fake_etcd.py SCRIPT.json PORTFILE LOGFILE

SCRIPT: {"range": <range response object>,
         "watches": [[step, ...], ...],   one list per watch connection
         "empty": N,                      optional: close the first N
                                          connections without a reply,
                                          like an etcd that is restarting
         "answers": {PATH: answer}}       optional: every request to PATH
                                          ("/v3/kv/range", ...) gets answer
answer: {"status": N, "body": "text", "type": "text/plain"}: a whole reply
        other than etcd's (a 404, a proxy's HTML page); also in place of
        a watch connection's list of steps
step:   {"send": "text", "chunk": N}   write text as HTTP chunks of N bytes
        {"cut": "text"}                write part of a chunk, then drop the
                                       connection (like etcd SIGKILLed)
        {"end": true}                  end the chunked body cleanly
        {"hold": true}                 keep the stream open until the client
                                       goes away
A connection beyond the script's list repeats the last one.  The chosen
port goes to PORTFILE; every watch request body is appended to LOGFILE,
and one line per connection to LOGFILE.conns: "empty", "http", or "tls"
for a TLS ClientHello, which is answered the way Go's net/http (a plain
etcd) answers it, with "400 Bad Request".
"""
import json
import socket
import socketserver
import sys
import threading

SCRIPT = json.load(open(sys.argv[1]))
LOG = sys.argv[3]
lock = threading.Lock()
watch_count = [0]
conn_count = [0]


def note(what):
    with lock:
        with open(LOG + ".conns", "a") as log:
            log.write(what + "\n")


def read_request(f):
    line = f.readline()
    if not line:
        return None, None
    path = line.split()[1].decode()
    length = 0
    while True:
        h = f.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value.strip())
    return path, f.read(length)


def answer(wfile, a):
    body = a.get("body", "").encode()
    wfile.write(b"HTTP/1.1 %d Whatever\r\nContent-Type: %s\r\n"
                b"Content-Length: %d\r\n\r\n%s"
                % (a["status"], a.get("type", "text/plain").encode(), len(body), body))
    wfile.flush()


def chunk(sock, data):
    sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        if self.connection.recv(1, socket.MSG_PEEK) == b"\x16":
            note("tls")
            self.connection.recv(65536)
            self.wfile.write(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"
                             b"400 Bad Request")
            return
        with lock:
            n = conn_count[0]
            conn_count[0] += 1
        if n < SCRIPT.get("empty", 0):
            read_request(self.rfile)
            note("empty")
            return  # closed without a byte: curl's "Empty reply from server"
        note("http")
        while True:
            path, body = read_request(self.rfile)
            if path is None:
                return
            if path == "/v3/watch":
                self.watch(body)
                return
            if path in SCRIPT.get("answers", {}):
                answer(self.wfile, SCRIPT["answers"][path])
                continue
            resp = json.dumps(SCRIPT["range"]).encode()
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(resp), resp))
            self.wfile.flush()

    def watch(self, body):
        with lock:
            n = watch_count[0]
            watch_count[0] += 1
            with open(LOG, "a") as log:
                log.write(body.decode() + "\n")
        steps = SCRIPT["watches"][min(n, len(SCRIPT["watches"]) - 1)]
        if isinstance(steps, dict):
            answer(self.wfile, steps)
            return
        s = self.connection
        s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        for st in steps:
            if "send" in st:
                data = st["send"].encode()
                size = st.get("chunk", len(data)) or 1
                for i in range(0, len(data), size):
                    chunk(s, data[i:i + size])
            elif "cut" in st:
                data = st["cut"].encode()
                s.sendall(b"%x\r\n%s" % (len(data) * 2, data))
                s.shutdown(socket.SHUT_RDWR)
                return
            elif "end" in st:
                s.sendall(b"0\r\n\r\n")
                return
            elif "hold" in st:
                # Until the client closes: a read returns b"" then.
                while s.recv(4096):
                    pass
                return


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    with open(sys.argv[2] + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(sys.argv[2] + ".tmp", sys.argv[2])
    srv.serve_forever()


if __name__ == "__main__":
    main()
