/* Unit tests of the credential store (src/store/store.c): default name semantics, STORE
 * replacing same client+server, atomic REPLACE, per-owner/per-cache/byte limits, expiry purge,
 * generated names, owner isolation, and write-through failure leaving memory untouched. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <talloc.h>

#include "unit_common.h"
#include "common/util_log.h"
#include "common/util_secmem.h"
#include "store/store.h"

/* ---- fixtures ---- */

struct fx {
    TALLOC_CTX *mem;
    struct store *st;
    struct store_limits lim;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    const char *why = NULL;

    assert_int_equal(util_secmem_init(UTIL_SECMEM_DEGRADED, &why), 0);
    f->mem = talloc_new(NULL);
    f->lim.max_caches_per_owner = 64;
    f->lim.max_creds_per_cache = 1024;
    f->lim.max_bytes_per_owner = 64u << 20;
    f->st = store_new(f->mem, &f->lim);
    assert_non_null(f->st);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    talloc_free(f->mem);
    free(f);
    return 0;
}

static struct store_owner *owner(struct fx *f, uint32_t uid)
{
    struct store_owner_key k;
    struct store_owner *o;

    memset(&k, 0, sizeof(k));
    k.uid = uid;
    o = store_owner_get_or_create(f->st, &k);
    assert_non_null(o);
    return o;
}

static struct store_cache *init_cache(struct fx *f, struct store_owner *o, const char *name,
                                      const char *princ)
{
    struct tc_blob b;
    struct kcm_princ p;
    struct store_cache *c = NULL;

    tc_princ_view(&b, 1, princ, &p);
    assert_int_equal(store_cache_init(f->st, o, name, &p, &c), STORE_OK);
    assert_non_null(c);
    return c;
}

static enum store_rc add(struct fx *f, struct store_cache *c, const struct tc_cred *tc)
{
    struct tc_blob b;
    struct kcm_cred v;

    tc_cred_view(&b, tc, &v);
    return store_cred_add(f->st, c, &v);
}

/* A REPLACE body: ncreds x (u32 len, cred). */
struct creds_region {
    uint8_t buf[65536];
    size_t len;
    uint32_t n;
};

static void region_add(struct creds_region *r, const struct tc_cred *tc)
{
    struct tc_blob b;

    tc_cred_bytes(&b, tc);
    assert_true(r->len + 4 + b.len <= sizeof(r->buf));
    util_put_be32(r->buf + r->len, (uint32_t)b.len);
    memcpy(r->buf + r->len + 4, b.buf, b.len);
    r->len += 4 + b.len;
    r->n++;
}

static enum store_rc replace(struct fx *f, struct store_owner *o, const char *name,
                             const char *princ, int32_t offset, const struct creds_region *r)
{
    struct tc_blob b;
    struct kcm_princ p;
    struct util_data d = { r->buf, (uint32_t)r->len };

    tc_princ_view(&b, 1, princ, &p);
    return store_cache_replace(f->st, o, name, &p, offset, r->n, d);
}

static size_t count_creds(const struct store_cache *c)
{
    size_t n = 0;

    for (const struct store_cred *cr = c->creds; cr != NULL; cr = cr->next) {
        n++;
    }
    assert_int_equal(n, c->ncreds);
    return n;
}

static void assert_in_blob(const struct store_cred *cr, struct util_data d)
{
    const uint8_t *lo = cr->blob->p;

    assert_true(d.p >= lo && d.p + d.len <= lo + cr->blob->len);
}

/* A cred's parsed view reads its own secure copy, never the request it came from. */
static void check_views(const struct store_cred *cr)
{
    assert_ptr_equal(cr->v.raw.p, cr->blob->p);
    assert_int_equal(cr->v.raw.len, cr->blob->len);
    assert_in_blob(cr, cr->v.client.raw);
    assert_in_blob(cr, cr->v.client.realm);
    assert_in_blob(cr, cr->v.server.comps);
    assert_in_blob(cr, cr->v.key.key);
    assert_in_blob(cr, cr->v.ticket);
    assert_in_blob(cr, cr->v.second_ticket);
}

/* Owner and cache byte counters must equal what is actually held. */
static void check_accounting(const struct store_owner *o)
{
    size_t obytes = 0;
    size_t ncaches = 0;

    for (const struct store_cache *c = o->caches; c != NULL; c = c->next) {
        size_t cbytes = c->princ_blob != NULL ? c->princ_blob->len : 0;
        for (const struct store_cred *cr = c->creds; cr != NULL; cr = cr->next) {
            cbytes += cr->blob->len;
            check_views(cr);
        }
        assert_int_equal(c->bytes, cbytes);
        (void)count_creds(c);
        obytes += cbytes;
        ncaches++;
    }
    assert_int_equal(o->bytes, obytes);
    assert_int_equal(o->ncaches, ncaches);
}

static bool cred_ticket_is(const struct store_cred *cr, const char *t)
{
    return cr->v.ticket.len == strlen(t) && memcmp(cr->v.ticket.p, t, strlen(t)) == 0;
}

/* ---- default name ---- */

