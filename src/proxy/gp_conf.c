/* gssproxy.conf reader; see gp_conf.h. */
#include "config.h"
#include "proxy/gp_conf.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <gssapi/gssapi.h>
#include <krb5/krb5.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util_log.h"

#define GP_HANDLE_ENCTYPE ENCTYPE_AES256_CTS_HMAC_SHA1_96
#define MAX_CONF_BYTES (1024 * 1024)

/* Parser state: which file defined which section (later files may not extend it). */
struct section_origin {
    char *name;
    char *file;
};

struct parse_state {
    struct gp_conf *conf;
    struct section_origin *origins;
    size_t norigins;
    bool kept_svc_order;
};

static bool is_true(const char *v)
{
    return strcasecmp(v, "1") == 0 || strcasecmp(v, "true") == 0 ||
           strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0;
}

static char *trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s)) {
        s++;
    }
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) {
        *--e = '\0';
    }
    return s;
}

static struct gp_svc *find_svc(struct gp_conf *conf, const char *name)
{
    for (size_t i = 0; i < conf->nsvcs; i++) {
        if (strcmp(conf->svcs[i].name, name) == 0) {
            return &conf->svcs[i];
        }
    }
    return NULL;
}

static struct gp_svc *add_svc(struct gp_conf *conf, const char *name)
{
    struct gp_svc *n = talloc_realloc(conf, conf->svcs, struct gp_svc, conf->nsvcs + 1);

    if (n == NULL) {
        return NULL;
    }
    conf->svcs = n;
    memset(&n[conf->nsvcs], 0, sizeof(n[0]));
    n[conf->nsvcs].name = talloc_strdup(conf, name);
    n[conf->nsvcs].euid = (uid_t)-1;
    n[conf->nsvcs].min_lifetime = GP_DEFAULT_MIN_LIFETIME;
    n[conf->nsvcs].filter_flags = GSS_C_DELEG_FLAG;
    return &n[conf->nsvcs++];
}

static const struct {
    const char *name;
    uint32_t flag;
} flag_names[] = {
    { "DELEGATE", GSS_C_DELEG_FLAG },
    { "MUTUAL_AUTH", GSS_C_MUTUAL_FLAG },
    { "REPLAY_DETECT", GSS_C_REPLAY_FLAG },
    { "SEQUENCE", GSS_C_SEQUENCE_FLAG },
    { "CONFIDENTIALITY", GSS_C_CONF_FLAG },
    { "INTEGRITIY", GSS_C_INTEG_FLAG }, /* gssproxy's spelling; INTEGRITY is not accepted */
    { "ANONYMOUS", GSS_C_ANON_FLAG },
};

/* "+NAME -NAME 0x10" list, applied to *flags. */
static int parse_flags(const char *v, uint32_t *flags, char *err, size_t errlen)
{
    char buf[512];
    char *save = NULL;

    snprintf(buf, sizeof(buf), "%s", v);
    for (char *t = strtok_r(buf, " ,\t", &save); t != NULL; t = strtok_r(NULL, " ,\t", &save)) {
        bool add = true;
        uint32_t f = 0;
        char *end;

        if (*t == '+' || *t == '-') {
            add = *t == '+';
            t++;
        }
        errno = 0;
        f = (uint32_t)strtoul(t, &end, 0);
        if (errno != 0 || *end != '\0' || end == t) {
            f = 0;
            for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++) {
                if (strcasecmp(t, flag_names[i].name) == 0) {
                    f = flag_names[i].flag;
                }
            }
            if (f == 0) {
                snprintf(err, errlen, "unknown flag '%s'", t);
                return -1;
            }
        }
        if (add) {
            *flags |= f;
        } else {
            *flags &= ~f;
        }
    }
    return 0;
}

