/* cachetd: the credential cache daemon. One tevent loop, talloc ownership:
 * daemon -> server -> connection -> request buffers. This file: options, signals, reload and
 * the main loop; the start-up steps are in cachetd_setup.c. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <talloc.h>
#include <tevent.h>
#include <time.h>
#include <unistd.h>

#include "access/access.h"
#include "access/logind.h"
#include "cachetd_gpcompat.h"
#include "cachetd_int.h"
#include "common/util_i18n.h"
#include "common/util_log.h"
#include "common/util_secmem.h"
#include "ctl/ctl_srv.h"
#include "kcm/kcm_ops.h"
#include "kcm/kcm_srv.h"
#include "proxy/gp_service.h"
#include "proxy/gp_tkt_cache.h"
#include "store/store.h"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif

#define SHUTDOWN_GRACE_SECONDS 5
/* Operations committed together at most (group commit): bounds the latency of the first one. */
#define GROUP_MAX_OPS 64

static void limits_from_conf(const struct cachetd_conf *cfg, struct store_limits *sl,
                             struct kcm_srv_limits *kl)
{
    sl->max_caches_per_owner = cfg->max_caches_per_uid;
    sl->max_creds_per_cache = cfg->max_creds_per_cache;
    sl->max_bytes_per_owner = cfg->max_bytes_per_uid;
    kl->max_frame = cfg->max_frame_size;
    kl->max_conns_per_uid = cfg->max_connections_per_uid;
    kl->idle_timeout = cfg->idle_timeout;
}

static void usage(FILE *f)
{
    fprintf(f, _("Usage: cachetd [OPTION]...\n"
                 "Serve Kerberos credential caches over the KCM protocol.\n\n"
                 "  -c, --config FILE   configuration file (default %s)\n"
                 "  -s, --socket PATH   listen on PATH instead of the configured socket_path\n"
                 "  -D, --daemon        detach from the terminal\n"
                 "  -d, --debug         log at debug level\n"
                 "  -V, --version       print the version and exit\n"
                 "  -h, --help          print this help and exit\n"
                 "      --gssproxy-compat  take gssproxy's options instead (as when run as "
                 "gssproxy;\n"
                 "                      see --gssproxy-compat --help)\n"),
            SYSCONFDIR "/cachet/cachet.conf");
}

static void purge_handler(struct tevent_context *ev, struct tevent_timer *te, struct timeval now,
                          void *pvt);

static void schedule_purge(struct cachetd *d)
{
    TALLOC_FREE(d->purge);
    d->purge = tevent_add_timer(d->ev, d,
                                tevent_timeval_current_ofs((uint32_t)d->cfg.purge_interval, 0),
                                purge_handler, d);
}

static void purge_handler(struct tevent_context *ev, struct tevent_timer *te, struct timeval now,
                          void *pvt)
{
    struct cachetd *d = pvt;
    size_t n;

    d->purge = NULL;
    n = store_purge_expired(d->store, (uint32_t)time(NULL));
    if (n > 0) {
        util_log(UTIL_LOG_INFO, "purged %zu expired credentials", n);
    }
    schedule_purge(d);
}

static void shutdown_done(void *arg)
{
    struct cachetd *d = arg;

    d->exiting = true;
}

static void grace_expired(struct tevent_context *ev, struct tevent_timer *te, struct timeval now,
                          void *pvt)
{
    struct cachetd *d = pvt;

    util_log(UTIL_LOG_WARNING, "shutdown: %u connections still busy after %d s, closing",
             kcm_srv_connections(d->srv), SHUTDOWN_GRACE_SECONDS);
    d->exiting = true;
}

static void on_terminate(struct tevent_context *ev, struct tevent_signal *se, int signum,
                         int count, void *siginfo, void *pvt)
{
    struct cachetd *d = pvt;

    if (d->exiting) {
        return;
    }
    util_log(UTIL_LOG_INFO, "signal %d: shutting down", signum);
    sd_notify(0, "STOPPING=1");
    tevent_add_timer(ev, d, tevent_timeval_current_ofs(SHUTDOWN_GRACE_SECONDS, 0),
                     grace_expired, d);
    kcm_srv_shutdown(d->srv, shutdown_done, d);
}

static void apply_runtime_conf(struct cachetd *d)
{
    struct store_limits sl;
    struct kcm_srv_limits kl;

    if (d->force_debug) {
        d->cfg.log_level = UTIL_LOG_DEBUG;
    }
    util_log_set_level((enum util_log_level)d->cfg.log_level);
    limits_from_conf(&d->cfg, &sl, &kl);
    store_set_limits(d->store, &sl);
    if (d->srv != NULL) {
        kcm_srv_set_limits(d->srv, &kl);
    }
    d->kcm.mit_extensions = d->cfg.mit_extensions;
}

