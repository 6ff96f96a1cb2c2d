/* Internals shared by gp_service.c (listeners, kernel handshake, lifecycle) and gp_conn.c
 * (connections, calls, worker hand-off). Not an API. */
#ifndef CACHET_GP_SERVICE_INT_H
#define CACHET_GP_SERVICE_INT_H

#include "common/util_uidcount.h"
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <talloc.h>
#include <tevent.h>

#include "common/util_peer.h"
#include "common/util_secmem.h"
#include "proxy/gp_conf.h"
#include "proxy/gp_pool.h"
#include "proxy/gp_proc.h"
#include "proxy/gp_service.h"


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

struct gp_service {
    struct tevent_context *ev;
    struct gp_service_options opts;
    struct gp_conf *conf;
    struct gp_pool *pool;
    struct gp_listener *listeners;
    struct gp_conn *conns;
    struct util_uidcount *inflight_per_uid;
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

/* Drop a reference to a configuration; the last one frees it (loop only). */
void gp_conf_unref(struct gp_conf *conf);
/* A listening socket is readable: accept and serve a connection (gp_conn.c). */
void gp_accept_handler(struct tevent_context *ev, struct tevent_fd *fde, uint16_t flags,
                       void *pvt);

#endif
