/* KCM connection handling; see kcm_srv.h. */
#include "config.h"
#include "kcm/kcm_srv.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/util_log.h"
#include "common/util_peer.h"
#include "common/util_secmem.h"
#include "common/util_uidcount.h"

#define KCM_IN_SMALL 4096
#define KCM_BATCH_MAX 16 /* connections served in one loop round beyond the one tevent reported */


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
    struct util_uidcount *conns_per_uid;
    struct kcm_listener *listeners;
    struct kcm_conn *conns;
    unsigned nconns;
    bool stopping;
    void (*done)(void *arg);
    void *done_arg;
    /* Group commit (store.h): replies held until the store's open group is committed. */
    int probe_fd;              /* epoll set of every listener and connection: more work ready? */
    uint64_t requests;         /* dispatched so far */
    unsigned nheld;
    struct tevent_timer *wake; /* bounds how long a held reply can wait */
    /* Memory storage: epoll set of the connections served while others were open, so that
     * one loop round serves each of them with a request waiting (see serve_batch). */
    int batch_fd;
};

struct kcm_conn {
    struct kcm_conn *prev;
    struct kcm_conn *next;
    struct kcm_srv *srv;
    int fd;
    struct util_peer peer;
    struct tevent_fd *fde;
    struct tevent_timer *idle;
    time_t last_active;
    struct util_secbuf *in; /* raw request bytes, length word included (tickets, keys) */
    size_t have;            /* bytes in in */
    bool refused;           /* over max_connections_per_uid: answer once, then close */
    bool counted;           /* included in conns_per_uid */
    struct kcm_out out;
    size_t sent;            /* bytes of out already written; out.len > 0 means writing */
    bool held;              /* out is ready but waits for the store's group commit */
    bool writing;           /* fde waits for POLLOUT instead of input (a reply did not fit) */
    bool batched;           /* in srv->batch_fd */
};

static void conn_fd_handler(struct tevent_context *ev, struct tevent_fd *fde, uint16_t flags,
                            void *pvt);

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

    TALLOC_FREE(c->fde);
    if (c->fd >= 0) {
        close(c->fd);
    }
    util_peer_release(&c->peer);
    if (c->held) {
        srv->nheld--;
    }
    if (c->counted) {
        util_uidcount_dec(srv->conns_per_uid, c->peer.uid);
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
                         void *pvt);

static void idle_arm(struct kcm_conn *c, uint32_t secs)
{
    c->idle = tevent_add_timer(c->srv->ev, c, tevent_timeval_current_ofs(secs, 0), idle_handler,
                               c);
}

/* The timer is re-armed lazily: activity only records a timestamp, so the request path never
 * touches the timer list. */
static void idle_handler(struct tevent_context *ev, struct tevent_timer *te, struct timeval now,
                         void *pvt)
{
    struct kcm_conn *c = pvt;
    uint64_t timeout = c->srv->limits.idle_timeout;
    time_t idle_for = now.tv_sec - c->last_active;

    c->idle = NULL;
    if (timeout == 0) {
        return;
    }
    if ((uint64_t)idle_for < timeout || c->out.len > 0) {
        idle_arm(c, (uint32_t)(timeout - ((uint64_t)idle_for < timeout ? (uint64_t)idle_for : 0)));
        return;
    }
    util_log(UTIL_LOG_DEBUG, "closing idle connection of uid %u (pid %d)",
             (unsigned)c->peer.uid, (int)c->peer.pid);
    conn_close(c);
}

static void conn_touch(struct kcm_conn *c)
{
    c->last_active = time(NULL);
    if (c->idle == NULL && c->srv->limits.idle_timeout > 0) {
        idle_arm(c, (uint32_t)c->srv->limits.idle_timeout);
    }
}

/* Bytes of the next frame (length word included) once its length word is in, else 0. */
static size_t frame_total(const struct kcm_conn *c)
{
    return c->have >= 4 ? 4 + (size_t)util_be32(c->in->p) : 0;
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
                c->writing = true;
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
    if (c->writing) {
        /* Only a reply that waited for POLLOUT changed the flags: the usual reply, sent at
         * once, leaves them alone (four tevent flag calls less per request). */
        TEVENT_FD_NOT_WRITEABLE(c->fde);
        TEVENT_FD_READABLE(c->fde);
        c->writing = false;
    }
    return !c->refused; /* a refused connection gets its one answer, then closes */
}

