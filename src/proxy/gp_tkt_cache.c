/* Initiator tickets kept between GSS-Proxy calls.
 *
 * A service whose cred_store names no ccache gets, in gssproxy, a MEMORY ccache per call that is
 * destroyed when the call ends: every ACQUIRE_CRED from a client keytab costs an AS exchange and
 * every first INIT_SEC_CONTEXT a TGS exchange, for tickets the service had a moment before.
 * cachetd keeps what such a call's ccache held at its end -- the TGT, service tickets and MIT's
 * ccache configuration entries (refresh_time...) -- and seeds the next call's private ccache
 * with it. MIT's keytab initiator then decides when to get new tickets, as it does with a
 * ccache named in the configuration; nobody gets a ticket that the same call could not have
 * obtained from the same keytab.
 *
 * Keyed by configuration load, service, peer uid, target uid, "acts as itself" and the client
 * keytab, whose file stamp is kept: a replaced or rewritten keytab, a reload, or
 * gssproxy_keep_tickets = no forget the tickets. Expired tickets are never seeded. Tickets and
 * keys are held only in secure memory (MIT's marshalled form); shared by the workers under a
 * mutex, at most TKT_SLOTS entries (the least recently used goes). */
#include "config.h"
#include "proxy/gp_tkt_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/util_buf.h"
#include "common/util_log.h"
#include "common/util_secmem.h"
#include "proxy/gp_proc.h"
#include "proxy/gp_stamp.h"

#define TKT_SLOTS 128
#define TKT_MAX_CREDS 32           /* more live tickets than this: not kept */
#define TKT_SCAN_CREDS 64          /* a ccache with more entries than this: not kept */
#define TKT_MAX_BYTES (256 * 1024) /* per entry */
#define TKT_EXPIRY_MARGIN 60       /* seconds: a ticket about to expire is not seeded */

struct tkt_slot {
    uint64_t generation;
    const struct gp_svc *svc;
    uid_t peer, target;
    bool self;
    char *keytab; /* malloc */
    struct gp_file_stamp kt;
    char *client;  /* unparsed principal (malloc) */
    uint8_t *blob; /* secure memory: u32 count, count x (u32 length, marshalled cred) */
    size_t len;
    uint64_t used;
};

static pthread_mutex_t tkt_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tkt_slot tkt_slots[TKT_SLOTS];
static uint64_t tkt_clock;
static atomic_bool tkt_on = true;

static void slot_clear(struct tkt_slot *s)
{
    free(s->keytab);
    free(s->client);
    util_secmem_free(s->blob);
    memset(s, 0, sizeof(*s));
}

void gp_tkt_cache_clear(void)
{
    pthread_mutex_lock(&tkt_lock);
    for (unsigned i = 0; i < TKT_SLOTS; i++) {
        slot_clear(&tkt_slots[i]);
    }
    pthread_mutex_unlock(&tkt_lock);
}

void gp_tkt_cache_enable(bool on)
{
    atomic_store(&tkt_on, on);
    if (!on) {
        gp_tkt_cache_clear();
    }
}

bool gp_tkt_cache_enabled(void)
{
    return atomic_load(&tkt_on);
}

unsigned gp_tkt_cache_count(void)
{
    unsigned n = 0;

    pthread_mutex_lock(&tkt_lock);
    for (unsigned i = 0; i < TKT_SLOTS; i++) {
        n += tkt_slots[i].blob != NULL;
    }
    pthread_mutex_unlock(&tkt_lock);
    return n;
}

static bool str_eq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The slot for this call and key (lock held), dropping slots of older loads and the slot
 * whose keytab changed. */
static struct tkt_slot *slot_find(const struct gp_call *gc, const struct gp_tkt_key *k)
{
    struct tkt_slot *found = NULL;

