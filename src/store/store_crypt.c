/* Master key handling and sealed records; see store_crypt.h. */
#include "config.h"
#include "store/store_crypt.h"

#include <errno.h>
#include <fcntl.h>
#include <krb5/krb5.h>
#include <profile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util_log.h"

#define CRYPT_ENCTYPE ENCTYPE_AES256_CTS_HMAC_SHA384_192
#define KEY_FILE_MAX 128 /* larger files are not key files */
#define KEYCHECK_MARKER "cachet master key check"

struct store_crypt {
    krb5_context kctx; /* one for the daemon's lifetime: never created per operation */
    struct util_secbuf *key;
    krb5_keyblock kb; /* contents point into key (secure memory) */
    char *source;
    bool created;
};

static int crypt_destructor(struct store_crypt *sc)
{
    if (sc->kctx != NULL) {
        krb5_free_context(sc->kctx);
    }
    return 0; /* sc->key is a talloc child: wiped and released after this */
}

const char *store_crypt_key_source(const struct store_crypt *sc)
{
    return sc->source;
}

bool store_crypt_key_created(const struct store_crypt *sc)
{
    return sc->created;
}

/* ---- key files ---- */

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* A key file holds the 32 key bytes raw (what we generate, what systemd-creds passes through)
 * or as 64 hex digits with optional trailing white space (hand-made with `openssl rand -hex`). */
