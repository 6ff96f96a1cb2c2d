/* KCM wire codec: request frames in, views out; reply frames written through util_wr.
 * Pure: no fds, no allocation, no logging. Every view points into the caller's input buffer,
 * which must outlive the parsed structs. Used by cachetd, cachetctl, the client library,
 * unit tests and fuzzers. Layouts: ../shared/spec/kcm-protocol.md §1. */
#ifndef CACHET_KCM_CODEC_H
#define CACHET_KCM_CODEC_H

#include "common/util_buf.h"

#define KCM_PROTOCOL_MAJOR 2
#define KCM_PROTOCOL_MINOR 0
#define KCM_UUID_LEN 16
#define KCM_MAX_REPLY (10u * 1024 * 1024) /* MIT's MAX_REPLY_SIZE */
#define KCM_MAX_NAME 1024                 /* cache name bytes, NUL excluded */
#define KCM_MAX_COMPONENTS 64             /* principal components */
#define KCM_REPLY_HDR 12                  /* len + outer status + inner code */

enum kcm_opcode {
    KCM_OP_NOOP = 0,
    KCM_OP_GET_NAME = 1,
    KCM_OP_RESOLVE = 2,
    KCM_OP_GEN_NEW = 3,
    KCM_OP_INITIALIZE = 4,
    KCM_OP_DESTROY = 5,
    KCM_OP_STORE = 6,
    KCM_OP_RETRIEVE = 7,
    KCM_OP_GET_PRINCIPAL = 8,
    KCM_OP_GET_CRED_UUID_LIST = 9,
    KCM_OP_GET_CRED_BY_UUID = 10,
    KCM_OP_REMOVE_CRED = 11,
    KCM_OP_SET_FLAGS = 12,
    KCM_OP_CHOWN = 13,
    KCM_OP_CHMOD = 14,
    KCM_OP_GET_INITIAL_TICKET = 15,
    KCM_OP_GET_TICKET = 16,
    KCM_OP_MOVE_CACHE = 17,
    KCM_OP_GET_CACHE_UUID_LIST = 18,
    KCM_OP_GET_CACHE_BY_UUID = 19,
    KCM_OP_GET_DEFAULT_CACHE = 20,
    KCM_OP_SET_DEFAULT_CACHE = 21,
    KCM_OP_GET_KDC_OFFSET = 22,
    KCM_OP_SET_KDC_OFFSET = 23,
    KCM_OP_MIT_EXTENSION_BASE = 13000,
    KCM_OP_GET_CRED_LIST = 13001,
    KCM_OP_REPLACE = 13002,
    KCM_OP_CACHET_SESSION_CAP = 13100, /* cachet extension: kcm_session_cap.h */
};

/* RETRIEVE / REMOVE_CRED flag words (Heimdal values, as MIT sends them). */
#define KCM_GC_CACHED (1u << 0)
#define KCM_TC_DONT_MATCH_REALM (1u << 31)
#define KCM_TC_MATCH_KEYTYPE (1u << 30)
#define KCM_TC_MATCH_SRV_NAMEONLY (1u << 29)
#define KCM_TC_MATCH_FLAGS_EXACT (1u << 28)
#define KCM_TC_MATCH_FLAGS (1u << 27)
#define KCM_TC_MATCH_TIMES_EXACT (1u << 26)
#define KCM_TC_MATCH_TIMES (1u << 25)
#define KCM_TC_MATCH_AUTHDATA (1u << 24)
#define KCM_TC_MATCH_2ND_TKT (1u << 23)
#define KCM_TC_MATCH_IS_SKEY (1u << 22)

/* mcred header bits */
#define KCM_SC_CLIENT 0x01u
#define KCM_SC_SERVER 0x02u
#define KCM_SC_SESSION_KEY 0x04u
#define KCM_SC_TICKET 0x08u
#define KCM_SC_SECOND_TICKET 0x10u
#define KCM_SC_AUTHDATA 0x20u
#define KCM_SC_ADDRESSES 0x40u

/* krb5 error codes used on the wire (values from MIT's krb5.h). */
#define KCM_RC_OK 0
#define KCM_RC_CC_BADNAME ((int32_t)0x96c73a8bu)
#define KCM_RC_CC_NOTFOUND ((int32_t)0x96c73a8du)
#define KCM_RC_CC_END ((int32_t)0x96c73a8eu)
#define KCM_RC_CC_IO ((int32_t)0x96c73ac1u)
#define KCM_RC_FCC_PERM ((int32_t)0x96c73ac2u)
#define KCM_RC_FCC_NOFILE ((int32_t)0x96c73ac3u)
#define KCM_RC_FCC_INTERNAL ((int32_t)0x96c73ac4u)
#define KCM_RC_CC_NOMEM ((int32_t)0x96c73ac6u)
#define KCM_RC_CC_FORMAT ((int32_t)0x96c73ac7u)
#define KCM_RC_CC_NOSUPP ((int32_t)0x96c73af7u)
#define KCM_RC_CC_WRITE ((int32_t)0x96c73aa4u) /* KRB5_CC_WRITE */

