/* The SESSION cache type: one handle per krb5_ccache, every operation one KCM request (or a
 * few, where MIT's own KCM client needs them too). Semantics follow MIT 1.20's cc_kcm.c
 * (kcm-protocol.md §2), including its fallbacks when a server lacks RETRIEVE, GET_CRED_LIST or
 * REPLACE, so that SESSION:x and KCM:x behave the same against the same daemon. */
#include "config.h"
#include "ccache-plugin/ccp_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- handles ---- */

krb5_error_code ccp_make_handle(krb5_context ctx, const char *residual, const struct ccp_target *t,
                                krb5_ccache *out)
{
    struct ccp_ccache *c = calloc(1, sizeof(*c));
    struct ccp_handle *h = calloc(1, sizeof(*h));

    *out = NULL;
    if (c == NULL || h == NULL || (h->residual = strdup(residual)) == NULL ||
        pthread_mutex_init(&h->lock, NULL) != 0) {
        if (h != NULL) {
            free(h->residual);
        }
        free(h);
        free(c);
        return ENOMEM;
    }
    h->target = *t;
    c->magic = KV5M_CCACHE;
    c->ops = &ccp_ops;
    c->data = h;
    *out = (krb5_ccache)c;
    return 0;
}

static void free_handle(krb5_ccache cache)
{
    struct ccp_handle *h = ccp_handle_of(cache);

    pthread_mutex_destroy(&h->lock);
    free(h->residual);
    free(h);
    free(cache);
}

const char *ccp_rd_name(struct util_rd *rd)
{
    return util_rd_cstr(rd, KCM_MAX_NAME);
}

static const char *KRB5_CALLCONV ccp_get_name(krb5_context ctx, krb5_ccache cache)
{
    return ccp_handle_of(cache)->residual;
}

static krb5_error_code name_call(krb5_context ctx, krb5_ccache cache, uint16_t op,
                                 struct ccp_reply *rep)
{
    struct ccp_handle *h = ccp_handle_of(cache);

    return ccp_call(ctx, &h->target, op, ccp_build_name, h->residual, rep);
}

static krb5_error_code KRB5_CALLCONV ccp_resolve(krb5_context ctx, krb5_ccache *out,
                                                 const char *residual)
{
    struct ccp_target t;
    struct ccp_reply rep;
    const char *name;
    krb5_error_code ret = ccp_target_init(ctx, &t);

    *out = NULL;
    if (ret != 0) {
        return ret;
    }
    if (*residual != '\0') {
        return ccp_make_handle(ctx, residual, &t, out);
    }
    /* SESSION: is the collection: its default (primary) cache. */
    ret = ccp_call(ctx, &t, KCM_OP_GET_DEFAULT_CACHE, NULL, NULL, &rep);
    if (ret != 0) {
        return ret;
    }
    name = ccp_rd_name(&rep.body);
    ret = name != NULL ? ccp_make_handle(ctx, name, &t, out) : KRB5_KCM_MALFORMED_REPLY;
    ccp_reply_free(&rep);
    return ret;
}

static krb5_error_code KRB5_CALLCONV ccp_gen_new(krb5_context ctx, krb5_ccache *out)
{
    struct ccp_target t;
    struct ccp_reply rep;
    const char *name;
    krb5_error_code ret = ccp_target_init(ctx, &t);

    *out = NULL;
    if (ret != 0) {
        return ret;
    }
    ret = ccp_call(ctx, &t, KCM_OP_GEN_NEW, NULL, NULL, &rep);
    if (ret != 0) {
        return ret;
    }
    name = ccp_rd_name(&rep.body);
    ret = name != NULL ? ccp_make_handle(ctx, name, &t, out) : KRB5_KCM_MALFORMED_REPLY;
    ccp_reply_free(&rep);
    return ret;
}

static krb5_error_code KRB5_CALLCONV ccp_close(krb5_context ctx, krb5_ccache cache)
{
    free_handle(cache);
    return 0;
}

static krb5_error_code KRB5_CALLCONV ccp_destroy(krb5_context ctx, krb5_ccache cache)
{
    struct ccp_reply rep;
    krb5_error_code ret = name_call(ctx, cache, KCM_OP_DESTROY, &rep);

    ccp_reply_free(&rep);
    free_handle(cache);
    return ret;
}

