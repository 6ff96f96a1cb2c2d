/* gssproxy's own configuration, read unchanged: the main file (gssproxy.conf) and the NN-*.conf
 * files of the configuration directory, sections [gssproxy] and [service/NAME]. The result is
 * immutable once loaded: worker threads read it without locks while the loop keeps it alive
 * (reference count, main thread only) until the last call that matched it has finished. */
#ifndef CACHET_GP_CONF_H
#define CACHET_GP_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <talloc.h>

#include "common/util_secmem.h"

#define GP_CONF_MAX_CRED_STORE 16
#define GP_DEFAULT_MIN_LIFETIME 15
#define GP_DEFAULT_WORKERS 8

enum gp_cred_usage { GP_USAGE_BOTH = 0, GP_USAGE_INITIATE = 1, GP_USAGE_ACCEPT = 2 };

struct gp_svc {
    const char *name;
    bool any_uid;
    uid_t euid;
    const char *socket;   /* NULL: the default socket */
    const char *program;  /* NULL: any */
    const char *cred_store[GP_CONF_MAX_CRED_STORE]; /* "keytab:..." as written (with %U) */
    size_t ncred_store;
    enum gp_cred_usage cred_usage;
    const char *krb5_principal;
    bool trusted;
    bool kernel_nfsd;
    bool impersonate;
    bool allow_protocol_transition;
    bool allow_constrained_delegation;
    bool allow_client_ccache_sync;
    uint32_t min_lifetime;
    uint32_t filter_flags;
    uint32_t enforce_flags;
    /* Key of the stateless credential handles (first permitted keytab key, else random). */
    struct util_secbuf *handle_key;
    int32_t handle_enctype;
};

struct gp_conf {
    unsigned workers;
    int debug_level;
    struct gp_svc *svcs;
    size_t nsvcs;
    const char **sockets; /* distinct listening paths: the default one first */
    size_t nsockets;
    bool kernel_nfsd;
    unsigned refs;       /* main thread only */
    uint64_t generation; /* unique per load: keys the workers' cached acceptor creds */
};

/* Load. dir may be NULL or "" (no snippets). default_socket is the path services without a
 * socket key listen on. Returns NULL with err set on error (file:line: message); unknown keys
 * are logged as warnings naming file and line. Blocking (files, NSS for euid names, keytab). */
struct gp_conf *gp_conf_load(TALLOC_CTX *ctx, const char *file, const char *dir,
                             const char *default_socket, char *err, size_t errlen);

/* Load a built-in configuration text (gssproxy -u) exactly as gp_conf_load loads files. */
struct gp_conf *gp_conf_load_text(TALLOC_CTX *ctx, const char *text, const char *default_socket,
                                  char *err, size_t errlen);

/* Parse a gssproxy.conf-format text (tests, fuzz): no keytab lookup. */
int gp_conf_parse_text(struct gp_conf *conf, const char *name, const char *text, char *err,
                       size_t errlen);

/* First matching service for a peer on a listening socket, in configuration order, or NULL.
 * exe is the peer's executable, "" or NULL if unknown (kernel threads): then no service with
 * program = matches. */
const struct gp_svc *gp_conf_match(const struct gp_conf *conf, uid_t uid, const char *exe,
                                   const char *socket);

/* The user name of a uid (NSS; gssproxy's uid_to_name), a talloc string, or NULL. */
char *gp_uid_name(TALLOC_CTX *mem, uid_t uid);
/* Expand %U (uid), %u (user name), %% in s. Returns a talloc string or NULL. */
char *gp_conf_expand(TALLOC_CTX *ctx, const char *s, uid_t uid);

#endif
