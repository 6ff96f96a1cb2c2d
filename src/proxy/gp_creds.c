/* Stateless credential handles (gssproxy-compatible), credential acquisition from a service's
 * cred_store, and linux_creds_v1. */
#include "config.h"
#include "proxy/gp_proc.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "common/util_log.h"
#include "common/util_secmem.h"
#include "proxy/gp_kcm.h"

#define ENC_MIN_PAD_LEN 8
#define GP_MAX_GROUPS 65536
#define ACCEPT_CACHE_SLOTS 8

/* Acceptor credentials from a service keytab, cached per worker thread: acquiring them means
 * krb5 contexts, a keytab open and scan and (with krb5_principal) a name import on every call.
 * What such a cred holds (MIT krb5 1.20): the keytab's name and an open handle, the acceptor
 * principal (or none), the replay cache's name: no key. The accept reads the keys from the
 * keytab file every time and stores into the replay cache file every time, as without the
 * cache, so replay detection is unchanged and a key added to the keytab (kadmin ktadd) is used
 * at once. The keytab's identity (device, inode, size, mtime) is kept anyway: if the file is
 * replaced, removed or rewritten the cred is acquired again, so errors are those of a fresh
 * acquisition. Keyed by configuration load, service, target uid and whether the service acts
 * as itself (krb5_principal applies); slots of an older load are released on the next lookup
 * after a reload; never shared between threads. */
struct accept_slot {
    uint64_t generation;
    const struct gp_svc *svc;
    uid_t uid;
    bool self;
    bool have_kt; /* keytab identity below is valid */
    char *keytab; /* expanded keytab path (malloc), or NULL: none named */
    dev_t kt_dev;
    ino_t kt_ino;
    off_t kt_size;
    struct timespec kt_mtime;
    gss_cred_id_t cred;
};

struct accept_cache {
    struct accept_slot slot[ACCEPT_CACHE_SLOTS];
    unsigned next;
};

static pthread_key_t accept_key;
static pthread_once_t accept_once = PTHREAD_ONCE_INIT;

static void slot_clear(struct accept_slot *sl)
{
    OM_uint32 tmp;

    gss_release_cred(&tmp, &sl->cred);
    free(sl->keytab);
    memset(sl, 0, sizeof(*sl));
}

static void accept_cache_free(void *p)
{
    struct accept_cache *c = p;

    for (unsigned i = 0; i < ACCEPT_CACHE_SLOTS; i++) {
        slot_clear(&c->slot[i]);
    }
    free(c);
}

static void accept_key_init(void)
{
    (void)pthread_key_create(&accept_key, accept_cache_free);
}

static struct accept_cache *accept_cache(void)
{
    struct accept_cache *c;

    pthread_once(&accept_once, accept_key_init);
    c = pthread_getspecific(accept_key);
    if (c == NULL && (c = calloc(1, sizeof(*c))) != NULL) {
        pthread_setspecific(accept_key, c);
    }
    return c;
}

/* "FILE:/path" or "/path" -> the path; other keytab types have no file to watch. */
static const char *keytab_file(const char *kt)
{
    if (kt == NULL) {
        return NULL;
    }
    if (strncmp(kt, "FILE:", 5) == 0 || strncmp(kt, "WRFILE:", 7) == 0) {
        return strchr(kt, ':') + 1;
    }
    return kt[0] == '/' ? kt : NULL;
}

static void keytab_stamp(struct accept_slot *sl)
{
    const char *f = keytab_file(sl->keytab);
    struct stat st;

    sl->have_kt = f != NULL && stat(f, &st) == 0;
    if (sl->have_kt) {
        sl->kt_dev = st.st_dev;
        sl->kt_ino = st.st_ino;
        sl->kt_size = st.st_size;
        sl->kt_mtime = st.st_mtim;
    }
}

/* The keytab the cred was acquired from is still the same file with the same content. */
static bool keytab_unchanged(const struct accept_slot *sl)
{
    const char *f = keytab_file(sl->keytab);
    struct stat st;

    if (sl->keytab == NULL) {
        return true; /* the default keytab: MIT resolves it per accept */
    }
    if (f == NULL) {
        return true; /* not a file (MEMORY:, KEYRING:...): read per accept anyway */
    }
    if (stat(f, &st) != 0) {
        return !sl->have_kt;
    }
    return sl->have_kt && st.st_dev == sl->kt_dev && st.st_ino == sl->kt_ino &&
           st.st_size == sl->kt_size && st.st_mtim.tv_sec == sl->kt_mtime.tv_sec &&
           st.st_mtim.tv_nsec == sl->kt_mtime.tv_nsec;
}

