/* Start-up half of the sqlite backend (see store_sqlite.c for the write-through half and the
 * schema): the state directory, the database file (moved aside when unusable), schema creation
 * and migration, and the master key check. Loading the records: store_sqlite_load.c. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/util_log.h"
#include "store/store_sqlite_int.h"

#define KEYCHECK_KEY "keycheck"

/* Version 1 (kept to upgrade version 0 databases through it). */
#define SCHEMA_V1_TABLES                                                                   \
    "CREATE TABLE caches (uid INTEGER NOT NULL, session INTEGER NOT NULL,"                 \
    " boot_id BLOB NOT NULL, uuid BLOB NOT NULL, pos INTEGER NOT NULL, rec BLOB NOT NULL," \
    " UNIQUE (uid, session, boot_id, uuid));"                                              \
    "CREATE TABLE creds (uid INTEGER NOT NULL, session INTEGER NOT NULL,"                  \
    " boot_id BLOB NOT NULL, cache_uuid BLOB NOT NULL, uuid BLOB NOT NULL,"                \
    " seq INTEGER NOT NULL, rec BLOB NOT NULL,"                                            \
    " UNIQUE (uid, session, boot_id, cache_uuid, uuid));"                                  \
    "CREATE TABLE defaults (uid INTEGER NOT NULL, session INTEGER NOT NULL,"               \
    " boot_id BLOB NOT NULL, rec BLOB NOT NULL, PRIMARY KEY (uid, session, boot_id));"     \
    "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL);"              \
    "PRAGMA user_version = 1;"

/* Version 2: caches and credentials addressed by row id (see store_sqlite.c). */
#define SCHEMA_V2_ROWS                                                       \
    "CREATE TABLE caches (id INTEGER PRIMARY KEY, uid INTEGER NOT NULL,"     \
    " session INTEGER NOT NULL, boot_id BLOB NOT NULL, uuid BLOB NOT NULL,"  \
    " rec BLOB NOT NULL);"                                                   \
    "CREATE TABLE creds (id INTEGER PRIMARY KEY, cache_id INTEGER NOT NULL," \
    " uuid BLOB NOT NULL, seq INTEGER NOT NULL, rec BLOB NOT NULL);"

static const char schema_v2[] = SCHEMA_V2_ROWS
    "CREATE TABLE defaults (uid INTEGER NOT NULL, session INTEGER NOT NULL,"
    " boot_id BLOB NOT NULL, rec BLOB NOT NULL, PRIMARY KEY (uid, session, boot_id));"
    "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL);"
    "PRAGMA user_version = 2;";

/* v0 -> v1: rebuild the tables with the boot id in the owner key and the rowid order made
 * explicit; add the key check table. Ciphertexts are copied unchanged. */
static const char migrate_v0[] =
    "ALTER TABLE caches RENAME TO caches_v0;"
    "ALTER TABLE creds RENAME TO creds_v0;"
    "ALTER TABLE defaults RENAME TO defaults_v0;" SCHEMA_V1_TABLES
    "INSERT INTO caches (uid, session, boot_id, uuid, pos, rec)"
    " SELECT uid, session, zeroblob(16), uuid, rowid, rec FROM caches_v0;"
    "INSERT INTO creds (uid, session, boot_id, cache_uuid, uuid, seq, rec)"
    " SELECT uid, session, zeroblob(16), cache_uuid, uuid, rowid, rec FROM creds_v0;"
    "INSERT INTO defaults (uid, session, boot_id, rec)"
    " SELECT uid, session, zeroblob(16), rec FROM defaults_v0;"
    "DROP TABLE caches_v0;"
    "DROP TABLE creds_v0;"
    "DROP TABLE defaults_v0;";

