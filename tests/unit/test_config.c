/* Unit tests of the INI configuration parser (src/common/util_config.c) through cachetd's option
 * table (src/cachetd_conf.c): defaults, every kind of invalid value giving an error that names
 * FILE:LINE and the option, unknown keys only warning, octal socket_mode, ranges. */
#include "config.h"

#include <fcntl.h>
#include <unistd.h>

#include "unit_common.h"
#include "cachetd_conf.h"
#include "common/util_config.h"

static char g_dir[] = "/tmp/cachet-test-config.XXXXXX";
static char g_path[256];

static int group_setup(void **state)
{
    assert_non_null(mkdtemp(g_dir));
    snprintf(g_path, sizeof(g_path), "%s/cachet.conf", g_dir);
    return 0;
}

static int group_teardown(void **state)
{
    unlink(g_path);
    rmdir(g_dir);
    return 0;
}

static void write_conf(const char *text)
{
    FILE *f = fopen(g_path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Load text; returns the rc, the error in err, and what was written to stderr in log. */
static int load(const char *text, struct cachetd_conf *cfg, char *err, size_t errlen, char *log,
                size_t loglen)
{
    char logpath[300];
    int saved;
    int fd;
    int rc;
    ssize_t n;

    write_conf(text);
    snprintf(logpath, sizeof(logpath), "%s/stderr", g_dir);
    fflush(stderr);
    saved = dup(2);
    fd = open(logpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    memset(cfg, 0x5a, sizeof(*cfg));
    err[0] = '\0';
    rc = cachetd_conf_load(cfg, g_path, false, err, errlen);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    n = pread(fd, log, loglen - 1, 0);
    log[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(logpath);
    return rc;
}

static void expect_defaults(const struct cachetd_conf *c)
{
    assert_string_equal(c->socket_path, CACHET_DEFAULT_SOCKET);
    assert_int_equal(c->socket_mode, 0666);
    assert_int_equal(c->log_level, 2); /* info */
    assert_int_equal(c->max_frame_size, 10485760);
    assert_int_equal(c->max_caches_per_uid, 64);
    assert_int_equal(c->max_creds_per_cache, 1024);
    assert_int_equal(c->max_bytes_per_uid, 67108864);
    assert_int_equal(c->max_connections_per_uid, 64);
    assert_int_equal(c->idle_timeout, 300);
    assert_int_equal(c->purge_interval, 60);
    assert_true(c->mit_extensions);
    assert_int_equal(c->storage, CACHETD_STORAGE_SQLITE);
    assert_string_equal(c->state_dir, CACHET_DEFAULT_STATEDIR);
    assert_int_equal(c->memlock, CACHETD_MEMLOCK_REFUSE);
}

static void test_defaults(void **state)
{
    struct cachetd_conf c;
    char err[512] = "";
    char log[4096];

    memset(&c, 0x5a, sizeof(c));
    assert_int_equal(cachetd_conf_load(&c, NULL, false, err, sizeof(err)), 0);
    expect_defaults(&c);
    /* A missing file is fine only when allowed. */
    memset(&c, 0x5a, sizeof(c));
    assert_int_equal(cachetd_conf_load(&c, "/nonexistent/cachet.conf", true, err, sizeof(err)),
                     0);
    expect_defaults(&c);
    assert_int_equal(cachetd_conf_load(&c, "/nonexistent/cachet.conf", false, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "/nonexistent/cachet.conf"));
    /* An empty file, or only comments and a section: defaults. */
    assert_int_equal(load("", &c, err, sizeof(err), log, sizeof(log)), 0);
    expect_defaults(&c);
    assert_int_equal(load("# comment\n; other comment\n\n[cachetd]\n   \n", &c, err, sizeof(err),
                          log, sizeof(log)),
                     0);
    expect_defaults(&c);
    assert_string_equal(log, "");
}

static void test_values(void **state)
{
    struct cachetd_conf c;
    char err[512];
    char log[4096];

    assert_int_equal(load("[cachetd]\n"
                          "socket_path = /tmp/x.sock\n"
                          "  socket_mode=0600  \n"
                          "log_level = debug\n"
                          "max_frame_size = 4096\n"
                          "max_caches_per_uid = 10000\n"
                          "max_creds_per_cache = 1\n"
                          "max_bytes_per_uid = 65536\n"
                          "max_connections_per_uid = 5\n"
                          "idle_timeout = 0\n"
                          "purge_interval = 86400\n"
                          "mit_extensions = no\n"
                          "storage = memory\n"
                          "state_dir = /var/tmp/st\n"
                          "memlock = degraded\n",
                          &c, err, sizeof(err), log, sizeof(log)),
                     0);
    assert_string_equal(c.socket_path, "/tmp/x.sock");
    assert_int_equal(c.socket_mode, 0600);
    assert_int_equal(c.log_level, 3);
    assert_int_equal(c.max_frame_size, 4096);
    assert_int_equal(c.max_caches_per_uid, 10000);
    assert_int_equal(c.max_creds_per_cache, 1);
    assert_int_equal(c.max_bytes_per_uid, 65536);
    assert_int_equal(c.max_connections_per_uid, 5);
    assert_int_equal(c.idle_timeout, 0);
    assert_int_equal(c.purge_interval, 86400);
    assert_false(c.mit_extensions);
    assert_int_equal(c.storage, CACHETD_STORAGE_MEMORY);
    assert_string_equal(c.state_dir, "/var/tmp/st");
    assert_int_equal(c.memlock, CACHETD_MEMLOCK_DEGRADED);

    /* Booleans in every spelling; later lines win. */
    static const char *const yes[] = { "yes", "YES", "true", "True", "1" };
    static const char *const no[] = { "no", "No", "false", "FALSE", "0" };
    for (size_t i = 0; i < 5; i++) {
        char text[128];
        snprintf(text, sizeof(text), "[cachetd]\nmit_extensions = %s\n", no[i]);
        assert_int_equal(load(text, &c, err, sizeof(err), log, sizeof(log)), 0);
        assert_false(c.mit_extensions);
        snprintf(text, sizeof(text), "[cachetd]\nmit_extensions = %s\nmit_extensions=%s\n", no[i],
                 yes[i]);
        assert_int_equal(load(text, &c, err, sizeof(err), log, sizeof(log)), 0);
        assert_true(c.mit_extensions);
    }
}

static void test_octal_mode(void **state)
{
    static const struct {
        const char *v;
        int ok;
        uint64_t mode;
    } cases[] = {
        { "0666", 1, 0666 }, { "0600", 1, 0600 }, { "600", 1, 0600 }, { "0777", 1, 0777 },
        { "0", 1, 0 },       { "0000", 1, 0 },    { "0800", 0, 0 },   { "0999", 0, 0 },
        { "01000", 0, 0 },   { "-1", 0, 0 },      { "0x1ff", 0, 0 },  { "rw-rw-rw-", 0, 0 },
        { "", 0, 0 },        { "06 66", 0, 0 },
    };
    struct cachetd_conf c;
    char err[512];
    char log[4096];
    char text[128];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(text, sizeof(text), "[cachetd]\nsocket_mode = %s\n", cases[i].v);
        if (cases[i].ok) {
            if (load(text, &c, err, sizeof(err), log, sizeof(log)) != 0) {
                fail_msg("socket_mode '%s' rejected: %s", cases[i].v, err);
            }
            assert_int_equal(c.socket_mode, cases[i].mode);
        } else {
            if (load(text, &c, err, sizeof(err), log, sizeof(log)) != -1) {
                fail_msg("socket_mode '%s' accepted", cases[i].v);
            }
            assert_non_null(strstr(err, "cachet.conf:2:"));
            assert_non_null(strstr(err, "'socket_mode'"));
        }
    }
    /* The range is printed in octal. */
    assert_int_equal(load("[cachetd]\nsocket_mode = 01000\n", &c, err, sizeof(err), log,
                          sizeof(log)),
                     -1);
    assert_non_null(strstr(err, "0..777"));
}

/* Every invalid value is an error naming FILE:LINE and the option. */
static void test_invalid_values(void **state)
{
    static const struct {
        const char *key;
        const char *val;
        const char *why; /* a part of the message */
    } cases[] = {
        { "log_level", "verbose", "allowed: error warning info debug" },
        { "log_level", "", NULL },
        { "max_frame_size", "4095", "out of range" },
        { "max_frame_size", "10485761", "out of range" },
        { "max_frame_size", "abc", "integer" },
        { "max_frame_size", "10M", "integer" },
        { "max_frame_size", "-4096", "non-negative" },
        { "max_frame_size", "18446744073709551616", "integer" },
        { "max_caches_per_uid", "0", "1..10000" },
        { "max_caches_per_uid", "10001", "out of range" },
        { "max_creds_per_cache", "100001", "out of range" },
        { "max_bytes_per_uid", "65535", "out of range" },
        { "max_bytes_per_uid", "1073741825", "out of range" },
        { "max_connections_per_uid", "0", "out of range" },
        { "idle_timeout", "86401", "out of range" },
        { "idle_timeout", "1.5", "integer" },
        { "purge_interval", "0", "out of range" },
        { "purge_interval", "", NULL },
        { "mit_extensions", "maybe", "yes" },
        { "mit_extensions", "", NULL },
        { "storage", "ldb", "sqlite memory" },
        { "storage", "Memory", NULL },
        { "memlock", "yes", "refuse degraded" },
        { "socket_path", "", "empty" },
        { "state_dir", "", "empty" },
    };
    struct cachetd_conf c;
    char err[4096];
    char log[4096];
    char text[256];
    char where[300];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(text, sizeof(text), "# line 1\n[cachetd]\nstorage = memory\n%s = %s\n",
                 cases[i].key, cases[i].val);
        if (load(text, &c, err, sizeof(err), log, sizeof(log)) != -1) {
            fail_msg("%s = '%s' accepted", cases[i].key, cases[i].val);
        }
        snprintf(where, sizeof(where), "%s:4: option '%s'", g_path, cases[i].key);
        if (strstr(err, where) == NULL) {
            fail_msg("%s = '%s': error '%s' does not name '%s'", cases[i].key, cases[i].val,
                     err, where);
        }
        if (cases[i].why != NULL && strstr(err, cases[i].why) == NULL) {
            fail_msg("%s = '%s': error '%s' lacks '%s'", cases[i].key, cases[i].val, err,
                     cases[i].why);
        }
    }
    /* A value longer than the buffer. */
    {
        char *big = malloc(CACHETD_PATH_MAX + 64);
        char *t = malloc(CACHETD_PATH_MAX + 128);
        memset(big, 'p', CACHETD_PATH_MAX + 10);
        big[0] = '/';
        big[CACHETD_PATH_MAX + 10] = '\0';
        snprintf(t, CACHETD_PATH_MAX + 128, "[cachetd]\nsocket_path = %s\n", big);
        assert_int_equal(load(t, &c, err, sizeof(err), log, sizeof(log)), -1);
        assert_non_null(strstr(err, ":2: option 'socket_path'"));
        assert_non_null(strstr(err, "too long"));
        /* Exactly the longest that fits. */
        big[CACHETD_PATH_MAX - 1] = '\0';
        snprintf(t, CACHETD_PATH_MAX + 128, "[cachetd]\nsocket_path = %s\n", big);
        assert_int_equal(load(t, &c, err, sizeof(err), log, sizeof(log)), 0);
        assert_int_equal(strlen(c.socket_path), CACHETD_PATH_MAX - 1);
        free(big);
        free(t);
    }
}

static void test_syntax_errors(void **state)
{
    struct cachetd_conf c;
    char err[1024];
    char log[4096];

    assert_int_equal(load("[cachetd]\nstorage memory\n", &c, err, sizeof(err), log, sizeof(log)),
                     -1);
    assert_non_null(strstr(err, "cachet.conf:2:"));
    assert_int_equal(load("\n\n[cachetd\n", &c, err, sizeof(err), log, sizeof(log)), -1);
    assert_non_null(strstr(err, "cachet.conf:3:"));
    assert_non_null(strstr(err, "section"));
    assert_int_equal(load("[cachetd] x\n", &c, err, sizeof(err), log, sizeof(log)), -1);
    assert_non_null(strstr(err, "cachet.conf:1:"));
    /* A line longer than the reader's buffer. */
    {
        size_t n = 10000;
        char *t = malloc(n + 64);
        strcpy(t, "[cachetd]\n# ");
        memset(t + strlen(t), 'x', n);
        strcpy(t + 12 + n, "\nstorage = memory\n");
        assert_int_equal(load(t, &c, err, sizeof(err), log, sizeof(log)), -1);
        assert_non_null(strstr(err, "cachet.conf:2:"));
        assert_non_null(strstr(err, "too long"));
        free(t);
    }
    /* No newline at the end of the last line is fine. */
    assert_int_equal(load("[cachetd]\nstorage = memory", &c, err, sizeof(err), log, sizeof(log)),
                     0);
    assert_int_equal(c.storage, CACHETD_STORAGE_MEMORY);
}

/* Unknown keys and sections: a warning naming file:line, never an error. */
static void test_unknown_keys_warn(void **state)
{
    struct cachetd_conf c;
    char err[1024];
    char log[4096];

    assert_int_equal(load("[cachetd]\nstorage = memory\nno_such_option = 1\n", &c, err,
                          sizeof(err), log, sizeof(log)),
                     0);
    assert_string_equal(err, "");
    assert_int_equal(c.storage, CACHETD_STORAGE_MEMORY);
    assert_non_null(strstr(log, "cachet.conf:3: unknown option 'no_such_option'"));
    /* A known key in another section, or before any section, is unknown there. */
    assert_int_equal(load("storage = memory\n[other]\nstorage = memory\n[cachetd]\n", &c, err,
                          sizeof(err), log, sizeof(log)),
                     0);
    assert_int_equal(c.storage, CACHETD_STORAGE_SQLITE);
    assert_non_null(strstr(log, "cachet.conf:1: unknown option 'storage'"));
    assert_non_null(strstr(log, "cachet.conf:3: unknown option 'storage' in section [other]"));
    /* Keys are case-sensitive. */
    assert_int_equal(load("[cachetd]\nStorage = memory\n", &c, err, sizeof(err), log,
                          sizeof(log)),
                     0);
    assert_int_equal(c.storage, CACHETD_STORAGE_SQLITE);
    assert_non_null(strstr(log, "unknown option 'Storage'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_octal_mode),
        cmocka_unit_test(test_invalid_values),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_unknown_keys_warn),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
