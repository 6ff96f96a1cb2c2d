/* Writes tests/data/store-v0.sqlite: a cachet database in the version 0 layout (the prototype,
 * before session-bound collections), used by test_store_sqlite to check the upgrade from v0
 * (through v1) to the current schema.
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
#include "make-store-common.h"

/* sql with uid, session and the uuids given bound, in that order. */
static sqlite3_stmt *owner_stmt(const char *sql, uint32_t uid, uint32_t session, const uint8_t *u1,
                                const uint8_t *u2)
{
    sqlite3_stmt *s = prepare(sql);
    int i = 1;

    sqlite3_bind_int64(s, i++, uid);
    sqlite3_bind_int64(s, i++, session);
    if (u1 != NULL) {
        sqlite3_bind_blob(s, i++, u1, 16, SQLITE_STATIC);
    }
    if (u2 != NULL) {
        sqlite3_bind_blob(s, i, u2, 16, SQLITE_STATIC);
    }
    return s;
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
    uint8_t uuid[16];

    memset(uuid, id, sizeof(uuid));
    hdr(&b, 1, uid, session);
    cache_body(&b, id, name, offset, client, "V0.TEST");
    insert_sealed(owner_stmt("INSERT INTO caches (uid, session, uuid, rec) VALUES (?, ?, ?, ?)",
                             uid, session, uuid, NULL),
                  4, &b);
}

static void add_cred(uint32_t uid, uint32_t session, uint8_t cache_id, uint8_t id,
                     const char *client, const char *s1, const char *s2)
{
    struct buf b;
    uint8_t cu[16];
    uint8_t uuid[16];

    memset(cu, cache_id, sizeof(cu));
    memset(uuid, id, sizeof(uuid));
    hdr(&b, 2, uid, session);
    cred_body(&b, cache_id, id, "V0.TEST", "v0", client, s1, s2);
    insert_sealed(owner_stmt("INSERT INTO creds (uid, session, cache_uuid, uuid, rec) "
                             "VALUES (?, ?, ?, ?, ?)",
                             uid, session, cu, uuid),
                  5, &b);
}

static void add_default(uint32_t uid, uint32_t session, const char *name)
{
    struct buf b;

    hdr(&b, 3, uid, session);
    put(&b, name, strlen(name) + 1);
    insert_sealed(owner_stmt("INSERT INTO defaults (uid, session, rec) VALUES (?, ?, ?)", uid,
                             session, NULL, NULL),
                  3, &b);
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

    start(argc, argv, key, schema_v0);
    add_cache(1000, 0, 0xaa, "1000", "alice", 0);
    add_cred(1000, 0, 0xaa, 0xf0, "alice", "krbtgt", "V0.TEST");
    add_cache(1000, 0, 0x0b, "1000:v0second", "bob", -5);
    add_cred(1000, 0, 0xaa, 0x01, "alice", "host", "db.v0.test");
    add_cred(1000, 0, 0x0b, 0x02, "bob", "krbtgt", "V0.TEST");
    add_default(1000, 0, "1000:v0second");
    add_cache(1001, 42, 0xcc, "1001", "carol", 7);
    add_cred(1001, 42, 0xcc, 0x03, "carol", "krbtgt", "V0.TEST");
    return finish();
}
