/* Writes tests/data/store-v0.sqlite: a cachet database in the version 0 layout (the prototype,
 * before session-bound collections), used by test_store_sqlite to check the v0 -> v1 upgrade.
 *
 * Deliberately independent of src/: it restates the v0 schema and record format 1 from their
 * documentation (src/store/store_sqlite.c, src/store/store_crypt.h), so that a drift in the
 * daemon's reader shows up as a test failure rather than being regenerated away.
 *
 *   v0 tables: caches(uid, session, uuid, rec)              UNIQUE (uid, session, uuid)
 *              creds(uid, session, cache_uuid, uuid, rec)   UNIQUE (uid, session, cache_uuid, uuid)
 *              defaults(uid, session, rec)                  PRIMARY KEY (uid, session)
 *              order = rowid order; PRAGMA user_version = 0
 *   record format 1: u8 1 | u8 type | u32 uid | u32 session | body (no boot id)
 *   sealed with krb5_c_encrypt, aes256-cts-hmac-sha384-192, key usage 1027
 *
 * Contents (asserted by test_v0_fixture_upgrade):
 *   uid 1000 session 0:  cache "1000" (uuid aa..aa) alice@V0.TEST offset 0
 *                            creds: krbtgt/V0.TEST (uuid f0..f0, inserted first),
 *                                   host/db.v0.test (uuid 01..01)
 *                        cache "1000:v0second" (uuid 0b..0b) bob@V0.TEST offset -5
 *                            creds: krbtgt/V0.TEST (uuid 02..02)
 *                        default "1000:v0second"
 *   uid 1001 session 42: cache "1001" (uuid cc..cc) carol@V0.TEST offset 7
 *                            creds: krbtgt/V0.TEST (uuid 03..03)
 * Tickets are "v0-ticket-<client>-<service>", session keys 32 bytes of 0x5a.
 *
 * Usage: make-store-v0 OUT.sqlite KEYFILE (64 hex digits). */
#include <krb5/krb5.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USAGE 1027

struct buf {
    uint8_t p[4096];
    size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
    if (b->n + n > sizeof(b->p)) {
        fprintf(stderr, "buffer overflow\n");
        exit(1);
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void u8(struct buf *b, uint8_t v)
{
    put(b, &v, 1);
}

static void u16(struct buf *b, uint16_t v)
{
    uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };
    put(b, x, 2);
}

static void u32(struct buf *b, uint32_t v)
{
    uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    put(b, x, 4);
}

static void data(struct buf *b, const void *p, size_t n)
{
    u32(b, (uint32_t)n);
    put(b, p, n);
}

static void str(struct buf *b, const char *s)
{
    data(b, s, strlen(s));
}

/* ccache v4 principal: i32 name_type, u32 ncomps, data realm, data comps... */
static void princ(struct buf *b, const char *c1, const char *c2, const char *realm)
{
    u32(b, 1);
    u32(b, c2 != NULL ? 2 : 1);
    str(b, realm);
    str(b, c1);
    if (c2 != NULL) {
        str(b, c2);
    }
}

static void cred(struct buf *b, const char *client, const char *s1, const char *s2)
{
    uint8_t key[32];
    char ticket[128];

    memset(key, 0x5a, sizeof(key));
    snprintf(ticket, sizeof(ticket), "v0-ticket-%s-%s", client, s2 != NULL ? s2 : s1);
    princ(b, client, NULL, "V0.TEST");
    princ(b, s1, s2, "V0.TEST");
    u16(b, 18); /* keyblock: enctype, data */
    data(b, key, sizeof(key));
    u32(b, 1700000000); /* authtime, starttime, endtime, renew_till */
    u32(b, 1700000000);
    u32(b, 4000000000u);
    u32(b, 0);
    u8(b, 0);           /* is_skey */
    u32(b, 0x40e10000); /* ticket flags */
    u32(b, 0);          /* addresses */
    u32(b, 0);          /* authdata */
    str(b, ticket);
    data(b, "", 0); /* second ticket */
}

static krb5_context kctx;
static krb5_keyblock kb;
static sqlite3 *db;

static void seal_and_insert(const char *sql, uint32_t uid, uint32_t session, const uint8_t *u1,
                            const uint8_t *u2, const struct buf *plain)
{
    krb5_data in = { .data = (char *)plain->p, .length = (unsigned)plain->n };
    krb5_enc_data out = { 0 };
    size_t len;
    sqlite3_stmt *s;
    int i = 1;

    if (krb5_c_encrypt_length(kctx, kb.enctype, plain->n, &len) != 0) {
        exit(1);
    }
    out.ciphertext.length = (unsigned)len;
    out.ciphertext.data = malloc(len);
    if (out.ciphertext.data == NULL || krb5_c_encrypt(kctx, &kb, USAGE, NULL, &in, &out) != 0) {
        fprintf(stderr, "encryption failed\n");
        exit(1);
    }
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
        exit(1);
    }
    sqlite3_bind_int64(s, i++, uid);
    sqlite3_bind_int64(s, i++, session);
    if (u1 != NULL) {
        sqlite3_bind_blob(s, i++, u1, 16, SQLITE_STATIC);
    }
    if (u2 != NULL) {
        sqlite3_bind_blob(s, i++, u2, 16, SQLITE_STATIC);
    }
    sqlite3_bind_blob(s, i, out.ciphertext.data, (int)out.ciphertext.length, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE) {
        fprintf(stderr, "insert: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
    sqlite3_finalize(s);
    free(out.ciphertext.data);
}

static void hdr(struct buf *b, uint8_t type, uint32_t uid, uint32_t session)
{
    b->n = 0;
    u8(b, 1); /* record format 1 */
    u8(b, type);
    u32(b, uid);
    u32(b, session);
}

static void add_cache(uint32_t uid, uint32_t session, uint8_t id, const char *name,
                      const char *client, int32_t offset)
{
    struct buf b;
    struct buf p = { .n = 0 };
    uint8_t uuid[16];

    memset(uuid, id, sizeof(uuid));
    princ(&p, client, NULL, "V0.TEST");
    hdr(&b, 1, uid, session);
    put(&b, uuid, 16);
    put(&b, name, strlen(name) + 1);
    u32(&b, (uint32_t)offset);
    data(&b, p.p, p.n);
    seal_and_insert("INSERT INTO caches (uid, session, uuid, rec) VALUES (?, ?, ?, ?)", uid,
                    session, uuid, NULL, &b);
}

static void add_cred(uint32_t uid, uint32_t session, uint8_t cache_id, uint8_t id,
                     const char *client, const char *s1, const char *s2)
{
    struct buf b;
    struct buf c = { .n = 0 };
    uint8_t cu[16];
    uint8_t uuid[16];

    memset(cu, cache_id, sizeof(cu));
    memset(uuid, id, sizeof(uuid));
    cred(&c, client, s1, s2);
    hdr(&b, 2, uid, session);
    put(&b, cu, 16);
    put(&b, uuid, 16);
    data(&b, c.p, c.n);
    seal_and_insert("INSERT INTO creds (uid, session, cache_uuid, uuid, rec) "
                    "VALUES (?, ?, ?, ?, ?)",
                    uid, session, cu, uuid, &b);
}

static void add_default(uint32_t uid, uint32_t session, const char *name)
{
    struct buf b;

    hdr(&b, 3, uid, session);
    put(&b, name, strlen(name) + 1);
    seal_and_insert("INSERT INTO defaults (uid, session, rec) VALUES (?, ?, ?)", uid, session, NULL,
                    NULL, &b);
}

static void read_key(const char *path, uint8_t *key)
{
    char hex[80] = "";
    FILE *f = fopen(path, "r");

    if (f == NULL || fgets(hex, sizeof(hex), f) == NULL) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
            fprintf(stderr, "%s: expected 64 hex digits\n", path);
            exit(1);
        }
        key[i] = (uint8_t)v;
    }
}

