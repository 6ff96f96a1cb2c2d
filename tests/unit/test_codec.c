/* Unit tests of the pure KCM codec (src/kcm/kcm_codec.c) and the bounded reader/writer
 * (src/common/util_buf.c): golden vectors from MIT 1.20.1 clients, re-encoding round trips,
 * truncation at every offset, bad versions, unknown opcodes, trailing bytes, counts exceeding
 * the data, principal and credential views, and kcm_cred_match() against MIT's rules
 * (krb5:src/lib/krb5/ccache/cc_retr.c krb5int_cc_creds_match_request). */
#include "config.h"

#include "unit_common.h"

struct golden {
    const char *name;
    uint16_t opcode;
    int32_t reply_code;
};

static const struct golden goldens[] = {
    { "get_default_cache.bin", KCM_OP_GET_DEFAULT_CACHE, KCM_RC_OK },
    { "get_principal-nofile.bin", KCM_OP_GET_PRINCIPAL, KCM_RC_FCC_NOFILE },
    { "get_principal.bin", KCM_OP_GET_PRINCIPAL, KCM_RC_OK },
    { "get_kdc_offset.bin", KCM_OP_GET_KDC_OFFSET, KCM_RC_OK },
    { "get_cred_list.bin", KCM_OP_GET_CRED_LIST, KCM_RC_OK },
    { "get_cred_list-klist-A.bin", KCM_OP_GET_CRED_LIST, KCM_RC_OK },
    { "get_cache_uuid_list.bin", KCM_OP_GET_CACHE_UUID_LIST, KCM_RC_OK },
    { "get_cache_uuid_list-empty.bin", KCM_OP_GET_CACHE_UUID_LIST, KCM_RC_OK },
    { "get_cache_by_uuid.bin", KCM_OP_GET_CACHE_BY_UUID, KCM_RC_OK },
    { "replace-kinit.bin", KCM_OP_REPLACE, KCM_RC_OK },
    { "replace-kinit-bob.bin", KCM_OP_REPLACE, KCM_RC_OK },
    { "replace-kinit-R.bin", KCM_OP_REPLACE, KCM_RC_OK },
    { "retrieve-kvno-conf.bin", KCM_OP_RETRIEVE, KCM_RC_CC_END },
    { "retrieve-kvno-miss.bin", KCM_OP_RETRIEVE, KCM_RC_CC_END },
    { "retrieve-kvno-tgt.bin", KCM_OP_RETRIEVE, KCM_RC_OK },
    { "retrieve-kvno-hit.bin", KCM_OP_RETRIEVE, KCM_RC_OK },
    { "retrieve-kinit-R.bin", KCM_OP_RETRIEVE, KCM_RC_OK },
    { "store-kvno.bin", KCM_OP_STORE, KCM_RC_OK },
    { "gen_new.bin", KCM_OP_GEN_NEW, KCM_RC_OK },
    { "set_default_cache-kinit.bin", KCM_OP_SET_DEFAULT_CACHE, KCM_RC_OK },
    { "set_default_cache-kswitch.bin", KCM_OP_SET_DEFAULT_CACHE, KCM_RC_OK },
    { "destroy-kdestroy.bin", KCM_OP_DESTROY, KCM_RC_OK },
    { "destroy-kdestroy-A.bin", KCM_OP_DESTROY, KCM_RC_OK },
    { "replace-unsupported.bin", KCM_OP_REPLACE, KCM_RC_FCC_INTERNAL },
    { "initialize.bin", KCM_OP_INITIALIZE, KCM_RC_OK },
    { "set_kdc_offset.bin", KCM_OP_SET_KDC_OFFSET, KCM_RC_OK },
    { "store-kinit-config.bin", KCM_OP_STORE, KCM_RC_OK },
    { "store-kinit-tgt.bin", KCM_OP_STORE, KCM_RC_OK },
    { "get_cred_list-unsupported.bin", KCM_OP_GET_CRED_LIST, KCM_RC_FCC_INTERNAL },
    { "get_cred_uuid_list.bin", KCM_OP_GET_CRED_UUID_LIST, KCM_RC_OK },
    { "get_cred_by_uuid.bin", KCM_OP_GET_CRED_BY_UUID, KCM_RC_OK },
    { "retrieve-unsupported.bin", KCM_OP_RETRIEVE, KCM_RC_FCC_INTERNAL },
};
#define NGOLDEN (sizeof(goldens) / sizeof(goldens[0]))

/* Parse from an exact-size heap copy. The views in *req point into the copy, which stays
 * alive until the next call. */
static uint8_t *g_copy;

static enum kcm_parse_result parse_copy(const uint8_t *p, size_t n, struct kcm_req *req)
{
    free(g_copy);
    g_copy = tc_dup(p, n);
    return kcm_req_parse(g_copy, n, req);
}

static void reply_name(const char *req_name, char *out, size_t len)
{
    size_t n = strlen(req_name) - strlen(".bin");

    snprintf(out, len, "%.*s.reply.bin", (int)n, req_name);
}

/* Re-encode a parsed request from its views; must give the original bytes. */
static void reencode(const struct kcm_req *r, struct util_wr *wr)
{
    struct util_rd rd;
    struct kcm_cred c;

    kcm_req_begin(wr, r->opcode);
    switch (r->opcode) {
    case KCM_OP_GET_DEFAULT_CACHE:
    case KCM_OP_GET_CACHE_UUID_LIST:
    case KCM_OP_GEN_NEW:
        break;
    case KCM_OP_GET_PRINCIPAL:
    case KCM_OP_GET_KDC_OFFSET:
    case KCM_OP_GET_CRED_LIST:
    case KCM_OP_GET_CRED_UUID_LIST:
    case KCM_OP_SET_DEFAULT_CACHE:
    case KCM_OP_DESTROY:
        util_wr_cstr(wr, r->name);
        break;
    case KCM_OP_GET_CACHE_BY_UUID:
        util_wr_bytes(wr, r->uuid, KCM_UUID_LEN);
        break;
    case KCM_OP_GET_CRED_BY_UUID:
        util_wr_cstr(wr, r->name);
        util_wr_bytes(wr, r->uuid, KCM_UUID_LEN);
        break;
    case KCM_OP_INITIALIZE:
        util_wr_cstr(wr, r->name);
        util_wr_bytes(wr, r->princ.raw.p, r->princ.raw.len);
        break;
    case KCM_OP_SET_KDC_OFFSET:
        util_wr_cstr(wr, r->name);
        util_wr_i32(wr, r->offset);
        break;
    case KCM_OP_STORE:
        util_wr_cstr(wr, r->name);
        util_wr_bytes(wr, r->cred.raw.p, r->cred.raw.len);
        break;
    case KCM_OP_RETRIEVE:
    case KCM_OP_REMOVE_CRED: {
        const struct kcm_cred *t = &r->mcred.c;
        util_wr_cstr(wr, r->name);
        util_wr_u32(wr, r->flags);
        util_wr_u32(wr, r->mcred.fields);
        if (r->mcred.fields & KCM_SC_CLIENT) {
            util_wr_bytes(wr, t->client.raw.p, t->client.raw.len);
        }
        if (r->mcred.fields & KCM_SC_SERVER) {
            util_wr_bytes(wr, t->server.raw.p, t->server.raw.len);
        }
        if (r->mcred.fields & KCM_SC_SESSION_KEY) {
            util_wr_u16(wr, (uint16_t)t->key.enctype);
            util_wr_data(wr, t->key.key);
        }
        util_wr_u32(wr, t->authtime);
        util_wr_u32(wr, t->starttime);
        util_wr_u32(wr, t->endtime);
        util_wr_u32(wr, t->renew_till);
        util_wr_u8(wr, t->is_skey);
        util_wr_u32(wr, t->ticket_flags);
        if (r->mcred.fields & KCM_SC_ADDRESSES) {
            util_wr_bytes(wr, t->addrs.p, t->addrs.len);
        }
        if (r->mcred.fields & KCM_SC_AUTHDATA) {
            util_wr_bytes(wr, t->authdata.p, t->authdata.len);
        }
        if (r->mcred.fields & KCM_SC_TICKET) {
            util_wr_data(wr, t->ticket);
        }
        if (r->mcred.fields & KCM_SC_SECOND_TICKET) {
            util_wr_data(wr, t->second_ticket);
        }
        break;
    }
    case KCM_OP_REPLACE:
        util_wr_cstr(wr, r->name);
        util_wr_i32(wr, r->offset);
        util_wr_bytes(wr, r->princ.raw.p, r->princ.raw.len);
        util_wr_u32(wr, r->ncreds);
        /* Rebuild the list from the individual cred views. */
        util_rd_init(&rd, r->creds.p, r->creds.len);
        for (uint32_t i = 0; i < r->ncreds; i++) {
            assert_true(kcm_cred_list_next(&rd, &c));
            util_wr_data(wr, c.raw);
        }
        assert_true(util_rd_done(&rd));
        break;
    default:
        fail_msg("no re-encoder for opcode %u", r->opcode);
    }
    assert_true(kcm_req_finish(wr));
}

