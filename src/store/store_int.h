/* Internals shared by the files of the in-memory store: store.c (owners, lookups, objects,
 * loading), store_tx.c (write-through transactions, group commit) and store_mutate.c (the
 * mutations). Not for use outside src/store. */
#ifndef CACHET_STORE_INT_H
#define CACHET_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <talloc.h>

#include "store/store.h"

#define STORE_HASH_BUCKETS 4096

struct store {
    struct store_limits limits;
    const struct store_persist_ops *persist;
    void *pctx;
    struct store_owner *buckets[STORE_HASH_BUCKETS];
    size_t nowners;
    void (*loader)(void *ctx, struct store_owner *o);
    void *loader_ctx;
    /* group commit (store.h) */
    bool defer;     /* the current caller holds its answers until store_group_end */
    bool in_op;     /* inside a deferred operation */
    bool op_sp;     /* ... which has a savepoint (not the group's first) */
    enum { G_IDLE, G_OPEN, G_FAILED } group;
    size_t group_ops;
    void (*group_hook)(void *ctx, bool committed);
    void *group_ctx;
};

/* store_tx.c: open the caller's transaction (or the group's savepoint); end it with err.
 * _single: the operation makes exactly one put_* or del_cred call (store.h, op_begin). */
int store_tx_begin(struct store *st);
int store_tx_begin_single(struct store *st);
enum store_rc store_tx_end(struct store *st, int err);

/* store.c: the owner hash, object construction and linking (infallible). */
size_t store_owner_hash(const struct store_owner_key *k);
struct store_cred *store_cred_new(TALLOC_CTX *ctx, const uint8_t *bytes, size_t len,
                                  const uint8_t *uuid);
/* The same for a cred the caller has parsed already (its view is copied, not re-parsed). */
struct store_cred *store_cred_new_parsed(TALLOC_CTX *ctx, const struct kcm_cred *parsed);
struct util_secbuf *store_princ_copy(TALLOC_CTX *ctx, const uint8_t *p, size_t len,
                                     struct kcm_princ *out);
struct store_cache *store_cache_new(struct store_owner *o, const char *name, const uint8_t *uuid);
void store_cache_link(struct store_owner *o, struct store_cache *c);
void store_cred_link(struct store_cache *c, struct store_cred *cr);
void store_cache_set_princ(struct store_cache *c, struct util_secbuf *pb,
                           const struct kcm_princ *pv);

#endif
