/* KCM connection handling; see kcm_srv.h. */
#include "config.h"
#include "kcm/kcm_srv.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util_log.h"
#include "common/util_peer.h"
#include "common/util_secmem.h"

#define KCM_IN_SMALL 4096
#define UID_BUCKETS 256

struct uid_count {
    struct uid_count *next;
    uid_t uid;
    unsigned n;
};

struct kcm_listener {
    struct kcm_listener *next;
    struct kcm_srv *srv;
    int fd;
    struct tevent_fd *fde;
};

struct kcm_srv {
    struct tevent_context *ev;
    struct kcm_ctx *k;
    struct kcm_srv_limits limits;
    struct uid_count *uids[UID_BUCKETS];
    struct kcm_listener *listeners;
    struct kcm_conn *conns;
    unsigned nconns;
    bool stopping;
    void (*done)(void *arg);
    void *done_arg;
};

struct kcm_conn {
    struct kcm_conn *prev;
    struct kcm_conn *next;
    struct kcm_srv *srv;
    int fd;
    struct util_peer peer;
    struct tevent_fd *fde;
    struct tevent_timer *idle;
    uint8_t lenbuf[4];
    size_t lenpos;
    struct util_secbuf *in; /* request bytes (may hold tickets and keys) */
    size_t need;            /* frame length being read */
    size_t have;
    struct kcm_out out;
    size_t sent;            /* bytes of out already written; out.len > 0 means writing */
};

static void conn_fd_handler(struct tevent_context *ev, struct tevent_fd *fde, uint16_t flags,
                            void *pvt);

static struct uid_count *uid_slot(struct kcm_srv *srv, uid_t uid, bool create)
{
    struct uid_count **head = &srv->uids[uid % UID_BUCKETS];

    for (struct uid_count *u = *head; u != NULL; u = u->next) {
        if (u->uid == uid) {
            return u;
        }
    }
    if (!create) {
        return NULL;
    }
    struct uid_count *u = talloc_zero(srv, struct uid_count);
    if (u != NULL) {
        u->uid = uid;
        u->next = *head;
        *head = u;
    }
    return u;
}

static void maybe_done(struct kcm_srv *srv)
{
    if (srv->stopping && srv->nconns == 0 && srv->done != NULL) {
        void (*done)(void *) = srv->done;
        srv->done = NULL;
        done(srv->done_arg);
    }
}

static int conn_destructor(struct kcm_conn *c)
{
    struct kcm_srv *srv = c->srv;
    struct uid_count *u = uid_slot(srv, c->peer.uid, false);

    TALLOC_FREE(c->fde);
    if (c->fd >= 0) {
        close(c->fd);
    }
    util_peer_release(&c->peer);
    if (u != NULL && u->n > 0) {
        u->n--;
    }
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        srv->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    srv->nconns--;
    return 0;
}

static void conn_close(struct kcm_conn *c)
{
    struct kcm_srv *srv = c->srv;

    talloc_free(c);
    maybe_done(srv);
}

static void idle_handler(struct tevent_context *ev, struct tevent_timer *te, struct timeval now,
                         void *pvt)
{
    struct kcm_conn *c = pvt;

    c->idle = NULL;
    util_log(UTIL_LOG_DEBUG, "closing idle connection of uid %u (pid %d)",
             (unsigned)c->peer.uid, (int)c->peer.pid);
    conn_close(c);
}

static void conn_touch(struct kcm_conn *c)
{
    TALLOC_FREE(c->idle);
    if (c->srv->limits.idle_timeout > 0) {
        c->idle = tevent_add_timer(c->srv->ev, c,
                                   tevent_timeval_current_ofs(
                                       (uint32_t)c->srv->limits.idle_timeout, 0),
                                   idle_handler, c);
    }
}

