/* Unit tests of the KCM op table and dispatcher (src/kcm/kcm_ops.c): frames built with
 * util_wr go through kcm_dispatch() and the replies are checked against
 * ../shared/spec/kcm-protocol.md (§1.3, §2, §8): per-opcode reply fields and codes, FCC_NOFILE
 * for unknown names, CC_END for vanished uuids, only initialized caches listed, unsupported
 * opcodes answered with a well-formed KRB5_FCC_INTERNAL, mit_extensions = false, malformed
 * frames dropped, access denials, and a replay of the golden MIT sessions. */
#include "config.h"

#include <ctype.h>
#include <talloc.h>

#include "unit_common.h"
#include "unit_kcm.h"
#include "common/util_log.h"
#include "access/access.h"
#include "common/util_secmem.h"
#include "kcm/kcm_ops.h"
#include "store/store.h"

struct fx {
    TALLOC_CTX *mem;
    struct store *st;
    struct store_limits lim;
    struct access_policy pol;
    struct kcm_ctx k;
    struct kcm_out out;
    struct tc_frame *f;
    /* The last reply. */
    int32_t code;
    uint8_t body[1 << 16];
    size_t body_len;
};

static struct util_peer peer_of(uid_t uid)
{
    struct util_peer p;

    memset(&p, 0, sizeof(p));
    p.pid = 4242;
    p.uid = uid;
    p.gid = uid;
    p.pidfd = -1;
    p.details_known = true; /* the /proc facts are the test's own */
    p.audit_session = UTIL_NO_AUDIT_SESSION;
    return p;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    f->mem = talloc_new(NULL);
    tc_kcm_setup(f->mem, 64, &f->lim, &f->pol, &f->st, &f->k);
    f->f = malloc(sizeof(*f->f));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    talloc_free(f->mem);
    free(f->f);
    free(f);
    return 0;
}

/* Dispatch a payload (copied to an exact-size buffer); require a well-formed reply and keep
 * its code and body. */
static int32_t dispatch(struct fx *f, uid_t uid, const uint8_t *p, size_t len)
{
    struct util_peer peer = peer_of(uid);
    uint8_t *d = tc_dup(p, len);
    const char *why = NULL;
    enum kcm_disposition disp;
    struct util_rd body;

    disp = kcm_dispatch(&f->k, &peer, d, len, f->mem, &f->out, &why);
    free(d);
    if (disp != KCM_DISP_REPLY) {
        fail_msg("opcode %u dropped: %s", len >= 4 ? (unsigned)((p[2] << 8) | p[3]) : 0,
                 why != NULL ? why : "?");
    }
    assert_true(f->out.len >= KCM_REPLY_HDR);
    assert_true(f->out.len <= f->out.buf->len);
    {
        uint8_t *r = tc_dup(f->out.buf->p, f->out.len);
        assert_true(kcm_reply_parse(r, f->out.len, &f->code, &body));
        /* Outer status is always 0, errors carry no fields. */
        assert_int_equal(util_be32(r + 4), 0);
        f->body_len = util_rd_left(&body);
        assert_true(f->body_len <= sizeof(f->body));
        memcpy(f->body, body.p + body.pos, f->body_len);
        if (f->code != KCM_RC_OK) {
            assert_int_equal(f->body_len, 0);
        }
        free(r);
    }
    return f->code;
}

static int32_t run(struct fx *f, uid_t uid)
{
    size_t len;
    const uint8_t *p = tc_frame_end(f->f, &len);

    return dispatch(f, uid, p, len);
}

#define REQ(op) tc_frame_begin(f->f, (op))

static int32_t op_name(struct fx *f, uid_t uid, uint16_t op, const char *name)
{
    util_wr_cstr(REQ(op), name);
    return run(f, uid);
}

static int32_t op_none(struct fx *f, uid_t uid, uint16_t op)
{
    (void)REQ(op);
    return run(f, uid);
}

static int32_t op_uuid(struct fx *f, uid_t uid, uint16_t op, const char *name,
                       const uint8_t *uuid)
{
    struct util_wr *wr = REQ(op);

    if (name != NULL) {
        util_wr_cstr(wr, name);
    }
    util_wr_bytes(wr, uuid, KCM_UUID_LEN);
    return run(f, uid);
}

static int32_t initialize(struct fx *f, uid_t uid, const char *name, const char *princ)
{
    struct util_wr *wr = REQ(KCM_OP_INITIALIZE);

    util_wr_cstr(wr, name);
    tc_wr_princ(wr, 1, princ);
    return run(f, uid);
}

static int32_t store_cred(struct fx *f, uid_t uid, const char *name, const struct tc_cred *c)
{
    struct util_wr *wr = REQ(KCM_OP_STORE);

    util_wr_cstr(wr, name);
    tc_wr_cred(wr, c);
    return run(f, uid);
}

static int32_t retrieve(struct fx *f, uid_t uid, uint16_t op, const char *name, uint32_t flags,
                        const struct tc_cred *t, uint32_t fields)
{
    struct util_wr *wr = REQ(op);

    util_wr_cstr(wr, name);
    util_wr_u32(wr, flags);
    tc_wr_mcred(wr, t, fields);
    return run(f, uid);
}

static int32_t replace(struct fx *f, uid_t uid, const char *name, const char *princ,
                       int32_t offset, const struct tc_cred *creds, int n)
{
    struct util_wr *wr = REQ(KCM_OP_REPLACE);

    util_wr_cstr(wr, name);
    util_wr_i32(wr, offset);
    tc_wr_princ(wr, 1, princ);
    util_wr_u32(wr, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        struct tc_blob b;
        tc_cred_bytes(&b, &creds[i]);
        util_wr_u32(wr, (uint32_t)b.len);
        util_wr_bytes(wr, b.buf, b.len);
    }
    return run(f, uid);
}

