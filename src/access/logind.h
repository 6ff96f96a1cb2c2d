/* logind over sd-bus, on the tevent loop: feeds the session registry (logind id -> audit id,
 * uid, leader) from SessionNew / SessionRemoved and ListSessions, and asks for a session's
 * caches to be wiped at logout (wipe_on_logout) or when its leader exits (wipe_on_leader_exit).
 * Never blocks the loop: every bus call is asynchronous. A missing or restarting bus only
 * means "no wipes" until a reconnect timer gets it back. */
#ifndef CACHET_LOGIND_H
#define CACHET_LOGIND_H

#include <stdbool.h>
#include <stdint.h>
#include <talloc.h>
#include <tevent.h>

#include "access/access.h"

struct logind_options {
    bool wipe_on_logout;
    bool wipe_on_leader_exit;
    unsigned reconnect_seconds;
};

/* Called to wipe the collections of one audit session. why is a short reason for the log. */
typedef void (*logind_wipe_fn)(void *arg, uint32_t audit, const char *logind_id,
                               const char *why);

struct logind;

/* Starts connecting (sd_bus_open_system: DBUS_SYSTEM_BUS_ADDRESS or the system bus). Returns
 * NULL only when out of memory; a bus that is not there is retried. */
struct logind *logind_start(TALLOC_CTX *ctx, struct tevent_context *ev,
                            struct access_registry *reg, const struct logind_options *opt,
                            logind_wipe_fn wipe, void *wipe_arg);
void logind_set_options(struct logind *lg, const struct logind_options *opt);

#endif