static void test_golden_parse_roundtrip(void **state)
{
    for (size_t i = 0; i < NGOLDEN; i++) {
        struct tc_vec v;
        struct kcm_req req;
        uint8_t out[4096];
        struct util_wr wr;

        tc_vec_load(goldens[i].name, &v);
        if (parse_copy(v.payload, v.len, &req) != KCM_PARSE_OK) {
            fail_msg("%s: does not parse", goldens[i].name);
        }
        assert_int_equal(req.opcode, goldens[i].opcode);
        /* Every name MIT sent for uid 0 is "0" or "0:<hex>". */
        if (req.name != NULL) {
            assert_true(strcmp(req.name, "0") == 0 || strncmp(req.name, "0:", 2) == 0);
        }
        /* Measure pass then write pass, as the daemon does. */
        util_wr_init(&wr, NULL, 0);
        reencode(&req, &wr);
        assert_int_equal(wr.len, v.file_len);
        util_wr_init(&wr, out, sizeof(out));
        reencode(&req, &wr);
        assert_int_equal(wr.len, v.file_len);
        assert_memory_equal(out, v.file, v.file_len);
        tc_vec_free(&v);
    }
}

static void test_golden_fields(void **state)
{
    struct tc_vec v;
    struct kcm_req req;
    struct util_rd rd;
    struct kcm_cred c;

    /* kinit -f -r 2d alice: principal alice@CACHET.TEST, fast_avail config entry + TGT. */
    tc_vec_load("replace-kinit.bin", &v);
    assert_int_equal(kcm_req_parse(v.payload, v.len, &req), KCM_PARSE_OK);
    assert_string_equal(req.name, "0");
    assert_int_equal(req.offset, 0);
    assert_int_equal(req.princ.name_type, 1);
    assert_int_equal(req.princ.ncomps, 1);
    assert_int_equal(req.princ.realm.len, 11);
    assert_memory_equal(req.princ.realm.p, "CACHET.TEST", 11);
    assert_int_equal(req.princ.comps.len, 4 + 5);
    assert_memory_equal(req.princ.comps.p, "\0\0\0\5alice", 9);
    assert_int_equal(req.ncreds, 2);
    util_rd_init(&rd, req.creds.p, req.creds.len);
    assert_true(kcm_cred_list_next(&rd, &c));
    assert_true(kcm_cred_is_config(&c));
    assert_true(kcm_princ_eq(&c.client, &req.princ));
    assert_int_equal(c.key.enctype, 0);
    assert_int_equal(c.endtime, 0);
    assert_int_equal(c.ticket.len, 3);
    assert_memory_equal(c.ticket.p, "yes", 3);
    assert_true(kcm_cred_list_next(&rd, &c));
    assert_false(kcm_cred_is_config(&c));
    assert_true(kcm_princ_eq(&c.client, &req.princ));
    assert_int_equal(c.server.name_type, 2);
    assert_int_equal(c.server.ncomps, 2);
    assert_int_equal(c.key.enctype, 18);
    assert_int_equal(c.key.key.len, 32);
    assert_int_equal(c.is_skey, 0);
    assert_true(c.ticket_flags & 0x40000000u); /* forwardable (-f) */
    assert_true(c.ticket_flags & 0x00800000u); /* renewable (-r) */
    assert_true(c.renew_till > c.endtime);
    assert_int_equal(c.addrs.len, 4); /* count 0 */
    assert_int_equal(c.authdata.len, 4);
    assert_true(c.ticket.len > 100);
    assert_int_equal(c.second_ticket.len, 0);
    assert_true(util_rd_done(&rd));
    tc_vec_free(&v);

    /* kvno's RETRIEVE of the service ticket: GC_CACHED|MATCH_TIMES|MATCH_AUTHDATA, client+server. */
    tc_vec_load("retrieve-kvno-miss.bin", &v);
    assert_int_equal(kcm_req_parse(v.payload, v.len, &req), KCM_PARSE_OK);
    assert_int_equal(req.flags, 0x03000001u);
    assert_int_equal(req.mcred.fields, KCM_SC_CLIENT | KCM_SC_SERVER);
    assert_int_equal(req.mcred.c.server.ncomps, 2);
    assert_true(req.mcred.c.endtime != 0);
    assert_int_equal(req.mcred.c.key.enctype, 0);
    tc_vec_free(&v);

    tc_vec_load("retrieve-kvno-tgt.bin", &v);
    assert_int_equal(kcm_req_parse(v.payload, v.len, &req), KCM_PARSE_OK);
    assert_int_equal(req.flags, KCM_GC_CACHED);
    tc_vec_free(&v);

    tc_vec_load("get_cache_by_uuid.bin", &v);
    assert_int_equal(kcm_req_parse(v.payload, v.len, &req), KCM_PARSE_OK);
    assert_memory_equal(req.uuid, v.payload + 4, KCM_UUID_LEN);
    tc_vec_free(&v);

    tc_vec_load("set_default_cache-kinit.bin", &v);
    assert_int_equal(kcm_req_parse(v.payload, v.len, &req), KCM_PARSE_OK);
    assert_int_equal(strlen(req.name), 2 + 32);
    tc_vec_free(&v);

    tc_vec_load("store-kvno.bin", &v);
    assert_int_equal(kcm_req_parse(v.payload, v.len, &req), KCM_PARSE_OK);
    assert_int_equal(req.cred.server.ncomps, 2);
    assert_memory_equal(req.cred.server.comps.p, "\0\0\0\4host\0\0\0\x09localhost", 4 + 4 + 4 + 9);
    assert_int_equal(req.cred.raw.len, v.len - 4 - 2);
    tc_vec_free(&v);
}