/* ---- KDC time offset (MIT: get_kdc_offset / set_kdc_offset) ---- */

struct name_i32 {
    const char *name;
    int32_t v;
};

static void build_name_i32(struct util_wr *wr, const void *arg)
{
    const struct name_i32 *a = arg;

    util_wr_cstr(wr, a->name);
    util_wr_i32(wr, a->v);
}

static int32_t context_offset(krb5_context ctx)
{
    krb5_timestamp sec = 0;
    krb5_int32 usec = 0;

    return krb5_get_time_offsets(ctx, &sec, &usec) == 0 ? sec : 0;
}

static void set_kdc_offset(krb5_context ctx, krb5_ccache cache)
{
    struct ccp_handle *h = ccp_handle_of(cache);
    struct name_i32 a = { h->residual, context_offset(ctx) };
    struct ccp_reply rep;

    if (a.v != 0) {
        (void)ccp_call(ctx, &h->target, KCM_OP_SET_KDC_OFFSET, build_name_i32, &a, &rep);
        ccp_reply_free(&rep);
    }
}

static void get_kdc_offset(krb5_context ctx, krb5_ccache cache)
{
    struct ccp_reply rep;
    int32_t off;

    if (name_call(ctx, cache, KCM_OP_GET_KDC_OFFSET, &rep) != 0) {
        return;
    }
    off = util_rd_i32(&rep.body);
    if (util_rd_ok(&rep.body)) {
        (void)krb5_set_time_offsets(ctx, off, 0);
    }
    ccp_reply_free(&rep);
}

/* ---- initialize, store, principal ---- */

struct name_princ {
    const char *name;
    krb5_const_principal princ;
};

static void build_name_princ(struct util_wr *wr, const void *arg)
{
    const struct name_princ *a = arg;

    util_wr_cstr(wr, a->name);
    ccp_wr_princ(wr, a->princ);
}

static krb5_error_code KRB5_CALLCONV ccp_init(krb5_context ctx, krb5_ccache cache,
                                              krb5_principal princ)
{
    struct ccp_handle *h = ccp_handle_of(cache);
    struct name_princ a = { h->residual, princ };
    struct ccp_reply rep;
    krb5_error_code ret;

    ret = ccp_call(ctx, &h->target, KCM_OP_INITIALIZE, build_name_princ, &a, &rep);
    ccp_reply_free(&rep);
    set_kdc_offset(ctx, cache);
    return ret;
}

struct name_cred {
    const char *name;
    const krb5_creds *cred;
};

static void build_name_cred(struct util_wr *wr, const void *arg)
{
    const struct name_cred *a = arg;

    util_wr_cstr(wr, a->name);
    ccp_wr_cred(wr, a->cred);
}

static krb5_error_code KRB5_CALLCONV ccp_store(krb5_context ctx, krb5_ccache cache,
                                               krb5_creds *cred)
{
    struct ccp_handle *h = ccp_handle_of(cache);
    struct name_cred a = { h->residual, cred };
    struct ccp_reply rep;
    krb5_error_code ret = ccp_call(ctx, &h->target, KCM_OP_STORE, build_name_cred, &a, &rep);

    ccp_reply_free(&rep);
    return ret;
}

static krb5_error_code KRB5_CALLCONV ccp_get_princ(krb5_context ctx, krb5_ccache cache,
                                                   krb5_principal *out)
{
    struct ccp_reply rep;
    struct kcm_princ w;
    krb5_error_code ret = name_call(ctx, cache, KCM_OP_GET_PRINCIPAL, &rep);

    *out = NULL;
    /* Heimdal-style servers may answer 0 with no principal. */
    if (ret == 0 && util_rd_left(&rep.body) == 0) {
        ret = KRB5_FCC_NOFILE;
    }
    if (ret == 0) {
        ret = kcm_princ_from_bytes(rep.body.p + rep.body.pos, util_rd_left(&rep.body), &w)
                  ? ccp_princ_from_wire(&w, out)
                  : KRB5_KCM_MALFORMED_REPLY;
    } else if (ret == KRB5_FCC_NOFILE) {
        krb5_set_error_message(ctx, ret, "Credentials cache 'SESSION:%s' not found",
                               ccp_handle_of(cache)->residual);
    }
    ccp_reply_free(&rep);
    return ret;
}

/* ---- the cache's credentials, as wire views ---- */

