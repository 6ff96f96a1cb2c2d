/*
 * t_collection: ccache collection semantics through the public krb5 API.
 *
 * Usage: t_collection COLLECTION REALM     (e.g. t_collection KCM: CACHET.TEST)
 *
 * Written for cachet from the behaviour described in the project's KCM spec
 * (section 2.4 and 7): the collection starts empty; krb5_cc_new_unique gives
 * distinct names; caches without a principal are not listed; the primary
 * ("default") name is stable across destroying the primary; krb5_cc_switch
 * changes the primary; a collection cursor yields the primary first.
 * Needs no KDC: caches are only initialized, never filled with tickets.
 * Exit 0 on success, 1 on the first failed check (with a message).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <krb5.h>

#define MAX_LISTED 32

static krb5_context ctx;
static const char *coll_type;
static int checks;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void check(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("t_collection: FAIL: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void check_krb(krb5_error_code ret, const char *what)
{
    const char *msg;

    if (ret == 0) {
        return;
    }
    msg = krb5_get_error_message(ctx, ret);
    fprintf(stderr, "t_collection: FAIL: %s: %s (%ld)\n", what, msg, (long)ret);
    krb5_free_error_message(ctx, msg);
    exit(1);
}

static void check(int cond, const char *fmt, ...)
{
    va_list ap;

    checks++;
    if (cond) {
        return;
    }
    va_start(ap, fmt);
    fputs("t_collection: FAIL: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* The collection as seen through a cursor: residual names of caches of our
 * type, in cursor order. Caches of other types (the cursor walks every
 * registered type) are ignored. */
struct listing {
    int n;
    char *names[MAX_LISTED];
};

static void list_collection(struct listing *l)
{
    krb5_cccol_cursor cursor;
    krb5_ccache cc;
    krb5_error_code ret;

    memset(l, 0, sizeof(*l));
    check_krb(krb5_cccol_cursor_new(ctx, &cursor), "krb5_cccol_cursor_new");
    for (;;) {
        ret = krb5_cccol_cursor_next(ctx, cursor, &cc);
        check_krb(ret, "krb5_cccol_cursor_next");
        if (cc == NULL) {
            break;
        }
        if (strcmp(krb5_cc_get_type(ctx, cc), coll_type) == 0) {
            if (l->n == MAX_LISTED) {
                die("more than %d caches in the collection", MAX_LISTED);
            }
            l->names[l->n] = strdup(krb5_cc_get_name(ctx, cc));
            if (l->names[l->n] == NULL) {
                die("out of memory");
            }
            l->n++;
        }
        krb5_cc_close(ctx, cc);
    }
    check_krb(krb5_cccol_cursor_free(ctx, &cursor), "krb5_cccol_cursor_free");
}

static void free_listing(struct listing *l)
{
    int i;

    for (i = 0; i < l->n; i++) {
        free(l->names[i]);
    }
    l->n = 0;
}

static int listed(const struct listing *l, const char *name)
{
    int i;

    for (i = 0; i < l->n; i++) {
        if (strcmp(l->names[i], name) == 0) {
            return 1;
        }
    }
    return 0;
}

static void print_listing(const char *when, const struct listing *l)
{
    int i;

    printf("t_collection: %s: %d cache(s):", when, l->n);
    for (i = 0; i < l->n; i++) {
        printf(" %s", l->names[i]);
    }
    printf("\n");
}

/* Assert the collection holds exactly the given names (any order) and, if
 * first is not NULL, that the cursor yields it first. */
static void expect_collection(const char *when, const char *first, int n, ...)
{
    struct listing l;
    va_list ap;
    int i;

    list_collection(&l);
    print_listing(when, &l);
    check(l.n == n, "%s: expected %d cache(s) in the collection, found %d", when, n, l.n);
    va_start(ap, n);
    for (i = 0; i < n; i++) {
        const char *name = va_arg(ap, const char *);
        check(listed(&l, name), "%s: cache %s missing from the collection", when, name);
    }
    va_end(ap);
    if (first != NULL) {
        check(l.n > 0 && strcmp(l.names[0], first) == 0,
              "%s: cursor must yield the primary %s first, got %s", when, first,
              l.n > 0 ? l.names[0] : "(nothing)");
    }
    free_listing(&l);
}

