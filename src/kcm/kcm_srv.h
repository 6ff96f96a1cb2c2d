/* KCM connections on the tevent loop: accept, per-uid connection limits, framed non-blocking
 * reads and writes, idle timeouts, graceful shutdown. */
#ifndef CACHET_KCM_SRV_H
#define CACHET_KCM_SRV_H

#include <stdbool.h>
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

/* Group commit (store.h): a reply to a request made while the store has an open group is held
 * until the group ends; kcm_srv_new makes this the store's group hook (committed: the replies
 * go out; not: each becomes a KCM I/O error). The event loop ends the group when the round
 * dispatched no request, the group is big enough, or !kcm_srv_more_ready (no listener or
 * connection has input waiting). A held reply also wakes the loop within 1 ms. */
void kcm_srv_group_done(void *ctx, bool committed);
bool kcm_srv_more_ready(struct kcm_srv *srv);
uint64_t kcm_srv_requests(const struct kcm_srv *srv);

#endif
