/* KCM wire codec; see kcm_codec.h. */
#include "kcm/kcm_codec.h"

#include <string.h>

static bool parse_data_list(struct util_rd *rd, struct util_data *out)
{
    /* u32 count, count x (u16 type, data); returns the raw region. */
    size_t start = rd->pos;
    uint32_t n = util_rd_u32(rd);

    if (n > util_rd_left(rd) / 6) {
        util_rd_fail(rd);
        return false;
    }
    for (uint32_t i = 0; i < n && util_rd_ok(rd); i++) {
        (void)util_rd_u16(rd);
        (void)util_rd_data(rd);
    }
    if (!util_rd_ok(rd)) {
        return false;
    }
    out->p = rd->p + start;
    out->len = (uint32_t)(rd->pos - start);
    return true;
}

bool kcm_parse_princ(struct util_rd *rd, struct kcm_princ *out)
{
    size_t start = rd->pos;
    size_t cstart;

    memset(out, 0, sizeof(*out));
    out->name_type = util_rd_i32(rd);
    out->ncomps = util_rd_u32(rd);
    if (out->ncomps > KCM_MAX_COMPONENTS) {
        util_rd_fail(rd);
        return false;
    }
    out->realm = util_rd_data(rd);
    cstart = rd->pos;
    for (uint32_t i = 0; i < out->ncomps && util_rd_ok(rd); i++) {
        (void)util_rd_data(rd);
    }
    if (!util_rd_ok(rd)) {
        return false;
    }
    out->comps.p = rd->p + cstart;
    out->comps.len = (uint32_t)(rd->pos - cstart);
    out->raw.p = rd->p + start;
    out->raw.len = (uint32_t)(rd->pos - start);
    return true;
}

static void parse_keyblock(struct util_rd *rd, struct kcm_keyblock *kb)
{
    kb->enctype = (int16_t)util_rd_u16(rd);
    kb->key = util_rd_data(rd);
}

bool kcm_parse_cred(struct util_rd *rd, struct kcm_cred *out)
{
    size_t start = rd->pos;

    memset(out, 0, sizeof(*out));
    if (!kcm_parse_princ(rd, &out->client) || !kcm_parse_princ(rd, &out->server)) {
        return false;
    }
    parse_keyblock(rd, &out->key);
    out->authtime = util_rd_u32(rd);
    out->starttime = util_rd_u32(rd);
    out->endtime = util_rd_u32(rd);
    out->renew_till = util_rd_u32(rd);
    out->is_skey = util_rd_u8(rd);
    out->ticket_flags = util_rd_u32(rd);
    if (!parse_data_list(rd, &out->addrs) || !parse_data_list(rd, &out->authdata)) {
        return false;
    }
    out->ticket = util_rd_data(rd);
    out->second_ticket = util_rd_data(rd);
    if (!util_rd_ok(rd)) {
        return false;
    }
    out->raw.p = rd->p + start;
    out->raw.len = (uint32_t)(rd->pos - start);
    return true;
}

bool kcm_parse_mcred(struct util_rd *rd, struct kcm_mcred *out)
{
    struct kcm_cred *c = &out->c;

    memset(out, 0, sizeof(*out));
    out->fields = util_rd_u32(rd);
    if ((out->fields & KCM_SC_CLIENT) && !kcm_parse_princ(rd, &c->client)) {
        return false;
    }
    if ((out->fields & KCM_SC_SERVER) && !kcm_parse_princ(rd, &c->server)) {
        return false;
    }
    if (out->fields & KCM_SC_SESSION_KEY) {
        parse_keyblock(rd, &c->key);
    }
    c->authtime = util_rd_u32(rd);
    c->starttime = util_rd_u32(rd);
    c->endtime = util_rd_u32(rd);
    c->renew_till = util_rd_u32(rd);
    c->is_skey = util_rd_u8(rd);
    c->ticket_flags = util_rd_u32(rd);
    if ((out->fields & KCM_SC_ADDRESSES) && !parse_data_list(rd, &c->addrs)) {
        return false;
    }
    if ((out->fields & KCM_SC_AUTHDATA) && !parse_data_list(rd, &c->authdata)) {
        return false;
    }
    if (out->fields & KCM_SC_TICKET) {
        c->ticket = util_rd_data(rd);
    }
    if (out->fields & KCM_SC_SECOND_TICKET) {
        c->second_ticket = util_rd_data(rd);
    }
    return util_rd_ok(rd);
}

