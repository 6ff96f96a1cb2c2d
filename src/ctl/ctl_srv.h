/* cachetd's control socket: root only (SO_PEERCRED uid 0), one request per connection, the
 * ctl_codec protocol. Serves cachetctl's status, list, purge and reload. */
#ifndef CACHET_CTL_SRV_H
#define CACHET_CTL_SRV_H

#include <stddef.h>
#include <stdint.h>
#include <talloc.h>
#include <tevent.h>
#include <time.h>

#include "access/access.h"
#include "store/store.h"

struct ctl_env {
    struct store *store;
    const struct access_policy *pol;
    time_t started;
    const char *storage;                 /* "memory" | "sqlite" */
    unsigned (*connections)(void *arg);  /* open KCM connections */
    void (*reload)(void *arg);           /* same as SIGHUP */
    void *arg;
};

struct ctl_srv;

struct ctl_srv *ctl_srv_new(TALLOC_CTX *ctx, struct tevent_context *ev, const struct ctl_env *env);
/* Bind path (mode 0600, parent directory created 0755 if missing). Returns 0, or -1 with err. */
int ctl_srv_listen(struct ctl_srv *srv, const char *path, char *err, size_t errlen);
/* Stop listening and remove the socket file we created. */
void ctl_srv_close(struct ctl_srv *srv);

#endif
