/* The credential store: the in-memory authority. Per-owner collections of caches, each cache
 * an ordered list of credentials held in secure memory. Synchronous. Every mutation is
 * prepared (allocated, limits checked), then written through to the persistence backend in one
 * transaction, and only linked into memory once that commit succeeded: a failed commit leaves
 * memory untouched, and an acknowledged change is on disk.
 *
 * Credentials are kept in MIT's ccache v4 marshalled form (the same bytes KCM carries) and
 * parsed in place with the pure codec, so matching needs no copies. The store never sees
 * protocol framing. */
#ifndef CACHET_STORE_H
#define CACHET_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <talloc.h>

#include "common/util_secmem.h"
#include "kcm/kcm_codec.h"

#define STORE_UUID_LEN 16
#define STORE_MAX_NAME KCM_MAX_NAME

enum store_rc {
    STORE_OK = 0,
    STORE_NOTFOUND,       /* no such cache / cred */
    STORE_LIMIT_CACHES,   /* caches per owner */
    STORE_LIMIT_CREDS,    /* creds per cache */
    STORE_LIMIT_BYTES,    /* bytes per owner */
    STORE_NOMEM,
    STORE_IO,             /* persistence failed; nothing changed */
    STORE_INVALID,        /* unparseable input */
};

const char *store_rc_str(enum store_rc rc);

struct store_limits {
    uint64_t max_caches_per_owner;
    uint64_t max_creds_per_cache;
    uint64_t max_bytes_per_owner;
};

/* Who a collection belongs to. session = 0 in user scope; boot_id binds session caches to
 * one boot (all zero in user scope). */
#define STORE_BOOT_ID_LEN 16

struct store_owner_key {
    uint32_t uid;
    uint32_t session;
    uint8_t boot_id[STORE_BOOT_ID_LEN]; /* part of the identity; persisted with the owner */
};

static inline bool store_owner_key_eq(const struct store_owner_key *a,
                                      const struct store_owner_key *b)
{
    return a->uid == b->uid && a->session == b->session &&
           memcmp(a->boot_id, b->boot_id, STORE_BOOT_ID_LEN) == 0;
}

struct store_cred {
    struct store_cred *prev;
    struct store_cred *next;
    uint8_t uuid[STORE_UUID_LEN];
    uint64_t seq; /* position, for persistence ordering */
    int64_t row;  /* the persistence backend's id for it; 0: not written yet */
    struct util_secbuf *blob;
    struct kcm_cred v; /* views into blob */
};

struct store_cache {
    struct store_cache *prev;
    struct store_cache *next;
    struct store_owner *owner;
    char *name;
    uint8_t uuid[STORE_UUID_LEN];
    struct util_secbuf *princ_blob;
    struct kcm_princ princ;
    int32_t kdc_offset;
    struct store_cred *creds;
    struct store_cred *creds_tail;
    size_t ncreds;
    size_t bytes;
    uint64_t next_seq;
    int64_t row; /* the persistence backend's id for it; 0: not written yet */
};

struct store_owner {
    struct store_owner *hnext; /* hash chain */
    struct store_owner_key key;
    struct store_cache *caches; /* creation order */
    struct store_cache *caches_tail;
    size_t ncaches;
    size_t bytes;
    char *default_name; /* NULL: "<uid>" */
    /* Non-NULL while the owner's records are still being decrypted after start-up (the
     * persistence backend's business): every public lookup links them first (store_set_loader),
     * so nobody ever sees a half-loaded owner. */
    void *pending;
};

struct store;

/* Persistence backend (write-through). All callbacks return 0 or an errno. A put writes the
 * object's current state, new or not; it may set c->row / cr->row (the backend's id for the
 * object, kept by the store from then on: 0 until the first put). */