/* The cache's creds, parsed once into views: into the kept GET_CRED_LIST reply, or into
 * per-cred copies (the UUID fallback). */
struct raw_list {
    const uint8_t **bytes;
    uint32_t *lens;
    struct kcm_cred *creds; /* parsed views of bytes[i] */
    size_t n;
    struct ccp_reply keep; /* GET_CRED_LIST reply the views point into */
    bool copies;           /* bytes[i] are owned copies */
};

static bool unsupported_op(krb5_error_code ret)
{
    /* What MIT's client treats as "server lacks this opcode" (cc_kcm.c). */
    return ret == KRB5_FCC_INTERNAL || ret == KRB5_CC_IO || ret == KRB5_CC_NOSUPP;
}

static void raw_free(struct raw_list *l)
{
    for (size_t i = 0; l->copies && i < l->n; i++) {
        if (l->bytes[i] != NULL) {
            explicit_bzero((void *)l->bytes[i], l->lens[i]);
            free((void *)l->bytes[i]);
        }
    }
    free(l->bytes);
    free(l->lens);
    free(l->creds);
    ccp_reply_free(&l->keep);
    memset(l, 0, sizeof(*l));
}

static krb5_error_code raw_alloc(struct raw_list *l, size_t n)
{
    l->bytes = calloc(n > 0 ? n : 1, sizeof(*l->bytes));
    l->lens = calloc(n > 0 ? n : 1, sizeof(*l->lens));
    l->creds = calloc(n > 0 ? n : 1, sizeof(*l->creds));
    l->n = n;
    if (l->bytes == NULL || l->lens == NULL || l->creds == NULL) {
        l->n = 0;
        raw_free(l);
        return ENOMEM;
    }
    return 0;
}

static krb5_error_code raw_copy(struct raw_list *l, size_t i, const uint8_t *p, uint32_t len)
{
    uint8_t *c = malloc(len > 0 ? len : 1);

    if (c == NULL) {
        return ENOMEM;
    }
    memcpy(c, p, len);
    l->bytes[i] = c;
    l->lens[i] = len;
    return kcm_cred_from_bytes(c, len, &l->creds[i]) ? 0 : KRB5_KCM_MALFORMED_REPLY;
}

/* GET_CRED_LIST: u32 count, count x (u32 len, cred). Takes the reply. */
static krb5_error_code raw_from_cred_list(struct ccp_reply *rep, struct raw_list *l)
{
    struct util_rd *rd = &rep->body;
    uint32_t n = util_rd_u32(rd);
    krb5_error_code ret;

    if (!util_rd_ok(rd) || n > util_rd_left(rd) / 4) {
        ccp_reply_free(rep);
        return KRB5_KCM_MALFORMED_REPLY;
    }
    ret = raw_alloc(l, n);
    for (uint32_t i = 0; ret == 0 && i < n; i++) {
        struct util_data d = util_rd_data(rd);
        if (!util_rd_ok(rd) || !kcm_cred_from_bytes(d.p, d.len, &l->creds[i])) {
            ret = KRB5_KCM_MALFORMED_REPLY;
            break;
        }
        l->bytes[i] = d.p;
        l->lens[i] = d.len;
    }
    if (ret == 0 && !util_rd_done(rd)) {
        ret = KRB5_KCM_MALFORMED_REPLY;
    }
    l->keep = *rep;
    memset(rep, 0, sizeof(*rep));
    if (ret != 0) {
        raw_free(l);
    }
    return ret;
}

struct name_uuid {
    const char *name;
    const uint8_t *uuid;
};

static void build_name_uuid(struct util_wr *wr, const void *arg)
{
    const struct name_uuid *a = arg;

    util_wr_cstr(wr, a->name);
    util_wr_bytes(wr, a->uuid, KCM_UUID_LEN);
}

/* GET_CRED_UUID_LIST + GET_CRED_BY_UUID each (servers without GET_CRED_LIST). A cred removed
 * in between is skipped. */
