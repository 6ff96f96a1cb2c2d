/* GSS-Proxy listeners, connections and call dispatch; see gp_service.h. */
#include "config.h"
#include "proxy/gp_service.h"

#include <errno.h>
#include <fcntl.h>
#include <krb5/krb5.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "common/util_buf.h"
#include "common/util_log.h"
#include "common/util_peer.h"
#include "common/util_secmem.h"
#include "proxy/gp_conf.h"
#include "proxy/gp_pool.h"
#include "proxy/gp_proc.h"
#include "proxy/gp_rpc.h"

#define IN_SMALL 4096
#define IN_MAX (GP_RPC_MAX_RECORD + 4 * GP_RPC_MAX_FRAGMENTS)
#define KERNEL_RETRY_SECONDS 10
#define UID_BUCKETS 64

struct gp_listener {
    struct gp_listener *next;
    struct gp_service *gp;
    int fd;
    char *path;
    bool bound_here; /* unlink on close; systemd's stay */
    bool from_systemd;
    struct tevent_fd *fde;
};

struct gp_out {
    struct gp_out *next;
    uint8_t *buf; /* secure memory */
    size_t len;
};

struct gp_callreq;

struct gp_conn {
    struct gp_conn *prev, *next;
    struct gp_service *gp;
    int fd;
    struct util_peer peer;
    char *sock_path;
    struct tevent_fd *fde;
    struct util_secbuf *in;
    size_t have;
    struct gp_out *out_head, *out_tail;
    size_t sent;
    struct gp_callreq *calls; /* in flight */
    bool blocked;             /* a complete record waits for an in-flight slot */
    bool dead;                /* closing once the replies are out */
};

struct uid_inflight {
    struct uid_inflight *next;
    uid_t uid;
    unsigned n;
};

struct gp_service {
    struct tevent_context *ev;
    struct gp_service_options opts;
    struct gp_conf *conf;
    struct gp_pool *pool;
    struct gp_listener *listeners;
    struct gp_conn *conns;
    struct uid_inflight *uids[UID_BUCKETS];
    unsigned inflight;
    bool kernel_poked;
    struct tevent_timer *kernel_retry;
    bool stopping;
};

struct gp_callreq {
    struct gp_job job; /* first: the pool hands this pointer back */
    struct gp_callreq *cprev, *cnext;
    struct gp_conn *conn; /* NULL once the connection is gone */
    struct gp_service *gp;
    struct gp_conf *conf; /* counted reference */
    const struct gp_svc *svc;
    struct gp_peer_id peer;
    uid_t uid;
    uint32_t xid, proc;
    uint8_t *args; /* secure memory */
    size_t args_len;
    uint8_t *reply; /* secure memory, from the worker */
    size_t reply_len;
    uint8_t *kcm; /* snapshot of the peer's KCM default cache (secure memory) */
    size_t kcm_len;
};

static void conn_close(struct gp_conn *c);
static void conn_input(struct gp_conn *c);
static void conn_flush(struct gp_conn *c);

/* ---- configuration lifetime ---- */

static void conf_unref(struct gp_conf *conf)
{
    if (conf != NULL && --conf->refs == 0) {
        talloc_free(conf);
    }
}

/* ---- per-uid in-flight counts ---- */

static struct uid_inflight *uid_slot(struct gp_service *gp, uid_t uid, bool create)
{
    struct uid_inflight **head = &gp->uids[uid % UID_BUCKETS];

    for (struct uid_inflight *u = *head; u != NULL; u = u->next) {
        if (u->uid == uid) {
            return u;
        }
    }
    if (!create) {
        return NULL;
    }
    struct uid_inflight *u = talloc_zero(gp, struct uid_inflight);
    if (u != NULL) {
        u->uid = uid;
        u->next = *head;
        *head = u;
    }
    return u;
}

/* ---- worker side ---- */

static pthread_key_t k5_key;
static pthread_once_t k5_once = PTHREAD_ONCE_INIT;

static void k5_free(void *p)
{
    krb5_free_context(p);
}

static void k5_key_init(void)
{
    (void)pthread_key_create(&k5_key, k5_free);
}

