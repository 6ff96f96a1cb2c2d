/* The process's connection to cachetd.
 *
 * One connection per process, shared by every handle and context, serialised by one mutex
 * (KCM is strictly request/reply). It is bound to the login session once, right after connect
 * (ccp_cap.c), so a handle costs no extra round trip. The connection is dropped and rebuilt
 * when the process forked (the atfork child handler: a child never talks on its parent's
 * stream), when the effective uid changed (SO_PEERCRED was captured at connect), when a handle
 * names another socket, and after any transport error. Every read and write is bounded: the
 * socket has SO_RCVTIMEO/SO_SNDTIMEO (which also bound connect), and a call gives up once its
 * deadline has passed between partial transfers; a blocking recv() that returns when the reply
 * arrives costs one system call, where poll() + recv() cost two. Sends use MSG_NOSIGNAL (no
 * SIGPIPE in the host process), the socket is SOCK_CLOEXEC and a pthread_atfork child handler
 * closes it in children that do not exec (that handler is how a fork is noticed: no getpid()
 * per call). */
#include "config.h"
#include "ccache-plugin/ccp_int.h"

#include <errno.h>
#include <profile.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "kcm/kcm_session_cap.h"

static struct {
    pthread_mutex_t lock;
    int fd;
    uid_t euid;
    char path[CCP_PATH_MAX];
} g_conn = { PTHREAD_MUTEX_INITIALIZER, -1, 0, "" };

static pthread_once_t g_conn_once = PTHREAD_ONCE_INIT;

static void atfork_prepare(void)
{
    pthread_mutex_lock(&g_conn.lock);
}

static void atfork_parent(void)
{
    pthread_mutex_unlock(&g_conn.lock);
}

static void atfork_child(void)
{
    /* The child's copy of the parent's stream must never carry a request. */
    if (g_conn.fd >= 0) {
        close(g_conn.fd);
        g_conn.fd = -1;
    }
    pthread_mutex_unlock(&g_conn.lock);
}

static void conn_once(void)
{
    (void)pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

int ccp_timeout_ms(void)
{
    const char *s = secure_getenv(CCP_ENV_TIMEOUT);
    char *end;
    long v;

    if (s == NULL || *s == '\0') {
        return CCP_DEFAULT_TIMEOUT_MS;
    }
    v = strtol(s, &end, 10);
    if (*end != '\0' || v <= 0 || v > 3600) {
        return CCP_DEFAULT_TIMEOUT_MS;
    }
    return (int)(v * 1000);
}

krb5_error_code ccp_target_init(krb5_context ctx, struct ccp_target *t)
{
    const char *env = secure_getenv(CCP_ENV_SOCKET);
    const char *path = CACHET_DEFAULT_SOCKET;
    char *prof = NULL;
    profile_t p = NULL;
    krb5_error_code ret = 0;

    if (env != NULL && *env != '\0') {
        path = env;
    } else if (krb5_get_profile(ctx, &p) == 0) {
        /* cachet_socket first: kcm_socket may name another KCM server for the KCM: type. */
        if (profile_get_string(p, "libdefaults", "cachet_socket", NULL, NULL, &prof) != 0 ||
            prof == NULL) {
            (void)profile_get_string(p, "libdefaults", "kcm_socket", NULL, NULL, &prof);
        }
        if (prof != NULL) {
            path = prof;
        }
    }
    if (strcmp(path, "-") == 0) {
        ret = KRB5_KCM_NO_SERVER;
        krb5_set_error_message(ctx, ret, "SESSION cache: the cachetd socket is disabled ('-')");
    } else if (strlen(path) >= sizeof(t->path)) {
        ret = KRB5_CC_BADNAME;
        krb5_set_error_message(ctx, ret, "SESSION cache: socket path too long: %s", path);
    } else {
        strcpy(t->path, path);
    }
    profile_release_string(prof);
    if (p != NULL) {
        profile_release(p);
    }
    return ret;
}

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A blocking transfer that came back with EAGAIN hit the socket's timeout. */
static int io_errno(void)
{
    return errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno;
}

static int send_all(int fd, const uint8_t *p, size_t n, long deadline)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w == 0) {
            return EPIPE;
        } else if (errno != EINTR) {
            return io_errno();
        }
        if (n > 0 && now_ms() >= deadline) {
            return ETIMEDOUT;
        }
    }
    return 0;
}

