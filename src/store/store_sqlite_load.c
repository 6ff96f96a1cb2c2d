/* Start-up loading of the sqlite backend: every record into the store, once (see store_sqlite.c
 * for the schema, store_sqlite_open.c for the file and the key check).
 *
 * Decryption is nearly all of the cost of a load, so it runs in a pool of threads
 * (store_crypt_pool): this thread reads rows in batches (ciphertexts copied out of sqlite,
 * which only this thread touches), hands a batch to the pool, reads the next batch while the
 * pool decrypts, then helps finish, and links the plaintexts into the store in row order.
 * Caches first (in creation order), then each cache's credentials (in insertion order).
 *
 * A record that does not decrypt, does not parse, or belongs to another row is dropped: logged,
 * and deleted once the load is done. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/util_log.h"
#include "store/store_sqlite_int.h"

#define BATCH_JOBS 512
#define BATCH_BYTES (1024u * 1024) /* ciphertext bytes per batch (one record may exceed it) */

enum {
    T_CACHES,
    T_CREDS,
    T_DEFAULTS
};
static const char *const table_name[] = { "caches", "creds", "defaults" };

/* One row waiting for (or back from) decryption. */
struct item {
    int64_t rowid;
    struct store_owner_key key; /* caches: the row's owner columns */
    bool keys_ok;
    bool uuid_ok;
    uint8_t uuid[STORE_UUID_LEN]; /* the row's uuid column */
    struct store_cache *c;        /* credentials: their (loaded) cache */
    uint64_t seq;
    size_t off; /* ciphertext in the batch's arena */
};

struct batch {
    int table;
    struct item items[BATCH_JOBS];
    struct store_crypt_job jobs[BATCH_JOBS];
    size_t n;
    uint8_t *arena; /* ciphertext copies (not secret) */
    size_t used;
    size_t cap;
};

struct load {
    struct store_sqlite *sq;
    struct store_crypt_pool *pool;
    struct batch *b[2];
    int fill;      /* index of the batch being filled */
    bool inflight; /* the other one is with the pool */
    struct store_cache **loaded; /* caches, in load order */
    size_t nloaded;
    size_t caches;
    size_t creds;
    size_t defaults;
    int64_t *drop[3]; /* rowids of dropped rows: caches, creds, defaults */
    size_t ndrop[3];
};

static void uuid_hex(const uint8_t *u, char *out)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < STORE_UUID_LEN; i++) {
        out[2 * i] = hex[u[i] >> 4];
        out[2 * i + 1] = hex[u[i] & 15];
    }
    out[2 * STORE_UUID_LEN] = '\0';
}

/* The owner key in columns col, col+1, col+2 (uid, session, boot_id). */
static bool col_owner(sqlite3_stmt *s, int col, struct store_owner_key *k)
{
    int64_t uid = sqlite3_column_int64(s, col);
    int64_t session = sqlite3_column_int64(s, col + 1);
    const void *boot = sqlite3_column_blob(s, col + 2);

    memset(k, 0, sizeof(*k));
    k->uid = (uint32_t)uid;
    k->session = (uint32_t)session;
    if (sqlite3_column_bytes(s, col + 2) != STORE_BOOT_ID_LEN) {
        return false;
    }
    memcpy(k->boot_id, boot, STORE_BOOT_ID_LEN);
    return sqlite3_column_type(s, col) == SQLITE_INTEGER && uid >= 0 && uid <= UINT32_MAX &&
           sqlite3_column_type(s, col + 1) == SQLITE_INTEGER && session >= 0 &&
           session <= UINT32_MAX;
}

static bool col_uuid(sqlite3_stmt *s, int col, uint8_t *out)
{
    if (sqlite3_column_bytes(s, col) != STORE_UUID_LEN) {
        memset(out, 0, STORE_UUID_LEN);
        return false;
    }
    memcpy(out, sqlite3_column_blob(s, col), STORE_UUID_LEN);
    return true;
}

static const char *drop_reason(int ret)
{
    switch (ret) {
    case EBADMSG:
        return "integrity check failed (tampered, or sealed under another key)";
    case EPROTO:
        return "malformed record";
    case EXDEV:
        return "it belongs to another row (moved or swapped ciphertext)";
    case EINVAL:
        return "unusable contents (bad principal or credential, or duplicate name)";
    default:
        return strerror(ret);
    }
}