static void test_default_name(void **state)
{
    struct fx *f = *state;
    struct store_owner_key k;
    char buf[32];
    struct store_owner *o;
    struct store_cache *c;

    memset(&k, 0, sizeof(k));
    k.uid = 1000;
    /* No collection at all: "<uid>" of the asking key. */
    assert_null(store_owner_get(f->st, &k));
    assert_string_equal(store_default_name(NULL, &k, buf, sizeof(buf)), "1000");
    o = owner(f, 1000);
    assert_string_equal(store_default_name(o, &k, buf, sizeof(buf)), "1000");

    /* INITIALIZE never changes the default. */
    c = init_cache(f, o, "1000:a", "alice@R");
    assert_string_equal(store_default_name(o, &k, buf, sizeof(buf)), "1000");
    assert_int_equal(store_set_default(f->st, o, "1000:a"), STORE_OK);
    assert_string_equal(store_default_name(o, &k, buf, sizeof(buf)), "1000:a");
    (void)init_cache(f, o, "1000:b", "bob@R");
    (void)init_cache(f, o, "1000", "carol@R");
    assert_string_equal(store_default_name(o, &k, buf, sizeof(buf)), "1000:a");
    /* Re-initializing the default or another cache: unchanged. */
    c = init_cache(f, o, "1000:a", "doug@R");
    assert_string_equal(store_default_name(o, &k, buf, sizeof(buf)), "1000:a");

    /* DESTROY of the primary keeps the name (t_cccol). */
    assert_int_equal(store_cache_destroy(f->st, c), STORE_OK);
    assert_null(store_cache_find(o, "1000:a"));
    assert_string_equal(store_default_name(o, &k, buf, sizeof(buf)), "1000:a");
    /* And a new cache of that name is the primary again. */
    (void)init_cache(f, o, "1000:a", "alice@R");
    assert_string_equal(store_default_name(o, &k, buf, sizeof(buf)), "1000:a");

    /* Setting the same name twice is fine; a name without a cache is fine (kswitch first). */
    assert_int_equal(store_set_default(f->st, o, "1000:a"), STORE_OK);
    assert_int_equal(store_set_default(f->st, o, "1000:none"), STORE_OK);
    assert_string_equal(store_default_name(o, &k, buf, sizeof(buf)), "1000:none");
    /* Wiping the caches keeps the owner's default. */
    assert_int_equal(store_owner_wipe(f->st, o), STORE_OK);
    assert_int_equal(o->ncaches, 0);
    assert_string_equal(store_default_name(o, &k, buf, sizeof(buf)), "1000:none");
}

/* ---- STORE ---- */

static void test_store_replaces_same_pair(void **state)
{
    struct fx *f = *state;
    struct store_owner *o = owner(f, 1000);
    struct store_cache *c = init_cache(f, o, "1000", "alice@R");
    struct tc_cred tgt = tc_cred_std("alice@R", "krbtgt/R@R", 5000);
    struct tc_cred svc = tc_cred_std("alice@R", "host/x@R", 5000);
    struct tc_cred svc2 = svc;
    struct tc_cred other_client = tc_cred_std("bob@R", "host/x@R", 5000);
    struct tc_cred other_realm = tc_cred_std("alice@R", "host/x@S", 5000);
    uint8_t tgt_uuid[STORE_UUID_LEN];

    assert_int_equal(add(f, c, &tgt), STORE_OK);
    memcpy(tgt_uuid, c->creds->uuid, STORE_UUID_LEN);
    assert_int_equal(add(f, c, &svc), STORE_OK);
    assert_int_equal(count_creds(c), 2);
    svc2.ticket = "NEWER-TICKET";
    svc2.endtime = 9000;
    assert_int_equal(add(f, c, &svc2), STORE_OK);
    assert_int_equal(count_creds(c), 2);
    /* The replacement is appended; the TGT stays first with its uuid. */
    assert_memory_equal(c->creds->uuid, tgt_uuid, STORE_UUID_LEN);
    assert_true(cred_ticket_is(c->creds_tail, "NEWER-TICKET"));
    assert_int_equal(c->creds_tail->v.endtime, 9000);
    /* Name type differences do not make a different principal. */
    svc2.name_type = 3;
    svc2.ticket = "THIRD";
    assert_int_equal(add(f, c, &svc2), STORE_OK);
    assert_int_equal(count_creds(c), 2);
    /* Different client, or different server realm: kept side by side. */
    assert_int_equal(add(f, c, &other_client), STORE_OK);
    assert_int_equal(add(f, c, &other_realm), STORE_OK);
    assert_int_equal(count_creds(c), 4);
    check_accounting(o);

    /* Blobs are in secure memory, and uuids are distinct. */
    for (struct store_cred *cr = c->creds; cr != NULL; cr = cr->next) {
        assert_true(util_secmem_owns(cr->blob->p));
        for (struct store_cred *x = cr->next; x != NULL; x = x->next) {
            assert_memory_not_equal(cr->uuid, x->uuid, STORE_UUID_LEN);
        }
        assert_ptr_equal(store_cred_find_uuid(c, cr->uuid), cr);
    }
    assert_true(util_secmem_owns(c->princ_blob->p));
    {
        uint8_t zero[STORE_UUID_LEN] = { 0 };
        assert_null(store_cred_find_uuid(c, zero));
    }
}

