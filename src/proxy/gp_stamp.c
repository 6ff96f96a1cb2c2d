/* File stamps for the workers' credential caches (gp_stamp.h). */
#include "config.h"
#include "proxy/gp_stamp.h"

#include <string.h>
#include <sys/stat.h>

struct gp_file_stamp gp_file_stamp(const char *path)
{
    struct gp_file_stamp fs = { 0 };
    struct stat st;

    if (path != NULL && stat(path, &st) == 0) {
        fs.ok = true;
        fs.dev = st.st_dev;
        fs.ino = st.st_ino;
        fs.size = st.st_size;
        fs.mtime = st.st_mtim;
    }
    return fs;
}

bool gp_file_stamp_eq(const struct gp_file_stamp *a, const struct gp_file_stamp *b)
{
    return a->ok == b->ok && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

const char *gp_keytab_file(const char *keytab)
{
    if (keytab == NULL) {
        return NULL;
    }
    if (strncmp(keytab, "FILE:", 5) == 0 || strncmp(keytab, "WRFILE:", 7) == 0) {
        return strchr(keytab, ':') + 1;
    }
    return keytab[0] == '/' ? keytab : NULL;
}
