/* Stateless credential handles (gssproxy-compatible) and credential acquisition from a
 * service's cred_store (the acceptor cred cache and linux_creds_v1 are in gp_creds_cache.c). */
#include "config.h"
#include "proxy/gp_proc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/util_log.h"
#include "common/util_secmem.h"
#include "proxy/gp_kcm.h"
#include "proxy/gp_tkt_cache.h"

#define ENC_MIN_PAD_LEN 8

static krb5_keyblock handle_key(const struct gp_svc *s)
{
    krb5_keyblock kb = { 0 };

    kb.enctype = s->handle_enctype;
    kb.length = (unsigned)s->handle_key->len;
    kb.contents = s->handle_key->p;
    return kb;
}

/* gssproxy's padding: enctypes whose ciphertext does not grow with one more byte pad
 * internally; those get >= 8 explicit bytes of value P up to the block boundary. */
static int seal(struct gp_call *gc, TALLOC_CTX *mem, const void *plain, size_t len,
                octet_string *out)
{
    krb5_keyblock kb = handle_key(gc->svc);
    size_t clen = 0, check = 0;
    unsigned pad = 0;
    struct util_secbuf *in;
    krb5_data din;
    krb5_enc_data enc = { 0 };
    krb5_error_code ret;

    if (krb5_c_encrypt_length(gc->k5, kb.enctype, len, &clen) != 0 ||
        krb5_c_encrypt_length(gc->k5, kb.enctype, len + 1, &check) != 0) {
        return EINVAL;
    }
    if (check == clen) {
        pad = ENC_MIN_PAD_LEN;
        if (krb5_c_encrypt_length(gc->k5, kb.enctype, len + pad, &clen) != 0) {
            return EINVAL;
        }
        for (unsigned i = 0; i < 15; i++) {
            if (krb5_c_encrypt_length(gc->k5, kb.enctype, len + pad + i + 1, &check) != 0) {
                return EINVAL;
            }
            if (check > clen) {
                pad += i;
                break;
            }
        }
    }
    in = util_secbuf_new(mem, len + pad);
    if (in == NULL) {
        return ENOMEM;
    }
    memcpy(in->p, plain, len);
    memset(in->p + len, (int)pad, pad);
    din.data = (char *)in->p;
    din.length = (unsigned)(len + pad);
    out->octet_string_val = talloc_size(mem, clen);
    if (out->octet_string_val == NULL) {
        return ENOMEM;
    }
    enc.ciphertext.data = out->octet_string_val;
    enc.ciphertext.length = (unsigned)clen;
    ret = krb5_c_encrypt(gc->k5, &kb, KRB5_KEYUSAGE_APP_DATA_ENCRYPT, NULL, &din, &enc);
    talloc_free(in);
    if (ret != 0) {
        return EINVAL;
    }
    out->octet_string_len = enc.ciphertext.length;
    return 0;
}

static int unseal(struct gp_call *gc, const octet_string *in, struct util_secbuf **out)
{
    krb5_keyblock kb = handle_key(gc->svc);
    krb5_enc_data enc = { 0 };
    krb5_data dout;
    struct util_secbuf *sb;
    size_t len;

    if (in->octet_string_len == 0) {
        return EINVAL;
    }
    sb = util_secbuf_new(gc->mem, in->octet_string_len);
    if (sb == NULL) {
        return ENOMEM;
    }
    enc.enctype = kb.enctype;
    enc.ciphertext.data = in->octet_string_val;
    enc.ciphertext.length = in->octet_string_len;
    dout.data = (char *)sb->p;
    dout.length = (unsigned)sb->len;
    if (krb5_c_decrypt(gc->k5, &kb, KRB5_KEYUSAGE_APP_DATA_ENCRYPT, NULL, &enc, &dout) != 0) {
        talloc_free(sb);
        return EINVAL;
    }
    len = dout.length;
    if (len >= 1) {
        size_t i = len - 1;
        uint8_t p = sb->p[i];
        if (p >= ENC_MIN_PAD_LEN && p < i) {
            bool all = true;
            for (size_t j = 0; j < p; j++) {
                all = all && sb->p[i - j] == p;
            }
            if (all) {
                len -= p;
            }
        }
    }
    sb->len = len; /* the handle still wipes the whole allocation: it was sized by dup/new */
    *out = sb;
    return 0;
}

