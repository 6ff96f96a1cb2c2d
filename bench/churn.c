/* churn - many short KCM connections doing a random mix of requests, to watch a cachetd's memory
 * (bench/rss.sh). sssd-kcm leaked reply buffers per connection for years; this is the test that
 * would have caught it.
 *
 *   churn -S SOCK [-N OPS] [-p PROCS] [-n UIDS] [-U FIRST_UID] [-b BATCH] [-t TICKET]
 *         [-P SERVER_PID] [-w WARMUP_OPS] [-i SAMPLE_SECS]
 *
 * PROCS client processes share OPS requests. Each loop: connect as a random uid of UIDS (root:
 * effective uid switched around connect, like bench/scale), send 1..BATCH random requests,
 * close. The mix: INITIALIZE, STORE, RETRIEVE, GET_CRED_LIST, DESTROY, REPLACE, GEN_NEW (then
 * INITIALIZE and, before closing, DESTROY of the new cache), SET_DEFAULT_CACHE, on a bounded set
 * of cache names and servers per uid, so that the store's size levels off: what grows after
 * that is the daemon's.
 *
 * With -P, the parent samples VmRSS of the server every SAMPLE_SECS, notes it once WARMUP_OPS
 * requests are done and at the end, and prints the growth. Exit status: 0, or 1 if a request
 * failed at the transport level (a dropped connection, a malformed reply). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kcmwire.h"

#define NAMES 8    /* fixed cache names per uid: "<uid>", "<uid>:k1".. */
#define SERVERS 16 /* service names: a cache never holds more than SERVERS + 1 creds */
#define MAX_PROCS 64

enum op { O_INIT, O_STORE, O_RETRIEVE, O_CREDLIST, O_DESTROY, O_REPLACE, O_GENNEW, O_SETDEF,
          O_COUNT };
static const char *const op_name[O_COUNT] = { "initialize", "store",   "retrieve", "cred_list",
                                              "destroy",    "replace", "gen_new",  "set_default" };
static const unsigned op_weight[O_COUNT] = { 10, 20, 20, 15, 8, 10, 7, 10 }; /* percent */

struct shared {
    atomic_long ops;
    atomic_long conns;
    atomic_long failures; /* transport or framing */
    atomic_long by_op[O_COUNT];
    atomic_long ok_by_op[O_COUNT];
    char errmsg[256];
};

static struct {
    const char *sock;
    long nops;
    long procs;
    long nuids;
    long first_uid;
    long batch;
    long ticket;
    long server_pid;
    long warmup;
    double interval;
} o = { .nops = 1000000, .procs = 4, .nuids = 50, .first_uid = 210000, .batch = 20,
        .ticket = 1300, .server_pid = -1, .warmup = -1, .interval = 1.0 };

static struct shared *sh;

struct client {
    int fd;
    long uid;
    uint64_t seed;
    struct kw_req req;
    struct kw_buf rep;
    struct kw_buf cred;
    char gen[128]; /* a GEN_NEW name initialized on this connection, to destroy at the end */
};

static void cache_name(struct client *c, char *buf, size_t len)
{
    long j = (long)(kw_rand(&c->seed) % NAMES);

    if (c->gen[0] != '\0' && kw_rand(&c->seed) % 4 == 0) {
        snprintf(buf, len, "%s", c->gen);
    } else if (j == 0) {
        snprintf(buf, len, "%ld", c->uid);
    } else {
        snprintf(buf, len, "%ld:k%ld", c->uid, j);
    }
}

/* Mostly the services REPLACE puts in (so that RETRIEVE finds something), sometimes any. */
static void service(struct client *c, char *buf, size_t len)
{
    uint64_t r = kw_rand(&c->seed);

    snprintf(buf, len, "svc%u/churn.bench.test",
             (unsigned)(r % 4 != 0 ? 1 + (r >> 8) % 4 : (r >> 8) % SERVERS));
}

static void client_princ(struct client *c)
{
    char client[32];

    kw_client_name(client, sizeof(client), (uint32_t)c->uid);
    kw_princ(&c->req, client);
}

/* One request; false on a transport failure. */
static bool call(struct client *c, enum op op)
{
    struct util_rd body;
    int32_t code;

    if (!kw_call(c->fd, &c->req, &c->rep, &code, &body)) {
        atomic_fetch_add(&sh->failures, 1);
        snprintf(sh->errmsg, sizeof(sh->errmsg), "%s: connection failed or malformed reply",
                 op_name[op]);
        return false;
    }
    atomic_fetch_add(&sh->ops, 1);
    atomic_fetch_add(&sh->by_op[op], 1);
    if (code == 0) {
        atomic_fetch_add(&sh->ok_by_op[op], 1);
    }
    if (op == O_GENNEW && code == 0) {
        const char *name = util_rd_cstr(&body, sizeof(c->gen) - 1);
        snprintf(c->gen, sizeof(c->gen), "%s", name != NULL ? name : "");
    }
    return true;
}

