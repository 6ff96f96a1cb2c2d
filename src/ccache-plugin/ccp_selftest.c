/* Self-test of the pure parts of libcachet-ccache (make check): the brand parser, the run-time
 * ABI check against the libkrb5 we are linked with, and the credential marshalling, compared
 * byte for byte with MIT's own krb5_marshal_credentials() (public since 1.20). */
#include "config.h"
#include "ccache-plugin/ccp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                              \
        }                                                                            \
    } while (0)

static bool brand(const char *s, int *maj, int *min)
{
    return ccp_brand_parse(s, strlen(s), maj, min);
}

static void test_brand(void)
{
    int maj = 0;
    int min = 0;

    CHECK(brand("KRB5_BRAND: krb5-1.20.1-final 1.20.1 20221111", &maj, &min));
    CHECK(maj == 1 && min == 20 && ccp_release_supported(maj, min));
    CHECK(brand("KRB5_BRAND: krb5-1.22-beta1 1.22-beta1 20250101", &maj, &min));
    CHECK(maj == 1 && min == 22 && ccp_release_supported(maj, min));
    CHECK(brand("KRB5_BRAND: krb5-1.21.3-final 1.21.3 20240626", &maj, &min));
    CHECK(ccp_release_supported(maj, min));
    CHECK(brand("KRB5_BRAND: krb5-1.19.4-final 1.19.4 20221115", &maj, &min));
    CHECK(maj == 1 && min == 19 && !ccp_release_supported(maj, min));
    CHECK(brand("KRB5_BRAND: krb5-1.23-final 1.23 20260101", &maj, &min));
    CHECK(!ccp_release_supported(maj, min));
    CHECK(brand("KRB5_BRAND: x 1.2 y", &maj, &min) && !ccp_release_supported(maj, min));
    CHECK(!brand("KRB5_BRAND: krb5-1.20", &maj, &min));
    CHECK(!brand("KRB5_BRAND: tag x.20 date", &maj, &min));
    CHECK(!brand("KRB5_BRAND: tag 1. date", &maj, &min));
    CHECK(!brand("HEIMDAL 7.8", &maj, &min));
    CHECK(!brand("", &maj, &min));
}

static void test_abi(void)
{
    char why[256];
    krb5_error_code ret = ccp_abi_check(why, sizeof(why));

    /* configure only accepts MIT 1.20-1.22, so the libkrb5 we link must pass. */
    if (ret != 0) {
        fprintf(stderr, "ccp_abi_check: %s\n", why);
    }
    CHECK(ret == 0);
    CHECK(sizeof(struct ccp_cc_ops) == 200 || sizeof(void *) != 8);
}

static krb5_data mkdata(const char *s)
{
    krb5_data d;

    d.magic = KV5M_DATA;
    d.length = (unsigned int)strlen(s);
    d.data = (char *)s;
    return d;
}

