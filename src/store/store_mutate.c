/* The store's mutations: each is prepared (allocated, limits checked), written through in a
 * transaction and only then applied to memory; expiry and owner removal. */
#include "config.h"
#include "store/store_int.h"

#include <string.h>

#define P(st, op, ...) ((st)->persist != NULL ? (st)->persist->op((st)->pctx, __VA_ARGS__) : 0)

/* ---- list plumbing: removal (infallible) ---- */

static void cache_unlink(struct store_owner *o, struct store_cache *c)
{
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        o->caches = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    } else {
        o->caches_tail = c->prev;
    }
    o->ncaches--;
    o->bytes -= c->bytes;
}

static void cred_unlink(struct store_cache *c, struct store_cred *cr)
{
    if (cr->prev != NULL) {
        cr->prev->next = cr->next;
    } else {
        c->creds = cr->next;
    }
    if (cr->next != NULL) {
        cr->next->prev = cr->prev;
    } else {
        c->creds_tail = cr->prev;
    }
    c->ncreds--;
    c->bytes -= cr->blob->len;
    c->owner->bytes -= cr->blob->len;
}

static void cache_clear_creds(struct store_cache *c)
{
    while (c->creds != NULL) {
        struct store_cred *cr = c->creds;
        cred_unlink(c, cr);
        talloc_free(cr);
    }
}

static bool owner_bytes_ok(struct store *st, struct store_owner *o, size_t add, size_t remove)
{
    return o->bytes - remove + add <= st->limits.max_bytes_per_owner;
}

/* ---- mutations ---- */

enum store_rc store_set_default(struct store *st, struct store_owner *o, const char *name)
{
    char *old = o->default_name;
    enum store_rc rc;

    if (old != NULL && strcmp(old, name) == 0) {
        return STORE_OK;
    }
    o->default_name = talloc_strdup(o, name);
    if (o->default_name == NULL) {
        o->default_name = old;
        return STORE_NOMEM;
    }
    rc = store_tx_end(st, store_tx_begin_single(st) ?: P(st, put_default, o));
    if (rc != STORE_OK) {
        talloc_free(o->default_name);
        o->default_name = old;
        return rc;
    }
    talloc_free(old);
    return STORE_OK;
}

enum store_rc store_cache_init(struct store *st, struct store_owner *o, const char *name,
                               const struct kcm_princ *princ, struct store_cache **out)
{
    struct store_cache *c = store_cache_find(o, name);
    struct store_cache *fresh = NULL;
    struct util_secbuf *pb;
    struct kcm_princ pv;
    int32_t old_offset;
    enum store_rc rc;
    int err;

    if (c == NULL) {
        if (o->ncaches >= st->limits.max_caches_per_owner) {
            return STORE_LIMIT_CACHES;
        }
        c = fresh = store_cache_new(o, name, NULL);
        if (c == NULL) {
            return STORE_NOMEM;
        }
    }
    if (!owner_bytes_ok(st, o, princ->raw.len, fresh != NULL ? 0 : c->bytes)) {
        talloc_free(fresh);
        return STORE_LIMIT_BYTES;
    }
    pb = store_princ_copy(c, princ->raw.p, princ->raw.len, &pv);
    if (pb == NULL) {
        talloc_free(fresh);
        return STORE_NOMEM;
    }
    /* Persist the new state: principal set, offset 0, no credentials. */
    old_offset = c->kdc_offset;
    {
        struct util_secbuf *oldpb = c->princ_blob;
        struct kcm_princ oldpv = c->princ;
        c->princ_blob = pb;
        c->princ = pv;
        c->kdc_offset = 0;
        err = fresh != NULL ? store_tx_begin_single(st) : store_tx_begin(st);
        if (err == 0 && fresh == NULL) {
            err = P(st, del_creds, c);
        }
        if (err == 0) {
            err = P(st, put_cache, c);
        }
        rc = store_tx_end(st, err);
        c->princ_blob = oldpb;
        c->princ = oldpv;
    }
    if (rc != STORE_OK) {
        c->kdc_offset = old_offset;
        talloc_free(pb);
        talloc_free(fresh);
        return rc;
    }
    if (fresh != NULL) {
        store_cache_link(o, fresh);
    } else {
        cache_clear_creds(c);
    }
    store_cache_set_princ(c, pb, &pv);
    if (out != NULL) {
        *out = c;
    }
    return STORE_OK;
}

