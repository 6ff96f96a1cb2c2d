/*
 * kcmbench - drive a KCM server through MIT libkrb5's own KCM: client.
 *
 * Only the public krb5.h API is used, so the numbers include everything a real
 * client pays (connect per handle, marshalling, MIT's fallbacks when a server
 * lacks an opcode).  Credentials are synthetic: no KDC is involved.
 *
 * One invocation measures one workload at one concurrency level and prints a
 * single "RESULT key=value ..." line that bench/run.sh parses.  Client
 * processes are forked; each has its own krb5_context (contexts and KCM
 * connections must never cross a fork).
 *
 * Workloads (one "op" each):
 *   store     new_unique + initialize + store N creds + destroy
 *   retrieve  krb5_cc_retrieve_cred of one service ticket from a 20-cred cache
 *   iterate   start_seq_get / next_cred x20 / end_seq_get on a 20-cred cache
 *   list      cccol cursor over the collection (5 caches) + get_principal each
 *   floor     raw AF_UNIX 16-byte request / 16-byte reply against an in-process
 *             single-threaded epoll echo server (the transport floor)
 *   floorconn the same with a new connection per round trip (connect, 16 bytes
 *             each way, close): the floor of a connection's cost
 *   clean     not a benchmark: destroy every cache in the collection of the
 *             dedicated --uid (leftovers of an interrupted run) and exit
 *
 * --null-server runs a KCM workload against an in-process server that answers
 * every request with a canned reply (kb_servers.c): the throughput no real
 * server can beat with this client on this machine.
 */
#include "kcmbench.h"
#include "kcmwire.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const workload_names[] = {
    "store", "retrieve", "iterate", "list", "floor", "floorconn", "clean"
};

struct options opt = {
    .workload = W_RETRIEVE,
    .label = "server",
    .procs = 1,
    .duration = 3.0,
    .warmup = 0.3,
    .nops = 0,
    .store_creds = 10,
    .ticket_len = 1024,
    .retrieve_flags = KRB5_TC_MATCH_TIMES | KRB5_TC_MATCH_AUTHDATA,
    .uid = -1,
    .server_pid = -1,
    .clean = 0,
    .null_server = 0,
    .verbose = 0,
};

char tmpdir[] = "/tmp/kcmbench.XXXXXX";
static int have_tmpdir;

void
die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "kcmbench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

