/* INDICATE_MECHS, IMPORT_AND_CANON_NAME, ACQUIRE_CRED (incl. impersonate_name), RELEASE_HANDLE,
 * GET_CALL_CONTEXT (a stub, as in gssproxy), EXPORT_CRED, IMPORT_CRED and STORE_CRED. */
#include "config.h"
#include "proxy/gp_names.h"

#include <errno.h>
#include <string.h>

#include "common/util_log.h"

static int oid_set_to_gssx(TALLOC_CTX *m, gss_OID_set set, gssx_OID_set *x)
{
    x->gssx_OID_set_len = 0;
    x->gssx_OID_set_val = NULL;
    if (set == GSS_C_NO_OID_SET || set->count == 0) {
        return 0;
    }
    x->gssx_OID_set_val = talloc_zero_array(m, gssx_OID, set->count);
    if (x->gssx_OID_set_val == NULL) {
        return ENOMEM;
    }
    for (size_t i = 0; i < set->count; i++) {
        if (gp_oid_to_gssx(m, &set->elements[i], &x->gssx_OID_set_val[i]) != 0) {
            return ENOMEM;
        }
    }
    x->gssx_OID_set_len = (u_int)set->count;
    return 0;
}

static int buf_from_gss(TALLOC_CTX *m, gssx_buffer *b, gss_buffer_t g)
{
    return gp_buf_set(m, b, g->value, g->length);
}

int gp_proc_indicate_mechs(struct gp_call *gc, void *argp, void *resp)
{
    gssx_res_indicate_mechs *res = resp;
    gss_OID_set mechs = GSS_C_NO_OID_SET, known_all = GSS_C_NO_OID_SET;
    OM_uint32 maj, min = 0, tmp;

    maj = gss_indicate_mechs(&min, &mechs);
    if (maj != GSS_S_COMPLETE) {
        goto done;
    }
    res->mechs.mechs_val = talloc_zero_array(gc->mem, gssx_mech_info, mechs->count);
    if (res->mechs.mechs_val == NULL) {
        maj = GSS_S_FAILURE;
        min = ENOMEM;
        goto done;
    }
    (void)gss_create_empty_oid_set(&tmp, &known_all);
    for (size_t i = 0; i < mechs->count; i++) {
        gss_OID m = &mechs->elements[i];
        gssx_mech_info *mi = &res->mechs.mechs_val[res->mechs.mechs_len];
        gss_OID_set nt = GSS_C_NO_OID_SET, attrs = GSS_C_NO_OID_SET, known = GSS_C_NO_OID_SET;
        gss_buffer_desc sasl = GSS_C_EMPTY_BUFFER, mname = GSS_C_EMPTY_BUFFER,
                        mdesc = GSS_C_EMPTY_BUFFER;

        if (gp_oid_to_gssx(gc->mem, m, &mi->mech) != 0) {
            continue;
        }
        if (gss_inquire_names_for_mech(&tmp, m, &nt) == GSS_S_COMPLETE) {
            oid_set_to_gssx(gc->mem, nt, &mi->name_types);
            gss_release_oid_set(&tmp, &nt);
        }
        if (gss_inquire_attrs_for_mech(&tmp, m, &attrs, &known) == GSS_S_COMPLETE) {
            oid_set_to_gssx(gc->mem, attrs, &mi->mech_attrs);
            oid_set_to_gssx(gc->mem, known, &mi->known_mech_attrs);
            for (size_t j = 0; known != GSS_C_NO_OID_SET && j < known->count; j++) {
                int present = 0;
                (void)gss_test_oid_set_member(&tmp, &known->elements[j], known_all, &present);
                if (!present) {
                    (void)gss_add_oid_set_member(&tmp, &known->elements[j], &known_all);
                }
            }
            gss_release_oid_set(&tmp, &attrs);
            gss_release_oid_set(&tmp, &known);
        }
        if (gss_inquire_saslname_for_mech(&tmp, m, &sasl, &mname, &mdesc) == GSS_S_COMPLETE) {
            buf_from_gss(gc->mem, &mi->saslname_sasl_mech_name, &sasl);
            buf_from_gss(gc->mem, &mi->saslname_mech_name, &mname);
            buf_from_gss(gc->mem, &mi->saslname_mech_desc, &mdesc);
            gss_release_buffer(&tmp, &sasl);
            gss_release_buffer(&tmp, &mname);
            gss_release_buffer(&tmp, &mdesc);
        }
        res->mechs.mechs_len++;
    }
    if (known_all != GSS_C_NO_OID_SET && known_all->count > 0) {
        res->mech_attr_descs.mech_attr_descs_val =
            talloc_zero_array(gc->mem, gssx_mech_attr, known_all->count);
        for (size_t j = 0; res->mech_attr_descs.mech_attr_descs_val != NULL &&
                           j < known_all->count; j++) {
            gssx_mech_attr *ma =
                &res->mech_attr_descs.mech_attr_descs_val[res->mech_attr_descs.mech_attr_descs_len];
            gss_buffer_desc n = GSS_C_EMPTY_BUFFER, s = GSS_C_EMPTY_BUFFER,
                            l = GSS_C_EMPTY_BUFFER;
            if (gss_display_mech_attr(&tmp, &known_all->elements[j], &n, &s, &l) !=
                GSS_S_COMPLETE) {
                continue;
            }
            gp_oid_to_gssx(gc->mem, &known_all->elements[j], &ma->attr);
            buf_from_gss(gc->mem, &ma->name, &n);
            buf_from_gss(gc->mem, &ma->short_desc, &s);
            buf_from_gss(gc->mem, &ma->long_desc, &l);
            gss_release_buffer(&tmp, &n);
            gss_release_buffer(&tmp, &s);
            gss_release_buffer(&tmp, &l);
            res->mech_attr_descs.mech_attr_descs_len++;
        }
    }
done:
    gss_release_oid_set(&tmp, &mechs);
    gss_release_oid_set(&tmp, &known_all);
    gp_status_set(gc->mem, &res->status, maj, min, GSS_C_NO_OID);
    return 0;
}

