/* krb5 names for the kernel's accept reply from one long-lived krb5 context per worker thread
 * (see gp_names.h for why). Every output here is what MIT's GSSAPI would give: tests compare
 * them with gss_display_name, gss_export_name and gss_localname. */
#include "config.h"
#include "proxy/gp_names.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* MIT's built-in profile path when KRB5_CONFIG is unset (Debian: /etc/krb5.conf). */
#define GP_DEFAULT_PROFILE "/etc/krb5.conf"
#define GP_MAX_PROFILES 8
/* As krb5_gss_localname's buffer (BUFSIZ in MIT 1.20). */
#define GP_LNAME_MAX 8192

/* gss_mech_krb5, 1.2.840.113554.1.2.2, as MIT's krb5_gss_export_name writes it. */
static const uint8_t mech_krb5[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02 };

/* This thread's names context and the stamps of the profile files it was made from. */
struct names_ctx {
    krb5_context k5;
    /* 0, or the second in which the context was made after a change: MIT's shared profile
     * stats a file at most once a second, so a context made in that second may have been
     * made from the old text; it is made once more in a later second. */
    time_t recheck;
    /* The second the files were last stat'ed: as MIT's profile, at most once a second (an
     * accept asks twice, and a fresh context would not see a change sooner). */
    time_t checked;
    size_t nfiles;
    char *files[GP_MAX_PROFILES];
    struct gp_file_stamp st[GP_MAX_PROFILES];
};

static pthread_key_t names_key;
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void names_free(void *p)
{
    struct names_ctx *n = p;

    if (n->k5 != NULL) {
        krb5_free_context(n->k5);
    }
    for (size_t i = 0; i < n->nfiles; i++) {
        free(n->files[i]);
    }
    free(n);
}

static void names_key_init(void)
{
    (void)pthread_key_create(&names_key, names_free);
}

/* The profile files as libkrb5 reads them: KRB5_CONFIG (colon-separated) or the default. */
static void names_files(struct names_ctx *n)
{
    const char *env = secure_getenv("KRB5_CONFIG");
    char *list = strdup(env != NULL ? env : GP_DEFAULT_PROFILE);
    char *save = NULL;

    for (char *f = list != NULL ? strtok_r(list, ":", &save) : NULL;
         f != NULL && n->nfiles < GP_MAX_PROFILES; f = strtok_r(NULL, ":", &save)) {
        if ((n->files[n->nfiles] = strdup(f)) != NULL) {
            n->nfiles++;
        }
    }
    free(list);
}

/* Stamps taken now into n->st; true if any differs from the ones the context was made with. */
static bool names_changed(struct names_ctx *n)
{
    bool changed = false;

    for (size_t i = 0; i < n->nfiles; i++) {
        struct gp_file_stamp now = gp_file_stamp(n->files[i]);
        if (!gp_file_stamp_eq(&now, &n->st[i])) {
            n->st[i] = now;
            changed = true;
        }
    }
    return changed;
}

krb5_context gp_names_k5(void)
{
    struct names_ctx *n;
    bool changed;
    time_t now;

    pthread_once(&names_once, names_key_init);
    n = pthread_getspecific(names_key);
    if (n == NULL) {
        if ((n = calloc(1, sizeof(*n))) == NULL) {
            return NULL;
        }
        names_files(n);
        pthread_setspecific(names_key, n);
    }
    /* Stamps before the context: a change after them is seen by the next check. */
    now = time(NULL);
    changed = n->k5 == NULL;
    if (now != n->checked) {
        n->checked = now;
        changed = names_changed(n) || changed;
    }
    if (!changed && (n->recheck == 0 || now <= n->recheck)) {
        return n->k5;
    }
    if (n->k5 != NULL) {
        krb5_free_context(n->k5);
        n->k5 = NULL;
    }
    n->recheck = changed ? now : 0;
    if (krb5_init_context(&n->k5) != 0) {
        n->k5 = NULL;
    }
    return n->k5;
}

/* MIT's krb5_gss_export_name (TOK_ID 04 01) and krb5_gss_export_name_composite (04 02: the
 * attributes' length follows the name, 0 for a name without an authdata context): the mech OID
 * and the unparsed principal, which is also the display form. */
