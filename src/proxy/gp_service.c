/* GSS-Proxy service lifecycle: configuration load and reload, listening sockets (own or
 * systemd's), the kernel nfsd handshake; see gp_service.h. Connections are in gp_conn.c. */
#include "config.h"
#include "proxy/gp_service.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "common/util_log.h"
#include "proxy/gp_service_int.h"

#define KERNEL_RETRY_SECONDS 10

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
    l->fde = tevent_add_fd(gp->ev, l, fd, TEVENT_FD_READ, gp_accept_handler, l);
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
    gp_conf_unref(gp->conf);
    gp->conf = NULL;
    return 0;
}

static struct gp_conf *load(struct gp_service *gp)
{
    char err[1024];
    struct gp_conf *conf =
        gp->opts.config_text != NULL
            ? gp_conf_load_text(NULL, gp->opts.config_text, gp->opts.socket, err, sizeof(err))
            : gp_conf_load(NULL, gp->opts.config_file, gp->opts.config_dir, gp->opts.socket,
                           err, sizeof(err));

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
    gp->inflight_per_uid = util_uidcount_new(gp);
    if (gp->inflight_per_uid == NULL) {
        talloc_free(gp);
        return -1;
    }
    gp->opts.config_file = talloc_strdup(gp, none_is_empty(opts->config_file));
    gp->opts.config_dir = talloc_strdup(gp, none_is_empty(opts->config_dir));
    if (opts->config_text != NULL) {
        gp->opts.config_text = talloc_strdup(gp, opts->config_text);
    }
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
        gp_conf_unref(fresh);
        (void)sync_listeners(gp, gp->conf);
        return;
    }
    gp_conf_unref(gp->conf); /* freed once the calls that matched it are done */
    gp->conf = fresh;
    util_log(UTIL_LOG_INFO, "gssproxy: New config loaded successfully.");
    kernel_poke(gp);
}

void gp_service_stop(struct gp_service *gp)
{
    talloc_free(gp);
}

bool gp_service_idle(const struct gp_service *gp)
{
    return gp == NULL || (gp->conns == NULL && gp->inflight == 0);
}