static int set_svc_key(struct gp_conf *conf, struct gp_svc *s, const char *key, const char *val,
                       char *err, size_t errlen)
{
    if (strcmp(key, "euid") == 0) {
        char *end;
        unsigned long u;
        errno = 0;
        u = strtoul(val, &end, 10);
        if (errno == 0 && *end == '\0' && end != val) {
            s->euid = (uid_t)u;
        } else {
            struct passwd pw, *res = NULL;
            char buf[4096];
            if (getpwnam_r(val, &pw, buf, sizeof(buf), &res) != 0 || res == NULL) {
                snprintf(err, errlen, "euid: unknown user '%s'", val);
                return -1;
            }
            s->euid = pw.pw_uid;
        }
    } else if (strcmp(key, "mechs") == 0) {
        if (strcmp(val, "krb5") != 0) {
            snprintf(err, errlen, "mechs: only 'krb5' is supported, not '%s'", val);
            return -1;
        }
    } else if (strcmp(key, "socket") == 0) {
        s->socket = talloc_strdup(conf, val);
    } else if (strcmp(key, "program") == 0) {
        if (val[0] != '/' || strchr(val, '|') != NULL) {
            snprintf(err, errlen, "program: '%s' is not an absolute path", val);
            return -1;
        }
        s->program = talloc_strdup(conf, val);
    } else if (strcmp(key, "cred_store") == 0) {
        if (s->ncred_store >= GP_CONF_MAX_CRED_STORE) {
            snprintf(err, errlen, "cred_store: more than %d entries", GP_CONF_MAX_CRED_STORE);
            return -1;
        }
        if (strchr(val, ':') == NULL) {
            snprintf(err, errlen, "cred_store: '%s' is not TYPE:VALUE", val);
            return -1;
        }
        s->cred_store[s->ncred_store++] = talloc_strdup(conf, val);
    } else if (strcmp(key, "cred_usage") == 0) {
        if (strcasecmp(val, "initiate") == 0) {
            s->cred_usage = GP_USAGE_INITIATE;
        } else if (strcasecmp(val, "accept") == 0) {
            s->cred_usage = GP_USAGE_ACCEPT;
        } else if (strcasecmp(val, "both") == 0) {
            s->cred_usage = GP_USAGE_BOTH;
        } else {
            snprintf(err, errlen, "cred_usage: '%s' is not initiate, accept or both", val);
            return -1;
        }
    } else if (strcmp(key, "krb5_principal") == 0) {
        s->krb5_principal = talloc_strdup(conf, val);
    } else if (strcmp(key, "trusted") == 0) {
        s->trusted = is_true(val);
    } else if (strcmp(key, "kernel_nfsd") == 0) {
        s->kernel_nfsd = is_true(val);
    } else if (strcmp(key, "impersonate") == 0) {
        s->impersonate = is_true(val);
    } else if (strcmp(key, "allow_any_uid") == 0) {
        s->any_uid = is_true(val);
    } else if (strcmp(key, "allow_protocol_transition") == 0) {
        s->allow_protocol_transition = is_true(val);
    } else if (strcmp(key, "allow_constrained_delegation") == 0) {
        s->allow_constrained_delegation = is_true(val);
    } else if (strcmp(key, "allow_client_ccache_sync") == 0) {
        s->allow_client_ccache_sync = is_true(val);
    } else if (strcmp(key, "min_lifetime") == 0) {
        s->min_lifetime = (uint32_t)strtoul(val, NULL, 10);
    } else if (strcmp(key, "filter_flags") == 0) {
        return parse_flags(val, &s->filter_flags, err, errlen);
    } else if (strcmp(key, "enforce_flags") == 0) {
        return parse_flags(val, &s->enforce_flags, err, errlen);
    } else if (strcmp(key, "selinux_context") == 0) {
        return 1; /* deprecated, not enforced: warn */
    } else {
        return 1; /* unknown */
    }
    return 0;
}

static int set_global_key(struct gp_conf *conf, const char *key, const char *val)
{
    if (strcmp(key, "debug") == 0) {
        if (is_true(val) && conf->debug_level < 1) {
            conf->debug_level = 1;
        }
    } else if (strcmp(key, "debug_level") == 0) {
        conf->debug_level = atoi(val);
    } else if (strcmp(key, "worker threads") == 0) {
        int n = atoi(val);
        conf->workers = n < 1 ? 1 : (n > 64 ? 64 : (unsigned)n);
    } else if (strcmp(key, "syslog_status") == 0 || strcmp(key, "run_as_user") == 0) {
        /* accepted for compatibility; cachetd's own settings govern these */
    } else {
        return 1;
    }
    return 0;
}

static bool origin_allows(struct parse_state *ps, const char *section, const char *file)
{
    for (size_t i = 0; i < ps->norigins; i++) {
        if (strcmp(ps->origins[i].name, section) == 0) {
            return strcmp(ps->origins[i].file, file) == 0;
        }
    }
    struct section_origin *n =
        talloc_realloc(ps->conf, ps->origins, struct section_origin, ps->norigins + 1);
    if (n == NULL) {
        return false;
    }
    ps->origins = n;
    n[ps->norigins].name = talloc_strdup(ps->conf, section);
    n[ps->norigins].file = talloc_strdup(ps->conf, file);
    ps->norigins++;
    return true;
}

