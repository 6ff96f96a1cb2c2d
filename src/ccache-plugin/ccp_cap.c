/* The session capability, client side (protocol: kcm/kcm_session_cap.h).
 *
 * The capability is a `user` key named "cachet:session:<euid>" in the session keyring,
 * readable, searchable and viewable by possessors only (no write, link or setattr, no
 * user/group/other rights). The kernel thus decides who may present it: every process that
 * still has this session keyring (the login's descendants), and not a process that joined
 * another one (`keyctl new_session`, `su -l`). Raw keyctl syscalls: no libkeyutils.
 *
 * Without a session keyring of its own a process resolves @s to the user-session keyring,
 * which every process of the uid shares: storing a capability there would hand it to all of
 * them, and adding a key to @s would instead create a new session keyring for this process
 * only. Either would be wrong, so SESSION: refuses to work there. */
#include "config.h"
#include "ccache-plugin/ccp_int.h"

#include <errno.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kcm/kcm_session_cap.h"

/* Key permissions (keyutils.h names; not in linux/keyctl.h). */
#define CCP_KEY_POS_VIEW 0x01000000u
#define CCP_KEY_POS_READ 0x02000000u
#define CCP_KEY_POS_SEARCH 0x08000000u

#define CAP_PAYLOAD_VERSION 1
/* version, session, boot id, token */
#define CAP_PAYLOAD_LEN (1 + 4 + KCM_SCAP_BOOT_LEN + KCM_SCAP_TOKEN_LEN)
/* A sibling that got the grant a moment ago is about to store the key: look again. */
#define ISSUED_RETRIES 10
#define ISSUED_RETRY_NS (20 * 1000 * 1000)

struct cap {
    uint32_t session;
    uint8_t boot[KCM_SCAP_BOOT_LEN];
    uint8_t token[KCM_SCAP_TOKEN_LEN];
};

static long kc(int cmd, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)
{
    return syscall(SYS_keyctl, cmd, a2, a3, a4, a5);
}

static void key_desc(char *buf, size_t len)
{
    snprintf(buf, len, "cachet:session:%u", (unsigned)geteuid());
}

/* True if the process has a session keyring of its own. */
static bool have_session_keyring(void)
{
    long s = kc(KEYCTL_GET_KEYRING_ID, (unsigned long)KEY_SPEC_SESSION_KEYRING, 0, 0, 0);
    long us = kc(KEYCTL_GET_KEYRING_ID, (unsigned long)KEY_SPEC_USER_SESSION_KEYRING, 0, 0, 0);

    return s > 0 && us > 0 && s != us;
}

/* Find and read the capability; returns the key id (0 if none). */
static long cap_load(struct cap *c)
{
    char desc[64];
    uint8_t buf[CAP_PAYLOAD_LEN + 1];
    long id;
    long n;

    key_desc(desc, sizeof(desc));
    id = kc(KEYCTL_SEARCH, (unsigned long)KEY_SPEC_SESSION_KEYRING, (unsigned long)"user",
            (unsigned long)desc, 0);
    if (id <= 0) {
        return 0;
    }
    n = kc(KEYCTL_READ, (unsigned long)id, (unsigned long)buf, sizeof(buf), 0);
    if (n == CAP_PAYLOAD_LEN && buf[0] == CAP_PAYLOAD_VERSION) {
        c->session = util_be32(buf + 1);
        memcpy(c->boot, buf + 5, KCM_SCAP_BOOT_LEN);
        memcpy(c->token, buf + 5 + KCM_SCAP_BOOT_LEN, KCM_SCAP_TOKEN_LEN);
    } else {
        memset(c, 0, sizeof(*c)); /* unreadable or foreign: present nothing, replace it */
    }
    explicit_bzero(buf, sizeof(buf));
    return id;
}

