/* The procedures of GSS-Proxy, run in worker threads. Every helper here may block (GSSAPI, the
 * KDC, NSS); none may touch the event loop or any talloc tree but the call's own. */
#ifndef CACHET_GP_PROC_H
#define CACHET_GP_PROC_H

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5/krb5.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <talloc.h>

#include "proxy/gp_conf.h"
#include "src/proxy/gss_proxy.h" /* generated in the build tree */

/* Who is calling, captured by the loop at accept. */
struct gp_peer_id {
    uid_t uid;
    gid_t gid;
    pid_t pid;
};

/* One call being executed by a worker. */
struct gp_call {
    TALLOC_CTX *mem;             /* this call's results and temporaries (worker-owned tree) */
    const struct gp_conf *conf;  /* immutable while the call runs */
    const struct gp_svc *svc;
    struct gp_peer_id peer;
    krb5_context k5;             /* the worker thread's own */
    char *mem_ccache;            /* MEMORY ccache made for this call, destroyed after it */
    const char *proc_name;
    const uint8_t *kcm;          /* the peer's KCM default cache (gp_kcm.h), or NULL */
    bool has_target;             /* a trusted caller named another uid (UID name types) */
    bool export_by_value;        /* the cred being exported holds its tickets by value */
    bool name_attrs;             /* a name imported from an exported token: may carry attributes */
    uid_t target_uid;
    size_t kcm_len;
};

/* Execute a call (worker thread). args are the XDR arguments. Returns the whole reply record
 * (marker included) in secure memory (util_secmem_alloc), *out_len set; NULL: close. */
uint8_t *gp_proc_execute(struct gp_call *gc, uint32_t xid, uint32_t proc, const uint8_t *args,
                         size_t args_len, size_t *out_len);
const char *gp_proc_name(uint32_t proc);

/* ---- conversions (gp_conv.c) ---- */
#define GP_OPT_EXPORTED_CONTEXT_TYPE "exported_context_type"
#define GP_OPT_LINUX_LUCID_V1 "linux_lucid_v1"
#define GP_OPT_EXPORTED_CREDS_TYPE "exported_creds_type"
#define GP_OPT_LINUX_CREDS_V1 "linux_creds_v1"
#define GP_OPT_SYNC_MODIFIED_CREDS "sync_modified_creds"
#define GP_OPT_SYNC_CREDS "sync_creds"
#define GP_OPT_LOCALNAME "localname"
#define GP_OPT_ACQUIRE_TYPE "acquire_type"
#define GP_OPT_IMPERSONATE_NAME "impersonate_name"

enum gp_ctx_export { GP_EXPORT_DEFAULT = 0, GP_EXPORT_LUCID = 1, GP_EXPORT_INVALID = -1 };

int gp_buf_set(TALLOC_CTX *m, octet_string *b, const void *p, size_t n);
/* Copy into a secure buffer owned by m (session keys, exported contexts). */
int gp_buf_set_secret(TALLOC_CTX *m, octet_string *b, const void *p, size_t n);
void gp_buf_view(gss_buffer_desc *d, const octet_string *b);
int gp_oid_to_gssx(TALLOC_CTX *m, gss_const_OID oid, gssx_OID *x);
void gp_oid_view(gss_OID_desc *o, const gssx_OID *x);
bool gp_oid_is_krb5(const gssx_OID *x);
bool gp_gss_oid_is_krb5(gss_const_OID o);

/* Options: names and values match including the trailing NUL. */
const octet_string *gp_opt_find(const gssx_option *opts, u_int n, const char *name);
bool gp_opt_value_is(const octet_string *v, const char *s);
int gp_opt_add(TALLOC_CTX *m, gssx_option **opts, u_int *n, const char *name, const void *val,
               size_t vlen);

void gp_status_set(TALLOC_CTX *m, gssx_status *st, uint32_t maj, uint32_t min,
                   gss_const_OID mech);