/* Reply vectors: well-formed, right code, bodies parse as a client would parse them. */
static void test_golden_replies(void **state)
{
    for (size_t i = 0; i < NGOLDEN; i++) {
        char rel[256];
        char rname[200];
        uint8_t *rep;
        size_t len;
        int32_t code;
        struct util_rd body;

        reply_name(goldens[i].name, rname, sizeof(rname));
        snprintf(rel, sizeof(rel), "kcm/%s", rname);
        rep = tc_read_file(rel, &len);
        assert_non_null(rep);
        assert_true(kcm_reply_parse(rep, len, &code, &body));
        if (code != goldens[i].reply_code) {
            fail_msg("%s: code %08x, expected %08x", rname, (unsigned)code,
                     (unsigned)goldens[i].reply_code);
        }
        if (code != KCM_RC_OK) {
            assert_int_equal(util_rd_left(&body), 0);
            free(rep);
            continue;
        }
        switch (goldens[i].opcode) {
        case KCM_OP_GET_PRINCIPAL: {
            struct kcm_princ p;
            assert_true(kcm_princ_from_bytes(body.p + body.pos, util_rd_left(&body), &p));
            assert_int_equal(p.ncomps, 1);
            break;
        }
        case KCM_OP_RETRIEVE:
        case KCM_OP_GET_CRED_BY_UUID: {
            struct kcm_cred c;
            assert_true(kcm_cred_from_bytes(body.p + body.pos, util_rd_left(&body), &c));
            break;
        }
        case KCM_OP_GET_CRED_LIST: {
            struct kcm_cred c;
            uint32_t n = util_rd_u32(&body);
            assert_true(n >= 2 && n <= util_rd_left(&body) / 4);
            for (uint32_t k = 0; k < n; k++) {
                assert_true(kcm_cred_list_next(&body, &c));
            }
            assert_true(util_rd_done(&body));
            break;
        }
        case KCM_OP_GET_CACHE_UUID_LIST:
        case KCM_OP_GET_CRED_UUID_LIST:
            assert_int_equal(util_rd_left(&body) % KCM_UUID_LEN, 0);
            break;
        case KCM_OP_GET_DEFAULT_CACHE:
        case KCM_OP_GEN_NEW:
        case KCM_OP_GET_CACHE_BY_UUID: {
            const char *s = util_rd_cstr(&body, KCM_MAX_NAME);
            assert_non_null(s);
            assert_true(util_rd_done(&body));
            assert_true(s[0] == '0');
            break;
        }
        case KCM_OP_GET_KDC_OFFSET:
            (void)util_rd_i32(&body);
            assert_true(util_rd_done(&body));
            break;
        default:
            assert_int_equal(util_rd_left(&body), 0);
        }
        free(rep);
    }
}

/* Every proper prefix of every vector is MALFORMED, read from an exact-size heap copy. */
static void test_truncation(void **state)
{
    for (size_t i = 0; i < NGOLDEN; i++) {
        struct tc_vec v;
        struct kcm_req req;

        tc_vec_load(goldens[i].name, &v);
        for (size_t cut = 0; cut < v.len; cut++) {
            enum kcm_parse_result r = parse_copy(v.payload, cut, &req);
            if (r != KCM_PARSE_MALFORMED) {
                fail_msg("%s cut at %zu of %zu: %s", goldens[i].name, cut, v.len,
                         kcm_parse_result_str(r));
            }
        }
        tc_vec_free(&v);
    }
}

/* Truncated replies: the frame parser and the body parsers reject every prefix. */
static void test_reply_truncation(void **state)
{
    static const char *const lists[] = { "get_cred_list.reply.bin",
                                         "get_cred_list-klist-A.reply.bin",
                                         "retrieve-kvno-hit.reply.bin",
                                         "get_principal.reply.bin" };

    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        char rel[256];
        size_t len;
        uint8_t *rep;

        snprintf(rel, sizeof(rel), "kcm/%s", lists[i]);
        rep = tc_read_file(rel, &len);
        assert_non_null(rep);
        for (size_t cut = 0; cut < len; cut++) {
            uint8_t *d = tc_dup(rep, cut);
            int32_t code;
            struct util_rd body;
            assert_false(kcm_reply_parse(d, cut, &code, &body));
            free(d);
        }
        /* Body truncation inside a well-formed frame (the frame length adjusted). */
        for (size_t cut = KCM_REPLY_HDR; cut < len; cut++) {
            uint8_t *d = tc_dup(rep, cut);
            int32_t code;
            struct util_rd body;
            bool ok = true;
            util_put_be32(d, (uint32_t)(cut - 8));
            assert_true(kcm_reply_parse(d, cut, &code, &body));
            if (strstr(lists[i], "cred_list") != NULL) {
                uint32_t n = util_rd_u32(&body);
                struct kcm_cred c;
                for (uint32_t k = 0; k < n && ok; k++) {
                    ok = kcm_cred_list_next(&body, &c);
                }
                ok = ok && util_rd_done(&body);
            } else if (strstr(lists[i], "principal") != NULL) {
                struct kcm_princ p;
                ok = kcm_princ_from_bytes(body.p + body.pos, util_rd_left(&body), &p);
            } else {
                struct kcm_cred c;
                ok = kcm_cred_from_bytes(body.p + body.pos, util_rd_left(&body), &c);
            }
            if (ok) {
                fail_msg("%s: body cut at %zu parsed", lists[i], cut);
            }
            free(d);
        }
        free(rep);
    }
}

static void test_trailing_bytes(void **state)
{
    for (size_t i = 0; i < NGOLDEN; i++) {
        struct tc_vec v;
        struct kcm_req req;
        uint8_t *d;

        tc_vec_load(goldens[i].name, &v);
        for (int b = 0; b < 2; b++) {
            d = malloc(v.len + 1);
            memcpy(d, v.payload, v.len);
            d[v.len] = b == 0 ? 0x00 : 0x41;
            if (kcm_req_parse(d, v.len + 1, &req) != KCM_PARSE_MALFORMED) {
                fail_msg("%s + trailing byte %d accepted", goldens[i].name, b);
            }
            free(d);
        }
        tc_vec_free(&v);
    }
}

static void test_bad_version(void **state)
{
    static const uint8_t vers[][2] = { { 1, 0 }, { 2, 1 }, { 3, 0 }, { 0, 0 }, { 0xff, 0xff } };
    struct tc_vec v;
    struct kcm_req req;

    tc_vec_load("get_principal.bin", &v);
    for (size_t i = 0; i < sizeof(vers) / sizeof(vers[0]); i++) {
        uint8_t *d = tc_dup(v.payload, v.len);
        d[0] = vers[i][0];
        d[1] = vers[i][1];
        assert_int_equal(kcm_req_parse(d, v.len, &req), KCM_PARSE_BAD_VERSION);
        /* Also with nothing after the header. */
        assert_int_equal(kcm_req_parse(d, 4, &req), KCM_PARSE_BAD_VERSION);
        free(d);
    }
    tc_vec_free(&v);
    assert_string_equal(kcm_parse_result_str(KCM_PARSE_BAD_VERSION),
                        "unsupported protocol version");
}

static void test_unknown_opcode(void **state)
{
    static const uint16_t ops[] = { 12345, 13, 14, 15, 16, 24, 28, 29, 13000, 13003, 65535 };
    struct kcm_req req;

    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        uint8_t hdr[8] = { 2, 0, (uint8_t)(ops[i] >> 8), (uint8_t)ops[i], 'x', 'y', 0, 1 };
        /* Parameters of an unknown opcode are not inspected. */
        assert_int_equal(parse_copy(hdr, 4, &req), KCM_PARSE_UNKNOWN_OP);
        assert_int_equal(req.opcode, ops[i]);
        assert_int_equal(parse_copy(hdr, sizeof(hdr), &req), KCM_PARSE_UNKNOWN_OP);
    }
    assert_string_equal(kcm_op_name(12345), "UNKNOWN");
    assert_string_equal(kcm_op_name(KCM_OP_REPLACE), "REPLACE");
    assert_string_equal(kcm_op_name(KCM_OP_GET_CRED_LIST), "GET_CRED_LIST");
    assert_string_equal(kcm_op_name(28), "GET_NTLM_USER_LIST");
    assert_string_equal(kcm_op_name(KCM_OP_NOOP), "NOOP");
}

static void test_no_param_ops(void **state)
{
    static const uint16_t ops[] = { KCM_OP_NOOP, KCM_OP_GEN_NEW, KCM_OP_GET_CACHE_UUID_LIST,
                                    KCM_OP_GET_DEFAULT_CACHE, KCM_OP_RESOLVE };
    struct kcm_req req;

    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        uint8_t hdr[4] = { 2, 0, 0, (uint8_t)ops[i] };
        assert_int_equal(parse_copy(hdr, 4, &req), KCM_PARSE_OK);
        assert_null(req.name);
    }
    /* RESOLVE may carry a name (Heimdal). */
    {
        uint8_t f[] = { 2, 0, 0, KCM_OP_RESOLVE, '0', 0 };
        assert_int_equal(parse_copy(f, sizeof(f), &req), KCM_PARSE_OK);
        assert_string_equal(req.name, "0");
    }
}