static krb5_context thread_k5(void)
{
    krb5_context k;

    pthread_once(&k5_once, k5_key_init);
    k = pthread_getspecific(k5_key);
    if (k == NULL && krb5_init_context(&k) == 0) {
        pthread_setspecific(k5_key, k);
    }
    return k;
}

static void call_run(struct gp_job *job)
{
    struct gp_callreq *r = (struct gp_callreq *)job;
    struct gp_call gc = { 0 };

    gc.mem = talloc_new(NULL);
    gc.conf = r->conf;
    gc.svc = r->svc;
    gc.peer = r->peer;
    gc.k5 = thread_k5();
    gc.kcm = r->kcm;
    gc.kcm_len = r->kcm_len;
    if (gc.mem != NULL && gc.k5 != NULL) {
        r->reply = gp_proc_execute(&gc, r->xid, r->proc, r->args, r->args_len, &r->reply_len);
    }
    if (util_log_get_level() >= UTIL_LOG_DEBUG) {
        util_log(UTIL_LOG_DEBUG, "gssproxy: %s for service %s, uid %u: %s",
                 gp_proc_name(r->proc), r->svc->name, (unsigned)r->uid,
                 r->reply != NULL ? "replied" : "failed");
    }
    talloc_free(gc.mem);
    util_secmem_free(r->args);
    r->args = NULL;
}

/* ---- loop side ---- */

static void call_free(struct gp_callreq *r)
{
    struct gp_service *gp = r->gp;
    struct uid_inflight *u = uid_slot(gp, r->uid, false);

    if (r->conn != NULL) {
        if (r->cprev != NULL) {
            r->cprev->cnext = r->cnext;
        } else {
            r->conn->calls = r->cnext;
        }
        if (r->cnext != NULL) {
            r->cnext->cprev = r->cprev;
        }
    }
    if (u != NULL && u->n > 0) {
        u->n--;
    }
    gp->inflight--;
    conf_unref(r->conf);
    util_secmem_free(r->args);
    util_secmem_free(r->reply);
    util_secmem_free(r->kcm);
    free(r);
}

static void queue_reply(struct gp_conn *c, uint8_t *buf, size_t len)
{
    struct gp_out *o = talloc_zero(c, struct gp_out);

    if (o == NULL) {
        util_secmem_free(buf);
        c->dead = true;
        return;
    }
    o->buf = buf;
    o->len = len;
    if (c->out_tail != NULL) {
        c->out_tail->next = o;
    } else {
        c->out_head = o;
    }
    c->out_tail = o;
}

static void unblock_waiting(struct gp_service *gp)
{
    for (struct gp_conn *c = gp->conns, *next; c != NULL; c = next) {
        next = c->next;
        if (c->blocked) {
            c->blocked = false;
            conn_input(c); /* may close c */
        }
    }
}

static void call_done(struct gp_job *job)
{
    struct gp_callreq *r = (struct gp_callreq *)job;
    struct gp_conn *c = r->conn;
    struct gp_service *gp = r->gp;

    if (c != NULL) {
        if (r->reply != NULL) {
            queue_reply(c, r->reply, r->reply_len);
            r->reply = NULL;
        } else {
            c->dead = true; /* result could not be produced: close, as gssproxy does */
        }
    }
    call_free(r);
    if (c != NULL) {
        conn_flush(c);
    }
    if (!gp->stopping) {
        unblock_waiting(gp);
    }
}

