/* gssproxy's command line; see cachetd_gpcompat.h. Written from gssproxy's documented options
 * (gssproxy(8), src/gssproxy.c option table); the parser is getopt_long, not popt. */
#include "config.h"
#include "cachetd_gpcompat.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_DEBUG_LEVEL = 256,
    OPT_SYSLOG_STATUS,
    OPT_VERSION,
    OPT_IDLE_TIMEOUT,
    OPT_EXTRACT_CCACHE,
    OPT_INTO_CCACHE,
    OPT_CACHET_CONFIG,
    OPT_PID_FILE,
};

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: gssproxy [OPTION]...   (cachetd in gssproxy mode)\n"
            "  -D, --daemon           become a daemon (the default)\n"
            "  -i, --interactive      run in the foreground\n"
            "  -c, --config FILE      gssproxy.conf (then no configuration directory unless"
            " -C)\n"
            "  -C, --configdir DIR    directory of NN-*.conf files (default /etc/gssproxy)\n"
            "  -s, --socket PATH      default socket (default /var/lib/gssproxy/default.sock)\n"
            "  -u, --userproxy        user session proxy: one service for this euid\n"
            "  -d, --debug            debug logging\n"
            "      --debug-level=N    debug logging if N > 0\n"
            "      --syslog-status    accepted (GSS failures are logged at debug level)\n"
            "      --idle-timeout=N   with -u: exit after N idle seconds (default %d, 0:"
            " never)\n"
            "      --version          print the version and exit\n"
            "  cachet extensions:\n"
            "      --cachet-config=FILE  cachetd's own configuration (default: %s if present)\n"
            "      --pid-file=PATH    pid file when detaching (default %s)\n",
            GPCOMPAT_DEFAULT_IDLE_TIMEOUT, SYSCONFDIR "/cachet/cachet.conf",
            GPCOMPAT_DEFAULT_PID_FILE);
}

bool cachetd_gpcompat_wanted(int *argc, char **argv)
{
    const char *base = argv[0] != NULL ? strrchr(argv[0], '/') : NULL;
    bool want = argv[0] != NULL && strcmp(base != NULL ? base + 1 : argv[0], "gssproxy") == 0;

    for (int i = 1; i < *argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--gssproxy-compat") == 0) {
            memmove(&argv[i], &argv[i + 1], (size_t)(*argc - i) * sizeof(argv[0]));
            (*argc)--;
            want = true;
            break;
        }
    }
    return want;
}

static bool number(const char *s, long max, long *out)
{
    char *end;

    errno = 0;
    *out = strtol(s, &end, 10);
    return errno == 0 && end != s && *end == '\0' && *out >= 0 && *out <= max;
}

int cachetd_gpcompat_parse(int argc, char **argv, struct cachetd_gpcompat *out, FILE *err)
{
    static const struct option longopts[] = {
        { "daemon", no_argument, NULL, 'D' },
        { "interactive", no_argument, NULL, 'i' },
        { "config", required_argument, NULL, 'c' },
        { "configdir", required_argument, NULL, 'C' },
        { "socket", required_argument, NULL, 's' },
        { "userproxy", no_argument, NULL, 'u' },
        { "debug", no_argument, NULL, 'd' },
        { "debug-level", required_argument, NULL, OPT_DEBUG_LEVEL },
        { "syslog-status", no_argument, NULL, OPT_SYSLOG_STATUS },
        { "version", no_argument, NULL, OPT_VERSION },
        { "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
        { "extract-ccache", required_argument, NULL, OPT_EXTRACT_CCACHE },
        { "into-ccache", required_argument, NULL, OPT_INTO_CCACHE },
        { "cachet-config", required_argument, NULL, OPT_CACHET_CONFIG },
        { "pid-file", required_argument, NULL, OPT_PID_FILE },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool daemon_flag = false, interactive = false, idle_given = false;
    long v;
    int opt;

    memset(out, 0, sizeof(*out));
    out->idle_timeout = GPCOMPAT_DEFAULT_IDLE_TIMEOUT;
    out->pid_file = GPCOMPAT_DEFAULT_PID_FILE;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":Dic:C:s:udh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'D':
            daemon_flag = true;
            break;
        case 'i':
            interactive = true;
            break;
        case 'c':
            out->config = optarg;
            break;
        case 'C':
            out->config_dir = optarg;
            break;
        case 's':
            out->socket = optarg;
            break;
        case 'u':
            out->userproxy = true;
            break;
        case 'd':
            if (out->debug_level == 0) {
                out->debug_level = 1;
            }
            break;
        case OPT_DEBUG_LEVEL:
            if (!number(optarg, INT_MAX, &v)) {
                fprintf(err, "gssproxy: --debug-level: '%s' is not a number >= 0\n", optarg);
                return 2;
            }
            out->debug_level = (int)v;
            break;
        case OPT_SYSLOG_STATUS:
            out->syslog_status = true;
            break;
        case OPT_VERSION:
            printf("%s\n", PACKAGE_VERSION);
            return 0;
        case OPT_IDLE_TIMEOUT:
            if (!number(optarg, UINT_MAX / 1000, &v)) {
                fprintf(err, "gssproxy: --idle-timeout: '%s' is not a number of seconds\n", optarg);
                return 2;
            }
            out->idle_timeout = (unsigned)v;
            idle_given = true;
            break;
        case OPT_EXTRACT_CCACHE:
        case OPT_INTO_CCACHE:
            fprintf(err, "gssproxy: --extract-ccache/--into-ccache (a debugging aid) are not "
                         "supported by cachetd\n");
            return 2;
        case OPT_CACHET_CONFIG:
            out->cachet_config = optarg;
            break;
        case OPT_PID_FILE:
            out->pid_file = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            fprintf(err, "gssproxy: option '%s' needs a value\n", argv[optind - 1]);
            usage(err);
            return 2;
        default:
            fprintf(err, "gssproxy: unknown option '%s'\n", argv[optind - 1]);
            usage(err);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(err, "gssproxy: unexpected argument '%s'\n", argv[optind]);
        usage(err);
        return 2;
    }
    if (daemon_flag && interactive) {
        fprintf(err, "gssproxy: -i|--interactive is not allowed together with -D|--daemon\n");
        return 2;
    }
    if (idle_given && !out->userproxy) {
        fprintf(err, "gssproxy: warning: --idle-timeout applies only with -u; ignored\n");
    }
    out->daemonize = !interactive;
    return -1;
}
