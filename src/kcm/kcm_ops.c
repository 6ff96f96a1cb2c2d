/* KCM op table and handlers; see kcm_ops.h. Semantics: ../shared/spec/kcm-protocol.md §2. */
#include "config.h"
#include "kcm/kcm_ops.h"

#include <stdio.h>
#include <string.h>

#include "common/util_log.h"
#include "kcm/kcm_session_cap.h"

#define KCM_OUT_SMALL 4096

struct kcm_call {
    struct kcm_ctx *k;
    const struct util_peer *peer;
    const struct kcm_req *req;
    struct store_owner_key key;
    struct store_owner *owner; /* NULL if the peer has no collection yet */
    TALLOC_CTX *out_ctx;
    struct kcm_out *out;
    const uint8_t *frame; /* the raw request, for KCM_OPF_RAW handlers */
    size_t frame_len;
};

typedef void (*kcm_emit_fn)(struct util_wr *wr, const void *arg);
typedef int32_t (*kcm_handler_fn)(struct kcm_call *call);

#define KCM_OPF_EXTENSION 0x1u /* MIT extension, switchable off */
#define KCM_OPF_NAME2 0x2u     /* req->name2 is checked as ACCESS_WRITE too */
#define KCM_OPF_RAW 0x4u       /* not parsed by the codec: the handler reads call->frame */

struct kcm_op {
    uint16_t opcode;
    enum access_class cls;
    unsigned flags;
    kcm_handler_fn fn;
};

/* ---- reply plumbing ---- */

static bool out_reserve(TALLOC_CTX *ctx, struct kcm_out *out, size_t need)
{
    struct util_secbuf *nb;

    if (out->buf != NULL && out->buf->len >= need) {
        return true;
    }
    nb = util_secbuf_new(ctx, need < KCM_OUT_SMALL ? KCM_OUT_SMALL : need);
    if (nb == NULL) {
        return false;
    }
    talloc_free(out->buf); /* wipes */
    out->buf = nb;
    return true;
}

void kcm_out_trim(struct kcm_out *out)
{
    if (out->buf != NULL && out->buf->len > KCM_OUT_SMALL) {
        TALLOC_CTX *ctx = talloc_parent(out->buf);
        talloc_free(out->buf);
        out->buf = util_secbuf_new(ctx, KCM_OUT_SMALL);
    }
}

/* Measure, size the buffer once, write. Returns a KCM code. */
static int32_t emit(struct kcm_call *call, kcm_emit_fn fn, const void *arg)
{
    struct util_wr wr;

    util_wr_init(&wr, NULL, 0);
    fn(&wr, arg);
    if (!util_wr_ok(&wr) || wr.len > KCM_MAX_REPLY - 4) {
        util_log(UTIL_LOG_WARNING, "reply to %s for uid %u would exceed %u bytes",
                 kcm_op_name(call->req->opcode), (unsigned)call->peer->uid, KCM_MAX_REPLY);
        return KCM_RC_FCC_INTERNAL;
    }
    if (!out_reserve(call->out_ctx, call->out, KCM_REPLY_HDR + wr.len)) {
        return KCM_RC_CC_NOMEM;
    }
    util_wr_init(&wr, call->out->buf->p, call->out->buf->len);
    kcm_reply_begin(&wr);
    fn(&wr, arg);
    call->out->len = wr.len;
    return util_wr_ok(&wr) ? KCM_RC_OK : KCM_RC_FCC_INTERNAL;
}

static void emit_cstr(struct util_wr *wr, const void *arg)
{
    util_wr_cstr(wr, arg);
}

static void emit_data(struct util_wr *wr, const void *arg)
{
    const struct util_data *d = arg;
    util_wr_bytes(wr, d->p, d->len);
}

static void emit_i32(struct util_wr *wr, const void *arg)
{
    util_wr_i32(wr, *(const int32_t *)arg);
}