static void test_names(void **state)
{
    struct tc_frame *f = malloc(sizeof(*f));
    struct kcm_req req;
    const uint8_t *p;
    size_t len;
    char big[KCM_MAX_NAME + 2];

    /* Longest allowed name. */
    memset(big, 'a', sizeof(big));
    big[KCM_MAX_NAME] = '\0';
    util_wr_cstr(tc_frame_begin(f, KCM_OP_GET_PRINCIPAL), big);
    p = tc_frame_end(f, &len);
    assert_int_equal(parse_copy(p, len, &req), KCM_PARSE_OK);
    assert_int_equal(strlen(req.name), KCM_MAX_NAME);
    /* One more byte is too long. */
    big[KCM_MAX_NAME] = 'a';
    big[KCM_MAX_NAME + 1] = '\0';
    util_wr_cstr(tc_frame_begin(f, KCM_OP_GET_PRINCIPAL), big);
    p = tc_frame_end(f, &len);
    assert_int_equal(parse_copy(p, len, &req), KCM_PARSE_MALFORMED);
    /* Missing NUL. */
    util_wr_bytes(tc_frame_begin(f, KCM_OP_GET_PRINCIPAL), "0", 1);
    p = tc_frame_end(f, &len);
    assert_int_equal(parse_copy(p, len, &req), KCM_PARSE_MALFORMED);
    /* Empty name is well-formed (policy decides). */
    util_wr_cstr(tc_frame_begin(f, KCM_OP_GET_PRINCIPAL), "");
    p = tc_frame_end(f, &len);
    assert_int_equal(parse_copy(p, len, &req), KCM_PARSE_OK);
    assert_string_equal(req.name, "");
    /* MOVE_CACHE: two names. */
    {
        struct util_wr *wr = tc_frame_begin(f, KCM_OP_MOVE_CACHE);
        util_wr_cstr(wr, "0:a");
        util_wr_cstr(wr, "0:b");
        p = tc_frame_end(f, &len);
        assert_int_equal(parse_copy(p, len, &req), KCM_PARSE_OK);
        assert_string_equal(req.name, "0:a");
        assert_string_equal(req.name2, "0:b");
        assert_int_equal(parse_copy(p, len - 1, &req), KCM_PARSE_MALFORMED);
    }
    free(f);
}

/* Counts and lengths larger than the data: rejected without reading out of bounds. */
static void test_counts_exceed(void **state)
{
    struct tc_frame *f = malloc(sizeof(*f));
    struct kcm_req req;
    const uint8_t *p;
    size_t len;
    struct util_wr *wr;
    struct tc_cred c = tc_cred_std("alice@R", "krbtgt/R@R", 5000);

    /* REPLACE claiming 0xffffffff creds. */
    wr = tc_frame_begin(f, KCM_OP_REPLACE);
    util_wr_cstr(wr, "0");
    util_wr_i32(wr, 0);
    tc_wr_princ(wr, 1, "alice@R");
    util_wr_u32(wr, 0xffffffffu);
    p = tc_frame_end(f, &len);
    assert_int_equal(parse_copy(p, len, &req), KCM_PARSE_MALFORMED);

    /* REPLACE claiming 2 creds, carrying 1. */
    wr = tc_frame_begin(f, KCM_OP_REPLACE);
    util_wr_cstr(wr, "0");
    util_wr_i32(wr, 0);
    tc_wr_princ(wr, 1, "alice@R");
    util_wr_u32(wr, 2);
    {
        struct tc_blob b;
        tc_cred_bytes(&b, &c);
        util_wr_u32(wr, (uint32_t)b.len);
        util_wr_bytes(wr, b.buf, b.len);
        p = tc_frame_end(f, &len);
        assert_int_equal(parse_copy(p, len, &req), KCM_PARSE_MALFORMED);

        /* REPLACE whose per-cred length is one too short / too long. */
        for (int d = -1; d <= 1; d += 2) {
            wr = tc_frame_begin(f, KCM_OP_REPLACE);
            util_wr_cstr(wr, "0");
            util_wr_i32(wr, -5);
            tc_wr_princ(wr, 1, "alice@R");
            util_wr_u32(wr, 1);
            util_wr_u32(wr, (uint32_t)((int)b.len + d));
            util_wr_bytes(wr, b.buf, b.len);
            if (d > 0) {
                util_wr_u8(wr, 0);
            }
            p = tc_frame_end(f, &len);
            assert_int_equal(parse_copy(p, len, &req), KCM_PARSE_MALFORMED);
        }
        /* And exactly right: OK, offset negative is kept. */
        wr = tc_frame_begin(f, KCM_OP_REPLACE);
        util_wr_cstr(wr, "0");
        util_wr_i32(wr, -5);
        tc_wr_princ(wr, 1, "alice@R");
        util_wr_u32(wr, 1);
        util_wr_u32(wr, (uint32_t)b.len);
        util_wr_bytes(wr, b.buf, b.len);
        p = tc_frame_end(f, &len);
        assert_int_equal(parse_copy(p, len, &req), KCM_PARSE_OK);
        assert_int_equal(req.offset, -5);
        assert_int_equal(req.ncreds, 1);
        assert_int_equal(req.creds.len, 4 + b.len);
    }

    /* Principal with more components than allowed, and with components missing. */
    wr = tc_frame_begin(f, KCM_OP_INITIALIZE);
    util_wr_cstr(wr, "0");
    util_wr_i32(wr, 1);
    util_wr_u32(wr, KCM_MAX_COMPONENTS + 1);
    util_wr_u32(wr, 1);
    util_wr_bytes(wr, "R", 1);
    for (int i = 0; i < KCM_MAX_COMPONENTS + 1; i++) {
        util_wr_u32(wr, 1);
        util_wr_bytes(wr, "x", 1);
    }
    p = tc_frame_end(f, &len);
    assert_int_equal(parse_copy(p, len, &req), KCM_PARSE_MALFORMED);

    wr = tc_frame_begin(f, KCM_OP_INITIALIZE);
    util_wr_cstr(wr, "0");
    util_wr_i32(wr, 1);
    util_wr_u32(wr, KCM_MAX_COMPONENTS);
    util_wr_u32(wr, 1);
    util_wr_bytes(wr, "R", 1);
    for (int i = 0; i < KCM_MAX_COMPONENTS; i++) {
        util_wr_u32(wr, 0);
    }
    p = tc_frame_end(f, &len);
    assert_int_equal(parse_copy(p, len, &req), KCM_PARSE_OK);
    assert_int_equal(req.princ.ncomps, KCM_MAX_COMPONENTS);
    assert_int_equal(parse_copy(p, len - 4, &req), KCM_PARSE_MALFORMED);

    /* Realm length 0xffffffff. */
    wr = tc_frame_begin(f, KCM_OP_INITIALIZE);
    util_wr_cstr(wr, "0");
    util_wr_i32(wr, 1);
    util_wr_u32(wr, 0);
    util_wr_u32(wr, 0xffffffffu);
    util_wr_bytes(wr, "REALM", 5);
    p = tc_frame_end(f, &len);
    assert_int_equal(parse_copy(p, len, &req), KCM_PARSE_MALFORMED);

    /* STORE with an address count far beyond the data, and an authdata count of 2 with 1. */
    for (int which = 0; which < 2; which++) {
        struct tc_cred c2 = c;
        struct tc_blob b;
        size_t off;
        c2.naddrs = which == 0 ? 1 : 0;
        c2.addrs[0] = (struct tc_ad){ 2, "\x7f\x01\x01\x01" };
        c2.nauth = which == 1 ? 1 : 0;
        c2.auth[0] = (struct tc_ad){ 1, "AD" };
        tc_cred_bytes(&b, &c2);
        /* Locate the count: after 2 principals, keyblock, 4 times, is_skey, flags. */
        {
            struct util_rd rd;
            struct kcm_cred v;
            util_rd_init(&rd, b.buf, b.len);
            assert_true(kcm_parse_cred(&rd, &v));
            off = (size_t)((which == 0 ? v.addrs.p : v.authdata.p) - b.buf);
        }
        for (int k = 0; k < 2; k++) {
            util_put_be32(b.buf + off, k == 0 ? 0x10000000u : 2u);
            wr = tc_frame_begin(f, KCM_OP_STORE);
            util_wr_cstr(wr, "0");
            util_wr_bytes(wr, b.buf, b.len);
            p = tc_frame_end(f, &len);
            assert_int_equal(parse_copy(p, len, &req), KCM_PARSE_MALFORMED);
        }
    }

    /* Ticket length larger than the rest. */
    {
        struct tc_blob b;
        struct kcm_cred v;
        size_t off;
        tc_cred_view(&b, &c, &v);
        off = (size_t)(v.ticket.p - b.buf) - 4;
        util_put_be32(b.buf + off, v.ticket.len + 5);
        wr = tc_frame_begin(f, KCM_OP_STORE);
        util_wr_cstr(wr, "0");
        util_wr_bytes(wr, b.buf, b.len);
        p = tc_frame_end(f, &len);
        assert_int_equal(parse_copy(p, len, &req), KCM_PARSE_MALFORMED);
    }
    free(f);
}