static int conn_destructor(struct gp_conn *c)
{
    struct gp_service *gp = c->gp;

    for (struct gp_callreq *r = c->calls; r != NULL; r = r->cnext) {
        r->conn = NULL; /* the worker finishes; the reply is dropped */
    }
    for (struct gp_out *o = c->out_head; o != NULL; o = o->next) {
        util_secmem_free(o->buf);
    }
    TALLOC_FREE(c->fde);
    if (c->fd >= 0) {
        close(c->fd);
    }
    util_peer_release(&c->peer);
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else if (gp->conns == c) {
        gp->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    return 0;
}

static void conn_close(struct gp_conn *c)
{
    talloc_free(c);
}

static void conn_update_flags(struct gp_conn *c)
{
    uint16_t f = 0;

    if (!c->blocked && !c->dead) {
        f |= TEVENT_FD_READ;
    }
    if (c->out_head != NULL) {
        f |= TEVENT_FD_WRITE;
    }
    tevent_fd_set_flags(c->fde, f);
}

/* Write queued replies; closes the connection if it is dead and drained. */
static void conn_flush(struct gp_conn *c)
{
    while (c->out_head != NULL) {
        struct gp_out *o = c->out_head;
        ssize_t n = send(c->fd, o->buf + c->sent, o->len - c->sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            }
            conn_close(c);
            return;
        }
        c->sent += (size_t)n;
        if (c->sent < o->len) {
            continue;
        }
        c->sent = 0;
        c->out_head = o->next;
        if (c->out_head == NULL) {
            c->out_tail = NULL;
        }
        util_secmem_free(o->buf);
        talloc_free(o);
    }
    if (c->dead && c->out_head == NULL && c->calls == NULL) {
        conn_close(c);
        return;
    }
    conn_update_flags(c);
}

static bool reply_now(struct gp_conn *c, const uint8_t *hdr, size_t len)
{
    uint8_t *buf = util_secmem_alloc(4 + len);

    if (buf == NULL) {
        return false;
    }
    util_put_be32(buf, GP_RPC_LAST_FRAG | (uint32_t)len);
    memcpy(buf + 4, hdr, len);
    queue_reply(c, buf, 4 + len);
    return true;
}

static bool limits_reached(struct gp_service *gp, uid_t uid)
{
    struct uid_inflight *u = uid_slot(gp, uid, false);

    return gp->inflight >= gp->opts.max_inflight ||
           (u != NULL && u->n >= gp->opts.max_inflight_per_uid);
}

static bool svc_has_ccache(const struct gp_svc *svc)
{
    for (size_t i = 0; i < svc->ncred_store; i++) {
        if (strncmp(svc->cred_store[i], "ccache:", 7) == 0) {
            return true;
        }
    }
    return false;
}

/* One complete record at the start of c->in: consumed bytes raw. False: close. */
static bool handle_record(struct gp_conn *c, size_t consumed, size_t reclen)
{
    struct gp_service *gp = c->gp;
    uint8_t hdr[GP_RPC_REPLY_HDR_MAX];
    size_t hlen = 0;
    struct gp_rpc_call call;
    struct gp_callreq *r;
    const struct gp_svc *svc;
    uint8_t *rec;
    enum gp_rpc_disposition d;
    struct uid_inflight *u;

    rec = util_secmem_alloc(reclen > 0 ? reclen : 1);
    if (rec == NULL) {
        return false;
    }
    gp_rm_assemble(c->in->p, consumed, rec);
    memmove(c->in->p, c->in->p + consumed, c->have - consumed);
    explicit_bzero(c->in->p + (c->have - consumed), consumed);
    c->have -= consumed;

    d = gp_rpc_parse_call(rec, reclen, &call, hdr, &hlen);
    if (d == GP_RPC_CLOSE) {
        util_log(UTIL_LOG_WARNING, "gssproxy: closing connection of uid %u (pid %d): not an "
                 "RPC call", (unsigned)c->peer.uid, (int)c->peer.pid);
        util_secmem_free(rec);
        return false;
    }
    if (d == GP_RPC_REPLY_NOW) {
        util_secmem_free(rec);
        return reply_now(c, hdr, hlen);
    }
    svc = gp_conf_match(gp->conf, c->peer.uid, c->peer.exe, c->sock_path);
    if (svc == NULL) {
        util_log(UTIL_LOG_WARNING, "gssproxy: no service matches uid %u (%s) on %s: closing",
                 (unsigned)c->peer.uid, c->peer.exe[0] ? c->peer.exe : "?", c->sock_path);
        util_secmem_free(rec);
        return false;
    }
    r = calloc(1, sizeof(*r));
    u = uid_slot(gp, c->peer.uid, true);
    if (r == NULL || u == NULL) {
        free(r);
        util_secmem_free(rec);
        return false;
    }
    r->job.run = call_run;
    r->job.done = call_done;
    r->conn = c;
    r->gp = gp;
    r->conf = gp->conf;
    gp->conf->refs++;
    r->svc = svc;
    r->uid = c->peer.uid;
    r->peer.uid = c->peer.uid;
    r->peer.gid = c->peer.gid;
    r->peer.pid = c->peer.pid;
    r->xid = call.xid;
    r->proc = call.proc;
    /* Keep only the arguments; the header bytes are not secret. */
    r->args_len = call.args_len;
    memmove(rec, call.args, call.args_len);
    r->args = rec;
    if ((r->proc == 6 || r->proc == 8) && !svc_has_ccache(svc)) {
        /* Initiation may need the peer's own tickets: read them here, on the loop, where the
         * store lives and the access rules apply. */
        r->kcm = gp_kcm_snapshot(&gp->opts.kcm, &c->peer, &r->kcm_len);
    }
    r->cnext = c->calls;
    if (c->calls != NULL) {
        c->calls->cprev = r;
    }
    c->calls = r;
    u->n++;
    gp->inflight++;
    gp_pool_submit(gp->pool, &r->job);
    return true;
}

