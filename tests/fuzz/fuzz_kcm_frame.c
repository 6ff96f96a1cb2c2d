/* libFuzzer target: KCM request frames through the parser and the whole dispatcher, against a
 * scratch store that persists across inputs so state (caches, creds, defaults) builds up.
 *
 * Input: a sequence of frames, each "u32 BE length, payload" exactly as on the wire (so the
 * golden vectors and concatenated sessions are valid seeds). A length running past the end
 * takes the rest. Two high bits of the length, never set by real clients, steer the frame:
 * bit 31 sends it as uid 1000 instead of root (the access checks), bit 30 turns the MIT
 * extensions off for it. Every reply must be a well-formed frame. The store is reset every
 * RESET_EVERY inputs to bound memory, and has small limits so it cannot grow large. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#include "access/access.h"
#include "common/util_log.h"
#include "common/util_peer.h"
#include "common/util_secmem.h"
#include "kcm/kcm_codec.h"
#include "kcm/kcm_ops.h"
#include "store/store.h"

#define RESET_EVERY 2000
#define MAX_FRAMES 64

static TALLOC_CTX *g_mem;
static struct store *g_store;
static struct access_policy g_pol;
static struct kcm_ctx g_k;
static struct kcm_out g_out;
static unsigned g_inputs;

static void reset(void)
{
    struct store_limits lim = {
        .max_caches_per_owner = 16,
        .max_creds_per_cache = 64,
        .max_bytes_per_owner = 1u << 20,
    };

    talloc_free(g_mem);
    g_mem = talloc_new(NULL);
    g_store = store_new(g_mem, &lim);
    if (g_store == NULL) {
        abort();
    }
    memset(&g_out, 0, sizeof(g_out));
    memset(&g_k, 0, sizeof(g_k));
    g_k.store = g_store;
    g_k.access = &g_pol;
    g_k.mit_extensions = true;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *why;

    (void)argc;
    (void)argv;
    util_log_set_level(UTIL_LOG_ERROR);
    if (util_secmem_init(UTIL_SECMEM_DEGRADED, &why) != 0) {
        abort();
    }
    memset(&g_pol, 0, sizeof(g_pol));
    g_pol.scope = ACCESS_SCOPE_USER;
    reset();
    return 0;
}

static struct util_peer peer_of(uid_t uid)
{
    struct util_peer p;

    memset(&p, 0, sizeof(p));
    p.pid = 4242;
    p.uid = uid;
    p.gid = uid;
    p.pidfd = -1;
    p.details_known = true; /* the /proc facts are the test's own */
    p.audit_session = UTIL_NO_AUDIT_SESSION;
    return p;
}

/* The reply in g_out must be a frame MIT's client accepts: len, outer 0, inner code, and an
 * error carries no fields. */
static void check_reply(void)
{
    int32_t code;
    struct util_rd body;

    if (g_out.buf == NULL || g_out.len < KCM_REPLY_HDR || g_out.len > g_out.buf->len ||
        !kcm_reply_parse(g_out.buf->p, g_out.len, &code, &body) ||
        util_be32(g_out.buf->p + 4) != 0 || (code != 0 && util_rd_left(&body) != 0)) {
        __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct util_peer root = peer_of(0);
    struct util_peer user = peer_of(1000);
    size_t pos = 0;
    int frames = 0;

    if (++g_inputs % RESET_EVERY == 0) {
        reset();
    }
    while (size - pos >= 4 && frames++ < MAX_FRAMES) {
        uint32_t word = util_be32(data + pos);
        size_t len = word & 0x3fffffffu;
        const char *why = NULL;
        enum kcm_disposition d;
        uint8_t *frame;

        pos += 4;
        if (len > size - pos) {
            len = size - pos;
        }
        /* An exact-size copy: a read past the frame is a heap overflow ASan sees. */
        frame = malloc(len > 0 ? len : 1);
        if (frame == NULL) {
            return 0;
        }
        memcpy(frame, data + pos, len);
        pos += len;
        g_k.mit_extensions = (word & 0x40000000u) == 0;
        d = kcm_dispatch(&g_k, (word & 0x80000000u) ? &user : &root, frame, len, g_mem, &g_out,
                         &why);
        if (d == KCM_DISP_REPLY) {
            check_reply();
        } else if (d != KCM_DISP_DROP || why == NULL) {
            __builtin_trap();
        }
        free(frame);
        kcm_out_trim(&g_out);
    }
    /* Now and then let time pass: expire creds, drop caches. */
    if (size >= 4 && data[size - 1] == 0xee) {
        (void)store_purge_expired(g_store, util_be32(data + size - 4));
    }
    return 0;
}
