/* The control socket server; see ctl_srv.h. */
#include "config.h"
#include "ctl/ctl_srv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/util_i18n.h"
#include "common/util_log.h"
#include "common/util_secmem.h"
#include "ctl/ctl_codec.h"

#define CTL_IDLE_SECONDS 10

struct ctl_srv {
    struct tevent_context *ev;
    struct ctl_env env;
    int fd;
    char *path;
    struct tevent_fd *fde;
};

struct ctl_conn {
    struct ctl_srv *srv;
    int fd;
    pid_t pid;
    struct tevent_fd *fde;
    struct tevent_timer *idle;
    uint8_t in[4 + CTL_MAX_REQUEST];
    size_t have;
    uint8_t *out;
    size_t out_len;
    size_t sent;
};

/* ---- building replies ---- */

static bool count_sessions(struct store_owner *o, void *arg)
{
    if (o->key.session != ACCESS_NO_SESSION) {
        (*(uint64_t *)arg)++;
    }
    return true;
}

static void status_body(struct ctl_srv *srv, struct util_wr *wr)
{
    struct store_stats ss;
    struct util_secmem_stats ms;
    struct ctl_status_info st = { 0 };
    const struct access_policy *pol = srv->env.pol;

    store_stats(srv->env.store, &ss);
    util_secmem_stats(&ms);
    store_foreach_owner(srv->env.store, count_sessions, &st.sessions);
    st.version = PACKAGE_VERSION;
    st.storage = srv->env.storage;
    st.scope = pol->scope == ACCESS_SCOPE_SESSION ? "session" : "user";
    st.uptime = (uint64_t)(time(NULL) - srv->env.started);
    st.owners = ss.owners;
    st.caches = ss.caches;
    st.creds = ss.creds;
    st.bytes = ss.bytes;
    st.logind_sessions = pol->reg != NULL ? access_registry_nlogins(pol->reg) : 0;
    st.logind_connected = pol->reg != NULL && access_registry_bus_connected(pol->reg);
    st.connections = srv->env.connections != NULL ? srv->env.connections(srv->env.arg) : 0;
    st.mem_mapped = ms.mapped_bytes;
    st.mem_locked = ms.locked_bytes;
    st.mem_used = ms.used_bytes;
    st.secretmem = ms.secretmem;
    ctl_status_write(wr, &st);
}

struct list_arg {
    struct ctl_srv *srv;
    struct util_wr *wr;
    uint32_t n;
};

static const char *logind_id_of(const struct access_policy *pol, uint32_t session)
{
    if (pol->reg == NULL || session == ACCESS_NO_SESSION) {
        return "";
    }
    for (struct access_login *l = access_registry_logins(pol->reg); l != NULL; l = l->next) {
        if (l->audit == session) {
            return l->id;
        }
    }
    return "";
}

static uint32_t cache_expiry(const struct store_cache *c)
{
    uint32_t latest = 0;

    for (const struct store_cred *cr = c->creds; cr != NULL; cr = cr->next) {
        struct util_rd rd;
        struct util_data first;
        if (kcm_cred_is_config(&cr->v)) {
            continue;
        }
        util_rd_init(&rd, cr->v.server.comps.p, cr->v.server.comps.len);
        first = util_rd_data(&rd);
        if (util_rd_ok(&rd) && first.len == 6 && memcmp(first.p, "krbtgt", 6) == 0) {
            return cr->v.endtime;
        }
        if (cr->v.endtime > latest) {
            latest = cr->v.endtime;
        }
    }
    return latest;
}

static bool list_owner(struct store_owner *o, void *arg)
{
    struct list_arg *la = arg;
    char dbuf[32];
    struct ctl_owner_info oi = {
        .uid = o->key.uid,
        .session = o->key.session,
        .logind_id = logind_id_of(la->srv->env.pol, o->key.session),
        .default_name = store_default_name(o, &o->key, dbuf, sizeof(dbuf)),
        .ncaches = (uint32_t)o->ncaches,
    };

    ctl_owner_write(la->wr, &oi);
    for (const struct store_cache *c = o->caches; c != NULL; c = c->next) {
        char princ[512];
        struct ctl_cache_info ci = { .name = c->name, .principal = princ,
                                     .ncreds = (uint32_t)c->ncreds, .expires = cache_expiry(c) };
        if (c->princ_blob != NULL) {
            ctl_format_princ(&c->princ, princ, sizeof(princ));
        } else {
            princ[0] = '\0';
        }
        ctl_cache_write(la->wr, &ci);
    }
    la->n++;
    return true;
}

static void list_body(struct ctl_srv *srv, struct util_wr *wr)
{
    struct list_arg la = { srv, wr, 0 };
    uint8_t *countp = util_wr_reserve(wr, 4);

    store_foreach_owner(srv->env.store, list_owner, &la);
    if (countp != NULL) {
        util_put_be32(countp, la.n);
    }
}