static void test_cred_remove_and_match(void **state)
{
    struct fx *f = *state;
    struct store_owner *o = owner(f, 1000);
    struct store_cache *c = init_cache(f, o, "1000", "alice@R");
    struct tc_cred tgt = tc_cred_std("alice@R", "krbtgt/R@R", 5000);
    struct tc_cred svc = tc_cred_std("alice@R", "host/x@R", 5000);
    struct tc_cred u2u = tc_cred_std("alice@R", "host/y@R", 5000);
    struct tc_blob mb;
    struct kcm_mcred m;

    u2u.is_skey = 1;
    assert_int_equal(add(f, c, &tgt), STORE_OK);
    assert_int_equal(add(f, c, &svc), STORE_OK);
    assert_int_equal(add(f, c, &u2u), STORE_OK);

    tc_mcred_view(&mb, &svc, KCM_SC_CLIENT | KCM_SC_SERVER, &m);
    assert_non_null(store_cred_match(c, KCM_GC_CACHED, &m));
    assert_true(cred_ticket_is(store_cred_match(c, 0, &m), "TICKET-BYTES"));
    /* u2u only when asked for. */
    tc_mcred_view(&mb, &u2u, KCM_SC_CLIENT | KCM_SC_SERVER, &m);
    assert_null(store_cred_match(c, 0, &m));
    assert_non_null(store_cred_match(c, KCM_TC_MATCH_IS_SKEY, &m));
    /* First match wins: by client only, the TGT (stored first). */
    tc_mcred_view(&mb, &svc, KCM_SC_CLIENT, &m);
    assert_ptr_equal(store_cred_match(c, 0, &m), c->creds);

    /* REMOVE_CRED removes every match; none left → NOTFOUND. */
    assert_int_equal(store_cred_remove(f->st, c, 0, &m), STORE_OK);
    assert_int_equal(count_creds(c), 1); /* the u2u one did not match */
    assert_int_equal(store_cred_remove(f->st, c, 0, &m), STORE_NOTFOUND);
    assert_int_equal(count_creds(c), 1);
    check_accounting(o);
}

/* ---- REPLACE ---- */

static void test_replace_creates_and_replaces(void **state)
{
    struct fx *f = *state;
    struct store_owner *o = owner(f, 1000);
    struct creds_region r1 = { .n = 0 }, r2 = { .n = 0 };
    struct tc_cred conf = tc_cred_std("alice@R",
                                      "krb5_ccache_conf_data/fast_avail/krbtgt\\/R@R@X-CACHECONF:",
                                      0);
    struct tc_cred tgt = tc_cred_std("alice@R", "krbtgt/R@R", 5000);
    struct tc_cred svc = tc_cred_std("alice@R", "host/x@R", 5000);
    struct store_cache *c;
    uint8_t uuid[STORE_UUID_LEN];
    struct tc_blob pb;
    struct kcm_princ bob;

    conf.endtime = conf.renew_till = conf.authtime = conf.starttime = 0;
    conf.enctype = 0;
    conf.key = "";
    conf.ticket = "yes";
    region_add(&r1, &conf);
    region_add(&r1, &tgt);
    region_add(&r1, &svc);
    /* Creates. */
    assert_int_equal(replace(f, o, "1000", "alice@R", 7, &r1), STORE_OK);
    c = store_cache_find(o, "1000");
    assert_non_null(c);
    assert_int_equal(count_creds(c), 3);
    assert_int_equal(c->kdc_offset, 7);
    assert_true(kcm_cred_is_config(&c->creds->v));
    memcpy(uuid, c->uuid, STORE_UUID_LEN);
    assert_ptr_equal(store_cache_find_uuid(o, uuid), c);
    check_accounting(o);

    /* Replaces everything: principal, offset, creds (order kept); same cache object/uuid. */
    tgt.client = svc.client = "bob@R";
    tgt.ticket = "BOB-TGT";
    region_add(&r2, &tgt);
    assert_int_equal(replace(f, o, "1000", "bob@R", -3, &r2), STORE_OK);
    assert_ptr_equal(store_cache_find(o, "1000"), c);
    assert_memory_equal(c->uuid, uuid, STORE_UUID_LEN);
    assert_int_equal(count_creds(c), 1);
    assert_int_equal(c->kdc_offset, -3);
    tc_princ_view(&pb, 1, "bob@R", &bob);
    assert_true(kcm_princ_eq(&c->princ, &bob));
    assert_true(cred_ticket_is(c->creds, "BOB-TGT"));
    assert_int_equal(o->ncaches, 1);
    check_accounting(o);

    /* Zero creds: an initialized empty cache. */
    r2.len = 0;
    r2.n = 0;
    assert_int_equal(replace(f, o, "1000:e", "bob@R", 0, &r2), STORE_OK);
    c = store_cache_find(o, "1000:e");
    assert_non_null(c);
    assert_int_equal(count_creds(c), 0);
    check_accounting(o);
}

/* A failing REPLACE (limit, or bad data) leaves the old cache exactly as it was. */
static void test_replace_atomic(void **state)
{
    struct fx *f = *state;
    struct store_owner *o = owner(f, 1000);
    struct creds_region r = { .n = 0 }, bad = { .n = 0 };
    struct tc_cred tgt = tc_cred_std("alice@R", "krbtgt/R@R", 5000);
    struct store_cache *c;
    size_t bytes;

    region_add(&r, &tgt);
    assert_int_equal(replace(f, o, "1000", "alice@R", 1, &r), STORE_OK);
    c = store_cache_find(o, "1000");
    bytes = o->bytes;

    /* Too many creds for the cache limit. */
    f->lim.max_creds_per_cache = 2;
    store_set_limits(f->st, &f->lim);
    for (int i = 0; i < 3; i++) {
        tgt.server = i == 0 ? "a@R" : i == 1 ? "b@R" : "c@R";
        region_add(&bad, &tgt);
    }
    assert_int_equal(replace(f, o, "1000", "bob@R", 2, &bad), STORE_LIMIT_CREDS);
    assert_int_equal(count_creds(c), 1);
    assert_int_equal(c->kdc_offset, 1);
    assert_int_equal(o->bytes, bytes);
    assert_true(cred_ticket_is(c->creds, "TICKET-BYTES"));

    /* Unparseable second cred (the region is trusted to be validated, but must not corrupt). */
    bad.len = 0;
    bad.n = 0;
    region_add(&bad, &tgt);
    region_add(&bad, &tgt);
    /* The second cred's second_ticket length (its last 4 bytes) now runs past the end. */
    util_put_be32(bad.buf + bad.len - 4, 0x7fffffff);
    assert_int_not_equal(replace(f, o, "1000", "bob@R", 2, &bad), STORE_OK);
    assert_int_equal(count_creds(c), 1);
    assert_int_equal(c->kdc_offset, 1);
    assert_int_equal(o->bytes, bytes);
    check_accounting(o);
    /* And a failing REPLACE of a new name creates nothing. */
    assert_int_not_equal(replace(f, o, "1000:new", "bob@R", 2, &bad), STORE_OK);
    assert_null(store_cache_find(o, "1000:new"));
    assert_int_equal(o->ncaches, 1);
}

