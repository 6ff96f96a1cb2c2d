/* logind over sd-bus on the tevent loop; see logind.h. */
#include "config.h"
#include "access/logind.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/syscall.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "common/util_log.h"

#define LOGIND_DEST "org.freedesktop.login1"
#define LOGIND_PATH "/org/freedesktop/login1"
#define LOGIND_MANAGER "org.freedesktop.login1.Manager"
#define LOGIND_SESSION "org.freedesktop.login1.Session"

struct leader_watch {
    struct leader_watch *next;
    struct logind *lg;
    char *id;
    uint32_t audit;
    int pidfd;
    struct tevent_fd *fde;
};

struct logind {
    struct tevent_context *ev;
    struct access_registry *reg;
    struct logind_options opt;
    logind_wipe_fn wipe;
    void *wipe_arg;
    sd_bus *bus;
    TALLOC_CTX *conn_ctx; /* per-connection userdata of pending calls */
    struct tevent_fd *fde;
    struct tevent_timer *bus_timer;
    struct tevent_timer *reconnect;
    struct leader_watch *watches;
    unsigned failures; /* consecutive failed connects: log the first one loudly */
};

/* Userdata of one pending call (freed with conn_ctx if the bus goes away first). */
struct pending {
    struct logind *lg;
    char *id;
};

static void bus_connect(struct logind *lg);
static void bus_drop(struct logind *lg, int err, const char *where);
static void bus_rearm(struct logind *lg);

/* ---- wipes ---- */

static void do_wipe(struct logind *lg, const struct access_login *l, const char *why)
{
    if (l->audit == ACCESS_NO_SESSION) {
        util_log(UTIL_LOG_INFO,
                 "logind session %s %s, but logind gave no audit session id for it and its id "
                 "has no usable form: nothing to wipe", l->id, why);
        return;
    }
    lg->wipe(lg->wipe_arg, l->audit, l->id, why);
}

static void watch_remove(struct logind *lg, const char *id)
{
    for (struct leader_watch **pp = &lg->watches; *pp != NULL; pp = &(*pp)->next) {
        if (strcmp((*pp)->id, id) == 0) {
            struct leader_watch *w = *pp;
            *pp = w->next;
            talloc_free(w);
            return;
        }
    }
}

static int watch_destructor(struct leader_watch *w)
{
    TALLOC_FREE(w->fde);
    if (w->pidfd >= 0) {
        close(w->pidfd);
    }
    return 0;
}

static void leader_exited(struct tevent_context *ev, struct tevent_fd *fde, uint16_t flags,
                          void *pvt)
{
    struct leader_watch *w = pvt;
    struct logind *lg = w->lg;
    struct access_login *l = access_registry_login_find(lg->reg, w->id);

    if (l != NULL) {
        do_wipe(lg, l, "lost its leader (wipe_on_leader_exit)");
    }
    watch_remove(lg, w->id); /* frees w */
}

static void watch_leader(struct logind *lg, struct access_login *l)
{
    struct leader_watch *w;
    int fd;

    if (!lg->opt.wipe_on_leader_exit || l->leader <= 0) {
        return;
    }
    for (w = lg->watches; w != NULL; w = w->next) {
        if (strcmp(w->id, l->id) == 0) {
            return;
        }
    }
    fd = (int)syscall(SYS_pidfd_open, (pid_t)l->leader, 0);
    if (fd < 0) {
        if (errno == ESRCH) {
            do_wipe(lg, l, "has no leader any more (wipe_on_leader_exit)");
        } else {
            util_log(UTIL_LOG_WARNING, "logind session %s: cannot watch leader pid %d: %s",
                     l->id, (int)l->leader, strerror(errno));
        }
        return;
    }
    w = talloc_zero(lg, struct leader_watch);
    if (w == NULL || (w->id = talloc_strdup(w, l->id)) == NULL) {
        close(fd);
        talloc_free(w);
        return;
    }
    w->lg = lg;
    w->audit = l->audit;
    w->pidfd = fd;
    talloc_set_destructor(w, watch_destructor);
    w->fde = tevent_add_fd(lg->ev, w, fd, TEVENT_FD_READ, leader_exited, w);
    if (w->fde == NULL) {
        talloc_free(w);
        return;
    }
    w->next = lg->watches;
    lg->watches = w;
}

/* ---- session properties ---- */

