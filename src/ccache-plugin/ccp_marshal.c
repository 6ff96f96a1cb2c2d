/* krb5 structures <-> KCM wire bytes (FILE ccache v4 encodings, kcm-protocol.md §1.4).
 * Writing goes through the shared bounded writer, reading through the shared codec's parsed
 * views; this file only converts. Everything handed to libkrb5 is allocated with malloc so
 * that krb5_free_cred_contents() and krb5_free_principal() can release it. */
#include "config.h"
#include "ccache-plugin/ccp_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void wr_bytes_data(struct util_wr *wr, const void *p, unsigned int len)
{
    util_wr_u32(wr, len);
    util_wr_bytes(wr, p, len);
}

static void wr_krb5_data(struct util_wr *wr, const krb5_data *d)
{
    wr_bytes_data(wr, d->data, d->length);
}

void ccp_wr_princ(struct util_wr *wr, krb5_const_principal p)
{
    util_wr_i32(wr, p->type);
    util_wr_u32(wr, (uint32_t)p->length);
    wr_krb5_data(wr, &p->realm);
    for (krb5_int32 i = 0; i < p->length; i++) {
        wr_krb5_data(wr, &p->data[i]);
    }
}

static void wr_keyblock(struct util_wr *wr, const krb5_keyblock *kb)
{
    util_wr_u16(wr, (uint16_t)kb->enctype);
    wr_bytes_data(wr, kb->contents, kb->length);
}

static void wr_addrs(struct util_wr *wr, krb5_address *const *addrs)
{
    uint32_t n = 0;

    while (addrs != NULL && addrs[n] != NULL) {
        n++;
    }
    util_wr_u32(wr, n);
    for (uint32_t i = 0; i < n; i++) {
        util_wr_u16(wr, (uint16_t)addrs[i]->addrtype);
        wr_bytes_data(wr, addrs[i]->contents, addrs[i]->length);
    }
}

static void wr_authdata(struct util_wr *wr, krb5_authdata *const *ad)
{
    uint32_t n = 0;

    while (ad != NULL && ad[n] != NULL) {
        n++;
    }
    util_wr_u32(wr, n);
    for (uint32_t i = 0; i < n; i++) {
        util_wr_u16(wr, (uint16_t)ad[i]->ad_type);
        wr_bytes_data(wr, ad[i]->contents, ad[i]->length);
    }
}

static void wr_times_flags(struct util_wr *wr, const krb5_creds *c)
{
    util_wr_u32(wr, (uint32_t)c->times.authtime);
    util_wr_u32(wr, (uint32_t)c->times.starttime);
    util_wr_u32(wr, (uint32_t)c->times.endtime);
    util_wr_u32(wr, (uint32_t)c->times.renew_till);
    util_wr_u8(wr, c->is_skey ? 1 : 0);
    util_wr_u32(wr, (uint32_t)c->ticket_flags);
}

void ccp_wr_cred(struct util_wr *wr, const krb5_creds *c)
{
    ccp_wr_princ(wr, c->client);
    ccp_wr_princ(wr, c->server);
    wr_keyblock(wr, &c->keyblock);
    wr_times_flags(wr, c);
    wr_addrs(wr, c->addresses);
    wr_authdata(wr, c->authdata);
    wr_krb5_data(wr, &c->ticket);
    wr_krb5_data(wr, &c->second_ticket);
}

