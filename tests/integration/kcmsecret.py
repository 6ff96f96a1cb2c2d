#!/usr/bin/env python3
"""Store a credential whose key and ticket carry a known byte pattern (swap-safety tests).

Usage: kcmsecret.py SOCKET CACHE PATTERN_HEX store|check
  store: INITIALIZE CACHE + STORE one cred (key = pattern, ticket = pattern x 8)
  check: GET_CRED_LIST CACHE must return the pattern (proves the secret is in the daemon)
"""
import socket
import struct
import sys


def data(b):
    return struct.pack(">L", len(b)) + b


def princ(name, realm=b"SWAP.TEST"):
    comps = name.split(b"/")
    return struct.pack(">lL", 1, len(comps)) + data(realm) + b"".join(data(c) for c in comps)


def call(sock, opcode, payload):
    body = struct.pack(">BBH", 2, 0, opcode) + payload
    sock.sendall(struct.pack(">L", len(body)) + body)
    hdr = b""
    while len(hdr) < 8:
        chunk = sock.recv(8 - len(hdr))
        if not chunk:
            raise SystemExit("connection closed")
        hdr += chunk
    length, outer = struct.unpack(">LL", hdr)
    body = b""
    while len(body) < length:
        body += sock.recv(length - len(body))
    code = struct.unpack(">l", body[:4])[0] if len(body) >= 4 else outer
    return code, body[4:]


def main():
    path, cache, pattern, mode = sys.argv[1], sys.argv[2].encode(), bytes.fromhex(sys.argv[3]), sys.argv[4]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    name = cache + b"\0"
    if mode == "store":
        code, _ = call(s, 4, name + princ(b"swapper"))
        assert code == 0, f"INITIALIZE -> {code}"
        cred = (princ(b"swapper") + princ(b"host/swap") + struct.pack(">H", 18) + data(pattern)
                + struct.pack(">LLLLBL", 1, 1, 0xfffffff0, 0, 0, 0) + struct.pack(">LL", 0, 0)
                + data(pattern * 8) + data(b""))
        code, _ = call(s, 6, name + cred)
        assert code == 0, f"STORE -> {code}"
    else:
        code, body = call(s, 13001, name)
        assert code == 0, f"GET_CRED_LIST -> {code}"
        assert pattern in body, "pattern not returned by the daemon"
    print("ok")


main()