static void emit_cache_uuids(struct util_wr *wr, const void *arg)
{
    const struct store_owner *o = arg;

    for (const struct store_cache *c = o != NULL ? o->caches : NULL; c != NULL; c = c->next) {
        util_wr_bytes(wr, c->uuid, STORE_UUID_LEN);
    }
}

static void emit_cred_uuids(struct util_wr *wr, const void *arg)
{
    const struct store_cache *c = arg;

    for (const struct store_cred *cr = c->creds; cr != NULL; cr = cr->next) {
        util_wr_bytes(wr, cr->uuid, STORE_UUID_LEN);
    }
}

static void emit_cred_list(struct util_wr *wr, const void *arg)
{
    const struct store_cache *c = arg;

    util_wr_u32(wr, (uint32_t)c->ncreds);
    for (const struct store_cred *cr = c->creds; cr != NULL; cr = cr->next) {
        util_wr_data(wr, cr->v.raw);
    }
}

/* The single mapping from store results to KCM codes. */
static int32_t store_code(struct kcm_call *call, enum store_rc rc)
{
    switch (rc) {
    case STORE_OK:
        return KCM_RC_OK;
    case STORE_NOTFOUND:
        return KCM_RC_CC_NOTFOUND;
    case STORE_LIMIT_CACHES:
    case STORE_LIMIT_CREDS:
    case STORE_LIMIT_BYTES:
        util_log(UTIL_LOG_WARNING, "%s by uid %u (pid %d) refused: %s",
                 kcm_op_name(call->req->opcode), (unsigned)call->peer->uid,
                 (int)call->peer->pid, store_rc_str(rc));
        return KCM_RC_CC_WRITE;
    case STORE_NOMEM:
        util_log(UTIL_LOG_ERROR, "%s: %s", kcm_op_name(call->req->opcode), store_rc_str(rc));
        return KCM_RC_CC_NOMEM;
    case STORE_IO:
        util_log(UTIL_LOG_ERROR, "%s: %s", kcm_op_name(call->req->opcode), store_rc_str(rc));
        return KCM_RC_CC_IO;
    case STORE_INVALID:
        return KCM_RC_CC_FORMAT;
    }
    return KCM_RC_FCC_INTERNAL;
}

static struct store_owner *owner_create(struct kcm_call *call)
{
    if (call->owner == NULL) {
        call->owner = store_owner_get_or_create(call->k->store, &call->key);
    }
    return call->owner;
}

static struct store_cache *named_cache(struct kcm_call *call)
{
    return store_cache_find(call->owner, call->req->name);
}

/* ---- handlers ---- */

static int32_t op_noop(struct kcm_call *call)
{
    return KCM_RC_OK;
}

static int32_t op_get_name(struct kcm_call *call)
{
    struct store_cache *c = named_cache(call);

    return c != NULL ? emit(call, emit_cstr, c->name) : KCM_RC_FCC_NOFILE;
}

static int32_t op_gen_new(struct kcm_call *call)
{
    char prefix[16];
    char name[64];

    if (owner_create(call) == NULL) {
        return KCM_RC_CC_NOMEM;
    }
    access_name_prefix(call->peer, prefix, sizeof(prefix));
    if (store_gen_name(call->owner, prefix, name, sizeof(name)) != STORE_OK) {
        return KCM_RC_FCC_INTERNAL;
    }
    return emit(call, emit_cstr, name);
}

static int32_t op_initialize(struct kcm_call *call)
{
    if (owner_create(call) == NULL) {
        return KCM_RC_CC_NOMEM;
    }
    return store_code(call, store_cache_init(call->k->store, call->owner, call->req->name,
                                             &call->req->princ, NULL));
}

static int32_t op_destroy(struct kcm_call *call)
{
    struct store_cache *c = named_cache(call);

    return c != NULL ? store_code(call, store_cache_destroy(call->k->store, c))
                     : KCM_RC_FCC_NOFILE;
}

static int32_t op_store(struct kcm_call *call)
{
    struct store_cache *c = named_cache(call);

    return c != NULL ? store_code(call, store_cred_add(call->k->store, c, &call->req->cred))
                     : KCM_RC_FCC_NOFILE;
}

