/* The credential store; see store.h. */
#include "config.h"
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "common/util_log.h"

#define STORE_HASH_BUCKETS 4096

struct store {
    struct store_limits limits;
    const struct store_persist_ops *persist;
    void *pctx;
    struct store_owner *buckets[STORE_HASH_BUCKETS];
    size_t nowners;
    void (*loader)(void *ctx, struct store_owner *o);
    void *loader_ctx;
    /* group commit (store.h) */
    bool defer;     /* the current caller holds its answers until store_group_end */
    bool in_op;     /* inside a deferred operation */
    bool op_sp;     /* ... which has a savepoint (not the group's first) */
    enum { G_IDLE, G_OPEN, G_FAILED } group;
    size_t group_ops;
    void (*group_hook)(void *ctx, bool committed);
    void *group_ctx;
};

const char *store_rc_str(enum store_rc rc)
{
    switch (rc) {
    case STORE_OK:
        return "ok";
    case STORE_NOTFOUND:
        return "not found";
    case STORE_LIMIT_CACHES:
        return "too many caches for this owner (max_caches_per_uid)";
    case STORE_LIMIT_CREDS:
        return "too many credentials in this cache (max_creds_per_cache)";
    case STORE_LIMIT_BYTES:
        return "too many bytes for this owner (max_bytes_per_uid)";
    case STORE_NOMEM:
        return "out of (secure) memory";
    case STORE_IO:
        return "persistent storage failed";
    case STORE_INVALID:
        return "invalid data";
    }
    return "?";
}

struct store *store_new(TALLOC_CTX *ctx, const struct store_limits *limits)
{
    struct store *st = talloc_zero(ctx, struct store);

    if (st != NULL) {
        st->limits = *limits;
    }
    return st;
}

void store_set_limits(struct store *st, const struct store_limits *limits)
{
    st->limits = *limits;
}

void store_set_loader(struct store *st, void (*fn)(void *ctx, struct store_owner *o), void *ctx)
{
    st->loader = fn;
    st->loader_ctx = ctx;
}

/* Link a pending owner's records before anyone sees the owner. Without a loader (the backend
 * went away: shutdown) the records are simply not there. */
static struct store_owner *owner_ready(struct store *st, struct store_owner *o)
{
    if (o != NULL && o->pending != NULL) {
        if (st->loader != NULL) {
            st->loader(st->loader_ctx, o);
        }
        o->pending = NULL;
    }
    return o;
}

void store_set_persist(struct store *st, const struct store_persist_ops *ops, void *pctx)
{
    st->persist = ops;
    st->pctx = pctx;
}

/* ---- persistence transaction helpers ---- */

static bool can_group(const struct store *st)
{
    return st->persist != NULL && st->persist->op_begin != NULL;
}

/* Commit the open group now; false (and the group failed) if that did not work. */
static bool group_commit(struct store *st)
{
    if (st->persist->commit(st->pctx) == 0) {
        st->group = G_IDLE;
        st->group_ops = 0;
        if (st->group_hook != NULL) {
            st->group_hook(st->group_ctx, true);
        }
        return true;
    }
    st->persist->rollback(st->pctx);
    st->group = G_FAILED;
    return false;
}

static int tx_begin(struct store *st)
{
    int err;

    if (st->persist == NULL) {
        return 0;
    }
    if (st->group == G_FAILED) {
        return EIO; /* until store_group_end has put memory back */
    }
    if (st->defer && can_group(st)) {
        if (st->group == G_IDLE) {
            /* The first operation of a group needs no savepoint (a rollback of the whole
             * transaction undoes it alone): one client at a time pays nothing for grouping. */
            err = st->persist->begin(st->pctx);
            if (err != 0) {
                return err;
            }
            st->group = G_OPEN;
            st->group_ops = 0;
            st->in_op = true;
            st->op_sp = false;
            return 0;
        }
        err = st->persist->op_begin(st->pctx);
        if (err == 0) {
            st->in_op = true;
            st->op_sp = true;
        }
        return err;
    }
    /* Not deferred: what the caller is told must be on disk, the open group's changes (which
     * it may have seen) included. */
    if (st->group == G_OPEN && !group_commit(st)) {
        return EIO;
    }
    return st->persist->begin(st->pctx);
}

