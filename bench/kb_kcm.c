/*
 * kcmbench: synthetic credentials and the workloads driven through MIT
 * libkrb5's KCM: cache type (public krb5.h API only).
 */
#include "kcmbench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- synthetic credentials ---- */

static void
fill_random(uint8_t *p, size_t len, uint64_t *seed)
{
    size_t i;

    for (i = 0; i < len; i++) {
        *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
        p[i] = (uint8_t)(*seed >> 56);
    }
}

/*
 * Build one credential in memory.  server_name NULL means the TGT.  The
 * ticket is random bytes: servers must store tickets opaquely.
 */
static krb5_error_code
make_cred(krb5_context ctx, krb5_principal client, const char *server_name,
          int ticket_len, uint64_t *seed, krb5_creds *out)
{
    krb5_error_code ret;
    char sname[256];
    krb5_timestamp now = (krb5_timestamp)time(NULL);

    memset(out, 0, sizeof(*out));
    ret = krb5_copy_principal(ctx, client, &out->client);
    if (ret) {
        return ret;
    }
    if (server_name == NULL) {
        snprintf(sname, sizeof(sname), "krbtgt/%s@%s", BENCH_REALM, BENCH_REALM);
    } else {
        snprintf(sname, sizeof(sname), "%s@%s", server_name, BENCH_REALM);
    }
    ret = krb5_parse_name(ctx, sname, &out->server);
    if (ret) {
        return ret;
    }
    ret = krb5_c_make_random_key(ctx, ENCTYPE_AES256_CTS_HMAC_SHA1_96, &out->keyblock);
    if (ret) {
        return ret;
    }
    out->times.authtime = now;
    out->times.starttime = now;
    out->times.endtime = now + 10 * 3600;
    out->times.renew_till = now + 7 * 86400;
    out->is_skey = FALSE;
    out->ticket_flags = TKT_FLG_FORWARDABLE | TKT_FLG_RENEWABLE | TKT_FLG_PRE_AUTH;
    if (server_name == NULL) {
        out->ticket_flags |= TKT_FLG_INITIAL;
    }
    out->ticket.magic = KV5M_DATA;
    out->ticket.length = ticket_len;
    out->ticket.data = malloc(ticket_len);
    if (out->ticket.data == NULL) {
        return ENOMEM;
    }
    fill_random((uint8_t *)out->ticket.data, ticket_len, seed);
    return 0;
}

static krb5_error_code
credset_make(krb5_context ctx, const char *client_name, int n, uint64_t seed,
             struct credset *cs)
{
    krb5_error_code ret;
    char cname[256], sname[128];
    int i;

    memset(cs, 0, sizeof(*cs));
    snprintf(cname, sizeof(cname), "%s@%s", client_name, BENCH_REALM);
    ret = krb5_parse_name(ctx, cname, &cs->client);
    if (ret) {
        return ret;
    }
    cs->creds = calloc(n, sizeof(krb5_creds));
    if (cs->creds == NULL) {
        return ENOMEM;
    }
    cs->n = n;
    for (i = 0; i < n; i++) {
        snprintf(sname, sizeof(sname), "svc%02d/host%02d.bench.test", i, i);
        ret = make_cred(ctx, cs->client, i == 0 ? NULL : sname, opt.ticket_len, &seed,
                        &cs->creds[i]);
        if (ret) {
            return ret;
        }
    }
    return 0;
}

static void
credset_free(krb5_context ctx, struct credset *cs)
{
    int i;

    for (i = 0; i < cs->n; i++) {
        krb5_free_cred_contents(ctx, &cs->creds[i]);
    }
    free(cs->creds);
    krb5_free_principal(ctx, cs->client);
    memset(cs, 0, sizeof(*cs));
}

/* new_unique + initialize + store every cred of cs. */
static krb5_error_code
cache_fill(krb5_context ctx, struct credset *cs, krb5_ccache *out)
{
    krb5_error_code ret;
    krb5_ccache cc = NULL;
    int i;

    *out = NULL;
    ret = krb5_cc_new_unique(ctx, "KCM", NULL, &cc);
    if (ret) {
        return ret;
    }
    ret = krb5_cc_initialize(ctx, cc, cs->client);
    for (i = 0; ret == 0 && i < cs->n; i++) {
        ret = krb5_cc_store_cred(ctx, cc, &cs->creds[i]);
    }
    if (ret) {
        krb5_cc_destroy(ctx, cc);
        return ret;
    }
    *out = cc;
    return 0;
}