static void test_mcred_layout(void **state)
{
    struct tc_cred c = tc_cred_std("alice@R", "host/x@R", 5000);
    struct tc_blob b;
    struct kcm_mcred m;
    uint32_t all = KCM_SC_CLIENT | KCM_SC_SERVER | KCM_SC_SESSION_KEY | KCM_SC_TICKET |
                   KCM_SC_SECOND_TICKET | KCM_SC_AUTHDATA | KCM_SC_ADDRESSES;

    c.second_ticket = "2ND";
    c.nauth = 1;
    c.auth[0] = (struct tc_ad){ 7, "ad" };
    c.naddrs = 1;
    c.addrs[0] = (struct tc_ad){ 2, "\x7f\x01\x01\x01" };
    tc_mcred_view(&b, &c, all, &m);
    assert_int_equal(m.fields, all);
    assert_int_equal(m.c.key.enctype, 18);
    assert_int_equal(m.c.key.key.len, 32);
    assert_int_equal(m.c.ticket.len, 12);
    assert_int_equal(m.c.second_ticket.len, 3);
    assert_int_equal(m.c.authdata.len, 4 + 2 + 4 + 2);
    assert_int_equal(m.c.addrs.len, 4 + 2 + 4 + 4);

    /* Only the bits' parts are present; absent ones are zero views. */
    tc_mcred_view(&b, &c, 0, &m);
    assert_int_equal(b.len, 4 + 16 + 1 + 4);
    assert_int_equal(m.c.client.raw.len, 0);
    assert_int_equal(m.c.server.raw.len, 0);
    assert_int_equal(m.c.key.enctype, 0);
    assert_int_equal(m.c.endtime, 5000);
    assert_int_equal(m.c.ticket_flags, 0x40c10000);

    /* Every prefix of a full mcred fails. */
    tc_mcred_view(&b, &c, all, &m);
    for (size_t cut = 0; cut < b.len; cut++) {
        uint8_t *d = tc_dup(b.buf, cut);
        struct util_rd rd;
        util_rd_init(&rd, d, cut);
        assert_false(kcm_parse_mcred(&rd, &m) && util_rd_done(&rd));
        free(d);
    }
}

static void test_princ_views(void **state)
{
    struct tc_blob b1, b2, b3, b4;
    struct kcm_princ a, a_nt, a_other_realm, two;

    tc_princ_view(&b1, 1, "alice@R", &a);
    tc_princ_view(&b2, 3, "alice@R", &a_nt);
    tc_princ_view(&b3, 1, "alice@OTHER", &a_other_realm);
    tc_princ_view(&b4, 1, "alice/admin@R", &two);
    assert_int_equal(a.ncomps, 1);
    assert_int_equal(two.ncomps, 2);
    assert_int_equal(a.raw.len, b1.len);
    assert_int_equal(a.realm.len, 1);
    assert_int_equal(a_nt.name_type, 3);
    /* name_type is ignored; realm is not (except by _norealm). */
    assert_true(kcm_princ_eq(&a, &a_nt));
    assert_false(kcm_princ_eq(&a, &a_other_realm));
    assert_true(kcm_princ_eq_norealm(&a, &a_other_realm));
    assert_false(kcm_princ_eq(&a, &two));
    assert_false(kcm_princ_eq_norealm(&a, &two));
    /* "a/b" vs "ab": same bytes in a different split must differ. */
    {
        struct tc_blob x, y;
        struct kcm_princ px, py;
        tc_princ_view(&x, 1, "a/bc@R", &px);
        tc_princ_view(&y, 1, "ab/c@R", &py);
        assert_false(kcm_princ_eq(&px, &py));
    }
    /* Trailing bytes after a principal. */
    b1.buf[b1.len] = 0;
    assert_false(kcm_princ_from_bytes(b1.buf, b1.len + 1, &a));
    /* Zero components is allowed (MIT may send an empty principal). */
    {
        struct tc_blob z;
        struct util_wr wr;
        struct kcm_princ pz;
        util_wr_init(&wr, z.buf, sizeof(z.buf));
        util_wr_i32(&wr, 0);
        util_wr_u32(&wr, 0);
        util_wr_u32(&wr, 0);
        assert_true(kcm_princ_from_bytes(z.buf, wr.len, &pz));
        assert_int_equal(pz.comps.len, 0);
    }
}

static void test_cred_views(void **state)
{
    struct tc_cred c = tc_cred_std("alice@R", "", 0);
    struct tc_blob b;
    struct kcm_cred v;
    struct tc_cred neg = tc_cred_std("alice@R", "host/x@R", 5);

    c.server = "krb5_ccache_conf_data/refresh_time@X-CACHECONF:";
    tc_cred_view(&b, &c, &v);
    assert_true(kcm_cred_is_config(&v));
    assert_int_equal(v.raw.len, b.len);
    assert_ptr_equal(v.raw.p, b.buf);

    tc_cred_view(&b, &neg, &v);
    assert_false(kcm_cred_is_config(&v));
    /* X-CACHECONF: as a client realm only does not make a config entry. */
    neg.client = "x@X-CACHECONF:";
    tc_cred_view(&b, &neg, &v);
    assert_false(kcm_cred_is_config(&v));

    /* Negative enctypes are sign-extended from 16 bits. */
    neg.enctype = -135;
    tc_cred_view(&b, &neg, &v);
    assert_int_equal(v.key.enctype, -135);
    neg.enctype = (int16_t)0xffff;
    tc_cred_view(&b, &neg, &v);
    assert_int_equal(v.key.enctype, -1);

    /* kcm_cred_from_bytes requires full consumption. */
    assert_false(kcm_cred_from_bytes(b.buf, b.len + 1, &v));
    assert_false(kcm_cred_from_bytes(b.buf, b.len - 1, &v));
}

/* Views that are the same bytes of the same buffer. */
static void assert_view_same(struct util_data got, struct util_data want)
{
    assert_int_equal(got.len, want.len);
    assert_ptr_equal(got.p, want.p);
}

static void assert_princ_same(const struct kcm_princ *got, const struct kcm_princ *want)
{
    assert_int_equal(got->name_type, want->name_type);
    assert_int_equal(got->ncomps, want->ncomps);
    assert_view_same(got->realm, want->realm);
    assert_view_same(got->comps, want->comps);
    assert_view_same(got->raw, want->raw);
}