static enum store_rc tx_end(struct store *st, int err)
{
    if (st->persist == NULL) {
        return STORE_OK;
    }
    if (st->in_op) {
        st->in_op = false;
        if (err == 0 && st->op_sp) {
            err = st->persist->op_release(st->pctx);
        }
        if (err == 0) {
            st->group_ops++;
            return STORE_OK;
        }
        if (!st->op_sp) {
            /* The group's first operation: the transaction holds nothing else. */
            st->persist->rollback(st->pctx);
            st->group = G_IDLE;
        } else if (st->persist->op_rollback(st->pctx) != 0) {
            st->persist->rollback(st->pctx);
            st->group = G_FAILED;
        }
        return STORE_IO;
    }
    if (err == 0) {
        err = st->persist->commit(st->pctx);
        if (err == 0) {
            return STORE_OK;
        }
    }
    st->persist->rollback(st->pctx);
    return STORE_IO;
}

void store_group_set_hook(struct store *st, void (*hook)(void *ctx, bool committed), void *ctx)
{
    st->group_hook = hook;
    st->group_ctx = ctx;
}

void store_group_defer(struct store *st, bool on)
{
    st->defer = on;
}

bool store_group_open(const struct store *st)
{
    return st->group != G_IDLE;
}

size_t store_group_size(const struct store *st)
{
    return st->group_ops;
}

void store_group_end(struct store *st)
{
    if (st->group == G_OPEN && st->group_ops > 1) {
        util_log(UTIL_LOG_DEBUG, "committing %zu operations together", st->group_ops);
    }
    if (st->group == G_OPEN) {
        (void)group_commit(st);
    }
    if (st->group == G_FAILED) {
        st->persist->reload_touched(st->pctx);
        st->group = G_IDLE;
        st->group_ops = 0;
        if (st->group_hook != NULL) {
            st->group_hook(st->group_ctx, false);
        }
    }
}

#define P(st, op, ...) ((st)->persist != NULL ? (st)->persist->op((st)->pctx, __VA_ARGS__) : 0)

/* ---- owners ---- */

static size_t owner_hash(const struct store_owner_key *k)
{
    uint64_t h = ((uint64_t)k->uid << 32 | k->session) * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 52) % STORE_HASH_BUCKETS;
}

static struct store_owner *owner_lookup(struct store *st, const struct store_owner_key *key)
{
    for (struct store_owner *o = st->buckets[owner_hash(key)]; o != NULL; o = o->hnext) {
        if (o->key.uid == key->uid && o->key.session == key->session &&
            memcmp(o->key.boot_id, key->boot_id, STORE_BOOT_ID_LEN) == 0) {
            return o;
        }
    }
    return NULL;
}

struct store_owner *store_owner_get(struct store *st, const struct store_owner_key *key)
{
    return owner_ready(st, owner_lookup(st, key));
}

struct store_owner *store_owner_shell(struct store *st, const struct store_owner_key *key)
{
    struct store_owner *o = owner_lookup(st, key);
    size_t h;

    if (o != NULL) {
        return o;
    }
    o = talloc_zero(st, struct store_owner);
    if (o == NULL) {
        return NULL;
    }
    o->key = *key;
    h = owner_hash(key);
    o->hnext = st->buckets[h];
    st->buckets[h] = o;
    st->nowners++;
    return o;
}

struct store_owner *store_owner_get_or_create(struct store *st, const struct store_owner_key *key)
{
    return owner_ready(st, store_owner_shell(st, key));
}

/* ready: load each owner before fn sees it. */
static void owner_walk(struct store *st, bool ready, bool (*fn)(struct store_owner *o, void *arg),
                       void *arg)
{
    for (size_t i = 0; i < STORE_HASH_BUCKETS; i++) {
        struct store_owner *next;
        for (struct store_owner *o = st->buckets[i]; o != NULL; o = next) {
            next = o->hnext;
            if (ready) {
                owner_ready(st, o);
            }
            if (!fn(o, arg)) {
                return;
            }
        }
    }
}

void store_foreach_owner(struct store *st, bool (*fn)(struct store_owner *o, void *arg), void *arg)
{
    owner_walk(st, true, fn, arg);
}

/* ---- lookups (read path: no allocation, no I/O) ---- */

