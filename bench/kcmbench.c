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
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1  /* accept4, setresuid */
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <krb5.h>

#define BENCH_REALM "BENCH.TEST"
#define MAX_PROCS 256
#define CACHE_CREDS 20          /* creds in the retrieve/iterate cache (TGT + 19) */
#define LIST_CACHES 5           /* caches in the collection for "list" */
#define FLOOR_MSG 16            /* bytes per floor request and reply */
#define HIST_BUCKETS 400        /* log2(ns) * 8 */
#define ERRMSG_LEN 256
#define MIN_OPS 3               /* measured ops per process, even past the deadline */
#define MAX_OVERRUN 30.0        /* seconds past the deadline to get them */

enum workload { W_STORE, W_RETRIEVE, W_ITERATE, W_LIST, W_FLOOR, W_FLOORCONN, W_CLEAN };

static const char *const workload_names[] = {
    "store", "retrieve", "iterate", "list", "floor", "floorconn", "clean"
};

#define IS_FLOOR(w) ((w) == W_FLOOR || (w) == W_FLOORCONN)

struct options {
    enum workload workload;
    const char *socket_path;
    const char *label;
    int procs;
    double duration;
    double warmup;
    long nops;                  /* >0: fixed op count per process instead of duration */
    int store_creds;
    int ticket_len;
    krb5_flags retrieve_flags;
    long uid;                   /* <0: keep identity */
    long server_pid;            /* >0: sample this server's CPU time */
    int clean;                  /* destroy leftover caches in the collection first */
    int verbose;
};

/* Per-child results, in a MAP_SHARED page so the parent can read them. */
struct child_result {
    int setup_done;
    int setup_failed;
    long ops;
    long errors;
    double span;                /* seconds of the measured window actually used */
    double cpu;                 /* this client's CPU seconds inside its window */
    uint32_t hist[HIST_BUCKETS];
    char errmsg[ERRMSG_LEN];
};

static struct options opt = {
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
    .verbose = 0,
};

static char tmpdir[] = "/tmp/kcmbench.XXXXXX";
static int have_tmpdir;

static void
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

/*
 * CPU seconds used so far by every thread of a process, from
 * /proc/PID/task/TID/schedstat (nanoseconds, unlike the tick-based
 * /proc/PID/stat).  Returns -1 if the process cannot be read.
 */