/* ---- limits ---- */

static void test_limit_caches(void **state)
{
    struct fx *f = *state;
    struct store_owner *o = owner(f, 1000);
    struct store_owner *o2 = owner(f, 1001);
    struct creds_region r = { .n = 0 };
    struct tc_blob pb;
    struct kcm_princ p;
    char name[32];

    f->lim.max_caches_per_owner = 3;
    store_set_limits(f->st, &f->lim);
    tc_princ_view(&pb, 1, "alice@R", &p);
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof(name), "1000:%d", i);
        assert_int_equal(store_cache_init(f->st, o, name, &p, NULL), STORE_OK);
    }
    assert_int_equal(store_cache_init(f->st, o, "1000:x", &p, NULL), STORE_LIMIT_CACHES);
    assert_int_equal(replace(f, o, "1000:x", "alice@R", 0, &r), STORE_LIMIT_CACHES);
    assert_null(store_cache_find(o, "1000:x"));
    /* Existing caches can still be re-initialized and replaced. */
    assert_int_equal(store_cache_init(f->st, o, "1000:1", &p, NULL), STORE_OK);
    assert_int_equal(replace(f, o, "1000:2", "alice@R", 0, &r), STORE_OK);
    /* Another owner is not affected. */
    assert_int_equal(store_cache_init(f->st, o2, "1001:x", &p, NULL), STORE_OK);
    /* After a DESTROY there is room again. */
    assert_int_equal(store_cache_destroy(f->st, store_cache_find(o, "1000:0")), STORE_OK);
    assert_int_equal(store_cache_init(f->st, o, "1000:x", &p, NULL), STORE_OK);
    assert_int_equal(o->ncaches, 3);
    check_accounting(o);
}

static void test_limit_creds(void **state)
{
    struct fx *f = *state;
    struct store_owner *o = owner(f, 1000);
    struct store_cache *c = init_cache(f, o, "1000", "alice@R");
    struct tc_cred t = tc_cred_std("alice@R", "a@R", 5000);

    f->lim.max_creds_per_cache = 2;
    store_set_limits(f->st, &f->lim);
    assert_int_equal(add(f, c, &t), STORE_OK);
    t.server = "b@R";
    assert_int_equal(add(f, c, &t), STORE_OK);
    t.server = "c@R";
    assert_int_equal(add(f, c, &t), STORE_LIMIT_CREDS);
    assert_int_equal(count_creds(c), 2);
    /* Replacing an existing client+server at the limit is fine. */
    t.server = "b@R";
    t.ticket = "B2";
    assert_int_equal(add(f, c, &t), STORE_OK);
    assert_int_equal(count_creds(c), 2);
    assert_true(cred_ticket_is(c->creds_tail, "B2"));
    check_accounting(o);
}

static void test_limit_bytes(void **state)
{
    struct fx *f = *state;
    struct store_owner *o = owner(f, 1000);
    struct store_owner *o2 = owner(f, 1001);
    struct store_cache *c = init_cache(f, o, "1000", "alice@R");
    struct store_cache *c2;
    struct tc_cred t = tc_cred_std("alice@R", "a@R", 5000);
    static char big[3000];
    struct tc_blob tb;
    struct creds_region r = { .n = 0 };
    size_t one;

    memset(big, 'T', sizeof(big) - 1);
    t.ticket = big;
    tc_cred_bytes(&tb, &t);
    one = tb.len;
    /* Room for the principal and exactly two tickets. */
    f->lim.max_bytes_per_owner = o->bytes + 2 * one;
    store_set_limits(f->st, &f->lim);
    assert_int_equal(add(f, c, &t), STORE_OK);
    t.server = "b@R";
    assert_int_equal(add(f, c, &t), STORE_OK);
    assert_int_equal(o->bytes, f->lim.max_bytes_per_owner);
    t.server = "c@R";
    assert_int_equal(add(f, c, &t), STORE_LIMIT_BYTES);
    /* Replacing one of the same size fits: the old bytes are given back. */
    t.server = "b@R";
    assert_int_equal(add(f, c, &t), STORE_OK);
    /* A new cache does not fit (its principal), a REPLACE of c with one ticket does. */
    {
        struct tc_blob pb;
        struct kcm_princ p;
        tc_princ_view(&pb, 1, "alice@R", &p);
        assert_int_equal(store_cache_init(f->st, o, "1000:n", &p, NULL), STORE_LIMIT_BYTES);
        assert_null(store_cache_find(o, "1000:n"));
        assert_int_equal(store_cache_init(f->st, o2, "1001", &p, NULL), STORE_OK);
    }
    region_add(&r, &t);
    region_add(&r, &t);
    region_add(&r, &t);
    assert_int_equal(replace(f, o, "1000", "alice@R", 0, &r), STORE_LIMIT_BYTES);
    assert_int_equal(count_creds(c), 2);
    r.len = 0;
    r.n = 0;
    region_add(&r, &t);
    assert_int_equal(replace(f, o, "1000", "alice@R", 0, &r), STORE_OK);
    assert_int_equal(count_creds(c), 1);
    check_accounting(o);
    /* Re-initializing frees the bytes. */
    c2 = init_cache(f, o, "1000", "alice@R");
    assert_ptr_equal(c2, c);
    assert_int_equal(count_creds(c), 0);
    check_accounting(o);
    assert_true(o->bytes < one);
}

