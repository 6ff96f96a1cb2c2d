/* Raw KCM client for the bench programs; see kcmwire.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* setresuid */
#endif
#include "kcmwire.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define KW_TKT_FLAGS 0x40c10000u /* forwardable, renewable, initial, pre-authent */

void kw_buf_reserve(struct kw_buf *b, size_t cap)
{
    if (b->cap >= cap) {
        return;
    }
    b->p = realloc(b->p, cap);
    if (b->p == NULL) {
        fprintf(stderr, "kcmwire: out of memory\n");
        abort();
    }
    b->cap = cap;
}

void kw_buf_free(struct kw_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

/* Writes go through util_wr in measure-then-write fashion per field: the buffer grows to fit,
 * then the field is written for real. */
static uint8_t *room(struct kw_req *r, size_t n)
{
    size_t need = r->wr.len + n;

    if (need > r->buf.cap) {
        size_t cap = r->buf.cap * 2 > need ? r->buf.cap * 2 : need + 4096;
        kw_buf_reserve(&r->buf, cap);
        r->wr.buf = r->buf.p;
        r->wr.cap = r->buf.cap;
    }
    return util_wr_reserve(&r->wr, n);
}

void kw_begin(struct kw_req *r, uint16_t opcode)
{
    kw_buf_reserve(&r->buf, 4096);
    util_wr_init(&r->wr, r->buf.p, r->buf.cap);
    kcm_req_begin(&r->wr, opcode);
}

void kw_bytes(struct kw_req *r, const void *p, size_t n)
{
    uint8_t *d = room(r, n);

    if (d != NULL && n > 0) {
        memcpy(d, p, n);
    }
}

void kw_u32(struct kw_req *r, uint32_t v)
{
    uint8_t b[4];

    util_put_be32(b, v);
    kw_bytes(r, b, 4);
}

void kw_cstr(struct kw_req *r, const char *s)
{
    kw_bytes(r, s, strlen(s) + 1);
}

/* Marshal a principal into w (measure or write). */
static void wr_princ(struct util_wr *w, const char *name)
{
    const char *comps[8];
    size_t lens[8];
    uint32_t n = 0;
    const char *p = name;

    while (n < 8) {
        const char *slash = strchr(p, '/');
        comps[n] = p;
        lens[n] = slash != NULL ? (size_t)(slash - p) : strlen(p);
        n++;
        if (slash == NULL) {
            break;
        }
        p = slash + 1;
    }
    util_wr_i32(w, 1); /* KRB5_NT_PRINCIPAL */
    util_wr_u32(w, n);
    util_wr_u32(w, (uint32_t)strlen(KW_REALM));
    util_wr_bytes(w, KW_REALM, strlen(KW_REALM));
    for (uint32_t i = 0; i < n; i++) {
        util_wr_u32(w, (uint32_t)lens[i]);
        util_wr_bytes(w, comps[i], lens[i]);
    }
}

void kw_princ(struct kw_req *r, const char *name)
{
    struct util_wr m;
    uint8_t *d;

    util_wr_init(&m, NULL, 0);
    wr_princ(&m, name);
    d = room(r, m.len);
    if (d != NULL) {
        util_wr_init(&m, d, m.len);
        wr_princ(&m, name);
    }
}

void kw_cred(struct kw_req *r, const struct kw_buf *cred)
{
    kw_bytes(r, cred->p, cred->len);
}

uint64_t kw_rand(uint64_t *seed)
{
    *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return *seed >> 11;
}

void kw_client_name(char *buf, size_t len, uint32_t uid)
{
    snprintf(buf, len, "u%u", (unsigned)uid);
}

static void wr_cred(struct util_wr *w, const char *client, const char *server, size_t ticket_len,
                    uint64_t *seed)
{
    uint32_t now = (uint32_t)time(NULL);
    uint8_t *t;

    wr_princ(w, client);
    wr_princ(w, server);
    util_wr_u16(w, 18); /* aes256-cts-hmac-sha1-96 */
    util_wr_u32(w, 32);
    t = util_wr_reserve(w, 32);
    for (size_t i = 0; t != NULL && i < 32; i++) {
        t[i] = (uint8_t)kw_rand(seed);
    }
    util_wr_u32(w, now);
    util_wr_u32(w, now);
    util_wr_u32(w, now + 10 * 3600);
    util_wr_u32(w, now + 7 * 86400);
    util_wr_u8(w, 0);
    util_wr_u32(w, KW_TKT_FLAGS);
    util_wr_u32(w, 0); /* addresses */
    util_wr_u32(w, 0); /* authdata */
    util_wr_u32(w, (uint32_t)ticket_len);
    t = util_wr_reserve(w, ticket_len);
    for (size_t i = 0; t != NULL && i < ticket_len; i += 8) {
        uint64_t v = kw_rand(seed);
        memcpy(t + i, &v, ticket_len - i < 8 ? ticket_len - i : 8);
    }
    util_wr_u32(w, 0); /* second ticket */
}

void kw_make_cred(struct kw_buf *out, uint32_t uid, const char *server, size_t ticket_len,
                  uint64_t *seed)
{
    char client[32];
    struct util_wr w;

    kw_client_name(client, sizeof(client), uid);
    if (server == NULL) {
        server = "krbtgt/" KW_REALM;
    }
    util_wr_init(&w, NULL, 0);
    wr_cred(&w, client, server, ticket_len, seed);
    kw_buf_reserve(out, w.len);
    out->len = w.len;
    util_wr_init(&w, out->p, out->len);
    wr_cred(&w, client, server, ticket_len, seed);
}

int kw_connect(const char *path, long euid)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd;
    int e;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "kcmwire: socket path too long: %s\n", path);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "kcmwire: socket: %s\n", strerror(errno));
        return -1;
    }
    if (euid >= 0 && setresuid((uid_t)-1, (uid_t)euid, (uid_t)-1) != 0) {
        fprintf(stderr, "kcmwire: seteuid(%ld): %s\n", euid, strerror(errno));
        close(fd);
        return -1;
    }
    e = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : errno;
    if (euid >= 0 && setresuid((uid_t)-1, 0, (uid_t)-1) != 0) {
        fprintf(stderr, "kcmwire: cannot become root again: %s\n", strerror(errno));
        abort();
    }
    if (e != 0) {
        fprintf(stderr, "kcmwire: connect %s: %s\n", path, strerror(e));
        close(fd);
        return -1;
    }
    return fd;
}

