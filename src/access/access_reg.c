/* The session registry: logind sessions (id -> audit id, uid, leader) and, per uid, the session
 * collection used most recently (what trusted helpers and an allowed user manager see). Small
 * hash lists; touched once per request, never allocating after a uid's first request. */
#include "config.h"
#include "access/access.h"

#include <string.h>
#include <talloc.h>

#define REG_BUCKETS 256

struct mru {
    struct mru *next;
    uint32_t uid;
    uint32_t session;
};

struct access_registry {
    struct mru *mru[REG_BUCKETS];
    struct access_login *logins;
    size_t nlogins;
    bool bus_connected;
};

struct access_registry *access_registry_new(void *talloc_ctx)
{
    return talloc_zero(talloc_ctx, struct access_registry);
}

void access_registry_touch(struct access_registry *reg, uint32_t uid, uint32_t session)
{
    struct mru **head = &reg->mru[uid % REG_BUCKETS];
    struct mru *m;

    for (m = *head; m != NULL; m = m->next) {
        if (m->uid == uid) {
            m->session = session;
            return;
        }
    }
    m = talloc_zero(reg, struct mru);
    if (m == NULL) {
        return; /* helpers then see the session-less collection: degraded, not wrong */
    }
    m->uid = uid;
    m->session = session;
    m->next = *head;
    *head = m;
}

bool access_registry_mru(const struct access_registry *reg, uint32_t uid, uint32_t *session)
{
    for (const struct mru *m = reg->mru[uid % REG_BUCKETS]; m != NULL; m = m->next) {
        if (m->uid == uid) {
            *session = m->session;
            return true;
        }
    }
    return false;
}

void access_registry_forget_session(struct access_registry *reg, uint32_t audit)
{
    for (size_t i = 0; i < REG_BUCKETS; i++) {
        struct mru **pp = &reg->mru[i];
        while (*pp != NULL) {
            struct mru *m = *pp;
            if (m->session == audit) {
                *pp = m->next;
                talloc_free(m);
            } else {
                pp = &m->next;
            }
        }
    }
}

struct access_login *access_registry_login_find(struct access_registry *reg, const char *id)
{
    for (struct access_login *l = reg->logins; l != NULL; l = l->next) {
        if (strcmp(l->id, id) == 0) {
            return l;
        }
    }
    return NULL;
}

struct access_login *access_registry_login_add(struct access_registry *reg, const char *id)
{
    struct access_login *l = access_registry_login_find(reg, id);

    if (l != NULL) {
        return l;
    }
    l = talloc_zero(reg, struct access_login);
    if (l == NULL || (l->id = talloc_strdup(l, id)) == NULL) {
        talloc_free(l);
        return NULL;
    }
    l->audit = ACCESS_NO_SESSION;
    l->next = reg->logins;
    reg->logins = l;
    reg->nlogins++;
    return l;
}

void access_registry_login_remove(struct access_registry *reg, struct access_login *l)
{
    for (struct access_login **pp = &reg->logins; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == l) {
            *pp = l->next;
            reg->nlogins--;
            talloc_free(l);
            return;
        }
    }
}

bool access_registry_is_login_audit(const struct access_registry *reg, uint32_t audit)
{
    if (audit == ACCESS_NO_SESSION || audit == UTIL_NO_AUDIT_SESSION) {
        return false;
    }
    for (const struct access_login *l = reg->logins; l != NULL; l = l->next) {
        if (l->audit == audit) {
            return true;
        }
    }
    return false;
}

struct access_login *access_registry_logins(struct access_registry *reg)
{
    return reg->logins;
}

size_t access_registry_nlogins(const struct access_registry *reg)
{
    return reg->nlogins;
}

void access_registry_set_bus_state(struct access_registry *reg, bool connected)
{
    reg->bus_connected = connected;
}

bool access_registry_bus_connected(const struct access_registry *reg)
{
    return reg->bus_connected;
}