void cachetd_reload(void *arg)
{
    struct cachetd *d = arg;
    struct cachetd_conf fresh;
    struct access_policy trial;
    char err[1024];

    sd_notify(0, "RELOADING=1");
    trial = d->access;
    if (cachetd_conf_load(&fresh, d->config_path, d->config_missing_ok, err, sizeof(err)) != 0 ||
        cachetd_policy_from_conf(&trial, &fresh, err, sizeof(err)) != 0) {
        util_log(UTIL_LOG_ERROR, "reload failed, keeping the running configuration: %s", err);
    } else {
        /* Sockets and storage need a restart; limits, log level and switches apply now. */
        memcpy(fresh.socket_path, d->cfg.socket_path, sizeof(fresh.socket_path));
        fresh.storage = d->cfg.storage;
        memcpy(fresh.state_dir, d->cfg.state_dir, sizeof(fresh.state_dir));
        /* Session binding and the control socket need a restart too. */
        fresh.scope = d->cfg.scope;
        memcpy(fresh.boot_id_file, d->cfg.boot_id_file, sizeof(fresh.boot_id_file));
        memcpy(fresh.control_socket, d->cfg.control_socket, sizeof(fresh.control_socket));
        d->cfg = fresh;
        d->access = trial;
        if (d->logind != NULL) {
            struct logind_options lo;
            cachetd_logind_options_from_conf(&d->cfg, &lo);
            logind_set_options(d->logind, &lo);
        }
        apply_runtime_conf(d);
        schedule_purge(d);
        util_log(UTIL_LOG_INFO, "configuration reloaded from %s", d->config_path);
    }
    gp_service_reload(d->gp); /* gssproxy.conf: its own reload, keeps the old one on error */
    gp_tkt_cache_clear();     /* kept tickets: fetched again under the configuration now in use */
    sd_notify(0, "READY=1");
}

static void on_reload(struct tevent_context *ev, struct tevent_signal *se, int signum, int count,
                      void *siginfo, void *pvt)
{
    cachetd_reload(pvt);
}

/* gssproxy -u --idle-timeout: exit once no connection was open for that long. */
static void idle_tick(struct tevent_context *ev, struct tevent_timer *te, struct timeval now,
                      void *pvt)
{
    struct cachetd *d = pvt;

    d->idle_seconds = gp_service_idle(d->gp) ? d->idle_seconds + 1 : 0;
    if (d->idle_seconds >= d->idle_timeout) {
        util_log(UTIL_LOG_INFO, "Terminating, after idling for %u seconds", d->idle_seconds);
        d->exiting = true;
        return;
    }
    if (tevent_add_timer(ev, d, tevent_timeval_current_ofs(1, 0), idle_tick, d) == NULL) {
        util_log(UTIL_LOG_WARNING, "idle timer: out of memory; no idle timeout");
    }
}

