/* The store's write-through transactions and group commit (see README.md, "Durability"). */
#include "config.h"
#include "store/store_int.h"

#include <errno.h>

#include "common/util_log.h"

static bool can_group(const struct store *st)
{
    return st->persist != NULL && st->persist->op_begin != NULL;
}

/* Commit the open group now; false (and the group failed) if that did not work. */
static bool group_commit(struct store *st)
{
    if (st->persist->commit(st->pctx) == 0) {
        st->group = G_IDLE;
        st->group_ops = 0;
        if (st->group_hook != NULL) {
            st->group_hook(st->group_ctx, true);
        }
        return true;
    }
    st->persist->rollback(st->pctx);
    st->group = G_FAILED;
    return false;
}

static int tx_begin(struct store *st, bool single)
{
    int err;

    if (st->persist == NULL) {
        return 0;
    }
    if (st->group == G_FAILED) {
        if (st->defer) {
            return EIO; /* until store_group_end has put memory back */
        }
        /* Outside KCM's rounds (cachetctl, logind wipes, purge, GSS-Proxy): finish the failed
         * group first (memory back to what is on disk), then write as usual. */
        store_group_end(st);
    }
    if (st->defer && can_group(st)) {
        if (st->group == G_IDLE) {
            /* The first operation of a group needs no savepoint (a rollback of the whole
             * transaction undoes it alone): one client at a time pays nothing for grouping. */
            err = st->persist->begin(st->pctx);
            if (err != 0) {
                return err;
            }
            st->group = G_OPEN;
            st->group_ops = 0;
            st->in_op = true;
            st->op_sp = false;
            return 0;
        }
        err = st->persist->op_begin(st->pctx, single);
        if (err == 0) {
            st->in_op = true;
            st->op_sp = true;
        }
        return err;
    }
    /* Not deferred: what the caller is told must be on disk, the open group's changes (which
     * it may have seen) included. */
    if (st->group == G_OPEN && !group_commit(st)) {
        return EIO;
    }
    return st->persist->begin(st->pctx);
}

int store_tx_begin(struct store *st)
{
    return tx_begin(st, false);
}

int store_tx_begin_single(struct store *st)
{
    return tx_begin(st, true);
}

enum store_rc store_tx_end(struct store *st, int err)
{
    if (st->persist == NULL) {
        return STORE_OK;
    }
    if (st->in_op) {
        st->in_op = false;
        if (err == 0 && st->op_sp) {
            err = st->persist->op_release(st->pctx);
        }
        if (err == 0) {
            st->group_ops++;
            return STORE_OK;
        }
        if (!st->op_sp) {
            /* The group's first operation: the transaction holds nothing else. */
            st->persist->rollback(st->pctx);
            st->group = G_IDLE;
        } else if (st->persist->op_rollback(st->pctx) != 0) {
            st->persist->rollback(st->pctx);
            st->group = G_FAILED;
        }
        return STORE_IO;
    }
    if (err != 0 && st->defer && st->group == G_OPEN) {
        /* This operation's savepoint could not be opened: nothing of it was written, and the
         * group's transaction holds the other requests' changes, which must not go with it. */
        return STORE_IO;
    }
    if (err == 0) {
        err = st->persist->commit(st->pctx);
        if (err == 0) {
            return STORE_OK;
        }
    }
    st->persist->rollback(st->pctx);
    return STORE_IO;
}

void store_group_set_hook(struct store *st, void (*hook)(void *ctx, bool committed), void *ctx)
{
    st->group_hook = hook;
    st->group_ctx = ctx;
}

void store_group_defer(struct store *st, bool on)
{
    st->defer = on;
}

bool store_group_open(const struct store *st)
{
    return st->group != G_IDLE;
}

bool store_group_capable(const struct store *st)
{
    return can_group(st);
}

bool store_group_failed(const struct store *st)
{
    return st->group == G_FAILED;
}

size_t store_group_size(const struct store *st)
{
    return st->group_ops;
}

void store_group_end(struct store *st)
{
    if (st->group == G_OPEN && st->group_ops > 1) {
        util_log(UTIL_LOG_DEBUG, "committing %zu operations together", st->group_ops);
    }
    if (st->group == G_OPEN) {
        (void)group_commit(st);
    }
    if (st->group == G_FAILED) {
        st->persist->reload_touched(st->pctx);
        st->group = G_IDLE;
        st->group_ops = 0;
        if (st->group_hook != NULL) {
            st->group_hook(st->group_ctx, false);
        }
    }
}