/* ---- purge ---- */

static void test_purge(void **state)
{
    struct fx *f = *state;
    struct store_owner *o = owner(f, 1000);
    struct store_owner *o2 = owner(f, 1001);
    struct tc_cred conf = tc_cred_std("alice@R", "krb5_ccache_conf_data/pa_type@X-CACHECONF:",
                                      100);
    struct tc_cred tgt_old = tc_cred_std("alice@R", "krbtgt/R@R", 1000);
    struct tc_cred svc_old = tc_cred_std("alice@R", "host/x@R", 1500);
    struct tc_cred tgt_new = tc_cred_std("alice@R", "krbtgt/R@R", 9000);
    struct tc_cred no_end = tc_cred_std("alice@R", "host/z@R", 0);
    struct store_cache *a, *b, *d, *e, *g;
    struct store_stats s;

    /* a: config + expired TGT + expired svc → loses all real creds → dropped. */
    a = init_cache(f, o, "1000:a", "alice@R");
    assert_int_equal(add(f, a, &conf), STORE_OK);
    assert_int_equal(add(f, a, &tgt_old), STORE_OK);
    assert_int_equal(add(f, a, &svc_old), STORE_OK);
    /* b: config + expired svc + valid TGT → keeps config and TGT. */
    b = init_cache(f, o, "1000:b", "alice@R");
    assert_int_equal(add(f, b, &conf), STORE_OK);
    assert_int_equal(add(f, b, &svc_old), STORE_OK);
    assert_int_equal(add(f, b, &tgt_new), STORE_OK);
    /* d: only a config entry (endtime in the past): nothing expired, kept. */
    d = init_cache(f, o, "1000:d", "alice@R");
    assert_int_equal(add(f, d, &conf), STORE_OK);
    /* e: empty, initialized: kept. */
    e = init_cache(f, o, "1000:e", "alice@R");
    /* g (other owner): a cred with endtime 0 never expires. */
    g = init_cache(f, o2, "1001", "bob@R");
    assert_int_equal(add(f, g, &no_end), STORE_OK);
    assert_int_equal(add(f, g, &svc_old), STORE_OK);

    assert_int_equal(store_purge_expired(f->st, 1499), 1); /* a's tgt_old */
    /* At 1499: a lost tgt_old (1000) but svc_old (1500) is still valid. */
    assert_non_null(store_cache_find(o, "1000:a"));
    assert_int_equal(count_creds(a), 2);
    assert_int_equal(store_purge_expired(f->st, 1500), 3); /* endtime <= now is expired */
    assert_null(store_cache_find(o, "1000:a"));
    assert_ptr_equal(store_cache_find(o, "1000:b"), b);
    assert_int_equal(count_creds(b), 2);
    assert_true(kcm_cred_is_config(&b->creds->v));
    assert_int_equal(b->creds_tail->v.endtime, 9000);
    assert_ptr_equal(store_cache_find(o, "1000:d"), d);
    assert_int_equal(count_creds(d), 1);
    assert_ptr_equal(store_cache_find(o, "1000:e"), e);
    assert_ptr_equal(store_cache_find(o2, "1001"), g);
    assert_int_equal(count_creds(g), 1);
    check_accounting(o);
    check_accounting(o2);
    /* Idempotent. */
    assert_int_equal(store_purge_expired(f->st, 1500), 0);
    store_stats(f->st, &s);
    assert_int_equal(s.caches, 4);
    assert_int_equal(s.creds, 2 + 1 + 1);
    assert_int_equal(s.bytes, o->bytes + o2->bytes);
}

/* ---- generated names ---- */

static void test_gen_name(void **state)
{
    struct fx *f = *state;
    struct store_owner *o = owner(f, 1000);
    char names[200][64];
    char small[10];

    for (int i = 0; i < 200; i++) {
        assert_int_equal(store_gen_name(o, "1000", names[i], sizeof(names[i])), STORE_OK);
        assert_int_equal(strlen(names[i]), 4 + 1 + 32);
        assert_memory_equal(names[i], "1000:", 5);
        for (int k = 5; k < 37; k++) {
            assert_true(isxdigit((unsigned char)names[i][k]) &&
                        !isupper((unsigned char)names[i][k]));
        }
        for (int j = 0; j < i; j++) {
            assert_string_not_equal(names[i], names[j]);
        }
        /* GEN_NEW reserves nothing. */
        assert_null(store_cache_find(o, names[i]));
    }
    /* Not all the same hex digit pattern: at least 100 distinct first characters pairs. */
    {
        int seen[256] = { 0 };
        int distinct = 0;
        for (int i = 0; i < 200; i++) {
            int v = (isdigit((unsigned char)names[i][5]) ? names[i][5] - '0' : names[i][5] - 'a' + 10) * 16 +
                    (isdigit((unsigned char)names[i][6]) ? names[i][6] - '0' : names[i][6] - 'a' + 10);
            distinct += seen[v]++ == 0;
        }
        assert_true(distinct > 80);
    }
    assert_int_equal(store_gen_name(o, "1000", small, sizeof(small)), STORE_INVALID);
    assert_int_equal(store_gen_name(o, "0", names[0], 34), STORE_INVALID);
    assert_int_equal(store_gen_name(o, "0", names[0], 35), STORE_OK);
}

/* ---- isolation ---- */

