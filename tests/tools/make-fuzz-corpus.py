#!/usr/bin/env python3
"""Seed the fuzz corpora from the golden vectors.

    make-fuzz-corpus.py [DATADIR [CORPUSDIR]]   (defaults: tests/data/kcm tests/fuzz/corpus)

fuzz_kcm_frame/: every golden request frame alone; every session's requests concatenated in
order (chunks of at most 60 frames, the target reads up to 64), per connection and whole; the
kinit/klist/kvno sequence again as uid 1000 (bit 31 of each length word) and with the MIT
extensions off (bit 30).
fuzz_kcm_reply/: every distinct reply frame of the sessions and the golden replies.
"""

import hashlib
import os
import struct
import sys

top = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
datadir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(top, "tests/data/kcm")
corpus = sys.argv[2] if len(sys.argv) > 2 else os.path.join(top, "tests/fuzz/corpus")


def read_session(path):
    d = open(path, "rb").read()
    assert d[:8] == b"KCMTRNS1"
    pos = 8
    out = []
    while pos < len(d):
        conn, llen = struct.unpack(">IB", d[pos:pos + 5])
        pos += 5
        label = d[pos:pos + llen].decode()
        pos += llen
        (qlen,) = struct.unpack(">I", d[pos:pos + 4])
        req = d[pos:pos + 4 + qlen]
        pos += 4 + qlen
        (rlen,) = struct.unpack(">I", d[pos:pos + 4])
        rep = d[pos:pos + 8 + rlen]
        pos += 8 + rlen
        out.append((conn, label, req, rep))
    return out


def flag(frames, bits):
    out = b""
    for f in frames:
        (n,) = struct.unpack(">I", f[:4])
        out += struct.pack(">I", n | bits) + f[4:]
    return out


def write(sub, name, data):
    d = os.path.join(corpus, sub)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    replies = {}
    for fn in sorted(os.listdir(datadir)):
        p = os.path.join(datadir, fn)
        if fn.startswith("session-") or not fn.endswith(".bin"):
            continue
        data = open(p, "rb").read()
        if fn.endswith(".reply.bin"):
            replies[data] = "golden-" + fn[:-len(".reply.bin")]
        else:
            write("fuzz_kcm_frame", "golden-" + fn[:-4], data)
    for fn in sorted(os.listdir(datadir)):
        if not (fn.startswith("session-") and fn.endswith(".bin")):
            continue
        sess = fn[len("session-"):-4]
        recs = read_session(os.path.join(datadir, fn))
        reqs = [r[2] for r in recs]
        for i in range(0, len(reqs), 60):
            write("fuzz_kcm_frame", "%s-seq%02d" % (sess, i // 60), b"".join(reqs[i:i + 60]))
        for conn in sorted(set(r[0] for r in recs)):
            frames = [r[2] for r in recs if r[0] == conn]
            if len(frames) > 1:
                label = [r[1] for r in recs if r[0] == conn][0]
                write("fuzz_kcm_frame", "%s-conn%02d-%s" % (sess, conn, label),
                      b"".join(frames[:60]))
        head = reqs[:30]
        write("fuzz_kcm_frame", "%s-uid1000" % sess, flag(head, 0x80000000))
        write("fuzz_kcm_frame", "%s-nomit-bit" % sess, flag(head, 0x40000000))
        for r in recs:
            if r[3] not in replies:
                replies[r[3]] = "%s-%s" % (sess, r[1])
    for data, name in replies.items():
        h = hashlib.sha1(data).hexdigest()[:8]
        write("fuzz_kcm_reply", "%s-%s" % (name, h), data)


if __name__ == "__main__":
    main()