/* kcm_cred_rebase equals parsing the copy: every view, at the same offset, in the copy only. */
static void test_cred_rebase(void **state)
{
    static struct tc_blob b;
    static uint8_t copy[sizeof(b.buf)];
    struct tc_cred full = tc_cred_std("alice/admin@R", "host/x.example@S", 5000);
    struct tc_cred bare = tc_cred_std("alice@R", "krbtgt/R@R", 5000);
    const struct tc_cred *cases[] = { &full, &bare };
    struct kcm_cred parsed, moved, reparsed;

    (void)state;
    full.naddrs = 2;
    full.addrs[0] = (struct tc_ad){ 2, "ADDR" };
    full.addrs[1] = (struct tc_ad){ 24, "ADDR6-BYTES" };
    full.nauth = 1;
    full.auth[0] = (struct tc_ad){ 1, "AUTHDATA" };
    full.second_ticket = "SECOND";
    full.is_skey = 1;
    bare.key = "";
    bare.ticket = "";
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        /* The cred sits after a request header, as in a STORE frame. */
        size_t off = 37;
        tc_cred_bytes(&b, cases[i]);
        memmove(b.buf + off, b.buf, b.len);
        memset(b.buf, 'h', off);
        assert_true(kcm_cred_from_bytes(b.buf + off, b.len, &parsed));
        memcpy(copy, b.buf + off, b.len);
        moved = parsed;
        kcm_cred_rebase(&moved, copy);
        assert_true(kcm_cred_from_bytes(copy, b.len, &reparsed));
        assert_princ_same(&moved.client, &reparsed.client);
        assert_princ_same(&moved.server, &reparsed.server);
        assert_int_equal(moved.key.enctype, reparsed.key.enctype);
        assert_view_same(moved.key.key, reparsed.key.key);
        assert_view_same(moved.addrs, reparsed.addrs);
        assert_view_same(moved.authdata, reparsed.authdata);
        assert_view_same(moved.ticket, reparsed.ticket);
        assert_view_same(moved.second_ticket, reparsed.second_ticket);
        assert_view_same(moved.raw, reparsed.raw);
        assert_ptr_equal(moved.raw.p, copy);
        assert_int_equal(moved.authtime, reparsed.authtime);
        assert_int_equal(moved.endtime, reparsed.endtime);
        assert_int_equal(moved.renew_till, reparsed.renew_till);
        assert_int_equal(moved.is_skey, reparsed.is_skey);
        assert_int_equal(moved.ticket_flags, reparsed.ticket_flags);
    }
}

/* ---- kcm_cred_match: MIT krb5int_cc_creds_match_request ---- */

struct match_env {
    struct tc_blob cb, mb;
    struct kcm_cred c;
    struct kcm_mcred m;
};

static bool match(struct match_env *e, const struct tc_cred *cred, const struct tc_cred *tmpl,
                  uint32_t fields, uint32_t flags)
{
    tc_cred_view(&e->cb, cred, &e->c);
    tc_mcred_view(&e->mb, tmpl, fields, &e->m);
    return kcm_cred_match(flags, &e->m, &e->c);
}

#define CS (KCM_SC_CLIENT | KCM_SC_SERVER)

static void test_match_principals(void **state)
{
    struct match_env e;
    struct tc_cred c = tc_cred_std("alice@R", "host/x@R", 5000);
    struct tc_cred t = c;

    assert_true(match(&e, &c, &t, CS, KCM_GC_CACHED));
    /* No client/server in the template: anything matches. */
    assert_true(match(&e, &c, &t, 0, 0));
    t.client = "bob@R";
    assert_false(match(&e, &c, &t, CS, 0));
    assert_true(match(&e, &c, &t, KCM_SC_SERVER, 0));
    t = c;
    t.server = "host/y@R";
    assert_false(match(&e, &c, &t, CS, 0));
    assert_true(match(&e, &c, &t, KCM_SC_CLIENT, 0));
    /* SRV_NAMEONLY: realm of the server ignored, client realm still compared. */
    t = c;
    t.server = "host/x@OTHER";
    assert_false(match(&e, &c, &t, CS, 0));
    assert_true(match(&e, &c, &t, CS, KCM_TC_MATCH_SRV_NAMEONLY));
    t.server = "host/z@OTHER";
    assert_false(match(&e, &c, &t, CS, KCM_TC_MATCH_SRV_NAMEONLY));
    t = c;
    t.client = "alice@OTHER";
    assert_false(match(&e, &c, &t, CS, KCM_TC_MATCH_SRV_NAMEONLY));
    /* Client realm matters even with nameonly. */
    t = c;
    t.server = "host/x@R";
    t.client = "alice@R";
    assert_true(match(&e, &c, &t, CS, KCM_TC_MATCH_SRV_NAMEONLY));
}

static void test_match_is_skey(void **state)
{
    struct match_env e;
    struct tc_cred c = tc_cred_std("alice@R", "host/x@R", 5000);
    struct tc_cred t = c;

    /* A u2u ticket never matches unless MATCH_IS_SKEY asks for it... */
    c.is_skey = 1;
    t.is_skey = 1;
    assert_false(match(&e, &c, &t, CS, 0));
    assert_false(match(&e, &c, &t, CS, KCM_GC_CACHED | KCM_TC_MATCH_TIMES));
    assert_true(match(&e, &c, &t, CS, KCM_TC_MATCH_IS_SKEY));
    t.is_skey = 0;
    assert_false(match(&e, &c, &t, CS, KCM_TC_MATCH_IS_SKEY));
    /* ...and a normal ticket matches is_skey=0 always, is_skey=1 never when asked. */
    c.is_skey = 0;
    t.is_skey = 1;
    assert_true(match(&e, &c, &t, CS, 0));
    assert_false(match(&e, &c, &t, CS, KCM_TC_MATCH_IS_SKEY));
    t.is_skey = 0;
    assert_true(match(&e, &c, &t, CS, KCM_TC_MATCH_IS_SKEY));
}

static void test_match_flags(void **state)
{
    struct match_env e;
    struct tc_cred c = tc_cred_std("alice@R", "host/x@R", 5000);
    struct tc_cred t = c;

    c.flags = 0x50a00000;
    t.flags = 0x40000000; /* subset */
    assert_true(match(&e, &c, &t, CS, KCM_TC_MATCH_FLAGS));
    assert_false(match(&e, &c, &t, CS, KCM_TC_MATCH_FLAGS_EXACT));
    t.flags = 0x50a00000;
    assert_true(match(&e, &c, &t, CS, KCM_TC_MATCH_FLAGS));
    assert_true(match(&e, &c, &t, CS, KCM_TC_MATCH_FLAGS_EXACT));
    t.flags = 0x50a00001; /* superset */
    assert_false(match(&e, &c, &t, CS, KCM_TC_MATCH_FLAGS));
    assert_false(match(&e, &c, &t, CS, KCM_TC_MATCH_FLAGS_EXACT));
    t.flags = 0;
    assert_true(match(&e, &c, &t, CS, KCM_TC_MATCH_FLAGS));
    assert_false(match(&e, &c, &t, CS, KCM_TC_MATCH_FLAGS_EXACT));
    /* Without the flag bits, flags are not compared. */
    t.flags = 0xffffffff;
    assert_true(match(&e, &c, &t, CS, 0));
}

static void test_match_times(void **state)
{
    struct match_env e;
    struct tc_cred c = tc_cred_std("alice@R", "host/x@R", 5000); /* renew_till 6000 */
    struct tc_cred t = c;

    /* TIMES: template endtime/renew_till (if nonzero) must not be after the cred's. */
    t.authtime = t.starttime = 1;
    t.endtime = 5000;
    t.renew_till = 6000;
    assert_true(match(&e, &c, &t, CS, KCM_TC_MATCH_TIMES));
    t.endtime = 4999;
    assert_true(match(&e, &c, &t, CS, KCM_TC_MATCH_TIMES));
    t.endtime = 5001;
    assert_false(match(&e, &c, &t, CS, KCM_TC_MATCH_TIMES));
    t.endtime = 0;
    assert_true(match(&e, &c, &t, CS, KCM_TC_MATCH_TIMES));
    t.renew_till = 6001;
    assert_false(match(&e, &c, &t, CS, KCM_TC_MATCH_TIMES));
    t.renew_till = 0;
    assert_true(match(&e, &c, &t, CS, KCM_TC_MATCH_TIMES));
    /* Timestamps are unsigned (y2038): 0x80000000 is after 0x7fffffff. */
    c.endtime = 0x7fffffff;
    t.endtime = 0x80000000u;
    assert_false(match(&e, &c, &t, CS, KCM_TC_MATCH_TIMES));
    c.endtime = 0x80000001u;
    c.renew_till = 0x80000001u;
    assert_true(match(&e, &c, &t, CS, KCM_TC_MATCH_TIMES));
    /* Without the bit, times are ignored. */
    t.endtime = 0xffffffffu;
    assert_true(match(&e, &c, &t, CS, 0));

    /* TIMES_EXACT: all four equal. */
    c = tc_cred_std("alice@R", "host/x@R", 5000);
    t = c;
    assert_true(match(&e, &c, &t, CS, KCM_TC_MATCH_TIMES_EXACT));
    t.authtime++;
    assert_false(match(&e, &c, &t, CS, KCM_TC_MATCH_TIMES_EXACT));
    t = c;
    t.starttime++;
    assert_false(match(&e, &c, &t, CS, KCM_TC_MATCH_TIMES_EXACT));
    t = c;
    t.endtime--;
    assert_false(match(&e, &c, &t, CS, KCM_TC_MATCH_TIMES_EXACT));
    assert_true(match(&e, &c, &t, CS, KCM_TC_MATCH_TIMES));
    t = c;
    t.renew_till--;
    assert_false(match(&e, &c, &t, CS, KCM_TC_MATCH_TIMES_EXACT));
}

