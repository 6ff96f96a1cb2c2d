#!/usr/bin/env python3
"""Concurrent KCM writers for the group-commit crash test (python3 stdlib only).

Usage:
  kcmstore.py SOCKET write UID NPROCS ACKFILE
      NPROCS processes, each INITIALIZEs cache "<UID>:gc<p>" and then STOREs credentials into
      it as fast as it can, until the daemon goes away; after each STORE answered with
      success it appends "<cache> <marker>" to ACKFILE (one line per acknowledged change).
  kcmstore.py SOCKET check ACKFILE
      every acknowledged credential must be in its cache (GET_CRED_LIST); prints the count.
Exit status 0 = ok, 1 = a check failed, 2 = usage error.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kcmraw  # noqa: E402

OP_INITIALIZE = 4
OP_STORE = 6
REALM = "GC.TEST"


def cred(client, server, ticket):
    import struct
    key = b"\x77" * 32
    return (kcmraw.principal(client) + kcmraw.principal(server)
            + struct.pack(">H", 18) + kcmraw.data(key)
            + struct.pack(">LLLLBLLL", 1700000000, 1700000000, 4000000000, 0, 0, 0x40e10000, 0, 0)
            + kcmraw.data(ticket) + kcmraw.data(b""))


def writer(path, cache, ackfile):
    client = "gc@" + REALM
    try:
        s = kcmraw.connect(path)
        code, _ = kcmraw.call(s, OP_INITIALIZE, kcmraw.name(cache) + kcmraw.principal(client))
        if code != 0:
            return
        with open(ackfile, "a", buffering=1) as ack:
            ack.write("%s INIT\n" % cache)
            k = 0
            while True:
                marker = "T:%s:%06d:" % (cache, k)
                ticket = (marker + "x" * 1200).encode()
                code, _ = kcmraw.call(s, OP_STORE, kcmraw.name(cache)
                                      + cred(client, "svc%d/h@%s" % (k, REALM), ticket))
                if code != 0:
                    return
                ack.write("%s %s\n" % (cache, marker))
                k += 1
    except Exception:
        return  # the daemon was killed: whatever was acknowledged is in the file


def cmd_write(path, uid, nprocs, ackfile):
    pids = []
    for p in range(nprocs):
        pid = os.fork()
        if pid == 0:
            writer(path, "%s:gc%d" % (uid, p), "%s.%d" % (ackfile, p))
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    return 0


def cmd_check(path, ackfile):
    import glob
    want = {}
    for f in glob.glob(ackfile + ".*"):
        for line in open(f):
            cache, marker = line.split()
            want.setdefault(cache, []).append(marker)
    s = kcmraw.connect(path)
    n = 0
    for cache, markers in sorted(want.items()):
        code, body = kcmraw.call(s, kcmraw.OP_GET_CRED_LIST, kcmraw.name(cache))
        if code != 0:
            print("cache %s: GET_CRED_LIST code %d (acknowledged: %d changes)"
                  % (cache, code, len(markers)))
            return 1
        for m in markers:
            if m == "INIT":
                continue
            if m.encode() not in body:
                print("cache %s: acknowledged credential %s is missing" % (cache, m))
                return 1
            n += 1
    print("%d acknowledged credentials in %d caches, all present" % (n, len(want)))
    return 0


def main(argv):
    if len(argv) >= 6 and argv[2] == "write":
        return cmd_write(argv[1], argv[3], int(argv[4]), argv[5])
    if len(argv) == 4 and argv[2] == "check":
        return cmd_check(argv[1], argv[3])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
