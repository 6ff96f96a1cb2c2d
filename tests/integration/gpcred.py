#!/usr/bin/env python3
"""EXPORT_CRED / IMPORT_CRED / STORE_CRED against a GSS-Proxy server, with raw XDR.

usage: gpcred.py SOCKET STORE_SOCKET
  1. ACQUIRE_CRED(INITIATE) on SOCKET -> a sealed gssx_cred
  2. EXPORT_CRED of it -> exported_handle; IMPORT_CRED of that -> a cred again
  3. IMPORT_CRED of a tampered handle -> GSS_S_NO_CRED; of garbage -> DEFECTIVE_TOKEN
  4. STORE_CRED of the handle on STORE_SOCKET (a service with a ccache, sealing key from the
     same keytab) -> its tickets land in that ccache
Prints one line per step; exits 1 on a mismatch.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpkernel as g  # noqa: E402

CALL_CTX = g.u32(0) * 3
KRB5 = bytes.fromhex("2a864886f712010202")


def skip_options(r):
    r.options()


def skip_cred(r):
    g.skip_name(r)
    for _ in range(r.u32()):       # elements
        g.skip_name(r)
        r.opaque()
        r.u32()
        r.u64()
        r.u64()
        skip_options(r)
    r.opaque()                     # cred_handle_reference
    r.u32()                        # needs_release


def status(r):
    major = r.u64()
    r.opaque()
    minor = r.u64()
    r.opaque()
    r.opaque()
    r.opaque()
    skip_options(r)
    return major, minor


def call(sock, proc, args):
    c = g.Conn(sock)
    c.send(g.record(g.call_header(77, proc) + args))
    xid, stat, body = g.parse_reply(c.recv_record())
    if stat != 0:
        raise SystemExit("proc %d: accept_stat %d" % (proc, stat))
    return g.Rd(body), body


def acquire(sock):
    args = CALL_CTX + g.u32(0) + g.u32(0) + g.u32(0) + g.u32(0) * 2 + g.u32(0) + g.u32(1) + \
        g.u32(0) * 4 + g.u32(0)
    r, body = call(sock, 6, args)
    major, minor = status(r)
    if major != 0 or not r.u32():
        raise SystemExit("ACQUIRE_CRED: major 0x%x minor %d" % (major, minor))
    start = r.p
    skip_cred(r)
    return body[start:r.p]


def main(sock, store_sock):
    cred = acquire(sock)
    print("ACQUIRE_CRED: sealed cred %d bytes" % len(cred))

    r, _ = call(sock, 4, CALL_CTX + cred + g.u32(1) + g.u32(0))
    major, minor = status(r)
    usage = r.u32()
    present = r.u32()
    exported = r.opaque() if present else b""
    if major != 0 or not exported or usage != 1:
        raise SystemExit("EXPORT_CRED: major 0x%x usage %d handle %d bytes" % (
            major, usage, len(exported)))
    print("EXPORT_CRED: %d bytes, usage %d" % (len(exported), usage))

    r, _ = call(sock, 5, CALL_CTX + g.opaque(exported) + g.u32(0))
    major, minor = status(r)
    if major != 0 or not r.u32():
        raise SystemExit("IMPORT_CRED: major 0x%x minor %d" % (major, minor))
    print("IMPORT_CRED: ok")

    bad = bytearray(exported)
    for i in range(len(bad) - 40, len(bad) - 8):
        bad[i] ^= 0x5A
    r, _ = call(sock, 5, CALL_CTX + g.opaque(bytes(bad)) + g.u32(0))
    major, minor = status(r)
    if major != 0x70000:
        raise SystemExit("IMPORT_CRED tampered: major 0x%x, expected NO_CRED" % major)
    r, _ = call(sock, 5, CALL_CTX + g.opaque(b"garbage!") + g.u32(0))
    major, minor = status(r)
    if major != 0x90000:
        raise SystemExit("IMPORT_CRED garbage: major 0x%x, expected DEFECTIVE_TOKEN" % major)
    print("IMPORT_CRED: tampered -> NO_CRED, garbage -> DEFECTIVE_TOKEN")

    r, _ = call(sock, 7, CALL_CTX + cred + g.u32(1) + g.opaque(KRB5) + g.u32(1) + g.u32(1) +
                g.u32(0))
    major, minor = status(r)
    if major != 0x100000:
        raise SystemExit("STORE_CRED without a service ccache: major 0x%x, expected UNAVAILABLE"
                         % major)
    print("STORE_CRED without a ccache in cred_store: GSS_S_UNAVAILABLE")
    # The handle from SOCKET's service, stored by STORE_SOCKET's (same keytab, same seal key).
    r, _ = call(store_sock, 7, CALL_CTX + cred + g.u32(1) + g.opaque(KRB5) + g.u32(1) +
                g.u32(1) + g.u32(0))
    major, minor = status(r)
    n = r.u32()
    mechs = [r.opaque() for _ in range(n)]
    if major != 0 or KRB5 not in mechs:
        raise SystemExit("STORE_CRED: major 0x%x minor %d mechs %s" % (major, minor, mechs))
    print("STORE_CRED: stored (krb5)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