/* Same header and field rules as MIT's k5_marshal_mcred(). */
void ccp_wr_mcred(struct util_wr *wr, const krb5_creds *m)
{
    uint32_t h = 0;
    bool has_addrs = m->addresses != NULL && m->addresses[0] != NULL;
    bool has_ad = m->authdata != NULL && m->authdata[0] != NULL;

    h |= m->client != NULL ? KCM_SC_CLIENT : 0;
    h |= m->server != NULL ? KCM_SC_SERVER : 0;
    h |= m->keyblock.enctype != ENCTYPE_NULL ? KCM_SC_SESSION_KEY : 0;
    h |= m->ticket.length > 0 ? KCM_SC_TICKET : 0;
    h |= m->second_ticket.length > 0 ? KCM_SC_SECOND_TICKET : 0;
    h |= has_ad ? KCM_SC_AUTHDATA : 0;
    h |= has_addrs ? KCM_SC_ADDRESSES : 0;
    util_wr_u32(wr, h);
    if (m->client != NULL) {
        ccp_wr_princ(wr, m->client);
    }
    if (m->server != NULL) {
        ccp_wr_princ(wr, m->server);
    }
    if (m->keyblock.enctype != ENCTYPE_NULL) {
        wr_keyblock(wr, &m->keyblock);
    }
    wr_times_flags(wr, m);
    if (has_addrs) {
        wr_addrs(wr, m->addresses);
    }
    if (has_ad) {
        wr_authdata(wr, m->authdata);
    }
    if (m->ticket.length > 0) {
        wr_krb5_data(wr, &m->ticket);
    }
    if (m->second_ticket.length > 0) {
        wr_krb5_data(wr, &m->second_ticket);
    }
}

uint32_t ccp_map_tcflags(krb5_flags f)
{
    uint32_t h = 0;

    h |= (f & KRB5_TC_MATCH_TIMES) ? KCM_TC_MATCH_TIMES : 0;
    h |= (f & KRB5_TC_MATCH_IS_SKEY) ? KCM_TC_MATCH_IS_SKEY : 0;
    h |= (f & KRB5_TC_MATCH_FLAGS) ? KCM_TC_MATCH_FLAGS : 0;
    h |= (f & KRB5_TC_MATCH_TIMES_EXACT) ? KCM_TC_MATCH_TIMES_EXACT : 0;
    h |= (f & KRB5_TC_MATCH_FLAGS_EXACT) ? KCM_TC_MATCH_FLAGS_EXACT : 0;
    h |= (f & KRB5_TC_MATCH_AUTHDATA) ? KCM_TC_MATCH_AUTHDATA : 0;
    h |= (f & KRB5_TC_MATCH_SRV_NAMEONLY) ? KCM_TC_MATCH_SRV_NAMEONLY : 0;
    h |= (f & KRB5_TC_MATCH_2ND_TKT) ? KCM_TC_MATCH_2ND_TKT : 0;
    h |= (f & KRB5_TC_MATCH_KTYPE) ? KCM_TC_MATCH_KEYTYPE : 0;
    return h;
}

/* ---- wire -> krb5 ---- */

/* A NUL-terminated copy (as MIT's k5memdup0 makes), so even empty data has a pointer. */
static char *dup0(const uint8_t *p, uint32_t len)
{
    char *c = malloc((size_t)len + 1);

    if (c != NULL) {
        if (len > 0) {
            memcpy(c, p, len);
        }
        c[len] = '\0';
    }
    return c;
}

static bool set_data(krb5_data *d, struct util_data w)
{
    d->magic = KV5M_DATA;
    d->data = dup0(w.p, w.len);
    d->length = d->data != NULL ? w.len : 0;
    return d->data != NULL;
}

krb5_error_code ccp_princ_from_wire(const struct kcm_princ *w, krb5_principal *out)
{
    krb5_principal p = calloc(1, sizeof(*p));
    struct util_rd rd;

    *out = NULL;
    if (p == NULL) {
        return ENOMEM;
    }
    p->magic = KV5M_PRINCIPAL;
    p->type = w->name_type;
    if (!set_data(&p->realm, w->realm)) {
        goto oom;
    }
    if (w->ncomps > 0) {
        p->data = calloc(w->ncomps, sizeof(krb5_data));
        if (p->data == NULL) {
            goto oom;
        }
    }
    util_rd_init(&rd, w->comps.p, w->comps.len);
    for (uint32_t i = 0; i < w->ncomps; i++) {
        if (!set_data(&p->data[i], util_rd_data(&rd))) {
            goto oom;
        }
        p->length = (krb5_int32)i + 1;
    }
    if (!util_rd_done(&rd)) {
        krb5_free_principal(NULL, p);
        return KRB5_KCM_MALFORMED_REPLY;
    }
    *out = p;
    return 0;

oom:
    krb5_free_principal(NULL, p);
    return ENOMEM;
}