int main(int argc, char **argv)
{
    static const char schema_v0[] =
        "PRAGMA page_size = 512;"
        "CREATE TABLE caches (uid INTEGER NOT NULL, session INTEGER NOT NULL,"
        " uuid BLOB NOT NULL, rec BLOB NOT NULL, UNIQUE (uid, session, uuid));"
        "CREATE TABLE creds (uid INTEGER NOT NULL, session INTEGER NOT NULL,"
        " cache_uuid BLOB NOT NULL, uuid BLOB NOT NULL, rec BLOB NOT NULL,"
        " UNIQUE (uid, session, cache_uuid, uuid));"
        "CREATE TABLE defaults (uid INTEGER NOT NULL, session INTEGER NOT NULL,"
        " rec BLOB NOT NULL, PRIMARY KEY (uid, session));";
    uint8_t key[32];

    if (argc != 3) {
        fprintf(stderr, "usage: %s OUT.sqlite KEYFILE\n", argv[0]);
        return 2;
    }
    read_key(argv[2], key);
    kb.enctype = ENCTYPE_AES256_CTS_HMAC_SHA384_192;
    kb.length = sizeof(key);
    kb.contents = key;
    if (krb5_init_context(&kctx) != 0 || sqlite3_open(argv[1], &db) != SQLITE_OK ||
        sqlite3_exec(db, schema_v0, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "setup failed: %s\n", db != NULL ? sqlite3_errmsg(db) : "");
        return 1;
    }
    add_cache(1000, 0, 0xaa, "1000", "alice", 0);
    add_cred(1000, 0, 0xaa, 0xf0, "alice", "krbtgt", "V0.TEST");
    add_cache(1000, 0, 0x0b, "1000:v0second", "bob", -5);
    add_cred(1000, 0, 0xaa, 0x01, "alice", "host", "db.v0.test");
    add_cred(1000, 0, 0x0b, 0x02, "bob", "krbtgt", "V0.TEST");
    add_default(1000, 0, "1000:v0second");
    add_cache(1001, 42, 0xcc, "1001", "carol", 7);
    add_cred(1001, 42, 0xcc, 0x03, "carol", "krbtgt", "V0.TEST");
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_close(db) != SQLITE_OK) {
        fprintf(stderr, "commit failed\n");
        return 1;
    }
    krb5_free_context(kctx);
    return 0;
}
