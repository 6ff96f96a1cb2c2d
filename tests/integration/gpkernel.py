#!/usr/bin/env python3
"""A kernel-faithful GSS-Proxy client for cachet's tests and benchmark.

Builds GSSX_ACCEPT_SEC_CONTEXT calls byte for byte as Linux nfsd does
(net/sunrpc/auth_gss/gss_rpc_xdr.c gssx_enc_accept_sec_context; see
docs/gssproxy.md) and decodes the replies under the kernel's rules and limits
(gssx_dec_accept_sec_context, gss_proxy_save_rsc, gss_import_v2_context):

  * status: only major/minor are used;
  * context_handle: exported_context_token <= 128 bytes, mech <= 32 bytes,
    src_name.display_name <= 256 bytes (else the whole upcall fails);
  * output_token <= 1024 bytes; delegated_cred_handle present -> failure;
  * result option "linux_creds_v1\\0" required, value host-endian
    uid, gid, N, gid[N], length exactly (3+N)*4, no gid -1 in the list;
  * lucid v1: flags, endtime, send_seq, enctype, key; key length from the
    enctype; the buffer must be consumed exactly.

Like the kernel, it uses ONE connection, sends a NULL call first and then
keeps several calls in flight on it, matching replies by xid.

Usage:
  gpkernel.py SOCKET check TOKENFILE   tokens from `gp_pair token`, checks every
                                        reply; prints one line per context
  gpkernel.py SOCKET bench TOKENFILE INFLIGHT
  gpkernel.py SOCKET raw HEXBODY PROC  send one call, print the reply (tests)
"""
import os
import socket
import struct
import sys
import time

PROG, VERS = 400112, 1
ACCEPT = 9
LAST = 0x80000000
KEYLEN = {17: 16, 18: 32, 19: 16, 20: 32, 16: 24, 23: 16, 25: 16, 26: 32}
NGROUPS_MAX = 65536
HOST_LE = sys.byteorder == "little"


def u32(v):
    return struct.pack(">I", v)


def opaque(b):
    pad = (4 - len(b) % 4) % 4
    return u32(len(b)) + b + b"\0" * pad


def call_header(xid, proc):
    return u32(xid) + u32(0) + u32(2) + u32(PROG) + u32(VERS) + u32(proc) + \
        u32(0) + u32(0) + u32(0) + u32(0)


def kernel_accept_args(token):
    """Exactly what the kernel sends (gssx_enc_accept_sec_context)."""
    body = b""
    body += opaque(b"")                      # call_ctx.locale
    body += opaque(b"")                      # call_ctx.server_ctx
    body += u32(2)                           # call_ctx.options count
    body += opaque(b"exported_context_type\0") + opaque(b"linux_lucid_v1\0")
    body += opaque(b"exported_creds_type\0") + opaque(b"linux_creds_v1\0")
    body += u32(0)                           # context_handle: absent
    body += u32(0)                           # cred_handle: absent
    body += opaque(token)                    # input_token
    body += u32(0)                           # input_cb: absent
    body += u32(0)                           # ret_deleg_cred: false
    body += u32(0)                           # options: count 0
    return body


def record(body):
    return u32(LAST | len(body)) + body


class Rd:
    def __init__(self, b):
        self.b, self.p = b, 0

    def u32(self):
        if self.p + 4 > len(self.b):
            raise ValueError("short reply")
        v = struct.unpack(">I", self.b[self.p:self.p + 4])[0]
        self.p += 4
        return v

    def u64(self):
        hi = self.u32()
        return (hi << 32) | self.u32()

    def opaque(self, limit=None, what="opaque"):
        n = self.u32()
        if limit is not None and n > limit:
            raise ValueError("%s is %d bytes, kernel limit %d (-ENOSPC)" % (what, n, limit))
        if self.p + n > len(self.b):
            raise ValueError("short reply in %s" % what)
        v = self.b[self.p:self.p + n]
        self.p += n + (4 - n % 4) % 4
        return v

    def options(self):
        return [(self.opaque(), self.opaque()) for _ in range(self.u32())]