/* A krb5 principal name canonicalized for krb5 (what the interposer's gss_localname sends)
 * from the principal with this thread's names context: the GSSAPI way makes and frees a krb5
 * context in each of its six name calls. false: use GSSAPI. */
static bool canon_krb5(struct gp_call *gc, const gssx_arg_import_and_canon_name *arg,
                       gss_const_OID mech, gssx_res_import_and_canon_name *res)
{
    const gssx_name *in = &arg->input_name;
    bool local =
        gp_opt_find(arg->options.options_val, arg->options.options_len, GP_OPT_LOCALNAME) != NULL;
    gssx_name *x = talloc_zero(gc->mem, gssx_name);
    gss_OID_desc type;
    char user[256];

    gp_oid_view(&type, &in->name_type);
    if (x == NULL || !gss_oid_equal(mech, gss_mech_krb5) ||
        !gss_oid_equal(&type, GSS_KRB5_NT_PRINCIPAL_NAME) ||
        gp_names_canon(gc->mem, in->display_name.octet_string_val,
                       in->display_name.octet_string_len, x, local ? user : NULL,
                       sizeof(user)) != 0) {
        return false;
    }
    if (local && gp_opt_add(gc->mem, &res->options.options_val, &res->options.options_len,
                            GP_OPT_LOCALNAME, user, strlen(user)) != 0) {
        return false;
    }
    res->output_name = x;
    return true;
}

