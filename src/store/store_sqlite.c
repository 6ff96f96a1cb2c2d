/* Write-through persistence of the store in sqlite; see store_sqlite.h.
 *
 * The in-memory store is the authority. store.c wraps every mutation in begin/…/commit and
 * links the change into memory only after commit returned 0, so what a client was told is
 * exactly what is on disk. Nothing here runs on a read path; the database is read only once,
 * at start-up.
 *
 * Durability: WAL journal with synchronous = NORMAL. A commit appends its frames to the WAL
 * with write(2) before COMMIT returns, so a killed daemon (kill -9, crash, OOM kill) loses no
 * acknowledged change: the kernel holds the data and the next open replays the WAL. Only an OS
 * crash or power loss can lose the last few commits (WAL frames not yet fsync'ed at a
 * checkpoint); it can never corrupt the database. That is the trade SSSD and most daemons make:
 * an fsync per kinit would cost far more than re-running kinit after a power cut.
 *
 * Schema, version 2 (PRAGMA user_version); owner = (uid, session, boot_id):
 *     caches(id INTEGER PRIMARY KEY, owner, uuid, rec)
 *     creds(id INTEGER PRIMARY KEY, cache_id, uuid, seq, rec)     cache_id = its cache's id
 *     defaults(owner, rec)                                        PRIMARY KEY (owner)
 *     meta(key, value)                           'keycheck': a marker sealed under the key
 * rec is a record sealed by store_crypt: names, principals, offsets, credentials and default
 * names are only ever stored encrypted; the clear columns are what the load needs to group
 * rows by owner and check each record against its row.
 *
 * Written for the fewest pages per commit (a commit appends every page it changed to the WAL,
 * two write(2)s per page): rows are addressed by their id only and there is no secondary
 * index on caches or creds. Ids come from in-memory counters (struct store_sqlite, set from
 * MAX(id) at open), so a new row always lands on the right-most leaf of its table, whichever
 * client wrote it, and the ids give creation order (caches) and insertion order (credentials
 * of a cache): no pos column, no MAX(pos) scan. The in-memory cache and credential keep their
 * row id (store_cache.row, store_cred.row): updates and deletes go by id, and a cache's
 * credentials are deleted by walking the cache in memory, the authority (every row was written
 * through it; rows that fail to load are deleted at load). What the missing indexes cost is
 * paid where it is rare: the start-up load reads each table once in id order and groups rows
 * by owner in memory (store_sqlite_read.c); reloading owners after a failed commit scans both
 * tables once for all of them; the owner-wide delete (store_owner_remove) walks the owner in
 * memory. defaults keeps its owner key: it is written by SET_DEFAULT_CACHE only.
 *
 * The ids are INTEGER PRIMARY KEYs, which VACUUM keeps (it may renumber implicit rowids).
 *
 * Version 1 had owner columns in creds, pos and UNIQUE (owner, uuid) indexes on both tables:
 * random keys, so a group commit of requests from n clients rewrote about n index leaves, and
 * every new cache cost a MAX(pos) scan of the caches table. migrate_v1 (store_sqlite_open.c)
 * rebuilds caches and creds in place, ids in (pos) and (cache, seq) order, keeping the
 * ciphertexts.
 * Version 0 (the prototype, before session-bound collections) keyed owners by (uid, session)
 * only, had no pos, seq or meta, and relied on rowid order, which VACUUM and INSERT OR REPLACE
 * do not preserve. migrate_v0 rebuilds its tables as version 1 (then migrate_v1 runs),
 * keeping the ciphertexts (record format 1, read with an all-zero boot_id). */
#include "config.h"
#include "store/store_sqlite.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include "common/util_log.h"
#include "store/store_sqlite_int.h"

/* Prepared once at open (SQLITE_PREPARE_PERSISTENT), reused by every operation. Rows are
 * addressed by their id only: no statement of the write path looks anything up by owner or
 * uuid, so none needs an index on those random keys. */