/* v1 -> v2: caches get ids in creation order (pos), credentials ids in their caches' order
 * and then insertion order (seq), and point at their cache by id; a credential whose cache row
 * is gone is not carried over (the load would drop it anyway). Ciphertexts are copied
 * unchanged; defaults and meta stay as they are. The id maps are temporary tables without
 * the records, so nothing big is ever sorted, and rows are inserted in id order (appended). */
static const char migrate_v1[] =
    "ALTER TABLE caches RENAME TO caches_v1;"
    "ALTER TABLE creds RENAME TO creds_v1;" SCHEMA_V2_ROWS
    "CREATE TEMP TABLE cache_map (id INTEGER PRIMARY KEY, old INTEGER NOT NULL UNIQUE);"
    "INSERT INTO cache_map (old) SELECT rowid FROM caches_v1 ORDER BY pos, rowid;"
    "INSERT INTO caches (id, uid, session, boot_id, uuid, rec)"
    " SELECT m.id, k.uid, k.session, k.boot_id, k.uuid, k.rec"
    " FROM cache_map m JOIN caches_v1 k ON k.rowid = m.old ORDER BY m.id;"
    "CREATE TEMP TABLE cred_map (id INTEGER PRIMARY KEY, old INTEGER NOT NULL,"
    " cache_id INTEGER NOT NULL);"
    "INSERT INTO cred_map (old, cache_id) SELECT c.rowid, m.id FROM creds_v1 c"
    " JOIN caches_v1 k ON k.uid = c.uid AND k.session = c.session AND k.boot_id = c.boot_id"
    " AND k.uuid = c.cache_uuid JOIN cache_map m ON m.old = k.rowid"
    " ORDER BY m.id, c.seq, c.rowid;"
    "INSERT INTO creds (id, cache_id, uuid, seq, rec)"
    " SELECT m.id, m.cache_id, c.uuid, c.seq, c.rec"
    " FROM cred_map m JOIN creds_v1 c ON c.rowid = m.old ORDER BY m.id;"
    "DROP TABLE temp.cred_map;"
    "DROP TABLE temp.cache_map;"
    "DROP TABLE caches_v1;"
    "DROP TABLE creds_v1;"
    "PRAGMA user_version = 2;";

static bool rc_is_bad_file(int rc)
{
    rc &= 0xff;
    return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB || rc == SQLITE_ERROR ||
           rc == SQLITE_SCHEMA || rc == SQLITE_MISMATCH || rc == SQLITE_CONSTRAINT;
}

void store_sqlite_bind_owner(sqlite3_stmt *s, const struct store_owner_key *k)
{
    sqlite3_bind_int64(s, 1, k->uid);
    sqlite3_bind_int64(s, 2, k->session);
    sqlite3_bind_blob(s, 3, k->boot_id, STORE_BOOT_ID_LEN, SQLITE_STATIC);
}

/* ---- files ---- */

int store_sqlite_check_state_dir(const char *dir, char *err, size_t errlen)
{
    struct stat sb;

    if (dir == NULL || dir[0] == '\0') {
        snprintf(err, errlen, "no state_dir configured");
        return EINVAL;
    }
    if (mkdir(dir, 0700) == 0) {
        util_log(UTIL_LOG_INFO, "created state directory %s", dir);
    } else if (errno != EEXIST) {
        int e = errno;
        snprintf(err, errlen, "cannot create state directory %s: %s", dir, strerror(e));
        return e;
    }
    if (stat(dir, &sb) != 0) {
        int e = errno;
        snprintf(err, errlen, "cannot stat state directory %s: %s", dir, strerror(e));
        return e;
    }
    if (!S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "state directory %s is not a directory", dir);
        return ENOTDIR;
    }
    if (sb.st_uid != geteuid()) {
        snprintf(err, errlen,
                 "refusing state directory %s: owned by uid %u, but cachetd runs as uid %u", dir,
                 (unsigned)sb.st_uid, (unsigned)geteuid());
        return EPERM;
    }
    if ((sb.st_mode & 022) != 0) {
        snprintf(err, errlen,
                 "refusing state directory %s: writable by group or others (mode %04o); "
                 "chmod 700 it",
                 dir, (unsigned)(sb.st_mode & 07777));
        return EPERM;
    }
    return 0;
}