int gp_proc_import_and_canon_name(struct gp_call *gc, void *argp, void *resp)
{
    gssx_arg_import_and_canon_name *arg = argp;
    gssx_res_import_and_canon_name *res = resp;
    gss_name_t name = GSS_C_NO_NAME, canon = GSS_C_NO_NAME;
    gss_OID_desc mech;
    OM_uint32 maj, min = 0, tmp;

    gp_oid_view(&mech, &arg->mech);
    if (arg->input_name.display_name.octet_string_len > 0 && canon_krb5(gc, arg, &mech, res)) {
        maj = GSS_S_COMPLETE;
        goto done;
    }
    maj = gp_name_from_gssx(&min, gc, &arg->input_name, &name);
    if (maj != GSS_S_COMPLETE) {
        goto done;
    }
    if (mech.length > 0) {
        maj = gss_canonicalize_name(&min, name, &mech, &canon);
        if (maj != GSS_S_COMPLETE) {
            goto done;
        }
    }
    res->output_name = talloc_zero(gc->mem, gssx_name);
    maj = gp_name_to_gssx(&min, gc->mem, canon != GSS_C_NO_NAME ? canon : name, GP_NAME_ANY,
                          res->output_name);
    if (maj != GSS_S_COMPLETE) {
        res->output_name = NULL;
        goto done;
    }
    if (gp_opt_find(arg->options.options_val, arg->options.options_len, GP_OPT_LOCALNAME) !=
        NULL) {
        gss_buffer_desc ln = GSS_C_EMPTY_BUFFER;
        maj = gss_localname(&min, canon != GSS_C_NO_NAME ? canon : name,
                            mech.length > 0 ? &mech : GSS_C_NO_OID, &ln);
        if (maj == GSS_S_COMPLETE) {
            gp_opt_add(gc->mem, &res->options.options_val, &res->options.options_len,
                       GP_OPT_LOCALNAME, ln.value, ln.length);
            gss_release_buffer(&tmp, &ln);
        } else {
            res->output_name = NULL;
        }
    }
done:
    gp_status_set(gc->mem, &res->status, maj, min, mech.length > 0 ? &mech : GSS_C_NO_OID);
    gss_release_name(&tmp, &name);
    gss_release_name(&tmp, &canon);
    return 0;
}

/* acquire_type = impersonate_name: s4u2self for desired_name with the impersonator's
 * initiator cred (the input handle, else the service's own from its keytab). Only for
 * services with allow_protocol_transition or trusted, as gssproxy. */
static uint32_t acquire_impersonate(struct gp_call *gc, const gssx_arg_acquire_cred *arg,
                                    const octet_string *at, gss_cred_id_t *out,
                                    OM_uint32 *min)
{
    gss_OID_set_desc mechs = { 1, (gss_OID)gss_mech_krb5 };
    gss_cred_id_t imp = GSS_C_NO_CREDENTIAL;
    gss_name_t who = GSS_C_NO_NAME;
    OM_uint32 tmp;
    uint32_t maj;

    *min = 0;
    if (!gp_opt_value_is(at, GP_OPT_IMPERSONATE_NAME)) {
        *min = EINVAL;
        return GSS_S_FAILURE;
    }
    if (!gc->svc->allow_protocol_transition && !gc->svc->trusted) {
        *min = EACCES;
        return GSS_S_FAILURE;
    }
    if (arg->desired_name == NULL) {
        return GSS_S_BAD_NAME;
    }
    if (arg->input_cred_handle != NULL) {
        maj = gp_cred_import(min, gc, arg->input_cred_handle, &imp);
        if (maj != GSS_S_COMPLETE) {
            return maj;
        }
    }
    if (imp == GSS_C_NO_CREDENTIAL) {
        maj = gp_cred_acquire(min, gc, GSS_C_INITIATE, GSS_C_NO_NAME, &imp);
        if (maj != GSS_S_COMPLETE) {
            return maj;
        }
    }
    maj = gp_name_from_gssx(min, gc, arg->desired_name, &who);
    if (maj == GSS_S_COMPLETE) {
        maj = gss_acquire_cred_impersonate_name(min, imp, who, GSS_C_INDEFINITE, &mechs,
                                                GSS_C_INITIATE, out, NULL, NULL);
    }
    gss_release_name(&tmp, &who);
    gp_cred_release(&imp);
    return maj;
}

