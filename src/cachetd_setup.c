/* cachetd's start-up: the access policy and login sessions, persistent storage, the KCM
 * and control sockets, the GSS-Proxy service, detaching and telling the parent it is ready. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "cachetd_int.h"
#include "common/util_i18n.h"
#include "common/util_log.h"
#include "ctl/ctl_srv.h"
#include "kcm/kcm_session_cap.h"
#include "kcm/kcm_srv.h"
#include "proxy/gp_service.h"
#include "proxy/gp_tkt_cache.h"
#include "store/store.h"
#include "store/store_sqlite.h"

/* Bind the configured socket. A stale socket file is replaced; a live one is an error. */
static int bind_socket(const char *path, mode_t mode, char *err, size_t errlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct stat sb;
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, _("socket path '%s' is too long"), path);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    if (lstat(path, &sb) == 0) {
        int probe;
        if (!S_ISSOCK(sb.st_mode)) {
            snprintf(err, errlen, _("%s exists and is not a socket"), path);
            close(fd);
            return -1;
        }
        probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            close(probe);
            snprintf(err, errlen, _("another server is already listening on %s"), path);
            close(fd);
            return -1;
        }
        if (probe >= 0) {
            close(probe);
        }
        unlink(path);
    }
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        snprintf(err, errlen, _("cannot bind %s: %s"), path, strerror(errno));
        close(fd);
        return -1;
    }
    if (chmod(path, mode) != 0 || listen(fd, 128) != 0) {
        snprintf(err, errlen, _("cannot listen on %s: %s"), path, strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    return fd;
}

/* The access policy's reloadable part (scope and boot id are fixed at start). */
int cachetd_policy_from_conf(struct access_policy *pol, const struct cachetd_conf *cfg, char *err,
                             size_t errlen)
{
    const char *helpers = cfg->trusted_helpers;

    if (strcmp(helpers, "-") == 0 || strcmp(helpers, "none") == 0) {
        helpers = "";
    }
    if (access_policy_set_helpers(pol, helpers, err, errlen) != 0) {
        return -1;
    }
    pol->unsessioned = cfg->unsessioned_peers == CACHETD_UNSESSIONED_USER
                           ? ACCESS_UNSESSIONED_USER
                           : ACCESS_UNSESSIONED_DENY;
    pol->user_manager_allow = cfg->user_manager == CACHETD_USER_MANAGER_ALLOW;
    return 0;
}

void cachetd_logind_options_from_conf(const struct cachetd_conf *cfg, struct logind_options *lo)
{
    lo->wipe_on_logout = cfg->wipe_on_logout;
    lo->wipe_on_leader_exit = cfg->wipe_on_leader_exit;
    lo->reconnect_seconds = (unsigned)cfg->logind_reconnect_interval;
}

static unsigned ctl_connections(void *arg)
{
    struct cachetd *d = arg;

    return d->srv != NULL ? kcm_srv_connections(d->srv) : 0;
}

static void wipe_session(void *arg, uint32_t audit, const char *logind_id, const char *why)
{
    struct cachetd *d = arg;
    size_t n = access_wipe(&d->access, d->store, -1, audit);

    /* A capability of an ended login must not open a later one's collection. */
    kcm_session_cap_forget_session(audit);

    util_log(UTIL_LOG_INFO, "logind session %s (%s %u) %s: %zu caches wiped", logind_id,
             logind_id[0] == 'c' && audit >= ACCESS_LOGIND_KEY_BASE ? "session key"
                                                                    : "audit session",
             (unsigned)audit, why, n);
}

/* Session scope: bind collections to this boot, and learn sessions from logind. */
int cachetd_setup_access(struct cachetd *d)
{
    char err[1024];
    int ret;

    d->access.scope = d->cfg.scope == CACHETD_SCOPE_SESSION ? ACCESS_SCOPE_SESSION
                                                            : ACCESS_SCOPE_USER;
    d->access.reg = access_registry_new(d);
    if (d->access.reg == NULL) {
        return -1;
    }
    if (cachetd_policy_from_conf(&d->access, &d->cfg, err, sizeof(err)) != 0) {
        util_log(UTIL_LOG_ERROR, _("invalid configuration: %s"), err);
        return -1;
    }
    ret = access_read_boot_id(d->cfg.boot_id_file, d->access.boot_id);
    if (ret != 0 && d->access.scope == ACCESS_SCOPE_SESSION) {
        util_log(UTIL_LOG_ERROR, _("scope = session needs the boot id, but %s cannot be read: %s"),
                 d->cfg.boot_id_file, strerror(ret));
        return -1;
    }
    return 0;
}

int cachetd_setup_sessions(struct cachetd *d)
{
    struct logind_options lo;
    size_t n;

    /* Audit session ids restart at every boot: a persisted session collection of an earlier
     * boot must never meet a session of this one. */
    n = store_discard_other_boots(d->store, d->access.boot_id);
    if (n > 0) {
        util_log(UTIL_LOG_INFO, "discarded %zu session-bound collections of an earlier boot", n);
    }
    if (d->access.scope != ACCESS_SCOPE_SESSION) {
        return 0;
    }
    util_log(UTIL_LOG_INFO, "scope = session: caches are bound to the audit session of their "
             "creator (unsessioned_peers = %s, %zu trusted helpers, user_manager = %s)",
             d->access.unsessioned == ACCESS_UNSESSIONED_USER ? "user" : "deny",
             d->access.nhelpers, d->access.user_manager_allow ? "allow" : "deny");
    cachetd_logind_options_from_conf(&d->cfg, &lo);
    d->logind = logind_start(d, d->ev, d->access.reg, &lo, wipe_session, d);
    return d->logind != NULL ? 0 : -1;
}

int cachetd_setup_control(struct cachetd *d)
{
    struct ctl_env env = {
        .store = d->store,
        .pol = &d->access,
        .started = d->started,
        .storage = d->cfg.storage == CACHETD_STORAGE_MEMORY ? "memory" : "sqlite",
        .connections = ctl_connections,
        .reload = cachetd_reload,
        .arg = d,
    };
    char err[1024];

    if (strcmp(d->cfg.control_socket, "-") == 0 || strcmp(d->cfg.control_socket, "none") == 0) {
        return 0;
    }
    d->ctl = ctl_srv_new(d, d->ev, &env);
    if (d->ctl == NULL) {
        return -1;
    }
    if (ctl_srv_listen(d->ctl, d->cfg.control_socket, err, sizeof(err)) != 0) {
        /* Administration is a convenience; serving credentials is the job. */
        util_log(UTIL_LOG_WARNING, _("control socket: %s; cachetctl will not reach this daemon "
                                     "(set control_socket, or none)"), err);
        TALLOC_FREE(d->ctl);
    }
    return 0;
}

int cachetd_setup_listeners(struct cachetd *d, const char **where)
{
    char err[512];
    int n;

    if (d->gpcompat) {
        *where = d->cfg.gssproxy_socket; /* gssproxy's command line: GSS-Proxy only */
        return 0;
    }
    n = sd_listen_fds(1);
    if (n > 0) {
        for (int i = 0; i < n; i++) {
            int fd = SD_LISTEN_FDS_START + i;
            if (gp_service_owns_fd(d->gp, fd)) {
                continue; /* a GSS-Proxy socket, already served */
            }
            if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
                util_log(UTIL_LOG_ERROR, _("file descriptor %d from systemd is not a listening "
                                           "AF_UNIX stream socket"), fd);
                return -1;
            }
            if (kcm_srv_add_listener(d->srv, fd) != 0) {
                return -1;
            }
        }
        *where = "sockets from systemd";
        return 0;
    }
    int fd = bind_socket(d->cfg.socket_path, (mode_t)d->cfg.socket_mode, err, sizeof(err));
    if (fd < 0) {
        util_log(UTIL_LOG_ERROR, "%s", err);
        return -1;
    }
    if (kcm_srv_add_listener(d->srv, fd) != 0) {
        return -1;
    }
    d->own_socket = true;
    *where = d->cfg.socket_path;
    return 0;
}