static bool parse_key(const uint8_t *p, size_t n, uint8_t *key)
{
    if (n == STORE_CRYPT_KEY_LEN) {
        memcpy(key, p, n);
        return true;
    }
    while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r' || p[n - 1] == ' ')) {
        n--;
    }
    if (n != 2 * STORE_CRYPT_KEY_LEN) {
        return false;
    }
    for (size_t i = 0; i < STORE_CRYPT_KEY_LEN; i++) {
        int hi = hexval(p[2 * i]);
        int lo = hexval(p[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        key[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

/* Read a key file into sc->key. ENOENT (no message) if it does not exist. check_perms: the
 * file must be ours (or root's) and not accessible by group or others, like an ssh key. */
static int read_key_file(struct store_crypt *sc, const char *path, bool check_perms, char *err,
                         size_t errlen)
{
    struct util_secbuf *raw;
    struct stat sb;
    size_t n = 0;
    int ret = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0) {
        ret = errno;
        if (ret != ENOENT) {
            snprintf(err, errlen, "cannot open master key file %s: %s", path, strerror(ret));
        }
        return ret;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(err, errlen, "master key file %s is not a regular file", path);
        close(fd);
        return EINVAL;
    }
    if (check_perms && sb.st_uid != geteuid() && sb.st_uid != 0) {
        snprintf(err, errlen, "master key file %s is owned by uid %u, not by us (%u) or root", path,
                 (unsigned)sb.st_uid, (unsigned)geteuid());
        close(fd);
        return EPERM;
    }
    if (check_perms && (sb.st_mode & 077) != 0) {
        snprintf(err, errlen,
                 "master key file %s is accessible by group or others (mode %04o); "
                 "chmod 600 it",
                 path, (unsigned)(sb.st_mode & 07777));
        close(fd);
        return EPERM;
    }
    /* Read straight into secure memory: no stdio buffer ever holds key bytes. */
    raw = util_secbuf_new(sc, KEY_FILE_MAX + 1);
    if (raw == NULL) {
        close(fd);
        return ENOMEM;
    }
    while (n <= KEY_FILE_MAX) {
        ssize_t r = read(fd, raw->p + n, KEY_FILE_MAX + 1 - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            ret = errno;
            snprintf(err, errlen, "cannot read master key file %s: %s", path, strerror(ret));
            break;
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
    }
    close(fd);
    if (ret == 0 && (n > KEY_FILE_MAX || !parse_key(raw->p, n, sc->key->p))) {
        snprintf(err, errlen,
                 "master key file %s must hold %d raw bytes or %d hex digits (it has %zu%s "
                 "bytes)",
                 path, STORE_CRYPT_KEY_LEN, 2 * STORE_CRYPT_KEY_LEN,
                 n > KEY_FILE_MAX ? (size_t)KEY_FILE_MAX : n, n > KEY_FILE_MAX ? "+" : "");
        ret = EINVAL;
    }
    talloc_free(raw);
    return ret;
}

static int fsync_parent(const char *path)
{
    char *dir = talloc_strdup(NULL, path);
    char *slash = dir != NULL ? strrchr(dir, '/') : NULL;
    int ret = 0;
    int fd;

    if (dir == NULL) {
        return ENOMEM;
    }
    if (slash == dir) {
        slash[1] = '\0';
    } else if (slash != NULL) {
        *slash = '\0';
    } else {
        strcpy(dir, ".");
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        ret = errno;
    }
    if (fd >= 0) {
        close(fd);
    }
    talloc_free(dir);
    return ret;
}

/* Generate a key into sc->key and publish it at path atomically (write a private temporary,
 * fsync, link: link never replaces, so two racing starts agree on one key). EEXIST: someone
 * else published first; read theirs. */
static int create_key_file(struct store_crypt *sc, const char *path, char *err, size_t errlen)
{
    char *tmp = talloc_asprintf(sc, "%s.tmp-%ld", path, (long)getpid());
    size_t done = 0;
    int ret = 0;
    int fd;

    if (tmp == NULL) {
        return ENOMEM;
    }
    while (done < STORE_CRYPT_KEY_LEN) {
        ssize_t r = getrandom(sc->key->p + done, STORE_CRYPT_KEY_LEN - done, 0);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            ret = errno;
            snprintf(err, errlen, "getrandom: %s", strerror(ret));
            talloc_free(tmp);
            return ret;
        }
        done += (size_t)r;
    }
    (void)unlink(tmp); /* a leftover of a crash at exactly this point */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        ret = errno;
        snprintf(err, errlen, "cannot create master key file %s: %s", tmp, strerror(ret));
        talloc_free(tmp);
        return ret;
    }
    done = 0;
    while (ret == 0 && done < STORE_CRYPT_KEY_LEN) {
        ssize_t r = write(fd, sc->key->p + done, STORE_CRYPT_KEY_LEN - done);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            ret = r < 0 ? errno : EIO;
            break;
        }
        done += (size_t)r;
    }
    if (ret == 0 && fsync(fd) != 0) {
        ret = errno;
    }
    if (close(fd) != 0 && ret == 0) {
        ret = errno;
    }
    if (ret == 0 && link(tmp, path) != 0) {
        ret = errno;
    }
    (void)unlink(tmp);
    if (ret == EEXIST) {
        talloc_free(tmp);
        return EEXIST;
    }
    if (ret == 0) {
        ret = fsync_parent(path);
    }
    if (ret != 0) {
        snprintf(err, errlen, "cannot write master key file %s: %s", path, strerror(ret));
    }
    talloc_free(tmp);
    return ret;
}

/* Key search order:
 * 1. $CREDENTIALS_DIRECTORY/cachet-master-key (systemd LoadCredential[Encrypted]=), if present:
 *    it wins over the configuration. Never created: systemd owns that directory.
 * 2. key_file (configured), else <state_dir>/master.key: read; created (0600) if missing. A key
 *    created while a database already exists means the old records cannot be decrypted: the
 *    backend detects that with its key check and moves the database aside. */
static int load_key(struct store_crypt *sc, const char *state_dir, const char *key_file, char *err,
                    size_t errlen)
{
    const char *cd = secure_getenv("CREDENTIALS_DIRECTORY");
    const char *path;
    int ret;

    if (cd != NULL && cd[0] != '\0') {
        path = talloc_asprintf(sc, "%s/%s", cd, STORE_CREDENTIAL_NAME);
        if (path == NULL) {
            return ENOMEM;
        }
        ret = read_key_file(sc, path, false, err, errlen);
        if (ret == 0) {
            sc->source = talloc_asprintf(sc, "systemd credential %s", path);
            return sc->source != NULL ? 0 : ENOMEM;
        }
        if (ret != ENOENT) {
            return ret;
        }
        util_log(UTIL_LOG_INFO, "$CREDENTIALS_DIRECTORY has no %s; using the master key file",
                 STORE_CREDENTIAL_NAME);
    }
    if (key_file != NULL && key_file[0] != '\0') {
        path = talloc_strdup(sc, key_file);
    } else {
        path = talloc_asprintf(sc, "%s/%s", state_dir, STORE_MASTER_KEY_NAME);
    }
    if (path == NULL) {
        return ENOMEM;
    }
    sc->source = talloc_asprintf(sc, "key file %s", path);
    if (sc->source == NULL) {
        return ENOMEM;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        ret = read_key_file(sc, path, true, err, errlen);
        if (ret != ENOENT) {
            return ret;
        }
        ret = create_key_file(sc, path, err, errlen);
        if (ret == 0) {
            sc->created = true;
            util_log(UTIL_LOG_WARNING, "created a new master key in %s", path);
            return 0;
        }
        if (ret != EEXIST) {
            return ret;
        }
    }
    snprintf(err, errlen, "master key file %s keeps appearing and disappearing", path);
    return EAGAIN;
}

/* An empty profile: record crypto needs no krb5.conf, and a broken krb5.conf must not take
 * the credential store down with it. */
static krb5_error_code new_context(krb5_context *out)
{
    profile_t prof = NULL;
    krb5_error_code kret;

    *out = NULL;
    if (profile_init(NULL, &prof) != 0) {
        return ENOMEM;
    }
    kret = krb5_init_context_profile(prof, KRB5_INIT_CONTEXT_SECURE, out);
    profile_release(prof);
    if (kret != 0) {
        *out = NULL;
    }
    return kret;
}

int store_crypt_new(TALLOC_CTX *ctx, const char *state_dir, const char *key_file,
                    struct store_crypt **out, char *err, size_t errlen)
{
    struct store_crypt *sc = talloc_zero(ctx, struct store_crypt);
    krb5_error_code kret;
    int ret;

    if (sc == NULL) {
        return ENOMEM;
    }
    talloc_set_destructor(sc, crypt_destructor);
    kret = new_context(&sc->kctx);
    if (kret != 0) {
        snprintf(err, errlen, "cannot create a krb5 context: error %ld", (long)kret);
        talloc_free(sc);
        return ENOMEM;
    }
    sc->key = util_secbuf_new(sc, STORE_CRYPT_KEY_LEN);
    if (sc->key == NULL) {
        snprintf(err, errlen, "out of secure memory for the master key");
        talloc_free(sc);
        return ENOMEM;
    }
    ret = load_key(sc, state_dir, key_file, err, errlen);
    if (ret != 0) {
        talloc_free(sc);
        return ret;
    }
    sc->kb.magic = KV5M_KEYBLOCK;
    sc->kb.enctype = CRYPT_ENCTYPE;
    sc->kb.length = STORE_CRYPT_KEY_LEN;
    sc->kb.contents = sc->key->p;
    *out = sc;
    return 0;
}

/* ---- records ---- */

static void rec_encode(struct util_wr *wr, const struct store_rec *r)
{
    util_wr_u8(wr, STORE_REC_FORMAT);
    util_wr_u8(wr, (uint8_t)r->type);
    util_wr_u32(wr, r->owner.uid);
    util_wr_u32(wr, r->owner.session);
    util_wr_bytes(wr, r->owner.boot_id, STORE_BOOT_ID_LEN);
    switch (r->type) {
    case STORE_REC_CACHE:
        util_wr_bytes(wr, r->cache_uuid, STORE_UUID_LEN);
        util_wr_cstr(wr, r->name);
        util_wr_i32(wr, r->offset);
        util_wr_data(wr, r->blob);
        break;
    case STORE_REC_CRED:
        util_wr_bytes(wr, r->cache_uuid, STORE_UUID_LEN);
        util_wr_bytes(wr, r->cred_uuid, STORE_UUID_LEN);
        util_wr_data(wr, r->blob);
        break;
    case STORE_REC_DEFAULT:
        util_wr_cstr(wr, r->name);
        break;
    case STORE_REC_KEYCHECK:
        util_wr_data(wr, r->blob);
        break;
    }
}

static bool rec_decode(const uint8_t *p, size_t len, struct store_rec *r)
{
    struct util_rd rd;
    const uint8_t *u;
    uint8_t format;

    util_rd_init(&rd, p, len);
    format = util_rd_u8(&rd);
    if (format != STORE_REC_FORMAT && format != STORE_REC_FORMAT_V0) {
        return false;
    }
    r->type = (enum store_rec_type)util_rd_u8(&rd);
    r->owner.uid = util_rd_u32(&rd);
    r->owner.session = util_rd_u32(&rd);
    if (format == STORE_REC_FORMAT) {
        u = util_rd_bytes(&rd, STORE_BOOT_ID_LEN);
        if (u != NULL) {
            memcpy(r->owner.boot_id, u, STORE_BOOT_ID_LEN);
        }
    }
    switch (r->type) {
    case STORE_REC_CACHE:
        u = util_rd_bytes(&rd, STORE_UUID_LEN);
        if (u != NULL) {
            memcpy(r->cache_uuid, u, STORE_UUID_LEN);
        }
        r->name = util_rd_cstr(&rd, STORE_MAX_NAME);
        r->offset = util_rd_i32(&rd);
        r->blob = util_rd_data(&rd);
        break;
    case STORE_REC_CRED:
        u = util_rd_bytes(&rd, STORE_UUID_LEN);
        if (u != NULL) {
            memcpy(r->cache_uuid, u, STORE_UUID_LEN);
        }
        u = util_rd_bytes(&rd, STORE_UUID_LEN);
        if (u != NULL) {
            memcpy(r->cred_uuid, u, STORE_UUID_LEN);
        }
        r->blob = util_rd_data(&rd);
        break;
    case STORE_REC_DEFAULT:
        r->name = util_rd_cstr(&rd, STORE_MAX_NAME);
        break;
    case STORE_REC_KEYCHECK:
        r->blob = util_rd_data(&rd);
        break;
    default:
        return false;
    }
    return util_rd_done(&rd);
}

int store_crypt_seal(struct store_crypt *sc, TALLOC_CTX *mem, const struct store_rec *r,
                     struct util_secbuf **ct)
{
    struct util_secbuf *plain;
    struct util_secbuf *out;
    struct util_wr wr;
    krb5_data in;
    krb5_enc_data enc;
    size_t len;
    krb5_error_code kret;

    *ct = NULL;
    util_wr_init(&wr, NULL, 0);
    rec_encode(&wr, r);
    if (!util_wr_ok(&wr) || wr.len > UINT32_MAX / 2 ||
        krb5_c_encrypt_length(sc->kctx, CRYPT_ENCTYPE, wr.len, &len) != 0) {
        return EINVAL;
    }
    plain = util_secbuf_new(NULL, wr.len);
    out = util_secbuf_new(mem, len);
    if (plain == NULL || out == NULL) {
        talloc_free(plain);
        talloc_free(out);
        return ENOMEM;
    }
    util_wr_init(&wr, plain->p, plain->len);
    rec_encode(&wr, r);
    if (!util_wr_ok(&wr) || wr.len != plain->len) {
        talloc_free(plain);
        talloc_free(out);
        return EINVAL;
    }
    in.magic = KV5M_DATA;
    in.data = (char *)plain->p;
    in.length = (unsigned int)plain->len;
    memset(&enc, 0, sizeof(enc));
    enc.ciphertext.data = (char *)out->p;
    enc.ciphertext.length = (unsigned int)out->len;
    /* krb5_c_* rather than a long-lived krb5_key: libkrb5 copies the key into its own heap for
     * the duration of the call (and zeroes it after); a krb5_key would keep the key, the
     * derived Ke and the AES key schedule there (unlocked, swappable) for the daemon's
     * lifetime. The gain would be small: a krb5_key saves the Ke derivation only (libkrb5
     * derives Ki on every call anyway), 12% of the instructions of sealing a 1.5 KB record,
     * about 9% of a STORE's. Start-up loading, where it matters, uses krb5_keys for the
     * duration of the load only (store_crypt_pool). */
    kret = krb5_c_encrypt(sc->kctx, &sc->kb, STORE_CRYPT_USAGE, NULL, &in, &enc);
    talloc_free(plain);
    if (kret != 0) {
        const char *msg = krb5_get_error_message(sc->kctx, kret);
        util_log(UTIL_LOG_ERROR, "record encryption failed: %s", msg);
        krb5_free_error_message(sc->kctx, msg);
        talloc_free(out);
        return EIO;
    }
    out->len = enc.ciphertext.length;
    *ct = out;
    return 0;
}

int store_crypt_open(struct store_crypt *sc, TALLOC_CTX *mem, const uint8_t *ct, size_t ctlen,
                     struct store_rec *out)
{
    struct util_secbuf *plain;
    krb5_enc_data enc;
    krb5_data pd;
    krb5_error_code kret;

    memset(out, 0, sizeof(*out));
    if (ctlen == 0 || ctlen > UINT32_MAX / 2) {
        return EBADMSG;
    }
    /* The plaintext is shorter than the ciphertext; it lands directly in secure memory. */
    plain = util_secbuf_new(mem, ctlen);
    if (plain == NULL) {
        return ENOMEM;
    }
    memset(&enc, 0, sizeof(enc));
    enc.magic = KV5M_ENC_DATA;
    enc.enctype = CRYPT_ENCTYPE;
    enc.ciphertext.data = (char *)ct;
    enc.ciphertext.length = (unsigned int)ctlen;
    pd.magic = KV5M_DATA;
    pd.data = (char *)plain->p;
    pd.length = (unsigned int)plain->len;
    kret = krb5_c_decrypt(sc->kctx, &sc->kb, STORE_CRYPT_USAGE, NULL, &enc, &pd);
    if (kret != 0) {
        talloc_free(plain);
        return kret == ENOMEM ? ENOMEM : EBADMSG;
    }
    if (!rec_decode(plain->p, pd.length, out)) {
        talloc_free(plain);
        memset(out, 0, sizeof(*out));
        return EPROTO;
    }
    out->plain = plain;
    return 0;
}

bool store_crypt_parse(const uint8_t *plain, size_t len, struct store_rec *out)
{
    memset(out, 0, sizeof(*out));
    if (!rec_decode(plain, len, out)) {
        memset(out, 0, sizeof(*out));
        return false;
    }
    return true;
}

/* ---- per-thread keys for bulk decryption (see store_crypt.h) ---- */

struct store_crypt_key {
    krb5_context kctx;
    krb5_key key; /* libkrb5 heap: master key copy, derived keys, AES schedules */
    size_t overhead; /* confounder + checksum: ciphertext length - plaintext length */
};

static int key_destructor(struct store_crypt_key *k)
{
    if (k->key != NULL) {
        krb5_k_free_key(k->kctx, k->key); /* wipes the key and its derived keys */
    }
    if (k->kctx != NULL) {
        krb5_free_context(k->kctx);
    }
    return 0;
}

struct store_crypt_key *store_crypt_key_new(TALLOC_CTX *ctx, struct store_crypt *sc)
{
    struct store_crypt_key *k = talloc_zero(ctx, struct store_crypt_key);

    if (k == NULL) {
        return NULL;
    }
    talloc_set_destructor(k, key_destructor);
    if (new_context(&k->kctx) != 0 || krb5_k_create_key(k->kctx, &sc->kb, &k->key) != 0) {
        k->key = NULL;
        talloc_free(k);
        return NULL;
    }
    {
        unsigned int hdr = 0;
        unsigned int trl = 0;
        if (krb5_c_crypto_length(k->kctx, CRYPT_ENCTYPE, KRB5_CRYPTO_TYPE_HEADER, &hdr) == 0 &&
            krb5_c_crypto_length(k->kctx, CRYPT_ENCTYPE, KRB5_CRYPTO_TYPE_TRAILER, &trl) == 0) {
            k->overhead = hdr + trl;
        }
    }
    return k;
}

void store_crypt_key_decrypt(struct store_crypt_key *k, struct store_crypt_job *job)
{
    krb5_enc_data enc;
    krb5_data pd;
    uint8_t *plain;

    job->plain = NULL;
    job->plen = 0;
    if (job->ctlen == 0 || job->ctlen > UINT32_MAX / 2) {
        job->ret = EBADMSG;
        return;
    }
    if (job->ctlen <= k->overhead) {
        job->ret = EBADMSG;
        return;
    }
    /* Straight into secure memory (thread-safe, no talloc: this runs in a worker thread), sized
     * exactly: the plaintext may become the credential's buffer (store_load_cred_adopt), and a
     * 1.5 KB record must fit the arena's 1.5 KB size class, not the next one up. */
    plain = util_secmem_alloc(job->ctlen - k->overhead);
    if (plain == NULL) {
        job->ret = ENOMEM;
        return;
    }
    memset(&enc, 0, sizeof(enc));
    enc.magic = KV5M_ENC_DATA;
    enc.enctype = CRYPT_ENCTYPE;
    enc.ciphertext.data = (char *)job->ct;
    enc.ciphertext.length = (unsigned int)job->ctlen;
    pd.magic = KV5M_DATA;
    pd.data = (char *)plain;
    pd.length = (unsigned int)(job->ctlen - k->overhead);
    job->ret = krb5_k_decrypt(k->kctx, k->key, STORE_CRYPT_USAGE, NULL, &enc, &pd);
    if (job->ret != 0) {
        util_secmem_free(plain);
        job->ret = job->ret == ENOMEM ? ENOMEM : EBADMSG;
        return;
    }
    job->plain = plain;
    job->plen = pd.length;
}

void store_crypt_keycheck_rec(struct store_rec *r)
{
    memset(r, 0, sizeof(*r));
    r->type = STORE_REC_KEYCHECK;
    r->blob.p = (const uint8_t *)KEYCHECK_MARKER;
    r->blob.len = sizeof(KEYCHECK_MARKER) - 1;
}

bool store_crypt_is_keycheck(const struct store_rec *r)
{
    struct store_rec k;

    store_crypt_keycheck_rec(&k);
    return r->type == STORE_REC_KEYCHECK && store_owner_key_eq(&r->owner, &k.owner) &&
           util_data_eq(r->blob, k.blob);
}
