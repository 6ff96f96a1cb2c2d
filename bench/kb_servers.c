/*
 * kcmbench: in-process reference servers.
 *
 * - The floor: a single-threaded epoll echo server (16-byte request, 16-byte
 *   reply), the least any server can cost per round trip on AF_UNIX.
 * - The null KCM server: speaks just enough KCM for the workloads and answers
 *   every request with a precomputed reply, storing nothing.  Driven through
 *   libkrb5 like the real servers, it is the best any KCM server could do on
 *   this machine with this client: an upper bound for the ratios.
 * - The same server with persistence (--null-server=sqlite, =sqlite-seal): before answering,
 *   every change request is appended as one row to a sqlite database set up as cachetd's (WAL,
 *   synchronous = NORMAL, exclusive locking), one transaction per loop round for all waiting
 *   requests (group commit), and with =sqlite-seal a STORE's payload is first encrypted with
 *   krb5_c_encrypt (aes256-cts-hmac-sha384-192, cachetd's record enctype). It keeps no
 *   tables, indexes or deletions: the least any server pays to commit each acknowledged change
 *   to sqlite (and seal each credential) before replying, so the upper bound for a durable
 *   store.
 */
#include "kcmbench.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
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

/* ---- persistence for the null server's durable variants ---- */

static int null_mode;          /* NULL_CANNED, NULL_SQLITE, NULL_SQLITE_SEAL */
static sqlite3 *pdb;
static sqlite3_stmt *p_begin, *p_ins, *p_commit;
static int p_in_tx;
static krb5_context pk;
static krb5_keyblock *pkey;
static uint8_t *pseal;
static size_t pseal_cap;

static void
p_exec(const char *sql)
{
    char *err = NULL;

    if (sqlite3_exec(pdb, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "kcmbench: null server: %s: %s\n", sql, err ? err : "?");
        _exit(4);
    }
}

static void
p_step(sqlite3_stmt *st)
{
    if (sqlite3_step(st) != SQLITE_DONE) {
        fprintf(stderr, "kcmbench: null server: sqlite: %s\n", sqlite3_errmsg(pdb));
        _exit(4);
    }
    sqlite3_reset(st);
}

