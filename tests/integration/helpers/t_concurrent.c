/*
 * t_concurrent: service-ticket requests racing against cache refreshes.
 *
 * Usage: t_concurrent [-n] CCNAME CLIENT SERVER [REQUESTS [WORKERS]]
 *
 * CLIENT's key must be in the default keytab (KRB5_KTNAME). The cache CCNAME
 * is first filled from the keytab. Then one refresher process re-acquires
 * CLIENT's TGT from the keytab into CCNAME over and over (through
 * krb5_get_init_creds_opt_set_out_ccache, which MIT turns into one atomic
 * KCM REPLACE when the server supports it), while WORKERS processes perform
 * REQUESTS krb5_get_credentials(CLIENT -> SERVER) in total against the same
 * cache. With an atomic replace every request must succeed; with the
 * non-atomic fallback (INITIALIZE, then STORE) a request can observe the
 * empty cache in between and fail.
 *
 * -n: no refresher (a control run: the requests alone must succeed).
 *
 * Processes, not threads: each has its own krb5_context and KCM connections,
 * like independent applications sharing a cache.
 * Exit 0 if all requests and refreshes succeeded, 1 otherwise.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <krb5.h>

static volatile sig_atomic_t stop_refresh;

static void report(krb5_context ctx, krb5_error_code ret, const char *what)
{
    const char *msg = krb5_get_error_message(ctx, ret);

    fprintf(stderr, "t_concurrent[%ld]: %s: %s (%ld)\n", (long)getpid(), what, msg, (long)ret);
    krb5_free_error_message(ctx, msg);
}

/* Get CLIENT's initial creds from the keytab straight into the cache. */
static krb5_error_code refresh_once(krb5_context ctx, krb5_ccache cc, krb5_principal client,
                                    krb5_keytab kt)
{
    krb5_get_init_creds_opt *opt = NULL;
    krb5_creds creds;
    krb5_error_code ret;

    memset(&creds, 0, sizeof(creds));
    ret = krb5_get_init_creds_opt_alloc(ctx, &opt);
    if (ret != 0) {
        return ret;
    }
    ret = krb5_get_init_creds_opt_set_out_ccache(ctx, opt, cc);
    if (ret == 0) {
        ret = krb5_get_init_creds_keytab(ctx, &creds, client, kt, 0, NULL, opt);
    }
    if (ret == 0) {
        krb5_free_cred_contents(ctx, &creds);
    }
    krb5_get_init_creds_opt_free(ctx, opt);
    return ret;
}

struct setup {
    krb5_context ctx;
    krb5_ccache cc;
    krb5_principal client, server;
};

static int setup_init(struct setup *s, const char *ccname, const char *client, const char *server)
{
    krb5_error_code ret;

    memset(s, 0, sizeof(*s));
    ret = krb5_init_context(&s->ctx);
    if (ret != 0) {
        fprintf(stderr, "t_concurrent: krb5_init_context failed: %ld\n", (long)ret);
        return -1;
    }
    ret = krb5_cc_resolve(s->ctx, ccname, &s->cc);
    if (ret == 0) {
        ret = krb5_parse_name(s->ctx, client, &s->client);
    }
    if (ret == 0) {
        ret = krb5_parse_name(s->ctx, server, &s->server);
    }
    if (ret != 0) {
        report(s->ctx, ret, "setup");
        return -1;
    }
    return 0;
}

static void setup_free(struct setup *s)
{
    if (s->server != NULL) {
        krb5_free_principal(s->ctx, s->server);
    }
    if (s->client != NULL) {
        krb5_free_principal(s->ctx, s->client);
    }
    if (s->cc != NULL) {
        krb5_cc_close(s->ctx, s->cc);
    }
    krb5_free_context(s->ctx);
}

static void on_term(int sig)
{
    (void)sig;
    stop_refresh = 1;
}

/* Refresher: loop until SIGTERM; exit status 0 if every refresh succeeded
 * and at least one happened. */
static int refresher(const char *ccname, const char *client, const char *server)
{
    struct setup s;
    krb5_keytab kt;
    krb5_error_code ret;
    int n = 0;

    if (setup_init(&s, ccname, client, server) != 0) {
        return 1;
    }
    ret = krb5_kt_default(s.ctx, &kt);
    if (ret != 0) {
        report(s.ctx, ret, "krb5_kt_default");
        return 1;
    }
    while (!stop_refresh) {
        ret = refresh_once(s.ctx, s.cc, s.client, kt);
        if (ret != 0) {
            char what[64];

            snprintf(what, sizeof(what), "refresh #%d failed", n + 1);
            report(s.ctx, ret, what);
            return 1;
        }
        n++;
    }
    printf("t_concurrent: refresher did %d refreshes\n", n);
    fflush(stdout);
    krb5_kt_close(s.ctx, kt);
    setup_free(&s);
    return n > 0 ? 0 : 1;
}

