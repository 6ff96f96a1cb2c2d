/* The GSS-Proxy service inside cachetd: listening sockets from gssproxy's configuration, a
 * tevent connection server with several calls in flight per connection (the kernel's single
 * connection is served concurrently; replies are matched by xid), a worker pool for GSSAPI,
 * per-uid and global in-flight limits, SIGHUP reload and the kernel nfsd handshake. */
#ifndef CACHET_GP_SERVICE_H
#define CACHET_GP_SERVICE_H

#include <stdbool.h>
#include <talloc.h>
#include <tevent.h>

#include "proxy/gp_kcm.h"

#define GP_DEFAULT_SOCKET "/var/lib/gssproxy/default.sock"
#define GP_DEFAULT_CONFIG "/etc/gssproxy/gssproxy.conf"
#define GP_DEFAULT_CONFIG_DIR "/etc/gssproxy"
#define GP_DEFAULT_MAX_INFLIGHT 512
#define GP_DEFAULT_MAX_INFLIGHT_PER_UID 128
#define GP_KERNEL_USE_GSS_PROXY "/proc/net/rpc/use-gss-proxy"

struct gp_service_options {
    const char *config_file; /* gssproxy.conf; "", "-" or "none": none */
    const char *config_dir;  /* NN-*.conf snippets; "", "-" or "none": none */
    const char *config_text; /* non-NULL: this built-in text instead of the files (gssproxy -u) */
    const char *socket;      /* default socket (services without socket =) */
    unsigned max_inflight;
    unsigned max_inflight_per_uid;
    const char *use_gss_proxy; /* NULL: GP_KERNEL_USE_GSS_PROXY (tests point elsewhere) */
    /* cachetd's KCM store: initiator credentials of local users (may be all NULL). */
    struct gp_kcm_source kcm;
};

struct gp_service;

/* Load the configuration, bind every socket (or adopt it from systemd's LISTEN_FDS), start the
 * workers and, if a service has kernel_nfsd = yes, tell the kernel (after listen()). Returns 0
 * or -1 (logged). */
int gp_service_start(TALLOC_CTX *ctx, struct tevent_context *ev,
                     const struct gp_service_options *opts, struct gp_service **out);
/* True if fd (from systemd) is one of the GSS-Proxy sockets: not for KCM. */
bool gp_service_owns_fd(const struct gp_service *gp, int fd);
/* Re-read the configuration; on error the running one stays. */
void gp_service_reload(struct gp_service *gp);
/* No connection open and no call running (gssproxy -u --idle-timeout). */
bool gp_service_idle(const struct gp_service *gp);
/* Stop: close listeners and connections, wait for running calls, unlink our sockets. */
void gp_service_stop(struct gp_service *gp);

#endif