static const char *const stmt_sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    /* A put writes the whole row whether it is new or not (no UPDATE-then-INSERT); with no
     * index to keep up, replacing a row is an overwrite in its leaf. */
    [S_CACHE_PUT] = "INSERT OR REPLACE INTO caches (id, uid, session, boot_id, uuid, rec) "
                    "VALUES (?4, ?1, ?2, ?3, ?5, ?6)",
    [S_CACHE_DEL] = "DELETE FROM caches WHERE id = ?1",
    [S_CRED_PUT] = "INSERT OR REPLACE INTO creds (id, cache_id, uuid, seq, rec) "
                   "VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_CRED_DEL] = "DELETE FROM creds WHERE id = ?1",
    [S_DEF_PUT] = "INSERT OR REPLACE INTO defaults (uid, session, boot_id, rec) "
                  "VALUES (?1, ?2, ?3, ?4)",
    [S_DEF_DEL] = "DELETE FROM defaults WHERE " STORE_SQLITE_OWNER,
    [S_SAVEPOINT] = "SAVEPOINT op",
    [S_RELEASE] = "RELEASE op",
    [S_ROLLBACK_TO] = "ROLLBACK TO op",
};

static int rc_errno(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        return ENOMEM;
    case SQLITE_FULL:
        return ENOSPC;
    case SQLITE_READONLY:
    case SQLITE_PERM:
        return EROFS;
    default:
        return EIO;
    }
}

/* ---- write-through operations ---- */

static int fail(struct store_sqlite *sq, const char *what, int rc)
{
    util_log(UTIL_LOG_ERROR, "sqlite %s failed: %s (%s)", what, sqlite3_errmsg(sq->db),
             sqlite3_errstr(rc));
    return rc_errno(rc);
}

/* Run a statement to completion; reset and unbind it whatever happened. */
static int run(struct store_sqlite *sq, enum stmt_id id, const char *what)
{
    sqlite3_stmt *s = sq->stmt[id];
    int rc = sqlite3_step(s);
    int ret = 0;

    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        ret = fail(sq, what, rc);
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return ret;
}

/* A failed statement can make sqlite roll the transaction back on its own (disk full, I/O
 * error): never let later statements of the same store operation run in autocommit mode. */
static int in_tx(struct store_sqlite *sq)
{
    if (sqlite3_get_autocommit(sq->db)) {
        util_log(UTIL_LOG_ERROR, "sqlite: transaction was aborted; refusing further writes in it");
        return EIO;
    }
    return 0;
}

static void bind_uuid(sqlite3_stmt *s, int idx, const uint8_t *uuid)
{
    sqlite3_bind_blob(s, idx, uuid, STORE_UUID_LEN, SQLITE_STATIC);
}

static int seal(struct store_sqlite *sq, const struct store_rec *r, struct util_secbuf **ct)
{
    int ret = store_crypt_seal(sq->crypt, sq, r, ct);

    if (ret != 0) {
        util_log(UTIL_LOG_ERROR, "cannot seal a record: %s", strerror(ret));
    }
    return ret;
}

/* Remember an owner the open transaction changes (few per transaction: a linear list). */
static int touch(struct store_sqlite *sq, const struct store_owner_key *k)
{
    struct store_owner_key *a;

    for (size_t i = 0; i < sq->ntouched; i++) {
        if (store_owner_key_eq(&sq->touched[i], k)) {
            return 0;
        }
    }
    a = talloc_realloc(sq, sq->touched, struct store_owner_key, sq->ntouched + 1);
    if (a == NULL) {
        return ENOMEM;
    }
    a[sq->ntouched++] = *k;
    sq->touched = a;
    return 0;
}

static int sq_begin(void *pctx)
{
    struct store_sqlite *sq = pctx;

    sq->ntouched = 0;
    return run(sq, S_BEGIN, "BEGIN");
}