/* The usage of the creds in the handles sealed lately, by a hash of the sealed bytes. The
 * interposer sends the handle it stored (an initiator's) with an acceptor's ACQUIRE_CRED and
 * the other way round on every call: importing it only to learn its usage cost a decryption, a
 * JSON parse and several krb5 contexts. A cred's usage is sealed into its handle, so the entry
 * holds for those bytes; a hash collision can only make cachetd acquire anew, as for a handle
 * that does not decrypt. Shared by the workers (the call that seals is rarely the one that
 * gets the handle back).
 * A handle whose tickets travel by value (the call's private MEMORY ccache) also keeps its
 * initiator lifetime: the interposer sends it back with the next initiator ACQUIRE_CRED, which
 * then hands it back as still good without decrypting and importing it. A collision there
 * only returns the caller's own bytes to it. */
#define USAGE_MEMO_SETS 64
#define USAGE_MEMO_WAYS 4

struct usage_memo {
    uint64_t generation;
    const struct gp_svc *svc;
    uint64_t hash;
    u_int len;
    gss_cred_usage_t usage;
    time_t init_end; /* tickets by value: when the initiator lifetime ends; else 0 */
};

/* Looked up in the set of the hash, not by a scan of every entry: a handle the interposer
 * keeps sending (a cached acceptor cred's, noted again each time it is given out) stays while
 * other handles come and go. */
static pthread_mutex_t usage_memo_lock = PTHREAD_MUTEX_INITIALIZER;
static struct usage_memo usage_memo[USAGE_MEMO_SETS][USAGE_MEMO_WAYS];
static unsigned usage_memo_next[USAGE_MEMO_SETS];

/* A handle is ciphertext, so eight bytes at a time mix well enough (FNV-1a byte by byte took
 * microseconds on a handle with tickets). */
static uint64_t handle_hash(const octet_string *h)
{
    const unsigned char *p = (const unsigned char *)h->octet_string_val;
    uint64_t x = 0xcbf29ce484222325ULL ^ h->octet_string_len;
    size_t n = h->octet_string_len, i = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        x = (x ^ w) * 0x100000001b3ULL;
        x ^= x >> 31;
    }
    for (; i < n; i++) {
        x = (x ^ p[i]) * 0x100000001b3ULL;
    }
    return x;
}

static bool memo_is(const struct usage_memo *m, const struct gp_call *gc, uint64_t hash, u_int len)
{
    return m->len == len && m->hash == hash && m->svc == gc->svc &&
           m->generation == gc->conf->generation;
}

static void usage_memo_put(const struct gp_call *gc, const octet_string *h,
                           gss_cred_usage_t usage, OM_uint32 il)
{
    uint64_t hash = handle_hash(h);
    unsigned set = (unsigned)(hash % USAGE_MEMO_SETS);
    struct usage_memo *m = NULL;
    time_t end = 0;

    if (gc->export_by_value && il != 0 && il != GSS_C_INDEFINITE) {
        end = time(NULL) + (time_t)il;
    }
    pthread_mutex_lock(&usage_memo_lock);
    for (unsigned i = 0; i < USAGE_MEMO_WAYS && m == NULL; i++) {
        if (memo_is(&usage_memo[set][i], gc, hash, h->octet_string_len)) {
            m = &usage_memo[set][i];
        }
    }
    if (m == NULL) {
        m = &usage_memo[set][usage_memo_next[set]++ % USAGE_MEMO_WAYS];
    }
    m->generation = gc->conf->generation;
    m->svc = gc->svc;
    m->hash = hash;
    m->len = h->octet_string_len;
    m->usage = usage;
    m->init_end = end;
    pthread_mutex_unlock(&usage_memo_lock);
}

