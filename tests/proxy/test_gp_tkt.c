/* Unit tests for the kept initiator tickets of GSS-Proxy services (src/proxy/gp_tkt_cache.c):
 * what is kept comes back only for the same load, service, peer, user, "self" and unchanged
 * client keytab; expired tickets are not seeded, MIT's config entries are; a context's new
 * service ticket reaches the entry of the same client; the number of entries is bounded; off
 * means nothing is kept. Synthetic credentials in MEMORY ccaches, no KDC. Plain C with exit
 * status: 0 pass, 1 fail. */
#include "config.h"

#include <fcntl.h>
#include <gssapi/gssapi_krb5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/util_log.h"
#include "common/util_secmem.h"
#include "proxy/gp_proc.h"
#include "proxy/gp_tkt_cache.h"

#include "gp_check.h"

static krb5_context k5;
static unsigned cc_serial;

static krb5_ccache new_ccache(void)
{
    char name[64];
    krb5_ccache cc = NULL;

    snprintf(name, sizeof(name), "MEMORY:test_gp_tkt_%u", ++cc_serial);
    if (krb5_cc_resolve(k5, name, &cc) != 0) {
        fprintf(stderr, "cannot resolve %s\n", name);
        exit(1);
    }
    return cc;
}

/* A credential of client for server, with a key and ticket whose bytes derive from tag. */
static void put_cred(krb5_ccache cc, const char *client, const char *server, int lifetime,
                     uint8_t tag)
{
    uint8_t key[32], tkt[200];
    krb5_creds cr;
    krb5_timestamp now = (krb5_timestamp)time(NULL);

    memset(key, tag, sizeof(key));
    memset(tkt, tag ^ 0x5a, sizeof(tkt));
    memset(&cr, 0, sizeof(cr));
    CHECK(krb5_parse_name(k5, client, &cr.client) == 0);
    CHECK(krb5_parse_name(k5, server, &cr.server) == 0);
    cr.keyblock.enctype = ENCTYPE_AES256_CTS_HMAC_SHA1_96;
    cr.keyblock.length = sizeof(key);
    cr.keyblock.contents = key;
    cr.ticket.length = sizeof(tkt);
    cr.ticket.data = (char *)tkt;
    cr.times.authtime = cr.times.starttime = now;
    cr.times.endtime = now + lifetime;
    cr.ticket_flags = TKT_FLG_INITIAL;
    CHECK(krb5_cc_store_cred(k5, cc, &cr) == 0);
    krb5_free_principal(k5, cr.client);
    krb5_free_principal(k5, cr.server);
}

static krb5_ccache filled(const char *client, int tgt_life)
{
    krb5_ccache cc = new_ccache();
    krb5_principal p;
    char when[32];
    krb5_data v = { .magic = KV5M_DATA, .data = when };

    /* MIT's own entry: when its keytab initiator gets a new TGT (in the future here). */
    v.length = (unsigned)snprintf(when, sizeof(when), "%lld", (long long)time(NULL) + 1800);
    CHECK(krb5_parse_name(k5, client, &p) == 0);
    CHECK(krb5_cc_initialize(k5, cc, p) == 0);
    put_cred(cc, client, "krbtgt/T.TEST@T.TEST", tgt_life, 1);
    CHECK(krb5_cc_set_config(k5, cc, NULL, "refresh_time", &v) == 0);
    krb5_free_principal(k5, p);
    return cc;
}

/* Credentials in cc: count, and whether one for server with key byte tag is among them. */
static int count_creds(krb5_ccache cc, const char *server, uint8_t tag, bool *found, bool *config)
{
    krb5_cc_cursor cur;
    krb5_creds cr;
    krb5_principal sp = NULL;
    int n = 0;

    *found = *config = false;
    if (server != NULL) {
        CHECK(krb5_parse_name(k5, server, &sp) == 0);
    }
    if (krb5_cc_start_seq_get(k5, cc, &cur) != 0) {
        return -1;
    }
    while (krb5_cc_next_cred(k5, cc, &cur, &cr) == 0) {
        n++;
        if (getenv("TEST_DEBUG") != NULL) {
            char *name = NULL;
            (void)krb5_unparse_name(k5, cr.server, &name);
            fprintf(stderr, "  cred %d: %s\n", n, name != NULL ? name : "?");
            krb5_free_unparsed_name(k5, name);
        }
        if (krb5_is_config_principal(k5, cr.server)) {
            *config = true;
        } else if (sp != NULL && krb5_principal_compare(k5, sp, cr.server) &&
                   cr.keyblock.length > 0 && cr.keyblock.contents[0] == tag) {
            *found = true;
        }
        krb5_free_cred_contents(k5, &cr);
    }
    krb5_cc_end_seq_get(k5, cc, &cur);
    krb5_free_principal(k5, sp);
    return n;
}

