/* Secure memory arena; see util_secmem.h. */
#include "config.h"
#include "common/util_secmem.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SECMEM_MIN_SHIFT 5   /* 32-byte slots */
#define SECMEM_MAX_SHIFT 16  /* 64 KiB slots; larger sizes get their own mapping */
/* Classes: the powers of two from 32 bytes to 64 KiB and the midpoints between them (48, 96,
 * ..., 49152), so that a slot wastes at most a third of itself: a 1.4 KB credential takes a
 * 1.5 KB slot, not 2 KB (200k credentials: 100 MB less, and fewer page faults). */
#define SECMEM_NCLASSES (2 * (SECMEM_MAX_SHIFT - SECMEM_MIN_SHIFT) + 1)
#define SECMEM_CHUNK (256u * 1024)
#define SECMEM_HDR 16u /* slot header: class index or mapping length */
#define SECMEM_BIG_CLASS 0xffu

struct secmem_chunk {
    uint8_t *base;
    size_t len;
    struct secmem_chunk *next;
};

/* Mappings of single big allocations, for util_secmem_owns(). */
struct secmem_big {
    uint8_t *base;
    size_t len;
    struct secmem_big *next;
};

struct secmem_free {
    struct secmem_free *next;
};

static struct {
    pthread_mutex_t lock;
    enum util_secmem_mode mode;
    bool try_secretmem;
    struct secmem_free *free[SECMEM_NCLASSES];
    uint8_t *carve[SECMEM_NCLASSES]; /* bump pointer in the newest chunk of a class */
    uint8_t *carve_end[SECMEM_NCLASSES];
    struct secmem_chunk *chunks;
    struct secmem_big *bigs;
    struct util_secmem_stats st;
} g_sm = { .lock = PTHREAD_MUTEX_INITIALIZER, .mode = UTIL_SECMEM_REQUIRE_LOCK,
           .try_secretmem = true };

static void *map_secret(size_t len, bool *locked, bool *secret)
{
    void *p = MAP_FAILED;

    *locked = false;
    *secret = false;
#ifdef SYS_memfd_secret
    if (g_sm.try_secretmem) {
        int fd = (int)syscall(SYS_memfd_secret, 0);
        if (fd >= 0) {
            if (ftruncate(fd, (off_t)len) == 0) {
                p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            }
            close(fd);
            if (p != MAP_FAILED) {
                *locked = true; /* secretmem pages are VM_LOCKED and never dumped */
                *secret = true;
            }
        }
        if (p == MAP_FAILED) {
            g_sm.try_secretmem = false;
        }
    }
#endif
    if (p == MAP_FAILED) {
        p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            return NULL;
        }
        *locked = mlock(p, len) == 0;
        if (!*locked && g_sm.mode == UTIL_SECMEM_REQUIRE_LOCK) {
            munmap(p, len);
            errno = ENOMEM;
            return NULL;
        }
    }
    (void)madvise(p, len, MADV_DONTDUMP);
#ifdef MADV_WIPEONFORK
    if (!*secret) {
        (void)madvise(p, len, MADV_WIPEONFORK);
    }
#endif
    if (*secret) {
        /* secretmem is MAP_SHARED: WIPEONFORK does not apply, so a child must not map it. */
        (void)madvise(p, len, MADV_DONTFORK);
    }
    return p;
}

static void account_map(size_t len, bool locked, bool secret, int sign)
{
    if (sign > 0) {
        g_sm.st.mapped_bytes += len;
        g_sm.st.locked_bytes += locked ? len : 0;
        g_sm.st.secretmem = g_sm.st.secretmem || secret;
    } else {
        g_sm.st.mapped_bytes -= len;
        g_sm.st.locked_bytes -= locked ? len : 0;
    }
}

