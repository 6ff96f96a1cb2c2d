/* Session capabilities: the cachet extension opcode spoken by the SESSION ccache type
 * (src/ccache-plugin) and answered by cachetd.
 *
 * A capability is a random 32-byte token bound to (uid, session, boot). cachetd grants one per
 * (uid, session) and only to a peer in that session: its kernel audit session, or where the
 * kernel gives it none, the logind session its cgroup is in (access_grant_session). The
 * client library keeps it in the session keyring (a `user` key readable by possessors only),
 * so the kernel decides who can present it: descendants of the login that kept its session
 * keyring; not a process that joined another keyring (`keyctl new_session`). Presenting a
 * valid capability on a connection binds that connection to the capability's session: the
 * peer's audit_session is set to it, and the access layer keys the collection on it.
 *
 * Wire format (a KCM request/reply, ../shared/spec/kcm-protocol.md §1; integers big-endian):
 *   request  : major 2, minor 0, opcode KCM_OP_CACHET_SESSION_CAP,
 *              u32 version (1), u32 action,
 *              PRESENT only: u32 session, 16 bytes boot id, u32 32, 32 bytes token
 *   reply    : KCM code 0 (anything else: the daemon does not know the opcode), then
 *              u32 status (KCM_SCAP_*),
 *              GRANT, status OK: u32 session, 16 bytes boot id, u32 32, 32 bytes token
 *              PRESENT, status OK: u32 session
 * Pure constants: included by the daemon and by the client library (no talloc here). */
#ifndef CACHET_KCM_SESSION_CAP_H
#define CACHET_KCM_SESSION_CAP_H

#include <stddef.h>
#include <stdint.h>

/* In the MIT extension range (KCM_OP_MIT_EXTENSION_BASE = 13000), well above what MIT uses
 * (13001, 13002) so that a future MIT opcode does not collide. */
/* KCM_OP_CACHET_SESSION_CAP (13100) is in kcm_codec.h with the other opcodes. */

#define KCM_SCAP_VERSION 1
#define KCM_SCAP_TOKEN_LEN 32
#define KCM_SCAP_BOOT_LEN 16
#define KCM_SCAP_MAX_REPLY 64 /* reply fields, the KCM header excluded */

enum kcm_scap_action {
    KCM_SCAP_GRANT = 1,   /* ask for the capability of the caller's audit session */
    KCM_SCAP_PRESENT = 2, /* bind this connection to a capability's session */
};

enum kcm_scap_status {
    KCM_SCAP_OK = 0,
    KCM_SCAP_REFUSED = 1,    /* PRESENT: unknown token, other uid, other boot, bad version */
    KCM_SCAP_NO_SESSION = 2, /* GRANT: the caller is in no session (audit or logind) */
    KCM_SCAP_ISSUED = 3,     /* GRANT: this session's capability was already handed out */
    KCM_SCAP_LIMIT = 4,      /* GRANT: too many capabilities */
};

/* Bounds on the daemon's table (named limits, DESIGN.md §3). When a uid holds
 * KCM_SCAP_MAX_PER_UID capabilities, granting another evicts its least recently used one. */
#define KCM_SCAP_MAX_PER_UID 64
#define KCM_SCAP_MAX_TOTAL 16384

struct util_peer;
struct access_policy;

/* Daemon side (kcm_session_cap.c). pol gives the boot id (the one session collections are
 * keyed on) and decides which session a GRANT is for (access_grant_session: the audit session,
 * else the peer's logind session); frame is the request after the 4-byte length word; the
 * reply fields (not the KCM header) go to out (at least KCM_SCAP_MAX_REPLY bytes). A valid
 * PRESENT sets peer->audit_session for the rest of the connection. Returns a KCM code. */
int32_t kcm_session_cap_handle(struct util_peer *peer, const struct access_policy *pol,
                               const uint8_t *frame, size_t len, uint8_t *out, size_t outcap,
                               size_t *outlen);
/* Drop the capability of a session that ended (for the logind/session registry). */
void kcm_session_cap_forget_session(uint32_t session);
/* Drop every capability and free the table (shutdown, tests). */
void kcm_session_cap_reset(void);
/* Number of live capabilities (status, tests). */
size_t kcm_session_cap_count(void);

#endif
