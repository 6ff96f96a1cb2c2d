/* Conversions between gssx_* (XDR) and GSSAPI types; context export (MIT token or lucid). */
#include "config.h"
#include "proxy/gp_names.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "common/util_secmem.h"

/* krb5 and the OIDs the interposer also maps to it (old, MS-wrong, IAKERB is not krb5). */
static const uint8_t oid_krb5[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02 };
static const uint8_t oid_krb5_old[] = { 0x2b, 0x05, 0x01, 0x05, 0x02 };
static const uint8_t oid_krb5_wrong[] = { 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02 };

int gp_buf_set(TALLOC_CTX *m, octet_string *b, const void *p, size_t n)
{
    b->octet_string_len = 0;
    b->octet_string_val = NULL;
    if (n == 0) {
        return 0;
    }
    b->octet_string_val = talloc_memdup(m, p, n);
    if (b->octet_string_val == NULL) {
        return ENOMEM;
    }
    b->octet_string_len = (u_int)n;
    return 0;
}

int gp_buf_set_secret(TALLOC_CTX *m, octet_string *b, const void *p, size_t n)
{
    struct util_secbuf *sb;

    b->octet_string_len = 0;
    b->octet_string_val = NULL;
    if (n == 0) {
        return 0;
    }
    sb = util_secbuf_dup(m, p, n);
    if (sb == NULL) {
        return ENOMEM;
    }
    b->octet_string_val = (char *)sb->p;
    b->octet_string_len = (u_int)n;
    return 0;
}

void gp_buf_view(gss_buffer_desc *d, const octet_string *b)
{
    d->length = b->octet_string_len;
    d->value = b->octet_string_val;
}

int gp_oid_to_gssx(TALLOC_CTX *m, gss_const_OID oid, gssx_OID *x)
{
    if (oid == GSS_C_NO_OID) {
        x->octet_string_len = 0;
        x->octet_string_val = NULL;
        return 0;
    }
    return gp_buf_set(m, x, oid->elements, oid->length);
}

void gp_oid_view(gss_OID_desc *o, const gssx_OID *x)
{
    o->length = x->octet_string_len;
    o->elements = x->octet_string_val;
}

static bool oid_eq(const void *p, size_t n, const uint8_t *ref, size_t rn)
{
    return n == rn && memcmp(p, ref, n) == 0;
}

bool gp_gss_oid_is_krb5(gss_const_OID o)
{
    return o != GSS_C_NO_OID &&
           (oid_eq(o->elements, o->length, oid_krb5, sizeof(oid_krb5)) ||
            oid_eq(o->elements, o->length, oid_krb5_old, sizeof(oid_krb5_old)) ||
            oid_eq(o->elements, o->length, oid_krb5_wrong, sizeof(oid_krb5_wrong)));
}

bool gp_oid_is_krb5(const gssx_OID *x)
{
    gss_OID_desc o;

    gp_oid_view(&o, x);
    return gp_gss_oid_is_krb5(&o);
}

const octet_string *gp_opt_find(const gssx_option *opts, u_int n, const char *name)
{
    size_t l = strlen(name) + 1;

    for (u_int i = 0; i < n; i++) {
        if (opts[i].option.octet_string_len == l &&
            memcmp(opts[i].option.octet_string_val, name, l) == 0) {
            return &opts[i].value;
        }
    }
    return NULL;
}

bool gp_opt_value_is(const octet_string *v, const char *s)
{
    size_t l = strlen(s) + 1;

    return v->octet_string_len == l && memcmp(v->octet_string_val, s, l) == 0;
}

int gp_opt_add(TALLOC_CTX *m, gssx_option **opts, u_int *n, const char *name, const void *val,
               size_t vlen)
{
    gssx_option *o = talloc_realloc(m, *opts, gssx_option, *n + 1);

    if (o == NULL) {
        return ENOMEM;
    }
    *opts = o;
    memset(&o[*n], 0, sizeof(o[0]));
    if (gp_buf_set(m, &o[*n].option, name, strlen(name) + 1) != 0 ||
        gp_buf_set(m, &o[*n].value, val, vlen) != 0) {
        return ENOMEM;
    }
    (*n)++;
    return 0;
}

