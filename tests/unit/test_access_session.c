/* Unit tests of the session-scope policy (access.c), the session registry (access_reg.c), the
 * boot-id discard and wipes in the store, and the control protocol codec (ctl_codec.c). */
#include "config.h"

#include <talloc.h>
#include <fcntl.h>
#include <unistd.h>

#include "unit_common.h"

#include "access/access.h"
#include "common/util_secmem.h"
#include "ctl/ctl_codec.h"
#include "store/store.h"

static struct util_peer peer(uid_t uid, uint32_t audit, const char *exe, const char *cgroup)
{
    struct util_peer p;

    memset(&p, 0, sizeof(p));
    p.pid = 4242;
    p.uid = uid;
    p.gid = uid;
    p.pidfd = -1;
    p.details_known = true; /* the /proc facts are the test's own */
    p.audit_session = audit;
    snprintf(p.exe, sizeof(p.exe), "%s", exe != NULL ? exe : "/usr/bin/klist");
    snprintf(p.cgroup, sizeof(p.cgroup), "%s", cgroup != NULL ? cgroup : "");
    return p;
}

static void session_policy(struct access_policy *pol, TALLOC_CTX *ctx)
{
    char err[256];

    memset(pol, 0, sizeof(*pol));
    pol->scope = ACCESS_SCOPE_SESSION;
    memset(pol->boot_id, 0xb0, sizeof(pol->boot_id));
    pol->reg = ctx != NULL ? access_registry_new(ctx) : NULL;
    assert_int_equal(access_policy_set_helpers(pol, "/usr/sbin/rpc.gssd /opt/h", err,
                                               sizeof(err)), 0);
}

static void test_session_keys(void **state)
{
    TALLOC_CTX *ctx = talloc_new(NULL);
    struct access_policy pol;
    struct util_peer a = peer(1000, 7, NULL, NULL);
    struct util_peer a2 = peer(1000, 7, "/bin/sh", NULL);
    struct util_peer b = peer(1000, 8, NULL, NULL);
    struct util_peer c = peer(1001, 7, NULL, NULL);
    struct store_owner_key ka, ka2, kb, kc;

    session_policy(&pol, ctx);
    access_owner_of(&pol, &a, &ka);
    access_owner_of(&pol, &a2, &ka2);
    access_owner_of(&pol, &b, &kb);
    access_owner_of(&pol, &c, &kc);
    assert_int_equal(ka.uid, 1000);
    assert_int_equal(ka.session, 7);
    assert_memory_equal(ka.boot_id, pol.boot_id, STORE_BOOT_ID_LEN);
    assert_memory_equal(&ka, &ka2, sizeof(ka));
    assert_int_equal(kb.session, 8);
    assert_int_equal(kc.uid, 1001);
    assert_int_equal(access_kind_of(&pol, &a), ACCESS_KIND_SESSION);
    assert_int_equal(access_check(&pol, &a, ACCESS_READ, "1000"), ACCESS_ALLOW);
    assert_int_equal(access_check(&pol, &a, ACCESS_WRITE, "1000:x"), ACCESS_ALLOW);
    assert_int_equal(access_check(&pol, &a, ACCESS_READ, "1001"), ACCESS_DENY_NAME);
    assert_int_equal(access_check(&pol, &a, ACCESS_COLLECTION, NULL), ACCESS_ALLOW);
    /* user scope ignores sessions entirely */
    pol.scope = ACCESS_SCOPE_USER;
    access_owner_of(&pol, &a, &ka);
    access_owner_of(&pol, &b, &kb);
    assert_memory_equal(&ka, &kb, sizeof(ka));
    assert_int_equal(ka.session, 0);
    talloc_free(ctx);
}