/* Log and remember a dropped row. Returns an sqlite code: OK, or NOMEM to abort the load. */
static int drop(struct load *ld, int table, int64_t rowid, const char *what,
                const struct store_owner_key *k, const uint8_t *uuid, int ret)
{
    char hex[2 * STORE_UUID_LEN + 1] = "";
    int64_t *a;

    if (ret == ENOMEM) {
        return SQLITE_NOMEM;
    }
    a = talloc_realloc(ld->sq, ld->drop[table], int64_t, ld->ndrop[table] + 1);
    if (a == NULL) {
        return SQLITE_NOMEM;
    }
    if (uuid != NULL) {
        uuid_hex(uuid, hex);
    }
    util_log(UTIL_LOG_WARNING, "dropping %s %s of uid %u session %u: %s", what, hex, k->uid,
             k->session, drop_reason(ret));
    a[ld->ndrop[table]++] = rowid;
    ld->drop[table] = a;
    return SQLITE_OK;
}

/* ---- linking decrypted rows into the store (this thread, row order) ---- */

static int link_cache(struct load *ld, const struct item *it, int ret, const struct store_rec *r)
{
    struct store_cache *c = NULL;

    if (ret == 0 && (!it->keys_ok || !it->uuid_ok || r->type != STORE_REC_CACHE ||
                     !store_owner_key_eq(&r->owner, &it->key) ||
                     memcmp(r->cache_uuid, it->uuid, STORE_UUID_LEN) != 0)) {
        ret = EXDEV;
    }
    if (ret == 0) {
        c = store_load_cache(ld->sq->st, &it->key, r->name, it->uuid, r->blob.p, r->blob.len,
                             r->offset);
        ret = c != NULL ? 0 : EINVAL;
    }
    if (ret != 0) {
        /* Its credentials become orphans and are deleted with it. */
        return drop(ld, T_CACHES, it->rowid, "cache", &it->key, it->uuid_ok ? it->uuid : NULL,
                    ret);
    }
    if (ld->nloaded % 1024 == 0) {
        struct store_cache **a = talloc_realloc(ld->sq, ld->loaded, struct store_cache *,
                                                ld->nloaded + 1024);
        if (a == NULL) {
            return SQLITE_NOMEM;
        }
        ld->loaded = a;
    }
    ld->loaded[ld->nloaded++] = c;
    ld->caches++;
    return SQLITE_OK;
}

static int link_cred(struct load *ld, const struct item *it, int ret, const struct store_rec *r)
{
    struct store_cache *c = it->c;
    const struct store_owner_key *k = &c->owner->key;

    if (ret == 0 &&
        (!it->uuid_ok || r->type != STORE_REC_CRED || !store_owner_key_eq(&r->owner, k) ||
         memcmp(r->cache_uuid, c->uuid, STORE_UUID_LEN) != 0 ||
         memcmp(r->cred_uuid, it->uuid, STORE_UUID_LEN) != 0)) {
        ret = EXDEV;
    }
    if (ret == 0 && !store_load_cred(ld->sq->st, c, it->uuid, it->seq, r->blob.p, r->blob.len)) {
        ret = EINVAL;
    }
    if (ret != 0) {
        return drop(ld, T_CREDS, it->rowid, "credential", k, it->uuid_ok ? it->uuid : NULL, ret);
    }
    ld->creds++;
    return SQLITE_OK;
}

/* Link a decrypted batch and empty it. Plaintexts are wiped and released whatever happens. */
static int link_batch(struct load *ld, struct batch *b)
{
    int rc = SQLITE_OK;

    for (size_t i = 0; i < b->n; i++) {
        struct store_crypt_job *j = &b->jobs[i];
        struct store_rec r;
        int ret = j->ret;

        if (rc == SQLITE_OK) {
            if (ret == 0 && !store_crypt_parse(j->plain, j->plen, &r)) {
                ret = EPROTO;
            }
            rc = b->table == T_CACHES ? link_cache(ld, &b->items[i], ret, &r)
                                      : link_cred(ld, &b->items[i], ret, &r);
        }
        util_secmem_free(j->plain);
        j->plain = NULL;
    }
    b->n = 0;
    b->used = 0;
    return rc;
}

/* The batch being filled is complete (or the table is done): collect the batch in flight, hand
 * this one to the pool, then link the collected one while the pool works; its buffer becomes
 * the one to fill. Called twice in a row, it drains the pipeline. */
static int cycle(struct load *ld)
{
    struct batch *f = ld->b[ld->fill];
    struct batch *done = NULL;

    if (ld->inflight) {
        store_crypt_pool_wait(ld->pool);
        ld->inflight = false;
        done = ld->b[!ld->fill];
    }
    if (f->n > 0) {
        for (size_t i = 0; i < f->n; i++) {
            f->jobs[i].ct = f->arena + f->items[i].off;
        }
        store_crypt_pool_submit(ld->pool, f->jobs, f->n);
        ld->inflight = true;
        ld->fill = !ld->fill;
    }
    return done != NULL ? link_batch(ld, done) : SQLITE_OK;
}

static int drain(struct load *ld)
{
    int rc = cycle(ld);

    return rc == SQLITE_OK ? cycle(ld) : rc;
}