void gp_cred_memo_note(const struct gp_call *gc, const gssx_cred *handle)
{
    const gssx_cred_element *el = handle->elements.elements_val;

    if (handle->elements.elements_len == 1 && handle->cred_handle_reference.octet_string_len) {
        usage_memo_put(gc, &handle->cred_handle_reference, gp_usage_from_gssx(el->cred_usage),
                       el->initiator_time_rec);
    }
}

enum gp_memo_verdict gp_cred_memo_verdict(const struct gp_call *gc, const gssx_cred *handle,
                                          gss_cred_usage_t usage)
{
    const octet_string *h = &handle->cred_handle_reference;
    enum gp_memo_verdict v = GP_MEMO_UNKNOWN;
    time_t now = time(NULL);
    uint64_t hash;
    unsigned set;

    if (h->octet_string_len == 0) {
        return GP_MEMO_UNKNOWN;
    }
    hash = handle_hash(h);
    set = (unsigned)(hash % USAGE_MEMO_SETS);
    pthread_mutex_lock(&usage_memo_lock);
    for (unsigned i = 0; i < USAGE_MEMO_WAYS; i++) {
        const struct usage_memo *m = &usage_memo[set][i];
        if (memo_is(m, gc, hash, h->octet_string_len)) {
            if (usage != GSS_C_BOTH && m->usage != GSS_C_BOTH && m->usage != usage) {
                v = GP_MEMO_EXCLUDED;
            } else if (usage == GSS_C_INITIATE && m->init_end > now &&
                       (uint64_t)(m->init_end - now) >= gc->svc->min_lifetime) {
                v = GP_MEMO_USABLE; /* as gp_cred_usable would find it */
            }
            break;
        }
    }
    pthread_mutex_unlock(&usage_memo_lock);
    return v;
}

/* For the krb5 element (the only mechanism served) one inquiry gives the name, lifetimes and
 * usage; the cred's name and the element's MN are the same name, converted once: every
 * GSSAPI call here makes a krb5 context inside MIT's mech. The name has attributes only if the
 * cred was acquired for a name imported from a composite token (gc->name_attrs): acquired,
 * imported (MIT's cred tokens keep no attributes), impersonated and delegated creds' names
 * have no authdata context. */
static uint32_t cred_export(uint32_t *min, struct gp_call *gc, TALLOC_CTX *mem,
                            gss_cred_id_t *cred, const gss_buffer_desc *tok_in, gssx_cred *out)
{
    gss_name_t name = GSS_C_NO_NAME;
    gss_buffer_desc tok = GSS_C_EMPTY_BUFFER;
    OM_uint32 il = 0, al = 0, tmp;
    gss_cred_usage_t usage;
    gssx_cred_element *el;
    uint32_t maj;
    int r;

    memset(out, 0, sizeof(*out));
    maj = gss_inquire_cred_by_mech(min, *cred, (gss_OID)gss_mech_krb5, &name, &il, &al, &usage);
    if (maj != GSS_S_COMPLETE) {
        return maj;
    }
    maj = gp_name_to_gssx(min, mem, name, gc->name_attrs ? GP_NAME_MN : GP_NAME_MN_PLAIN,
                          &out->desired_name);
    gss_release_name(&tmp, &name);
    if (maj != GSS_S_COMPLETE) {
        return maj;
    }
    el = out->elements.elements_val = talloc_zero(mem, gssx_cred_element);
    if (el == NULL) {
        *min = ENOMEM;
        return GSS_S_FAILURE;
    }
    out->elements.elements_len = 1;
    el->MN = out->desired_name; /* the XDR tree is talloc'd and freed as a whole, not per field */
    (void)gp_oid_to_gssx(mem, gss_mech_krb5, &el->mech);
    el->cred_usage = gp_usage_to_gssx(usage);
    el->initiator_time_rec = il;
    el->acceptor_time_rec = al;
    if (tok_in == NULL) {
        maj = gss_export_cred(min, *cred, &tok);
        if (maj != GSS_S_COMPLETE) {
            return maj;
        }
        tok_in = &tok;
    }
    r = seal(gc, mem, tok_in->value, tok_in->length, &out->cred_handle_reference);
    if (tok.value != NULL) {
        explicit_bzero(tok.value, tok.length);
        gss_release_buffer(&tmp, &tok);
    }
    if (r != 0) {
        *min = (uint32_t)r;
        return GSS_S_FAILURE;
    }
    usage_memo_put(gc, &out->cred_handle_reference, usage, il);
    out->needs_release = FALSE;
    /* Stateless: the client holds the sealed cred; ours goes (unless cached). */
    gp_cred_release(cred);
    *min = 0;
    return GSS_S_COMPLETE;
}

