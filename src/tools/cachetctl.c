/* cachetctl: administer a running cachetd over its root-only control socket. Speaks the
 * ctl_codec protocol (the same codec the daemon links); never sees a secret. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cachetd_conf.h"
#include "common/util_i18n.h"
#include "ctl/ctl_codec.h"

#define TIMEOUT_MS 30000

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static bool json;

static void usage(FILE *f)
{
    fprintf(f, _("Usage: cachetctl [OPTION]... COMMAND\n"
                 "Inspect and administer a running cachetd (root only).\n\n"
                 "Commands:\n"
                 "  status                 uptime, caches, credentials, sessions, memory, storage\n"
                 "  list                   caches per uid and session (never any secret)\n"
                 "  purge --expired        drop expired credentials now\n"
                 "  purge --uid N          wipe every cache of uid N\n"
                 "  purge --session N      wipe every cache of audit session N\n"
                 "  reload                 re-read the configuration (as SIGHUP)\n\n"
                 "Options:\n"
                 "  -c, --config FILE      read control_socket from FILE (default %s)\n"
                 "  -S, --socket PATH      control socket path (overrides the configuration)\n"
                 "  -j, --json             print JSON instead of a table\n"
                 "  -h, --help             print this help and exit\n"),
            SYSCONFDIR "/cachet/cachet.conf");
}

/* ---- transport ---- */

static bool io_all(int fd, uint8_t *p, size_t len, bool writing)
{
    size_t done = 0;

    while (done < len) {
        struct pollfd pfd = { .fd = fd, .events = writing ? POLLOUT : POLLIN };
        ssize_t n;
        if (poll(&pfd, 1, TIMEOUT_MS) <= 0) {
            errno = ETIMEDOUT;
            return false;
        }
        n = writing ? send(fd, p + done, len - done, MSG_NOSIGNAL)
                    : recv(fd, p + done, len - done, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = ECONNRESET;
            }
            return false;
        }
        done += (size_t)n;
    }
    return true;
}

/* Send one request; on success *reply (malloc'ed) holds the payload after the length. */
static int transact(const char *path, const struct ctl_req *req, uint8_t **reply, size_t *len)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    uint8_t buf[64];
    uint8_t hdr[4];
    struct util_wr wr;
    uint32_t n;
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        fprintf(stderr, _("cachetctl: socket path too long: %s\n"), path);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    util_wr_init(&wr, buf, sizeof(buf));
    if (!ctl_req_write(&wr, req)) {
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fprintf(stderr, _("cachetctl: cannot connect to %s: %s%s\n"), path, strerror(errno),
                errno == EACCES ? _(" (the control socket is for root only)") : "");
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    if (!io_all(fd, buf, wr.len, true) || !io_all(fd, hdr, 4, false)) {
        fprintf(stderr, _("cachetctl: no answer from cachetd on %s: %s\n"), path,
                strerror(errno));
        close(fd);
        return -1;
    }
    n = util_be32(hdr);
    if (n < 4 || n > CTL_MAX_REPLY || (*reply = malloc(n)) == NULL) {
        fprintf(stderr, _("cachetctl: malformed reply from cachetd\n"));
        close(fd);
        return -1;
    }
    if (!io_all(fd, *reply, n, false)) {
        fprintf(stderr, _("cachetctl: reply from cachetd cut short: %s\n"), strerror(errno));
        free(*reply);
        close(fd);
        return -1;
    }
    close(fd);
    *len = n;
    return 0;
}

/* ---- output helpers ---- */

static void json_str(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            printf("\\%c", *p);
        } else if (*p < 0x20 || *p == 0x7f) {
            printf("\\u%04x", *p);
        } else {
            putchar(*p);
        }
    }
    putchar('"');
}

static const char *fmt_time(uint32_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (t == 0) {
        return "-";
    }
    if (localtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0) {
        snprintf(buf, len, "%u", t);
    }
    return buf;
}

static const char *fmt_bytes(uint64_t b, char *buf, size_t len)
{
    if (b >= 10u * 1024 * 1024) {
        snprintf(buf, len, "%llu MiB", (unsigned long long)(b >> 20));
    } else if (b >= 10u * 1024) {
        snprintf(buf, len, "%llu KiB", (unsigned long long)(b >> 10));
    } else {
        snprintf(buf, len, "%llu B", (unsigned long long)b);
    }
    return buf;
}

