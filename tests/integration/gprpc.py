#!/usr/bin/env python3
"""RPC-level checks of a GSS-Proxy server (program 400112 v1) on SOCKET.

Each case sends raw bytes and checks the disposition against the reference
table (docs/gssproxy.md): replies, rejects, GARBAGE_ARGS, closed connections.
Prints one line per case; exits 1 on the first mismatch.
"""
import socket
import struct
import sys

LAST = 0x80000000


def u32(v):
    return struct.pack(">I", v)


def hdr(xid=1, mtype=0, rpcvers=2, prog=400112, vers=1, proc=1, flavor=0, credlen=0):
    return (u32(xid) + u32(mtype) + u32(rpcvers) + u32(prog) + u32(vers) + u32(proc) +
            u32(flavor) + u32(credlen) + b"\0" * ((credlen + 3) & ~3) + u32(0) + u32(0))


CALL_CTX = u32(0) + u32(0) + u32(0)          # empty locale, server_ctx, options


def conn(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(path)
    return s


BUFS = {}


def recv_record(s):
    buf = BUFS.pop(s.fileno(), b"")
    out = b""
    while True:
        while len(buf) < 4:
            d = s.recv(65536)
            if not d:
                return None
            buf += d
        m = struct.unpack(">I", buf[:4])[0]
        n = m & ~LAST
        while len(buf) < 4 + n:
            d = s.recv(65536)
            if not d:
                return None
            buf += d
        out += buf[4:4 + n]
        buf = buf[4 + n:]
        if m & LAST:
            BUFS[s.fileno()] = buf
            return out


def expect(name, rec, want_words=None, want_len=None):
    if rec is None:
        print("FAIL %s: connection closed, expected a reply" % name)
        sys.exit(1)
    words = [struct.unpack(">I", rec[i:i + 4])[0] for i in range(0, min(len(rec), 40), 4)]
    if want_words is not None and words[:len(want_words)] != want_words:
        print("FAIL %s: reply words %s, expected %s" % (name, words, want_words))
        sys.exit(1)
    if want_len is not None and len(rec) != want_len:
        print("FAIL %s: reply %d bytes, expected %d" % (name, len(rec), want_len))
        sys.exit(1)
    print("ok %s: %s" % (name, " ".join("%x" % w for w in words[:8])))


def expect_closed(name, s):
    try:
        rec = recv_record(s)
    except (ConnectionResetError, socket.timeout) as e:
        if isinstance(e, socket.timeout):
            print("FAIL %s: no close within the timeout" % name)
            sys.exit(1)
        rec = None
    if rec is not None:
        print("FAIL %s: got a %d-byte reply, expected the connection closed" % (name, len(rec)))
        sys.exit(1)
    print("ok %s: connection closed" % name)


def send(s, body, frags=1):
    if frags == 1:
        s.sendall(u32(LAST | len(body)) + body)
        return
    step = (len(body) + frags - 1) // frags
    parts = [body[i:i + step] for i in range(0, len(body), step)]
    for i, p in enumerate(parts):
        s.sendall(u32((LAST if i == len(parts) - 1 else 0) | len(p)) + p)


def main(path):
    s = conn(path)
    # Accepted: xid, REPLY, MSG_ACCEPTED, verf AUTH_NONE len 0, stat.
    send(s, hdr(xid=10, proc=0))
    expect("NULLPROC -> empty SUCCESS", recv_record(s), [10, 1, 0, 0, 0, 0], 24)
    send(s, hdr(xid=11, rpcvers=3))
    expect("rpcvers 3 -> MSG_DENIED RPC_MISMATCH 2..2", recv_record(s), [11, 1, 1, 0, 2, 2], 24)
    send(s, hdr(xid=12, prog=100003))
    expect("wrong program -> PROG_UNAVAIL", recv_record(s), [12, 1, 0, 0, 0, 1], 24)
    send(s, hdr(xid=13, vers=2))
    expect("version 2 -> PROG_MISMATCH 1..1", recv_record(s), [13, 1, 0, 0, 0, 2, 1, 1], 32)
    send(s, hdr(xid=14, proc=16))
    expect("proc 16 -> PROC_UNAVAIL", recv_record(s), [14, 1, 0, 0, 0, 3], 24)
    send(s, hdr(xid=15, flavor=1, credlen=20))
    expect("AUTH_SYS -> AUTH_ERROR AUTH_FAILED", recv_record(s), [15, 1, 1, 1, 7], 20)
    send(s, hdr(xid=16, proc=1) + b"\0\0")
    expect("truncated args -> GARBAGE_ARGS", recv_record(s), [16, 1, 0, 0, 0, 4], 24)
    send(s, hdr(xid=17, proc=1) + CALL_CTX + b"\0\0\0\0")
    expect("trailing bytes -> GARBAGE_ARGS", recv_record(s), [17, 1, 0, 0, 0, 4], 24)
    send(s, hdr(xid=18, proc=2) + CALL_CTX + u32(0))
    expect("GET_CALL_CONTEXT -> 68-byte zero result", recv_record(s), [18, 1, 0, 0, 0, 0] +
           [0] * 4, 68)
    send(s, hdr(xid=19, proc=1) + CALL_CTX, frags=5)
    rec = recv_record(s)
    expect("INDICATE_MECHS in 5 fragments -> SUCCESS", rec, [19, 1, 0, 0, 0, 0, 0, 0])
    if b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02" not in rec:
        print("FAIL INDICATE_MECHS: krb5 OID missing")
        sys.exit(1)
    print("   INDICATE_MECHS reply %d bytes, krb5 listed" % len(rec))
    # Pipelined calls on one connection all get answers.
    s.sendall(b"".join(u32(LAST | len(b)) + b for b in
                       [hdr(xid=20 + i, proc=0) for i in range(5)]))
    got = sorted(struct.unpack(">I", recv_record(s)[:4])[0] for _ in range(5))
    if got != [20, 21, 22, 23, 24]:
        print("FAIL pipelined NULLs: xids %s" % got)
        sys.exit(1)
    print("ok 5 pipelined calls answered")
    s.close()

    s = conn(path)
    send(s, hdr(xid=30, mtype=1))
    expect_closed("msg_type REPLY", s)
    s = conn(path)
    send(s, hdr(xid=31, credlen=404))
    expect_closed("credential body over 400 bytes", s)
    s = conn(path)
    s.sendall(u32(LAST | (1024 * 1024 + 4)) + b"\0" * 4096)
    expect_closed("record over 1 MiB", s)
    s = conn(path)
    big = hdr(xid=32, proc=0) + b"\0" * (1024 * 1024 - 40)
    send(s, big, frags=3)
    expect("record of exactly 1 MiB in 3 fragments", recv_record(s), [32, 1, 0, 0, 0, 0])
    print("all RPC cases passed")


if __name__ == "__main__":
    main(sys.argv[1])
