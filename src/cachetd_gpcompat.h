/* gssproxy's command line (0.9.1, src/gssproxy.c), so that cachetd replaces /usr/sbin/gssproxy
 * in its unit (`gssproxy -D`) and in gssproxy's test harness (`gssproxy -i -s SOCK -c CONF`).
 * Entered when cachetd runs as "gssproxy" (argv[0] basename) or is given --gssproxy-compat. */
#ifndef CACHET_CACHETD_GPCOMPAT_H
#define CACHET_CACHETD_GPCOMPAT_H

#include <stdbool.h>
#include <stdio.h>

#define GPCOMPAT_DEFAULT_IDLE_TIMEOUT 1000
#define GPCOMPAT_DEFAULT_PID_FILE "/run/gssproxy.pid"

struct cachetd_gpcompat {
    bool daemonize;            /* gssproxy's default; -i turns it off */
    const char *socket;        /* -s: the default GSS-Proxy socket */
    const char *config;        /* -c: gssproxy.conf */
    const char *config_dir;    /* -C: the NN-*.conf directory */
    int debug_level;           /* -d: 1; --debug-level=N */
    bool syslog_status;        /* accepted; cachetd logs GSS failures at debug level */
    bool userproxy;            /* -u */
    unsigned idle_timeout;     /* --idle-timeout (seconds, -u only); 0: never */
    const char *cachet_config; /* --cachet-config: cachetd's own file (extension) */
    const char *pid_file;      /* --pid-file (extension); written when detaching */
};

/* True if argv asks for gssproxy's command line: argv[0]'s basename is "gssproxy", or an
 * argument (before "--") is --gssproxy-compat, which is then removed from argv. */
bool cachetd_gpcompat_wanted(int *argc, char **argv);

/* Parse gssproxy's options into out. Returns -1 to go on, or an exit status: 0 after
 * --version or --help, 2 after a usage error (message on err). */
int cachetd_gpcompat_parse(int argc, char **argv, struct cachetd_gpcompat *out, FILE *err);

#endif
