/* cachetd's configuration: the [cachetd] section of cachet.conf. */
#ifndef CACHET_CACHETD_CONF_H
#define CACHET_CACHETD_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CACHETD_PATH_MAX 1024

enum cachetd_storage { CACHETD_STORAGE_SQLITE = 0, CACHETD_STORAGE_MEMORY = 1 };
enum cachetd_memlock { CACHETD_MEMLOCK_REFUSE = 0, CACHETD_MEMLOCK_DEGRADED = 1 };

struct cachetd_conf {
    char socket_path[CACHETD_PATH_MAX];
    uint64_t socket_mode;
    int log_level;
    uint64_t max_frame_size;
    uint64_t max_caches_per_uid;
    uint64_t max_creds_per_cache;
    uint64_t max_bytes_per_uid;
    uint64_t max_connections_per_uid;
    uint64_t idle_timeout;
    uint64_t purge_interval;
    bool mit_extensions;
    int storage;
    char state_dir[CACHETD_PATH_MAX];
    char master_key_file[CACHETD_PATH_MAX]; /* "" = <state_dir>/master.key */
    int memlock;
};

/* Load defaults, then path (missing_ok: a missing default file is fine). */
int cachetd_conf_load(struct cachetd_conf *cfg, const char *path, bool missing_ok, char *err,
                      size_t errlen);

#endif