/* u32 count, count x (u16 type, data): the raw region the codec already validated. */
static bool count_list(struct util_data raw, uint32_t *n, struct util_rd *rd)
{
    util_rd_init(rd, raw.p, raw.len);
    *n = raw.len == 0 ? 0 : util_rd_u32(rd);
    return util_rd_ok(rd);
}

static krb5_error_code addrs_from_wire(struct util_data raw, krb5_address ***out)
{
    struct util_rd rd;
    uint32_t n;
    krb5_address **a;

    *out = NULL;
    if (!count_list(raw, &n, &rd)) {
        return KRB5_KCM_MALFORMED_REPLY;
    }
    a = calloc((size_t)n + 1, sizeof(*a));
    if (a == NULL) {
        return ENOMEM;
    }
    *out = a;
    for (uint32_t i = 0; i < n; i++) {
        krb5_address *x = calloc(1, sizeof(*x));
        struct util_data d;
        if (x == NULL) {
            return ENOMEM;
        }
        a[i] = x;
        x->magic = KV5M_ADDRESS;
        x->addrtype = (krb5_addrtype)util_rd_u16(&rd);
        d = util_rd_data(&rd);
        x->contents = (krb5_octet *)dup0(d.p, d.len);
        if (x->contents == NULL) {
            return ENOMEM;
        }
        x->length = d.len;
    }
    return 0;
}

static krb5_error_code authdata_from_wire(struct util_data raw, krb5_authdata ***out)
{
    struct util_rd rd;
    uint32_t n;
    krb5_authdata **a;

    *out = NULL;
    if (!count_list(raw, &n, &rd)) {
        return KRB5_KCM_MALFORMED_REPLY;
    }
    a = calloc((size_t)n + 1, sizeof(*a));
    if (a == NULL) {
        return ENOMEM;
    }
    *out = a;
    for (uint32_t i = 0; i < n; i++) {
        krb5_authdata *x = calloc(1, sizeof(*x));
        struct util_data d;
        if (x == NULL) {
            return ENOMEM;
        }
        a[i] = x;
        x->magic = KV5M_AUTHDATA;
        x->ad_type = (krb5_authdatatype)(int16_t)util_rd_u16(&rd);
        d = util_rd_data(&rd);
        x->contents = (krb5_octet *)dup0(d.p, d.len);
        if (x->contents == NULL) {
            return ENOMEM;
        }
        x->length = d.len;
    }
    return 0;
}

krb5_error_code ccp_cred_from_wire(const struct kcm_cred *w, krb5_creds *c)
{
    krb5_error_code ret;

    memset(c, 0, sizeof(*c));
    c->magic = KV5M_CREDS;
    ret = ccp_princ_from_wire(&w->client, &c->client);
    if (ret == 0) {
        ret = ccp_princ_from_wire(&w->server, &c->server);
    }
    if (ret == 0) {
        c->keyblock.magic = KV5M_KEYBLOCK;
        c->keyblock.enctype = w->key.enctype;
        c->keyblock.contents = (krb5_octet *)dup0(w->key.key.p, w->key.key.len);
        c->keyblock.length = w->key.key.len;
        ret = c->keyblock.contents != NULL ? 0 : ENOMEM;
    }
    if (ret == 0) {
        c->times.authtime = (krb5_timestamp)w->authtime;
        c->times.starttime = (krb5_timestamp)w->starttime;
        c->times.endtime = (krb5_timestamp)w->endtime;
        c->times.renew_till = (krb5_timestamp)w->renew_till;
        c->is_skey = w->is_skey;
        c->ticket_flags = (krb5_flags)w->ticket_flags;
        ret = addrs_from_wire(w->addrs, &c->addresses);
    }
    if (ret == 0) {
        ret = authdata_from_wire(w->authdata, &c->authdata);
    }
    if (ret == 0 &&
        (!set_data(&c->ticket, w->ticket) || !set_data(&c->second_ticket, w->second_ticket))) {
        ret = ENOMEM;
    }
    if (ret != 0) {
        krb5_free_cred_contents(NULL, c);
        memset(c, 0, sizeof(*c));
    }
    return ret;
}