static krb5_error_code raw_by_uuid(krb5_context ctx, krb5_ccache cache, struct raw_list *l)
{
    struct ccp_handle *h = ccp_handle_of(cache);
    struct ccp_reply ul;
    struct ccp_reply rep;
    size_t n;
    size_t k = 0;
    krb5_error_code ret = name_call(ctx, cache, KCM_OP_GET_CRED_UUID_LIST, &ul);

    if (ret != 0) {
        return ret;
    }
    if (util_rd_left(&ul.body) % KCM_UUID_LEN != 0) {
        ccp_reply_free(&ul);
        return KRB5_KCM_MALFORMED_REPLY;
    }
    n = util_rd_left(&ul.body) / KCM_UUID_LEN;
    ret = raw_alloc(l, n);
    l->copies = true;
    for (size_t i = 0; ret == 0 && i < n; i++) {
        struct name_uuid a = { h->residual, ul.body.p + ul.body.pos + i * KCM_UUID_LEN };
        ret = ccp_call(ctx, &h->target, KCM_OP_GET_CRED_BY_UUID, build_name_uuid, &a, &rep);
        if (ret == KRB5_CC_END) {
            ret = 0;
            continue;
        }
        if (ret == 0) {
            const uint8_t *p = rep.body.p + rep.body.pos;
            uint32_t len = (uint32_t)util_rd_left(&rep.body);
            ret = raw_copy(l, k++, p, len);
        }
        ccp_reply_free(&rep);
    }
    ccp_reply_free(&ul);
    l->n = k < l->n ? k : l->n;
    if (ret != 0) {
        raw_free(l);
    }
    return ret;
}

static krb5_error_code raw_fetch(krb5_context ctx, krb5_ccache cache, struct raw_list *l)
{
    struct ccp_reply rep;
    krb5_error_code ret = name_call(ctx, cache, KCM_OP_GET_CRED_LIST, &rep);

    memset(l, 0, sizeof(*l));
    if (ret == 0) {
        return raw_from_cred_list(&rep, l);
    }
    if (unsupported_op(ret)) {
        return raw_by_uuid(ctx, cache, l);
    }
    return ret;
}

/* ---- iteration ---- */

struct ccp_cursor {
    struct raw_list raw;
    size_t pos;
};

static krb5_error_code KRB5_CALLCONV ccp_get_first(krb5_context ctx, krb5_ccache cache,
                                                   krb5_cc_cursor *cursor)
{
    struct ccp_cursor *c;
    krb5_error_code ret;

    *cursor = NULL;
    get_kdc_offset(ctx, cache);
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return ENOMEM;
    }
    /* The whole list is fetched now: a daemon restart later does not cut the iteration. */
    ret = raw_fetch(ctx, cache, &c->raw);
    if (ret != 0) {
        free(c);
        return ret;
    }
    *cursor = c;
    return 0;
}

static krb5_error_code KRB5_CALLCONV ccp_get_next(krb5_context ctx, krb5_ccache cache,
                                                  krb5_cc_cursor *cursor, krb5_creds *out)
{
    struct ccp_cursor *c = *cursor;

    memset(out, 0, sizeof(*out));
    if (c == NULL || c->pos >= c->raw.n) {
        return KRB5_CC_END;
    }
    return ccp_cred_from_wire(&c->raw.creds[c->pos++], out);
}

static krb5_error_code KRB5_CALLCONV ccp_end_get(krb5_context ctx, krb5_ccache cache,
                                                 krb5_cc_cursor *cursor)
{
    struct ccp_cursor *c = *cursor;

    if (c != NULL) {
        raw_free(&c->raw);
        free(c);
    }
    *cursor = NULL;
    return 0;
}

/* ---- retrieve, remove ---- */

struct name_flags_mcred {
    const char *name;
    uint32_t flags;
    const krb5_creds *mcred;
};

static void build_name_flags_mcred(struct util_wr *wr, const void *arg)
{
    const struct name_flags_mcred *a = arg;

    util_wr_cstr(wr, a->name);
    util_wr_u32(wr, a->flags);
    ccp_wr_mcred(wr, a->mcred);
}

static int ktype_pref(krb5_enctype e, const krb5_enctype *ktypes)
{
    for (int i = 0; ktypes[i] != ENCTYPE_NULL; i++) {
        if (ktypes[i] == e) {
            return i;
        }
    }
    return -1;
}

/* Client-side retrieval over the whole cache (MIT's k5_cc_retrieve_cred_default), with the
 * same matching rules as the daemon: both sides use kcm_cred_match() on wire views. */
