/* ccp-probe: drives a credential cache type through MIT's public krb5 API, for the
 * tests/integration/t_ccache_*.sh tests and bench/ccache-bench.sh. Synthetic credentials, no
 * KDC. The SESSION type is registered with cachet_ccache_register() (the application route);
 * the same commands run against KCM: give the reference behaviour.
 *
 *   ccp-probe register                 register the type, print the outcome
 *   ccp-probe ops TYPE                 a fixed sequence of every cache operation; prints a
 *                                      transcript with cache names left out, so the SESSION
 *                                      and KCM transcripts can be compared
 *   ccp-probe pause-iter CCNAME FILE   start a cred and a collection iteration, touch
 *                                      FILE.ready, wait for FILE, finish both
 *   ccp-probe fork CCNAME              use, fork, use in child and parent; no socket leaks
 *   ccp-probe threads TYPE N ITERS     N threads, own contexts, concurrent reads of one cache
 *   ccp-probe fill TYPE                a new cache of TYPE with NCREDS creds, made primary
 *   ccp-probe bench TYPE WORKLOAD N    WORKLOAD: retrieve|iterate|resolve|list|store;
 *                                      prints "RESULT type=.. workload=.. ops=.. us_per_op=..
 *                                      cpu_us_per_op=.." (wall and client CPU time)
 * Exit status: 0 ok, 1 failure (the message names the krb5 error), 2 usage. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <krb5.h>

#include "ccache-plugin/cachet-ccache.h"

#define REALM "PROBE.TEST"
#define NCREDS 20

static void die(krb5_context ctx, krb5_error_code ret, const char *what)
{
    const char *msg = krb5_get_error_message(ctx, ret);

    printf("FAIL %s: %s (code %ld)\n", what, msg, (long)ret);
    krb5_free_error_message(ctx, msg);
    exit(1);
}

static void check(krb5_context ctx, krb5_error_code ret, const char *what)
{
    if (ret != 0) {
        die(ctx, ret, what);
    }
}

static krb5_context new_context(void)
{
    krb5_context ctx;
    krb5_error_code ret = krb5_init_context(&ctx);

    if (ret != 0) {
        fprintf(stderr, "krb5_init_context: %ld\n", (long)ret);
        exit(1);
    }
    ret = cachet_ccache_register(ctx);
    if (ret != 0) {
        die(ctx, ret, "cachet_ccache_register");
    }
    return ctx;
}

static krb5_data mkdata(char *s, size_t n)
{
    krb5_data d;

    d.magic = KV5M_DATA;
    d.length = (unsigned int)n;
    d.data = s;
    return d;
}

/* A synthetic cred: client alice, server svc/<i>, 32-byte key, 300-byte ticket. */
static void make_cred(krb5_context ctx, krb5_creds *c, krb5_principal client, int i,
                      const char *server)
{
    static char key[32] = "0123456789abcdef0123456789abcde";
    static char ticket[300];
    char name[64];

    memset(c, 0, sizeof(*c));
    memset(ticket, 'T', sizeof(ticket));
    c->client = client;
    if (server == NULL) {
        snprintf(name, sizeof(name), "svc/host%d@%s", i, REALM);
        server = name;
    }
    check(ctx, krb5_parse_name(ctx, server, &c->server), "parse server");
    c->keyblock.magic = KV5M_KEYBLOCK;
    c->keyblock.enctype = ENCTYPE_AES256_CTS_HMAC_SHA1_96;
    c->keyblock.length = 32;
    c->keyblock.contents = (krb5_octet *)key;
    c->times.authtime = (krb5_timestamp)time(NULL);
    c->times.starttime = c->times.authtime;
    c->times.endtime = c->times.authtime + 36000;
    c->ticket_flags = 0x40c10000;
    c->ticket = mkdata(ticket, sizeof(ticket));
}

static void free_made(krb5_context ctx, krb5_creds *c)
{
    krb5_free_principal(ctx, c->server);
}

static krb5_principal alice(krb5_context ctx)
{
    krb5_principal p;

    check(ctx, krb5_parse_name(ctx, "alice@" REALM, &p), "parse alice");
    return p;
}