int gp_proc_acquire_cred(struct gp_call *gc, void *argp, void *resp)
{
    gssx_arg_acquire_cred *arg = argp;
    gssx_res_acquire_cred *res = resp;
    gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
    gss_name_t desired = GSS_C_NO_NAME;
    gss_cred_usage_t usage = gp_usage_from_gssx(arg->cred_usage);
    OM_uint32 maj = GSS_S_COMPLETE, min = 0, tmp;
    const octet_string *at = gp_opt_find(arg->options.options_val, arg->options.options_len,
                                         GP_OPT_ACQUIRE_TYPE);
    bool krb5 = arg->desired_mechs.gssx_OID_set_len == 0;

    for (u_int i = 0; i < arg->desired_mechs.gssx_OID_set_len; i++) {
        krb5 = krb5 || gp_oid_is_krb5(&arg->desired_mechs.gssx_OID_set_val[i]);
    }
    if (!krb5) {
        maj = GSS_S_NO_CRED;
        goto done;
    }
    if (at != NULL) {
        maj = acquire_impersonate(gc, arg, at, &cred, &min);
        if (maj == GSS_S_COMPLETE) {
            goto export;
        }
        goto done;
    }
    if (arg->input_cred_handle != NULL) {
        bool wrong_usage = false;

        enum gp_memo_verdict v = gp_cred_memo_verdict(gc, arg->input_cred_handle, usage);

        if (v == GP_MEMO_USABLE) {
            util_log(UTIL_LOG_DEBUG, "gssproxy: ACQUIRE_CRED: the input handle is still good "
                     "(sealed here)");
            res->output_cred_handle = arg->input_cred_handle;
            goto done;
        }
        if (v == GP_MEMO_EXCLUDED) {
            util_log(UTIL_LOG_DEBUG, "gssproxy: ACQUIRE_CRED: the input handle is for another "
                     "usage (sealed here): acquiring anew");
        } else {
            maj = gp_cred_import(&min, gc, arg->input_cred_handle, &cred);
            if (maj == GSS_S_COMPLETE && cred != GSS_C_NO_CREDENTIAL &&
                gp_cred_usable_why(gc, cred, usage, &wrong_usage)) {
                /* Still good: hand back what the client has. */
                res->output_cred_handle = arg->input_cred_handle;
                goto done;
            }
            util_log(UTIL_LOG_DEBUG, "gssproxy: ACQUIRE_CRED: the input handle is %s: "
                     "acquiring anew", maj != GSS_S_COMPLETE ? "not importable"
                     : (cred == GSS_C_NO_CREDENTIAL ? "not ours"
                        : (wrong_usage ? "for another usage" : "expired or unusable")));
            gp_cred_release(&cred);
            maj = GSS_S_COMPLETE;
        }
    }
    if (arg->desired_name != NULL && util_log_get_level() >= UTIL_LOG_DEBUG) {
        gss_OID_desc t;
        gp_oid_view(&t, &arg->desired_name->name_type);
        util_log(UTIL_LOG_DEBUG, "gssproxy: ACQUIRE_CRED desired name '%.*s' (type %u bytes%s)",
                 (int)arg->desired_name->display_name.octet_string_len,
                 arg->desired_name->display_name.octet_string_val, (unsigned)t.length,
                 gss_oid_equal(&t, GSS_C_NT_STRING_UID_NAME) ? ", string uid" : "");
    }
    if (arg->desired_name != NULL && !gp_cred_target_uid(gc, arg->desired_name)) {
        maj = gp_name_from_gssx(&min, gc, arg->desired_name, &desired);
        if (maj != GSS_S_COMPLETE) {
            goto done;
        }
    }
    maj = gp_cred_acquire(&min, gc, usage, desired, &cred);
    if (maj != GSS_S_COMPLETE) {
        goto done;
    }
    if (gp_cred_is_cached(cred)) {
        /* A cached acceptor cred: its handle is made once and given out again. */
        res->output_cred_handle = gp_accept_cache_handle(gc, cred, &maj, &min);
        if (res->output_cred_handle != NULL || maj != GSS_S_COMPLETE) {
            util_log(UTIL_LOG_DEBUG, "gssproxy: ACQUIRE_CRED: the cached acceptor cred's handle");
            goto done;
        }
    }
    /* Tickets in the call's private MEMORY ccache travel by value in the handle. */
    gc->export_by_value = gc->mem_ccache != NULL;
export:
    res->output_cred_handle = talloc_zero(gc->mem, gssx_cred);
    maj = gp_cred_export(&min, gc, &cred, res->output_cred_handle);
    gc->export_by_value = false;
    if (maj != GSS_S_COMPLETE) {
        res->output_cred_handle = NULL;
    }
done:
    gp_status_set(gc->mem, &res->status, maj, min, maj == GSS_S_COMPLETE ? gss_mech_krb5
                                                                          : GSS_C_NO_OID);
    gp_cred_release(&cred);
    gss_release_name(&tmp, &desired);
    return 0;
}