/* ---- workloads ---- */

krb5_error_code
kcm_setup(struct kcm_state *st, int idx, struct child_result *r)
{
    krb5_error_code ret;
    char client[64];

    memset(st, 0, sizeof(*st));
    ret = krb5_init_context(&st->ctx);
    if (ret) {
        set_err(r, NULL, ret, "krb5_init_context");
        return ret;
    }
    snprintf(client, sizeof(client), "bench%03d", idx);
    switch (opt.workload) {
    case W_STORE:
        ret = credset_make(st->ctx, client, opt.store_creds, 0x1234 + idx, &st->cs);
        if (ret) {
            set_err(r, st->ctx, ret, "make creds");
        }
        return ret;
    case W_RETRIEVE:
    case W_ITERATE:
        ret = credset_make(st->ctx, client, CACHE_CREDS, 0x5678 + idx, &st->cs);
        if (ret) {
            set_err(r, st->ctx, ret, "make creds");
            return ret;
        }
        ret = cache_fill(st->ctx, &st->cs, &st->cc);
        if (ret) {
            set_err(r, st->ctx, ret, "fill cache");
        }
        return ret;
    case W_LIST:
        return 0;
    default:
        return EINVAL;
    }
}

void
kcm_teardown(struct kcm_state *st)
{
    if (st->cc != NULL) {
        krb5_cc_destroy(st->ctx, st->cc);
        st->cc = NULL;
    }
    if (st->cs.creds != NULL) {
        credset_free(st->ctx, &st->cs);
    }
    krb5_free_context(st->ctx);
}

krb5_error_code
op_store(struct kcm_state *st, struct child_result *r)
{
    krb5_error_code ret;
    krb5_ccache cc = NULL;
    int i;

    ret = krb5_cc_new_unique(st->ctx, "KCM", NULL, &cc);
    if (ret) {
        set_err(r, st->ctx, ret, "krb5_cc_new_unique");
        return ret;
    }
    ret = krb5_cc_initialize(st->ctx, cc, st->cs.client);
    if (ret) {
        set_err(r, st->ctx, ret, "krb5_cc_initialize");
    }
    for (i = 0; ret == 0 && i < st->cs.n; i++) {
        ret = krb5_cc_store_cred(st->ctx, cc, &st->cs.creds[i]);
        if (ret) {
            set_err(r, st->ctx, ret, "krb5_cc_store_cred");
        }
    }
    if (krb5_cc_destroy(st->ctx, cc) != 0 && ret == 0) {
        ret = KRB5_CC_IO;
        set_err(r, NULL, 0, "krb5_cc_destroy");
    }
    return ret;
}

krb5_error_code
op_retrieve(struct kcm_state *st, struct child_result *r)
{
    krb5_error_code ret;
    krb5_creds mcred, out;
    krb5_creds *want = &st->cs.creds[1 + (st->seq++ % (st->cs.n - 1))];

    memset(&mcred, 0, sizeof(mcred));
    memset(&out, 0, sizeof(out));
    mcred.client = st->cs.client;
    mcred.server = want->server;
    ret = krb5_cc_retrieve_cred(st->ctx, st->cc, opt.retrieve_flags, &mcred, &out);
    if (ret) {
        set_err(r, st->ctx, ret, "krb5_cc_retrieve_cred");
        return ret;
    }
    if (!krb5_principal_compare(st->ctx, out.server, want->server) ||
        out.ticket.length != want->ticket.length) {
        set_err(r, NULL, 0, "krb5_cc_retrieve_cred returned the wrong credential");
        ret = KRB5_CC_FORMAT;
    }
    krb5_free_cred_contents(st->ctx, &out);
    return ret;
}

