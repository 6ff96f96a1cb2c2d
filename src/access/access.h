/* The one access policy: may this peer do this to this cache? Every KCM handler reaches the
 * store only through access_check(), called by the dispatcher from the op table. */
#ifndef CACHET_ACCESS_H
#define CACHET_ACCESS_H

#include <stdbool.h>

#include "common/util_peer.h"
#include "store/store.h"

enum access_class {
    ACCESS_COLLECTION, /* no cache name: lists, default cache, GEN_NEW */
    ACCESS_READ,       /* read one named cache */
    ACCESS_WRITE,      /* modify or create one named cache */
};

enum access_result {
    ACCESS_ALLOW = 0,
    ACCESS_DENY_NAME, /* the name is outside the peer's namespace */
};

enum access_scope {
    ACCESS_SCOPE_USER = 0,
    ACCESS_SCOPE_SESSION = 1,
};

struct access_policy {
    enum access_scope scope;
};

/* Which collection the peer's requests go to. */
void access_owner_of(const struct access_policy *pol, const struct util_peer *peer,
                     struct store_owner_key *key);
/* name may be NULL for ACCESS_COLLECTION. */
enum access_result access_check(const struct access_policy *pol, const struct util_peer *peer,
                                enum access_class cls, const char *name);
/* Prefix for generated names ("<uid>"). */
void access_name_prefix(const struct util_peer *peer, char *buf, size_t len);
const char *access_result_str(enum access_result r);

#endif