/* A connection over max_connections_per_uid still gets a well-formed answer to its first
 * request, so the client reports an error instead of a protocol failure. */
static enum kcm_disposition refuse_reply(struct kcm_conn *c)
{
    struct util_wr wr;

    if (c->out.buf == NULL) {
        c->out.buf = util_secbuf_new(c, KCM_REPLY_HDR);
        if (c->out.buf == NULL) {
            return KCM_DISP_DROP;
        }
    }
    /* A held reply may have carried tickets: none of it outlives the refusal. */
    explicit_bzero(c->out.buf->p, c->out.buf->len);
    util_wr_init(&wr, c->out.buf->p, c->out.buf->len);
    kcm_reply_begin(&wr);
    if (!kcm_reply_finish(&wr, KCM_RC_CC_IO)) {
        return KCM_DISP_DROP;
    }
    c->out.len = wr.len;
    return KCM_DISP_REPLY;
}

static void wake_handler(struct tevent_context *ev, struct tevent_timer *te, struct timeval now,
                         void *pvt)
{
    struct kcm_srv *srv = pvt;

    srv->wake = NULL; /* nothing to do: the event loop round ends, and with it the group */
}

static void hold(struct kcm_conn *c)
{
    struct kcm_srv *srv = c->srv;

    /* The fd stays readable in tevent (no epoll_ctl per request): conn_fd_handler ignores a
     * held connection; a client that sends or closes early makes a round without a request,
     * which ends the group. */
    c->held = true;
    srv->nheld++;
    if (srv->wake == NULL) {
        srv->wake = tevent_add_timer(srv->ev, srv, tevent_timeval_current_ofs(0, 1000),
                                     wake_handler, srv);
    }
}

void kcm_srv_group_done(void *ctx, bool committed)
{
    struct kcm_srv *srv = ctx;

    TALLOC_FREE(srv->wake);
    for (struct kcm_conn *c = srv->conns, *next; c != NULL && srv->nheld > 0; c = next) {
        bool ok;
        next = c->next;
        if (!c->held) {
            continue;
        }
        c->held = false;
        srv->nheld--;
        if (!committed && refuse_reply(c) != KCM_DISP_REPLY) {
            conn_close(c);
            continue;
        }
        ok = conn_flush(c);
        if (ok && srv->stopping && c->out.len == 0 && c->have == 0) {
            ok = false;
        }
        if (!ok) {
            conn_close(c);
        }
    }
}

bool kcm_srv_more_ready(struct kcm_srv *srv)
{
    struct epoll_event e;

    /* One client at a time (the common case) has nobody to share a commit with: no system
     * call, the group ends at once. */
    return srv->nconns > 1 && srv->probe_fd >= 0 && epoll_wait(srv->probe_fd, &e, 1, 0) > 0;
}

uint64_t kcm_srv_requests(const struct kcm_srv *srv)
{
    return srv->requests;
}

static void probe_add(struct kcm_srv *srv, int fd)
{
    struct epoll_event e = { .events = EPOLLIN };

    if (srv->probe_fd >= 0) {
        (void)epoll_ctl(srv->probe_fd, EPOLL_CTL_ADD, fd, &e);
    }
}

/* Handle the complete frame at the start of the input buffer. */
static bool conn_process(struct kcm_conn *c)
{
    size_t total = frame_total(c);
    const char *why = NULL;
    enum kcm_disposition d;

    if (c->refused) {
        d = refuse_reply(c);
    } else {
        store_group_defer(c->srv->k->store, true);
        d = kcm_dispatch(c->srv->k, &c->peer, c->in->p + 4, total - 4, c, &c->out, &why);
        store_group_defer(c->srv->k->store, false);
        c->srv->requests++;
    }
    /* Keep any pipelined bytes, wipe the request. */
    memmove(c->in->p, c->in->p + total, c->have - total);
    explicit_bzero(c->in->p + (c->have - total), total);
    c->have -= total;
    if (c->have == 0 && c->in->len > KCM_IN_SMALL) {
        TALLOC_FREE(c->in); /* wiped; the next request gets a small buffer again */
    }
    if (d == KCM_DISP_DROP) {
        util_log(UTIL_LOG_WARNING, "closing connection of uid %u (pid %d): %s",
                 (unsigned)c->peer.uid, (int)c->peer.pid, why != NULL ? why : "internal error");
        return false;
    }
    c->sent = 0;
    if (store_group_open(c->srv->k->store)) {
        /* This request changed (or may have seen) data not committed yet: the reply waits for
         * the commit (kcm_srv_group_done), which the event loop runs once no more requests
         * are ready. */
        hold(c);
        return true;
    }
    return conn_flush(c);
}

