/* Control protocol codec; see ctl_codec.h. */
#include "config.h"
#include "ctl/ctl_codec.h"

#include <stdio.h>
#include <string.h>

void ctl_wr_u64(struct util_wr *wr, uint64_t v)
{
    util_wr_u32(wr, (uint32_t)(v >> 32));
    util_wr_u32(wr, (uint32_t)v);
}

uint64_t ctl_rd_u64(struct util_rd *rd)
{
    uint64_t hi = util_rd_u32(rd);

    return hi << 32 | util_rd_u32(rd);
}

bool ctl_req_write(struct util_wr *wr, const struct ctl_req *req)
{
    size_t start = wr->len;
    uint8_t *lenp = util_wr_reserve(wr, 4);

    util_wr_u16(wr, CTL_VERSION);
    util_wr_u16(wr, req->op);
    if (req->op == CTL_OP_PURGE) {
        util_wr_u8(wr, req->purge_kind);
        util_wr_u32(wr, req->purge_value);
    }
    if (lenp != NULL) {
        util_put_be32(lenp, (uint32_t)(wr->len - start - 4));
    }
    return util_wr_ok(wr);
}

bool ctl_req_parse(const uint8_t *p, size_t len, struct ctl_req *out)
{
    struct util_rd rd;

    memset(out, 0, sizeof(*out));
    util_rd_init(&rd, p, len);
    if (util_rd_u16(&rd) != CTL_VERSION) {
        return false;
    }
    out->op = util_rd_u16(&rd);
    if (out->op == CTL_OP_PURGE) {
        out->purge_kind = util_rd_u8(&rd);
        out->purge_value = util_rd_u32(&rd);
        if (out->purge_kind < CTL_PURGE_EXPIRED || out->purge_kind > CTL_PURGE_SESSION) {
            util_rd_fail(&rd);
        }
    }
    return util_rd_done(&rd);
}

void ctl_reply_begin(struct util_wr *wr)
{
    (void)util_wr_reserve(wr, 8);
}

bool ctl_reply_finish(struct util_wr *wr, uint32_t status)
{
    if (!util_wr_ok(wr) || wr->len < 8) {
        return false;
    }
    if (wr->buf != NULL) {
        util_put_be32(wr->buf, (uint32_t)(wr->len - 4));
        util_put_be32(wr->buf + 4, status);
    }
    return true;
}

bool ctl_reply_parse(const uint8_t *p, size_t len, uint32_t *status, struct util_rd *body)
{
    struct util_rd rd;

    util_rd_init(&rd, p, len);
    *status = util_rd_u32(&rd);
    if (!util_rd_ok(&rd)) {
        return false;
    }
    util_rd_init(body, p + 4, len - 4);
    return true;
}

void ctl_status_write(struct util_wr *wr, const struct ctl_status_info *st)
{
    util_wr_cstr(wr, st->version);
    util_wr_cstr(wr, st->storage);
    util_wr_cstr(wr, st->scope);
    ctl_wr_u64(wr, st->uptime);
    ctl_wr_u64(wr, st->owners);
    ctl_wr_u64(wr, st->caches);
    ctl_wr_u64(wr, st->creds);
    ctl_wr_u64(wr, st->bytes);
    ctl_wr_u64(wr, st->sessions);
    ctl_wr_u64(wr, st->logind_sessions);
    util_wr_u8(wr, st->logind_connected);
    ctl_wr_u64(wr, st->connections);
    ctl_wr_u64(wr, st->mem_mapped);
    ctl_wr_u64(wr, st->mem_locked);
    ctl_wr_u64(wr, st->mem_used);
    util_wr_u8(wr, st->secretmem);
}