int util_secmem_init(enum util_secmem_mode mode, const char **why)
{
    void *p;

    pthread_mutex_lock(&g_sm.lock);
    g_sm.mode = mode;
    pthread_mutex_unlock(&g_sm.lock);
    /* Probe: one allocation maps and locks the first chunk. */
    p = util_secmem_alloc(1);
    if (p == NULL) {
        *why = "cannot lock memory for secrets (RLIMIT_MEMLOCK too small? "
               "raise LimitMEMLOCK= or set memlock = degraded)";
        return ENOMEM;
    }
    util_secmem_free(p);
    pthread_mutex_lock(&g_sm.lock);
    if (g_sm.st.locked_bytes < g_sm.st.mapped_bytes) {
        *why = "secure memory is NOT locked (degraded mode): secrets may reach swap";
    } else {
        *why = NULL;
    }
    pthread_mutex_unlock(&g_sm.lock);
    return 0;
}

static size_t class_size(unsigned c)
{
    size_t pow2 = (size_t)1 << (SECMEM_MIN_SHIFT + c / 2);

    return c % 2 == 0 ? pow2 : pow2 + pow2 / 2;
}

/* The smallest class that holds n bytes and the header (n + SECMEM_HDR <= 64 KiB). Computed
 * from the bit length, not by walking the classes: every secret's allocation asks. */
static unsigned class_of(size_t n)
{
    size_t m = n + SECMEM_HDR;
    unsigned k;
    size_t half;

    if (m <= ((size_t)1 << SECMEM_MIN_SHIFT)) {
        return 0;
    }
    k = 64u - (unsigned)__builtin_clzll((unsigned long long)(m - 1)); /* 2^(k-1) < m <= 2^k */
    half = (size_t)1 << (k - 1);
    if (m <= half + half / 2) {
        return 2 * (k - 1 - SECMEM_MIN_SHIFT) + 1; /* the midpoint class 1.5 x 2^(k-1) */
    }
    return 2 * (k - SECMEM_MIN_SHIFT);
}

static uint8_t *slot_from_chunk(unsigned c)
{
    size_t slot = class_size(c);
    struct secmem_chunk *ch;
    bool locked;
    bool secret;
    uint8_t *r;

    if (g_sm.free[c] != NULL) {
        struct secmem_free *f = g_sm.free[c];
        g_sm.free[c] = f->next;
        f->next = NULL;
        return (uint8_t *)f;
    }
    if (g_sm.carve[c] == NULL || g_sm.carve[c] + slot > g_sm.carve_end[c]) {
        size_t len = slot > SECMEM_CHUNK / 4 ? slot * 4 : SECMEM_CHUNK;
        uint8_t *base = map_secret(len, &locked, &secret);
        if (base == NULL) {
            return NULL;
        }
        /* Chunk bookkeeping lives outside the secret mapping. */
        ch = calloc(1, sizeof(*ch));
        if (ch == NULL) {
            munmap(base, len);
            return NULL;
        }
        ch->base = base;
        ch->len = len;
        ch->next = g_sm.chunks;
        g_sm.chunks = ch;
        account_map(len, locked, secret, 1);
        g_sm.carve[c] = base;
        g_sm.carve_end[c] = base + len;
    }
    r = g_sm.carve[c];
    g_sm.carve[c] += slot;
    return r;
}

size_t util_secmem_footprint(size_t n)
{
    long pg;

    if (n + SECMEM_HDR <= ((size_t)1 << SECMEM_MAX_SHIFT)) {
        return class_size(class_of(n));
    }
    pg = sysconf(_SC_PAGESIZE);
    return (n + SECMEM_HDR + (size_t)pg - 1) & ~((size_t)pg - 1);
}

void *util_secmem_alloc(size_t n)
{
    uint8_t *s;
    size_t size;

    if (n > SIZE_MAX / 2) {
        return NULL;
    }
    pthread_mutex_lock(&g_sm.lock);
    if (n + SECMEM_HDR > ((size_t)1 << SECMEM_MAX_SHIFT)) {
        bool locked;
        bool secret;
        long pg = sysconf(_SC_PAGESIZE);
        size = (n + SECMEM_HDR + (size_t)pg - 1) & ~((size_t)pg - 1);
        s = map_secret(size, &locked, &secret);
        struct secmem_big *b = s != NULL ? calloc(1, sizeof(*b)) : NULL;
        if (s != NULL && b == NULL) {
            munmap(s, size);
            s = NULL;
        }
        if (s != NULL) {
            b->base = s;
            b->len = size;
            b->next = g_sm.bigs;
            g_sm.bigs = b;
            account_map(size, locked, secret, 1);
            s[0] = SECMEM_BIG_CLASS;
            s[1] = (uint8_t)(locked | (secret << 1));
            memcpy(s + 8, &size, sizeof(size));
        }
    } else {
        unsigned c = class_of(n);
        size = class_size(c);
        s = slot_from_chunk(c);
        if (s != NULL) {
            s[0] = (uint8_t)c;
        }
    }
    if (s != NULL) {
        g_sm.st.used_bytes += size;
    }
    pthread_mutex_unlock(&g_sm.lock);
    return s != NULL ? s + SECMEM_HDR : NULL;
}