static int run(struct cachetd *d, bool daemonize)
{
    struct store_limits sl;
    struct kcm_srv_limits kl;
    struct store_stats ss;
    const char *why = NULL;
    const char *where = NULL;

    /* No core dumps and no same-uid ptrace of a process full of tickets. */
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) != 0) {
        util_log(UTIL_LOG_DEBUG, "PR_SET_IO_FLUSHER not permitted: %s", strerror(errno));
    }
    if (util_secmem_init(d->cfg.memlock == CACHETD_MEMLOCK_REFUSE ? UTIL_SECMEM_REQUIRE_LOCK
                                                                 : UTIL_SECMEM_DEGRADED,
                         &why) != 0) {
        util_log(UTIL_LOG_ERROR, _("refusing to start: %s"), why);
        return 1;
    }
    if (why != NULL) {
        util_log(UTIL_LOG_WARNING, "%s", why);
    }
    if (daemonize && cachetd_detach(d) != 0) {
        return 1;
    }
    if (daemonize && d->pid_file != NULL && cachetd_write_pid_file(d->pid_file) != 0) {
        return 1;
    }
    d->ev = tevent_context_init(d);
    if (d->ev == NULL) {
        return 1;
    }
    d->started = time(NULL);
    if (cachetd_setup_access(d) != 0) {
        return 1;
    }
    limits_from_conf(&d->cfg, &sl, &kl);
    d->store = store_new(d, &sl);
    if (d->store == NULL || cachetd_open_storage(d) != 0 || cachetd_setup_sessions(d) != 0) {
        return 1;
    }
    d->kcm.store = d->store;
    d->kcm.access = &d->access;
    d->srv = kcm_srv_new(d, d->ev, &d->kcm, &kl);
    if (d->srv == NULL) {
        return 1;
    }
    apply_runtime_conf(d);
    if (tevent_add_signal(d->ev, d, SIGTERM, 0, on_terminate, d) == NULL ||
        tevent_add_signal(d->ev, d, SIGINT, 0, on_terminate, d) == NULL ||
        tevent_add_signal(d->ev, d, SIGHUP, 0, on_reload, d) == NULL) {
        util_log(UTIL_LOG_ERROR, "cannot install signal handlers");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    if (d->cfg.gssproxy && cachetd_start_gssproxy(d) != 0) {
        return 1;
    }
    if (cachetd_setup_listeners(d, &where) != 0 || cachetd_setup_control(d) != 0) {
        return 1;
    }
    schedule_purge(d);
    store_stats(d->store, &ss);
    util_log(UTIL_LOG_INFO, "serving %zu caches with %zu credentials for %zu owners", ss.caches,
             ss.creds, ss.owners);
    printf("cachetd: ready, listening on %s\n", where);
    fflush(stdout);
    if (d->gpcompat) {
        util_log(UTIL_LOG_INFO, "Initialization complete."); /* gssproxy's harness waits for it */
    }
    if (d->idle_timeout > 0 &&
        tevent_add_timer(d->ev, d, tevent_timeval_current_ofs(1, 0), idle_tick, d) == NULL) {
        return 1;
    }
    sd_notify(0, "READY=1");
    cachetd_ready_notify(d);

    while (!d->exiting) {
        uint64_t before = kcm_srv_requests(d->srv);
        if (tevent_loop_once(d->ev) != 0) {
            util_log(UTIL_LOG_ERROR, "event loop failed: %s", strerror(errno));
            store_group_end(d->store);
            return 1;
        }
        /* Group commit: KCM mutations of consecutive rounds share one transaction while
         * requests keep coming; the held replies go out once it is committed. tevent runs one
         * handler per round, so "more ready" is asked of the KCM sockets directly. */
        if (store_group_open(d->store) &&
            (kcm_srv_requests(d->srv) == before || store_group_size(d->store) >= GROUP_MAX_OPS ||
             store_group_failed(d->store) || !kcm_srv_more_ready(d->srv))) {
            store_group_end(d->store);
        }
    }
    store_group_end(d->store);
    if (d->own_socket) {
        /* Our own socket file goes with us; systemd's stays with systemd. */
        unlink(d->cfg.socket_path);
    }
    if (d->ctl != NULL) {
        ctl_srv_close(d->ctl);
    }
    TALLOC_FREE(d->logind);
    gp_service_stop(d->gp);
    d->gp = NULL;
    gp_tkt_cache_clear(); /* the workers are gone */
    if (daemonize && d->pid_file != NULL) {
        unlink(d->pid_file);
    }
    util_log(UTIL_LOG_INFO, "exiting");
    return 0;
}

static int set_path(char *dst, const char *src, const char *what)
{
    if (strlen(src) >= CACHETD_PATH_MAX) {
        fprintf(stderr, _("gssproxy: %s '%s' is too long\n"), what, src);
        return -1;
    }
    memcpy(dst, src, strlen(src) + 1);
    return 0;
}

/* gssproxy -u: one service for this euid on $XDG_RUNTIME_DIR/gssproxy/default.sock (or -s),
 * the ccache sync allowed, two workers (gssproxy's userproxy_config). */
static int userproxy_setup(struct cachetd *d, const char *socket)
{
    const char *rt = getenv("XDG_RUNTIME_DIR");
    char *dir;

    if (socket == NULL) {
        if (rt == NULL || rt[0] != '/') {
            fprintf(stderr, _("gssproxy: -u needs XDG_RUNTIME_DIR (or -s SOCKET)\n"));
            return -1;
        }
        dir = talloc_asprintf(d, "%s/gssproxy", rt);
        if (dir == NULL || (mkdir(dir, 0700) != 0 && errno != EEXIST)) {
            fprintf(stderr, _("gssproxy: cannot create %s: %s\n"), dir != NULL ? dir : rt,
                    strerror(errno));
            return -1;
        }
        socket = talloc_asprintf(d, "%s/default.sock", dir);
    }
    d->gp_config_text = talloc_asprintf(d, "[gssproxy]\n  worker threads = 2\n"
                                        "[service/userproxy]\n  mechs = krb5\n  euid = %u\n"
                                        "  allow_client_ccache_sync = yes\n",
                                        (unsigned)geteuid());
    if (socket == NULL || d->gp_config_text == NULL ||
        set_path(d->cfg.gssproxy_socket, socket, "socket") != 0) {
        return -1;
    }
    return 0;
}

/* Run with gssproxy's command line: the GSS-Proxy service only (no KCM listener, no control
 * socket, nothing stored on disk), configured by gssproxy's files and flags; cachetd's own
 * file (optional) still sets logging, memory locking and limits. */
