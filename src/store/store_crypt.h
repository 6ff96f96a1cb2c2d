/* Encryption at rest for the sqlite backend: the machine master key and sealed records.
 *
 * Crypto is libkrb5's own (krb5_c_encrypt / krb5_c_decrypt), enctype
 * aes256-cts-hmac-sha384-192 (RFC 8009: AES-256-CTS + HMAC-SHA-384/192, encrypt-then-MAC, a
 * random confounder per record), key usage STORE_CRYPT_USAGE for every record. The master key
 * is 32 bytes kept only in secure memory.
 *
 * Record plaintext (big-endian, util_wr; "data" = u32 length + bytes, "cstr" = bytes + NUL):
 *     u8 format (2) | u8 type | u32 uid | u32 session | boot_id[16] | body
 *     cache:    uuid[16] | cstr name | i32 kdc_offset | data principal
 *     cred:     cache_uuid[16] | uuid[16] | data credential (ccache v4 marshalling)
 *     default:  cstr name
 *     keycheck: data "cachet master key check" (owner all zero)
 * Format 1 (written by schema version 0, which predates session-bound collections) has no
 * boot_id; it is read as all zero.
 * The owner and the uuids are also stored in clear as row keys; the copy inside the ciphertext
 * binds each record to its row, so swapping ciphertexts between rows is detected on load. */
#ifndef CACHET_STORE_CRYPT_H
#define CACHET_STORE_CRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <talloc.h>

#include "common/util_buf.h"
#include "common/util_secmem.h"
#include "store/store.h"

/* RFC 4120 7.5.1 reserves key usages 1024..2047 for applications; cachet's records use 1027
 * (no other cachet component encrypts with the master key). Changing it makes every stored
 * record unreadable: it is part of the on-disk format. */
#define STORE_CRYPT_USAGE 1027
#define STORE_CRYPT_KEY_LEN 32
#define STORE_REC_FORMAT 2                        /* written */
#define STORE_REC_FORMAT_V0 1                     /* still read: no boot_id */
#define STORE_MASTER_KEY_NAME "master.key"        /* in state_dir */
#define STORE_CREDENTIAL_NAME "cachet-master-key" /* in $CREDENTIALS_DIRECTORY */

enum store_rec_type {
    STORE_REC_CACHE = 1,
    STORE_REC_CRED = 2,
    STORE_REC_DEFAULT = 3,
    STORE_REC_KEYCHECK = 4,
};

/* A record, plain. For sealing the caller fills the fields; after opening, name and blob are
 * views into plain (secure memory owned by the record's talloc parent). */
struct store_rec {
    enum store_rec_type type;
    struct store_owner_key owner;
    uint8_t cache_uuid[STORE_UUID_LEN];
    uint8_t cred_uuid[STORE_UUID_LEN];
    int32_t offset;
    const char *name;      /* cache: name; default: name */
    struct util_data blob; /* cache: principal; cred: credential; keycheck: marker */
    struct util_secbuf *plain;
};

struct store_crypt;

/* Load the master key (search order: store_crypt.c, load_key()) and create the krb5 context.
 * Returns 0 or an errno with err filled. */
int store_crypt_new(TALLOC_CTX *ctx, const char *state_dir, const char *key_file,
                    struct store_crypt **out, char *err, size_t errlen);
/* Human-readable origin of the key, for the log; whether it was generated just now. */
const char *store_crypt_key_source(const struct store_crypt *sc);
bool store_crypt_key_created(const struct store_crypt *sc);

/* Encode and encrypt r into *ct (talloc'ed on mem). The ciphertext is not secret, but libkrb5
 * encrypts in place: the output buffer holds the plaintext for a moment, so it is secure
 * memory too. Returns 0 or an errno. */
int store_crypt_seal(struct store_crypt *sc, TALLOC_CTX *mem, const struct store_rec *r,
                     struct util_secbuf **ct);
/* Decrypt and parse. Returns 0, EBADMSG (integrity check failed: tampered, or another key),
 * EPROTO (decrypted but malformed), or another errno. The caller checks the identity. */