void util_secmem_free(void *p)
{
    uint8_t *s;
    size_t size;

    if (p == NULL) {
        return;
    }
    s = (uint8_t *)p - SECMEM_HDR;
    pthread_mutex_lock(&g_sm.lock);
    if (s[0] == SECMEM_BIG_CLASS) {
        bool locked = s[1] & 1;
        bool secret = (s[1] & 2) != 0;
        memcpy(&size, s + 8, sizeof(size));
        for (struct secmem_big **bp = &g_sm.bigs; *bp != NULL; bp = &(*bp)->next) {
            if ((*bp)->base == s) {
                struct secmem_big *b = *bp;
                *bp = b->next;
                free(b);
                break;
            }
        }
        explicit_bzero(s, size);
        munmap(s, size);
        account_map(size, locked, secret, -1);
    } else {
        unsigned c = s[0];
        struct secmem_free *f = (struct secmem_free *)s;
        size = class_size(c);
        explicit_bzero(s, size);
        f->next = g_sm.free[c];
        g_sm.free[c] = f;
    }
    g_sm.st.used_bytes -= size;
    pthread_mutex_unlock(&g_sm.lock);
}

void util_secmem_stats(struct util_secmem_stats *st)
{
    pthread_mutex_lock(&g_sm.lock);
    *st = g_sm.st;
    pthread_mutex_unlock(&g_sm.lock);
}

bool util_secmem_owns(const void *p)
{
    const uint8_t *b = p;
    bool r = false;

    pthread_mutex_lock(&g_sm.lock);
    for (struct secmem_chunk *ch = g_sm.chunks; ch != NULL && !r; ch = ch->next) {
        r = b >= ch->base && b < ch->base + ch->len;
    }
    for (struct secmem_big *bg = g_sm.bigs; bg != NULL && !r; bg = bg->next) {
        r = b >= bg->base && b < bg->base + bg->len;
    }
    pthread_mutex_unlock(&g_sm.lock);
    return r;
}

static int secbuf_destructor(struct util_secbuf *sb)
{
    util_secmem_free(sb->base != NULL ? sb->base : sb->p);
    sb->p = NULL;
    sb->base = NULL;
    return 0;
}

struct util_secbuf *util_secbuf_adopt(TALLOC_CTX *ctx, void *base, uint8_t *p, size_t len)
{
    struct util_secbuf *sb = talloc_zero(ctx, struct util_secbuf);

    if (sb == NULL) {
        util_secmem_free(base);
        return NULL;
    }
    sb->base = base;
    sb->p = p;
    sb->len = len;
    talloc_set_destructor(sb, secbuf_destructor);
    return sb;
}

struct util_secbuf *util_secbuf_new(TALLOC_CTX *ctx, size_t len)
{
    struct util_secbuf *sb = talloc_zero(ctx, struct util_secbuf);

    if (sb == NULL) {
        return NULL;
    }
    sb->p = util_secmem_alloc(len > 0 ? len : 1);
    if (sb->p == NULL) {
        talloc_free(sb);
        return NULL;
    }
    sb->len = len;
    talloc_set_destructor(sb, secbuf_destructor);
    return sb;
}

struct util_secbuf *util_secbuf_dup(TALLOC_CTX *ctx, const void *p, size_t len)
{
    struct util_secbuf *sb = util_secbuf_new(ctx, len);

    if (sb != NULL && len > 0) {
        memcpy(sb->p, p, len);
    }
    return sb;
}
