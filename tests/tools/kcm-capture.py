#!/usr/bin/env python3
"""KCM capture proxy: records every request and reply frame between KCM clients and a server.

    kcm-capture.py --listen PROXY.sock --upstream SERVER.sock --out DIR [--label-file FILE]

Clients (kinit, klist, ...) are pointed at PROXY.sock (krb5.conf [libdefaults] kcm_socket).
Each connection is forwarded to SERVER.sock. For every request/reply pair the proxy writes

    DIR/NNNN-<label>-<OPNAME>.req   the request frame, 4-byte length prefix included
    DIR/NNNN-<label>-<OPNAME>.rep   the reply frame (len, outer status, payload)

and appends a line to DIR/index.tsv: seq, label, connection id, opcode, op name, request length,
reply inner code (hex). <label> is the current content of --label-file (re-read at every request,
so a driver script can write the name of the tool it is about to run), or "x".

Pure stdlib; one thread per connection. Stops on SIGINT/SIGTERM.
"""

import argparse
import os
import signal
import socket
import struct
import sys
import threading

OPNAMES = {
    0: "NOOP", 1: "GET_NAME", 2: "RESOLVE", 3: "GEN_NEW", 4: "INITIALIZE", 5: "DESTROY",
    6: "STORE", 7: "RETRIEVE", 8: "GET_PRINCIPAL", 9: "GET_CRED_UUID_LIST",
    10: "GET_CRED_BY_UUID", 11: "REMOVE_CRED", 12: "SET_FLAGS", 13: "CHOWN", 14: "CHMOD",
    15: "GET_INITIAL_TICKET", 16: "GET_TICKET", 17: "MOVE_CACHE", 18: "GET_CACHE_UUID_LIST",
    19: "GET_CACHE_BY_UUID", 20: "GET_DEFAULT_CACHE", 21: "SET_DEFAULT_CACHE",
    22: "GET_KDC_OFFSET", 23: "SET_KDC_OFFSET", 13001: "GET_CRED_LIST", 13002: "REPLACE",
}

MAX_FRAME = 16 * 1024 * 1024


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


class Recorder:
    def __init__(self, outdir, label_file):
        self.outdir = outdir
        self.label_file = label_file
        self.lock = threading.Lock()
        self.seq = 0
        os.makedirs(outdir, exist_ok=True)
        self.index = open(os.path.join(outdir, "index.tsv"), "a", buffering=1)

    def label(self):
        if not self.label_file:
            return "x"
        try:
            with open(self.label_file) as f:
                s = f.read().strip()
        except OSError:
            return "x"
        s = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in s)
        return s or "x"

    def next(self):
        with self.lock:
            self.seq += 1
            return self.seq

    def record(self, seq, label, conn_id, req, rep):
        op = struct.unpack(">H", req[6:8])[0] if len(req) >= 8 else -1
        name = OPNAMES.get(op, "OP%d" % op)
        base = os.path.join(self.outdir, "%04d-%s-%s" % (seq, label, name))
        with open(base + ".req", "wb") as f:
            f.write(req)
        code = ""
        if rep is not None:
            with open(base + ".rep", "wb") as f:
                f.write(rep)
            if len(rep) >= 12:
                code = rep[8:12].hex()
            elif len(rep) >= 8:
                code = "outer=" + rep[4:8].hex()
        with self.lock:
            self.index.write("%d\t%s\t%d\t%d\t%s\t%d\t%s\n"
                             % (seq, label, conn_id, op, name, len(req), code))


def serve_conn(rec, client, upstream_path, conn_id):
    up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        up.connect(upstream_path)
        while True:
            hdr = recv_exact(client, 4)
            if hdr is None:
                return
            (n,) = struct.unpack(">I", hdr)
            if n > MAX_FRAME:
                return
            body = recv_exact(client, n)
            if body is None:
                return
            req = hdr + body
            seq = rec.next()
            label = rec.label()
            up.sendall(req)
            rhdr = recv_exact(up, 8)
            if rhdr is None:
                rec.record(seq, label, conn_id, req, None)
                return
            (rlen, outer) = struct.unpack(">II", rhdr)
            rbody = recv_exact(up, rlen) if rlen > 0 else b""
            if rbody is None:
                rec.record(seq, label, conn_id, req, None)
                return
            rep = rhdr + rbody
            rec.record(seq, label, conn_id, req, rep)
            client.sendall(rep)
    except OSError as e:
        print("kcm-capture: connection %d: %s" % (conn_id, e), file=sys.stderr)
    finally:
        up.close()
        client.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--label-file")
    args = ap.parse_args()

    rec = Recorder(args.out, args.label_file)
    try:
        os.unlink(args.listen)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(args.listen)
    srv.listen(64)

    def stop(signum, frame):
        srv.close()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("kcm-capture: listening on %s -> %s" % (args.listen, args.upstream), flush=True)
    conn_id = 0
    while True:
        try:
            client, _ = srv.accept()
        except OSError:
            break
        conn_id += 1
        t = threading.Thread(target=serve_conn, args=(rec, client, args.upstream, conn_id),
                             daemon=True)
        t.start()


if __name__ == "__main__":
    main()