static double
now_sec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
cpu_self(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void
sleep_until(double t)
{
    double d = t - now_sec();
    struct timespec ts;

    if (d <= 0) {
        return;
    }
    ts.tv_sec = (time_t)d;
    ts.tv_nsec = (long)((d - ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int
hist_bucket(double secs)
{
    double ns = secs * 1e9;
    int b;

    if (ns < 1.0) {
        return 0;
    }
    b = (int)(log2(ns) * 8.0);
    if (b < 0) {
        b = 0;
    }
    if (b >= HIST_BUCKETS) {
        b = HIST_BUCKETS - 1;
    }
    return b;
}

/* Upper bound of a bucket, in microseconds. */
static double
bucket_us(int b)
{
    return pow(2.0, (b + 1) / 8.0) / 1000.0;
}

void
set_err(struct child_result *r, krb5_context ctx, krb5_error_code code, const char *what)
{
    const char *msg;

    if (r->errmsg[0] != '\0') {
        return;
    }
    if (ctx != NULL && code != 0) {
        msg = krb5_get_error_message(ctx, code);
        snprintf(r->errmsg, sizeof(r->errmsg), "%s: %s (%d)", what, msg, (int)code);
        krb5_free_error_message(ctx, msg);
    } else {
        snprintf(r->errmsg, sizeof(r->errmsg), "%s: %s", what,
                 code != 0 ? strerror(code) : "failed");
    }
}

/* ---- driver ---- */

/*
 * Run ops back to back until the deadline (or nops).  Only ops that start
 * after the warm-up count; this process's window runs from the start of its
 * first counted op to the end of its last one, so an op straddling either
 * edge is never counted partially (matters for servers at a few ops/s).
 */
static void
child_run(int idx, struct child_result *r, int go_fd)
{
    struct kcm_state st;
    int floor_fd = -1;
    double t0, t_measure, t_end, t, t_last = 0, t_first = -1, cpu_first = 0;
    long seq = 0;
    char c;
    int ret;

    memset(&st, 0, sizeof(st));
    if (opt.workload == W_FLOOR) {
        floor_fd = floor_connect(r);
        ret = floor_fd < 0 ? -1 : 0;
    } else if (opt.workload == W_FLOORCONN) {
        ret = 0;
    } else {
        ret = kcm_setup(&st, idx, r);
    }
    if (ret) {
        r->setup_failed = 1;
    }
    r->setup_done = 1;
    /* Wait for the parent to release every child at once (EOF on the pipe). */
    while (read(go_fd, &c, 1) < 0 && errno == EINTR) {
    }
    if (r->setup_failed) {
        _exit(1);
    }

    t0 = now_sec();
    t_measure = opt.nops > 0 ? t0 : t0 + opt.warmup;
    t_end = t_measure + opt.duration;
    for (;;) {
        double start = now_sec();
        int measured = start >= t_measure;

        /*
         * A server slower than the window (sssd-kcm's store takes seconds at
         * 16 clients) still gets MIN_OPS whole ops per process, up to
         * MAX_OVERRUN seconds past the deadline.
         */
        if (opt.nops > 0 ? r->ops + r->errors >= opt.nops
                         : start >= t_end && (r->ops + r->errors >= MIN_OPS ||
                                              start >= t_end + MAX_OVERRUN)) {
            t_last = start;
            break;
        }
        switch (opt.workload) {
        case W_STORE:
            ret = op_store(&st, r);
            break;
        case W_RETRIEVE:
            ret = op_retrieve(&st, r);
            break;
        case W_ITERATE:
            ret = op_iterate(&st, r);
            break;
        case W_LIST:
            ret = op_list(&st, r);
            break;
        case W_FLOOR:
            ret = op_floor(floor_fd, seq++, r);
            break;
        case W_FLOORCONN:
            floor_fd = floor_connect(r);
            ret = floor_fd < 0 ? -1 : op_floor(floor_fd, seq++, r);
            if (floor_fd >= 0) {
                close(floor_fd);
                floor_fd = -1;
            }
            break;
        default:
            ret = EINVAL;
            break;
        }
        t = now_sec();
        if (!measured) {
            continue;
        }
        if (t_first < 0) {
            /* Ops run back to back: the window opens when this one started. */
            t_first = start;
            cpu_first = cpu_self();
        }
        if (ret) {
            r->errors++;
            if (r->errors > 1000 && r->ops == 0) {
                t_last = t;
                break;
            }
        } else {
            r->ops++;
            r->hist[hist_bucket(t - start)]++;
        }
    }
    r->span = t_first < 0 ? 0 : t_last - t_first;
    r->cpu = t_first < 0 ? 0 : cpu_self() - cpu_first;
    if (IS_FLOOR(opt.workload)) {
        if (floor_fd >= 0) {
            close(floor_fd);
        }
    } else {
        kcm_teardown(&st);
    }
    _exit(0);
}

static void
write_conf(void)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/krb5.conf", tmpdir);
    f = fopen(path, "w");
    if (f == NULL) {
        die("cannot write %s: %s", path, strerror(errno));
    }
    fprintf(f,
            "[libdefaults]\n"
            "  default_realm = %s\n"
            "  kcm_socket = %s\n"
            "  kcm_mach_service = -\n"
            "  default_ccache_name = KCM:\n"
            "  dns_lookup_kdc = false\n"
            "  dns_lookup_realm = false\n",
            BENCH_REALM, opt.socket_path != NULL ? opt.socket_path : "-");
    fclose(f);
    chmod(path, 0644);
    setenv("KRB5_CONFIG", path, 1);
    setenv("KRB5CCNAME", "KCM:", 1);
    unsetenv("KRB5_TRACE");
}

static void
drop_privileges(void)
{
    uid_t uid = (uid_t)opt.uid;

    if (opt.uid < 0) {
        return;
    }
    if (geteuid() != 0) {
        if (geteuid() == uid) {
            return;
        }
        die("--uid needs root");
    }
    if (chown(tmpdir, uid, uid) != 0) {
        die("chown %s: %s", tmpdir, strerror(errno));
    }
    if (setgroups(0, NULL) != 0 || setresgid(uid, uid, uid) != 0 ||
        setresuid(uid, uid, uid) != 0) {
        die("cannot switch to uid %ld: %s", opt.uid, strerror(errno));
    }
}

static void
cleanup_tmpdir(void)
{
    char path[512];

    if (!have_tmpdir) {
        return;
    }
    snprintf(path, sizeof(path), "%s/krb5.conf", tmpdir);
    unlink(path);
    rmdir(tmpdir);
}

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: kcmbench -w WORKLOAD [-S SOCKET] [options]\n"
            "  -w, --workload W     store | retrieve | iterate | list | floor | floorconn | clean\n"
            "  -S, --socket PATH    KCM socket (not for floor)\n"
            "  -p, --procs N        concurrent client processes (default 1)\n"
            "  -t, --duration S     measured seconds per process (default 3)\n"
            "  -W, --warmup S       unmeasured warm-up seconds (default 0.3)\n"
            "  -n, --ops N          fixed op count per process instead of a duration\n"
            "  -c, --store-creds N  creds per store op (default 10)\n"
            "  -T, --ticket-len N   ticket bytes (default 1024)\n"
            "  -f, --flags N        krb5_cc_retrieve_cred flags (default MATCH_TIMES|MATCH_AUTHDATA)\n"
            "  -u, --uid UID        run the clients as UID (needs root)\n"
            "      --server-pid PID sample the server's CPU time (srv_us_per_op, srv_util)\n"
            "      --null-server[=MODE]\n"
            "                       run against an in-process KCM server that answers with\n"
            "                       canned replies (the best any server could do); MODE\n"
            "                       sqlite first commits each change request to sqlite as\n"
            "                       cachetd does, sqlite-seal also seals each STORE with\n"
            "                       krb5_c_encrypt (the best any durable server could do)\n"
            "      --clean          empty the collection before 'list' (dedicated uid only)\n"
            "  -l, --label NAME     label printed in the RESULT line\n"
            "  -v, --verbose\n"
            "Prints one line: RESULT label= workload= procs= ops= errors= failed_procs= secs=\n"
            "ops_per_sec= p50_us= p99_us= cli_us_per_op= [srv_us_per_op= srv_util=] [error=\"...\"]\n"
            "ops_per_sec is the sum over client processes of ops / own window.\n");
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "workload", required_argument, NULL, 'w' },
        { "socket", required_argument, NULL, 'S' },
        { "procs", required_argument, NULL, 'p' },
        { "duration", required_argument, NULL, 't' },
        { "warmup", required_argument, NULL, 'W' },
        { "ops", required_argument, NULL, 'n' },
        { "store-creds", required_argument, NULL, 'c' },
        { "ticket-len", required_argument, NULL, 'T' },
        { "flags", required_argument, NULL, 'f' },
        { "uid", required_argument, NULL, 'u' },
        { "server-pid", required_argument, NULL, 'P' },
        { "null-server", optional_argument, NULL, 'N' },
        { "clean", no_argument, NULL, 'C' },
        { "label", required_argument, NULL, 'l' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct child_result *res, agg;
    krb5_context pctx = NULL;
    pid_t pids[MAX_PROCS];
    int go[2], ch, i, status, failed = 0;
    double maxspan = 0, rate_sum = 0, p50 = 0, p99 = 0, cli_cpu = 0;
    double t_go, srv_t0 = 0, srv_t1 = 0, srv_c0 = -1, srv_c1 = -1;
    char null_path[96];
    pid_t null_pid = -1;
    long total_ops = 0, total_err = 0;
    unsigned long long cum, hsum;
    size_t j;

    while ((ch = getopt_long(argc, argv, "w:S:p:t:W:n:c:T:f:u:l:vh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'w':
            for (j = 0; j < sizeof(workload_names) / sizeof(workload_names[0]); j++) {
                if (strcmp(optarg, workload_names[j]) == 0) {
                    break;
                }
            }
            if (j == sizeof(workload_names) / sizeof(workload_names[0])) {
                die("unknown workload '%s'", optarg);
            }
            opt.workload = (enum workload)j;
            break;
        case 'S':
            opt.socket_path = optarg;
            break;
        case 'p':
            opt.procs = atoi(optarg);
            break;
        case 't':
            opt.duration = atof(optarg);
            break;
        case 'W':
            opt.warmup = atof(optarg);
            break;
        case 'n':
            opt.nops = atol(optarg);
            break;
        case 'c':
            opt.store_creds = atoi(optarg);
            break;
        case 'T':
            opt.ticket_len = atoi(optarg);
            break;
        case 'f':
            opt.retrieve_flags = (krb5_flags)strtol(optarg, NULL, 0);
            break;
        case 'u':
            opt.uid = atol(optarg);
            break;
        case 'N':
            opt.null_server = 1;
            if (optarg == NULL || strcmp(optarg, "canned") == 0) {
                opt.null_mode = NULL_CANNED;
            } else if (strcmp(optarg, "sqlite") == 0) {
                opt.null_mode = NULL_SQLITE;
            } else if (strcmp(optarg, "sqlite-seal") == 0) {
                opt.null_mode = NULL_SQLITE_SEAL;
            } else {
                die("--null-server: MODE is canned, sqlite or sqlite-seal");
            }
            break;
        case 'P':
            opt.server_pid = atol(optarg);
            break;
        case 'C':
            opt.clean = 1;
            break;
        case 'l':
            opt.label = optarg;
            break;
        case 'v':
            opt.verbose = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (opt.procs < 1 || opt.procs > MAX_PROCS) {
        die("--procs must be 1..%d", MAX_PROCS);
    }
    if (!IS_FLOOR(opt.workload) && opt.socket_path == NULL && !opt.null_server) {
        die("--socket is required for KCM workloads");
    }
    if (opt.store_creds < 1 || opt.ticket_len < 1 || opt.duration <= 0) {
        die("bad numeric option");
    }
    if ((opt.clean || opt.workload == W_CLEAN) && opt.uid < 0) {
        die("--clean is only allowed with a dedicated --uid");
    }

    if (mkdtemp(tmpdir) == NULL) {
        die("mkdtemp: %s", strerror(errno));
    }
    have_tmpdir = 1;
    chmod(tmpdir, 0755);
    if (opt.null_server) {
        snprintf(null_path, sizeof(null_path), "%s/null.sock", tmpdir);
        opt.socket_path = null_path;
    }
    write_conf();
    drop_privileges();
    if (opt.null_server) {
        null_server_db(tmpdir);
        null_pid = null_server_start(null_path, opt.null_mode);
        if (opt.server_pid <= 0) {
            opt.server_pid = null_pid;
        }
    }

    res = mmap(NULL, sizeof(*res) * (opt.procs + 1), PROT_READ | PROT_WRITE,
               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (res == MAP_FAILED) {
        die("mmap: %s", strerror(errno));
    }
    memset(res, 0, sizeof(*res) * (opt.procs + 1));

    if (opt.workload == W_CLEAN) {
        int n = 0;
        krb5_error_code ret;

        if (krb5_init_context(&pctx) != 0) {
            die("krb5_init_context failed");
        }
        ret = walk_collection(pctx, &n, 1, &res[0]);
        printf("RESULT label=%s workload=clean destroyed=%d%s%s%s\n", opt.label, n,
               ret ? " error=\"" : "", ret ? res[0].errmsg : "", ret ? "\"" : "");
        krb5_free_context(pctx);
        cleanup_tmpdir();
        return ret ? 1 : 0;
    }
    if (IS_FLOOR(opt.workload)) {
        floor_start();
        /* The echo server's CPU per round trip is the least any server can spend. */
        opt.server_pid = floor_server_pid;
    } else if (opt.workload == W_LIST) {
        if (krb5_init_context(&pctx) != 0) {
            die("krb5_init_context failed");
        }
        list_fixture(pctx, 1, &res[opt.procs]);
    }

    if (pipe(go) != 0) {
        die("pipe: %s", strerror(errno));
    }
    fflush(NULL);
    for (i = 0; i < opt.procs; i++) {
        pids[i] = fork();
        if (pids[i] < 0) {
            die("fork: %s", strerror(errno));
        }
        if (pids[i] == 0) {
            close(go[1]);
            /* A hung server must not hang the benchmark. */
            alarm((unsigned)(opt.warmup + opt.duration + MAX_OVERRUN) + 60 +
                  (opt.nops > 0 ? 600 : 0));
            child_run(i, &res[i], go[0]);
        }
    }
    close(go[0]);
    /* Release everybody once all are set up (or dead). */
    for (;;) {
        int ready = 0;

        for (i = 0; i < opt.procs; i++) {
            ready += res[i].setup_done;
        }
        if (ready == opt.procs) {
            break;
        }
        usleep(2000);
    }
    close(go[1]);
    t_go = now_sec();
    if (opt.server_pid > 0 && opt.nops <= 0) {
        /* Sample the server over the middle of the children's common window. */
        sleep_until(t_go + opt.warmup + 0.05);
        srv_t0 = now_sec();
        srv_c0 = kw_cpu_of_pid(opt.server_pid);
        sleep_until(t_go + opt.warmup + opt.duration - 0.02);
        srv_t1 = now_sec();
        srv_c1 = kw_cpu_of_pid(opt.server_pid);
    }

    memset(&agg, 0, sizeof(agg));
    for (i = 0; i < opt.procs; i++) {
        if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0) {
            failed++;
            if (res[i].errmsg[0] == '\0') {
                snprintf(res[i].errmsg, ERRMSG_LEN, "client %d died (status 0x%x)", i, status);
            }
        }
        total_ops += res[i].ops;
        if (res[i].span > 0) {
            rate_sum += res[i].ops / res[i].span;
        }
        cli_cpu += res[i].cpu;
        total_err += res[i].errors;
        if (res[i].span > maxspan) {
            maxspan = res[i].span;
        }
        for (j = 0; j < HIST_BUCKETS; j++) {
            agg.hist[j] += res[i].hist[j];
        }
        if (agg.errmsg[0] == '\0' && res[i].errmsg[0] != '\0') {
            memcpy(agg.errmsg, res[i].errmsg, ERRMSG_LEN);
        }
    }

    if (IS_FLOOR(opt.workload)) {
        floor_stop();
    } else if (opt.workload == W_LIST) {
        list_fixture(pctx, 0, &res[opt.procs]);
        krb5_free_context(pctx);
    }
    if (opt.null_server) {
        null_server_stop(null_pid, null_path);
    }
    if (agg.errmsg[0] == '\0' && res[opt.procs].errmsg[0] != '\0') {
        memcpy(agg.errmsg, res[opt.procs].errmsg, ERRMSG_LEN);
    }

    hsum = 0;
    for (j = 0; j < HIST_BUCKETS; j++) {
        hsum += agg.hist[j];
    }
    cum = 0;
    for (j = 0; j < HIST_BUCKETS && hsum > 0; j++) {
        cum += agg.hist[j];
        if (p50 == 0 && cum * 2 >= hsum) {
            p50 = bucket_us((int)j);
        }
        if (cum * 100 >= hsum * 99) {
            p99 = bucket_us((int)j);
            break;
        }
    }
    printf("RESULT label=%s workload=%s procs=%d ops=%ld errors=%ld failed_procs=%d "
           "secs=%.3f ops_per_sec=%.1f p50_us=%.1f p99_us=%.1f",
           opt.label, workload_names[opt.workload], opt.procs, total_ops,
           total_err, failed, maxspan, rate_sum, p50, p99);
    /* CPU microseconds per op: the client side (libkrb5 included) and the server. */
    if (total_ops > 0) {
        printf(" cli_us_per_op=%.1f", cli_cpu * 1e6 / total_ops);
    }
    if (srv_c0 >= 0 && srv_c1 >= srv_c0 && srv_t1 > srv_t0 && rate_sum > 0) {
        printf(" srv_us_per_op=%.1f srv_util=%.2f",
               (srv_c1 - srv_c0) * 1e6 / (rate_sum * (srv_t1 - srv_t0)),
               (srv_c1 - srv_c0) / (srv_t1 - srv_t0));
    }
    if (agg.errmsg[0] != '\0') {
        char *q;

        for (q = agg.errmsg; *q != '\0'; q++) {
            if (*q == '"' || *q == '\n') {
                *q = '\'';
            }
        }
        printf(" error=\"%s\"", agg.errmsg);
    }
    printf("\n");
    cleanup_tmpdir();
    return (failed > 0 || total_ops == 0) ? 1 : 0;
}