static void expect_body_str(struct fx *f, const char *s)
{
    assert_int_equal(f->body_len, strlen(s) + 1);
    assert_memory_equal(f->body, s, strlen(s) + 1);
}

static void expect_body_cred(struct fx *f, const struct tc_cred *c)
{
    struct tc_blob b;

    tc_cred_bytes(&b, c);
    assert_int_equal(f->body_len, b.len);
    assert_memory_equal(f->body, b.buf, b.len);
}

static size_t nuuids(struct fx *f)
{
    assert_int_equal(f->body_len % KCM_UUID_LEN, 0);
    return f->body_len / KCM_UUID_LEN;
}

/* ---- the whole per-opcode walk for one user ---- */

static void test_opcode_walk(void **state)
{
    struct fx *f = *state;
    const uid_t u = 1000;
    struct tc_cred tgt = tc_cred_std("alice@R", "krbtgt/R@R", 5000);
    struct tc_cred svc = tc_cred_std("alice@R", "host/x@R", 5000);
    uint8_t cache_uuid[KCM_UUID_LEN];
    uint8_t cred_uuids[2][KCM_UUID_LEN];
    char gen[64];

    /* Empty collection. */
    assert_int_equal(op_none(f, u, KCM_OP_GET_DEFAULT_CACHE), KCM_RC_OK);
    expect_body_str(f, "1000");
    assert_int_equal(op_name(f, u, KCM_OP_GET_PRINCIPAL, "1000"), KCM_RC_FCC_NOFILE);
    assert_int_equal(op_none(f, u, KCM_OP_GET_CACHE_UUID_LIST), KCM_RC_OK);
    assert_int_equal(nuuids(f), 0);
    assert_int_equal(op_none(f, u, KCM_OP_NOOP), KCM_RC_OK);
    assert_int_equal(f->body_len, 0);
    assert_int_equal(op_none(f, u, KCM_OP_RESOLVE), KCM_RC_OK);

    /* GEN_NEW: "<uid>:<32 hex>", reserves nothing. */
    assert_int_equal(op_none(f, u, KCM_OP_GEN_NEW), KCM_RC_OK);
    assert_int_equal(f->body_len, 4 + 1 + 32 + 1);
    memcpy(gen, f->body, f->body_len);
    assert_memory_equal(gen, "1000:", 5);
    for (int i = 5; i < 37; i++) {
        assert_true(isxdigit((unsigned char)gen[i]));
    }
    assert_int_equal(op_none(f, u, KCM_OP_GEN_NEW), KCM_RC_OK);
    assert_memory_not_equal(f->body, gen, 38);
    assert_int_equal(op_none(f, u, KCM_OP_GET_CACHE_UUID_LIST), KCM_RC_OK);
    assert_int_equal(nuuids(f), 0);
    assert_int_equal(op_name(f, u, KCM_OP_GET_PRINCIPAL, gen), KCM_RC_FCC_NOFILE);

    /* INITIALIZE + GET_PRINCIPAL. */
    assert_int_equal(initialize(f, u, "1000", "alice@R"), KCM_RC_OK);
    assert_int_equal(f->body_len, 0);
    assert_int_equal(op_name(f, u, KCM_OP_GET_PRINCIPAL, "1000"), KCM_RC_OK);
    {
        struct tc_blob b;
        struct kcm_princ p;
        tc_princ_view(&b, 1, "alice@R", &p);
        assert_int_equal(f->body_len, b.len);
        assert_memory_equal(f->body, b.buf, b.len);
    }
    assert_int_equal(op_name(f, u, KCM_OP_GET_NAME, "1000"), KCM_RC_OK);
    expect_body_str(f, "1000");
    assert_int_equal(op_none(f, u, KCM_OP_GET_CACHE_UUID_LIST), KCM_RC_OK);
    assert_int_equal(nuuids(f), 1);
    memcpy(cache_uuid, f->body, KCM_UUID_LEN);
    assert_int_equal(op_uuid(f, u, KCM_OP_GET_CACHE_BY_UUID, NULL, cache_uuid), KCM_RC_OK);
    expect_body_str(f, "1000");

    /* STORE, GET_CRED_UUID_LIST, GET_CRED_BY_UUID, GET_CRED_LIST. */
    assert_int_equal(op_name(f, u, KCM_OP_GET_CRED_UUID_LIST, "1000"), KCM_RC_OK);
    assert_int_equal(nuuids(f), 0);
    assert_int_equal(op_name(f, u, KCM_OP_GET_CRED_LIST, "1000"), KCM_RC_OK);
    assert_int_equal(f->body_len, 4);
    assert_int_equal(util_be32(f->body), 0);
    assert_int_equal(store_cred(f, u, "1000", &tgt), KCM_RC_OK);
    assert_int_equal(f->body_len, 0);
    assert_int_equal(store_cred(f, u, "1000", &svc), KCM_RC_OK);
    assert_int_equal(op_name(f, u, KCM_OP_GET_CRED_UUID_LIST, "1000"), KCM_RC_OK);
    assert_int_equal(nuuids(f), 2);
    memcpy(cred_uuids, f->body, sizeof(cred_uuids));
    assert_int_equal(op_uuid(f, u, KCM_OP_GET_CRED_BY_UUID, "1000", cred_uuids[1]), KCM_RC_OK);
    expect_body_cred(f, &svc);
    assert_int_equal(op_uuid(f, u, KCM_OP_GET_CRED_BY_UUID, "1000", cred_uuids[0]), KCM_RC_OK);
    expect_body_cred(f, &tgt);
    assert_int_equal(op_name(f, u, KCM_OP_GET_CRED_LIST, "1000"), KCM_RC_OK);
    {
        struct util_rd rd;
        struct kcm_cred c;
        struct tc_blob b1, b2;
        tc_cred_bytes(&b1, &tgt);
        tc_cred_bytes(&b2, &svc);
        assert_int_equal(f->body_len, 4 + 4 + b1.len + 4 + b2.len);
        util_rd_init(&rd, f->body, f->body_len);
        assert_int_equal(util_rd_u32(&rd), 2);
        assert_true(kcm_cred_list_next(&rd, &c));
        assert_memory_equal(c.raw.p, b1.buf, b1.len);
        assert_true(kcm_cred_list_next(&rd, &c));
        assert_memory_equal(c.raw.p, b2.buf, b2.len);
        assert_true(util_rd_done(&rd));
    }

    /* RETRIEVE: hit returns the cred; miss → CC_END. */
    assert_int_equal(retrieve(f, u, KCM_OP_RETRIEVE, "1000", KCM_GC_CACHED | KCM_TC_MATCH_TIMES,
                              &svc, KCM_SC_CLIENT | KCM_SC_SERVER),
                     KCM_RC_OK);
    expect_body_cred(f, &svc);
    {
        struct tc_cred t = svc;
        t.server = "host/none@R";
        assert_int_equal(retrieve(f, u, KCM_OP_RETRIEVE, "1000", KCM_GC_CACHED, &t,
                                  KCM_SC_CLIENT | KCM_SC_SERVER),
                         KCM_RC_CC_END);
        t = svc;
        t.endtime = 5001; /* wants a ticket lasting longer than ours */
        assert_int_equal(retrieve(f, u, KCM_OP_RETRIEVE, "1000",
                                  KCM_GC_CACHED | KCM_TC_MATCH_TIMES, &t,
                                  KCM_SC_CLIENT | KCM_SC_SERVER),
                         KCM_RC_CC_END);
    }

    /* KDC offset. */
    assert_int_equal(op_name(f, u, KCM_OP_GET_KDC_OFFSET, "1000"), KCM_RC_OK);
    assert_int_equal(f->body_len, 4);
    assert_int_equal(util_be32(f->body), 0);
    {
        struct util_wr *wr = REQ(KCM_OP_SET_KDC_OFFSET);
        util_wr_cstr(wr, "1000");
        util_wr_i32(wr, -77);
        assert_int_equal(run(f, u), KCM_RC_OK);
        assert_int_equal(f->body_len, 0);
    }
    assert_int_equal(op_name(f, u, KCM_OP_GET_KDC_OFFSET, "1000"), KCM_RC_OK);
    assert_int_equal((int32_t)util_be32(f->body), -77);

    /* SET_FLAGS: accepted, ignored. */
    {
        struct util_wr *wr = REQ(KCM_OP_SET_FLAGS);
        util_wr_cstr(wr, "1000");
        util_wr_u32(wr, 0xffffffff);
        assert_int_equal(run(f, u), KCM_RC_OK);
    }

    /* REMOVE_CRED: removes the match; again → CC_NOTFOUND. */
    assert_int_equal(retrieve(f, u, KCM_OP_REMOVE_CRED, "1000", 0, &svc,
                              KCM_SC_CLIENT | KCM_SC_SERVER),
                     KCM_RC_OK);
    assert_int_equal(f->body_len, 0);
    assert_int_equal(retrieve(f, u, KCM_OP_REMOVE_CRED, "1000", 0, &svc,
                              KCM_SC_CLIENT | KCM_SC_SERVER),
                     KCM_RC_CC_NOTFOUND);
    /* The removed cred's uuid has vanished. */
    assert_int_equal(op_uuid(f, u, KCM_OP_GET_CRED_BY_UUID, "1000", cred_uuids[1]),
                     KCM_RC_CC_END);

    /* SET_DEFAULT_CACHE / GET_DEFAULT_CACHE; the name need not exist. */
    assert_int_equal(op_name(f, u, KCM_OP_SET_DEFAULT_CACHE, gen), KCM_RC_OK);
    assert_int_equal(f->body_len, 0);
    assert_int_equal(op_none(f, u, KCM_OP_GET_DEFAULT_CACHE), KCM_RC_OK);
    expect_body_str(f, gen);
    assert_int_equal(op_none(f, u, KCM_OP_GET_CACHE_UUID_LIST), KCM_RC_OK);
    assert_int_equal(nuuids(f), 1); /* SET_DEFAULT_CACHE creates nothing */

    /* MOVE_CACHE "1000" -> gen. */
    {
        struct util_wr *wr = REQ(KCM_OP_MOVE_CACHE);
        util_wr_cstr(wr, "1000");
        util_wr_cstr(wr, gen);
        assert_int_equal(run(f, u), KCM_RC_OK);
    }
    assert_int_equal(op_name(f, u, KCM_OP_GET_PRINCIPAL, "1000"), KCM_RC_FCC_NOFILE);
    assert_int_equal(op_name(f, u, KCM_OP_GET_PRINCIPAL, gen), KCM_RC_OK);

    /* DESTROY; the default name survives; the uuid has vanished → CC_END. */
    assert_int_equal(op_name(f, u, KCM_OP_DESTROY, gen), KCM_RC_OK);
    assert_int_equal(f->body_len, 0);
    assert_int_equal(op_name(f, u, KCM_OP_DESTROY, gen), KCM_RC_FCC_NOFILE);
    assert_int_equal(op_none(f, u, KCM_OP_GET_DEFAULT_CACHE), KCM_RC_OK);
    expect_body_str(f, gen);
    assert_int_equal(op_uuid(f, u, KCM_OP_GET_CACHE_BY_UUID, NULL, cache_uuid), KCM_RC_CC_END);
    assert_int_equal(op_uuid(f, u, KCM_OP_GET_CRED_BY_UUID, gen, cred_uuids[0]),
                     KCM_RC_FCC_NOFILE);
    assert_int_equal(op_none(f, u, KCM_OP_GET_CACHE_UUID_LIST), KCM_RC_OK);
    assert_int_equal(nuuids(f), 0);
    assert_true(f->k.requests > 40);
}