krb5_error_code
op_iterate(struct kcm_state *st, struct child_result *r)
{
    krb5_error_code ret;
    krb5_cc_cursor cur;
    krb5_creds c;
    int n = 0;

    ret = krb5_cc_start_seq_get(st->ctx, st->cc, &cur);
    if (ret) {
        set_err(r, st->ctx, ret, "krb5_cc_start_seq_get");
        return ret;
    }
    while ((ret = krb5_cc_next_cred(st->ctx, st->cc, &cur, &c)) == 0) {
        n++;
        krb5_free_cred_contents(st->ctx, &c);
    }
    if (ret != KRB5_CC_END) {
        set_err(r, st->ctx, ret, "krb5_cc_next_cred");
        krb5_cc_end_seq_get(st->ctx, st->cc, &cur);
        return ret;
    }
    ret = krb5_cc_end_seq_get(st->ctx, st->cc, &cur);
    if (ret) {
        set_err(r, st->ctx, ret, "krb5_cc_end_seq_get");
        return ret;
    }
    if (n != st->cs.n) {
        char buf[96];

        snprintf(buf, sizeof(buf), "iteration returned %d creds, expected %d", n, st->cs.n);
        set_err(r, NULL, 0, buf);
        return KRB5_CC_FORMAT;
    }
    return 0;
}

/* Walk the collection; returns the number of caches seen in *count. */
krb5_error_code
walk_collection(krb5_context ctx, int *count, int destroy, struct child_result *r)
{
    krb5_error_code ret;
    krb5_cccol_cursor cur;
    krb5_ccache cc;
    krb5_principal p;
    int n = 0;

    ret = krb5_cccol_cursor_new(ctx, &cur);
    if (ret) {
        set_err(r, ctx, ret, "krb5_cccol_cursor_new");
        return ret;
    }
    while ((ret = krb5_cccol_cursor_next(ctx, cur, &cc)) == 0 && cc != NULL) {
        if (destroy) {
            krb5_cc_destroy(ctx, cc);
            n++;
            continue;
        }
        ret = krb5_cc_get_principal(ctx, cc, &p);
        krb5_cc_close(ctx, cc);
        if (ret) {
            set_err(r, ctx, ret, "krb5_cc_get_principal");
            break;
        }
        krb5_free_principal(ctx, p);
        n++;
    }
    if (ret) {
        set_err(r, ctx, ret, "krb5_cccol_cursor_next");
    }
    krb5_cccol_cursor_free(ctx, &cur);
    *count = n;
    return ret;
}

krb5_error_code
op_list(struct kcm_state *st, struct child_result *r)
{
    krb5_error_code ret;
    int n;

    ret = walk_collection(st->ctx, &n, 0, r);
    if (ret) {
        return ret;
    }
    if (n != LIST_CACHES) {
        char buf[96];

        snprintf(buf, sizeof(buf), "collection has %d caches, expected %d", n, LIST_CACHES);
        set_err(r, NULL, 0, buf);
        return KRB5_CC_FORMAT;
    }
    return 0;
}

/* Create the collection for "list": LIST_CACHES caches, 2 creds each. */
void
list_fixture(krb5_context ctx, int create, struct child_result *r)
{
    krb5_error_code ret;
    struct credset cs;
    krb5_ccache cc;
    char name[32];
    int i, n;

    if (!create) {
        walk_collection(ctx, &n, 1, r);
        return;
    }
    ret = walk_collection(ctx, &n, 0, r);
    if (ret == 0 && n != 0) {
        if (!opt.clean) {
            die("the KCM collection already holds %d caches; run with --clean "
                "(only with a dedicated --uid) or empty it", n);
        }
        walk_collection(ctx, &n, 1, r);
    }
    for (i = 0; i < LIST_CACHES; i++) {
        snprintf(name, sizeof(name), "listuser%d", i);
        ret = credset_make(ctx, name, 2, 0x9abc + i, &cs);
        if (ret == 0) {
            ret = cache_fill(ctx, &cs, &cc);
        }
        if (ret) {
            die("list fixture: %s", krb5_get_error_message(ctx, ret));
        }
        if (i == 0) {
            /* Make the collection's primary an initialized cache. */
            ret = krb5_cc_switch(ctx, cc);
            if (ret) {
                die("krb5_cc_switch: %s", krb5_get_error_message(ctx, ret));
            }
        }
        krb5_cc_close(ctx, cc);
        credset_free(ctx, &cs);
    }
}