/* Fill a fresh cache of type with alice's TGT and NCREDS-1 service tickets. */
static krb5_ccache fill_new(krb5_context ctx, const char *type)
{
    krb5_ccache cc;
    krb5_principal a = alice(ctx);
    krb5_creds c;

    check(ctx, krb5_cc_new_unique(ctx, type, NULL, &cc), "new_unique");
    check(ctx, krb5_cc_initialize(ctx, cc, a), "initialize");
    make_cred(ctx, &c, a, 0, "krbtgt/" REALM "@" REALM);
    check(ctx, krb5_cc_store_cred(ctx, cc, &c), "store tgt");
    free_made(ctx, &c);
    for (int i = 1; i < NCREDS; i++) {
        make_cred(ctx, &c, a, i, NULL);
        check(ctx, krb5_cc_store_cred(ctx, cc, &c), "store");
        free_made(ctx, &c);
    }
    krb5_free_principal(ctx, a);
    return cc;
}

static int count_creds(krb5_context ctx, krb5_ccache cc)
{
    krb5_cc_cursor cur;
    krb5_creds c;
    int n = 0;

    check(ctx, krb5_cc_start_seq_get(ctx, cc, &cur), "start_seq_get");
    while (krb5_cc_next_cred(ctx, cc, &cur, &c) == 0) {
        n++;
        krb5_free_cred_contents(ctx, &c);
    }
    check(ctx, krb5_cc_end_seq_get(ctx, cc, &cur), "end_seq_get");
    return n;
}

static int count_collection(krb5_context ctx, const char *type)
{
    krb5_cccol_cursor cur;
    krb5_ccache cc;
    int n = 0;

    check(ctx, krb5_cccol_cursor_new(ctx, &cur), "cccol_cursor_new");
    while (krb5_cccol_cursor_next(ctx, cur, &cc) == 0 && cc != NULL) {
        if (strcmp(krb5_cc_get_type(ctx, cc), type) == 0) {
            n++;
        }
        krb5_cc_close(ctx, cc);
    }
    krb5_cccol_cursor_free(ctx, &cur);
    return n;
}

static int cmd_ops(const char *type)
{
    krb5_context ctx = new_context();
    char prefix[32];
    krb5_ccache cc;
    krb5_ccache mem;
    krb5_ccache other;
    krb5_principal a = alice(ctx);
    krb5_principal p;
    krb5_creds m;
    krb5_creds got;
    krb5_data conf;
    krb5_error_code ret;
    char *name;
    int before;

    snprintf(prefix, sizeof(prefix), "%s:", type);
    check(ctx, krb5_cc_set_default_name(ctx, prefix), "set_default_name");
    before = count_collection(ctx, type);
    cc = fill_new(ctx, type);
    printf("type %s\n", krb5_cc_get_type(ctx, cc));
    check(ctx, krb5_cc_get_principal(ctx, cc, &p), "get_principal");
    check(ctx, krb5_unparse_name(ctx, p, &name), "unparse");
    printf("principal %s\n", name);
    krb5_free_unparsed_name(ctx, name);
    krb5_free_principal(ctx, p);
    printf("creds %d\n", count_creds(ctx, cc));

    memset(&m, 0, sizeof(m));
    m.client = a;
    check(ctx, krb5_parse_name(ctx, "svc/host7@" REALM, &m.server), "parse");
    ret = krb5_cc_retrieve_cred(ctx, cc, KRB5_TC_SUPPORTED_KTYPES, &m, &got);
    printf("retrieve svc/host7 -> %ld\n", (long)ret);
    if (ret == 0) {
        printf("retrieved ticket length %u enctype %d\n", got.ticket.length, got.keyblock.enctype);
        krb5_free_cred_contents(ctx, &got);
    }
    check(ctx, krb5_cc_remove_cred(ctx, cc, 0, &m), "remove_cred");
    ret = krb5_cc_retrieve_cred(ctx, cc, 0, &m, &got);
    printf("retrieve after remove -> %s\n", ret == KRB5_CC_NOTFOUND ? "KRB5_CC_NOTFOUND" : "?");
    if (ret == 0) {
        krb5_free_cred_contents(ctx, &got);
    }
    printf("creds %d\n", count_creds(ctx, cc));
    krb5_free_principal(ctx, m.server);

    conf.magic = KV5M_DATA;
    conf.data = "yes";
    conf.length = 3;
    check(ctx, krb5_cc_set_config(ctx, cc, NULL, "probe_key", &conf), "set_config");
    memset(&conf, 0, sizeof(conf));
    check(ctx, krb5_cc_get_config(ctx, cc, NULL, "probe_key", &conf), "get_config");
    printf("config probe_key=%.*s\n", (int)conf.length, conf.data);
    krb5_free_data_contents(ctx, &conf);

    /* krb5_cc_move: what kinit does (MEMORY -> target, through replace). */
    check(ctx, krb5_cc_new_unique(ctx, "MEMORY", NULL, &mem), "memory cache");
    check(ctx, krb5_cc_initialize(ctx, mem, a), "memory init");
    make_cred(ctx, &got, a, 99, NULL);
    check(ctx, krb5_cc_store_cred(ctx, mem, &got), "memory store");
    free_made(ctx, &got);
    check(ctx, krb5_cc_new_unique(ctx, type, NULL, &other), "new_unique 2");
    check(ctx, krb5_cc_move(ctx, mem, other), "cc_move");
    printf("moved creds %d\n", count_creds(ctx, other));
    check(ctx, krb5_cc_switch(ctx, other), "switch");
    printf("collection +%d\n", count_collection(ctx, type) - before);
    check(ctx, krb5_cc_destroy(ctx, other), "destroy 2");
    check(ctx, krb5_cc_destroy(ctx, cc), "destroy");
    printf("collection +%d\n", count_collection(ctx, type) - before);

    check(ctx, krb5_cc_resolve(ctx, prefix, &cc), "resolve collection");
    ret = krb5_cc_get_principal(ctx, cc, &p);
    printf("primary after destroy -> %s\n", ret == 0 ? "principal" : "no principal");
    if (ret == 0) {
        krb5_free_principal(ctx, p);
    }
    krb5_cc_close(ctx, cc);
    krb5_free_principal(ctx, a);
    krb5_free_context(ctx);
    return 0;
}