static char *status_string(TALLOC_CTX *m, uint32_t code, int type, gss_const_OID mech)
{
    uint32_t maj, min, ctx = 0;
    char *out = NULL;

    do {
        gss_buffer_desc b = GSS_C_EMPTY_BUFFER;
        maj = gss_display_status(&min, code, type, (gss_OID)mech, &ctx, &b);
        if (GSS_ERROR(maj)) {
            break;
        }
        out = out == NULL ? talloc_strndup(m, b.value, b.length)
                          : talloc_asprintf_append(out, ", %.*s", (int)b.length,
                                                   (const char *)b.value);
        gss_release_buffer(&min, &b);
    } while (ctx != 0 && out != NULL);
    return out;
}

char *gp_status_text(TALLOC_CTX *m, uint32_t maj, uint32_t min, gss_const_OID mech)
{
    char *g = status_string(m, maj, GSS_C_GSS_CODE, GSS_C_NO_OID);
    char *k = min != 0 ? status_string(m, min, GSS_C_MECH_CODE, mech) : NULL;

    return talloc_asprintf(m, "%s (major 0x%x)%s%s", g != NULL ? g : "?", (unsigned)maj,
                           k != NULL ? ": " : "", k != NULL ? k : "");
}

void gp_status_set(TALLOC_CTX *m, gssx_status *st, uint32_t maj, uint32_t min,
                   gss_const_OID mech)
{
    char *s;

    memset(st, 0, sizeof(*st));
    st->major_status = maj;
    st->minor_status = min;
    (void)gp_oid_to_gssx(m, mech, &st->mech);
    /* Strings carry their NUL, as the interposer hands them back verbatim. */
    if (maj != 0 && (s = status_string(m, maj, GSS_C_GSS_CODE, GSS_C_NO_OID)) != NULL) {
        st->major_status_string.utf8string_val = s;
        st->major_status_string.utf8string_len = (u_int)strlen(s) + 1;
    }
    if (min != 0 && (s = status_string(m, min, GSS_C_MECH_CODE, mech)) != NULL) {
        st->minor_status_string.utf8string_val = s;
        st->minor_status_string.utf8string_len = (u_int)strlen(s) + 1;
    }
}

gss_cred_usage_t gp_usage_from_gssx(gssx_cred_usage u)
{
    return u == GSSX_C_INITIATE ? GSS_C_INITIATE : (u == GSSX_C_ACCEPT ? GSS_C_ACCEPT : GSS_C_BOTH);
}

gssx_cred_usage gp_usage_to_gssx(gss_cred_usage_t u)
{
    return u == GSS_C_INITIATE ? GSSX_C_INITIATE : (u == GSS_C_ACCEPT ? GSSX_C_ACCEPT : GSSX_C_BOTH);
}

uint32_t gp_name_from_gssx(uint32_t *min, struct gp_call *gc, const gssx_name *x, gss_name_t *out)
{
    gss_buffer_desc b;
    gss_OID_desc type;

    *out = GSS_C_NO_NAME;
    if (x->display_name.octet_string_len > 0) {
        gp_buf_view(&b, &x->display_name);
        gp_oid_view(&type, &x->name_type);
        return gss_import_name(min, &b, type.length > 0 ? &type : GSS_C_NO_OID, out);
    }
    if (x->exported_name.octet_string_len > 0) {
        /* MIT also takes a composite token here: the name may carry attributes. */
        gc->name_attrs = true;
        gp_buf_view(&b, &x->exported_name);
        return gss_import_name(min, &b, GSS_C_NT_EXPORT_NAME, out);
    }
    *min = EINVAL;
    return GSS_S_BAD_NAME;
}

/* The exported forms of a krb5 mechanism name from its display form (MIT unparses the same
 * principal for all three); the composite one too when the name cannot carry attributes. */