/* An operation of a group runs in a savepoint, so that it can fail alone, unless it is a
 * single put or del_cred: each of those is one statement (sealing comes before it), which
 * sqlite runs atomically (a failed one is undone by itself, or aborts the whole transaction,
 * which the group then sees), so a savepoint would only cost two more statements and a copy
 * of every page it touches. That is most KCM writes: STORE, a new cache's INITIALIZE,
 * SET_DEFAULT_CACHE, SET_KDC_OFFSET. */
static int sq_op_begin(void *pctx, bool single)
{
    struct store_sqlite *sq = pctx;
    int ret = in_tx(sq);

    sq->op_sp = !single;
    return ret != 0 || single ? ret : run(sq, S_SAVEPOINT, "SAVEPOINT");
}

static int sq_op_release(void *pctx)
{
    struct store_sqlite *sq = pctx;
    int ret = in_tx(sq);

    return ret != 0 || !sq->op_sp ? ret : run(sq, S_RELEASE, "RELEASE");
}

/* Nonzero if the transaction itself is gone (then the caller rolls back the group). */
static int sq_op_rollback(void *pctx)
{
    struct store_sqlite *sq = pctx;

    if (sqlite3_get_autocommit(sq->db)) {
        return EIO;
    }
    if (!sq->op_sp) {
        return 0; /* its one statement left nothing behind */
    }
    if (run(sq, S_ROLLBACK_TO, "ROLLBACK TO") != 0 || run(sq, S_RELEASE, "RELEASE") != 0) {
        return EIO;
    }
    return 0;
}

static void sq_reload_touched(void *pctx)
{
    struct store_sqlite *sq = pctx;
    int ret = store_sqlite_reload_owners(sq, sq->touched, sq->ntouched);

    if (ret != 0) {
        /* Memory would no longer match the disk (an empty owner whose rows are still there
         * would take new caches under old names). Everything acknowledged is committed, so a
         * restart (systemd's Restart=) loads the store consistently. */
        util_log(UTIL_LOG_ERROR,
                 "cannot reload the caches of %zu owners after a failed "
                 "commit: %s; exiting (nothing acknowledged is lost: a restart loads the "
                 "database again)",
                 sq->ntouched, strerror(ret));
        _exit(EXIT_FAILURE);
    }
    util_log(UTIL_LOG_WARNING, "a commit failed: %zu owners' caches reloaded from disk; the "
             "requests of that commit got errors", sq->ntouched);
    sq->ntouched = 0;
}

static int sq_commit(void *pctx)
{
    struct store_sqlite *sq = pctx;

    /* On failure the transaction stays open; store.c calls rollback. */
    return run(sq, S_COMMIT, "COMMIT");
}

static void sq_rollback(void *pctx)
{
    struct store_sqlite *sq = pctx;

    if (!sqlite3_get_autocommit(sq->db)) {
        (void)run(sq, S_ROLLBACK, "ROLLBACK");
    }
}

/* Every write starts here: the transaction must still be open, and the owner is remembered
 * for a reload should the commit fail. */
static int write_begin(struct store_sqlite *sq, const struct store_owner_key *k)
{
    int ret = in_tx(sq);

    return ret != 0 ? ret : touch(sq, k);
}

/* Seal r, bind the ciphertext as parameter idx of statement id and run it. */
static int run_sealed(struct store_sqlite *sq, const struct store_rec *r, enum stmt_id id, int idx,
                      const char *what)
{
    struct util_secbuf *ct = NULL;
    int ret = seal(sq, r, &ct);

    if (ret != 0) {
        sqlite3_clear_bindings(sq->stmt[id]);
        return ret;
    }
    sqlite3_bind_blob(sq->stmt[id], idx, ct->p, (int)ct->len, SQLITE_STATIC);
    ret = run(sq, id, what);
    talloc_free(ct);
    return ret;
}

static int run_id(struct store_sqlite *sq, enum stmt_id id, int64_t row, const char *what)
{
    sqlite3_bind_int64(sq->stmt[id], 1, row);
    return run(sq, id, what);
}