static void conn_reset_input(struct kcm_conn *c)
{
    c->lenpos = 0;
    c->need = 0;
    c->have = 0;
    if (c->in != NULL && c->in->len > KCM_IN_SMALL) {
        TALLOC_FREE(c->in); /* wiped; the next request gets a small buffer again */
    }
}

/* Write as much of the reply as the socket takes. Returns false if the connection died. */
static bool conn_flush(struct kcm_conn *c)
{
    while (c->sent < c->out.len) {
        ssize_t n = send(c->fd, c->out.buf->p + c->sent, c->out.len - c->sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                TEVENT_FD_NOT_READABLE(c->fde);
                TEVENT_FD_WRITEABLE(c->fde);
                return true;
            }
            return false;
        }
        c->sent += (size_t)n;
    }
    explicit_bzero(c->out.buf->p, c->out.len);
    c->out.len = 0;
    c->sent = 0;
    kcm_out_trim(&c->out);
    TEVENT_FD_NOT_WRITEABLE(c->fde);
    TEVENT_FD_READABLE(c->fde);
    return true;
}

static bool conn_process(struct kcm_conn *c)
{
    const char *why = NULL;
    enum kcm_disposition d;

    d = kcm_dispatch(c->srv->k, &c->peer, c->in->p, c->need, c, &c->out, &why);
    explicit_bzero(c->in->p, c->need);
    conn_reset_input(c);
    if (d == KCM_DISP_DROP) {
        util_log(UTIL_LOG_WARNING, "closing connection of uid %u (pid %d): %s",
                 (unsigned)c->peer.uid, (int)c->peer.pid, why != NULL ? why : "internal error");
        return false;
    }
    c->sent = 0;
    return conn_flush(c);
}

/* Read what is available; returns false if the connection must close. */
static bool conn_read(struct kcm_conn *c)
{
    for (;;) {
        ssize_t n;
        if (c->lenpos < 4) {
            n = recv(c->fd, c->lenbuf + c->lenpos, 4 - c->lenpos, 0);
        } else {
            n = recv(c->fd, c->in->p + c->have, c->need - c->have, 0);
        }
        if (n == 0) {
            return false; /* peer closed */
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno == EAGAIN || errno == EWOULDBLOCK;
        }
        if (c->lenpos < 4) {
            c->lenpos += (size_t)n;
            if (c->lenpos < 4) {
                continue;
            }
            c->need = util_be32(c->lenbuf);
            if (c->need < 4 || c->need > c->srv->limits.max_frame) {
                util_log(UTIL_LOG_WARNING,
                         "closing connection of uid %u (pid %d): frame length %zu outside "
                         "4..%llu (max_frame_size)", (unsigned)c->peer.uid, (int)c->peer.pid,
                         c->need, (unsigned long long)c->srv->limits.max_frame);
                return false;
            }
            if (c->in == NULL || c->in->len < c->need) {
                TALLOC_FREE(c->in);
                c->in = util_secbuf_new(c, c->need < KCM_IN_SMALL ? KCM_IN_SMALL : c->need);
                if (c->in == NULL) {
                    util_log(UTIL_LOG_ERROR, "out of secure memory for a %zu-byte request",
                             c->need);
                    return false;
                }
            }
            c->have = 0;
            continue;
        }
        c->have += (size_t)n;
        if (c->have == c->need) {
            /* One request at a time: the reply is written before the next read. */
            return conn_process(c);
        }
    }
}

static void conn_fd_handler(struct tevent_context *ev, struct tevent_fd *fde, uint16_t flags,
                            void *pvt)
{
    struct kcm_conn *c = pvt;
    bool ok;

    conn_touch(c);
    if (c->out.len > 0) {
        ok = (flags & TEVENT_FD_WRITE) ? conn_flush(c) : true;
    } else {
        ok = conn_read(c);
    }
    if (ok && c->srv->stopping && c->out.len == 0 && c->lenpos == 0) {
        ok = false; /* shutting down: this reply was the last */
    }
    if (!ok) {
        conn_close(c);
    }
}