static int32_t op_retrieve(struct kcm_call *call)
{
    struct store_cache *c = named_cache(call);
    struct store_cred *cr;

    if (c == NULL) {
        return KCM_RC_FCC_NOFILE;
    }
    cr = store_cred_match(c, call->req->flags, &call->req->mcred);
    return cr != NULL ? emit(call, emit_data, &cr->v.raw) : KCM_RC_CC_END;
}

static int32_t op_get_principal(struct kcm_call *call)
{
    struct store_cache *c = named_cache(call);

    return c != NULL ? emit(call, emit_data, &c->princ.raw) : KCM_RC_FCC_NOFILE;
}

static int32_t op_get_cred_uuid_list(struct kcm_call *call)
{
    struct store_cache *c = named_cache(call);

    return c != NULL ? emit(call, emit_cred_uuids, c) : KCM_RC_FCC_NOFILE;
}

static int32_t op_get_cred_by_uuid(struct kcm_call *call)
{
    struct store_cache *c = named_cache(call);
    struct store_cred *cr;

    if (c == NULL) {
        return KCM_RC_FCC_NOFILE;
    }
    cr = store_cred_find_uuid(c, call->req->uuid);
    return cr != NULL ? emit(call, emit_data, &cr->v.raw) : KCM_RC_CC_END;
}

static int32_t op_remove_cred(struct kcm_call *call)
{
    struct store_cache *c = named_cache(call);

    if (c == NULL) {
        return KCM_RC_FCC_NOFILE;
    }
    return store_code(call, store_cred_remove(call->k->store, c, call->req->flags,
                                              &call->req->mcred));
}

static int32_t op_set_flags(struct kcm_call *call)
{
    /* Accepted and ignored, as Heimdal does (MIT's kcm_set_flags is a no-op). */
    return named_cache(call) != NULL ? KCM_RC_OK : KCM_RC_FCC_NOFILE;
}

static int32_t op_move_cache(struct kcm_call *call)
{
    struct store_cache *c = named_cache(call);

    if (c == NULL) {
        return KCM_RC_FCC_NOFILE;
    }
    return store_code(call, store_cache_move(call->k->store, c, call->req->name2));
}

static int32_t op_get_cache_uuid_list(struct kcm_call *call)
{
    return emit(call, emit_cache_uuids, call->owner);
}

static int32_t op_get_cache_by_uuid(struct kcm_call *call)
{
    struct store_cache *c = store_cache_find_uuid(call->owner, call->req->uuid);

    return c != NULL ? emit(call, emit_cstr, c->name) : KCM_RC_CC_END;
}

static int32_t op_get_default_cache(struct kcm_call *call)
{
    char buf[32];

    return emit(call, emit_cstr, store_default_name(call->owner, &call->key, buf, sizeof(buf)));
}

static int32_t op_set_default_cache(struct kcm_call *call)
{
    if (owner_create(call) == NULL) {
        return KCM_RC_CC_NOMEM;
    }
    return store_code(call, store_set_default(call->k->store, call->owner, call->req->name));
}

static int32_t op_get_kdc_offset(struct kcm_call *call)
{
    struct store_cache *c = named_cache(call);

    return c != NULL ? emit(call, emit_i32, &c->kdc_offset) : KCM_RC_FCC_NOFILE;
}

static int32_t op_set_kdc_offset(struct kcm_call *call)
{
    struct store_cache *c = named_cache(call);

    return c != NULL ? store_code(call, store_set_offset(call->k->store, c, call->req->offset))
                     : KCM_RC_FCC_NOFILE;
}

static int32_t op_get_cred_list(struct kcm_call *call)
{
    struct store_cache *c = named_cache(call);

    return c != NULL ? emit(call, emit_cred_list, c) : KCM_RC_FCC_NOFILE;
}

