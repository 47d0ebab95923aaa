/* Tells whether a pointer is emulated VE memory, without linking libveo: the
 * tests must run unchanged over Open MPI's default paths, where nothing loads
 * libveo, and over veshm, where libuct_veshm.so brings it in. */
#ifndef VE_MEMORY_PROBE_H
#define VE_MEMORY_PROBE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

/* 1: VE memory, 0: not VE memory, -1: libveo is not loaded (cannot tell). */
static inline int ve_memory_probe(const void *p) {
    void *sym = dlsym(RTLD_DEFAULT, "veo_emu_vh_to_hmem");
    void *(*to_hmem)(const void *);
    if (sym == NULL)
        return -1;
    /* ISO C has no object-to-function pointer conversion; dlsym relies on
     * POSIX guaranteeing that the representations agree. */
    memcpy(&to_hmem, &sym, sizeof(sym));
    return to_hmem(p) != NULL;
}

/* What the test environment promises about where windows and symmetric heaps
 * live: VESHM_TEST_MEMORY=ve (the veshm runs) makes a wrong answer fatal;
 * unset, the probe is informational only. */
static inline int ve_memory_expected(void) {
    const char *e = getenv("VESHM_TEST_MEMORY");
    return e != NULL && strcmp(e, "ve") == 0;
}

#endif
