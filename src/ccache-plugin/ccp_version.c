/* Run-time check that the libkrb5 we were loaded into has the ccache ops layout of ccp_abi.h.
 *
 * Two independent tests, both must pass before krb5_cc_register() is called:
 * 1. the brand string ("KRB5_BRAND: <tag> <release> <date>", the char array krb5_brand in every
 *    MIT libkrb5 but not an exported symbol), found in the loaded writable segments of the
 *    library that defines krb5_init_context (else in its file), must name 1.20, 1.21 or 1.22;
 * 2. the exported built-in tables krb5_fcc_ops and krb5_mcc_ops must have our struct size and
 *    the NULL pattern of the 1.20 layout (replace set; wasdefault and switch_to NULL; lock and
 *    unlock set). In 1.18/1.19 the replace slot (then `move`) is NULL for both; in <= 1.17 the
 *    wasdefault slot holds `lastchange`, and the struct is one slot longer.
 * Nothing here prints; the reason of a refusal is kept for krb5_set_error_message(). */
#include "config.h"
#include "ccache-plugin/ccp_int.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define BRAND_MAGIC "KRB5_BRAND: "
#define BRAND_MAX 160

bool ccp_brand_parse(const char *brand, size_t len, int *major, int *minor)
{
    /* "KRB5_BRAND: krb5-1.20.1-final 1.20.1 20221111": the second word is the release. */
    char buf[BRAND_MAX + 1];
    const char *p;
    char *end;
    long maj;
    long min;

    if (len > BRAND_MAX) {
        len = BRAND_MAX;
    }
    memcpy(buf, brand, len);
    buf[len] = '\0';
    if (strncmp(buf, BRAND_MAGIC, strlen(BRAND_MAGIC)) != 0) {
        return false;
    }
    p = buf + strlen(BRAND_MAGIC);
    p = strchr(p, ' '); /* skip the tag */
    if (p == NULL) {
        return false;
    }
    p++;
    if (*p < '0' || *p > '9') {
        return false;
    }
    maj = strtol(p, &end, 10);
    if (*end != '.' || end[1] < '0' || end[1] > '9') {
        return false;
    }
    min = strtol(end + 1, &end, 10);
    /* "1.20", "1.20.1", "1.21-beta1": anything but another digit may follow. */
    if (*end >= '0' && *end <= '9') {
        return false;
    }
    *major = (int)maj;
    *minor = (int)min;
    return true;
}

bool ccp_release_supported(int major, int minor)
{
    return major == 1 && minor >= 20 && minor <= 22;
}

struct seg_search {
    const void *inside; /* an address inside the library we look for */
    const char *hit;
    size_t left;
};

/* dl_iterate_phdr callback: in the object containing s->inside, search the writable loaded
 * segments (krb5_brand is a non-const char array, so it lives in .data) for the brand. */
static int seg_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct seg_search *s = arg;
    uintptr_t a = (uintptr_t)s->inside;
    bool mine = false;

    for (int i = 0; i < info->dlpi_phnum && !mine; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        mine = ph->p_type == PT_LOAD && a >= lo && a < lo + ph->p_memsz;
    }
    if (!mine) {
        return 0;
    }
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        const char *base = (const char *)(info->dlpi_addr + ph->p_vaddr);
        const char *hit;
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W) || !(ph->p_flags & PF_R)) {
            continue;
        }
        hit = memmem(base, ph->p_filesz, BRAND_MAGIC, strlen(BRAND_MAGIC));
        if (hit != NULL) {
            s->hit = hit;
            s->left = (size_t)(base + ph->p_filesz - hit);
            return 1;
        }
    }
    return 1;
}

/* The brand in the loaded image: a few KB of .data instead of the whole file. */
static bool brand_in_memory(const void *inside, int *major, int *minor)
{
    struct seg_search s = { inside, NULL, 0 };

    (void)dl_iterate_phdr(seg_cb, &s);
    if (s.hit == NULL) {
        return false;
    }
    return ccp_brand_parse(s.hit, strnlen(s.hit, s.left < BRAND_MAX ? s.left : BRAND_MAX), major,
                           minor);
}

