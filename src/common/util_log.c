/* Logging; see util_log.h. */
#include "common/util_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum util_log_level g_level = UTIL_LOG_INFO;

void util_log_set_level(enum util_log_level level)
{
    g_level = level;
}

enum util_log_level util_log_get_level(void)
{
    return g_level;
}

int util_log_level_parse(const char *s)
{
    static const char *const names[] = { "error", "warning", "info", "debug" };

    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

void util_log(enum util_log_level level, const char *fmt, ...)
{
    /* sd-daemon(3) priority prefixes, understood by journald for stderr streams. */
    static const char *const prio[] = { "<3>", "<4>", "<6>", "<7>" };
    char line[1024];
    va_list ap;

    if (level > g_level) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%scachetd: %s\n", prio[level], line);
}