uint32_t gp_cred_export(uint32_t *min, struct gp_call *gc, gss_cred_id_t *cred, gssx_cred *out)
{
    return cred_export(min, gc, gc->mem, cred, NULL, out);
}

uint32_t gp_cred_export_token(uint32_t *min, struct gp_call *gc, gss_cred_id_t *cred,
                              const gss_buffer_desc *tok, gssx_cred *out)
{
    return cred_export(min, gc, gc->mem, cred, tok, out);
}

uint32_t gp_cred_export_into(uint32_t *min, struct gp_call *gc, TALLOC_CTX *mem,
                             gss_cred_id_t *cred, const gss_buffer_desc *tok, gssx_cred *out)
{
    return cred_export(min, gc, mem, cred, tok, out);
}

static bool has_cred_options(const gssx_cred *in)
{
    for (u_int i = 0; i < in->elements.elements_len; i++) {
        if (in->elements.elements_val[i].options.options_len > 0) {
            return true;
        }
    }
    return false;
}

static void set_cred_options(const gssx_cred *in, gss_cred_id_t cred)
{
    OM_uint32 tmp;

    for (u_int i = 0; i < in->elements.elements_len; i++) {
        const gssx_cred_element *el = &in->elements.elements_val[i];
        const octet_string *v = gp_opt_find(el->options.options_val, el->options.options_len,
                                            "krb5_set_allowed_enctype_values");
        if (v != NULL && v->octet_string_len >= sizeof(krb5_enctype)) {
            (void)gss_krb5_set_allowable_enctypes(&tmp, cred,
                                                  v->octet_string_len / sizeof(krb5_enctype),
                                                  (krb5_enctype *)v->octet_string_val);
        }
        if (gp_opt_find(el->options.options_val, el->options.options_len,
                        "krb5_set_no_ci_flags") != NULL) {
            gss_buffer_desc empty = GSS_C_EMPTY_BUFFER;
            (void)gss_set_cred_option(&tmp, &cred, (gss_OID)GSS_KRB5_CRED_NO_CI_FLAGS_X,
                                      &empty);
        }
    }
}

uint32_t gp_cred_import(uint32_t *min, struct gp_call *gc, const gssx_cred *in,
                        gss_cred_id_t *out)
{
    return gp_cred_import_token(min, gc, in, out, NULL);
}