static void touch(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

    if (fd >= 0) {
        close(fd);
    }
}

static int cmd_pause_iter(const char *ccname, const char *file)
{
    krb5_context ctx = new_context();
    krb5_ccache cc;
    krb5_cc_cursor cur;
    krb5_cccol_cursor col;
    krb5_ccache c2;
    krb5_creds c;
    krb5_error_code ret;
    char ready[512];
    int n = 0;
    int ncaches = 0;
    struct stat st;

    check(ctx, krb5_cc_resolve(ctx, ccname, &cc), "resolve");
    check(ctx, krb5_cc_start_seq_get(ctx, cc, &cur), "start_seq_get");
    check(ctx, krb5_cccol_cursor_new(ctx, &col), "cccol_cursor_new");
    ret = krb5_cc_next_cred(ctx, cc, &cur, &c);
    if (ret == 0) {
        n++;
        krb5_free_cred_contents(ctx, &c);
    }
    ret = krb5_cccol_cursor_next(ctx, col, &c2);
    if (ret == 0 && c2 != NULL) {
        ncaches++;
        krb5_cc_close(ctx, c2);
    }
    snprintf(ready, sizeof(ready), "%s.ready", file);
    touch(ready);
    for (int i = 0; i < 600 && stat(file, &st) != 0; i++) {
        usleep(50000);
    }
    while ((ret = krb5_cc_next_cred(ctx, cc, &cur, &c)) == 0) {
        n++;
        krb5_free_cred_contents(ctx, &c);
    }
    printf("creds %d (end: %ld)\n", n, (long)ret);
    krb5_cc_end_seq_get(ctx, cc, &cur);
    for (;;) {
        ret = krb5_cccol_cursor_next(ctx, col, &c2);
        if (ret != 0 || c2 == NULL) {
            break;
        }
        ncaches++;
        krb5_cc_close(ctx, c2);
    }
    if (ret != 0) {
        const char *msg = krb5_get_error_message(ctx, ret);
        printf("collection error %ld: %s\n", (long)ret, msg);
        krb5_free_error_message(ctx, msg);
    }
    printf("caches %d\n", ncaches);
    krb5_cccol_cursor_free(ctx, &col);
    /* A fresh request after the restart: reconnects and rebinds. */
    {
        krb5_principal p;
        ret = krb5_cc_get_principal(ctx, cc, &p);
        printf("get_principal after -> %ld\n", (long)ret);
        if (ret == 0) {
            krb5_free_principal(ctx, p);
        }
    }
    krb5_cc_close(ctx, cc);
    krb5_free_context(ctx);
    return 0;
}

