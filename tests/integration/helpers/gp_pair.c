/* A small GSS-API initiator/acceptor pair for the GSS-Proxy tests. Written against the public
 * GSS-API only; whether a call goes through the proxy is decided by the environment
 * (GSS_USE_PROXY, GSSPROXY_SOCKET, GSSPROXY_BEHAVIOR, GSS_MECH_CONFIG).
 *
 *   gp_pair token SERVICE@HOST [N] print N times "token HEX" (a krb5 AP-REQ, no mutual auth) and
 *                                  "key ENCTYPE HEX" (the initiator's lucid context key)
 *   gp_pair pair SERVICE@HOST [N]  N times: init <-> accept with mutual auth, then wrap/unwrap
 *                                  and get_mic/verify both ways, localname of the initiator
 *   gp_pair acquire [UID]          acquire initiator creds (default, or for a user by
 *                                  GSS_C_NT_STRING_UID_NAME), print the name
 *   gp_pair localname PRINCIPAL    gss_localname of a krb5 principal
 *   gp_pair impersonate USER SERVICE@HOST  s4u2self as USER with our own cred, then a pair
 */
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_krb5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, OM_uint32 maj, OM_uint32 min)
{
    OM_uint32 ctx = 0, tmp;
    gss_buffer_desc b;

    fprintf(stderr, "gp_pair: %s failed: major 0x%x minor %u", what, maj, min);
    do {
        if (GSS_ERROR(gss_display_status(&tmp, maj, GSS_C_GSS_CODE, GSS_C_NO_OID, &ctx, &b))) {
            break;
        }
        fprintf(stderr, " [%.*s]", (int)b.length, (char *)b.value);
        gss_release_buffer(&tmp, &b);
    } while (ctx != 0);
    ctx = 0;
    do {
        if (GSS_ERROR(gss_display_status(&tmp, min, GSS_C_MECH_CODE, GSS_C_NO_OID, &ctx, &b))) {
            break;
        }
        fprintf(stderr, " [%.*s]", (int)b.length, (char *)b.value);
        gss_release_buffer(&tmp, &b);
    } while (ctx != 0);
    fprintf(stderr, "\n");
    return 1;
}

static void hex(const char *label, const void *p, size_t n)
{
    const unsigned char *c = p;

    printf("%s ", label);
    for (size_t i = 0; i < n; i++) {
        printf("%02x", c[i]);
    }
    printf("\n");
}

static gss_name_t import_service(const char *s)
{
    gss_buffer_desc b = { strlen(s), (void *)s };
    gss_name_t n = GSS_C_NO_NAME;
    OM_uint32 min, maj = gss_import_name(&min, &b, GSS_C_NT_HOSTBASED_SERVICE, &n);

    if (maj != GSS_S_COMPLETE) {
        fail("gss_import_name", maj, min);
        exit(1);
    }
    return n;
}

static int do_token(const char *service)
{
    gss_name_t target = import_service(service);
    gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
    gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
    OM_uint32 min, maj, flags;
    void *lucid = NULL;
    gss_krb5_lucid_context_v1_t *l;
    gss_krb5_lucid_key_t *key;

    maj = gss_init_sec_context(&min, GSS_C_NO_CREDENTIAL, &ctx, target, (gss_OID)gss_mech_krb5,
                               GSS_C_SEQUENCE_FLAG | GSS_C_INTEG_FLAG | GSS_C_CONF_FLAG, 0,
                               GSS_C_NO_CHANNEL_BINDINGS, GSS_C_NO_BUFFER, NULL, &out, &flags,
                               NULL);
    if (maj != GSS_S_COMPLETE) {
        return fail("gss_init_sec_context", maj, min);
    }
    hex("token", out.value, out.length);
    maj = gss_krb5_export_lucid_sec_context(&min, &ctx, 1, &lucid);
    if (maj != GSS_S_COMPLETE) {
        return fail("gss_krb5_export_lucid_sec_context", maj, min);
    }
    l = lucid;
    key = l->protocol == 1 ? &l->cfx_kd.ctx_key : &l->rfc1964_kd.ctx_key;
    printf("enctype %u\n", key->type);
    hex("key", key->data, key->length);
    gss_krb5_free_lucid_sec_context(&min, lucid);
    gss_release_buffer(&min, &out);
    gss_release_name(&min, &target);
    return 0;
}