int cachetd_open_storage(struct cachetd *d)
{
    struct store_sqlite_options so = { .state_dir = d->cfg.state_dir, .ev = d->ev };
    char err[1024];
    int ret;

    if (d->cfg.storage == CACHETD_STORAGE_MEMORY) {
        util_log(UTIL_LOG_INFO, "storage = memory: nothing is kept on disk");
        return 0;
    }
    if (strcmp(d->cfg.master_key_file, "-") != 0) {
        so.master_key_file = d->cfg.master_key_file;
    }
    ret = store_sqlite_open(d, d->store, &so, &d->db, err, sizeof(err));
    if (ret != 0) {
        util_log(UTIL_LOG_ERROR, _("cannot open persistent storage: %s"), err);
        return -1;
    }
    return 0;
}

int cachetd_start_gssproxy(struct cachetd *d)
{
    struct gp_service_options o = {
        .config_file = d->cfg.gssproxy_config,
        .config_dir = d->cfg.gssproxy_config_dir,
        .socket = d->cfg.gssproxy_socket,
        .use_gss_proxy = d->cfg.gssproxy_kernel_file,
        .config_text = d->gp_config_text,
        .kcm = { .store = d->store, .access = &d->access },
    };

    gp_tkt_cache_enable(d->cfg.gssproxy_keep_tickets);
    return gp_service_start(d, d->ev, &o, &d->gp);
}

