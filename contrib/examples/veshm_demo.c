/* veshm_demo: VESHM and VE DMA between two unrelated VH processes.
 *
 * The owner (this program started without arguments) creates a VE process on
 * VE node 0, allocates 64 MiB of VE memory aligned to 64 MiB, fills it and
 * registers it as a VESHM area with VE_REGISTER_PCI, so VE processes on every
 * VE node may attach it. It then starts the attacher: this same executable
 * again, a new program image that shares nothing with the owner but the
 * values it is given on its command line (owner pid, address, size).
 *
 * The attacher creates a VE process on VE node 1, attaches the area into its
 * VEHVA space (VE_REGISTER_VEHVA), registers a buffer of its own VE memory
 * with veo_register_mem_to_dmaatb() and copies the area into it with the VE
 * DMA engine (veo_dma_post / veo_dma_poll), checks every byte, writes a reply
 * back into the owner's area by DMA, then attaches the area a second time
 * from a VE process on the owner's node with VE_REGISTER_VEMVA and reads it
 * with plain veo_hmemcpy(). The owner finally checks the reply.
 *
 * Exit status 0 when every check passed. */
#define _GNU_SOURCE
#include <ve_offload.h>
#include <veo_vedma.h>
#include <veo_veshm.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define AREA_SIZE (64UL << 20)  /* one VE page, one PCIATB page */
#define CHUNK_SIZE (8 << 20)    /* bytes per DMA descriptor */
#define REPLY_SIZE (1UL << 20)  /* what the attacher writes back */
#define SEED_AREA 0x5eed0001ULL /* the owner's data */
#define SEED_REPLY 0x5eed0002ULL

static const char *role = "owner";

static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("[%-8s pid %6d] ", role, (int)getpid());
    vprintf(fmt, ap);
    putchar('\n');
    fflush(stdout);
    va_end(ap);
}