static int check_msgs(gss_ctx_id_t from, gss_ctx_id_t to, const char *dir)
{
    char text[64];
    gss_buffer_desc msg, tok = GSS_C_EMPTY_BUFFER, back = GSS_C_EMPTY_BUFFER;
    OM_uint32 min, maj;
    int conf = 0;

    snprintf(text, sizeof(text), "hello over a proxied context (%s)", dir);
    msg.value = text;
    msg.length = strlen(text);
    maj = gss_wrap(&min, from, 1, GSS_C_QOP_DEFAULT, &msg, &conf, &tok);
    if (maj != GSS_S_COMPLETE || !conf) {
        return fail("gss_wrap", maj, min);
    }
    maj = gss_unwrap(&min, to, &tok, &back, &conf, NULL);
    if (maj != GSS_S_COMPLETE || back.length != msg.length ||
        memcmp(back.value, msg.value, msg.length) != 0) {
        return fail("gss_unwrap", maj, min);
    }
    gss_release_buffer(&min, &tok);
    gss_release_buffer(&min, &back);
    maj = gss_get_mic(&min, from, GSS_C_QOP_DEFAULT, &msg, &tok);
    if (maj != GSS_S_COMPLETE) {
        return fail("gss_get_mic", maj, min);
    }
    maj = gss_verify_mic(&min, to, &msg, &tok, NULL);
    if (maj != GSS_S_COMPLETE) {
        return fail("gss_verify_mic", maj, min);
    }
    gss_release_buffer(&min, &tok);
    printf("wrap/unwrap/mic %s ok\n", dir);
    return 0;
}

static int do_pair_cred(const char *service, int rounds, gss_cred_id_t icred);

static int do_pair(const char *service, int rounds)
{
    return do_pair_cred(service, rounds, GSS_C_NO_CREDENTIAL);
}

/* s4u2self: our own initiator cred impersonates USER, then a pair as USER to SERVICE. */
static int do_impersonate(const char *user, const char *service)
{
    gss_buffer_desc b = { strlen(user), (void *)user };
    gss_cred_id_t own = GSS_C_NO_CREDENTIAL, as_user = GSS_C_NO_CREDENTIAL;
    gss_name_t who = GSS_C_NO_NAME;
    OM_uint32 min, maj;
    int r;

    maj = gss_acquire_cred(&min, GSS_C_NO_NAME, GSS_C_INDEFINITE, GSS_C_NO_OID_SET,
                           GSS_C_INITIATE, &own, NULL, NULL);
    if (maj != GSS_S_COMPLETE) {
        return fail("gss_acquire_cred", maj, min);
    }
    maj = gss_import_name(&min, &b, (gss_OID)GSS_KRB5_NT_PRINCIPAL_NAME, &who);
    if (maj != GSS_S_COMPLETE) {
        return fail("gss_import_name", maj, min);
    }
    maj = gss_acquire_cred_impersonate_name(&min, own, who, GSS_C_INDEFINITE,
                                            GSS_C_NO_OID_SET, GSS_C_INITIATE, &as_user, NULL,
                                            NULL);
    if (maj != GSS_S_COMPLETE) {
        return fail("gss_acquire_cred_impersonate_name", maj, min);
    }
    r = do_pair_cred(service, 1, as_user);
    gss_release_cred(&min, &as_user);
    gss_release_cred(&min, &own);
    gss_release_name(&min, &who);
    return r;
}

static int do_pair_cred(const char *service, int rounds, gss_cred_id_t icred)
{
    for (int r = 0; r < rounds; r++) {
        gss_name_t target = import_service(service);
        gss_ctx_id_t ictx = GSS_C_NO_CONTEXT, actx = GSS_C_NO_CONTEXT;
        gss_buffer_desc itok = GSS_C_EMPTY_BUFFER, atok = GSS_C_EMPTY_BUFFER;
        gss_buffer_desc dn = GSS_C_EMPTY_BUFFER, ln = GSS_C_EMPTY_BUFFER;
        gss_name_t src = GSS_C_NO_NAME;
        OM_uint32 min, maj_i = GSS_S_CONTINUE_NEEDED, maj_a = GSS_S_CONTINUE_NEEDED;
        OM_uint32 iflags = 0, aflags = 0, maj;
        gss_OID mech = GSS_C_NO_OID;
        int legs = 0;

        while (maj_i == GSS_S_CONTINUE_NEEDED) {
            maj_i = gss_init_sec_context(&min, icred, &ictx, target,
                                         (gss_OID)gss_mech_krb5,
                                         GSS_C_MUTUAL_FLAG | GSS_C_SEQUENCE_FLAG |
                                             GSS_C_INTEG_FLAG | GSS_C_CONF_FLAG,
                                         0, GSS_C_NO_CHANNEL_BINDINGS, &atok, NULL, &itok,
                                         &iflags, NULL);
            gss_release_buffer(&min, &atok);
            legs++;
            if (GSS_ERROR(maj_i)) {
                return fail("gss_init_sec_context", maj_i, min);
            }
            if (itok.length == 0) {
                break;
            }
            maj_a = gss_accept_sec_context(&min, &actx, GSS_C_NO_CREDENTIAL, &itok,
                                           GSS_C_NO_CHANNEL_BINDINGS, &src, &mech, &atok,
                                           &aflags, NULL, NULL);
            gss_release_buffer(&min, &itok);
            legs++;
            if (GSS_ERROR(maj_a)) {
                return fail("gss_accept_sec_context", maj_a, min);
            }
            if (atok.length == 0) {
                break;
            }
        }
        if (maj_i != GSS_S_COMPLETE || maj_a != GSS_S_COMPLETE) {
            fprintf(stderr, "gp_pair: contexts not complete (init 0x%x, accept 0x%x)\n", maj_i,
                    maj_a);
            return 1;
        }
        if (!(iflags & GSS_C_MUTUAL_FLAG)) {
            fprintf(stderr, "gp_pair: mutual authentication not granted\n");
            return 1;
        }
        maj = gss_display_name(&min, src, &dn, NULL);
        if (maj != GSS_S_COMPLETE) {
            return fail("gss_display_name", maj, min);
        }
        maj = gss_localname(&min, src, (gss_OID)gss_mech_krb5, &ln);
        if (maj != GSS_S_COMPLETE) {
            return fail("gss_localname", maj, min);
        }
        if (r == 0) {
            printf("established in %d legs, mutual, initiator %.*s, localname %.*s\n", legs,
                   (int)dn.length, (char *)dn.value, (int)ln.length, (char *)ln.value);
            if (check_msgs(ictx, actx, "initiator->acceptor") != 0 ||
                check_msgs(actx, ictx, "acceptor->initiator") != 0) {
                return 1;
            }
        }
        gss_release_buffer(&min, &dn);
        gss_release_buffer(&min, &ln);
        gss_release_name(&min, &src);
        gss_release_name(&min, &target);
        gss_delete_sec_context(&min, &ictx, GSS_C_NO_BUFFER);
        gss_delete_sec_context(&min, &actx, GSS_C_NO_BUFFER);
    }
    printf("pair ok (%d rounds)\n", rounds);
    return 0;
}