static int main_gpcompat(int argc, char **argv)
{
    struct cachetd_gpcompat gc;
    struct cachetd *d;
    char err[1024];
    int ret = cachetd_gpcompat_parse(argc, argv, &gc, stderr);

    if (ret >= 0) {
        return ret;
    }
    d = talloc_zero(NULL, struct cachetd);
    if (d == NULL) {
        return 1;
    }
    d->ready_fd = -1;
    d->gpcompat = true;
    d->config_path = gc.cachet_config != NULL ? gc.cachet_config
                                              : SYSCONFDIR "/cachet/cachet.conf";
    d->config_missing_ok = gc.cachet_config == NULL;
    if (cachetd_conf_load(&d->cfg, d->config_path, d->config_missing_ok, err, sizeof(err)) != 0) {
        fprintf(stderr, _("gssproxy: invalid cachetd configuration: %s\n"), err);
        talloc_free(d);
        return 1;
    }
    d->cfg.gssproxy = true;
    d->cfg.storage = CACHETD_STORAGE_MEMORY;
    memcpy(d->cfg.control_socket, "-", 2);
    ret = 0;
    if (gc.userproxy) {
        ret = userproxy_setup(d, gc.socket);
        d->idle_timeout = gc.idle_timeout;
    } else {
        /* gssproxy reads the directory only without -c, unless -C names one. */
        const char *dir = gc.config_dir != NULL ? gc.config_dir
                                                : (gc.config != NULL ? "-" : GP_DEFAULT_CONFIG_DIR);
        if (set_path(d->cfg.gssproxy_config, gc.config != NULL ? gc.config : GP_DEFAULT_CONFIG,
                     "config") != 0 ||
            set_path(d->cfg.gssproxy_config_dir, dir, "configdir") != 0 ||
            set_path(d->cfg.gssproxy_socket, gc.socket != NULL ? gc.socket : GP_DEFAULT_SOCKET,
                     "socket") != 0) {
            ret = -1;
        }
        d->pid_file = gc.pid_file;
    }
    if (ret != 0) {
        talloc_free(d);
        return 1;
    }
    d->force_debug = gc.debug_level > 0;
    if (d->force_debug) {
        d->cfg.log_level = UTIL_LOG_DEBUG;
    }
    util_log_set_level((enum util_log_level)d->cfg.log_level);
    if (gc.syslog_status) {
        util_log(UTIL_LOG_DEBUG, "--syslog-status: GSS failures are logged at debug level");
    }
    ret = run(d, gc.daemonize);
    talloc_free(d);
    return ret;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' }, { "socket", required_argument, NULL, 's' },
        { "daemon", no_argument, NULL, 'D' },       { "debug", no_argument, NULL, 'd' },
        { "version", no_argument, NULL, 'V' },      { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct cachetd *d;
    bool daemonize = false;
    bool debug = false;
    char err[1024];
    int opt;
    int ret;

    setlocale(LC_ALL, "");
#ifdef ENABLE_NLS
    bindtextdomain(PACKAGE, LOCALEDIR);
#endif
    if (cachetd_gpcompat_wanted(&argc, argv)) {
        return main_gpcompat(argc, argv);
    }
    d = talloc_zero(NULL, struct cachetd);
    if (d == NULL) {
        return 1;
    }
    d->ready_fd = -1;
    d->config_path = SYSCONFDIR "/cachet/cachet.conf";
    d->config_missing_ok = true;
    while ((opt = getopt_long(argc, argv, "c:s:DdVh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            d->config_path = optarg;
            d->config_missing_ok = false;
            break;
        case 's':
            d->socket_override = optarg;
            break;
        case 'D':
            daemonize = true;
            break;
        case 'd':
            debug = true;
            break;
        case 'V':
            printf("cachetd %s\n", PACKAGE_VERSION);
            talloc_free(d);
            return 0;
        case 'h':
            usage(stdout);
            talloc_free(d);
            return 0;
        default:
            usage(stderr);
            talloc_free(d);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, _("cachetd: unexpected argument '%s'\n"), argv[optind]);
        usage(stderr);
        talloc_free(d);
        return 2;
    }
    if (cachetd_conf_load(&d->cfg, d->config_path, d->config_missing_ok, err, sizeof(err)) != 0) {
        fprintf(stderr, _("cachetd: invalid configuration: %s\n"), err);
        talloc_free(d);
        return 1;
    }
    if (d->socket_override != NULL) {
        if (strlen(d->socket_override) >= sizeof(d->cfg.socket_path)) {
            fprintf(stderr, _("cachetd: socket path too long\n"));
            talloc_free(d);
            return 1;
        }
        memcpy(d->cfg.socket_path, d->socket_override, strlen(d->socket_override) + 1);
    }
    if (debug) {
        d->cfg.log_level = UTIL_LOG_DEBUG;
        d->force_debug = true;
    }
    util_log_set_level((enum util_log_level)d->cfg.log_level);
    ret = run(d, daemonize);
    talloc_free(d);
    return ret;
}
