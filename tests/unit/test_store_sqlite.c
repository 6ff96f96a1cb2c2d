/* Unit tests of the sqlite backend (src/store/store_sqlite.c, store_crypt.c): a real sqlite
 * database in a temporary state directory, driven through the store API. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <talloc.h>
#include <tevent.h>
#include <unistd.h>

#include "common/util_buf.h"
#include "common/util_log.h"
#include "common/util_secmem.h"
#include "kcm/kcm_codec.h"
#include "store/store.h"
#include "store/store_crypt.h"
#include "store/store_sqlite.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

#define DB "cachet.sqlite"
/* Credential rows of a uid (schema 2: a credential row names its cache by id), and those of
 * no cache at all. */
#define CREDS_OF(uid) "creds WHERE cache_id IN (SELECT id FROM caches WHERE uid = " #uid ")"
#define ORPHAN_CREDS "creds WHERE cache_id NOT IN (SELECT id FROM caches)"

struct env {
    TALLOC_CTX *mem;
    struct tevent_context *ev; /* set: open with background decryption */
    char dir[PATH_MAX];       /* temporary root */
    char state[PATH_MAX + 8]; /* <dir>/state: the state_dir, not created in advance */
    const char *key_file;     /* NULL: <state>/master.key */
    struct store *st;
    struct store_sqlite *sq;
};

static const struct store_limits limits = { 1000, 1000, 100u * 1024 * 1024 };

/* ---- environment ---- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    chmod(path, 0700);
    return remove(path);
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    const char *tmp = getenv("TMPDIR");

    assert_non_null(e);
    snprintf(e->dir, sizeof(e->dir), "%s/cachet-sqlite-XXXXXX", tmp != NULL ? tmp : "/tmp");
    assert_non_null(mkdtemp(e->dir));
    snprintf(e->state, sizeof(e->state), "%s/state", e->dir);
    e->mem = talloc_new(NULL);
    unsetenv("CREDENTIALS_DIRECTORY");
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;

    talloc_free(e->sq);
    talloc_free(e->st);
    talloc_free(e->mem);
    unsetenv("CREDENTIALS_DIRECTORY");
    nftw(e->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(e);
    return 0;
}

static char *path_in(struct env *e, const char *dir, const char *name)
{
    return talloc_asprintf(e->mem, "%s/%s", dir, name);
}

static int try_open(struct env *e, char *err, size_t errlen)
{
    struct store_sqlite_options o = { .state_dir = e->state, .master_key_file = e->key_file,
                                      .ev = e->ev };

    assert_null(e->st);
    e->st = store_new(NULL, &limits);
    assert_non_null(e->st);
    return store_sqlite_open(NULL, e->st, &o, &e->sq, err, errlen);
}

static void open_db(struct env *e)
{
    char err[1024] = "";
    int ret = try_open(e, err, sizeof(err));

    if (ret != 0) {
        fail_msg("store_sqlite_open: %d %s", ret, err);
    }
}

/* Close: backend first (checkpoints the WAL), then the store. */
static void close_db(struct env *e)
{
    TALLOC_FREE(e->sq);
    TALLOC_FREE(e->st);
}

static void reopen(struct env *e)
{
    close_db(e);
    open_db(e);
}