static krb5_error_code cap_store(krb5_context ctx, const struct cap *c, long old_id)
{
    char desc[64];
    uint8_t buf[CAP_PAYLOAD_LEN];
    long id;
    krb5_error_code ret = 0;

    key_desc(desc, sizeof(desc));
    /* The old key has no write permission, so add_key could not update it in place. */
    if (old_id > 0) {
        (void)kc(KEYCTL_UNLINK, (unsigned long)old_id, (unsigned long)KEY_SPEC_SESSION_KEYRING, 0,
                 0);
    }
    buf[0] = CAP_PAYLOAD_VERSION;
    util_put_be32(buf + 1, c->session);
    memcpy(buf + 5, c->boot, KCM_SCAP_BOOT_LEN);
    memcpy(buf + 5 + KCM_SCAP_BOOT_LEN, c->token, KCM_SCAP_TOKEN_LEN);
    id = syscall(SYS_add_key, "user", desc, buf, sizeof(buf), KEY_SPEC_SESSION_KEYRING);
    explicit_bzero(buf, sizeof(buf));
    if (id <= 0) {
        ret = errno;
        krb5_set_error_message(ctx, KRB5_CC_IO,
                               "SESSION cache: cannot store the session capability in the "
                               "session keyring: %s",
                               strerror(ret));
        return KRB5_CC_IO;
    }
    if (kc(KEYCTL_SETPERM, (unsigned long)id,
           CCP_KEY_POS_VIEW | CCP_KEY_POS_READ | CCP_KEY_POS_SEARCH, 0, 0) != 0) {
        ret = errno;
        (void)kc(KEYCTL_UNLINK, (unsigned long)id, (unsigned long)KEY_SPEC_SESSION_KEYRING, 0, 0);
        krb5_set_error_message(ctx, KRB5_CC_IO,
                               "SESSION cache: cannot restrict the session capability key: %s",
                               strerror(ret));
        return KRB5_CC_IO;
    }
    return 0;
}

struct scap_req {
    uint32_t action;
    const struct cap *cap;
};

static krb5_error_code scap_call(krb5_context ctx, int fd, const char *path,
                                 const struct scap_req *r, struct ccp_reply *rep, uint32_t *status)
{
    /* header 8, version 4, action 4, session 4, boot 16, token 4 + 32 */
    uint8_t buf[8 + 12 + KCM_SCAP_BOOT_LEN + 4 + KCM_SCAP_TOKEN_LEN];
    struct util_wr wr;
    struct util_data tok;
    krb5_error_code ret;
    bool transport;

    util_wr_init(&wr, buf, sizeof(buf));
    kcm_req_begin(&wr, KCM_OP_CACHET_SESSION_CAP);
    util_wr_u32(&wr, KCM_SCAP_VERSION);
    util_wr_u32(&wr, r->action);
    if (r->action == KCM_SCAP_PRESENT) {
        util_wr_u32(&wr, r->cap->session);
        util_wr_bytes(&wr, r->cap->boot, KCM_SCAP_BOOT_LEN);
        tok.p = r->cap->token;
        tok.len = KCM_SCAP_TOKEN_LEN;
        util_wr_data(&wr, tok);
    }
    if (!kcm_req_finish(&wr)) {
        return KRB5_CC_NOMEM;
    }
    ret = ccp_conn_xfer(ctx, fd, buf, wr.len, rep, &transport);
    explicit_bzero(buf, sizeof(buf));
    if (!transport && (ret == KRB5_FCC_INTERNAL || ret == KRB5_CC_NOSUPP || ret == KRB5_CC_IO)) {
        /* Heimdal and kcmserver.py answer FCC_INTERNAL (sssd closes the connection). */
        krb5_set_error_message(ctx, KRB5_CC_NOSUPP,
                               "SESSION cache: the KCM server at %s does not support session "
                               "capabilities (is it cachetd?)",
                               path);
        return KRB5_CC_NOSUPP;
    }
    if (ret != 0) {
        return ret;
    }
    *status = util_rd_u32(&rep->body);
    if (!util_rd_ok(&rep->body)) {
        ccp_reply_free(rep);
        return KRB5_KCM_MALFORMED_REPLY;
    }
    return 0;
}

static krb5_error_code present(krb5_context ctx, int fd, const char *path, const struct cap *c,
                               bool *ok, uint32_t *session)
{
    struct scap_req r = { KCM_SCAP_PRESENT, c };
    struct ccp_reply rep;
    uint32_t st;
    krb5_error_code ret = scap_call(ctx, fd, path, &r, &rep, &st);

    *ok = false;
    if (ret != 0) {
        return ret;
    }
    if (st == KCM_SCAP_OK) {
        *session = util_rd_u32(&rep.body);
        *ok = util_rd_done(&rep.body);
    }
    ccp_reply_free(&rep);
    return 0;
}