struct store_cache *store_cache_find(struct store_owner *o, const char *name)
{
    if (o == NULL) {
        return NULL;
    }
    for (struct store_cache *c = o->caches; c != NULL; c = c->next) {
        if (strcmp(c->name, name) == 0) {
            return c;
        }
    }
    return NULL;
}

struct store_cache *store_cache_find_uuid(struct store_owner *o, const uint8_t *uuid)
{
    if (o == NULL) {
        return NULL;
    }
    for (struct store_cache *c = o->caches; c != NULL; c = c->next) {
        if (memcmp(c->uuid, uuid, STORE_UUID_LEN) == 0) {
            return c;
        }
    }
    return NULL;
}

struct store_cred *store_cred_find_uuid(struct store_cache *c, const uint8_t *uuid)
{
    for (struct store_cred *cr = c->creds; cr != NULL; cr = cr->next) {
        if (memcmp(cr->uuid, uuid, STORE_UUID_LEN) == 0) {
            return cr;
        }
    }
    return NULL;
}

struct store_cred *store_cred_match(struct store_cache *c, uint32_t flags,
                                    const struct kcm_mcred *m)
{
    for (struct store_cred *cr = c->creds; cr != NULL; cr = cr->next) {
        if (kcm_cred_match(flags, m, &cr->v)) {
            return cr;
        }
    }
    return NULL;
}

const char *store_default_name(struct store_owner *o, const struct store_owner_key *key,
                               char *buf, size_t len)
{
    if (o != NULL && o->default_name != NULL) {
        return o->default_name;
    }
    snprintf(buf, len, "%u", key->uid);
    return buf;
}

/* ---- object construction ---- */

static void fill_random(uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            abort(); /* no entropy: never hand out guessable names or ids */
        }
        p += r;
        n -= (size_t)r;
    }
}

/* Ids and names come from a small pool refilled by getrandom(), so a STORE of twenty creds
 * costs one system call, not twenty. Handed-out bytes are wiped from the pool. The store runs
 * on the event loop only. */
static void random_bytes(uint8_t *p, size_t n)
{
    static uint8_t pool[512];
    static size_t left;

    while (n > 0) {
        size_t take;
        if (left == 0) {
            fill_random(pool, sizeof(pool));
            left = sizeof(pool);
        }
        take = n < left ? n : left;
        memcpy(p, pool + sizeof(pool) - left, take);
        explicit_bzero(pool + sizeof(pool) - left, take);
        left -= take;
        p += take;
        n -= take;
    }
}

enum store_rc store_gen_name(struct store_owner *o, const char *prefix, char *buf, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t rnd[16];
    size_t plen = strlen(prefix);

    if (plen + 1 + 2 * sizeof(rnd) + 1 > len) {
        return STORE_INVALID;
    }
    do {
        random_bytes(rnd, sizeof(rnd));
        memcpy(buf, prefix, plen);
        buf[plen] = ':';
        for (size_t i = 0; i < sizeof(rnd); i++) {
            buf[plen + 1 + 2 * i] = hex[rnd[i] >> 4];
            buf[plen + 2 + 2 * i] = hex[rnd[i] & 15];
        }
        buf[plen + 1 + 2 * sizeof(rnd)] = '\0';
    } while (store_cache_find(o, buf) != NULL);
    return STORE_OK;
}

static struct store_cred *cred_new(TALLOC_CTX *ctx, const uint8_t *bytes, size_t len,
                                   const uint8_t *uuid)
{
    struct store_cred *cr = talloc_zero(ctx, struct store_cred);

    if (cr == NULL) {
        return NULL;
    }
    cr->blob = util_secbuf_dup(cr, bytes, len);
    if (cr->blob == NULL || !kcm_cred_from_bytes(cr->blob->p, len, &cr->v)) {
        talloc_free(cr);
        return NULL;
    }
    if (uuid != NULL) {
        memcpy(cr->uuid, uuid, STORE_UUID_LEN);
    } else {
        random_bytes(cr->uuid, STORE_UUID_LEN);
    }
    return cr;
}

static struct util_secbuf *princ_copy(TALLOC_CTX *ctx, const uint8_t *p, size_t len,
                                      struct kcm_princ *out)
{
    struct util_secbuf *b = util_secbuf_dup(ctx, p, len);

    if (b != NULL && !kcm_princ_from_bytes(b->p, len, out)) {
        talloc_free(b);
        return NULL;
    }
    return b;
}

