#!/usr/bin/env python3
"""Raw KCM socket client for cachet's integration tests (python3 stdlib only).

Usage: kcmraw.py SOCKET COMMAND [ARGS]
  badinput              malformed frames, unknown opcode, connection isolation
  noext NAME            RETRIEVE / GET_CRED_LIST / REPLACE on cache NAME must
                        answer KRB5_FCC_INTERNAL (mit_extensions = no)
  idle SECONDS          an idle connection must be closed by the daemon within
                        SECONDS (after one successful request)
  default               print the default cache name
  uuids                 print the caller's cache uuids (hex), one per line
  byuuid HEX            print the cache name for a uuid, or "code <n>"
  principal NAME        print "code <n>" for GET_PRINCIPAL NAME

Wire format: docs in the project spec (kcm-protocol.md section 1). Exit status
0 = all assertions held, 1 = an assertion failed, 2 = usage error.
"""

import os
import select
import socket
import struct
import sys
import time

KRB5_FCC_NOFILE = -1765328189
KRB5_FCC_INTERNAL = -1765328188
KRB5_CC_END = -1765328242

OP_GET_PRINCIPAL = 8
OP_RETRIEVE = 7
OP_GET_CACHE_UUID_LIST = 18
OP_GET_CACHE_BY_UUID = 19
OP_GET_DEFAULT_CACHE = 20
OP_GET_CRED_LIST = 13001
OP_REPLACE = 13002

TIMEOUT = 5.0


class Failure(Exception):
    pass


def frame(opcode, payload=b"", major=2, minor=0):
    body = struct.pack(">BBH", major, minor, opcode) + payload
    return struct.pack(">L", len(body)) + body


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.connect(path)
    return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise Failure("connection closed after %d of %d reply bytes" % (len(buf), n))
        buf += chunk
    return buf


def read_reply(s):
    """Return (code, payload) for one reply; accepts both well-formed shapes:
    outer=0 with the code inside, or len=0 with the code in the outer word."""
    hdr = recv_exact(s, 8)
    length, outer = struct.unpack(">Ll", hdr)
    if outer != 0:
        if length != 0:
            raise Failure("reply has outer status %d and a %d-byte body (desyncs MIT)"
                          % (outer, length))
        return outer, b""
    if length < 4:
        raise Failure("reply payload of %d bytes is shorter than the status code" % length)
    if length > 10 * 1024 * 1024:
        raise Failure("reply length %d exceeds the MIT client limit" % length)
    body = recv_exact(s, length)
    (code,) = struct.unpack(">l", body[:4])
    return code, body[4:]


def call(s, opcode, payload=b""):
    s.sendall(frame(opcode, payload))
    return read_reply(s)


def name(n):
    return n.encode() + b"\0"


def data(b):
    return struct.pack(">L", len(b)) + b


def principal(text):
    comps, realm = text.split("@")
    parts = comps.split("/")
    return (struct.pack(">lL", 1, len(parts)) + data(realm.encode())
            + b"".join(data(p.encode()) for p in parts))