/* Make room for a frame of total bytes; never realloc: allocate, copy, wipe the old one. */
static bool conn_grow(struct kcm_conn *c, size_t total)
{
    struct util_secbuf *nb;

    if (c->in != NULL && c->in->len >= total) {
        return true;
    }
    nb = util_secbuf_new(c, total < KCM_IN_SMALL ? KCM_IN_SMALL : total);
    if (nb == NULL) {
        util_log(UTIL_LOG_ERROR, "out of secure memory for a %zu-byte request", total);
        return false;
    }
    if (c->in != NULL) {
        memcpy(nb->p, c->in->p, c->have);
        talloc_free(c->in);
    }
    c->in = nb;
    return true;
}

/* One recv per readiness event; process a frame once complete. False: close. */
static bool conn_read(struct kcm_conn *c)
{
    size_t total = frame_total(c);
    size_t want;
    ssize_t n;

    if (!conn_grow(c, total > 0 ? total : 4)) {
        return false;
    }
    want = c->in->len - c->have;
    do {
        n = recv(c->fd, c->in->p + c->have, want, 0);
    } while (n < 0 && errno == EINTR);
    if (n == 0) {
        return false; /* peer closed */
    }
    if (n < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK;
    }
    c->have += (size_t)n;
    total = frame_total(c);
    if (total == 0) {
        return true;
    }
    if (total - 4 < 4 || total - 4 > c->srv->limits.max_frame) {
        util_log(UTIL_LOG_WARNING,
                 "closing connection of uid %u (pid %d): frame length %zu outside 4..%llu "
                 "(max_frame_size)", (unsigned)c->peer.uid, (int)c->peer.pid, total - 4,
                 (unsigned long long)c->srv->limits.max_frame);
        return false;
    }
    if (c->have < total) {
        return conn_grow(c, total);
    }
    /* One request at a time: the reply is written before the next frame is handled. */
    return conn_process(c);
}

/* Serve one readiness event of a connection; it may be closed (freed) when this returns. */
static void conn_serve(struct kcm_conn *c, uint16_t flags)
{
    struct kcm_srv *srv = c->srv;
    bool ok;

    if (c->held) {
        return; /* its reply waits for the group commit (kcm_srv_group_done) */
    }
    if (srv->batch_fd >= 0 && !c->batched && srv->nconns > 1) {
        struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
        /* Closing the fd takes it out again. */
        c->batched = epoll_ctl(srv->batch_fd, EPOLL_CTL_ADD, c->fd, &e) == 0;
    }
    conn_touch(c);
    if (c->out.len > 0) {
        ok = (flags & TEVENT_FD_WRITE) ? conn_flush(c) : true;
    } else {
        ok = conn_read(c);
    }
    if (ok && srv->stopping && c->out.len == 0 && c->have == 0) {
        ok = false; /* shutting down: this reply was the last */
    }
    if (!ok) {
        conn_close(c);
    }
}

/* tevent reports one fd per loop round (and one epoll_wait each): with many clients, most of
 * a request's cost was that round. Serve the other connections that have a request waiting
 * now, in this round: one epoll_wait for up to KCM_BATCH_MAX of them. Only the connection
 * being served can be closed meanwhile (its fd leaves the set before the next call), and
 * memory storage holds no replies, so every pointer in evs stays valid. */
static void serve_batch(struct kcm_srv *srv)
{
    struct epoll_event evs[KCM_BATCH_MAX];
    int n;

    if (srv->batch_fd < 0 || srv->nconns < 2 || srv->stopping) {
        return;
    }
    n = epoll_wait(srv->batch_fd, evs, KCM_BATCH_MAX, 0);
    for (int i = 0; i < n; i++) {
        conn_serve(evs[i].data.ptr, TEVENT_FD_READ);
    }
}