/* Called twice, to measure and then to write, like the KCM replies. */
static uint32_t build(struct ctl_srv *srv, const struct ctl_req *req, uint64_t purged,
                      struct util_wr *wr)
{
    ctl_reply_begin(wr);
    switch (req->op) {
    case CTL_OP_STATUS:
        status_body(srv, wr);
        return CTL_OK;
    case CTL_OP_LIST:
        list_body(srv, wr);
        return CTL_OK;
    case CTL_OP_PURGE:
        ctl_wr_u64(wr, purged);
        return CTL_OK;
    case CTL_OP_RELOAD:
        return CTL_OK;
    }
    return CTL_ERR_UNSUPPORTED;
}

static uint64_t do_purge(struct ctl_srv *srv, const struct ctl_req *req)
{
    switch (req->purge_kind) {
    case CTL_PURGE_EXPIRED:
        return store_purge_expired(srv->env.store, (uint32_t)time(NULL));
    case CTL_PURGE_UID:
        return access_wipe(srv->env.pol, srv->env.store, (int64_t)req->purge_value,
                           ACCESS_NO_SESSION);
    case CTL_PURGE_SESSION:
        return access_wipe(srv->env.pol, srv->env.store, -1, req->purge_value);
    }
    return 0;
}

static void conn_reply(struct ctl_conn *c, const struct ctl_req *req, bool parsed)
{
    struct ctl_srv *srv = c->srv;
    struct util_wr wr;
    uint64_t purged = 0;
    uint32_t status = CTL_OK;

    if (!parsed) {
        status = CTL_ERR_BAD_REQUEST;
    } else if (req->op == CTL_OP_PURGE) {
        purged = do_purge(srv, req);
        util_log(UTIL_LOG_INFO, "cachetctl (pid %d): purge %s %u: %llu %s removed", (int)c->pid,
                 req->purge_kind == CTL_PURGE_EXPIRED ? "--expired"
                 : req->purge_kind == CTL_PURGE_UID   ? "--uid"
                                                      : "--session",
                 (unsigned)req->purge_value, (unsigned long long)purged,
                 req->purge_kind == CTL_PURGE_EXPIRED ? "credentials" : "caches");
    } else if (req->op == CTL_OP_RELOAD) {
        util_log(UTIL_LOG_INFO, "cachetctl (pid %d): reload", (int)c->pid);
        if (srv->env.reload != NULL) {
            srv->env.reload(srv->env.arg);
        }
    }
    /* What we show must be on disk: commit KCM's open group (if any) first. */
    store_group_end(srv->env.store);
    util_wr_init(&wr, NULL, 0);
    if (status == CTL_OK) {
        status = build(srv, req, purged, &wr);
    }
    if (status != CTL_OK) {
        util_wr_init(&wr, NULL, 0);
        ctl_reply_begin(&wr);
    }
    if (!util_wr_ok(&wr) || wr.len - 4 > CTL_MAX_REPLY) {
        status = CTL_ERR_INTERNAL;
        util_wr_init(&wr, NULL, 0);
        ctl_reply_begin(&wr);
    }
    c->out = talloc_size(c, wr.len);
    if (c->out == NULL) {
        c->out_len = 0;
        return;
    }
    c->out_len = wr.len;
    util_wr_init(&wr, c->out, c->out_len);
    if (status == CTL_OK) {
        (void)build(srv, req, purged, &wr);
    } else {
        ctl_reply_begin(&wr);
    }
    (void)ctl_reply_finish(&wr, status);
}

/* ---- connection I/O ---- */

static int conn_destructor(struct ctl_conn *c)
{
    TALLOC_FREE(c->fde);
    if (c->fd >= 0) {
        close(c->fd);
    }
    return 0;
}

static void conn_idle(struct tevent_context *ev, struct tevent_timer *te, struct timeval now,
                      void *pvt)
{
    struct ctl_conn *c = pvt;

    c->idle = NULL;
    talloc_free(c);
}

