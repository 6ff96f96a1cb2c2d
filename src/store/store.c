/* The credential store; see store.h. */
#include "config.h"
#include "store/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

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
    if (fn == NULL) {
        /* The load is over or gone: no owner may keep a pointer into it. Owners still pending
         * (an aborted load) stay empty, as owner_ready would leave them. */
        for (size_t i = 0; i < STORE_HASH_BUCKETS; i++) {
            for (struct store_owner *o = st->buckets[i]; o != NULL; o = o->hnext) {
                o->pending = NULL;
            }
        }
    }
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

/* ---- owners ---- */

size_t store_owner_hash(const struct store_owner_key *k)
{
    uint64_t h = ((uint64_t)k->uid << 32 | k->session) * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 52) % STORE_HASH_BUCKETS;
}

static struct store_owner *owner_lookup(struct store *st, const struct store_owner_key *key)
{
    for (struct store_owner *o = st->buckets[store_owner_hash(key)]; o != NULL; o = o->hnext) {
        if (store_owner_key_eq(&o->key, key)) {
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
    h = store_owner_hash(key);
    o->hnext = st->buckets[h];
    st->buckets[h] = o;
    st->nowners++;
    return o;
}

struct store_owner *store_owner_get_or_create(struct store *st, const struct store_owner_key *key)
{
    return owner_ready(st, store_owner_shell(st, key));
}

typedef bool (*owner_match_fn)(const struct store_owner_key *key, void *arg);

static bool match_all(const struct store_owner_key *key, void *arg)
{
    (void)key;
    (void)arg;
    return true;
}

/* Visit the owners match() accepts; ready: load each of them before fn sees it (the others
 * are not loaded for nothing while a background load runs). */
static void owner_walk(struct store *st, owner_match_fn match, bool ready,
                       bool (*fn)(struct store_owner *o, void *arg), void *arg)
{
    for (size_t i = 0; i < STORE_HASH_BUCKETS; i++) {
        struct store_owner *next;
        for (struct store_owner *o = st->buckets[i]; o != NULL; o = next) {
            next = o->hnext;
            if (!match(&o->key, arg)) {
                continue;
            }
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
    owner_walk(st, match_all, true, fn, arg);
}

void store_foreach_owner_matching(struct store *st, owner_match_fn match,
                                  bool (*fn)(struct store_owner *o, void *arg), void *arg)
{
    owner_walk(st, match, true, fn, arg);
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

/* A cred holding a secure copy of len bytes, its view not set yet; NULL (errno) on failure. */
static struct store_cred *cred_alloc(TALLOC_CTX *ctx, const uint8_t *bytes, size_t len,
                                     const uint8_t *uuid)
{
    struct store_cred *cr = talloc_zero(ctx, struct store_cred);

    if (cr == NULL || (cr->blob = util_secbuf_dup(cr, bytes, len)) == NULL) {
        errno = ENOMEM;
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

struct store_cred *store_cred_new(TALLOC_CTX *ctx, const uint8_t *bytes, size_t len,
                                  const uint8_t *uuid)
{
    struct store_cred *cr = cred_alloc(ctx, bytes, len, uuid);

    if (cr != NULL && !kcm_cred_from_bytes(cr->blob->p, len, &cr->v)) {
        errno = EINVAL;
        talloc_free(cr);
        return NULL;
    }
    return cr;
}

struct store_cred *store_cred_new_parsed(TALLOC_CTX *ctx, const struct kcm_cred *parsed)
{
    struct store_cred *cr = cred_alloc(ctx, parsed->raw.p, parsed->raw.len, NULL);

    if (cr != NULL) {
        /* The request was parsed and validated in full: its view, moved onto the copy, is
         * what parsing the copy would give (a STORE's cred is some forty reads). */
        cr->v = *parsed;
        kcm_cred_rebase(&cr->v, cr->blob->p);
    }
    return cr;
}

struct util_secbuf *store_princ_copy(TALLOC_CTX *ctx, const uint8_t *p, size_t len,
                                     struct kcm_princ *out)
{
    struct util_secbuf *b = util_secbuf_dup(ctx, p, len);

    if (b == NULL) {
        errno = ENOMEM;
    } else if (!kcm_princ_from_bytes(b->p, len, out)) {
        talloc_free(b);
        errno = EINVAL;
        return NULL;
    }
    return b;
}

struct store_cache *store_cache_new(struct store_owner *o, const char *name, const uint8_t *uuid)
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

void store_cache_link(struct store_owner *o, struct store_cache *c)
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

void store_cred_link(struct store_cache *c, struct store_cred *cr)
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

void store_cache_set_princ(struct store_cache *c, struct util_secbuf *pb,
                           const struct kcm_princ *pv)
{
    size_t old = c->princ_blob != NULL ? c->princ_blob->len : 0;

    talloc_free(c->princ_blob);
    c->princ_blob = talloc_steal(c, pb);
    c->princ = *pv;
    c->bytes = c->bytes - old + pb->len;
    c->owner->bytes = c->owner->bytes - old + pb->len;
}

struct discard_arg {
    struct store *st;
    const uint8_t *boot_id;
    size_t removed;
};

/* Session-bound owners of another boot: only these are loaded (then removed). */
static bool other_boot(const struct store_owner_key *key, void *arg)
{
    const struct discard_arg *da = arg;

    return key->session != 0 && memcmp(key->boot_id, da->boot_id, STORE_BOOT_ID_LEN) != 0;
}

static bool discard_owner(struct store_owner *o, void *arg)
{
    struct discard_arg *da = arg;

    if (store_owner_remove(da->st, o) == STORE_OK) {
        da->removed++;
    }
    return true;
}

size_t store_discard_other_boots(struct store *st, const uint8_t *boot_id)
{
    struct discard_arg da = { st, boot_id, 0 };

    owner_walk(st, other_boot, true, discard_owner, &da);
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
    owner_walk(st, match_all, false, stats_owner, out); /* statistics never wait for a load */
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
        errno = o == NULL ? ENOMEM : EINVAL;
        return NULL;
    }
    c = store_cache_new(o, name, uuid);
    if (c == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    pb = store_princ_copy(c, princ, princ_len, &pv); /* sets errno */
    if (pb == NULL) {
        int e = errno;
        talloc_free(c);
        errno = e;
        return NULL;
    }
    store_cache_link(o, c);
    store_cache_set_princ(c, pb, &pv);
    c->kdc_offset = offset;
    return c;
}

bool store_load_cred(struct store *st, struct store_cache *c, const uint8_t *uuid, uint64_t seq,
                     const uint8_t *blob, size_t len)
{
    struct store_cred *cr = store_cred_new(c, blob, len, uuid);

    if (cr == NULL) {
        return false;
    }
    cr->seq = seq;
    store_cred_link(c, cr);
    return true;
}

bool store_load_cred_adopt(struct store *st, struct store_cache *c, const uint8_t *uuid,
                           uint64_t seq, void *plain, const uint8_t *blob, size_t len)
{
    struct store_cred *cr = talloc_zero(c, struct store_cred);

    (void)st;
    if (cr == NULL) {
        util_secmem_free(plain);
        errno = ENOMEM;
        return false;
    }
    cr->blob = util_secbuf_adopt(cr, plain, (uint8_t *)blob, len);
    if (cr->blob == NULL || !kcm_cred_from_bytes(cr->blob->p, len, &cr->v)) {
        errno = cr->blob == NULL ? ENOMEM : EINVAL;
        talloc_free(cr);
        return false;
    }
    memcpy(cr->uuid, uuid, STORE_UUID_LEN);
    cr->seq = seq;
    store_cred_link(c, cr);
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
