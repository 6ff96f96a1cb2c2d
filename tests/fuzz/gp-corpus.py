#!/usr/bin/env python3
"""Write seed inputs for fuzz_gp_rpc into DIR: one file per procedure with empty-ish
arguments, a kernel-style ACCEPT (dummy token), a multi-fragment call and NULLPROC."""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import gpkernel as g  # noqa: E402

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
ctx = g.u32(0) * 3
seeds = {
    "null": g.record(g.call_header(1, 0)),
    "indicate": g.record(g.call_header(2, 1) + ctx),
    "getctx": g.record(g.call_header(3, 2) + ctx + g.u32(0)),
    "name": g.record(g.call_header(4, 3) + ctx + g.opaque(b"host@localhost") +
                     g.opaque(bytes.fromhex("2a864886f71201020104")) + g.u32(0) * 6 +
                     g.u32(1) + g.opaque(b"localname\0") + g.opaque(b"")),
    "accept_kernel": g.record(g.call_header(5, 9) + g.kernel_accept_args(b"\x60\x10" + b"A" * 16)),
    "acquire": g.record(g.call_header(6, 6) + ctx + g.u32(0) + g.u32(0) + g.u32(0) +
                        g.u32(0) * 2 + g.u32(0) + g.u32(1) + g.u32(0) * 4 + g.u32(0)),
    "release": g.record(g.call_header(7, 10) + ctx + g.u32(1) + g.u32(0) * 8 + g.u32(0) +
                        g.opaque(b"x" * 40) + g.u32(0)),
}
body = g.call_header(8, 1) + ctx
seeds["fragments"] = (struct.pack(">I", 20) + body[:20] +
                      struct.pack(">I", 0x80000000 | (len(body) - 20)) + body[20:])
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
print("wrote %d seeds to %s" % (len(seeds), out))