/* Queue the current row of s (ciphertext in column col) for decryption. *out: its item, NULL
 * with an sqlite code on failure. */
static int enqueue(struct load *ld, int table, sqlite3_stmt *s, int col, struct item **out)
{
    const void *ct = sqlite3_column_blob(s, col);
    size_t len = (size_t)sqlite3_column_bytes(s, col);
    struct batch *b = ld->b[ld->fill];
    struct item *it;
    int rc;

    *out = NULL;
    if (b->n == BATCH_JOBS || (b->n > 0 && b->used + len > BATCH_BYTES)) {
        rc = cycle(ld);
        if (rc != SQLITE_OK) {
            return rc;
        }
        b = ld->b[ld->fill];
    }
    if (b->used + len > b->cap) {
        size_t cap = b->used + len > 2 * b->cap ? b->used + len : 2 * b->cap;
        uint8_t *a = talloc_realloc(b, b->arena, uint8_t, cap);
        if (a == NULL) {
            return SQLITE_NOMEM;
        }
        b->arena = a;
        b->cap = cap;
    }
    if (len > 0) {
        memcpy(b->arena + b->used, ct, len);
    }
    b->table = table;
    it = &b->items[b->n];
    memset(it, 0, sizeof(*it));
    it->rowid = sqlite3_column_int64(s, 0);
    it->off = b->used;
    b->jobs[b->n].ctlen = len;
    b->jobs[b->n].plain = NULL;
    b->used += len;
    b->n++;
    *out = it;
    return SQLITE_OK;
}

/* ---- tables ---- */

/* Caches in creation order. Columns: rowid, uid, session, boot_id, uuid, rec. */
static int load_caches(struct load *ld)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(ld->sq->db,
                                "SELECT rowid, uid, session, boot_id, uuid, rec FROM caches "
                                "ORDER BY pos, rowid",
                                -1, &s, NULL);

    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct item *it;
        rc = enqueue(ld, T_CACHES, s, 5, &it);
        if (it != NULL) {
            it->keys_ok = col_owner(s, 1, &it->key);
            it->uuid_ok = col_uuid(s, 4, it->uuid);
        }
    }
    sqlite3_finalize(s);
    if (rc == SQLITE_DONE) {
        rc = drain(ld);
    }
    return rc;
}

/* Each loaded cache's credentials in insertion order. Columns: rowid, uuid, seq, rec. */
static int load_creds(struct load *ld)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(ld->sq->db,
                                "SELECT rowid, uuid, seq, rec FROM creds WHERE " STORE_SQLITE_OWNER
                                " AND cache_uuid = ?4 ORDER BY seq, rowid",
                                -1, &s, NULL);

    for (size_t i = 0; i < ld->nloaded && rc == SQLITE_OK; i++) {
        struct store_cache *c = ld->loaded[i];

        store_sqlite_bind_owner(s, &c->owner->key);
        sqlite3_bind_blob(s, 4, c->uuid, STORE_UUID_LEN, SQLITE_STATIC);
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            struct item *it;
            rc = enqueue(ld, T_CREDS, s, 3, &it);
            if (it == NULL) {
                break;
            }
            it->c = c;
            it->uuid_ok = col_uuid(s, 1, it->uuid);
            it->seq = (uint64_t)sqlite3_column_int64(s, 2);
        }
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    sqlite3_finalize(s);
    if (rc == SQLITE_OK) {
        rc = drain(ld);
    }
    return rc;
}