struct store_persist_ops {
    int (*begin)(void *pctx);
    int (*commit)(void *pctx);
    void (*rollback)(void *pctx);
    int (*put_cache)(void *pctx, struct store_cache *c);
    int (*del_cache)(void *pctx, const struct store_cache *c); /* and its creds */
    int (*put_cred)(void *pctx, const struct store_cache *c, struct store_cred *cr);
    int (*del_cred)(void *pctx, const struct store_cache *c, const struct store_cred *cr);
    int (*del_creds)(void *pctx, const struct store_cache *c); /* all creds of c */
    int (*put_default)(void *pctx, const struct store_owner *o);
    /* Optional (may be NULL): forget everything of an owner, its default name included. */
    int (*del_owner)(void *pctx, const struct store_owner *o);
    /* Group commit (optional: all NULL if the backend has none). One store operation inside
     * the open transaction: savepoint, release it, or roll back to it (nonzero: the whole
     * transaction is gone, e.g. sqlite aborted it on an I/O error). single: the operation
     * makes exactly one put_* or del_cred call; a backend that runs each of those as one
     * atomic statement (a failed one leaves nothing behind) may skip the savepoint. */
    int (*op_begin)(void *pctx, bool single);
    int (*op_release)(void *pctx);
    int (*op_rollback)(void *pctx);
    /* The group's transaction was rolled back: reload, from what is committed, every owner the
     * transaction touched (memory was changed as its operations went). */
    void (*reload_touched)(void *pctx);
};

struct store *store_new(TALLOC_CTX *ctx, const struct store_limits *limits);
/* Background loading: fn(ctx, o) must load o's records into the store and clear o->pending.
 * Called by store_owner_get, store_owner_get_or_create and store_foreach_owner (before the
 * owner is handed out), on the event loop. NULL: no owner is pending. */
void store_set_loader(struct store *st, void (*fn)(void *ctx, struct store_owner *o), void *ctx);
/* An owner for a loader: found or created, never loaded (o->pending untouched). */
struct store_owner *store_owner_shell(struct store *st, const struct store_owner_key *key);
void store_set_limits(struct store *st, const struct store_limits *limits);
void store_set_persist(struct store *st, const struct store_persist_ops *ops, void *pctx);

struct store_owner *store_owner_get(struct store *st, const struct store_owner_key *key);
struct store_owner *store_owner_get_or_create(struct store *st, const struct store_owner_key *key);
/* Visit every owner (cachetctl, purge, scale tests), each loaded first. Return false from fn to
 * stop. */
void store_foreach_owner(struct store *st, bool (*fn)(struct store_owner *o, void *arg), void *arg);
/* The same for the owners whose key match() accepts; only those are loaded first (a logout
 * during a background load decrypts its own owners, not everyone's). */
void store_foreach_owner_matching(struct store *st,
                                  bool (*match)(const struct store_owner_key *key, void *arg),
                                  bool (*fn)(struct store_owner *o, void *arg), void *arg);

struct store_cache *store_cache_find(struct store_owner *o, const char *name);
struct store_cache *store_cache_find_uuid(struct store_owner *o, const uint8_t *uuid);
struct store_cred *store_cred_find_uuid(struct store_cache *c, const uint8_t *uuid);
/* First credential matching MIT's rules, or NULL. */
struct store_cred *store_cred_match(struct store_cache *c, uint32_t flags,
                                    const struct kcm_mcred *m);

/* Default (primary) cache name: stable, survives DESTROY, never changed by INITIALIZE.
 * o may be NULL (no collection yet): then "<uid>" of key. */
const char *store_default_name(struct store_owner *o, const struct store_owner_key *key,
                               char *buf, size_t len);
enum store_rc store_set_default(struct store *st, struct store_owner *o, const char *name);

/* Fresh unique, unguessable name "<prefix>:<32 hex>" not used by any cache of o. */
enum store_rc store_gen_name(struct store_owner *o, const char *prefix, char *buf, size_t len);

/* Create (or clear and re-principal) a cache. */
enum store_rc store_cache_init(struct store *st, struct store_owner *o, const char *name,
                               const struct kcm_princ *princ, struct store_cache **out);
enum store_rc store_cache_destroy(struct store *st, struct store_cache *c);
/* Append a credential, replacing any with the same client and server. */
enum store_rc store_cred_add(struct store *st, struct store_cache *c, const struct kcm_cred *cred);
/* Remove every credential matching (flags, m); STORE_NOTFOUND if none did. */
enum store_rc store_cred_remove(struct store *st, struct store_cache *c, uint32_t flags,
                                const struct kcm_mcred *m);
enum store_rc store_set_offset(struct store *st, struct store_cache *c, int32_t offset);
/* Atomically replace principal, offset and all credentials (creating the cache if needed).
 * creds is the validated (u32 len, cred) x ncreds region of a REPLACE request. */
