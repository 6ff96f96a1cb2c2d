#!/usr/bin/env python3
"""One INIT_SEC_CONTEXT with raw XDR and no credential handle (the server acquires the
initiator credentials of the caller's uid), to read the GSS status exactly as the server sent
it: Debian's 0.9.1 interposer replaces a remote failure's status with GSS_S_FAILURE/0 under
GSSPROXY_BEHAVIOR=REMOTE_ONLY.

usage: gpinit.py SOCKET SERVICE@HOST
Prints "major 0x... minor N" and, when set, the major and minor status strings; exits 0 if
the context was made (COMPLETE or CONTINUE_NEEDED), 1 otherwise.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpkernel as g  # noqa: E402

KRB5 = bytes.fromhex("2a864886f712010202")
HOSTBASED = bytes.fromhex("2a864886f71201020104")  # GSS_C_NT_HOSTBASED_SERVICE
INIT_SEC_CONTEXT = 8


def gssx_name(display, ntype):
    return (g.opaque(display) + g.opaque(ntype) + g.opaque(b"") + g.opaque(b"") +
            g.u32(0) + g.u32(0))


def main(sock, target):
    args = (g.u32(0) * 3 +                        # call_ctx: locale, server_ctx, options
            g.u32(0) + g.u32(0) +                 # no context_handle, no cred_handle
            g.u32(1) + gssx_name(target.encode(), HOSTBASED) +
            g.opaque(KRB5) +
            g.u32(0) + g.u32(0x2 | 0x20) +        # req_flags (u64): MUTUAL | INTEG
            g.u32(0) + g.u32(0) +                 # time_req
            g.u32(0) + g.u32(0) +                 # no input_cb, no input_token
            g.u32(0))                             # options
    c = g.Conn(sock)
    c.send(g.record(g.call_header(88, INIT_SEC_CONTEXT) + args))
    _, stat, body = g.parse_reply(c.recv_record())
    if stat != 0:
        raise SystemExit("accept_stat %d" % stat)
    r = g.Rd(body)
    major = r.u64()
    r.opaque()
    minor = r.u64()
    majs = r.opaque().rstrip(b"\0").decode(errors="replace")
    mins = r.opaque().rstrip(b"\0").decode(errors="replace")
    print("major 0x%x minor %d" % (major, minor))
    if majs:
        print("major string: %s" % majs)
    if mins:
        print("minor string: %s" % mins)
    return 0 if major in (0, 1) else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