static const char *fmt_uptime(uint64_t s, char *buf, size_t len)
{
    unsigned long long d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60, sec = s % 60;

    if (d > 0) {
        snprintf(buf, len, "%llud %02lluh %02llum %02llus", d, h, m, sec);
    } else {
        snprintf(buf, len, "%02lluh %02llum %02llus", h, m, sec);
    }
    return buf;
}

/* ---- commands ---- */

static int show_status(struct util_rd *body)
{
    struct ctl_status_info st;
    char a[64], b[64], c[64], u[64], by[64];

    if (!ctl_status_parse(body, &st)) {
        fprintf(stderr, _("cachetctl: malformed status reply\n"));
        return EXIT_FAIL;
    }
    if (json) {
        printf("{\"version\": ");
        json_str(st.version);
        printf(", \"uptime_seconds\": %llu, \"storage\": ", (unsigned long long)st.uptime);
        json_str(st.storage);
        printf(", \"scope\": ");
        json_str(st.scope);
        printf(", \"collections\": %llu, \"caches\": %llu, \"credentials\": %llu, "
               "\"credential_bytes\": %llu, \"session_collections\": %llu, "
               "\"logind_sessions\": %llu, \"logind_connected\": %s, \"connections\": %llu, "
               "\"memory\": {\"mapped_bytes\": %llu, \"locked_bytes\": %llu, "
               "\"used_bytes\": %llu, \"memfd_secret\": %s}}\n",
               (unsigned long long)st.owners, (unsigned long long)st.caches,
               (unsigned long long)st.creds, (unsigned long long)st.bytes,
               (unsigned long long)st.sessions, (unsigned long long)st.logind_sessions,
               st.logind_connected ? "true" : "false", (unsigned long long)st.connections,
               (unsigned long long)st.mem_mapped, (unsigned long long)st.mem_locked,
               (unsigned long long)st.mem_used, st.secretmem ? "true" : "false");
        return EXIT_OK;
    }
    printf(_("%-22s %s\n"), _("version:"), st.version);
    printf(_("%-22s %s\n"), _("uptime:"), fmt_uptime(st.uptime, u, sizeof(u)));
    printf(_("%-22s %s\n"), _("storage:"), st.storage);
    printf(_("%-22s %s\n"), _("scope:"), st.scope);
    printf(_("%-22s %llu\n"), _("collections:"), (unsigned long long)st.owners);
    printf(_("%-22s %llu\n"), _("caches:"), (unsigned long long)st.caches);
    printf(_("%-22s %llu (%s)\n"), _("credentials:"), (unsigned long long)st.creds,
           fmt_bytes(st.bytes, by, sizeof(by)));
    printf(_("%-22s %llu\n"), _("session collections:"), (unsigned long long)st.sessions);
    printf(_("%-22s %llu (%s)\n"), _("logind sessions:"), (unsigned long long)st.logind_sessions,
           st.logind_connected ? _("bus connected") : _("bus not connected"));
    printf(_("%-22s %llu\n"), _("connections:"), (unsigned long long)st.connections);
    printf(_("%-22s %s locked of %s mapped, %s in use%s\n"), _("memory:"),
           fmt_bytes(st.mem_locked, a, sizeof(a)), fmt_bytes(st.mem_mapped, b, sizeof(b)),
           fmt_bytes(st.mem_used, c, sizeof(c)), st.secretmem ? _(" (memfd_secret)") : "");
    return EXIT_OK;
}

/* Sorted by uid, then session: the daemon sends hash order. */
struct row_owner {
    struct ctl_owner_info o;
    struct ctl_cache_info *caches;
};

static int cmp_owner(const void *a, const void *b)
{
    const struct row_owner *x = a, *y = b;

    if (x->o.uid != y->o.uid) {
        return x->o.uid < y->o.uid ? -1 : 1;
    }
    return x->o.session < y->o.session ? -1 : x->o.session > y->o.session;
}