static void conn_handler(struct tevent_context *ev, struct tevent_fd *fde, uint16_t flags,
                         void *pvt)
{
    struct ctl_conn *c = pvt;

    if (c->out != NULL) {
        while (c->sent < c->out_len) {
            ssize_t n = send(c->fd, c->out + c->sent, c->out_len - c->sent, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                return;
            }
            if (n < 0) {
                break;
            }
            c->sent += (size_t)n;
        }
        talloc_free(c); /* one request per connection */
        return;
    }
    for (;;) {
        size_t want = c->have < 4 ? 4 - c->have : 4 + util_be32(c->in) - c->have;
        ssize_t n = recv(c->fd, c->in + c->have, want, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        if (n <= 0) {
            talloc_free(c);
            return;
        }
        c->have += (size_t)n;
        if (c->have == 4 && (util_be32(c->in) < 4 || util_be32(c->in) > CTL_MAX_REQUEST)) {
            util_log(UTIL_LOG_WARNING, "control socket: bad frame length from pid %d",
                     (int)c->pid);
            talloc_free(c);
            return;
        }
        if (c->have >= 4 && c->have == 4 + util_be32(c->in)) {
            struct ctl_req req;
            bool ok = ctl_req_parse(c->in + 4, c->have - 4, &req);
            conn_reply(c, &req, ok);
            if (c->out == NULL) {
                talloc_free(c);
                return;
            }
            TEVENT_FD_NOT_READABLE(c->fde);
            TEVENT_FD_WRITEABLE(c->fde);
            return;
        }
    }
}

static void accept_handler(struct tevent_context *ev, struct tevent_fd *fde, uint16_t flags,
                           void *pvt)
{
    struct ctl_srv *srv = pvt;
    struct ucred cr;
    socklen_t len = sizeof(cr);
    struct ctl_conn *c;
    int fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

    if (fd < 0) {
        return;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 || cr.uid != 0) {
        util_log(UTIL_LOG_WARNING, "control socket: refusing uid %u (pid %d): root only",
                 len == sizeof(cr) ? (unsigned)cr.uid : 0u, len == sizeof(cr) ? (int)cr.pid : 0);
        close(fd);
        return;
    }
    c = talloc_zero(srv, struct ctl_conn);
    if (c == NULL) {
        close(fd);
        return;
    }
    c->srv = srv;
    c->fd = fd;
    c->pid = cr.pid;
    talloc_set_destructor(c, conn_destructor);
    c->fde = tevent_add_fd(ev, c, fd, TEVENT_FD_READ, conn_handler, c);
    c->idle = tevent_add_timer(ev, c, tevent_timeval_current_ofs(CTL_IDLE_SECONDS, 0), conn_idle,
                               c);
    if (c->fde == NULL || c->idle == NULL) {
        talloc_free(c);
    }
}

static int srv_destructor(struct ctl_srv *srv)
{
    ctl_srv_close(srv);
    return 0;
}

struct ctl_srv *ctl_srv_new(TALLOC_CTX *ctx, struct tevent_context *ev, const struct ctl_env *env)
{
    struct ctl_srv *srv = talloc_zero(ctx, struct ctl_srv);

    if (srv != NULL) {
        srv->ev = ev;
        srv->env = *env;
        srv->fd = -1;
        talloc_set_destructor(srv, srv_destructor);
    }
    return srv;
}

int ctl_srv_listen(struct ctl_srv *srv, const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char dir[sizeof(sa.sun_path)];
    char *slash;
    struct stat sb;
    mode_t old;
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path) || path[0] != '/') {
        snprintf(err, errlen, _("control socket path '%s' is not an absolute path of at most "
                                "%zu bytes"), path, sizeof(sa.sun_path) - 1);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    memcpy(dir, path, strlen(path) + 1);
    slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            snprintf(err, errlen, _("cannot create %s: %s"), dir, strerror(errno));
            return -1;
        }
    }
    if (lstat(path, &sb) == 0) {
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (!S_ISSOCK(sb.st_mode)) {
            if (probe >= 0) {
                close(probe);
            }
            snprintf(err, errlen, _("%s exists and is not a socket"), path);
            return -1;
        }
        if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            close(probe);
            snprintf(err, errlen, _("another server is already listening on %s"), path);
            return -1;
        }
        if (probe >= 0) {
            close(probe);
        }
        unlink(path);
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    old = umask(0177); /* born 0600: no window in which others could connect */
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        umask(old);
        snprintf(err, errlen, _("cannot bind %s: %s"), path, strerror(errno));
        close(fd);
        return -1;
    }
    umask(old);
    if (chmod(path, 0600) != 0 || listen(fd, 16) != 0) {
        snprintf(err, errlen, _("cannot listen on %s: %s"), path, strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    srv->fd = fd;
    srv->path = talloc_strdup(srv, path);
    srv->fde = tevent_add_fd(srv->ev, srv, fd, TEVENT_FD_READ, accept_handler, srv);
    if (srv->path == NULL || srv->fde == NULL) {
        ctl_srv_close(srv);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void ctl_srv_close(struct ctl_srv *srv)
{
    TALLOC_FREE(srv->fde);
    if (srv->fd >= 0) {
        close(srv->fd);
        srv->fd = -1;
        if (srv->path != NULL) {
            unlink(srv->path);
        }
    }
    TALLOC_FREE(srv->path);
}