/* Every by-name op on a name that does not exist: FCC_NOFILE. */
static void test_unknown_names(void **state)
{
    struct fx *f = *state;
    const uid_t u = 1000;
    struct tc_cred t = tc_cred_std("alice@R", "krbtgt/R@R", 5000);
    static const uint8_t uuid[KCM_UUID_LEN] = { 1, 2, 3, 4 };
    static const uint16_t by_name[] = { KCM_OP_GET_NAME, KCM_OP_DESTROY, KCM_OP_GET_PRINCIPAL,
                                        KCM_OP_GET_CRED_UUID_LIST, KCM_OP_GET_KDC_OFFSET,
                                        KCM_OP_GET_CRED_LIST };

    /* Both with no collection at all and with a collection holding other caches. */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            assert_int_equal(initialize(f, u, "1000:other", "alice@R"), KCM_RC_OK);
        }
        for (size_t i = 0; i < sizeof(by_name) / sizeof(by_name[0]); i++) {
            if (op_name(f, u, by_name[i], "1000") != KCM_RC_FCC_NOFILE) {
                fail_msg("%s on a missing cache: %08x", kcm_op_name(by_name[i]),
                         (unsigned)f->code);
            }
        }
        assert_int_equal(store_cred(f, u, "1000", &t), KCM_RC_FCC_NOFILE);
        assert_int_equal(retrieve(f, u, KCM_OP_RETRIEVE, "1000", 0, &t, 3), KCM_RC_FCC_NOFILE);
        assert_int_equal(retrieve(f, u, KCM_OP_REMOVE_CRED, "1000", 0, &t, 3),
                         KCM_RC_FCC_NOFILE);
        assert_int_equal(op_uuid(f, u, KCM_OP_GET_CRED_BY_UUID, "1000", uuid),
                         KCM_RC_FCC_NOFILE);
        {
            struct util_wr *wr = REQ(KCM_OP_SET_KDC_OFFSET);
            util_wr_cstr(wr, "1000");
            util_wr_i32(wr, 1);
            assert_int_equal(run(f, u), KCM_RC_FCC_NOFILE);
            wr = REQ(KCM_OP_SET_FLAGS);
            util_wr_cstr(wr, "1000");
            util_wr_u32(wr, 1);
            assert_int_equal(run(f, u), KCM_RC_FCC_NOFILE);
            wr = REQ(KCM_OP_MOVE_CACHE);
            util_wr_cstr(wr, "1000");
            util_wr_cstr(wr, "1000:x");
            assert_int_equal(run(f, u), KCM_RC_FCC_NOFILE);
        }
        /* Unknown uuids: CC_END. */
        assert_int_equal(op_uuid(f, u, KCM_OP_GET_CACHE_BY_UUID, NULL, uuid), KCM_RC_CC_END);
        if (pass == 1) {
            assert_int_equal(op_uuid(f, u, KCM_OP_GET_CRED_BY_UUID, "1000:other", uuid),
                             KCM_RC_CC_END);
        }
    }
}