int gp_proc_release_handle(struct gp_call *gc, void *argp, void *resp)
{
    gssx_arg_release_handle *arg = argp;
    gssx_res_release_handle *res = resp;
    uint32_t maj;

    /* Handles are stateless (needs_release is always false): nothing to release. */
    switch (arg->cred_handle.handle_type) {
    case GSSX_C_HANDLE_SEC_CTX:
    case GSSX_C_HANDLE_CRED:
        maj = GSS_S_UNAVAILABLE;
        break;
    default:
        maj = GSS_S_CALL_BAD_STRUCTURE;
        break;
    }
    gp_status_set(gc->mem, &res->status, maj, 0, GSS_C_NO_OID);
    return 0;
}

/* The reference server answers these with an all-zero result; so do we for now. */
int gp_proc_get_call_context(struct gp_call *gc, void *argp, void *resp)
{
    return 0;
}

/* EXPORT_CRED: the portable form of a handle is the handle itself (XDR gssx_cred, sealed): a
 * client never gets keys or tickets in the clear, and IMPORT_CRED on any cachetd with the same
 * service keytab takes it back. The handle must still unseal and import. */
int gp_proc_export_cred(struct gp_call *gc, void *argp, void *resp)
{
    gssx_arg_export_cred *arg = argp;
    gssx_res_export_cred *res = resp;
    gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
    OM_uint32 maj, min = 0;
    u_int len;
    char *buf;
    XDR x;

    maj = gp_cred_import(&min, gc, &arg->input_cred_handle, &cred);
    if (maj == GSS_S_COMPLETE && cred == GSS_C_NO_CREDENTIAL) {
        maj = GSS_S_NO_CRED;
    }
    if (maj == GSS_S_COMPLETE) {
        len = (u_int)xdr_sizeof((xdrproc_t)xdr_gssx_cred, &arg->input_cred_handle);
        buf = talloc_size(gc->mem, len);
        res->exported_handle = talloc_zero(gc->mem, octet_string);
        if (buf == NULL || res->exported_handle == NULL) {
            maj = GSS_S_FAILURE;
            min = ENOMEM;
        } else {
            xdrmem_create(&x, buf, len, XDR_ENCODE);
            if (!xdr_gssx_cred(&x, &arg->input_cred_handle)) {
                maj = GSS_S_FAILURE;
                min = EINVAL;
                res->exported_handle = NULL;
            } else {
                res->exported_handle->octet_string_val = buf;
                res->exported_handle->octet_string_len = len;
                res->usage_exported = arg->cred_usage;
            }
        }
    }
    gp_status_set(gc->mem, &res->status, maj, min, maj == 0 ? gss_mech_krb5 : GSS_C_NO_OID);
    gp_cred_release(&cred);
    return 0;
}

