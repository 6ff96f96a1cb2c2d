/* scale - fill a cachetd with many owners, caches and credentials through the KCM protocol,
 * and measure per-request speed on it. bench/scale.sh drives it (fill, restart, measure).
 *
 *   scale fill -S SOCK [-U FIRST_UID] [-n UIDS] [-c CACHES] [-k CREDS] [-t TICKET] [-p PROCS]
 *       Every uid gets CACHES caches ("<uid>", "<uid>:c1", ...), each set by one REPLACE of
 *       CREDS credentials (a TGT and CREDS-1 service tickets of TICKET random bytes).
 *   scale ops -S SOCK [same shape options] [-N OPS] [-P SERVER_PID] [-l LABEL] [-w LIST]
 *       One client, one request at a time, for each workload (retrieve, credlist, princ, store:
 *       a STORE replacing a credential of the same client and server, written through) and
 *       pattern: "hot" (one cache, over and over) and "spread" (a random cache of a random
 *       uid among the first SPREAD_UIDS, one connection per uid). Prints RESULT lines.
 *
 * Collections are per peer uid (SO_PEERCRED at connect), so as root the program connects as
 * each uid (setresuid of the effective uid around connect, keeping root as the saved uid).
 * Not root: only your own uid (-n 1, -U `id -u`). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kcmwire.h"

#define SPREAD_UIDS 256

struct opts {
    const char *sock;
    long first_uid;
    long nuids;
    long caches;
    long creds;
    long ticket;
    long procs;
    long nops;
    long server_pid;
    const char *label;
    const char *workloads;
};

static struct opts o = {
    .first_uid = 200000,
    .nuids = 1000,
    .caches = 10,
    .creds = 20,
    .ticket = 1300,
    .procs = 2,
    .nops = 100000,
    .server_pid = -1,
    .label = "cachetd",
    .workloads = "retrieve,credlist,princ,store",
};

static void usage(FILE *f)
{
    fprintf(f, "usage: scale fill|ops -S SOCK [-U FIRST_UID] [-n UIDS] [-c CACHES] [-k CREDS]\n"
               "             [-t TICKET_BYTES] [-p PROCS] [-N OPS] [-P SERVER_PID] [-l LABEL]\n"
               "             [-w retrieve,credlist,princ,store]\n");
}

static long euid_for(long uid)
{
    return geteuid() == 0 ? uid : -1;
}

static void cache_name(char *buf, size_t len, long uid, long c)
{
    if (c == 0) {
        snprintf(buf, len, "%ld", uid);
    } else {
        snprintf(buf, len, "%ld:c%ld", uid, c);
    }
}

static void service_name(char *buf, size_t len, long i)
{
    snprintf(buf, len, "svc%ld/host%ld.bench.test", i, i);
}

/* ---- fill ---- */

static int fill_uid(long uid, uint64_t *seed, struct kw_req *req, struct kw_buf *rep,
                    struct kw_buf *cred)
{
    char name[64];
    char client[32];
    char sname[64];
    int fd = kw_connect(o.sock, euid_for(uid));

    if (fd < 0) {
        return -1;
    }
    kw_client_name(client, sizeof(client), (uint32_t)uid);
    for (long c = 0; c < o.caches; c++) {
        struct util_rd body;
        int32_t code;

        cache_name(name, sizeof(name), uid, c);
        kw_begin(req, KCM_OP_REPLACE);
        kw_cstr(req, name);
        kw_u32(req, 0); /* kdc offset */
        kw_princ(req, client);
        kw_u32(req, (uint32_t)o.creds);
        for (long i = 0; i < o.creds; i++) {
            service_name(sname, sizeof(sname), i);
            kw_make_cred(cred, (uint32_t)uid, i == 0 ? NULL : sname, (size_t)o.ticket, seed);
            kw_u32(req, (uint32_t)cred->len);
            kw_cred(req, cred);
        }
        if (!kw_call(fd, req, rep, &code, &body) || code != 0) {
            fprintf(stderr, "scale: REPLACE %s failed (code %d)\n", name, (int)code);
            close(fd);
            return -1;
        }
    }
    close(fd);
    return 0;
}

