/*
 * kcmbench: in-process reference servers.
 *
 * - The floor: a single-threaded epoll echo server (16-byte request, 16-byte
 *   reply), the least any server can cost per round trip on AF_UNIX.
 * - The null KCM server: speaks just enough KCM for the workloads and answers
 *   every request with a precomputed reply, storing nothing.  Driven through
 *   libkrb5 like the real servers, it is the best any KCM server could do on
 *   this machine with this client: an upper bound for the ratios.
 */
#include "kcmbench.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- floor: raw AF_UNIX round trips against a single-threaded epoll echo server ---- */

pid_t floor_server_pid = -1;
static char floor_path[96];

static void
floor_serve(int lfd)
{
    struct epoll_event ev, evs[64];
    char buf[4096];
    int ep, n, i;

    ep = epoll_create1(0);
    if (ep < 0) {
        _exit(1);
    }
    ev.events = EPOLLIN;
    ev.data.fd = lfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    for (;;) {
        n = epoll_wait(ep, evs, 64, -1);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        for (i = 0; i < n; i++) {
            int fd = evs[i].data.fd;

            if (fd == lfd) {
                int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (cfd >= 0) {
                    ev.events = EPOLLIN;
                    ev.data.fd = cfd;
                    epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
                }
                continue;
            }
            /*
             * Echo whatever arrived.  Requests are 16 bytes and the client
             * waits for its reply, so a read never holds more than one
             * request; the socket buffer always has room for 16 bytes.
             */
            ssize_t got = read(fd, buf, sizeof(buf));

            if (got <= 0) {
                if (got < 0 && errno == EAGAIN) {
                    continue;
                }
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
                continue;
            }
            if (write(fd, buf, got) != got) {
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
            }
        }
    }
}

void
floor_start(void)
{
    struct sockaddr_un sa;
    int lfd;

    snprintf(floor_path, sizeof(floor_path), "%s/floor.sock", tmpdir);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", floor_path);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(lfd, 128) != 0) {
        die("floor: cannot listen on %s: %s", floor_path, strerror(errno));
    }
    floor_server_pid = fork();
    if (floor_server_pid < 0) {
        die("fork: %s", strerror(errno));
    }
    if (floor_server_pid == 0) {
        floor_serve(lfd);
        _exit(0);
    }
    close(lfd);
}

void
floor_stop(void)
{
    if (floor_server_pid > 0) {
        kill(floor_server_pid, SIGTERM);
        waitpid(floor_server_pid, NULL, 0);
        floor_server_pid = -1;
    }
    unlink(floor_path);
}

