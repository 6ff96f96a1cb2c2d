/* The KCM side that the op and server unit tests both set up: secure memory, a store with the
 * given cache limit, a user-scope access policy and a KCM context with MIT's extensions on.
 * Header-only (static), included after unit_common.h. */
#ifndef CACHET_UNIT_KCM_H
#define CACHET_UNIT_KCM_H

#include <talloc.h>

#include "access/access.h"
#include "common/util_secmem.h"
#include "kcm/kcm_ops.h"
#include "store/store.h"

static TC_UNUSED void tc_kcm_setup(TALLOC_CTX *mem, unsigned max_caches, struct store_limits *lim,
                                   struct access_policy *pol, struct store **st, struct kcm_ctx *k)
{
    const char *why = NULL;

    assert_int_equal(util_secmem_init(UTIL_SECMEM_DEGRADED, &why), 0);
    lim->max_caches_per_owner = max_caches;
    lim->max_creds_per_cache = 1024;
    lim->max_bytes_per_owner = 64u << 20;
    *st = store_new(mem, lim);
    assert_non_null(*st);
    pol->scope = ACCESS_SCOPE_USER;
    k->store = *st;
    k->access = pol;
    k->mit_extensions = true;
}

#endif
