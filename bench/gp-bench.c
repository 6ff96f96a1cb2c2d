/* gp-bench (bench/gp-bench.c): kernel-style GSS-Proxy load generator. Sends byte-exact nfsd
 * ACCEPT_SEC_CONTEXT calls (see tests/integration/gpkernel.py for the layout) built from the
 * AP-REQs in TOKFILE ("token HEX" lines from `gp_pair token`), over CONNS connections with up
 * to INFLIGHT calls in flight on each (the kernel: one connection, several calls), and prints
 * accepts per second. Only the reply's major status is checked; a C client keeps the client's
 * CPU cost out of the server's measurement.
 *
 * usage: gp-bench SOCKET TOKFILE CONNS INFLIGHT */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct req {
    uint8_t *buf;
    size_t len;
};

struct conn {
    int fd;
    size_t next, end;  /* request range of this connection */
    unsigned inflight;
    uint8_t in[65536];
    size_t have;
};

static size_t put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return 4;
}

static size_t put_opaque(uint8_t *p, const void *d, uint32_t n)
{
    size_t o = put32(p, n);

    memcpy(p + o, d, n);
    o += n;
    while (o % 4) {
        p[o++] = 0;
    }
    return o;
}

static struct req build(uint32_t xid, const uint8_t *tok, size_t toklen)
{
    struct req r;
    uint8_t *p = malloc(256 + toklen);
    size_t o = 4;

    o += put32(p + o, xid);
    o += put32(p + o, 0);
    o += put32(p + o, 2);
    o += put32(p + o, 400112);
    o += put32(p + o, 1);
    o += put32(p + o, 9);
    o += put32(p + o, 0);
    o += put32(p + o, 0);
    o += put32(p + o, 0);
    o += put32(p + o, 0);
    o += put32(p + o, 0); /* locale */
    o += put32(p + o, 0); /* server_ctx */
    o += put32(p + o, 2);
    o += put_opaque(p + o, "exported_context_type", 22);
    o += put_opaque(p + o, "linux_lucid_v1", 15);
    o += put_opaque(p + o, "exported_creds_type", 20);
    o += put_opaque(p + o, "linux_creds_v1", 15);
    o += put32(p + o, 0); /* context_handle */
    o += put32(p + o, 0); /* cred_handle */
    o += put_opaque(p + o, tok, (uint32_t)toklen);
    o += put32(p + o, 0); /* input_cb */
    o += put32(p + o, 0); /* ret_deleg_cred */
    o += put32(p + o, 0); /* options */
    put32(p, 0x80000000u | (uint32_t)(o - 4));
    r.buf = p;
    r.len = o;
    return r;
}

static uint32_t get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int main(int argc, char **argv)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct req *reqs = NULL;
    size_t n = 0, cap = 0, done = 0, ok = 0;
    char *line = NULL;
    size_t lcap = 0;
    FILE *f;
    unsigned nconns, inflight;
    struct conn *c;
    struct pollfd *pfd;
    struct timespec t0, t1;

    if (argc != 5) {
        fprintf(stderr, "usage: gp-bench SOCKET TOKFILE CONNS INFLIGHT\n");
        return 2;
    }
    nconns = (unsigned)atoi(argv[3]);
    inflight = (unsigned)atoi(argv[4]);
    f = fopen(argv[2], "r");
    if (f == NULL || nconns == 0 || inflight == 0) {
        perror(argv[2]);
        return 2;
    }
    while (getline(&line, &lcap, f) > 0) {
        size_t hl;
        uint8_t *tok;
        if (strncmp(line, "token ", 6) != 0) {
            continue;
        }
        hl = strcspn(line + 6, "\n") / 2;
        tok = malloc(hl);
        for (size_t i = 0; i < hl; i++) {
            sscanf(line + 6 + 2 * i, "%2hhx", &tok[i]);
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            reqs = realloc(reqs, cap * sizeof(*reqs));
        }
        reqs[n] = build((uint32_t)(1000 + n), tok, hl);
        n++;
        free(tok);
    }
    fclose(f);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
    c = calloc(nconns, sizeof(*c));
    pfd = calloc(nconns, sizeof(*pfd));
    for (unsigned i = 0; i < nconns; i++) {
        c[i].fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(c[i].fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
            perror("connect");
            return 1;
        }
        c[i].next = n * i / nconns;
        c[i].end = n * (i + 1) / nconns;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (done < n) {
        for (unsigned i = 0; i < nconns; i++) {
            while (c[i].inflight < inflight && c[i].next < c[i].end) {
                struct req *r = &reqs[c[i].next++];
                if (send(c[i].fd, r->buf, r->len, MSG_NOSIGNAL) != (ssize_t)r->len) {
                    perror("send");
                    return 1;
                }
                c[i].inflight++;
            }
            pfd[i].fd = c[i].fd;
            pfd[i].events = c[i].inflight > 0 ? POLLIN : 0;
        }
        if (poll(pfd, nconns, 30000) <= 0) {
            fprintf(stderr, "gp-bench: no reply within 30 s\n");
            return 1;
        }
        for (unsigned i = 0; i < nconns; i++) {
            ssize_t r;
            if (!(pfd[i].revents & (POLLIN | POLLHUP))) {
                continue;
            }
            r = recv(c[i].fd, c[i].in + c[i].have, sizeof(c[i].in) - c[i].have, 0);
            if (r <= 0) {
                fprintf(stderr, "gp-bench: connection closed\n");
                return 1;
            }
            c[i].have += (size_t)r;
            while (c[i].have >= 4) {
                size_t len = get32(c[i].in) & 0x7fffffff;
                if (c[i].have < 4 + len) {
                    break;
                }
                /* xid, REPLY, ACCEPTED, verf(0,0), SUCCESS, then major (u64) */
                if (len >= 32 && get32(c[i].in + 4 + 20) == 0 && get32(c[i].in + 28) == 0 &&
                    get32(c[i].in + 32) == 0) {
                    ok++;
                }
                memmove(c[i].in, c[i].in + 4 + len, c[i].have - 4 - len);
                c[i].have -= 4 + len;
                c[i].inflight--;
                done++;
            }
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double dt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("accepts %zu ok %zu in %.3f s: %.0f/s (%u connections, %u in flight each)\n", done,
           ok, dt, (double)done / dt, nconns, inflight);
    return ok == done ? 0 : 1;
}
