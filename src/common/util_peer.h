/* Peer identity captured once at accept() from the kernel (SO_PEERCRED, SO_PEERPIDFD),
 * never from the payload. */
#ifndef CACHET_UTIL_PEER_H
#define CACHET_UTIL_PEER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define UTIL_NO_AUDIT_SESSION 4294967295u
#define UTIL_PEER_EXE_MAX 512
#define UTIL_PEER_CGROUP_MAX 256

struct util_peer {
    pid_t pid;
    uid_t uid;
    gid_t gid;
    int pidfd;              /* -1 until util_peer_details() takes it, or without SO_PEERPIDFD */
    int sockfd;             /* the connection (not owned), for a lazy SO_PEERPIDFD; or -1 */
    uint32_t audit_session; /* UTIL_NO_AUDIT_SESSION when unset or unknown */
    /* Read from /proc/<pid>/ by util_peer_details() (at accept when there is no pidfd, else on
     * first use) and confirmed against the pidfd (or, without one, by an unchanged start
     * time), so a recycled pid never lends its identity. Empty when unknown; a truncated
     * value is also left empty. Read these only after util_peer_details(). */
    bool details_known;
    uint64_t starttime;                 /* /proc/<pid>/stat field 22; 0 if unknown */
    char exe[UTIL_PEER_EXE_MAX];        /* readlink /proc/<pid>/exe; "" for kernel threads */
    bool kthread;                       /* PF_KTHREAD in /proc/<pid>/stat */
    char cgroup[UTIL_PEER_CGROUP_MAX];  /* cgroup v2 path ("0::"), else "name=systemd" path */
    /* Per-connection bookkeeping owned by access/ (which denials were already logged). Not
     * identity: the only field written after accept. */
    uint32_t access_logged;
};

#define UTIL_PF_KTHREAD 0x00200000UL /* include/linux/sched.h */

/* Parse a /proc/<pid>/stat line: start time (field 22) and the PF_KTHREAD task flag (field 9).
 * False if the line is malformed. */
bool util_peer_parse_stat(const char *stat, uint64_t *starttime, bool *kthread);

/* Returns 0 or an errno. The pidfd (if any) belongs to the caller: util_peer_release(). */
int util_peer_from_socket(int fd, struct util_peer *out);
/* accept4() a connection (non-blocking, close-on-exec) and capture its peer. Returns the fd,
 * or -1 (nothing pending, or a failure logged with the prefix who). */
int util_peer_accept(int listen_fd, struct util_peer *out, const char *who);
/* Fill audit_session, starttime, exe and cgroup (once; later calls return at once). */
void util_peer_details(struct util_peer *peer);
void util_peer_release(struct util_peer *peer);

#endif