/* A cache's credentials are the ones memory holds (the authority: every row of theirs was
 * written through it, and rows that failed to load were deleted): deleted one by one by id,
 * each a descent of the table's b-tree, with no index to keep up. */
static int del_cache_creds(struct store_sqlite *sq, const struct store_cache *c)
{
    int ret = 0;

    for (const struct store_cred *cr = c->creds; cr != NULL && ret == 0; cr = cr->next) {
        ret = run_id(sq, S_CRED_DEL, cr->row, "credential delete");
    }
    return ret;
}

static int sq_put_cache(void *pctx, struct store_cache *c)
{
    struct store_sqlite *sq = pctx;
    struct store_rec r = { .type = STORE_REC_CACHE };
    sqlite3_stmt *s = sq->stmt[S_CACHE_PUT];
    int ret = write_begin(sq, &c->owner->key);

    if (ret != 0) {
        return ret;
    }
    if (c->princ_blob == NULL) {
        return EINVAL;
    }
    if (c->row == 0) {
        /* Kept if this operation is rolled back: the object goes with it (store.c frees a
         * cache it failed to create), and an unused id is only a gap. */
        c->row = sq->next_cache_row++;
    }
    r.owner = c->owner->key;
    memcpy(r.cache_uuid, c->uuid, STORE_UUID_LEN);
    r.name = c->name;
    r.offset = c->kdc_offset;
    r.blob.p = c->princ_blob->p;
    r.blob.len = (uint32_t)c->princ_blob->len;
    store_sqlite_bind_owner(s, &c->owner->key);
    sqlite3_bind_int64(s, 4, c->row);
    bind_uuid(s, 5, c->uuid);
    return run_sealed(sq, &r, S_CACHE_PUT, 6, "cache write");
}

static int sq_del_cache(void *pctx, const struct store_cache *c)
{
    struct store_sqlite *sq = pctx;
    int ret = write_begin(sq, &c->owner->key);

    if (ret == 0) {
        ret = del_cache_creds(sq, c);
    }
    return ret != 0 ? ret : run_id(sq, S_CACHE_DEL, c->row, "cache delete");
}

static int sq_del_creds(void *pctx, const struct store_cache *c)
{
    struct store_sqlite *sq = pctx;
    int ret = write_begin(sq, &c->owner->key);

    return ret != 0 ? ret : del_cache_creds(sq, c);
}

static int sq_put_cred(void *pctx, const struct store_cache *c, struct store_cred *cr)
{
    struct store_sqlite *sq = pctx;
    struct store_rec r = { .type = STORE_REC_CRED };
    sqlite3_stmt *s = sq->stmt[S_CRED_PUT];
    int ret = write_begin(sq, &c->owner->key);

    if (ret != 0) {
        return ret;
    }
    if (c->row == 0) {
        return EINVAL; /* a cache is written before its credentials */
    }
    if (cr->row == 0) {
        cr->row = sq->next_cred_row++;
    }
    r.owner = c->owner->key;
    memcpy(r.cache_uuid, c->uuid, STORE_UUID_LEN);
    memcpy(r.cred_uuid, cr->uuid, STORE_UUID_LEN);
    r.blob.p = cr->blob->p;
    r.blob.len = (uint32_t)cr->blob->len;
    sqlite3_bind_int64(s, 1, cr->row);
    sqlite3_bind_int64(s, 2, c->row);
    bind_uuid(s, 3, cr->uuid);
    sqlite3_bind_int64(s, 4, (int64_t)cr->seq);
    return run_sealed(sq, &r, S_CRED_PUT, 5, "credential write");
}

static int sq_del_cred(void *pctx, const struct store_cache *c, const struct store_cred *cr)
{
    struct store_sqlite *sq = pctx;
    int ret = write_begin(sq, &c->owner->key);

    return ret != 0 ? ret : run_id(sq, S_CRED_DEL, cr->row, "credential delete");
}

static int del_default(struct store_sqlite *sq, const struct store_owner *o)
{
    store_sqlite_bind_owner(sq->stmt[S_DEF_DEL], &o->key);
    return run(sq, S_DEF_DEL, "default delete");
}