static void test_match_authdata(void **state)
{
    struct match_env e;
    struct tc_cred c = tc_cred_std("alice@R", "host/x@R", 5000);
    struct tc_cred t = c;

    /* Absent in the template == empty list; the cred's empty list is "00 00 00 00". */
    assert_true(match(&e, &c, &t, CS, KCM_TC_MATCH_AUTHDATA));
    assert_true(match(&e, &c, &t, CS | KCM_SC_AUTHDATA, KCM_TC_MATCH_AUTHDATA));
    /* Cred has authdata, template none. */
    c.nauth = 1;
    c.auth[0] = (struct tc_ad){ 1, "PAC" };
    assert_false(match(&e, &c, &t, CS, KCM_TC_MATCH_AUTHDATA));
    assert_false(match(&e, &c, &t, CS | KCM_SC_AUTHDATA, KCM_TC_MATCH_AUTHDATA));
    assert_true(match(&e, &c, &t, CS, 0));
    /* Equal lists. */
    t.nauth = 1;
    t.auth[0] = c.auth[0];
    assert_true(match(&e, &c, &t, CS | KCM_SC_AUTHDATA, KCM_TC_MATCH_AUTHDATA));
    /* Different type, data, or length. */
    t.auth[0].type = 2;
    assert_false(match(&e, &c, &t, CS | KCM_SC_AUTHDATA, KCM_TC_MATCH_AUTHDATA));
    t.auth[0] = (struct tc_ad){ 1, "PAD" };
    assert_false(match(&e, &c, &t, CS | KCM_SC_AUTHDATA, KCM_TC_MATCH_AUTHDATA));
    t.nauth = 2;
    t.auth[0] = c.auth[0];
    t.auth[1] = (struct tc_ad){ 1, "" };
    assert_false(match(&e, &c, &t, CS | KCM_SC_AUTHDATA, KCM_TC_MATCH_AUTHDATA));
    /* Template with authdata, cred without. */
    c.nauth = 0;
    t.nauth = 1;
    assert_false(match(&e, &c, &t, CS | KCM_SC_AUTHDATA, KCM_TC_MATCH_AUTHDATA));
}

static void test_match_2nd_tkt_keytype(void **state)
{
    struct match_env e;
    struct tc_cred c = tc_cred_std("alice@R", "host/x@R", 5000);
    struct tc_cred t = c;

    /* 2ND_TKT: absent == empty. */
    assert_true(match(&e, &c, &t, CS, KCM_TC_MATCH_2ND_TKT));
    c.second_ticket = "TGT2";
    c.is_skey = 1;
    t.is_skey = 1;
    assert_false(match(&e, &c, &t, CS, KCM_TC_MATCH_2ND_TKT | KCM_TC_MATCH_IS_SKEY));
    t.second_ticket = "TGT2";
    assert_true(match(&e, &c, &t, CS | KCM_SC_SECOND_TICKET,
                      KCM_TC_MATCH_2ND_TKT | KCM_TC_MATCH_IS_SKEY));
    t.second_ticket = "TGT3";
    assert_false(match(&e, &c, &t, CS | KCM_SC_SECOND_TICKET,
                       KCM_TC_MATCH_2ND_TKT | KCM_TC_MATCH_IS_SKEY));
    assert_true(match(&e, &c, &t, CS | KCM_SC_SECOND_TICKET, KCM_TC_MATCH_IS_SKEY));

    /* KEYTYPE: template enctype (0 if absent) must equal. */
    c = tc_cred_std("alice@R", "host/x@R", 5000);
    t = c;
    assert_true(match(&e, &c, &t, CS | KCM_SC_SESSION_KEY, KCM_TC_MATCH_KEYTYPE));
    assert_false(match(&e, &c, &t, CS, KCM_TC_MATCH_KEYTYPE));
    t.enctype = 17;
    assert_false(match(&e, &c, &t, CS | KCM_SC_SESSION_KEY, KCM_TC_MATCH_KEYTYPE));
    assert_true(match(&e, &c, &t, CS | KCM_SC_SESSION_KEY, 0));
    /* The key bytes themselves are never compared. */
    t.enctype = 18;
    t.key = "different";
    assert_true(match(&e, &c, &t, CS | KCM_SC_SESSION_KEY, KCM_TC_MATCH_KEYTYPE));
}

static void test_match_golden(void **state)
{
    struct tc_vec v, s;
    struct kcm_req rq, st;

    /* kvno's 2nd RETRIEVE (flags 0x03000001) matches the ticket kvno then stored. */
    tc_vec_load("retrieve-kvno-hit.bin", &v);
    tc_vec_load("store-kvno.bin", &s);
    assert_int_equal(kcm_req_parse(v.payload, v.len, &rq), KCM_PARSE_OK);
    assert_int_equal(kcm_req_parse(s.payload, s.len, &st), KCM_PARSE_OK);
    assert_true(kcm_cred_match(rq.flags, &rq.mcred, &st.cred));
    /* ... but not as a u2u ticket, and not the TGT. */
    {
        uint8_t *d = tc_dup(s.payload, s.len);
        struct kcm_req st2;
        size_t skey_off = (size_t)(st.cred.addrs.p - s.payload) - 5;
        d[skey_off] = 1;
        assert_int_equal(kcm_req_parse(d, s.len, &st2), KCM_PARSE_OK);
        assert_int_equal(st2.cred.is_skey, 1);
        assert_false(kcm_cred_match(rq.flags, &rq.mcred, &st2.cred));
        free(d);
    }
    tc_vec_free(&s);
    tc_vec_load("store-kinit-tgt.bin", &s);
    assert_int_equal(kcm_req_parse(s.payload, s.len, &st), KCM_PARSE_OK);
    assert_false(kcm_cred_match(rq.flags, &rq.mcred, &st.cred));
    tc_vec_free(&v);
    /* The TGT RETRIEVE matches it. */
    tc_vec_load("retrieve-kvno-tgt.bin", &v);
    assert_int_equal(kcm_req_parse(v.payload, v.len, &rq), KCM_PARSE_OK);
    assert_true(kcm_cred_match(rq.flags, &rq.mcred, &st.cred));
    tc_vec_free(&v);
    tc_vec_free(&s);
}

/* ---- reply framing ---- */

