/* Counts the VE DMA a process posts: preloaded in front of libveo, it wraps
 * veo_dma_post and veo_dma_post_wait, forwards to libveo's, and prints the
 * totals at exit:
 *   dma_count: pid <pid> posts <n> bytes <b> put <p> get <g>
 * put: bytes written into VESHM areas of other processes (the destination is
 * a VEHVA that veo_shared_mem_attach(..., VE_REGISTER_VEHVA) returned);
 * get: bytes read from them (the source is such a VEHVA). Transfers between
 * a process's own buffers count in bytes only. The wrappers of
 * veo_shared_mem_attach/detach learn which VEHVA ranges are attachments.
 * bytes, put and get also hold what the veshm transport moved as CPU stores
 * and loads through the host view of such areas (its puts and gets up to
 * UCX_VESHM_PIO_MAX, not put_short), which it counts itself; posts is VE DMA
 * only. The proof tests use it to show that one-sided traffic was carried by
 * the veshm transport (VE DMA or the attachment's host view), puts and gets
 * apart. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "veo_vedma.h"
#include "veo_veshm.h"

static atomic_ulong posts, bytes, put_bytes, get_bytes;

typedef int (*post_fn)(struct veo_proc_handle *, uint64_t, uint64_t, int, ve_dma_handle_t *);
typedef int (*post_wait_fn)(struct veo_proc_handle *, uint64_t, uint64_t, int);
typedef void *(*attach_fn)(struct veo_proc_handle *, pid_t, void *, size_t, int, long long);
typedef int (*detach_fn)(struct veo_proc_handle *, void *, long long);

static void *next(const char *name) {
    void *p = dlsym(RTLD_NEXT, name);
    if (p == NULL) {
        fprintf(stderr, "dma_count: %s not found after the preloaded library\n", name);
        _exit(127);
    }
    return p;
}

/* VEHVA ranges of areas of other processes attached for DMA. */
#define MAX_RANGES 4096
static struct { uint64_t start, size; } ranges[MAX_RANGES];
static unsigned nranges;
static pthread_mutex_t ranges_lock = PTHREAD_MUTEX_INITIALIZER;

static int is_attached(uint64_t addr, uint64_t size) {
    int found = 0;
    pthread_mutex_lock(&ranges_lock);
    for (unsigned i = 0; i < nranges && !found; ++i)
        found = addr >= ranges[i].start && addr - ranges[i].start < ranges[i].size &&
                size <= ranges[i].size - (addr - ranges[i].start);
    pthread_mutex_unlock(&ranges_lock);
    return found;
}

static void count(uint64_t dst, uint64_t src, int size) {
    atomic_fetch_add(&posts, 1);
    atomic_fetch_add(&bytes, (unsigned long)size);
    if (is_attached(dst, (uint64_t)size))
        atomic_fetch_add(&put_bytes, (unsigned long)size);
    else if (is_attached(src, (uint64_t)size))
        atomic_fetch_add(&get_bytes, (unsigned long)size);
}

void *veo_shared_mem_attach(struct veo_proc_handle *h, pid_t pid, void *vemva, size_t size,
                            int syncnum, long long mode_flag) {
    static attach_fn real;
    if (real == NULL) {
        void *p = next("veo_shared_mem_attach");
        memcpy(&real, &p, sizeof(p));
    }
    void *a = real(h, pid, vemva, size, syncnum, mode_flag);
    if (a != (void *)-1 && (mode_flag & VE_REGISTER_VEHVA) && !(mode_flag & VE_MEM_LOCAL)) {
        pthread_mutex_lock(&ranges_lock);
        if (nranges < MAX_RANGES) {
            ranges[nranges].start = (uint64_t)a;
            ranges[nranges].size = size;
            ++nranges;
        } else {
            fprintf(stderr, "dma_count: more than %d attachments, put/get counts incomplete\n",
                    MAX_RANGES);
        }
        pthread_mutex_unlock(&ranges_lock);
    }
    return a;
}

int veo_shared_mem_detach(struct veo_proc_handle *h, void *vehva, long long mode_flag) {
    static detach_fn real;
    if (real == NULL) {
        void *p = next("veo_shared_mem_detach");
        memcpy(&real, &p, sizeof(p));
    }
    int rc = real(h, vehva, mode_flag);
    if (rc == 0 && (mode_flag & VE_REGISTER_VEHVA)) {
        pthread_mutex_lock(&ranges_lock);
        for (unsigned i = 0; i < nranges; ++i)
            if (ranges[i].start == (uint64_t)vehva) {
                ranges[i] = ranges[--nranges];
                break;
            }
        pthread_mutex_unlock(&ranges_lock);
    }
    return rc;
}

int veo_dma_post(struct veo_proc_handle *h, uint64_t dst, uint64_t src, int size,
                 ve_dma_handle_t *handle) {
    static post_fn real;
    if (real == NULL) {
        void *p = next("veo_dma_post");
        memcpy(&real, &p, sizeof(p));
    }
    int rc = real(h, dst, src, size, handle);
    if (rc == 0)
        count(dst, src, size);
    return rc;
}

int veo_dma_post_wait(struct veo_proc_handle *h, uint64_t dst, uint64_t src, int size) {
    static post_wait_fn real;
    if (real == NULL) {
        void *p = next("veo_dma_post_wait");
        memcpy(&real, &p, sizeof(p));
    }
    int rc = real(h, dst, src, size);
    if (rc == 0)
        count(dst, src, size);
    return rc;
}

/* The transport's own count of what it put and got as CPU stores and loads
 * through the host view of attached areas (veshm_pio.h), if it is loaded:
 * preloaded (veshm-rank, perftest.sh) it is found globally, else by path. */
static void pio_bytes(unsigned long *put, unsigned long *get) {
    void *sym = dlsym(RTLD_DEFAULT, "uct_veshm_pio_stats");
    const char *module = getenv("VESHM_UCX_MODULE");
    if (sym == NULL && module != NULL) {
        void *h = dlopen(module, RTLD_LAZY | RTLD_NOLOAD);
        if (h != NULL)
            sym = dlsym(h, "uct_veshm_pio_stats");
    }
    uint64_t p = 0, g = 0;
    if (sym != NULL) {
        void (*f)(uint64_t *, uint64_t *);
        memcpy(&f, &sym, sizeof(sym));
        f(&p, &g);
    }
    *put = (unsigned long)p;
    *get = (unsigned long)g;
}

__attribute__((destructor)) static void report(void) {
    unsigned long pput, pget;
    pio_bytes(&pput, &pget);
    fprintf(stderr, "dma_count: pid %d posts %lu bytes %lu put %lu get %lu\n", (int)getpid(),
            atomic_load(&posts), atomic_load(&bytes) + pput + pget, atomic_load(&put_bytes) + pput,
            atomic_load(&get_bytes) + pget);
}