static int sq_put_default(void *pctx, const struct store_owner *o)
{
    struct store_sqlite *sq = pctx;
    struct store_rec r = { .type = STORE_REC_DEFAULT };
    int ret = write_begin(sq, &o->key);

    if (ret != 0) {
        return ret;
    }
    if (o->default_name == NULL) {
        return del_default(sq, o);
    }
    r.owner = o->key;
    r.name = o->default_name;
    store_sqlite_bind_owner(sq->stmt[S_DEF_PUT], &o->key);
    return run_sealed(sq, &r, S_DEF_PUT, 4, "default write");
}

/* store_owner_remove wipes the owner first (every cache, and so every credential, deleted by
 * id) and only then calls this: the default name is all that is left. Rows of the owner that
 * memory does not know cannot exist: a row that failed to load is deleted when its owner is
 * linked, and a credential row without its cache is never linked to any owner. */
static int sq_del_owner(void *pctx, const struct store_owner *o)
{
    struct store_sqlite *sq = pctx;
    int ret = write_begin(sq, &o->key);

    return ret != 0 ? ret : del_default(sq, o);
}

static const struct store_persist_ops sqlite_ops = {
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .put_cache = sq_put_cache,
    .del_cache = sq_del_cache,
    .put_cred = sq_put_cred,
    .del_cred = sq_del_cred,
    .del_creds = sq_del_creds,
    .put_default = sq_put_default,
    .del_owner = sq_del_owner,
    .op_begin = sq_op_begin,
    .op_release = sq_op_release,
    .op_rollback = sq_op_rollback,
    .reload_touched = sq_reload_touched,
};

/* ---- lifetime ---- */