enum store_rc store_cache_replace(struct store *st, struct store_owner *o, const char *name,
                                  const struct kcm_princ *princ, int32_t offset,
                                  uint32_t ncreds, struct util_data creds);
/* Rename (MOVE_CACHE): dst is replaced by src's contents, src disappears. */
enum store_rc store_cache_move(struct store *st, struct store_cache *src, const char *dst_name);

/* Drop expired credentials (never config entries), and caches that lost their last real
 * credential to expiry. Returns the number of credentials dropped. */
size_t store_purge_expired(struct store *st, uint32_t now);
/* Wipe one owner's collection entirely (logout, cachetctl purge). */
enum store_rc store_owner_wipe(struct store *st, struct store_owner *o);
/* Wipe and forget an owner (default name included); o is freed on STORE_OK. */
enum store_rc store_owner_remove(struct store *st, struct store_owner *o);
/* After loading: remove every session-bound owner (session != 0) whose boot id is not boot_id
 * (audit session ids restart at every boot). Returns the number of owners removed. */
size_t store_discard_other_boots(struct store *st, const uint8_t *boot_id);

struct store_stats {
    size_t owners;
    size_t pending; /* of the owners, not loaded yet (not counted in caches, creds, bytes) */
    size_t caches;
    size_t creds;
    size_t bytes;
};
void store_stats(struct store *st, struct store_stats *out);

/* ---- group commit ----
 *
 * A caller that can hold its answer until the data is durable (the KCM front end: it holds the
 * reply) brackets its store calls with store_group_defer(st, true) ... (false). Its
 * mutations then run inside one open transaction shared with the other deferred callers of the
 * same event-loop round, each in its own savepoint: memory is changed at once (an operation
 * that fails is rolled back alone and changes nothing), and the transaction is committed by
 * store_group_end, after which the hook is told whether it committed: only then may the held
 * answers go out (as errors, if it did not: every owner the transaction touched is then
 * reloaded from disk, so memory is exactly what is committed again). A caller that does not
 * defer gets the open group committed before its own transaction, as before: what anyone is
 * told is on disk. Without persistence, nothing is ever deferred. */
void store_group_set_hook(struct store *st, void (*hook)(void *ctx, bool committed), void *ctx);
void store_group_defer(struct store *st, bool on);
/* Is a group open (uncommitted or failed changes whose answers are held)? */
bool store_group_open(const struct store *st);
/* Operations in the open group. */
size_t store_group_size(const struct store *st);
/* Whether writes can be grouped at all (a persistence backend with savepoints): with memory
 * storage there is nothing to commit, so nothing to group. */
bool store_group_capable(const struct store *st);
/* The open group failed (a rollback of an operation failed): end it at once. */
bool store_group_failed(const struct store *st);
/* Commit the open group (or finish a failed one) and tell the hook. Call only between event
 * handlers: a failed group reloads owners (no store pointer survives that). */
void store_group_end(struct store *st);

/* Forget an owner's caches and default name in memory only (nothing is persisted). */
void store_owner_clear_memory(struct store_owner *o);

/* Start-up loading from persistence: no write-through. On failure errno says why: ENOMEM
 * (out of memory: the caller must not treat the record as bad) or EINVAL (bad contents,
 * duplicate name: the record is dropped). */
struct store_cache *store_load_cache(struct store *st, const struct store_owner_key *key,
                                     const char *name, const uint8_t *uuid,
                                     const uint8_t *princ, size_t princ_len, int32_t offset);
bool store_load_cred(struct store *st, struct store_cache *c, const uint8_t *uuid, uint64_t seq,
                     const uint8_t *blob, size_t len);
/* Loaded caches and credentials carry the backend's row id: the loader sets c->row and
 * c->creds_tail->row after a successful load call. */
/* The same, taking over plain (secure memory from util_secmem_alloc, which blob lies in)
 * instead of copying blob: plain is the store's now, or released if false. */
bool store_load_cred_adopt(struct store *st, struct store_cache *c, const uint8_t *uuid,
                           uint64_t seq, void *plain, const uint8_t *blob, size_t len);
bool store_load_default(struct store *st, const struct store_owner_key *key, const char *name);

#endif