enum store_rc store_cache_destroy(struct store *st, struct store_cache *c)
{
    struct store_owner *o = c->owner;
    enum store_rc rc = store_tx_end(st, store_tx_begin(st) ?: P(st, del_cache, c));

    if (rc != STORE_OK) {
        return rc;
    }
    cache_unlink(o, c);
    talloc_free(c);
    return STORE_OK;
}

/* What a STORE replaces: a cred of the same client and server. One cache holds one client's
 * tickets for many services, so the servers are compared first: they usually differ. */
static bool same_principals(const struct kcm_cred *a, const struct kcm_cred *b)
{
    return kcm_princ_eq(&a->server, &b->server) && kcm_princ_eq(&a->client, &b->client);
}

enum store_rc store_cred_add(struct store *st, struct store_cache *c, const struct kcm_cred *cred)
{
    struct store_cred *cr;
    size_t remove_bytes = 0;
    size_t remove_n = 0;
    enum store_rc rc;
    int err;

    for (struct store_cred *x = c->creds; x != NULL; x = x->next) {
        if (same_principals(&x->v, cred)) {
            remove_bytes += x->blob->len;
            remove_n++;
        }
    }
    if (c->ncreds - remove_n >= st->limits.max_creds_per_cache) {
        return STORE_LIMIT_CREDS;
    }
    if (!owner_bytes_ok(st, c->owner, cred->raw.len, remove_bytes)) {
        return STORE_LIMIT_BYTES;
    }
    cr = store_cred_new_parsed(c, cred);
    if (cr == NULL) {
        return STORE_NOMEM;
    }
    cr->seq = c->next_seq;
    err = remove_n == 0 ? store_tx_begin_single(st) : store_tx_begin(st);
    /* Filling a cache (the common case) replaces nothing: no second or third scan. */
    for (struct store_cred *x = remove_n > 0 ? c->creds : NULL; x != NULL && err == 0;
         x = x->next) {
        if (same_principals(&x->v, cred)) {
            err = P(st, del_cred, c, x);
        }
    }
    if (err == 0) {
        err = P(st, put_cred, c, cr);
    }
    rc = store_tx_end(st, err);
    if (rc != STORE_OK) {
        talloc_free(cr);
        return rc;
    }
    for (struct store_cred *x = remove_n > 0 ? c->creds : NULL, *next; x != NULL; x = next) {
        next = x->next;
        if (same_principals(&x->v, cred)) {
            cred_unlink(c, x);
            talloc_free(x);
        }
    }
    store_cred_link(c, cr);
    return STORE_OK;
}

enum store_rc store_cred_remove(struct store *st, struct store_cache *c, uint32_t flags,
                                const struct kcm_mcred *m)
{
    bool any = false;
    enum store_rc rc;
    int err = store_tx_begin(st);

    for (struct store_cred *x = c->creds; x != NULL && err == 0; x = x->next) {
        if (kcm_cred_match(flags, m, &x->v)) {
            any = true;
            err = P(st, del_cred, c, x);
        }
    }
    rc = store_tx_end(st, err);
    if (rc != STORE_OK) {
        return rc;
    }
    if (!any) {
        return STORE_NOTFOUND;
    }
    for (struct store_cred *x = c->creds, *next; x != NULL; x = next) {
        next = x->next;
        if (kcm_cred_match(flags, m, &x->v)) {
            cred_unlink(c, x);
            talloc_free(x);
        }
    }
    return STORE_OK;
}

enum store_rc store_set_offset(struct store *st, struct store_cache *c, int32_t offset)
{
    int32_t old = c->kdc_offset;
    enum store_rc rc;

    if (old == offset) {
        return STORE_OK;
    }
    c->kdc_offset = offset;
    rc = store_tx_end(st, store_tx_begin_single(st) ?: P(st, put_cache, c));
    if (rc != STORE_OK) {
        c->kdc_offset = old;
    }
    return rc;
}

