/* Per-worker-thread caches of the credential procedures: acceptor credentials from a
 * service's keytab, and linux_creds_v1 with its NSS answers (shared, kept 5 s). */
#include "config.h"
#include "proxy/gp_names.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/util_log.h"
#include "common/util_secmem.h"

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
    char *keytab; /* expanded keytab path (malloc), or NULL: none named */
    struct gp_file_stamp kt; /* of the keytab file when the cred was acquired */
    gss_cred_id_t cred;
    gssx_cred *handle; /* its sealed export, made once (own talloc tree), or NULL */
    struct util_secbuf *token; /* what handle seals: the cred's gss_export_cred (under handle) */
    /* token imported, made on the first call that presents handle: what gss_import_cred gives
     * for it every time (not cred: MIT's export keeps no acceptor principal restriction, so
     * the import may accept for any key of the keytab). */
    gss_cred_id_t imported;
};

struct gp_accept_cache {
    struct accept_slot slot[ACCEPT_CACHE_SLOTS];
    unsigned next;
};

static pthread_key_t accept_key;
static pthread_once_t accept_once = PTHREAD_ONCE_INIT;

static void slot_clear(struct accept_slot *sl)
{
    OM_uint32 tmp;

    gss_release_cred(&tmp, &sl->cred);
    gss_release_cred(&tmp, &sl->imported);
    free(sl->keytab);
    talloc_free(sl->handle);
    memset(sl, 0, sizeof(*sl));
}

gssx_cred *gp_accept_cache_handle(struct gp_call *gc, gss_cred_id_t cred, uint32_t *maj,
                                  uint32_t *min)
{
    struct gp_accept_cache *c = gp_accept_cache();
    struct accept_slot *sl = NULL;
    gss_cred_id_t tmp = cred;
    gss_buffer_desc tok = GSS_C_EMPTY_BUFFER;
    OM_uint32 tmp_min;
    gssx_cred *h;

    *maj = GSS_S_COMPLETE;
    *min = 0;
    for (unsigned i = 0; c != NULL && i < ACCEPT_CACHE_SLOTS && sl == NULL; i++) {
        if (cred != GSS_C_NO_CREDENTIAL && c->slot[i].cred == cred) {
            sl = &c->slot[i];
        }
    }
    if (sl == NULL) {
        return NULL;
    }
    if (sl->handle != NULL) {
        gp_cred_memo_note(gc, sl->handle);
        return sl->handle;
    }
    h = talloc_zero(NULL, gssx_cred);
    if (h == NULL) {
        return NULL;
    }
    *maj = gss_export_cred(min, cred, &tok);
    if (*maj == GSS_S_COMPLETE && (sl->token = util_secbuf_dup(h, tok.value, tok.length)) == NULL) {
        *maj = GSS_S_FAILURE;
        *min = ENOMEM;
    }
    /* The export "releases" tmp: a cached cred stays. */
    if (*maj == GSS_S_COMPLETE) {
        *maj = gp_cred_export_into(min, gc, h, &tmp, &tok, h);
    }
    if (tok.value != NULL) {
        explicit_bzero(tok.value, tok.length);
    }
    gss_release_buffer(&tmp_min, &tok);
    if (*maj != GSS_S_COMPLETE) {
        sl->token = NULL;
        talloc_free(h);
        return NULL;
    }
    sl->handle = h;
    return h;
}

static void accept_cache_free(void *p)
{
    struct gp_accept_cache *c = p;

    for (unsigned i = 0; i < ACCEPT_CACHE_SLOTS; i++) {
        slot_clear(&c->slot[i]);
    }
    free(c);
}

static void accept_key_init(void)
{
    (void)pthread_key_create(&accept_key, accept_cache_free);
}

struct gp_accept_cache *gp_accept_cache(void)
{
    struct gp_accept_cache *c;

    pthread_once(&accept_once, accept_key_init);
    c = pthread_getspecific(accept_key);
    if (c == NULL && (c = calloc(1, sizeof(*c))) != NULL) {
        pthread_setspecific(accept_key, c);
    }
    return c;
}

static void keytab_stamp(struct accept_slot *sl)
{
    const char *f = gp_keytab_file(sl->keytab);
    struct gp_file_stamp none = { 0 };

    sl->kt = f != NULL ? gp_file_stamp(f) : none;
}

/* The keytab the cred was acquired from is still the same file with the same content. */
static bool keytab_unchanged(const struct accept_slot *sl)
{
    const char *f = gp_keytab_file(sl->keytab);
    struct gp_file_stamp now;

    if (sl->keytab == NULL) {
        return true; /* the default keytab: MIT resolves it per accept */
    }
    if (f == NULL) {
        return true; /* not a file (MEMORY:, KEYRING:...): read per accept anyway */
    }
    now = gp_file_stamp(f);
    return gp_file_stamp_eq(&now, &sl->kt);
}

/* A cached acceptor cred for this call, or NO_CREDENTIAL. Drops slots of older loads and slots
 * whose keytab changed. */