static krb5_error_code retrieve_by_scan(krb5_context ctx, krb5_ccache cache, krb5_flags flags,
                                        krb5_creds *mcred, krb5_creds *out)
{
    struct raw_list l;
    struct util_wr wr;
    struct util_rd rd;
    struct kcm_mcred m;
    uint8_t *mbuf = NULL;
    krb5_enctype *ktypes = NULL;
    krb5_error_code ret;
    krb5_error_code nomatch = KRB5_CC_NOTFOUND;
    uint32_t wflags = ccp_map_tcflags(flags);
    long best = -1;
    int best_pref = 0;

    if (flags & KRB5_TC_SUPPORTED_KTYPES) {
        ret = krb5_get_tgs_ktypes(ctx, mcred->server, &ktypes);
        if (ret != 0) {
            return ret;
        }
    }
    util_wr_init(&wr, NULL, 0);
    ccp_wr_mcred(&wr, mcred);
    mbuf = malloc(wr.len);
    if (mbuf == NULL) {
        free(ktypes);
        return ENOMEM;
    }
    util_wr_init(&wr, mbuf, wr.len);
    ccp_wr_mcred(&wr, mcred);
    util_rd_init(&rd, mbuf, wr.len);
    if (!kcm_parse_mcred(&rd, &m) || !util_rd_done(&rd)) {
        free(mbuf);
        free(ktypes);
        return KRB5_CC_FORMAT;
    }
    ret = raw_fetch(ctx, cache, &l);
    for (size_t i = 0; ret == 0 && i < l.n; i++) {
        const struct kcm_cred *c = &l.creds[i];
        int pref;
        if (!kcm_cred_match(wflags, &m, c)) {
            continue;
        }
        if (ktypes == NULL) {
            best = (long)i;
            break;
        }
        pref = ktype_pref(c->key.enctype, ktypes);
        if (pref < 0) {
            nomatch = KRB5_CC_NOT_KTYPE;
        } else if (best < 0 || pref < best_pref) {
            best = (long)i;
            best_pref = pref;
        }
    }
    if (ret == 0) {
        ret = best < 0 ? nomatch : ccp_cred_from_wire(&l.creds[best], out);
    }
    raw_free(&l);
    explicit_bzero(mbuf, wr.len);
    free(mbuf);
    free(ktypes);
    return ret;
}

static krb5_error_code KRB5_CALLCONV ccp_retrieve(krb5_context ctx, krb5_ccache cache,
                                                  krb5_flags flags, krb5_creds *mcred,
                                                  krb5_creds *out)
{
    struct ccp_handle *h = ccp_handle_of(cache);
    /* KCM_GC_CACHED: the server must never go to the KDC itself (Heimdal would). */
    struct name_flags_mcred a = { h->residual, ccp_map_tcflags(flags) | KCM_GC_CACHED, mcred };
    struct ccp_reply rep;
    struct kcm_cred w;
    krb5_enctype *ktypes = NULL;
    krb5_error_code ret;

    memset(out, 0, sizeof(*out));
    ret = ccp_call(ctx, &h->target, KCM_OP_RETRIEVE, build_name_flags_mcred, &a, &rep);
    if (unsupported_op(ret)) {
        ret = retrieve_by_scan(ctx, cache, flags, mcred, out);
        return ret == KRB5_CC_END ? KRB5_CC_NOTFOUND : ret;
    }
    if (ret != 0) {
        return ret == KRB5_CC_END ? KRB5_CC_NOTFOUND : ret;
    }
    ret = kcm_cred_from_bytes(rep.body.p + rep.body.pos, util_rd_left(&rep.body), &w)
              ? 0
              : KRB5_KCM_MALFORMED_REPLY;
    /* The server cannot know the context's enctypes (KRB5_TC_SUPPORTED_KTYPES has no wire
     * form): if it picked one we cannot use, choose by scanning, as MIT's client does. */
    if (ret == 0 && (flags & KRB5_TC_SUPPORTED_KTYPES)) {
        ret = krb5_get_tgs_ktypes(ctx, mcred->server, &ktypes);
        if (ret == 0 && ktype_pref(w.key.enctype, ktypes) < 0) {
            ccp_reply_free(&rep);
            free(ktypes);
            return retrieve_by_scan(ctx, cache, flags, mcred, out);
        }
    }
    if (ret == 0) {
        ret = ccp_cred_from_wire(&w, out);
    }
    free(ktypes);
    ccp_reply_free(&rep);
    return ret;
}