static void write_file(const char *path, const void *p, size_t n, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static uint8_t *read_all(TALLOC_CTX *mem, const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    if (f == NULL) {
        *len = 0;
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = talloc_size(mem, n > 0 ? (size_t)n : 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void copy_file(struct env *e, const char *from, const char *to, mode_t mode)
{
    size_t n;
    uint8_t *p = read_all(e->mem, from, &n);

    assert_non_null(p);
    write_file(to, p, n, mode);
}

static size_t count_glob(const char *pattern)
{
    glob_t g;
    size_t n = 0;

    if (glob(pattern, 0, NULL, &g) == 0) {
        n = g.gl_pathc;
    }
    globfree(&g);
    return n;
}

/* Database files moved aside with this tag (their -wal/-shm companions not counted). */
static size_t count_moved(struct env *e, const char *tag)
{
    glob_t g;
    size_t n = 0;

    if (glob(talloc_asprintf(e->mem, "%s/%s.%s-*", e->state, DB, tag), 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            size_t len = strlen(g.gl_pathv[i]);
            n += len < 4 || (strcmp(g.gl_pathv[i] + len - 4, "-wal") != 0 &&
                             strcmp(g.gl_pathv[i] + len - 4, "-shm") != 0);
        }
    }
    globfree(&g);
    return n;
}

static void sql(struct env *e, const char *stmt)
{
    sqlite3 *db;
    char *msg = NULL;

    assert_int_equal(sqlite3_open(path_in(e, e->state, DB), &db), SQLITE_OK);
    if (sqlite3_exec(db, stmt, NULL, NULL, &msg) != SQLITE_OK) {
        fail_msg("%s: %s", stmt, msg);
    }
    sqlite3_close(db);
}

static long sql_int(struct env *e, const char *query)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    long v = -1;

    assert_int_equal(sqlite3_open(path_in(e, e->state, DB), &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, query, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW) {
        v = (long)sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

/* The first column of the first row of query, as text ("" if none). */
static char *sql_text(struct env *e, const char *query)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    char *v;

    assert_int_equal(sqlite3_open(path_in(e, e->state, DB), &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, query, -1, &s, NULL), SQLITE_OK);
    v = talloc_strdup(e->mem, sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL
                                  ? (const char *)sqlite3_column_text(s, 0)
                                  : "");
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

/* Flip one bit of the rec of the row of table selected by rowid_query. */
static void flip_rec(struct env *e, const char *table, const char *rowid_query, int at)
{
    long rowid = sql_int(e, rowid_query);
    sqlite3 *db;
    sqlite3_stmt *s;
    char *q;
    uint8_t *rec;
    int n;

    assert_true(rowid > 0);
    assert_int_equal(sqlite3_open(path_in(e, e->state, DB), &db), SQLITE_OK);
    q = talloc_asprintf(e->mem, "SELECT rec FROM %s WHERE rowid = %ld", table, rowid);
    assert_int_equal(sqlite3_prepare_v2(db, q, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    n = sqlite3_column_bytes(s, 0);
    assert_true(n > at);
    rec = talloc_memdup(e->mem, sqlite3_column_blob(s, 0), (size_t)n);
    sqlite3_finalize(s);
    rec[at] ^= 1;
    q = talloc_asprintf(e->mem, "UPDATE %s SET rec = ?1 WHERE rowid = %ld", table, rowid);
    assert_int_equal(sqlite3_prepare_v2(db, q, -1, &s, NULL), SQLITE_OK);
    sqlite3_bind_blob(s, 1, rec, n, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    sqlite3_close(db);
}

/* Run fn with stderr captured; returns what it wrote. */
static char *capture_stderr(struct env *e, void (*fn)(struct env *), struct env *arg)
{
    char *path = path_in(e, e->dir, "stderr.txt");
    int saved = dup(STDERR_FILENO);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    size_t n;
    char *out;

    assert_true(saved >= 0 && fd >= 0);
    fflush(stderr);
    dup2(fd, STDERR_FILENO);
    close(fd);
    fn(arg);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    out = (char *)read_all(e->mem, path, &n);
    out = talloc_strndup(e->mem, out != NULL ? out : "", n);
    fputs(out, stderr); /* keep it in the test log */
    return out;
}

static size_t count_lines_with(const char *text, const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

/* ---- KCM objects (MIT ccache v4 marshalling, kcm_codec.h) ---- */

/* "c1/c2@REALM" */
static void wr_princ(struct util_wr *wr, const char *s)
{
    const char *at = strrchr(s, '@');
    const char *slash = memchr(s, '/', (size_t)(at - s));
    const char *realm = at + 1;

    util_wr_i32(wr, 1);
    util_wr_u32(wr, slash != NULL ? 2 : 1);
    util_wr_u32(wr, (uint32_t)strlen(realm));
    util_wr_bytes(wr, realm, strlen(realm));
    if (slash != NULL) {
        util_wr_u32(wr, (uint32_t)(slash - s));
        util_wr_bytes(wr, s, (size_t)(slash - s));
        util_wr_u32(wr, (uint32_t)(at - slash - 1));
        util_wr_bytes(wr, slash + 1, (size_t)(at - slash - 1));
    } else {
        util_wr_u32(wr, (uint32_t)(at - s));
        util_wr_bytes(wr, s, (size_t)(at - s));
    }
}

static void wr_cred(struct util_wr *wr, const char *client, const char *server, const char *ticket)
{
    uint8_t key[32];

    memset(key, 0x77, sizeof(key));
    wr_princ(wr, client);
    wr_princ(wr, server);
    util_wr_u16(wr, 18);
    util_wr_u32(wr, sizeof(key));
    util_wr_bytes(wr, key, sizeof(key));
    util_wr_u32(wr, 1700000000);
    util_wr_u32(wr, 1700000000);
    util_wr_u32(wr, 4000000000u);
    util_wr_u32(wr, 0);
    util_wr_u8(wr, 0);
    util_wr_u32(wr, 0x40e10000);
    util_wr_u32(wr, 0); /* addresses */
    util_wr_u32(wr, 0); /* authdata */
    util_wr_u32(wr, (uint32_t)strlen(ticket));
    util_wr_bytes(wr, ticket, strlen(ticket));
    util_wr_u32(wr, 0); /* second ticket */
}

static struct kcm_princ *mk_princ(struct env *e, const char *s)
{
    uint8_t buf[1024];
    struct util_wr wr;
    struct kcm_princ *p = talloc(e->mem, struct kcm_princ);
    uint8_t *copy;

    util_wr_init(&wr, buf, sizeof(buf));
    wr_princ(&wr, s);
    assert_true(util_wr_ok(&wr));
    copy = talloc_memdup(e->mem, buf, wr.len);
    assert_true(kcm_princ_from_bytes(copy, wr.len, p));
    return p;
}

static struct kcm_cred *mk_cred(struct env *e, const char *client, const char *server,
                                const char *ticket)
{
    uint8_t buf[2048];
    struct util_wr wr;
    struct kcm_cred *c = talloc(e->mem, struct kcm_cred);
    uint8_t *copy;

    util_wr_init(&wr, buf, sizeof(buf));
    wr_cred(&wr, client, server, ticket);
    assert_true(util_wr_ok(&wr));
    copy = talloc_memdup(e->mem, buf, wr.len);
    assert_true(kcm_cred_from_bytes(copy, wr.len, c));
    return c;
}

/* REPLACE's credential region: n x (u32 len, cred); servers "svc<i>/h@R", tickets tag-<i>. */
static struct util_data mk_cred_list(struct env *e, const char *client, uint32_t n, const char *tag)
{
    uint8_t buf[16384];
    struct util_wr wr;
    struct util_data d;

    util_wr_init(&wr, buf, sizeof(buf));
    for (uint32_t i = 0; i < n; i++) {
        char server[64];
        char ticket[64];
        size_t at = wr.len;
        snprintf(server, sizeof(server), "svc%u/h@EXAMPLE.TEST", i);
        snprintf(ticket, sizeof(ticket), "%s-%u", tag, i);
        util_wr_u32(&wr, 0);
        wr_cred(&wr, client, server, ticket);
        util_put_be32(buf + at, (uint32_t)(wr.len - at - 4));
    }
    assert_true(util_wr_ok(&wr));
    d.p = talloc_memdup(e->mem, buf, wr.len);
    d.len = (uint32_t)wr.len;
    return d;
}

static struct store_owner *owner(struct env *e, uint32_t uid, uint32_t session, uint8_t boot)
{
    struct store_owner_key k;
    struct store_owner *o;

    memset(&k, 0, sizeof(k));
    k.uid = uid;
    k.session = session;
    memset(k.boot_id, boot, sizeof(k.boot_id));
    o = store_owner_get_or_create(e->st, &k);
    assert_non_null(o);
    return o;
}

static struct store_cache *init_cache(struct env *e, struct store_owner *o, const char *name,
                                      const char *princ)
{
    struct store_cache *c = NULL;

    assert_int_equal(store_cache_init(e->st, o, name, mk_princ(e, princ), &c), STORE_OK);
    return c;
}

static void add_cred(struct env *e, struct store_cache *c, const char *server, const char *ticket)
{
    char client[256];
    struct kcm_princ *p = &c->princ;

    /* client = the cache's principal */
    snprintf(client, sizeof(client), "%.*s@%.*s", (int)util_be32(p->comps.p), p->comps.p + 4,
             (int)p->realm.len, p->realm.p);
    assert_int_equal(store_cred_add(e->st, c, mk_cred(e, client, server, ticket)), STORE_OK);
}

/* ---- canonical dump of a whole store ---- */

struct owners {
    struct store_owner **v;
    size_t n;
};

static bool collect(struct store_owner *o, void *arg)
{
    struct owners *os = arg;

    if (o->ncaches == 0 && o->default_name == NULL) {
        return true; /* nothing persistent */
    }
    os->v = talloc_realloc(NULL, os->v, struct store_owner *, os->n + 1);
    os->v[os->n++] = o;
    return true;
}

static int owner_cmp(const void *a, const void *b)
{
    const struct store_owner *x = *(struct store_owner *const *)a;
    const struct store_owner *y = *(struct store_owner *const *)b;

    if (x->key.uid != y->key.uid) {
        return x->key.uid < y->key.uid ? -1 : 1;
    }
    if (x->key.session != y->key.session) {
        return x->key.session < y->key.session ? -1 : 1;
    }
    return memcmp(x->key.boot_id, y->key.boot_id, STORE_BOOT_ID_LEN);
}

/* The owners that have anything persistent, in key order (os->v: free with talloc_free). */
static void sorted_owners(struct env *e, struct owners *os)
{
    os->v = NULL;
    os->n = 0;
    store_foreach_owner(e->st, collect, os);
    if (os->n > 0) {
        qsort(os->v, os->n, sizeof(os->v[0]), owner_cmp);
    }
}

static char *hex(TALLOC_CTX *mem, const uint8_t *p, size_t n)
{
    char *s = talloc_array(mem, char, 2 * n + 1);

    for (size_t i = 0; i < n; i++) {
        snprintf(s + 2 * i, 3, "%02x", p[i]);
    }
    s[2 * n] = '\0';
    return s;
}

static char *dump(struct env *e)
{
    struct owners os;
    char *s = talloc_strdup(e->mem, "");

    sorted_owners(e, &os);
    for (size_t i = 0; i < os.n; i++) {
        struct store_owner *o = os.v[i];
        s = talloc_asprintf_append(
            s, "owner %u/%u/%s default=%s caches=%zu bytes=%zu\n", o->key.uid, o->key.session,
            hex(s, o->key.boot_id, STORE_BOOT_ID_LEN),
            o->default_name != NULL ? o->default_name : "-", o->ncaches, o->bytes);
        for (struct store_cache *c = o->caches; c != NULL; c = c->next) {
            s = talloc_asprintf_append(s, "  cache %s uuid=%s offset=%d princ=%s creds=%zu\n",
                                       c->name, hex(s, c->uuid, STORE_UUID_LEN), c->kdc_offset,
                                       hex(s, c->princ_blob->p, c->princ_blob->len), c->ncreds);
            for (struct store_cred *cr = c->creds; cr != NULL; cr = cr->next) {
                s = talloc_asprintf_append(
                    s, "    cred %s seq=%llu %s\n", hex(s, cr->uuid, STORE_UUID_LEN),
                    (unsigned long long)cr->seq, hex(s, cr->blob->p, cr->blob->len));
            }
        }
    }
    talloc_free(os.v);
    return s;
}

static void assert_same(const char *want, const char *got)
{
    if (strcmp(want, got) != 0) {
        fail_msg("store differs\n--- expected ---\n%s--- got ---\n%s", want, got);
    }
}

/* Every cache's and credential's row id as memory has them, owner by owner: "uid/session
 * cache:cred,cred" lines, in the order of the disk query below. */
static char *rows_text(struct env *e)
{
    struct owners os;
    char *s = talloc_strdup(e->mem, "");

    sorted_owners(e, &os);
    for (size_t i = 0; i < os.n; i++) {
        for (struct store_cache *c = os.v[i]->caches; c != NULL; c = c->next) {
            s = talloc_asprintf_append(s, "%s%u/%u %lld:", s[0] != '\0' ? "\n" : "",
                                       os.v[i]->key.uid, os.v[i]->key.session, (long long)c->row);
            for (struct store_cred *cr = c->creds; cr != NULL; cr = cr->next) {
                s = talloc_asprintf_append(s, "%s%lld", cr == c->creds ? "" : ",",
                                           (long long)cr->row);
            }
        }
    }
    talloc_free(os.v);
    return s;
}

/* Memory's row ids are the disk's, in creation order, and no credential row is left without
 * its cache. Closes the database. */
static void assert_rows_on_disk(struct env *e)
{
    char *want = rows_text(e);

    close_db(e);
    assert_same(want, sql_text(e, "SELECT group_concat(line, char(10)) FROM (SELECT k.uid || '/' "
                                  "|| k.session || ' ' || k.id || ':' || IFNULL((SELECT "
                                  "group_concat(id, ',') FROM (SELECT id FROM creds c WHERE "
                                  "c.cache_id = k.id ORDER BY id)), '') AS line FROM caches k "
                                  "ORDER BY k.uid, k.session, k.boot_id, k.id)"));
    assert_int_equal(sql_int(e, "SELECT count(*) FROM " ORPHAN_CREDS), 0);
}

static bool has_ticket(struct store_cache *c, const char *ticket)
{
    for (struct store_cred *cr = c->creds; cr != NULL; cr = cr->next) {
        if (cr->v.ticket.len == strlen(ticket) &&
            memcmp(cr->v.ticket.p, ticket, cr->v.ticket.len) == 0) {
            return true;
        }
    }
    return false;
}

/* A populated store: every mutation kind, two owners (one session-bound). */
static void populate(struct env *e)
{
    struct store_owner *a = owner(e, 1000, 0, 0);
    struct store_owner *b = owner(e, 1001, 7, 0x11);
    struct store_cache *c;
    struct store_cache *p;
    struct kcm_mcred m;

    c = init_cache(e, a, "1000", "alice@EXAMPLE.TEST");
    add_cred(e, c, "krbtgt/EXAMPLE.TEST@EXAMPLE.TEST", "tgt-alice");
    add_cred(e, c, "host/a.example.test@EXAMPLE.TEST", "host-a-1");
    add_cred(e, c, "host/b.example.test@EXAMPLE.TEST", "host-b");
    add_cred(e, c, "host/a.example.test@EXAMPLE.TEST", "host-a-2"); /* replaces host-a-1 */
    assert_int_equal(store_set_offset(e->st, c, -3), STORE_OK);
    memset(&m, 0, sizeof(m));
    m.fields = KCM_SC_SERVER;
    m.c.server = *mk_princ(e, "host/b.example.test@EXAMPLE.TEST");
    assert_int_equal(store_cred_remove(e->st, c, 0, &m), STORE_OK);

    /* P, Q, R created in that order; MOVE P -> R: P (renamed R) keeps its place before Q. */
    p = init_cache(e, a, "1000:p", "bob@EXAMPLE.TEST");
    add_cred(e, p, "krbtgt/EXAMPLE.TEST@EXAMPLE.TEST", "tgt-bob");
    c = init_cache(e, a, "1000:q", "carol@EXAMPLE.TEST");
    add_cred(e, c, "krbtgt/EXAMPLE.TEST@EXAMPLE.TEST", "tgt-carol");
    c = init_cache(e, a, "1000:r", "dave@EXAMPLE.TEST");
    add_cred(e, c, "krbtgt/EXAMPLE.TEST@EXAMPLE.TEST", "tgt-dave");
    assert_int_equal(store_cache_move(e->st, p, "1000:r"), STORE_OK);
    /* Re-initialise Q: credentials go, principal changes. */
    c = init_cache(e, a, "1000:q", "erin@EXAMPLE.TEST");
    add_cred(e, c, "krbtgt/EXAMPLE.TEST@EXAMPLE.TEST", "tgt-erin");
    c = init_cache(e, a, "1000:gone", "frank@EXAMPLE.TEST");
    add_cred(e, c, "krbtgt/EXAMPLE.TEST@EXAMPLE.TEST", "tgt-frank");
    assert_int_equal(store_cache_destroy(e->st, c), STORE_OK);
    assert_int_equal(store_set_default(e->st, a, "1000:q"), STORE_OK);

    assert_int_equal(store_cache_replace(e->st, b, "1001:r", mk_princ(e, "alice@EXAMPLE.TEST"), 12,
                                         3, mk_cred_list(e, "alice@EXAMPLE.TEST", 3, "r1")),
                     STORE_OK);
    assert_int_equal(store_cache_replace(e->st, b, "1001:r", mk_princ(e, "alice@EXAMPLE.TEST"), -1,
                                         2, mk_cred_list(e, "alice@EXAMPLE.TEST", 2, "r2")),
                     STORE_OK);
    assert_int_equal(store_set_default(e->st, b, "1001:r"), STORE_OK);
}

/* ---- tests ---- */

static void test_roundtrip(void **state)
{
    struct env *e = *state;
    struct stat sb;
    char *before;
    struct store_owner *a;

    open_db(e);
    assert_int_equal(stat(e->state, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0700);
    assert_int_equal(stat(path_in(e, e->state, "master.key"), &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_int_equal(sb.st_size, 32);
    populate(e);
    assert_int_equal(stat(path_in(e, e->state, DB), &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    before = dump(e);

    a = store_owner_get_or_create(e->st, &(struct store_owner_key){ .uid = 1000 });
    assert_string_equal(a->caches->name, "1000");
    assert_string_equal(a->caches->next->name, "1000:r");
    assert_string_equal(a->caches->next->next->name, "1000:q");

    reopen(e);
    assert_same(before, dump(e));

    /* The store freed before its backend: the backend must not touch it afterwards. */
    TALLOC_FREE(e->st);
    TALLOC_FREE(e->sq);
    open_db(e);
    assert_same(before, dump(e));

    /* Removing an owner removes its default name too. */
    a = owner(e, 1000, 0, 0);
    assert_int_equal(store_owner_remove(e->st, a), STORE_OK);
    before = dump(e);
    reopen(e);
    assert_same(before, dump(e));
    assert_null(store_owner_get(e->st, &(struct store_owner_key){ .uid = 1000 }));
    close_db(e);
    assert_int_equal(sql_int(e, "SELECT count(*) FROM defaults WHERE uid = 1000"), 0);
    assert_int_equal(sql_int(e, "SELECT count(*) FROM caches WHERE uid = 1000"), 0);
}

static long cred_rows(struct env *e, int64_t id)
{
    return sql_int(
        e, talloc_asprintf(e->mem, "SELECT count(*) FROM creds WHERE id = %lld", (long long)id));
}

/* Rows are addressed by id (schema 2): ids survive restarts, a deletion takes exactly the
 * rows of what memory deleted, and new rows get ids above every id on disk, so a cache created
 * after a restart comes last even if the newest cache before it was destroyed. */
static void test_row_ids(void **state)
{
    struct env *e = *state;
    struct store_owner *a;
    struct store_cache *c;
    struct kcm_mcred m;
    char *rows;
    int64_t gone;
    int64_t kept;

    open_db(e);
    populate(e);
    rows = rows_text(e);
    assert_rows_on_disk(e);
    open_db(e);
    assert_same(rows, rows_text(e));

    /* One credential, then a whole cache (the middle one): by id, nothing else. */
    a = owner(e, 1000, 0, 0);
    c = a->caches->next;
    assert_true(c->ncreds >= 1);
    gone = c->creds->row;
    memset(&m, 0, sizeof(m));
    m.fields = KCM_SC_SERVER;
    m.c.server = *mk_princ(e, "krbtgt/EXAMPLE.TEST@EXAMPLE.TEST");
    assert_int_equal(store_cred_remove(e->st, c, 0, &m), STORE_OK);
    kept = a->caches->creds->row;
    assert_int_equal(store_cache_destroy(e->st, a->caches->next->next), STORE_OK);
    assert_rows_on_disk(e);
    assert_int_equal(cred_rows(e, gone), 0);
    assert_int_equal(cred_rows(e, kept), 1);

    /* The newest cache destroyed, then a restart: the next cache still comes last. */
    open_db(e);
    a = owner(e, 1000, 0, 0);
    c = init_cache(e, a, "1000:newest", "zoe@EXAMPLE.TEST");
    add_cred(e, c, "krbtgt/EXAMPLE.TEST@EXAMPLE.TEST", "tgt-zoe");
    assert_int_equal(store_cache_destroy(e->st, c), STORE_OK);
    reopen(e);
    a = owner(e, 1000, 0, 0);
    c = init_cache(e, a, "1000:after", "yves@EXAMPLE.TEST");
    add_cred(e, c, "krbtgt/EXAMPLE.TEST@EXAMPLE.TEST", "tgt-yves");
    assert_ptr_equal(a->caches_tail, c);
    for (struct store_cache *x = a->caches; x != c; x = x->next) {
        assert_true(x->row < c->row);
    }
    assert_rows_on_disk(e);
    open_db(e);
    assert_string_equal(owner(e, 1000, 0, 0)->caches_tail->name, "1000:after");
}

/* A store operation fails in the middle of its transaction (a trigger makes the 4th
 * credential insert fail): memory and disk both stay as they were. */
static void test_replace_failure_rolls_back(void **state)
{
    struct env *e = *state;
    struct store_owner *o;
    struct store_cache *c;
    char *before;

    open_db(e);
    o = owner(e, 1000, 0, 0);
    c = init_cache(e, o, "1000", "alice@EXAMPLE.TEST");
    add_cred(e, c, "krbtgt/EXAMPLE.TEST@EXAMPLE.TEST", "tgt-1");
    add_cred(e, c, "host/a@EXAMPLE.TEST", "host-a");
    close_db(e);
    sql(e, "CREATE TRIGGER inject BEFORE INSERT ON creds WHEN (SELECT count(*) FROM creds) >= 3 "
           "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
    open_db(e);
    before = dump(e);
    o = owner(e, 1000, 0, 0);

    /* Existing cache: del_creds, put_cache and three put_creds succeed, the fourth fails. */
    assert_int_equal(store_cache_replace(e->st, o, "1000", mk_princ(e, "bob@EXAMPLE.TEST"), 5, 5,
                                         mk_cred_list(e, "bob@EXAMPLE.TEST", 5, "new")),
                     STORE_IO);
    assert_same(before, dump(e));
    /* New cache: nothing may appear. */
    assert_int_equal(store_cache_replace(e->st, o, "1000:new", mk_princ(e, "bob@EXAMPLE.TEST"), 0,
                                         5, mk_cred_list(e, "bob@EXAMPLE.TEST", 5, "new")),
                     STORE_IO);
    assert_same(before, dump(e));
    assert_null(store_cache_find(o, "1000:new"));

    /* The connection is usable afterwards. */
    c = store_cache_find(o, "1000");
    assert_int_equal(store_set_offset(e->st, c, 9), STORE_OK);
    before = dump(e);
    close_db(e);
    sql(e, "DROP TRIGGER inject");
    open_db(e);
    assert_same(before, dump(e));
    assert_int_equal(store_cache_find(owner(e, 1000, 0, 0), "1000")->ncreds, 2);
}

/* Let the WAL not grow any more (RLIMIT_FSIZE at its current size; SIGXFSZ ignored), so the
 * next COMMIT that needs to append fails; *old gets the limit wal_thaw() puts back. */
static void wal_freeze(struct env *e, struct rlimit *old)
{
    struct rlimit lim;
    struct stat sb;

    assert_int_equal(stat(path_in(e, e->state, DB "-wal"), &sb), 0);
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, old), 0);
    lim = *old;
    lim.rlim_cur = (rlim_t)sb.st_size;
    fflush(stdout);
    fflush(stderr);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
}

static void wal_thaw(const struct rlimit *old)
{
    assert_int_equal(setrlimit(RLIMIT_FSIZE, old), 0);
    signal(SIGXFSZ, SIG_DFL);
}

/* COMMIT itself fails (the WAL cannot grow: RLIMIT_FSIZE), memory stays unchanged and the
 * rollback leaves a database that still has the old contents. */
static void test_commit_failure(void **state)
{
    struct env *e = *state;
    struct store_owner *o;
    struct store_cache *c;
    struct rlimit old;
    char *before;
    enum store_rc rc1;
    enum store_rc rc2;
    enum store_rc rc3;

    open_db(e);
    o = owner(e, 1000, 0, 0);
    c = init_cache(e, o, "1000", "alice@EXAMPLE.TEST");
    add_cred(e, c, "krbtgt/EXAMPLE.TEST@EXAMPLE.TEST", "tgt-1");
    before = dump(e);
    wal_freeze(e, &old);
    rc1 = store_cache_replace(e->st, o, "1000", mk_princ(e, "bob@EXAMPLE.TEST"), 5, 3,
                              mk_cred_list(e, "bob@EXAMPLE.TEST", 3, "new"));
    rc2 = store_cache_destroy(e->st, c);
    rc3 = store_set_default(e->st, o, "1000:other");
    wal_thaw(&old);

    assert_int_equal(rc1, STORE_IO);
    assert_int_equal(rc2, STORE_IO);
    assert_int_equal(rc3, STORE_IO);
    assert_same(before, dump(e));

    /* Writes work again once the disk has room. */
    add_cred(e, c, "host/a@EXAMPLE.TEST", "host-a");
    before = dump(e);
    reopen(e);
    assert_same(before, dump(e));
}

static void do_open(struct env *e)
{
    open_db(e);
}

static void test_corrupt_file_moved_aside(void **state)
{
    struct env *e = *state;
    char junk[8192];
    char *db = path_in(e, e->state, DB);
    char *log;
    size_t n;
    uint8_t *moved;
    glob_t g;

    assert_int_equal(mkdir(e->state, 0700), 0);
    for (size_t i = 0; i < sizeof(junk); i++) {
        junk[i] = (char)("not a database "[i % 15]);
    }
    write_file(db, junk, sizeof(junk), 0600);
    write_file(path_in(e, e->state, DB "-wal"), junk, 100, 0600);

    log = capture_stderr(e, do_open, e);
    assert_int_equal(count_lines_with(log, "moved it aside to"), 1);
    assert_non_null(strstr(log, "starting with an empty store"));
    assert_same("", dump(e));

    /* The bad file and its WAL are kept, byte for byte, under the new name. */
    assert_int_equal(glob(path_in(e, e->state, DB ".corrupt-*Z"), 0, NULL, &g), 0);
    assert_int_equal(g.gl_pathc, 1);
    moved = read_all(e->mem, g.gl_pathv[0], &n);
    assert_int_equal(n, sizeof(junk));
    assert_memory_equal(moved, junk, n);
    assert_int_equal(count_glob(path_in(e, e->state, DB ".corrupt-*Z-wal")), 1);
    globfree(&g);

    /* And the daemon keeps serving, durably. */
    init_cache(e, owner(e, 1000, 0, 0), "1000", "alice@EXAMPLE.TEST");
    reopen(e);
    assert_non_null(store_cache_find(owner(e, 1000, 0, 0), "1000"));
}

static void test_truncated_file_moved_aside(void **state)
{
    struct env *e = *state;
    char *db = path_in(e, e->state, DB);
    struct stat sb;

    open_db(e);
    for (int i = 0; i < 20; i++) {
        char name[32];
        struct store_cache *c;
        snprintf(name, sizeof(name), "1000:%d", i);
        c = init_cache(e, owner(e, 1000, 0, 0), name, "alice@EXAMPLE.TEST");
        add_cred(e, c, "krbtgt/EXAMPLE.TEST@EXAMPLE.TEST", "a-fairly-long-ticket-to-need-pages");
    }
    close_db(e);
    assert_int_equal(stat(db, &sb), 0);
    assert_true(sb.st_size > 3 * 4096);
    assert_int_equal(truncate(db, sb.st_size / 2), 0);
    open_db(e);
    assert_same("", dump(e));
    assert_int_equal(count_moved(e, "corrupt"), 1);

    /* Truncated to nothing. */
    init_cache(e, owner(e, 1000, 0, 0), "1000", "alice@EXAMPLE.TEST");
    close_db(e);
    assert_int_equal(truncate(db, 0), 0);
    open_db(e);
    assert_same("", dump(e));
    assert_int_equal(count_moved(e, "corrupt"), 2);

    /* Missing: a fresh database, nothing to move. */
    close_db(e);
    assert_int_equal(unlink(db), 0);
    open_db(e);
    assert_same("", dump(e));
    assert_int_equal(count_moved(e, "corrupt"), 2);
}

static void test_tampered_rows_dropped(void **state)
{
    struct env *e = *state;
    struct store_owner *o;
    struct store_cache *c1;
    struct store_cache *c2;
    char *log;

    open_db(e);
    o = owner(e, 1000, 0, 0);
    c1 = init_cache(e, o, "1000", "alice@EXAMPLE.TEST");
    add_cred(e, c1, "krbtgt/EXAMPLE.TEST@EXAMPLE.TEST", "c1-tgt");
    add_cred(e, c1, "host/flip@EXAMPLE.TEST", "c1-flip");
    add_cred(e, c1, "host/keep@EXAMPLE.TEST", "c1-keep");
    c2 = init_cache(e, o, "1000:two", "bob@EXAMPLE.TEST");
    add_cred(e, c2, "host/x@EXAMPLE.TEST", "c2-x");
    add_cred(e, c2, "host/y@EXAMPLE.TEST", "c2-y");
    add_cred(e, c2, "host/z@EXAMPLE.TEST", "c2-z");
    c1 = init_cache(e, owner(e, 1002, 0, 0), "1002", "carol@EXAMPLE.TEST");
    add_cred(e, c1, "krbtgt/EXAMPLE.TEST@EXAMPLE.TEST", "c3-tgt");
    assert_int_equal(store_set_default(e->st, o, "1000:two"), STORE_OK);
    close_db(e);

    /* Flip one ciphertext bit of the 2nd credential (rows are in insertion order). */
    flip_rec(e, "creds", "SELECT rowid FROM creds ORDER BY rowid LIMIT 1 OFFSET 1", 30);
    /* Swap the ciphertexts of two credentials of cache "1000:two" (x and y). */
    sql(e, "CREATE TEMP TABLE t AS SELECT rowid AS r, rec FROM creds ORDER BY rowid "
           "LIMIT 2 OFFSET 3;"
           "UPDATE creds SET rec = (SELECT rec FROM t WHERE r != creds.rowid) "
           "WHERE rowid IN (SELECT r FROM t)");
    /* Move uid 1002's cache record onto uid 1000's default row. */
    sql(e, "UPDATE defaults SET rec = (SELECT rec FROM caches WHERE uid = 1002)");

    log = capture_stderr(e, do_open, e);
    assert_int_equal(count_lines_with(log, "dropping"), 4);
    assert_non_null(strstr(log, "integrity check failed"));
    assert_non_null(strstr(log, "belongs to another row"));
    o = owner(e, 1000, 0, 0);
    c1 = store_cache_find(o, "1000");
    c2 = store_cache_find(o, "1000:two");
    assert_non_null(c1);
    assert_non_null(c2);
    assert_int_equal(c1->ncreds, 2);
    assert_true(has_ticket(c1, "c1-tgt") && has_ticket(c1, "c1-keep"));
    assert_false(has_ticket(c1, "c1-flip"));
    assert_int_equal(c2->ncreds, 1);
    assert_true(has_ticket(c2, "c2-z"));
    assert_null(o->default_name);
    assert_int_equal(store_cache_find(owner(e, 1002, 0, 0), "1002")->ncreds, 1);

    /* Dropped rows are gone from disk: the next start is quiet. */
    close_db(e);
    assert_int_equal(sql_int(e, "SELECT count(*) FROM creds"), 4);
    assert_int_equal(sql_int(e, "SELECT count(*) FROM defaults"), 0);
    log = capture_stderr(e, do_open, e);
    assert_int_equal(count_lines_with(log, "dropping"), 0);

    /* A whole cache row that does not decrypt takes its credentials with it. */
    close_db(e);
    sql(e, "UPDATE caches SET rec = zeroblob(length(rec)) WHERE uid = 1002");
    open_db(e);
    assert_null(store_cache_find(owner(e, 1002, 0, 0), "1002"));
    close_db(e);
    assert_int_equal(sql_int(e, "SELECT count(*) FROM creds"), 3); /* 1002's went with it */
}

/* Put tests/data/<name>.sqlite in place as the database, opened with <name>.key. */
static void use_fixture(struct env *e, const char *name)
{
    assert_int_equal(mkdir(e->state, 0700), 0);
    copy_file(e, talloc_asprintf(e->mem, "%s/%s.sqlite", TEST_DATA_DIR, name),
              path_in(e, e->state, DB), 0600);
    e->key_file = path_in(e, e->dir, "fixture.key");
    copy_file(e, talloc_asprintf(e->mem, "%s/%s.key", TEST_DATA_DIR, name), e->key_file, 0600);
}

/* A fixture's cache: name, uuid (16 x id), principal, offset, credential count. */
static void check_cache(struct env *e, const struct store_cache *c, const char *name, uint8_t id,
                        const char *princ, int32_t offset, size_t ncreds)
{
    assert_non_null(c);
    assert_string_equal(c->name, name);
    assert_int_equal(c->uuid[0], id);
    assert_int_equal(c->uuid[STORE_UUID_LEN - 1], id);
    assert_true(kcm_princ_eq(&c->princ, mk_princ(e, princ)));
    assert_int_equal(c->kdc_offset, offset);
    assert_int_equal(c->ncreds, ncreds);
}

/* A credential of a fixture: uuid (16 x id) and ticket. */
static void check_cred(const struct store_cred *cr, uint8_t id, const char *ticket)
{
    assert_non_null(cr);
    assert_int_equal(cr->uuid[0], id);
    assert_int_equal(cr->v.ticket.len, strlen(ticket));
    assert_memory_equal(cr->v.ticket.p, ticket, cr->v.ticket.len);
}

static void test_v0_fixture_upgrade(void **state)
{
    static const uint8_t zero[STORE_BOOT_ID_LEN];
    struct env *e = *state;
    struct store_owner *o;
    struct store_cache *c;
    char *before;

    use_fixture(e, "store-v0");
    assert_int_equal(sql_int(e, "PRAGMA user_version"), 0);

    open_db(e);
    o = owner(e, 1000, 0, 0);
    assert_memory_equal(o->key.boot_id, zero, STORE_BOOT_ID_LEN);
    assert_int_equal(o->ncaches, 2);
    assert_string_equal(o->default_name, "1000:v0second");
    /* Creation (rowid) order, not uuid order. */
    c = o->caches;
    check_cache(e, c, "1000", 0xaa, "alice@V0.TEST", 0, 2);
    check_cred(c->creds, 0xf0, "v0-ticket-alice-V0.TEST");
    check_cred(c->creds->next, 0x01, "v0-ticket-alice-db.v0.test");
    check_cache(e, c->next, "1000:v0second", 0x0b, "bob@V0.TEST", -5, 1);
    check_cred(c->next->creds, 0x02, "v0-ticket-bob-V0.TEST");

    o = owner(e, 1001, 42, 0);
    assert_int_equal(o->ncaches, 1);
    check_cache(e, o->caches, "1001", 0xcc, "carol@V0.TEST", 7, 1);
    check_cred(o->caches->creds, 0x03, "v0-ticket-carol-V0.TEST");

    /* Upgraded on disk; new records (format 2) mix with migrated ones (format 1). */
    add_cred(e, o->caches, "host/new@V0.TEST", "after-upgrade");
    assert_int_equal(store_cache_move(e->st, owner(e, 1000, 0, 0)->caches, "1000:moved"), STORE_OK);
    before = dump(e);
    assert_rows_on_disk(e);
    assert_int_equal(sql_int(e, "PRAGMA user_version"), 2);
    assert_int_equal(sql_int(e, "SELECT count(*) FROM meta"), 1);
    open_db(e);
    assert_same(before, dump(e));
    assert_string_equal(owner(e, 1000, 0, 0)->caches->name, "1000:moved");
}

/* The version 1 fixture (tests/data/make-store-v1.c: rows inserted out of pos and seq order, a
 * credential of no cache, a session-bound owner): upgraded in place, every cache, credential
 * and default name found, in order, and the store goes on from there. */
static void test_v1_fixture_upgrade(void **state)
{
    struct env *e = *state;
    struct store_owner *o;
    struct store_cache *c;
    char *before;

    use_fixture(e, "store-v1");
    assert_int_equal(sql_int(e, "PRAGMA user_version"), 1);

    open_db(e);
    o = owner(e, 1000, 0, 0);
    assert_int_equal(o->ncaches, 3);
    assert_string_equal(o->default_name, "1000:third");
    c = o->caches; /* pos order */
    check_cache(e, c, "1000", 0xaa, "alice@V1.TEST", 0, 2);
    check_cred(c->creds, 0x01, "v1-ticket-alice-db.v1.test"); /* seq order */
    check_cred(c->creds->next, 0xf0, "v1-ticket-alice-V1.TEST");
    assert_int_equal(c->creds->seq, 0);
    assert_int_equal(c->creds->next->seq, 1);
    c = c->next;
    check_cache(e, c, "1000:third", 0x0c, "dave@V1.TEST", 3, 1);
    check_cred(c->creds, 0x04, "v1-ticket-dave-V1.TEST");
    assert_int_equal(c->creds->seq, 7);
    c = c->next;
    check_cache(e, c, "1000:second", 0x0b, "bob@V1.TEST", -5, 1);
    check_cred(c->creds, 0x02, "v1-ticket-bob-V1.TEST");

    o = owner(e, 1001, 42, 0x42);
    assert_int_equal(o->ncaches, 1);
    assert_string_equal(o->default_name, "1001");
    check_cache(e, o->caches, "1001", 0xcc, "carol@V1.TEST", 7, 1);
    check_cred(o->caches->creds, 0x03, "v1-ticket-carol-V1.TEST");

    /* On disk: version 2, ids in creation order, the credential of no cache and the version 1
     * tables gone, the key check kept. */
    before = dump(e);
    assert_rows_on_disk(e);
    assert_int_equal(sql_int(e, "PRAGMA user_version"), 2);
    assert_string_equal(sql_text(e, "SELECT group_concat(hex(substr(uuid, 1, 1)), '') FROM "
                                    "(SELECT uuid FROM caches ORDER BY id)"),
                        "AACC0C0B");
    assert_int_equal(sql_int(e, "SELECT count(*) FROM creds"), 5);
    assert_int_equal(sql_int(e, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%v1%'"), 0);
    assert_int_equal(sql_int(e, "SELECT count(*) FROM meta WHERE key = 'keycheck'"), 1);

    /* New rows come after the migrated ones, in memory and after a restart. */
    open_db(e);
    assert_same(before, dump(e));
    o = owner(e, 1000, 0, 0);
    c = init_cache(e, o, "1000:new", "erin@V1.TEST");
    add_cred(e, c, "krbtgt/V1.TEST@V1.TEST", "after-upgrade");
    add_cred(e, o->caches, "host/new@V1.TEST", "after-upgrade-2");
    assert_ptr_equal(o->caches_tail, c);
    before = dump(e);
    assert_rows_on_disk(e);
    open_db(e);
    assert_same(before, dump(e));
    assert_string_equal(owner(e, 1000, 0, 0)->caches_tail->name, "1000:new");
}

static void test_credentials_directory(void **state)
{
    struct env *e = *state;
    char *cd = path_in(e, e->dir, "creds");
    char *unused = path_in(e, e->dir, "configured.key");
    char *copy = path_in(e, e->dir, "copy.key");
    char *before;
    char err[1024];

    assert_int_equal(mkdir(cd, 0700), 0);
    copy_file(e, TEST_DATA_DIR "/store-v0.key", path_in(e, cd, "cachet-master-key"), 0400);
    setenv("CREDENTIALS_DIRECTORY", cd, 1);
    e->key_file = unused; /* the systemd credential wins over the configuration */
    open_db(e);
    populate(e);
    before = dump(e);
    reopen(e);
    assert_same(before, dump(e));
    close_db(e);
    assert_false(access(unused, F_OK) == 0);
    assert_false(access(path_in(e, e->state, "master.key"), F_OK) == 0);

    /* The same key from a key file opens the same database. */
    unsetenv("CREDENTIALS_DIRECTORY");
    copy_file(e, TEST_DATA_DIR "/store-v0.key", copy, 0600);
    e->key_file = copy;
    open_db(e);
    assert_same(before, dump(e));
    close_db(e);

    /* A readable-by-others key file is refused, clearly. */
    chmod(copy, 0644);
    assert_int_equal(try_open(e, err, sizeof(err)), EPERM);
    assert_non_null(strstr(err, "chmod 600"));
    TALLOC_FREE(e->st);

    /* Set, but without our credential: falls back to the key file. */
    chmod(copy, 0600);
    assert_int_equal(unlink(path_in(e, cd, "cachet-master-key")), 0);
    setenv("CREDENTIALS_DIRECTORY", cd, 1);
    open_db(e);
    assert_same(before, dump(e));
}

static void test_missing_key_moves_db_aside(void **state)
{
    struct env *e = *state;
    char *log;

    open_db(e);
    populate(e);
    close_db(e);
    assert_int_equal(unlink(path_in(e, e->state, "master.key")), 0);
    log = capture_stderr(e, do_open, e);
    assert_int_equal(count_lines_with(log, "moved it aside to"), 1);
    assert_non_null(strstr(log, "was the key lost?"));
    assert_same("", dump(e));
    assert_int_equal(count_moved(e, "badkey"), 1);
    init_cache(e, owner(e, 1000, 0, 0), "1000", "alice@EXAMPLE.TEST");
    reopen(e);
    assert_non_null(store_cache_find(owner(e, 1000, 0, 0), "1000"));
}

static bool contains(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
    for (size_t i = 0; m <= n && i <= n - m; i++) {
        if (memcmp(hay + i, needle, m) == 0) {
            return true;
        }
    }
    return false;
}

static void assert_no_plaintext(struct env *e, const uint8_t *key, const char **markers)
{
    static const char *const files[] = { DB, DB "-wal", DB "-shm" };
    size_t nfiles = 0;

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t n;
        uint8_t *p = read_all(e->mem, path_in(e, e->state, files[i]), &n);
        if (p == NULL) {
            continue;
        }
        nfiles++;
        if (contains(p, n, key, 32)) {
            fail_msg("master key found in %s", files[i]);
        }
        for (const char **m = markers; *m != NULL; m++) {
            if (contains(p, n, *m, strlen(*m))) {
                fail_msg("'%s' found in plaintext in %s", *m, files[i]);
            }
        }
    }
    assert_true(nfiles >= 1);
}

static void test_no_plaintext_on_disk(void **state)
{
    struct env *e = *state;
    const char *markers[] = { "PLAINTEXT-TICKET-MARKER-0123456789", "marker-principal",
                              "MARKER.REALM", "1000:secret-cache-name", NULL };
    struct store_cache *c;
    size_t klen;
    uint8_t *key;

    open_db(e);
    key = read_all(e->mem, path_in(e, e->state, "master.key"), &klen);
    assert_int_equal(klen, 32);
    c = init_cache(e, owner(e, 1000, 0, 0), "1000:secret-cache-name",
                   "marker-principal@MARKER.REALM");
    add_cred(e, c, "krbtgt/MARKER.REALM@MARKER.REALM", "PLAINTEXT-TICKET-MARKER-0123456789");
    assert_int_equal(store_set_default(e->st, owner(e, 1000, 0, 0), "1000:secret-cache-name"),
                     STORE_OK);
    assert_no_plaintext(e, key, markers); /* while running: WAL */
    close_db(e);
    assert_no_plaintext(e, key, markers); /* checkpointed */
}

static void test_refusals(void **state)
{
    struct env *e = *state;
    char err[1024];
    char *db;

    /* Group/world-writable state directory. */
    assert_int_equal(mkdir(e->state, 0700), 0);
    assert_int_equal(chmod(e->state, 0777), 0);
    assert_int_equal(try_open(e, err, sizeof(err)), EPERM);
    assert_non_null(strstr(err, "writable by group or others"));
    TALLOC_FREE(e->st);
    assert_int_equal(chmod(e->state, 0755), 0);

    /* A key file of the wrong size. */
    e->key_file = path_in(e, e->dir, "short.key");
    write_file(e->key_file, "0123456789", 10, 0600);
    assert_int_equal(try_open(e, err, sizeof(err)), EINVAL);
    assert_non_null(strstr(err, "must hold 32 raw bytes or 64 hex digits"));
    TALLOC_FREE(e->st);
    e->key_file = NULL;

    /* A second backend on the same state_dir is refused, and nothing is moved aside. */
    open_db(e);
    init_cache(e, owner(e, 1000, 0, 0), "1000", "alice@EXAMPLE.TEST");
    {
        struct store *st2 = store_new(NULL, &limits);
        struct store_sqlite *sq2 = NULL;
        struct store_sqlite_options o = { .state_dir = e->state };
        assert_int_not_equal(store_sqlite_open(NULL, st2, &o, &sq2, err, sizeof(err)), 0);
        assert_non_null(strstr(err, "locked"));
        assert_null(sq2);
        talloc_free(st2);
    }
    db = path_in(e, e->state, DB ".*-*");
    assert_int_equal(count_glob(db), 0);
    reopen(e);
    assert_non_null(store_cache_find(owner(e, 1000, 0, 0), "1000"));
}

/* ---- loading in batches, decryption in threads ---- */

#define BIG_CACHES 12
#define BIG_CREDS 100 /* x BIG_CACHES: several batches by count (512) and by bytes (1 MiB) */

static char *big_ticket(struct env *e, int cache, int i)
{
    return talloc_asprintf(e->mem, "t-%d-%d-%01100d", cache, i, 0);
}

/* A store larger than a load batch, with damaged rows on batch boundaries: everything else
 * loads in order, the damaged rows (and the credentials of a damaged cache) are dropped. */
static void test_load_batches(void **state)
{
    struct env *e = *state;
    static const int flip[] = { 0, 511, 512, 1023, 1199 }; /* credential rows, by rowid order */
    struct store_owner *o;
    char *log;

    open_db(e);
    o = owner(e, 1000, 0, 0);
    for (int c = 0; c < BIG_CACHES; c++) {
        char *name = talloc_asprintf(e->mem, c == 0 ? "1000" : "1000:c%d", c);
        struct store_cache *cc = init_cache(e, o, name, "alice@EXAMPLE.TEST");
        for (int i = 0; i < BIG_CREDS; i++) {
            add_cred(e, cc, talloc_asprintf(e->mem, "svc%d/h@EXAMPLE.TEST", i),
                     big_ticket(e, c, i));
        }
    }
    close_db(e);
    for (size_t f = 0; f < sizeof(flip) / sizeof(flip[0]); f++) {
        flip_rec(e, "creds",
                 talloc_asprintf(e->mem, "SELECT rowid FROM creds ORDER BY rowid LIMIT 1 OFFSET %d",
                                 flip[f]),
                 40);
    }
    flip_rec(e, "caches", "SELECT rowid FROM caches ORDER BY rowid LIMIT 1 OFFSET 7", 40);

    log = capture_stderr(e, do_open, e);
    assert_int_equal(count_lines_with(log, "dropping"), 1 + 5); /* cache 7; none of its creds */
    assert_non_null(strstr(log, "dropped 100 credential records whose cache is gone"));
    o = owner(e, 1000, 0, 0);
    assert_int_equal(o->ncaches, BIG_CACHES - 1);
    for (int c = 0; c < BIG_CACHES; c++) {
        char *name = talloc_asprintf(e->mem, c == 0 ? "1000" : "1000:c%d", c);
        struct store_cache *cc = store_cache_find(o, name);
        struct store_cred *cr;
        uint64_t last = 0;
        if (c == 7) {
            assert_null(cc);
            continue;
        }
        assert_non_null(cc);
        /* In insertion order (row c * BIG_CREDS + i), the flipped ones missing. */
        cr = cc->creds;
        for (int i = 0; i < BIG_CREDS; i++) {
            bool flipped = false;
            char *want = big_ticket(e, c, i);
            for (size_t f = 0; f < sizeof(flip) / sizeof(flip[0]); f++) {
                flipped = flipped || flip[f] == c * BIG_CREDS + i;
            }
            if (flipped) {
                continue;
            }
            assert_non_null(cr);
            assert_int_equal(cr->v.ticket.len, strlen(want));
            assert_memory_equal(cr->v.ticket.p, want, strlen(want));
            assert_true(cr == cc->creds || cr->seq > last);
            last = cr->seq;
            cr = cr->next;
        }
        assert_null(cr);
    }
    /* What was dropped is gone from disk; what loaded loads again, identically. */
    log = dump(e);
    reopen(e);
    assert_same(log, dump(e));
    close_db(e);
    assert_int_equal(sql_int(e, "SELECT count(*) FROM creds"),
                     (BIG_CACHES - 1) * BIG_CREDS - 5);
}

/* The pool itself, with more threads than CPUs: every job decrypts (or fails) exactly as
 * store_crypt_open says, plaintexts land in secure memory. */
static void test_crypt_pool(void **state)
{
    struct env *e = *state;
    enum { N = 700 };
    struct store_crypt *sc = NULL;
    struct store_crypt_job *jobs = talloc_zero_array(e->mem, struct store_crypt_job, N);
    struct util_secbuf **ct = talloc_zero_array(e->mem, struct util_secbuf *, N);
    char err[256];

    assert_int_equal(mkdir(e->state, 0700), 0);
    assert_int_equal(store_crypt_new(e->mem, e->state, NULL, &sc, err, sizeof(err)), 0);
    for (int i = 0; i < N; i++) {
        struct store_rec r;
        memset(&r, 0, sizeof(r));
        r.type = STORE_REC_CRED;
        r.owner.uid = (uint32_t)i;
        r.blob.p = (const uint8_t *)big_ticket(e, i, i);
        r.blob.len = (uint32_t)strlen((const char *)r.blob.p) - (uint32_t)(i % 900);
        assert_int_equal(store_crypt_seal(sc, e->mem, &r, &ct[i]), 0);
        if (i % 97 == 5) {
            ct[i]->p[i % ct[i]->len] ^= 0x40;
        }
        jobs[i].ct = ct[i]->p;
        jobs[i].ctlen = i % 211 == 7 ? 0 : ct[i]->len;
    }
    for (unsigned threads = 0; threads <= 5; threads += 5) {
        /* 1 worker, and the odd units never queued (decrypted by store_crypt_pool_finish);
         * 5 workers: most units by workers, the last ones perhaps taken over. */
        struct store_crypt_pool *p = store_crypt_pool_new(e->mem, sc, threads == 0 ? 1 : threads,
                                                          -1);
        struct store_crypt_unit *u = talloc_zero_array(e->mem, struct store_crypt_unit, 7);
        assert_non_null(p);
        for (int k = 0; k < 7; k++) {
            u[k].jobs = jobs + k * 100;
            u[k].n = 100;
            if (threads > 0 || k % 2 == 0) {
                assert_true(store_crypt_pool_add(p, &u[k]));
            }
        }
        for (int k = 6; k >= 0; k--) {
            store_crypt_pool_finish(p, &u[k]);
            assert_true(store_crypt_pool_done(p, &u[k]));
        }
        for (int i = 0; i < N; i++) {
            struct store_rec want;
            struct store_rec got;
            int ret = store_crypt_open(sc, e->mem, ct[i]->p, jobs[i].ctlen, &want);
            assert_int_equal(jobs[i].ret, ret);
            if (ret != 0) {
                assert_null(jobs[i].plain);
                continue;
            }
            assert_true(util_secmem_owns(jobs[i].plain));
            assert_true(store_crypt_parse(jobs[i].plain, jobs[i].plen, &got));
            assert_int_equal(got.owner.uid, (uint32_t)i);
            assert_int_equal(got.blob.len, want.blob.len);
            assert_memory_equal(got.blob.p, want.blob.p, want.blob.len);
            util_secmem_free(jobs[i].plain);
            jobs[i].plain = NULL;
            talloc_free(want.plain);
        }
        talloc_free(p);
    }
}

/* Background loading (an event loop given): store_sqlite_open returns before the records are
 * decrypted; an owner asked for is loaded at once, complete; a mutation of an owner that was
 * still pending is durable; damaged records are dropped and deleted as in a plain load; the
 * end result is the plain load's. */
#define BG_OWNERS 32
static void bg_populate(struct env *e)
{
    for (int u = 0; u < BG_OWNERS; u++) {
        struct store_owner *o = owner(e, 3000 + (uint32_t)u, 0, 0);
        for (int c = 0; c < 3; c++) {
            char *name = talloc_asprintf(e->mem, c == 0 ? "%d" : "%d:c%d", 3000 + u, c);
            struct store_cache *cc = init_cache(e, o, name, "alice@EXAMPLE.TEST");
            for (int i = 0; i < 30; i++) {
                add_cred(e, cc, talloc_asprintf(e->mem, "svc%d/h@EXAMPLE.TEST", i),
                         big_ticket(e, u * 10 + c, i));
            }
        }
        if (u % 4 == 1) {
            assert_int_equal(store_set_default(e->st, o, talloc_asprintf(e->mem, "%d:c2",
                                                                          3000 + u)),
                             STORE_OK);
        }
    }
}

/* What every variant does to the loaded store: read the last owner, drop a cache of another. */
static void bg_touch(struct env *e)
{
    struct store_owner *o = owner(e, 3000 + BG_OWNERS - 1, 0, 0);
    struct store_cache *c;

    assert_int_equal(o->ncaches, 3);
    c = store_cache_find(o, talloc_asprintf(e->mem, "%d:c1", 3000 + BG_OWNERS - 1));
    assert_non_null(c);
    assert_int_equal(c->ncreds, 30);
    assert_true(has_ticket(c, big_ticket(e, (BG_OWNERS - 1) * 10 + 1, 29)));
    o = owner(e, 3000 + BG_OWNERS - 2, 0, 0);
    c = store_cache_find(o, talloc_asprintf(e->mem, "%d", 3000 + BG_OWNERS - 2));
    assert_non_null(c);
    assert_int_equal(store_cache_destroy(e->st, c), STORE_OK);
}

static void test_background_load(void **state)
{
    struct env *e = *state;
    char saved[sizeof(e->state)];
    struct store_stats ss;
    char *want;
    char *got;

    open_db(e);
    bg_populate(e);
    close_db(e);
    /* A damaged credential of owner 3005, a damaged cache of owner 3010 (its creds go too). */
    flip_rec(e, "creds", "SELECT rowid FROM " CREDS_OF(3005) " LIMIT 1 OFFSET 7", 40);
    flip_rec(e, "caches", "SELECT rowid FROM caches WHERE uid = 3010 LIMIT 1 OFFSET 1", 40);
    /* A cache row of owner 3020 gone altogether: its 30 credentials are orphans. */
    sql(e, "DELETE FROM caches WHERE rowid = (SELECT rowid FROM caches WHERE uid = 3020 "
           "LIMIT 1 OFFSET 2)");
    /* The plain load of a copy is the reference. */
    memcpy(saved, e->state, sizeof(saved));
    snprintf(e->state, sizeof(e->state), "%s/state2", e->dir);
    assert_int_equal(mkdir(e->state, 0700), 0);
    copy_file(e, path_in(e, saved, DB), path_in(e, e->state, DB), 0600);
    copy_file(e, path_in(e, saved, "master.key"), path_in(e, e->state, "master.key"), 0600);
    open_db(e);
    store_stats(e->st, &ss);
    assert_int_equal(ss.pending, 0);
    bg_touch(e);
    want = dump(e);
    close_db(e);
    memcpy(e->state, saved, sizeof(saved));

    e->ev = tevent_context_init(e->mem);
    assert_non_null(e->ev);
    open_db(e);
    store_stats(e->st, &ss);
    assert_int_equal(ss.owners, BG_OWNERS);
    /* Ready before any record is linked: linking happens only in the loop's rounds. */
    assert_int_equal(ss.pending, ss.owners);
    bg_touch(e);
    /* The two owners touched were decrypted on demand; the rest may still wait. */
    store_stats(e->st, &ss);
    assert_true(ss.pending <= BG_OWNERS - 2);
    do {
        assert_int_equal(tevent_loop_once(e->ev), 0);
    } while (store_sqlite_loading(e->sq));
    store_stats(e->st, &ss);
    assert_int_equal(ss.pending, 0);
    got = dump(e);
    assert_same(want, got);
    assert_int_equal(ss.caches, 3 * BG_OWNERS - 3);
    /* Durable, and the damaged rows are gone from disk: a plain reload finds the same. */
    close_db(e);
    e->ev = NULL;
    open_db(e);
    assert_same(want, dump(e));
    close_db(e);
    assert_int_equal(sql_int(e, "SELECT count(*) FROM " CREDS_OF(3005)), 3 * 30 - 1);
    assert_int_equal(sql_int(e, "SELECT count(*) FROM caches WHERE uid = 3010"), 2);
    assert_int_equal(sql_int(e, "SELECT count(*) FROM " CREDS_OF(3010)), 2 * 30);
    assert_int_equal(sql_int(e, "SELECT count(*) FROM " CREDS_OF(3020)), 2 * 30);
    /* The damaged cache's credentials (3010) and those of the deleted one (3020) are gone. */
    assert_int_equal(sql_int(e, "SELECT count(*) FROM " ORPHAN_CREDS), 0);
}

/* Freeing the backend (shutdown) while records are still being decrypted: threads stop,
 * nothing leaks, owners not loaded yet stay empty rather than half-loaded. */
static void test_background_abort(void **state)
{
    struct env *e = *state;

    open_db(e);
    bg_populate(e);
    close_db(e);
    e->ev = tevent_context_init(e->mem);
    open_db(e);
    TALLOC_FREE(e->sq);
    {
        struct store_owner_key k;
        struct store_owner *o;
        struct store_stats ss;
        /* No owner keeps a unit of the freed load (stats do not load anything). */
        store_stats(e->st, &ss);
        assert_int_equal(ss.pending, 0);
        memset(&k, 0, sizeof(k));
        k.uid = 3000 + BG_OWNERS - 1;
        o = store_owner_get(e->st, &k);
        assert_non_null(o);
        assert_null(o->pending);
        assert_true(o->ncaches == 0 || o->ncaches == 3);
    }
    TALLOC_FREE(e->st);
    e->ev = NULL;
    open_db(e); /* the database is intact */
    assert_int_equal(owner(e, 3000 + BG_OWNERS - 1, 0, 0)->ncaches, 3);
}

/* Group commit: deferred operations share one transaction; their changes are in memory at
 * once and on disk after store_group_end (hook: committed). If the commit fails, the hook is
 * told so and every touched owner is reloaded from disk: memory is what is committed again,
 * removed owners and destroyed caches included. */
static int hook_calls;
static int hook_committed;

static void group_hook(void *ctx, bool committed)
{
    (void)ctx;
    hook_calls++;
    hook_committed += committed;
}

static void test_group_commit(void **state)
{
    struct env *e = *state;
    struct store_owner *a;
    struct store_owner *b;
    struct store_cache *c;
    struct rlimit old;
    char *before;
    char *after;

    open_db(e);
    store_group_set_hook(e->st, group_hook, NULL);
    a = owner(e, 1000, 0, 0);
    b = owner(e, 1001, 0, 0);
    c = init_cache(e, a, "1000", "alice@EXAMPLE.TEST");
    add_cred(e, c, "krbtgt/EXAMPLE.TEST@EXAMPLE.TEST", "tgt-a");
    init_cache(e, b, "1001", "bob@EXAMPLE.TEST");
    assert_false(store_group_open(e->st));
    before = dump(e);

    /* Deferred and committed together. */
    store_group_defer(e->st, true);
    add_cred(e, c, "host/x@EXAMPLE.TEST", "host-x");
    add_cred(e, store_cache_find(b, "1001"), "host/y@EXAMPLE.TEST", "host-y");
    assert_int_equal(store_set_default(e->st, a, "1000:z"), STORE_OK);
    store_group_defer(e->st, false);
    assert_true(store_group_open(e->st));
    assert_int_equal(store_group_size(e->st), 3);
    hook_calls = hook_committed = 0;
    store_group_end(e->st);
    assert_false(store_group_open(e->st));
    assert_int_equal(hook_calls, 1);
    assert_int_equal(hook_committed, 1);
    after = dump(e);
    assert_true(strcmp(before, after) != 0);
    reopen(e);
    store_group_set_hook(e->st, group_hook, NULL);
    assert_same(after, dump(e));

    /* A caller that does not defer commits the open group first. */
    a = owner(e, 1000, 0, 0);
    store_group_defer(e->st, true);
    add_cred(e, store_cache_find(a, "1000"), "host/w@EXAMPLE.TEST", "host-w");
    store_group_defer(e->st, false);
    hook_calls = hook_committed = 0;
    assert_int_equal(store_set_default(e->st, a, "1000:v"), STORE_OK);
    assert_int_equal(hook_calls, 1);
    assert_int_equal(hook_committed, 1);
    assert_false(store_group_open(e->st));
    after = dump(e);

    /* The commit fails (file size limit): memory goes back to what is on disk. */
    a = owner(e, 1000, 0, 0);
    b = owner(e, 1001, 0, 0);
    store_group_defer(e->st, true);
    add_cred(e, store_cache_find(a, "1000"), "host/q@EXAMPLE.TEST", "host-q");
    assert_int_equal(store_cache_destroy(e->st, store_cache_find(b, "1001")), STORE_OK);
    assert_int_equal(store_owner_remove(e->st, owner(e, 1001, 0, 0)), STORE_OK);
    init_cache(e, owner(e, 1002, 0, 0), "1002", "carol@EXAMPLE.TEST");
    store_group_defer(e->st, false);
    assert_true(store_group_open(e->st));
    wal_freeze(e, &old);
    hook_calls = hook_committed = 0;
    store_group_end(e->st);
    wal_thaw(&old);
    assert_int_equal(hook_calls, 1);
    assert_int_equal(hook_committed, 0);
    assert_false(store_group_open(e->st));
    /* 1002 was created by the failed group: reloaded, it is empty (dump skips it). */
    assert_same(after, dump(e));
    assert_int_equal(owner(e, 1002, 0, 0)->ncaches, 0);
    /* Writes work again, and what is on disk is what memory says, row ids included: the
     * reloaded owners' deletions hit their own rows. */
    a = owner(e, 1000, 0, 0);
    add_cred(e, store_cache_find(a, "1000"), "host/r@EXAMPLE.TEST", "host-r");
    init_cache(e, owner(e, 1002, 0, 0), "1002", "carol@EXAMPLE.TEST");
    assert_int_equal(
        store_cred_remove(e->st, store_cache_find(a, "1000"), 0,
                          &(struct kcm_mcred){ .fields = KCM_SC_SERVER,
                                               .c.server = *mk_princ(e, "host/x@EXAMPLE.TEST") }),
        STORE_OK);
    after = dump(e);
    assert_rows_on_disk(e);
    open_db(e);
    assert_same(after, dump(e));
}

/* A group's single-write operations (a STORE here) run without a savepoint: one that fails
 * (an injected constraint failure) leaves nothing behind, and the operations around it
 * commit. */
static void test_group_single_failure(void **state)
{
    struct env *e = *state;
    struct store_cache *b;
    char *want;

    open_db(e);
    init_cache(e, owner(e, 1000, 0, 0), "1000", "alice@EXAMPLE.TEST");
    init_cache(e, owner(e, 1001, 0, 0), "1001", "bob@EXAMPLE.TEST");
    close_db(e);
    sql(e, "CREATE TRIGGER inject BEFORE INSERT ON creds WHEN (SELECT count(*) FROM creds) >= 1 "
           "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
    open_db(e);
    store_group_set_hook(e->st, group_hook, NULL);
    store_group_defer(e->st, true);
    add_cred(e, store_cache_find(owner(e, 1000, 0, 0), "1000"), "host/x@EXAMPLE.TEST", "x");
    b = store_cache_find(owner(e, 1001, 0, 0), "1001");
    assert_int_equal(
        store_cred_add(e->st, b, mk_cred(e, "bob@EXAMPLE.TEST", "host/y@EXAMPLE.TEST", "y")),
        STORE_IO);
    assert_int_equal(store_set_default(e->st, owner(e, 1001, 0, 0), "1001:z"), STORE_OK);
    store_group_defer(e->st, false);
    assert_int_equal(store_group_size(e->st), 2);
    hook_calls = hook_committed = 0;
    store_group_end(e->st);
    assert_int_equal(hook_committed, 1);
    assert_int_equal(b->ncreds, 0);
    want = dump(e);
    assert_rows_on_disk(e);
    open_db(e);
    assert_same(want, dump(e));
    assert_int_equal(store_cache_find(owner(e, 1000, 0, 0), "1000")->ncreds, 1);
    assert_string_equal(owner(e, 1001, 0, 0)->default_name, "1001:z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_row_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_failure_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_file_moved_aside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_file_moved_aside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_rows_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v0_fixture_upgrade, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v1_fixture_upgrade, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credentials_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_key_moves_db_aside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_plaintext_on_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crypt_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_background_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_background_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_single_failure, setup, teardown),
    };
    const char *why = NULL;

    if (util_secmem_init(UTIL_SECMEM_DEGRADED, &why) != 0) {
        fprintf(stderr, "secure memory: %s\n", why);
        return 1;
    }
    util_log_set_level(UTIL_LOG_INFO);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