static void test_unsessioned(void **state)
{
    struct access_policy pol;
    struct util_peer p = peer(1000, UTIL_NO_AUDIT_SESSION, "/usr/bin/klist", NULL);
    struct store_owner_key k;
    const uint8_t zero[STORE_BOOT_ID_LEN] = { 0 };

    session_policy(&pol, NULL);
    assert_int_equal(access_kind_of(&pol, &p), ACCESS_KIND_DENIED);
    assert_int_equal(access_check(&pol, &p, ACCESS_COLLECTION, NULL), ACCESS_DENY_UNSESSIONED);
    assert_true(p.access_logged != 0); /* logged, once */
    assert_int_equal(access_check(&pol, &p, ACCESS_READ, "1000"), ACCESS_DENY_UNSESSIONED);
    assert_int_equal(access_check(&pol, &p, ACCESS_WRITE, "1000"), ACCESS_DENY_UNSESSIONED);
    assert_true(strlen(access_result_str(ACCESS_DENY_UNSESSIONED)) > 0);
    pol.unsessioned = ACCESS_UNSESSIONED_USER;
    assert_int_equal(access_kind_of(&pol, &p), ACCESS_KIND_UNSESSIONED);
    assert_int_equal(access_check(&pol, &p, ACCESS_READ, "1000"), ACCESS_ALLOW);
    access_owner_of(&pol, &p, &k);
    assert_int_equal(k.uid, 1000);
    assert_int_equal(k.session, ACCESS_NO_SESSION);
    assert_memory_equal(k.boot_id, zero, sizeof(zero)); /* not bound to a boot */
}

static void test_helpers(void **state)
{
    TALLOC_CTX *ctx = talloc_new(NULL);
    struct access_policy pol;
    struct util_peer h = peer(1000, UTIL_NO_AUDIT_SESSION, "/usr/sbin/rpc.gssd", NULL);
    struct util_peer h_in_login = peer(1000, 9, "/usr/sbin/rpc.gssd", NULL);
    struct util_peer other = peer(1000, UTIL_NO_AUDIT_SESSION, "/usr/sbin/rpc.gssdx", NULL);
    struct util_peer s1 = peer(1000, 11, NULL, NULL);
    struct util_peer s2 = peer(1000, 12, NULL, NULL);
    struct util_peer s3 = peer(1001, 13, NULL, NULL);
    struct store_owner_key k;

    session_policy(&pol, ctx);
    assert_int_equal(access_kind_of(&pol, &h), ACCESS_KIND_HELPER);
    assert_int_equal(access_kind_of(&pol, &h_in_login), ACCESS_KIND_SESSION);
    assert_int_equal(access_kind_of(&pol, &other), ACCESS_KIND_DENIED);
    /* No session used yet: the session-less collection. */
    access_owner_of(&pol, &h, &k);
    assert_int_equal(k.session, ACCESS_NO_SESSION);
    /* Most recently used session of the helper's uid. */
    access_owner_of(&pol, &s1, &k);
    access_owner_of(&pol, &s3, &k);
    access_owner_of(&pol, &h, &k);
    assert_int_equal(k.session, 11);
    assert_memory_equal(k.boot_id, pol.boot_id, STORE_BOOT_ID_LEN);
    access_owner_of(&pol, &s2, &k);
    access_owner_of(&pol, &h, &k);
    assert_int_equal(k.session, 12);
    access_owner_of(&pol, &s1, &k);
    access_owner_of(&pol, &h, &k);
    assert_int_equal(k.session, 11);
    /* A wiped session is forgotten. */
    access_registry_forget_session(pol.reg, 11);
    access_owner_of(&pol, &h, &k);
    assert_int_equal(k.session, ACCESS_NO_SESSION);
    assert_int_equal(access_check(&pol, &h, ACCESS_READ, "1000"), ACCESS_ALLOW);
    assert_int_equal(access_check(&pol, &h, ACCESS_READ, "1001"), ACCESS_DENY_NAME);
    talloc_free(ctx);
}