static int parse_text(struct parse_state *ps, const char *name, const char *text, char *err,
                      size_t errlen)
{
    struct gp_conf *conf = ps->conf;
    char *copy = talloc_strdup(conf, text);
    char *save = NULL;
    char section[256] = "";
    bool skip = false;
    unsigned lineno = 0;
    const char *p = copy;

    if (copy == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    (void)save;
    while (p != NULL && *p != '\0') {
        char *nl = strchr(p, '\n');
        char *line = (char *)p;
        char *l;

        lineno++;
        if (nl != NULL) {
            *nl = '\0';
            p = nl + 1;
        } else {
            p = NULL;
        }
        l = trim(line);
        if (*l == '\0' || *l == '#' || *l == ';') {
            continue;
        }
        if (*l == '[') {
            char *e = strchr(l, ']');
            if (e == NULL) {
                snprintf(err, errlen, "%s:%u: unterminated section header", name, lineno);
                return -1;
            }
            *e = '\0';
            snprintf(section, sizeof(section), "%s", trim(l + 1));
            skip = false;
            if (strcmp(section, "gssproxy") != 0 && strncmp(section, "service/", 8) != 0) {
                util_log(UTIL_LOG_WARNING, "%s:%u: unknown section [%s] ignored", name, lineno,
                         section);
                skip = true;
            } else if (strncmp(section, "service/", 8) == 0 && section[8] == '\0') {
                snprintf(err, errlen, "%s:%u: service section without a name", name, lineno);
                return -1;
            } else if (!origin_allows(ps, section, name)) {
                util_log(UTIL_LOG_WARNING,
                         "%s:%u: section [%s] was already defined in an earlier file; this "
                         "one is ignored", name, lineno, section);
                skip = true;
            } else if (strncmp(section, "service/", 8) == 0 &&
                       find_svc(conf, section + 8) == NULL && add_svc(conf, section + 8) == NULL) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            continue;
        }
        char *eq = strchr(l, '=');
        if (eq == NULL) {
            snprintf(err, errlen, "%s:%u: expected 'key = value'", name, lineno);
            return -1;
        }
        *eq = '\0';
        char *key = trim(l);
        char *val = trim(eq + 1);
        char why[256] = "";
        int r;

        if (skip) {
            continue;
        }
        if (section[0] == '\0') {
            snprintf(err, errlen, "%s:%u: '%s' outside of any section", name, lineno, key);
            return -1;
        }
        if (strcmp(section, "gssproxy") == 0) {
            r = set_global_key(conf, key, val);
        } else {
            r = set_svc_key(conf, find_svc(conf, section + 8), key, val, why, sizeof(why));
        }
        if (r < 0) {
            snprintf(err, errlen, "%s:%u: %s", name, lineno, why);
            return -1;
        }
        if (r > 0) {
            util_log(UTIL_LOG_WARNING, "%s:%u: unknown or unsupported key '%s' in [%s] ignored",
                     name, lineno, key, section);
        }
    }
    return 0;
}

int gp_conf_parse_text(struct gp_conf *conf, const char *name, const char *text, char *err,
                       size_t errlen)
{
    struct parse_state ps = { .conf = conf };

    return parse_text(&ps, name, text, err, errlen);
}

static int parse_file(struct parse_state *ps, const char *path, bool missing_ok, char *err,
                      size_t errlen)
{
    FILE *f = fopen(path, "re");
    char *buf;
    size_t n;
    int ret;

    if (f == NULL) {
        if (errno == ENOENT && missing_ok) {
            return 0;
        }
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    buf = talloc_size(ps->conf, MAX_CONF_BYTES + 1);
    if (buf == NULL) {
        fclose(f);
        return -1;
    }
    n = fread(buf, 1, MAX_CONF_BYTES + 1, f);
    fclose(f);
    if (n > MAX_CONF_BYTES) {
        snprintf(err, errlen, "%s: larger than %d bytes", path, MAX_CONF_BYTES);
        return -1;
    }
    buf[n] = '\0';
    ret = parse_text(ps, path, buf, err, errlen);
    talloc_free(buf);
    return ret;
}

static bool snippet_name(const char *n)
{
    size_t l = strlen(n);

    return l > 8 && isdigit((unsigned char)n[0]) && isdigit((unsigned char)n[1]) &&
           n[2] == '-' && strcmp(n + l - 5, ".conf") == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int parse_dir(struct parse_state *ps, const char *dir, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0;
    int ret = 0;

    if (d == NULL) {
        return errno == ENOENT ? 0 : (snprintf(err, errlen, "cannot open %s: %s", dir,
                                               strerror(errno)), -1);
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }
        if (!snippet_name(de->d_name)) {
            if (strcmp(de->d_name, "gssproxy.conf") != 0) {
                util_log(UTIL_LOG_DEBUG, "%s/%s: not NN-*.conf, skipped", dir, de->d_name);
            }
            continue;
        }
        names = talloc_realloc(ps->conf, names, char *, n + 1);
        if (names == NULL) {
            closedir(d);
            return -1;
        }
        names[n++] = talloc_asprintf(names, "%s/%s", dir, de->d_name);
    }
    closedir(d);
    if (n > 0) {
        qsort(names, n, sizeof(names[0]), cmp_str);
    }
    for (size_t i = 0; i < n && ret == 0; i++) {
        ret = parse_file(ps, names[i], false, err, errlen);
    }
    talloc_free(names);
    return ret;
}

/* gssproxy's rule: first keytab entry whose enctype is permitted; else an ephemeral key. */
static void init_handle_key(struct gp_conf *conf, struct gp_svc *s)
{
    krb5_context k = NULL;
    krb5_keytab kt = NULL;
    krb5_kt_cursor cur;
    krb5_keytab_entry ent;
    krb5_enctype *permitted = NULL;
    const char *ktname = NULL;
    krb5_keyblock *rnd = NULL;

    for (size_t i = 0; i < s->ncred_store; i++) {
        if (strncmp(s->cred_store[i], "keytab:", 7) == 0) {
            ktname = s->cred_store[i] + 7;
        }
    }
    if (krb5_init_context(&k) != 0) {
        return;
    }
    if ((ktname == NULL || krb5_kt_resolve(k, ktname, &kt) != 0) &&
        krb5_kt_default(k, &kt) != 0) {
        kt = NULL;
    }
    if (kt != NULL && krb5_get_permitted_enctypes(k, &permitted) == 0 &&
        krb5_kt_start_seq_get(k, kt, &cur) == 0) {
        while (s->handle_key == NULL && krb5_kt_next_entry(k, kt, &ent, &cur) == 0) {
            for (size_t i = 0; permitted[i] != 0; i++) {
                if (permitted[i] == ent.key.enctype) {
                    s->handle_key = util_secbuf_dup(conf, ent.key.contents, ent.key.length);
                    s->handle_enctype = ent.key.enctype;
                    util_log(UTIL_LOG_DEBUG, "service %s: handle key from keytab, enctype %d",
                             s->name, ent.key.enctype);
                    break;
                }
            }
            krb5_free_keytab_entry_contents(k, &ent);
        }
        krb5_kt_end_seq_get(k, kt, &cur);
    }
    if (permitted != NULL) {
        krb5_free_enctypes(k, permitted);
    }
    if (kt != NULL) {
        krb5_kt_close(k, kt);
    }
    if (s->handle_key == NULL && krb5_init_keyblock(k, GP_HANDLE_ENCTYPE, 0, &rnd) == 0) {
        if (krb5_c_make_random_key(k, GP_HANDLE_ENCTYPE, rnd) == 0) {
            s->handle_key = util_secbuf_dup(conf, rnd->contents, rnd->length);
            s->handle_enctype = GP_HANDLE_ENCTYPE;
            util_log(UTIL_LOG_DEBUG, "service %s: ephemeral handle key", s->name);
        }
        krb5_free_keyblock(k, rnd);
    }
    krb5_free_context(k);
}

static int add_socket(struct gp_conf *conf, const char *path)
{
    for (size_t i = 0; i < conf->nsockets; i++) {
        if (strcmp(conf->sockets[i], path) == 0) {
            return 0;
        }
    }
    const char **n = talloc_realloc(conf, conf->sockets, const char *, conf->nsockets + 1);
    if (n == NULL) {
        return -1;
    }
    conf->sockets = n;
    n[conf->nsockets++] = talloc_strdup(conf, path);
    return 0;
}

static struct gp_conf *load(TALLOC_CTX *ctx, const char *file, const char *dir,
                            const char *text, const char *default_socket, char *err,
                            size_t errlen);

struct gp_conf *gp_conf_load(TALLOC_CTX *ctx, const char *file, const char *dir,
                             const char *default_socket, char *err, size_t errlen)
{
    return load(ctx, file, dir, NULL, default_socket, err, errlen);
}

struct gp_conf *gp_conf_load_text(TALLOC_CTX *ctx, const char *text, const char *default_socket,
                                  char *err, size_t errlen)
{
    return load(ctx, NULL, NULL, text, default_socket, err, errlen);
}

static struct gp_conf *load(TALLOC_CTX *ctx, const char *file, const char *dir,
                            const char *text, const char *default_socket, char *err,
                            size_t errlen)
{
    struct gp_conf *conf = talloc_zero(ctx, struct gp_conf);
    struct parse_state ps = { .conf = conf };

    if (conf == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    static uint64_t generations;

    conf->workers = GP_DEFAULT_WORKERS;
    conf->generation = ++generations; /* loads happen on the main thread only */
    if (file != NULL && file[0] != '\0' && parse_file(&ps, file, dir != NULL && dir[0] != '\0',
                                                      err, errlen) != 0) {
        goto fail;
    }
    if (dir != NULL && dir[0] != '\0' && parse_dir(&ps, dir, err, errlen) != 0) {
        goto fail;
    }
    if (text != NULL && parse_text(&ps, "(built-in)", text, err, errlen) != 0) {
        goto fail;
    }
    if (add_socket(conf, default_socket) != 0) {
        goto fail;
    }
    for (size_t i = 0; i < conf->nsvcs; i++) {
        struct gp_svc *s = &conf->svcs[i];
        if (s->euid == (uid_t)-1 && !s->any_uid) {
            snprintf(err, errlen, "service/%s: euid is required", s->name);
            goto fail;
        }
        for (size_t j = 0; j < i; j++) {
            const struct gp_svc *o = &conf->svcs[j];
            bool same_sock = (o->socket == NULL && s->socket == NULL) ||
                             (o->socket != NULL && s->socket != NULL &&
                              strcmp(o->socket, s->socket) == 0);
            bool same_prog = (o->program == NULL && s->program == NULL) ||
                             (o->program != NULL && s->program != NULL &&
                              strcmp(o->program, s->program) == 0);
            if (same_sock && same_prog && (o->any_uid || o->euid == s->euid)) {
                util_log(UTIL_LOG_WARNING, "service/%s can never match: service/%s comes first "
                         "with the same euid, socket and program", s->name, o->name);
            }
        }
        if (s->socket != NULL && add_socket(conf, s->socket) != 0) {
            goto fail;
        }
        if (s->kernel_nfsd && s->program != NULL) {
            util_log(UTIL_LOG_WARNING, "service/%s: kernel_nfsd with program = %s: the kernel "
                     "reconnects from nfsd threads, whose executable cannot be read, and only "
                     "its first connection comes from cachetd itself", s->name, s->program);
        }
        conf->kernel_nfsd |= s->kernel_nfsd;
        init_handle_key(conf, s);
        if (s->handle_key == NULL) {
            snprintf(err, errlen, "service/%s: cannot create the credential handle key",
                     s->name);
            goto fail;
        }
    }
    talloc_free(ps.origins);
    return conf;
fail:
    talloc_free(conf);
    return NULL;
}

const struct gp_svc *gp_conf_match(const struct gp_conf *conf, uid_t uid, const char *exe,
                                   const char *socket)
{
    for (size_t i = 0; i < conf->nsvcs; i++) {
        const struct gp_svc *s = &conf->svcs[i];
        const char *ssock = s->socket != NULL ? s->socket : conf->sockets[0];

        if (!s->any_uid && s->euid != uid) {
            continue;
        }
        /* A program must be proven: an unknown executable (kernel threads, which is where
         * the kernel's reconnects come from, a pid outside our namespace, a peer gone
         * before we looked) never matches one. */
        if (s->program != NULL && (exe == NULL || strcmp(s->program, exe) != 0)) {
            continue;
        }
        if (strcmp(ssock, socket) != 0) {
            continue;
        }
        return s;
    }
    return NULL;
}

char *gp_uid_name(TALLOC_CTX *mem, uid_t uid)
{
    struct passwd pw, *res = NULL;
    char buf[4096];

    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || res == NULL) {
        return NULL;
    }
    return talloc_strdup(mem, pw.pw_name);
}

char *gp_conf_expand(TALLOC_CTX *ctx, const char *s, uid_t uid)
{
    char *out = talloc_strdup(ctx, "");

    for (const char *p = s; out != NULL && *p != '\0'; p++) {
        if (*p != '%' || p[1] == '\0') {
            out = talloc_asprintf_append_buffer(out, "%c", *p);
            continue;
        }
        p++;
        if (*p == 'U') {
            out = talloc_asprintf_append_buffer(out, "%u", (unsigned)uid);
        } else if (*p == 'u') {
            char *name = gp_uid_name(out, uid);
            if (name == NULL) {
                talloc_free(out);
                return NULL;
            }
            out = talloc_asprintf_append_buffer(out, "%s", name);
        } else if (*p == '%') {
            out = talloc_asprintf_append_buffer(out, "%%");
        } else {
            out = talloc_asprintf_append_buffer(out, "%%%c", *p);
        }
    }
    return out;
}
