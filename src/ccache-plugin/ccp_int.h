/* Internals of the SESSION credential cache type (libcachet-ccache). Not installed.
 *
 * Layers, bottom up:
 *   ccp_marshal.c  krb5_creds / krb5_principal <-> KCM wire bytes (the shared kcm_codec parses)
 *   ccp_conn.c     the process's one connection to cachetd: socket path, connect, time-bounded
 *                  I/O, fork/uid/thread safety, capability binding (through ccp_cap.c)
 *   ccp_cap.c      the session capability: session keyring (raw keyctl syscalls) and the
 *                  cachet extension opcode (kcm/kcm_session_cap.h)
 *   ccp_cache.c    the MIT ops table: handles, credentials, iteration
 *   ccp_coll.c     collection cursor, switch
 *   ccp_version.c  run-time check of the private MIT ABI
 *   ccp_register.c cachet_ccache_register(), profile_module_init() and the profile vtable */
#ifndef CACHET_CCP_INT_H
#define CACHET_CCP_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <krb5.h>

#include "ccache-plugin/ccp_abi.h"
#include "common/util_buf.h"
#include "kcm/kcm_codec.h"

#define CCP_PREFIX "SESSION"
#define CCP_PATH_MAX 108                        /* sun_path */
#define CCP_DEFAULT_TIMEOUT_MS 30000            /* every read and write on the socket */
#define CCP_ENV_SOCKET "CACHET_SOCKET"          /* read with secure_getenv */
#define CCP_ENV_TIMEOUT "CACHET_CCACHE_TIMEOUT" /* seconds, read with secure_getenv */

/* ---- ccp_version.c ---- */
bool ccp_brand_parse(const char *brand, size_t len, int *major, int *minor);
bool ccp_release_supported(int major, int minor);
/* 0 if the loaded libkrb5 has our ops layout, else KRB5_PLUGIN_VER_NOTSUPP; why says which. */
krb5_error_code ccp_abi_check(char *why, size_t whylen);

/* ---- ccp_marshal.c ---- */
void ccp_wr_princ(struct util_wr *wr, krb5_const_principal p);
void ccp_wr_cred(struct util_wr *wr, const krb5_creds *c);
void ccp_wr_mcred(struct util_wr *wr, const krb5_creds *m);
krb5_error_code ccp_princ_from_wire(const struct kcm_princ *w, krb5_principal *out);
krb5_error_code ccp_cred_from_wire(const struct kcm_cred *w, krb5_creds *out);
/* MIT KRB5_TC_* flags to the Heimdal KCM_TC_* words on the wire. */
uint32_t ccp_map_tcflags(krb5_flags flags);

/* ---- ccp_conn.c ---- */
struct ccp_reply {
    uint8_t *mem; /* the reply payload (inner code + fields), wiped and freed by ccp_reply_free */
    size_t len;
    struct util_rd body; /* the fields after the inner code */
};

typedef void (*ccp_build_fn)(struct util_wr *wr, const void *arg);

/* Where a handle's requests go: chosen once per handle from the context. */
struct ccp_target {
    char path[CCP_PATH_MAX];
};

/* CACHET_SOCKET (secure_getenv), else [libdefaults] kcm_socket, else the configured default.
 * KRB5_KCM_NO_SERVER if the configured value is "-". */
krb5_error_code ccp_target_init(krb5_context ctx, struct ccp_target *t);

/* One request/reply over the process's connection: writes the KCM header for opcode, then
 * calls fn (twice: measure, write). Returns a transport error, or the inner KCM code (0 with
 * rep filled). rep is empty unless 0 is returned. */
krb5_error_code ccp_call(krb5_context ctx, const struct ccp_target *t, uint16_t opcode,
                         ccp_build_fn fn, const void *arg, struct ccp_reply *rep);
void ccp_reply_free(struct ccp_reply *rep);

/* Used by ccp_cap.c on the fresh, not yet bound connection. */
krb5_error_code ccp_conn_xfer(krb5_context ctx, int fd, const uint8_t *req, size_t reqlen,
                              struct ccp_reply *rep, bool *transport);
int ccp_timeout_ms(void);

/* Build-fn helpers. */
void ccp_build_name(struct util_wr *wr, const void *name); /* NUL-terminated cache name */

/* ---- ccp_cap.c ---- */
/* Bind the connection fd to the caller's login session: present the capability from the
 * session keyring, or obtain one first. Sets a krb5 error message on failure. */
krb5_error_code ccp_cap_bind(krb5_context ctx, int fd, const char *path, uint32_t *session);

/* ---- ccp_cache.c / ccp_coll.c ---- */
extern const struct ccp_cc_ops ccp_ops;

struct ccp_handle {
    char *residual; /* the cache name on the wire; immutable */
    struct ccp_target target;
    pthread_mutex_t lock; /* the ops' lock/unlock (krb5_cc_lock is not exported) */
};

krb5_error_code ccp_make_handle(krb5_context ctx, const char *residual, const struct ccp_target *t,
                                krb5_ccache *out);
static inline struct ccp_handle *ccp_handle_of(krb5_ccache cache)
{
    return ((struct ccp_ccache *)cache)->data;
}
/* Read a NUL-terminated name from a reply body. */
const char *ccp_rd_name(struct util_rd *rd);

krb5_error_code KRB5_CALLCONV ccp_ptcursor_new(krb5_context ctx, ccp_ptcursor_t *out);
krb5_error_code KRB5_CALLCONV ccp_ptcursor_next(krb5_context ctx, ccp_ptcursor_t cur,
                                                krb5_ccache *out);
krb5_error_code KRB5_CALLCONV ccp_ptcursor_free(krb5_context ctx, ccp_ptcursor_t *cur);
krb5_error_code KRB5_CALLCONV ccp_switch_to(krb5_context ctx, krb5_ccache cache);

/* ---- ccp_register.c ---- */
krb5_error_code ccp_register_once(char *why, size_t whylen);
struct profile_vtable;
/* The profile module entry point (profile.h's profile_module_init_fn); exported. */
long profile_module_init(const char *residual, struct profile_vtable *vt, void **cb_ret);

#endif
