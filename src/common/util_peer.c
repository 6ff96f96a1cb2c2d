/* Peer identity at accept; see util_peer.h. */
#include "config.h"
#include "common/util_peer.h"
#include "common/util_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/* Read a small /proc/<pid>/<what> file into buf (NUL-terminated). Returns the length or -1. */
static ssize_t read_proc(pid_t pid, const char *what, char *buf, size_t len)
{
    char path[64];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0) {
        return -1;
    }
    buf[n] = '\0';
    return n;
}

static uint32_t read_audit_session(pid_t pid)
{
    char buf[32];
    unsigned long v;
    char *end;

    if (read_proc(pid, "sessionid", buf, sizeof(buf)) <= 0) {
        return UTIL_NO_AUDIT_SESSION;
    }
    v = strtoul(buf, &end, 10);
    if (end == buf || v > UINT32_MAX) {
        return UTIL_NO_AUDIT_SESSION;
    }
    return (uint32_t)v;
}

bool util_peer_parse_stat(const char *stat, uint64_t *starttime, bool *kthread)
{
    /* The comm field (2) may contain spaces and parentheses: count from the last ')'. Field 9
     * is the task flags, field 22 the start time. */
    const char *p = strrchr(stat, ')');
    unsigned long flags = 0;
    int field = 2;
    char *end;

    if (p == NULL) {
        return false;
    }
    p++;
    while (*p != '\0' && field < 22) {
        if (*p++ == ' ') {
            field++;
            if (field == 9) {
                flags = strtoul(p, &end, 10);
                if (end == p) {
                    return false;
                }
            }
        }
    }
    if (field != 22) {
        return false;
    }
    *starttime = strtoull(p, &end, 10);
    *kthread = (flags & UTIL_PF_KTHREAD) != 0;
    return end != p;
}

/* Start time (0 if unknown) and whether the task is a kernel thread. */
static uint64_t read_starttime(pid_t pid, bool *kthread)
{
    char buf[1024];
    uint64_t start = 0;
    bool kt = false;

    if (read_proc(pid, "stat", buf, sizeof(buf)) <= 0 ||
        !util_peer_parse_stat(buf, &start, &kt)) {
        start = 0;
        kt = false;
    }
    if (kthread != NULL) {
        *kthread = kt;
    }
    return start;
}

static void read_exe(pid_t pid, char *out, size_t len)
{
    char path[64];
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
    n = readlink(path, out, len);
    if (n <= 0 || (size_t)n >= len) {
        out[0] = '\0'; /* unreadable or truncated: unknown */
        return;
    }
    out[n] = '\0';
}

static void read_cgroup(pid_t pid, char *out, size_t len)
{
    char buf[4096];
    char *line;
    char *save = NULL;

    out[0] = '\0';
    if (read_proc(pid, "cgroup", buf, sizeof(buf)) <= 0) {
        return;
    }
    /* The unified hierarchy's path; on a legacy or hybrid host where that says nothing ("/"
     * or no "0::" line), systemd's own "name=systemd" hierarchy, where it places units. */
    for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        const char *path = NULL;
        const char *named = strstr(line, ":name=systemd:");

        if (strncmp(line, "0::", 3) == 0 && strcmp(line + 3, "/") != 0) {
            path = line + 3;
        } else if (named != NULL && out[0] == '\0') {
            path = named + strlen(":name=systemd:");
        }
        if (path != NULL && strlen(path) < len && (out[0] == '\0' || line[0] == '0')) {
            memcpy(out, path, strlen(path) + 1);
        }
    }
}

/* Is the process behind pidfd still <pid>? (A reaped or recycled pid makes /proc reads
 * meaningless.) */
static bool pidfd_is(int pidfd, pid_t pid)
{
    char fdinfo[64];
    char line[128];
    FILE *f;
    long fpid = -1;

    snprintf(fdinfo, sizeof(fdinfo), "/proc/self/fdinfo/%d", pidfd);
    f = fopen(fdinfo, "re");
    if (f == NULL) {
        return false;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "Pid: %ld", &fpid) == 1) {
            break;
        }
    }
    fclose(f);
    return fpid == (long)pid;
}

