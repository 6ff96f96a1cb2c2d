/* The access policy; see access.h and docs/security.md (the threat model). */
#include "config.h"
#include "access/access.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/util_log.h"

/* The systemd binary, as systemd --user runs it (Debian and Fedora paths). */
static const char *const systemd_paths[] = { "/usr/lib/systemd/systemd", "/lib/systemd/systemd",
                                             NULL };

int access_policy_set_helpers(struct access_policy *pol, const char *list, char *err,
                              size_t errlen)
{
    const char *p = list;
    size_t n = 0;

    while (*p != '\0') {
        size_t len;
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        len = strcspn(p, " \t,");
        if (len == 0) {
            break;
        }
        if (*p != '/') {
            snprintf(err, errlen, "trusted_helpers: '%.*s' is not an absolute path", (int)len, p);
            return -1;
        }
        if (len >= UTIL_PEER_EXE_MAX) {
            snprintf(err, errlen, "trusted_helpers: a path is longer than %d bytes",
                     UTIL_PEER_EXE_MAX - 1);
            return -1;
        }
        if (n == ACCESS_MAX_HELPERS) {
            snprintf(err, errlen, "trusted_helpers: more than %d paths", ACCESS_MAX_HELPERS);
            return -1;
        }
        memcpy(pol->helpers[n], p, len);
        pol->helpers[n][len] = '\0';
        n++;
        p += len;
    }
    pol->nhelpers = n;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int access_read_boot_id(const char *path, uint8_t out[ACCESS_BOOT_ID_LEN])
{
    char buf[256];
    ssize_t n;
    size_t nib = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return errno;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) {
        return n < 0 ? errno : EINVAL;
    }
    buf[n] = '\0';
    memset(out, 0, ACCESS_BOOT_ID_LEN);
    for (ssize_t i = 0; i < n && nib <= 2 * ACCESS_BOOT_ID_LEN; i++) {
        int v = hexval(buf[i]);
        if (v >= 0) {
            if (nib < 2 * ACCESS_BOOT_ID_LEN) {
                out[nib / 2] |= (uint8_t)(nib % 2 == 0 ? v << 4 : v);
            }
            nib++;
        } else if (buf[i] != '-' && buf[i] != '\n' && buf[i] != ' ') {
            nib = 2 * ACCESS_BOOT_ID_LEN + 1; /* not a UUID */
        }
    }
    if (nib != 2 * ACCESS_BOOT_ID_LEN) {
        /* Any other content (a test's "boot-2"): FNV-1a over the bytes, spread over 16. */
        uint64_t h1 = 0xcbf29ce484222325ull;
        uint64_t h2 = 0x84222325cbf29ce4ull;
        for (ssize_t i = 0; i < n; i++) {
            h1 = (h1 ^ (uint8_t)buf[i]) * 0x100000001b3ull;
            h2 = (h2 ^ (uint8_t)buf[i]) * 0x100000001b3ull;
        }
        memcpy(out, &h1, 8);
        memcpy(out + 8, &h2, 8);
    }
    return 0;
}

