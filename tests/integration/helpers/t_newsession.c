/* t_newsession: start a command in a fresh kernel audit session, as a login would.
 *
 *   t_newsession [-u UID] [-g GID] [-l LOGINUID] [-p] -- COMMAND [ARG]...
 *
 * Writes /proc/self/loginuid (LOGINUID, default UID or the current uid), which makes the
 * kernel allocate a new, never used audit session id; then drops to GID/UID if given
 * (supplementary groups cleared) and execs COMMAND. -p prints the new session id on stdout
 * first. Exit 77 when loginuid cannot be written (already set and immutable, or no
 * CONFIG_AUDIT), so that callers can skip with a reason. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long num(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (*s == '\0' || *end != '\0' || v < 0) {
        fprintf(stderr, "t_newsession: bad number '%s'\n", s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    long uid = -1, gid = -1, loginuid = -1;
    int print = 0;
    int opt;
    int fd;
    char buf[32];
    ssize_t n;

    while ((opt = getopt(argc, argv, "+u:g:l:p")) != -1) {
        switch (opt) {
        case 'u':
            uid = num(optarg);
            break;
        case 'g':
            gid = num(optarg);
            break;
        case 'l':
            loginuid = num(optarg);
            break;
        case 'p':
            print = 1;
            break;
        default:
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "usage: t_newsession [-u UID] [-g GID] [-l LOGINUID] [-p] -- CMD...\n");
        return 2;
    }
    if (loginuid < 0) {
        loginuid = uid >= 0 ? uid : (long)getuid();
    }
    fd = open("/proc/self/loginuid", O_WRONLY | O_CLOEXEC);
    n = snprintf(buf, sizeof(buf), "%ld", loginuid);
    if (fd < 0 || write(fd, buf, (size_t)n) != n) {
        fprintf(stderr, "t_newsession: cannot write /proc/self/loginuid: %s\n", strerror(errno));
        return 77;
    }
    close(fd);
    if (print) {
        fd = open("/proc/self/sessionid", O_RDONLY | O_CLOEXEC);
        n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
        if (n <= 0) {
            fprintf(stderr, "t_newsession: cannot read /proc/self/sessionid\n");
            return 77;
        }
        buf[n] = '\0';
        printf("%s\n", buf);
        fflush(stdout);
        close(fd);
    }
    if (gid >= 0 && (setgroups(0, NULL) != 0 || setgid((gid_t)gid) != 0)) {
        perror("t_newsession: setgid");
        return 1;
    }
    if (uid >= 0 && setuid((uid_t)uid) != 0) {
        perror("t_newsession: setuid");
        return 1;
    }
    execvp(argv[optind], argv + optind);
    fprintf(stderr, "t_newsession: cannot run %s: %s\n", argv[optind], strerror(errno));
    return 127;
}