bool ctl_status_parse(struct util_rd *rd, struct ctl_status_info *out)
{
    out->version = util_rd_cstr(rd, CTL_MAX_STRING);
    out->storage = util_rd_cstr(rd, CTL_MAX_STRING);
    out->scope = util_rd_cstr(rd, CTL_MAX_STRING);
    out->uptime = ctl_rd_u64(rd);
    out->owners = ctl_rd_u64(rd);
    out->caches = ctl_rd_u64(rd);
    out->creds = ctl_rd_u64(rd);
    out->bytes = ctl_rd_u64(rd);
    out->sessions = ctl_rd_u64(rd);
    out->logind_sessions = ctl_rd_u64(rd);
    out->logind_connected = util_rd_u8(rd);
    out->connections = ctl_rd_u64(rd);
    out->mem_mapped = ctl_rd_u64(rd);
    out->mem_locked = ctl_rd_u64(rd);
    out->mem_used = ctl_rd_u64(rd);
    out->secretmem = util_rd_u8(rd);
    return util_rd_done(rd);
}

void ctl_owner_write(struct util_wr *wr, const struct ctl_owner_info *o)
{
    util_wr_u32(wr, o->uid);
    util_wr_u32(wr, o->session);
    util_wr_cstr(wr, o->logind_id);
    util_wr_cstr(wr, o->default_name);
    util_wr_u32(wr, o->ncaches);
}

bool ctl_owner_parse(struct util_rd *rd, struct ctl_owner_info *out)
{
    out->uid = util_rd_u32(rd);
    out->session = util_rd_u32(rd);
    out->logind_id = util_rd_cstr(rd, CTL_MAX_STRING);
    out->default_name = util_rd_cstr(rd, KCM_MAX_NAME);
    out->ncaches = util_rd_u32(rd);
    return util_rd_ok(rd);
}

void ctl_cache_write(struct util_wr *wr, const struct ctl_cache_info *c)
{
    util_wr_cstr(wr, c->name);
    util_wr_cstr(wr, c->principal);
    util_wr_u32(wr, c->ncreds);
    util_wr_u32(wr, c->expires);
}

bool ctl_cache_parse(struct util_rd *rd, struct ctl_cache_info *out)
{
    out->name = util_rd_cstr(rd, KCM_MAX_NAME);
    out->principal = util_rd_cstr(rd, CTL_MAX_STRING);
    out->ncreds = util_rd_u32(rd);
    out->expires = util_rd_u32(rd);
    return util_rd_ok(rd);
}

struct fmt {
    char *buf;
    size_t len;
    size_t pos;
    bool trunc;
};

static void put(struct fmt *f, const char *s, size_t n)
{
    if (f->trunc || f->pos + n + 4 > f->len) {
        f->trunc = true;
        return;
    }
    memcpy(f->buf + f->pos, s, n);
    f->pos += n;
}

static void put_escaped(struct fmt *f, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char tmp[8];
        uint8_t c = p[i];
        if (c == '/' || c == '@' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            put(f, tmp, 2);
        } else if (c < 0x20 || c >= 0x7f) {
            snprintf(tmp, sizeof(tmp), "\\x%02x", c);
            put(f, tmp, 4);
        } else {
            put(f, (const char *)&c, 1);
        }
    }
}

void ctl_format_princ(const struct kcm_princ *p, char *buf, size_t len)
{
    struct fmt f = { buf, len, 0, false };
    struct util_rd rd;

    if (len < 8) {
        if (len > 0) {
            buf[0] = '\0';
        }
        return;
    }
    util_rd_init(&rd, p->comps.p, p->comps.len);
    for (uint32_t i = 0; i < p->ncomps; i++) {
        struct util_data d = util_rd_data(&rd);
        if (!util_rd_ok(&rd)) {
            break;
        }
        if (i > 0) {
            put(&f, "/", 1);
        }
        put_escaped(&f, d.p, d.len);
    }
    put(&f, "@", 1);
    put_escaped(&f, p->realm.p, p->realm.len);
    if (f.trunc) {
        memcpy(buf + f.pos, "...", 3);
        f.pos += 3;
    }
    buf[f.pos] = '\0';
}

const char *ctl_status_str(uint32_t status)
{
    switch (status) {
    case CTL_OK:
        return "ok";
    case CTL_ERR_BAD_REQUEST:
        return "malformed request";
    case CTL_ERR_UNSUPPORTED:
        return "unsupported request (cachetctl and cachetd versions differ?)";
    case CTL_ERR_INTERNAL:
        return "internal error in cachetd";
    case CTL_ERR_FAILED:
        return "the operation failed (see cachetd's log)";
    }
    return "unknown status";
}