static void test_helper_list(void **state)
{
    struct access_policy pol;
    char err[256];
    char many[4096] = "";

    memset(&pol, 0, sizeof(pol));
    assert_int_equal(access_policy_set_helpers(&pol, "  /a ,/b\t/c  ", err, sizeof(err)), 0);
    assert_int_equal(pol.nhelpers, 3);
    assert_string_equal(pol.helpers[1], "/b");
    assert_int_equal(access_policy_set_helpers(&pol, "", err, sizeof(err)), 0);
    assert_int_equal(pol.nhelpers, 0);
    assert_int_equal(access_policy_set_helpers(&pol, "/a relative", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "relative"));
    for (int i = 0; i <= ACCESS_MAX_HELPERS; i++) {
        strcat(many, "/x ");
    }
    assert_int_equal(access_policy_set_helpers(&pol, many, err, sizeof(err)), -1);
}

static void test_user_manager(void **state)
{
    TALLOC_CTX *ctx = talloc_new(NULL);
    struct access_policy pol;
    const char *cg = "/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service";
    struct util_peer svc = peer(1000, 20, "/usr/bin/foo", cg);
    struct util_peer mgr = peer(1000, 20, "/usr/lib/systemd/systemd", "/x");
    struct util_peer root_mgr = peer(0, 20, "/usr/lib/systemd/systemd", "/x");
    struct util_peer wrong_uid = peer(1001, 20, "/usr/bin/foo", cg);
    struct util_peer prefix = peer(1000, 20, "/usr/bin/foo",
                                   "/user.slice/user-1000.slice/user@10000.service/x");
    struct access_login *l;

    session_policy(&pol, ctx);
    assert_int_equal(access_kind_of(&pol, &svc), ACCESS_KIND_SESSION); /* deny: default */
    pol.user_manager_allow = true;
    assert_int_equal(access_kind_of(&pol, &svc), ACCESS_KIND_USER_MANAGER);
    assert_int_equal(access_kind_of(&pol, &mgr), ACCESS_KIND_USER_MANAGER);
    assert_int_equal(access_kind_of(&pol, &root_mgr), ACCESS_KIND_SESSION);
    assert_int_equal(access_kind_of(&pol, &wrong_uid), ACCESS_KIND_SESSION);
    assert_int_equal(access_kind_of(&pol, &prefix), ACCESS_KIND_SESSION);
    /* systemd-run --user --scope from login 20: logind knows 20 as a login session. */
    l = access_registry_login_add(pol.reg, "20");
    assert_non_null(l);
    l->audit = 20;
    assert_int_equal(access_kind_of(&pol, &svc), ACCESS_KIND_SESSION);
    access_registry_login_remove(pol.reg, l);
    assert_int_equal(access_kind_of(&pol, &svc), ACCESS_KIND_USER_MANAGER);
    talloc_free(ctx);
}

static void test_registry(void **state)
{
    TALLOC_CTX *ctx = talloc_new(NULL);
    struct access_registry *reg = access_registry_new(ctx);
    struct access_login *a = access_registry_login_add(reg, "c1");
    struct access_login *b = access_registry_login_add(reg, "5");
    uint32_t s;

    assert_non_null(a);
    assert_ptr_equal(access_registry_login_add(reg, "c1"), a);
    assert_int_equal(access_registry_nlogins(reg), 2);
    assert_int_equal(a->audit, ACCESS_NO_SESSION);
    assert_false(access_registry_is_login_audit(reg, 0));
    b->audit = 5;
    assert_true(access_registry_is_login_audit(reg, 5));
    assert_false(access_registry_is_login_audit(reg, UTIL_NO_AUDIT_SESSION));
    assert_ptr_equal(access_registry_login_find(reg, "5"), b);
    access_registry_login_remove(reg, b);
    assert_null(access_registry_login_find(reg, "5"));
    assert_int_equal(access_registry_nlogins(reg), 1);
    assert_false(access_registry_mru(reg, 1000, &s));
    access_registry_touch(reg, 1000, 3);
    access_registry_touch(reg, 1000 + 256, 4); /* same bucket */
    assert_true(access_registry_mru(reg, 1000, &s));
    assert_int_equal(s, 3);
    assert_true(access_registry_mru(reg, 1256, &s));
    assert_int_equal(s, 4);
    access_registry_set_bus_state(reg, true);
    assert_true(access_registry_bus_connected(reg));
    talloc_free(ctx);
}