bool kcm_cred_from_bytes(const uint8_t *p, size_t len, struct kcm_cred *out)
{
    struct util_rd rd;

    util_rd_init(&rd, p, len);
    return kcm_parse_cred(&rd, out) && util_rd_done(&rd);
}

bool kcm_princ_from_bytes(const uint8_t *p, size_t len, struct kcm_princ *out)
{
    struct util_rd rd;

    util_rd_init(&rd, p, len);
    return kcm_parse_princ(&rd, out) && util_rd_done(&rd);
}

bool kcm_cred_list_next(struct util_rd *rd, struct kcm_cred *out)
{
    uint32_t n = util_rd_u32(rd);
    const uint8_t *b = util_rd_bytes(rd, n);

    return b != NULL && kcm_cred_from_bytes(b, n, out);
}

static void rebase_data(struct util_data *d, const uint8_t *from, const uint8_t *to)
{
    if (d->p != NULL) {
        d->p = to + (d->p - from);
    }
}

static void rebase_princ(struct kcm_princ *p, const uint8_t *from, const uint8_t *to)
{
    rebase_data(&p->realm, from, to);
    rebase_data(&p->comps, from, to);
    rebase_data(&p->raw, from, to);
}

void kcm_cred_rebase(struct kcm_cred *c, const uint8_t *to)
{
    /* Every view of a parsed cred lies inside raw (or is an absent NULL view). */
    const uint8_t *from = c->raw.p;

    rebase_princ(&c->client, from, to);
    rebase_princ(&c->server, from, to);
    rebase_data(&c->key.key, from, to);
    rebase_data(&c->addrs, from, to);
    rebase_data(&c->authdata, from, to);
    rebase_data(&c->ticket, from, to);
    rebase_data(&c->second_ticket, from, to);
    rebase_data(&c->raw, from, to);
}

static const char *parse_name(struct util_rd *rd)
{
    return util_rd_cstr(rd, KCM_MAX_NAME);
}

static void parse_uuid(struct util_rd *rd, uint8_t *uuid)
{
    const uint8_t *b = util_rd_bytes(rd, KCM_UUID_LEN);

    if (b != NULL) {
        memcpy(uuid, b, KCM_UUID_LEN);
    }
}

static void parse_replace(struct util_rd *rd, struct kcm_req *req)
{
    struct kcm_cred tmp;
    size_t start;

    req->name = parse_name(rd);
    req->offset = util_rd_i32(rd);
    if (!kcm_parse_princ(rd, &req->princ)) {
        return;
    }
    req->ncreds = util_rd_u32(rd);
    if (req->ncreds > util_rd_left(rd) / 4) {
        util_rd_fail(rd);
        return;
    }
    start = rd->pos;
    for (uint32_t i = 0; i < req->ncreds && util_rd_ok(rd); i++) {
        if (!kcm_cred_list_next(rd, &tmp)) {
            util_rd_fail(rd);
        }
    }
    if (util_rd_ok(rd)) {
        req->creds.p = rd->p + start;
        req->creds.len = (uint32_t)(rd->pos - start);
    }
}

enum kcm_parse_result kcm_req_parse(const uint8_t *p, size_t len, struct kcm_req *req)
{
    struct util_rd rd;
    uint8_t major;
    uint8_t minor;

    memset(req, 0, sizeof(*req));
    util_rd_init(&rd, p, len);
    major = util_rd_u8(&rd);
    minor = util_rd_u8(&rd);
    req->opcode = util_rd_u16(&rd);
    if (!util_rd_ok(&rd)) {
        return KCM_PARSE_MALFORMED;
    }
    if (major != KCM_PROTOCOL_MAJOR || minor != KCM_PROTOCOL_MINOR) {
        return KCM_PARSE_BAD_VERSION;
    }

