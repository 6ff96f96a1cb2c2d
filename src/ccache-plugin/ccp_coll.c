/* The SESSION collection: the per-type cursor behind krb5_cccol_cursor (klist -l/-A,
 * kswitch -p, kinit's krb5_cc_cache_match) and krb5_cc_switch. Same rules as MIT's KCM type:
 * the collection is only walked when the default cache name is of our type; `SESSION:` walks
 * the whole collection, primary cache first; `SESSION:name` yields just that cache. */
#include "config.h"
#include "ccache-plugin/ccp_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct ptc {
    struct ccp_target target;
    char *primary;  /* primary or singleton subsidiary; NULL for an empty cursor */
    uint8_t *uuids; /* NULL for a singleton */
    size_t nuuids;
    size_t pos;
    bool first;
};

static krb5_error_code make_ptcursor(struct ptc *d, ccp_ptcursor_t *out)
{
    struct ccp_ptcursor *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        free(d->primary);
        free(d->uuids);
        free(d);
        return ENOMEM;
    }
    c->ops = &ccp_ops;
    c->data = d;
    *out = c;
    return 0;
}

krb5_error_code KRB5_CALLCONV ccp_ptcursor_new(krb5_context ctx, ccp_ptcursor_t *out)
{
    static const char pfx[] = CCP_PREFIX ":";
    const char *defname = krb5_cc_default_name(ctx);
    struct ptc *d = calloc(1, sizeof(*d));
    struct ccp_reply rep;
    const char *name;
    krb5_error_code ret;

    *out = NULL;
    if (d == NULL) {
        return ENOMEM;
    }
    d->first = true;
    if (defname == NULL || strncmp(defname, pfx, sizeof(pfx) - 1) != 0) {
        return make_ptcursor(d, out); /* not our collection: nothing */
    }
    ret = ccp_target_init(ctx, &d->target);
    if (ret != 0) {
        free(d);
        return ret;
    }
    if (defname[sizeof(pfx) - 1] != '\0') {
        d->primary = strdup(defname + sizeof(pfx) - 1);
        if (d->primary == NULL) {
            free(d);
            return ENOMEM;
        }
        return make_ptcursor(d, out);
    }
    ret = ccp_call(ctx, &d->target, KCM_OP_GET_CACHE_UUID_LIST, NULL, NULL, &rep);
    if (ret == KRB5_FCC_NOFILE) {
        return make_ptcursor(d, out); /* no caches at all */
    }
    if (ret != 0) {
        free(d);
        return ret;
    }
    if (util_rd_left(&rep.body) % KCM_UUID_LEN != 0) {
        ccp_reply_free(&rep);
        free(d);
        return KRB5_KCM_MALFORMED_REPLY;
    }
    d->nuuids = util_rd_left(&rep.body) / KCM_UUID_LEN;
    d->uuids = malloc(d->nuuids > 0 ? d->nuuids * KCM_UUID_LEN : 1);
    if (d->uuids == NULL) {
        ccp_reply_free(&rep);
        free(d);
        return ENOMEM;
    }
    memcpy(d->uuids, rep.body.p + rep.body.pos, d->nuuids * KCM_UUID_LEN);
    ccp_reply_free(&rep);

    ret = ccp_call(ctx, &d->target, KCM_OP_GET_DEFAULT_CACHE, NULL, NULL, &rep);
    if (ret == 0) {
        name = ccp_rd_name(&rep.body);
        d->primary = name != NULL ? strdup(name) : NULL;
        ret = name == NULL ? KRB5_KCM_MALFORMED_REPLY : d->primary == NULL ? ENOMEM : 0;
        ccp_reply_free(&rep);
    }
    if (ret != 0) {
        free(d->uuids);
        free(d);
        return ret;
    }
    return make_ptcursor(d, out);
}

/* An initialized cache answers GET_PRINCIPAL. */
static bool name_exists(krb5_context ctx, const struct ptc *d, const char *name)
{
    struct ccp_reply rep;
    krb5_error_code ret =
        ccp_call(ctx, &d->target, KCM_OP_GET_PRINCIPAL, ccp_build_name, name, &rep);

    ccp_reply_free(&rep);
    return ret == 0;
}

static void build_uuid(struct util_wr *wr, const void *uuid)
{
    util_wr_bytes(wr, uuid, KCM_UUID_LEN);
}

krb5_error_code KRB5_CALLCONV ccp_ptcursor_next(krb5_context ctx, ccp_ptcursor_t cur,
                                                krb5_ccache *out)
{
    struct ptc *d = cur->data;
    struct ccp_reply rep;
    krb5_error_code ret = 0;

    *out = NULL;
    if (d->first && d->primary != NULL) {
        d->first = false;
        if (name_exists(ctx, d, d->primary)) {
            return ccp_make_handle(ctx, d->primary, &d->target, out);
        }
    }
    while (d->uuids != NULL && d->pos < d->nuuids) {
        const uint8_t *id = d->uuids + KCM_UUID_LEN * d->pos++;
        const char *name;
        ret = ccp_call(ctx, &d->target, KCM_OP_GET_CACHE_BY_UUID, build_uuid, id, &rep);
        if (ret == KRB5_CC_END || ret == KRB5_FCC_NOFILE) {
            ret = 0; /* destroyed meanwhile (or the daemon restarted): skip it */
            continue;
        }
        if (ret != 0) {
            break;
        }
        name = ccp_rd_name(&rep.body);
        if (name == NULL) {
            ret = KRB5_KCM_MALFORMED_REPLY;
        } else if (d->primary == NULL || strcmp(name, d->primary) != 0) {
            ret = ccp_make_handle(ctx, name, &d->target, out);
            ccp_reply_free(&rep);
            break;
        }
        ccp_reply_free(&rep);
        if (ret != 0) {
            break;
        }
    }
    return ret;
}

krb5_error_code KRB5_CALLCONV ccp_ptcursor_free(krb5_context ctx, ccp_ptcursor_t *cur)
{
    struct ptc *d;

    if (*cur == NULL) {
        return 0;
    }
    d = (*cur)->data;
    free(d->primary);
    free(d->uuids);
    free(d);
    free(*cur);
    *cur = NULL;
    return 0;
}

krb5_error_code KRB5_CALLCONV ccp_switch_to(krb5_context ctx, krb5_ccache cache)
{
    struct ccp_handle *h = ccp_handle_of(cache);
    struct ccp_reply rep;
    krb5_error_code ret =
        ccp_call(ctx, &h->target, KCM_OP_SET_DEFAULT_CACHE, ccp_build_name, h->residual, &rep);

    ccp_reply_free(&rep);
    return ret;
}