static int do_acquire(const char *uid)
{
    gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
    gss_name_t name = GSS_C_NO_NAME, want = GSS_C_NO_NAME;
    gss_buffer_desc dn = GSS_C_EMPTY_BUFFER;
    OM_uint32 min, maj, life = 0;

    if (uid != NULL) {
        gss_buffer_desc b = { strlen(uid), (void *)uid };
        maj = gss_import_name(&min, &b, GSS_C_NT_STRING_UID_NAME, &want);
        if (maj != GSS_S_COMPLETE) {
            return fail("gss_import_name(uid)", maj, min);
        }
    }
    maj = gss_acquire_cred(&min, want, GSS_C_INDEFINITE, GSS_C_NO_OID_SET,
                           GSS_C_INITIATE, &cred, NULL, NULL);
    gss_release_name(&min, &want);
    if (maj != GSS_S_COMPLETE) {
        return fail("gss_acquire_cred", maj, min);
    }
    maj = gss_inquire_cred(&min, cred, &name, &life, NULL, NULL);
    if (maj != GSS_S_COMPLETE) {
        return fail("gss_inquire_cred", maj, min);
    }
    gss_display_name(&min, name, &dn, NULL);
    printf("acquired %.*s lifetime %u\n", (int)dn.length, (char *)dn.value, life);
    gss_release_buffer(&min, &dn);
    gss_release_name(&min, &name);
    gss_release_cred(&min, &cred);
    return 0;
}

static int do_localname(const char *princ)
{
    gss_buffer_desc b = { strlen(princ), (void *)princ }, ln = GSS_C_EMPTY_BUFFER;
    gss_name_t n = GSS_C_NO_NAME;
    OM_uint32 min, maj;

    maj = gss_import_name(&min, &b, (gss_OID)GSS_KRB5_NT_PRINCIPAL_NAME, &n);
    if (maj != GSS_S_COMPLETE) {
        return fail("gss_import_name", maj, min);
    }
    maj = gss_localname(&min, n, (gss_OID)gss_mech_krb5, &ln);
    if (maj != GSS_S_COMPLETE) {
        return fail("gss_localname", maj, min);
    }
    printf("localname %.*s\n", (int)ln.length, (char *)ln.value);
    gss_release_buffer(&min, &ln);
    gss_release_name(&min, &n);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "token") == 0) {
        int n = argc >= 4 ? atoi(argv[3]) : 1;
        for (int i = 0; i < n; i++) {
            if (do_token(argv[2]) != 0) {
                return 1;
            }
        }
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "pair") == 0) {
        return do_pair(argv[2], argc >= 4 ? atoi(argv[3]) : 1);
    }
    if (argc >= 4 && strcmp(argv[1], "impersonate") == 0) {
        return do_impersonate(argv[2], argv[3]);
    }
    if (argc >= 2 && strcmp(argv[1], "acquire") == 0) {
        return do_acquire(argc >= 3 ? argv[2] : NULL);
    }
    if (argc >= 3 && strcmp(argv[1], "localname") == 0) {
        return do_localname(argv[2]);
    }
    fprintf(stderr, "usage: gp_pair token|pair SERVICE@HOST [N] | acquire | localname PRINC\n");
    return 2;
}