/* Residual name of the current primary cache (what the collection resolves to). */
static char *primary_name(void)
{
    krb5_ccache cc;
    char *name;

    check_krb(krb5_cc_default(ctx, &cc), "krb5_cc_default");
    check(strcmp(krb5_cc_get_type(ctx, cc), coll_type) == 0,
          "default cache has type %s, expected %s", krb5_cc_get_type(ctx, cc), coll_type);
    name = strdup(krb5_cc_get_name(ctx, cc));
    if (name == NULL) {
        die("out of memory");
    }
    krb5_cc_close(ctx, cc);
    return name;
}

static krb5_principal make_princ(const char *user, const char *realm)
{
    krb5_principal p;
    char buf[256];

    snprintf(buf, sizeof(buf), "%s@%s", user, realm);
    check_krb(krb5_parse_name(ctx, buf, &p), "krb5_parse_name");
    return p;
}

static krb5_ccache resolve(const char *residual)
{
    krb5_ccache cc;
    char buf[512];

    snprintf(buf, sizeof(buf), "%s:%s", coll_type, residual);
    check_krb(krb5_cc_resolve(ctx, buf, &cc), "krb5_cc_resolve");
    return cc;
}

int main(int argc, char **argv)
{
    krb5_principal p_prim, p_u1, p_u2, p_none, got;
    krb5_ccache prim, u1, u2, match, cc;
    krb5_error_code ret;
    char *prim_name, *u1_name, *u2_name, *name;
    const char *realm;

    if (argc != 3 || strchr(argv[1], ':') == NULL) {
        fprintf(stderr, "usage: %s COLLECTION REALM   (e.g. KCM: CACHET.TEST)\n", argv[0]);
        return 2;
    }
    realm = argv[2];
    check_krb(krb5_init_context(&ctx), "krb5_init_context");
    check_krb(krb5_cc_set_default_name(ctx, argv[1]), "krb5_cc_set_default_name");
    coll_type = strdup(argv[1]);
    if (coll_type == NULL) {
        die("out of memory");
    }
    *strchr((char *)coll_type, ':') = '\0';

    p_prim = make_princ("primary", realm);
    p_u1 = make_princ("unique1", realm);
    p_u2 = make_princ("unique2", realm);
    p_none = make_princ("nobody-here", realm);

    /* 1. The collection starts out empty. */
    expect_collection("initially", NULL, 0);
    ret = krb5_cc_cache_match(ctx, p_prim, &match);
    check(ret == KRB5_CC_NOTFOUND, "cache_match in an empty collection: expected "
          "KRB5_CC_NOTFOUND, got %ld", (long)ret);

    /* 2. The primary has a name even when nothing exists. */
    prim_name = primary_name();
    printf("t_collection: primary name %s\n", prim_name);

    /* 3. new_unique: distinct names, none equal to the primary, and an
     * uninitialized cache is not part of the collection. */
    check_krb(krb5_cc_new_unique(ctx, coll_type, NULL, &u1), "krb5_cc_new_unique 1");
    check_krb(krb5_cc_new_unique(ctx, coll_type, NULL, &u2), "krb5_cc_new_unique 2");
    u1_name = strdup(krb5_cc_get_name(ctx, u1));
    u2_name = strdup(krb5_cc_get_name(ctx, u2));
    if (u1_name == NULL || u2_name == NULL) {
        die("out of memory");
    }
    printf("t_collection: new_unique gave %s and %s\n", u1_name, u2_name);
    check(strcmp(u1_name, u2_name) != 0, "new_unique returned the same name twice: %s", u1_name);
    check(strcmp(u1_name, prim_name) != 0 && strcmp(u2_name, prim_name) != 0,
          "new_unique returned the primary's name %s", prim_name);
    expect_collection("after new_unique x2 (uninitialized)", NULL, 0);

    /* 4. Initializing one unique cache makes exactly that one appear. */
    check_krb(krb5_cc_initialize(ctx, u1, p_u1), "krb5_cc_initialize u1");
    expect_collection("after initializing u1", NULL, 1, u1_name);
    check_krb(krb5_cc_get_principal(ctx, u1, &got), "krb5_cc_get_principal u1");
    check(krb5_principal_compare(ctx, got, p_u1), "u1 principal does not round-trip");
    krb5_free_principal(ctx, got);

    /* 5. cache_match finds by principal; unknown principal -> KRB5_CC_NOTFOUND. */
    check_krb(krb5_cc_cache_match(ctx, p_u1, &match), "krb5_cc_cache_match unique1");
    check(strcmp(krb5_cc_get_name(ctx, match), u1_name) == 0,
          "cache_match(unique1) gave %s, expected %s", krb5_cc_get_name(ctx, match), u1_name);
    krb5_cc_close(ctx, match);
    ret = krb5_cc_cache_match(ctx, p_none, &match);
    check(ret == KRB5_CC_NOTFOUND, "cache_match(unknown principal): expected "
          "KRB5_CC_NOTFOUND, got %ld", (long)ret);

    /* 6. Initialize the primary: it is listed first. */
    check_krb(krb5_cc_default(ctx, &prim), "krb5_cc_default");
    check_krb(krb5_cc_initialize(ctx, prim, p_prim), "krb5_cc_initialize primary");
    expect_collection("after initializing the primary", prim_name, 2, prim_name, u1_name);
    name = primary_name();
    check(strcmp(name, prim_name) == 0, "initializing a cache moved the primary from %s to %s",
          prim_name, name);
    free(name);

    /* 7. Initializing another cache does not change the primary. */
    check_krb(krb5_cc_initialize(ctx, u2, p_u2), "krb5_cc_initialize u2");
    expect_collection("after initializing u2", prim_name, 3, prim_name, u1_name, u2_name);

    /* 8. Re-initializing an existing cache keeps it a single cache. */
    check_krb(krb5_cc_initialize(ctx, u2, p_u2), "krb5_cc_initialize u2 again");
    expect_collection("after re-initializing u2", prim_name, 3, prim_name, u1_name, u2_name);

    /* 9. Switch makes u1 the primary and the cursor yields it first. */
    check_krb(krb5_cc_switch(ctx, u1), "krb5_cc_switch u1");
    name = primary_name();
    check(strcmp(name, u1_name) == 0, "after switch to %s the primary is %s", u1_name, name);
    free(name);
    expect_collection("after switch to u1", u1_name, 3, prim_name, u1_name, u2_name);

    /* 10. Switch to u2, then back to the original primary. */
    check_krb(krb5_cc_switch(ctx, u2), "krb5_cc_switch u2");
    expect_collection("after switch to u2", u2_name, 3, prim_name, u1_name, u2_name);
    check_krb(krb5_cc_switch(ctx, prim), "krb5_cc_switch primary");
    expect_collection("after switch back", prim_name, 3, prim_name, u1_name, u2_name);

    /* 11. Destroying the primary: the primary *name* stays, the cache is gone,
     * and re-resolving it gives an uninitialized cache. */
    check_krb(krb5_cc_destroy(ctx, prim), "krb5_cc_destroy primary");
    name = primary_name();
    check(strcmp(name, prim_name) == 0,
          "primary name changed from %s to %s after destroying the primary", prim_name, name);
    free(name);
    expect_collection("after destroying the primary", NULL, 2, u1_name, u2_name);
    cc = resolve(prim_name);
    ret = krb5_cc_get_principal(ctx, cc, &got);
    check(ret != 0, "destroyed primary %s still has a principal", prim_name);
    krb5_cc_close(ctx, cc);

    /* 12. Re-initializing the primary name brings it back, listed first. */
    check_krb(krb5_cc_default(ctx, &prim), "krb5_cc_default again");
    check_krb(krb5_cc_initialize(ctx, prim, p_prim), "krb5_cc_initialize primary again");
    expect_collection("after re-creating the primary", prim_name, 3, prim_name, u1_name, u2_name);

    /* 13. Destroy everything: the collection is empty again. */
    check_krb(krb5_cc_destroy(ctx, u1), "krb5_cc_destroy u1");
    expect_collection("after destroying u1", prim_name, 2, prim_name, u2_name);
    check_krb(krb5_cc_destroy(ctx, u2), "krb5_cc_destroy u2");
    check_krb(krb5_cc_destroy(ctx, prim), "krb5_cc_destroy primary again");
    expect_collection("at the end", NULL, 0);
    name = primary_name();
    check(strcmp(name, prim_name) == 0, "primary name changed to %s at the end", name);
    free(name);

    krb5_free_principal(ctx, p_prim);
    krb5_free_principal(ctx, p_u1);
    krb5_free_principal(ctx, p_u2);
    krb5_free_principal(ctx, p_none);
    free(prim_name);
    free(u1_name);
    free(u2_name);
    free((char *)coll_type);
    krb5_free_context(ctx);
    printf("t_collection: PASS (%d checks)\n", checks);
    return 0;
}