/* t_cccol: GET_CACHE_UUID_LIST lists only initialized caches, in creation order. */
static void test_uuid_list_initialized_only(void **state)
{
    struct fx *f = *state;
    const uid_t u = 1000;
    struct tc_cred t = tc_cred_std("alice@R", "krbtgt/R@R", 5000);
    uint8_t uuids[3][KCM_UUID_LEN];

    assert_int_equal(op_none(f, u, KCM_OP_GEN_NEW), KCM_RC_OK);
    assert_int_equal(op_name(f, u, KCM_OP_SET_DEFAULT_CACHE, "1000:a"), KCM_RC_OK);
    assert_int_equal(op_name(f, u, KCM_OP_GET_PRINCIPAL, "1000:a"), KCM_RC_FCC_NOFILE);
    assert_int_equal(op_name(f, u, KCM_OP_DESTROY, "1000:a"), KCM_RC_FCC_NOFILE);
    assert_int_equal(store_cred(f, u, "1000:a", &t), KCM_RC_FCC_NOFILE);
    assert_int_equal(op_none(f, u, KCM_OP_GET_CACHE_UUID_LIST), KCM_RC_OK);
    assert_int_equal(nuuids(f), 0);

    assert_int_equal(initialize(f, u, "1000:b", "bob@R"), KCM_RC_OK);
    assert_int_equal(replace(f, u, "1000:a", "alice@R", 0, &t, 1), KCM_RC_OK);
    assert_int_equal(initialize(f, u, "1000:c", "carol@R"), KCM_RC_OK);
    assert_int_equal(op_none(f, u, KCM_OP_GET_CACHE_UUID_LIST), KCM_RC_OK);
    assert_int_equal(nuuids(f), 3);
    memcpy(uuids, f->body, sizeof(uuids));
    assert_int_equal(op_uuid(f, u, KCM_OP_GET_CACHE_BY_UUID, NULL, uuids[0]), KCM_RC_OK);
    expect_body_str(f, "1000:b");
    assert_int_equal(op_uuid(f, u, KCM_OP_GET_CACHE_BY_UUID, NULL, uuids[1]), KCM_RC_OK);
    expect_body_str(f, "1000:a");
    assert_int_equal(op_uuid(f, u, KCM_OP_GET_CACHE_BY_UUID, NULL, uuids[2]), KCM_RC_OK);
    expect_body_str(f, "1000:c");
    /* Re-initializing keeps the cache (and its uuid); destroy removes it from the list. */
    assert_int_equal(initialize(f, u, "1000:b", "bob@R"), KCM_RC_OK);
    assert_int_equal(op_name(f, u, KCM_OP_DESTROY, "1000:a"), KCM_RC_OK);
    assert_int_equal(op_none(f, u, KCM_OP_GET_CACHE_UUID_LIST), KCM_RC_OK);
    assert_int_equal(nuuids(f), 2);
    assert_memory_equal(f->body, uuids[0], KCM_UUID_LEN);
    assert_memory_equal(f->body + KCM_UUID_LEN, uuids[2], KCM_UUID_LEN);
    assert_int_equal(op_uuid(f, u, KCM_OP_GET_CACHE_BY_UUID, NULL, uuids[1]), KCM_RC_CC_END);
}

