/* A file's identity and content version as stat(2) tells it: the credential caches of the
 * GSS-Proxy workers use it to notice a keytab that was replaced or rewritten. */
#ifndef CACHET_GP_STAMP_H
#define CACHET_GP_STAMP_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

struct gp_file_stamp {
    bool ok; /* the file could be stat'ed */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

struct gp_file_stamp gp_file_stamp(const char *path);
bool gp_file_stamp_eq(const struct gp_file_stamp *a, const struct gp_file_stamp *b);
/* "FILE:/path", "WRFILE:/path" or "/path" -> the path; NULL for other keytab types (MEMORY:,
 * KEYRING:...), which have no file to watch. */
const char *gp_keytab_file(const char *keytab);

#endif