static bool keeps_output(int fd)
{
    struct stat sb;

    return fstat(fd, &sb) == 0 && (S_ISSOCK(sb.st_mode) || S_ISREG(sb.st_mode));
}

/* Detach, with the parent waiting until the child is ready (or gone): its exit status tells
 * the caller (systemd's Type=forking, a shell) whether the daemon started. */
int cachetd_detach(struct cachetd *d)
{
    int p[2];
    pid_t pid;
    int null;

    if (pipe2(p, O_CLOEXEC) != 0) {
        util_log(UTIL_LOG_ERROR, "cannot detach: pipe: %s", strerror(errno));
        return -1;
    }
    fflush(stdout);
    pid = fork();
    if (pid < 0) {
        util_log(UTIL_LOG_ERROR, "cannot detach: fork: %s", strerror(errno));
        return -1;
    }
    if (pid > 0) {
        char c;
        ssize_t n;
        close(p[1]);
        do {
            n = read(p[0], &c, 1);
        } while (n < 0 && errno == EINTR);
        _exit(n == 1 ? 0 : 1);
    }
    close(p[0]);
    d->ready_fd = p[1];
    (void)setsid();
    if (chdir("/") != 0) {
        util_log(UTIL_LOG_WARNING, "chdir /: %s", strerror(errno));
    }
    /* Logs stay where they go when that is the journal (a socket) or a file; a terminal or a
     * pipe (a shell's $(...) would wait for its end) gets /dev/null. */
    null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        if (!keeps_output(STDOUT_FILENO)) {
            dup2(null, STDOUT_FILENO);
        }
        if (!keeps_output(STDERR_FILENO)) {
            dup2(null, STDERR_FILENO);
        }
        close(null);
    }
    return 0;
}

void cachetd_ready_notify(struct cachetd *d)
{
    if (d->ready_fd >= 0) {
        ssize_t n = write(d->ready_fd, "1", 1);
        (void)n;
        close(d->ready_fd);
        d->ready_fd = -1;
    }
}

int cachetd_write_pid_file(const char *path)
{
    FILE *f = fopen(path, "we");

    if (f == NULL || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0) {
        util_log(UTIL_LOG_ERROR, "pid file %s: %s", path, strerror(errno));
        if (f != NULL) {
            (void)fclose(f);
        }
        return -1;
    }
    return 0;
}