static bool is_helper(const struct access_policy *pol, const struct util_peer *peer)
{
    if (peer->exe[0] == '\0') {
        return false;
    }
    for (size_t i = 0; i < pol->nhelpers; i++) {
        if (strcmp(peer->exe, pol->helpers[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* systemd --user itself (uid != 0), or a process in its user@<uid>.service cgroup, which a
 * login session cannot forge its way into except by asking the user manager itself
 * (systemd-run --user --scope): such a process keeps its login's audit session, which logind
 * told us about, so it stays in that login. */
static bool is_user_manager(const struct access_policy *pol, const struct util_peer *peer)
{
    char unit[64];
    const char *cg = peer->cgroup;
    bool manager = false;

    if (peer->uid == 0) {
        return false;
    }
    for (size_t i = 0; systemd_paths[i] != NULL; i++) {
        manager = manager || strcmp(peer->exe, systemd_paths[i]) == 0;
    }
    snprintf(unit, sizeof(unit), "/user@%u.service", (unsigned)peer->uid);
    if (!manager && cg[0] != '\0') {
        const char *at = strstr(cg, unit);
        manager = at != NULL && (at[strlen(unit)] == '\0' || at[strlen(unit)] == '/');
    }
    if (!manager) {
        return false;
    }
    return pol->reg == NULL || !access_registry_is_login_audit(pol->reg, peer->audit_session);
}

enum access_kind access_kind_of(const struct access_policy *pol, const struct util_peer *peer)
{
    if (pol->scope == ACCESS_SCOPE_USER) {
        return ACCESS_KIND_USER;
    }
    /* The connection's own record (kcm_srv owns it): its /proc facts are filled on first use. */
    util_peer_details((struct util_peer *)peer);
    /* A helper inside someone's login is just that login: only a helper started outside any
     * login (by init, loginuid unset) gets the cross-session view. */
    if (peer->audit_session == UTIL_NO_AUDIT_SESSION && is_helper(pol, peer)) {
        return ACCESS_KIND_HELPER;
    }
    if (pol->user_manager_allow && peer->audit_session != UTIL_NO_AUDIT_SESSION &&
        is_user_manager(pol, peer)) {
        return ACCESS_KIND_USER_MANAGER;
    }
    if (peer->audit_session != UTIL_NO_AUDIT_SESSION) {
        return ACCESS_KIND_SESSION;
    }
    return pol->unsessioned == ACCESS_UNSESSIONED_USER ? ACCESS_KIND_UNSESSIONED
                                                      : ACCESS_KIND_DENIED;
}

const char *access_kind_str(enum access_kind k)
{
    switch (k) {
    case ACCESS_KIND_USER:
        return "user";
    case ACCESS_KIND_SESSION:
        return "session";
    case ACCESS_KIND_UNSESSIONED:
        return "unsessioned";
    case ACCESS_KIND_DENIED:
        return "denied";
    case ACCESS_KIND_HELPER:
        return "trusted helper";
    case ACCESS_KIND_USER_MANAGER:
        return "user manager";
    }
    return "?";
}

void access_owner_of(const struct access_policy *pol, const struct util_peer *peer,
                     struct store_owner_key *key)
{
    uint32_t s = ACCESS_NO_SESSION;

    memset(key, 0, sizeof(*key));
    key->uid = (uint32_t)peer->uid;
    switch (access_kind_of(pol, peer)) {
    case ACCESS_KIND_USER:
    case ACCESS_KIND_UNSESSIONED:
    case ACCESS_KIND_DENIED: /* access_check refuses every request anyway */
        return;
    case ACCESS_KIND_SESSION:
        key->session = peer->audit_session;
        if (pol->reg != NULL) {
            access_registry_touch(pol->reg, key->uid, key->session);
        }
        break;
    case ACCESS_KIND_HELPER:
    case ACCESS_KIND_USER_MANAGER:
        /* The uid's most recently used session; without one, the session-less collection. */
        if (pol->reg == NULL || !access_registry_mru(pol->reg, key->uid, &s)) {
            return;
        }
        key->session = s;
        break;
    }
    memcpy(key->boot_id, pol->boot_id, sizeof(key->boot_id));
}

void access_name_prefix(const struct util_peer *peer, char *buf, size_t len)
{
    snprintf(buf, len, "%u", (unsigned)peer->uid);
}

/* Non-root peers may only name "<uid>" or "<uid>:...", as MIT documents and Heimdal enforces
 * (sssd's plain prefix check would let uid 100 name "1000"). Root's names are free: its
 * collection is its own either way. */
static bool name_in_namespace(const struct util_peer *peer, const char *name)
{
    uint64_t v = 0;
    size_t i = 0;

    if (peer->uid == 0) {
        return true;
    }
    /* The decimal uid, without leading zeros, then the end or ':' (no snprintf per request). */
    if (name[0] == '0') {
        return false;
    }
    while (name[i] >= '0' && name[i] <= '9' && i < 10) {
        v = v * 10 + (uint64_t)(name[i] - '0');
        i++;
    }
    return i > 0 && v == (uint64_t)peer->uid && (name[i] == '\0' || name[i] == ':');
}

/* One log line per connection and reason: the connection's peer record carries the bits
 * (its only field written after accept; kcm_srv owns the record, so the cast is sound). */
static void log_denial(const struct util_peer *peer, enum access_result r, const char *name)
{
    struct util_peer *mut = (struct util_peer *)peer;
    uint32_t bit = 1u << (unsigned)r;

    if (peer->access_logged & bit) {
        return;
    }
    mut->access_logged |= bit;
    util_peer_details(mut); /* the exe, for the log line */
    if (r == ACCESS_DENY_UNSESSIONED) {
        util_log(UTIL_LOG_WARNING,
                 "denied pid %d (%s) of uid %u: no audit session (loginuid unset) and "
                 "unsessioned_peers = deny; further denials on this connection are not logged",
                 (int)peer->pid, peer->exe[0] != '\0' ? peer->exe : "exe unknown",
                 (unsigned)peer->uid);
    } else {
        util_log(UTIL_LOG_INFO,
                 "denied pid %d (%s) of uid %u access to '%s': %s; further denials on this "
                 "connection are not logged", (int)peer->pid,
                 peer->exe[0] != '\0' ? peer->exe : "exe unknown", (unsigned)peer->uid,
                 name != NULL ? name : "", access_result_str(r));
    }
}

enum access_result access_check(const struct access_policy *pol, const struct util_peer *peer,
                                enum access_class cls, const char *name)
{
    enum access_result r = ACCESS_ALLOW;

    if (cls == ACCESS_SESSION_BIND) {
        return ACCESS_ALLOW;
    }
    if (access_kind_of(pol, peer) == ACCESS_KIND_DENIED) {
        r = ACCESS_DENY_UNSESSIONED;
    } else if (cls != ACCESS_COLLECTION && (name == NULL || !name_in_namespace(peer, name))) {
        r = ACCESS_DENY_NAME;
    }
    if (r != ACCESS_ALLOW) {
        log_denial(peer, r, name);
    }
    return r;
}

const char *access_result_str(enum access_result r)
{
    switch (r) {
    case ACCESS_ALLOW:
        return "allowed";
    case ACCESS_DENY_NAME:
        return "cache name outside the peer's namespace";
    case ACCESS_DENY_UNSESSIONED:
        return "no audit session (unsessioned_peers = deny)";
    }
    return "?";
}

struct wipe_arg {
    struct store *st;
    const struct access_policy *pol;
    uint32_t session;
    int64_t uid; /* -1: any */
    size_t caches;
    size_t owners;
};

static bool wipe_match(const struct store_owner_key *key, void *arg)
{
    const struct wipe_arg *wa = arg;

    if (wa->uid >= 0 && key->uid != (uint32_t)wa->uid) {
        return false;
    }
    return wa->session == ACCESS_NO_SESSION ||
           (key->session == wa->session &&
            memcmp(key->boot_id, wa->pol->boot_id, ACCESS_BOOT_ID_LEN) == 0);
}

static bool wipe_owner(struct store_owner *o, void *arg)
{
    struct wipe_arg *wa = arg;
    size_t n = o->ncaches;

    if (store_owner_remove(wa->st, o) == STORE_OK) {
        wa->caches += n;
        wa->owners++;
    }
    return true;
}

size_t access_wipe(const struct access_policy *pol, struct store *st, int64_t uid,
                   uint32_t session)
{
    struct wipe_arg wa = { st, pol, session, uid, 0, 0 };

    if (uid < 0 && session == ACCESS_NO_SESSION) {
        return 0; /* "everything" is not a wipe this function does */
    }
    store_foreach_owner_matching(st, wipe_match, wipe_owner, &wa);
    if (session != ACCESS_NO_SESSION && pol->reg != NULL) {
        access_registry_forget_session(pol->reg, session);
    }
    return wa.caches;
}

/* ---- logind sessions without an audit session ---- */

/* Digits only, no leading zero, below limit. Returns the value, or -1. */
static int64_t parse_count(const char *p, uint64_t limit)
{
    uint64_t n = 0;

    if (*p == '\0' || (*p == '0' && p[1] != '\0')) {
        return -1;
    }
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }
        n = n * 10 + (uint64_t)(*p - '0');
        if (n >= limit) {
            return -1;
        }
    }
    return (int64_t)n;
}

uint32_t access_logind_key(const char *logind_id)
{
    int64_t n;

    if (logind_id[0] == 'c') {
        n = parse_count(logind_id + 1, 0x7fffffffu);
        return n < 0 ? ACCESS_NO_SESSION : ACCESS_LOGIND_KEY_BASE + (uint32_t)n;
    }
    n = parse_count(logind_id, UTIL_NO_AUDIT_SESSION);
    return n <= 0 ? ACCESS_NO_SESSION : (uint32_t)n;
}

static bool ends_with(const char *p, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);

    return len > n && memcmp(p + len - n, suffix, n) == 0;
}

int access_cgroup_logind_session(const char *cgroup, uid_t uid, char *id, size_t idlen)
{
    char user_slice[32];
    bool after_user_slice = false;
    const char *p = cgroup;

    snprintf(user_slice, sizeof(user_slice), "user-%u.slice", (unsigned)uid);
    while (*p == '/') {
        size_t len = strcspn(++p, "/");

        if (len == 0) {
            return -1;
        }
        if (ends_with(p, len, ".slice")) {
            after_user_slice = len == strlen(user_slice) && memcmp(p, user_slice, len) == 0;
            p += len;
            continue;
        }
        /* The first unit: it must be a session scope right under the uid's slice. */
        if (!after_user_slice || len <= strlen("session-.scope") ||
            memcmp(p, "session-", 8) != 0 || !ends_with(p, len, ".scope")) {
            return -1;
        }
        len -= strlen("session-.scope");
        if (len >= idlen) {
            return -1;
        }
        for (size_t i = 0; i < len; i++) {
            char c = p[8 + i];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
                return -1;
            }
        }
        memcpy(id, p + 8, len);
        id[len] = '\0';
        return 0;
    }
    return -1;
}

uint32_t access_grant_session(const struct access_policy *pol, struct util_peer *peer,
                              const char **why)
{
    char id[ACCESS_LOGIND_ID_MAX];
    struct access_login *l;

    util_peer_details(peer);
    if (peer->audit_session != UTIL_NO_AUDIT_SESSION) {
        return peer->audit_session;
    }
    if (pol == NULL || pol->reg == NULL || !access_registry_bus_connected(pol->reg)) {
        *why = "no audit session, and logind is not followed (scope = session, logind on the "
               "system bus)";
        return ACCESS_NO_SESSION;
    }
    if (peer->cgroup[0] == '\0' ||
        access_cgroup_logind_session(peer->cgroup, peer->uid, id, sizeof(id)) != 0) {
        *why = "no audit session, and its cgroup is in no login session of its uid";
        return ACCESS_NO_SESSION;
    }
    l = access_registry_login_find(pol->reg, id);
    if (l == NULL || !l->props_known) {
        *why = "no audit session, and logind does not list the session its cgroup names";
        return ACCESS_NO_SESSION;
    }
    if (l->uid != (uint32_t)peer->uid) {
        *why = "no audit session, and logind lists the session its cgroup names for another uid";
        return ACCESS_NO_SESSION;
    }
    if (l->audit == ACCESS_NO_SESSION) {
        *why = "no audit session, and its logind session id has no usable form";
        return ACCESS_NO_SESSION;
    }
    return l->audit;
}