static bool file_exists(const char *path)
{
    struct stat sb;

    return lstat(path, &sb) == 0;
}

static off_t file_size(const char *path)
{
    struct stat sb;

    return lstat(path, &sb) == 0 ? sb.st_size : -1;
}

/* Rename path (and its -wal, -shm) to path.<what>-<UTC time>[.n]; never deletes anything.
 * The WAL keeps the "-wal" suffix after the new name so that sqlite3(1) on the moved file
 * still sees it. Returns the new name (talloc'ed on mem) or NULL. */
char *store_sqlite_move_aside(TALLOC_CTX *mem, const char *path, const char *what)
{
    static const char *const sfx[] = { "-wal", "-shm", "-journal" };
    char ts[32];
    struct tm tm;
    time_t now = time(NULL);
    char *dst = NULL;
    char *dir;
    char *slash;
    int fd;

    strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", gmtime_r(&now, &tm));
    for (int n = 0; n < 1000; n++) {
        talloc_free(dst);
        dst = n == 0 ? talloc_asprintf(mem, "%s.%s-%s", path, what, ts)
                     : talloc_asprintf(mem, "%s.%s-%s.%d", path, what, ts, n);
        if (dst == NULL) {
            return NULL;
        }
        if (!file_exists(dst)) {
            break;
        }
    }
    if (file_exists(path) && rename(path, dst) != 0) {
        util_log(UTIL_LOG_ERROR, "cannot rename %s to %s: %s", path, dst, strerror(errno));
        talloc_free(dst);
        return NULL;
    }
    for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
        char *from = talloc_asprintf(mem, "%s%s", path, sfx[i]);
        char *to = talloc_asprintf(mem, "%s%s", dst, sfx[i]);
        if (from != NULL && to != NULL && file_exists(from) && rename(from, to) != 0) {
            util_log(UTIL_LOG_ERROR, "cannot rename %s to %s: %s", from, to, strerror(errno));
            talloc_free(dst);
            dst = NULL;
        }
        talloc_free(from);
        talloc_free(to);
        if (dst == NULL) {
            return NULL;
        }
    }
    dir = talloc_strdup(mem, path);
    slash = dir != NULL ? strrchr(dir, '/') : NULL;
    if (slash != NULL) {
        *slash = '\0';
        fd = open(dir[0] != '\0' ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            (void)fsync(fd);
            close(fd);
        }
    }
    talloc_free(dir);
    return dst;
}

/* Make sure the database file exists, is ours and is private before sqlite opens it (sqlite
 * gives its WAL the database file's mode). A WAL without its database is stale: set aside. */
static enum open_res prepare_file(struct store_sqlite *sq, const char **why, char *err,
                                  size_t errlen)
{
    char *wal = talloc_asprintf(sq, "%s-wal", sq->path);
    struct stat sb;
    bool existed = file_exists(sq->path);
    int fd;

    if (wal == NULL) {
        return OPEN_FATAL;
    }
    if (!existed) {
        if (file_exists(wal)) {
            char *moved = store_sqlite_move_aside(sq, wal, "orphan");
            util_log(UTIL_LOG_WARNING, "%s has no database: moved it aside to %s", wal,
                     moved != NULL ? moved : "(failed)");
            talloc_free(moved);
        }
        util_log(UTIL_LOG_INFO, "no database at %s: creating an empty one", sq->path);
    }
    fd = open(sq->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot open database %s: %s", sq->path, strerror(e));
        talloc_free(wal);
        return OPEN_FATAL;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(err, errlen, "database %s is not a regular file", sq->path);
        close(fd);
        talloc_free(wal);
        return OPEN_FATAL;
    }
    close(fd);
    if (existed && sb.st_size == 0 && file_size(wal) <= 0) {
        *why = "the file is empty (truncated)";
        talloc_free(wal);
        return OPEN_BAD_FILE;
    }
    talloc_free(wal);
    return OPEN_OK;
}