/* "major text (major 0x..): minor text" for logs. */
char *gp_status_text(TALLOC_CTX *m, uint32_t maj, uint32_t min, gss_const_OID mech);
/* Credential usage between the protocol's and GSSAPI's enums. */
gss_cred_usage_t gp_usage_from_gssx(gssx_cred_usage u);
gssx_cred_usage gp_usage_to_gssx(gss_cred_usage_t u);
/* Imports the display form, else the exported one (then sets gc->name_attrs). */
uint32_t gp_name_from_gssx(uint32_t *min, struct gp_call *gc, const gssx_name *x, gss_name_t *out);
/* What is known of a name converted to gssx: in MIT each GSSAPI name call makes a krb5 context,
 * so only the display form is asked for where the others follow from it. */
enum gp_name_form {
    GP_NAME_ANY,     /* any name: every form through GSSAPI */
    GP_NAME_MN,      /* a krb5 mechanism name: the exported form made from the display form */
    GP_NAME_MN_PLAIN /* one without attributes (no authdata context): the composite form too */
};
uint32_t gp_name_to_gssx(uint32_t *min, TALLOC_CTX *m, gss_name_t n, enum gp_name_form form,
                         gssx_name *x);
/* Export a context (consumes *ctx) into out. */
uint32_t gp_ctx_to_gssx(uint32_t *min, struct gp_call *gc, enum gp_ctx_export type,
                        gss_ctx_id_t *ctx, gssx_ctx *out);
uint32_t gp_ctx_from_gssx(uint32_t *min, const gssx_ctx *in, gss_ctx_id_t *out);
enum gp_ctx_export gp_export_type(const gssx_call_ctx *cc);
void gp_cb_view(gss_channel_bindings_t cb, const gssx_cb *x);
/* Wipe secrets inside decoded arguments before they are freed. */
void gp_wipe_ctx(gssx_ctx *c);
void gp_wipe_cred(gssx_cred *c);

/* ---- credentials (gp_creds.c; release, is_cached, linux_creds: gp_creds_cache.c) ---- */
uint32_t gp_cred_export(uint32_t *min, struct gp_call *gc, gss_cred_id_t *cred,
                        gssx_cred *out);
/* The same, allocated on mem instead of the call's tree (a cache's own context), with cred's
 * gss_export_cred token made by the caller. */
uint32_t gp_cred_export_into(uint32_t *min, struct gp_call *gc, TALLOC_CTX *mem,
                             gss_cred_id_t *cred, const gss_buffer_desc *tok, gssx_cred *out);
/* The same with cred's gss_export_cred token already made by the caller. */
uint32_t gp_cred_export_token(uint32_t *min, struct gp_call *gc, gss_cred_id_t *cred,
                              const gss_buffer_desc *tok, gssx_cred *out);
/* A handle that does not decrypt is "no cred": GSS_S_COMPLETE with *out = NO_CREDENTIAL. */
uint32_t gp_cred_import(uint32_t *min, struct gp_call *gc, const gssx_cred *in,
                        gss_cred_id_t *out);
/* The same, also handing back the handle's content (cred's gss_export_cred token as it was
 * sealed, in secure memory owned by gc->mem; NULL if there was none). */
uint32_t gp_cred_import_token(uint32_t *min, struct gp_call *gc, const gssx_cred *in,
                              gss_cred_id_t *out, struct util_secbuf **tok);
/* The handle decrypts under this service's key (sealed by this service). */
bool gp_cred_handle_unseals(struct gp_call *gc, const gssx_cred *in);
uint32_t gp_cred_acquire(uint32_t *min, struct gp_call *gc, gss_cred_usage_t usage,
                         gss_name_t desired, gss_cred_id_t *out);
/* impersonate = yes (gp_impersonate.c): the user of uid, from the service's own credential in
 * store (krb5_principal or the keytab's first entry) by s4u2self, presented to the service
 * itself so that the result can also do s4u2proxy. */
uint32_t gp_cred_impersonate_uid(uint32_t *min, struct gp_call *gc,
                                 gss_const_key_value_set_t store, uid_t uid,
                                 gss_cred_usage_t usage, gss_cred_id_t *out);
/* Release a cred unless it is this thread's cached acceptor cred. */
void gp_cred_release(gss_cred_id_t *cred);
bool gp_cred_is_cached(gss_cred_id_t cred);
/* A trusted service (peer uid == euid) may name the user it acts for with a
 * GSS_C_NT_STRING_UID_NAME or GSS_C_NT_MACHINE_UID_NAME desired name: sets gc->target_uid and
 * returns true (the name is then not used as a principal). */