static void test_owners_isolated(void **state)
{
    struct fx *f = *state;
    struct store_owner *a = owner(f, 1000);
    struct store_owner *b = owner(f, 1001);
    struct store_owner_key k;
    struct store_cache *ca, *cb;
    struct tc_cred t = tc_cred_std("alice@R", "krbtgt/R@R", 5000);
    char buf[32];

    memset(&k, 0, sizeof(k));
    k.uid = 1000;
    assert_ptr_equal(store_owner_get(f->st, &k), a);
    assert_ptr_equal(owner(f, 1000), a);
    assert_ptr_not_equal(a, b);
    /* Same name in two collections: two different caches. */
    ca = init_cache(f, a, "shared", "alice@R");
    cb = init_cache(f, b, "shared", "bob@R");
    assert_ptr_not_equal(ca, cb);
    assert_int_equal(add(f, ca, &t), STORE_OK);
    assert_int_equal(count_creds(cb), 0);
    assert_ptr_equal(store_cache_find(a, "shared"), ca);
    assert_ptr_equal(store_cache_find(b, "shared"), cb);
    /* uuids of one owner are not visible through another. */
    assert_null(store_cache_find_uuid(b, ca->uuid));
    assert_ptr_equal(store_cache_find_uuid(a, ca->uuid), ca);
    assert_memory_not_equal(ca->uuid, cb->uuid, STORE_UUID_LEN);
    assert_null(store_cache_find(NULL, "shared"));
    assert_null(store_cache_find_uuid(NULL, ca->uuid));
    /* Defaults are per owner. */
    assert_int_equal(store_set_default(f->st, a, "shared"), STORE_OK);
    k.uid = 1001;
    assert_string_equal(store_default_name(b, &k, buf, sizeof(buf)), "1001");
    /* Wiping one owner leaves the other. */
    assert_int_equal(store_owner_wipe(f->st, a), STORE_OK);
    assert_null(store_cache_find(a, "shared"));
    assert_ptr_equal(store_cache_find(b, "shared"), cb);
    /* Many owners hash fine. */
    for (uint32_t uid = 0; uid < 5000; uid++) {
        (void)owner(f, uid * 7919u);
    }
    for (uint32_t uid = 0; uid < 5000; uid++) {
        memset(&k, 0, sizeof(k));
        k.uid = uid * 7919u;
        assert_non_null(store_owner_get(f->st, &k));
        assert_int_equal(store_owner_get(f->st, &k)->key.uid, uid * 7919u);
    }
}

/* ---- INITIALIZE, MOVE, offsets ---- */

static void test_init_move_offset(void **state)
{
    struct fx *f = *state;
    struct store_owner *o = owner(f, 1000);
    struct store_cache *c = init_cache(f, o, "1000:a", "alice@R");
    struct store_cache *d;
    struct tc_cred t = tc_cred_std("alice@R", "krbtgt/R@R", 5000);
    uint8_t uuid[STORE_UUID_LEN];

    memcpy(uuid, c->uuid, STORE_UUID_LEN);
    assert_int_equal(add(f, c, &t), STORE_OK);
    assert_int_equal(store_set_offset(f->st, c, -42), STORE_OK);
    assert_int_equal(c->kdc_offset, -42);
    /* Re-INITIALIZE: creds dropped, offset reset, new principal, same cache. */
    assert_ptr_equal(init_cache(f, o, "1000:a", "bob@R"), c);
    assert_int_equal(count_creds(c), 0);
    assert_int_equal(c->kdc_offset, 0);
    assert_memory_equal(c->uuid, uuid, STORE_UUID_LEN);
    assert_int_equal(o->ncaches, 1);

    /* MOVE onto an existing cache: destination replaced, source gone. */
    assert_int_equal(add(f, c, &t), STORE_OK);
    d = init_cache(f, o, "1000:b", "carol@R");
    assert_int_equal(store_cache_move(f->st, c, "1000:b"), STORE_OK);
    assert_null(store_cache_find(o, "1000:a"));
    assert_ptr_equal(store_cache_find(o, "1000:b"), c);
    assert_string_equal(c->name, "1000:b");
    assert_int_equal(count_creds(c), 1);
    assert_int_equal(o->ncaches, 1);
    (void)d; /* freed by the move */
    /* MOVE to a fresh name, and onto itself. */
    assert_int_equal(store_cache_move(f->st, c, "1000:c"), STORE_OK);
    assert_ptr_equal(store_cache_find(o, "1000:c"), c);
    assert_int_equal(store_cache_move(f->st, c, "1000:c"), STORE_OK);
    assert_int_equal(o->ncaches, 1);
    check_accounting(o);
}

/* ---- write-through: a failing commit leaves memory untouched ---- */

struct fake_db {
    int begins, commits, rollbacks, puts, dels;
    int fail_commit; /* errno to return from commit, 0 = succeed */
    int fail_put;
};

static int fk_begin(void *p)
{
    ((struct fake_db *)p)->begins++;
    return 0;
}
static int fk_commit(void *p)
{
    struct fake_db *db = p;
    db->commits++;
    return db->fail_commit;
}
static void fk_rollback(void *p)
{
    ((struct fake_db *)p)->rollbacks++;
}
static int fk_put_cache(void *p, struct store_cache *c)
{
    struct fake_db *db = p;
    db->puts++;
    return db->fail_put;
}
static int fk_del_cache(void *p, const struct store_cache *c)
{
    ((struct fake_db *)p)->dels++;
    return 0;
}
static int fk_put_cred(void *p, const struct store_cache *c, struct store_cred *cr)
{
    struct fake_db *db = p;
    db->puts++;
    return db->fail_put;
}
static int fk_del_cred(void *p, const struct store_cache *c, const struct store_cred *cr)
{
    ((struct fake_db *)p)->dels++;
    return 0;
}
static int fk_del_creds(void *p, const struct store_cache *c)
{
    ((struct fake_db *)p)->dels++;
    return 0;
}
static int fk_put_default(void *p, const struct store_owner *o)
{
    struct fake_db *db = p;
    db->puts++;
    return db->fail_put;
}

