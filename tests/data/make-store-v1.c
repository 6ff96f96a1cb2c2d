/* Writes tests/data/store-v1.sqlite: a cachet database in the schema version 1 layout (cachet
 * up to the row-id schema, version 2), used by test_store_sqlite to check the v1 -> v2 upgrade.
 * Helpers, and why this does not use src/: make-store-common.h.
 *
 *   v1 tables (the SQL below is version 1's, as src/store/store_sqlite_open.c created it):
 *     caches(owner, uuid, pos, rec)              UNIQUE (owner, uuid)
 *     creds(owner, cache_uuid, uuid, seq, rec)   UNIQUE (owner, cache_uuid, uuid)
 *     defaults(owner, rec)                       PRIMARY KEY (owner)
 *     meta(key, value)                           'keycheck': the key check record
 *     owner = (uid, session, boot_id);
 *     order: caches by pos (store-wide, creation), credentials by seq within their cache;
 *     PRAGMA user_version = 1
 *   record format 2: u8 2 | u8 type | u32 uid | u32 session | boot_id[16] | body
 *     cache: uuid[16] | cstr name | i32 offset | data principal; cred: cache_uuid[16] | uuid[16] |
 *     data credential; default: cstr name; keycheck (type 4, owner all zero): data
 *     "cachet master key check"
 *   sealed with krb5_c_encrypt, aes256-cts-hmac-sha384-192, key usage 1027
 *
 * Contents (asserted by test_v1_fixture_upgrade); rows are inserted in an order unlike pos and
 * seq order, so that an upgrade relying on rowids shows:
 *   uid 1000 session 0 (boot id all zero):
 *     cache "1000" (uuid aa..aa, pos 1) alice@V1.TEST offset 0
 *         creds, in seq order: host/db.v1.test (uuid 01..01, seq 0, inserted second),
 *                              krbtgt/V1.TEST (uuid f0..f0, seq 1, inserted first)
 *     cache "1000:third" (uuid 0c..0c, pos 3) dave@V1.TEST offset 3
 *         creds: krbtgt/V1.TEST (uuid 04..04, seq 7)
 *     cache "1000:second" (uuid 0b..0b, pos 5; inserted before "1000:third") bob@V1.TEST
 *         offset -5; creds: krbtgt/V1.TEST (uuid 02..02, seq 0)
 *     default "1000:third"
 *     a credential row of a cache that does not exist (cache uuid dd..dd, uuid 05..05): dropped
 *   uid 1001 session 42 boot id 42..42:
 *     cache "1001" (uuid cc..cc, pos 2) carol@V1.TEST offset 7
 *         creds: krbtgt/V1.TEST (uuid 03..03, seq 0)
 *     default "1001"
 * Tickets are "v1-ticket-<client>-<service>", session keys 32 bytes of 0x5a.
 *
 * Usage: make-store-v1 OUT.sqlite KEYFILE (64 hex digits). */
#include "make-store-common.h"

#define REALM "V1.TEST"

struct owner {
    uint32_t uid;
    uint32_t session;
    uint8_t boot;
};

static const struct owner A = { 1000, 0, 0x00 };
static const struct owner B = { 1001, 42, 0x42 };

/* Record header (format 2) into b; the owner bound as ?1 ?2 ?3 of s. */
static void hdr(struct buf *b, uint8_t type, const struct owner *o, sqlite3_stmt *s)
{
    uint8_t boot[16];

    memset(boot, o->boot, sizeof(boot));
    b->n = 0;
    u8(b, 2);
    u8(b, type);
    u32(b, o->uid);
    u32(b, o->session);
    put(b, boot, sizeof(boot));
    if (s != NULL) {
        sqlite3_bind_int64(s, 1, o->uid);
        sqlite3_bind_int64(s, 2, o->session);
        sqlite3_bind_blob(s, 3, boot, 16, SQLITE_TRANSIENT);
    }
}