/* Sockets open in this process, and whether all are close-on-exec. */
static int count_sockets(bool *all_cloexec)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    *all_cloexec = true;
    while (d != NULL && (e = readdir(d)) != NULL) {
        struct stat st;
        int fd = atoi(e->d_name);
        if (e->d_name[0] == '.' || fd == dirfd(d) || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
            continue;
        }
        n++;
        if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC)) {
            *all_cloexec = false;
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    return n;
}

static void get_princ_or_die(krb5_context ctx, const char *ccname, const char *who)
{
    krb5_ccache cc;
    krb5_principal p;

    check(ctx, krb5_cc_resolve(ctx, ccname, &cc), who);
    check(ctx, krb5_cc_get_principal(ctx, cc, &p), who);
    krb5_free_principal(ctx, p);
    krb5_cc_close(ctx, cc);
}

static int cmd_fork(const char *ccname)
{
    krb5_context ctx = new_context();
    bool cloexec;
    int before;
    int status;
    pid_t pid;

    get_princ_or_die(ctx, ccname, "parent before fork");
    before = count_sockets(&cloexec);
    printf("parent sockets %d cloexec %s\n", before, cloexec ? "yes" : "no");
    if (!cloexec) {
        return 1;
    }
    pid = fork();
    if (pid == 0) {
        /* The inherited stream was closed by the atfork handler. */
        int n = count_sockets(&cloexec);
        printf("child sockets after fork %d\n", n);
        if (n != before - 1) {
            _exit(1);
        }
        get_princ_or_die(ctx, ccname, "child");
        printf("child ok\n");
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, &status, 0);
    get_princ_or_die(ctx, ccname, "parent after fork");
    printf("parent ok, child %s\n",
           WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "failed");
    krb5_free_context(ctx);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

struct thread_arg {
    const char *ccname;
    int iters;
    int failures;
};

static void *thread_main(void *p)
{
    struct thread_arg *a = p;
    krb5_context ctx;
    krb5_ccache cc;

    if (krb5_init_context(&ctx) != 0) {
        a->failures++;
        return NULL;
    }
    for (int i = 0; i < a->iters; i++) {
        krb5_principal pr;
        if (krb5_cc_resolve(ctx, a->ccname, &cc) != 0) {
            a->failures++;
            continue;
        }
        if (krb5_cc_get_principal(ctx, cc, &pr) == 0) {
            krb5_free_principal(ctx, pr);
        } else {
            a->failures++;
        }
        if (count_creds(ctx, cc) != NCREDS) {
            a->failures++;
        }
        krb5_cc_close(ctx, cc);
    }
    krb5_free_context(ctx);
    return NULL;
}

static int cmd_threads(const char *type, int n, int iters)
{
    krb5_context ctx = new_context();
    krb5_ccache cc;
    pthread_t th[64];
    struct thread_arg args[64];
    int fails = 0;

    if (n > 64) {
        n = 64;
    }
    cc = fill_new(ctx, type);
    for (int i = 0; i < n; i++) {
        char *full;
        check(ctx, krb5_cc_get_full_name(ctx, cc, &full), "full name");
        args[i].ccname = full;
        args[i].iters = iters;
        args[i].failures = 0;
        pthread_create(&th[i], NULL, thread_main, &args[i]);
    }
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        fails += args[i].failures;
        krb5_free_string(ctx, (char *)args[i].ccname);
    }
    krb5_cc_destroy(ctx, cc);
    krb5_free_context(ctx);
    printf("threads %d x %d: %d failures\n", n, iters, fails);
    return fails == 0 ? 0 : 1;
}