static int worker(int id, int count, const char *ccname, const char *client, const char *server)
{
    struct setup s;
    krb5_creds in, *out;
    krb5_error_code ret;
    int i;

    if (setup_init(&s, ccname, client, server) != 0) {
        return 1;
    }
    for (i = 0; i < count; i++) {
        memset(&in, 0, sizeof(in));
        in.client = s.client;
        in.server = s.server;
        out = NULL;
        ret = krb5_get_credentials(s.ctx, 0, s.cc, &in, &out);
        if (ret != 0) {
            char what[96];

            snprintf(what, sizeof(what), "worker %d: krb5_get_credentials failed after %d successes",
                     id, i);
            report(s.ctx, ret, what);
            return 1;
        }
        krb5_free_creds(s.ctx, out);
    }
    setup_free(&s);
    return 0;
}

int main(int argc, char **argv)
{
    struct setup s;
    krb5_keytab kt;
    krb5_error_code ret;
    struct sigaction sa;
    sigset_t term;
    pid_t refresh_pid = -1, pids[64];
    int requests = 200, workers = 4, i, status, failed = 0, refresh = 1;

    if (argc > 1 && strcmp(argv[1], "-n") == 0) {
        refresh = 0;
        argv++;
        argc--;
    }
    if (argc < 4 || argc > 6) {
        fprintf(stderr, "usage: t_concurrent [-n] CCNAME CLIENT SERVER [REQUESTS [WORKERS]]\n");
        return 2;
    }
    if (argc > 4) {
        requests = atoi(argv[4]);
    }
    if (argc > 5) {
        workers = atoi(argv[5]);
    }
    if (requests < 1 || workers < 1 || workers > 64) {
        fprintf(stderr, "t_concurrent: bad REQUESTS/WORKERS\n");
        return 2;
    }

    /* Fill the cache once before anything runs concurrently. */
    if (setup_init(&s, argv[1], argv[2], argv[3]) != 0) {
        return 1;
    }
    ret = krb5_kt_default(s.ctx, &kt);
    if (ret == 0) {
        ret = refresh_once(s.ctx, s.cc, s.client, kt);
        krb5_kt_close(s.ctx, kt);
    }
    if (ret != 0) {
        report(s.ctx, ret, "initial acquisition from the keytab failed");
        return 1;
    }
    setup_free(&s);
    fflush(stdout);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    /* Hold SIGTERM until the refresher has its handler installed. */
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, NULL);
    if (refresh) {
        refresh_pid = fork();
        if (refresh_pid < 0) {
            perror("fork");
            return 1;
        }
        if (refresh_pid == 0) {
            sigaction(SIGTERM, &sa, NULL);
            sigprocmask(SIG_UNBLOCK, &term, NULL);
            _exit(refresher(argv[1], argv[2], argv[3]));
        }
    }

    for (i = 0; i < workers; i++) {
        int count = requests / workers + (i < requests % workers ? 1 : 0);

        pids[i] = fork();
        if (pids[i] < 0) {
            perror("fork");
            if (refresh_pid > 0) {
                kill(refresh_pid, SIGTERM);
            }
            return 1;
        }
        if (pids[i] == 0) {
            sigprocmask(SIG_UNBLOCK, &term, NULL);
            _exit(worker(i, count, argv[1], argv[2], argv[3]));
        }
    }

    sigprocmask(SIG_UNBLOCK, &term, NULL);
    for (i = 0; i < workers; i++) {
        while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR) {
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "t_concurrent: worker %d failed\n", i);
            failed = 1;
        }
    }
    if (refresh_pid > 0) {
        kill(refresh_pid, SIGTERM);
        while (waitpid(refresh_pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "t_concurrent: refresher failed\n");
            failed = 1;
        }
    }
    if (failed) {
        printf("t_concurrent: FAIL\n");
        return 1;
    }
    printf("t_concurrent: PASS: %d get_credentials in %d workers%s, all succeeded\n",
           requests, workers, refresh ? " during refreshes" : " (no refresher)");
    return 0;
}
