/* Parallel decryption of sealed records at start-up; see store_crypt.h.
 *
 * Lives only while the store loads (before the event loop exists): the loading thread submits
 * a batch, goes on reading the next one from sqlite, then helps finish the batch. Workers touch
 * nothing but their own key, the jobs of the current batch and secure memory (which has its
 * own lock): no talloc, no sqlite, no logging. */
#include "config.h"
#include "store/store_crypt.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/util_log.h"

#define CHUNK 8 /* jobs taken per lock round trip */

struct store_crypt_pool {
    pthread_mutex_t mu;
    pthread_cond_t work; /* a batch was submitted, or stop */
    pthread_cond_t done; /* the last job of the batch finished */
    struct store_crypt_job *jobs;
    size_t n;
    size_t next;     /* first job not taken */
    size_t finished; /* jobs done */
    bool stop;
    unsigned nthreads;
    pthread_t tid[STORE_CRYPT_POOL_MAX];
    struct store_crypt_key *key[STORE_CRYPT_POOL_MAX + 1]; /* [nthreads]: the caller's */
};

struct worker_arg {
    struct store_crypt_pool *p;
    struct store_crypt_key *key;
};

/* Take up to CHUNK jobs and run them; called and returns with mu held. Returns false if there
 * was nothing to take. */
static bool run_chunk(struct store_crypt_pool *p, struct store_crypt_key *key)
{
    size_t first = p->next;
    size_t end;

    if (first >= p->n) {
        return false;
    }
    end = p->n - first > CHUNK ? first + CHUNK : p->n;
    p->next = end;
    pthread_mutex_unlock(&p->mu);
    for (size_t i = first; i < end; i++) {
        store_crypt_key_decrypt(key, &p->jobs[i]);
    }
    pthread_mutex_lock(&p->mu);
    p->finished += end - first;
    if (p->finished == p->n) {
        pthread_cond_broadcast(&p->done);
    }
    return true;
}

static void *worker(void *arg)
{
    struct store_crypt_pool *p = ((struct worker_arg *)arg)->p;
    struct store_crypt_key *key = ((struct worker_arg *)arg)->key;

    free(arg);
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        if (!run_chunk(p, key)) {
            pthread_cond_wait(&p->work, &p->mu);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static int pool_destructor(struct store_crypt_pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++) {
        pthread_join(p->tid[i], NULL);
    }
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mu);
    return 0; /* the keys are talloc children: wiped after this */
}

static unsigned default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    if (n < 1) {
        return 1;
    }
    return n > STORE_CRYPT_POOL_MAX ? STORE_CRYPT_POOL_MAX : (unsigned)n;
}

struct store_crypt_pool *store_crypt_pool_new(TALLOC_CTX *ctx, struct store_crypt *sc,
                                              unsigned nthreads)
{
    struct store_crypt_pool *p = talloc_zero(ctx, struct store_crypt_pool);
    sigset_t all;
    sigset_t old;
    unsigned want;

    if (p == NULL) {
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    talloc_set_destructor(p, pool_destructor);
    /* The caller's thread counts as one: it decrypts in store_crypt_pool_wait. */
    want = (nthreads == 0 ? default_threads() : nthreads) - 1;
    if (want > STORE_CRYPT_POOL_MAX) {
        want = STORE_CRYPT_POOL_MAX;
    }
    p->key[0] = store_crypt_key_new(p, sc);
    if (p->key[0] == NULL) {
        talloc_free(p);
        return NULL;
    }
    /* Workers take no signals: they belong to the loading thread (and later to tevent). */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (unsigned i = 0; i < want; i++) {
        struct worker_arg *a = malloc(sizeof(*a));
        struct store_crypt_key *k = store_crypt_key_new(p, sc);
        if (a == NULL || k == NULL) {
            free(a);
            talloc_free(k);
            break;
        }
        a->p = p;
        a->key = k;
        if (pthread_create(&p->tid[p->nthreads], NULL, worker, a) != 0) {
            free(a);
            talloc_free(k);
            break;
        }
        p->key[++p->nthreads] = k;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (p->nthreads < want) {
        util_log(UTIL_LOG_WARNING, "record decryption: %u worker threads instead of %u",
                 p->nthreads, want);
    }
    return p;
}

unsigned store_crypt_pool_threads(const struct store_crypt_pool *p)
{
    return p->nthreads + 1;
}

void store_crypt_pool_submit(struct store_crypt_pool *p, struct store_crypt_job *jobs, size_t n)
{
    pthread_mutex_lock(&p->mu);
    p->jobs = jobs;
    p->n = n;
    p->next = 0;
    p->finished = 0;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
}

void store_crypt_pool_wait(struct store_crypt_pool *p)
{
    pthread_mutex_lock(&p->mu);
    while (run_chunk(p, p->key[0])) {
    }
    while (p->finished < p->n) {
        pthread_cond_wait(&p->done, &p->mu);
    }
    p->jobs = NULL;
    p->n = 0;
    p->next = 0;
    p->finished = 0;
    pthread_mutex_unlock(&p->mu);
}