/* A cached acceptor cred for this call, or NO_CREDENTIAL. Drops slots of older loads and slots
 * whose keytab changed. */
static gss_cred_id_t accept_cache_get(struct accept_cache *c, const struct gp_call *gc, uid_t uid,
                                      bool self)
{
    gss_cred_id_t found = GSS_C_NO_CREDENTIAL;

    for (unsigned i = 0; i < ACCEPT_CACHE_SLOTS; i++) {
        struct accept_slot *sl = &c->slot[i];
        if (sl->cred == GSS_C_NO_CREDENTIAL) {
            continue;
        }
        if (sl->generation != gc->conf->generation) {
            slot_clear(sl); /* reloaded: the service may be gone or changed */
            continue;
        }
        if (found == GSS_C_NO_CREDENTIAL && sl->svc == gc->svc && sl->uid == uid &&
            sl->self == self) {
            if (!keytab_unchanged(sl)) {
                util_log(UTIL_LOG_DEBUG, "gssproxy: service %s: keytab %s changed, acquiring "
                         "again", gc->svc->name, sl->keytab);
                slot_clear(sl);
                continue;
            }
            found = sl->cred;
        }
    }
    return found;
}

static void accept_cache_put(struct accept_cache *c, const struct gp_call *gc, uid_t uid,
                             bool self, const char *keytab, gss_cred_id_t cred)
{
    struct accept_slot *sl = NULL;

    for (unsigned i = 0; i < ACCEPT_CACHE_SLOTS && sl == NULL; i++) {
        if (c->slot[i].cred == GSS_C_NO_CREDENTIAL) {
            sl = &c->slot[i];
        }
    }
    if (sl == NULL) {
        sl = &c->slot[c->next++ % ACCEPT_CACHE_SLOTS];
    }
    slot_clear(sl);
    if (keytab != NULL && (sl->keytab = strdup(keytab)) == NULL) {
        /* Not cached: the caller releases it as any other cred. */
        return;
    }
    sl->generation = gc->conf->generation;
    sl->svc = gc->svc;
    sl->uid = uid;
    sl->self = self;
    keytab_stamp(sl);
    sl->cred = cred;
}

bool gp_cred_is_cached(gss_cred_id_t cred)
{
    struct accept_cache *c = cred != GSS_C_NO_CREDENTIAL ? accept_cache() : NULL;

    for (unsigned i = 0; c != NULL && i < ACCEPT_CACHE_SLOTS; i++) {
        if (c->slot[i].cred == cred) {
            return true;
        }
    }
    return false;
}

void gp_cred_release(gss_cred_id_t *cred)
{
    OM_uint32 tmp;

    if (gp_cred_is_cached(*cred)) {
        *cred = GSS_C_NO_CREDENTIAL;
        return;
    }
    gss_release_cred(&tmp, cred);
}

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
static int seal(struct gp_call *gc, const void *plain, size_t len, octet_string *out)
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
    in = util_secbuf_new(gc->mem, len + pad);
    if (in == NULL) {
        return ENOMEM;
    }
    memcpy(in->p, plain, len);
    memset(in->p + len, (int)pad, pad);
    din.data = (char *)in->p;
    din.length = (unsigned)(len + pad);
    out->octet_string_val = talloc_size(gc->mem, clen);
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