static void db_close(struct store_sqlite *sq, bool checkpoint)
{
    for (int i = 0; i < S_COUNT; i++) {
        sqlite3_finalize(sq->stmt[i]);
        sq->stmt[i] = NULL;
    }
    if (sq->db != NULL) {
        if (!checkpoint) {
            /* A file about to be moved aside is evidence: leave it and its WAL as they are. */
            sqlite3_db_config(sq->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
        }
        if (sqlite3_close(sq->db) != SQLITE_OK) {
            util_log(UTIL_LOG_ERROR, "sqlite close: %s", sqlite3_errmsg(sq->db));
        }
        sq->db = NULL;
    }
}

static int link_destructor(struct sqlite_link *l)
{
    if (l->sq != NULL) {
        store_sqlite_load_abort(l->sq);
        l->sq->link = NULL;
        l->sq->st = NULL;
    }
    return 0;
}

static int sq_destructor(struct store_sqlite *sq)
{
    store_sqlite_load_abort(sq);
    if (sq->link != NULL) {
        sq->link->sq = NULL;
        store_set_persist(sq->st, NULL, NULL);
        TALLOC_FREE(sq->link);
    }
    if (sq->db != NULL && !sqlite3_get_autocommit(sq->db)) {
        sqlite3_exec(sq->db, "ROLLBACK", NULL, NULL, NULL);
    }
    db_close(sq, true); /* checkpoints the WAL into the database file and removes it */
    return 0;
}

bool store_sqlite_loading(const struct store_sqlite *sq)
{
    return sq->load != NULL;
}

/* ---- entry point ---- */

static enum open_res prepare_statements(struct store_sqlite *sq, const char **why, char *err,
                                        size_t errlen)
{
    int rc;

    for (int i = 0; i < S_COUNT; i++) {
        rc = sqlite3_prepare_v3(sq->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &sq->stmt[i],
                                NULL);
        if (rc != SQLITE_OK) {
            /* A table or column missing under a current version number: not our schema. */
            return store_sqlite_classify(sq, rc, "preparing statements", why, err, errlen);
        }
    }
    rc = store_sqlite_load_counters(sq);
    return rc == SQLITE_OK ? OPEN_OK
                           : store_sqlite_classify(sq, rc, "reading the row ids", why, err, errlen);
}

static const char *aside_tag(enum open_res res)
{
    switch (res) {
    case OPEN_BAD_KEY:
        return "badkey";
    case OPEN_NEWER:
        return "newer";
    default:
        return "corrupt";
    }
}

static void log_moved(struct store_sqlite *sq, enum open_res res, const char *why,
                      const char *moved)
{
    if (res == OPEN_BAD_KEY) {
        util_log(UTIL_LOG_ERROR,
                 "database %s was not written with the master key from %s%s; moved it aside "
                 "to %s, starting with an empty store",
                 sq->path, store_crypt_key_source(sq->crypt),
                 store_crypt_key_created(sq->crypt) ? " (created just now: was the key lost?)" : "",
                 moved);
    } else {
        util_log(UTIL_LOG_ERROR,
                 "database %s is unusable (%s); moved it aside to %s, starting with an empty "
                 "store",
                 sq->path, why != NULL ? why : "unknown error", moved);
    }
}

int store_sqlite_open(TALLOC_CTX *ctx, struct store *st, const struct store_sqlite_options *opt,
                      struct store_sqlite **out, char *err, size_t errlen)
{
    struct store_sqlite *sq;
    enum open_res res = OPEN_FATAL;
    int ret;

    snprintf(err, errlen, "unknown error");
    ret = store_sqlite_check_state_dir(opt->state_dir, err, errlen);
    if (ret != 0) {
        return ret;
    }
    sq = talloc_zero(ctx, struct store_sqlite);
    if (sq == NULL) {
        snprintf(err, errlen, "out of memory");
        return ENOMEM;
    }
    sq->st = st;
    sq->path = talloc_asprintf(sq, "%s/%s", opt->state_dir, STORE_SQLITE_DB_NAME);
    if (sq->path == NULL) {
        talloc_free(sq);
        snprintf(err, errlen, "out of memory");
        return ENOMEM;
    }
    talloc_set_destructor(sq, sq_destructor);
    ret = store_crypt_new(sq, opt->state_dir, opt->master_key_file, &sq->crypt, err, errlen);
    if (ret != 0) {
        talloc_free(sq);
        return ret;
    }
    util_log(UTIL_LOG_INFO, "records are encrypted under the master key from %s",
             store_crypt_key_source(sq->crypt));
    /* Second attempt only after the bad file was moved aside: a fresh file must work. */
    for (int attempt = 0; attempt < 2; attempt++) {
        const char *why = NULL;
        char *moved;

        res = store_sqlite_db_open(sq, &why, err, errlen);
        if (res == OPEN_OK) {
            res = prepare_statements(sq, &why, err, errlen);
        }
        if (res == OPEN_OK) {
            res = store_sqlite_load(sq, opt->ev, &why, err, errlen);
        }
        if (res == OPEN_OK || res == OPEN_FATAL || attempt == 1) {
            break;
        }
        db_close(sq, false);
        moved = store_sqlite_move_aside(sq, sq->path, aside_tag(res));
        if (moved == NULL) {
            snprintf(err, errlen, "database %s is unusable (%s) and cannot be moved aside",
                     sq->path, why != NULL ? why : aside_tag(res));
            res = OPEN_FATAL;
            break;
        }
        log_moved(sq, res, why, moved);
        talloc_free(moved);
    }
    if (res != OPEN_OK) {
        if (res != OPEN_FATAL) {
            snprintf(err, errlen, "database %s is still unusable after moving it aside", sq->path);
        }
        store_sqlite_forget(st);
        talloc_free(sq);
        return EIO;
    }
    sq->link = talloc_zero(st, struct sqlite_link);
    if (sq->link == NULL) {
        talloc_free(sq);
        snprintf(err, errlen, "out of memory");
        return ENOMEM;
    }
    sq->link->sq = sq;
    talloc_set_destructor(sq->link, link_destructor);
    store_set_persist(st, &sqlite_ops, sq);
    *out = sq;
    return 0;
}