/* Dispatch every complete record in the input; stop at the in-flight limits. */
static void conn_input(struct gp_conn *c)
{
    for (;;) {
        size_t consumed = 0, reclen = 0;
        enum gp_rm_status st;

        if (c->have == 0) {
            break;
        }
        st = gp_rm_scan(c->in->p, c->have, &consumed, &reclen);
        if (st == GP_RM_TOO_BIG) {
            util_log(UTIL_LOG_WARNING, "gssproxy: closing connection of uid %u (pid %d): "
                     "record over %u bytes", (unsigned)c->peer.uid, (int)c->peer.pid,
                     GP_RPC_MAX_RECORD);
            conn_close(c);
            return;
        }
        if (st == GP_RM_NEED_MORE) {
            break;
        }
        if (limits_reached(c->gp, c->peer.uid)) {
            c->blocked = true;
            break;
        }
        if (!handle_record(c, consumed, reclen)) {
            conn_close(c);
            return;
        }
    }
    conn_flush(c);
}

/* Grow the input buffer to hold need bytes: allocate, copy, wipe (never realloc). */
static bool conn_grow(struct gp_conn *c, size_t need)
{
    struct util_secbuf *nb;
    size_t cap;

    if (c->in != NULL && c->in->len >= need) {
        return true;
    }
    if (need > IN_MAX) {
        return false;
    }
    cap = c->in != NULL ? c->in->len * 2 : IN_SMALL;
    while (cap < need) {
        cap *= 2;
    }
    if (cap > IN_MAX) {
        cap = IN_MAX;
    }
    nb = util_secbuf_new(c, cap);
    if (nb == NULL) {
        return false;
    }
    if (c->in != NULL) {
        memcpy(nb->p, c->in->p, c->have);
        talloc_free(c->in);
    }
    c->in = nb;
    return true;
}

static void conn_read(struct gp_conn *c)
{
    size_t consumed = 0, reclen = 0;
    ssize_t n;

    if (c->in != NULL && c->have > 0 &&
        gp_rm_scan(c->in->p, c->have, &consumed, &reclen) == GP_RM_NEED_MORE) {
        if (!conn_grow(c, consumed)) {
            conn_close(c);
            return;
        }
    } else if (!conn_grow(c, c->have + 4)) {
        conn_close(c);
        return;
    }
    if (c->have == c->in->len && !conn_grow(c, c->have + IN_SMALL)) {
        conn_close(c);
        return;
    }
    do {
        n = recv(c->fd, c->in->p + c->have, c->in->len - c->have, 0);
    } while (n < 0 && errno == EINTR);
    if (n == 0) {
        /* Peer closed its side: finish nothing more; in-flight replies are dropped. */
        conn_close(c);
        return;
    }
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            conn_close(c);
        }
        return;
    }
    c->have += (size_t)n;
    conn_input(c);
}

static void conn_handler(struct tevent_context *ev, struct tevent_fd *fde, uint16_t flags,
                         void *pvt)
{
    struct gp_conn *c = pvt;

    if (flags & TEVENT_FD_WRITE) {
        conn_flush(c);
        return; /* re-entered for READ on the next loop turn */
    }
    if (flags & TEVENT_FD_READ) {
        conn_read(c);
    }
}

