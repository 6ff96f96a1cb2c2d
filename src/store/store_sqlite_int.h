/* Internals shared by the two halves of the sqlite backend: store_sqlite.c (write-through,
 * lifetime, entry point) and store_sqlite_open.c (start-up: files, schema, key check, load).
 * Not for use outside src/store. */
#ifndef CACHET_STORE_SQLITE_INT_H
#define CACHET_STORE_SQLITE_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <talloc.h>

#include "store/store.h"
#include "store/store_crypt.h"

#define STORE_SQLITE_DB_NAME "cachet.sqlite"
#define STORE_SQLITE_SCHEMA_VERSION 2
/* Owner key columns, bound as ?1 ?2 ?3 by store_sqlite_bind_owner(). */
#define STORE_SQLITE_OWNER "uid = ?1 AND session = ?2 AND boot_id = ?3"

enum stmt_id {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_CACHE_PUT,
    S_CACHE_DEL,
    S_CRED_PUT,
    S_CRED_DEL,
    S_DEF_PUT,
    S_DEF_DEL,
    S_SAVEPOINT,
    S_RELEASE,
    S_ROLLBACK_TO,
    S_COUNT
};

struct store_sqlite;
struct sq_load;
struct tevent_context;

/* Child of the store: whichever of store and backend goes first detaches the other. */
struct sqlite_link {
    struct store_sqlite *sq;
};

struct store_sqlite {
    struct store *st;
    struct sqlite_link *link;
    struct store_crypt *crypt;
    sqlite3 *db;
    char *path;
    sqlite3_stmt *stmt[S_COUNT];
    /* Row ids of new caches and credentials: above every id on disk, never reused while the
     * daemon runs (rolled back ones included), so a new row always goes to the right-most leaf
     * and ids give creation order. Set at load (store_sqlite_load_counters). */
    int64_t next_cache_row;
    int64_t next_cred_row;
    bool op_sp;           /* the group's current operation has a savepoint (sq_op_begin) */
    struct sq_load *load; /* while records are still being decrypted (store_sqlite_load.c) */
    /* Owners the open transaction changed: reloaded from disk if it is rolled back. */
    struct store_owner_key *touched;
    size_t ntouched;
};

/* Why an open attempt did not produce a usable database. */
enum open_res {
    OPEN_OK,
    OPEN_BAD_FILE, /* corrupt, truncated, not a database, foreign schema: move aside */
    OPEN_BAD_KEY,  /* sealed under another master key: move aside */
    OPEN_NEWER,    /* written by a newer cachet: move aside */
    OPEN_FATAL,    /* I/O error, locked, permissions: refuse to start (err says why) */
};

/* Create state_dir (0700) if missing; refuse one that is not ours or is group/world writable. */
int store_sqlite_check_state_dir(const char *dir, char *err, size_t errlen);
/* Rename path and its -wal/-shm to path.<what>-<UTC time>[.n]. Returns the new name or NULL. */
char *store_sqlite_move_aside(TALLOC_CTX *mem, const char *path, const char *what);
/* Map an sqlite failure at start-up to a disposition; fills *why or err. */
enum open_res store_sqlite_classify(struct store_sqlite *sq, int rc, const char *what,
                                    const char **why, char *err, size_t errlen);
/* Open sq->path: pragmas, integrity check, schema creation or migration, key check. */
enum open_res store_sqlite_db_open(struct store_sqlite *sq, const char **why, char *err,
                                   size_t errlen);
/* Load every record into sq->st; dropped records are logged and deleted. With ev, returns once
 * everything is read and finishes the decryption in the background (pending owners are
 * loaded on first use); without, returns when everything is loaded. */
enum open_res store_sqlite_load(struct store_sqlite *sq, struct tevent_context *ev,
                                const char **why, char *err, size_t errlen);
/* Replace these owners' contents in memory by what is committed on disk (after a rollback):
 * one pass over each table, whatever n. Returns 0 or an errno (then the owners are left empty
 * in memory: never half-loaded). */
int store_sqlite_reload_owners(struct store_sqlite *sq, const struct store_owner_key *keys,
                               size_t n);
/* Stop a background load (threads joined, plaintexts wiped); pending owners stay empty. */
void store_sqlite_load_abort(struct store_sqlite *sq);
/* Forget everything loaded into st (no backend attached yet: memory only). */
void store_sqlite_forget(struct store *st);
void store_sqlite_bind_owner(sqlite3_stmt *s, const struct store_owner_key *k);
/* Set the row id counters from what is on disk. Returns an sqlite code. */
int store_sqlite_load_counters(struct store_sqlite *sq);

#endif