static double cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmd_bench(const char *type, const char *workload, long n)
{
    krb5_context ctx = new_context();
    char prefix[32];
    krb5_ccache cc = fill_new(ctx, type);
    krb5_principal a = alice(ctx);
    char *full = NULL;
    krb5_creds m;
    double t0;
    double c0;
    double dt;
    double dc;

    snprintf(prefix, sizeof(prefix), "%s:", type);
    check(ctx, krb5_cc_switch(ctx, cc), "switch");
    check(ctx, krb5_cc_set_default_name(ctx, prefix), "set_default_name");
    check(ctx, krb5_cc_get_full_name(ctx, cc, &full), "full name");
    memset(&m, 0, sizeof(m));
    m.client = a;
    check(ctx, krb5_parse_name(ctx, "svc/host13@" REALM, &m.server), "parse");
    t0 = now_s();
    c0 = cpu_s();
    for (long i = 0; i < n; i++) {
        krb5_ccache h;
        krb5_creds got;
        krb5_principal p;
        if (strcmp(workload, "retrieve") == 0) {
            check(ctx, krb5_cc_retrieve_cred(ctx, cc, KRB5_TC_SUPPORTED_KTYPES, &m, &got),
                  "retrieve");
            krb5_free_cred_contents(ctx, &got);
        } else if (strcmp(workload, "iterate") == 0) {
            if (count_creds(ctx, cc) != NCREDS) {
                die(ctx, KRB5_CC_END, "iterate count");
            }
        } else if (strcmp(workload, "resolve") == 0) {
            check(ctx, krb5_cc_resolve(ctx, full, &h), "resolve");
            check(ctx, krb5_cc_get_principal(ctx, h, &p), "get_principal");
            krb5_free_principal(ctx, p);
            krb5_cc_close(ctx, h);
        } else if (strcmp(workload, "list") == 0) {
            if (count_collection(ctx, type) < 1) {
                die(ctx, KRB5_CC_END, "list");
            }
        } else if (strcmp(workload, "store") == 0) {
            krb5_ccache s = fill_new(ctx, type);
            krb5_cc_destroy(ctx, s);
        } else {
            fprintf(stderr, "unknown workload %s\n", workload);
            return 2;
        }
    }
    dt = now_s() - t0;
    dc = cpu_s() - c0;
    printf("RESULT type=%s workload=%s ops=%ld seconds=%.3f us_per_op=%.1f cpu_us_per_op=%.1f\n",
           type, workload, n, dt, dt * 1e6 / (double)n, dc * 1e6 / (double)n);
    krb5_free_principal(ctx, m.server);
    krb5_free_principal(ctx, a);
    krb5_free_string(ctx, full);
    krb5_cc_destroy(ctx, cc);
    krb5_free_context(ctx);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && strcmp(argv[1], "register") == 0) {
        krb5_context ctx;
        krb5_error_code ret;
        if (krb5_init_context(&ctx) != 0) {
            return 1;
        }
        ret = cachet_ccache_register(ctx);
        if (ret != 0) {
            die(ctx, ret, "register");
        }
        printf("registered\n");
        krb5_free_context(ctx);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "ops") == 0) {
        return cmd_ops(argv[2]);
    }
    if (argc == 4 && strcmp(argv[1], "pause-iter") == 0) {
        return cmd_pause_iter(argv[2], argv[3]);
    }
    if (argc == 3 && strcmp(argv[1], "fork") == 0) {
        return cmd_fork(argv[2]);
    }
    if (argc == 5 && strcmp(argv[1], "threads") == 0) {
        return cmd_threads(argv[2], atoi(argv[3]), atoi(argv[4]));
    }
    if (argc == 3 && strcmp(argv[1], "fill") == 0) {
        krb5_context ctx = new_context();
        krb5_ccache cc = fill_new(ctx, argv[2]);
        char *full;
        check(ctx, krb5_cc_switch(ctx, cc), "switch");
        check(ctx, krb5_cc_get_full_name(ctx, cc, &full), "full name");
        printf("%s\n", full);
        krb5_free_string(ctx, full);
        krb5_cc_close(ctx, cc);
        krb5_free_context(ctx);
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "bench") == 0) {
        return cmd_bench(argv[2], argv[3], atol(argv[4]));
    }
    fprintf(stderr, "usage: see the comment at the top of ccp_probe.c\n");
    return 2;
}