static int32_t op_replace(struct kcm_call *call)
{
    const struct kcm_req *r = call->req;

    if (owner_create(call) == NULL) {
        return KCM_RC_CC_NOMEM;
    }
    return store_code(call, store_cache_replace(call->k->store, call->owner, r->name, &r->princ,
                                                r->offset, r->ncreds, r->creds));
}

/* cachet extension: session capabilities (kcm_session_cap.h). The peer is the connection's own
 * record (kcm_srv owns it, so the cast is sound): a valid capability rebinds its session. */
static int32_t op_session_cap(struct kcm_call *call)
{
    uint8_t buf[KCM_SCAP_MAX_REPLY];
    struct util_data d = { buf, 0 };
    size_t n = 0;
    int32_t code = kcm_session_cap_handle((struct util_peer *)call->peer, call->k->access,
                                          call->frame, call->frame_len, buf, sizeof(buf), &n);

    d.len = (uint32_t)n;
    if (code == KCM_RC_OK) {
        code = emit(call, emit_data, &d);
    }
    explicit_bzero(buf, sizeof(buf));
    return code;
}

static const struct kcm_op kcm_ops[] = {
    { KCM_OP_NOOP, ACCESS_COLLECTION, 0, op_noop },
    { KCM_OP_GET_NAME, ACCESS_READ, 0, op_get_name },
    { KCM_OP_RESOLVE, ACCESS_COLLECTION, 0, op_noop },
    { KCM_OP_GEN_NEW, ACCESS_COLLECTION, 0, op_gen_new },
    { KCM_OP_INITIALIZE, ACCESS_WRITE, 0, op_initialize },
    { KCM_OP_DESTROY, ACCESS_WRITE, 0, op_destroy },
    { KCM_OP_STORE, ACCESS_WRITE, 0, op_store },
    { KCM_OP_RETRIEVE, ACCESS_READ, KCM_OPF_EXTENSION, op_retrieve },
    { KCM_OP_GET_PRINCIPAL, ACCESS_READ, 0, op_get_principal },
    { KCM_OP_GET_CRED_UUID_LIST, ACCESS_READ, 0, op_get_cred_uuid_list },
    { KCM_OP_GET_CRED_BY_UUID, ACCESS_READ, 0, op_get_cred_by_uuid },
    { KCM_OP_REMOVE_CRED, ACCESS_WRITE, 0, op_remove_cred },
    { KCM_OP_SET_FLAGS, ACCESS_WRITE, 0, op_set_flags },
    { KCM_OP_MOVE_CACHE, ACCESS_WRITE, KCM_OPF_NAME2, op_move_cache },
    { KCM_OP_GET_CACHE_UUID_LIST, ACCESS_COLLECTION, 0, op_get_cache_uuid_list },
    { KCM_OP_GET_CACHE_BY_UUID, ACCESS_COLLECTION, 0, op_get_cache_by_uuid },
    { KCM_OP_GET_DEFAULT_CACHE, ACCESS_COLLECTION, 0, op_get_default_cache },
    { KCM_OP_SET_DEFAULT_CACHE, ACCESS_WRITE, 0, op_set_default_cache },
    { KCM_OP_GET_KDC_OFFSET, ACCESS_READ, 0, op_get_kdc_offset },
    { KCM_OP_SET_KDC_OFFSET, ACCESS_WRITE, 0, op_set_kdc_offset },
    { KCM_OP_GET_CRED_LIST, ACCESS_READ, KCM_OPF_EXTENSION, op_get_cred_list },
    { KCM_OP_REPLACE, ACCESS_WRITE, KCM_OPF_EXTENSION, op_replace },
    { KCM_OP_CACHET_SESSION_CAP, ACCESS_SESSION_BIND, KCM_OPF_RAW, op_session_cap },
};

static const struct kcm_op *find_op(uint16_t opcode)
{
    for (size_t i = 0; i < sizeof(kcm_ops) / sizeof(kcm_ops[0]); i++) {
        if (kcm_ops[i].opcode == opcode) {
            return &kcm_ops[i];
        }
    }
    return NULL;
}