static int names_token(TALLOC_CTX *m, uint8_t tok_id, const void *disp, size_t len,
                       octet_string *out)
{
    size_t n = 2 + 2 + 2 + sizeof(mech_krb5) + 4 + len + (tok_id == 0x02 ? 4 : 0);
    uint8_t *p;

    out->octet_string_len = 0;
    out->octet_string_val = NULL;
    if (len > UINT32_MAX - 64 || (p = talloc_zero_size(m, n)) == NULL) {
        return ENOMEM;
    }
    out->octet_string_val = (char *)p;
    out->octet_string_len = (u_int)n;
    *p++ = 0x04;
    *p++ = tok_id;
    *p++ = 0;
    *p++ = sizeof(mech_krb5) + 2;
    *p++ = 0x06;
    *p++ = sizeof(mech_krb5);
    memcpy(p, mech_krb5, sizeof(mech_krb5));
    p += sizeof(mech_krb5);
    *p++ = (uint8_t)(len >> 24);
    *p++ = (uint8_t)(len >> 16);
    *p++ = (uint8_t)(len >> 8);
    *p++ = (uint8_t)len;
    memcpy(p, disp, len); /* then the zeroed attribute length of 04 02 */
    return 0;
}

int gp_names_export(TALLOC_CTX *m, const void *disp, size_t len, octet_string *out)
{
    return names_token(m, 0x01, disp, len, out);
}

int gp_names_export_composite(TALLOC_CTX *m, const void *disp, size_t len, octet_string *out)
{
    return names_token(m, 0x02, disp, len, out);
}

int gp_names_princ_to_gssx(TALLOC_CTX *m, krb5_context k, krb5_const_principal p, gssx_name *x)
{
    gss_OID type = GSS_KRB5_NT_PRINCIPAL_NAME;
    char *s = NULL;
    int r;

    memset(x, 0, sizeof(*x));
    /* As krb5_gss_display_name: only the well-known anonymous principal has another type. */
    if (krb5_princ_type(k, p) == KRB5_NT_WELLKNOWN &&
        krb5_principal_compare(k, p, krb5_anonymous_principal())) {
        type = GSS_C_NT_ANONYMOUS;
    }
    r = krb5_unparse_name(k, p, &s);
    if (r != 0) {
        return r;
    }
    r = gp_buf_set(m, &x->display_name, s, strlen(s));
    r = r != 0 ? r : gp_oid_to_gssx(m, type, &x->name_type);
    r = r != 0 ? r : gp_names_export(m, s, strlen(s), &x->exported_name);
    krb5_free_unparsed_name(k, s);
    return r;
}

/* One DER tag and definite length at *p (bounded by end); *p then points at the contents. */
static bool der_take(const uint8_t **p, const uint8_t *end, uint8_t tag, size_t *len)
{
    size_t l = 0;
    uint8_t b;

    if (end - *p < 2 || **p != tag) {
        return false;
    }
    b = (*p)[1];
    *p += 2;
    if (b & 0x80) {
        size_t nb = b & 0x7f;
        if (nb == 0 || nb > 4 || (size_t)(end - *p) < nb) {
            return false;
        }
        for (size_t i = 0; i < nb; i++) {
            l = (l << 8) | *(*p)++;
        }
    } else {
        l = b;
    }
    if (l > (size_t)(end - *p)) {
        return false;
    }
    *len = l;
    return true;
}

/* RFC 4121 4.1 framing (any mechanism OID: MIT takes the old ones too), TOK_ID 01 00, then
 * AP-REQ [APPLICATION 14] SEQUENCE { [0] pvno, [1] msg-type, [2] ap-options, [3] Ticket }. */