static int free_decoded_cred(gssx_cred *c)
{
    gp_wipe_cred(c);
    xdr_free((xdrproc_t)xdr_gssx_cred, (char *)c);
    return 0;
}

/* IMPORT_CRED: take back an exported handle; it must unseal under this service's key. */
int gp_proc_import_cred(struct gp_call *gc, void *argp, void *resp)
{
    gssx_arg_import_cred *arg = argp;
    gssx_res_import_cred *res = resp;
    gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
    gssx_cred *dec = talloc_zero(gc->mem, gssx_cred);
    OM_uint32 maj = GSS_S_COMPLETE, min = 0;
    bool ok;
    XDR x;

    if (dec == NULL) {
        return ENOMEM;
    }
    xdrmem_create(&x, arg->exported_handle.octet_string_val, arg->exported_handle.octet_string_len,
                  XDR_DECODE);
    ok = xdr_gssx_cred(&x, dec) && xdr_getpos(&x) == arg->exported_handle.octet_string_len;
    xdr_destroy(&x);
    talloc_set_destructor(dec, free_decoded_cred);
    if (!ok) {
        maj = GSS_S_DEFECTIVE_TOKEN;
    } else {
        maj = gp_cred_import(&min, gc, dec, &cred);
        if (maj == GSS_S_COMPLETE && cred == GSS_C_NO_CREDENTIAL) {
            maj = GSS_S_NO_CRED;
        }
    }
    if (maj == GSS_S_COMPLETE) {
        res->output_cred_handle = dec; /* freed with gc->mem, after the reply is encoded */
    }
    gp_status_set(gc->mem, &res->status, maj, min, maj == 0 ? gss_mech_krb5 : GSS_C_NO_OID);
    gp_cred_release(&cred);
    return 0;
}

/* STORE_CRED: write the credential into the service's own ccache (its cred_store, %U of the
 * peer). Without a ccache in the store there is nowhere to store: GSS_S_UNAVAILABLE. */
int gp_proc_store_cred(struct gp_call *gc, void *argp, void *resp)
{
    gssx_arg_store_cred *arg = argp;
    gssx_res_store_cred *res = resp;
    gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
    gss_key_value_element_desc el[1];
    gss_key_value_set_desc store = { 0, el };
    gss_OID_set stored = GSS_C_NO_OID_SET;
    gss_cred_usage_t usage = gp_usage_from_gssx(arg->cred_usage), used = 0;
    OM_uint32 maj, min = 0, tmp;

    for (size_t i = 0; i < gc->svc->ncred_store && store.count == 0; i++) {
        if (strncmp(gc->svc->cred_store[i], "ccache:", 7) == 0) {
            el[0].key = "ccache";
            el[0].value = gp_conf_expand(gc->mem, gc->svc->cred_store[i] + 7,
                                         gc->has_target ? gc->target_uid : gc->peer.uid);
            store.count = el[0].value != NULL ? 1 : 0;
        }
    }
    if (store.count == 0) {
        maj = GSS_S_UNAVAILABLE;
        goto done;
    }
    maj = gp_cred_import(&min, gc, &arg->input_cred_handle, &cred);
    if (maj == GSS_S_COMPLETE && cred == GSS_C_NO_CREDENTIAL) {
        maj = GSS_S_NO_CRED;
    }
    if (maj != GSS_S_COMPLETE) {
        goto done;
    }
    maj = gss_store_cred_into(&min, cred, usage, (gss_OID)gss_mech_krb5, arg->overwrite_cred,
                              arg->default_cred, &store, &stored, &used);
    if (maj == GSS_S_COMPLETE) {
        oid_set_to_gssx(gc->mem, stored, &res->elements_stored);
        res->cred_usage_stored = gp_usage_to_gssx(used);
    }
done:
    gp_status_set(gc->mem, &res->status, maj, min, maj == 0 ? gss_mech_krb5 : GSS_C_NO_OID);
    gss_release_oid_set(&tmp, &stored);
    gp_cred_release(&cred);
    return 0;
}
