/* Parallel decryption of sealed records at start-up; see store_crypt.h.
 *
 * Lives while the store loads: the loading thread queues units (one owner's records each) as
 * it reads them, workers take them in queue order. The loading thread may take over a queued
 * unit it needs at once (store_crypt_pool_finish). Workers touch nothing but their own key,
 * the jobs of the unit they hold and secure memory (which has its own lock): no talloc, no
 * sqlite, no logging. */
#include "config.h"
#include "store/store_crypt.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/util_log.h"

enum {
    U_QUEUED = 0,
    U_BUSY,
    U_DONE,
};

struct store_crypt_pool {
    pthread_mutex_t mu;
    pthread_cond_t work; /* a unit was queued, or stop */
    pthread_cond_t done; /* a unit was finished */
    struct store_crypt_unit **queue; /* malloc'ed: workers read it under mu */
    size_t nqueue;
    size_t cap;
    size_t next; /* first unit no worker has looked at */
    bool stop;
    int notify_fd;
    unsigned nthreads;
    pthread_t tid[STORE_CRYPT_POOL_MAX];
    struct store_crypt_key *key[STORE_CRYPT_POOL_MAX + 1]; /* [0]: the loading thread's */
};

struct worker_arg {
    struct store_crypt_pool *p;
    struct store_crypt_key *key;
};

static void run_unit(struct store_crypt_key *key, struct store_crypt_unit *u)
{
    for (size_t i = 0; i < u->n; i++) {
        store_crypt_key_decrypt(key, &u->jobs[i]);
    }
}

static void *worker(void *arg)
{
    struct store_crypt_pool *p = ((struct worker_arg *)arg)->p;
    struct store_crypt_key *key = ((struct worker_arg *)arg)->key;

    free(arg);
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        struct store_crypt_unit *u;
        if (p->next >= p->nqueue) {
            pthread_cond_wait(&p->work, &p->mu);
            continue;
        }
        u = p->queue[p->next++];
        if (u->state != U_QUEUED) {
            continue; /* taken over by the loading thread */
        }
        u->state = U_BUSY;
        pthread_mutex_unlock(&p->mu);
        run_unit(key, u);
        pthread_mutex_lock(&p->mu);
        u->state = U_DONE;
        pthread_cond_broadcast(&p->done);
        if (p->notify_fd >= 0) {
            uint64_t one = 1;
            (void)!write(p->notify_fd, &one, sizeof(one));
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
    free(p->queue);
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
                                              unsigned nthreads, int notify_fd)
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
    p->notify_fd = notify_fd;
    talloc_set_destructor(p, pool_destructor);
    want = nthreads == 0 ? default_threads() : nthreads;
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
    return p->nthreads;
}

bool store_crypt_pool_add(struct store_crypt_pool *p, struct store_crypt_unit *u)
{
    bool ok = true;

    pthread_mutex_lock(&p->mu);
    u->state = U_QUEUED;
    if (p->nqueue == p->cap) {
        size_t cap = p->cap > 0 ? 2 * p->cap : 256;
        struct store_crypt_unit **q = realloc(p->queue, cap * sizeof(*q));
        if (q == NULL) {
            ok = false;
        } else {
            p->queue = q;
            p->cap = cap;
        }
    }
    if (ok) {
        p->queue[p->nqueue++] = u;
        pthread_cond_signal(&p->work);
    }
    pthread_mutex_unlock(&p->mu);
    return ok;
}

bool store_crypt_pool_done(struct store_crypt_pool *p, struct store_crypt_unit *u)
{
    bool done;

    pthread_mutex_lock(&p->mu);
    done = u->state == U_DONE;
    pthread_mutex_unlock(&p->mu);
    return done;
}

void store_crypt_pool_finish(struct store_crypt_pool *p, struct store_crypt_unit *u)
{
    pthread_mutex_lock(&p->mu);
    if (u->state == U_QUEUED) {
        u->state = U_BUSY;
        pthread_mutex_unlock(&p->mu);
        run_unit(p->key[0], u);
        pthread_mutex_lock(&p->mu);
        u->state = U_DONE;
    }
    while (u->state != U_DONE) {
        pthread_cond_wait(&p->done, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
}