uint32_t gp_cred_import_token(uint32_t *min, struct gp_call *gc, const gssx_cred *in,
                              gss_cred_id_t *out, struct util_secbuf **keep)
{
    struct util_secbuf *plain = NULL;
    gss_buffer_desc tok;
    uint32_t maj;

    *out = GSS_C_NO_CREDENTIAL;
    *min = 0;
    if (keep != NULL) {
        *keep = NULL;
    }
    if (unseal(gc, &in->cred_handle_reference, &plain) != 0) {
        util_log(UTIL_LOG_DEBUG, "credential handle does not decrypt: treated as no cred");
        return GSS_S_COMPLETE;
    }
    /* The handle of a cached acceptor cred (the interposer sends the one ACQUIRE_CRED gave it
     * to the accept): the cred imported from it once for this thread, not on every call (a
     * JSON parse, the keytab and replay cache resolved again, krb5 contexts); the accept opens
     * the replay cache and reads the keytab per call either way. Options would change the
     * cred: those handles are imported. */
    if (!has_cred_options(in) &&
        (*out = gp_accept_cache_by_token(gc, plain->p, plain->len)) != GSS_C_NO_CREDENTIAL) {
        maj = GSS_S_COMPLETE;
    } else {
        tok.value = plain->p;
        tok.length = plain->len;
        maj = gss_import_cred(min, &tok, out);
    }
    if (keep != NULL && maj == GSS_S_COMPLETE) {
        *keep = plain;
    } else {
        talloc_free(plain);
    }
    if (maj != GSS_S_COMPLETE) {
        /* gssproxy passes this on; an expired or vanished ccache is still "no cred" for the
         * callers that re-acquire. */
        return maj;
    }
    set_cred_options(in, *out);
    return GSS_S_COMPLETE;
}

bool gp_cred_handle_unseals(struct gp_call *gc, const gssx_cred *in)
{
    struct util_secbuf *plain = NULL;

    if (unseal(gc, &in->cred_handle_reference, &plain) != 0) {
        return false;
    }
    talloc_free(plain);
    return true;
}

bool gp_cred_usable(struct gp_call *gc, gss_cred_id_t cred, gss_cred_usage_t usage)
{
    bool wrong_usage;

    return gp_cred_usable_why(gc, cred, usage, &wrong_usage);
}

bool gp_cred_usable_why(struct gp_call *gc, gss_cred_id_t cred, gss_cred_usage_t usage,
                        bool *wrong_usage)
{
    OM_uint32 il = 0, al = 0, tmp;
    gss_cred_usage_t cu;

    *wrong_usage = false;
    if (gss_inquire_cred_by_mech(&tmp, cred, (gss_OID)gss_mech_krb5, NULL, &il, &al, &cu) !=
        GSS_S_COMPLETE) {
        return false;
    }
    if (usage != GSS_C_BOTH && cu != GSS_C_BOTH && cu != usage) {
        *wrong_usage = true;
        return false;
    }
    if (usage == GSS_C_INITIATE || usage == GSS_C_BOTH) {
        if (il == 0 || il < gc->svc->min_lifetime) {
            return false;
        }
    }
    if (usage == GSS_C_ACCEPT && al == 0) {
        return false;
    }
    return true;
}

/* cred_usage of the service: a BOTH request narrows to it (as gssproxy), another usage is
 * refused. */
static bool usage_allowed(const struct gp_svc *s, gss_cred_usage_t *usage)
{
    gss_cred_usage_t only;

    if (s->cred_usage != GP_USAGE_INITIATE && s->cred_usage != GP_USAGE_ACCEPT) {
        return true;
    }
    only = s->cred_usage == GP_USAGE_INITIATE ? GSS_C_INITIATE : GSS_C_ACCEPT;
    if (*usage == GSS_C_BOTH) {
        *usage = only;
    }
    return *usage == only;
}