/* Denials never disclose: a read of a foreign name looks like a missing cache, a write is a
 * permission error. */
static int32_t check_access(struct kcm_call *call, const struct kcm_op *op)
{
    const char *names[2] = { call->req->name, call->req->name2 };
    int n = (op->flags & KCM_OPF_NAME2) ? 2 : 1;

    for (int i = 0; i < n; i++) {
        enum access_result ar = access_check(call->k->access, call->peer, op->cls, names[i]);
        if (ar != ACCESS_ALLOW) {
            /* access_check logged it (once per connection and reason). */
            util_log(UTIL_LOG_DEBUG, "%s of '%s' by uid %u (pid %d) denied: %s",
                     kcm_op_name(op->opcode), names[i] != NULL ? names[i] : "",
                     (unsigned)call->peer->uid, (int)call->peer->pid, access_result_str(ar));
            if (ar == ACCESS_DENY_UNSESSIONED) {
                return KCM_RC_FCC_PERM; /* nothing to hide: say clearly it is a refusal */
            }
            return op->cls == ACCESS_READ ? KCM_RC_FCC_NOFILE : KCM_RC_FCC_PERM;
        }
    }
    return KCM_RC_OK;
}

static enum kcm_disposition reply_code(struct kcm_call *call, int32_t code)
{
    struct util_wr wr;

    if (code != KCM_RC_OK || call->out->len == 0) {
        /* Errors carry no fields; success without fields is a bare header. */
        if (!out_reserve(call->out_ctx, call->out, KCM_REPLY_HDR)) {
            return KCM_DISP_DROP;
        }
        call->out->len = KCM_REPLY_HDR;
    }
    util_wr_init(&wr, call->out->buf->p, call->out->buf->len);
    wr.len = call->out->len;
    if (!kcm_reply_finish(&wr, code)) {
        return KCM_DISP_DROP;
    }
    return KCM_DISP_REPLY;
}

enum kcm_disposition kcm_dispatch(struct kcm_ctx *k, const struct util_peer *peer,
                                  const uint8_t *frame, size_t len, TALLOC_CTX *out_ctx,
                                  struct kcm_out *out, const char **why)
{
    struct kcm_req req;
    struct kcm_call call = { .k = k, .peer = peer, .req = &req, .out_ctx = out_ctx, .out = out,
                             .frame = frame, .frame_len = len };
    enum kcm_parse_result pr = kcm_req_parse(frame, len, &req);
    const struct kcm_op *op;
    int32_t code;

    k->requests++;
    out->len = 0;
    if (pr == KCM_PARSE_BAD_VERSION || pr == KCM_PARSE_MALFORMED) {
        *why = kcm_parse_result_str(pr);
        k->errors++;
        return KCM_DISP_DROP;
    }
    op = find_op(req.opcode);
    if (pr != KCM_PARSE_OK && op != NULL && !(op->flags & KCM_OPF_RAW)) {
        op = NULL;
    }
    if (op == NULL || ((op->flags & KCM_OPF_EXTENSION) && !k->mit_extensions)) {
        /* Well-formed "unsupported": MIT falls back, the connection stays usable. */
        util_log(UTIL_LOG_DEBUG, "opcode %u (%s) unsupported", req.opcode,
                 kcm_op_name(req.opcode));
        return reply_code(&call, KCM_RC_FCC_INTERNAL);
    }
    access_owner_of(k->access, peer, &call.key);
    code = check_access(&call, op);
    if (code == KCM_RC_OK) {
        call.owner = store_owner_get(k->store, &call.key);
        code = op->fn(&call);
    }
    if (code != KCM_RC_OK) {
        k->errors++;
    }
    util_log(UTIL_LOG_DEBUG, "uid %u pid %d %s '%s' -> %d", (unsigned)peer->uid, (int)peer->pid,
             kcm_op_name(req.opcode), req.name != NULL ? req.name : "", (int)code);
    return reply_code(&call, code);
}
