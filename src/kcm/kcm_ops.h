/* KCM operations: the op table (opcode -> name, access class, handler) and the dispatcher.
 * No I/O: kcm_dispatch() turns one request frame into one reply frame, so the daemon, the
 * fuzzer and the unit tests share it. */
#ifndef CACHET_KCM_OPS_H
#define CACHET_KCM_OPS_H

#include <stdbool.h>
#include <stdint.h>
#include <talloc.h>

#include "access/access.h"
#include "common/util_peer.h"
#include "common/util_secmem.h"
#include "kcm/kcm_codec.h"
#include "store/store.h"

struct kcm_ctx {
    struct store *store;
    const struct access_policy *access;
    bool mit_extensions; /* RETRIEVE, GET_CRED_LIST, REPLACE */
    uint64_t requests;
    uint64_t errors;
};

/* A reusable reply buffer in secure memory. Grows by allocate-copy-wipe, never realloc. */
struct kcm_out {
    struct util_secbuf *buf;
    size_t len; /* bytes of the current reply */
};

enum kcm_disposition {
    KCM_DISP_REPLY, /* out holds a complete reply frame */
    KCM_DISP_DROP,  /* protocol violation: close this connection */
};

/* frame = the request bytes after the 4-byte length. On DROP, *why says what was wrong. */
enum kcm_disposition kcm_dispatch(struct kcm_ctx *k, const struct util_peer *peer,
                                  const uint8_t *frame, size_t len, TALLOC_CTX *out_ctx,
                                  struct kcm_out *out, const char **why);
/* Shrink an idle reply buffer back to its small size. */
void kcm_out_trim(struct kcm_out *out);

#endif