static struct store_cache *cache_new(struct store_owner *o, const char *name, const uint8_t *uuid)
{
    struct store_cache *c = talloc_zero(o, struct store_cache);

    if (c == NULL) {
        return NULL;
    }
    c->name = talloc_strdup(c, name);
    if (c->name == NULL) {
        talloc_free(c);
        return NULL;
    }
    c->owner = o;
    if (uuid != NULL) {
        memcpy(c->uuid, uuid, STORE_UUID_LEN);
    } else {
        random_bytes(c->uuid, STORE_UUID_LEN);
    }
    return c;
}

/* ---- list plumbing (infallible) ---- */

static void cache_link(struct store_owner *o, struct store_cache *c)
{
    c->prev = o->caches_tail;
    c->next = NULL;
    if (o->caches_tail != NULL) {
        o->caches_tail->next = c;
    } else {
        o->caches = c;
    }
    o->caches_tail = c;
    o->ncaches++;
    o->bytes += c->bytes;
}

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

static void cred_link(struct store_cache *c, struct store_cred *cr)
{
    cr->prev = c->creds_tail;
    cr->next = NULL;
    if (c->creds_tail != NULL) {
        c->creds_tail->next = cr;
    } else {
        c->creds = cr;
    }
    c->creds_tail = cr;
    c->ncreds++;
    c->bytes += cr->blob->len;
    c->owner->bytes += cr->blob->len;
    if (cr->seq >= c->next_seq) {
        c->next_seq = cr->seq + 1;
    }
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

static void cache_set_princ(struct store_cache *c, struct util_secbuf *pb,
                            const struct kcm_princ *pv)
{
    size_t old = c->princ_blob != NULL ? c->princ_blob->len : 0;

    talloc_free(c->princ_blob);
    c->princ_blob = talloc_steal(c, pb);
    c->princ = *pv;
    c->bytes = c->bytes - old + pb->len;
    c->owner->bytes = c->owner->bytes - old + pb->len;
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
    rc = tx_end(st, tx_begin(st) ?: P(st, put_default, o));
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
        c = fresh = cache_new(o, name, NULL);
        if (c == NULL) {
            return STORE_NOMEM;
        }
    }
    if (!owner_bytes_ok(st, o, princ->raw.len, fresh != NULL ? 0 : c->bytes)) {
        talloc_free(fresh);
        return STORE_LIMIT_BYTES;
    }
    pb = princ_copy(c, princ->raw.p, princ->raw.len, &pv);
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
        err = tx_begin(st);
        if (err == 0 && fresh == NULL) {
            err = P(st, del_creds, c);
        }
        if (err == 0) {
            err = P(st, put_cache, c);
        }
        rc = tx_end(st, err);
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
        cache_link(o, fresh);
    } else {
        cache_clear_creds(c);
    }
    cache_set_princ(c, pb, &pv);
    if (out != NULL) {
        *out = c;
    }
    return STORE_OK;
}

enum store_rc store_cache_destroy(struct store *st, struct store_cache *c)
{
    struct store_owner *o = c->owner;
    enum store_rc rc = tx_end(st, tx_begin(st) ?: P(st, del_cache, c));

    if (rc != STORE_OK) {
        return rc;
    }
    cache_unlink(o, c);
    talloc_free(c);
    return STORE_OK;
}

enum store_rc store_cred_add(struct store *st, struct store_cache *c, const struct kcm_cred *cred)
{
    struct store_cred *cr;
    size_t remove_bytes = 0;
    size_t remove_n = 0;
    enum store_rc rc;
    int err;

