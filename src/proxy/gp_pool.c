/* Worker pool; see gp_pool.h. */
#include "config.h"
#include "proxy/gp_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/util_log.h"

struct gp_pool {
    struct tevent_context *ev;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct gp_job *queue_head, *queue_tail; /* waiting to run */
    struct gp_job *done_head, *done_tail;   /* finished, waiting for the loop */
    bool stop;
    int efd;
    struct tevent_fd *fde;
    pthread_t *threads;
    unsigned nthreads;
};

static void push(struct gp_job **head, struct gp_job **tail, struct gp_job *j)
{
    j->next = NULL;
    if (*tail != NULL) {
        (*tail)->next = j;
    } else {
        *head = j;
    }
    *tail = j;
}

static struct gp_job *pop(struct gp_job **head, struct gp_job **tail)
{
    struct gp_job *j = *head;

    if (j != NULL) {
        *head = j->next;
        if (*head == NULL) {
            *tail = NULL;
        }
        j->next = NULL;
    }
    return j;
}

static void *worker_main(void *arg)
{
    struct gp_pool *p = arg;
    uint64_t one = 1;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        struct gp_job *j;
        while (!p->stop && p->queue_head == NULL) {
            pthread_cond_wait(&p->cond, &p->lock);
        }
        if (p->stop) {
            break;
        }
        j = pop(&p->queue_head, &p->queue_tail);
        pthread_mutex_unlock(&p->lock);
        j->run(j);
        pthread_mutex_lock(&p->lock);
        /* The loop takes the whole done list at once: it needs waking only when the list
         * was empty (with several calls in flight, most completions find it non-empty). */
        if (p->done_head == NULL &&
            write(p->efd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
            util_log(UTIL_LOG_ERROR, "gssproxy worker: eventfd write failed: %s",
                     strerror(errno));
        }
        push(&p->done_head, &p->done_tail, j);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static void drain(struct gp_pool *p)
{
    struct gp_job *list;

    pthread_mutex_lock(&p->lock);
    list = p->done_head;
    p->done_head = p->done_tail = NULL;
    pthread_mutex_unlock(&p->lock);
    while (list != NULL) {
        struct gp_job *next = list->next;
        list->done(list);
        list = next;
    }
}

static void efd_handler(struct tevent_context *ev, struct tevent_fd *fde, uint16_t flags,
                        void *pvt)
{
    struct gp_pool *p = pvt;
    uint64_t n;

    if (read(p->efd, &n, sizeof(n)) < 0 && errno != EAGAIN) {
        return;
    }
    drain(p);
}

static int pool_destructor(struct gp_pool *p)
{
    struct gp_job *j;

    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->nthreads; i++) {
        pthread_join(p->threads[i], NULL);
    }
    TALLOC_FREE(p->fde);
    drain(p);
    /* Never started: hand back so that owners free them. */
    while ((j = pop(&p->queue_head, &p->queue_tail)) != NULL) {
        j->done(j);
    }
    close(p->efd);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    return 0;
}

struct gp_pool *gp_pool_new(TALLOC_CTX *ctx, struct tevent_context *ev, unsigned nthreads)
{
    struct gp_pool *p = talloc_zero(ctx, struct gp_pool);

    if (p == NULL) {
        return NULL;
    }
    p->ev = ev;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    p->threads = talloc_zero_array(p, pthread_t, nthreads);
    if (p->efd < 0 || p->threads == NULL) {
        talloc_free(p);
        return NULL;
    }
    p->fde = tevent_add_fd(ev, p, p->efd, TEVENT_FD_READ, efd_handler, p);
    talloc_set_destructor(p, pool_destructor);
    for (unsigned i = 0; i < nthreads; i++) {
        if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0) {
            break;
        }
        p->nthreads++;
    }
    if (p->fde == NULL || p->nthreads == 0) {
        talloc_free(p);
        return NULL;
    }
    return p;
}

void gp_pool_submit(struct gp_pool *p, struct gp_job *job)
{
    pthread_mutex_lock(&p->lock);
    push(&p->queue_head, &p->queue_tail, job);
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

unsigned gp_pool_threads(const struct gp_pool *p)
{
    return p->nthreads;
}