static void accept_handler(struct tevent_context *ev, struct tevent_fd *fde, uint16_t flags,
                           void *pvt)
{
    struct gp_listener *l = pvt;
    struct gp_service *gp = l->gp;
    struct gp_conn *c;
    int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

    if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
            util_log(UTIL_LOG_WARNING, "gssproxy: accept failed: %s", strerror(errno));
        }
        return;
    }
    c = talloc_zero(gp, struct gp_conn);
    if (c == NULL) {
        close(fd);
        return;
    }
    c->gp = gp;
    c->fd = fd;
    c->peer.pidfd = -1;
    if (util_peer_from_socket(fd, &c->peer) != 0) {
        util_log(UTIL_LOG_WARNING, "gssproxy: cannot identify peer: %s", strerror(errno));
        close(fd);
        talloc_free(c);
        return;
    }
    c->sock_path = talloc_strdup(c, l->path);
    c->next = gp->conns;
    if (gp->conns != NULL) {
        gp->conns->prev = c;
    }
    gp->conns = c;
    talloc_set_destructor(c, conn_destructor);
    c->fde = tevent_add_fd(ev, c, fd, TEVENT_FD_READ, conn_handler, c);
    if (c->fde == NULL || c->sock_path == NULL) {
        talloc_free(c);
        return;
    }
    util_log(UTIL_LOG_DEBUG, "gssproxy: connection from uid %u pid %d (%s) on %s",
             (unsigned)c->peer.uid, (int)c->peer.pid, c->peer.exe, l->path);
}

/* ---- listeners ---- */

static int listener_destructor(struct gp_listener *l)
{
    TALLOC_FREE(l->fde);
    close(l->fd);
    if (l->bound_here) {
        unlink(l->path);
    }
    return 0;
}