/* Blocking recv of at least one byte: 0, ECONNRESET on EOF, ETIMEDOUT or an errno. */
static int recv_some(int fd, uint8_t *p, size_t cap, long deadline, size_t *got)
{
    for (;;) {
        ssize_t r = recv(fd, p, cap, 0);
        if (r > 0) {
            *got = (size_t)r;
            return 0;
        }
        if (r == 0) {
            return ECONNRESET;
        }
        if (errno != EINTR) {
            return io_errno();
        }
        if (now_ms() >= deadline) {
            return ETIMEDOUT;
        }
    }
}

/* 0, ECONNRESET on EOF, ETIMEDOUT or an errno. */
static int recv_all(int fd, uint8_t *p, size_t n, long deadline)
{
    while (n > 0) {
        size_t got = 0;
        int e = recv_some(fd, p, n, deadline, &got);
        if (e != 0) {
            return e;
        }
        p += got;
        n -= got;
        if (n > 0 && now_ms() >= deadline) {
            return ETIMEDOUT;
        }
    }
    return 0;
}

void ccp_reply_free(struct ccp_reply *rep)
{
    if (rep->mem != NULL) {
        explicit_bzero(rep->mem, rep->len); /* replies carry tickets and keys */
        free(rep->mem);
    }
    memset(rep, 0, sizeof(*rep));
}

static krb5_error_code io_error(krb5_context ctx, int e, const char *what)
{
    krb5_error_code ret = KRB5_CC_IO;

    if (e == ETIMEDOUT) {
        krb5_set_error_message(ctx, ret, "SESSION cache: no answer from cachetd within %d s (%s)",
                               ccp_timeout_ms() / 1000, what);
    } else if (e == ECONNRESET || e == EPIPE) {
        krb5_set_error_message(ctx, ret, "SESSION cache: cachetd closed the connection (%s)", what);
    } else {
        krb5_set_error_message(ctx, ret, "SESSION cache: %s: %s", what, strerror(e));
    }
    return ret;
}

#define FIRST_READ 4096 /* most replies arrive whole in one read */

/* Send one frame and read one reply on fd. Transport failures come back as krb5 codes with a
 * message; *transport tells them from the server's own codes. */
static krb5_error_code xfer(krb5_context ctx, int fd, const uint8_t *req, size_t reqlen,
                            struct ccp_reply *rep, bool *transport, int *send_errno)
{
    long deadline = now_ms() + ccp_timeout_ms();
    uint8_t first[FIRST_READ];
    size_t have = 0;
    size_t got = 0;
    size_t inbody;
    uint32_t len;
    uint32_t outer;
    krb5_error_code ret;
    int e;

    memset(rep, 0, sizeof(*rep));
    *transport = true;
    *send_errno = 0;
    e = send_all(fd, req, reqlen, deadline);
    if (e != 0) {
        *send_errno = e;
        return io_error(ctx, e, "sending a request");
    }
    while (have < 8) {
        e = recv_some(fd, first + have, sizeof(first) - have, deadline, &got);
        if (e != 0) {
            ret = io_error(ctx, e, "reading a reply");
            goto out;
        }
        have += got;
    }
    len = util_be32(first);
    outer = util_be32(first + 4);
    /* The protocol is strictly request/reply: nothing may follow this reply. */
    if ((outer != 0 && len != 0) || len > KCM_MAX_REPLY || have - 8 > len ||
        (outer == 0 && len < 4)) {
        ret = len > KCM_MAX_REPLY ? KRB5_KCM_REPLY_TOO_BIG : KRB5_KCM_MALFORMED_REPLY;
        krb5_set_error_message(ctx, ret, "SESSION cache: malformed reply from cachetd");
        goto out;
    }
    if (outer != 0) {
        /* sssd-style error without payload (kcm-protocol.md §1.3). */
        *transport = false;
        ret = (krb5_error_code)outer;
        goto out;
    }
    rep->mem = malloc(len);
    if (rep->mem == NULL) {
        ret = ENOMEM;
        goto out;
    }
    rep->len = len;
    inbody = have - 8;
    memcpy(rep->mem, first + 8, inbody);
    e = recv_all(fd, rep->mem + inbody, len - inbody, deadline);
    if (e != 0) {
        ccp_reply_free(rep);
        ret = io_error(ctx, e, "reading a reply");
        goto out;
    }
    *transport = false;
    util_rd_init(&rep->body, rep->mem + 4, len - 4);
    ret = (krb5_error_code)util_be32(rep->mem);
    if (ret != 0) {
        ccp_reply_free(rep);
    }
out:
    explicit_bzero(first, have);
    return ret;
}

krb5_error_code ccp_conn_xfer(krb5_context ctx, int fd, const uint8_t *req, size_t reqlen,
                              struct ccp_reply *rep, bool *transport)
{
    int se;

