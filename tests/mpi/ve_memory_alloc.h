/* VE memory a program allocates itself, for windows created on it
 * (MPI_Win_create): a VE process of the rank (on VE_NODE_NUMBER, which
 * veshm-rank sets) and memory of it that the host can address. Through
 * dlsym, like ve_memory_probe.h: libveo is there only when the veshm module
 * is loaded. */
#ifndef VE_MEMORY_ALLOC_H
#define VE_MEMORY_ALLOC_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stddef.h>
#include <string.h>

/* VESHM areas are whole VE pages: windows are made of them. */
#define VE_WINDOW_PAGE ((size_t)64 << 20)

struct ve_window_memory {
    void *proc; /* struct veo_proc_handle * */
    void *hmem; /* HMEM address of the memory */
};

static inline void *ve_memory_sym(const char *name) {
    return dlsym(RTLD_DEFAULT, name);
}

/* Host address of *size bytes (rounded up to whole VE pages) of VE memory,
 * or NULL when libveo is not loaded or allocation fails. */
static inline void *ve_memory_alloc(size_t *size, struct ve_window_memory *m) {
    void *create = ve_memory_sym("veo_proc_create");
    void *memalign = ve_memory_sym("veo_posix_memalign_hmem");
    void *to_vh = ve_memory_sym("veo_emu_hmem_to_vh");
    void *(*create_fn)(int);
    int (*memalign_fn)(void *, void **, size_t, size_t);
    void *(*to_vh_fn)(const void *);
    if (create == NULL || memalign == NULL || to_vh == NULL)
        return NULL;
    /* ISO C has no object-to-function pointer conversion; dlsym relies on
     * POSIX guaranteeing that the representations agree. */
    memcpy(&create_fn, &create, sizeof(create));
    memcpy(&memalign_fn, &memalign, sizeof(memalign));
    memcpy(&to_vh_fn, &to_vh, sizeof(to_vh));
    *size = (*size + VE_WINDOW_PAGE - 1) / VE_WINDOW_PAGE * VE_WINDOW_PAGE;
    m->proc = create_fn(-1);
    if (m->proc == NULL || memalign_fn(m->proc, &m->hmem, VE_WINDOW_PAGE, *size) != 0)
        return NULL;
    return to_vh_fn(m->hmem);
}

static inline void ve_memory_free(struct ve_window_memory *m) {
    void *free_hmem = ve_memory_sym("veo_free_hmem");
    void *destroy = ve_memory_sym("veo_proc_destroy");
    int (*free_fn)(void *);
    int (*destroy_fn)(void *);
    if (free_hmem == NULL || destroy == NULL)
        return;
    memcpy(&free_fn, &free_hmem, sizeof(free_hmem));
    memcpy(&destroy_fn, &destroy, sizeof(destroy));
    if (m->hmem != NULL)
        free_fn(m->hmem);
    if (m->proc != NULL)
        destroy_fn(m->proc);
}

#endif
