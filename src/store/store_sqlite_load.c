/* Start-up loading of the sqlite backend: every record into the store, once (see store_sqlite.c
 * for the schema, store_sqlite_open.c for the file and the key check).
 *
 * Decryption is nearly all of the cost of a load (libk5crypto's software AES and SHA-384,
 * ~15-20 us per 1.5 KB record), so it is done per owner, in a pool of worker threads
 * (store_crypt_pool), and need not be finished before the daemon serves:
 *
 * 1. Read (store_sqlite_read.c; this thread, inside store_sqlite_open): every row's clear
 *    columns and a copy of its ciphertext (not secret), each table in one pass in id order,
 *    grouped by owner into units; each owner gets an empty "pending" shell in the store. The
 *    units are queued for the workers once both tables are read: with no index by owner or
 *    cache (schema 2: the writes do not pay for one), a credential row of any owner can come
 *    last. The read is a sequential scan, a fraction of the decryption's time.
 * 2. Without an event loop (opt->ev NULL: tests, tools) the rest happens before
 *    store_sqlite_open returns. With one, the daemon is ready now, and:
 * 3. Link (event loop): a finished unit is parsed, checked against its rows and linked into
 *    its owner when a worker reports it (eventfd) -- or at once, when anything asks the store
 *    for a pending owner (store_set_loader): the owner's unit is then decrypted right there if
 *    no worker has started it, or waited for. No lookup, mutation, listing or purge ever sees
 *    a pending owner: requests for other owners go on while the rest decrypts, a request for
 *    a not yet decrypted owner costs that owner's decryption (~4 ms for 200 credentials).
 * 4. When every unit is linked: the pool and its keys are freed, and "loaded ..." is logged
 *    with the full load time (orphaned credential rows, whose cache row is gone, were found
 *    by the read and deleted right after it).
 *
 * A record that does not decrypt, does not parse, or belongs to another row is dropped: logged,
 * and deleted when its owner is linked -- before any write can touch that owner's rows (and
 * new rows get ids above every id on disk anyway), so deleting by id cannot hit a row written
 * since start-up. Credentials of a dropped cache are dropped with it. */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <tevent.h>
#include <time.h>
#include <unistd.h>

#include "common/util_log.h"
#include "store/store_sqlite_load_int.h"

static const char *const table_name[] = { "caches", "creds", "defaults" };

/* Finished units linked per event-loop round (~200 credentials each: a few ms). */
#define LINK_PER_ROUND 4

static void ct_free(struct unit *u)
{
    while (u->blocks != NULL) {
        struct ct_block *b = u->blocks;
        u->blocks = b->next;
        munmap(b, b->len);
    }
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void uuid_hex(const uint8_t *u, char *out)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < STORE_UUID_LEN; i++) {
        out[2 * i] = hex[u[i] >> 4];
        out[2 * i + 1] = hex[u[i] & 15];
    }
    out[2 * STORE_UUID_LEN] = '\0';
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

void store_sqlite_log_drop(const char *what, const struct store_owner_key *k, const uint8_t *uuid,
                           int ret)
{
    char hex[2 * STORE_UUID_LEN + 1] = "";

    if (uuid != NULL) {
        uuid_hex(uuid, hex);
    }
    util_log(UTIL_LOG_WARNING, "dropping %s %s of uid %u session %u: %s", what, hex, k->uid,
             k->session, drop_reason(ret));
}

/* Out of (secure) memory half way through linking: an owner would be served incomplete. The
 * database is intact; a restart loads it again. */
static void load_fatal(const char *what)
{
    util_log(UTIL_LOG_ERROR, "loading the store: %s; exiting (nothing is lost: the database is "
             "intact)", what);
    _exit(EXIT_FAILURE);
}

/* Delete rows by rowid, each table's in one statement run; inside the caller's transaction if
 * there is one (a savepoint either way). Returns an sqlite code. */