static krb5_error_code refused(krb5_context ctx, uint32_t st)
{
    switch (st) {
    case KCM_SCAP_NO_SESSION:
        krb5_set_error_message(ctx, KRB5_FCC_PERM,
                               "SESSION cache: cachetd refused a session capability: this "
                               "process is not in a login session (no audit session id, and "
                               "no logind session cachetd could confirm)");
        return KRB5_FCC_PERM;
    case KCM_SCAP_ISSUED:
        krb5_set_error_message(ctx, KRB5_FCC_PERM,
                               "SESSION cache: this process does not hold its login session's "
                               "capability (it is not in the session keyring of the login, "
                               "e.g. after 'keyctl new_session')");
        return KRB5_FCC_PERM;
    default:
        krb5_set_error_message(ctx, KRB5_CC_IO,
                               "SESSION cache: cachetd refused a session capability "
                               "(status %u)",
                               (unsigned)st);
        return KRB5_CC_IO;
    }
}

/* Keep a granted capability and bind this connection with it. */
static krb5_error_code grant_store(krb5_context ctx, int fd, const char *path,
                                   struct ccp_reply *rep, struct cap *c, long old_id,
                                   uint32_t *session)
{
    const uint8_t *boot;
    struct util_data tok;
    krb5_error_code ret;
    bool ok;

    c->session = util_rd_u32(&rep->body);
    boot = util_rd_bytes(&rep->body, KCM_SCAP_BOOT_LEN);
    tok = util_rd_data(&rep->body);
    if (!util_rd_done(&rep->body) || boot == NULL || tok.len != KCM_SCAP_TOKEN_LEN) {
        ccp_reply_free(rep);
        return KRB5_KCM_MALFORMED_REPLY;
    }
    memcpy(c->boot, boot, KCM_SCAP_BOOT_LEN);
    memcpy(c->token, tok.p, KCM_SCAP_TOKEN_LEN);
    ccp_reply_free(rep);
    ret = cap_store(ctx, c, old_id);
    if (ret == 0) {
        ret = present(ctx, fd, path, c, &ok, session);
        if (ret == 0 && !ok) {
            ret = refused(ctx, KCM_SCAP_REFUSED);
        }
    }
    return ret;
}

static void pause_briefly(void)
{
    struct timespec ts = { 0, ISSUED_RETRY_NS };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

krb5_error_code ccp_cap_bind(krb5_context ctx, int fd, const char *path, uint32_t *session)
{
    struct scap_req gr = { KCM_SCAP_GRANT, NULL };
    struct ccp_reply rep;
    struct cap c;
    krb5_error_code ret;
    uint32_t st;
    long id;
    bool ok;

    if (!have_session_keyring()) {
        krb5_set_error_message(ctx, KRB5_CC_NOSUPP,
                               "SESSION cache: this process has no session keyring of its own "
                               "(log in through pam_keyinit, or run under 'keyctl session')");
        return KRB5_CC_NOSUPP;
    }
    for (int attempt = 0;; attempt++) {
        memset(&c, 0, sizeof(c));
        id = cap_load(&c);
        if (id > 0) {
            ret = present(ctx, fd, path, &c, &ok, session);
            if (ret != 0 || ok) {
                explicit_bzero(&c, sizeof(c));
                return ret;
            }
            /* Stale (daemon restarted) or forged: ask for a new one below. */
        }
        ret = scap_call(ctx, fd, path, &gr, &rep, &st);
        if (ret != 0) {
            break;
        }
        if (st == KCM_SCAP_OK) {
            ret = grant_store(ctx, fd, path, &rep, &c, id, session);
            break;
        }
        ccp_reply_free(&rep);
        if (st != KCM_SCAP_ISSUED || attempt >= ISSUED_RETRIES) {
            ret = refused(ctx, st);
            break;
        }
        /* A sibling process of this session may have been granted it a moment ago (after a
         * daemon restart, say) and be storing it right now: look again. */
        pause_briefly();
    }
    explicit_bzero(&c, sizeof(c));
    return ret;
}