static void add_cache(const struct owner *o, uint8_t id, int64_t pos, const char *name,
                      const char *client, int32_t offset)
{
    sqlite3_stmt *s = prepare("INSERT INTO caches (uid, session, boot_id, uuid, pos, rec) "
                              "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    struct buf b;
    uint8_t uuid[16];

    memset(uuid, id, sizeof(uuid));
    hdr(&b, 1, o, s);
    cache_body(&b, id, name, offset, client, REALM);
    sqlite3_bind_blob(s, 4, uuid, 16, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 5, pos);
    insert_sealed(s, 6, &b);
}

static void add_cred(const struct owner *o, uint8_t cache_id, uint8_t id, int64_t seq,
                     const char *client, const char *s1, const char *s2)
{
    sqlite3_stmt *s = prepare("INSERT INTO creds (uid, session, boot_id, cache_uuid, uuid, seq, "
                              "rec) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    struct buf b;
    uint8_t cu[16];
    uint8_t uuid[16];

    memset(cu, cache_id, sizeof(cu));
    memset(uuid, id, sizeof(uuid));
    hdr(&b, 2, o, s);
    cred_body(&b, cache_id, id, REALM, "v1", client, s1, s2);
    sqlite3_bind_blob(s, 4, cu, 16, SQLITE_TRANSIENT);
    sqlite3_bind_blob(s, 5, uuid, 16, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 6, seq);
    insert_sealed(s, 7, &b);
}

static void add_default(const struct owner *o, const char *name)
{
    sqlite3_stmt *s = prepare("INSERT INTO defaults (uid, session, boot_id, rec) "
                              "VALUES (?1, ?2, ?3, ?4)");
    struct buf b;

    hdr(&b, 3, o, s);
    put(&b, name, strlen(name) + 1);
    insert_sealed(s, 4, &b);
}

static void add_keycheck(void)
{
    static const struct owner zero = { 0, 0, 0 };
    struct buf b;

    hdr(&b, 4, &zero, NULL);
    str(&b, "cachet master key check");
    insert_sealed(prepare("INSERT INTO meta (key, value) VALUES ('keycheck', ?1)"), 1, &b);
}

int main(int argc, char **argv)
{
    /* Version 1's schema SQL, verbatim. */
    static const char schema_v1[] =
        "CREATE TABLE caches (uid INTEGER NOT NULL, session INTEGER NOT NULL,"
        " boot_id BLOB NOT NULL, uuid BLOB NOT NULL, pos INTEGER NOT NULL, rec BLOB NOT NULL,"
        " UNIQUE (uid, session, boot_id, uuid));"
        "CREATE TABLE creds (uid INTEGER NOT NULL, session INTEGER NOT NULL,"
        " boot_id BLOB NOT NULL, cache_uuid BLOB NOT NULL, uuid BLOB NOT NULL,"
        " seq INTEGER NOT NULL, rec BLOB NOT NULL,"
        " UNIQUE (uid, session, boot_id, cache_uuid, uuid));"
        "CREATE TABLE defaults (uid INTEGER NOT NULL, session INTEGER NOT NULL,"
        " boot_id BLOB NOT NULL, rec BLOB NOT NULL, PRIMARY KEY (uid, session, boot_id));"
        "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL);"
        "PRAGMA user_version = 1;";
    uint8_t key[32];

    start(argc, argv, key, schema_v1);
    add_keycheck();
    add_cache(&A, 0xaa, 1, "1000", "alice", 0);
    add_cred(&A, 0xaa, 0xf0, 1, "alice", "krbtgt", REALM);
    add_cache(&B, 0xcc, 2, "1001", "carol", 7);
    add_cache(&A, 0x0b, 5, "1000:second", "bob", -5);
    add_cred(&A, 0xaa, 0x01, 0, "alice", "host", "db.v1.test");
    add_cred(&B, 0xcc, 0x03, 0, "carol", "krbtgt", REALM);
    add_cache(&A, 0x0c, 3, "1000:third", "dave", 3);
    add_cred(&A, 0x0b, 0x02, 0, "bob", "krbtgt", REALM);
    add_cred(&A, 0xdd, 0x05, 0, "erin", "krbtgt", REALM);
    add_cred(&A, 0x0c, 0x04, 7, "dave", "krbtgt", REALM);
    add_default(&A, "1000:third");
    add_default(&B, "1001");
    return finish();
}
