/* Write-through persistence of the store in sqlite (WAL), records encrypted at rest with
 * libkrb5's crypto under a machine master key. */
#ifndef CACHET_STORE_SQLITE_H
#define CACHET_STORE_SQLITE_H

#include <stdbool.h>
#include <stddef.h>
#include <talloc.h>
#include <tevent.h>

#include "store/store.h"

struct store_sqlite;

struct store_sqlite_options {
    const char *state_dir;       /* created 0700 if missing */
    /* $CREDENTIALS_DIRECTORY/cachet-master-key (systemd LoadCredential=), when present, wins;
     * else this file; NULL or "": <state_dir>/master.key (created 0600 on first start). */
    const char *master_key_file;
    /* The daemon's event loop: records are decrypted in the background after
     * store_sqlite_open returns (an owner is loaded at once when first asked for). NULL:
     * store_sqlite_open returns with everything loaded. */
    struct tevent_context *ev;
};

/* Open (or create) the database, load every record into st, and attach write-through.
 * A missing, truncated or corrupt database is moved aside (logged), and an empty one is used.
 * Returns 0, or an errno with err filled. */
int store_sqlite_open(TALLOC_CTX *ctx, struct store *st, const struct store_sqlite_options *opt,
                      struct store_sqlite **out, char *err, size_t errlen);

/* Are records still being decrypted in the background (opt->ev given)? */
bool store_sqlite_loading(const struct store_sqlite *sq);

#endif
