/* ONC RPC for GSS-Proxy (program 400112 v1): record marking and the call/reply header codec.
 * Pure: bytes in, structs or bytes out; no fds, no allocation, no logging. The dispositions
 * follow the reference server's table (docs/gssproxy.md), except that NULLPROC is answered with
 * an empty SUCCESS (the kernel pings once at connect). */
#ifndef CACHET_GP_RPC_H
#define CACHET_GP_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GP_RPC_PROG 400112u
#define GP_RPC_VERS 1u
#define GP_RPC_PROC_MIN 1u
#define GP_RPC_PROC_MAX 15u
#define GP_RPC_MAX_RECORD (1024u * 1024u) /* request and reply bodies, as gssproxy */
#define GP_RPC_MAX_FRAGMENTS 1024u        /* bounds marker overhead of a record */
#define GP_RPC_MAX_AUTH_BODY 400u
#define GP_RPC_LAST_FRAG 0x80000000u
/* Largest accepted-reply header: xid, REPLY, MSG_ACCEPTED, verf{0,0}, stat, low, high. */
#define GP_RPC_REPLY_HDR_MAX 32u
#define GP_RPC_ACCEPTED_HDR 24u

/* RFC 5531 constants. */
enum gp_rpc_accept_stat {
    GP_RPC_SUCCESS = 0,
    GP_RPC_PROG_UNAVAIL = 1,
    GP_RPC_PROG_MISMATCH = 2,
    GP_RPC_PROC_UNAVAIL = 3,
    GP_RPC_GARBAGE_ARGS = 4,
    GP_RPC_SYSTEM_ERR = 5,
};

/* ---- record marking ---- */

enum gp_rm_status {
    GP_RM_NEED_MORE = 0, /* no complete record yet */
    GP_RM_COMPLETE,      /* a whole record is at the start of the input */
    GP_RM_TOO_BIG,       /* the record exceeds GP_RPC_MAX_RECORD or has too many fragments */
};

/* Scan the raw stream at in[0..have). On GP_RM_COMPLETE, *consumed is the number of raw bytes
 * (markers included) of the first record and *record_len its payload length. On NEED_MORE,
 * *consumed is the raw size needed to make progress (at least have + 1). */
enum gp_rm_status gp_rm_scan(const uint8_t *in, size_t have, size_t *consumed,
                             size_t *record_len);
/* Copy the payload of the complete record at in[0..consumed) to out (record_len bytes).
 * out may equal in (fragments are compacted in place). */
void gp_rm_assemble(const uint8_t *in, size_t consumed, uint8_t *out);

/* ---- call header ---- */

struct gp_rpc_call {
    uint32_t xid;
    uint32_t proc;
    const uint8_t *args; /* inside the record */
    size_t args_len;
};

enum gp_rpc_disposition {
    GP_RPC_DISPATCH = 0, /* a procedure 1..15 call: decode args, run it */
    GP_RPC_REPLY_NOW,    /* answer with the reply bytes already written (NULL, rejects) */
    GP_RPC_CLOSE,        /* undecodable header or not a call: close the connection */
};

/* Parse a record. reply must have room for GP_RPC_REPLY_HDR_MAX bytes; on GP_RPC_REPLY_NOW
 * *reply_len is set. */
enum gp_rpc_disposition gp_rpc_parse_call(const uint8_t *rec, size_t len,
                                          struct gp_rpc_call *call, uint8_t *reply,
                                          size_t *reply_len);

/* Write an accepted reply header with the given status (PROG_MISMATCH adds low=high=1) into
 * out (GP_RPC_REPLY_HDR_MAX bytes). Returns the length. */
size_t gp_rpc_accepted(uint8_t *out, uint32_t xid, enum gp_rpc_accept_stat stat);

/* Client side (tests, bench, fuzz): build a call header for proc into out (40 bytes). */
#define GP_RPC_CALL_HDR 40u
size_t gp_rpc_call_header(uint8_t *out, uint32_t xid, uint32_t proc);

/* Client side: parse a reply record; on an accepted SUCCESS reply sets *body and *body_len and
 * returns 0; else returns -1 and *stat holds accept_stat (or 100 + reject_stat for denials). */
int gp_rpc_parse_reply(const uint8_t *rec, size_t len, uint32_t *xid, uint32_t *stat,
                       const uint8_t **body, size_t *body_len);

#endif
