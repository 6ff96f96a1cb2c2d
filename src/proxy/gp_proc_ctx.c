/* INIT_SEC_CONTEXT and ACCEPT_SEC_CONTEXT: stateless, every leg imports the exported context
 * of the previous one. */
#include "config.h"
#include "proxy/gp_names.h"

#include <errno.h>
#include <string.h>

#include "common/util_log.h"
#include "proxy/gp_tkt_cache.h"

/* The kernel's receive limits (net/sunrpc/auth_gss/gss_rpc_xdr.h). */
#define KERNEL_MAX_PRINC 256

/* Like gssproxy, send sync_creds only when the call changed the credentials (a new service
 * ticket, a refreshed TGT): otherwise the client would rewrite its ccache on every call. The
 * test compares the cred's serialized form (tickets by value for MEMORY ccaches) with the one
 * the client's handle held (before: NULL if unknown); the same export is then sealed. */
static int add_sync_creds(struct gp_call *gc, gss_cred_id_t *cred,
                          const struct util_secbuf *before, gssx_option **opts, u_int *n,
                          bool first_leg)
{
    gss_buffer_desc after = GSS_C_EMPTY_BUFFER;
    gssx_cred out;
    uint32_t min, maj;
    OM_uint32 tmp;
    u_int len;
    char *buf;
    XDR x;

    if (gss_export_cred(&tmp, *cred, &after) != GSS_S_COMPLETE) {
        return 0; /* nothing to sync is not an error */
    }
    if (before != NULL && after.length == before->len &&
        memcmp(after.value, before->p, after.length) == 0) {
        maj = GSS_S_UNAVAILABLE; /* unchanged */
    } else {
        if (first_leg) {
            gp_tkt_keep_cred(gc, *cred); /* before the export below releases it */
        }
        maj = gp_cred_export_token(&min, gc, cred, &after, &out);
    }
    explicit_bzero(after.value, after.length);
    gss_release_buffer(&tmp, &after);
    if (maj != GSS_S_COMPLETE) {
        return 0;
    }
    len = (u_int)xdr_sizeof((xdrproc_t)xdr_gssx_cred, &out);
    buf = talloc_size(gc->mem, len);
    if (buf == NULL) {
        return ENOMEM;
    }
    xdrmem_create(&x, buf, len, XDR_ENCODE);
    if (!xdr_gssx_cred(&x, &out)) {
        return EINVAL;
    }
    util_log(UTIL_LOG_DEBUG, "gssproxy: credentials changed, sync_creds sent (%u bytes)", len);
    return gp_opt_add(gc->mem, opts, n, GP_OPT_SYNC_CREDS, buf, len);
}

static bool store_has_ccache(const struct gp_svc *svc)
{
    for (size_t i = 0; i < svc->ncred_store; i++) {
        if (strncmp(svc->cred_store[i], "ccache:", 7) == 0) {
            return true;
        }
    }
    return false;
}

/* MIT's cred option naming the impersonator of an s4u2self credential
 * (1.2.840.113554.1.2.2.5.14). */
static gss_OID_desc impersonator_oid = {
    11, (void *)"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x05\x0e"
};

/* As gssproxy: a credential obtained by protocol transition may initiate only to the
 * impersonator itself, unless the service is trusted, impersonates or allows constrained
 * delegation. A cred that cannot be inquired is refused. */
static bool cred_allowed(struct gp_call *gc, gss_cred_id_t cred, gss_name_t target)
{
    gss_buffer_set_t bufs = GSS_C_NO_BUFFER_SET;
    gss_name_t canon = GSS_C_NO_NAME;
    gss_buffer_desc tn = GSS_C_EMPTY_BUFFER;
    krb5_principal imp = NULL, tp = NULL;
    OM_uint32 min;
    bool ok = false;
    char *s;

    if (gc->svc->trusted || gc->svc->impersonate || gc->svc->allow_constrained_delegation) {
        return true;
    }
    if (gss_inquire_cred_by_oid(&min, cred, &impersonator_oid, &bufs) != GSS_S_COMPLETE) {
        return false;
    }
    if (bufs == GSS_C_NO_BUFFER_SET || bufs->count == 0) {
        gss_release_buffer_set(&min, &bufs);
        return true; /* not an impersonator's cred */
    }
    s = talloc_strndup(gc->mem, bufs->elements[0].value, bufs->elements[0].length);
    if (s != NULL && target != GSS_C_NO_NAME && krb5_parse_name(gc->k5, s, &imp) == 0 &&
        gss_canonicalize_name(&min, target, (gss_OID)gss_mech_krb5, &canon) == GSS_S_COMPLETE &&
        gss_display_name(&min, canon, &tn, NULL) == GSS_S_COMPLETE) {
        char *t = talloc_strndup(gc->mem, tn.value, tn.length);
        if (t != NULL && krb5_parse_name_flags(gc->k5, t, KRB5_PRINCIPAL_PARSE_IGNORE_REALM,
                                               &tp) == 0) {
            ok = krb5_principal_compare_flags(gc->k5, imp, tp,
                                              KRB5_PRINCIPAL_COMPARE_IGNORE_REALM);
        }
    }
    if (!ok) {
        util_log(UTIL_LOG_WARNING, "gssproxy: service %s: impersonated credential of %s may "
                 "only initiate to itself (allow_constrained_delegation is off)", gc->svc->name,
                 s != NULL ? s : "?");
    }
    krb5_free_principal(gc->k5, imp);
    krb5_free_principal(gc->k5, tp);
    gss_release_buffer(&min, &tn);
    gss_release_name(&min, &canon);
    gss_release_buffer_set(&min, &bufs);
    return ok;
}

