/* Bounded reader/writer; see util_buf.h. */
#include "common/util_buf.h"

#include <string.h>

void util_rd_init(struct util_rd *rd, const uint8_t *p, size_t len)
{
    rd->p = p != NULL ? p : (const uint8_t *)""; /* no pointer arithmetic on NULL */
    rd->len = p != NULL ? len : 0;
    rd->pos = 0;
    rd->err = false;
}

void util_rd_fail(struct util_rd *rd)
{
    rd->err = true;
    rd->pos = rd->len;
}

const char *util_rd_cstr(struct util_rd *rd, size_t max_len)
{
    const uint8_t *start;
    const uint8_t *nul;
    size_t avail;

    if (rd->err) {
        return NULL;
    }
    start = rd->p + rd->pos;
    avail = rd->len - rd->pos;
    if (avail > max_len + 1) {
        avail = max_len + 1;
    }
    nul = memchr(start, '\0', avail);
    if (nul == NULL) {
        util_rd_fail(rd);
        return NULL;
    }
    rd->pos += (size_t)(nul - start) + 1;
    return (const char *)start;
}

void util_wr_init(struct util_wr *wr, uint8_t *buf, size_t cap)
{
    wr->buf = buf;
    wr->cap = buf != NULL ? cap : SIZE_MAX;
    wr->len = 0;
    wr->err = false;
}

uint8_t *util_wr_reserve(struct util_wr *wr, size_t n)
{
    uint8_t *r;

    if (wr->err || n > wr->cap - wr->len) {
        wr->err = true;
        return NULL;
    }
    r = wr->buf != NULL ? wr->buf + wr->len : NULL;
    wr->len += n;
    return r;
}

void util_wr_bytes(struct util_wr *wr, const void *p, size_t n)
{
    uint8_t *d = util_wr_reserve(wr, n);

    if (d != NULL && n > 0) {
        memcpy(d, p, n);
    }
}

void util_wr_u8(struct util_wr *wr, uint8_t v)
{
    util_wr_bytes(wr, &v, 1);
}

void util_wr_u16(struct util_wr *wr, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
    util_wr_bytes(wr, b, 2);
}

void util_wr_u32(struct util_wr *wr, uint32_t v)
{
    uint8_t b[4];
    util_put_be32(b, v);
    util_wr_bytes(wr, b, 4);
}

void util_wr_i32(struct util_wr *wr, int32_t v)
{
    util_wr_u32(wr, (uint32_t)v);
}

void util_wr_data(struct util_wr *wr, struct util_data d)
{
    util_wr_u32(wr, d.len);
    util_wr_bytes(wr, d.p, d.len);
}

void util_wr_cstr(struct util_wr *wr, const char *s)
{
    util_wr_bytes(wr, s, strlen(s) + 1);
}

bool util_wr_ok(const struct util_wr *wr)
{
    return !wr->err;
}
