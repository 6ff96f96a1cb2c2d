/* KCM connections on the tevent loop: accept, per-uid connection limits, framed non-blocking
 * reads and writes, idle timeouts, graceful shutdown. */
#ifndef CACHET_KCM_SRV_H
#define CACHET_KCM_SRV_H

#include <stdint.h>
#include <talloc.h>
#include <tevent.h>

#include "kcm/kcm_ops.h"

struct kcm_srv_limits {
    uint64_t max_frame;         /* request bytes after the length word */
    uint64_t max_conns_per_uid;
    uint64_t idle_timeout;      /* seconds, 0 = never */
};

struct kcm_srv;

struct kcm_srv *kcm_srv_new(TALLOC_CTX *ctx, struct tevent_context *ev, struct kcm_ctx *k,
                            const struct kcm_srv_limits *limits);
void kcm_srv_set_limits(struct kcm_srv *srv, const struct kcm_srv_limits *limits);
/* Serve a listening socket (bound by us or passed by systemd). Takes ownership of fd. */
int kcm_srv_add_listener(struct kcm_srv *srv, int fd);
/* Stop accepting, let in-flight replies finish, close idle connections; done() runs once no
 * connection is left. */
void kcm_srv_shutdown(struct kcm_srv *srv, void (*done)(void *arg), void *arg);
unsigned kcm_srv_connections(const struct kcm_srv *srv);

#endif
