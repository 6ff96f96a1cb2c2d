/* Session capabilities, daemon side; protocol and rules in kcm_session_cap.h.
 *
 * The table lives in the daemon's memory only (the event loop is single-threaded, so no lock).
 * Every entry, token included, is in secure memory (locked, no-dump, wiped on free). A token is
 * checked in constant time against the entry found by its non-secret (uid, session) key; a
 * missing entry is compared against a dummy so that timing does not tell the two apart.
 *
 * Not persisted: after a daemon restart every capability is stale, the client library asks
 * for a new one and the first process of the session to ask gets it. */
#include "config.h"
#include "kcm/kcm_session_cap.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/random.h>

#include "common/util_buf.h"
#include "common/util_log.h"
#include "common/util_peer.h"
#include "common/util_secmem.h"
#include "access/access.h"
#include "kcm/kcm_codec.h"

#define SCAP_BUCKETS 256

struct scap {
    struct scap *next;
    uint32_t uid;
    uint32_t session;
    uint64_t last_used;
    uint8_t boot[KCM_SCAP_BOOT_LEN];
    uint8_t token[KCM_SCAP_TOKEN_LEN];
};

static struct {
    struct scap *buckets[SCAP_BUCKETS];
    size_t count;
    uint64_t clock;
} g_scap;

static unsigned bucket_of(uint32_t uid)
{
    return (uid * 2654435761u) >> 24; /* 8 bits */
}

static bool ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
    volatile uint8_t d = 0;

    for (size_t i = 0; i < n; i++) {
        d |= a[i] ^ b[i];
    }
    return d == 0;
}

static struct scap *find(uint32_t uid, uint32_t session)
{
    for (struct scap *e = g_scap.buckets[bucket_of(uid)]; e != NULL; e = e->next) {
        if (e->uid == uid && e->session == session) {
            return e;
        }
    }
    return NULL;
}

static void unlink_free(struct scap **link)
{
    struct scap *e = *link;

    *link = e->next;
    util_secmem_free(e); /* wipes the token */
    g_scap.count--;
}

/* Make room for one more capability of uid: evict its least recently used one. */
static void evict_lru_of(uint32_t uid)
{
    struct scap **link = &g_scap.buckets[bucket_of(uid)];
    struct scap **victim = NULL;
    size_t n = 0;

    for (; *link != NULL; link = &(*link)->next) {
        if ((*link)->uid == uid) {
            n++;
            if (victim == NULL || (*link)->last_used < (*victim)->last_used) {
                victim = link;
            }
        }
    }
    if (n >= KCM_SCAP_MAX_PER_UID && victim != NULL) {
        util_log(UTIL_LOG_INFO,
                 "session capability of uid %u session %u evicted (uid holds %zu, limit %u)",
                 (unsigned)uid, (unsigned)(*victim)->session, n, KCM_SCAP_MAX_PER_UID);
        unlink_free(victim);
    }
}

static uint32_t grant(struct util_peer *peer, const struct access_policy *pol,
                      struct util_wr *wr)
{
    const uint8_t *boot = pol->boot_id;
    uint32_t uid = (uint32_t)peer->uid;
    const char *why = "";
    uint32_t session = access_grant_session(pol, peer, &why);
    struct scap *e;
    struct util_data tok;

    if (session == ACCESS_NO_SESSION) {
        util_log(UTIL_LOG_INFO, "session capability refused to uid %u (pid %d): %s",
                 (unsigned)uid, (int)peer->pid, why);
        return KCM_SCAP_NO_SESSION;
    }
    if (find(uid, session) != NULL) {
        /* One per session: whoever holds the session keyring has it already. A process that
         * left that keyring must not get a second one. */
        util_log(UTIL_LOG_INFO,
                 "session capability refused to uid %u (pid %d): session %u already has one",
                 (unsigned)uid, (int)peer->pid, (unsigned)session);
        return KCM_SCAP_ISSUED;
    }
    evict_lru_of(uid);
    if (g_scap.count >= KCM_SCAP_MAX_TOTAL) {
        util_log(UTIL_LOG_WARNING, "session capability refused to uid %u: %u capabilities held",
                 (unsigned)uid, KCM_SCAP_MAX_TOTAL);
        return KCM_SCAP_LIMIT;
    }
    e = util_secmem_alloc(sizeof(*e));
    if (e == NULL) {
        return KCM_SCAP_LIMIT;
    }
    if (getrandom(e->token, sizeof(e->token), 0) != (ssize_t)sizeof(e->token)) {
        util_log(UTIL_LOG_ERROR, "getrandom failed: %s", strerror(errno));
        util_secmem_free(e);
        return KCM_SCAP_LIMIT;
    }
    e->uid = uid;
    e->session = session;
    e->last_used = ++g_scap.clock;
    memcpy(e->boot, boot, KCM_SCAP_BOOT_LEN);
    e->next = g_scap.buckets[bucket_of(uid)];
    g_scap.buckets[bucket_of(uid)] = e;
    g_scap.count++;
    util_log(UTIL_LOG_INFO, "session capability granted to uid %u (pid %d) for session %u",
             (unsigned)uid, (int)peer->pid, (unsigned)session);