enum store_rc store_cache_replace(struct store *st, struct store_owner *o, const char *name,
                                  const struct kcm_princ *princ, int32_t offset,
                                  uint32_t ncreds, struct util_data creds)
{
    struct store_cache *c = store_cache_find(o, name);
    struct store_cache *fresh = NULL;
    struct store_cache *tmp; /* staging: new creds hang here until commit */
    struct util_rd rd;
    struct kcm_cred v;
    struct util_secbuf *pb;
    struct kcm_princ pv;
    size_t add = princ->raw.len + (creds.len - 4u * ncreds); /* minus length words */
    enum store_rc rc = STORE_OK;
    int err;

    if (ncreds > st->limits.max_creds_per_cache) {
        return STORE_LIMIT_CREDS;
    }
    if (c == NULL) {
        if (o->ncaches >= st->limits.max_caches_per_owner) {
            return STORE_LIMIT_CACHES;
        }
        c = fresh = store_cache_new(o, name, NULL);
        if (c == NULL) {
            return STORE_NOMEM;
        }
    }
    if (!owner_bytes_ok(st, o, add, fresh != NULL ? 0 : c->bytes)) {
        talloc_free(fresh);
        return STORE_LIMIT_BYTES;
    }
    tmp = talloc_zero(NULL, struct store_cache);
    pb = tmp != NULL ? store_princ_copy(tmp, princ->raw.p, princ->raw.len, &pv) : NULL;
    if (pb == NULL) {
        talloc_free(tmp);
        talloc_free(fresh);
        return STORE_NOMEM;
    }
    tmp->owner = o;
    tmp->name = c->name;
    tmp->row = c->row; /* the same row on disk (a fresh cache gets its row on the put) */
    memcpy(tmp->uuid, c->uuid, STORE_UUID_LEN);
    tmp->princ_blob = pb;
    tmp->princ = pv;
    tmp->kdc_offset = offset;
    util_rd_init(&rd, creds.p, creds.len);
    for (uint32_t i = 0; i < ncreds; i++) {
        struct store_cred *cr;
        if (!kcm_cred_list_next(&rd, &v)) {
            rc = STORE_INVALID;
            break;
        }
        cr = store_cred_new_parsed(tmp, &v);
        if (cr == NULL) {
            rc = STORE_NOMEM;
            break;
        }
        cr->seq = i;
        /* Staging list: link without owner accounting. */
        cr->prev = tmp->creds_tail;
        if (tmp->creds_tail != NULL) {
            tmp->creds_tail->next = cr;
        } else {
            tmp->creds = cr;
        }
        tmp->creds_tail = cr;
        tmp->ncreds++;
    }
    if (rc == STORE_OK) {
        err = store_tx_begin(st);
        if (err == 0 && fresh == NULL) {
            err = P(st, del_creds, c);
        }
        if (err == 0) {
            err = P(st, put_cache, tmp);
        }
        for (struct store_cred *cr = tmp->creds; cr != NULL && err == 0; cr = cr->next) {
            err = P(st, put_cred, tmp, cr);
        }
        rc = store_tx_end(st, err);
    }
    if (rc != STORE_OK) {
        talloc_free(tmp);
        talloc_free(fresh);
        return rc;
    }
    /* Committed: swap in (infallible from here). */
    if (fresh != NULL) {
        store_cache_link(o, fresh);
    } else {
        cache_clear_creds(c);
    }
    store_cache_set_princ(c, pb, &pv);
    c->kdc_offset = offset;
    c->row = tmp->row;
    c->next_seq = 0;
    while (tmp->creds != NULL) {
        struct store_cred *cr = tmp->creds;
        tmp->creds = cr->next;
        talloc_steal(c, cr);
        store_cred_link(c, cr);
    }
    tmp->name = NULL;
    talloc_free(tmp);
    return STORE_OK;
}

enum store_rc store_cache_move(struct store *st, struct store_cache *src, const char *dst_name)
{
    struct store_owner *o = src->owner;
    struct store_cache *dst = store_cache_find(o, dst_name);
    char *newname;
    char *oldname;
    enum store_rc rc;
    int err;