static void test_reply_framing(void **state)
{
    uint8_t buf[64];
    struct util_wr wr;
    int32_t code;
    struct util_rd body;

    util_wr_init(&wr, buf, sizeof(buf));
    kcm_reply_begin(&wr);
    util_wr_cstr(&wr, "0");
    assert_true(kcm_reply_finish(&wr, KCM_RC_OK));
    assert_int_equal(wr.len, 14);
    assert_memory_equal(buf, "\0\0\0\6\0\0\0\0\0\0\0\0" "0", 14);
    assert_true(kcm_reply_parse(buf, wr.len, &code, &body));
    assert_int_equal(code, 0);
    assert_string_equal(util_rd_cstr(&body, 10), "0");

    util_wr_init(&wr, buf, sizeof(buf));
    kcm_reply_begin(&wr);
    assert_true(kcm_reply_finish(&wr, KCM_RC_FCC_NOFILE));
    assert_memory_equal(buf, "\0\0\0\4\0\0\0\0\x96\xc7\x3a\xc3", 12);

    /* Measure mode counts. */
    util_wr_init(&wr, NULL, 0);
    kcm_reply_begin(&wr);
    util_wr_u32(&wr, 7);
    assert_true(kcm_reply_finish(&wr, 0));
    assert_int_equal(wr.len, 16);

    /* sssd-style error: len 0, outer code. */
    {
        uint8_t e[8] = { 0, 0, 0, 0, 0x96, 0xc7, 0x3a, 0xc4 };
        assert_true(kcm_reply_parse(e, 8, &code, &body));
        assert_int_equal(code, KCM_RC_FCC_INTERNAL);
        assert_int_equal(util_rd_left(&body), 0);
        /* outer != 0 with a body: the stream would desync; rejected. */
        uint8_t e2[12] = { 0, 0, 0, 4, 0x96, 0xc7, 0x3a, 0xc4, 0, 0, 0, 0 };
        assert_false(kcm_reply_parse(e2, 12, &code, &body));
    }
    /* Success payload shorter than the inner code. */
    {
        uint8_t s[10] = { 0, 0, 0, 2, 0, 0, 0, 0, 0, 0 };
        assert_false(kcm_reply_parse(s, 10, &code, &body));
        uint8_t l[12] = { 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0 };
        assert_false(kcm_reply_parse(l, 12, &code, &body));
    }
    /* Request framing. */
    util_wr_init(&wr, buf, sizeof(buf));
    kcm_req_begin(&wr, KCM_OP_GET_DEFAULT_CACHE);
    assert_true(kcm_req_finish(&wr));
    assert_memory_equal(buf, "\0\0\0\4\2\0\0\x14", 8);
    /* A too-small buffer makes finish fail. */
    util_wr_init(&wr, buf, 6);
    kcm_req_begin(&wr, KCM_OP_GET_DEFAULT_CACHE);
    assert_false(kcm_req_finish(&wr));
}

static void test_reply_too_big(void **state)
{
    struct util_wr wr;

    util_wr_init(&wr, NULL, 0);
    kcm_reply_begin(&wr);
    assert_non_null(&wr);
    (void)util_wr_reserve(&wr, KCM_MAX_REPLY - 4);
    assert_true(kcm_reply_finish(&wr, 0)); /* payload exactly 10 MiB */
    (void)util_wr_reserve(&wr, 1);
    assert_false(kcm_reply_finish(&wr, 0));
}

/* ---- util_buf ---- */

static void test_util_rd(void **state)
{
    static const uint8_t in[] = { 1, 2, 3, 4, 5, 6, 7, 'a', 'b', 0, 0, 0, 0, 2, 'x', 'y' };
    struct util_rd rd;
    struct util_data d;

    util_rd_init(&rd, in, sizeof(in));
    assert_int_equal(util_rd_u8(&rd), 1);
    assert_int_equal(util_rd_u16(&rd), 0x0203);
    assert_int_equal(util_rd_u32(&rd), 0x04050607);
    assert_string_equal(util_rd_cstr(&rd, 2), "ab");
    d = util_rd_data(&rd);
    assert_int_equal(d.len, 2);
    assert_memory_equal(d.p, "xy", 2);
    assert_true(util_rd_done(&rd));
    /* Reading past the end: sticky error, zeroes, position at the end. */
    assert_int_equal(util_rd_u32(&rd), 0);
    assert_false(util_rd_ok(&rd));
    assert_int_equal(util_rd_left(&rd), 0);
    assert_null(util_rd_bytes(&rd, 0));

    /* cstr max_len excludes the NUL. */
    util_rd_init(&rd, in + 7, 3);
    assert_null(util_rd_cstr(&rd, 1));
    assert_false(util_rd_ok(&rd));
    /* Data with a huge length. */
    {
        static const uint8_t h[] = { 0xff, 0xff, 0xff, 0xff, 1 };
        util_rd_init(&rd, h, sizeof(h));
        d = util_rd_data(&rd);
        assert_null(d.p);
        assert_int_equal(d.len, 0);
        assert_false(util_rd_ok(&rd));
    }
    /* i32 sign. */
    {
        static const uint8_t m[] = { 0xff, 0xff, 0xff, 0xfe };
        util_rd_init(&rd, m, sizeof(m));
        assert_int_equal(util_rd_i32(&rd), -2);
    }
    /* NULL input is an empty input (what kcm_reply_parse gives for an outer error): every
     * read fails cleanly, without arithmetic on or memchr of a NULL pointer (UBSan). */
    util_rd_init(&rd, NULL, 100);
    assert_int_equal(util_rd_left(&rd), 0);
    assert_true(util_rd_done(&rd));
    assert_int_equal(util_rd_u8(&rd), 0);
    assert_false(util_rd_ok(&rd));
    util_rd_init(&rd, NULL, 0);
    assert_null(util_rd_cstr(&rd, 10));
    assert_false(util_rd_ok(&rd));
    util_rd_init(&rd, NULL, 0);
    (void)util_rd_bytes(&rd, 0);
    assert_true(util_rd_done(&rd));
    d = util_rd_data(&rd);
    assert_int_equal(d.len, 0);
    assert_false(util_rd_ok(&rd));
}

static void test_util_wr(void **state)
{
    uint8_t buf[8];
    struct util_wr wr;
    struct util_data d = { (const uint8_t *)"hello", 5 };

    util_wr_init(&wr, buf, sizeof(buf));
    util_wr_u16(&wr, 0x0102);
    util_wr_i32(&wr, -1);
    assert_true(util_wr_ok(&wr));
    assert_memory_equal(buf, "\1\2\xff\xff\xff\xff", 6);
    util_wr_data(&wr, d); /* 9 bytes do not fit */
    assert_false(util_wr_ok(&wr));
    assert_int_equal(wr.len, 6); /* the length word did not fit: nothing written */
    util_wr_u8(&wr, 1);
    assert_false(util_wr_ok(&wr));

    util_wr_init(&wr, NULL, 0);
    util_wr_data(&wr, d);
    util_wr_cstr(&wr, "abc");
    assert_true(util_wr_ok(&wr));
    assert_int_equal(wr.len, 4 + 5 + 4);
    assert_null(util_wr_reserve(&wr, 3));
    assert_int_equal(wr.len, 16);
    /* Measuring can overflow only at SIZE_MAX. */
    assert_null(util_wr_reserve(&wr, SIZE_MAX));
    assert_false(util_wr_ok(&wr));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_parse_roundtrip),
        cmocka_unit_test(test_golden_fields),
        cmocka_unit_test(test_golden_replies),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_reply_truncation),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_bad_version),
        cmocka_unit_test(test_unknown_opcode),
        cmocka_unit_test(test_no_param_ops),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_counts_exceed),
        cmocka_unit_test(test_mcred_layout),
        cmocka_unit_test(test_princ_views),
        cmocka_unit_test(test_cred_views),
        cmocka_unit_test(test_match_principals),
        cmocka_unit_test(test_match_is_skey),
        cmocka_unit_test(test_match_flags),
        cmocka_unit_test(test_match_times),
        cmocka_unit_test(test_match_authdata),
        cmocka_unit_test(test_match_2nd_tkt_keytype),
        cmocka_unit_test(test_cred_rebase),
        cmocka_unit_test(test_match_golden),
        cmocka_unit_test(test_reply_framing),
        cmocka_unit_test(test_reply_too_big),
        cmocka_unit_test(test_util_rd),
        cmocka_unit_test(test_util_wr),
    };

    int rc = cmocka_run_group_tests(tests, NULL, NULL);

    free(g_copy);
    return rc;
}