static void test_persist_failure(void **state)
{
    struct fx *f = *state;
    struct fake_db db = { 0 };
    struct store_persist_ops ops = {
        .begin = fk_begin,
        .commit = fk_commit,
        .rollback = fk_rollback,
        .put_cache = fk_put_cache,
        .del_cache = fk_del_cache,
        .put_cred = fk_put_cred,
        .del_cred = fk_del_cred,
        .del_creds = fk_del_creds,
        .put_default = fk_put_default,
    };
    struct store_owner *o = owner(f, 1000);
    struct store_cache *c;
    struct tc_cred t = tc_cred_std("alice@R", "krbtgt/R@R", 5000);
    struct tc_cred t2 = t;
    struct creds_region r = { .n = 0 };
    struct store_owner_key k;
    char buf[32];
    struct tc_blob pb;
    struct kcm_princ p;

    store_set_persist(f->st, &ops, &db);
    c = init_cache(f, o, "1000", "alice@R");
    assert_int_equal(add(f, c, &t), STORE_OK);
    assert_int_equal(db.commits, 2);
    assert_int_equal(db.rollbacks, 0);
    assert_int_equal(store_set_default(f->st, o, "1000"), STORE_OK);

    for (int mode = 0; mode < 2; mode++) {
        size_t bytes = o->bytes;
        int rb = db.rollbacks;
        db.fail_commit = mode == 0 ? EIO : 0;
        db.fail_put = mode == 1 ? ENOSPC : 0;

        t2.ticket = "NEW";
        assert_int_equal(add(f, c, &t2), STORE_IO);
        assert_int_equal(count_creds(c), 1);
        assert_true(cred_ticket_is(c->creds, "TICKET-BYTES"));

        tc_princ_view(&pb, 1, "bob@R", &p);
        assert_int_equal(store_cache_init(f->st, o, "1000", &p, NULL), STORE_IO);
        assert_int_equal(count_creds(c), 1);
        assert_int_equal(store_cache_init(f->st, o, "1000:new", &p, NULL), STORE_IO);
        assert_null(store_cache_find(o, "1000:new"));

        r.len = 0;
        r.n = 0;
        region_add(&r, &t2);
        assert_int_equal(replace(f, o, "1000", "bob@R", 5, &r), STORE_IO);
        assert_int_equal(count_creds(c), 1);
        assert_int_equal(c->kdc_offset, 0);
        assert_true(cred_ticket_is(c->creds, "TICKET-BYTES"));
        assert_int_equal(replace(f, o, "1000:new", "bob@R", 5, &r), STORE_IO);
        assert_null(store_cache_find(o, "1000:new"));

        assert_int_equal(store_set_offset(f->st, c, 9), STORE_IO);
        assert_int_equal(c->kdc_offset, 0);
        assert_int_equal(store_set_default(f->st, o, "1000:x"), STORE_IO);
        memset(&k, 0, sizeof(k));
        k.uid = 1000;
        assert_string_equal(store_default_name(o, &k, buf, sizeof(buf)), "1000");
        if (mode == 0) {
            /* DESTROY only deletes: fails only when the commit fails. */
            assert_int_equal(store_cache_destroy(f->st, c), STORE_IO);
            assert_ptr_equal(store_cache_find(o, "1000"), c);
        }
        assert_int_equal(o->bytes, bytes);
        assert_true(db.rollbacks > rb);
        check_accounting(o);
    }
    db.fail_commit = 0;
    db.fail_put = 0;
    assert_int_equal(add(f, c, &t2), STORE_OK);
    assert_true(cred_ticket_is(c->creds, "NEW"));
    store_set_persist(f->st, NULL, NULL);
}

/* ---- loading ---- */

static void test_load(void **state)
{
    struct fx *f = *state;
    struct store_owner_key k;
    struct tc_blob pb, cb;
    struct kcm_princ p;
    struct tc_cred t = tc_cred_std("alice@R", "krbtgt/R@R", 5000);
    uint8_t uuid[STORE_UUID_LEN] = { 1, 2, 3 };
    uint8_t cuuid[STORE_UUID_LEN] = { 9, 9, 9 };
    struct store_cache *c;
    char buf[32];

    memset(&k, 0, sizeof(k));
    k.uid = 1000;
    tc_princ_view(&pb, 1, "alice@R", &p);
    tc_cred_bytes(&cb, &t);
    c = store_load_cache(f->st, &k, "1000", uuid, pb.buf, pb.len, 11);
    assert_non_null(c);
    assert_memory_equal(c->uuid, uuid, STORE_UUID_LEN);
    assert_int_equal(c->kdc_offset, 11);
    assert_true(store_load_cred(f->st, c, cuuid, 5, cb.buf, cb.len));
    assert_ptr_equal(store_cred_find_uuid(c, cuuid), c->creds);
    assert_false(store_load_cred(f->st, c, cuuid, 6, cb.buf, cb.len - 1)); /* corrupt */
    assert_null(store_load_cache(f->st, &k, "1000", uuid, pb.buf, pb.len, 0)); /* dup name */
    assert_null(store_load_cache(f->st, &k, "1000:x", uuid, pb.buf, pb.len - 1, 0));
    assert_true(store_load_default(f->st, &k, "1000:x"));
    assert_string_equal(store_default_name(c->owner, &k, buf, sizeof(buf)), "1000:x");
    check_accounting(c->owner);
    /* A loaded cred's seq continues the numbering for new ones. */
    assert_int_equal(add(f, c, &(struct tc_cred){ .client = "alice@R", .server = "s@R" }),
                     STORE_OK);
    assert_true(c->creds_tail->seq > 5);
}