/* What a context's cred holds now (cc's tickets, through a gss cred) is offered to the cache;
 * cc is destroyed. */
static void keep_as_gss_cred(struct gp_call *gc, krb5_ccache cc)
{
    gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
    OM_uint32 min;

    CHECK(gss_krb5_import_cred(&min, cc, NULL, NULL, &cred) == GSS_S_COMPLETE);
    gp_tkt_keep_cred(gc, cred);
    gss_release_cred(&min, &cred);
    krb5_cc_destroy(k5, cc);
}

static int seed_count(struct gp_call *gc, const struct gp_tkt_key *k)
{
    krb5_ccache cc = new_ccache();
    int n = gp_tkt_seed(gc, k, cc);

    krb5_cc_destroy(k5, cc);
    return n;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    CHECK(f != NULL);
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

static bool export_eq(gss_cred_id_t cred, const gss_buffer_desc *want)
{
    gss_buffer_desc t = GSS_C_EMPTY_BUFFER;
    OM_uint32 min;
    bool eq;

    eq = gss_export_cred(&min, cred, &t) == GSS_S_COMPLETE && t.length == want->length &&
         memcmp(t.value, want->value, t.length) == 0;
    gss_release_buffer(&min, &t);
    return eq;
}

/* What a later INIT leg relies on when it does not import a handle whose tickets travel by
 * value: the import of a cred's export (a MEMORY ccache by value) exports the same token again,
 * so the sync_creds test would find it unchanged. Two creds like the calls': one on the ccache
 * (gss_krb5_import_cred), one acquired from a cred_store naming it. */
static void test_cred_round_trip(void)
{
    krb5_ccache cc = filled("alice@T.TEST", 3600);
    gss_key_value_element_desc el = { "ccache", NULL };
    gss_key_value_set_desc store = { 1, &el };
    gss_cred_id_t cred[2] = { GSS_C_NO_CREDENTIAL, GSS_C_NO_CREDENTIAL };
    char name[128];
    OM_uint32 min;

    put_cred(cc, "alice@T.TEST", "host/h.t.test@T.TEST", 3600, 7);
    snprintf(name, sizeof(name), "MEMORY:%s", krb5_cc_get_name(k5, cc));
    el.value = name;
    CHECK(gss_krb5_import_cred(&min, cc, NULL, NULL, &cred[0]) == GSS_S_COMPLETE);
    CHECK(gss_acquire_cred_from(&min, GSS_C_NO_NAME, GSS_C_INDEFINITE, GSS_C_NO_OID_SET,
                                GSS_C_INITIATE, &store, &cred[1], NULL,
                                NULL) == GSS_S_COMPLETE);
    for (int i = 0; i < 2; i++) {
        gss_buffer_desc tok = GSS_C_EMPTY_BUFFER;
        gss_cred_id_t back = GSS_C_NO_CREDENTIAL;
        CHECK(gss_export_cred(&min, cred[i], &tok) == GSS_S_COMPLETE && tok.length > 0);
        CHECK(gss_import_cred(&min, &tok, &back) == GSS_S_COMPLETE);
        CHECK(back != GSS_C_NO_CREDENTIAL && export_eq(back, &tok));
        /* by value: the token has the tickets, not the ccache's name */
        CHECK(memmem(tok.value, tok.length, name + 7, strlen(name + 7)) == NULL);
        gss_release_cred(&min, &back);
        gss_release_buffer(&min, &tok);
        gss_release_cred(&min, &cred[i]);
    }
    krb5_cc_destroy(k5, cc);
}

int main(void)
{
    struct gp_conf conf = { .generation = 1 };
    struct gp_svc svc = { .name = "apps" }, other = { .name = "other" };
    struct gp_call gc = { .conf = &conf, .svc = &svc, .peer = { .uid = 1000 } };
    char dir[] = "/tmp/test_gp_tkt.XXXXXX";
    char kt[300], kt2[300];
    struct gp_tkt_key key, k2;
    krb5_ccache cc, out;
    bool found, config;
    const char *alice = "alice@T.TEST";

    util_log_set_level(getenv("TEST_DEBUG") ? UTIL_LOG_DEBUG : UTIL_LOG_ERROR);
    const char *why = NULL;

    if (util_secmem_init(UTIL_SECMEM_DEGRADED, &why) != 0 || krb5_init_context(&k5) != 0 ||
        mkdtemp(dir) == NULL) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    gc.k5 = k5;
    snprintf(kt, sizeof(kt), "FILE:%s/client.keytab", dir);
    snprintf(kt2, sizeof(kt2), "FILE:%s/other.keytab", dir);
    write_file(kt + 5, "keytab v1");
    write_file(kt2 + 5, "keytab other");
    key = (struct gp_tkt_key){ .target = 1000, .self = true, .client_keytab = kt };

    test_cred_round_trip();

    /* Nothing kept yet. */
    CHECK(seed_count(&gc, &key) == 0);

    /* Kept after an acquisition: the TGT, a service ticket and the config entry come back. */
    cc = filled(alice, 3600);
    put_cred(cc, alice, "host/h.t.test@T.TEST", 3600, 7);
    gp_tkt_keep_ccache(&gc, &key, cc);
    krb5_cc_destroy(k5, cc);
    CHECK(gp_tkt_cache_count() == 1);
    out = new_ccache();
    CHECK(gp_tkt_seed(&gc, &key, out) == 3);
    CHECK(count_creds(out, "host/h.t.test@T.TEST", 7, &found, &config) == 3);
    CHECK(found && config);
    {
        krb5_principal p = NULL;
        char *s = NULL;
        CHECK(krb5_cc_get_principal(k5, out, &p) == 0);
        CHECK(p != NULL && krb5_unparse_name(k5, p, &s) == 0 && strcmp(s, alice) == 0);
        krb5_free_unparsed_name(k5, s);
        krb5_free_principal(k5, p);
    }
    krb5_cc_destroy(k5, out);

    /* MIT appends a config entry again when it updates it: only the last one is kept. */
    cc = filled(alice, 3600);
    {
        krb5_creds cf;
        memset(&cf, 0, sizeof(cf));
        CHECK(krb5_parse_name(k5, alice, &cf.client) == 0);
        CHECK(krb5_build_principal(k5, &cf.server, 12, "X-CACHECONF:", "krb5_ccache_conf_data",
                                   "refresh_time", (char *)NULL) == 0);
        cf.ticket.data = (char *)"1";
        cf.ticket.length = 1;
        CHECK(krb5_cc_store_cred(k5, cc, &cf) == 0);
        krb5_free_principal(k5, cf.client);
        krb5_free_principal(k5, cf.server);
    }
    CHECK(count_creds(cc, NULL, 0, &found, &config) == 3 && config);
    gp_tkt_keep_ccache(&gc, &key, cc);
    krb5_cc_destroy(k5, cc);
    CHECK(seed_count(&gc, &key) == 2);

    /* Put back the entry the next checks expect. */
    cc = filled(alice, 3600);
    put_cred(cc, alice, "host/h.t.test@T.TEST", 3600, 7);
    gp_tkt_keep_ccache(&gc, &key, cc);
    krb5_cc_destroy(k5, cc);

    /* Any other key field, peer or service: nothing. */
    k2 = key;
    k2.target = 1001;
    CHECK(seed_count(&gc, &k2) == 0);
    k2 = key;
    k2.self = false;
    CHECK(seed_count(&gc, &k2) == 0);
    k2 = key;
    k2.client_keytab = kt2;
    CHECK(seed_count(&gc, &k2) == 0);
    gc.peer.uid = 1001;
    CHECK(seed_count(&gc, &key) == 0);
    gc.peer.uid = 1000;
    gc.svc = &other;
    CHECK(seed_count(&gc, &key) == 0);
    gc.svc = &svc;
    CHECK(seed_count(&gc, &key) == 3);

    /* A new service ticket of a context (gss cred of the same client) reaches the entry; a
     * cred of another client does not touch it. */
    cc = filled(alice, 3600);
    put_cred(cc, alice, "host/h.t.test@T.TEST", 3600, 7);
    put_cred(cc, alice, "nfs/n.t.test@T.TEST", 3600, 9);
    keep_as_gss_cred(&gc, cc);
    out = new_ccache();
    CHECK(gp_tkt_seed(&gc, &key, out) == 4);
    CHECK(count_creds(out, "nfs/n.t.test@T.TEST", 9, &found, &config) == 4 && found);
    krb5_cc_destroy(k5, out);
    cc = filled("bob@T.TEST", 3600);
    put_cred(cc, "bob@T.TEST", "cifs/c.t.test@T.TEST", 3600, 11);
    keep_as_gss_cred(&gc, cc);
    out = new_ccache();
    CHECK(gp_tkt_seed(&gc, &key, out) == 4);
    CHECK(count_creds(out, "cifs/c.t.test@T.TEST", 11, &found, &config) == 4 && !found);
    krb5_cc_destroy(k5, out);

    /* Expired or nearly expired tickets are not seeded; the config entry still is. */
    cc = filled(alice, 30);
    put_cred(cc, alice, "host/h.t.test@T.TEST", 3600, 7);
    gp_tkt_keep_ccache(&gc, &key, cc);
    krb5_cc_destroy(k5, cc);
    out = new_ccache();
    CHECK(gp_tkt_seed(&gc, &key, out) == 2);
    CHECK(count_creds(out, "krbtgt/T.TEST@T.TEST", 1, &found, &config) == 2 && !found && config);
    krb5_cc_destroy(k5, out);

    /* A rewritten client keytab drops the entry. */
    cc = filled(alice, 3600);
    gp_tkt_keep_ccache(&gc, &key, cc);
    krb5_cc_destroy(k5, cc);
    CHECK(seed_count(&gc, &key) == 2);
    write_file(kt + 5, "keytab v2, longer");
    CHECK(seed_count(&gc, &key) == 0);
    CHECK(gp_tkt_cache_count() == 0);

    /* A new configuration load drops what the old one kept. */
    cc = filled(alice, 3600);
    gp_tkt_keep_ccache(&gc, &key, cc);
    CHECK(seed_count(&gc, &key) == 2);
    conf.generation = 2;
    CHECK(seed_count(&gc, &key) == 0);
    CHECK(gp_tkt_cache_count() == 0);

    /* Bounded: many users keep at most the slot count; the most recent are there. */
    for (uid_t u = 0; u < 300; u++) {
        k2 = key;
        k2.target = 20000 + u;
        gp_tkt_keep_ccache(&gc, &k2, cc);
    }
    CHECK(gp_tkt_cache_count() > 0 && gp_tkt_cache_count() <= 128);
    k2.target = 20000 + 299;
    CHECK(seed_count(&gc, &k2) == 2);
    k2.target = 20000;
    CHECK(seed_count(&gc, &k2) == 0);

    /* Off: forgets, keeps nothing, seeds nothing. */
    gp_tkt_cache_enable(false);
    CHECK(gp_tkt_cache_count() == 0);
    gp_tkt_keep_ccache(&gc, &key, cc);
    CHECK(gp_tkt_cache_count() == 0);
    CHECK(seed_count(&gc, &key) == 0);
    gp_tkt_cache_enable(true);
    gp_tkt_keep_ccache(&gc, &key, cc);
    CHECK(seed_count(&gc, &key) == 2);
    krb5_cc_destroy(k5, cc);

    gp_tkt_cache_clear();
    CHECK(gp_tkt_cache_count() == 0);
    unlink(kt + 5);
    unlink(kt2 + 5);
    rmdir(dir);
    krb5_free_context(k5);
    if (failures == 0) {
        printf("test_gp_tkt: all passed\n");
    }
    return failures == 0 ? 0 : 1;
}