uint32_t gp_cred_acquire(uint32_t *min, struct gp_call *gc, gss_cred_usage_t usage,
                         gss_name_t desired, gss_cred_id_t *out)
{
    gss_key_value_element_desc el[GP_CONF_MAX_CRED_STORE + 2];
    gss_key_value_set_desc store = { 0, el };
    gss_OID_set_desc mechs = { 1, (gss_OID)gss_mech_krb5 };
    gss_name_t def = GSS_C_NO_NAME;
    const char *keytab = NULL;
    bool have_ccache = false, have_client_kt = false;
    /* Not gssproxy's "user request" (a peer other than the service's euid -- allow_any_uid
     * lets it in, it does not make it the service -- or a uid named by a trusted caller).
     * Only the service itself may use its keytab as a client identity. */
    bool service_self = !gc->has_target && gc->peer.uid == gc->svc->euid;
    bool impersonate;
    uid_t target = gc->has_target ? gc->target_uid : gc->peer.uid;
    uint32_t maj, tmp;
    /* The call's private ccache is seeded from, and kept in, gp_tkt_cache (tk.client_keytab
     * set) when the tickets can only come from the service's client keytab. */
    struct gp_tkt_key tk = { .target = target, .self = service_self };
    bool named = desired != GSS_C_NO_NAME;
    struct gp_accept_cache *cache = NULL;

    *out = GSS_C_NO_CREDENTIAL;
    if (!usage_allowed(gc->svc, &usage)) {
        *min = EACCES;
        return GSS_S_FAILURE;
    }
    impersonate = gc->svc->impersonate && !service_self && usage != GSS_C_ACCEPT;
    if (usage == GSS_C_ACCEPT && desired == GSS_C_NO_NAME &&
        (cache = gp_accept_cache()) != NULL) {
        *out = gp_accept_cache_get(cache, gc, target, service_self);
        if (*out != GSS_C_NO_CREDENTIAL) {
            *min = 0;
            return GSS_S_COMPLETE;
        }
    }
    for (size_t i = 0; i < gc->svc->ncred_store; i++) {
        const char *cs = gc->svc->cred_store[i];
        const char *colon = strchr(cs, ':');
        char *key = talloc_strndup(gc->mem, cs, (size_t)(colon - cs));
        char *val = gp_conf_expand(gc->mem, colon + 1, target);
        if (key == NULL || val == NULL) {
            *min = ENOENT;
            return GSS_S_CRED_UNAVAIL;
        }
        el[store.count].key = key;
        el[store.count].value = val;
        store.count++;
        if (strcmp(key, "ccache") == 0) {
            have_ccache = true;
        } else if (strcmp(key, "keytab") == 0) {
            keytab = val;
        } else if (strcmp(key, "client_keytab") == 0) {
            have_client_kt = true;
        }
    }
    /* krb5_principal names the service's own identity when it acts as itself. */
    if (desired == GSS_C_NO_NAME && gc->svc->krb5_principal != NULL && service_self) {
        gss_buffer_desc b = { strlen(gc->svc->krb5_principal),
                              (void *)gc->svc->krb5_principal };
        if (gss_import_name(&tmp, &b, GSS_KRB5_NT_PRINCIPAL_NAME, &def) == GSS_S_COMPLETE) {
            desired = def;
        }
    }
    if (impersonate && keytab == NULL && !have_client_kt && store.count > 0) {
        util_log(UTIL_LOG_WARNING, "gssproxy: service %s: impersonate needs a keytab: or "
                 "client_keytab: in cred_store", gc->svc->name);
        *min = EINVAL;
        return GSS_S_CRED_UNAVAIL;
    }
    /* The service acting as itself (or as the impersonator) initiates from its own keytab. */
    if (keytab != NULL && ((usage == GSS_C_INITIATE && service_self &&
                            (gc->svc->trusted || desired != GSS_C_NO_NAME)) ||
                           impersonate)) {
        for (size_t i = 0; i < store.count; i++) {
            if (strcmp(el[i].key, "client_keytab") == 0) {
                el[i].value = keytab;
            }
        }
        if (!have_client_kt) {
            el[store.count].key = "client_keytab";
            el[store.count].value = keytab;
            store.count++;
        }
    }
    /* Without a ccache in the store, tickets live in a private MEMORY ccache for this call
     * and travel by value inside the sealed handle. */
    if (!have_ccache && usage != GSS_C_ACCEPT) {
        uint64_t rnd = 0;
        (void)getrandom(&rnd, sizeof(rnd), 0);
        gc->mem_ccache = talloc_asprintf(gc->mem, "MEMORY:cachet_gp_%016llx",
                                         (unsigned long long)rnd);
        el[store.count].key = "ccache";
        el[store.count].value = gc->mem_ccache;
        store.count++;
        /* The user's own tickets seed the call's ccache; an impersonating service starts
         * from its keytab only. */
        if (gc->kcm != NULL && !impersonate) {
            krb5_ccache cc;
            if (krb5_cc_resolve(gc->k5, gc->mem_ccache, &cc) == 0) {
                int n = gp_kcm_seed(gc->k5, cc, gc->kcm, gc->kcm_len);
                krb5_cc_close(gc->k5, cc);
                util_log(UTIL_LOG_DEBUG, "gssproxy: uid %u: %d credentials from the KCM store",
                         (unsigned)gc->peer.uid, n);
            }
        } else if (!impersonate && !named && gp_tkt_cache_enabled()) {
            for (size_t i = 0; i < store.count; i++) {
                if (strcmp(el[i].key, "client_keytab") == 0) {
                    tk.client_keytab = el[i].value;
                }
            }
        }
        if (tk.client_keytab != NULL) {
            krb5_ccache cc;
            if (krb5_cc_resolve(gc->k5, gc->mem_ccache, &cc) == 0) {
                (void)gp_tkt_seed(gc, &tk, cc);
                krb5_cc_close(gc->k5, cc);
            }
        }
    }
    if (impersonate) {
        /* The user is the peer (or the uid named): a desired name does not choose it. */
        gss_release_name(&tmp, &def);
        return gp_cred_impersonate_uid(min, gc, store.count > 0 ? &store : GSS_C_NO_CRED_STORE,
                                       target, usage, out);
    }
    maj = gss_acquire_cred_from(min, desired, GSS_C_INDEFINITE, &mechs, usage,
                                store.count > 0 ? &store : GSS_C_NO_CRED_STORE, out, NULL,
                                NULL);
    gss_release_name(&tmp, &def);
    if (maj == GSS_S_COMPLETE && cache != NULL) {
        gp_accept_cache_put(cache, gc, target, service_self, keytab, *out);
    }
    if (maj == GSS_S_COMPLETE && tk.client_keytab != NULL) {
        krb5_ccache cc;
        if (krb5_cc_resolve(gc->k5, gc->mem_ccache, &cc) == 0) {
            gp_tkt_keep_ccache(gc, &tk, cc);
            krb5_cc_close(gc->k5, cc);
        }
    }
    return maj;
}