/* ---- opening, schema, key check ---- */

enum open_res store_sqlite_classify(struct store_sqlite *sq, int rc, const char *what,
                                    const char **why, char *err, size_t errlen)
{
    if (rc_is_bad_file(rc)) {
        *why = talloc_asprintf(sq, "%s: %s", what, sqlite3_errmsg(sq->db));
        return OPEN_BAD_FILE;
    }
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
        snprintf(err, errlen, "database %s is locked: is another cachetd using this state_dir?",
                 sq->path);
    } else {
        snprintf(err, errlen, "database %s: %s: %s", sq->path, what,
                 sq->db != NULL ? sqlite3_errmsg(sq->db) : sqlite3_errstr(rc));
    }
    return OPEN_FATAL;
}

/* Run sql returning one value (or none). *out is talloc'ed text, NULL if no row. */
static int query_text(struct store_sqlite *sq, const char *sql, char **out)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(sq->db, sql, -1, &s, NULL);

    *out = NULL;
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            const unsigned char *t = sqlite3_column_text(s, 0);
            *out = talloc_strdup(sq, t != NULL ? (const char *)t : "");
            rc = *out != NULL ? SQLITE_DONE : SQLITE_NOMEM;
        }
        if (rc == SQLITE_DONE) {
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(s);
    return rc;
}

/* Does the master key open this database? The key check record answers; a database without
 * one (version 0, or the row went missing) is probed with a few records: the key is wrong only
 * if records exist and none of them decrypts. */
static int check_key(struct store_sqlite *sq, int version, bool *ok, bool *need_keycheck)
{
    static const char probe[] = "SELECT rec FROM caches UNION ALL SELECT rec FROM defaults "
                                "UNION ALL SELECT rec FROM creds LIMIT 16";
    sqlite3_stmt *s = NULL;
    struct store_rec r;
    bool tried = false;
    int rc;

    *ok = false;
    *need_keycheck = true;
    if (version >= 1) {
        rc = sqlite3_prepare_v2(sq->db, "SELECT value FROM meta WHERE key = '" KEYCHECK_KEY "'", -1,
                                &s, NULL);
        if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
            int ret = store_crypt_open(sq->crypt, sq, sqlite3_column_blob(s, 0),
                                       (size_t)sqlite3_column_bytes(s, 0), &r);
            sqlite3_finalize(s);
            if (ret == EBADMSG) {
                return SQLITE_OK; /* *ok = false */
            }
            *ok = true;
            *need_keycheck = ret != 0 || !store_crypt_is_keycheck(&r);
            talloc_free(r.plain);
            return SQLITE_OK;
        }
        sqlite3_finalize(s);
        if (rc != SQLITE_DONE) {
            return rc;
        }
    }
    rc = sqlite3_prepare_v2(sq->db, probe, -1, &s, NULL);
    while ((rc == SQLITE_OK || rc == SQLITE_ROW) && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        int ret = store_crypt_open(sq->crypt, sq, sqlite3_column_blob(s, 0),
                                   (size_t)sqlite3_column_bytes(s, 0), &r);
        tried = true;
        if (ret != EBADMSG) {
            talloc_free(r.plain);
            *ok = true;
            break;
        }
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW && rc != SQLITE_OK) {
        return rc;
    }
    if (!tried) {
        *ok = true;
    }
    return SQLITE_OK;
}