static int delete_rows(struct store_sqlite *sq, int64_t *const rows[3], const size_t n[3])
{
    int rc = sqlite3_exec(sq->db, "SAVEPOINT dropped", NULL, NULL, NULL);

    for (int t = 0; t < 3 && rc == SQLITE_OK; t++) {
        sqlite3_stmt *s = NULL;
        char sql[64];
        if (n[t] == 0) {
            continue;
        }
        snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE rowid = ?1", table_name[t]);
        rc = sqlite3_prepare_v2(sq->db, sql, -1, &s, NULL);
        for (size_t i = 0; i < n[t] && rc == SQLITE_OK; i++) {
            sqlite3_bind_int64(s, 1, rows[t][i]);
            rc = sqlite3_step(s);
            rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
            sqlite3_reset(s);
        }
        sqlite3_finalize(s);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(sq->db, "RELEASE dropped", NULL, NULL, NULL);
    } else {
        sqlite3_exec(sq->db, "ROLLBACK TO dropped", NULL, NULL, NULL);
        sqlite3_exec(sq->db, "RELEASE dropped", NULL, NULL, NULL);
    }
    return rc;
}

/* Remember a row to delete once the reading transaction is over. */
bool store_sqlite_early_add(struct sq_load *ld, int table, int64_t rowid)
{
    int64_t *a = talloc_realloc(ld, ld->early[table], int64_t, ld->nearly[table] + 1);

    if (a == NULL) {
        return false;
    }
    a[ld->nearly[table]++] = rowid;
    ld->early[table] = a;
    return true;
}

/* ---- linking a decrypted unit into its owner (event loop) ---- */

static int check_item(const struct unit *u, const struct item *it, const struct store_rec *r)
{
    switch (it->table) {
    case T_DEFAULTS:
        return r->type == STORE_REC_DEFAULT && store_owner_key_eq(&r->owner, &u->key) ? 0 : EXDEV;
    case T_CACHES:
        return it->uuid_ok && r->type == STORE_REC_CACHE &&
                       store_owner_key_eq(&r->owner, &u->key) &&
                       memcmp(r->cache_uuid, it->uuid, STORE_UUID_LEN) == 0
                   ? 0
                   : EXDEV;
    default:
        return it->uuid_ok && r->type == STORE_REC_CRED &&
                       store_owner_key_eq(&r->owner, &u->key) &&
                       memcmp(r->cache_uuid, u->items[it->cache].uuid, STORE_UUID_LEN) == 0 &&
                       memcmp(r->cred_uuid, it->uuid, STORE_UUID_LEN) == 0
                   ? 0
                   : EXDEV;
    }
}