static void test_boot_id(void **state)
{
    char path[] = "/tmp/cachet-bootid-XXXXXX";
    int fd = mkstemp(path);
    uint8_t a[ACCESS_BOOT_ID_LEN], b[ACCESS_BOOT_ID_LEN];
    const uint8_t want[ACCESS_BOOT_ID_LEN] = { 0x98, 0x96, 0x4c, 0x50, 0xe1, 0x6c, 0x4c, 0xcb,
                                               0xb3, 0xa6, 0x87, 0xc8, 0xbd, 0x97, 0x7a, 0xc3 };

    assert_true(fd >= 0);
    assert_int_equal(write(fd, "98964c50-e16c-4ccb-b3a6-87c8bd977ac3\n", 37), 37);
    close(fd);
    assert_int_equal(access_read_boot_id(path, a), 0);
    assert_memory_equal(a, want, sizeof(want));
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, "boot-2\n", 7), 7);
    close(fd);
    assert_int_equal(access_read_boot_id(path, b), 0);
    assert_memory_not_equal(a, b, sizeof(a));
    unlink(path);
    assert_int_not_equal(access_read_boot_id("/nonexistent/boot_id", a), 0);
}

static struct store_owner *owner_with_cache(struct store *st, uint32_t uid, uint32_t session,
                                            uint8_t boot)
{
    struct store_owner_key k;
    struct store_owner *o;
    struct tc_blob pb;
    struct kcm_princ p;

    memset(&k, 0, sizeof(k));
    k.uid = uid;
    k.session = session;
    memset(k.boot_id, boot, sizeof(k.boot_id));
    o = store_owner_get_or_create(st, &k);
    assert_non_null(o);
    tc_princ_view(&pb, 1, "alice@R", &p);
    assert_int_equal(store_cache_init(st, o, "x", &p, NULL), STORE_OK);
    return o;
}

static void test_store_boot_and_wipe(void **state)
{
    struct store_limits lim = { 64, 1024, 1 << 20 };
    TALLOC_CTX *ctx = talloc_new(NULL);
    struct store *st = store_new(ctx, &lim);
    struct access_policy pol;
    struct store_stats ss;
    uint8_t boot[ACCESS_BOOT_ID_LEN];

    session_policy(&pol, ctx);
    memset(boot, 0xb0, sizeof(boot));
    owner_with_cache(st, 1000, 0, 0);    /* session-less: survives any boot */
    owner_with_cache(st, 1000, 5, 0xb0); /* this boot */
    owner_with_cache(st, 1000, 6, 0xaa); /* an earlier boot */
    owner_with_cache(st, 1001, 6, 0xaa);
    owner_with_cache(st, 1001, 7, 0xb0);
    assert_int_equal(store_discard_other_boots(st, boot), 2);
    store_stats(st, &ss);
    assert_int_equal(ss.owners, 3);
    assert_int_equal(ss.caches, 3);
    /* Logout of session 5 removes exactly that collection. */
    assert_int_equal(access_wipe(&pol, st, -1, 5), 1);
    store_stats(st, &ss);
    assert_int_equal(ss.owners, 2);
    /* purge --uid 1001 */
    assert_int_equal(access_wipe(&pol, st, 1001, ACCESS_NO_SESSION), 1);
    /* never "everything" */
    assert_int_equal(access_wipe(&pol, st, -1, ACCESS_NO_SESSION), 0);
    store_stats(st, &ss);
    assert_int_equal(ss.owners, 1);
    assert_int_equal(ss.caches, 1);
    talloc_free(ctx);
}

