/* Peer identity at accept; see util_peer.h. */
#include "config.h"
#include "common/util_peer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/* Read /proc/<pid>/sessionid, then confirm through the pidfd that <pid> is still the peer
 * (a recycled pid would make the read meaningless). */
static uint32_t read_audit_session(pid_t pid, int pidfd)
{
    char path[64];
    char buf[32];
    ssize_t n;
    int fd;
    unsigned long v;
    char *end;

    snprintf(path, sizeof(path), "/proc/%d/sessionid", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return UTIL_NO_AUDIT_SESSION;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) {
        return UTIL_NO_AUDIT_SESSION;
    }
    buf[n] = '\0';
    v = strtoul(buf, &end, 10);
    if (end == buf || v > UINT32_MAX) {
        return UTIL_NO_AUDIT_SESSION;
    }
    if (pidfd >= 0) {
        char fdinfo[64];
        char line[128];
        FILE *f;
        long fpid = -1;
        snprintf(fdinfo, sizeof(fdinfo), "/proc/self/fdinfo/%d", pidfd);
        f = fopen(fdinfo, "re");
        while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
            if (sscanf(line, "Pid: %ld", &fpid) == 1) {
                break;
            }
        }
        if (f != NULL) {
            fclose(f);
        }
        if (fpid != (long)pid) {
            return UTIL_NO_AUDIT_SESSION; /* peer gone or pid recycled */
        }
    }
    return (uint32_t)v;
}

int util_peer_from_socket(int fd, struct util_peer *out)
{
    struct ucred cr;
    socklen_t len = sizeof(cr);
    int pidfd = -1;
    socklen_t plen = sizeof(pidfd);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
        return errno;
    }
    out->pid = cr.pid;
    out->uid = cr.uid;
    out->gid = cr.gid;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &plen) != 0) {
        pidfd = -1;
    }
    out->pidfd = pidfd;
    out->audit_session = cr.pid > 0 ? read_audit_session(cr.pid, pidfd) : UTIL_NO_AUDIT_SESSION;
    return 0;
}

void util_peer_release(struct util_peer *peer)
{
    if (peer->pidfd >= 0) {
        close(peer->pidfd);
        peer->pidfd = -1;
    }
}
