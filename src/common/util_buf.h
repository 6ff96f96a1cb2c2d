/* Bounded byte reader and writer with a sticky error (pure, no allocation).
 *
 * Reader: every get checks bounds; after the first failure all further gets return zeroes and
 * the error stays set, so a parser checks util_rd_ok() once at the end.
 * Writer: with buf == NULL it only counts (measure pass); callers measure, allocate exactly once
 * (secrets are never realloc'ed), then write. Overflow of a real buffer sets the error. */
#ifndef CACHET_UTIL_BUF_H
#define CACHET_UTIL_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct util_rd {
    const uint8_t *p;
    size_t len;
    size_t pos;
    bool err;
};

/* A view of bytes inside someone else's buffer. */
struct util_data {
    const uint8_t *p;
    uint32_t len;
};

void util_rd_init(struct util_rd *rd, const uint8_t *p, size_t len);
/* NUL-terminated string inside the input; max_len excludes the NUL. NULL on error. */
const char *util_rd_cstr(struct util_rd *rd, size_t max_len);
void util_rd_fail(struct util_rd *rd);
/* The getters (util_rd_u8 ... util_rd_done) are inline, below: a credential is some forty of
 * them, and as calls they were a fifth of the daemon's instructions per STORE. */

struct util_wr {
    uint8_t *buf; /* NULL: measure only */
    size_t cap;
    size_t len;
    bool err;
};

void util_wr_init(struct util_wr *wr, uint8_t *buf, size_t cap);
void util_wr_u8(struct util_wr *wr, uint8_t v);
void util_wr_u16(struct util_wr *wr, uint16_t v);
void util_wr_u32(struct util_wr *wr, uint32_t v);
void util_wr_i32(struct util_wr *wr, int32_t v);
void util_wr_bytes(struct util_wr *wr, const void *p, size_t n);
void util_wr_data(struct util_wr *wr, struct util_data d); /* u32 len + bytes */
void util_wr_cstr(struct util_wr *wr, const char *s);       /* bytes + NUL */
/* Reserve n bytes and return where they go (NULL in measure mode or on error). */
uint8_t *util_wr_reserve(struct util_wr *wr, size_t n);
bool util_wr_ok(const struct util_wr *wr);

static inline uint32_t util_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void util_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline bool util_data_eq(struct util_data a, struct util_data b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* ---- reader getters (inline: see above) ---- */

/* Returns a pointer to n bytes inside the input, or NULL (and sets the error). */
static inline const uint8_t *util_rd_bytes(struct util_rd *rd, size_t n)
{
    const uint8_t *r;

    if (rd->err || n > rd->len - rd->pos) {
        util_rd_fail(rd);
        return NULL;
    }
    r = rd->p + rd->pos;
    rd->pos += n;
    return r;
}

static inline uint8_t util_rd_u8(struct util_rd *rd)
{
    const uint8_t *b = util_rd_bytes(rd, 1);
    return b != NULL ? b[0] : 0;
}

static inline uint16_t util_rd_u16(struct util_rd *rd)
{
    const uint8_t *b = util_rd_bytes(rd, 2);
    return b != NULL ? (uint16_t)((b[0] << 8) | b[1]) : 0;
}

static inline uint32_t util_rd_u32(struct util_rd *rd)
{
    const uint8_t *b = util_rd_bytes(rd, 4);
    return b != NULL ? util_be32(b) : 0;
}

static inline int32_t util_rd_i32(struct util_rd *rd)
{
    return (int32_t)util_rd_u32(rd);
}

/* uint32 BE length + bytes. */
static inline struct util_data util_rd_data(struct util_rd *rd)
{
    struct util_data d = { NULL, 0 };
    uint32_t n = util_rd_u32(rd);
    const uint8_t *b = util_rd_bytes(rd, n);

    if (b != NULL) {
        d.p = b;
        d.len = n;
    }
    return d;
}

static inline size_t util_rd_left(const struct util_rd *rd)
{
    return rd->len - rd->pos;
}

static inline bool util_rd_ok(const struct util_rd *rd)
{
    return !rd->err;
}

/* True when no error occurred and every byte was consumed. */
static inline bool util_rd_done(const struct util_rd *rd)
{
    return !rd->err && rd->pos == rd->len;
}

#endif
