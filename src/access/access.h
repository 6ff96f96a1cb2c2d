/* The one access policy: may this peer do this to this cache? Every KCM handler reaches the
 * store only through access_check(), called by the dispatcher from the op table. Decisions use
 * only the identity the kernel gave at accept (struct util_peer) and the session registry;
 * nothing from the payload but the cache name being asked for. */
#ifndef CACHET_ACCESS_H
#define CACHET_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util_peer.h"
#include "store/store.h"

enum access_class {
    ACCESS_COLLECTION, /* no cache name: lists, default cache, GEN_NEW */
    ACCESS_READ,       /* read one named cache */
    ACCESS_WRITE,      /* modify or create one named cache */
    ACCESS_SESSION_BIND, /* ask for or present a session capability: open to every peer, as
                          * the capability itself is the check (access_grant_session, token) */
};

enum access_result {
    ACCESS_ALLOW = 0,
    ACCESS_DENY_NAME,        /* the name is outside the peer's namespace */
    ACCESS_DENY_UNSESSIONED, /* session scope, no audit session, unsessioned_peers = deny */
};

enum access_scope {
    ACCESS_SCOPE_USER = 0,
    ACCESS_SCOPE_SESSION = 1,
};

enum access_unsessioned {
    ACCESS_UNSESSIONED_DENY = 0, /* refused with KRB5_FCC_PERM, logged once per connection */
    ACCESS_UNSESSIONED_USER = 1, /* the uid's session-less collection (session key 0) */
};

/* How a peer is treated, derived from its kernel identity and the policy. */
enum access_kind {
    ACCESS_KIND_USER = 0,     /* user scope: one collection per uid */
    ACCESS_KIND_SESSION,      /* its own (uid, audit session, boot) collection */
    ACCESS_KIND_UNSESSIONED,  /* no audit session, allowed: (uid, 0) */
    ACCESS_KIND_DENIED,       /* no audit session, refused */
    ACCESS_KIND_HELPER,       /* trusted helper: the uid's most recently used session */
    ACCESS_KIND_USER_MANAGER, /* systemd --user and its services, user_manager = allow: as helper */
};

#define ACCESS_MAX_HELPERS 16
#define ACCESS_BOOT_ID_LEN 16
/* The collection key of the session-less collection of a uid (audit ids start at 1). */
#define ACCESS_NO_SESSION 0u

struct access_registry;

struct access_policy {
    enum access_scope scope;
    enum access_unsessioned unsessioned;
    bool user_manager_allow;
    size_t nhelpers;
    char helpers[ACCESS_MAX_HELPERS][UTIL_PEER_EXE_MAX]; /* absolute exe paths */
    uint8_t boot_id[ACCESS_BOOT_ID_LEN];                  /* binds session collections */
    struct access_registry *reg; /* sessions (logind) and most-recent use; may be NULL */
};

/* Fill the helper list from a space-separated string of absolute paths. Returns 0, or -1 with
 * err filled (relative path, too long, too many). */
int access_policy_set_helpers(struct access_policy *pol, const char *list, char *err,
                              size_t errlen);
/* Read a boot id (a UUID, with or without dashes; any other content is hashed) from path.
 * Returns 0 or an errno. */
int access_read_boot_id(const char *path, uint8_t out[ACCESS_BOOT_ID_LEN]);

enum access_kind access_kind_of(const struct access_policy *pol, const struct util_peer *peer);
const char *access_kind_str(enum access_kind k);

/* Which collection the peer's requests go to. In session scope this also records the session
 * as its uid's most recently used one (what trusted helpers see). */
void access_owner_of(const struct access_policy *pol, const struct util_peer *peer,
                     struct store_owner_key *key);
/* name may be NULL for ACCESS_COLLECTION. A denial is logged once per connection and reason. */
enum access_result access_check(const struct access_policy *pol, const struct util_peer *peer,
                                enum access_class cls, const char *name);
/* Wipe and forget collections: those of audit session `session` in this boot (any uid, or
 * only uid when uid >= 0), or with session == ACCESS_NO_SESSION every collection of uid.
 * Logout, leader exit and cachetctl purge come here. Returns the number of caches removed. */
size_t access_wipe(const struct access_policy *pol, struct store *st, int64_t uid,
                   uint32_t session);
/* ---- logind sessions where the kernel gives no audit session (access.c) ----
 *
 * logind names a session after its audit session id when there is one ("3"), else "c<N>".
 * Collections and capabilities are keyed by a u32: a numeric id keys as itself (the audit
 * id), "c<N>" as ACCESS_LOGIND_KEY_BASE + N. Audit ids count up from 1 per boot, so the two
 * ranges meet only after 2^31 logins in one boot. */
#define ACCESS_LOGIND_KEY_BASE 0x80000000u
#define ACCESS_LOGIND_ID_MAX 64

/* The session key of logind session id, or ACCESS_NO_SESSION if the id has neither form. */
uint32_t access_logind_key(const char *logind_id);
/* The logind session a process is in, from its cgroup path as systemd lays it out: slices
 * only ("*.slice", one of them "user-<uid>.slice"), then "session-<ID>.scope" as the first
 * unit. A process in a unit of the user's own manager (user@UID.service/...) is in no session,
 * whatever it names its sub-cgroups. Returns 0 with id filled, or -1. */
int access_cgroup_logind_session(const char *cgroup, uid_t uid, char *id, size_t idlen);
/* The session a peer may be granted a session capability for: its audit session; else, when
 * logind is connected, the logind session its cgroup puts it in, provided logind lists that
 * session for the peer's uid. Returns the session key, or ACCESS_NO_SESSION with *why set to a
 * reason for the log. */
uint32_t access_grant_session(const struct access_policy *pol, struct util_peer *peer,
                              const char **why);

/* Prefix for generated names ("<uid>"). */
void access_name_prefix(const struct util_peer *peer, char *buf, size_t len);
const char *access_result_str(enum access_result r);

/* ---- session registry (access_reg.c): what logind told us, and most recent use ---- */

struct access_login {
    struct access_login *next;
    char *id;            /* logind session id */
    uint32_t uid;
    uint32_t audit;      /* the session key: the kernel audit session id; if logind had none,
                          * access_logind_key(id); ACCESS_NO_SESSION if neither */
    int32_t leader;      /* pid, 0 if unknown */
    bool props_known;    /* Audit/Leader/User were read */
};

struct access_registry *access_registry_new(void *talloc_ctx);
/* Most recent use of a session collection by uid. */
void access_registry_touch(struct access_registry *reg, uint32_t uid, uint32_t session);
bool access_registry_mru(const struct access_registry *reg, uint32_t uid, uint32_t *session);
/* Forget a session everywhere (after it was wiped). */
void access_registry_forget_session(struct access_registry *reg, uint32_t audit);

struct access_login *access_registry_login_add(struct access_registry *reg, const char *id);
struct access_login *access_registry_login_find(struct access_registry *reg, const char *id);
void access_registry_login_remove(struct access_registry *reg, struct access_login *l);
/* Is audit the audit id of a logind login session we know of? */
bool access_registry_is_login_audit(const struct access_registry *reg, uint32_t audit);
struct access_login *access_registry_logins(struct access_registry *reg);
size_t access_registry_nlogins(const struct access_registry *reg);
/* Whether logind is currently connected (for status). */
void access_registry_set_bus_state(struct access_registry *reg, bool connected);
bool access_registry_bus_connected(const struct access_registry *reg);

#endif
