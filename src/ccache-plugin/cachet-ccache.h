/* cachet-ccache: the SESSION credential cache type for MIT krb5 (1.20, 1.21, 1.22).
 *
 * `SESSION:` names the calling login session's collection of caches in cachetd, and
 * `SESSION:<name>` one cache in it (the name as cachetd knows it, e.g. "1000:work"). Only
 * processes that still hold the login's session keyring reach it: see cachet-ccache(3) /
 * src/ccache-plugin/README.md.
 *
 * Unchanged tools get the type through a krb5.conf whose first line is
 *     module <libdir>/libcachet-ccache.so.0:<path of the real krb5.conf>
 * Applications may instead register it themselves, once, before resolving a SESSION: name:
 *
 *     krb5_init_context(&ctx);
 *     if (cachet_ccache_register(ctx) != 0) { ...krb5_get_error_message(ctx, ret)... }
 *     krb5_cc_resolve(ctx, "SESSION:", &cc);
 *
 * Link with `pkg-config --libs cachet-ccache`. */
#ifndef CACHET_CCACHE_H
#define CACHET_CCACHE_H

#include <krb5.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Register the SESSION type in this process (process-wide; idempotent; thread-safe). Returns
 * 0, or KRB5_PLUGIN_VER_NOTSUPP when the libkrb5 in use is not MIT 1.20-1.22 (whose private
 * ccache table layout this library was built for); then nothing is registered and, if context
 * is not NULL, its error message says why. */
krb5_error_code cachet_ccache_register(krb5_context context);

#ifdef __cplusplus
}
#endif

#endif