bool gp_cred_target_uid(struct gp_call *gc, const gssx_name *name);
/* Usable: krb5 element, right usage, lifetime >= min_lifetime. */
bool gp_cred_usable(struct gp_call *gc, gss_cred_id_t cred, gss_cred_usage_t usage);
/* What is known of a handle sealed by this configuration load without decrypting it: its
 * cred's usage excludes usage, or (tickets by value) it is usable for initiation as
 * gp_cred_usable would find it; else unknown (remembered at export). */
enum gp_memo_verdict { GP_MEMO_UNKNOWN, GP_MEMO_EXCLUDED, GP_MEMO_USABLE };
enum gp_memo_verdict gp_cred_memo_verdict(const struct gp_call *gc, const gssx_cred *handle,
                                          gss_cred_usage_t usage);
/* Note a handle given out again (a cached acceptor cred's), so that the memo keeps it. */
void gp_cred_memo_note(const struct gp_call *gc, const gssx_cred *handle);
/* The same; *wrong_usage tells that the cred's usage (fixed when it was made) excludes it. */
bool gp_cred_usable_why(struct gp_call *gc, gss_cred_id_t cred, gss_cred_usage_t usage,
                        bool *wrong_usage);
void gp_call_cleanup(struct gp_call *gc);

/* ---- this worker thread's acceptor credential cache (gp_creds_cache.c) ---- */
struct gp_accept_cache;
/* NULL if out of memory: no caching. */
struct gp_accept_cache *gp_accept_cache(void);
/* A cached acceptor cred for this call's service, uid and self, or GSS_C_NO_CREDENTIAL. */
gss_cred_id_t gp_accept_cache_get(struct gp_accept_cache *c, const struct gp_call *gc, uid_t uid,
                                  bool self);
/* Keep cred (acquired from keytab, or the default one when NULL); the cache then owns it. */
void gp_accept_cache_put(struct gp_accept_cache *c, const struct gp_call *gc, uid_t uid,
                         bool self, const char *keytab, gss_cred_id_t cred);
/* For a handle holding tok, the gss_export_cred token of this thread's cached acceptor cred
 * for this call's service: that token imported, once per slot and kept with it (released with
 * the slot; gp_cred_release keeps it); else GSS_C_NO_CREDENTIAL (import it). */
gss_cred_id_t gp_accept_cache_by_token(const struct gp_call *gc, const void *tok, size_t len);
/* The sealed handle of this thread's cached acceptor cred, made on first use and then given
 * out again (it lives as long as the cached cred); NULL (with *maj, *min) if it cannot be
 * made. */
gssx_cred *gp_accept_cache_handle(struct gp_call *gc, gss_cred_id_t cred, uint32_t *maj,
                                  uint32_t *min);


/* ---- procedures ---- */
typedef int (*gp_proc_fn)(struct gp_call *gc, void *arg, void *res);
int gp_proc_indicate_mechs(struct gp_call *gc, void *arg, void *res);
int gp_proc_get_call_context(struct gp_call *gc, void *arg, void *res);
int gp_proc_import_and_canon_name(struct gp_call *gc, void *arg, void *res);
int gp_proc_export_cred(struct gp_call *gc, void *arg, void *res);
int gp_proc_import_cred(struct gp_call *gc, void *arg, void *res);
int gp_proc_acquire_cred(struct gp_call *gc, void *arg, void *res);
int gp_proc_store_cred(struct gp_call *gc, void *arg, void *res);
int gp_proc_init_sec_context(struct gp_call *gc, void *arg, void *res);
int gp_proc_accept_sec_context(struct gp_call *gc, void *arg, void *res);
int gp_proc_release_handle(struct gp_call *gc, void *arg, void *res);
int gp_proc_get_mic(struct gp_call *gc, void *arg, void *res);
int gp_proc_verify(struct gp_call *gc, void *arg, void *res);
int gp_proc_wrap(struct gp_call *gc, void *arg, void *res);
int gp_proc_unwrap(struct gp_call *gc, void *arg, void *res);
int gp_proc_wrap_size_limit(struct gp_call *gc, void *arg, void *res);

#endif