static int do_fill(void)
{
    double t0 = kw_now();
    pid_t pids[64];
    int failed = 0;

    if (o.procs < 1 || o.procs > 64) {
        fprintf(stderr, "scale: -p must be 1..64\n");
        return 2;
    }
    for (long p = 0; p < o.procs; p++) {
        pids[p] = fork();
        if (pids[p] < 0) {
            perror("fork");
            return 1;
        }
        if (pids[p] == 0) {
            struct kw_req req = { 0 };
            struct kw_buf rep = { 0 };
            struct kw_buf cred = { 0 };
            uint64_t seed = 0x5ca1ab1e + (uint64_t)p * 7919;
            for (long u = p; u < o.nuids; u += o.procs) {
                if (fill_uid(o.first_uid + u, &seed, &req, &rep, &cred) != 0) {
                    _exit(1);
                }
            }
            _exit(0);
        }
    }
    for (long p = 0; p < o.procs; p++) {
        int st;
        if (waitpid(pids[p], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            failed = 1;
        }
    }
    double secs = kw_now() - t0;
    long ncaches = o.nuids * o.caches;
    printf("FILL uids=%ld caches=%ld creds=%ld ticket_bytes=%ld secs=%.2f replace_per_sec=%.0f "
           "creds_per_sec=%.0f failed=%d\n",
           o.nuids, ncaches, ncaches * o.creds, o.ticket, secs, ncaches / secs,
           ncaches * o.creds / secs, failed);
    return failed;
}

/* ---- ops ---- */

enum workload { W_RETRIEVE, W_CREDLIST, W_PRINC, W_STORE };
static const char *const wname[] = { "retrieve", "credlist", "princ", "store" };

static void build_op(struct kw_req *req, enum workload w, long uid, long c, long svc,
                     uint64_t *seed)
{
    static struct kw_buf cred;
    char name[64];
    char client[32];
    char sname[64];

    cache_name(name, sizeof(name), uid, c);
    switch (w) {
    case W_RETRIEVE:
        kw_client_name(client, sizeof(client), (uint32_t)uid);
        service_name(sname, sizeof(sname), svc);
        kw_begin(req, KCM_OP_RETRIEVE);
        kw_cstr(req, name);
        kw_u32(req, KW_RETRIEVE_FLAGS);
        kw_u32(req, KCM_SC_CLIENT | KCM_SC_SERVER);
        kw_princ(req, client);
        kw_princ(req, sname);
        kw_bytes(req, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 21); /* times, skey, flags */
        break;
    case W_CREDLIST:
        kw_begin(req, KCM_OP_GET_CRED_LIST);
        kw_cstr(req, name);
        break;
    case W_PRINC:
        kw_begin(req, KCM_OP_GET_PRINCIPAL);
        kw_cstr(req, name);
        break;
    case W_STORE:
        /* Replaces the credential with the same client and server: the store keeps its size. */
        service_name(sname, sizeof(sname), svc);
        kw_make_cred(&cred, (uint32_t)uid, sname, (size_t)o.ticket, seed);
        kw_begin(req, KCM_OP_STORE);
        kw_cstr(req, name);
        kw_cred(req, &cred);
        break;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static int run_ops(enum workload w, bool spread, const int *fds, long nconn, uint64_t *seed)
{
    struct kw_req req = { 0 };
    struct kw_buf rep = { 0 };
    double *lat = calloc((size_t)o.nops, sizeof(double));
    /* GET_CRED_LIST returns 20 credentials, STORE writes through: fewer of those. */
    long nops = w == W_CREDLIST ? o.nops / 4 : w == W_STORE ? o.nops / 20 : o.nops;
    long errors = 0;
    double cpu0;
    double cpu1;
    double t0;
    double secs;

    if (lat == NULL) {
        return 1;
    }
    /* Warm-up: the first pass over the spread caches is not what is measured. */
    for (long i = 0; i < nops / 10; i++) {
        long k = spread ? (long)(kw_rand(seed) % (uint64_t)nconn) : 0;
        long c = spread ? (long)(kw_rand(seed) % (uint64_t)o.caches) : 0;
        struct util_rd body;
        int32_t code;
        build_op(&req, w, o.first_uid + k, c, 1 + (long)(kw_rand(seed) % (uint64_t)(o.creds - 1)),
                 seed);
        if (!kw_call(fds[k], &req, &rep, &code, &body)) {
            fprintf(stderr, "scale: connection failed\n");
            return 1;
        }
    }
    cpu0 = o.server_pid > 0 ? kw_cpu_of_pid(o.server_pid) : -1;
    t0 = kw_now();
    for (long i = 0; i < nops; i++) {
        long k = spread ? (long)(kw_rand(seed) % (uint64_t)nconn) : 0;
        long c = spread ? (long)(kw_rand(seed) % (uint64_t)o.caches) : 0;
        struct util_rd body;
        int32_t code;
        double s;
        build_op(&req, w, o.first_uid + k, c, 1 + (long)(kw_rand(seed) % (uint64_t)(o.creds - 1)),
                 seed);
        s = kw_now();
        if (!kw_call(fds[k], &req, &rep, &code, &body)) {
            fprintf(stderr, "scale: connection failed\n");
            return 1;
        }
        lat[i] = kw_now() - s;
        if (code != 0) {
            errors++;
        }
    }
    secs = kw_now() - t0;
    cpu1 = o.server_pid > 0 ? kw_cpu_of_pid(o.server_pid) : -1;
    qsort(lat, (size_t)nops, sizeof(double), cmp_double);
    printf("RESULT label=%s workload=%s pattern=%s ops=%ld errors=%ld secs=%.3f ops_per_sec=%.0f "
           "us_per_op=%.2f p50_us=%.2f p99_us=%.2f max_us=%.0f",
           o.label, wname[w], spread ? "spread" : "hot", nops, errors, secs, nops / secs,
           secs * 1e6 / nops, lat[nops / 2] * 1e6, lat[nops * 99 / 100] * 1e6, lat[nops - 1] * 1e6);
    if (cpu0 >= 0 && cpu1 >= 0) {
        printf(" srv_us_per_op=%.2f", (cpu1 - cpu0) * 1e6 / nops);
    }
    printf("\n");
    fflush(stdout);
    free(lat);
    kw_buf_free(&req.buf);
    kw_buf_free(&rep);
    return errors > 0;
}

static int do_ops(void)
{
    long nconn = o.nuids < SPREAD_UIDS ? o.nuids : SPREAD_UIDS;
    int *fds = calloc((size_t)nconn, sizeof(int));
    uint64_t seed = 0xc0ffee;
    int rc = 0;

    if (fds == NULL) {
        return 1;
    }
    for (long k = 0; k < nconn; k++) {
        fds[k] = kw_connect(o.sock, euid_for(o.first_uid + k));
        if (fds[k] < 0) {
            return 1;
        }
    }
    for (int w = W_RETRIEVE; w <= W_STORE; w++) {
        if (strstr(o.workloads, wname[w]) == NULL) {
            continue;
        }
        rc |= run_ops((enum workload)w, false, fds, nconn, &seed);
        rc |= run_ops((enum workload)w, true, fds, nconn, &seed);
    }
    for (long k = 0; k < nconn; k++) {
        close(fds[k]);
    }
    free(fds);
    return rc;
}

int main(int argc, char **argv)
{
    const char *cmd;
    struct rlimit rl;
    int opt;

    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    cmd = argv[1];
    optind = 2;
    while ((opt = getopt(argc, argv, "S:U:n:c:k:t:p:N:P:l:w:h")) != -1) {
        switch (opt) {
        case 'S':
            o.sock = optarg;
            break;
        case 'U':
            o.first_uid = atol(optarg);
            break;
        case 'n':
            o.nuids = atol(optarg);
            break;
        case 'c':
            o.caches = atol(optarg);
            break;
        case 'k':
            o.creds = atol(optarg);
            break;
        case 't':
            o.ticket = atol(optarg);
            break;
        case 'p':
            o.procs = atol(optarg);
            break;
        case 'N':
            o.nops = atol(optarg);
            break;
        case 'P':
            o.server_pid = atol(optarg);
            break;
        case 'l':
            o.label = optarg;
            break;
        case 'w':
            o.workloads = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (o.sock == NULL || o.nuids < 1 || o.caches < 1 || o.creds < 2 || o.ticket < 1 ||
        o.nops < 10) {
        usage(stderr);
        return 2;
    }
    if (geteuid() != 0 && (o.nuids != 1 || o.first_uid != (long)geteuid())) {
        fprintf(stderr, "scale: not root: use -n 1 -U %ld\n", (long)geteuid());
        return 2;
    }
    /* One connection per spread uid. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (strcmp(cmd, "fill") == 0) {
        return do_fill();
    }
    if (strcmp(cmd, "ops") == 0) {
        return do_ops();
    }
    usage(stderr);
    return 2;
}