static void link_unit(struct sq_load *ld, struct unit *u)
{
    struct store *st = ld->sq->st;
    int64_t *rows[3] = { NULL, NULL, NULL };
    size_t nrows[3] = { 0, 0, 0 };

    store_crypt_pool_finish(ld->pool, &u->cu);
    u->o->pending = NULL;
    for (size_t i = 0; i < u->cu.n; i++) {
        struct store_crypt_job *j = &u->cu.jobs[i];
        struct item *it = &u->items[i];
        struct store_rec r;
        int ret = j->ret;
        bool orphan = false;
        bool ok;

        if (ret == ENOMEM) {
            load_fatal("out of secure memory");
        }
        if (it->table == T_CREDS && u->items[it->cache].c == NULL) {
            orphan = true; /* its cache was dropped: it goes too, silently */
        } else {
            if (ret == 0 && !store_crypt_parse(j->plain, j->plen, &r)) {
                ret = EPROTO;
            }
            if (ret == 0) {
                ret = check_item(u, it, &r);
            }
        }
        if (!orphan && ret == 0) {
            switch (it->table) {
            case T_DEFAULTS:
                if (!store_load_default(st, &u->key, r.name)) {
                    load_fatal("out of memory");
                }
                ld->defaults++;
                break;
            case T_CACHES:
                it->c = store_load_cache(st, &u->key, r.name, it->uuid, r.blob.p, r.blob.len,
                                         r.offset);
                ret = it->c != NULL ? 0 : errno == ENOMEM ? ENOMEM : EINVAL;
                if (it->c != NULL) {
                    it->c->row = it->rowid;
                    ld->caches++;
                }
                break;
            default:
                /* The plaintext becomes the credential's buffer (no copy, no second slot)
                 * unless a copy would take a smaller slot of secure memory. */
                if (util_secmem_footprint(j->plen) <= util_secmem_footprint(r.blob.len)) {
                    ok = store_load_cred_adopt(st, u->items[it->cache].c, it->uuid, it->seq,
                                               j->plain, r.blob.p, r.blob.len);
                    j->plain = NULL;
                } else {
                    ok = store_load_cred(st, u->items[it->cache].c, it->uuid, it->seq,
                                         r.blob.p, r.blob.len);
                }
                ret = ok ? 0 : errno == ENOMEM ? ENOMEM : EINVAL;
                if (ok) {
                    u->items[it->cache].c->creds_tail->row = it->rowid;
                    ld->creds++;
                }
                break;
            }
            if (ret == ENOMEM) {
                /* Never drop (and delete) a good record for want of memory: the database
                 * stays intact for the next start. */
                load_fatal("out of memory while linking loaded records");
            }
        }
        util_secmem_free(j->plain);
        j->plain = NULL;
        if (orphan || ret != 0) {
            int64_t *a = talloc_realloc(u, rows[it->table], int64_t, nrows[it->table] + 1);
            if (a == NULL) {
                load_fatal("out of memory");
            }
            a[nrows[it->table]++] = it->rowid;
            rows[it->table] = a;
            if (orphan) {
                ld->orphans++;
            } else {
                ld->dropped++;
                store_sqlite_log_drop(it->table == T_DEFAULTS ? "default cache name"
                         : it->table == T_CACHES ? "cache"
                                                 : "credential",
                         &u->key, it->table == T_DEFAULTS || !it->uuid_ok ? NULL : it->uuid, ret);
            }
        }
    }
    if (nrows[0] + nrows[1] + nrows[2] > 0) {
        int rc = delete_rows(ld->sq, rows, nrows);
        if (rc != SQLITE_OK) {
            util_log(UTIL_LOG_WARNING, "cannot delete dropped records: %s (retried at the next "
                     "start)", sqlite3_errstr(rc));
        }
    }
    u->linked = true;
    ld->nlinked++;
    /* The ciphertexts, items and drop lists go; the unit itself stays in ld->units. */
    ct_free(u);
    talloc_free_children(u);
    u->items = NULL;
    u->cu.jobs = NULL;
    u->cu.n = 0;
}

static void load_finish(struct sq_load *ld);

/* store_set_loader callback: someone asked for a pending owner. */
static void load_owner(void *ctx, struct store_owner *o)
{
    struct sq_load *ld = ctx;
    struct unit *u = o->pending;

    if (!u->linked) {
        link_unit(ld, u);
    }
    if (ld->nlinked == ld->nunits && ld->efd >= 0) {
        /* The tidying up (orphan scan, ~0.2 s for a big store) is not this request's to wait
         * for: the eventfd handler finishes. */
        uint64_t one = 1;
        (void)!write(ld->efd, &one, sizeof(one));
    }
}

/* Link finished units, in order, up to the first one still being decrypted (never waits), at
 * most max of them. Returns whether a finished one is left. */
static bool link_done_units(struct sq_load *ld, size_t max)
{
    size_t n = 0;

    while (ld->next_link < ld->nunits) {
        struct unit *u = ld->units[ld->next_link];
        if (!u->linked) {
            if (!u->queued || !store_crypt_pool_done(ld->pool, &u->cu)) {
                return false;
            }
            if (n == max) {
                return true;
            }
            link_unit(ld, u);
            n++;
        }
        ld->next_link++;
    }
    return false;
}

/* A worker finished something. */
static void on_units_done(struct tevent_context *ev, struct tevent_fd *fde, uint16_t flags,
                          void *pvt)
{
    struct sq_load *ld = pvt;
    uint64_t cnt;

    (void)!read(ld->efd, &cnt, sizeof(cnt));
    /* A few units per round: what the workers finished while the database was being read
     * (a third of a big store) must not hold up the first requests. More: signal ourselves
     * again, so that sockets already ready come first. */
    if (link_done_units(ld, LINK_PER_ROUND)) {
        uint64_t one = 1;
        (void)!write(ld->efd, &one, sizeof(one));
    }
    if (ld->nlinked == ld->nunits) {
        load_finish(ld);
    }
}