/* A later leg (the imported context goes on) needs no credential: MIT's krb5 mech then only
 * checks the AP-REP ("mutual_auth doesn't care about the credentials", krb5 1.20
 * init_sec_context.c) and its mechglue hands it whatever cred it gets. What the handle's import
 * would still do is skipped for an initiator handle sealed here with its tickets by value (the
 * usage memo knows it; it must still unseal): its import (a JSON parse, a MEMORY ccache filled,
 * krb5 contexts) can fail only for want of memory (the ccache is in-process, the keytab a name
 * resolved when it was sealed), and the sync_creds test would export the import and find the
 * sealed token again (MIT's import restores every exported field, a MEMORY ccache by value in
 * its order: test_gp_tkt), so no sync_creds either way. cred_allowed looks at the cred only
 * for services that are not trusted and do not impersonate or delegate: those still import. */
static bool later_leg_without_cred(struct gp_call *gc, const gssx_arg_init_sec_context *arg)
{
    return arg->context_handle != NULL &&
           arg->context_handle->exported_context_token.octet_string_len > 0 &&
           arg->cred_handle != NULL &&
           (gc->svc->trusted || gc->svc->impersonate || gc->svc->allow_constrained_delegation) &&
           gp_cred_memo_verdict(gc, arg->cred_handle, GSS_C_INITIATE) == GP_MEMO_USABLE &&
           gp_cred_handle_unseals(gc, arg->cred_handle);
}

/* The cred of an INIT leg: none for a later leg that needs none; the handle's import (with its
 * content for the sync_creds test when before is not NULL); else, or when the handle does not
 * decrypt, the service's default. */
static uint32_t init_cred(uint32_t *min, struct gp_call *gc, const gssx_arg_init_sec_context *arg,
                          struct util_secbuf **before, gss_cred_id_t *cred)
{
    uint32_t maj;

    *cred = GSS_C_NO_CREDENTIAL;
    if (later_leg_without_cred(gc, arg)) {
        util_log(UTIL_LOG_DEBUG, "gssproxy: INIT_SEC_CONTEXT: a later leg, the handle's tickets "
                 "by value: not imported");
        return GSS_S_COMPLETE;
    }
    if (arg->cred_handle != NULL) {
        maj = gp_cred_import_token(min, gc, arg->cred_handle, cred, before);
        if (maj != GSS_S_COMPLETE || *cred != GSS_C_NO_CREDENTIAL) {
            return maj;
        }
    }
    return gp_cred_acquire(min, gc, GSS_C_INITIATE, GSS_C_NO_NAME, cred);
}

