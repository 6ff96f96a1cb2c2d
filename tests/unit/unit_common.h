/* Shared helpers for cachet's cmocka unit tests: golden-vector loading and builders for KCM
 * principals, credentials, match templates and request frames. Header-only (static), included
 * after the cmocka headers by each test program. */
#ifndef CACHET_UNIT_COMMON_H
#define CACHET_UNIT_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/util_buf.h"
#include "kcm/kcm_codec.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

#define TC_UNUSED __attribute__((unused))

/* ---- files ---- */

/* Read TEST_DATA_DIR/<rel> into a malloc'ed buffer of exactly *len bytes (ASan sees overreads).
 * Returns NULL if the file does not exist. */
static TC_UNUSED uint8_t *tc_read_file(const char *rel, size_t *len)
{
    char path[4096];
    FILE *f;
    uint8_t *buf;
    long n;

    snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, rel);
    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = malloc(n > 0 ? (size_t)n : 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* A golden request vector: the whole file, and its payload (after the 4-byte length). */
struct tc_vec {
    uint8_t *file;
    size_t file_len;
    const uint8_t *payload;
    size_t len;
};

static TC_UNUSED void tc_vec_load(const char *name, struct tc_vec *v)
{
    char rel[512];

    snprintf(rel, sizeof(rel), "kcm/%s", name);
    v->file = tc_read_file(rel, &v->file_len);
    if (v->file == NULL) {
        fail_msg("golden vector %s/%s missing", TEST_DATA_DIR, rel);
    }
    assert_true(v->file_len >= 4);
    assert_int_equal(util_be32(v->file), v->file_len - 4);
    v->payload = v->file + 4;
    v->len = v->file_len - 4;
}

static TC_UNUSED void tc_vec_free(struct tc_vec *v)
{
    free(v->file);
    memset(v, 0, sizeof(*v));
}

/* An exact-size heap copy of p[0..n), so ASan catches a read one past the end. */
static TC_UNUSED uint8_t *tc_dup(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n > 0 ? n : 1);

    assert_non_null(d);
    if (n > 0) {
        memcpy(d, p, n);
    }
    return d;
}

/* ---- builders ---- */

/* Principal from "comp1/comp2@REALM" (no escapes; "" components allowed). */
static TC_UNUSED void tc_wr_princ(struct util_wr *wr, int32_t name_type, const char *s)
{
    const char *at = strrchr(s, '@');
    const char *end = at != NULL ? at : s + strlen(s);
    const char *realm = at != NULL ? at + 1 : "";
    uint32_t n = 1;

    for (const char *q = s; q < end; q++) {
        n += *q == '/';
    }
    util_wr_i32(wr, name_type);
    util_wr_u32(wr, n);
    util_wr_u32(wr, (uint32_t)strlen(realm));
    util_wr_bytes(wr, realm, strlen(realm));
    for (const char *q = s;;) {
        const char *slash = memchr(q, '/', (size_t)(end - q));
        const char *ce = slash != NULL ? slash : end;
        util_wr_u32(wr, (uint32_t)(ce - q));
        util_wr_bytes(wr, q, (size_t)(ce - q));
        if (slash == NULL) {
            break;
        }
        q = slash + 1;
    }
}

struct tc_ad {
    uint16_t type;
    const char *data;
};

/* A credential described field by field; strings are byte strings (NUL not included). */
struct tc_cred {
    const char *client;
    const char *server;
    int32_t name_type; /* of both principals */
    int16_t enctype;
    const char *key;
    uint32_t authtime, starttime, endtime, renew_till;
    uint8_t is_skey;
    uint32_t flags;
    int naddrs;
    struct tc_ad addrs[2];
    int nauth;
    struct tc_ad auth[2];
    const char *ticket;
    const char *second_ticket;
};

static TC_UNUSED void tc_wr_str_data(struct util_wr *wr, const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    util_wr_u32(wr, (uint32_t)n);
    util_wr_bytes(wr, s, n);
}

static TC_UNUSED void tc_wr_list(struct util_wr *wr, int n, const struct tc_ad *l)
{
    util_wr_u32(wr, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        util_wr_u16(wr, l[i].type);
        tc_wr_str_data(wr, l[i].data);
    }
}

static TC_UNUSED void tc_wr_times(struct util_wr *wr, const struct tc_cred *c)
{
    util_wr_u32(wr, c->authtime);
    util_wr_u32(wr, c->starttime);
    util_wr_u32(wr, c->endtime);
    util_wr_u32(wr, c->renew_till);
    util_wr_u8(wr, c->is_skey);
    util_wr_u32(wr, c->flags);
}