static void
persist_open(const char *dbpath)
{
    if (sqlite3_open(dbpath, &pdb) != SQLITE_OK) {
        fprintf(stderr, "kcmbench: null server: cannot open %s\n", dbpath);
        _exit(4);
    }
    p_exec("PRAGMA locking_mode = EXCLUSIVE");
    p_exec("PRAGMA journal_mode = WAL");
    p_exec("PRAGMA synchronous = NORMAL");
    p_exec("PRAGMA journal_size_limit = 8388608");
    p_exec("CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY, rec BLOB NOT NULL)");
    if (sqlite3_prepare_v3(pdb, "BEGIN IMMEDIATE", -1, SQLITE_PREPARE_PERSISTENT, &p_begin,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(pdb, "INSERT INTO log (rec) VALUES (?1)", -1,
                           SQLITE_PREPARE_PERSISTENT, &p_ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(pdb, "COMMIT", -1, SQLITE_PREPARE_PERSISTENT, &p_commit,
                           NULL) != SQLITE_OK) {
        fprintf(stderr, "kcmbench: null server: prepare: %s\n", sqlite3_errmsg(pdb));
        _exit(4);
    }
    if (null_mode == NULL_SQLITE_SEAL) {
        pkey = calloc(1, sizeof(*pkey));
        if (pkey == NULL || krb5_init_context(&pk) != 0 ||
            krb5_c_make_random_key(pk, ENCTYPE_AES256_CTS_HMAC_SHA384_192, pkey) != 0) {
            fprintf(stderr, "kcmbench: null server: cannot make a sealing key\n");
            _exit(4);
        }
    }
}

/* Append one change request (sealed if it is a STORE and sealing is on) to the open
 * transaction, starting one if needed. */
static void
persist(const uint8_t *req, size_t len, unsigned op)
{
    const void *rec = req;
    size_t n = len;

    if (!p_in_tx) {
        p_step(p_begin);
        p_in_tx = 1;
    }
    if (null_mode == NULL_SQLITE_SEAL && op == OP_STORE) {
        krb5_data in = { .magic = KV5M_DATA, .length = (unsigned)len, .data = (char *)req };
        krb5_enc_data enc;
        size_t clen;

        if (krb5_c_encrypt_length(pk, pkey->enctype, len, &clen) != 0) {
            _exit(4);
        }
        if (clen > pseal_cap) {
            pseal = realloc(pseal, clen);
            pseal_cap = clen;
            if (pseal == NULL) {
                _exit(3);
            }
        }
        memset(&enc, 0, sizeof(enc));
        enc.ciphertext.data = (char *)pseal;
        enc.ciphertext.length = (unsigned)clen;
        if (krb5_c_encrypt(pk, pkey, 1, NULL, &in, &enc) != 0) {
            _exit(4);
        }
        rec = pseal;
        n = enc.ciphertext.length;
    }
    sqlite3_bind_blob(p_ins, 1, rec, (int)n, SQLITE_STATIC);
    p_step(p_ins);
}

static void
persist_commit(void)
{
    if (p_in_tx) {
        p_step(p_commit);
        p_in_tx = 0;
    }
}

static int
is_change(unsigned op)
{
    return op == OP_GEN_NEW || op == OP_INITIALIZE || op == OP_DESTROY || op == OP_STORE ||
           op == OP_SET_DEFAULT_CACHE || op == OP_SET_KDC_OFFSET;
}

/* Replies held until the round's commit: (fd, canned reply). */
struct pending {
    int fd;
    const struct wbuf *rep;
};
static struct pending *pend;
static size_t npend, pend_cap;

static void
pend_add(int fd, const struct wbuf *rep)
{
    if (npend == pend_cap) {
        pend_cap = pend_cap ? 2 * pend_cap : 64;
        pend = realloc(pend, pend_cap * sizeof(*pend));
        if (pend == NULL) {
            _exit(3);
        }
    }
    pend[npend].fd = fd;
    pend[npend].rep = rep;
    npend++;
}

static void
pend_forget(int fd)
{
    for (size_t i = 0; i < npend; i++) {
        if (pend[i].fd == fd) {
            pend[i].fd = -1;
        }
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
        if (null_mode != NULL_CANNED) {
            unsigned op = flen >= 4 ? (unsigned)f[6] << 8 | f[7] : 0;

            if (is_change(op)) {
                persist(f + 8, flen - 4, op);
            }
            pend_add(fd, rep);
        } else if (write_all(fd, rep->p, rep->len) != 0) {
            return -1;
        }
        off += 4 + flen;
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
    return 0;
}

/* Commit the round's changes, then send the replies that waited for it. */
static void
null_flush(void)
{
    persist_commit();
    for (size_t i = 0; i < npend; i++) {
        if (pend[i].fd >= 0) {
            (void)write_all(pend[i].fd, pend[i].rep->p, pend[i].rep->len);
        }
    }
    npend = 0;
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
                pend_forget(fd);
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
                c->len = 0;
            }
        }
        null_flush();
    }
}

static char null_db[128];

pid_t
null_server_start(const char *path, int mode)
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
        null_mode = mode;
        if (mode != NULL_CANNED) {
            persist_open(null_db);
        }
        null_serve(lfd);
        _exit(0);
    }
    close(lfd);
    return pid;
}

/* The database sits next to the socket (the run's private directory). */
void
null_server_db(const char *dir)
{
    snprintf(null_db, sizeof(null_db), "%s/null.sqlite", dir);
}

void
null_server_stop(pid_t pid, const char *path)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    unlink(path);
    if (null_db[0] != '\0') {
        char p[160];

        unlink(null_db);
        snprintf(p, sizeof(p), "%s-wal", null_db);
        unlink(p);
        snprintf(p, sizeof(p), "%s-shm", null_db);
        unlink(p);
    }
}
