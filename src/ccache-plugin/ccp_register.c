/* The two ways in: cachet_ccache_register() for applications, and profile_module_init() for
 * unchanged MIT tools through a krb5.conf whose first line is
 *     module /path/to/libcachet-ccache.so.0:/etc/krb5.conf.real
 * (MIT's documented profile-module hook, doc/plugindev/profile.rst). The profile module
 * registers the type, then serves the real configuration named by the residual (a
 * colon-separated file list, opened with profile_init_path(), which never allows modules, so
 * this cannot recurse) by forwarding every vtable call to the public profile API.
 * See ../shared/spec/ccache-profile-module.md for the caveats (server tools reject a module
 * conf; KRB5_CONFIG must not prepend files to it). */
#include "config.h"
#include "ccache-plugin/cachet-ccache.h"
#include "ccache-plugin/ccp_int.h"

#include <errno.h>
#include <profile.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t g_reg_once = PTHREAD_ONCE_INIT;
static krb5_error_code g_reg_ret;
static char g_reg_why[256];

static void do_register(void)
{
    g_reg_ret = ccp_abi_check(g_reg_why, sizeof(g_reg_why));
    if (g_reg_ret != 0) {
        return;
    }
    /* The registry is process-global: the second registrant (another context, or the
     * application after the profile module) gets KRB5_CC_TYPE_EXISTS for our own table. */
    g_reg_ret = krb5_cc_register(NULL, &ccp_ops, FALSE);
    if (g_reg_ret == KRB5_CC_TYPE_EXISTS) {
        g_reg_ret = 0;
    }
}

krb5_error_code ccp_register_once(char *why, size_t whylen)
{
    pthread_once(&g_reg_once, do_register);
    if (why != NULL && whylen > 0) {
        strncpy(why, g_reg_why, whylen - 1);
        why[whylen - 1] = '\0';
    }
    return g_reg_ret;
}

krb5_error_code cachet_ccache_register(krb5_context context)
{
    char why[256];
    krb5_error_code ret = ccp_register_once(why, sizeof(why));

    if (ret != 0 && context != NULL) {
        krb5_set_error_message(context, ret, "cachet: SESSION cache type not registered: %s", why);
    }
    return ret;
}

/* ---- profile module ---- */

struct pm_data {
    profile_t real;
    atomic_int refs;
};

struct pm_iter {
    void *iter;
};

static long pm_get_values(void *cb, const char *const *names, char ***ret)
{
    return profile_get_values(((struct pm_data *)cb)->real, names, ret);
}

static void pm_free_values(void *cb, char **values)
{
    profile_free_list(values);
}

static long pm_copy(void *cb, void **ret)
{
    atomic_fetch_add(&((struct pm_data *)cb)->refs, 1);
    *ret = cb;
    return 0;
}

static void pm_cleanup(void *cb)
{
    struct pm_data *d = cb;

    if (atomic_fetch_sub(&d->refs, 1) == 1) {
        profile_release(d->real);
        free(d);
    }
}

static long pm_iterator_create(void *cb, const char *const *names, int flags, void **ret)
{
    struct pm_iter *it = calloc(1, sizeof(*it));
    long r;

    *ret = NULL;
    if (it == NULL) {
        return ENOMEM;
    }
    r = profile_iterator_create(((struct pm_data *)cb)->real, names, flags, &it->iter);
    if (r != 0) {
        free(it);
        return r;
    }
    *ret = it;
    return 0;
}

/* The vtable passes the iterator by value, the public API by reference: hence the box. */
static long pm_iterator(void *cb, void *iter, char **name, char **value)
{
    return profile_iterator(&((struct pm_iter *)iter)->iter, name, value);
}

static void pm_iterator_free(void *cb, void *iter)
{
    struct pm_iter *it = iter;

    if (it != NULL) {
        profile_iterator_free(&it->iter);
        free(it);
    }
}

static void pm_free_string(void *cb, char *s)
{
    profile_release_string(s);
}

static long pm_update_relation(void *cb, const char **names, const char *old_value,
                               const char *new_value)
{
    return profile_update_relation(((struct pm_data *)cb)->real, names, old_value, new_value);
}

static long pm_rename_section(void *cb, const char **names, const char *new_name)
{
    return profile_rename_section(((struct pm_data *)cb)->real, names, new_name);
}

static long pm_add_relation(void *cb, const char **names, const char *new_value)
{
    return profile_add_relation(((struct pm_data *)cb)->real, names, new_value);
}

static long pm_flush(void *cb)
{
    return profile_flush(((struct pm_data *)cb)->real);
}

/* profile_is_writable and profile_is_modified are declared in profile.h but not exported from
 * libkrb5.so.3, so writable/modified stay NULL: the profile reports "never writable, never
 * modified" (a reference would make the dlopen fail). */
long profile_module_init(const char *residual, struct profile_vtable *vt, void **cb_ret)
{
    struct pm_data *d;
    long ret;

    *cb_ret = NULL;
    /* A refused registration (unsupported MIT release) still serves the configuration:
     * every other cache type keeps working, SESSION: is an unknown type. */
    (void)ccp_register_once(NULL, 0);
    if (vt->minor_ver < 1) {
        return EINVAL;
    }
    d = calloc(1, sizeof(*d));
    if (d == NULL) {
        return ENOMEM;
    }
    ret = profile_init_path(residual, &d->real);
    if (ret != 0) {
        free(d);
        return ret;
    }
    atomic_init(&d->refs, 1);
    vt->get_values = pm_get_values;
    vt->free_values = pm_free_values;
    vt->cleanup = pm_cleanup;
    vt->copy = pm_copy;
    vt->iterator_create = pm_iterator_create;
    vt->iterator = pm_iterator;
    vt->iterator_free = pm_iterator_free;
    vt->free_string = pm_free_string;
    vt->update_relation = pm_update_relation;
    vt->rename_section = pm_rename_section;
    vt->add_relation = pm_add_relation;
    vt->flush = pm_flush;
    *cb_ret = d;
    return 0;
}