static void conn_fd_handler(struct tevent_context *ev, struct tevent_fd *fde, uint16_t flags,
                            void *pvt)
{
    struct kcm_conn *c = pvt;
    struct kcm_srv *srv = c->srv;

    conn_serve(c, flags);
    serve_batch(srv);
}

static void accept_handler(struct tevent_context *ev, struct tevent_fd *fde, uint16_t flags,
                           void *pvt)
{
    struct kcm_listener *l = pvt;
    struct kcm_srv *srv = l->srv;
    struct kcm_conn *c;
    struct util_peer peer;
    unsigned n;
    int fd = util_peer_accept(l->fd, &peer, "");

    if (fd < 0) {
        return;
    }
    c = talloc_zero(srv, struct kcm_conn);
    if (c == NULL) {
        util_peer_release(&peer);
        close(fd);
        return;
    }
    c->srv = srv;
    c->fd = fd;
    c->peer = peer;
    c->next = srv->conns;
    if (srv->conns != NULL) {
        srv->conns->prev = c;
    }
    srv->conns = c;
    srv->nconns++;
    talloc_set_destructor(c, conn_destructor);
    n = util_uidcount_get(srv->conns_per_uid, c->peer.uid);
    if (n >= srv->limits.max_conns_per_uid) {
        util_log(UTIL_LOG_WARNING,
                 "refusing connection of uid %u (pid %d): %u connections open "
                 "(max_connections_per_uid)", (unsigned)c->peer.uid, (int)c->peer.pid, n);
        c->refused = true;
    }
    if (!util_uidcount_inc(srv->conns_per_uid, c->peer.uid)) {
        talloc_free(c);
        return;
    }
    c->counted = true;
    c->fde = tevent_add_fd(ev, c, fd, TEVENT_FD_READ, conn_fd_handler, c);
    if (c->fde == NULL) {
        talloc_free(c);
        return;
    }
    probe_add(srv, fd); /* closing the fd takes it out again */
    /* libkrb5 sends its first request right after connect(), so it is usually here already:
     * reading it now saves the loop round (an epoll_wait) that would only report it. If it is
     * not, this costs one recv that says EAGAIN, and the fd's readiness brings it as usual. */
    conn_fd_handler(ev, c->fde, TEVENT_FD_READ, c);
}

static int listener_destructor(struct kcm_listener *l)
{
    TALLOC_FREE(l->fde);
    close(l->fd);
    return 0;
}

static int srv_destructor(struct kcm_srv *srv)
{
    if (srv->k->store != NULL) {
        store_group_set_hook(srv->k->store, NULL, NULL);
    }
    if (srv->probe_fd >= 0) {
        close(srv->probe_fd);
    }
    if (srv->batch_fd >= 0) {
        close(srv->batch_fd);
    }
    return 0;
}

struct kcm_srv *kcm_srv_new(TALLOC_CTX *ctx, struct tevent_context *ev, struct kcm_ctx *k,
                            const struct kcm_srv_limits *limits)
{
    struct kcm_srv *srv = talloc_zero(ctx, struct kcm_srv);

    if (srv == NULL) {
        return NULL;
    }
    srv->ev = ev;
    srv->k = k;
    srv->limits = *limits;
    srv->conns_per_uid = util_uidcount_new(srv);
    if (srv->conns_per_uid == NULL) {
        talloc_free(srv);
        return NULL;
    }
    /* Without it every group is committed after one request: correct, just not grouped. With
     * memory storage there are no groups: no probe set, no epoll_ctl per connection. */
    srv->probe_fd = store_group_capable(k->store) ? epoll_create1(EPOLL_CLOEXEC) : -1;
    /* Serving several connections per round would put several requests in one round of a
     * group (store.h); with persistence the group commit decides rounds as before. Without
     * the set (no fds left) every connection is simply served in a round of its own. */
    srv->batch_fd = srv->probe_fd < 0 ? epoll_create1(EPOLL_CLOEXEC) : -1;
    talloc_set_destructor(srv, srv_destructor);
    store_group_set_hook(k->store, kcm_srv_group_done, srv);
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
    probe_add(srv, fd);
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
        if (c->out.len == 0 && c->have == 0) {
            talloc_free(c); /* idle: nothing in flight */
        }
    }
    maybe_done(srv);
}

unsigned kcm_srv_connections(const struct kcm_srv *srv)
{
    return srv->nconns;
}