def expect_closed(s, what, timeout=TIMEOUT):
    """The daemon must close the connection; data before EOF is tolerated."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Failure("%s: connection still open after %.0fs" % (what, timeout))
        r, _, _ = select.select([s], [], [], left)
        if not r:
            continue
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return
        if not chunk:
            return


def check_default(s, what):
    code, payload = call(s, OP_GET_DEFAULT_CACHE)
    if code != 0:
        raise Failure("%s: GET_DEFAULT_CACHE failed with code %d" % (what, code))
    if not payload.endswith(b"\0"):
        raise Failure("%s: GET_DEFAULT_CACHE name not NUL-terminated: %r" % (what, payload))
    return payload[:-1].decode()


def log(msg):
    print("kcmraw: " + msg, flush=True)


def cmd_badinput(path):
    bystander = connect(path)
    log("bystander connection: default cache is %r" % check_default(bystander, "bystander"))

    # 1. Unknown opcode: well-formed FCC_INTERNAL reply, connection stays usable.
    s = connect(path)
    for op in (12345, 29, 13003, 65535):
        code, _ = call(s, op)
        if code != KRB5_FCC_INTERNAL:
            raise Failure("opcode %d: expected KRB5_FCC_INTERNAL (%d / 0x96c73ac4), got %d"
                          % (op, KRB5_FCC_INTERNAL, code))
        log("opcode %d -> KRB5_FCC_INTERNAL" % op)
    check_default(s, "same connection after unknown opcodes")
    log("connection still usable after unknown opcodes")
    s.close()

    # 2. Malformed frames: only that connection is closed.
    cases = [
        ("truncated frame (length 100, 10 bytes sent, then EOF)",
         struct.pack(">L", 100) + bytes([2, 0, 0, 20]) + b"x" * 6, True),
        ("truncated frame (length 100, 10 bytes sent, connection kept open)",
         struct.pack(">L", 100) + bytes([2, 0, 0, 20]) + b"x" * 6, None),
        ("frame shorter than its header (length 2)",
         struct.pack(">L", 2) + b"\x02\x00", False),
        ("zero-length frame", struct.pack(">L", 0), False),
        ("bad major version 3", frame(OP_GET_DEFAULT_CACHE, major=3), False),
        ("bad minor version 7", frame(OP_GET_DEFAULT_CACHE, minor=7), False),
        ("huge length 0xfffffff0", struct.pack(">L", 0xFFFFFFF0) + bytes([2, 0, 0, 20]), False),
        ("length 64 MiB", struct.pack(">L", 64 << 20) + bytes([2, 0, 0, 20]), False),
    ]
    for what, raw, half_close in cases:
        s = connect(path)
        s.sendall(raw)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        if half_close is None:
            # An incomplete frame must not be answered; the daemon may wait for
            # the rest (bounded by idle_timeout). Just make sure it does not reply.
            r, _, _ = select.select([s], [], [], 0.5)
            if r:
                chunk = s.recv(64)
                if chunk:
                    raise Failure("%s: daemon replied to an incomplete frame: %r" % (what, chunk))
            log("%s: no reply (ok)" % what)
        else:
            expect_closed(s, what)
            log("%s: connection closed" % what)
        s.close()
        check_default(bystander, "bystander after " + what)

    # 3. Known opcode with a garbage body: an error reply or a close, never a crash.
    for what, op, payload in [
        ("GET_PRINCIPAL without NUL", OP_GET_PRINCIPAL, b"abc"),
        ("GET_CACHE_BY_UUID with 3-byte uuid", OP_GET_CACHE_BY_UUID, b"\x01\x02\x03"),
        ("REPLACE with truncated principal", OP_REPLACE, name("0") + b"\0\0\0\0" + b"\0\0\0\1"),
        ("RETRIEVE with empty tag", OP_RETRIEVE, name("0")),
    ]:
        s = connect(path)
        s.sendall(frame(op, payload))
        try:
            code, _ = read_reply(s)
            if code == 0:
                raise Failure("%s: accepted with code 0" % what)
            log("%s: error code %d" % (what, code))
        except (Failure, ConnectionResetError, socket.timeout) as e:
            if isinstance(e, Failure) and "connection closed" not in str(e):
                raise
            if isinstance(e, socket.timeout):
                raise Failure("%s: no reply and connection not closed" % what)
            log("%s: connection closed" % what)
        s.close()
        check_default(bystander, "bystander after " + what)

    fresh = connect(path)
    check_default(fresh, "fresh connection")
    fresh.close()
    check_default(bystander, "bystander at the end")
    bystander.close()
    log("other connections unaffected by malformed input")


def cmd_noext(path, cache):
    s = connect(path)
    realm = os.environ.get("KDC_REALM", "CACHET.TEST")
    tag = (struct.pack(">LL", 1, 0x3) + principal("alice@" + realm)
           + principal("host/localhost@" + realm) + b"\0" * 16 + b"\0" + b"\0" * 4)
    for what, op, payload in [
        ("RETRIEVE", OP_RETRIEVE, name(cache) + tag),
        ("GET_CRED_LIST", OP_GET_CRED_LIST, name(cache)),
        ("REPLACE", OP_REPLACE, name(cache) + struct.pack(">l", 0)
         + principal("alice@" + realm) + struct.pack(">L", 0)),
    ]:
        code, _ = call(s, op, payload)
        if code != KRB5_FCC_INTERNAL:
            raise Failure("%s with mit_extensions = no: expected KRB5_FCC_INTERNAL, got %d"
                          % (what, code))
        log("%s -> KRB5_FCC_INTERNAL" % what)
    check_default(s, "after unsupported MIT extensions")
    s.close()


def cmd_idle(path, seconds):
    s = connect(path)
    check_default(s, "idle connection")
    start = time.monotonic()
    expect_closed(s, "idle connection", timeout=float(seconds))
    log("idle connection closed by the daemon after %.1fs" % (time.monotonic() - start))
    s.close()


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, cmd, args = argv[1], argv[2], argv[3:]
    try:
        if cmd == "badinput":
            cmd_badinput(path)
        elif cmd == "noext" and len(args) == 1:
            cmd_noext(path, args[0])
        elif cmd == "idle" and len(args) == 1:
            cmd_idle(path, args[0])
        elif cmd == "default":
            s = connect(path)
            print(check_default(s, "default"))
        elif cmd == "uuids":
            s = connect(path)
            code, payload = call(s, OP_GET_CACHE_UUID_LIST)
            if code not in (0, KRB5_FCC_NOFILE):
                raise Failure("GET_CACHE_UUID_LIST failed with code %d" % code)
            if len(payload) % 16:
                raise Failure("uuid list length %d not a multiple of 16" % len(payload))
            for i in range(0, len(payload), 16):
                print(payload[i:i + 16].hex())
        elif cmd == "byuuid" and len(args) == 1:
            s = connect(path)
            code, payload = call(s, OP_GET_CACHE_BY_UUID, bytes.fromhex(args[0]))
            print(payload.rstrip(b"\0").decode() if code == 0 else "code %d" % code)
        elif cmd == "principal" and len(args) == 1:
            s = connect(path)
            code, _ = call(s, OP_GET_PRINCIPAL, name(args[0]))
            print("code %d" % code)
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except (Failure, OSError) as e:
        log("FAIL: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
