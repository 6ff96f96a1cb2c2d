/* Names for the kernel's accept reply without GSSAPI name calls: in MIT each gss_display_name,
 * gss_export_name, gss_localname and gss_release_name makes and frees a krb5 context (krb5.conf
 * profile under a process-wide mutex), about a third of an nfsd accept's CPU. These helpers
 * compute the same bytes from the krb5 principal with one long-lived context per worker thread.
 * Worker threads only. */
#ifndef CACHET_GP_NAMES_H
#define CACHET_GP_NAMES_H

#include "proxy/gp_proc.h"
#include "proxy/gp_stamp.h"

/* This thread's krb5 context for names, made again when a krb5 configuration file changes (so
 * auth_to_local rules, localauth modules and the default realm follow krb5.conf as with a fresh
 * context); NULL if none can be made. */
krb5_context gp_names_k5(void);

/* The token gss_export_name makes for a krb5 mechanism name whose display form (the unparsed
 * principal, as MIT's krb5_gss_display_name gives it) is disp. */
int gp_names_export(TALLOC_CTX *m, const void *disp, size_t len, octet_string *out);

/* The token gss_export_name_composite makes for such a name when it carries no attributes
 * (MIT: no authdata context; only an acceptor's source name, a name imported from a composite
 * token or one given attributes has one): the 04 02 form with an attribute length of 0. */
int gp_names_export_composite(TALLOC_CTX *m, const void *disp, size_t len, octet_string *out);

/* A krb5 principal's gssx_name as the lucid reply carries it (display, type, exported; no
 * composite name), identical to what gss_display_name and gss_export_name give. */
int gp_names_princ_to_gssx(TALLOC_CTX *m, krb5_context k, krb5_const_principal p, gssx_name *x);

/* The ticket's server principal of a krb5 GSS initial context token (an AP-REQ), which MIT's
 * acceptor takes as the context's acceptor name; NULL if the token is not one. */
krb5_principal gp_names_ticket_server(krb5_context k, const gss_buffer_desc *token);

/* The local name of a krb5 mechanism name given by its display form, as gss_localname gives
 * it: krb5_aname_to_localname with this thread's names context. 0 and user filled; an error
 * (not mappable here: the caller asks GSSAPI, which also tries the name's attributes). */
int gp_names_localname(const void *disp, size_t len, char *user, size_t usersz);

/* IMPORT_AND_CANON_NAME of a GSS_KRB5_NT_PRINCIPAL_NAME for krb5 as gss_import_name,
 * gss_canonicalize_name and the name calls answer it: MIT's mech parses the text with
 * krb5_parse_name, an imported principal name has no attributes. With user, also its local
 * name as gss_localname gives it. 0 and x (and user) filled; an error: not possible here (the
 * caller asks GSSAPI, which also gives the errors). */
int gp_names_canon(TALLOC_CTX *m, const void *name, size_t len, gssx_name *x, char *user,
                   size_t usersz);

/* linux_creds_v1 for a source name (host-endian uid, gid, n, gids); disp: the display form and
 * type the reply already carries, or NULL (the name is asked for its local name through
 * GSSAPI). */
uint32_t gp_linux_creds_named(uint32_t *min, struct gp_call *gc, gss_name_t name,
                              gss_const_OID mech, const gssx_name *disp, octet_string *out);

/* The accept's context export (consumes *ctx), as gp_ctx_to_gssx. With the source name the
 * accept returned (src, not consumed), gss_inquire_context need not duplicate it: in MIT that
 * copies the name's authdata context (plugin directories, PAC) and frees it again. With the
 * AP-REQ of an accept that completed with krb5 (in; else NULL) the acceptor's name comes from
 * its ticket's server principal instead of GSSAPI name calls. */
uint32_t gp_ctx_to_gssx_accept(uint32_t *min, struct gp_call *gc, enum gp_ctx_export type,
                               gss_ctx_id_t *ctx, gss_name_t src, const gss_buffer_desc *in,
                               gssx_ctx *out);

#endif
