/* Per-uid counters (open connections, calls in flight) for resource limits. Loop-side only. */
#ifndef CACHET_UTIL_UIDCOUNT_H
#define CACHET_UTIL_UIDCOUNT_H

#include <stdbool.h>
#include <sys/types.h>
#include <talloc.h>

struct util_uidcount;

struct util_uidcount *util_uidcount_new(TALLOC_CTX *ctx);
unsigned util_uidcount_get(const struct util_uidcount *t, uid_t uid);
/* False only when out of memory (the count is then unchanged). */
bool util_uidcount_inc(struct util_uidcount *t, uid_t uid);
void util_uidcount_dec(struct util_uidcount *t, uid_t uid);

#endif