bool gp_cred_target_uid(struct gp_call *gc, const gssx_name *name)
{
    gss_OID_desc type;
    char buf[32];
    char *end;
    unsigned long uid;

    if (name == NULL || !gc->svc->trusted || gc->peer.uid != gc->svc->euid) {
        return false;
    }
    gp_oid_view(&type, &name->name_type);
    if (!gss_oid_equal(&type, GSS_C_NT_STRING_UID_NAME) &&
        !gss_oid_equal(&type, GSS_C_NT_MACHINE_UID_NAME)) {
        return false;
    }
    if (name->display_name.octet_string_len == 0 ||
        name->display_name.octet_string_len >= sizeof(buf)) {
        return false;
    }
    memcpy(buf, name->display_name.octet_string_val, name->display_name.octet_string_len);
    buf[name->display_name.octet_string_len] = '\0';
    uid = strtoul(buf, &end, 10);
    if (*end != '\0' || end == buf) {
        return false;
    }
    gc->has_target = true;
    gc->target_uid = (uid_t)uid;
    return true;
}

void gp_call_cleanup(struct gp_call *gc)
{
    krb5_ccache cc;

    if (gc->mem_ccache != NULL && krb5_cc_resolve(gc->k5, gc->mem_ccache, &cc) == 0) {
        krb5_cc_destroy(gc->k5, cc);
    }
    gc->mem_ccache = NULL;
}