static void accept_handler(struct tevent_context *ev, struct tevent_fd *fde, uint16_t flags,
                           void *pvt)
{
    struct kcm_listener *l = pvt;
    struct kcm_srv *srv = l->srv;
    struct kcm_conn *c;
    struct uid_count *u;
    int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

    if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
            util_log(UTIL_LOG_WARNING, "accept failed: %s", strerror(errno));
        }
        return;
    }
    c = talloc_zero(srv, struct kcm_conn);
    if (c == NULL) {
        close(fd);
        return;
    }
    c->srv = srv;
    c->fd = fd;
    if (util_peer_from_socket(fd, &c->peer) != 0) {
        util_log(UTIL_LOG_WARNING, "cannot identify peer: %s", strerror(errno));
        c->peer.pidfd = -1;
        c->fd = -1;
        close(fd);
        talloc_free(c);
        return;
    }
    c->next = srv->conns;
    if (srv->conns != NULL) {
        srv->conns->prev = c;
    }
    srv->conns = c;
    srv->nconns++;
    talloc_set_destructor(c, conn_destructor);
    u = uid_slot(srv, c->peer.uid, true);
    if (u == NULL || u->n >= srv->limits.max_conns_per_uid) {
        util_log(UTIL_LOG_WARNING,
                 "refusing connection of uid %u (pid %d): %u connections open "
                 "(max_connections_per_uid)", (unsigned)c->peer.uid, (int)c->peer.pid,
                 u != NULL ? u->n : 0);
        talloc_free(c);
        return;
    }
    u->n++;
    c->fde = tevent_add_fd(ev, c, fd, TEVENT_FD_READ, conn_fd_handler, c);
    if (c->fde == NULL) {
        talloc_free(c);
        return;
    }
    conn_touch(c);
}

static int listener_destructor(struct kcm_listener *l)
{
    TALLOC_FREE(l->fde);
    close(l->fd);
    return 0;
}

struct kcm_srv *kcm_srv_new(TALLOC_CTX *ctx, struct tevent_context *ev, struct kcm_ctx *k,
                            const struct kcm_srv_limits *limits)
{
    struct kcm_srv *srv = talloc_zero(ctx, struct kcm_srv);

    if (srv != NULL) {
        srv->ev = ev;
        srv->k = k;
        srv->limits = *limits;
    }
    return srv;
}

void kcm_srv_set_limits(struct kcm_srv *srv, const struct kcm_srv_limits *limits)
{
    srv->limits = *limits;
}

int kcm_srv_add_listener(struct kcm_srv *srv, int fd)
{
    struct kcm_listener *l = talloc_zero(srv, struct kcm_listener);

    if (l == NULL) {
        close(fd);
        return ENOMEM;
    }
    l->srv = srv;
    l->fd = fd;
    l->next = srv->listeners;
    srv->listeners = l;
    talloc_set_destructor(l, listener_destructor);
    l->fde = tevent_add_fd(srv->ev, l, fd, TEVENT_FD_READ, accept_handler, l);
    if (l->fde == NULL) {
        srv->listeners = l->next;
        talloc_free(l);
        return ENOMEM;
    }
    return 0;
}

void kcm_srv_shutdown(struct kcm_srv *srv, void (*done)(void *arg), void *arg)
{
    struct kcm_listener *l;

    srv->stopping = true;
    srv->done = done;
    srv->done_arg = arg;
    while ((l = srv->listeners) != NULL) {
        srv->listeners = l->next;
        talloc_free(l);
    }
    for (struct kcm_conn *c = srv->conns, *next; c != NULL; c = next) {
        next = c->next;
        if (c->out.len == 0 && c->lenpos == 0) {
            talloc_free(c); /* idle: nothing in flight */
        }
    }
    maybe_done(srv);
}

unsigned kcm_srv_connections(const struct kcm_srv *srv)
{
    return srv->nconns;
}