    return xfer(ctx, fd, req, reqlen, rep, transport, &se);
}

static void conn_drop(void)
{
    if (g_conn.fd >= 0) {
        close(g_conn.fd);
        g_conn.fd = -1;
    }
}

static krb5_error_code conn_open(krb5_context ctx, const struct ccp_target *t)
{
    struct sockaddr_un sa;
    krb5_error_code ret;
    uint32_t session;
    int ms = ccp_timeout_ms();
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        ret = errno;
        krb5_set_error_message(ctx, ret, "SESSION cache: socket: %s", strerror(ret));
        return ret;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
        ret = errno;
        close(fd);
        krb5_set_error_message(ctx, ret, "SESSION cache: socket timeouts: %s", strerror(ret));
        return ret;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, t->path, strlen(t->path) + 1);
    while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        if (e == EINTR) {
            continue;
        }
        close(fd);
        if (e == EAGAIN || e == EWOULDBLOCK) {
            ret = KRB5_KCM_NO_SERVER; /* SO_SNDTIMEO: the listen backlog stayed full */
            krb5_set_error_message(ctx, ret, "SESSION cache: cachetd at %s does not accept "
                                   "connections (timed out)", t->path);
        } else if (e == ENOENT || e == ECONNREFUSED) {
            ret = KRB5_KCM_NO_SERVER;
            krb5_set_error_message(ctx, ret, "SESSION cache: cachetd is not running (%s: %s)",
                                   t->path, strerror(e));
        } else {
            ret = e;
            krb5_set_error_message(ctx, ret, "SESSION cache: cannot connect to %s: %s", t->path,
                                   strerror(e));
        }
        return ret;
    }
    ret = ccp_cap_bind(ctx, fd, t->path, &session);
    if (ret != 0) {
        close(fd);
        return ret;
    }
    g_conn.fd = fd;
    g_conn.euid = geteuid();
    strcpy(g_conn.path, t->path);
    return 0;
}

/* Called with the lock held. *fresh: the connection was (re)made now. */
static krb5_error_code conn_ready(krb5_context ctx, const struct ccp_target *t, bool *fresh)
{
    *fresh = false;
    if (g_conn.fd >= 0 &&
        (g_conn.euid != geteuid() || strcmp(g_conn.path, t->path) != 0)) {
        conn_drop();
    }
    if (g_conn.fd >= 0) {
        return 0;
    }
    *fresh = true;
    return conn_open(ctx, t);
}

void ccp_build_name(struct util_wr *wr, const void *name)
{
    util_wr_cstr(wr, name);
}

krb5_error_code ccp_call(krb5_context ctx, const struct ccp_target *t, uint16_t opcode,
                         ccp_build_fn fn, const void *arg, struct ccp_reply *rep)
{
    struct util_wr wr;
    uint8_t *req;
    size_t len;
    krb5_error_code ret;
    bool fresh;
    bool transport = false;
    int send_errno = 0;

    memset(rep, 0, sizeof(*rep));
    util_wr_init(&wr, NULL, 0);
    kcm_req_begin(&wr, opcode);
    if (fn != NULL) {
        fn(&wr, arg);
    }
    if (!kcm_req_finish(&wr) || wr.len > KCM_MAX_REPLY) {
        return KRB5_CC_NOMEM;
    }
    len = wr.len;
    req = malloc(len);
    if (req == NULL) {
        return ENOMEM;
    }
    util_wr_init(&wr, req, len);
    kcm_req_begin(&wr, opcode);
    if (fn != NULL) {
        fn(&wr, arg);
    }
    if (!kcm_req_finish(&wr) || wr.len != len) {
        free(req);
        return KRB5_CC_NOMEM;
    }

    pthread_once(&g_conn_once, conn_once);
    pthread_mutex_lock(&g_conn.lock);
    ret = conn_ready(ctx, t, &fresh);
    if (ret == 0) {
        ret = xfer(ctx, g_conn.fd, req, len, rep, &transport, &send_errno);
        if (transport && !fresh && (send_errno == EPIPE || send_errno == ECONNRESET)) {
            /* Like MIT's client: one reconnect when the daemon closed an idle connection
             * (or restarted) before this request was sent. */
            conn_drop();
            ret = conn_ready(ctx, t, &fresh);
            if (ret == 0) {
                ret = xfer(ctx, g_conn.fd, req, len, rep, &transport, &send_errno);
            }
        }
        if (ret != 0 && transport) {
            conn_drop();
        }
    }
    pthread_mutex_unlock(&g_conn.lock);
    explicit_bzero(req, len);
    free(req);
    return ret;
}
