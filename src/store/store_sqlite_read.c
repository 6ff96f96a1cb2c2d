/* Start-up load, first half: reading every row's clear columns and a copy of its ciphertext,
 * grouped by owner into units queued for decryption (see store_sqlite_load.c). */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "store/store_sqlite_load_int.h"

static uint8_t *ct_copy(struct unit *u, const void *ct, size_t len)
{
    struct ct_block *b = u->blocks;
    size_t step = (len + 15) & ~(size_t)15;
    uint8_t *p;

    if (b == NULL || b->len - b->used < step) {
        size_t want = 64 + step > CT_BLOCK ? 64 + step : CT_BLOCK;
        void *m = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            return NULL;
        }
        b = m;
        b->len = want;
        b->used = 64; /* header, rounded up */
        b->next = u->blocks;
        u->blocks = b;
    }
    p = (uint8_t *)b + b->used;
    if (len > 0) {
        memcpy(p, ct, len);
    }
    b->used += step;
    return p;
}

/* The owner key in columns col, col+1, col+2 (uid, session, boot_id). */
static bool col_owner(sqlite3_stmt *s, int col, struct store_owner_key *k)
{
    int64_t uid = sqlite3_column_int64(s, col);
    int64_t session = sqlite3_column_int64(s, col + 1);
    /* A boot id stored as anything but a BLOB would sort apart from its owner's other rows
     * (ORDER BY compares by type first): such a row is malformed. */
    bool blob = sqlite3_column_type(s, col + 2) == SQLITE_BLOB;
    const void *boot = sqlite3_column_blob(s, col + 2);

    memset(k, 0, sizeof(*k));
    k->uid = (uint32_t)uid;
    k->session = (uint32_t)session;
    if (!blob || sqlite3_column_bytes(s, col + 2) != STORE_BOOT_ID_LEN) {
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

static struct unit *unit_for(struct sq_load *ld, const struct store_owner_key *k)
{
    struct store_owner *o = store_owner_shell(ld->sq->st, k);
    struct unit *u;

    if (o == NULL) {
        return NULL;
    }
    if (o->pending != NULL) {
        return o->pending;
    }
    if (ld->nunits % 256 == 0) {
        struct unit **a = talloc_realloc(ld, ld->units, struct unit *, ld->nunits + 256);
        if (a == NULL) {
            return NULL;
        }
        ld->units = a;
    }
    u = talloc_zero(ld, struct unit);
    if (u == NULL) {
        return NULL;
    }
    u->key = *k;
    u->o = o;
    o->pending = u;
    ld->units[ld->nunits++] = u;
    return u;
}

/* Append the current row of s (ciphertext in column col) to u. NULL if out of memory. */
static struct item *add_item(struct unit *u, int table, sqlite3_stmt *s, int col)
{
    const void *ct = sqlite3_column_blob(s, col);
    size_t len = (size_t)sqlite3_column_bytes(s, col);
    struct store_crypt_job *j;
    struct item *it;
    uint8_t *copy;

    if (u->cu.n == u->cap) {
        size_t cap = u->cap > 0 ? 2 * u->cap : 16;
        struct item *a = talloc_realloc(u, u->items, struct item, cap);
        struct store_crypt_job *b = a != NULL ? talloc_realloc(u, u->cu.jobs,
                                                               struct store_crypt_job, cap)
                                              : NULL;
        if (a != NULL) {
            u->items = a;
        }
        if (b == NULL) {
            return NULL;
        }
        u->cu.jobs = b;
        u->cap = cap;
    }
    copy = ct_copy(u, ct, len);
    if (copy == NULL) {
        return NULL;
    }
    j = &u->cu.jobs[u->cu.n];
    memset(j, 0, sizeof(*j));
    j->ct = copy;
    j->ctlen = len;
    it = &u->items[u->cu.n++];
    memset(it, 0, sizeof(*it));
    it->rowid = sqlite3_column_int64(s, 0);
    it->table = table;
    return it;
}

static int early_drop(struct sq_load *ld, int table, sqlite3_stmt *s, const char *what,
                      const struct store_owner_key *k)
{
    if (!store_sqlite_early_add(ld, table, sqlite3_column_int64(s, 0))) {
        return SQLITE_NOMEM;
    }
    ld->dropped++;
    store_sqlite_log_drop(what, k, NULL, EXDEV);
    return SQLITE_OK;
}

bool store_sqlite_queue_unit(struct sq_load *ld, struct unit *u)
{
    u->queued = true;
    /* If the pool cannot take it, it is decrypted on first use or at the end. */
    (void)store_crypt_pool_add(ld->pool, &u->cu);
    return true;
}

/* Default names (few): each starts its owner's unit. Columns: rowid, uid, session, boot_id,
 * rec. only: just this owner's. */
int store_sqlite_read_defaults(struct sq_load *ld, const struct store_owner_key *only)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(ld->sq->db,
                                only == NULL
                                    ? "SELECT rowid, uid, session, boot_id, rec FROM defaults"
                                    : "SELECT rowid, uid, session, boot_id, rec FROM defaults "
                                      "WHERE " STORE_SQLITE_OWNER,
                                -1, &s, NULL);

    if (rc == SQLITE_OK && only != NULL) {
        store_sqlite_bind_owner(s, only);
    }

    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_owner_key k;
        struct unit *u;
        rc = SQLITE_OK;
        if (!col_owner(s, 1, &k)) {
            rc = early_drop(ld, T_DEFAULTS, s, "default cache name", &k);
            continue;
        }
        u = unit_for(ld, &k);
        if (u == NULL || add_item(u, T_DEFAULTS, s, 4) == NULL) {
            rc = SQLITE_NOMEM;
        }
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static bool key_in(const struct store_owner_key *keys, size_t n, const struct store_owner_key *k)
{
    for (size_t i = 0; i < n; i++) {
        if (store_owner_key_eq(&keys[i], k)) {
            return true;
        }
    }
    return false;
}

static bool add_ref(struct sq_load *ld, int64_t id, struct unit *u, size_t idx)
{
    if (ld->nrefs % 1024 == 0) {
        struct cache_ref *a = talloc_realloc(ld, ld->refs, struct cache_ref, ld->nrefs + 1024);
        if (a == NULL) {
            return false;
        }
        ld->refs = a;
    }
    ld->refs[ld->nrefs++] = (struct cache_ref){ .id = id, .u = u, .idx = idx };
    return true;
}

/* The cache a credential row names, if it was read (refs are in id order). */
static const struct cache_ref *find_ref(const struct sq_load *ld, int64_t id)
{
    size_t lo = 0;
    size_t hi = ld->nrefs;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ld->refs[mid].id == id) {
            return &ld->refs[mid];
        }
        if (ld->refs[mid].id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

/* Every credential row, in id (insertion) order, to its cache's unit: one pass over the table
 * (it has no index by cache: writes would pay for one). A row whose cache was not read is, in
 * a whole load, an orphan (its cache row is gone: deleted after the read, never loaded) and,
 * in a partial one, another owner's. Columns: id, cache_id, uuid, seq, rec. */
static int read_creds(struct sq_load *ld, bool partial)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(
        ld->sq->db, "SELECT id, cache_id, uuid, seq, rec FROM creds ORDER BY id", -1, &s, NULL);

    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const struct cache_ref *ref = find_ref(ld, sqlite3_column_int64(s, 1));
        struct item *it;
        rc = SQLITE_OK;
        if (ref == NULL) {
            if (!partial && !store_sqlite_early_add(ld, T_CREDS, sqlite3_column_int64(s, 0))) {
                rc = SQLITE_NOMEM;
            }
            ld->orphans += !partial;
            continue;
        }
        it = add_item(ref->u, T_CREDS, s, 4);
        if (it == NULL) {
            rc = SQLITE_NOMEM;
            break;
        }
        it->cache = ref->idx;
        it->uuid_ok = col_uuid(s, 2, it->uuid);
        it->seq = (uint64_t)sqlite3_column_int64(s, 3);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Caches, in id (creation) order, each to its owner's unit; then every credential to its
 * cache's. Columns: id, uid, session, boot_id, uuid, rec. only: just these owners' (a reload
 * after a failed commit, rare: it scans both tables, which have no index by owner). */
int store_sqlite_read_caches(struct sq_load *ld, const struct store_owner_key *only, size_t nonly)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(
        ld->sq->db, "SELECT id, uid, session, boot_id, uuid, rec FROM caches ORDER BY id", -1, &s,
        NULL);

    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_owner_key k;
        struct item *it;
        struct unit *u;
        bool ok = col_owner(s, 1, &k);
        rc = SQLITE_OK;
        if (only != NULL && (!ok || !key_in(only, nonly, &k))) {
            continue;
        }
        if (!ok) {
            rc = early_drop(ld, T_CACHES, s, "cache", &k);
            continue;
        }
        u = unit_for(ld, &k);
        it = u != NULL ? add_item(u, T_CACHES, s, 5) : NULL;
        if (it == NULL || !add_ref(ld, it->rowid, u, u->cu.n - 1)) {
            rc = SQLITE_NOMEM;
            break;
        }
        it->uuid_ok = col_uuid(s, 4, it->uuid);
    }
    sqlite3_finalize(s);
    rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    return rc == SQLITE_OK ? read_creds(ld, only != NULL) : rc;
}