/* Find the brand string in the library file (if it was not in the loaded .data). */
static bool read_brand(const char *path, int *major, int *minor, char *why, size_t whylen)
{
    struct stat st;
    void *map;
    const char *hit;
    bool ok = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        snprintf(why, whylen, "cannot open %s to read its release", path);
        return false;
    }
    if (fstat(fd, &st) != 0 || st.st_size <= 0) {
        close(fd);
        snprintf(why, whylen, "cannot read %s", path);
        return false;
    }
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        snprintf(why, whylen, "cannot map %s", path);
        return false;
    }
    hit = memmem(map, (size_t)st.st_size, BRAND_MAGIC, strlen(BRAND_MAGIC));
    if (hit == NULL) {
        snprintf(why, whylen, "%s has no KRB5_BRAND string (not MIT krb5?)", path);
    } else {
        size_t left = (size_t)((const char *)map + st.st_size - hit);
        size_t n = strnlen(hit, left < BRAND_MAX ? left : BRAND_MAX);
        ok = ccp_brand_parse(hit, n, major, minor);
        if (!ok) {
            snprintf(why, whylen, "unparsable KRB5_BRAND string in %s", path);
        }
    }
    munmap(map, (size_t)st.st_size);
    return ok;
}

static size_t symbol_size(const void *addr)
{
    Dl_info info;
    const ElfW(Sym) *sym = NULL;

    if (dladdr1(addr, &info, (void **)&sym, RTLD_DL_SYMENT) == 0 || sym == NULL) {
        return 0;
    }
    return (size_t)sym->st_size;
}

static bool table_shape_ok(const struct ccp_cc_ops *ops, const char *prefix)
{
    return ops->prefix != NULL && strcmp(ops->prefix, prefix) == 0 && ops->get_name != NULL &&
           ops->resolve != NULL && ops->gen_new != NULL && ops->init != NULL &&
           ops->destroy != NULL && ops->close != NULL && ops->store != NULL &&
           ops->retrieve != NULL && ops->get_princ != NULL && ops->get_first != NULL &&
           ops->get_next != NULL && ops->end_get != NULL && ops->remove_cred != NULL &&
           ops->set_flags != NULL && ops->get_flags != NULL && ops->ptcursor_new != NULL &&
           ops->ptcursor_next != NULL && ops->ptcursor_free != NULL && ops->replace != NULL &&
           ops->wasdefault == NULL && ops->lock != NULL && ops->unlock != NULL &&
           ops->switch_to == NULL;
}

krb5_error_code ccp_abi_check(char *why, size_t whylen)
{
    Dl_info info;
    int major = 0;
    int minor = 0;
    size_t fsz;
    size_t msz;

    if (dladdr((void *)krb5_init_context, &info) == 0 || info.dli_fname == NULL) {
        snprintf(why, whylen, "cannot locate the libkrb5 in use");
        return KRB5_PLUGIN_VER_NOTSUPP;
    }
    if (!brand_in_memory((void *)krb5_init_context, &major, &minor) &&
        !read_brand(info.dli_fname, &major, &minor, why, whylen)) {
        return KRB5_PLUGIN_VER_NOTSUPP;
    }
    if (!ccp_release_supported(major, minor)) {
        snprintf(why, whylen,
                 "MIT krb5 %d.%d is not supported (the SESSION cache type needs the private "
                 "ccache layout of 1.20 to 1.22)",
                 major, minor);
        return KRB5_PLUGIN_VER_NOTSUPP;
    }
    fsz = symbol_size(&krb5_fcc_ops);
    msz = symbol_size(&krb5_mcc_ops);
    if (fsz != sizeof(struct ccp_cc_ops) || msz != sizeof(struct ccp_cc_ops)) {
        snprintf(why, whylen,
                 "libkrb5's ccache ops table is %zu/%zu bytes, expected %zu: layout differs", fsz,
                 msz, sizeof(struct ccp_cc_ops));
        return KRB5_PLUGIN_VER_NOTSUPP;
    }
    if (!table_shape_ok(&krb5_fcc_ops, "FILE") || !table_shape_ok(&krb5_mcc_ops, "MEMORY")) {
        snprintf(why, whylen, "libkrb5's built-in ccache ops do not have the 1.20 layout");
        return KRB5_PLUGIN_VER_NOTSUPP;
    }
    snprintf(why, whylen, "MIT krb5 %d.%d", major, minor);
    return 0;
}