static int mn_exports(TALLOC_CTX *m, gss_name_t n, bool composite, enum gp_name_form form,
                      gssx_name *x)
{
    const octet_string *d = &x->display_name;
    gss_buffer_desc b = GSS_C_EMPTY_BUFFER;
    OM_uint32 tmp;
    int r;

    r = gp_names_export(m, d->octet_string_val, d->octet_string_len, &x->exported_name);
    if (r != 0 || !composite) {
        return r;
    }
    if (form == GP_NAME_MN_PLAIN) {
        return gp_names_export_composite(m, d->octet_string_val, d->octet_string_len,
                                         &x->exported_composite_name);
    }
    if (gss_export_name_composite(&tmp, n, &b) == GSS_S_COMPLETE) {
        r = gp_buf_set(m, &x->exported_composite_name, b.value, b.length);
        gss_release_buffer(&tmp, &b);
    }
    return r;
}

/* Each GSSAPI name call makes and frees a krb5 context inside MIT's mech (krb5.conf profile,
 * plugin directories): the display form is asked for, the rest is made from it where the form
 * allows. The lucid export, which drops composite names, skips that one. */
static uint32_t name_to_gssx(uint32_t *min, TALLOC_CTX *m, gss_name_t n, bool composite,
                             enum gp_name_form form, gssx_name *x)
{
    gss_buffer_desc b = GSS_C_EMPTY_BUFFER;
    gss_OID type = GSS_C_NO_OID;
    uint32_t maj, tmp;
    int r;

    memset(x, 0, sizeof(*x));
    maj = gss_display_name(min, n, &b, &type);
    if (maj != GSS_S_COMPLETE) {
        return maj;
    }
    r = gp_buf_set(m, &x->display_name, b.value, b.length);
    gss_release_buffer(&tmp, &b);
    r = r != 0 ? r : gp_oid_to_gssx(m, type, &x->name_type);
    if (r == 0 && form != GP_NAME_ANY) {
        r = mn_exports(m, n, composite, form, x);
    } else if (r == 0 && gss_export_name(&tmp, n, &b) == GSS_S_COMPLETE) {
        /* Mechanism names also carry their exported forms; plain names have none. */
        r = gp_buf_set(m, &x->exported_name, b.value, b.length);
        gss_release_buffer(&tmp, &b);
        if (composite && gss_export_name_composite(&tmp, n, &b) == GSS_S_COMPLETE) {
            r = r != 0 ? r : gp_buf_set(m, &x->exported_composite_name, b.value, b.length);
            gss_release_buffer(&tmp, &b);
        }
    }
    if (r != 0) {
        *min = (uint32_t)r;
        return GSS_S_FAILURE;
    }
    *min = 0;
    return GSS_S_COMPLETE;
}

uint32_t gp_name_to_gssx(uint32_t *min, TALLOC_CTX *m, gss_name_t n, enum gp_name_form form,
                         gssx_name *x)
{
    return name_to_gssx(min, m, n, true, form, x);
}

enum gp_ctx_export gp_export_type(const gssx_call_ctx *cc)
{
    const octet_string *v =
        gp_opt_find(cc->options.options_val, cc->options.options_len,
                    GP_OPT_EXPORTED_CONTEXT_TYPE);

    if (v == NULL) {
        return GP_EXPORT_DEFAULT;
    }
    return gp_opt_value_is(v, GP_OPT_LINUX_LUCID_V1) ? GP_EXPORT_LUCID : GP_EXPORT_INVALID;
}

#define KRB5_CTX_FLAG_INITIATOR 0x1u
#define KRB5_CTX_FLAG_CFX 0x2u
#define KRB5_CTX_FLAG_ACCEPTOR_SUBKEY 0x4u