/* The default name: "<uid>" when unset, stable across DESTROY, unchanged by INITIALIZE. */
static void test_default_cache(void **state)
{
    struct fx *f = *state;

    assert_int_equal(op_none(f, 1000, KCM_OP_GET_DEFAULT_CACHE), KCM_RC_OK);
    expect_body_str(f, "1000");
    assert_int_equal(op_none(f, 0, KCM_OP_GET_DEFAULT_CACHE), KCM_RC_OK);
    expect_body_str(f, "0");
    assert_int_equal(op_none(f, 4294967294u, KCM_OP_GET_DEFAULT_CACHE), KCM_RC_OK);
    expect_body_str(f, "4294967294");
    assert_int_equal(initialize(f, 1000, "1000:x", "alice@R"), KCM_RC_OK);
    assert_int_equal(op_none(f, 1000, KCM_OP_GET_DEFAULT_CACHE), KCM_RC_OK);
    expect_body_str(f, "1000");
    assert_int_equal(op_name(f, 1000, KCM_OP_SET_DEFAULT_CACHE, "1000:x"), KCM_RC_OK);
    assert_int_equal(initialize(f, 1000, "1000:y", "bob@R"), KCM_RC_OK);
    assert_int_equal(op_none(f, 1000, KCM_OP_GET_DEFAULT_CACHE), KCM_RC_OK);
    expect_body_str(f, "1000:x");
    assert_int_equal(op_name(f, 1000, KCM_OP_DESTROY, "1000:x"), KCM_RC_OK);
    assert_int_equal(op_none(f, 1000, KCM_OP_GET_DEFAULT_CACHE), KCM_RC_OK);
    expect_body_str(f, "1000:x");
    /* Other users unaffected. */
    assert_int_equal(op_none(f, 1001, KCM_OP_GET_DEFAULT_CACHE), KCM_RC_OK);
    expect_body_str(f, "1001");
}

/* Unsupported opcodes: a well-formed reply (len 4, outer 0, FCC_INTERNAL), never a drop. */
static void test_unsupported_opcodes(void **state)
{
    struct fx *f = *state;
    static const uint16_t ops[] = { 12345, KCM_OP_CHOWN, KCM_OP_CHMOD, KCM_OP_GET_INITIAL_TICKET,
                                    KCM_OP_GET_TICKET, 24, 28, 29, 13000, 13003, 65535 };

    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        /* With and without (arbitrary) parameters. */
        for (int withp = 0; withp < 2; withp++) {
            struct util_wr *wr = REQ(ops[i]);
            if (withp) {
                util_wr_bytes(wr, "\xff\xff\xff\xff garbage", 12);
            }
            assert_int_equal(run(f, 1000), KCM_RC_FCC_INTERNAL);
            assert_int_equal(f->out.len, 12);
            assert_memory_equal(f->out.buf->p, "\0\0\0\4\0\0\0\0\x96\xc7\x3a\xc4", 12);
        }
    }
    /* The "connection" keeps working afterwards. */
    assert_int_equal(op_none(f, 1000, KCM_OP_GET_DEFAULT_CACHE), KCM_RC_OK);
}

static void test_mit_extensions_off(void **state)
{
    struct fx *f = *state;
    struct tc_cred t = tc_cred_std("alice@R", "krbtgt/R@R", 5000);

    f->k.mit_extensions = false;
    assert_int_equal(replace(f, 1000, "1000", "alice@R", 0, &t, 1), KCM_RC_FCC_INTERNAL);
    assert_int_equal(op_name(f, 1000, KCM_OP_GET_PRINCIPAL, "1000"), KCM_RC_FCC_NOFILE);
    /* The fallback path works. */
    assert_int_equal(initialize(f, 1000, "1000", "alice@R"), KCM_RC_OK);
    assert_int_equal(store_cred(f, 1000, "1000", &t), KCM_RC_OK);
    assert_int_equal(op_name(f, 1000, KCM_OP_GET_CRED_LIST, "1000"), KCM_RC_FCC_INTERNAL);
    assert_int_equal(f->out.len, 12);
    assert_int_equal(retrieve(f, 1000, KCM_OP_RETRIEVE, "1000", KCM_GC_CACHED, &t, 3),
                     KCM_RC_FCC_INTERNAL);
    assert_int_equal(f->out.len, 12);
    /* Even on a name that does not exist (unsupported beats not-found). */
    assert_int_equal(op_name(f, 1000, KCM_OP_GET_CRED_LIST, "1000:none"), KCM_RC_FCC_INTERNAL);
    assert_int_equal(op_name(f, 1000, KCM_OP_GET_CRED_UUID_LIST, "1000"), KCM_RC_OK);
    assert_int_equal(nuuids(f), 1);
    /* REMOVE_CRED is not an extension. */
    assert_int_equal(retrieve(f, 1000, KCM_OP_REMOVE_CRED, "1000", 0, &t, 3), KCM_RC_OK);
    f->k.mit_extensions = true;
    assert_int_equal(op_name(f, 1000, KCM_OP_GET_CRED_LIST, "1000"), KCM_RC_OK);
}

