/* The access policy; see access.h. */
#include "config.h"
#include "access/access.h"

#include <stdio.h>
#include <string.h>

void access_owner_of(const struct access_policy *pol, const struct util_peer *peer,
                     struct store_owner_key *key)
{
    key->uid = (uint32_t)peer->uid;
    key->session = 0;
    (void)pol;
}

void access_name_prefix(const struct util_peer *peer, char *buf, size_t len)
{
    snprintf(buf, len, "%u", (unsigned)peer->uid);
}

/* Non-root peers may only name "<uid>" or "<uid>:...", as MIT documents and Heimdal enforces
 * (sssd's plain prefix check would let uid 100 name "1000"). Root's names are free: its
 * collection is its own either way. */
static bool name_in_namespace(const struct util_peer *peer, const char *name)
{
    char prefix[16];
    size_t n;

    if (peer->uid == 0) {
        return true;
    }
    n = (size_t)snprintf(prefix, sizeof(prefix), "%u", (unsigned)peer->uid);
    return strncmp(name, prefix, n) == 0 && (name[n] == '\0' || name[n] == ':');
}

enum access_result access_check(const struct access_policy *pol, const struct util_peer *peer,
                                enum access_class cls, const char *name)
{
    (void)pol;
    if (cls == ACCESS_COLLECTION) {
        return ACCESS_ALLOW;
    }
    if (name == NULL || !name_in_namespace(peer, name)) {
        return ACCESS_DENY_NAME;
    }
    return ACCESS_ALLOW;
}

const char *access_result_str(enum access_result r)
{
    switch (r) {
    case ACCESS_ALLOW:
        return "allowed";
    case ACCESS_DENY_NAME:
        return "cache name outside the peer's namespace";
    }
    return "?";
}
