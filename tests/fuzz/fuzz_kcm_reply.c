/* libFuzzer target: KCM reply frames as a client (cachetctl, the ccache plugin, kcmbench)
 * parses them. kcm_reply_parse() first; then the body is parsed every way a client would:
 * a credential list (GET_CRED_LIST: u32 count, count x (u32 len, cred), MIT's count check),
 * a single credential (RETRIEVE, GET_CRED_BY_UUID), a principal (GET_PRINCIPAL), a uuid list
 * (GET_CACHE_UUID_LIST, GET_CRED_UUID_LIST), a name (GET_DEFAULT_CACHE, GEN_NEW) and an int32
 * (GET_KDC_OFFSET). The input is copied to an exact-size buffer so ASan sees any overread. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util_buf.h"
#include "kcm/kcm_codec.h"

static void check_cred(const struct kcm_cred *c, const uint8_t *lo, const uint8_t *hi)
{
    /* Views must lie inside the input. */
    const struct util_data v[] = { c->raw, c->client.raw, c->server.raw, c->key.key,
                                   c->addrs, c->authdata, c->ticket, c->second_ticket };

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        if (v[i].len > 0 && (v[i].p < lo || v[i].p + v[i].len > hi)) {
            __builtin_trap();
        }
    }
    (void)kcm_cred_is_config(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size > 0 ? size : 1);
    struct util_rd body;
    struct util_rd rd;
    int32_t code;
    const uint8_t *bp;
    size_t blen;

    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);
    if (!kcm_reply_parse(buf, size, &code, &body)) {
        free(buf);
        return 0;
    }
    blen = util_rd_left(&body);
    if (util_be32(buf + 4) != 0) {
        /* outer status set: it is the code, and there is no body at all */
        if (blen != 0 || code != (int32_t)util_be32(buf + 4)) {
            __builtin_trap();
        }
        free(buf);
        return 0;
    }
    bp = body.p + body.pos;
    if (bp + blen != buf + size) {
        __builtin_trap();
    }

    /* GET_CRED_LIST */
    util_rd_init(&rd, bp, blen);
    {
        uint32_t n = util_rd_u32(&rd);
        struct kcm_cred c;
        if (util_rd_ok(&rd) && n <= util_rd_left(&rd) / 4) {
            for (uint32_t i = 0; i < n; i++) {
                if (!kcm_cred_list_next(&rd, &c)) {
                    break;
                }
                check_cred(&c, bp, bp + blen);
            }
        }
    }
    /* RETRIEVE / GET_CRED_BY_UUID, and the same cred as a match template against itself. */
    {
        struct kcm_cred c;
        if (kcm_cred_from_bytes(bp, blen, &c)) {
            struct kcm_mcred m;
            check_cred(&c, bp, bp + blen);
            memset(&m, 0, sizeof(m));
            m.fields = KCM_SC_CLIENT | KCM_SC_SERVER;
            m.c = c;
            /* A cred matches itself under every flag combination except u2u rules. */
            if (!kcm_cred_match(KCM_GC_CACHED | KCM_TC_MATCH_TIMES | KCM_TC_MATCH_AUTHDATA |
                                    KCM_TC_MATCH_FLAGS_EXACT | KCM_TC_MATCH_TIMES_EXACT |
                                    KCM_TC_MATCH_2ND_TKT | KCM_TC_MATCH_KEYTYPE |
                                    KCM_TC_MATCH_IS_SKEY | KCM_TC_MATCH_FLAGS,
                                &m, &c)) {
                __builtin_trap();
            }
        }
    }
    /* mcred layout (what a server sees in RETRIEVE; cheap to cover here too). */
    util_rd_init(&rd, bp, blen);
    {
        struct kcm_mcred m;
        (void)kcm_parse_mcred(&rd, &m);
    }
    /* GET_PRINCIPAL */
    {
        struct kcm_princ p;
        if (kcm_princ_from_bytes(bp, blen, &p)) {
            if (!kcm_princ_eq(&p, &p) || p.raw.len != blen) {
                __builtin_trap();
            }
        }
    }
    /* uuid lists: a multiple of 16 */
    if (blen % KCM_UUID_LEN == 0) {
        util_rd_init(&rd, bp, blen);
        while (util_rd_left(&rd) > 0) {
            (void)util_rd_bytes(&rd, KCM_UUID_LEN);
        }
    }
    /* names */
    util_rd_init(&rd, bp, blen);
    {
        const char *s = util_rd_cstr(&rd, KCM_MAX_NAME);
        if (s != NULL && strlen(s) > KCM_MAX_NAME) {
            __builtin_trap();
        }
    }
    /* GET_KDC_OFFSET */
    util_rd_init(&rd, bp, blen);
    (void)util_rd_i32(&rd);
    (void)util_rd_done(&rd);

    free(buf);
    return 0;
}