krb5_principal gp_names_ticket_server(krb5_context k, const gss_buffer_desc *token)
{
    const uint8_t *p = token->value, *end = p + token->length, *tkt;
    static const uint8_t skip[] = { 0xa0, 0xa1, 0xa2 };
    krb5_ticket *t = NULL;
    krb5_principal server = NULL;
    krb5_data d;
    size_t len;

    if (p == NULL || !der_take(&p, end, 0x60, &len)) {
        return NULL;
    }
    end = p + len;
    if (!der_take(&p, end, 0x06, &len)) {
        return NULL;
    }
    p += len;
    if (end - p < 2 || p[0] != 0x01 || p[1] != 0x00) {
        return NULL;
    }
    p += 2;
    if (!der_take(&p, end, 0x6e, &len) || (end = p + len, !der_take(&p, end, 0x30, &len))) {
        return NULL;
    }
    end = p + len;
    for (size_t i = 0; i < sizeof(skip); i++) {
        if (!der_take(&p, end, skip[i], &len)) {
            return NULL;
        }
        p += len;
    }
    if (!der_take(&p, end, 0xa3, &len)) {
        return NULL;
    }
    tkt = p;
    end = p + len;
    if (!der_take(&p, end, 0x61, &len)) {
        return NULL;
    }
    d.magic = KV5M_DATA;
    d.data = (char *)tkt;
    d.length = (unsigned int)(p + len - tkt);
    if (krb5_decode_ticket(&d, &t) != 0) {
        return NULL;
    }
    if (krb5_copy_principal(k, t->server, &server) != 0) {
        server = NULL;
    }
    krb5_free_ticket(k, t);
    return server;
}

/* krb5_gss_localname's mapping with this thread's names context (the caller has made the
 * context look the default realm up again). */
static int princ_localname(krb5_context k, krb5_const_principal p, char *user, size_t usersz)
{
    char *lname = malloc(GP_LNAME_MAX);
    int r;

    if (lname == NULL) {
        return ENOMEM;
    }
    r = krb5_aname_to_localname(k, p, GP_LNAME_MAX, lname);
    if (r == 0 && (strlen(lname) == 0 || strlen(lname) >= usersz)) {
        r = ENAMETOOLONG;
    }
    if (r == 0) {
        memcpy(user, lname, strlen(lname) + 1);
    }
    free(lname);
    return r;
}

/* A principal's text as krb5_parse_name, from MIT's copy with a NUL added, sees it (no NUL
 * inside: MIT would parse only up to it). */
static char *princ_text(const void *s, size_t len)
{
    return memchr(s, 0, len) == NULL ? strndup(s, len) : NULL;
}

int gp_names_localname(const void *disp, size_t len, char *user, size_t usersz)
{
    krb5_context k = gp_names_k5();
    krb5_principal p = NULL;
    char *s;
    int r;

    if (k == NULL) {
        return ENOMEM;
    }
    if ((s = princ_text(disp, len)) == NULL) {
        return EINVAL;
    }
    r = krb5_parse_name(k, s, &p);
    if (r == 0) {
        /* A fresh context looks the default realm up again (it may come from DNS or the
         * host name): so does this one, to map with the realm a fresh one would use. */
        (void)krb5_set_default_realm(k, NULL);
        r = princ_localname(k, p, user, usersz);
    }
    krb5_free_principal(k, p);
    free(s);
    return r;
}

int gp_names_canon(TALLOC_CTX *m, const void *name, size_t len, gssx_name *x, char *user,
                   size_t usersz)
{
    krb5_context k = gp_names_k5();
    krb5_principal p = NULL;
    char *s;
    int r;

    memset(x, 0, sizeof(*x));
    if (k == NULL) {
        return ENOMEM;
    }
    if (len == 0 || (s = princ_text(name, len)) == NULL) {
        return EINVAL; /* MIT's mechglue refuses an empty name */
    }
    /* As a fresh context: a name without a realm takes the default one, looked up again. */
    (void)krb5_set_default_realm(k, NULL);
    r = krb5_parse_name_flags(k, s, 0, &p);
    r = r != 0 ? r : gp_names_princ_to_gssx(m, k, p, x);
    if (r == 0) {
        r = gp_names_export_composite(m, x->display_name.octet_string_val,
                                      x->display_name.octet_string_len,
                                      &x->exported_composite_name);
    }
    if (r == 0 && user != NULL) {
        r = princ_localname(k, p, user, usersz);
    }
    krb5_free_principal(k, p);
    free(s);
    return r;
}