int gp_proc_init_sec_context(struct gp_call *gc, void *argp, void *resp)
{
    gssx_arg_init_sec_context *arg = argp;
    gssx_res_init_sec_context *res = resp;
    gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
    gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
    gss_name_t target = GSS_C_NO_NAME;
    gss_OID_desc mech;
    gss_OID actual = GSS_C_NO_OID;
    struct gss_channel_bindings_struct cb;
    gss_buffer_desc in = GSS_C_EMPTY_BUFFER, out = GSS_C_EMPTY_BUFFER;
    struct util_secbuf *before = NULL;
    bool first_leg = arg->context_handle == NULL ||
                     arg->context_handle->exported_context_token.octet_string_len == 0;
    OM_uint32 ret_flags = 0, tmp, min = 0;
    uint32_t maj = GSS_S_COMPLETE, flags;
    enum gp_ctx_export type = gp_export_type(&arg->call_ctx);
    /* A service with its own ccache keeps the tickets there: nothing to sync (as gssproxy). */
    bool sync = gp_opt_find(arg->options.options_val, arg->options.options_len,
                            GP_OPT_SYNC_MODIFIED_CREDS) != NULL && !store_has_ccache(gc->svc);

    gp_oid_view(&mech, &arg->mech_type);
    if (type == GP_EXPORT_INVALID) {
        maj = GSS_S_FAILURE;
        min = EINVAL;
        goto done;
    }
    if (mech.length == 0 || !gp_gss_oid_is_krb5(&mech)) {
        maj = GSS_S_BAD_MECH;
        goto done;
    }
    if (arg->context_handle != NULL &&
        arg->context_handle->exported_context_token.octet_string_len > 0) {
        maj = gp_ctx_from_gssx(&min, arg->context_handle, &ctx);
        if (maj != GSS_S_COMPLETE) {
            goto done;
        }
    }
    maj = init_cred(&min, gc, arg, sync && gc->svc->allow_client_ccache_sync ? &before : NULL,
                    &cred);
    if (maj != GSS_S_COMPLETE) {
        goto done;
    }
    if (arg->target_name != NULL) {
        maj = gp_name_from_gssx(&min, gc, arg->target_name, &target);
        if (maj != GSS_S_COMPLETE) {
            goto done;
        }
    }
    if (!cred_allowed(gc, cred, target)) {
        maj = GSS_S_NO_CRED;
        min = EACCES;
        goto done;
    }
    if (arg->input_token != NULL) {
        gp_buf_view(&in, arg->input_token);
    }
    if (arg->input_cb != NULL) {
        gp_cb_view(&cb, arg->input_cb);
    }
    flags = (uint32_t)arg->req_flags;
    flags &= ~gc->svc->filter_flags;
    flags |= gc->svc->enforce_flags;
    maj = gss_init_sec_context(&min, cred, &ctx, target, &mech, flags, (OM_uint32)arg->time_req,
                               arg->input_cb != NULL ? &cb : GSS_C_NO_CHANNEL_BINDINGS, &in,
                               &actual, &out, &ret_flags, NULL);
    if (maj == GSS_S_COMPLETE || maj == GSS_S_CONTINUE_NEEDED) {
        uint32_t emaj, emin;
        res->context_handle = talloc_zero(gc->mem, gssx_ctx);
        emaj = gp_ctx_to_gssx(&emin, gc, maj == GSS_S_COMPLETE ? type : GP_EXPORT_DEFAULT,
                              &ctx, res->context_handle);
        if (emaj != GSS_S_COMPLETE) {
            maj = emaj;
            min = emin;
            res->context_handle = NULL;
        }
    }
    if (out.length > 0 && !GSS_ERROR(maj)) {
        res->output_token = talloc_zero(gc->mem, gssx_buffer);
        gp_buf_set(gc->mem, res->output_token, out.value, out.length);
    }
    /* The first leg may have fetched a service ticket: kept for the next call (when the
     * sync_creds test runs, only if the credentials changed). */
    if (!GSS_ERROR(maj) && sync && gc->svc->allow_client_ccache_sync &&
        cred != GSS_C_NO_CREDENTIAL) {
        if (add_sync_creds(gc, &cred, before, &res->options.options_val,
                           &res->options.options_len, first_leg)) {
            util_log(UTIL_LOG_DEBUG, "sync_creds: export failed");
        }
    } else if (!GSS_ERROR(maj) && first_leg) {
        gp_tkt_keep_cred(gc, cred);
    }
done:
    gp_status_set(gc->mem, &res->status, maj, min,
                  actual != GSS_C_NO_OID ? actual : (mech.length > 0 ? &mech : GSS_C_NO_OID));
    talloc_free(before);
    gss_release_buffer(&tmp, &out);
    gss_release_name(&tmp, &target);
    gp_cred_release(&cred);
    gss_delete_sec_context(&tmp, &ctx, GSS_C_NO_BUFFER);
    return 0;
}

