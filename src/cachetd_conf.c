/* cachetd's option table: every option has a default and a range. */
#include "config.h"
#include "cachetd_conf.h"

#include <stddef.h>

#include "common/util_config.h"

static const char *const log_levels[] = { "error", "warning", "info", "debug", NULL };
static const char *const storages[] = { "sqlite", "memory", NULL };
static const char *const memlocks[] = { "refuse", "degraded", NULL };
static const char *const scopes[] = { "user", "session", NULL };
static const char *const unsessioned[] = { "deny", "user", NULL };
static const char *const user_managers[] = { "deny", "allow", NULL };

#define OFF(f) offsetof(struct cachetd_conf, f)
#define SEC "cachetd"

static const struct util_opt cachetd_opts[] = {
    { SEC, "socket_path", UTIL_OPT_STRING, OFF(socket_path), 0, CACHETD_PATH_MAX,
      CACHET_DEFAULT_SOCKET, NULL, false },
    { SEC, "socket_mode", UTIL_OPT_UINT, OFF(socket_mode), 0, 0777, "0666", NULL, true },
    { SEC, "log_level", UTIL_OPT_ENUM, OFF(log_level), 0, 0, "info", log_levels, false },
    { SEC, "max_frame_size", UTIL_OPT_UINT, OFF(max_frame_size), 4096, 10485760, "10485760",
      NULL, false },
    { SEC, "max_caches_per_uid", UTIL_OPT_UINT, OFF(max_caches_per_uid), 1, 10000, "64", NULL,
      false },
    { SEC, "max_creds_per_cache", UTIL_OPT_UINT, OFF(max_creds_per_cache), 1, 100000, "1024",
      NULL, false },
    { SEC, "max_bytes_per_uid", UTIL_OPT_UINT, OFF(max_bytes_per_uid), 65536, 1073741824,
      "67108864", NULL, false },
    { SEC, "max_connections_per_uid", UTIL_OPT_UINT, OFF(max_connections_per_uid), 1, 10000,
      "64", NULL, false },
    { SEC, "idle_timeout", UTIL_OPT_UINT, OFF(idle_timeout), 0, 86400, "300", NULL, false },
    { SEC, "purge_interval", UTIL_OPT_UINT, OFF(purge_interval), 1, 86400, "60", NULL, false },
    { SEC, "mit_extensions", UTIL_OPT_BOOL, OFF(mit_extensions), 0, 0, "yes", NULL, false },
    { SEC, "storage", UTIL_OPT_ENUM, OFF(storage), 0, 0, "sqlite", storages, false },
    { SEC, "state_dir", UTIL_OPT_STRING, OFF(state_dir), 0, CACHETD_PATH_MAX,
      CACHET_DEFAULT_STATEDIR, NULL, false },
    { SEC, "master_key_file", UTIL_OPT_STRING, OFF(master_key_file), 0, CACHETD_PATH_MAX,
      "-", NULL, false },
    { SEC, "memlock", UTIL_OPT_ENUM, OFF(memlock), 0, 0, "refuse", memlocks, false },
    { SEC, "scope", UTIL_OPT_ENUM, OFF(scope), 0, 0, "user", scopes, false },
    { SEC, "unsessioned_peers", UTIL_OPT_ENUM, OFF(unsessioned_peers), 0, 0, "deny",
      unsessioned, false },
    { SEC, "trusted_helpers", UTIL_OPT_STRING, OFF(trusted_helpers), 0, CACHETD_HELPERS_MAX, "-",
      NULL, false },
    { SEC, "user_manager", UTIL_OPT_ENUM, OFF(user_manager), 0, 0, "deny", user_managers,
      false },
    { SEC, "wipe_on_logout", UTIL_OPT_BOOL, OFF(wipe_on_logout), 0, 0, "yes", NULL, false },
    { SEC, "wipe_on_leader_exit", UTIL_OPT_BOOL, OFF(wipe_on_leader_exit), 0, 0, "no", NULL,
      false },
    { SEC, "logind_reconnect_interval", UTIL_OPT_UINT, OFF(logind_reconnect_interval), 1, 3600,
      "5", NULL, false },
    { SEC, "boot_id_file", UTIL_OPT_STRING, OFF(boot_id_file), 0, CACHETD_PATH_MAX,
      "/proc/sys/kernel/random/boot_id", NULL, false },
    { SEC, "control_socket", UTIL_OPT_STRING, OFF(control_socket), 0, CACHETD_PATH_MAX,
      "/run/cachet/control.sock", NULL, false },
    { SEC, "gssproxy", UTIL_OPT_BOOL, OFF(gssproxy), 0, 0, "no", NULL, false },
    { SEC, "gssproxy_config", UTIL_OPT_STRING, OFF(gssproxy_config), 0, CACHETD_PATH_MAX,
      "/etc/gssproxy/gssproxy.conf", NULL, false },
    { SEC, "gssproxy_config_dir", UTIL_OPT_STRING, OFF(gssproxy_config_dir), 0, CACHETD_PATH_MAX,
      "/etc/gssproxy", NULL, false },
    { SEC, "gssproxy_socket", UTIL_OPT_STRING, OFF(gssproxy_socket), 0, CACHETD_PATH_MAX,
      "/var/lib/gssproxy/default.sock", NULL, false },
    { SEC, "gssproxy_keep_tickets", UTIL_OPT_BOOL, OFF(gssproxy_keep_tickets), 0, 0, "yes", NULL,
      false },
    { SEC, "gssproxy_kernel_file", UTIL_OPT_STRING, OFF(gssproxy_kernel_file), 0,
      CACHETD_PATH_MAX, "/proc/net/rpc/use-gss-proxy", NULL, false },
};

int cachetd_conf_load(struct cachetd_conf *cfg, const char *path, bool missing_ok, char *err,
                      size_t errlen)
{
    return util_config_load(cachetd_opts, sizeof(cachetd_opts) / sizeof(cachetd_opts[0]), cfg,
                            path, missing_ok, err, errlen);
}