/* k5_marshal_cred layout. */
static TC_UNUSED void tc_wr_cred(struct util_wr *wr, const struct tc_cred *c)
{
    tc_wr_princ(wr, c->name_type != 0 ? c->name_type : 1, c->client);
    tc_wr_princ(wr, c->name_type != 0 ? c->name_type : 2, c->server);
    util_wr_u16(wr, (uint16_t)c->enctype);
    tc_wr_str_data(wr, c->key);
    tc_wr_times(wr, c);
    tc_wr_list(wr, c->naddrs, c->addrs);
    tc_wr_list(wr, c->nauth, c->auth);
    tc_wr_str_data(wr, c->ticket);
    tc_wr_str_data(wr, c->second_ticket);
}

/* k5_marshal_mcred layout: header bits decide which optional parts are present. */
static TC_UNUSED void tc_wr_mcred(struct util_wr *wr, const struct tc_cred *c, uint32_t fields)
{
    util_wr_u32(wr, fields);
    if (fields & KCM_SC_CLIENT) {
        tc_wr_princ(wr, 1, c->client);
    }
    if (fields & KCM_SC_SERVER) {
        tc_wr_princ(wr, 2, c->server);
    }
    if (fields & KCM_SC_SESSION_KEY) {
        util_wr_u16(wr, (uint16_t)c->enctype);
        tc_wr_str_data(wr, c->key);
    }
    tc_wr_times(wr, c);
    if (fields & KCM_SC_ADDRESSES) {
        tc_wr_list(wr, c->naddrs, c->addrs);
    }
    if (fields & KCM_SC_AUTHDATA) {
        tc_wr_list(wr, c->nauth, c->auth);
    }
    if (fields & KCM_SC_TICKET) {
        tc_wr_str_data(wr, c->ticket);
    }
    if (fields & KCM_SC_SECOND_TICKET) {
        tc_wr_str_data(wr, c->second_ticket);
    }
}

/* Owned bytes plus a parsed view. */
struct tc_blob {
    uint8_t buf[65536];
    size_t len;
};

static TC_UNUSED void tc_cred_bytes(struct tc_blob *b, const struct tc_cred *c)
{
    struct util_wr wr;

    util_wr_init(&wr, b->buf, sizeof(b->buf));
    tc_wr_cred(&wr, c);
    assert_true(util_wr_ok(&wr));
    b->len = wr.len;
}

/* Encode c and parse it into *v (views into b). */
static TC_UNUSED void tc_cred_view(struct tc_blob *b, const struct tc_cred *c, struct kcm_cred *v)
{
    tc_cred_bytes(b, c);
    assert_true(kcm_cred_from_bytes(b->buf, b->len, v));
}

static TC_UNUSED void tc_mcred_view(struct tc_blob *b, const struct tc_cred *c, uint32_t fields,
                                    struct kcm_mcred *m)
{
    struct util_wr wr;
    struct util_rd rd;

    util_wr_init(&wr, b->buf, sizeof(b->buf));
    tc_wr_mcred(&wr, c, fields);
    assert_true(util_wr_ok(&wr));
    b->len = wr.len;
    util_rd_init(&rd, b->buf, b->len);
    assert_true(kcm_parse_mcred(&rd, m));
    assert_true(util_rd_done(&rd));
}

static TC_UNUSED void tc_princ_view(struct tc_blob *b, int32_t nt, const char *s,
                                    struct kcm_princ *p)
{
    struct util_wr wr;

    util_wr_init(&wr, b->buf, sizeof(b->buf));
    tc_wr_princ(&wr, nt, s);
    assert_true(util_wr_ok(&wr));
    b->len = wr.len;
    assert_true(kcm_princ_from_bytes(b->buf, b->len, p));
}

/* A request frame under construction: begin, util_wr_* into f->wr, end. */
struct tc_frame {
    uint8_t buf[1 << 20];
    struct util_wr wr;
};

static TC_UNUSED struct util_wr *tc_frame_begin(struct tc_frame *f, uint16_t op)
{
    util_wr_init(&f->wr, f->buf, sizeof(f->buf));
    kcm_req_begin(&f->wr, op);
    return &f->wr;
}

/* Returns the payload (after the length prefix) and its length. */
static TC_UNUSED const uint8_t *tc_frame_end(struct tc_frame *f, size_t *len)
{
    assert_true(kcm_req_finish(&f->wr));
    *len = f->wr.len - 4;
    return f->buf + 4;
}

/* A typical TGT / service ticket for alice. */
static TC_UNUSED struct tc_cred tc_cred_std(const char *client, const char *server,
                                            uint32_t endtime)
{
    struct tc_cred c = {
        .client = client,
        .server = server,
        .enctype = 18,
        .key = "0123456789abcdef0123456789abcdef",
        .authtime = 1000,
        .starttime = 1000,
        .endtime = endtime,
        .renew_till = endtime + 1000,
        .flags = 0x40c10000,
        .ticket = "TICKET-BYTES",
    };
    return c;
}

#endif