/* The kernel's "krb5_rfc4121_buffer": host-endian flags, endtime, send_seq, enctype, key. */
static uint32_t format_lucid(uint32_t *min, TALLOC_CTX *m, const gss_krb5_lucid_context_v1_t *l,
                             octet_string *out)
{
    uint32_t flags = 0, enctype, keylen;
    const gss_krb5_lucid_key_t *key;
    struct util_secbuf *sb;
    uint8_t *p;

    if (l->version != 1 || (l->protocol != 0 && l->protocol != 1)) {
        *min = ENOTSUP;
        return GSS_S_FAILURE;
    }
    if (l->initiate) {
        flags |= KRB5_CTX_FLAG_INITIATOR;
    }
    if (l->protocol == 1) {
        flags |= KRB5_CTX_FLAG_CFX;
        if (l->cfx_kd.have_acceptor_subkey) {
            flags |= KRB5_CTX_FLAG_ACCEPTOR_SUBKEY;
            key = &l->cfx_kd.acceptor_subkey;
        } else {
            key = &l->cfx_kd.ctx_key;
        }
    } else {
        key = &l->rfc1964_kd.ctx_key;
    }
    enctype = key->type;
    keylen = key->length;
    sb = util_secbuf_new(m, 4 + 4 + 8 + 4 + keylen);
    if (sb == NULL) {
        *min = ENOMEM;
        return GSS_S_FAILURE;
    }
    p = sb->p;
    memcpy(p, &flags, 4);
    memcpy(p + 4, &l->endtime, 4);
    memcpy(p + 8, &l->send_seq, 8);
    memcpy(p + 16, &enctype, 4);
    memcpy(p + 20, key->data, keylen);
    out->octet_string_val = (char *)sb->p;
    out->octet_string_len = (u_int)sb->len;
    return GSS_S_COMPLETE;
}

static void wipe_lucid(gss_krb5_lucid_context_v1_t *l)
{
    gss_krb5_lucid_key_t *keys[] = { &l->rfc1964_kd.ctx_key, &l->cfx_kd.ctx_key,
                                     &l->cfx_kd.acceptor_subkey };

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (keys[i]->data != NULL && keys[i]->length > 0) {
            explicit_bzero(keys[i]->data, keys[i]->length);
        }
    }
}

uint32_t gp_ctx_to_gssx(uint32_t *min, struct gp_call *gc, enum gp_ctx_export type,
                        gss_ctx_id_t *ctx, gssx_ctx *out)
{
    return gp_ctx_to_gssx_accept(min, gc, type, ctx, GSS_C_NO_NAME, NULL, out);
}

/* A krb5 context's names: the initiator's may carry attributes (an accepted context's source
 * name has an authdata context; an imported context token may give the initiator's one), the
 * acceptor's only if this call imported a name from an exported token (the initiator's target;
 * an accepted context's is the ticket's server, an imported context's none). */
static enum gp_name_form ctx_name_form(const struct gp_call *gc, gss_const_OID mech, bool initiator)
{
    if (!gp_gss_oid_is_krb5(mech)) {
        return GP_NAME_ANY;
    }
    return initiator || gc->name_attrs ? GP_NAME_MN : GP_NAME_MN_PLAIN;
}

/* An accepted krb5 context's names with one GSSAPI name call: the acceptor's is the ticket's
 * server (what MIT's acceptor takes) from the token, made from the principal; the source's
 * exported form comes from its display form. false: not possible, use GSSAPI. */
static bool accept_names(struct gp_call *gc, gss_name_t src, const gss_buffer_desc *in,
                         bool composite, gssx_ctx *out)
{
    krb5_context k = gp_names_k5();
    const octet_string *d = &out->targ_name.display_name;
    krb5_principal server;
    uint32_t min;
    int r;

    if (k == NULL || (server = gp_names_ticket_server(k, in)) == NULL) {
        return false;
    }
    r = gp_names_princ_to_gssx(gc->mem, k, server, &out->targ_name);
    krb5_free_principal(k, server);
    if (r == 0 && composite) {
        r = gp_names_export_composite(gc->mem, d->octet_string_val, d->octet_string_len,
                                      &out->targ_name.exported_composite_name);
    }
    if (r != 0 || name_to_gssx(&min, gc->mem, src, composite, GP_NAME_MN, &out->src_name) != 0) {
        memset(&out->targ_name, 0, sizeof(out->targ_name));
        memset(&out->src_name, 0, sizeof(out->src_name));
        return false;
    }
    return true;
}

