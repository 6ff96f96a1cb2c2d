/* impersonate = yes: initiator credentials for a local user, made from the service's own
 * keytab credential by protocol transition (s4u2self), as gssproxy 0.9.1 does for a "user
 * request" (gp_creds.c gp_add_krb5_creds): the user is named by the peer's uid (or the uid a
 * trusted caller named), never by the payload's principal.
 *
 * The s4u2self ticket is then presented to the impersonator itself (init + accept in this
 * call): MIT's acceptor turns a forwardable evidence ticket into a "proxy" credential, which
 * initiates to the impersonator with the evidence ticket and to any other service through
 * s4u2proxy (constrained delegation, decided by the KDC). */
#include "config.h"
#include "proxy/gp_proc.h"

#include <errno.h>
#include <string.h>

#include "common/util_log.h"

static void log_failure(const struct gp_call *gc, const char *what, const char *user, uint32_t maj,
                        uint32_t min)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    const char *s = gp_status_text(tmp, maj, min, gss_mech_krb5);

    util_log(UTIL_LOG_WARNING, "gssproxy: service %s: impersonate %s: %s failed: %s", gc->svc->name,
             user != NULL ? user : "?", what, s != NULL ? s : "?");
    talloc_free(tmp);
}

uint32_t gp_cred_impersonate_uid(uint32_t *min, struct gp_call *gc, gss_const_key_value_set_t store,
                                 uid_t uid, gss_cred_usage_t usage, gss_cred_id_t *out)
{
    gss_OID_set_desc mechs = { 1, (gss_OID)gss_mech_krb5 };
    gss_cred_id_t imp = GSS_C_NO_CREDENTIAL, user_cred = GSS_C_NO_CREDENTIAL;
    gss_name_t user = GSS_C_NO_NAME, imp_want = GSS_C_NO_NAME, self = GSS_C_NO_NAME;
    gss_ctx_id_t ictx = GSS_C_NO_CONTEXT, actx = GSS_C_NO_CONTEXT;
    gss_buffer_desc tok = GSS_C_EMPTY_BUFFER, rep = GSS_C_EMPTY_BUFFER;
    gss_buffer_desc b;
    char *uname = gp_uid_name(gc->mem, uid);
    OM_uint32 tmp;
    uint32_t maj;
    int equal = 0;

    *out = GSS_C_NO_CREDENTIAL;
    *min = 0;
    if (uname == NULL) {
        util_log(UTIL_LOG_WARNING,
                 "gssproxy: service %s: impersonate: uid %u has no user name "
                 "(NSS)",
                 gc->svc->name, (unsigned)uid);
        *min = ENOENT;
        return GSS_S_CRED_UNAVAIL;
    }
    b.value = uname;
    b.length = strlen(uname);
    maj = gss_import_name(min, &b, GSS_C_NT_USER_NAME, &user);
    if (maj != GSS_S_COMPLETE) {
        log_failure(gc, "importing the user name", uname, maj, *min);
        goto done;
    }
    /* The impersonator: krb5_principal if set (gssproxy since 66e7c5c; 0.9.1 took the keytab's
     * first entry, which is what happens here without krb5_principal). */
    if (gc->svc->krb5_principal != NULL) {
        b.value = (void *)gc->svc->krb5_principal;
        b.length = strlen(gc->svc->krb5_principal);
        maj = gss_import_name(min, &b, GSS_KRB5_NT_PRINCIPAL_NAME, &imp_want);
        if (maj != GSS_S_COMPLETE) {
            log_failure(gc, "importing krb5_principal", uname, maj, *min);
            goto done;
        }
    }
    maj = gss_acquire_cred_from(min, imp_want, GSS_C_INDEFINITE, &mechs, GSS_C_BOTH, store, &imp,
                                NULL, NULL);
    if (maj == GSS_S_COMPLETE) {
        maj = gss_inquire_cred(min, imp, &self, NULL, NULL, NULL);
    }
    if (maj != GSS_S_COMPLETE) {
        log_failure(gc, "the service's own credential (keytab)", uname, maj, *min);
        goto done;
    }
    /* The user is the service itself: no transition (MIT's KDC refuses s4u2self to self). */
    if (gss_compare_name(&tmp, self, user, &equal) == GSS_S_COMPLETE && equal) {
        maj = gss_acquire_cred_from(min, user, GSS_C_INDEFINITE, &mechs, usage, store, out, NULL,
                                    NULL);
        if (maj == GSS_S_COMPLETE) {
            goto done;
        }
    }
    maj = gss_acquire_cred_impersonate_name(min, imp, user, GSS_C_INDEFINITE, &mechs,
                                            GSS_C_INITIATE, &user_cred, NULL, NULL);
    if (maj != GSS_S_COMPLETE) {
        log_failure(gc, "s4u2self", uname, maj, *min);
        goto done;
    }
    maj = gss_init_sec_context(min, user_cred, &ictx, self, (gss_OID)gss_mech_krb5,
                               GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG, GSS_C_INDEFINITE,
                               GSS_C_NO_CHANNEL_BINDINGS, GSS_C_NO_BUFFER, NULL, &tok, NULL, NULL);
    if (maj != GSS_S_COMPLETE) {
        log_failure(gc, "initiating to the impersonator", uname, maj, *min);
        goto done;
    }
    maj = gss_accept_sec_context(min, &actx, imp, &tok, GSS_C_NO_CHANNEL_BINDINGS, NULL, NULL, &rep,
                                 NULL, NULL, out);
    if (maj != GSS_S_COMPLETE) {
        log_failure(gc, "accepting as the impersonator", uname, maj, *min);
        goto done;
    }
    if (*out == GSS_C_NO_CREDENTIAL) {
        /* MIT makes one unless the evidence ticket cannot serve (libkrb5 policy). */
        util_log(UTIL_LOG_WARNING,
                 "gssproxy: service %s: impersonate %s: accepting the "
                 "s4u2self ticket gave no proxy credential",
                 gc->svc->name, uname);
        maj = GSS_S_NO_CRED;
        *min = 0;
        goto done;
    }
    util_log(UTIL_LOG_DEBUG, "gssproxy: service %s: impersonating %s (uid %u)", gc->svc->name,
             uname, (unsigned)uid);
done:
    if (maj != GSS_S_COMPLETE) {
        gss_release_cred(&tmp, out);
    }
    gss_release_buffer(&tmp, &tok);
    gss_release_buffer(&tmp, &rep);
    gss_delete_sec_context(&tmp, &ictx, GSS_C_NO_BUFFER);
    gss_delete_sec_context(&tmp, &actx, GSS_C_NO_BUFFER);
    gss_release_cred(&tmp, &user_cred);
    gss_release_cred(&tmp, &imp);
    gss_release_name(&tmp, &self);
    gss_release_name(&tmp, &imp_want);
    gss_release_name(&tmp, &user);
    return maj;
}
