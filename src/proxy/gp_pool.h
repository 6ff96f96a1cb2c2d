/* A bounded pool of worker threads for blocking calls, completing on the tevent loop.
 * Jobs are plain memory (not talloc): the loop fills one, the pool runs job->run in a worker,
 * then the loop gets it back through an eventfd and calls done(). FIFO: earlier calls are
 * started first. */
#ifndef CACHET_GP_POOL_H
#define CACHET_GP_POOL_H

#include <stdbool.h>
#include <talloc.h>
#include <tevent.h>

struct gp_job {
    struct gp_job *next;
    void (*run)(struct gp_job *job);  /* in a worker thread */
    void (*done)(struct gp_job *job); /* back on the loop */
};

struct gp_pool;

/* Threads are started at once; freeing the pool stops and joins them (waiting for running
 * jobs) and drops queued jobs through done(). */
struct gp_pool *gp_pool_new(TALLOC_CTX *ctx, struct tevent_context *ev, unsigned nthreads);
void gp_pool_submit(struct gp_pool *pool, struct gp_job *job);
unsigned gp_pool_threads(const struct gp_pool *pool);

#endif
