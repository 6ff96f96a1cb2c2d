/* Shared by the fixture writers make-store-v0.c and make-store-v1.c: byte buffers, the ccache
 * v4 principal and credential marshalling, sealing (krb5_c_encrypt, aes256-cts-hmac-sha384-192,
 * key usage 1027) and the command line (OUT.sqlite KEYFILE with 64 hex digits).
 *
 * Deliberately independent of src/: the writers restate the on-disk formats from their
 * documentation, so that a drift in the daemon's reader shows up as a test failure rather
 * than being regenerated away. */
#ifndef MAKE_STORE_COMMON_H
#define MAKE_STORE_COMMON_H

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

static krb5_context kctx;
static krb5_keyblock kb;
static sqlite3 *db;

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

/* A credential of client@realm for s1/s2@realm; ticket "<tag>-ticket-<client>-<s2 or s1>",
 * session key 32 bytes of 0x5a. */
static void cred(struct buf *b, const char *realm, const char *tag, const char *client,
                 const char *s1, const char *s2)
{
    uint8_t key[32];
    char ticket[128];

    memset(key, 0x5a, sizeof(key));
    snprintf(ticket, sizeof(ticket), "%s-ticket-%s-%s", tag, client, s2 != NULL ? s2 : s1);
    princ(b, client, NULL, realm);
    princ(b, s1, s2, realm);
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

/* Record bodies (after the header): a cache's uuid (16 x id), name, offset and principal
 * client@realm; a credential's cache uuid and uuid (16 x cache_id, 16 x id) and credential. */
static void cache_body(struct buf *b, uint8_t id, const char *name, int32_t offset,
                       const char *client, const char *realm)
{
    struct buf p = { .n = 0 };
    uint8_t uuid[16];

    memset(uuid, id, sizeof(uuid));
    princ(&p, client, NULL, realm);
    put(b, uuid, 16);
    put(b, name, strlen(name) + 1);
    u32(b, (uint32_t)offset);
    data(b, p.p, p.n);
}

static void cred_body(struct buf *b, uint8_t cache_id, uint8_t id, const char *realm,
                      const char *tag, const char *client, const char *s1, const char *s2)
{
    struct buf c = { .n = 0 };
    uint8_t uuid[16];

    memset(uuid, cache_id, sizeof(uuid));
    put(b, uuid, 16);
    memset(uuid, id, sizeof(uuid));
    put(b, uuid, 16);
    cred(&c, realm, tag, client, s1, s2);
    data(b, c.p, c.n);
}

/* Seal plain; out->ciphertext.data is malloc'ed. */
static void seal(const struct buf *plain, krb5_enc_data *out)
{
    krb5_data in = { .data = (char *)plain->p, .length = (unsigned)plain->n };
    size_t len;

    memset(out, 0, sizeof(*out));
    if (krb5_c_encrypt_length(kctx, kb.enctype, plain->n, &len) != 0) {
        exit(1);
    }
    out->ciphertext.length = (unsigned)len;
    out->ciphertext.data = malloc(len);
    if (out->ciphertext.data == NULL || krb5_c_encrypt(kctx, &kb, USAGE, NULL, &in, out) != 0) {
        fprintf(stderr, "encryption failed\n");
        exit(1);
    }
}

static sqlite3_stmt *prepare(const char *sql)
{
    sqlite3_stmt *s;

    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
        exit(1);
    }
    return s;
}

/* Bind plain, sealed, as parameter i of s, run s and finalize it. */
static void insert_sealed(sqlite3_stmt *s, int i, const struct buf *plain)
{
    krb5_enc_data out;

    seal(plain, &out);
    sqlite3_bind_blob(s, i, out.ciphertext.data, (int)out.ciphertext.length, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE) {
        fprintf(stderr, "insert: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
    sqlite3_finalize(s);
    free(out.ciphertext.data);
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

/* argv: OUT.sqlite KEYFILE. Creates the database with schema, then BEGIN. */
static void start(int argc, char **argv, uint8_t *key, const char *schema)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s OUT.sqlite KEYFILE\n", argv[0]);
        exit(2);
    }
    read_key(argv[2], key);
    kb.enctype = ENCTYPE_AES256_CTS_HMAC_SHA384_192;
    kb.length = 32;
    kb.contents = key;
    if (krb5_init_context(&kctx) != 0 || sqlite3_open(argv[1], &db) != SQLITE_OK ||
        sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "setup failed: %s\n", db != NULL ? sqlite3_errmsg(db) : "");
        exit(1);
    }
}

static int finish(void)
{
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_close(db) != SQLITE_OK) {
        fprintf(stderr, "commit failed\n");
        return 1;
    }
    krb5_free_context(kctx);
    return 0;
}

#endif