/* Protocol violations: the connection is dropped, nothing is answered, no state changes. */
static void test_malformed_dropped(void **state)
{
    struct fx *f = *state;
    struct util_peer peer = peer_of(1000);
    const char *why;
    struct tc_vec v;
    static const char *const vecs[] = { "replace-kinit.bin", "retrieve-kvno-miss.bin",
                                        "store-kvno.bin", "get_cache_by_uuid.bin",
                                        "initialize.bin", "set_kdc_offset.bin" };
    uint64_t errors = f->k.errors;

    for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
        tc_vec_load(vecs[i], &v);
        for (size_t cut = 0; cut < v.len; cut++) {
            uint8_t *d = tc_dup(v.payload, cut);
            why = NULL;
            assert_int_equal(kcm_dispatch(&f->k, &peer, d, cut, f->mem, &f->out, &why),
                             KCM_DISP_DROP);
            assert_non_null(why);
            free(d);
        }
        /* Trailing byte. */
        {
            uint8_t *d = malloc(v.len + 1);
            memcpy(d, v.payload, v.len);
            d[v.len] = 0;
            why = NULL;
            assert_int_equal(kcm_dispatch(&f->k, &peer, d, v.len + 1, f->mem, &f->out, &why),
                             KCM_DISP_DROP);
            assert_string_equal(why, "malformed request");
            free(d);
        }
        /* Bad version. */
        {
            uint8_t *d = tc_dup(v.payload, v.len);
            d[1] = 1;
            why = NULL;
            assert_int_equal(kcm_dispatch(&f->k, &peer, d, v.len, f->mem, &f->out, &why),
                             KCM_DISP_DROP);
            assert_string_equal(why, "unsupported protocol version");
            free(d);
        }
        tc_vec_free(&v);
    }
    assert_true(f->k.errors > errors);
    /* None of it created anything. */
    {
        struct store_stats s;
        store_stats(f->st, &s);
        assert_int_equal(s.caches, 0);
    }
}

/* Names outside the peer's namespace: reads look like a missing cache, writes are FCC_PERM. */
static void test_access_denials(void **state)
{
    struct fx *f = *state;
    struct tc_cred t = tc_cred_std("alice@R", "krbtgt/R@R", 5000);
    uint8_t uuid[KCM_UUID_LEN];

    assert_int_equal(initialize(f, 1001, "1001", "bob@R"), KCM_RC_OK);
    assert_int_equal(initialize(f, 1000, "1001", "eve@R"), KCM_RC_FCC_PERM);
    assert_int_equal(initialize(f, 1000, "1000x", "eve@R"), KCM_RC_FCC_PERM);
    assert_int_equal(initialize(f, 1000, "100", "eve@R"), KCM_RC_FCC_PERM);
    assert_int_equal(initialize(f, 1000, "", "eve@R"), KCM_RC_FCC_PERM);
    assert_int_equal(replace(f, 1000, "1001", "eve@R", 0, &t, 1), KCM_RC_FCC_PERM);
    assert_int_equal(store_cred(f, 1000, "1001", &t), KCM_RC_FCC_PERM);
    assert_int_equal(op_name(f, 1000, KCM_OP_DESTROY, "1001"), KCM_RC_FCC_PERM);
    assert_int_equal(op_name(f, 1000, KCM_OP_SET_DEFAULT_CACHE, "1001"), KCM_RC_FCC_PERM);
    assert_int_equal(op_name(f, 1000, KCM_OP_GET_PRINCIPAL, "1001"), KCM_RC_FCC_NOFILE);
    assert_int_equal(op_name(f, 1000, KCM_OP_GET_CRED_LIST, "1001"), KCM_RC_FCC_NOFILE);
    assert_int_equal(retrieve(f, 1000, KCM_OP_RETRIEVE, "1001", 0, &t, 3), KCM_RC_FCC_NOFILE);
    /* MOVE_CACHE checks both names. */
    assert_int_equal(initialize(f, 1000, "1000", "alice@R"), KCM_RC_OK);
    {
        struct util_wr *wr = REQ(KCM_OP_MOVE_CACHE);
        util_wr_cstr(wr, "1000");
        util_wr_cstr(wr, "1001");
        assert_int_equal(run(f, 1000), KCM_RC_FCC_PERM);
    }
    assert_int_equal(op_name(f, 1000, KCM_OP_GET_PRINCIPAL, "1000"), KCM_RC_OK);
    /* Another uid's uuids are invisible. */
    assert_int_equal(op_none(f, 1001, KCM_OP_GET_CACHE_UUID_LIST), KCM_RC_OK);
    assert_int_equal(nuuids(f), 1);
    memcpy(uuid, f->body, KCM_UUID_LEN);
    assert_int_equal(op_uuid(f, 1000, KCM_OP_GET_CACHE_BY_UUID, NULL, uuid), KCM_RC_CC_END);
    assert_int_equal(op_none(f, 1000, KCM_OP_GET_CACHE_UUID_LIST), KCM_RC_OK);
    assert_int_equal(nuuids(f), 1);
    assert_memory_not_equal(f->body, uuid, KCM_UUID_LEN);
    /* Root names anything, in its own collection. */
    assert_int_equal(initialize(f, 0, "1001", "root@R"), KCM_RC_OK);
    assert_int_equal(initialize(f, 0, "anything", "root@R"), KCM_RC_OK);
    assert_int_equal(op_name(f, 1001, KCM_OP_GET_PRINCIPAL, "1001"), KCM_RC_OK);
    {
        struct tc_blob b;
        struct kcm_princ p;
        tc_princ_view(&b, 1, "bob@R", &p);
        assert_int_equal(f->body_len, b.len);
        assert_memory_equal(f->body, b.buf, b.len);
    }
}