static void test_ctl_codec(void **state)
{
    uint8_t buf[4096];
    struct util_wr wr;
    struct util_rd rd;
    struct ctl_req req = { .op = CTL_OP_PURGE, .purge_kind = CTL_PURGE_SESSION,
                           .purge_value = 77 };
    struct ctl_req out;
    struct ctl_status_info st = { .version = "1", .storage = "memory", .scope = "session",
                                  .uptime = 1ull << 40, .caches = 3, .mem_used = 99,
                                  .logind_connected = 1, .secretmem = 1 };
    struct ctl_status_info st2;
    struct ctl_owner_info o = { 1000, 5, "c5", "1000", 1 };
    struct ctl_owner_info o2;
    struct ctl_cache_info c = { "1000", "alice@R", 2, 12345 };
    struct ctl_cache_info c2;
    uint32_t status;
    char name[64];
    struct tc_blob pb;
    struct kcm_princ p;

    util_wr_init(&wr, buf, sizeof(buf));
    assert_true(ctl_req_write(&wr, &req));
    assert_int_equal(util_be32(buf), wr.len - 4);
    assert_true(ctl_req_parse(buf + 4, wr.len - 4, &out));
    assert_int_equal(out.op, CTL_OP_PURGE);
    assert_int_equal(out.purge_kind, CTL_PURGE_SESSION);
    assert_int_equal(out.purge_value, 77);
    assert_false(ctl_req_parse(buf + 4, wr.len - 5, &out)); /* truncated */
    buf[5] = 9;                                              /* version */
    assert_false(ctl_req_parse(buf + 4, wr.len - 4, &out));
    buf[5] = CTL_VERSION;
    buf[8] = 9; /* purge kind */
    assert_false(ctl_req_parse(buf + 4, wr.len - 4, &out));
    req.op = CTL_OP_STATUS;
    util_wr_init(&wr, buf, sizeof(buf));
    assert_true(ctl_req_write(&wr, &req));
    assert_int_equal(wr.len, 8);
    assert_true(ctl_req_parse(buf + 4, 4, &out));

    util_wr_init(&wr, buf, sizeof(buf));
    ctl_reply_begin(&wr);
    ctl_status_write(&wr, &st);
    ctl_owner_write(&wr, &o);
    ctl_cache_write(&wr, &c);
    assert_true(ctl_reply_finish(&wr, CTL_OK));
    assert_int_equal(util_be32(buf), wr.len - 4);
    assert_true(ctl_reply_parse(buf + 4, wr.len - 4, &status, &rd));
    assert_int_equal(status, CTL_OK);
    assert_false(ctl_status_parse(&rd, &st2)); /* trailing owner: full consumption required */
    assert_true(ctl_reply_parse(buf + 4, wr.len - 4, &status, &rd));
    st2.version = NULL;
    {
        struct util_rd sub = rd;
        (void)ctl_status_parse(&sub, &st2);
    }
    assert_string_equal(st2.scope, "session");
    assert_true(st2.uptime == (1ull << 40));
    assert_int_equal(st2.caches, 3);
    assert_int_equal(st2.mem_used, 99);
    assert_int_equal(st2.secretmem, 1);
    assert_false(ctl_reply_parse(buf + 4, 3, &status, &rd));

    util_wr_init(&wr, buf, sizeof(buf));
    ctl_owner_write(&wr, &o);
    ctl_cache_write(&wr, &c);
    util_rd_init(&rd, buf, wr.len);
    assert_true(ctl_owner_parse(&rd, &o2));
    assert_true(ctl_cache_parse(&rd, &c2));
    assert_true(util_rd_done(&rd));
    assert_int_equal(o2.session, 5);
    assert_string_equal(o2.logind_id, "c5");
    assert_string_equal(c2.principal, "alice@R");
    assert_int_equal(c2.expires, 12345);

    tc_princ_view(&pb, 1, "host/a@b.example@R", &p);
    ctl_format_princ(&p, name, sizeof(name));
    assert_string_equal(name, "host/a\\@b.example@R");
    ctl_format_princ(&p, name, 12);
    assert_int_equal(strlen(name), 11);
    assert_non_null(strstr(name, "..."));
    assert_string_equal(ctl_status_str(CTL_OK), "ok");
}