/* ---- the whole load ---- */

static bool forget_owner(struct store_owner *o, void *arg)
{
    (void)arg;
    store_owner_clear_memory(o); /* no backend attached yet: memory only */
    return true;
}

void store_sqlite_forget(struct store *st)
{
    store_set_loader(st, NULL, NULL); /* pending owners are forgotten as they are */
    store_foreach_owner(st, forget_owner, st);
}

/* Every unit is linked: tidy up, report, and let the load go (keys wiped, threads joined). */
static void load_finish(struct sq_load *ld)
{
    struct store_sqlite *sq = ld->sq;
    double t = now() - ld->t0;

    if (ld->orphans > 0) {
        util_log(UTIL_LOG_WARNING, "dropped %zu credential records whose cache is gone",
                 ld->orphans);
    }
    util_log(ld->dropped + ld->orphans > 0 ? UTIL_LOG_WARNING : UTIL_LOG_INFO,
             "loaded %zu caches, %zu credentials and %zu default cache names from %s"
             " (%zu records dropped) in %.2f s (%u decryption threads%s)",
             ld->caches, ld->creds, ld->defaults, sq->path, ld->dropped + ld->orphans, t,
             store_crypt_pool_threads(ld->pool),
             ld->efd >= 0 ? talloc_asprintf(ld, "; serving since %.2f s", ld->t_ready) : "");
    if (sq->st != NULL) {
        store_set_loader(sq->st, NULL, NULL);
    }
    sq->load = NULL;
    talloc_free(ld); /* destructor: threads, keys */
    malloc_trim(0); /* the ciphertext copies were hundreds of MB for a big store */
}

static int load_destructor(struct sq_load *ld)
{
    TALLOC_FREE(ld->fde);
    TALLOC_FREE(ld->pool); /* joins the workers, wipes their keys */
    for (size_t i = 0; i < ld->nunits; i++) {
        struct unit *u = ld->units[i];
        for (size_t j = 0; j < u->cu.n; j++) {
            util_secmem_free(u->cu.jobs[j].plain);
            u->cu.jobs[j].plain = NULL;
        }
        ct_free(u);
    }
    if (ld->efd >= 0) {
        close(ld->efd);
    }
    return 0;
}

/* Empty the owners in memory; the keys of those to read again go to want (an owner still
 * pending was never loaded: its records are queued as they were read). */
static int reload_clear(struct store_sqlite *sq, const struct store_owner_key *keys, size_t n,
                        struct store_owner_key *want, size_t *nwant)
{
    *nwant = 0;
    for (size_t i = 0; i < n; i++) {
        struct store_owner *o = store_owner_shell(sq->st, &keys[i]);
        if (o == NULL) {
            return ENOMEM;
        }
        store_owner_clear_memory(o);
        if (o->pending == NULL) {
            want[(*nwant)++] = keys[i];
        }
    }
    return 0;
}

int store_sqlite_reload_owners(struct store_sqlite *sq, const struct store_owner_key *keys,
                               size_t n)
{
    struct sq_load *ld = talloc_zero(sq, struct sq_load);
    struct store_owner_key *want = ld != NULL ? talloc_array(ld, struct store_owner_key, n) : NULL;
    size_t nwant = 0;
    int rc = SQLITE_NOMEM;

    if (want == NULL || reload_clear(sq, keys, n, want, &nwant) != 0) {
        talloc_free(ld);
        return ENOMEM;
    }
    ld->sq = sq;
    ld->efd = -1;
    talloc_set_destructor(ld, load_destructor);
    ld->pool = nwant > 0 ? store_crypt_pool_new(ld, sq->crypt, 1, -1) : NULL;
    if (ld->pool != NULL) {
        rc = SQLITE_OK;
    } else if (nwant == 0) {
        talloc_free(ld);
        return 0;
    }
    for (size_t i = 0; i < nwant && rc == SQLITE_OK; i++) {
        rc = store_sqlite_read_defaults(ld, &want[i]);
    }
    if (rc == SQLITE_OK) {
        rc = store_sqlite_read_caches(ld, want, nwant);
    }
    for (size_t i = 0; i < ld->nunits; i++) {
        if (rc == SQLITE_OK) {
            link_unit(ld, ld->units[i]); /* decrypted here if the worker has not started */
        } else {
            ld->units[i]->o->pending = NULL;
            store_owner_clear_memory(ld->units[i]->o);
        }
    }
    talloc_free(ld);
    return rc == SQLITE_OK ? 0 : EIO;
}