int
floor_connect(struct child_result *r)
{
    struct sockaddr_un sa;
    int fd;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", floor_path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        set_err(r, NULL, errno, "floor connect");
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

int
op_floor(int fd, long seq, struct child_result *r)
{
    uint8_t req[FLOOR_MSG], rep[FLOOR_MSG];
    size_t got = 0;
    ssize_t n;

    memset(req, 0, sizeof(req));
    memcpy(req, &seq, sizeof(seq));
    if (write(fd, req, sizeof(req)) != (ssize_t)sizeof(req)) {
        set_err(r, NULL, errno, "floor write");
        return -1;
    }
    while (got < sizeof(rep)) {
        n = read(fd, rep + got, sizeof(rep) - got);
        if (n <= 0) {
            set_err(r, NULL, n < 0 ? errno : EPIPE, "floor read");
            return -1;
        }
        got += n;
    }
    if (memcmp(req, rep, sizeof(req)) != 0) {
        set_err(r, NULL, 0, "floor reply mismatch");
        return -1;
    }
    return 0;
}


/* ---- null KCM server: canned replies ---- */

/* Opcodes (MIT krb5 kcm.h, Heimdal numbering) */
#define OP_GEN_NEW 3
#define OP_INITIALIZE 4
#define OP_DESTROY 5
#define OP_STORE 6
#define OP_RETRIEVE 7
#define OP_GET_PRINCIPAL 8
#define OP_GET_CACHE_UUID_LIST 18
#define OP_GET_CACHE_BY_UUID 19
#define OP_GET_DEFAULT_CACHE 20
#define OP_SET_DEFAULT_CACHE 21
#define OP_GET_KDC_OFFSET 22
#define OP_SET_KDC_OFFSET 23
#define OP_GET_CRED_LIST 13001

#define NULL_MAX_FD 4096
#define NULL_MAX_REQ (1 << 20)

struct wbuf {
    uint8_t *p;
    size_t len;
    size_t cap;
};

static void
wb_put(struct wbuf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (b->p == NULL) {
            _exit(3);
        }
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void
wb_u32(struct wbuf *b, uint32_t v)
{
    uint8_t x[4] = { v >> 24, v >> 16, v >> 8, v };

    wb_put(b, x, 4);
}

static void
wb_u16(struct wbuf *b, uint16_t v)
{
    uint8_t x[2] = { v >> 8, v };

    wb_put(b, x, 2);
}

static void
wb_data(struct wbuf *b, const void *p, size_t n)
{
    wb_u32(b, (uint32_t)n);
    wb_put(b, p, n);
}

static void
wb_cstr(struct wbuf *b, const char *s)
{
    wb_put(b, s, strlen(s) + 1);
}

/* principal, FILE v4 layout: name_type, ncomps, realm, comps ("a/b" splits) */
static void
wb_princ(struct wbuf *b, const char *name)
{
    char comps[4][128];
    int n = 0;
    const char *p = name, *q;

    while (n < 4) {
        q = strchr(p, '/');
        snprintf(comps[n], sizeof(comps[n]), "%.*s", q ? (int)(q - p) : (int)strlen(p), p);
        n++;
        if (q == NULL) {
            break;
        }
        p = q + 1;
    }
    wb_u32(b, KRB5_NT_PRINCIPAL);
    wb_u32(b, (uint32_t)n);
    wb_data(b, BENCH_REALM, strlen(BENCH_REALM));
    for (int i = 0; i < n; i++) {
        wb_data(b, comps[i], strlen(comps[i]));
    }
}

/* A credential like kb_kcm.c's make_cred(), already marshalled. */
static void
wb_cred(struct wbuf *b, const char *server)
{
    uint8_t key[32], *ticket;
    uint32_t now = (uint32_t)time(NULL);

    memset(key, 0x5a, sizeof(key));
    wb_princ(b, "bench000");
    wb_princ(b, server);
    wb_u16(b, ENCTYPE_AES256_CTS_HMAC_SHA1_96);
    wb_data(b, key, sizeof(key));
    wb_u32(b, now);
    wb_u32(b, now);
    wb_u32(b, now + 10 * 3600);
    wb_u32(b, now + 7 * 86400);
    wb_put(b, "\0", 1);                                 /* is_skey */
    wb_u32(b, TKT_FLG_FORWARDABLE | TKT_FLG_RENEWABLE | TKT_FLG_PRE_AUTH);
    wb_u32(b, 0);                                       /* addresses */
    wb_u32(b, 0);                                       /* authdata */
    ticket = calloc(1, opt.ticket_len);
    if (ticket == NULL) {
        _exit(3);
    }
    wb_data(b, ticket, opt.ticket_len);
    free(ticket);
    wb_data(b, NULL, 0);                                /* second ticket */
}

/* Reply frame: len, outer status 0, then code and fields (fields may be NULL). */
static void
make_reply(struct wbuf *out, int32_t code, const struct wbuf *fields)
{
    size_t flen = fields != NULL ? fields->len : 0;

    wb_u32(out, (uint32_t)(4 + flen));
    wb_u32(out, 0);
    wb_u32(out, (uint32_t)code);
    if (flen > 0) {
        wb_put(out, fields->p, flen);
    }
}

static struct {
    struct wbuf ok, internal, notfound, gen_new, principal, offset, default_cache;
    struct wbuf uuid_list, by_uuid[LIST_CACHES], cred[CACHE_CREDS], cred_list;
} canned;

static void
null_prepare(void)
{
    struct wbuf f, one;
    char name[64];
    int i;

    memset(&canned, 0, sizeof(canned));
    make_reply(&canned.ok, 0, NULL);
    make_reply(&canned.internal, KRB5_FCC_INTERNAL, NULL);
    make_reply(&canned.notfound, KRB5_CC_NOTFOUND, NULL);
    memset(&f, 0, sizeof(f));
    wb_cstr(&f, "0:new");
    make_reply(&canned.gen_new, 0, &f);
    f.len = 0;
    wb_princ(&f, "bench000");
    make_reply(&canned.principal, 0, &f);
    f.len = 0;
    wb_u32(&f, 0);
    make_reply(&canned.offset, 0, &f);
    f.len = 0;
    wb_cstr(&f, "0:c0");
    make_reply(&canned.default_cache, 0, &f);
    f.len = 0;
    for (i = 0; i < LIST_CACHES; i++) {
        uint8_t uuid[16] = { 0 };

        uuid[15] = (uint8_t)i;
        wb_put(&f, uuid, sizeof(uuid));
    }
    make_reply(&canned.uuid_list, 0, &f);
    for (i = 0; i < LIST_CACHES; i++) {
        f.len = 0;
        snprintf(name, sizeof(name), "0:c%d", i);
        wb_cstr(&f, name);
        make_reply(&canned.by_uuid[i], 0, &f);
    }
    /* GET_CRED_LIST: count, then (len, cred) each; creds as in kb_kcm.c's credset_make(). */
    f.len = 0;
    wb_u32(&f, CACHE_CREDS);
    memset(&one, 0, sizeof(one));
    for (i = 0; i < CACHE_CREDS; i++) {
        one.len = 0;
        if (i == 0) {
            wb_cred(&one, "krbtgt/" BENCH_REALM);
        } else {
            snprintf(name, sizeof(name), "svc%02d/host%02d.bench.test", i, i);
            wb_cred(&one, name);
        }
        wb_data(&f, one.p, one.len);
        make_reply(&canned.cred[i], 0, &one);
    }
    make_reply(&canned.cred_list, 0, &f);
    free(f.p);
    free(one.p);
}

/* RETRIEVE: the workload asks for svcNN/...; answer with that canned credential. */
static const struct wbuf *
null_retrieve(const uint8_t *req, size_t len)
{
    const uint8_t *p = memmem(req, len, "svc", 3);
    int i;

    if (p == NULL || p + 5 > req + len || p[3] < '0' || p[3] > '9' || p[4] < '0' || p[4] > '9') {
        return &canned.notfound;
    }
    i = (p[3] - '0') * 10 + (p[4] - '0');
    return i > 0 && i < CACHE_CREDS ? &canned.cred[i] : &canned.notfound;
}

/* req points at major, minor, opcode, params; len covers them. */
static const struct wbuf *
null_answer(const uint8_t *req, size_t len)
{
    unsigned op;

    if (len < 4) {
        return &canned.internal;
    }
    op = (unsigned)req[2] << 8 | req[3];
    switch (op) {
    case OP_GEN_NEW:
        return &canned.gen_new;
    case OP_INITIALIZE:
    case OP_DESTROY:
    case OP_STORE:
    case OP_SET_DEFAULT_CACHE:
    case OP_SET_KDC_OFFSET:
        return &canned.ok;
    case OP_RETRIEVE:
        return null_retrieve(req + 4, len - 4);
    case OP_GET_PRINCIPAL:
        return &canned.principal;
    case OP_GET_CACHE_UUID_LIST:
        return &canned.uuid_list;
    case OP_GET_CACHE_BY_UUID:
        if (len >= 4 + 16 && req[4 + 15] < LIST_CACHES) {
            return &canned.by_uuid[req[4 + 15]];
        }
        return &canned.notfound;
    case OP_GET_DEFAULT_CACHE:
        return &canned.default_cache;
    case OP_GET_KDC_OFFSET:
        return &canned.offset;
    case OP_GET_CRED_LIST:
        return &canned.cred_list;
    default:
        return &canned.internal;
    }
}

static int
write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EAGAIN) {
            struct pollfd pfd = { .fd = fd, .events = POLLOUT };

            poll(&pfd, 1, 1000);
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

struct null_conn {
    uint8_t *buf;
    size_t len;
    size_t cap;
};

/* Answer every complete frame in the buffer; -1 drops the connection. */
static int
null_drain(int fd, struct null_conn *c)
{
    size_t off = 0;

    while (c->len - off >= 4) {
        const uint8_t *f = c->buf + off;
        size_t flen = (size_t)f[0] << 24 | (size_t)f[1] << 16 | (size_t)f[2] << 8 | f[3];
        const struct wbuf *rep;

        if (flen > NULL_MAX_REQ) {
            return -1;
        }
        if (c->len - off < 4 + flen) {
            break;
        }
        rep = null_answer(f + 4, flen);
        if (write_all(fd, rep->p, rep->len) != 0) {
            return -1;
        }
        off += 4 + flen;
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
    return 0;
}

static void
null_serve(int lfd)
{
    static struct null_conn conns[NULL_MAX_FD];
    struct epoll_event ev, evs[64];
    int ep, n, i;

    null_prepare();
    ep = epoll_create1(0);
    if (ep < 0) {
        _exit(1);
    }
    ev.events = EPOLLIN;
    ev.data.fd = lfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    for (;;) {
        n = epoll_wait(ep, evs, 64, -1);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        for (i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            struct null_conn *c;
            ssize_t got;

            if (fd == lfd) {
                int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (cfd >= NULL_MAX_FD) {
                    close(cfd);
                } else if (cfd >= 0) {
                    conns[cfd].len = 0;
                    ev.events = EPOLLIN;
                    ev.data.fd = cfd;
                    epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
                }
                continue;
            }
            c = &conns[fd];
            if (c->cap - c->len < 65536) {
                c->cap = c->len + 65536;
                c->buf = realloc(c->buf, c->cap);
                if (c->buf == NULL) {
                    _exit(3);
                }
            }
            got = read(fd, c->buf + c->len, c->cap - c->len);
            if (got < 0 && errno == EAGAIN) {
                continue;
            }
            if (got <= 0 || (c->len += (size_t)got, null_drain(fd, c) != 0)) {
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
                c->len = 0;
            }
        }
    }
}

pid_t
null_server_start(const char *path)
{
    struct sockaddr_un sa;
    pid_t pid;
    int lfd;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(lfd, 128) != 0) {
        die("null server: cannot listen on %s: %s", path, strerror(errno));
    }
    pid = fork();
    if (pid < 0) {
        die("fork: %s", strerror(errno));
    }
    if (pid == 0) {
        null_serve(lfd);
        _exit(0);
    }
    close(lfd);
    return pid;
}

void
null_server_stop(pid_t pid, const char *path)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    unlink(path);
}