/* Limits surface as KRB5_CC_WRITE and change nothing. */
static void test_limits(void **state)
{
    struct fx *f = *state;
    struct tc_cred t = tc_cred_std("alice@R", "a@R", 5000);

    f->lim.max_caches_per_owner = 2;
    f->lim.max_creds_per_cache = 1;
    store_set_limits(f->st, &f->lim);
    assert_int_equal(initialize(f, 1000, "1000", "alice@R"), KCM_RC_OK);
    assert_int_equal(initialize(f, 1000, "1000:b", "alice@R"), KCM_RC_OK);
    assert_int_equal(initialize(f, 1000, "1000:c", "alice@R"), KCM_RC_CC_WRITE);
    assert_int_equal(replace(f, 1000, "1000:c", "alice@R", 0, &t, 1), KCM_RC_CC_WRITE);
    assert_int_equal(op_name(f, 1000, KCM_OP_GET_PRINCIPAL, "1000:c"), KCM_RC_FCC_NOFILE);
    assert_int_equal(store_cred(f, 1000, "1000", &t), KCM_RC_OK);
    t.server = "b@R";
    assert_int_equal(store_cred(f, 1000, "1000", &t), KCM_RC_CC_WRITE);
    assert_int_equal(op_name(f, 1000, KCM_OP_GET_CRED_UUID_LIST, "1000"), KCM_RC_OK);
    assert_int_equal(nuuids(f), 1);
    /* Other users are not affected by 1000's use. */
    assert_int_equal(initialize(f, 1001, "1001", "bob@R"), KCM_RC_OK);
}

/* A big reply, then small ones: the buffer is reused or trimmed, contents always right. */
static void test_big_reply(void **state)
{
    struct fx *f = *state;
    static char big[40000];
    struct tc_cred t = tc_cred_std("alice@R", "a@R", 5000);

    memset(big, 'B', sizeof(big) - 1);
    t.ticket = big;
    assert_int_equal(initialize(f, 1000, "1000", "alice@R"), KCM_RC_OK);
    assert_int_equal(store_cred(f, 1000, "1000", &t), KCM_RC_OK);
    assert_int_equal(op_name(f, 1000, KCM_OP_GET_CRED_LIST, "1000"), KCM_RC_OK);
    assert_true(f->body_len > sizeof(big));
    assert_true(util_secmem_owns(f->out.buf->p));
    assert_int_equal(op_none(f, 1000, KCM_OP_GET_DEFAULT_CACHE), KCM_RC_OK);
    expect_body_str(f, "1000");
    kcm_out_trim(&f->out);
    assert_true(f->out.buf->len <= 4096);
    assert_int_equal(op_name(f, 1000, KCM_OP_GET_PRINCIPAL, "1000:none"), KCM_RC_FCC_NOFILE);
    assert_int_equal(retrieve(f, 1000, KCM_OP_RETRIEVE, "1000", 0, &t, 3), KCM_RC_OK);
    expect_body_cred(f, &t);
}

/* A GET_CRED_LIST reply over MIT's 10 MiB limit would be fatal to the client (REPLY_TOO_BIG has
 * no fallback): it must be answered with FCC_INTERNAL, which makes MIT fall back to
 * GET_CRED_UUID_LIST + GET_CRED_BY_UUID, and those must work. */
static void test_cred_list_over_10mib(void **state)
{
    struct fx *f = *state;
    const size_t tlen = 4u << 20;
    char *ticket = malloc(tlen + 1);
    struct store_owner_key key;
    struct store_owner *o;
    struct store_cache *c;
    uint8_t uuids[3][KCM_UUID_LEN];

    assert_non_null(ticket);
    memset(ticket, 'T', tlen);
    ticket[tlen] = '\0';
    assert_int_equal(initialize(f, 1000, "1000", "alice@R"), KCM_RC_OK);
    memset(&key, 0, sizeof(key));
    key.uid = 1000;
    o = store_owner_get(f->st, &key);
    assert_non_null(o);
    c = store_cache_find(o, "1000");
    assert_non_null(c);
    for (int i = 0; i < 3; i++) {
        static const char *const srv[] = { "a@R", "b@R", "c@R" };
        struct tc_cred t = tc_cred_std("alice@R", srv[i], 5000);
        struct util_wr wr;
        struct kcm_cred v;
        uint8_t *b;
        t.ticket = ticket;
        util_wr_init(&wr, NULL, 0);
        tc_wr_cred(&wr, &t);
        b = malloc(wr.len);
        util_wr_init(&wr, b, wr.len);
        tc_wr_cred(&wr, &t);
        assert_true(util_wr_ok(&wr));
        assert_true(kcm_cred_from_bytes(b, wr.len, &v));
        assert_int_equal(store_cred_add(f->st, c, &v), STORE_OK);
        free(b);
    }
    assert_int_equal(op_name(f, 1000, KCM_OP_GET_CRED_LIST, "1000"), KCM_RC_FCC_INTERNAL);
    assert_int_equal(f->out.len, KCM_REPLY_HDR);
    assert_int_equal(op_name(f, 1000, KCM_OP_GET_CRED_UUID_LIST, "1000"), KCM_RC_OK);
    assert_int_equal(nuuids(f), 3);
    memcpy(uuids, f->body, sizeof(uuids));
    for (int i = 0; i < 3; i++) {
        struct util_peer peer = peer_of(1000);
        struct util_wr *wr = REQ(KCM_OP_GET_CRED_BY_UUID);
        const uint8_t *p;
        size_t len;
        const char *why = NULL;
        int32_t code;
        struct util_rd body;
        struct kcm_cred v;
        util_wr_cstr(wr, "1000");
        util_wr_bytes(wr, uuids[i], KCM_UUID_LEN);
        p = tc_frame_end(f->f, &len);
        assert_int_equal(kcm_dispatch(&f->k, &peer, p, len, f->mem, &f->out, &why),
                         KCM_DISP_REPLY);
        assert_true(kcm_reply_parse(f->out.buf->p, f->out.len, &code, &body));
        assert_int_equal(code, KCM_RC_OK);
        assert_true(f->out.len - 8 <= KCM_MAX_REPLY);
        assert_true(kcm_cred_from_bytes(body.p + body.pos, util_rd_left(&body), &v));
        assert_int_equal(v.ticket.len, tlen);
    }
    kcm_out_trim(&f->out);
    free(ticket);
}

/* ---- replay of the golden MIT sessions ---- */