static double
cpu_of_pid(long pid)
{
    char path[320];
    DIR *d;
    struct dirent *de;
    double total = 0;
    int found = 0;

    snprintf(path, sizeof(path), "/proc/%ld/task", pid);
    d = opendir(path);
    if (d == NULL) {
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        unsigned long long ns;
        FILE *f;

        if (de->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%ld/task/%s/schedstat", pid, de->d_name);
        f = fopen(path, "r");
        if (f == NULL) {
            continue;
        }
        if (fscanf(f, "%llu", &ns) == 1) {
            total += ns / 1e9;
            found = 1;
        }
        fclose(f);
    }
    closedir(d);
    return found ? total : -1;
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

static void
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

/* ------------------------------------------------------------------ */
/* Synthetic credentials                                                */

static void
fill_random(uint8_t *p, size_t len, uint64_t *seed)
{
    size_t i;

    for (i = 0; i < len; i++) {
        *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
        p[i] = (uint8_t)(*seed >> 56);
    }
}

/*
 * Build one credential in memory.  server_name NULL means the TGT.  The
 * ticket is random bytes: servers must store tickets opaquely.
 */
static krb5_error_code
make_cred(krb5_context ctx, krb5_principal client, const char *server_name,
          int ticket_len, uint64_t *seed, krb5_creds *out)
{
    krb5_error_code ret;
    char sname[256];
    krb5_timestamp now = (krb5_timestamp)time(NULL);

    memset(out, 0, sizeof(*out));
    ret = krb5_copy_principal(ctx, client, &out->client);
    if (ret) {
        return ret;
    }
    if (server_name == NULL) {
        snprintf(sname, sizeof(sname), "krbtgt/%s@%s", BENCH_REALM, BENCH_REALM);
    } else {
        snprintf(sname, sizeof(sname), "%s@%s", server_name, BENCH_REALM);
    }
    ret = krb5_parse_name(ctx, sname, &out->server);
    if (ret) {
        return ret;
    }
    ret = krb5_c_make_random_key(ctx, ENCTYPE_AES256_CTS_HMAC_SHA1_96, &out->keyblock);
    if (ret) {
        return ret;
    }
    out->times.authtime = now;
    out->times.starttime = now;
    out->times.endtime = now + 10 * 3600;
    out->times.renew_till = now + 7 * 86400;
    out->is_skey = FALSE;
    out->ticket_flags = TKT_FLG_FORWARDABLE | TKT_FLG_RENEWABLE | TKT_FLG_PRE_AUTH;
    if (server_name == NULL) {
        out->ticket_flags |= TKT_FLG_INITIAL;
    }
    out->ticket.magic = KV5M_DATA;
    out->ticket.length = ticket_len;
    out->ticket.data = malloc(ticket_len);
    if (out->ticket.data == NULL) {
        return ENOMEM;
    }
    fill_random((uint8_t *)out->ticket.data, ticket_len, seed);
    return 0;
}

struct credset {
    krb5_principal client;
    int n;
    krb5_creds *creds;          /* creds[0] = TGT, creds[1..] = service tickets */
};

static krb5_error_code
credset_make(krb5_context ctx, const char *client_name, int n, uint64_t seed,
             struct credset *cs)
{
    krb5_error_code ret;
    char cname[256], sname[128];
    int i;

    memset(cs, 0, sizeof(*cs));
    snprintf(cname, sizeof(cname), "%s@%s", client_name, BENCH_REALM);
    ret = krb5_parse_name(ctx, cname, &cs->client);
    if (ret) {
        return ret;
    }
    cs->creds = calloc(n, sizeof(krb5_creds));
    if (cs->creds == NULL) {
        return ENOMEM;
    }
    cs->n = n;
    for (i = 0; i < n; i++) {
        snprintf(sname, sizeof(sname), "svc%02d/host%02d.bench.test", i, i);
        ret = make_cred(ctx, cs->client, i == 0 ? NULL : sname, opt.ticket_len, &seed,
                        &cs->creds[i]);
        if (ret) {
            return ret;
        }
    }
    return 0;
}

static void
credset_free(krb5_context ctx, struct credset *cs)
{
    int i;

    for (i = 0; i < cs->n; i++) {
        krb5_free_cred_contents(ctx, &cs->creds[i]);
    }
    free(cs->creds);
    krb5_free_principal(ctx, cs->client);
    memset(cs, 0, sizeof(*cs));
}

/* new_unique + initialize + store every cred of cs. */
static krb5_error_code
cache_fill(krb5_context ctx, struct credset *cs, krb5_ccache *out)
{
    krb5_error_code ret;
    krb5_ccache cc = NULL;
    int i;

    *out = NULL;
    ret = krb5_cc_new_unique(ctx, "KCM", NULL, &cc);
    if (ret) {
        return ret;
    }
    ret = krb5_cc_initialize(ctx, cc, cs->client);
    for (i = 0; ret == 0 && i < cs->n; i++) {
        ret = krb5_cc_store_cred(ctx, cc, &cs->creds[i]);
    }
    if (ret) {
        krb5_cc_destroy(ctx, cc);
        return ret;
    }
    *out = cc;
    return 0;
}

/* ------------------------------------------------------------------ */
/* KCM workloads                                                        */

struct kcm_state {
    krb5_context ctx;
    struct credset cs;
    krb5_ccache cc;             /* retrieve / iterate */
    long seq;
};

static krb5_error_code
kcm_setup(struct kcm_state *st, int idx, struct child_result *r)
{
    krb5_error_code ret;
    char client[64];

    memset(st, 0, sizeof(*st));
    ret = krb5_init_context(&st->ctx);
    if (ret) {
        set_err(r, NULL, ret, "krb5_init_context");
        return ret;
    }
    snprintf(client, sizeof(client), "bench%03d", idx);
    switch (opt.workload) {
    case W_STORE:
        ret = credset_make(st->ctx, client, opt.store_creds, 0x1234 + idx, &st->cs);
        if (ret) {
            set_err(r, st->ctx, ret, "make creds");
        }
        return ret;
    case W_RETRIEVE:
    case W_ITERATE:
        ret = credset_make(st->ctx, client, CACHE_CREDS, 0x5678 + idx, &st->cs);
        if (ret) {
            set_err(r, st->ctx, ret, "make creds");
            return ret;
        }
        ret = cache_fill(st->ctx, &st->cs, &st->cc);
        if (ret) {
            set_err(r, st->ctx, ret, "fill cache");
        }
        return ret;
    case W_LIST:
        return 0;
    default:
        return EINVAL;
    }
}

static void
kcm_teardown(struct kcm_state *st)
{
    if (st->cc != NULL) {
        krb5_cc_destroy(st->ctx, st->cc);
        st->cc = NULL;
    }
    if (st->cs.creds != NULL) {
        credset_free(st->ctx, &st->cs);
    }
    krb5_free_context(st->ctx);
}

static krb5_error_code
op_store(struct kcm_state *st, struct child_result *r)
{
    krb5_error_code ret;
    krb5_ccache cc = NULL;
    int i;

    ret = krb5_cc_new_unique(st->ctx, "KCM", NULL, &cc);
    if (ret) {
        set_err(r, st->ctx, ret, "krb5_cc_new_unique");
        return ret;
    }
    ret = krb5_cc_initialize(st->ctx, cc, st->cs.client);
    if (ret) {
        set_err(r, st->ctx, ret, "krb5_cc_initialize");
    }
    for (i = 0; ret == 0 && i < st->cs.n; i++) {
        ret = krb5_cc_store_cred(st->ctx, cc, &st->cs.creds[i]);
        if (ret) {
            set_err(r, st->ctx, ret, "krb5_cc_store_cred");
        }
    }
    if (krb5_cc_destroy(st->ctx, cc) != 0 && ret == 0) {
        ret = KRB5_CC_IO;
        set_err(r, NULL, 0, "krb5_cc_destroy");
    }
    return ret;
}

static krb5_error_code
op_retrieve(struct kcm_state *st, struct child_result *r)
{
    krb5_error_code ret;
    krb5_creds mcred, out;
    krb5_creds *want = &st->cs.creds[1 + (st->seq++ % (st->cs.n - 1))];

    memset(&mcred, 0, sizeof(mcred));
    memset(&out, 0, sizeof(out));
    mcred.client = st->cs.client;
    mcred.server = want->server;
    ret = krb5_cc_retrieve_cred(st->ctx, st->cc, opt.retrieve_flags, &mcred, &out);
    if (ret) {
        set_err(r, st->ctx, ret, "krb5_cc_retrieve_cred");
        return ret;
    }
    if (!krb5_principal_compare(st->ctx, out.server, want->server) ||
        out.ticket.length != want->ticket.length) {
        set_err(r, NULL, 0, "krb5_cc_retrieve_cred returned the wrong credential");
        ret = KRB5_CC_FORMAT;
    }
    krb5_free_cred_contents(st->ctx, &out);
    return ret;
}

static krb5_error_code
op_iterate(struct kcm_state *st, struct child_result *r)
{
    krb5_error_code ret;
    krb5_cc_cursor cur;
    krb5_creds c;
    int n = 0;

    ret = krb5_cc_start_seq_get(st->ctx, st->cc, &cur);
    if (ret) {
        set_err(r, st->ctx, ret, "krb5_cc_start_seq_get");
        return ret;
    }
    while ((ret = krb5_cc_next_cred(st->ctx, st->cc, &cur, &c)) == 0) {
        n++;
        krb5_free_cred_contents(st->ctx, &c);
    }
    if (ret != KRB5_CC_END) {
        set_err(r, st->ctx, ret, "krb5_cc_next_cred");
        krb5_cc_end_seq_get(st->ctx, st->cc, &cur);
        return ret;
    }
    ret = krb5_cc_end_seq_get(st->ctx, st->cc, &cur);
    if (ret) {
        set_err(r, st->ctx, ret, "krb5_cc_end_seq_get");
        return ret;
    }
    if (n != st->cs.n) {
        char buf[96];

        snprintf(buf, sizeof(buf), "iteration returned %d creds, expected %d", n, st->cs.n);
        set_err(r, NULL, 0, buf);
        return KRB5_CC_FORMAT;
    }
    return 0;
}

/* Walk the collection; returns the number of caches seen in *count. */
static krb5_error_code
walk_collection(krb5_context ctx, int *count, int destroy, struct child_result *r)
{
    krb5_error_code ret;
    krb5_cccol_cursor cur;
    krb5_ccache cc;
    krb5_principal p;
    int n = 0;

    ret = krb5_cccol_cursor_new(ctx, &cur);
    if (ret) {
        set_err(r, ctx, ret, "krb5_cccol_cursor_new");
        return ret;
    }
    while ((ret = krb5_cccol_cursor_next(ctx, cur, &cc)) == 0 && cc != NULL) {
        if (destroy) {
            krb5_cc_destroy(ctx, cc);
            n++;
            continue;
        }
        ret = krb5_cc_get_principal(ctx, cc, &p);
        krb5_cc_close(ctx, cc);
        if (ret) {
            set_err(r, ctx, ret, "krb5_cc_get_principal");
            break;
        }
        krb5_free_principal(ctx, p);
        n++;
    }
    if (ret) {
        set_err(r, ctx, ret, "krb5_cccol_cursor_next");
    }
    krb5_cccol_cursor_free(ctx, &cur);
    *count = n;
    return ret;
}

static krb5_error_code
op_list(struct kcm_state *st, struct child_result *r)
{
    krb5_error_code ret;
    int n;

    ret = walk_collection(st->ctx, &n, 0, r);
    if (ret) {
        return ret;
    }
    if (n != LIST_CACHES) {
        char buf[96];

        snprintf(buf, sizeof(buf), "collection has %d caches, expected %d", n, LIST_CACHES);
        set_err(r, NULL, 0, buf);
        return KRB5_CC_FORMAT;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Floor: raw AF_UNIX round trips against a single-threaded epoll echo  */

static pid_t floor_server_pid = -1;
static char floor_path[96];

static void
floor_serve(int lfd)
{
    struct epoll_event ev, evs[64];
    char buf[4096];
    int ep, n, i;

    ep = epoll_create1(0);
    if (ep < 0) {
        _exit(1);
    }
    ev.events = EPOLLIN;
    ev.data.fd = lfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    for (;;) {
        n = epoll_wait(ep, evs, 64, -1);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        for (i = 0; i < n; i++) {
            int fd = evs[i].data.fd;

            if (fd == lfd) {
                int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (cfd >= 0) {
                    ev.events = EPOLLIN;
                    ev.data.fd = cfd;
                    epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
                }
                continue;
            }
            /*
             * Echo whatever arrived.  Requests are 16 bytes and the client
             * waits for its reply, so a read never holds more than one
             * request; the socket buffer always has room for 16 bytes.
             */
            ssize_t got = read(fd, buf, sizeof(buf));

            if (got <= 0) {
                if (got < 0 && errno == EAGAIN) {
                    continue;
                }
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
                continue;
            }
            if (write(fd, buf, got) != got) {
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
            }
        }
    }
}

static void
floor_start(void)
{
    struct sockaddr_un sa;
    int lfd;

    snprintf(floor_path, sizeof(floor_path), "%s/floor.sock", tmpdir);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", floor_path);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(lfd, 128) != 0) {
        die("floor: cannot listen on %s: %s", floor_path, strerror(errno));
    }
    floor_server_pid = fork();
    if (floor_server_pid < 0) {
        die("fork: %s", strerror(errno));
    }
    if (floor_server_pid == 0) {
        floor_serve(lfd);
        _exit(0);
    }
    close(lfd);
}

static void
floor_stop(void)
{
    if (floor_server_pid > 0) {
        kill(floor_server_pid, SIGTERM);
        waitpid(floor_server_pid, NULL, 0);
        floor_server_pid = -1;
    }
    unlink(floor_path);
}

static int
floor_connect(struct child_result *r)
{
    struct sockaddr_un sa;
    int fd;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", floor_path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        set_err(r, NULL, errno, "floor connect");
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

static int
op_floor(int fd, long seq, struct child_result *r)
{
    uint8_t req[FLOOR_MSG], rep[FLOOR_MSG];
    size_t got = 0;
    ssize_t n;

    memset(req, 0, sizeof(req));
    memcpy(req, &seq, sizeof(seq));
    if (write(fd, req, sizeof(req)) != (ssize_t)sizeof(req)) {
        set_err(r, NULL, errno, "floor write");
        return -1;
    }
    while (got < sizeof(rep)) {
        n = read(fd, rep + got, sizeof(rep) - got);
        if (n <= 0) {
            set_err(r, NULL, n < 0 ? errno : EPIPE, "floor read");
            return -1;
        }
        got += n;
    }
    if (memcmp(req, rep, sizeof(req)) != 0) {
        set_err(r, NULL, 0, "floor reply mismatch");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Driver                                                               */

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

/* Create the collection for "list": LIST_CACHES caches, 2 creds each. */
static void
list_fixture(krb5_context ctx, int create, struct child_result *r)
{
    krb5_error_code ret;
    struct credset cs;
    krb5_ccache cc;
    char name[32];
    int i, n;

    if (!create) {
        walk_collection(ctx, &n, 1, r);
        return;
    }
    ret = walk_collection(ctx, &n, 0, r);
    if (ret == 0 && n != 0) {
        if (!opt.clean) {
            die("the KCM collection already holds %d caches; run with --clean "
                "(only with a dedicated --uid) or empty it", n);
        }
        walk_collection(ctx, &n, 1, r);
    }
    for (i = 0; i < LIST_CACHES; i++) {
        snprintf(name, sizeof(name), "listuser%d", i);
        ret = credset_make(ctx, name, 2, 0x9abc + i, &cs);
        if (ret == 0) {
            ret = cache_fill(ctx, &cs, &cc);
        }
        if (ret) {
            die("list fixture: %s", krb5_get_error_message(ctx, ret));
        }
        if (i == 0) {
            /* Make the collection's primary an initialized cache. */
            ret = krb5_cc_switch(ctx, cc);
            if (ret) {
                die("krb5_cc_switch: %s", krb5_get_error_message(ctx, ret));
            }
        }
        krb5_cc_close(ctx, cc);
        credset_free(ctx, &cs);
    }
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
    if (!IS_FLOOR(opt.workload) && opt.socket_path == NULL) {
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
    write_conf();
    drop_privileges();

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
        srv_c0 = cpu_of_pid(opt.server_pid);
        sleep_until(t_go + opt.warmup + opt.duration - 0.02);
        srv_t1 = now_sec();
        srv_c1 = cpu_of_pid(opt.server_pid);
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
