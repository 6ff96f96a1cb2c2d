/* GSS-Proxy connections: records in, calls to the worker pool, replies out by xid, several
 * calls in flight per connection under per-uid and global limits; see gp_service.h. */
#include "config.h"

#include <errno.h>
#include <krb5/krb5.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util_buf.h"
#include "common/util_log.h"
#include "proxy/gp_kcm.h"
#include "proxy/gp_rpc.h"
#include "proxy/gp_service_int.h"

#define IN_SMALL 4096
#define IN_MAX (GP_RPC_MAX_RECORD + 4 * GP_RPC_MAX_FRAGMENTS)

/* The peer's executable for logs; the kernel's reconnects come from nfsd kernel threads. */
static const char *peer_what(const struct util_peer *p)
{
    if (p->kthread) {
        return "kernel thread";
    }
    return p->exe[0] != '\0' ? p->exe : "executable unknown";
}

static void conn_close(struct gp_conn *c);
static void conn_input(struct gp_conn *c);
static void conn_flush(struct gp_conn *c);

/* ---- configuration lifetime ---- */

void gp_conf_unref(struct gp_conf *conf)
{
    if (conf != NULL && --conf->refs == 0) {
        talloc_free(conf);
    }
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
    util_uidcount_dec(gp->inflight_per_uid, r->uid);
    gp->inflight--;
    gp_conf_unref(r->conf);
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
    return gp->inflight >= gp->opts.max_inflight ||
           util_uidcount_get(gp->inflight_per_uid, uid) >= gp->opts.max_inflight_per_uid;
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
                 (unsigned)c->peer.uid, peer_what(&c->peer), c->sock_path);
        util_secmem_free(rec);
        return false;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL || !util_uidcount_inc(gp->inflight_per_uid, c->peer.uid)) {
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

void gp_accept_handler(struct tevent_context *ev, struct tevent_fd *fde, uint16_t flags,
                       void *pvt)
{
    struct gp_listener *l = pvt;
    struct gp_service *gp = l->gp;
    struct gp_conn *c;
    struct util_peer peer;
    int fd = util_peer_accept(l->fd, &peer, "gssproxy: ");

    if (fd < 0) {
        return;
    }
    c = talloc_zero(gp, struct gp_conn);
    if (c == NULL) {
        util_peer_release(&peer);
        close(fd);
        return;
    }
    c->gp = gp;
    c->fd = fd;
    c->peer = peer;
    util_peer_details(&c->peer); /* service matching needs the exe */
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
             (unsigned)c->peer.uid, (int)c->peer.pid, peer_what(&c->peer), l->path);
}