/* logind session ids and cgroups: where the kernel gives no audit session. */
static void test_logind_sessions(void **state)
{
    TALLOC_CTX *ctx = talloc_new(NULL);
    struct access_policy pol;
    struct access_login *l;
    const char *why = NULL;
    char id[ACCESS_LOGIND_ID_MAX];
    struct util_peer in_c7 = peer(1000, UTIL_NO_AUDIT_SESSION, NULL,
                                  "/user.slice/user-1000.slice/session-c7.scope");
    struct util_peer audited = peer(1000, 42, NULL, "/user.slice/user-1000.slice/session-c7.scope");
    struct util_peer other_uid = peer(1001, UTIL_NO_AUDIT_SESSION, NULL,
                                      "/user.slice/user-1001.slice/session-c7.scope");
    struct util_peer unknown = peer(1000, UTIL_NO_AUDIT_SESSION, NULL,
                                    "/user.slice/user-1000.slice/session-c8.scope");
    struct util_peer service = peer(1000, UTIL_NO_AUDIT_SESSION, NULL,
                                    "/system.slice/cron.service");

    (void)state;
    /* Keys: numeric ids are audit ids; "c<N>" sessions get their own range; anything else none. */
    assert_int_equal(access_logind_key("3"), 3);
    assert_int_equal(access_logind_key("c1"), ACCESS_LOGIND_KEY_BASE + 1);
    assert_int_equal(access_logind_key("c0"), ACCESS_LOGIND_KEY_BASE);
    assert_int_equal(access_logind_key("c2147483646"), 0xfffffffeu);
    assert_int_equal(access_logind_key("c2147483647"), ACCESS_NO_SESSION);
    assert_int_equal(access_logind_key("4294967295"), ACCESS_NO_SESSION);
    assert_int_equal(access_logind_key("0"), ACCESS_NO_SESSION);
    assert_int_equal(access_logind_key("c01"), ACCESS_NO_SESSION);
    assert_int_equal(access_logind_key("c"), ACCESS_NO_SESSION);
    assert_int_equal(access_logind_key(""), ACCESS_NO_SESSION);
    assert_int_equal(access_logind_key("x5"), ACCESS_NO_SESSION);
    assert_int_equal(access_logind_key("5x"), ACCESS_NO_SESSION);

    /* cgroups: the session scope must be the first unit, right under the uid's slice. */
    assert_int_equal(access_cgroup_logind_session("/user.slice/user-1000.slice/session-c7.scope",
                                                  1000, id, sizeof(id)), 0);
    assert_string_equal(id, "c7");
    assert_int_equal(access_cgroup_logind_session("/user.slice/user-1000.slice/session-12.scope/x",
                                                  1000, id, sizeof(id)), 0);
    assert_string_equal(id, "12");
    assert_int_equal(access_cgroup_logind_session("/user.slice/user-1000.slice/session-c7.scope",
                                                  1001, id, sizeof(id)), -1);
    assert_int_equal(access_cgroup_logind_session(
                         "/user.slice/user-1000.slice/user@1000.service/app.slice/"
                         "session-c7.scope", 1000, id, sizeof(id)), -1);
    assert_int_equal(access_cgroup_logind_session(
                         "/user.slice/user-1000.slice/x.slice/session-c7.scope", 1000, id,
                         sizeof(id)), -1);
    assert_int_equal(access_cgroup_logind_session("/session-c7.scope", 1000, id, sizeof(id)), -1);
    assert_int_equal(access_cgroup_logind_session("/user.slice/user-1000.slice/session-.scope",
                                                  1000, id, sizeof(id)), -1);
    assert_int_equal(access_cgroup_logind_session("/user.slice/user-1000.slice/session-c/7.scope",
                                                  1000, id, sizeof(id)), -1);
    assert_int_equal(access_cgroup_logind_session("/user.slice/user-1000.slice/session-c.7.scope",
                                                  1000, id, sizeof(id)), -1);
    assert_int_equal(access_cgroup_logind_session("/user.slice/user-1000.slice//session-c7.scope",
                                                  1000, id, sizeof(id)), -1);
    assert_int_equal(access_cgroup_logind_session("/user.slice/user-1000.slice/session-c7.scope",
                                                  1000, id, 2), -1);
    assert_int_equal(access_cgroup_logind_session("", 1000, id, sizeof(id)), -1);
    assert_int_equal(access_cgroup_logind_session("/", 1000, id, sizeof(id)), -1);

    /* Grants: the audit session first; without one, only a session logind lists for the uid. */
    session_policy(&pol, ctx);
    assert_int_equal(access_grant_session(&pol, &audited, &why), 42);
    assert_int_equal(access_grant_session(&pol, &in_c7, &why), ACCESS_NO_SESSION);
    assert_non_null(strstr(why, "logind is not followed"));
    access_registry_set_bus_state(pol.reg, true);
    assert_int_equal(access_grant_session(&pol, &in_c7, &why), ACCESS_NO_SESSION);
    assert_non_null(strstr(why, "does not list"));
    l = access_registry_login_add(pol.reg, "c7");
    assert_non_null(l);
    l->uid = 1000;
    l->audit = access_logind_key("c7");
    assert_int_equal(access_grant_session(&pol, &in_c7, &why), ACCESS_NO_SESSION); /* props? */
    l->props_known = true;
    assert_int_equal(access_grant_session(&pol, &in_c7, &why), ACCESS_LOGIND_KEY_BASE + 7);
    assert_int_equal(access_grant_session(&pol, &unknown, &why), ACCESS_NO_SESSION);
    assert_int_equal(access_grant_session(&pol, &service, &why), ACCESS_NO_SESSION);
    assert_non_null(strstr(why, "no login session"));
    /* A cgroup naming c7 under uid 1001's slice: logind lists c7 for 1000, not 1001. */
    assert_int_equal(access_grant_session(&pol, &other_uid, &why), ACCESS_NO_SESSION);
    assert_non_null(strstr(why, "another uid"));
    access_registry_set_bus_state(pol.reg, false);
    assert_int_equal(access_grant_session(&pol, &in_c7, &why), ACCESS_NO_SESSION);
    /* An unsessioned peer is refused everything but asking for or presenting a capability. */
    assert_int_equal(access_check(&pol, &in_c7, ACCESS_COLLECTION, NULL),
                     ACCESS_DENY_UNSESSIONED);
    assert_int_equal(access_check(&pol, &in_c7, ACCESS_SESSION_BIND, NULL), ACCESS_ALLOW);
    talloc_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_keys),  cmocka_unit_test(test_unsessioned),
        cmocka_unit_test(test_helpers),       cmocka_unit_test(test_helper_list),
        cmocka_unit_test(test_user_manager),  cmocka_unit_test(test_registry),
        cmocka_unit_test(test_boot_id),       cmocka_unit_test(test_store_boot_and_wipe),
        cmocka_unit_test(test_ctl_codec),     cmocka_unit_test(test_logind_sessions),
    };
    const char *why = NULL;

    if (util_secmem_init(UTIL_SECMEM_DEGRADED, &why) != 0) {
        fprintf(stderr, "secure memory: %s\n", why != NULL ? why : "?");
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
