/* libFuzzer target: a GSS-Proxy byte stream through record marking, the RPC call header and,
 * for procedure calls, XDR decoding and the procedure itself (as a worker runs it), then the
 * reply encoding. Every reply must be one well-formed last fragment.
 *
 * The service has no usable keytab and krb5 has no realm (KRB5_CONFIG=/dev/null), so
 * procedures fail fast without a KDC; the decoders, option handling, name and context import
 * paths, sealed credential handles and status formatting are all exercised. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#include "common/util_buf.h"
#include "common/util_log.h"
#include "common/util_secmem.h"
#include "proxy/gp_conf.h"
#include "proxy/gp_proc.h"
#include "proxy/gp_rpc.h"

static struct gp_conf *g_conf;
static krb5_context g_k5;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *why = NULL;
    char err[256];
    static const char conf[] = "[gssproxy]\n"
                               "[service/fuzz]\n"
                               "  mechs = krb5\n"
                               "  euid = 0\n"
                               "  cred_store = keytab:/nonexistent/fuzz.keytab\n"
                               "  trusted = yes\n"
                               "  allow_client_ccache_sync = yes\n";

    setenv("KRB5_CONFIG", "/dev/null", 1);
    setenv("GSS_USE_PROXY", "NO", 1);
    setenv("KRB5_KTNAME", "FILE:/nonexistent/default.keytab", 1);
    util_log_set_level(UTIL_LOG_ERROR);
    util_secmem_init(UTIL_SECMEM_DEGRADED, &why);
    g_conf = talloc_zero(NULL, struct gp_conf);
    if (gp_conf_parse_text(g_conf, "fuzz.conf", conf, err, sizeof(err)) != 0 ||
        g_conf->nsvcs != 1) {
        abort();
    }
    /* A fixed handle key: aes256 (enctype 18). */
    g_conf->svcs[0].handle_key = util_secbuf_new(g_conf, 32);
    memset(g_conf->svcs[0].handle_key->p, 0x42, 32);
    g_conf->svcs[0].handle_enctype = 18;
    if (krb5_init_context(&g_k5) != 0) {
        abort();
    }
    return 0;
}

static void check_reply(const uint8_t *r, size_t n, uint32_t xid)
{
    if (n < 4 + GP_RPC_ACCEPTED_HDR - 4 || util_be32(r) != (GP_RPC_LAST_FRAG | (n - 4)) ||
        util_be32(r + 4) != xid) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *in = malloc(size + 1);
    size_t have = size;
    unsigned records = 0;

    if (in == NULL) {
        return 0;
    }
    memcpy(in, data, size);
    while (have > 0 && records++ < 8) {
        size_t consumed = 0, reclen = 0;
        struct gp_rpc_call call;
        uint8_t hdr[GP_RPC_REPLY_HDR_MAX];
        size_t hlen = 0;
        uint8_t *rec;

        if (gp_rm_scan(in, have, &consumed, &reclen) != GP_RM_COMPLETE) {
            break;
        }
        if (consumed > have || reclen > consumed) {
            abort();
        }
        rec = malloc(reclen + 1);
        gp_rm_assemble(in, consumed, rec);
        switch (gp_rpc_parse_call(rec, reclen, &call, hdr, &hlen)) {
        case GP_RPC_REPLY_NOW:
            if (hlen < 20 || hlen > GP_RPC_REPLY_HDR_MAX) {
                abort();
            }
            break;
        case GP_RPC_DISPATCH: {
            struct gp_call gc = { 0 };
            size_t olen = 0;
            uint8_t *out;
            gc.mem = talloc_new(NULL);
            gc.conf = g_conf;
            gc.svc = &g_conf->svcs[0];
            gc.k5 = g_k5;
            out = gp_proc_execute(&gc, call.xid, call.proc, call.args, call.args_len, &olen);
            if (out == NULL) {
                abort();
            }
            check_reply(out, olen, call.xid);
            util_secmem_free(out);
            talloc_free(gc.mem);
            break;
        }
        case GP_RPC_CLOSE:
            break;
        }
        free(rec);
        memmove(in, in + consumed, have - consumed);
        have -= consumed;
    }
    free(in);
    return 0;
}
