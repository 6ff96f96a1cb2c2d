/* ONC RPC record marking and call/reply header codec; see gp_rpc.h. */
#include "config.h"
#include "proxy/gp_rpc.h"

#include <string.h>

#include "common/util_buf.h"

#define RPC_CALL 0u
#define RPC_REPLY 1u
#define RPC_MSG_ACCEPTED 0u
#define RPC_MSG_DENIED 1u
#define RPC_MISMATCH 0u
#define RPC_AUTH_ERROR 1u
#define RPC_AUTH_FAILED 7u
#define RPC_AUTH_NONE 0u

enum gp_rm_status gp_rm_scan(const uint8_t *in, size_t have, size_t *consumed,
                             size_t *record_len)
{
    size_t off = 0;
    size_t total = 0;
    unsigned frags = 0;

    for (;;) {
        uint32_t marker;
        size_t flen;

        if (have - off < 4) {
            *consumed = off + 4;
            return GP_RM_NEED_MORE;
        }
        marker = util_be32(in + off);
        flen = marker & ~GP_RPC_LAST_FRAG;
        frags++;
        if (flen > GP_RPC_MAX_RECORD - total || frags > GP_RPC_MAX_FRAGMENTS) {
            return GP_RM_TOO_BIG;
        }
        if (have - off - 4 < flen) {
            *consumed = off + 4 + flen;
            return GP_RM_NEED_MORE;
        }
        off += 4 + flen;
        total += flen;
        if (marker & GP_RPC_LAST_FRAG) {
            *consumed = off;
            *record_len = total;
            return GP_RM_COMPLETE;
        }
    }
}

void gp_rm_assemble(const uint8_t *in, size_t consumed, uint8_t *out)
{
    size_t off = 0;
    size_t w = 0;

    while (off + 4 <= consumed) {
        size_t flen = util_be32(in + off) & ~GP_RPC_LAST_FRAG;
        memmove(out + w, in + off + 4, flen);
        w += flen;
        off += 4 + flen;
    }
}

static size_t reply_begin(struct util_wr *wr, uint8_t *out, uint32_t xid, uint32_t stat)
{
    util_wr_init(wr, out, GP_RPC_REPLY_HDR_MAX);
    util_wr_u32(wr, xid);
    util_wr_u32(wr, RPC_REPLY);
    util_wr_u32(wr, stat);
    return wr->len;
}

size_t gp_rpc_accepted(uint8_t *out, uint32_t xid, enum gp_rpc_accept_stat stat)
{
    struct util_wr wr;

    reply_begin(&wr, out, xid, RPC_MSG_ACCEPTED);
    util_wr_u32(&wr, RPC_AUTH_NONE); /* verifier: AUTH_NONE, empty */
    util_wr_u32(&wr, 0);
    util_wr_u32(&wr, (uint32_t)stat);
    if (stat == GP_RPC_PROG_MISMATCH) {
        util_wr_u32(&wr, GP_RPC_VERS);
        util_wr_u32(&wr, GP_RPC_VERS);
    }
    return wr.len;
}

static size_t rpc_denied(uint8_t *out, uint32_t xid, uint32_t reject, uint32_t a, uint32_t b,
                         bool two)
{
    struct util_wr wr;

    reply_begin(&wr, out, xid, RPC_MSG_DENIED);
    util_wr_u32(&wr, reject);
    util_wr_u32(&wr, a);
    if (two) {
        util_wr_u32(&wr, b);
    }
    return wr.len;
}

/* Skip an opaque_auth; false if its body is over the RFC limit of 400 bytes. */
static uint32_t read_auth(struct util_rd *rd)
{
    uint32_t flavor = util_rd_u32(rd);
    uint32_t len = util_rd_u32(rd);

    if (len > GP_RPC_MAX_AUTH_BODY) {
        util_rd_fail(rd);
        return 0;
    }
    util_rd_bytes(rd, (len + 3u) & ~3u);
    return flavor;
}

