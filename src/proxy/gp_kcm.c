/* KCM store -> MEMORY ccache for initiation; see gp_kcm.h. */
#include "config.h"
#include "proxy/gp_kcm.h"

#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "common/util_buf.h"
#include "common/util_secmem.h"
#include "kcm/kcm_codec.h"
#include "store/store.h"

#define GP_KCM_MAX_SNAPSHOT (4u * 1024u * 1024u)

uint8_t *gp_kcm_snapshot(const struct gp_kcm_source *src, const struct util_peer *peer,
                         size_t *len)
{
    struct store_owner_key key;
    struct store_owner *o;
    struct store_cache *c;
    char namebuf[256];
    const char *name;
    size_t need;
    uint8_t *out;
    struct util_wr wr;

    if (src == NULL || src->store == NULL || src->access == NULL) {
        return NULL;
    }
    /* Called on the loop between handlers: tickets handed to a worker must be on disk, so
     * commit KCM's open group (if any) first. */
    store_group_end(src->store);
    access_owner_of(src->access, peer, &key);
    o = store_owner_get(src->store, &key);
    if (o == NULL) {
        return NULL;
    }
    name = store_default_name(o, &key, namebuf, sizeof(namebuf));
    if (name == NULL || access_check(src->access, peer, ACCESS_READ, name) != ACCESS_ALLOW) {
        return NULL;
    }
    c = store_cache_find(o, name);
    if (c == NULL || c->ncreds == 0 || c->princ.raw.len == 0) {
        return NULL;
    }
    need = 4 + c->princ.raw.len + 4;
    for (struct store_cred *cr = c->creds; cr != NULL; cr = cr->next) {
        need += 4 + cr->v.raw.len;
    }
    if (need > GP_KCM_MAX_SNAPSHOT || (out = util_secmem_alloc(need)) == NULL) {
        return NULL;
    }
    util_wr_init(&wr, out, need);
    util_wr_data(&wr, c->princ.raw);
    util_wr_u32(&wr, (uint32_t)c->ncreds);
    for (struct store_cred *cr = c->creds; cr != NULL; cr = cr->next) {
        util_wr_data(&wr, cr->v.raw);
    }
    if (!util_wr_ok(&wr)) {
        util_secmem_free(out);
        return NULL;
    }
    *len = wr.len;
    return out;
}

static int to_data(krb5_data *d, struct util_data v)
{
    d->magic = KV5M_DATA;
    d->length = v.len;
    d->data = malloc(v.len > 0 ? v.len : 1);
    if (d->data == NULL) {
        return -1;
    }
    if (v.len > 0) {
        memcpy(d->data, v.p, v.len);
    }
    return 0;
}

/* A krb5_principal that krb5_free_principal can free. */
static krb5_principal to_princ(const struct kcm_princ *kp)
{
    krb5_principal p = calloc(1, sizeof(*p));
    struct util_rd rd;

    if (p == NULL) {
        return NULL;
    }
    p->magic = KV5M_PRINCIPAL;
    p->type = kp->name_type;
    if (to_data(&p->realm, kp->realm) != 0) {
        free(p);
        return NULL;
    }
    p->data = calloc(kp->ncomps > 0 ? kp->ncomps : 1, sizeof(krb5_data));
    if (p->data == NULL) {
        free(p->realm.data);
        free(p);
        return NULL;
    }
    util_rd_init(&rd, kp->comps.p, kp->comps.len);
    for (uint32_t i = 0; i < kp->ncomps; i++) {
        if (to_data(&p->data[i], util_rd_data(&rd)) != 0) {
            p->length = (krb5_int32)i;
            return p; /* caller frees; an incomplete principal fails the store */
        }
    }
    p->length = (krb5_int32)kp->ncomps;
    if (!util_rd_done(&rd)) {
        p->length = 0;
    }
    return p;
}

int gp_kcm_seed(krb5_context k, krb5_ccache cc, const uint8_t *snap, size_t len)
{
    struct util_rd rd;
    struct util_data pd;
    struct kcm_princ kp;
    krb5_principal princ;
    uint32_t n;
    int stored = 0;

    util_rd_init(&rd, snap, len);
    pd = util_rd_data(&rd);
    n = util_rd_u32(&rd);
    if (!util_rd_ok(&rd) || !kcm_princ_from_bytes(pd.p, pd.len, &kp)) {
        return -1;
    }
    princ = to_princ(&kp);
    if (princ == NULL || krb5_cc_initialize(k, cc, princ) != 0) {
        krb5_free_principal(k, princ);
        return -1;
    }
    krb5_free_principal(k, princ);
    for (uint32_t i = 0; i < n; i++) {
        struct util_data cd = util_rd_data(&rd);
        struct kcm_cred kc;
        krb5_creds cr;

        if (!util_rd_ok(&rd) || !kcm_cred_from_bytes(cd.p, cd.len, &kc)) {
            return -1;
        }
        memset(&cr, 0, sizeof(cr));
        cr.magic = KV5M_CREDS;
        cr.client = to_princ(&kc.client);
        cr.server = to_princ(&kc.server);
        cr.keyblock.magic = KV5M_KEYBLOCK;
        cr.keyblock.enctype = kc.key.enctype;
        cr.keyblock.length = kc.key.key.len;
        cr.keyblock.contents = malloc(kc.key.key.len > 0 ? kc.key.key.len : 1);
        if (cr.client == NULL || cr.server == NULL || cr.keyblock.contents == NULL ||
            to_data(&cr.ticket, kc.ticket) != 0 ||
            to_data(&cr.second_ticket, kc.second_ticket) != 0) {
            krb5_free_cred_contents(k, &cr);
            return -1;
        }
        memcpy(cr.keyblock.contents, kc.key.key.p, kc.key.key.len);
        cr.times.authtime = (krb5_timestamp)kc.authtime;
        cr.times.starttime = (krb5_timestamp)kc.starttime;
        cr.times.endtime = (krb5_timestamp)kc.endtime;
        cr.times.renew_till = (krb5_timestamp)kc.renew_till;
        cr.is_skey = kc.is_skey;
        cr.ticket_flags = (krb5_flags)kc.ticket_flags;
        /* Addresses and authorization data stay out: tickets here are addressless and the
         * authdata copy in a ccache is informational. */
        if (krb5_cc_store_cred(k, cc, &cr) == 0) {
            stored++;
        }
        krb5_free_cred_contents(k, &cr); /* zaps the key */
    }
    return stored;
}
