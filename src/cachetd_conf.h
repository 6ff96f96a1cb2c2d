/* cachetd's configuration: the [cachetd] section of cachet.conf. */
#ifndef CACHET_CACHETD_CONF_H
#define CACHET_CACHETD_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CACHETD_PATH_MAX 1024

enum cachetd_storage { CACHETD_STORAGE_SQLITE = 0, CACHETD_STORAGE_MEMORY = 1 };
enum cachetd_memlock { CACHETD_MEMLOCK_REFUSE = 0, CACHETD_MEMLOCK_DEGRADED = 1 };
/* Login-session options (issue 4); values match enum access_scope / access_unsessioned. */
enum cachetd_scope { CACHETD_SCOPE_USER = 0, CACHETD_SCOPE_SESSION = 1 };
enum cachetd_unsessioned { CACHETD_UNSESSIONED_DENY = 0, CACHETD_UNSESSIONED_USER = 1 };
enum cachetd_user_manager { CACHETD_USER_MANAGER_DENY = 0, CACHETD_USER_MANAGER_ALLOW = 1 };
#define CACHETD_HELPERS_MAX 4096

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
    int scope;
    int unsessioned_peers;
    char trusted_helpers[CACHETD_HELPERS_MAX]; /* space-separated absolute paths; "-" none */
    int user_manager;
    bool wipe_on_logout;
    bool wipe_on_leader_exit;
    uint64_t logind_reconnect_interval;
    char boot_id_file[CACHETD_PATH_MAX];
    char control_socket[CACHETD_PATH_MAX]; /* "-" or "none": no control socket */
    /* GSS-Proxy service (issue 5): gssproxy's own configuration, read unchanged. */
    bool gssproxy;
    bool gssproxy_keep_tickets; /* client-keytab tickets kept between calls (gp_tkt_cache.c) */
    char gssproxy_config[CACHETD_PATH_MAX];     /* "" = none */
    char gssproxy_config_dir[CACHETD_PATH_MAX]; /* NN-*.conf snippets; "" = none */
    char gssproxy_socket[CACHETD_PATH_MAX];     /* services without socket = */
    char gssproxy_kernel_file[CACHETD_PATH_MAX]; /* use-gss-proxy (tests point elsewhere) */
};

/* Load defaults, then path (missing_ok: a missing default file is fine). */
int cachetd_conf_load(struct cachetd_conf *cfg, const char *path, bool missing_ok, char *err,
                      size_t errlen);

#endif