/* ---- group commit: a request whose savepoint cannot be opened fails alone ---- */

/* A fake backend: *_fail make the next put_default, every SAVEPOINT, or every savepoint
 * rollback fail. */
struct sp_db {
    int tx_active, begins, commits, rollbacks, reloads, hook_ok, hook_failed;
    int put_fail, sp_fail, sp_rollback_fail;
};

static int sp_begin(void *p)
{
    struct sp_db *db = p;
    db->tx_active = 1;
    db->begins++;
    return 0;
}
static int sp_commit(void *p)
{
    struct sp_db *db = p;
    if (!db->tx_active) {
        return EIO; /* "no transaction is active" */
    }
    db->tx_active = 0;
    db->commits++;
    return 0;
}
static void sp_rollback(void *p)
{
    struct sp_db *db = p;
    db->rollbacks += db->tx_active;
    db->tx_active = 0;
}
static int sp_put_default(void *p, const struct store_owner *o)
{
    struct sp_db *db = p;
    int e = db->put_fail;
    (void)o;
    db->put_fail = 0;
    return e;
}
static int sp_op_begin(void *p, bool single)
{
    (void)single;
    return ((struct sp_db *)p)->sp_fail;
}
static int sp_op_release(void *p)
{
    (void)p;
    return 0;
}
static int sp_op_rollback(void *p)
{
    return ((struct sp_db *)p)->sp_rollback_fail;
}
static void sp_reload(void *p)
{
    ((struct sp_db *)p)->reloads++;
}
static void sp_hook(void *ctx, bool committed)
{
    struct sp_db *db = ctx;
    if (committed) {
        db->hook_ok++;
    } else {
        db->hook_failed++;
    }
}

static const struct store_persist_ops sp_ops = {
    .begin = sp_begin,
    .commit = sp_commit,
    .rollback = sp_rollback,
    .put_default = sp_put_default,
    .op_begin = sp_op_begin,
    .op_release = sp_op_release,
    .op_rollback = sp_op_rollback,
    .reload_touched = sp_reload,
};

/* Attach db as the store's backend and open a KCM-style (deferred) round. */
static void sp_attach(struct fx *f, struct sp_db *db)
{
    store_set_persist(f->st, &sp_ops, db);
    store_group_set_hook(f->st, sp_hook, db);
    store_group_defer(f->st, true);
}

static void sp_detach(struct fx *f)
{
    store_group_set_hook(f->st, NULL, NULL);
    store_set_persist(f->st, NULL, NULL);
}

static void test_group_savepoint_failure(void **state)
{
    struct fx *f = *state;
    struct sp_db db = { 0 };
    struct store_owner *o = owner(f, 1000);
    struct store_owner *o2 = owner(f, 1001);

    sp_attach(f, &db);
    /* The group's first request opens the transaction; the second's SAVEPOINT fails. */
    assert_int_equal(store_set_default(f->st, o, "1000:a"), STORE_OK);
    db.sp_fail = ENOMEM;
    assert_int_equal(store_set_default(f->st, o2, "1001:b"), STORE_IO);
    /* The first request's change is still in the open transaction, not rolled back. */
    assert_int_equal(db.rollbacks, 0);
    assert_int_equal(db.tx_active, 1);
    assert_true(store_group_open(f->st));
    assert_false(store_group_failed(f->st));
    store_group_defer(f->st, false);
    store_group_end(f->st);
    /* ... and is committed with the group, its reply released as a success. */
    assert_int_equal(db.commits, 1);
    assert_int_equal(db.hook_ok, 1);
    assert_int_equal(db.hook_failed, 0);
    assert_int_equal(db.reloads, 0);
    assert_string_equal(o->default_name, "1000:a");
    sp_detach(f);
}

/* A group whose savepoint rollback failed is finished by the next writer outside KCM's rounds
 * (a logind wipe, cachetctl): memory is put back first, then that write goes through. */
static void test_group_failed_then_outside_writer(void **state)
{
    struct fx *f = *state;
    struct sp_db db = { 0 };
    struct store_owner *o = owner(f, 1000);
    struct store_owner *o2 = owner(f, 1001);
    struct store_owner *o3 = owner(f, 1002);

    sp_attach(f, &db);
    assert_int_equal(store_set_default(f->st, o, "1000:a"), STORE_OK);
    /* The second request fails and so does rolling back its savepoint: the group failed. */
    db.put_fail = ENOSPC;
    db.sp_rollback_fail = EIO;
    assert_int_equal(store_set_default(f->st, o2, "1001:b"), STORE_IO);
    assert_true(store_group_failed(f->st));
    /* More KCM requests in that round are refused ... */
    assert_int_equal(store_set_default(f->st, o2, "1001:c"), STORE_IO);
    /* ... a writer outside KCM's rounds finishes the failed group first, then writes. */
    store_group_defer(f->st, false);
    assert_int_equal(store_set_default(f->st, o3, "1002:d"), STORE_OK);
    assert_false(store_group_open(f->st));
    assert_int_equal(db.reloads, 1);
    assert_int_equal(db.hook_failed, 1);
    assert_int_equal(db.commits, 1); /* the outside writer's own transaction */
    assert_string_equal(o3->default_name, "1002:d");
    sp_detach(f);
}

int main(void)
{
    /* Denials and refusals are expected here; keep the output to test results. */
    util_log_set_level(UTIL_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_default_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_replaces_same_pair, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cred_remove_and_match, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_creates_and_replaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_caches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_creds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gen_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owners_isolated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_move_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persist_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_savepoint_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_failed_then_outside_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