    for (struct store_cred *x = c->creds; x != NULL; x = x->next) {
        if (kcm_princ_eq(&x->v.client, &cred->client) &&
            kcm_princ_eq(&x->v.server, &cred->server)) {
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
    cr = cred_new(c, cred->raw.p, cred->raw.len, NULL);
    if (cr == NULL) {
        return STORE_NOMEM;
    }
    cr->seq = c->next_seq;
    err = tx_begin(st);
    for (struct store_cred *x = c->creds; x != NULL && err == 0; x = x->next) {
        if (kcm_princ_eq(&x->v.client, &cred->client) &&
            kcm_princ_eq(&x->v.server, &cred->server)) {
            err = P(st, del_cred, c, x);
        }
    }
    if (err == 0) {
        err = P(st, put_cred, c, cr);
    }
    rc = tx_end(st, err);
    if (rc != STORE_OK) {
        talloc_free(cr);
        return rc;
    }
    for (struct store_cred *x = c->creds, *next; x != NULL; x = next) {
        next = x->next;
        if (kcm_princ_eq(&x->v.client, &cred->client) &&
            kcm_princ_eq(&x->v.server, &cred->server)) {
            cred_unlink(c, x);
            talloc_free(x);
        }
    }
    cred_link(c, cr);
    return STORE_OK;
}

enum store_rc store_cred_remove(struct store *st, struct store_cache *c, uint32_t flags,
                                const struct kcm_mcred *m)
{
    bool any = false;
    enum store_rc rc;
    int err = tx_begin(st);

    for (struct store_cred *x = c->creds; x != NULL && err == 0; x = x->next) {
        if (kcm_cred_match(flags, m, &x->v)) {
            any = true;
            err = P(st, del_cred, c, x);
        }
    }
    rc = tx_end(st, err);
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
    rc = tx_end(st, tx_begin(st) ?: P(st, put_cache, c));
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
        c = fresh = cache_new(o, name, NULL);
        if (c == NULL) {
            return STORE_NOMEM;
        }
    }
    if (!owner_bytes_ok(st, o, add, fresh != NULL ? 0 : c->bytes)) {
        talloc_free(fresh);
        return STORE_LIMIT_BYTES;
    }
    tmp = talloc_zero(NULL, struct store_cache);
    pb = tmp != NULL ? princ_copy(tmp, princ->raw.p, princ->raw.len, &pv) : NULL;
    if (pb == NULL) {
        talloc_free(tmp);
        talloc_free(fresh);
        return STORE_NOMEM;
    }
    tmp->owner = o;
    tmp->name = c->name;
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
        cr = cred_new(tmp, v.raw.p, v.raw.len, NULL);
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
        err = tx_begin(st);
        if (err == 0 && fresh == NULL) {
            err = P(st, del_creds, c);
        }
        if (err == 0) {
            err = P(st, put_cache, tmp);
        }
        for (struct store_cred *cr = tmp->creds; cr != NULL && err == 0; cr = cr->next) {
            err = P(st, put_cred, tmp, cr);
        }
        rc = tx_end(st, err);
    }
    if (rc != STORE_OK) {
        talloc_free(tmp);
        talloc_free(fresh);
        return rc;
    }
    /* Committed: swap in (infallible from here). */
    if (fresh != NULL) {
        cache_link(o, fresh);
    } else {
        cache_clear_creds(c);
    }
    cache_set_princ(c, pb, &pv);
    c->kdc_offset = offset;
    c->next_seq = 0;
    while (tmp->creds != NULL) {
        struct store_cred *cr = tmp->creds;
        tmp->creds = cr->next;
        talloc_steal(c, cr);
        cred_link(c, cr);
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
    err = tx_begin(st);
    if (err == 0 && dst != NULL) {
        err = P(st, del_cache, dst);
    }
    if (err == 0) {
        err = P(st, del_cache, src);
    }
    oldname = src->name;
    src->name = newname;
    if (err == 0) {
        err = P(st, put_cache, src);
    }
    for (struct store_cred *cr = src->creds; cr != NULL && err == 0; cr = cr->next) {
        err = P(st, put_cred, src, cr);
    }
    rc = tx_end(st, err);
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
        err = tx_begin(st);
        for (struct store_cred *cr = c->creds; cr != NULL && err == 0; cr = cr->next) {
            if (cred_expired(cr, pa->now)) {
                err = P(st, del_cred, c, cr);
            }
        }
        if (tx_end(st, err) != STORE_OK) {
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

void store_owner_clear_memory(struct store_owner *o)
{
    while (o->caches != NULL) {
        struct store_cache *c = o->caches;
        cache_unlink(o, c);
        talloc_free(c);
    }
    TALLOC_FREE(o->default_name);
}

enum store_rc store_owner_wipe(struct store *st, struct store_owner *o)
{
    int err = tx_begin(st);
    enum store_rc rc;

    for (struct store_cache *c = o->caches; c != NULL && err == 0; c = c->next) {
        err = P(st, del_cache, c);
    }
    rc = tx_end(st, err);
    if (rc != STORE_OK) {
        return rc;
    }
    while (o->caches != NULL) {
        struct store_cache *c = o->caches;
        cache_unlink(o, c);
        talloc_free(c);
    }
    return STORE_OK;
}

enum store_rc store_owner_remove(struct store *st, struct store_owner *o)
{
    struct store_owner **pp = &st->buckets[owner_hash(&o->key)];
    enum store_rc rc = store_owner_wipe(st, o);

    if (rc != STORE_OK) {
        return rc;
    }
    if (st->persist != NULL && st->persist->del_owner != NULL) {
        rc = tx_end(st, tx_begin(st) ?: st->persist->del_owner(st->pctx, o));
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

struct discard_arg {
    struct store *st;
    const uint8_t *boot_id;
    size_t removed;
};

static bool discard_owner(struct store_owner *o, void *arg)
{
    struct discard_arg *da = arg;

    /* Only the owners to remove are loaded (a pending one is loaded here, then removed). */
    if (o->key.session != 0 && memcmp(o->key.boot_id, da->boot_id, STORE_BOOT_ID_LEN) != 0 &&
        store_owner_remove(da->st, owner_ready(da->st, o)) == STORE_OK) {
        da->removed++;
    }
    return true;
}

size_t store_discard_other_boots(struct store *st, const uint8_t *boot_id)
{
    struct discard_arg da = { st, boot_id, 0 };

    owner_walk(st, false, discard_owner, &da);
    return da.removed;
}

static bool stats_owner(struct store_owner *o, void *arg)
{
    struct store_stats *s = arg;

    s->owners++;
    if (o->pending != NULL) {
        s->pending++;
        return true;
    }
    s->caches += o->ncaches;
    s->bytes += o->bytes;
    for (struct store_cache *c = o->caches; c != NULL; c = c->next) {
        s->creds += c->ncreds;
    }
    return true;
}

void store_stats(struct store *st, struct store_stats *out)
{
    memset(out, 0, sizeof(*out));
    owner_walk(st, false, stats_owner, out); /* statistics never wait for a load */
}

/* ---- loading ---- */

struct store_cache *store_load_cache(struct store *st, const struct store_owner_key *key,
                                     const char *name, const uint8_t *uuid,
                                     const uint8_t *princ, size_t princ_len, int32_t offset)
{
    struct store_owner *o = store_owner_shell(st, key);
    struct store_cache *c;
    struct util_secbuf *pb;
    struct kcm_princ pv;

    if (o == NULL || store_cache_find(o, name) != NULL) {
        return NULL;
    }
    c = cache_new(o, name, uuid);
    if (c == NULL) {
        return NULL;
    }
    pb = princ_copy(c, princ, princ_len, &pv);
    if (pb == NULL) {
        talloc_free(c);
        return NULL;
    }
    cache_link(o, c);
    cache_set_princ(c, pb, &pv);
    c->kdc_offset = offset;
    return c;
}

bool store_load_cred(struct store *st, struct store_cache *c, const uint8_t *uuid, uint64_t seq,
                     const uint8_t *blob, size_t len)
{
    struct store_cred *cr = cred_new(c, blob, len, uuid);

    if (cr == NULL) {
        return false;
    }
    cr->seq = seq;
    cred_link(c, cr);
    return true;
}

bool store_load_cred_adopt(struct store *st, struct store_cache *c, const uint8_t *uuid,
                           uint64_t seq, void *plain, const uint8_t *blob, size_t len)
{
    struct store_cred *cr = talloc_zero(c, struct store_cred);

    (void)st;
    if (cr == NULL) {
        util_secmem_free(plain);
        return false;
    }
    cr->blob = util_secbuf_adopt(cr, plain, (uint8_t *)blob, len);
    if (cr->blob == NULL || !kcm_cred_from_bytes(cr->blob->p, len, &cr->v)) {
        talloc_free(cr);
        return false;
    }
    memcpy(cr->uuid, uuid, STORE_UUID_LEN);
    cr->seq = seq;
    cred_link(c, cr);
    return true;
}

bool store_load_default(struct store *st, const struct store_owner_key *key, const char *name)
{
    struct store_owner *o = store_owner_shell(st, key);

    if (o == NULL) {
        return false;
    }
    talloc_free(o->default_name);
    o->default_name = talloc_strdup(o, name);
    return o->default_name != NULL;
}
