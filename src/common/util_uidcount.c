/* Per-uid counters; see util_uidcount.h. Entries stay once created: the number of distinct
 * uids that ever connect is small and bounded by the password database. */
#include "config.h"
#include "common/util_uidcount.h"

#define UIDCOUNT_BUCKETS 256

struct uidcount_entry {
    struct uidcount_entry *next;
    uid_t uid;
    unsigned n;
};

struct util_uidcount {
    struct uidcount_entry *buckets[UIDCOUNT_BUCKETS];
};

struct util_uidcount *util_uidcount_new(TALLOC_CTX *ctx)
{
    return talloc_zero(ctx, struct util_uidcount);
}

static struct uidcount_entry *find(const struct util_uidcount *t, uid_t uid)
{
    for (struct uidcount_entry *e = t->buckets[uid % UIDCOUNT_BUCKETS]; e != NULL; e = e->next) {
        if (e->uid == uid) {
            return e;
        }
    }
    return NULL;
}

unsigned util_uidcount_get(const struct util_uidcount *t, uid_t uid)
{
    const struct uidcount_entry *e = find(t, uid);

    return e != NULL ? e->n : 0;
}

bool util_uidcount_inc(struct util_uidcount *t, uid_t uid)
{
    struct uidcount_entry *e = find(t, uid);

    if (e == NULL) {
        e = talloc_zero(t, struct uidcount_entry);
        if (e == NULL) {
            return false;
        }
        e->uid = uid;
        e->next = t->buckets[uid % UIDCOUNT_BUCKETS];
        t->buckets[uid % UIDCOUNT_BUCKETS] = e;
    }
    e->n++;
    return true;
}

void util_uidcount_dec(struct util_uidcount *t, uid_t uid)
{
    struct uidcount_entry *e = find(t, uid);

    if (e != NULL && e->n > 0) {
        e->n--;
    }
}