void store_sqlite_load_abort(struct store_sqlite *sq)
{
    if (sq->load != NULL) {
        if (sq->st != NULL) {
            store_set_loader(sq->st, NULL, NULL);
        }
        TALLOC_FREE(sq->load);
    }
}

enum open_res store_sqlite_load(struct store_sqlite *sq, struct tevent_context *ev,
                                const char **why, char *err, size_t errlen)
{
    struct sq_load *ld = talloc_zero(sq, struct sq_load);
    int rc = SQLITE_NOMEM;

    if (ld == NULL) {
        return store_sqlite_classify(sq, rc, "loading", why, err, errlen);
    }
    ld->sq = sq;
    ld->t0 = now();
    ld->efd = ev != NULL ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : -1;
    talloc_set_destructor(ld, load_destructor);
    ld->pool = store_crypt_pool_new(ld, sq->crypt, 0, ld->efd);
    if (ld->pool != NULL && (ev == NULL || ld->efd >= 0)) {
        rc = sqlite3_exec(sq->db, "BEGIN", NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK) {
        rc = store_sqlite_read_defaults(ld, NULL);
    }
    if (rc == SQLITE_OK) {
        rc = store_sqlite_read_caches(ld, NULL, 0);
    }
    for (size_t i = 0; rc == SQLITE_OK && i < ld->nunits; i++) {
        if (!ld->units[i]->queued) {
            store_sqlite_queue_unit(ld, ld->units[i]); /* default name only */
        }
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(sq->db, "COMMIT", NULL, NULL, NULL);
    } else if (!sqlite3_get_autocommit(sq->db)) {
        sqlite3_exec(sq->db, "ROLLBACK", NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK && ld->nearly[0] + ld->nearly[1] + ld->nearly[2] > 0) {
        rc = delete_rows(sq, ld->early, ld->nearly);
    }
    if (rc != SQLITE_OK) {
        /* Half a store is worse than none: forget what was read. */
        talloc_free(ld);
        store_sqlite_forget(sq->st);
        return store_sqlite_classify(sq, rc, "loading", why, err, errlen);
    }
    sq->load = ld;
    store_set_loader(sq->st, load_owner, ld);
    if (ev == NULL) {
        /* No event loop to finish on: decrypt alongside the workers, link everything now. */
        for (size_t i = 0; i < ld->nunits; i++) {
            link_unit(ld, ld->units[i]);
        }
        load_finish(ld);
        return OPEN_OK;
    }
    ld->t_ready = now() - ld->t0;
    util_log(UTIL_LOG_INFO, "read %zu owners' records from %s in %.2f s; decrypting them with %u "
             "threads while serving (an owner asked for first is decrypted first)",
             ld->nunits, sq->path, ld->t_ready, store_crypt_pool_threads(ld->pool));
    if (ld->nunits == 0) {
        load_finish(ld);
        return OPEN_OK;
    }
    ld->fde = tevent_add_fd(ev, ld, ld->efd, TEVENT_FD_READ, on_units_done, ld);
    if (ld->fde == NULL) {
        /* No notification: finish now, like without an event loop. */
        for (size_t i = 0; i < ld->nunits; i++) {
            if (!ld->units[i]->linked) {
                link_unit(ld, ld->units[i]);
            }
        }
        load_finish(ld);
    }
    return OPEN_OK;
}