uint32_t gp_ctx_to_gssx_accept(uint32_t *min, struct gp_call *gc, enum gp_ctx_export type,
                               gss_ctx_id_t *ctx, gss_name_t known_src,
                               const gss_buffer_desc *in, gssx_ctx *out)
{
    gss_name_t src = GSS_C_NO_NAME, targ = GSS_C_NO_NAME;
    gss_OID mech = GSS_C_NO_OID;
    OM_uint32 lifetime = 0, flags = 0, tmp;
    int local = 0, open = 0;
    uint32_t maj;
    /* The kernel keeps no composite names: the lucid export has none. */
    bool composite = type != GP_EXPORT_LUCID;
    bool named;

    memset(out, 0, sizeof(*out));
    named =
        known_src != GSS_C_NO_NAME && in != NULL && accept_names(gc, known_src, in, composite, out);
    maj = gss_inquire_context(min, *ctx, known_src != GSS_C_NO_NAME ? NULL : &src,
                              named ? NULL : &targ, &lifetime, &mech, &flags, &local, &open);
    if (maj != GSS_S_COMPLETE) {
        return maj;
    }
    out->lifetime = lifetime;
    out->ctx_flags = flags;
    out->locally_initiated = local;
    out->open = open;
    out->needs_release = FALSE;
    if (gp_oid_to_gssx(gc->mem, mech, &out->mech) != 0) {
        maj = GSS_S_FAILURE;
        *min = ENOMEM;
        goto done;
    }
    if (!named && (src != GSS_C_NO_NAME || known_src != GSS_C_NO_NAME)) {
        maj = name_to_gssx(min, gc->mem, src != GSS_C_NO_NAME ? src : known_src, composite,
                           ctx_name_form(gc, mech, true), &out->src_name);
        if (maj != GSS_S_COMPLETE) {
            goto done;
        }
    }
    if (targ != GSS_C_NO_NAME) {
        maj = name_to_gssx(min, gc->mem, targ, composite, ctx_name_form(gc, mech, false),
                           &out->targ_name);
        if (maj != GSS_S_COMPLETE) {
            goto done;
        }
    }
    if (type == GP_EXPORT_LUCID) {
        void *lucid = NULL;
        maj = gss_krb5_export_lucid_sec_context(min, ctx, 1, &lucid);
        if (maj == GSS_S_COMPLETE) {
            maj = format_lucid(min, gc->mem, lucid, &out->exported_context_token);
            wipe_lucid(lucid);
            gss_krb5_free_lucid_sec_context(&tmp, lucid);
        }
    } else {
        gss_buffer_desc tok = GSS_C_EMPTY_BUFFER;
        maj = gss_export_sec_context(min, ctx, &tok);
        if (maj == GSS_S_COMPLETE) {
            if (gp_buf_set_secret(gc->mem, &out->exported_context_token, tok.value,
                                  tok.length) != 0) {
                maj = GSS_S_FAILURE;
                *min = ENOMEM;
            }
            if (tok.value != NULL) {
                explicit_bzero(tok.value, tok.length);
            }
            gss_release_buffer(&tmp, &tok);
        }
    }
done:
    gss_release_name(&tmp, &src);
    gss_release_name(&tmp, &targ);
    return maj;
}

uint32_t gp_ctx_from_gssx(uint32_t *min, const gssx_ctx *in, gss_ctx_id_t *out)
{
    gss_buffer_desc b;

    *out = GSS_C_NO_CONTEXT;
    gp_buf_view(&b, &in->exported_context_token);
    if (b.length == 0) {
        *min = EINVAL;
        return GSS_S_NO_CONTEXT;
    }
    return gss_import_sec_context(min, &b, out);
}

void gp_cb_view(gss_channel_bindings_t cb, const gssx_cb *x)
{
    cb->initiator_addrtype = (OM_uint32)x->initiator_addrtype;
    gp_buf_view(&cb->initiator_address, &x->initiator_address);
    cb->acceptor_addrtype = (OM_uint32)x->acceptor_addrtype;
    gp_buf_view(&cb->acceptor_address, &x->acceptor_address);
    gp_buf_view(&cb->application_data, &x->application_data);
}

void gp_wipe_ctx(gssx_ctx *c)
{
    if (c != NULL && c->exported_context_token.octet_string_val != NULL) {
        explicit_bzero(c->exported_context_token.octet_string_val,
                       c->exported_context_token.octet_string_len);
    }
}

void gp_wipe_cred(gssx_cred *c)
{
    if (c != NULL && c->cred_handle_reference.octet_string_val != NULL) {
        explicit_bzero(c->cred_handle_reference.octet_string_val,
                       c->cred_handle_reference.octet_string_len);
    }
}
