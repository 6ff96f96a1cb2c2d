/* A raw KCM client for the bench programs (scale, churn): frames built and replies parsed with
 * the project's own codec (util_buf + kcm_codec), no libkrb5, so the client costs a few
 * microseconds per request and the daemon is what gets measured. Not a library for anything
 * else: errors go to stderr, allocation failures abort. */
#ifndef CACHET_BENCH_KCMWIRE_H
#define CACHET_BENCH_KCMWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/util_buf.h"
#include "kcm/kcm_codec.h"

#define KW_REALM "BENCH.TEST"
#define KW_RETRIEVE_FLAGS (KCM_GC_CACHED | KCM_TC_MATCH_TIMES | KCM_TC_MATCH_AUTHDATA)

/* A growable byte buffer (plain heap: synthetic tickets are not secrets). */
struct kw_buf {
    uint8_t *p;
    size_t len;
    size_t cap;
};

void kw_buf_reserve(struct kw_buf *b, size_t cap);
void kw_buf_free(struct kw_buf *b);

/* One request under construction: kw_begin, then kw_* fields, then kw_call. */
struct kw_req {
    struct kw_buf buf;
    struct util_wr wr;
};

void kw_begin(struct kw_req *r, uint16_t opcode);
void kw_cstr(struct kw_req *r, const char *s);
void kw_u32(struct kw_req *r, uint32_t v);
void kw_bytes(struct kw_req *r, const void *p, size_t n);
/* Principal "name[/inst]@KW_REALM" (components split at '/'). */
void kw_princ(struct kw_req *r, const char *name);
/* The whole marshalled credential (ccache v4). */
void kw_cred(struct kw_req *r, const struct kw_buf *cred);

/* Synthetic credential: client "u<uid>", server (NULL = krbtgt) "name/host", random key,
 * ticket_len random bytes, valid for ten hours from now. */
void kw_make_cred(struct kw_buf *out, uint32_t uid, const char *server, size_t ticket_len,
                  uint64_t *seed);
void kw_client_name(char *buf, size_t len, uint32_t uid);

/* Connect to path with effective uid euid (root only; -1: as we are). Root keeps its saved
 * uid so that it can switch back: the daemon takes the identity from SO_PEERCRED, which is
 * captured at connect(). Returns the fd or -1 (message on stderr). */
int kw_connect(const char *path, long euid);

/* Send the request, read the whole reply. Returns false on a transport or framing failure;
 * else *code is the KCM code and *body the reply fields (a view into rep). */
bool kw_call(int fd, struct kw_req *r, struct kw_buf *rep, int32_t *code, struct util_rd *body);

/* Time and process helpers. */
double kw_now(void);
/* CPU seconds used so far by every thread of pid (schedstat, ns resolution); -1 if unknown. */
double kw_cpu_of_pid(long pid);
/* VmRSS of pid in KiB, or -1. */
long kw_rss_kib(long pid);
uint64_t kw_rand(uint64_t *seed);

#endif
