/* Unit tests of the access policy (src/access/access.c), user scope: a non-root peer may name
 * only "<uid>" or "<uid>:*" (MIT's documented convention, Heimdal's name_constraints), not
 * sssd's plain prefix ("1000x", or "100" for uid 1000); root's names are free; collection ops
 * need no name; each uid gets its own collection. */
#include "config.h"

#include "unit_common.h"
#include "common/util_log.h"
#include "access/access.h"

static struct util_peer peer_of(uid_t uid)
{
    struct util_peer p;

    memset(&p, 0, sizeof(p));
    p.pid = 4242;
    p.uid = uid;
    p.gid = uid;
    p.pidfd = -1;
    p.details_known = true; /* the /proc facts are the test's own */
    p.audit_session = UTIL_NO_AUDIT_SESSION;
    return p;
}

static struct access_policy user_policy(void)
{
    struct access_policy pol;

    memset(&pol, 0, sizeof(pol));
    pol.scope = ACCESS_SCOPE_USER;
    return pol;
}

static enum access_result check(uid_t uid, enum access_class cls, const char *name)
{
    struct access_policy pol = user_policy();
    struct util_peer p = peer_of(uid);

    return access_check(&pol, &p, cls, name);
}

static void test_user_namespace(void **state)
{
    static const char *const allowed[] = { "1000", "1000:", "1000:abc", "1000:0",
                                           "1000:1001", "1000::", "1000:x:y" };
    static const char *const denied[] = { "1000x", "100", "10000", "1001", "0", "", ":1000",
                                          " 1000", "1000 ", "1000\n", "01000", "+1000",
                                          "1000/x", "100:1000", "X", "default" };

    for (int cls = ACCESS_READ; cls <= ACCESS_WRITE; cls++) {
        for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
            if (check(1000, cls, allowed[i]) != ACCESS_ALLOW) {
                fail_msg("uid 1000 denied '%s' (class %d)", allowed[i], cls);
            }
        }
        for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
            if (check(1000, cls, denied[i]) != ACCESS_DENY_NAME) {
                fail_msg("uid 1000 allowed '%s' (class %d)", denied[i], cls);
            }
        }
        /* A named op without a name is denied. */
        assert_int_equal(check(1000, cls, NULL), ACCESS_DENY_NAME);
    }
    /* uid 100 may not name uid 1000's caches, nor the reverse. */
    assert_int_equal(check(100, ACCESS_WRITE, "1000"), ACCESS_DENY_NAME);
    assert_int_equal(check(100, ACCESS_WRITE, "100"), ACCESS_ALLOW);
    assert_int_equal(check(100, ACCESS_WRITE, "100:1"), ACCESS_ALLOW);
    /* Extremes of the uid range. */
    assert_int_equal(check(1, ACCESS_WRITE, "1"), ACCESS_ALLOW);
    assert_int_equal(check(1, ACCESS_WRITE, "10"), ACCESS_DENY_NAME);
    assert_int_equal(check(4294967294u, ACCESS_WRITE, "4294967294:x"), ACCESS_ALLOW);
    assert_int_equal(check(4294967294u, ACCESS_WRITE, "429496729"), ACCESS_DENY_NAME);
    assert_int_equal(check(4294967294u, ACCESS_WRITE, "4294967295"), ACCESS_DENY_NAME);
}

static void test_root_free(void **state)
{
    static const char *const names[] = { "0", "0:x", "1000", "1000:x", "anything", "", "KCM:x" };

    for (int cls = ACCESS_COLLECTION; cls <= ACCESS_WRITE; cls++) {
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            assert_int_equal(check(0, cls, names[i]), ACCESS_ALLOW);
        }
    }
}

static void test_collection_ops(void **state)
{
    /* Lists, default cache, GEN_NEW: no name, always allowed. */
    assert_int_equal(check(1000, ACCESS_COLLECTION, NULL), ACCESS_ALLOW);
    assert_int_equal(check(65534, ACCESS_COLLECTION, NULL), ACCESS_ALLOW);
    assert_int_equal(check(0, ACCESS_COLLECTION, NULL), ACCESS_ALLOW);
}

static void test_owner_and_prefix(void **state)
{
    struct access_policy pol = user_policy();
    struct util_peer a = peer_of(1000);
    struct util_peer b = peer_of(1001);
    struct util_peer r = peer_of(0);
    struct store_owner_key ka, kb, kr, ka2;
    char buf[16];

    memset(&ka, 0xaa, sizeof(ka));
    memset(&kb, 0xaa, sizeof(kb));
    memset(&kr, 0xaa, sizeof(kr));
    access_owner_of(&pol, &a, &ka);
    access_owner_of(&pol, &b, &kb);
    access_owner_of(&pol, &r, &kr);
    assert_int_equal(ka.uid, 1000);
    assert_int_equal(ka.session, 0);
    assert_int_equal(kb.uid, 1001);
    assert_int_equal(kr.uid, 0);
    /* Same uid, different pid and audit session: same collection in user scope. */
    a.pid = 1;
    a.audit_session = 7;
    memset(&ka2, 0x55, sizeof(ka2));
    access_owner_of(&pol, &a, &ka2);
    assert_int_equal(ka2.uid, ka.uid);
    assert_int_equal(ka2.session, ka.session);

    access_name_prefix(&b, buf, sizeof(buf));
    assert_string_equal(buf, "1001");
    access_name_prefix(&r, buf, sizeof(buf));
    assert_string_equal(buf, "0");
    /* A generated name is inside the namespace. */
    assert_int_equal(check(1001, ACCESS_WRITE, "1001:0123456789abcdef0123456789abcdef"),
                     ACCESS_ALLOW);

    assert_string_equal(access_result_str(ACCESS_ALLOW), "allowed");
    assert_true(strlen(access_result_str(ACCESS_DENY_NAME)) > 0);
}

int main(void)
{
    /* Denials and refusals are expected here; keep the output to test results. */
    util_log_set_level(UTIL_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user_namespace),
        cmocka_unit_test(test_root_free),
        cmocka_unit_test(test_collection_ops),
        cmocka_unit_test(test_owner_and_prefix),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
