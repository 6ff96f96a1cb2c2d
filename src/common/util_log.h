/* Logging to stderr (the journal under systemd), with a level filter. Never log secrets. */
#ifndef CACHET_UTIL_LOG_H
#define CACHET_UTIL_LOG_H

enum util_log_level {
    UTIL_LOG_ERROR = 0,
    UTIL_LOG_WARNING = 1,
    UTIL_LOG_INFO = 2,
    UTIL_LOG_DEBUG = 3,
};

void util_log_set_level(enum util_log_level level);
enum util_log_level util_log_get_level(void);
/* Parses "error", "warning", "info", "debug"; returns -1 if unknown. */
int util_log_level_parse(const char *s);
void util_log(enum util_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
