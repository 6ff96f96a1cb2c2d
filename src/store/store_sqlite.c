/* Placeholder until the sqlite backend lands: refuses clearly. */
#include "config.h"
#include "store/store_sqlite.h"

#include <errno.h>
#include <stdio.h>

int store_sqlite_open(TALLOC_CTX *ctx, struct store *st, const struct store_sqlite_options *opt,
                      struct store_sqlite **out, char *err, size_t errlen)
{
    snprintf(err, errlen, "sqlite storage is not available in this build; use storage = memory");
    return ENOSYS;
}