def skip_name(r, keep_display=False):
    display = r.opaque(256 if keep_display else None, "src_name.display_name")
    r.opaque()          # name_type
    r.opaque()          # exported_name
    r.opaque()          # exported_composite_name
    for _ in range(r.u32()):   # name_attributes
        r.opaque()
        r.opaque()
        r.options()
    r.options()         # extensions
    return display


def decode_accept(body):
    """Decode like gssx_dec_accept_sec_context; raise on what the kernel rejects."""
    r = Rd(body)
    res = {}
    res["major"] = r.u64()
    r.opaque()                               # mech (receive buffer len 0: skipped)
    res["minor"] = r.u64()
    r.opaque()
    r.opaque()
    r.opaque()
    r.options()
    if r.u32():
        ctx = {}
        ctx["token"] = r.opaque(128, "exported_context_token")
        r.opaque()                           # state
        r.u32()                              # needs_release
        ctx["mech"] = r.opaque(32, "mech")
        ctx["src"] = skip_name(r, True)
        skip_name(r)                         # targ_name
        ctx["lifetime"] = r.u64()
        ctx["flags"] = r.u64()
        r.u32()
        r.u32()
        r.options()
        res["ctx"] = ctx
    if r.u32():
        res["output_token"] = r.opaque(1024, "output_token")
    if r.u32():
        raise ValueError("delegated_cred_handle present (kernel: -EINVAL)")
    for name, value in r.options():
        if name == b"linux_creds_v1\0":
            res["creds"] = decode_creds(value)
    if r.p != len(body):
        raise ValueError("%d trailing bytes" % (len(body) - r.p))
    return res


def decode_creds(v):
    fmt = "<" if HOST_LE else ">"
    if len(v) < 12:
        raise ValueError("linux_creds_v1 too short")
    uid, gid, n = struct.unpack(fmt + "III", v[:12])
    if n > NGROUPS_MAX or len(v) != (3 + n) * 4:
        raise ValueError("linux_creds_v1 length %d for %d groups" % (len(v), n))
    groups = list(struct.unpack(fmt + "%dI" % n, v[12:]))
    if 0xFFFFFFFF in groups:
        raise ValueError("invalid gid in group list (kernel: -EINVAL)")
    sid = lambda x: -1 if x == 0xFFFFFFFF else x
    return (sid(uid), sid(gid), n, groups)


def decode_lucid(tok):
    fmt = "<" if HOST_LE else ">"
    if len(tok) < 20:
        raise ValueError("lucid context too short")
    flags, endtime, seq, enctype = struct.unpack(fmt + "IIQI", tok[:20])
    klen = KEYLEN.get(enctype)
    if klen is None:
        raise ValueError("enctype %d unknown to the kernel" % enctype)
    if len(tok) != 20 + klen:
        raise ValueError("lucid length %d, expected %d (p != end)" % (len(tok), 20 + klen))
    return {"flags": flags, "endtime": endtime, "seq": seq, "enctype": enctype,
            "key": tok[20:]}


def parse_reply(rec):
    r = Rd(rec)
    xid = r.u32()
    if r.u32() != 1:
        raise ValueError("not a reply")
    if r.u32() != 0:
        raise ValueError("MSG_DENIED")
    r.u32()
    r.opaque()
    stat = r.u32()
    return xid, stat, rec[r.p:]


class Conn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def recv_record(self):
        out = b""
        while True:
            while len(self.buf) < 4:
                d = self.s.recv(65536)
                if not d:
                    raise EOFError("connection closed by the server")
                self.buf += d
            m = struct.unpack(">I", self.buf[:4])[0]
            n = m & ~LAST
            while len(self.buf) < 4 + n:
                d = self.s.recv(65536)
                if not d:
                    raise EOFError("connection closed mid-record")
                self.buf += d
            out += self.buf[4:4 + n]
            self.buf = self.buf[4 + n:]
            if m & LAST:
                return out