int gp_proc_accept_sec_context(struct gp_call *gc, void *argp, void *resp)
{
    gssx_arg_accept_sec_context *arg = argp;
    gssx_res_accept_sec_context *res = resp;
    gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
    gss_cred_id_t cred = GSS_C_NO_CREDENTIAL, deleg = GSS_C_NO_CREDENTIAL;
    gss_name_t src = GSS_C_NO_NAME;
    gss_OID mech = GSS_C_NO_OID;
    struct gss_channel_bindings_struct cb;
    gss_buffer_desc in, out = GSS_C_EMPTY_BUFFER;
    OM_uint32 ret_flags = 0, tmp, min = 0;
    uint32_t maj = GSS_S_COMPLETE;
    enum gp_ctx_export type = gp_export_type(&arg->call_ctx);
    const octet_string *ct = gp_opt_find(arg->call_ctx.options.options_val,
                                         arg->call_ctx.options.options_len,
                                         GP_OPT_EXPORTED_CREDS_TYPE);
    bool want_creds = false;

    if (type == GP_EXPORT_INVALID) {
        maj = GSS_S_FAILURE;
        min = EINVAL;
        goto done;
    }
    if (ct != NULL) {
        if (!gp_opt_value_is(ct, GP_OPT_LINUX_CREDS_V1)) {
            maj = GSS_S_FAILURE;
            min = EINVAL;
            goto done;
        }
        want_creds = true;
    }
    /* Multi-leg accept for userspace clients: continue the exported partial context. */
    if (arg->context_handle != NULL &&
        arg->context_handle->exported_context_token.octet_string_len > 0) {
        maj = gp_ctx_from_gssx(&min, arg->context_handle, &ctx);
        if (maj != GSS_S_COMPLETE) {
            goto done;
        }
    }
    if (arg->cred_handle != NULL) {
        maj = gp_cred_import(&min, gc, arg->cred_handle, &cred);
        if (maj != GSS_S_COMPLETE) {
            goto done;
        }
    }
    if (cred == GSS_C_NO_CREDENTIAL) {
        maj = gp_cred_acquire(&min, gc, GSS_C_ACCEPT, GSS_C_NO_NAME, &cred);
        if (maj != GSS_S_COMPLETE) {
            goto done;
        }
    }
    gp_buf_view(&in, &arg->input_token);
    if (arg->input_cb != NULL) {
        gp_cb_view(&cb, arg->input_cb);
    }
    maj = gss_accept_sec_context(&min, &ctx, cred, &in,
                                 arg->input_cb != NULL ? &cb : GSS_C_NO_CHANNEL_BINDINGS, &src,
                                 &mech, &out, &ret_flags, NULL,
                                 arg->ret_deleg_cred ? &deleg : NULL);
    if (maj == GSS_S_COMPLETE || maj == GSS_S_CONTINUE_NEEDED) {
        bool complete = maj == GSS_S_COMPLETE;
        uint32_t emaj, emin;
        res->context_handle = talloc_zero(gc->mem, gssx_ctx);
        emaj = gp_ctx_to_gssx_accept(&emin, gc, complete ? type : GP_EXPORT_DEFAULT, &ctx, src,
                                     complete && gp_gss_oid_is_krb5(mech) ? &in : NULL,
                                     res->context_handle);
        if (emaj == GSS_S_COMPLETE && type == GP_EXPORT_LUCID &&
            res->context_handle->src_name.display_name.octet_string_len > KERNEL_MAX_PRINC) {
            emaj = GSS_S_FAILURE;
            emin = ENAMETOOLONG;
        }
        if (emaj != GSS_S_COMPLETE) {
            maj = emaj;
            min = emin;
            res->context_handle = NULL;
        }
    }
    if (maj == GSS_S_COMPLETE && want_creds) {
        octet_string v = { 0, NULL };
        /* The reply's display form of src spares gss_localname's krb5 context. */
        uint32_t cmaj = gp_linux_creds_named(&min, gc, src, mech,
                                             res->context_handle != NULL
                                                 ? &res->context_handle->src_name : NULL,
                                             &v);
        if (cmaj != GSS_S_COMPLETE ||
            gp_opt_add(gc->mem, &res->options.options_val, &res->options.options_len,
                       GP_OPT_LINUX_CREDS_V1, v.octet_string_val, v.octet_string_len) != 0) {
            maj = GSS_S_FAILURE;
            res->context_handle = NULL;
        }
    }
    if (maj == GSS_S_COMPLETE && deleg != GSS_C_NO_CREDENTIAL &&
        (ret_flags & GSS_C_DELEG_FLAG) && arg->ret_deleg_cred) {
        res->delegated_cred_handle = talloc_zero(gc->mem, gssx_cred);
        if (gp_cred_export(&tmp, gc, &deleg, res->delegated_cred_handle) != GSS_S_COMPLETE) {
            res->delegated_cred_handle = NULL;
        }
    }
    /* Always present, even empty, as the reference server sends it. */
    res->output_token = talloc_zero(gc->mem, gssx_buffer);
    if (out.length > 0) {
        gp_buf_set(gc->mem, res->output_token, out.value, out.length);
    }
done:
    gp_status_set(gc->mem, &res->status, maj, min, mech);
    gss_release_buffer(&tmp, &out);
    gss_release_name(&tmp, &src);
    gp_cred_release(&cred);
    gss_release_cred(&tmp, &deleg);
    gss_delete_sec_context(&tmp, &ctx, GSS_C_NO_BUFFER);
    return 0;
}
