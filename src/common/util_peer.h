/* Peer identity captured once at accept() from the kernel (SO_PEERCRED, SO_PEERPIDFD),
 * never from the payload. */
#ifndef CACHET_UTIL_PEER_H
#define CACHET_UTIL_PEER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define UTIL_NO_AUDIT_SESSION 4294967295u

struct util_peer {
    pid_t pid;
    uid_t uid;
    gid_t gid;
    int pidfd;              /* -1 when the kernel has no SO_PEERPIDFD */
    uint32_t audit_session; /* UTIL_NO_AUDIT_SESSION when unset or unknown */
};

/* Returns 0 or an errno. The pidfd (if any) belongs to the caller: util_peer_release(). */
int util_peer_from_socket(int fd, struct util_peer *out);
void util_peer_release(struct util_peer *peer);

#endif
