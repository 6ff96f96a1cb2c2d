/*
 * kcmbench - shared declarations.  kcmbench.c: options, driver, output;
 * kb_kcm.c: synthetic credentials and the libkrb5 workloads; kb_servers.c:
 * the in-process reference servers (raw echo floor, canned-reply KCM).
 */
#ifndef KCMBENCH_H
#define KCMBENCH_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1           /* accept4, setresuid, memmem */
#endif
#include <stdint.h>
#include <sys/types.h>

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
    int null_server;            /* run the workload against the canned-reply KCM server */
    int null_mode;              /* NULL_CANNED, NULL_SQLITE, NULL_SQLITE_SEAL */
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

extern struct options opt;
extern char tmpdir[];

/* kcmbench.c */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void set_err(struct child_result *r, krb5_context ctx, krb5_error_code code, const char *what);

/* kb_kcm.c: one client process's state for the KCM workloads */
struct credset {
    krb5_principal client;
    int n;
    krb5_creds *creds;          /* creds[0] = TGT, creds[1..] = service tickets */
};

struct kcm_state {
    krb5_context ctx;
    struct credset cs;
    krb5_ccache cc;             /* retrieve / iterate */
    long seq;
};

krb5_error_code kcm_setup(struct kcm_state *st, int idx, struct child_result *r);
void kcm_teardown(struct kcm_state *st);
krb5_error_code op_store(struct kcm_state *st, struct child_result *r);
krb5_error_code op_retrieve(struct kcm_state *st, struct child_result *r);
krb5_error_code op_iterate(struct kcm_state *st, struct child_result *r);
krb5_error_code op_list(struct kcm_state *st, struct child_result *r);
krb5_error_code walk_collection(krb5_context ctx, int *count, int destroy,
                                struct child_result *r);
void list_fixture(krb5_context ctx, int create, struct child_result *r);

/* kb_servers.c */
extern pid_t floor_server_pid;
void floor_start(void);
void floor_stop(void);
int floor_connect(struct child_result *r);
int op_floor(int fd, long seq, struct child_result *r);
enum { NULL_CANNED, NULL_SQLITE, NULL_SQLITE_SEAL };
void null_server_db(const char *dir);
pid_t null_server_start(const char *path, int mode);
void null_server_stop(pid_t pid, const char *path);

#endif /* KCMBENCH_H */