static bool do_op(struct client *c, enum op op)
{
    char name[160];
    char sname[64];

    cache_name(c, name, sizeof(name));
    switch (op) {
    case O_INIT:
        kw_begin(&c->req, KCM_OP_INITIALIZE);
        kw_cstr(&c->req, name);
        client_princ(c);
        break;
    case O_STORE:
        service(c, sname, sizeof(sname));
        kw_make_cred(&c->cred, (uint32_t)c->uid, sname, (size_t)o.ticket, &c->seed);
        kw_begin(&c->req, KCM_OP_STORE);
        kw_cstr(&c->req, name);
        kw_cred(&c->req, &c->cred);
        break;
    case O_RETRIEVE: {
        char client[32];
        kw_client_name(client, sizeof(client), (uint32_t)c->uid);
        service(c, sname, sizeof(sname));
        kw_begin(&c->req, KCM_OP_RETRIEVE);
        kw_cstr(&c->req, name);
        kw_u32(&c->req, KW_RETRIEVE_FLAGS);
        kw_u32(&c->req, KCM_SC_CLIENT | KCM_SC_SERVER);
        kw_princ(&c->req, client);
        kw_princ(&c->req, sname);
        kw_bytes(&c->req, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 21);
        break;
    }
    case O_CREDLIST:
        kw_begin(&c->req, KCM_OP_GET_CRED_LIST);
        kw_cstr(&c->req, name);
        break;
    case O_DESTROY:
        if (c->gen[0] != '\0' && strcmp(name, c->gen) == 0) {
            c->gen[0] = '\0';
        }
        kw_begin(&c->req, KCM_OP_DESTROY);
        kw_cstr(&c->req, name);
        break;
    case O_REPLACE: {
        uint32_t n = 1 + (uint32_t)(kw_rand(&c->seed) % 5);
        kw_begin(&c->req, KCM_OP_REPLACE);
        kw_cstr(&c->req, name);
        kw_u32(&c->req, 0);
        client_princ(c);
        kw_u32(&c->req, n);
        for (uint32_t i = 0; i < n; i++) {
            snprintf(sname, sizeof(sname), "svc%u/churn.bench.test", i);
            kw_make_cred(&c->cred, (uint32_t)c->uid, i == 0 ? NULL : sname, (size_t)o.ticket,
                         &c->seed);
            kw_u32(&c->req, (uint32_t)c->cred.len);
            kw_cred(&c->req, &c->cred);
        }
        break;
    }
    case O_GENNEW:
        if (c->gen[0] != '\0') {
            return do_op(c, O_SETDEF); /* one generated cache per connection at a time */
        }
        kw_begin(&c->req, KCM_OP_GEN_NEW);
        if (!call(c, op)) {
            return false;
        }
        if (c->gen[0] == '\0') {
            return true;
        }
        kw_begin(&c->req, KCM_OP_INITIALIZE);
        kw_cstr(&c->req, c->gen);
        client_princ(c);
        return call(c, O_INIT);
    case O_SETDEF:
        kw_begin(&c->req, KCM_OP_SET_DEFAULT_CACHE);
        kw_cstr(&c->req, name);
        break;
    case O_COUNT:
        break;
    }
    return call(c, op);
}

static enum op pick(struct client *c)
{
    unsigned r = (unsigned)(kw_rand(&c->seed) % 100);

    for (int i = 0; i < O_COUNT; i++) {
        if (r < op_weight[i]) {
            return (enum op)i;
        }
        r -= op_weight[i];
    }
    return O_RETRIEVE;
}

static int worker(long id, long share)
{
    struct client c;
    long done = 0;

    memset(&c, 0, sizeof(c));
    c.seed = 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1);
    while (done < share) {
        long n = 1 + (long)(kw_rand(&c.seed) % (uint64_t)o.batch);
        long before = atomic_load(&sh->ops);
        c.uid = o.first_uid + (long)(kw_rand(&c.seed) % (uint64_t)o.nuids);
        c.gen[0] = '\0';
        c.fd = kw_connect(o.sock, geteuid() == 0 ? c.uid : -1);
        if (c.fd < 0) {
            atomic_fetch_add(&sh->failures, 1);
            snprintf(sh->errmsg, sizeof(sh->errmsg), "connect failed");
            return 1;
        }
        atomic_fetch_add(&sh->conns, 1);
        for (long i = 0; i < n && done < share; i++, done++) {
            if (!do_op(&c, pick(&c))) {
                close(c.fd);
                return 1;
            }
        }
        if (c.gen[0] != '\0') {
            kw_begin(&c.req, KCM_OP_DESTROY);
            kw_cstr(&c.req, c.gen);
            if (!call(&c, O_DESTROY)) {
                close(c.fd);
                return 1;
            }
            done++;
        }
        (void)before;
        close(c.fd);
    }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: churn -S SOCK [-N OPS] [-p PROCS] [-n UIDS] [-U FIRST_UID] [-b BATCH]\n"
               "             [-t TICKET] [-P SERVER_PID] [-w WARMUP_OPS] [-i SAMPLE_SECS]\n");
}

