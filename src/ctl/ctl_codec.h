/* The control protocol between cachetctl and cachetd (root only, AF_UNIX). Pure codec, like the
 * KCM one: bytes in, views out, no fds, no allocation, no logging. Shared by the daemon, the
 * CLI and the unit tests.
 *
 * Frame: u32 BE length of what follows, then
 *   request: u16 version (CTL_VERSION), u16 op, op parameters
 *   reply:   u32 status (enum ctl_status), then the op's body when status is CTL_OK
 * Integers are big-endian, u64 as two u32 (high first); strings NUL-terminated.
 * No secret ever crosses this socket: names, principals, counts and times only. */
#ifndef CACHET_CTL_CODEC_H
#define CACHET_CTL_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util_buf.h"
#include "kcm/kcm_codec.h"

#define CTL_VERSION 1
#define CTL_MAX_REQUEST 256                 /* request payload bytes */
#define CTL_MAX_REPLY (64u * 1024 * 1024)  /* reply payload bytes */
#define CTL_MAX_STRING 4096

enum ctl_op {
    CTL_OP_STATUS = 1,
    CTL_OP_LIST = 2,
    CTL_OP_PURGE = 3,
    CTL_OP_RELOAD = 4,
};

enum ctl_purge_kind {
    CTL_PURGE_EXPIRED = 1,
    CTL_PURGE_UID = 2,
    CTL_PURGE_SESSION = 3,
};

enum ctl_status {
    CTL_OK = 0,
    CTL_ERR_BAD_REQUEST = 1,
    CTL_ERR_UNSUPPORTED = 2, /* unknown op or version */
    CTL_ERR_INTERNAL = 3,
    CTL_ERR_FAILED = 4,      /* the operation failed (e.g. storage); see the daemon's log */
};

struct ctl_req {
    uint16_t op;
    uint8_t purge_kind;   /* CTL_OP_PURGE */
    uint32_t purge_value; /* uid or audit session id */
};

/* STATUS body. Strings point into the parsed buffer. */
struct ctl_status_info {
    const char *version;
    const char *storage;  /* "memory" | "sqlite" */
    const char *scope;    /* "user" | "session" */
    uint64_t uptime;      /* seconds */
    uint64_t owners;      /* collections */
    uint64_t caches;
    uint64_t creds;
    uint64_t bytes;       /* credential bytes held */
    uint64_t sessions;    /* collections bound to a login session */
    uint64_t logind_sessions;
    uint8_t logind_connected;
    uint64_t connections;
    uint64_t mem_mapped;  /* util_secmem_stats */
    uint64_t mem_locked;
    uint64_t mem_used;
    uint8_t secretmem;
};

/* LIST body: u32 owner count, then per owner its header and its caches. */
struct ctl_owner_info {
    uint32_t uid;
    uint32_t session;        /* 0: not bound to a session */
    const char *logind_id;   /* "" if unknown */
    const char *default_name;
    uint32_t ncaches;
};

struct ctl_cache_info {
    const char *name;
    const char *principal;   /* unparsed, "" if none */
    uint32_t ncreds;
    uint32_t expires;        /* TGT end time (else the latest end time); 0 = none */
};

/* Requests (the length prefix included). */
bool ctl_req_write(struct util_wr *wr, const struct ctl_req *req);
/* p, len: the payload after the length prefix. Full consumption required. */
bool ctl_req_parse(const uint8_t *p, size_t len, struct ctl_req *out);

/* Replies: begin reserves length + status; finish fills them in. */
void ctl_reply_begin(struct util_wr *wr);
bool ctl_reply_finish(struct util_wr *wr, uint32_t status);
/* p, len: payload after the length prefix; body is the rest. */
bool ctl_reply_parse(const uint8_t *p, size_t len, uint32_t *status, struct util_rd *body);

void ctl_status_write(struct util_wr *wr, const struct ctl_status_info *st);
bool ctl_status_parse(struct util_rd *rd, struct ctl_status_info *out);

void ctl_owner_write(struct util_wr *wr, const struct ctl_owner_info *o);
bool ctl_owner_parse(struct util_rd *rd, struct ctl_owner_info *out);
void ctl_cache_write(struct util_wr *wr, const struct ctl_cache_info *c);
bool ctl_cache_parse(struct util_rd *rd, struct ctl_cache_info *out);

/* u64 as two u32. */
void ctl_wr_u64(struct util_wr *wr, uint64_t v);
uint64_t ctl_rd_u64(struct util_rd *rd);

/* "comp/comp@REALM", with '/', '@', '\\' escaped and non-printable bytes as \xNN (as MIT's
 * krb5_unparse_name would show them). Truncated output ends in "..." . */
void ctl_format_princ(const struct kcm_princ *p, char *buf, size_t len);

const char *ctl_status_str(uint32_t status);

#endif
