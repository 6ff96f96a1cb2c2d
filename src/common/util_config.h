/* INI configuration: a table of typed options, each with a default and a range; errors name
 * the file, the line and the option. Generic: the daemon supplies its option table. */
#ifndef CACHET_UTIL_CONFIG_H
#define CACHET_UTIL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum util_opt_type {
    UTIL_OPT_UINT,   /* decimal (or 0-prefixed octal with .octal) within [min, max] */
    UTIL_OPT_BOOL,   /* yes/no/true/false/1/0 */
    UTIL_OPT_STRING, /* copied into a caller buffer of size max */
    UTIL_OPT_ENUM,   /* one of the names in choices (NULL-terminated); stores the index */
};

struct util_opt {
    const char *section;
    const char *key;
    enum util_opt_type type;
    size_t offset; /* into the caller's config struct */
    uint64_t min;
    uint64_t max;  /* UINT: range; STRING: buffer size */
    const char *def;
    const char *const *choices;
    bool octal;
};

/* Apply every default, then the file (if path is not NULL). Unknown keys are warnings (logged),
 * invalid values are errors: returns 0, or -1 with err filled ("FILE:LINE: option 'x': ..."). */
int util_config_load(const struct util_opt *opts, size_t nopts, void *cfg, const char *path,
                     bool missing_ok, char *err, size_t errlen);

#endif