static int show_list(struct util_rd *body)
{
    uint32_t n = util_rd_u32(body);
    struct row_owner *rows;
    int ret = EXIT_OK;
    char tbuf[64];

    if (!util_rd_ok(body) || n > util_rd_left(body) / 16) {
        fprintf(stderr, _("cachetctl: malformed list reply\n"));
        return EXIT_FAIL;
    }
    rows = calloc(n ? n : 1, sizeof(*rows));
    if (rows == NULL) {
        return EXIT_FAIL;
    }
    for (uint32_t i = 0; i < n && ret == EXIT_OK; i++) {
        if (!ctl_owner_parse(body, &rows[i].o) || rows[i].o.ncaches > util_rd_left(body) / 10) {
            ret = EXIT_FAIL;
            break;
        }
        rows[i].caches = calloc(rows[i].o.ncaches ? rows[i].o.ncaches : 1,
                                sizeof(*rows[i].caches));
        if (rows[i].caches == NULL) {
            ret = EXIT_FAIL;
            break;
        }
        for (uint32_t j = 0; j < rows[i].o.ncaches; j++) {
            if (!ctl_cache_parse(body, &rows[i].caches[j])) {
                ret = EXIT_FAIL;
                break;
            }
        }
    }
    if (ret == EXIT_OK && !util_rd_done(body)) {
        ret = EXIT_FAIL;
    }
    if (ret != EXIT_OK) {
        fprintf(stderr, _("cachetctl: malformed list reply\n"));
        goto out;
    }
    qsort(rows, n, sizeof(*rows), cmp_owner);
    if (json) {
        printf("{\"collections\": [");
        for (uint32_t i = 0; i < n; i++) {
            const struct ctl_owner_info *o = &rows[i].o;
            printf("%s\n  {\"uid\": %u, \"session\": ", i ? "," : "", o->uid);
            if (o->session != 0) {
                printf("%u", o->session);
            } else {
                printf("null");
            }
            printf(", \"logind_session\": ");
            if (o->logind_id[0] != '\0') {
                json_str(o->logind_id);
            } else {
                printf("null");
            }
            printf(", \"default_cache\": ");
            json_str(o->default_name);
            printf(", \"caches\": [");
            for (uint32_t j = 0; j < o->ncaches; j++) {
                const struct ctl_cache_info *c = &rows[i].caches[j];
                printf("%s{\"name\": ", j ? ", " : "");
                json_str(c->name);
                printf(", \"principal\": ");
                json_str(c->principal);
                printf(", \"credentials\": %u, \"expires\": %u, \"default\": %s}", c->ncreds,
                       c->expires, strcmp(c->name, o->default_name) == 0 ? "true" : "false");
            }
            printf("]}");
        }
        printf("%s]}\n", n ? "\n" : "");
        goto out;
    }
    printf("%-8s %-10s %-8s %-40s %-32s %5s  %s\n", _("UID"), _("SESSION"), _("LOGIND"),
           _("CACHE"), _("PRINCIPAL"), _("CREDS"), _("EXPIRES"));
    for (uint32_t i = 0; i < n; i++) {
        const struct ctl_owner_info *o = &rows[i].o;
        char sess[16];
        snprintf(sess, sizeof(sess), "%u", o->session);
        if (o->ncaches == 0) {
            printf("%-8u %-10s %-8s %-40s %-32s %5s  %s\n", o->uid, o->session ? sess : "-",
                   o->logind_id[0] ? o->logind_id : "-", _("(no caches)"), "-", "-", "-");
        }
        for (uint32_t j = 0; j < o->ncaches; j++) {
            const struct ctl_cache_info *c = &rows[i].caches[j];
            char name[KCM_MAX_NAME + 4];
            snprintf(name, sizeof(name), "%s%s", c->name,
                     strcmp(c->name, o->default_name) == 0 ? " *" : "");
            printf("%-8u %-10s %-8s %-40s %-32s %5u  %s\n", o->uid, o->session ? sess : "-",
                   o->logind_id[0] ? o->logind_id : "-", name,
                   c->principal[0] ? c->principal : "-", c->ncreds,
                   fmt_time(c->expires, tbuf, sizeof(tbuf)));
        }
    }
    if (n > 0) {
        printf(_("(* = default cache of its collection)\n"));
    }
out:
    for (uint32_t i = 0; i < n; i++) {
        free(rows[i].caches);
    }
    free(rows);
    return ret;
}

static bool parse_u32(const char *s, uint32_t *out)
{
    char *end;
    unsigned long long v;

    if (s == NULL || *s == '\0' || *s == '-') {
        return false;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > UINT32_MAX) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' }, { "socket", required_argument, NULL, 'S' },
        { "json", no_argument, NULL, 'j' },         { "help", no_argument, NULL, 'h' },
        { "expired", no_argument, NULL, 'e' },      { "uid", required_argument, NULL, 'u' },
        { "session", required_argument, NULL, 's' }, { NULL, 0, NULL, 0 },
    };
    const char *config = SYSCONFDIR "/cachet/cachet.conf";
    bool config_given = false;
    const char *sock = NULL;
    struct ctl_req req = { 0 };
    int purge_opts = 0;
    const char *cmd;
    uint8_t *reply = NULL;
    size_t rlen = 0;
    uint32_t status;
    struct util_rd body;
    struct cachetd_conf cfg;
    char err[1024];
    int opt;
    int ret;

    setlocale(LC_ALL, "");