static bool write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static bool read_all(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return false;
        }
        p += r;
        n -= (size_t)r;
    }
    return true;
}

bool kw_call(int fd, struct kw_req *r, struct kw_buf *rep, int32_t *code, struct util_rd *body)
{
    uint32_t plen;

    if (!kcm_req_finish(&r->wr) || !write_all(fd, r->buf.p, r->wr.len)) {
        return false;
    }
    kw_buf_reserve(rep, 4096);
    if (!read_all(fd, rep->p, 8)) {
        return false;
    }
    plen = util_be32(rep->p);
    if (plen > KCM_MAX_REPLY) {
        return false;
    }
    kw_buf_reserve(rep, 8 + (size_t)plen);
    if (!read_all(fd, rep->p + 8, plen)) {
        return false;
    }
    rep->len = 8 + (size_t)plen;
    return kcm_reply_parse(rep->p, rep->len, code, body);
}

double kw_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double kw_cpu_of_pid(long pid)
{
    char path[320];
    struct dirent *de;
    double total = 0;
    bool found = false;
    DIR *d;

    snprintf(path, sizeof(path), "/proc/%ld/task", pid);
    d = opendir(path);
    if (d == NULL) {
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        unsigned long long ns;
        FILE *f;

        if (de->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%ld/task/%s/schedstat", pid, de->d_name);
        f = fopen(path, "r");
        if (f == NULL) {
            continue;
        }
        if (fscanf(f, "%llu", &ns) == 1) {
            total += (double)ns / 1e9;
            found = true;
        }
        fclose(f);
    }
    closedir(d);
    return found ? total : -1;
}

long kw_rss_kib(long pid)
{
    char path[64];
    char line[256];
    long kib = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%ld/status", pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}