    switch (req->opcode) {
    case KCM_OP_NOOP:
    case KCM_OP_GEN_NEW:
    case KCM_OP_GET_CACHE_UUID_LIST:
    case KCM_OP_GET_DEFAULT_CACHE:
        break;
    case KCM_OP_RESOLVE:
        /* Heimdal's client sends a name; accept its absence too. */
        if (util_rd_left(&rd) > 0) {
            req->name = parse_name(&rd);
        }
        break;
    case KCM_OP_GET_NAME:
    case KCM_OP_DESTROY:
    case KCM_OP_GET_PRINCIPAL:
    case KCM_OP_GET_CRED_UUID_LIST:
    case KCM_OP_SET_DEFAULT_CACHE:
    case KCM_OP_GET_KDC_OFFSET:
    case KCM_OP_GET_CRED_LIST:
        req->name = parse_name(&rd);
        break;
    case KCM_OP_INITIALIZE:
        req->name = parse_name(&rd);
        kcm_parse_princ(&rd, &req->princ);
        break;
    case KCM_OP_STORE:
        req->name = parse_name(&rd);
        kcm_parse_cred(&rd, &req->cred);
        break;
    case KCM_OP_RETRIEVE:
    case KCM_OP_REMOVE_CRED:
        req->name = parse_name(&rd);
        req->flags = util_rd_u32(&rd);
        kcm_parse_mcred(&rd, &req->mcred);
        break;
    case KCM_OP_GET_CRED_BY_UUID:
        req->name = parse_name(&rd);
        parse_uuid(&rd, req->uuid);
        break;
    case KCM_OP_SET_FLAGS:
        req->name = parse_name(&rd);
        req->flags = util_rd_u32(&rd);
        break;
    case KCM_OP_MOVE_CACHE:
        req->name = parse_name(&rd);
        req->name2 = parse_name(&rd);
        break;
    case KCM_OP_GET_CACHE_BY_UUID:
        parse_uuid(&rd, req->uuid);
        break;
    case KCM_OP_SET_KDC_OFFSET:
        req->name = parse_name(&rd);
        req->offset = util_rd_i32(&rd);
        break;
    case KCM_OP_REPLACE:
        parse_replace(&rd, req);
        break;
    default:
        return KCM_PARSE_UNKNOWN_OP;
    }
    return util_rd_done(&rd) ? KCM_PARSE_OK : KCM_PARSE_MALFORMED;
}

const char *kcm_parse_result_str(enum kcm_parse_result r)
{
    switch (r) {
    case KCM_PARSE_OK:
        return "ok";
    case KCM_PARSE_UNKNOWN_OP:
        return "unsupported opcode";
    case KCM_PARSE_BAD_VERSION:
        return "unsupported protocol version";
    case KCM_PARSE_MALFORMED:
        return "malformed request";
    }
    return "?";
}

bool kcm_princ_eq_norealm(const struct kcm_princ *a, const struct kcm_princ *b)
{
    return a->ncomps == b->ncomps && util_data_eq(a->comps, b->comps);
}

bool kcm_princ_eq(const struct kcm_princ *a, const struct kcm_princ *b)
{
    return kcm_princ_eq_norealm(a, b) && util_data_eq(a->realm, b->realm);
}

/* An absent list and an empty one ("00 00 00 00") are the same list to MIT. */
static bool list_eq(struct util_data a, struct util_data b)
{
    static const uint8_t empty[4] = { 0, 0, 0, 0 };
    struct util_data e = { empty, 4 };

    if (a.len == 0) {
        a = e;
    }
    if (b.len == 0) {
        b = e;
    }
    return util_data_eq(a, b);
}

bool kcm_cred_match(uint32_t flags, const struct kcm_mcred *m, const struct kcm_cred *c)
{
    const struct kcm_cred *t = &m->c;
    bool nameonly = (flags & (KCM_TC_MATCH_SRV_NAMEONLY | KCM_TC_DONT_MATCH_REALM)) != 0;

    if ((m->fields & KCM_SC_CLIENT) && !kcm_princ_eq(&t->client, &c->client)) {
        return false;
    }
    if (m->fields & KCM_SC_SERVER) {
        if (nameonly ? !kcm_princ_eq_norealm(&t->server, &c->server)
                     : !kcm_princ_eq(&t->server, &c->server)) {
            return false;
        }
    }
    /* u2u (is_skey) tickets only match when asked for. */
    if (c->is_skey != ((flags & KCM_TC_MATCH_IS_SKEY) ? t->is_skey : 0)) {
        return false;
    }
    if ((flags & KCM_TC_MATCH_FLAGS_EXACT) && t->ticket_flags != c->ticket_flags) {
        return false;
    }
    if ((flags & KCM_TC_MATCH_FLAGS) && (c->ticket_flags & t->ticket_flags) != t->ticket_flags) {
        return false;
    }
    if ((flags & KCM_TC_MATCH_TIMES_EXACT) &&
        (t->authtime != c->authtime || t->starttime != c->starttime ||
         t->endtime != c->endtime || t->renew_till != c->renew_till)) {
        return false;
    }
    if (flags & KCM_TC_MATCH_TIMES) {
        if (t->renew_till != 0 && t->renew_till > c->renew_till) {
            return false;
        }
        if (t->endtime != 0 && t->endtime > c->endtime) {
            return false;
        }
    }
    if ((flags & KCM_TC_MATCH_AUTHDATA) && !list_eq(t->authdata, c->authdata)) {
        return false;
    }
    if ((flags & KCM_TC_MATCH_2ND_TKT) && !util_data_eq(t->second_ticket, c->second_ticket)) {
        return false;
    }
    if ((flags & KCM_TC_MATCH_KEYTYPE) && t->key.enctype != c->key.enctype) {
        return false;
    }
    return true;
}

