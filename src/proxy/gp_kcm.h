/* Initiation on behalf of a local user from cachetd's own KCM store. On the loop, the peer's
 * default cache is copied (under the access rules, as a KCM read of that cache) into one
 * secure buffer that travels with the call; in the worker it seeds the call's private MEMORY
 * ccache. No ccache file, no second copy in the store. */
#ifndef CACHET_GP_KCM_H
#define CACHET_GP_KCM_H

#include <krb5/krb5.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util_peer.h"

struct store;
struct access_policy;

struct gp_kcm_source {
    struct store *store;
    const struct access_policy *access;
};

/* Loop side. NULL when the peer has no readable default cache with credentials. The result
 * is util_secmem memory: u32 principal length, principal (KCM encoding), u32 count, then
 * count x (u32 length, credential in KCM encoding). */
uint8_t *gp_kcm_snapshot(const struct gp_kcm_source *src, const struct util_peer *peer,
                         size_t *len);

/* Worker side: initialize ccache with the snapshot's principal and store its credentials.
 * Returns the number of credentials stored, or -1. */
int gp_kcm_seed(krb5_context k, krb5_ccache cc, const uint8_t *snap, size_t len);

#endif