static int read_props(sd_bus_message *m, struct access_login *l)
{
    int r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}");

    while (r > 0 && (r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
        const char *name;
        uint32_t u;
        const char *path;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0) {
            return r;
        }
        if (strcmp(name, "Audit") == 0 || strcmp(name, "Leader") == 0) {
            r = sd_bus_message_read(m, "v", "u", &u);
            if (r >= 0 && name[0] == 'A') {
                l->audit = u;
            } else if (r >= 0) {
                l->leader = (int32_t)u;
            }
        } else if (strcmp(name, "User") == 0) {
            r = sd_bus_message_read(m, "v", "(uo)", &u, &path);
            if (r >= 0) {
                l->uid = u;
            }
        } else {
            r = sd_bus_message_skip(m, "v");
        }
        if (r < 0) {
            return r;
        }
        r = sd_bus_message_exit_container(m);
    }
    return r < 0 ? r : sd_bus_message_exit_container(m);
}

static int on_props(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
    struct pending *p = userdata;
    struct logind *lg = p->lg;
    struct access_login *l = access_registry_login_find(lg->reg, p->id);
    int r;

    if (l == NULL) {
        goto done; /* removed meanwhile */
    }
    if (sd_bus_message_is_method_error(m, NULL)) {
        const sd_bus_error *e = sd_bus_message_get_error(m);
        util_log(UTIL_LOG_WARNING, "logind session %s: cannot read its properties: %s", p->id,
                 e != NULL && e->message != NULL ? e->message : "error");
        goto done;
    }
    r = read_props(m, l);
    if (r < 0) {
        util_log(UTIL_LOG_WARNING, "logind session %s: malformed properties: %s", p->id,
                 strerror(-r));
        goto done;
    }
    l->props_known = true;
    if (l->audit == UTIL_NO_AUDIT_SESSION || l->audit == ACCESS_NO_SESSION) {
        /* No audit on this host (or in this container): key the session by its logind id,
         * which session capabilities then bind (access_grant_session). */
        l->audit = access_logind_key(l->id);
        util_log(UTIL_LOG_INFO, "logind session %s: uid %u, no audit session (session key %u), "
                 "leader pid %d", l->id, (unsigned)l->uid, (unsigned)l->audit, (int)l->leader);
    } else {
        util_log(UTIL_LOG_INFO, "logind session %s: uid %u, audit session %u, leader pid %d",
                 l->id, (unsigned)l->uid, (unsigned)l->audit, (int)l->leader);
    }
    watch_leader(lg, l);
done:
    talloc_free(p);
    return 0;
}

static void learn_session(struct logind *lg, const char *id, const char *path)
{
    struct access_login *l = access_registry_login_add(lg->reg, id);
    struct pending *p;
    int r;

    if (l == NULL || l->props_known) {
        return;
    }
    p = talloc_zero(lg->conn_ctx, struct pending);
    if (p == NULL || (p->id = talloc_strdup(p, id)) == NULL) {
        talloc_free(p);
        return;
    }
    p->lg = lg;
    r = sd_bus_call_method_async(lg->bus, NULL, LOGIND_DEST, path,
                                 "org.freedesktop.DBus.Properties", "GetAll", on_props, p, "s",
                                 LOGIND_SESSION);
    if (r < 0) {
        util_log(UTIL_LOG_WARNING, "logind session %s: cannot ask for its properties: %s", id,
                 strerror(-r));
        talloc_free(p);
    }
}

static void forget_session(struct logind *lg, struct access_login *l, const char *why)
{
    if (lg->opt.wipe_on_logout) {
        do_wipe(lg, l, why);
    } else {
        util_log(UTIL_LOG_INFO, "logind session %s %s; wipe_on_logout = no: caches kept", l->id,
                 why);
    }
    watch_remove(lg, l->id);
    access_registry_login_remove(lg->reg, l);
}

/* ---- signals and the initial list ---- */

static int on_session_new(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
    struct logind *lg = userdata;
    const char *id;
    const char *path;

    if (sd_bus_message_read(m, "so", &id, &path) < 0) {
        util_log(UTIL_LOG_WARNING, "logind: malformed SessionNew signal ignored");
        return 0;
    }
    util_log(UTIL_LOG_DEBUG, "logind: SessionNew %s %s", id, path);
    learn_session(lg, id, path);
    return 0;
}

static int on_session_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
    struct logind *lg = userdata;
    struct access_login *l;
    const char *id;
    const char *path;

    if (sd_bus_message_read(m, "so", &id, &path) < 0) {
        util_log(UTIL_LOG_WARNING, "logind: malformed SessionRemoved signal ignored");
        return 0;
    }
    util_log(UTIL_LOG_DEBUG, "logind: SessionRemoved %s %s", id, path);
    l = access_registry_login_find(lg->reg, id);
    if (l == NULL) {
        util_log(UTIL_LOG_INFO, "logind session %s ended; it was never announced to us (no "
                 "audit id known): nothing wiped", id);
        return 0;
    }
    forget_session(lg, l, "ended (SessionRemoved)");
    return 0;
}