static int write_keycheck(struct store_sqlite *sq)
{
    struct store_rec r;
    sqlite3_stmt *s = NULL;
    struct util_secbuf *ct;
    int rc;

    store_crypt_keycheck_rec(&r);
    if (store_crypt_seal(sq->crypt, sq, &r, &ct) != 0) {
        return SQLITE_NOMEM;
    }
    rc = sqlite3_prepare_v2(
        sq->db, "INSERT OR REPLACE INTO meta (key, value) VALUES ('" KEYCHECK_KEY "', ?1)", -1, &s,
        NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_blob(s, 1, ct->p, (int)ct->len, SQLITE_STATIC);
        rc = sqlite3_step(s);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    sqlite3_finalize(s);
    talloc_free(ct);
    return rc;
}

/* Upgrade from version (0 or 1) step by step, inside the caller's transaction. */
static int migrate(struct store_sqlite *sq, int version)
{
    static const char *const steps[] = { migrate_v0, migrate_v1 };
    int rc = SQLITE_OK;

    util_log(UTIL_LOG_INFO, "upgrading database %s from schema version %d to %d (the old tables' "
             "pages stay in the file as free space, reused as the store grows; VACUUM with "
             "cachetd stopped gives them back)", sq->path, version, STORE_SQLITE_SCHEMA_VERSION);
    for (int v = version; v < STORE_SQLITE_SCHEMA_VERSION && rc == SQLITE_OK; v++) {
        rc = sqlite3_exec(sq->db, steps[v], NULL, NULL, NULL);
    }
    return rc;
}

static int max_id(struct store_sqlite *sq, const char *sql, int64_t *next)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(sq->db, sql, -1, &s, NULL);

    if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        *next = sqlite3_column_int64(s, 0) + 1;
        rc = SQLITE_OK;
    }
    sqlite3_finalize(s);
    return rc;
}

int store_sqlite_load_counters(struct store_sqlite *sq)
{
    /* MAX of an INTEGER PRIMARY KEY is one descent to the right-most leaf. */
    int rc = max_id(sq, "SELECT IFNULL(MAX(id), 0) FROM caches", &sq->next_cache_row);

    return rc != SQLITE_OK ? rc
                           : max_id(sq, "SELECT IFNULL(MAX(id), 0) FROM creds", &sq->next_cred_row);
}