static int bind_path(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct stat sb;
    char dir[sizeof(sa.sun_path)];
    mode_t old;
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        util_log(UTIL_LOG_ERROR, "gssproxy: socket path '%s' is too long", path);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    snprintf(dir, sizeof(dir), "%s", path);
    (void)mkdir(dirname(dir), 0755);
    if (lstat(path, &sb) == 0) {
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (!S_ISSOCK(sb.st_mode)) {
            util_log(UTIL_LOG_ERROR, "gssproxy: %s exists and is not a socket", path);
            if (probe >= 0) {
                close(probe);
            }
            return -1;
        }
        if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            close(probe);
            util_log(UTIL_LOG_ERROR, "gssproxy: another server is listening on %s", path);
            return -1;
        }
        if (probe >= 0) {
            close(probe);
        }
        unlink(path);
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    /* Anyone may connect (mode 0666, as gssproxy); services decide by peer identity. */
    old = umask(0111);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        umask(old);
        util_log(UTIL_LOG_ERROR, "gssproxy: cannot bind %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    umask(old);
    if (listen(fd, 128) != 0) {
        util_log(UTIL_LOG_ERROR, "gssproxy: cannot listen on %s: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    return fd;
}

static struct gp_listener *find_listener(struct gp_service *gp, const char *path)
{
    for (struct gp_listener *l = gp->listeners; l != NULL; l = l->next) {
        if (strcmp(l->path, path) == 0) {
            return l;
        }
    }
    return NULL;
}

static int add_listener(struct gp_service *gp, const char *path, int fd, bool bound_here)
{
    struct gp_listener *l = talloc_zero(gp, struct gp_listener);

    if (l == NULL) {
        close(fd);
        return -1;
    }
    l->gp = gp;
    l->fd = fd;
    l->path = talloc_strdup(l, path);
    l->bound_here = bound_here;
    l->from_systemd = !bound_here;
    talloc_set_destructor(l, listener_destructor);
    l->fde = tevent_add_fd(gp->ev, l, fd, TEVENT_FD_READ, accept_handler, l);
    if (l->fde == NULL || l->path == NULL) {
        talloc_free(l);
        return -1;
    }
    l->next = gp->listeners;
    gp->listeners = l;
    return 0;
}

/* Bring the listeners in line with conf: open new paths, close dropped ones (not systemd's). */
static int sync_listeners(struct gp_service *gp, const struct gp_conf *conf)
{
    int n = sd_listen_fds(0);

    for (size_t i = 0; i < conf->nsockets; i++) {
        const char *path = conf->sockets[i];
        int fd = -1;
        if (find_listener(gp, path) != NULL) {
            continue;
        }
        for (int j = 0; j < n; j++) {
            if (sd_is_socket_unix(SD_LISTEN_FDS_START + j, SOCK_STREAM, 1, path, 0) > 0) {
                fd = SD_LISTEN_FDS_START + j;
            }
        }
        if (fd >= 0) {
            (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
            (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
            if (add_listener(gp, path, fd, false) != 0) {
                return -1;
            }
            util_log(UTIL_LOG_INFO, "gssproxy: serving %s (from systemd)", path);
            continue;
        }
        fd = bind_path(path);
        if (fd < 0 || add_listener(gp, path, fd, true) != 0) {
            return -1;
        }
        util_log(UTIL_LOG_INFO, "gssproxy: listening on %s", path);
    }
    for (struct gp_listener **pl = &gp->listeners; *pl != NULL;) {
        struct gp_listener *l = *pl;
        bool keep = l->from_systemd;
        for (size_t i = 0; i < conf->nsockets && !keep; i++) {
            keep = strcmp(conf->sockets[i], l->path) == 0;
        }
        if (keep) {
            pl = &l->next;
            continue;
        }
        *pl = l->next;
        util_log(UTIL_LOG_INFO, "gssproxy: no longer listening on %s", l->path);
        talloc_free(l);
    }
    return 0;
}

/* ---- kernel nfsd ---- */

static void kernel_retry(struct tevent_context *ev, struct tevent_timer *te, struct timeval now,
                         void *pvt);

/* Our sockets are listening already: the kernel connects inside this write. */
static void kernel_poke(struct gp_service *gp)
{
    const char *path = gp->opts.use_gss_proxy != NULL ? gp->opts.use_gss_proxy
                                                      : GP_KERNEL_USE_GSS_PROXY;
    int fd;

    if (gp->kernel_poked || gp->conf == NULL || !gp->conf->kernel_nfsd) {
        return;
    }
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = write(fd, "1", 1);
        int e = errno;
        close(fd);
        if (n == 1) {
            gp->kernel_poked = true;
            util_log(UTIL_LOG_INFO, "gssproxy: kernel nfsd uses us (%s = 1)", path);
            return;
        }
        util_log(UTIL_LOG_WARNING, "gssproxy: writing 1 to %s failed: %s", path, strerror(e));
        if (e == EBUSY) {
            return; /* latched to the legacy upcall until reboot: retrying cannot help */
        }
    } else if (errno != ENOENT) {
        util_log(UTIL_LOG_WARNING, "gssproxy: cannot open %s: %s", path, strerror(errno));
    } else {
        util_log(UTIL_LOG_INFO, "gssproxy: %s absent (auth_rpcgss not loaded?); retrying "
                 "every %d s", path, KERNEL_RETRY_SECONDS);
    }
    if (gp->kernel_retry == NULL) {
        gp->kernel_retry = tevent_add_timer(gp->ev, gp,
                                            tevent_timeval_current_ofs(KERNEL_RETRY_SECONDS, 0),
                                            kernel_retry, gp);
    }
}

static void kernel_retry(struct tevent_context *ev, struct tevent_timer *te, struct timeval now,
                         void *pvt)
{
    struct gp_service *gp = pvt;

    gp->kernel_retry = NULL;
    kernel_poke(gp);
}

/* ---- lifecycle ---- */

static int service_destructor(struct gp_service *gp)
{
    gp->stopping = true;
    /* Workers first: running calls finish, their done() still sees the connections. */
    TALLOC_FREE(gp->pool);
    while (gp->conns != NULL) {
        talloc_free(gp->conns);
    }
    while (gp->listeners != NULL) {
        struct gp_listener *l = gp->listeners;
        gp->listeners = l->next;
        talloc_free(l);
    }
    conf_unref(gp->conf);
    gp->conf = NULL;
    return 0;
}

static struct gp_conf *load(struct gp_service *gp)
{
    char err[1024];
    struct gp_conf *conf = gp_conf_load(NULL, gp->opts.config_file, gp->opts.config_dir,
                                        gp->opts.socket, err, sizeof(err));

    if (conf == NULL) {
        util_log(UTIL_LOG_ERROR, "gssproxy: configuration error: %s", err);
        return NULL;
    }
    conf->refs = 1;
    if (conf->nsvcs == 0) {
        util_log(UTIL_LOG_WARNING, "gssproxy: no [service/...] section: every call will be "
                 "refused");
    }
    return conf;
}

/* "-" and "none" switch a file or directory off (cachet.conf values cannot be empty). */
static const char *none_is_empty(const char *s)
{
    if (s == NULL || strcmp(s, "-") == 0 || strcmp(s, "none") == 0) {
        return "";
    }
    return s;
}

int gp_service_start(TALLOC_CTX *ctx, struct tevent_context *ev,
                     const struct gp_service_options *opts, struct gp_service **out)
{
    struct gp_service *gp = talloc_zero(ctx, struct gp_service);

    *out = NULL;
    if (gp == NULL) {
        return -1;
    }
    /* Our own GSSAPI calls must never be interposed back to us. */
    setenv("GSS_USE_PROXY", "NO", 1);
    gp->ev = ev;
    gp->opts = *opts;
    gp->opts.config_file = talloc_strdup(gp, none_is_empty(opts->config_file));
    gp->opts.config_dir = talloc_strdup(gp, none_is_empty(opts->config_dir));
    gp->opts.socket = talloc_strdup(gp, opts->socket ? opts->socket : GP_DEFAULT_SOCKET);
    if (opts->use_gss_proxy != NULL) {
        gp->opts.use_gss_proxy = talloc_strdup(gp, opts->use_gss_proxy);
    }
    if (gp->opts.max_inflight == 0) {
        gp->opts.max_inflight = GP_DEFAULT_MAX_INFLIGHT;
    }
    if (gp->opts.max_inflight_per_uid == 0) {
        gp->opts.max_inflight_per_uid = GP_DEFAULT_MAX_INFLIGHT_PER_UID;
    }
    talloc_set_destructor(gp, service_destructor);
    gp->conf = load(gp);
    if (gp->conf == NULL || sync_listeners(gp, gp->conf) != 0) {
        talloc_free(gp);
        return -1;
    }
    gp->pool = gp_pool_new(gp, ev, gp->conf->workers);
    if (gp->pool == NULL) {
        util_log(UTIL_LOG_ERROR, "gssproxy: cannot start worker threads");
        talloc_free(gp);
        return -1;
    }
    util_log(UTIL_LOG_INFO, "gssproxy: %zu services, %u workers", gp->conf->nsvcs,
             gp_pool_threads(gp->pool));
    kernel_poke(gp);
    *out = gp;
    return 0;
}

bool gp_service_owns_fd(const struct gp_service *gp, int fd)
{
    if (gp == NULL) {
        return false;
    }
    for (const struct gp_listener *l = gp->listeners; l != NULL; l = l->next) {
        if (l->fd == fd) {
            return true;
        }
    }
    return false;
}

void gp_service_reload(struct gp_service *gp)
{
    struct gp_conf *fresh;

    if (gp == NULL) {
        return;
    }
    fresh = load(gp);
    if (fresh == NULL) {
        util_log(UTIL_LOG_ERROR, "gssproxy: reload failed, keeping the running configuration");
        return;
    }
    if (sync_listeners(gp, fresh) != 0) {
        util_log(UTIL_LOG_ERROR, "gssproxy: reload: cannot open the new sockets, keeping the "
                 "running configuration");
        conf_unref(fresh);
        (void)sync_listeners(gp, gp->conf);
        return;
    }
    conf_unref(gp->conf); /* freed once the calls that matched it are done */
    gp->conf = fresh;
    util_log(UTIL_LOG_INFO, "gssproxy: New config loaded successfully.");
    kernel_poke(gp);
}

void gp_service_stop(struct gp_service *gp)
{
    talloc_free(gp);
}