uint32_t gp_cred_export(uint32_t *min, struct gp_call *gc, gss_cred_id_t *cred, gssx_cred *out)
{
    gss_name_t name = GSS_C_NO_NAME;
    gss_OID_set mechs = GSS_C_NO_OID_SET;
    gss_buffer_desc tok = GSS_C_EMPTY_BUFFER;
    OM_uint32 lifetime, tmp;
    gss_cred_usage_t usage;
    uint32_t maj;
    int r;

    memset(out, 0, sizeof(*out));
    maj = gss_inquire_cred(min, *cred, &name, &lifetime, &usage, &mechs);
    if (maj != GSS_S_COMPLETE) {
        return maj;
    }
    maj = gp_name_to_gssx(min, gc->mem, name, &out->desired_name);
    gss_release_name(&tmp, &name);
    if (maj != GSS_S_COMPLETE) {
        goto done;
    }
    out->elements.elements_val = talloc_zero_array(gc->mem, gssx_cred_element, mechs->count);
    if (out->elements.elements_val == NULL && mechs->count > 0) {
        maj = GSS_S_FAILURE;
        *min = ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < mechs->count; i++) {
        gssx_cred_element *el = &out->elements.elements_val[out->elements.elements_len];
        OM_uint32 il = 0, al = 0;
        if (gss_inquire_cred_by_mech(&tmp, *cred, &mechs->elements[i], &name, &il, &al,
                                     &usage) != GSS_S_COMPLETE) {
            continue;
        }
        maj = gp_name_to_gssx(min, gc->mem, name, &el->MN);
        gss_release_name(&tmp, &name);
        if (maj != GSS_S_COMPLETE) {
            goto done;
        }
        (void)gp_oid_to_gssx(gc->mem, &mechs->elements[i], &el->mech);
        el->cred_usage = usage == GSS_C_INITIATE ? GSSX_C_INITIATE
                                                 : (usage == GSS_C_ACCEPT ? GSSX_C_ACCEPT
                                                                          : GSSX_C_BOTH);
        el->initiator_time_rec = il;
        el->acceptor_time_rec = al;
        out->elements.elements_len++;
    }
    maj = gss_export_cred(min, *cred, &tok);
    if (maj != GSS_S_COMPLETE) {
        goto done;
    }
    r = seal(gc, tok.value, tok.length, &out->cred_handle_reference);
    explicit_bzero(tok.value, tok.length);
    gss_release_buffer(&tmp, &tok);
    if (r != 0) {
        maj = GSS_S_FAILURE;
        *min = (uint32_t)r;
        goto done;
    }
    out->needs_release = FALSE;
    /* Stateless: the client holds the sealed cred; ours goes (unless cached). */
    gp_cred_release(cred);
    *min = 0;
done:
    gss_release_oid_set(&tmp, &mechs);
    return maj;
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
    struct util_secbuf *plain = NULL;
    gss_buffer_desc tok;
    uint32_t maj;

    *out = GSS_C_NO_CREDENTIAL;
    *min = 0;
    if (unseal(gc, &in->cred_handle_reference, &plain) != 0) {
        util_log(UTIL_LOG_DEBUG, "credential handle does not decrypt: treated as no cred");
        return GSS_S_COMPLETE;
    }
    tok.value = plain->p;
    tok.length = plain->len;
    maj = gss_import_cred(min, &tok, out);
    talloc_free(plain);
    if (maj != GSS_S_COMPLETE) {
        /* gssproxy passes this on; an expired or vanished ccache is still "no cred" for the
         * callers that re-acquire. */
        return maj;
    }
    set_cred_options(in, *out);
    return GSS_S_COMPLETE;
}