static krb5_error_code KRB5_CALLCONV ccp_remove_cred(krb5_context ctx, krb5_ccache cache,
                                                     krb5_flags flags, krb5_creds *mcred)
{
    struct ccp_handle *h = ccp_handle_of(cache);
    struct name_flags_mcred a = { h->residual, ccp_map_tcflags(flags), mcred };
    struct ccp_reply rep;
    krb5_error_code ret =
        ccp_call(ctx, &h->target, KCM_OP_REMOVE_CRED, build_name_flags_mcred, &a, &rep);

    ccp_reply_free(&rep);
    return ret;
}

static krb5_error_code KRB5_CALLCONV ccp_set_flags(krb5_context ctx, krb5_ccache cache,
                                                   krb5_flags flags)
{
    return 0; /* no operational flags, as in MIT's KCM type */
}

static krb5_error_code KRB5_CALLCONV ccp_get_flags(krb5_context ctx, krb5_ccache cache,
                                                   krb5_flags *flags)
{
    *flags = 0;
    return 0;
}

/* ---- replace (krb5_cc_move, kinit) ---- */

struct replace_arg {
    const char *name;
    int32_t offset;
    krb5_const_principal princ;
    krb5_creds *const *creds;
};

static void build_replace(struct util_wr *wr, const void *arg)
{
    const struct replace_arg *a = arg;
    uint32_t n = 0;

    while (a->creds[n] != NULL) {
        n++;
    }
    util_wr_cstr(wr, a->name);
    util_wr_i32(wr, a->offset);
    ccp_wr_princ(wr, a->princ);
    util_wr_u32(wr, n);
    for (uint32_t i = 0; i < n; i++) {
        /* u32 length, then the cred: measure it with a counting writer first. */
        struct util_wr m;
        util_wr_init(&m, NULL, 0);
        ccp_wr_cred(&m, a->creds[i]);
        util_wr_u32(wr, (uint32_t)m.len);
        ccp_wr_cred(wr, a->creds[i]);
    }
}

static krb5_error_code KRB5_CALLCONV ccp_replace(krb5_context ctx, krb5_ccache cache,
                                                 krb5_principal princ, krb5_creds **creds)
{
    struct ccp_handle *h = ccp_handle_of(cache);
    struct replace_arg a = { h->residual, context_offset(ctx), princ, creds };
    struct ccp_reply rep;
    krb5_error_code ret = ccp_call(ctx, &h->target, KCM_OP_REPLACE, build_replace, &a, &rep);

    ccp_reply_free(&rep);
    if (!unsupported_op(ret)) {
        return ret;
    }
    /* MIT's k5_nonatomic_replace(). */
    ret = ccp_init(ctx, cache, princ);
    for (size_t i = 0; ret == 0 && creds[i] != NULL; i++) {
        ret = ccp_store(ctx, cache, creds[i]);
    }
    return ret;
}

static krb5_error_code KRB5_CALLCONV ccp_lock(krb5_context ctx, krb5_ccache cache)
{
    pthread_mutex_lock(&ccp_handle_of(cache)->lock);
    return 0;
}

static krb5_error_code KRB5_CALLCONV ccp_unlock(krb5_context ctx, krb5_ccache cache)
{
    pthread_mutex_unlock(&ccp_handle_of(cache)->lock);
    return 0;
}

const struct ccp_cc_ops ccp_ops = {
    .magic = 0,
    .prefix = CCP_PREFIX,
    .get_name = ccp_get_name,
    .resolve = ccp_resolve,
    .gen_new = ccp_gen_new,
    .init = ccp_init,
    .destroy = ccp_destroy,
    .close = ccp_close,
    .store = ccp_store,
    .retrieve = ccp_retrieve,
    .get_princ = ccp_get_princ,
    .get_first = ccp_get_first,
    .get_next = ccp_get_next,
    .end_get = ccp_end_get,
    .remove_cred = ccp_remove_cred,
    .set_flags = ccp_set_flags,
    .get_flags = ccp_get_flags,
    .ptcursor_new = ccp_ptcursor_new,
    .ptcursor_next = ccp_ptcursor_next,
    .ptcursor_free = ccp_ptcursor_free,
    .replace = ccp_replace,
    .wasdefault = NULL,
    .lock = ccp_lock,
    .unlock = ccp_unlock,
    .switch_to = ccp_switch_to,
};