    for (unsigned i = 0; i < TKT_SLOTS; i++) {
        struct tkt_slot *s = &tkt_slots[i];
        if (s->blob == NULL) {
            continue;
        }
        if (s->generation != gc->conf->generation) {
            slot_clear(s);
            continue;
        }
        if (found == NULL && s->svc == gc->svc && s->peer == gc->peer.uid &&
            s->target == k->target && s->self == k->self && str_eq(s->keytab, k->client_keytab)) {
            struct gp_file_stamp now = gp_file_stamp(gp_keytab_file(s->keytab));
            if (!gp_file_stamp_eq(&now, &s->kt)) {
                util_log(UTIL_LOG_DEBUG,
                         "gssproxy: service %s: client keytab %s changed: "
                         "kept tickets dropped",
                         gc->svc->name, s->keytab);
                slot_clear(s);
                continue;
            }
            found = s;
        }
    }
    return found;
}

/* A free slot, else the least recently used one (lock held). */
static struct tkt_slot *slot_take(void)
{
    struct tkt_slot *lru = &tkt_slots[0];

    for (unsigned i = 0; i < TKT_SLOTS; i++) {
        if (tkt_slots[i].blob == NULL) {
            return &tkt_slots[i];
        }
        if (tkt_slots[i].used < lru->used) {
            lru = &tkt_slots[i];
        }
    }
    slot_clear(lru);
    return lru;
}

/* end is more than margin seconds after now. krb5 timestamps are unsigned 32-bit seconds
 * (valid past 2038, as MIT's ts_after reads them). */
static bool ts_later(krb5_timestamp end, krb5_timestamp now, uint32_t margin)
{
    return (uint32_t)end > (uint32_t)now + margin;
}

/* Whether cr[i] goes into the kept copy: not expired, and for MIT's config entries (which it
 * appends again when it updates them) only the last of each name. */
static bool worth_keeping(krb5_context k5, krb5_creds *cr, unsigned n, unsigned i,
                          krb5_timestamp now)
{
    if (!krb5_is_config_principal(k5, cr[i].server)) {
        return ts_later(cr[i].times.endtime, now, 0);
    }
    for (unsigned j = i + 1; j < n; j++) {
        if (krb5_principal_compare(k5, cr[i].server, cr[j].server)) {
            return false;
        }
    }
    return true;
}

/* cc's credentials in the slot format, in secure memory; NULL if there are none or too many. */
static uint8_t *ccache_blob(krb5_context k5, krb5_ccache cc, size_t *len)
{
    krb5_creds cr[TKT_SCAN_CREDS];
    krb5_data *m[TKT_MAX_CREDS];
    unsigned n = 0, nm = 0;
    size_t total = 4;
    krb5_cc_cursor cur;
    uint8_t *blob = NULL;
    bool ok = true;
    krb5_timestamp now = (krb5_timestamp)time(NULL);

    if (krb5_cc_start_seq_get(k5, cc, &cur) != 0) {
        return NULL;
    }
    while (ok && krb5_cc_next_cred(k5, cc, &cur, &cr[n]) == 0) {
        ok = ++n < TKT_SCAN_CREDS;
    }
    krb5_cc_end_seq_get(k5, cc, &cur);
    for (unsigned i = 0; ok && i < n; i++) {
        if (!worth_keeping(k5, cr, n, i, now)) {
            continue;
        }
        if (nm == TKT_MAX_CREDS || krb5_marshal_credentials(k5, &cr[i], &m[nm]) != 0) {
            ok = false;
        } else {
            total += 4 + m[nm]->length;
            nm++;
        }
    }
    if (ok && nm > 0 && total <= TKT_MAX_BYTES && (blob = util_secmem_alloc(total)) != NULL) {
        struct util_wr wr;
        util_wr_init(&wr, blob, total);
        util_wr_u32(&wr, nm);
        for (unsigned i = 0; i < nm; i++) {
            util_wr_data(&wr, (struct util_data){ (const uint8_t *)m[i]->data, m[i]->length });
        }
        *len = total;
    }
    for (unsigned i = 0; i < nm; i++) {
        explicit_bzero(m[i]->data, m[i]->length);
        krb5_free_data(k5, m[i]);
    }
    for (unsigned i = 0; i < n; i++) {
        krb5_free_cred_contents(k5, &cr[i]); /* zaps the keys */
    }
    return blob;
}