bool kcm_cred_is_config(const struct kcm_cred *c)
{
    static const char realm[] = "X-CACHECONF:";

    return c->server.realm.len == sizeof(realm) - 1 &&
           memcmp(c->server.realm.p, realm, sizeof(realm) - 1) == 0;
}

void kcm_req_begin(struct util_wr *wr, uint16_t opcode)
{
    util_wr_u32(wr, 0);
    util_wr_u8(wr, KCM_PROTOCOL_MAJOR);
    util_wr_u8(wr, KCM_PROTOCOL_MINOR);
    util_wr_u16(wr, opcode);
}

bool kcm_req_finish(struct util_wr *wr)
{
    if (!util_wr_ok(wr) || wr->len < 8 || wr->len - 4 > UINT32_MAX) {
        return false;
    }
    if (wr->buf != NULL) {
        util_put_be32(wr->buf, (uint32_t)(wr->len - 4));
    }
    return true;
}

void kcm_reply_begin(struct util_wr *wr)
{
    (void)util_wr_reserve(wr, KCM_REPLY_HDR);
}

bool kcm_reply_finish(struct util_wr *wr, int32_t code)
{
    if (!util_wr_ok(wr) || wr->len < KCM_REPLY_HDR || wr->len - 8 > KCM_MAX_REPLY) {
        return false;
    }
    if (wr->buf != NULL) {
        util_put_be32(wr->buf, (uint32_t)(wr->len - 8));
        util_put_be32(wr->buf + 4, 0);
        util_put_be32(wr->buf + 8, (uint32_t)code);
    }
    return true;
}

bool kcm_reply_parse(const uint8_t *p, size_t len, int32_t *code, struct util_rd *body)
{
    struct util_rd rd;
    uint32_t plen;
    uint32_t outer;

    util_rd_init(&rd, p, len);
    plen = util_rd_u32(&rd);
    outer = util_rd_u32(&rd);
    if (!util_rd_ok(&rd)) {
        return false;
    }
    if (outer != 0) {
        *code = (int32_t)outer;
        util_rd_init(body, NULL, 0);
        return plen == 0 && util_rd_done(&rd);
    }
    if (plen < 4 || plen != util_rd_left(&rd)) {
        return false;
    }
    *code = util_rd_i32(&rd);
    util_rd_init(body, rd.p + rd.pos, util_rd_left(&rd));
    return true;
}

const char *kcm_op_name(uint16_t opcode)
{
    static const char *const names[] = {
        "NOOP", "GET_NAME", "RESOLVE", "GEN_NEW", "INITIALIZE", "DESTROY", "STORE",
        "RETRIEVE", "GET_PRINCIPAL", "GET_CRED_UUID_LIST", "GET_CRED_BY_UUID", "REMOVE_CRED",
        "SET_FLAGS", "CHOWN", "CHMOD", "GET_INITIAL_TICKET", "GET_TICKET", "MOVE_CACHE",
        "GET_CACHE_UUID_LIST", "GET_CACHE_BY_UUID", "GET_DEFAULT_CACHE", "SET_DEFAULT_CACHE",
        "GET_KDC_OFFSET", "SET_KDC_OFFSET", "ADD_NTLM_CRED", "HAVE_NTLM_CRED", "DEL_NTLM_CRED",
        "DO_NTLM_AUTH", "GET_NTLM_USER_LIST",
    };

    if (opcode < sizeof(names) / sizeof(names[0])) {
        return names[opcode];
    }
    if (opcode == KCM_OP_GET_CRED_LIST) {
        return "GET_CRED_LIST";
    }
    if (opcode == KCM_OP_REPLACE) {
        return "REPLACE";
    }
    if (opcode == KCM_OP_CACHET_SESSION_CAP) {
        return "CACHET_SESSION_CAP";
    }
    return "UNKNOWN";
}
