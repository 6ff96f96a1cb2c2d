/* Secure memory for keys and tickets: locked (memfd_secret when the kernel allows it, else
 * mmap + mlock), excluded from core dumps (MADV_DONTDUMP), not inherited across fork
 * (MADV_WIPEONFORK), wiped with explicit_bzero on free. Never realloc'ed: callers size first.
 * A small size-class arena keeps the number of mappings low (200k creds must not need 200k
 * mappings). Thread-safe. */
#ifndef CACHET_UTIL_SECMEM_H
#define CACHET_UTIL_SECMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <talloc.h>

enum util_secmem_mode {
    UTIL_SECMEM_REQUIRE_LOCK, /* allocation fails if pages cannot be locked */
    UTIL_SECMEM_DEGRADED,     /* fall back to unlocked (still no-dump, still wiped) */
};

struct util_secmem_stats {
    size_t mapped_bytes; /* bytes mapped for secrets */
    size_t locked_bytes; /* of those, locked */
    size_t used_bytes;   /* handed out to callers */
    bool secretmem;      /* memfd_secret in use */
};

/* Probe once at start-up: tries to map and lock one chunk. Returns 0 or an errno; on failure
 * *why names the reason (static string). */
int util_secmem_init(enum util_secmem_mode mode, const char **why);
void *util_secmem_alloc(size_t n); /* zeroed; NULL on failure */
void util_secmem_free(void *p);    /* wipes; NULL is fine */
/* Bytes of secure memory an allocation of n takes (its size class). */
size_t util_secmem_footprint(size_t n);
void util_secmem_stats(struct util_secmem_stats *st);
/* True if p points into secure memory (tests). */
bool util_secmem_owns(const void *p);

/* A talloc-owned handle on a secure buffer: freeing the handle wipes and releases the bytes. */
struct util_secbuf {
    uint8_t *p;
    size_t len;
    void *base; /* the allocation p lies in, if not p itself (util_secbuf_adopt) */
};

struct util_secbuf *util_secbuf_new(TALLOC_CTX *ctx, size_t len);
/* Take over base (from util_secmem_alloc) as a buffer of the len bytes at p inside it: no copy.
 * base is released with the handle, or at once if the handle cannot be allocated (NULL). */
struct util_secbuf *util_secbuf_adopt(TALLOC_CTX *ctx, void *base, uint8_t *p, size_t len);
struct util_secbuf *util_secbuf_dup(TALLOC_CTX *ctx, const void *p, size_t len);

#endif