struct uuid_map {
    uint8_t from[256][KCM_UUID_LEN];
    uint8_t to[256][KCM_UUID_LEN];
    size_t n;
};

static void map_add(struct uuid_map *m, const uint8_t *from, const uint8_t *to)
{
    for (size_t i = 0; i < m->n; i++) {
        if (memcmp(m->from[i], from, KCM_UUID_LEN) == 0) {
            memcpy(m->to[i], to, KCM_UUID_LEN);
            return;
        }
    }
    assert_true(m->n < 256);
    memcpy(m->from[m->n], from, KCM_UUID_LEN);
    memcpy(m->to[m->n], to, KCM_UUID_LEN);
    m->n++;
}

static void map_apply(const struct uuid_map *m, uint8_t *uuid)
{
    for (size_t i = 0; i < m->n; i++) {
        if (memcmp(m->from[i], uuid, KCM_UUID_LEN) == 0) {
            memcpy(uuid, m->to[i], KCM_UUID_LEN);
            return;
        }
    }
}

static void replay(struct fx *f, const char *file, bool mit_ext)
{
    size_t len;
    uint8_t *t = tc_read_file(file, &len);
    struct util_rd rd;
    struct uuid_map *map = calloc(1, sizeof(*map));
    unsigned n = 0;

    assert_non_null(t);
    f->k.mit_extensions = mit_ext;
    util_rd_init(&rd, t, len);
    assert_memory_equal(util_rd_bytes(&rd, 8), "KCMTRNS1", 8);
    while (util_rd_left(&rd) > 0) {
        uint32_t conn = util_rd_u32(&rd);
        uint8_t llen = util_rd_u8(&rd);
        const char *label = (const char *)util_rd_bytes(&rd, llen);
        uint32_t qlen = util_rd_u32(&rd);
        const uint8_t *q = util_rd_bytes(&rd, qlen);
        const uint8_t *rhdr = util_rd_bytes(&rd, 8);
        uint32_t rlen = rhdr != NULL ? util_be32(rhdr) : 0;
        const uint8_t *rbody = util_rd_bytes(&rd, rlen);
        uint8_t *req;
        struct kcm_req parsed;
        int32_t want;
        uint16_t op;

        assert_true(util_rd_ok(&rd));
        assert_true(rlen >= 4);
        (void)conn;
        want = (int32_t)util_be32(rbody);
        req = tc_dup(q, qlen);
        assert_int_equal(kcm_req_parse(req, qlen, &parsed), KCM_PARSE_OK);
        op = parsed.opcode;
        /* uuids are random per server: translate the captured ones to ours. */
        if (op == KCM_OP_GET_CACHE_BY_UUID) {
            map_apply(map, req + 4);
        } else if (op == KCM_OP_GET_CRED_BY_UUID) {
            map_apply(map, req + 4 + strlen(parsed.name) + 1);
        }
        dispatch(f, 0, req, qlen);
        if (f->code != want) {
            fail_msg("%s #%u [%.*s] %s: code %08x, captured %08x", file, n, (int)llen, label,
                     kcm_op_name(op), (unsigned)f->code, (unsigned)want);
        }
        if (op == KCM_OP_GET_CACHE_UUID_LIST || op == KCM_OP_GET_CRED_UUID_LIST) {
            assert_int_equal(f->body_len, rlen - 4);
            for (size_t i = 0; i < f->body_len / KCM_UUID_LEN; i++) {
                map_add(map, rbody + 4 + i * KCM_UUID_LEN, f->body + i * KCM_UUID_LEN);
            }
        } else if (op == KCM_OP_GEN_NEW) {
            assert_int_equal(f->body_len, rlen - 4);
        } else if (f->body_len != rlen - 4 || memcmp(f->body, rbody + 4, f->body_len) != 0) {
            fail_msg("%s #%u [%.*s] %s: reply body differs from the captured one", file, n,
                     (int)llen, label, kcm_op_name(op));
        }
        free(req);
        n++;
    }
    assert_true(n > 50);
    free(map);
    free(t);
}

static void test_replay_full(void **state)
{
    replay(*state, "kcm/session-full.bin", true);
}

static void test_replay_nomit(void **state)
{
    replay(*state, "kcm/session-nomit.bin", false);
}

/* The golden requests sent as a non-root user are confined to "<uid>" names: uid 1000 sending
 * kinit's REPLACE of "0" gets FCC_PERM, its GET_PRINCIPAL of "0" gets FCC_NOFILE. */
static void test_golden_as_other_uid(void **state)
{
    struct fx *f = *state;
    struct tc_vec v;

    tc_vec_load("replace-kinit.bin", &v);
    assert_int_equal(dispatch(f, 1000, v.payload, v.len), KCM_RC_FCC_PERM);
    tc_vec_free(&v);
    tc_vec_load("get_principal.bin", &v);
    assert_int_equal(dispatch(f, 1000, v.payload, v.len), KCM_RC_FCC_NOFILE);
    tc_vec_free(&v);
    tc_vec_load("replace-kinit.bin", &v);
    assert_int_equal(dispatch(f, 0, v.payload, v.len), KCM_RC_OK);
    tc_vec_free(&v);
    tc_vec_load("get_cred_list.bin", &v);
    assert_int_equal(dispatch(f, 0, v.payload, v.len), KCM_RC_OK);
    {
        size_t rlen;
        uint8_t *r = tc_read_file("kcm/get_cred_list.reply.bin", &rlen);
        assert_int_equal(f->out.len, rlen);
        assert_memory_equal(f->out.buf->p, r, rlen);
        free(r);
    }
    tc_vec_free(&v);
}

int main(void)
{
    /* Denials and refusals are expected here; keep the output to test results. */
    util_log_set_level(UTIL_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_opcode_walk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uuid_list_initialized_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsupported_opcodes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mit_extensions_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_access_denials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cred_list_over_10mib, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_nomit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_golden_as_other_uid, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