int main(int argc, char **argv)
{
    pid_t pids[MAX_PROCS];
    long rss_warm = -1;
    long rss_end = -1;
    long rss_max = -1;
    double t0;
    double next;
    int live;
    int rc = 0;
    int opt;

    while ((opt = getopt(argc, argv, "S:N:p:n:U:b:t:P:w:i:h")) != -1) {
        switch (opt) {
        case 'S': o.sock = optarg; break;
        case 'N': o.nops = atol(optarg); break;
        case 'p': o.procs = atol(optarg); break;
        case 'n': o.nuids = atol(optarg); break;
        case 'U': o.first_uid = atol(optarg); break;
        case 'b': o.batch = atol(optarg); break;
        case 't': o.ticket = atol(optarg); break;
        case 'P': o.server_pid = atol(optarg); break;
        case 'w': o.warmup = atol(optarg); break;
        case 'i': o.interval = atof(optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (o.sock == NULL || o.nops < 1 || o.procs < 1 || o.procs > MAX_PROCS || o.nuids < 1 ||
        o.batch < 1 || o.ticket < 1 || o.interval <= 0) {
        usage(stderr);
        return 2;
    }
    if (geteuid() != 0) {
        o.nuids = 1;
        o.first_uid = (long)geteuid();
    }
    if (o.warmup < 0) {
        o.warmup = o.nops / 10;
    }
    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    memset(sh, 0, sizeof(*sh));
    t0 = kw_now();
    for (long p = 0; p < o.procs; p++) {
        pids[p] = fork();
        if (pids[p] < 0) {
            perror("fork");
            return 1;
        }
        if (pids[p] == 0) {
            _exit(worker(p, o.nops / o.procs + (p < o.nops % o.procs)));
        }
    }
    /* Sample until every worker is done. */
    next = t0 + o.interval;
    live = (int)o.procs;
    while (live > 0) {
        pid_t w = waitpid(-1, NULL, WNOHANG);
        if (w > 0) {
            live--;
            continue;
        }
        usleep(20000);
        if (o.server_pid > 0) {
            long ops = atomic_load(&sh->ops);
            long rss = kw_rss_kib(o.server_pid);
            if (rss_warm < 0 && ops >= o.warmup) {
                rss_warm = rss;
                printf("RSS warm ops=%ld rss_kib=%ld\n", ops, rss);
            }
            if (rss > rss_max) {
                rss_max = rss;
            }
            if (kw_now() >= next) {
                printf("RSS t=%.0f ops=%ld conns=%ld rss_kib=%ld\n", kw_now() - t0, ops,
                       atomic_load(&sh->conns), rss);
                fflush(stdout);
                next += o.interval;
            }
        }
    }
    double secs = kw_now() - t0;
    if (o.server_pid > 0) {
        rss_end = kw_rss_kib(o.server_pid);
    }
    for (int i = 0; i < O_COUNT; i++) {
        printf("OP %-12s requests=%ld ok=%ld\n", op_name[i], atomic_load(&sh->by_op[i]),
               atomic_load(&sh->ok_by_op[i]));
    }
    printf("CHURN ops=%ld conns=%ld failures=%ld secs=%.1f ops_per_sec=%.0f", atomic_load(&sh->ops),
           atomic_load(&sh->conns), atomic_load(&sh->failures), secs,
           (double)atomic_load(&sh->ops) / secs);
    if (rss_warm > 0 && rss_end > 0) {
        printf(" rss_warm_kib=%ld rss_end_kib=%ld rss_max_kib=%ld growth_pct=%.2f", rss_warm,
               rss_end, rss_max, 100.0 * (double)(rss_end - rss_warm) / (double)rss_warm);
    }
    printf("\n");
    if (atomic_load(&sh->failures) > 0) {
        fprintf(stderr, "churn: %ld failures, first: %s\n", atomic_load(&sh->failures),
                sh->errmsg);
        rc = 1;
    }
    return rc;
}