bool gp_cred_usable(struct gp_call *gc, gss_cred_id_t cred, gss_cred_usage_t usage)
{
    OM_uint32 il = 0, al = 0, tmp;
    gss_cred_usage_t cu;

    if (gss_inquire_cred_by_mech(&tmp, cred, (gss_OID)gss_mech_krb5, NULL, &il, &al, &cu) !=
        GSS_S_COMPLETE) {
        return false;
    }
    if (usage != GSS_C_BOTH && cu != GSS_C_BOTH && cu != usage) {
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
    switch (s->cred_usage) {
    case GP_USAGE_INITIATE:
        if (*usage == GSS_C_BOTH) {
            *usage = GSS_C_INITIATE;
        }
        return *usage == GSS_C_INITIATE;
    case GP_USAGE_ACCEPT:
        if (*usage == GSS_C_BOTH) {
            *usage = GSS_C_ACCEPT;
        }
        return *usage == GSS_C_ACCEPT;
    default:
        return true;
    }
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
    /* gssproxy's "user request": a peer other than the service's euid (allow_any_uid lets it
     * in, it does not make it the service), or a uid named by a trusted caller. Only the
     * service itself may use its keytab as a client identity. */
    bool user_request = gc->has_target || gc->peer.uid != gc->svc->euid;
    bool service_self = !user_request;
    bool impersonate;
    uid_t target = gc->has_target ? gc->target_uid : gc->peer.uid;
    uint32_t maj, tmp;

    struct accept_cache *cache = NULL;

    *out = GSS_C_NO_CREDENTIAL;
    if (!usage_allowed(gc->svc, &usage)) {
        *min = EACCES;
        return GSS_S_FAILURE;
    }
    impersonate = gc->svc->impersonate && user_request && usage != GSS_C_ACCEPT;
    if (usage == GSS_C_ACCEPT && desired == GSS_C_NO_NAME && (cache = accept_cache()) != NULL) {
        *out = accept_cache_get(cache, gc, target, service_self);
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
        accept_cache_put(cache, gc, target, service_self, keytab, *out);
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

/* The account and group list of a local user name, as linux_creds_v1 carries them. getpwnam_r
 * and getgrouplist run every NSS module of nsswitch.conf (files, systemd's userdb, sssd...):
 * a third of an nfsd accept's CPU. They are kept for NSS_CACHE_TTL seconds, or until
 * /etc/passwd or /etc/group changes (an edit through usermod, vipw... is seen at once); the
 * kernel keeps what we answer for the life of the GSS context anyway. Only mapped names are
 * kept. Shared by the workers under one mutex. */
#define NSS_CACHE_SLOTS 64
#define NSS_CACHE_TTL 5 /* seconds */

struct file_stamp {
    bool ok;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

struct nss_entry {
    char name[256];
    uid_t uid;
    gid_t gid;
    int ngroups;
    gid_t *groups; /* malloc */
    struct timespec expires;
    struct file_stamp passwd, group;
};

static struct {
    pthread_mutex_t lock;
    struct nss_entry e[NSS_CACHE_SLOTS];
    unsigned next;
} nss_cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct file_stamp file_stamp(const char *path)
{
    struct file_stamp fs = { 0 };
    struct stat st;

    if (stat(path, &st) == 0) {
        fs.ok = true;
        fs.dev = st.st_dev;
        fs.ino = st.st_ino;
        fs.size = st.st_size;
        fs.mtime = st.st_mtim;
    }
    return fs;
}

static bool stamp_eq(const struct file_stamp *a, const struct file_stamp *b)
{
    return a->ok == b->ok && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static bool later(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

/* Found: a talloc copy of the entry's values in *out (3 + n words), true. */
static bool nss_cache_get(TALLOC_CTX *m, const char *user, const struct file_stamp *pw,
                          const struct file_stamp *gr, const struct timespec *now,
                          uint32_t **out, size_t *nwords)
{
    bool found = false;

    pthread_mutex_lock(&nss_cache.lock);
    for (unsigned i = 0; i < NSS_CACHE_SLOTS; i++) {
        struct nss_entry *e = &nss_cache.e[i];
        if (e->groups == NULL || strcmp(e->name, user) != 0) {
            continue;
        }
        if (later(now, &e->expires) || !stamp_eq(&e->passwd, pw) || !stamp_eq(&e->group, gr)) {
            break;
        }
        *out = talloc_array(m, uint32_t, 3 + (size_t)e->ngroups);
        if (*out != NULL) {
            (*out)[0] = e->uid;
            (*out)[1] = e->gid;
            (*out)[2] = (uint32_t)e->ngroups;
            for (int j = 0; j < e->ngroups; j++) {
                (*out)[3 + j] = e->groups[j];
            }
            *nwords = 3 + (size_t)e->ngroups;
            found = true;
        }
        break;
    }
    pthread_mutex_unlock(&nss_cache.lock);
    return found;
}

static void nss_cache_put(const char *user, const uint32_t *v, const struct file_stamp *pw,
                          const struct file_stamp *gr, const struct timespec *now)
{
    struct nss_entry *e = NULL;
    gid_t *groups = malloc(sizeof(gid_t) * (v[2] > 0 ? v[2] : 1));

    if (groups == NULL || strlen(user) >= sizeof(e->name)) {
        free(groups);
        return;
    }
    for (uint32_t j = 0; j < v[2]; j++) {
        groups[j] = v[3 + j];
    }
    pthread_mutex_lock(&nss_cache.lock);
    for (unsigned i = 0; i < NSS_CACHE_SLOTS && e == NULL; i++) {
        if (nss_cache.e[i].groups != NULL && strcmp(nss_cache.e[i].name, user) == 0) {
            e = &nss_cache.e[i];
        }
    }
    if (e == NULL) {
        e = &nss_cache.e[nss_cache.next++ % NSS_CACHE_SLOTS];
    }
    free(e->groups);
    snprintf(e->name, sizeof(e->name), "%s", user);
    e->uid = v[0];
    e->gid = v[1];
    e->ngroups = (int)v[2];
    e->groups = groups;
    e->expires = *now;
    e->expires.tv_sec += NSS_CACHE_TTL;
    e->passwd = *pw;
    e->group = *gr;
    pthread_mutex_unlock(&nss_cache.lock);
}

uint32_t gp_linux_creds(uint32_t *min, struct gp_call *gc, gss_name_t name, gss_const_OID mech,
                        octet_string *out)
{
    gss_buffer_desc lname = GSS_C_EMPTY_BUFFER;
    struct passwd pw, *res = NULL;
    struct file_stamp pws, grs;
    struct timespec now;
    char pwbuf[4096];
    char user[256];
    uint32_t *v;
    size_t nwords = 0;
    gid_t *groups = NULL;
    int ngroups = 64;
    OM_uint32 tmp;
    uint32_t maj;
    bool mapped = false;

    *min = 0;
    maj = gss_localname(&tmp, name, (gss_OID)mech, &lname);
    if (maj == GSS_S_COMPLETE && lname.length > 0 && lname.length < sizeof(user)) {
        memcpy(user, lname.value, lname.length);
        user[lname.length] = '\0';
        mapped = true;
    }
    gss_release_buffer(&tmp, &lname);
    if (mapped) {
        /* Stamps first: a change after them is seen by the next call. */
        clock_gettime(CLOCK_MONOTONIC, &now);
        pws = file_stamp("/etc/passwd");
        grs = file_stamp("/etc/group");
        if (nss_cache_get(gc->mem, user, &pws, &grs, &now, &v, &nwords)) {
            out->octet_string_val = (char *)v;
            out->octet_string_len = (u_int)(nwords * 4);
            return GSS_S_COMPLETE;
        }
        if (getpwnam_r(user, &pw, pwbuf, sizeof(pwbuf), &res) != 0) {
            res = NULL;
        }
    }
    if (res == NULL) {
        /* Unmapped: the kernel needs the option anyway, as nobody (-1/-1, no groups). */
        v = talloc_array(gc->mem, uint32_t, 3);
        if (v == NULL) {
            *min = ENOMEM;
            return GSS_S_FAILURE;
        }
        v[0] = (uint32_t)-1;
        v[1] = (uint32_t)-1;
        v[2] = 0;
        out->octet_string_val = (char *)v;
        out->octet_string_len = 12;
        return GSS_S_COMPLETE;
    }
    for (;;) {
        int n = ngroups;
        groups = talloc_realloc(gc->mem, groups, gid_t, (size_t)ngroups);
        if (groups == NULL) {
            *min = ENOMEM;
            return GSS_S_FAILURE;
        }
        if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) >= 0) {
            ngroups = n;
            break;
        }
        if (ngroups >= GP_MAX_GROUPS) {
            ngroups = GP_MAX_GROUPS;
            break;
        }
        ngroups = n > ngroups ? n : ngroups * 2;
        if (ngroups > GP_MAX_GROUPS) {
            ngroups = GP_MAX_GROUPS;
        }
    }
    v = talloc_array(gc->mem, uint32_t, 3 + (size_t)ngroups);
    if (v == NULL) {
        *min = ENOMEM;
        return GSS_S_FAILURE;
    }
    v[0] = pw.pw_uid;
    v[1] = pw.pw_gid;
    v[2] = (uint32_t)ngroups;
    for (int i = 0; i < ngroups; i++) {
        v[3 + i] = groups[i];
    }
    nss_cache_put(user, v, &pws, &grs, &now);
    out->octet_string_val = (char *)v;
    out->octet_string_len = (u_int)((3 + (size_t)ngroups) * 4);
    return GSS_S_COMPLETE;
}

void gp_call_cleanup(struct gp_call *gc)
{
    krb5_ccache cc;

    if (gc->mem_ccache != NULL && krb5_cc_resolve(gc->k5, gc->mem_ccache, &cc) == 0) {
        krb5_cc_destroy(gc->k5, cc);
    }
    gc->mem_ccache = NULL;
}
