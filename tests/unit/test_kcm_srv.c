/* Unit tests of KCM connection I/O (src/kcm/kcm_srv.c) on a real unix socket and tevent loop:
 * a reply larger than the socket buffer goes out in pieces as the client reads (POLLOUT), and
 * the connection then answers the next request. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <talloc.h>
#include <tevent.h>
#include <unistd.h>

#include "unit_common.h"
#include "unit_kcm.h"
#include "access/access.h"
#include "common/util_log.h"
#include "common/util_secmem.h"
#include "kcm/kcm_srv.h"
#include "store/store.h"

#define NCREDS 160
#define TICKET_LEN 8000 /* NCREDS x TICKET_LEN: over a megabyte, far beyond a socket buffer */

struct fx {
    TALLOC_CTX *mem;
    struct tevent_context *ev;
    struct store *st;
    struct store_limits lim;
    struct access_policy pol;
    struct kcm_ctx k;
    struct kcm_srv *srv;
    char dir[64];
    char path[108];
    int cfd;
    bool timed_out;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct kcm_srv_limits sl = { .max_frame = 1u << 20, .max_conns_per_uid = 8,
                                 .idle_timeout = 0 };
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int lfd;

    f->mem = talloc_new(NULL);
    f->ev = tevent_context_init(f->mem);
    assert_non_null(f->ev);
    tc_kcm_setup(f->mem, 8, &f->lim, &f->pol, &f->st, &f->k);
    f->srv = kcm_srv_new(f->mem, f->ev, &f->k, &sl);
    assert_non_null(f->srv);
    strcpy(f->dir, "/tmp/test_kcm_srv.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/kcm.sock", f->dir);
    strcpy(sa.sun_path, f->path);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 8), 0);
    assert_int_equal(kcm_srv_add_listener(f->srv, lfd), 0);
    f->cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(f->cfd >= 0);
    assert_int_equal(connect(f->cfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(fcntl(f->cfd, F_SETFL, O_NONBLOCK), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    close(f->cfd);
    talloc_free(f->mem);
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void give_up(struct tevent_context *ev, struct tevent_timer *te, struct timeval now,
                    void *pvt)
{
    struct fx *f = pvt;

    f->timed_out = true;
}

/* A cache "<uid>" of the test's own uid with NCREDS big tickets, straight into the store. */
static void fill_cache(struct fx *f, char *name, size_t len)
{
    struct store_owner_key key;
    struct store_owner *o;
    struct store_cache *c = NULL;
    struct tc_blob *b = malloc(sizeof(*b));
    struct kcm_princ p;
    struct kcm_cred v;
    char *ticket = malloc(TICKET_LEN + 1);

    memset(&key, 0, sizeof(key));
    key.uid = (uint32_t)getuid();
    snprintf(name, len, "%u", (unsigned)key.uid);
    o = store_owner_get_or_create(f->st, &key);
    assert_non_null(o);
    tc_princ_view(b, 1, "alice@R", &p);
    assert_int_equal(store_cache_init(f->st, o, name, &p, &c), STORE_OK);
    memset(ticket, 'T', TICKET_LEN);
    ticket[TICKET_LEN] = '\0';
    for (int i = 0; i < NCREDS; i++) {
        char server[32];
        struct tc_cred tc;
        snprintf(server, sizeof(server), "host/h%d@R", i);
        tc = tc_cred_std("alice@R", server, 5000);
        tc.ticket = ticket;
        tc_cred_view(b, &tc, &v);
        assert_int_equal(store_cred_add(f->st, c, &v), STORE_OK);
    }
    free(ticket);
    free(b);
}

static void send_frame(struct fx *f, struct tc_frame *fr)
{
    size_t len;

    (void)tc_frame_end(fr, &len); /* the payload; the frame is the length word and it */
    assert_int_equal(send(f->cfd, fr->buf, len + 4, MSG_NOSIGNAL), (ssize_t)(len + 4));
}

/* Run the loop, reading what the server sends, until one whole reply is in buf. Returns its
 * length. */
static size_t await_reply(struct fx *f, uint8_t *buf, size_t cap)
{
    struct tevent_timer *te = tevent_add_timer(f->ev, f->mem, tevent_timeval_current_ofs(10, 0),
                                               give_up, f);
    size_t have = 0;

    assert_non_null(te);
    f->timed_out = false;
    for (;;) {
        ssize_t n = recv(f->cfd, buf + have, cap - have, 0);
        if (n > 0) {
            have += (size_t)n;
        } else {
            assert_true(n < 0 && errno == EAGAIN);
        }
        /* A reply is its length word, the outer status, then that many bytes. */
        if (have >= 8 && have == 8 + (size_t)util_be32(buf)) {
            break;
        }
        assert_true(tevent_loop_once(f->ev) == 0);
        if (f->timed_out) {
            fail_msg("no complete reply (%zu bytes in)", have);
        }
    }
    talloc_free(te);
    return have;
}

/* With no request in flight the connection waits for input only: one loop round passes
 * before a timer fires, none is spent on a writable socket. */
static void assert_idle(struct fx *f)
{
    struct tevent_timer *te = tevent_add_timer(f->ev, f->mem,
                                               tevent_timeval_current_ofs(0, 20000), give_up, f);
    int rounds = 0;

    assert_non_null(te);
    f->timed_out = false;
    while (!f->timed_out && rounds < 100) {
        assert_true(tevent_loop_once(f->ev) == 0);
        rounds++;
    }
    assert_int_equal(rounds, 1);
}

static void test_big_reply_then_next_request(void **state)
{
    struct fx *f = *state;
    struct tc_frame *fr = malloc(sizeof(*fr));
    size_t cap = (size_t)NCREDS * (TICKET_LEN + 1024) + 4096;
    uint8_t *buf = malloc(cap);
    struct util_rd body;
    int32_t code;
    char name[16];
    size_t len;

    fill_cache(f, name, sizeof(name));
    for (int round = 0; round < 2; round++) {
        /* The reply is about 1.3 MB: send() stops at the socket buffer, the rest waits for
         * POLLOUT while the client reads. */
        util_wr_cstr(tc_frame_begin(fr, KCM_OP_GET_CRED_LIST), name);
        send_frame(f, fr);
        len = await_reply(f, buf, cap);
        assert_true(len > (size_t)NCREDS * TICKET_LEN);
        assert_true(kcm_reply_parse(buf, len, &code, &body));
        assert_int_equal(code, KCM_RC_OK);
        assert_int_equal(util_rd_u32(&body), NCREDS);
        /* Afterwards the connection reads again: the next request is answered. */
        util_wr_cstr(tc_frame_begin(fr, KCM_OP_GET_PRINCIPAL), name);
        send_frame(f, fr);
        len = await_reply(f, buf, cap);
        assert_true(kcm_reply_parse(buf, len, &code, &body));
        assert_int_equal(code, KCM_RC_OK);
        assert_idle(f);
    }
    assert_int_equal(kcm_srv_connections(f->srv), 1);
    free(buf);
    free(fr);
}

/* A request already waiting when the connection is accepted is answered in that same loop
 * round; one that comes later is answered when it comes. */
static void test_first_request_at_accept(void **state)
{
    struct fx *f = *state;
    struct tc_frame *fr = malloc(sizeof(*fr));
    uint8_t buf[256];
    struct util_rd body;
    int32_t code;
    ssize_t n;

    (void)tc_frame_begin(fr, KCM_OP_NOOP);
    send_frame(f, fr);
    assert_true(tevent_loop_once(f->ev) == 0); /* the listener's round */
    assert_int_equal(kcm_srv_connections(f->srv), 1);
    n = recv(f->cfd, buf, sizeof(buf), 0);
    assert_int_equal(n, KCM_REPLY_HDR);
    assert_true(kcm_reply_parse(buf, (size_t)n, &code, &body));
    assert_int_equal(code, KCM_RC_OK);

    /* A second client that connects, lets the server accept, then asks. */
    {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int first = f->cfd;
        int rounds = 0;

        strcpy(sa.sun_path, f->path);
        f->cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        assert_true(f->cfd >= 0);
        assert_int_equal(connect(f->cfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        while (kcm_srv_connections(f->srv) != 2 && rounds++ < 10) {
            assert_true(tevent_loop_once(f->ev) == 0);
        }
        assert_int_equal(kcm_srv_connections(f->srv), 2);
        assert_true(recv(f->cfd, buf, sizeof(buf), 0) < 0 && errno == EAGAIN);
        (void)tc_frame_begin(fr, KCM_OP_NOOP);
        send_frame(f, fr);
        assert_int_equal(await_reply(f, buf, sizeof(buf)), KCM_REPLY_HDR);
        close(first);
    }
    free(fr);
}

static int connect_client(struct fx *f)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

    assert_true(fd >= 0);
    strcpy(sa.sun_path, f->path);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static void send_noop(struct tc_frame *fr, int fd)
{
    size_t len;

    (void)tc_frame_begin(fr, KCM_OP_NOOP);
    (void)tc_frame_end(fr, &len);
    assert_int_equal(send(fd, fr->buf, len + 4, MSG_NOSIGNAL), (ssize_t)(len + 4));
}

/* Memory storage, several clients: once the connections have been served side by side, one
 * loop round answers every one of them that has a request waiting. */
static void test_one_round_serves_all_waiting(void **state)
{
    struct fx *f = *state;
    struct tc_frame *fr = malloc(sizeof(*fr));
    int fds[4];
    int n = (int)(sizeof(fds) / sizeof(fds[0]));
    uint8_t buf[64];
    int rounds = 0;
    int answered = 0;

    fds[0] = f->cfd;
    for (int i = 1; i < n; i++) {
        fds[i] = connect_client(f);
    }
    while (kcm_srv_connections(f->srv) != (unsigned)n && rounds++ < 20) {
        assert_true(tevent_loop_once(f->ev) == 0);
    }
    assert_int_equal(kcm_srv_connections(f->srv), n);
    /* A first exchange on each, whatever rounds it takes. */
    for (int i = 0; i < n; i++) {
        send_noop(fr, fds[i]);
    }
    for (rounds = 0; answered < n && rounds < 20; rounds++) {
        assert_true(tevent_loop_once(f->ev) == 0);
        for (int i = 0; i < n; i++) {
            answered += recv(fds[i], buf, sizeof(buf), 0) == KCM_REPLY_HDR;
        }
    }
    assert_int_equal(answered, n);
    /* Now all of them at once: one round. */
    for (int i = 0; i < n; i++) {
        send_noop(fr, fds[i]);
    }
    assert_true(tevent_loop_once(f->ev) == 0);
    for (int i = 0; i < n; i++) {
        assert_int_equal(recv(fds[i], buf, sizeof(buf), 0), KCM_REPLY_HDR);
    }
    /* A client that hangs up is closed in such a round too; the others are still served. */
    close(fds[1]);
    send_noop(fr, fds[2]);
    assert_true(tevent_loop_once(f->ev) == 0);
    assert_int_equal(kcm_srv_connections(f->srv), n - 1);
    assert_int_equal(recv(fds[2], buf, sizeof(buf), 0), KCM_REPLY_HDR);
    for (int i = 2; i < n; i++) {
        close(fds[i]);
    }
    f->cfd = fds[0];
    free(fr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_big_reply_then_next_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_request_at_accept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_round_serves_all_waiting, setup, teardown),
    };

    util_log_set_level(UTIL_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