#ifdef ENABLE_NLS
    bindtextdomain(PACKAGE, LOCALEDIR);
#endif
    while ((opt = getopt_long(argc, argv, "c:S:jh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config = optarg;
            config_given = true;
            break;
        case 'S':
            sock = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        case 'e':
            req.purge_kind = CTL_PURGE_EXPIRED;
            purge_opts++;
            break;
        case 'u':
        case 's':
            req.purge_kind = opt == 'u' ? CTL_PURGE_UID : CTL_PURGE_SESSION;
            purge_opts++;
            if (!parse_u32(optarg, &req.purge_value) ||
                (opt == 's' && (req.purge_value == 0 || req.purge_value == UINT32_MAX))) {
                fprintf(stderr, _("cachetctl: invalid %s '%s'\n"),
                        opt == 'u' ? "--uid" : "--session", optarg);
                return EXIT_USAGE;
            }
            break;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    cmd = argv[optind];
    if (strcmp(cmd, "status") == 0) {
        req.op = CTL_OP_STATUS;
    } else if (strcmp(cmd, "list") == 0) {
        req.op = CTL_OP_LIST;
    } else if (strcmp(cmd, "purge") == 0) {
        req.op = CTL_OP_PURGE;
    } else if (strcmp(cmd, "reload") == 0) {
        req.op = CTL_OP_RELOAD;
    } else {
        fprintf(stderr, _("cachetctl: unknown command '%s'\n"), cmd);
        usage(stderr);
        return EXIT_USAGE;
    }
    if ((req.op == CTL_OP_PURGE) != (purge_opts > 0) || purge_opts > 1) {
        fprintf(stderr, req.op == CTL_OP_PURGE
                            ? _("cachetctl: purge needs exactly one of --expired, --uid N, "
                                "--session N\n")
                            : _("cachetctl: --expired, --uid and --session go with purge\n"));
        return EXIT_USAGE;
    }
    if (sock == NULL) {
        if (cachetd_conf_load(&cfg, config, !config_given, err, sizeof(err)) != 0) {
            fprintf(stderr, _("cachetctl: invalid configuration: %s\n"), err);
            return EXIT_FAIL;
        }
        if (strcmp(cfg.control_socket, "-") == 0 || strcmp(cfg.control_socket, "none") == 0) {
            fprintf(stderr, _("cachetctl: the control socket is disabled in %s\n"), config);
            return EXIT_FAIL;
        }
        sock = cfg.control_socket;
    }
    if (transact(sock, &req, &reply, &rlen) != 0) {
        return EXIT_FAIL;
    }
    if (!ctl_reply_parse(reply, rlen, &status, &body)) {
        fprintf(stderr, _("cachetctl: malformed reply from cachetd\n"));
        free(reply);
        return EXIT_FAIL;
    }
    if (status != CTL_OK) {
        fprintf(stderr, _("cachetctl: %s: %s\n"), cmd, ctl_status_str(status));
        free(reply);
        return EXIT_FAIL;
    }
    ret = EXIT_OK;
    switch (req.op) {
    case CTL_OP_STATUS:
        ret = show_status(&body);
        break;
    case CTL_OP_LIST:
        ret = show_list(&body);
        break;
    case CTL_OP_PURGE: {
        uint64_t n = ctl_rd_u64(&body);
        if (!util_rd_done(&body)) {
            fprintf(stderr, _("cachetctl: malformed purge reply\n"));
            ret = EXIT_FAIL;
        } else if (json) {
            printf("{\"removed\": %llu, \"unit\": \"%s\"}\n", (unsigned long long)n,
                   req.purge_kind == CTL_PURGE_EXPIRED ? "credentials" : "caches");
        } else if (req.purge_kind == CTL_PURGE_EXPIRED) {
            printf(_("%llu expired credentials removed\n"), (unsigned long long)n);
        } else {
            printf(_("%llu caches removed\n"), (unsigned long long)n);
        }
        break;
    }
    case CTL_OP_RELOAD:
        if (json) {
            printf("{\"reloaded\": true}\n");
        } else {
            printf(_("reload requested; see cachetd's log for the result\n"));
        }
        break;
    }
    free(reply);
    return ret;
}