enum gp_rpc_disposition gp_rpc_parse_call(const uint8_t *rec, size_t len,
                                          struct gp_rpc_call *call, uint8_t *reply,
                                          size_t *reply_len)
{
    struct util_rd rd;
    uint32_t mtype, rpcvers, prog, vers, flavor;

    memset(call, 0, sizeof(*call));
    util_rd_init(&rd, rec, len);
    call->xid = util_rd_u32(&rd);
    mtype = util_rd_u32(&rd);
    rpcvers = util_rd_u32(&rd);
    prog = util_rd_u32(&rd);
    vers = util_rd_u32(&rd);
    call->proc = util_rd_u32(&rd);
    flavor = read_auth(&rd);
    (void)read_auth(&rd); /* the verifier is decoded and ignored */
    if (!util_rd_ok(&rd) || mtype != RPC_CALL) {
        return GP_RPC_CLOSE;
    }
    call->args = rec + rd.pos;
    call->args_len = util_rd_left(&rd);
    if (rpcvers != 2) {
        *reply_len = rpc_denied(reply, call->xid, RPC_MISMATCH, 2, 2, true);
    } else if (prog != GP_RPC_PROG) {
        *reply_len = gp_rpc_accepted(reply, call->xid, GP_RPC_PROG_UNAVAIL);
    } else if (vers != GP_RPC_VERS) {
        *reply_len = gp_rpc_accepted(reply, call->xid, GP_RPC_PROG_MISMATCH);
    } else if (flavor != RPC_AUTH_NONE) {
        *reply_len = rpc_denied(reply, call->xid, RPC_AUTH_ERROR, RPC_AUTH_FAILED, 0, false);
    } else if (call->proc == 0) {
        *reply_len = gp_rpc_accepted(reply, call->xid, GP_RPC_SUCCESS);
    } else if (call->proc > GP_RPC_PROC_MAX) {
        *reply_len = gp_rpc_accepted(reply, call->xid, GP_RPC_PROC_UNAVAIL);
    } else {
        return GP_RPC_DISPATCH;
    }
    return GP_RPC_REPLY_NOW;
}

size_t gp_rpc_call_header(uint8_t *out, uint32_t xid, uint32_t proc)
{
    struct util_wr wr;

    util_wr_init(&wr, out, GP_RPC_CALL_HDR);
    util_wr_u32(&wr, xid);
    util_wr_u32(&wr, RPC_CALL);
    util_wr_u32(&wr, 2);
    util_wr_u32(&wr, GP_RPC_PROG);
    util_wr_u32(&wr, GP_RPC_VERS);
    util_wr_u32(&wr, proc);
    util_wr_u32(&wr, RPC_AUTH_NONE);
    util_wr_u32(&wr, 0);
    util_wr_u32(&wr, RPC_AUTH_NONE);
    util_wr_u32(&wr, 0);
    return wr.len;
}

int gp_rpc_parse_reply(const uint8_t *rec, size_t len, uint32_t *xid, uint32_t *stat,
                       const uint8_t **body, size_t *body_len)
{
    struct util_rd rd;
    uint32_t mtype, rstat;

    util_rd_init(&rd, rec, len);
    *xid = util_rd_u32(&rd);
    mtype = util_rd_u32(&rd);
    rstat = util_rd_u32(&rd);
    if (!util_rd_ok(&rd) || mtype != RPC_REPLY) {
        *stat = 200;
        return -1;
    }
    if (rstat == RPC_MSG_DENIED) {
        *stat = 100 + util_rd_u32(&rd);
        return -1;
    }
    (void)read_auth(&rd);
    *stat = util_rd_u32(&rd);
    if (!util_rd_ok(&rd) || *stat != GP_RPC_SUCCESS) {
        if (!util_rd_ok(&rd)) {
            *stat = 200;
        }
        return -1;
    }
    *body = rec + rd.pos;
    *body_len = util_rd_left(&rd);
    return 0;
}
