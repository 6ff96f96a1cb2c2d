/* Initiator tickets that a service obtained with its client keytab, kept in secure memory from
 * one GSS-Proxy call to the next (gp_tkt_cache.c). */
#ifndef CACHET_GP_TKT_CACHE_H
#define CACHET_GP_TKT_CACHE_H

#include <gssapi/gssapi.h>
#include <krb5/krb5.h>
#include <stdbool.h>
#include <sys/types.h>

struct gp_call;

/* What a call's private ccache is for: the user acted for, whether the service acts as itself
 * (krb5_principal applies) and the client keytab the tickets come from. */
struct gp_tkt_key {
    uid_t target;
    bool self;
    const char *client_keytab;
};

/* gssproxy_keep_tickets (cachet.conf); on by default. Off also forgets what is kept. */
void gp_tkt_cache_enable(bool on);
bool gp_tkt_cache_enabled(void);
/* Initialize cc (the call's new private MEMORY ccache) with what is kept for this call, minus
 * expired tickets. Returns the number of credentials stored (0: nothing kept). */
int gp_tkt_seed(struct gp_call *gc, const struct gp_tkt_key *k, krb5_ccache cc);
/* Keep what cc holds after a successful acquisition, replacing what was kept for the key. */
void gp_tkt_keep_ccache(struct gp_call *gc, const struct gp_tkt_key *k, krb5_ccache cc);
/* After INIT_SEC_CONTEXT: what cred holds now (a service ticket it just obtained) replaces
 * what is kept for the same service, peer and client principal, if anything is. */
void gp_tkt_keep_cred(struct gp_call *gc, gss_cred_id_t cred);
/* Forget everything (shutdown, tests). */
void gp_tkt_cache_clear(void);
/* Number of entries kept (tests). */
unsigned gp_tkt_cache_count(void);

#endif
