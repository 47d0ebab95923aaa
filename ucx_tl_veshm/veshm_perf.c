/* VE DMA performance measurement and its per-host record: see veshm_perf.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "veshm_perf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ucs/debug/log.h>
#include <ucs/sys/math.h>
#include <ucs/time/time.h>

#include "veo_vedma.h"

#define UCT_VESHM_PERF_NAME "veshm-ucx-perf-v1"

static struct {
    int done;
    uct_veshm_perf_t perf;
} uct_veshm_measured;

/* A small transfer (post + poll) and large ones, posted as the data path
 * posts them; best of several runs. */
static void uct_veshm_perf_measure(const uct_veshm_perf_buffer_t *buf, uct_veshm_perf_t *perf) {
    const size_t big = ucs_min(buf->size / 4, (size_t)8 << 20);
    const size_t chunk = ucs_min(buf->chunk, big);
    uint64_t src = buf->vehva, dst = buf->vehva + buf->size / 2;
    ve_dma_handle_t h[64];
    int n;

    memset(buf->host, 1, big);
    memset(buf->host + buf->size / 2, 2, big);
    ucs_time_t best_small = UCS_TIME_INFINITY, best_big = UCS_TIME_INFINITY;
    for (int i = 0; i < 300; ++i) {
        ucs_time_t t0 = ucs_get_time();
        if (veo_dma_post(buf->proc, dst, src, 8, &h[0]) != 0)
            break;
        while (veo_dma_poll(buf->proc, &h[0]) == -EAGAIN)
            ;
        ucs_time_t t = ucs_get_time() - t0;
        if (i >= 20 && t < best_small)
            best_small = t;
    }
    for (int i = 0; i < 6; ++i) {
        ucs_time_t t0 = ucs_get_time();
        n = 0;
        for (size_t off = 0; off < big && n < 64; off += chunk, ++n)
            while (veo_dma_post(buf->proc, dst + off, src + off, (int)ucs_min(chunk, big - off),
                                &h[n]) == -EAGAIN)
                ;
        for (int j = n - 1; j >= 0; --j)
            while (veo_dma_poll(buf->proc, &h[j]) == -EAGAIN)
                ;
        ucs_time_t t = ucs_get_time() - t0;
        if (i >= 1 && t < best_big)
            best_big = t;
    }
    double lat = (best_small == UCS_TIME_INFINITY) ? 1e-6 : ucs_time_to_sec(best_small);
    double bw = (best_big == UCS_TIME_INFINITY) ? 1e9 : big / ucs_time_to_sec(best_big);
    perf->latency = lat;
    perf->overhead = lat / 2;
    perf->bandwidth = bw;
    ucs_debug("veshm: measured VE DMA: %.0f ns per small transfer, %.0f MB/s", lat * 1e9, bw / 1e6);
}

/* The boot id without dashes, "" if unknown. */
static void uct_veshm_perf_boot(char *boot, size_t len) {
    boot[0] = '\0';
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (f != NULL) {
        if (fgets(boot, (int)len, f) == NULL)
            boot[0] = '\0';
        fclose(f);
    }
    boot[strcspn(boot, "\n-")] = '\0';
}

/* Whether dir is a directory of the user that no one else may write. */
static int uct_veshm_perf_private_dir(const char *dir) {
    struct stat st;
    return dir != NULL && dir[0] == '/' && stat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
           st.st_uid == getuid() && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0 &&
           access(dir, W_OK) == 0;
}

/* Opens (creating) dir/prefix<name>; -1 unless a regular file of the user. */
static int uct_veshm_perf_open_in(const char *dir, const char *prefix, const char *boot, char *path,
                                  size_t len) {
    if (snprintf(path, len, "%s/%s" UCT_VESHM_PERF_NAME "-%u-%s", dir, prefix, (unsigned)getuid(),
                 boot) >= (int)len)
        return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) != 0 || st.st_uid != getuid() || !S_ISREG(st.st_mode))) {
        close(fd);
        fd = -1;
    }
    if (fd < 0)
        ucs_debug("veshm: performance record %s not usable", path);
    return fd;
}

/* The host's record, in the fixed order of veshm_perf.h; -1 if none. */
static int uct_veshm_perf_open(char *path, size_t len) {
    char boot[64];
    int fd = -1;
    uct_veshm_perf_boot(boot, sizeof(boot));
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (uct_veshm_perf_private_dir(xdg))
        fd = uct_veshm_perf_open_in(xdg, "", boot, path, len);
    if (fd < 0)
        fd = uct_veshm_perf_open_in("/tmp", "", boot, path, len);
    if (fd < 0) {
        struct passwd pw, *res = NULL;
        char pwbuf[4096];
        if (getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res != NULL &&
            uct_veshm_perf_private_dir(pw.pw_dir))
            fd = uct_veshm_perf_open_in(pw.pw_dir, ".", boot, path, len);
    }
    return fd;
}

static int uct_veshm_perf_parse(const char *text, uct_veshm_perf_t *perf) {
    double lat, ovh, bw;
    if (sscanf(text, "%lf %lf %lf", &lat, &ovh, &bw) != 3 || !(lat > 0) || !(ovh > 0) || !(bw > 0))
        return 0;
    perf->latency = lat;
    perf->overhead = ovh;
    perf->bandwidth = bw;
    return 1;
}

void uct_veshm_perf_get(const uct_veshm_perf_buffer_t *buf, uct_veshm_perf_t *perf) {
    char path[PATH_MAX], text[256];
    if (uct_veshm_measured.done) {
        *perf = uct_veshm_measured.perf;
        return;
    }
    int fd = uct_veshm_perf_open(path, sizeof(path));
    if (fd >= 0 && flock(fd, LOCK_EX) == 0) {
        ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
        if (n > 0) {
            text[n] = '\0';
            uct_veshm_measured.done = uct_veshm_perf_parse(text, &uct_veshm_measured.perf);
        }
        if (!uct_veshm_measured.done) {
            uct_veshm_perf_t m;
            uct_veshm_perf_measure(buf, &m);
            int len = snprintf(text, sizeof(text), "%.3e %.3e %.3e\n", m.latency, m.overhead,
                               m.bandwidth);
            if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)len, 0) != len)
                ucs_debug("veshm: cannot record the measurement in %s: %m", path);
            /* What others will read, exactly. */
            if (!uct_veshm_perf_parse(text, &uct_veshm_measured.perf))
                uct_veshm_measured.perf = m;
            uct_veshm_measured.done = 1;
        }
        flock(fd, LOCK_UN);
    } else {
        ucs_debug("veshm: no shared performance record: measuring for this process alone");
        uct_veshm_perf_measure(buf, &uct_veshm_measured.perf);
        uct_veshm_measured.done = 1;
    }
    if (fd >= 0)
        close(fd);
    *perf = uct_veshm_measured.perf;
}