int store_crypt_open(struct store_crypt *sc, TALLOC_CTX *mem, const uint8_t *ct, size_t ctlen,
                     struct store_rec *out);

/* Parse a decrypted record (the plaintext of store_crypt_open). Views point into plain. Returns
 * false if malformed. Pure: safe in any thread. */
bool store_crypt_parse(const uint8_t *plain, size_t len, struct store_rec *out);

/* ---- bulk decryption at start-up ----
 *
 * krb5_c_decrypt derives the enctype's Ke and Ki keys from the master key on every call.
 * Loading a large store uses krb5_keys instead, in which libkrb5 caches Ke (it derives Ki on
 * every call regardless: 12% fewer instructions per record, not the third that both would
 * save), and decrypts in parallel: one worker thread per CPU, each with its own krb5 context
 * and krb5_key (neither is safe to share between threads). What remains is libk5crypto
 * itself: with Debian's builtin backend (table AES, C SHA-384) about 200k instructions,
 * ~15-20 us, per 1.5 KB record.
 *
 * Work comes in units (one owner's records, see store_sqlite_load.c), queued while the
 * database is read and taken by the workers in queue order; a thread that needs one unit now
 * (a request for that owner) takes it over if no worker has started it, or waits for the
 * worker that has.
 *
 * Secrecy: a krb5_key holds a copy of the master key, the derived keys and the AES key
 * schedules in libkrb5's ordinary heap (not locked, not excluded from core dumps), for as long
 * as the pool lives: the duration of the load. krb5_k_free_key wipes them when the pool is
 * freed. The daemon is non-dumpable (PR_SET_DUMPABLE 0) and memory is only exposed to swap
 * for that window; krb5_c_decrypt, used everywhere else, makes the same heap copies for the
 * duration of each call. */

/* One decryption: ct in; plain (secure memory from util_secmem_alloc, owned by the caller, to
 * be released with util_secmem_free) and ret (0, EBADMSG, ENOMEM) out. */
struct store_crypt_job {
    const uint8_t *ct;
    size_t ctlen;
    uint8_t *plain;
    size_t plen;
    int ret;
};

/* A unit of work: jobs[0..n) decrypted by one thread. state is the pool's. */
struct store_crypt_unit {
    struct store_crypt_job *jobs;
    size_t n;
    int state;
};

struct store_crypt_pool;

/* nthreads 0: one worker per online CPU (at most STORE_CRYPT_POOL_MAX). notify_fd >= 0: an
 * eventfd the workers add 1 to after each unit they finish. Returns NULL if out of memory;
 * fewer workers than asked for (maybe none) when threads cannot be created. */
#define STORE_CRYPT_POOL_MAX 8
struct store_crypt_pool *store_crypt_pool_new(TALLOC_CTX *ctx, struct store_crypt *sc,
                                              unsigned nthreads, int notify_fd);
unsigned store_crypt_pool_threads(const struct store_crypt_pool *p);
/* Queue a unit; it and its jobs (and their ciphertexts) must stay put until it is done and
 * the pool was told so by store_crypt_pool_finish, or the pool is freed. */
bool store_crypt_pool_add(struct store_crypt_pool *p, struct store_crypt_unit *u);
/* Is u done (no waiting)? */
bool store_crypt_pool_done(struct store_crypt_pool *p, struct store_crypt_unit *u);
/* Make u done: decrypt it in this thread if no worker has taken it, else wait for that
 * worker. Only the thread that created the pool calls this. */
void store_crypt_pool_finish(struct store_crypt_pool *p, struct store_crypt_unit *u);

/* The pool's building block: a krb5 context and a krb5_key of the master key, for one thread.
 * Created and freed (talloc) by the loading thread; store_crypt_key_decrypt may run in any
 * one thread at a time. */
struct store_crypt_key;
struct store_crypt_key *store_crypt_key_new(TALLOC_CTX *ctx, struct store_crypt *sc);
void store_crypt_key_decrypt(struct store_crypt_key *k, struct store_crypt_job *job);

/* The key-check record: a fixed marker sealed under the master key. */
void store_crypt_keycheck_rec(struct store_rec *r);
bool store_crypt_is_keycheck(const struct store_rec *r);

#endif
