/* The procedure table and the worker-side execution of one call: XDR decode, procedure, XDR
 * encode of the reply into secure memory. */
#include "config.h"
#include "proxy/gp_proc.h"

#include <errno.h>
#include <string.h>

#include "common/util_buf.h"
#include "common/util_log.h"
#include "common/util_secmem.h"
#include "proxy/gp_rpc.h"

struct gp_proc_desc {
    const char *name;
    xdrproc_t xdr_arg;
    size_t arg_size;
    xdrproc_t xdr_res;
    size_t res_size;
    gp_proc_fn fn;
};

#define P(n, a, r, f) { n, (xdrproc_t)xdr_##a, sizeof(a), (xdrproc_t)xdr_##r, sizeof(r), f }

static const struct gp_proc_desc procs[GP_RPC_PROC_MAX + 1] = {
    [1] = P("INDICATE_MECHS", gssx_arg_indicate_mechs, gssx_res_indicate_mechs,
            gp_proc_indicate_mechs),
    [2] = P("GET_CALL_CONTEXT", gssx_arg_get_call_context, gssx_res_get_call_context,
            gp_proc_get_call_context),
    [3] = P("IMPORT_AND_CANON_NAME", gssx_arg_import_and_canon_name,
            gssx_res_import_and_canon_name, gp_proc_import_and_canon_name),
    [4] = P("EXPORT_CRED", gssx_arg_export_cred, gssx_res_export_cred, gp_proc_export_cred),
    [5] = P("IMPORT_CRED", gssx_arg_import_cred, gssx_res_import_cred, gp_proc_import_cred),
    [6] = P("ACQUIRE_CRED", gssx_arg_acquire_cred, gssx_res_acquire_cred, gp_proc_acquire_cred),
    [7] = P("STORE_CRED", gssx_arg_store_cred, gssx_res_store_cred, gp_proc_store_cred),
    [8] = P("INIT_SEC_CONTEXT", gssx_arg_init_sec_context, gssx_res_init_sec_context,
            gp_proc_init_sec_context),
    [9] = P("ACCEPT_SEC_CONTEXT", gssx_arg_accept_sec_context, gssx_res_accept_sec_context,
            gp_proc_accept_sec_context),
    [10] = P("RELEASE_HANDLE", gssx_arg_release_handle, gssx_res_release_handle,
             gp_proc_release_handle),
    [11] = P("GET_MIC", gssx_arg_get_mic, gssx_res_get_mic, gp_proc_get_mic),
    [12] = P("VERIFY", gssx_arg_verify_mic, gssx_res_verify_mic, gp_proc_verify),
    [13] = P("WRAP", gssx_arg_wrap, gssx_res_wrap, gp_proc_wrap),
    [14] = P("UNWRAP", gssx_arg_unwrap, gssx_res_unwrap, gp_proc_unwrap),
    [15] = P("WRAP_SIZE_LIMIT", gssx_arg_wrap_size_limit, gssx_res_wrap_size_limit,
             gp_proc_wrap_size_limit),
};

const char *gp_proc_name(uint32_t proc)
{
    if (proc == 0) {
        return "NULLPROC";
    }
    return proc <= GP_RPC_PROC_MAX ? procs[proc].name : "unknown";
}

/* Decoded arguments hold exported contexts and sealed creds: wipe before freeing. */
static void wipe_args(uint32_t proc, void *arg)
{
    switch (proc) {
    case 6:
        gp_wipe_cred(((gssx_arg_acquire_cred *)arg)->input_cred_handle);
        break;
    case 8:
        gp_wipe_ctx(((gssx_arg_init_sec_context *)arg)->context_handle);
        gp_wipe_cred(((gssx_arg_init_sec_context *)arg)->cred_handle);
        break;
    case 9:
        gp_wipe_ctx(((gssx_arg_accept_sec_context *)arg)->context_handle);
        gp_wipe_cred(((gssx_arg_accept_sec_context *)arg)->cred_handle);
        break;
    case 11:
    case 12:
    case 13:
    case 14:
    case 15:
        /* context_handle is the second member of each of these argument structs */
        gp_wipe_ctx(&((gssx_arg_get_mic *)arg)->context_handle);
        break;
    default:
        break;
    }
}

