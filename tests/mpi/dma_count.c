/* Counts the VE DMA a process posts: preloaded in front of libveo, it wraps
 * veo_dma_post and veo_dma_post_wait, forwards to libveo's, and prints the
 * totals at exit:
 *   dma_count: pid <pid> posts <n> bytes <b>
 * The proof tests use it to show that one-sided traffic was VE DMA, i.e.
 * that the veshm transport carried it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "veo_vedma.h"

static atomic_ulong posts, bytes;

typedef int (*post_fn)(struct veo_proc_handle *, uint64_t, uint64_t, int, ve_dma_handle_t *);
typedef int (*post_wait_fn)(struct veo_proc_handle *, uint64_t, uint64_t, int);

static void *next(const char *name) {
    void *p = dlsym(RTLD_NEXT, name);
    if (p == NULL) {
        fprintf(stderr, "dma_count: %s not found after the preloaded library\n", name);
        _exit(127);
    }
    return p;
}

int veo_dma_post(struct veo_proc_handle *h, uint64_t dst, uint64_t src, int size,
                 ve_dma_handle_t *handle) {
    static post_fn real;
    if (real == NULL) {
        void *p = next("veo_dma_post");
        memcpy(&real, &p, sizeof(p));
    }
    int rc = real(h, dst, src, size, handle);
    if (rc == 0) {
        atomic_fetch_add(&posts, 1);
        atomic_fetch_add(&bytes, (unsigned long)size);
    }
    return rc;
}

int veo_dma_post_wait(struct veo_proc_handle *h, uint64_t dst, uint64_t src, int size) {
    static post_wait_fn real;
    if (real == NULL) {
        void *p = next("veo_dma_post_wait");
        memcpy(&real, &p, sizeof(p));
    }
    int rc = real(h, dst, src, size);
    if (rc == 0) {
        atomic_fetch_add(&posts, 1);
        atomic_fetch_add(&bytes, (unsigned long)size);
    }
    return rc;
}

__attribute__((destructor)) static void report(void) {
    fprintf(stderr, "dma_count: pid %d posts %lu bytes %lu\n", (int)getpid(), atomic_load(&posts),
            atomic_load(&bytes));
}