    util_wr_u32(wr, KCM_SCAP_OK);
    util_wr_u32(wr, session);
    util_wr_bytes(wr, e->boot, KCM_SCAP_BOOT_LEN);
    tok.p = e->token;
    tok.len = KCM_SCAP_TOKEN_LEN;
    util_wr_data(wr, tok);
    return KCM_SCAP_OK;
}

static uint32_t present(struct util_peer *peer, const uint8_t *cur_boot, struct util_rd *rd,
                        struct util_wr *wr)
{
    static const uint8_t dummy[KCM_SCAP_TOKEN_LEN + KCM_SCAP_BOOT_LEN];
    uint32_t session = util_rd_u32(rd);
    const uint8_t *boot = util_rd_bytes(rd, KCM_SCAP_BOOT_LEN);
    struct util_data tok = util_rd_data(rd);
    struct scap *e;
    bool ok;

    if (!util_rd_done(rd) || tok.len != KCM_SCAP_TOKEN_LEN) {
        return KCM_SCAP_REFUSED;
    }
    e = find((uint32_t)peer->uid, session);
    /* Both comparisons always run, against a dummy if there is no entry. */
    ok = ct_equal(tok.p, e != NULL ? e->token : dummy, KCM_SCAP_TOKEN_LEN);
    ok &= ct_equal(boot, e != NULL ? e->boot : dummy, KCM_SCAP_BOOT_LEN);
    ok &= ct_equal(boot, cur_boot, KCM_SCAP_BOOT_LEN);
    if (!ok || e == NULL) {
        util_log(UTIL_LOG_INFO,
                 "session capability of uid %u (pid %d) for session %u refused: unknown, "
                 "stale or forged",
                 (unsigned)peer->uid, (int)peer->pid, (unsigned)session);
        return KCM_SCAP_REFUSED;
    }
    e->last_used = ++g_scap.clock;
    if (peer->audit_session != session) {
        util_log(UTIL_LOG_DEBUG, "uid %u pid %d (audit session %u) bound to session %u",
                 (unsigned)peer->uid, (int)peer->pid, (unsigned)peer->audit_session,
                 (unsigned)session);
    }
    /* The binding the access layer reads: this connection now belongs to that session. */
    peer->audit_session = session;
    util_wr_u32(wr, KCM_SCAP_OK);
    util_wr_u32(wr, session);
    return KCM_SCAP_OK;
}

int32_t kcm_session_cap_handle(struct util_peer *peer, const struct access_policy *pol,
                               const uint8_t *frame, size_t len, uint8_t *out, size_t outcap,
                               size_t *outlen)
{
    struct util_rd rd;
    struct util_wr wr;
    uint32_t version;
    uint32_t action;
    uint32_t st;

    *outlen = 0;
    util_peer_details(peer); /* the audit session */
    util_rd_init(&rd, frame, len);
    (void)util_rd_bytes(&rd, 4); /* major, minor, opcode: checked by the dispatcher */
    version = util_rd_u32(&rd);
    action = util_rd_u32(&rd);
    if (!util_rd_ok(&rd)) {
        return KCM_RC_CC_FORMAT;
    }
    util_wr_init(&wr, out, outcap);
    if (version != KCM_SCAP_VERSION) {
        util_wr_u32(&wr, KCM_SCAP_REFUSED);
    } else if (action == KCM_SCAP_GRANT && util_rd_done(&rd)) {
        st = grant(peer, pol, &wr);
        if (st != KCM_SCAP_OK) {
            util_wr_u32(&wr, st);
        }
    } else if (action == KCM_SCAP_PRESENT) {
        st = present(peer, pol->boot_id, &rd, &wr);
        if (st != KCM_SCAP_OK) {
            util_wr_u32(&wr, st);
        }
    } else {
        return KCM_RC_CC_FORMAT;
    }
    if (!util_wr_ok(&wr)) {
        explicit_bzero(out, outcap);
        return KCM_RC_FCC_INTERNAL;
    }
    *outlen = wr.len;
    return KCM_RC_OK;
}

void kcm_session_cap_forget_session(uint32_t session)
{
    for (unsigned b = 0; b < SCAP_BUCKETS; b++) {
        struct scap **link = &g_scap.buckets[b];
        while (*link != NULL) {
            if ((*link)->session == session) {
                unlink_free(link);
            } else {
                link = &(*link)->next;
            }
        }
    }
}

void kcm_session_cap_reset(void)
{
    for (unsigned b = 0; b < SCAP_BUCKETS; b++) {
        while (g_scap.buckets[b] != NULL) {
            unlink_free(&g_scap.buckets[b]);
        }
    }
    g_scap.clock = 0;
}

size_t kcm_session_cap_count(void)
{
    return g_scap.count;
}