static int on_list(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
    struct logind *lg = userdata;
    const char *id;
    const char *path;
    const char *user;
    const char *seat;
    uint32_t uid;
    TALLOC_CTX *tmp;
    const char **seen = NULL;
    size_t nseen = 0;
    int r;

    if (sd_bus_message_is_method_error(m, NULL)) {
        const sd_bus_error *e = sd_bus_message_get_error(m);
        util_log(UTIL_LOG_WARNING, "logind: ListSessions failed: %s",
                 e != NULL && e->message != NULL ? e->message : "error");
        return 0;
    }
    tmp = talloc_new(NULL);
    r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "(susso)");
    while (r > 0 && (r = sd_bus_message_read(m, "(susso)", &id, &uid, &user, &seat, &path)) > 0) {
        seen = talloc_realloc(tmp, seen, const char *, nseen + 1);
        if (seen == NULL) {
            break;
        }
        seen[nseen++] = talloc_strdup(seen, id);
        learn_session(lg, id, path);
    }
    if (r < 0) {
        util_log(UTIL_LOG_WARNING, "logind: malformed ListSessions reply: %s", strerror(-r));
    } else if (seen != NULL || nseen == 0) {
        /* Sessions we knew that ended while the bus was away. */
        struct access_login *l = access_registry_logins(lg->reg);
        while (l != NULL) {
            struct access_login *next = l->next;
            bool found = false;
            for (size_t i = 0; i < nseen && !found; i++) {
                found = seen[i] != NULL && strcmp(seen[i], l->id) == 0;
            }
            if (!found) {
                forget_session(lg, l, "ended while the bus was unavailable");
            }
            l = next;
        }
    }
    util_log(UTIL_LOG_DEBUG, "logind: %zu sessions listed", nseen);
    talloc_free(tmp);
    return 0;
}

static int on_match_installed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
    if (sd_bus_message_is_method_error(m, NULL)) {
        const sd_bus_error *e = sd_bus_message_get_error(m);
        util_log(UTIL_LOG_WARNING, "logind: cannot subscribe to session signals: %s",
                 e != NULL && e->message != NULL ? e->message : "error");
    }
    return 0;
}

/* ---- the bus on the tevent loop ---- */

static uint64_t now_monotonic_usec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void bus_process(struct logind *lg)
{
    int r;

    do {
        r = sd_bus_process(lg->bus, NULL);
    } while (r > 0 && lg->bus != NULL);
    if (r < 0) {
        bus_drop(lg, -r, "processing");
        return;
    }
    if (sd_bus_is_open(lg->bus) <= 0) {
        bus_drop(lg, ECONNRESET, "processing");
        return;
    }
    bus_rearm(lg);
}

static void bus_fd_handler(struct tevent_context *ev, struct tevent_fd *fde, uint16_t flags,
                           void *pvt)
{
    bus_process(pvt);
}

static void bus_timer_handler(struct tevent_context *ev, struct tevent_timer *te,
                              struct timeval now, void *pvt)
{
    struct logind *lg = pvt;

    lg->bus_timer = NULL;
    bus_process(lg);
}

static void bus_rearm(struct logind *lg)
{
    int events = sd_bus_get_events(lg->bus);
    uint64_t until;
    uint16_t flags = 0;

    if (events < 0) {
        bus_drop(lg, -events, "polling");
        return;
    }
    if (events & POLLIN) {
        flags |= TEVENT_FD_READ;
    }
    if (events & POLLOUT) {
        flags |= TEVENT_FD_WRITE;
    }
    tevent_fd_set_flags(lg->fde, flags);
    TALLOC_FREE(lg->bus_timer);
    if (sd_bus_get_timeout(lg->bus, &until) >= 0 && until != UINT64_MAX) {
        uint64_t now = now_monotonic_usec();
        uint64_t rel = until > now ? until - now : 0;
        lg->bus_timer = tevent_add_timer(lg->ev, lg,
                                         tevent_timeval_current_ofs((uint32_t)(rel / 1000000u),
                                                                    (uint32_t)(rel % 1000000u)),
                                         bus_timer_handler, lg);
    }
}

static void reconnect_handler(struct tevent_context *ev, struct tevent_timer *te,
                              struct timeval now, void *pvt)
{
    struct logind *lg = pvt;

    lg->reconnect = NULL;
    bus_connect(lg);
}