/* Replace the slot's tickets (lock held). */
static void slot_set(struct tkt_slot *s, uint8_t *blob, size_t len)
{
    util_secmem_free(s->blob);
    s->blob = blob;
    s->len = len;
    s->used = ++tkt_clock;
}

int gp_tkt_seed(struct gp_call *gc, const struct gp_tkt_key *k, krb5_ccache cc)
{
    krb5_principal princ = NULL;
    struct tkt_slot *s;
    struct util_rd rd;
    uint8_t *copy = NULL;
    char *client = NULL;
    size_t len = 0;
    uint32_t n;
    int stored = 0;
    krb5_timestamp now = (krb5_timestamp)time(NULL);

    if (!gp_tkt_cache_enabled()) {
        return 0;
    }
    /* Copied out under the lock: the KDC-free part below runs unlocked. */
    pthread_mutex_lock(&tkt_lock);
    s = slot_find(gc, k);
    if (s != NULL && (copy = util_secmem_alloc(s->len)) != NULL &&
        (client = strdup(s->client)) != NULL) {
        memcpy(copy, s->blob, s->len);
        len = s->len;
        s->used = ++tkt_clock;
    }
    pthread_mutex_unlock(&tkt_lock);
    if (client == NULL || krb5_parse_name(gc->k5, client, &princ) != 0 ||
        krb5_cc_initialize(gc->k5, cc, princ) != 0) {
        goto out;
    }
    util_rd_init(&rd, copy, len);
    n = util_rd_u32(&rd);
    for (uint32_t i = 0; i < n && util_rd_ok(&rd); i++) {
        struct util_data d = util_rd_data(&rd);
        krb5_data kd = { .magic = KV5M_DATA, .length = (unsigned)d.len, .data = (char *)d.p };
        krb5_creds *cr = NULL;

        if (!util_rd_ok(&rd) || krb5_unmarshal_credentials(gc->k5, &kd, &cr) != 0) {
            break;
        }
        if (krb5_is_config_principal(gc->k5, cr->server) ||
            ts_later(cr->times.endtime, now, TKT_EXPIRY_MARGIN)) {
            stored += krb5_cc_store_cred(gc->k5, cc, cr) == 0;
        }
        krb5_free_creds(gc->k5, cr); /* zaps the key */
    }
    util_log(UTIL_LOG_DEBUG, "gssproxy: service %s: %d kept credentials of %s seeded",
             gc->svc->name, stored, client);
out:
    krb5_free_principal(gc->k5, princ);
    free(client);
    util_secmem_free(copy);
    return stored;
}

/* p unparsed, as a malloc'd string (krb5's own is freed here); NULL on failure. */
static char *unparsed(krb5_context k5, krb5_const_principal p)
{
    char *u = NULL, *copy;

    if (krb5_unparse_name(k5, p, &u) != 0) {
        return NULL;
    }
    copy = strdup(u);
    krb5_free_unparsed_name(k5, u);
    return copy;
}

void gp_tkt_keep_ccache(struct gp_call *gc, const struct gp_tkt_key *k, krb5_ccache cc)
{
    krb5_principal princ = NULL;
    char *client = NULL, *keytab = NULL;
    struct tkt_slot *s;
    uint8_t *blob = NULL;
    size_t len = 0;

    if (!gp_tkt_cache_enabled() || krb5_cc_get_principal(gc->k5, cc, &princ) != 0) {
        return;
    }
    client = unparsed(gc->k5, princ);
    krb5_free_principal(gc->k5, princ);
    if (client == NULL ||
        (k->client_keytab != NULL && (keytab = strdup(k->client_keytab)) == NULL) ||
        (blob = ccache_blob(gc->k5, cc, &len)) == NULL) {
        free(client);
        free(keytab);
        return;
    }
    pthread_mutex_lock(&tkt_lock);
    s = slot_find(gc, k);
    if (s == NULL) {
        s = slot_take();
        s->generation = gc->conf->generation;
        s->svc = gc->svc;
        s->peer = gc->peer.uid;
        s->target = k->target;
        s->self = k->self;
        s->keytab = keytab;
        keytab = NULL;
        s->kt = gp_file_stamp(gp_keytab_file(k->client_keytab));
    }
    free(s->client);
    s->client = client;
    slot_set(s, blob, len);
    pthread_mutex_unlock(&tkt_lock);
    free(keytab);
}

