/* INI configuration; see util_config.h. */
#include "config.h"
#include "common/util_config.h"
#include "common/util_i18n.h"
#include "common/util_log.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s)) {
        s++;
    }
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) {
        *--e = '\0';
    }
    return s;
}

static int parse_bool(const char *v, bool *out)
{
    if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0) {
        *out = true;
        return 0;
    }
    if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0) {
        *out = false;
        return 0;
    }
    return -1;
}

/* Returns NULL on success or a static description of the problem. */
static const char *apply(const struct util_opt *o, void *cfg, const char *v)
{
    char *base = (char *)cfg + o->offset;

    switch (o->type) {
    case UTIL_OPT_UINT: {
        char *end;
        unsigned long long n;
        if (*v == '\0' || *v == '-') {
            return N_("expected a non-negative integer");
        }
        errno = 0;
        n = strtoull(v, &end, o->octal ? 8 : 10);
        if (errno != 0 || *end != '\0') {
            return o->octal ? N_("expected an octal number") : N_("expected an integer");
        }
        if (n < o->min || n > o->max) {
            return N_("value out of range");
        }
        *(uint64_t *)(void *)base = n;
        return NULL;
    }
    case UTIL_OPT_BOOL:
        return parse_bool(v, (bool *)(void *)base) == 0 ? NULL : N_("expected yes or no");
    case UTIL_OPT_STRING:
        if (strlen(v) + 1 > o->max) {
            return N_("value too long");
        }
        if (*v == '\0') {
            return N_("value must not be empty");
        }
        memcpy(base, v, strlen(v) + 1);
        return NULL;
    case UTIL_OPT_ENUM:
        for (int i = 0; o->choices[i] != NULL; i++) {
            if (strcmp(o->choices[i], v) == 0) {
                *(int *)(void *)base = i;
                return NULL;
            }
        }
        return N_("not one of the allowed values");
    }
    return N_("internal error");
}

static void describe_range(const struct util_opt *o, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    switch (o->type) {
    case UTIL_OPT_UINT:
        snprintf(buf, len, o->octal ? _(" (allowed: %llo..%llo)") : _(" (allowed: %llu..%llu)"),
                 (unsigned long long)o->min, (unsigned long long)o->max);
        break;
    case UTIL_OPT_BOOL:
        snprintf(buf, len, "%s", _(" (allowed: yes, no)"));
        break;
    case UTIL_OPT_ENUM:
        used = (size_t)snprintf(buf, len, "%s", _(" (allowed:"));
        for (int i = 0; o->choices[i] != NULL && used < len; i++) {
            used += (size_t)snprintf(buf + used, len - used, " %s", o->choices[i]);
        }
        if (used < len) {
            snprintf(buf + used, len - used, ")");
        }
        break;
    case UTIL_OPT_STRING:
        break;
    }
}

int util_config_load(const struct util_opt *opts, size_t nopts, void *cfg, const char *path,
                     bool missing_ok, char *err, size_t errlen)
{
    char section[64] = "";
    char line[4096];
    unsigned lineno = 0;
    FILE *f;

    for (size_t i = 0; i < nopts; i++) {
        const char *why = apply(&opts[i], cfg, opts[i].def);
        if (why != NULL) {
            snprintf(err, errlen, "built-in default for '%s': %s", opts[i].key, why);
            return -1;
        }
    }
    if (path == NULL) {
        return 0;
    }
    f = fopen(path, "re");
    if (f == NULL) {
        if (errno == ENOENT && missing_ok) {
            return 0;
        }
        snprintf(err, errlen, _("%s: cannot open configuration file: %s"), path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *s;
        char *eq;
        char *key;
        char *val;
        const struct util_opt *o = NULL;
        const char *why;

        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            snprintf(err, errlen, _("%s:%u: line too long"), path, lineno);
            fclose(f);
            return -1;
        }
        s = trim(line);
        if (*s == '\0' || *s == '#' || *s == ';') {
            continue;
        }
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (close == NULL || close[1] != '\0' || (size_t)(close - s - 1) >= sizeof(section)) {
                snprintf(err, errlen, _("%s:%u: malformed section header"), path, lineno);
                fclose(f);
                return -1;
            }
            *close = '\0';
            snprintf(section, sizeof(section), "%s", trim(s + 1));
            continue;
        }
        eq = strchr(s, '=');
        if (eq == NULL) {
            snprintf(err, errlen, _("%s:%u: expected 'option = value'"), path, lineno);
            fclose(f);
            return -1;
        }
        *eq = '\0';
        key = trim(s);
        val = trim(eq + 1);
        for (size_t i = 0; i < nopts; i++) {
            if (strcmp(opts[i].section, section) == 0 && strcmp(opts[i].key, key) == 0) {
                o = &opts[i];
                break;
            }
        }
        if (o == NULL) {
            util_log(UTIL_LOG_WARNING, _("%s:%u: unknown option '%s' in section [%s] ignored"),
                     path, lineno, key, section);
            continue;
        }
        why = apply(o, cfg, val);
        if (why != NULL) {
            char range[256];
            describe_range(o, range, sizeof(range));
            snprintf(err, errlen, _("%s:%u: option '%s': invalid value '%s': %s%s"), path,
                     lineno, key, val, _(why), range);
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
}