static void schedule_reconnect(struct logind *lg)
{
    TALLOC_FREE(lg->reconnect);
    lg->reconnect = tevent_add_timer(lg->ev, lg,
                                     tevent_timeval_current_ofs(lg->opt.reconnect_seconds, 0),
                                     reconnect_handler, lg);
}

static void bus_drop(struct logind *lg, int err, const char *where)
{
    bool was_ready = access_registry_bus_connected(lg->reg);

    TALLOC_FREE(lg->fde);
    TALLOC_FREE(lg->bus_timer);
    if (lg->bus != NULL) {
        sd_bus_close(lg->bus);
        lg->bus = sd_bus_unref(lg->bus);
    }
    TALLOC_FREE(lg->conn_ctx);
    access_registry_set_bus_state(lg->reg, false);
    lg->failures++;
    util_log(was_ready || lg->failures == 1 ? UTIL_LOG_WARNING : UTIL_LOG_DEBUG,
             "logind: system bus unavailable (%s: %s): sessions are not wiped at logout until "
             "it is back; retrying every %u s", where, strerror(err), lg->opt.reconnect_seconds);
    schedule_reconnect(lg);
}

static void bus_connect(struct logind *lg)
{
    int r;
    int fd;

    lg->conn_ctx = talloc_new(lg);
    if (lg->conn_ctx == NULL) {
        schedule_reconnect(lg);
        return;
    }
    r = sd_bus_open_system(&lg->bus);
    if (r < 0) {
        lg->bus = NULL;
        bus_drop(lg, -r, "connecting");
        return;
    }
    fd = sd_bus_get_fd(lg->bus);
    if (fd < 0) {
        bus_drop(lg, -fd, "connecting");
        return;
    }
    lg->fde = tevent_add_fd(lg->ev, lg, fd, TEVENT_FD_READ, bus_fd_handler, lg);
    if (lg->fde == NULL) {
        bus_drop(lg, ENOMEM, "connecting");
        return;
    }
    r = sd_bus_match_signal_async(lg->bus, NULL, LOGIND_DEST, LOGIND_PATH, LOGIND_MANAGER,
                                  "SessionNew", on_session_new, on_match_installed, lg);
    if (r >= 0) {
        r = sd_bus_match_signal_async(lg->bus, NULL, LOGIND_DEST, LOGIND_PATH, LOGIND_MANAGER,
                                      "SessionRemoved", on_session_removed, on_match_installed,
                                      lg);
    }
    if (r >= 0) {
        r = sd_bus_call_method_async(lg->bus, NULL, LOGIND_DEST, LOGIND_PATH, LOGIND_MANAGER,
                                     "ListSessions", on_list, lg, "");
    }
    if (r < 0) {
        bus_drop(lg, -r, "subscribing");
        return;
    }
    if (lg->failures > 0 || !access_registry_bus_connected(lg->reg)) {
        util_log(UTIL_LOG_INFO, "logind: connected to the system bus; watching sessions");
    }
    lg->failures = 0;
    access_registry_set_bus_state(lg->reg, true);
    bus_rearm(lg);
}

static int logind_destructor(struct logind *lg)
{
    TALLOC_FREE(lg->fde);
    if (lg->bus != NULL) {
        sd_bus_close(lg->bus);
        lg->bus = sd_bus_unref(lg->bus);
    }
    return 0;
}

struct logind *logind_start(TALLOC_CTX *ctx, struct tevent_context *ev,
                            struct access_registry *reg, const struct logind_options *opt,
                            logind_wipe_fn wipe, void *wipe_arg)
{
    struct logind *lg = talloc_zero(ctx, struct logind);

    if (lg == NULL) {
        return NULL;
    }
    lg->ev = ev;
    lg->reg = reg;
    lg->opt = *opt;
    if (lg->opt.reconnect_seconds == 0) {
        lg->opt.reconnect_seconds = 1;
    }
    lg->wipe = wipe;
    lg->wipe_arg = wipe_arg;
    talloc_set_destructor(lg, logind_destructor);
    bus_connect(lg);
    return lg;
}

void logind_set_options(struct logind *lg, const struct logind_options *opt)
{
    unsigned rs = opt->reconnect_seconds != 0 ? opt->reconnect_seconds : 1;

    lg->opt = *opt;
    lg->opt.reconnect_seconds = rs;
    if (!lg->opt.wipe_on_leader_exit) {
        while (lg->watches != NULL) {
            struct leader_watch *w = lg->watches;
            lg->watches = w->next;
            talloc_free(w);
        }
    } else {
        for (struct access_login *l = access_registry_logins(lg->reg); l != NULL; l = l->next) {
            if (l->props_known) {
                watch_leader(lg, l);
            }
        }
    }
}