gss_cred_id_t gp_accept_cache_get(struct gp_accept_cache *c, const struct gp_call *gc, uid_t uid,
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

gss_cred_id_t gp_accept_cache_by_token(const struct gp_call *gc, const void *tok, size_t len)
{
    struct gp_accept_cache *c = gp_accept_cache();
    struct accept_slot *sl = NULL;
    gss_buffer_desc b;
    OM_uint32 min;

    for (unsigned i = 0; c != NULL && i < ACCEPT_CACHE_SLOTS && sl == NULL; i++) {
        struct accept_slot *s = &c->slot[i];
        if (s->token != NULL && s->token->len == len && memcmp(s->token->p, tok, len) == 0 &&
            s->generation == gc->conf->generation && s->svc == gc->svc) {
            sl = s;
        }
    }
    if (sl == NULL || !keytab_unchanged(sl)) {
        return GSS_C_NO_CREDENTIAL; /* a changed keytab: the slot goes at the next acquire */
    }
    if (sl->imported == GSS_C_NO_CREDENTIAL) {
        b.value = sl->token->p;
        b.length = sl->token->len;
        if (gss_import_cred(&min, &b, &sl->imported) != GSS_S_COMPLETE) {
            sl->imported = GSS_C_NO_CREDENTIAL;
        }
    }
    return sl->imported;
}

void gp_accept_cache_put(struct gp_accept_cache *c, const struct gp_call *gc, uid_t uid,
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
    struct gp_accept_cache *c = cred != GSS_C_NO_CREDENTIAL ? gp_accept_cache() : NULL;

    for (unsigned i = 0; c != NULL && i < ACCEPT_CACHE_SLOTS; i++) {
        if (c->slot[i].cred == cred || c->slot[i].imported == cred) {
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

/* The account and group list of a local user name, as linux_creds_v1 carries them. getpwnam_r
 * and getgrouplist run every NSS module of nsswitch.conf (files, systemd's userdb, sssd...):
 * a third of an nfsd accept's CPU. They are kept for NSS_CACHE_TTL seconds, or until
 * /etc/passwd or /etc/group changes (an edit through usermod, vipw... is seen at once); the
 * kernel keeps what we answer for the life of the GSS context anyway. Only mapped names are
 * kept. Shared by the workers under one mutex. */
#define NSS_CACHE_SLOTS 64
#define NSS_CACHE_TTL 5 /* seconds */

struct nss_entry {
    char name[256];
    uid_t uid;
    gid_t gid;
    int ngroups;
    gid_t *groups; /* malloc */
    struct timespec expires;
    struct gp_file_stamp passwd, group;
};

static struct {
    pthread_mutex_t lock;
    struct nss_entry e[NSS_CACHE_SLOTS];
    unsigned next;
} nss_cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

static bool later(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

/* Found: a talloc copy of the entry's values in *out (3 + n words), true. */
static bool nss_cache_get(TALLOC_CTX *m, const char *user, const struct gp_file_stamp *pw,
                          const struct gp_file_stamp *gr, const struct timespec *now,
                          uint32_t **out, size_t *nwords)
{
    bool found = false;

    pthread_mutex_lock(&nss_cache.lock);
    for (unsigned i = 0; i < NSS_CACHE_SLOTS; i++) {
        struct nss_entry *e = &nss_cache.e[i];
        if (e->groups == NULL || strcmp(e->name, user) != 0) {
            continue;
        }
        if (later(now, &e->expires) || !gp_file_stamp_eq(&e->passwd, pw) ||
            !gp_file_stamp_eq(&e->group, gr)) {
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

static void nss_cache_put(const char *user, const uint32_t *v, const struct gp_file_stamp *pw,
                          const struct gp_file_stamp *gr, const struct timespec *now)
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

/* The local name: from the display form with this thread's names context when the reply
 * carries it (gss_localname would make and free a krb5 context), else, or when that cannot
 * map it, through GSSAPI, which also consults the name's attributes (local-login-user). */
static bool local_user(gss_name_t name, gss_const_OID mech, const gssx_name *disp, char *user,
                       size_t usersz)
{
    gss_buffer_desc lname = GSS_C_EMPTY_BUFFER;
    gss_OID_desc type;
    OM_uint32 tmp;
    bool mapped = false;

    if (disp != NULL) {
        gp_oid_view(&type, &disp->name_type);
        if (gss_oid_equal(&type, GSS_KRB5_NT_PRINCIPAL_NAME) &&
            gp_names_localname(disp->display_name.octet_string_val,
                               disp->display_name.octet_string_len, user, usersz) == 0) {
            return true;
        }
    }
    if (gss_localname(&tmp, name, (gss_OID)mech, &lname) == GSS_S_COMPLETE &&
        lname.length > 0 && lname.length < usersz) {
        memcpy(user, lname.value, lname.length);
        user[lname.length] = '\0';
        mapped = true;
    }
    gss_release_buffer(&tmp, &lname);
    return mapped;
}

uint32_t gp_linux_creds_named(uint32_t *min, struct gp_call *gc, gss_name_t name,
                              gss_const_OID mech, const gssx_name *disp, octet_string *out)
{
    struct passwd pw, *res = NULL;
    struct gp_file_stamp pws, grs;
    struct timespec now;
    char pwbuf[4096];
    char user[256];
    uint32_t *v;
    size_t nwords = 0;
    gid_t *groups = NULL;
    int ngroups = 64;

    *min = 0;
    if (local_user(name, mech, disp, user, sizeof(user))) {
        /* Stamps first: a change after them is seen by the next call. */
        clock_gettime(CLOCK_MONOTONIC, &now);
        pws = gp_file_stamp("/etc/passwd");
        grs = gp_file_stamp("/etc/group");
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