    if (dst == src) {
        return STORE_OK;
    }
    newname = talloc_strdup(src, dst_name);
    if (newname == NULL) {
        return STORE_NOMEM;
    }
    /* The name is in the cache's record only (a credential's names its cache by uuid): src's
     * record is rewritten in place, keeping its place and its credentials' rows. */
    err = store_tx_begin(st);
    if (err == 0 && dst != NULL) {
        err = P(st, del_cache, dst);
    }
    oldname = src->name;
    src->name = newname;
    if (err == 0) {
        err = P(st, put_cache, src);
    }
    rc = store_tx_end(st, err);
    if (rc != STORE_OK) {
        src->name = oldname;
        talloc_free(newname);
        return rc;
    }
    talloc_free(oldname);
    if (dst != NULL) {
        cache_unlink(o, dst);
        talloc_free(dst);
    }
    return STORE_OK;
}

static bool cred_expired(const struct store_cred *cr, uint32_t now)
{
    return !kcm_cred_is_config(&cr->v) && cr->v.endtime != 0 && cr->v.endtime <= now;
}

static bool cache_has_real_creds(const struct store_cache *c)
{
    for (const struct store_cred *cr = c->creds; cr != NULL; cr = cr->next) {
        if (!kcm_cred_is_config(&cr->v)) {
            return true;
        }
    }
    return false;
}

struct purge_arg {
    struct store *st;
    uint32_t now;
    size_t dropped;
};

static bool purge_owner(struct store_owner *o, void *arg)
{
    struct purge_arg *pa = arg;
    struct store *st = pa->st;

    for (struct store_cache *c = o->caches, *cnext; c != NULL; c = cnext) {
        size_t n = 0;
        int err;
        cnext = c->next;
        for (struct store_cred *cr = c->creds; cr != NULL; cr = cr->next) {
            n += cred_expired(cr, pa->now);
        }
        if (n == 0) {
            continue;
        }
        err = store_tx_begin(st);
        for (struct store_cred *cr = c->creds; cr != NULL && err == 0; cr = cr->next) {
            if (cred_expired(cr, pa->now)) {
                err = P(st, del_cred, c, cr);
            }
        }
        if (store_tx_end(st, err) != STORE_OK) {
            continue; /* retried at the next purge */
        }
        for (struct store_cred *cr = c->creds, *next; cr != NULL; cr = next) {
            next = cr->next;
            if (cred_expired(cr, pa->now)) {
                cred_unlink(c, cr);
                talloc_free(cr);
            }
        }
        pa->dropped += n;
        if (!cache_has_real_creds(c)) {
            (void)store_cache_destroy(st, c);
        }
    }
    return true;
}

size_t store_purge_expired(struct store *st, uint32_t now)
{
    struct purge_arg pa = { st, now, 0 };

    store_foreach_owner(st, purge_owner, &pa);
    return pa.dropped;
}

static void owner_clear_caches(struct store_owner *o)
{
    while (o->caches != NULL) {
        struct store_cache *c = o->caches;
        cache_unlink(o, c);
        talloc_free(c);
    }
}

void store_owner_clear_memory(struct store_owner *o)
{
    owner_clear_caches(o);
    TALLOC_FREE(o->default_name);
}

enum store_rc store_owner_wipe(struct store *st, struct store_owner *o)
{
    int err = store_tx_begin(st);
    enum store_rc rc;

    for (struct store_cache *c = o->caches; c != NULL && err == 0; c = c->next) {
        err = P(st, del_cache, c);
    }
    rc = store_tx_end(st, err);
    if (rc == STORE_OK) {
        owner_clear_caches(o);
    }
    return rc;
}

enum store_rc store_owner_remove(struct store *st, struct store_owner *o)
{
    struct store_owner **pp = &st->buckets[store_owner_hash(&o->key)];
    enum store_rc rc = store_owner_wipe(st, o);

    if (rc != STORE_OK) {
        return rc;
    }
    if (st->persist != NULL && st->persist->del_owner != NULL) {
        rc = store_tx_end(st, store_tx_begin(st) ?: st->persist->del_owner(st->pctx, o));
        if (rc != STORE_OK) {
            return rc;
        }
    }
    while (*pp != NULL && *pp != o) {
        pp = &(*pp)->hnext;
    }
    if (*pp == o) {
        *pp = o->hnext;
        st->nowners--;
    }
    talloc_free(o);
    return STORE_OK;
}