static uint8_t *reply_with(uint32_t xid, enum gp_rpc_accept_stat stat, size_t *out_len)
{
    uint8_t hdr[GP_RPC_REPLY_HDR_MAX];
    size_t n = gp_rpc_accepted(hdr, xid, stat);
    uint8_t *out = util_secmem_alloc(4 + n);

    if (out == NULL) {
        return NULL;
    }
    util_put_be32(out, GP_RPC_LAST_FRAG | (uint32_t)n);
    memcpy(out + 4, hdr, n);
    *out_len = 4 + n;
    return out;
}

uint8_t *gp_proc_execute(struct gp_call *gc, uint32_t xid, uint32_t proc, const uint8_t *args,
                         size_t args_len, size_t *out_len)
{
    const struct gp_proc_desc *d;
    uint8_t argbuf[1024] __attribute__((aligned(16)));
    uint8_t resbuf[1024] __attribute__((aligned(16)));
    void *arg = argbuf, *res = resbuf;
    uint8_t *out = NULL;
    XDR x;
    bool ok;
    int r;

    if (proc < GP_RPC_PROC_MIN || proc > GP_RPC_PROC_MAX) {
        return reply_with(xid, GP_RPC_PROC_UNAVAIL, out_len);
    }
    d = &procs[proc];
    gc->proc_name = d->name;
    memset(arg, 0, d->arg_size);
    memset(res, 0, d->res_size);
    xdrmem_create(&x, (char *)args, (u_int)args_len, XDR_DECODE);
    ok = d->xdr_arg(&x, arg, 0);
    /* The arguments must use the whole record. */
    ok = ok && xdr_getpos(&x) == args_len;
    xdr_destroy(&x);
    if (!ok) {
        wipe_args(proc, arg);
        xdr_free(d->xdr_arg, arg);
        return reply_with(xid, GP_RPC_GARBAGE_ARGS, out_len);
    }
    r = d->fn(gc, arg, res);
    if (r == 0) {
        /* Every result starts with its gssx_status. Clients may not show it (Debian's 0.9.1
         * interposer reports a remote failure as GSS_S_FAILURE/0), so the log does. */
        const gssx_status *st = res;
        if (GSS_ERROR(st->major_status) && util_log_get_level() >= UTIL_LOG_DEBUG) {
            util_log(UTIL_LOG_DEBUG, "gssproxy: %s for service %s, uid %u: %.*s%s%.*s", d->name,
                     gc->svc->name, (unsigned)gc->peer.uid,
                     (int)st->major_status_string.utf8string_len,
                     st->major_status_string.utf8string_val,
                     st->minor_status_string.utf8string_len > 0 ? ": " : "",
                     (int)st->minor_status_string.utf8string_len,
                     st->minor_status_string.utf8string_val);
        }
    }
    if (r != 0) {
        out = reply_with(xid, GP_RPC_SYSTEM_ERR, out_len);
    } else {
        uint8_t hdr[GP_RPC_REPLY_HDR_MAX];
        size_t hl = gp_rpc_accepted(hdr, xid, GP_RPC_SUCCESS);
        unsigned long bl = xdr_sizeof(d->xdr_res, res);
        if (bl == 0 || hl + bl > GP_RPC_MAX_RECORD) {
            out = reply_with(xid, GP_RPC_SYSTEM_ERR, out_len);
        } else {
            out = util_secmem_alloc(4 + hl + bl);
            if (out != NULL) {
                util_put_be32(out, GP_RPC_LAST_FRAG | (uint32_t)(hl + bl));
                memcpy(out + 4, hdr, hl);
                xdrmem_create(&x, (char *)out + 4 + hl, (u_int)bl, XDR_ENCODE);
                ok = d->xdr_res(&x, res, 0);
                xdr_destroy(&x);
                if (!ok) {
                    util_secmem_free(out);
                    out = reply_with(xid, GP_RPC_SYSTEM_ERR, out_len);
                } else {
                    *out_len = 4 + hl + bl;
                }
            }
        }
    }
    wipe_args(proc, arg);
    xdr_free(d->xdr_arg, arg);
    gp_call_cleanup(gc);
    return out;
}