def read_tokens(path):
    toks, keys = [], []
    cur = None
    for line in open(path):
        f = line.split()
        if not f:
            continue
        if f[0] == "token":
            cur = {"token": bytes.fromhex(f[1])}
            toks.append(cur)
        elif f[0] == "enctype":
            cur["enctype"] = int(f[1])
        elif f[0] == "key":
            cur["key"] = bytes.fromhex(f[1])
    return toks


def run_check(sock, tokfile):
    toks = read_tokens(tokfile)
    c = Conn(sock)
    # The kernel's NULL ping at connect (transmitted, reply not awaited).
    c.send(record(call_header(0x4e554c4c, 0)))
    xid0 = int.from_bytes(os.urandom(4), "big") & 0x7FFFFFFF
    byxid = {}
    # All calls in flight at once on the one connection.
    for i, t in enumerate(toks):
        xid = (xid0 + i) & 0xFFFFFFFF
        byxid[xid] = t
        c.send(record(call_header(xid, ACCEPT) + kernel_accept_args(t["token"])))
    xid, stat, body = parse_reply(c.recv_record())
    if xid != 0x4e554c4c or stat != 0 or body:
        raise SystemExit("NULL call: xid %x stat %d body %d bytes" % (xid, stat, len(body)))
    print("NULL ping answered: empty SUCCESS")
    order = []
    for _ in toks:
        xid, stat, body = parse_reply(c.recv_record())
        if stat != 0:
            raise SystemExit("xid %x: accept_stat %d" % (xid, stat))
        t = byxid.pop(xid)
        order.append(xid - xid0)
        res = decode_accept(body)
        if res["major"] != 0:
            raise SystemExit("xid %x: major 0x%x minor %d" % (xid, res["major"], res["minor"]))
        if "ctx" not in res or "creds" not in res:
            raise SystemExit("xid %x: context handle or linux_creds_v1 missing" % xid)
        lucid = decode_lucid(res["ctx"]["token"])
        if "key" in t and (lucid["key"] != t["key"] or lucid["enctype"] != t["enctype"]):
            raise SystemExit("xid %x: lucid key differs from the initiator's" % xid)
        print("ok src=%s creds=%s lucid=%dB flags=0x%x enctype=%d seq=%d token_out=%d" % (
            res["ctx"]["src"].decode(), res["creds"], len(res["ctx"]["token"]),
            lucid["flags"], lucid["enctype"], lucid["seq"], len(res.get("output_token", b""))))
    if byxid:
        raise SystemExit("missing replies for %d calls" % len(byxid))
    print("replies in order: %s" % ("yes" if order == sorted(order) else "no (%s)" % order))


def run_bench(sock, tokfile, inflight):
    toks = read_tokens(tokfile)
    c = Conn(sock)
    c.send(record(call_header(1, 0)))
    parse_reply(c.recv_record())
    reqs = [record(call_header(100 + i, ACCEPT) + kernel_accept_args(t["token"]))
            for i, t in enumerate(toks)]
    t0 = time.monotonic()
    sent = done = ok = 0
    while done < len(reqs):
        while sent < len(reqs) and sent - done < inflight:
            c.send(reqs[sent])
            sent += 1
        xid, stat, body = parse_reply(c.recv_record())
        done += 1
        if stat == 0 and decode_accept(body)["major"] == 0:
            ok += 1
    dt = time.monotonic() - t0
    print("accepts %d ok %d in %.3f s: %.0f/s (inflight %d, one connection)" % (
        done, ok, dt, done / dt, inflight))


def run_raw(sock, hexbody, proc):
    c = Conn(sock)
    c.send(record(call_header(7, int(proc)) + bytes.fromhex(hexbody)))
    try:
        rec = c.recv_record()
    except EOFError as e:
        print("closed: %s" % e)
        return
    print("reply %d bytes: %s" % (len(rec), rec[:24].hex()))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    sock, cmd = sys.argv[1], sys.argv[2]
    if cmd == "check":
        run_check(sock, sys.argv[3])
    elif cmd == "bench":
        run_bench(sock, sys.argv[3], int(sys.argv[4]))
    elif cmd == "raw":
        run_raw(sock, sys.argv[3], sys.argv[4])
    else:
        raise SystemExit(__doc__)
