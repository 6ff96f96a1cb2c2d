/* MIT krb5's private credential-cache ABI, declared by hand.
 *
 * MIT has no ccache plugin interface: krb5_cc_register() is exported from libkrb5.so.3 but
 * declared only in the uninstalled k5-int.h, and struct _krb5_cc_ops, struct _krb5_ccache and
 * struct krb5_cc_ptcursor_s live in the uninstalled src/lib/krb5/ccache/cc-int.h. The layout
 * below is the one of MIT 1.20, 1.21 and 1.22 (identical in all three; checked against the
 * krb5-1.20.1-final, krb5-1.21.3-final and krb5-1.22.2-final tags). It has no version field:
 * 1.18 replaced `lastchange` and 1.20 turned `move` into `replace` with another signature, so
 * the same table in another release would be called with the wrong arguments. configure
 * refuses other releases at build time and ccp_version.c refuses them at run time before
 * krb5_cc_register() is ever called.
 * See ../shared/spec/ccache-profile-module.md §1 and platform-notes.md §1.1. */
#ifndef CACHET_CCP_ABI_H
#define CACHET_CCP_ABI_H

#include <krb5.h>

struct ccp_cc_ops;

/* struct _krb5_ccache (cc-int.h): what a krb5_ccache handle points to. */
struct ccp_ccache {
    krb5_magic magic;
    const struct ccp_cc_ops *ops;
    krb5_pointer data;
};

/* struct krb5_cc_ptcursor_s (cc-int.h): the per-type collection cursor. */
struct ccp_ptcursor {
    const struct ccp_cc_ops *ops;
    krb5_pointer data;
};
typedef struct ccp_ptcursor *ccp_ptcursor_t;

/* struct _krb5_cc_ops, MIT 1.20-1.22, member for member. Every member after prefix is a
 * KRB5_CALLCONV function pointer; MIT calls get_name .. get_flags and lock/unlock without a
 * NULL check. */
struct ccp_cc_ops {
    krb5_magic magic;
    char *prefix;
    const char *(KRB5_CALLCONV *get_name)(krb5_context, krb5_ccache);
    krb5_error_code(KRB5_CALLCONV *resolve)(krb5_context, krb5_ccache *, const char *);
    krb5_error_code(KRB5_CALLCONV *gen_new)(krb5_context, krb5_ccache *);
    krb5_error_code(KRB5_CALLCONV *init)(krb5_context, krb5_ccache, krb5_principal);
    krb5_error_code(KRB5_CALLCONV *destroy)(krb5_context, krb5_ccache);
    krb5_error_code(KRB5_CALLCONV *close)(krb5_context, krb5_ccache);
    krb5_error_code(KRB5_CALLCONV *store)(krb5_context, krb5_ccache, krb5_creds *);
    krb5_error_code(KRB5_CALLCONV *retrieve)(krb5_context, krb5_ccache, krb5_flags, krb5_creds *,
                                             krb5_creds *);
    krb5_error_code(KRB5_CALLCONV *get_princ)(krb5_context, krb5_ccache, krb5_principal *);
    krb5_error_code(KRB5_CALLCONV *get_first)(krb5_context, krb5_ccache, krb5_cc_cursor *);
    krb5_error_code(KRB5_CALLCONV *get_next)(krb5_context, krb5_ccache, krb5_cc_cursor *,
                                             krb5_creds *);
    krb5_error_code(KRB5_CALLCONV *end_get)(krb5_context, krb5_ccache, krb5_cc_cursor *);
    krb5_error_code(KRB5_CALLCONV *remove_cred)(krb5_context, krb5_ccache, krb5_flags,
                                                krb5_creds *);
    krb5_error_code(KRB5_CALLCONV *set_flags)(krb5_context, krb5_ccache, krb5_flags);
    krb5_error_code(KRB5_CALLCONV *get_flags)(krb5_context, krb5_ccache, krb5_flags *);
    krb5_error_code(KRB5_CALLCONV *ptcursor_new)(krb5_context, ccp_ptcursor_t *);
    krb5_error_code(KRB5_CALLCONV *ptcursor_next)(krb5_context, ccp_ptcursor_t, krb5_ccache *);
    krb5_error_code(KRB5_CALLCONV *ptcursor_free)(krb5_context, ccp_ptcursor_t *);
    krb5_error_code(KRB5_CALLCONV *replace)(krb5_context, krb5_ccache, krb5_principal,
                                            krb5_creds **);
    krb5_error_code(KRB5_CALLCONV *wasdefault)(krb5_context, krb5_ccache, krb5_timestamp *);
    krb5_error_code(KRB5_CALLCONV *lock)(krb5_context, krb5_ccache);
    krb5_error_code(KRB5_CALLCONV *unlock)(krb5_context, krb5_ccache);
    krb5_error_code(KRB5_CALLCONV *switch_to)(krb5_context, krb5_ccache);
};

/* Exported from libkrb5.so.3 (libkrb5.exports), declared in k5-int.h only. The registry is
 * process-global and prepend-only; the context argument is unused. */
krb5_error_code KRB5_CALLCONV krb5_cc_register(krb5_context context, const struct ccp_cc_ops *ops,
                                               krb5_boolean override);

/* Exported, declared in k5-int.h only: the enctypes a TGS request would ask for (what MIT's
 * own KCM client checks a retrieved cred against under KRB5_TC_SUPPORTED_KTYPES). The list is
 * zero-terminated and freed with free(). */
krb5_error_code krb5_get_tgs_ktypes(krb5_context context, krb5_const_principal princ,
                                    krb5_enctype **ktypes);

/* Exported, declared in k5-int.h only: MIT's KCM client copies a cache's KDC time offset into
 * the context this way (cc_kcm.c get_kdc_offset) and so do we. */
krb5_error_code krb5_set_time_offsets(krb5_context context, krb5_timestamp seconds,
                                      krb5_int32 microseconds);

/* The built-in FILE and MEMORY tables, exported data (libkrb5.exports): the run-time layout
 * check reads their size and shape. */
extern const struct ccp_cc_ops krb5_fcc_ops;
extern const struct ccp_cc_ops krb5_mcc_ops;

#endif