/* Bring the schema to STORE_SQLITE_SCHEMA_VERSION and make sure the key check matches. */
static enum open_res setup_schema(struct store_sqlite *sq, const char **why, char *err,
                                  size_t errlen)
{
    char *v = NULL;
    int version;
    bool fresh = false;
    bool ok = true;
    bool need_keycheck = true;
    int rc;

    rc = query_text(sq, "PRAGMA user_version", &v);
    if (rc != SQLITE_OK) {
        return store_sqlite_classify(sq, rc, "reading the schema version", why, err, errlen);
    }
    version = v != NULL ? atoi(v) : 0;
    TALLOC_FREE(v);
    if (version > STORE_SQLITE_SCHEMA_VERSION) {
        *why = talloc_asprintf(sq, "schema version %d is newer than this cachetd supports (%d)",
                               version, STORE_SQLITE_SCHEMA_VERSION);
        return OPEN_NEWER;
    }
    if (version == 0) {
        rc = query_text(sq, "SELECT count(*) FROM sqlite_master", &v);
        if (rc != SQLITE_OK) {
            return store_sqlite_classify(sq, rc, "reading the schema", why, err, errlen);
        }
        fresh = v != NULL && strcmp(v, "0") == 0;
        TALLOC_FREE(v);
    }
    if (!fresh) {
        rc = check_key(sq, version, &ok, &need_keycheck);
        if (rc != SQLITE_OK) {
            return store_sqlite_classify(sq, rc, "checking the master key", why, err, errlen);
        }
        if (!ok) {
            return OPEN_BAD_KEY;
        }
    }
    rc = sqlite3_exec(sq->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK && fresh) {
        rc = sqlite3_exec(sq->db, schema_v2, NULL, NULL, NULL);
    } else if (rc == SQLITE_OK && version < STORE_SQLITE_SCHEMA_VERSION) {
        rc = migrate(sq, version);
    }
    if (rc == SQLITE_OK && need_keycheck) {
        rc = write_keycheck(sq);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(sq->db, "COMMIT", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        enum open_res res = store_sqlite_classify(sq, rc,
                                                  version < STORE_SQLITE_SCHEMA_VERSION
                                                      ? "creating or upgrading the schema"
                                                      : "writing the key check",
                                                  why, err, errlen);
        sqlite3_exec(sq->db, "ROLLBACK", NULL, NULL, NULL);
        return res;
    }
    return OPEN_OK;
}

enum open_res store_sqlite_db_open(struct store_sqlite *sq, const char **why, char *err,
                                   size_t errlen)
{
    static const char *const pragmas[] = {
        /* Before WAL: one process owns the database (a second cachetd on the same state_dir
         * fails at open instead of corrupting the authority), and no -shm file is needed. */
        "PRAGMA locking_mode = EXCLUSIVE",
        "PRAGMA journal_mode = WAL",   /* see store_sqlite.c for the durability argument */
        "PRAGMA synchronous = NORMAL", /* commits survive kill -9; fsync at checkpoints */
        /* Checkpoints stay at sqlite's default, every 1000 WAL pages (about 170 writes of a
         * 1.3 KB ticket): measured, a 4x or 10x larger WAL saved ~5% of the bytes written but
         * made the write that runs the checkpoint wait 3-5x longer (the event loop waits with
         * it). A WAL that one huge transaction grew is cut back after the next checkpoint. */
        "PRAGMA journal_size_limit = 8388608",
        "PRAGMA secure_delete = FAST", /* freed pages are zeroed when that costs no I/O */
        "PRAGMA trusted_schema = OFF", /* the schema's SQL gets no side-effect functions */
        /* Group commit runs every operation in a savepoint: its sub-journal (original page
         * images) stays in memory instead of a temporary file written page by page. */
        "PRAGMA temp_store = MEMORY",
    };
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    enum open_res res;
    char *v = NULL;
    int rc;

#ifdef SQLITE_OPEN_NOFOLLOW
    flags |= SQLITE_OPEN_NOFOLLOW;
#endif
    res = prepare_file(sq, why, err, errlen);
    if (res != OPEN_OK) {
        return res;
    }
    rc = sqlite3_open_v2(sq->path, &sq->db, flags, NULL);
    if (rc != SQLITE_OK) {
        return store_sqlite_classify(sq, rc, "open", why, err, errlen);
    }
    sqlite3_extended_result_codes(sq->db, 1);
    for (size_t i = 0; i < sizeof(pragmas) / sizeof(pragmas[0]); i++) {
        rc = sqlite3_exec(sq->db, pragmas[i], NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            return store_sqlite_classify(sq, rc, pragmas[i], why, err, errlen);
        }
    }
    rc = query_text(sq, "PRAGMA journal_mode", &v);
    if (rc != SQLITE_OK || v == NULL || strcmp(v, "wal") != 0) {
        talloc_free(v);
        return rc != SQLITE_OK
                   ? store_sqlite_classify(sq, rc, "journal_mode", why, err, errlen)
                   : store_sqlite_classify(sq, SQLITE_IOERR, "cannot enable WAL", why, err, errlen);
    }
    talloc_free(v);
    /* Reads every page once: truncation and damaged pages show up here, before anything is
     * loaded, rather than half way through. */
    rc = query_text(sq, "PRAGMA quick_check(1)", &v);
    if (rc != SQLITE_OK) {
        return store_sqlite_classify(sq, rc, "integrity check", why, err, errlen);
    }
    if (v == NULL || strcmp(v, "ok") != 0) {
        *why = talloc_asprintf(sq, "integrity check: %s", v != NULL ? v : "no answer");
        talloc_free(v);
        return OPEN_BAD_FILE;
    }
    talloc_free(v);
    return setup_schema(sq, why, err, errlen);
}