static void forget_proc_facts(struct util_peer *out)
{
    out->audit_session = UTIL_NO_AUDIT_SESSION;
    out->starttime = 0;
    out->exe[0] = '\0';
    out->cgroup[0] = '\0';
    out->kthread = false;
}

/* The /proc facts cost a dozen system calls; user-scope KCM never needs them, so they are
 * read on first use. With a pidfd that is still race-free: the pidfd names the connect-time
 * process, and the reads are confirmed against it. */
void util_peer_details(struct util_peer *peer)
{
    uint64_t start_before;
    pid_t pid = peer->pid;

    if (peer->details_known) {
        return;
    }
    peer->details_known = true;
    forget_proc_facts(peer);
    if (pid <= 0) {
        return;
    }
    if (peer->pidfd < 0 && peer->sockfd >= 0) {
        /* The socket holds the connect-time peer, so a pidfd taken now still names it (or
         * fails if it is gone): taking it lazily keeps accept() cheap and stays race-free. */
        int pidfd = -1;
        socklen_t plen = sizeof(pidfd);
        if (getsockopt(peer->sockfd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &plen) == 0) {
            peer->pidfd = pidfd;
        } else {
            return; /* the peer is gone: nothing from /proc can be trusted */
        }
    }
    /* Without a pidfd, an unchanged start time around the reads is the best available check
     * that the pid was not recycled meanwhile (it cannot see a recycle before the first read). */
    start_before = read_starttime(pid, &peer->kthread);
    peer->audit_session = read_audit_session(pid);
    /* A kernel thread (the kernel's RPC client reconnecting from an nfsd thread) has no
     * executable: it must never pass for a program. */
    if (!peer->kthread) {
        read_exe(pid, peer->exe, sizeof(peer->exe));
    }
    read_cgroup(pid, peer->cgroup, sizeof(peer->cgroup));
    peer->starttime = read_starttime(pid, NULL);
    if (peer->pidfd >= 0 ? !pidfd_is(peer->pidfd, pid)
                         : (start_before == 0 || peer->starttime != start_before)) {
        forget_proc_facts(peer); /* peer gone or pid recycled */
    }
}

int util_peer_from_socket(int fd, struct util_peer *out)
{
    /* -1 unknown, 0 no SO_PEERPIDFD (kernel < 6.5), 1 supported. */
    static int pidfd_supported = -1;
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
    out->access_logged = 0;
    out->details_known = false;
    out->sockfd = fd;
    out->pidfd = -1;
    forget_proc_facts(out);
    if (pidfd_supported == 1) {
        return 0; /* pidfd and /proc facts on first use (util_peer_details) */
    }
    if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &plen) == 0) {
        pidfd_supported = 1;
        out->pidfd = pidfd;
        return 0;
    }
    if (errno == ENOPROTOOPT || errno == EINVAL) {
        pidfd_supported = 0;
    }
    /* No pidfd: only now, at accept, is the pid surely the peer's. */
    out->sockfd = -1;
    util_peer_details(out);
    return 0;
}

int util_peer_accept(int listen_fd, struct util_peer *out, const char *who)
{
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    int err;

    if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
            util_log(UTIL_LOG_WARNING, "%saccept failed: %s", who, strerror(errno));
        }
        return -1;
    }
    err = util_peer_from_socket(fd, out);
    if (err != 0) {
        util_log(UTIL_LOG_WARNING, "%scannot identify peer: %s", who, strerror(err));
        close(fd);
        return -1;
    }
    return fd;
}

void util_peer_release(struct util_peer *peer)
{
    if (peer->pidfd >= 0) {
        close(peer->pidfd);
        peer->pidfd = -1;
    }
}
