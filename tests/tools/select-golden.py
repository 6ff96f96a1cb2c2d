#!/usr/bin/env python3
"""Turn a capture (tests/tools/capture-golden.sh OUTDIR) into tests/data/kcm/.

    select-golden.py CAPDIR DATADIR

Writes
  DATADIR/<name>.bin        request frame (4-byte length prefix included), as sent by the tool
  DATADIR/<name>.reply.bin  cachetd's reply frame (len, outer status, payload)
for the selection below, and one transcript per session:
  DATADIR/session-<session>.bin   every request/reply pair of the session, in order
Transcript format: magic "KCMTRNS1", then records of
  u32 BE connection id, u8 label length, label bytes, request frame, reply frame.
"""

import os
import struct
import sys

# (vector name, session, step label, opcode name, nth occurrence within that step, 1-based)
SELECTION = [
    ("get_default_cache", "full", "klist", "GET_DEFAULT_CACHE", 1),
    ("get_principal-nofile", "full", "klist-empty", "GET_PRINCIPAL", 1),
    ("get_principal", "full", "klist", "GET_PRINCIPAL", 1),
    ("get_kdc_offset", "full", "klist", "GET_KDC_OFFSET", 1),
    ("get_cred_list", "full", "klist", "GET_CRED_LIST", 1),
    ("get_cred_list-klist-A", "full", "klist-A", "GET_CRED_LIST", 2),
    ("get_cache_uuid_list", "full", "klist-l", "GET_CACHE_UUID_LIST", 1),
    ("get_cache_uuid_list-empty", "full", "kinit-alice", "GET_CACHE_UUID_LIST", 1),
    ("get_cache_by_uuid", "full", "klist-l", "GET_CACHE_BY_UUID", 1),
    ("replace-kinit", "full", "kinit-alice", "REPLACE", 1),
    ("replace-kinit-bob", "full", "kinit-bob", "REPLACE", 1),
    ("replace-kinit-R", "full", "kinit-R", "REPLACE", 1),
    ("retrieve-kvno-conf", "full", "kvno-miss", "RETRIEVE", 1),
    ("retrieve-kvno-miss", "full", "kvno-miss", "RETRIEVE", 2),
    ("retrieve-kvno-tgt", "full", "kvno-miss", "RETRIEVE", 3),
    ("retrieve-kvno-hit", "full", "kvno-hit", "RETRIEVE", 2),
    ("retrieve-kinit-R", "full", "kinit-R", "RETRIEVE", 1),
    ("store-kvno", "full", "kvno-miss", "STORE", 1),
    ("gen_new", "full", "kinit-bob", "GEN_NEW", 1),
    ("set_default_cache-kinit", "full", "kinit-bob", "SET_DEFAULT_CACHE", 1),
    ("set_default_cache-kswitch", "full", "kswitch", "SET_DEFAULT_CACHE", 1),
    ("destroy-kdestroy", "full", "kdestroy", "DESTROY", 1),
    ("destroy-kdestroy-A", "full", "kdestroy-A", "DESTROY", 1),
    ("replace-unsupported", "nomit", "kinit-alice", "REPLACE", 1),
    ("initialize", "nomit", "kinit-alice", "INITIALIZE", 1),
    ("set_kdc_offset", "nomit", "kinit-alice", "SET_KDC_OFFSET", 1),
    ("store-kinit-config", "nomit", "kinit-alice", "STORE", 1),
    ("store-kinit-tgt", "nomit", "kinit-alice", "STORE", 2),
    ("get_cred_list-unsupported", "nomit", "klist", "GET_CRED_LIST", 1),
    ("get_cred_uuid_list", "nomit", "klist", "GET_CRED_UUID_LIST", 1),
    ("get_cred_by_uuid", "nomit", "klist", "GET_CRED_BY_UUID", 1),
    ("retrieve-unsupported", "nomit", "kvno-miss", "RETRIEVE", 1),
]


def read_index(capdir, session):
    rows = []
    with open(os.path.join(capdir, session, "index.tsv")) as f:
        for line in f:
            seq, label, conn, op, name, _reqlen, _code = line.rstrip("\n").split("\t")
            rows.append((int(seq), label, int(conn), int(op), name))
    rows.sort()
    return rows


def frame_path(capdir, session, row, ext):
    seq, label, _conn, _op, name = row
    return os.path.join(capdir, session, "%04d-%s-%s.%s" % (seq, label, name, ext))


def main():
    capdir, datadir = sys.argv[1], sys.argv[2]
    os.makedirs(datadir, exist_ok=True)
    index = {s: read_index(capdir, s) for s in ("full", "nomit")}
    for vname, session, label, opname, nth in SELECTION:
        hits = [r for r in index[session] if r[1] == label and r[4] == opname]
        if len(hits) < nth:
            sys.exit("select-golden: no %s #%d in %s/%s" % (opname, nth, session, label))
        row = hits[nth - 1]
        for ext, suffix in (("req", ".bin"), ("rep", ".reply.bin")):
            with open(frame_path(capdir, session, row, ext), "rb") as f:
                data = f.read()
            with open(os.path.join(datadir, vname + suffix), "wb") as f:
                f.write(data)
    for session, rows in index.items():
        with open(os.path.join(datadir, "session-%s.bin" % session), "wb") as out:
            out.write(b"KCMTRNS1")
            for row in rows:
                with open(frame_path(capdir, session, row, "req"), "rb") as f:
                    req = f.read()
                with open(frame_path(capdir, session, row, "rep"), "rb") as f:
                    rep = f.read()
                lab = row[1].encode()
                out.write(struct.pack(">IB", row[2], len(lab)) + lab + req + rep)


if __name__ == "__main__":
    main()
