/* Internals shared by the two halves of the start-up load: store_sqlite_read.c (reading rows
 * into per-owner units) and store_sqlite_load.c (linking decrypted units, the load's
 * lifetime). See store_sqlite_load.c for how a load runs. Not for use outside src/store. */
#ifndef CACHET_STORE_SQLITE_LOAD_INT_H
#define CACHET_STORE_SQLITE_LOAD_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tevent.h>

#include "store/store_sqlite_int.h"

enum {
    T_CACHES,
    T_CREDS,
    T_DEFAULTS
};

/* One row waiting for (or back from) decryption. */
struct item {
    int64_t rowid;
    int table;
    bool uuid_ok;
    uint8_t uuid[STORE_UUID_LEN]; /* the row's uuid column */
    size_t cache;                 /* credentials: index of their cache's item */
    uint64_t seq;
    struct store_cache *c; /* caches: linked as */
};

/* Ciphertext copies (not secret) live in mmap'ed blocks, not on the heap: a big store's are
 * hundreds of MB for a few seconds, and munmap gives them back whole, with no fragmentation
 * left between the store's own allocations. */
#define CT_BLOCK (256u * 1024)

struct ct_block {
    struct ct_block *next;
    size_t len;  /* mapping length */
    size_t used; /* from the start of the mapping (the header takes 64 bytes) */
};

/* One owner's rows: its default name, its caches (creation order), their credentials (each
 * cache's in insertion order). Talloc child of the load. */
struct unit {
    struct ct_block *blocks; /* newest first */
    struct store_crypt_unit cu; /* cu.jobs parallels items */
    struct item *items;
    size_t cap;
    struct store_owner_key key;
    struct store_owner *o;
    bool queued;
    bool linked;
};

/* A cache read, for its credentials to find (by id: the array is in id order). */
struct cache_ref {
    int64_t id;
    struct unit *u;
    size_t idx; /* of its item in u */
};

struct sq_load {
    struct store_sqlite *sq;
    struct store_crypt_pool *pool;
    struct unit **units; /* in reading order */
    size_t nunits;
    size_t nlinked;
    size_t next_link; /* units before this one are linked */
    int efd;
    struct tevent_fd *fde;
    double t0;
    double t_ready;
    size_t caches;
    size_t creds;
    size_t defaults;
    size_t dropped;
    size_t orphans;
    int64_t *early[3]; /* rows dropped while reading: deleted when it is over */
    size_t nearly[3];
    struct cache_ref *refs; /* the caches read */
    size_t nrefs;
};

/* store_sqlite_load.c */
bool store_sqlite_early_add(struct sq_load *ld, int table, int64_t rowid);
void store_sqlite_log_drop(const char *what, const struct store_owner_key *k, const uint8_t *uuid,
                           int ret);

/* store_sqlite_read.c */
int store_sqlite_read_defaults(struct sq_load *ld, const struct store_owner_key *only);
int store_sqlite_read_caches(struct sq_load *ld, const struct store_owner_key *only, size_t nonly);
bool store_sqlite_queue_unit(struct sq_load *ld, struct unit *u);

#endif