static int die(const char *what) {
    say("FAILED: %s (errno %d: %s)", what, errno, strerror(errno));
    return 1;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double gib_per_s(size_t bytes, double ms) {
    return ms > 0 ? bytes / (ms / 1e3) / (1024.0 * 1024 * 1024) : 0;
}

/* The 64-bit word at byte offset 8*i of the area, for a given seed. */
static uint64_t pattern(uint64_t i, uint64_t seed) {
    uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ULL ^ seed;
    return x ^ (x >> 29);
}

static void fill(uint64_t *buf, size_t bytes, uint64_t first_word, uint64_t seed) {
    for (size_t i = 0; i < bytes / 8; ++i)
        buf[i] = pattern(first_word + i, seed);
}

/* 1 when buf holds the pattern, else 0 (and says where it differs). */
static int check(const uint64_t *buf, size_t bytes, uint64_t first_word, uint64_t seed) {
    for (size_t i = 0; i < bytes / 8; ++i)
        if (buf[i] != pattern(first_word + i, seed)) {
            say("MISMATCH at byte %zu: 0x%016" PRIx64 ", expected 0x%016" PRIx64, i * 8, buf[i],
                pattern(first_word + i, seed));
            return 0;
        }
    return 1;
}

/* Copies size bytes from VEHVA src to VEHVA dst of h with several DMA
 * descriptors in flight. 0, a negative errno from post, or the exception bits
 * of a failed transfer. */
static int dma_copy(struct veo_proc_handle *h, uint64_t dst, uint64_t src, size_t size,
                    int *posted) {
    enum { MAX_INFLIGHT = 64 };
    ve_dma_handle_t inflight[MAX_INFLIGHT];
    int head = 0, count = 0, result = 0;
    *posted = 0;
    for (size_t off = 0; off < size || count > 0;) {
        if (off < size && count < MAX_INFLIGHT) {
            size_t n = size - off < CHUNK_SIZE ? size - off : CHUNK_SIZE;
            int rc = veo_dma_post(h, dst + off, src + off, (int)n,
                                  &inflight[(head + count) % MAX_INFLIGHT]);
            if (rc == 0) {
                off += n;
                ++count;
                ++*posted;
                continue;
            }
            if (rc != -EAGAIN || count == 0) {
                /* A bad transfer, or a busy descriptor that is not ours to
                 * complete: post no more, collect what is in flight. */
                result = rc;
                off = size;
                continue;
            }
            /* -EAGAIN: the next descriptor is busy; complete the oldest first. */
        }
        int rc = veo_dma_poll(h, &inflight[head]);
        if (rc == -EAGAIN)
            continue;
        if (rc != 0 && result == 0)
            result = rc;
        head = (head + 1) % MAX_INFLIGHT;
        --count;
    }
    return result;
}

static int run_attacher(pid_t owner_ve_pid, void *area, size_t size) {
    role = "attacher";
    uint64_t *host = malloc(size);
    if (host == NULL)
        return die("malloc");
    say("started by the owner; area of VE process %d at HMEM %p, %zu MiB", (int)owner_ve_pid, area,
        size >> 20);

    /* 1. A VE process on another VE node than the owner's: DMA is the way in. */
    struct veo_proc_handle *h1 = veo_proc_create(1);
    if (h1 == NULL)
        return die("veo_proc_create(1)");
    void *local = NULL;
    if ((errno = veo_posix_memalign_hmem(h1, &local, AREA_SIZE, size)) != 0)
        return die("veo_posix_memalign_hmem on node 1");
    say("VE process %d on VE node %d, own buffer at HMEM %p", (int)veo_get_pid_from_hmem(local),
        veo_get_venum_from_hmem(local), local);

    double t = now_ms();
    void *remote =
        veo_shared_mem_attach(h1, owner_ve_pid, area, size, 0, VE_REGISTER_PCI | VE_REGISTER_VEHVA);
    if (remote == (void *)-1)
        return die("veo_shared_mem_attach(VE_REGISTER_PCI | VE_REGISTER_VEHVA)");
    say("attached the area with VE_REGISTER_VEHVA at VEHVA 0x%" PRIx64 " (%.3f ms)",
        (uint64_t)remote, now_ms() - t);

    t = now_ms();
    uint64_t local_vehva = veo_register_mem_to_dmaatb(local, size);
    if (local_vehva == (uint64_t)-1)
        return die("veo_register_mem_to_dmaatb");
    say("registered the own buffer in the DMAATB at VEHVA 0x%" PRIx64 " (%.3f ms)", local_vehva,
        now_ms() - t);

    /* 2. DMA the whole area into the own buffer and check it. */
    int posted = 0;
    t = now_ms();
    int rc = dma_copy(h1, local_vehva, (uint64_t)remote, size, &posted);
    double ms = now_ms() - t;
    if (rc != 0) {
        say("FAILED: DMA read returned %d", rc);
        return 1;
    }
    say("DMA read  %zu bytes remote -> local in %d descriptors: %.2f ms, %.2f GiB/s "
        "(first touch of the buffer's pages)",
        size, posted, ms, gib_per_s(size, ms));
    t = now_ms();
    rc = dma_copy(h1, local_vehva, (uint64_t)remote, size, &posted);
    ms = now_ms() - t;
    if (rc != 0) {
        say("FAILED: DMA read returned %d", rc);
        return 1;
    }
    say("DMA read  the same again, pages now present: %.2f ms, %.2f GiB/s", ms,
        gib_per_s(size, ms));
    if (veo_hmemcpy(host, local, size) != 0)
        return die("veo_hmemcpy from the own buffer");
    if (!check(host, size, 0, SEED_AREA))
        return 1;
    say("verified all %zu bytes: the owner's data arrived intact", size);

    /* 3. Write a reply into the first MiB of the owner's area by DMA. */
    fill(host, REPLY_SIZE, 0, SEED_REPLY);
    if (veo_hmemcpy(local, host, REPLY_SIZE) != 0)
        return die("veo_hmemcpy to the own buffer");
    t = now_ms();
    rc = veo_dma_post_wait(h1, (uint64_t)remote, local_vehva, (int)REPLY_SIZE);
    if (rc != 0) {
        say("FAILED: DMA write returned %d", rc);
        return 1;
    }
    say("DMA write %lu bytes local -> remote with veo_dma_post_wait: %.3f ms", REPLY_SIZE,
        now_ms() - t);

    /* A transfer to a VEHVA outside every DMAATB entry fails as on hardware:
     * with exception bits from poll, not with a crash. */
    uint64_t nowhere = (uint64_t)remote + 4 * AREA_SIZE;
    rc = veo_dma_post_wait(h1, nowhere, local_vehva, 4096);
    say("DMA to unmapped VEHVA 0x%" PRIx64 " reports exception 0x%04x (0x2000 = missing space)",
        nowhere, rc);
    if (rc != VE_DMA_EXC_MISSING_SPACE)
        return 1;

    if (veo_unregister_mem_from_dmaatb(h1, local_vehva) != 0)
        return die("veo_unregister_mem_from_dmaatb");
    if (veo_shared_mem_detach(h1, remote, VE_REGISTER_VEHVA) != 0)
        return die("veo_shared_mem_detach(VE_REGISTER_VEHVA)");
    say("unregistered the own buffer and detached the VEHVA attachment");

    /* 4. A VE process on the owner's node attaches into its VEMVA space and
     * reads the area with veo_hmemcpy, no DMA involved. */
    struct veo_proc_handle *h0 = veo_proc_create(0);
    if (h0 == NULL)
        return die("veo_proc_create(0)");
    t = now_ms();
    void *mapped =
        veo_shared_mem_attach(h0, owner_ve_pid, area, size, 0, VE_REGISTER_PCI | VE_REGISTER_VEMVA);
    if (mapped == (void *)-1)
        return die("veo_shared_mem_attach(VE_REGISTER_PCI | VE_REGISTER_VEMVA)");
    say("VE process %d on VE node 0 attached the area with VE_REGISTER_VEMVA at HMEM %p "
        "(%.3f ms)",
        (int)veo_get_pid_from_hmem(mapped), mapped, now_ms() - t);
    memset(host, 0, size);
    t = now_ms();
    if (veo_hmemcpy(host, mapped, size) != 0)
        return die("veo_hmemcpy from the VEMVA attachment");
    ms = now_ms() - t;
    if (!check(host, REPLY_SIZE, 0, SEED_REPLY) ||
        !check(host + REPLY_SIZE / 8, size - REPLY_SIZE, REPLY_SIZE / 8, SEED_AREA))
        return 1;
    say("veo_hmemcpy read %zu bytes: %.2f ms, %.2f GiB/s; reply and data verified", size, ms,
        gib_per_s(size, ms));
    if (veo_shared_mem_detach(h0, mapped, VE_REGISTER_VEMVA) != 0)
        return die("veo_shared_mem_detach(VE_REGISTER_VEMVA)");

    veo_proc_destroy(h0);
    veo_free_hmem(local);
    veo_proc_destroy(h1);
    free(host);
    say("done");
    return 0;
}

static int run_owner(void) {
    uint64_t *host = malloc(AREA_SIZE);
    if (host == NULL)
        return die("malloc");
    say("VESHM demo: VE node count and sizes come from VESHM_* variables (see README)");

    struct veo_proc_handle *h = veo_proc_create(0);
    if (h == NULL)
        return die("veo_proc_create(0)");
    void *area = NULL;
    if ((errno = veo_posix_memalign_hmem(h, &area, AREA_SIZE, AREA_SIZE)) != 0)
        return die("veo_posix_memalign_hmem");
    pid_t ve_pid = veo_get_pid_from_hmem(area);
    say("VE process %d on VE node %d, identifier %d; %lu MiB of VE memory at HMEM %p", (int)ve_pid,
        veo_get_venum_from_hmem(area), veo_proc_identifier(h), AREA_SIZE >> 20, area);

    fill(host, AREA_SIZE, 0, SEED_AREA);
    double t = now_ms();
    if (veo_hmemcpy(area, host, AREA_SIZE) != 0)
        return die("veo_hmemcpy to VE memory");
    double ms = now_ms() - t;
    say("filled it with veo_hmemcpy: %lu bytes, %.2f ms, %.2f GiB/s (first touch of the pages)",
        AREA_SIZE, ms, gib_per_s(AREA_SIZE, ms));

    t = now_ms();
    if (veo_shared_mem_open(area, AREA_SIZE, 0, VE_REGISTER_PCI) != 0)
        return die("veo_shared_mem_open(VE_REGISTER_PCI)");
    say("opened it as VESHM area (VE_REGISTER_PCI, syncnum 0): %.3f ms", now_ms() - t);

    /* The attacher is a new program image: it knows the area only by the
     * values an application would exchange (pid, address, size). */
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return die("readlink /proc/self/exe");
    self[n] = '\0';
    char pid_arg[32], addr_arg[32], size_arg[32];
    snprintf(pid_arg, sizeof pid_arg, "%d", (int)ve_pid);
    snprintf(addr_arg, sizeof addr_arg, "%p", area);
    snprintf(size_arg, sizeof size_arg, "%lu", AREA_SIZE);
    char *argv[] = {self, "--attach", pid_arg, addr_arg, size_arg, NULL};
    pid_t child;
    if ((errno = posix_spawn(&child, self, NULL, NULL, argv, environ)) != 0)
        return die("posix_spawn of the attacher");
    say("started the attacher, VH process %d: %s --attach %s %s %s", (int)child, self, pid_arg,
        addr_arg, size_arg);
    int status = 0;
    while (waitpid(child, &status, 0) < 0)
        if (errno != EINTR)
            return die("waitpid");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        say("FAILED: the attacher ended with status 0x%x", status);
        return 1;
    }

    if (veo_hmemcpy(host, area, REPLY_SIZE) != 0)
        return die("veo_hmemcpy from VE memory");
    if (!check(host, REPLY_SIZE, 0, SEED_REPLY))
        return 1;
    say("the attacher's DMA write of %lu bytes is in the area: verified", REPLY_SIZE);

    if (veo_shared_mem_close(area, AREA_SIZE, 0, VE_REGISTER_PCI) != 0)
        return die("veo_shared_mem_close");
    veo_free_hmem(area);
    veo_proc_destroy(h);
    free(host);
    say("closed the area, freed the memory, VE process ended");
    say("VESHM demo: OK");
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 5 && strcmp(argv[1], "--attach") == 0) {
        pid_t pid = (pid_t)strtol(argv[2], NULL, 10);
        void *area = (void *)(uintptr_t)strtoull(argv[3], NULL, 16);
        size_t size = (size_t)strtoull(argv[4], NULL, 10);
        return run_attacher(pid, area, size);
    }
    if (argc != 1) {
        fprintf(stderr, "usage: %s    (starts the attacher by itself)\n", argv[0]);
        return 2;
    }
    return run_owner();
}