/* Few rows: decrypted here, one by one. */
static int load_defaults(struct load *ld)
{
    struct store_sqlite *sq = ld->sq;
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(sq->db, "SELECT rowid, uid, session, boot_id, rec FROM defaults",
                                -1, &s, NULL);

    while ((rc == SQLITE_OK || rc == SQLITE_ROW) && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_owner_key k;
        bool keys_ok = col_owner(s, 1, &k);
        struct store_rec r;
        int ret = store_crypt_open(sq->crypt, sq, sqlite3_column_blob(s, 4),
                                   (size_t)sqlite3_column_bytes(s, 4), &r);

        if (ret == 0 &&
            (!keys_ok || r.type != STORE_REC_DEFAULT || !store_owner_key_eq(&r.owner, &k))) {
            ret = EXDEV;
        }
        if (ret == 0 && !store_load_default(sq->st, &k, r.name)) {
            ret = ENOMEM;
        }
        talloc_free(r.plain);
        if (ret == 0) {
            ld->defaults++;
        } else {
            rc = drop(ld, T_DEFAULTS, sqlite3_column_int64(s, 0), "default cache name", &k, NULL,
                      ret);
        }
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Dropped records are unreadable under the verified master key (tampered or damaged) or refer
 * to nothing: delete them so that they are not reported at every start. */
static int delete_dropped(struct load *ld, size_t *orphans)
{
    struct store_sqlite *sq = ld->sq;
    int rc = sqlite3_exec(sq->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

    for (int t = 0; t < 3 && rc == SQLITE_OK; t++) {
        sqlite3_stmt *s = NULL;
        char *sql = talloc_asprintf(sq, "DELETE FROM %s WHERE rowid = ?1", table_name[t]);
        if (sql == NULL) {
            rc = SQLITE_NOMEM;
            break;
        }
        rc = sqlite3_prepare_v2(sq->db, sql, -1, &s, NULL);
        talloc_free(sql);
        for (size_t i = 0; i < ld->ndrop[t] && rc == SQLITE_OK; i++) {
            sqlite3_bind_int64(s, 1, ld->drop[t][i]);
            rc = sqlite3_step(s);
            rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
            sqlite3_reset(s);
        }
        sqlite3_finalize(s);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(sq->db,
                          "DELETE FROM creds WHERE NOT EXISTS (SELECT 1 FROM caches k "
                          "WHERE k.uid = creds.uid AND k.session = creds.session "
                          "AND k.boot_id = creds.boot_id AND k.uuid = creds.cache_uuid)",
                          NULL, NULL, NULL);
        *orphans = (size_t)sqlite3_changes(sq->db);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(sq->db, "COMMIT", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        sqlite3_exec(sq->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}

static bool forget_owner(struct store_owner *o, void *arg)
{
    (void)store_owner_wipe(arg, o); /* no backend attached yet: memory only */
    TALLOC_FREE(o->default_name);
    return true;
}

void store_sqlite_forget(struct store *st)
{
    store_foreach_owner(st, forget_owner, st);
}

/* Wait for the batch in flight (if any) and release every plaintext not linked yet. */
static void load_cleanup(struct load *ld)
{
    if (ld->inflight) {
        store_crypt_pool_wait(ld->pool);
        ld->inflight = false;
    }
    for (int i = 0; i < 2; i++) {
        for (size_t j = 0; ld->b[i] != NULL && j < ld->b[i]->n; j++) {
            util_secmem_free(ld->b[i]->jobs[j].plain);
            ld->b[i]->jobs[j].plain = NULL;
        }
    }
    TALLOC_FREE(ld->pool); /* joins the workers, wipes their keys */
    TALLOC_FREE(ld->b[0]);
    TALLOC_FREE(ld->b[1]);
    TALLOC_FREE(ld->loaded);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum open_res store_sqlite_load(struct store_sqlite *sq, const char **why, char *err, size_t errlen)
{
    struct load ld = { .sq = sq };
    double t0 = now();
    unsigned threads = 0;
    size_t orphans = 0;
    size_t dropped;
    int rc = SQLITE_NOMEM;

    ld.b[0] = talloc_zero(sq, struct batch);
    ld.b[1] = talloc_zero(sq, struct batch);
    ld.pool = store_crypt_pool_new(sq, sq->crypt, 0);
    if (ld.b[0] != NULL && ld.b[1] != NULL && ld.pool != NULL) {
        threads = store_crypt_pool_threads(ld.pool);
        rc = sqlite3_exec(sq->db, "BEGIN", NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK) {
        rc = load_caches(&ld);
    }
    if (rc == SQLITE_OK) {
        rc = load_creds(&ld);
    }
    if (rc == SQLITE_OK) {
        rc = load_defaults(&ld);
    }
    load_cleanup(&ld);
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(sq->db, "COMMIT", NULL, NULL, NULL);
    } else if (!sqlite3_get_autocommit(sq->db)) {
        sqlite3_exec(sq->db, "ROLLBACK", NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK) {
        rc = delete_dropped(&ld, &orphans);
    }
    for (int t = 0; t < 3; t++) {
        TALLOC_FREE(ld.drop[t]);
    }
    if (rc != SQLITE_OK) {
        /* Half a store is worse than none: forget what was loaded. */
        store_sqlite_forget(sq->st);
        return store_sqlite_classify(sq, rc, "loading", why, err, errlen);
    }
    dropped = ld.ndrop[T_CACHES] + ld.ndrop[T_CREDS] + ld.ndrop[T_DEFAULTS];
    if (orphans > 0) {
        util_log(UTIL_LOG_WARNING, "dropped %zu credential records whose cache is gone", orphans);
    }
    util_log(dropped + orphans > 0 ? UTIL_LOG_WARNING : UTIL_LOG_INFO,
             "loaded %zu caches, %zu credentials and %zu default cache names from %s"
             " (%zu records dropped) in %.2f s (%u decryption threads)",
             ld.caches, ld.creds, ld.defaults, sq->path, dropped + orphans, now() - t0, threads);
    return OPEN_OK;
}
