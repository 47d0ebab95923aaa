#include "veshm_scope.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uct_veshm_scope_t uct_veshm_self_scope;
static int uct_veshm_scope_known;
static uint64_t uct_veshm_self_digest; /* of the scope, 0 if unknown */
static pthread_once_t uct_veshm_scope_once = PTHREAD_ONCE_INIT;

/* "0a1b2c3d-..." -> 16 bytes; 0 on success. */
static int uct_veshm_read_boot_id(uint8_t *out) {
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (f == NULL)
        return -1;
    char text[64] = {0};
    int ok = fgets(text, sizeof(text), f) != NULL;
    fclose(f);
    if (!ok)
        return -1;
    int n = 0;
    for (const char *p = text; *p != '\0' && *p != '\n' && n < 32; ++p) {
        int v;
        if (*p == '-')
            continue;
        if (*p >= '0' && *p <= '9')
            v = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            v = *p - 'a' + 10;
        else
            return -1;
        out[n / 2] = (uint8_t)((out[n / 2] << 4) | v);
        ++n;
    }
    return n == 32 ? 0 : -1;
}

static int uct_veshm_ns_inode(const char *name, uint32_t *out) {
    char path[64];
    struct stat st;
    snprintf(path, sizeof(path), "/proc/self/ns/%s", name);
    if (stat(path, &st) != 0)
        return -1;
    *out = (uint32_t)st.st_ino;
    return 0;
}

static void uct_veshm_scope_init(void) {
    uct_veshm_scope_t *s = &uct_veshm_self_scope;
    memset(s, 0, sizeof(*s));
    s->uid = (uint32_t)getuid();
    uct_veshm_scope_known = uct_veshm_read_boot_id(s->boot_id) == 0 &&
                            uct_veshm_ns_inode("pid", &s->pid_ns) == 0 &&
                            uct_veshm_ns_inode("net", &s->net_ns) == 0;
    if (!uct_veshm_scope_known)
        return;
    /* FNV-1a, 64 bit: identity, not secrecy (the attach checks credentials). */
    const uint8_t *p = (const uint8_t *)s;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < sizeof(*s); ++i)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    uct_veshm_self_digest = h;
}

const uct_veshm_scope_t *uct_veshm_scope(void) {
    pthread_once(&uct_veshm_scope_once, uct_veshm_scope_init);
    return uct_veshm_scope_known ? &uct_veshm_self_scope : NULL;
}

int uct_veshm_scope_reaches(const uct_veshm_scope_t *peer) {
    const uct_veshm_scope_t *self = uct_veshm_scope();
    return self != NULL && peer != NULL && memcmp(self, peer, sizeof(*self)) == 0;
}

uint64_t uct_veshm_scope_digest(void) {
    pthread_once(&uct_veshm_scope_once, uct_veshm_scope_init);
    return uct_veshm_self_digest;
}
