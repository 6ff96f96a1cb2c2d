/* Internals shared by cachetd's two files: cachetd.c (options, signals, reload, the main loop)
 * and cachetd_setup.c (start-up: access, sessions, storage, sockets, detaching). Not for use
 * outside the daemon. */
#ifndef CACHET_CACHETD_INT_H
#define CACHET_CACHETD_INT_H

#include <stdbool.h>
#include <talloc.h>
#include <tevent.h>
#include <time.h>

#include "access/access.h"
#include "access/logind.h"
#include "cachetd_conf.h"
#include "kcm/kcm_ops.h"

struct cachetd {
    struct tevent_context *ev;
    const char *config_path;
    bool config_missing_ok;
    const char *socket_override;
    struct cachetd_conf cfg;
    struct access_policy access;
    struct store *store;
    struct store_sqlite *db;
    struct kcm_ctx kcm;
    struct kcm_srv *srv;
    struct tevent_timer *purge;
    struct logind *logind;  /* session scope: logout wipes */
    struct ctl_srv *ctl;    /* cachetctl's control socket */
    time_t started;
    bool exiting;
    bool own_socket; /* we bound socket_path ourselves (not systemd) */
    struct gp_service *gp; /* GSS-Proxy service, when gssproxy = yes */
    bool force_debug;      /* -d: survives reloads */
    /* gssproxy's command line (cachetd_gpcompat.h): GSS-Proxy only, no KCM listener. */
    bool gpcompat;
    const char *gp_config_text; /* -u: the built-in configuration */
    const char *pid_file;       /* written after detaching, removed at exit */
    unsigned idle_timeout;      /* -u --idle-timeout: seconds, 0 never */
    unsigned idle_seconds;
    int ready_fd;               /* -D: the parent waits for one byte on it */
};

/* cachetd.c: re-read the configuration (SIGHUP, cachetctl reload). */
void cachetd_reload(void *arg);

/* cachetd_setup.c: each returns 0, or -1 after logging why. */
int cachetd_policy_from_conf(struct access_policy *pol, const struct cachetd_conf *cfg, char *err,
                             size_t errlen);
void cachetd_logind_options_from_conf(const struct cachetd_conf *cfg, struct logind_options *lo);
int cachetd_setup_access(struct cachetd *d);
int cachetd_setup_sessions(struct cachetd *d);
int cachetd_setup_control(struct cachetd *d);
int cachetd_setup_listeners(struct cachetd *d, const char **where);
int cachetd_open_storage(struct cachetd *d);
int cachetd_start_gssproxy(struct cachetd *d);
int cachetd_detach(struct cachetd *d);
void cachetd_ready_notify(struct cachetd *d);
int cachetd_write_pid_file(const char *path);

#endif