/* Is anything kept for this service and peer (lock taken here)? Spares the copy below for
 * services that keep nothing. */
static bool peer_has_slots(const struct gp_call *gc)
{
    bool any = false;

    pthread_mutex_lock(&tkt_lock);
    for (unsigned i = 0; i < TKT_SLOTS && !any; i++) {
        const struct tkt_slot *s = &tkt_slots[i];
        any = s->blob != NULL && s->generation == gc->conf->generation && s->svc == gc->svc &&
              s->peer == gc->peer.uid;
    }
    pthread_mutex_unlock(&tkt_lock);
    return any;
}

void gp_tkt_keep_cred(struct gp_call *gc, gss_cred_id_t cred)
{
    krb5_principal placeholder = NULL;
    krb5_ccache cc = NULL;
    krb5_cc_cursor cur;
    krb5_creds cr;
    char name[64];
    char *client = NULL;
    uint8_t *blob = NULL;
    size_t len = 0;
    uint64_t rnd = 0;
    OM_uint32 min;

    if (!gp_tkt_cache_enabled() || cred == GSS_C_NO_CREDENTIAL || !peer_has_slots(gc)) {
        return;
    }
    (void)getrandom(&rnd, sizeof(rnd), 0);
    snprintf(name, sizeof(name), "MEMORY:cachet_tk_%016llx", (unsigned long long)rnd);
    /* gss_krb5_copy_ccache copies credentials only: the principal comes from them. */
    if (krb5_cc_resolve(gc->k5, name, &cc) != 0 ||
        krb5_parse_name(gc->k5, "cachet/placeholder@CACHET.INVALID", &placeholder) != 0 ||
        krb5_cc_initialize(gc->k5, cc, placeholder) != 0 ||
        gss_krb5_copy_ccache(&min, cred, cc) != GSS_S_COMPLETE) {
        goto out;
    }
    if (krb5_cc_start_seq_get(gc->k5, cc, &cur) == 0) {
        if (krb5_cc_next_cred(gc->k5, cc, &cur, &cr) == 0) {
            client = unparsed(gc->k5, cr.client);
            krb5_free_cred_contents(gc->k5, &cr);
        }
        krb5_cc_end_seq_get(gc->k5, cc, &cur);
    }
    if (client == NULL || (blob = ccache_blob(gc->k5, cc, &len)) == NULL) {
        goto out;
    }
    pthread_mutex_lock(&tkt_lock);
    for (unsigned i = 0; i < TKT_SLOTS; i++) {
        struct tkt_slot *s = &tkt_slots[i];
        uint8_t *b;
        if (s->blob == NULL || s->generation != gc->conf->generation || s->svc != gc->svc ||
            s->peer != gc->peer.uid || strcmp(s->client, client) != 0) {
            continue;
        }
        /* Several keys may share a client (a uid named and the peer itself): each its copy. */
        if ((b = util_secmem_alloc(len)) != NULL) {
            memcpy(b, blob, len);
            slot_set(s, b, len);
        }
    }
    pthread_mutex_unlock(&tkt_lock);
out:
    util_secmem_free(blob);
    free(client);
    krb5_free_principal(gc->k5, placeholder);
    if (cc != NULL) {
        krb5_cc_destroy(gc->k5, cc);
    }
}