static void test_marshal(krb5_context ctx)
{
    krb5_creds c;
    krb5_creds back;
    krb5_address a1 = { KV5M_ADDRESS, ADDRTYPE_INET, 4, (krb5_octet *)"\x7f\0\0\x01" };
    krb5_address *addrs[] = { &a1, NULL };
    krb5_authdata ad1 = { KV5M_AUTHDATA, -3, 3, (krb5_octet *)"abc" };
    krb5_authdata *ads[] = { &ad1, NULL };
    krb5_data *mit = NULL;
    struct util_wr wr;
    struct kcm_cred w;
    uint8_t *buf;

    memset(&c, 0, sizeof(c));
    CHECK(krb5_parse_name(ctx, "alice/admin@EXAMPLE.TEST", &c.client) == 0);
    CHECK(krb5_parse_name(ctx, "host/x.example.test@EXAMPLE.TEST", &c.server) == 0);
    c.keyblock.magic = KV5M_KEYBLOCK;
    c.keyblock.enctype = ENCTYPE_AES256_CTS_HMAC_SHA1_96;
    c.keyblock.length = 32;
    c.keyblock.contents = (krb5_octet *)"0123456789abcdef0123456789abcdef";
    c.times.authtime = 1000;
    c.times.starttime = 1001;
    c.times.endtime = 2000000000;
    c.times.renew_till = -5; /* times are unsigned on the wire */
    c.is_skey = 1;
    c.ticket_flags = 0x40c10000;
    c.addresses = addrs;
    c.authdata = ads;
    c.ticket = mkdata("ticket-bytes");
    c.second_ticket = mkdata("");

    util_wr_init(&wr, NULL, 0);
    ccp_wr_cred(&wr, &c);
    buf = malloc(wr.len);
    CHECK(buf != NULL);
    util_wr_init(&wr, buf, wr.len);
    ccp_wr_cred(&wr, &c);
    CHECK(util_wr_ok(&wr));

    CHECK(krb5_marshal_credentials(ctx, &c, &mit) == 0);
    CHECK(mit != NULL && mit->length == wr.len && memcmp(mit->data, buf, wr.len) == 0);

    CHECK(kcm_cred_from_bytes(buf, wr.len, &w));
    CHECK(ccp_cred_from_wire(&w, &back) == 0);
    CHECK(krb5_principal_compare(ctx, c.client, back.client));
    CHECK(krb5_principal_compare(ctx, c.server, back.server));
    CHECK(back.client->type == c.client->type);
    CHECK(back.keyblock.enctype == c.keyblock.enctype && back.keyblock.length == 32 &&
          memcmp(back.keyblock.contents, c.keyblock.contents, 32) == 0);
    CHECK(back.times.renew_till == c.times.renew_till && back.times.endtime == c.times.endtime);
    CHECK(back.is_skey == 1 && back.ticket_flags == c.ticket_flags);
    CHECK(back.addresses != NULL && back.addresses[0] != NULL && back.addresses[1] == NULL &&
          back.addresses[0]->length == 4 && back.addresses[0]->addrtype == ADDRTYPE_INET);
    CHECK(back.authdata != NULL && back.authdata[0] != NULL && back.authdata[0]->ad_type == -3);
    CHECK(back.ticket.length == c.ticket.length &&
          memcmp(back.ticket.data, c.ticket.data, c.ticket.length) == 0);
    CHECK(back.second_ticket.length == 0 && back.second_ticket.data != NULL);

    /* And our decoding of MIT's bytes equals MIT's own. */
    krb5_free_cred_contents(ctx, &back);
    krb5_free_data(ctx, mit);
    free(buf);
    krb5_free_principal(ctx, c.client);
    krb5_free_principal(ctx, c.server);
}

static void test_mcred(krb5_context ctx)
{
    krb5_creds m;
    struct util_wr wr;
    struct util_rd rd;
    struct kcm_mcred w;
    uint8_t buf[512];

    memset(&m, 0, sizeof(m));
    CHECK(krb5_parse_name(ctx, "alice@EXAMPLE.TEST", &m.client) == 0);
    CHECK(krb5_parse_name(ctx, "krbtgt/EXAMPLE.TEST@EXAMPLE.TEST", &m.server) == 0);
    m.times.endtime = 77;
    util_wr_init(&wr, buf, sizeof(buf));
    ccp_wr_mcred(&wr, &m);
    CHECK(util_wr_ok(&wr));
    util_rd_init(&rd, buf, wr.len);
    CHECK(kcm_parse_mcred(&rd, &w) && util_rd_done(&rd));
    CHECK(w.fields == (KCM_SC_CLIENT | KCM_SC_SERVER) && w.c.endtime == 77);
    CHECK(ccp_map_tcflags(KRB5_TC_MATCH_TIMES | KRB5_TC_MATCH_KTYPE | KRB5_TC_SUPPORTED_KTYPES) ==
          (KCM_TC_MATCH_TIMES | KCM_TC_MATCH_KEYTYPE));
    krb5_free_principal(ctx, m.client);
    krb5_free_principal(ctx, m.server);
}

int main(void)
{
    krb5_context ctx;

    if (krb5_init_context(&ctx) != 0) {
        fprintf(stderr, "krb5_init_context failed\n");
        return 99;
    }
    test_brand();
    test_abi();
    test_marshal(ctx);
    test_mcred(ctx);
    krb5_free_context(ctx);
    if (failures != 0) {
        fprintf(stderr, "ccp_selftest: %d failure(s)\n", failures);
        return 1;
    }
    printf("ccp_selftest: ok\n");
    return 0;
}