/* A principal: views of its realm and of its encoded component list. Two principals are
 * equal ignoring name_type iff ncomps, realm and comps bytes are equal (the encoding is
 * canonical). */
struct kcm_princ {
    int32_t name_type;
    uint32_t ncomps;
    struct util_data realm;
    struct util_data comps; /* ncomps x (u32 len, bytes) */
    struct util_data raw;   /* the whole encoding */
};

struct kcm_keyblock {
    int32_t enctype; /* uint16 on the wire, sign-extended */
    struct util_data key;
};

struct kcm_cred {
    struct kcm_princ client;
    struct kcm_princ server;
    struct kcm_keyblock key;
    uint32_t authtime;
    uint32_t starttime;
    uint32_t endtime;
    uint32_t renew_till;
    uint8_t is_skey;
    uint32_t ticket_flags;
    struct util_data addrs;    /* u32 count + entries, raw */
    struct util_data authdata; /* u32 count + entries, raw */
    struct util_data ticket;
    struct util_data second_ticket;
    struct util_data raw; /* the whole encoding */
};

/* Match template (MIT's k5_marshal_mcred). Absent parts are zero views. */
struct kcm_mcred {
    uint32_t fields; /* KCM_SC_* */
    struct kcm_cred c;
};

struct kcm_req {
    uint16_t opcode;
    const char *name;  /* cache name for ops that carry one */
    const char *name2; /* MOVE_CACHE destination */
    struct kcm_princ princ;
    struct kcm_cred cred;
    struct kcm_mcred mcred;
    uint32_t flags;
    uint8_t uuid[KCM_UUID_LEN];
    int32_t offset;
    uint32_t ncreds;        /* REPLACE */
    struct util_data creds; /* REPLACE: ncreds x (u32 len, cred), each already validated */
};

enum kcm_parse_result {
    KCM_PARSE_OK = 0,        /* known opcode, parameters parsed */
    KCM_PARSE_UNKNOWN_OP,    /* header fine, opcode has no parser: answer FCC_INTERNAL */
    KCM_PARSE_BAD_VERSION,   /* not 2.0 */
    KCM_PARSE_MALFORMED,     /* truncated, trailing bytes, bad counts */
};

/* Parse one request payload (the bytes after the 4-byte length prefix). */
enum kcm_parse_result kcm_req_parse(const uint8_t *p, size_t len, struct kcm_req *req);
const char *kcm_parse_result_str(enum kcm_parse_result r);

bool kcm_parse_princ(struct util_rd *rd, struct kcm_princ *out);
bool kcm_parse_cred(struct util_rd *rd, struct kcm_cred *out);
bool kcm_parse_mcred(struct util_rd *rd, struct kcm_mcred *out);
/* Parse a cred that must fill exactly (p, len). */
bool kcm_cred_from_bytes(const uint8_t *p, size_t len, struct kcm_cred *out);
bool kcm_princ_from_bytes(const uint8_t *p, size_t len, struct kcm_princ *out);
/* REPLACE creds: iterate the validated (len, cred) list. */
bool kcm_cred_list_next(struct util_rd *rd, struct kcm_cred *out);
/* A parsed cred whose bytes (out->raw) were copied to `to`: point every view at the copy.
 * The result equals kcm_cred_from_bytes(to, raw.len), without parsing twice. */
void kcm_cred_rebase(struct kcm_cred *c, const uint8_t *to);

bool kcm_princ_eq(const struct kcm_princ *a, const struct kcm_princ *b);
bool kcm_princ_eq_norealm(const struct kcm_princ *a, const struct kcm_princ *b);
/* MIT's krb5int_cc_creds_match_request(), on wire flag words. */
bool kcm_cred_match(uint32_t flags, const struct kcm_mcred *m, const struct kcm_cred *c);
/* A cache config entry ("krb5_ccache_conf_data" server) never expires. */
bool kcm_cred_is_config(const struct kcm_cred *c);

/* Request encoding (client library, tests, bench). */
void kcm_req_begin(struct util_wr *wr, uint16_t opcode); /* writes placeholder length */
bool kcm_req_finish(struct util_wr *wr);                  /* fills in the length */

/* Reply framing: outer status 0, inner code, then the fields written by the caller.
 * kcm_reply_begin reserves KCM_REPLY_HDR bytes; kcm_reply_finish fills in len and code. */
void kcm_reply_begin(struct util_wr *wr);
bool kcm_reply_finish(struct util_wr *wr, int32_t code);

/* Reply parsing (client side): returns false if malformed; *code is the inner code. */
bool kcm_reply_parse(const uint8_t *p, size_t len, int32_t *code, struct util_rd *body);

const char *kcm_op_name(uint16_t opcode);

#endif
