/* UCP one-sided communication over veshm between two processes:
 * ucp_put_nbx and ucp_get_nbx on memory from ucp_mem_map(ALLOCATE), with
 * UCX_TLS=veshm,sm,self and UCX_ALLOC_PRIO=md:veshm,... (set by CTest).
 *
 * The initiator (started without arguments) starts the target (this program
 * again, "target <fd>") and gets its worker address, buffer and packed key
 * over a socket. It checks every byte it gets and asks the target to check
 * every byte it put (sizes 1 B .. 16 MiB at odd offsets). Then it proves that
 * veshm carried the RMA: the endpoint's RMA lanes name veshm, the memory on
 * both sides is VE memory, and the transport's DMA counter grew by at least
 * the bytes moved. Exit status 0 when all of it holds.
 *
 * "ucp_rma --control" (run with UCX_TLS without veshm, everything else the
 * same) is the proof's control: exit status 0 only when the data moved
 * correctly and the proof fails for the reason it is there for: no RMA lane
 * over veshm and no VE DMA by veshm. */
#define _GNU_SOURCE
#include <ucp/api/ucp.h>

#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define AREA (64u << 20)

static int control; /* --control: expect the proof to fail, for want of veshm */

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ucp_rma[%d]: ", (int)getpid());
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static uint8_t pat(size_t i, unsigned seed) {
    return (uint8_t)(((i + 1) * 2654435761u + seed) >> 11);
}

static void send_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n > 0) {
        ssize_t r = write(fd, c, n);
        if (r <= 0 && errno != EINTR)
            die("socket write: %m");
        if (r > 0) {
            c += r;
            n -= (size_t)r;
        }
    }
}

/* Receives n bytes while progressing the worker (wireup needs both sides). */
static void recv_all(int fd, void *p, size_t n, ucp_worker_h w) {
    char *c = p;
    while (n > 0) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (w != NULL)
            ucp_worker_progress(w);
        if (poll(&pf, 1, w != NULL ? 0 : -1) <= 0)
            continue;
        ssize_t r = read(fd, c, n);
        if (r == 0)
            die("peer closed the socket");
        if (r < 0 && errno != EINTR)
            die("socket read: %m");
        if (r > 0) {
            c += r;
            n -= (size_t)r;
        }
    }
}

static void send_blob(int fd, const void *p, size_t n) {
    uint64_t len = n;
    send_all(fd, &len, sizeof(len));
    send_all(fd, p, n);
}

static void *recv_blob(int fd, size_t *n, ucp_worker_h w) {
    uint64_t len;
    recv_all(fd, &len, sizeof(len), w);
    void *p = malloc(len ? len : 1);
    recv_all(fd, p, len, w);
    *n = len;
    return p;
}

static void wait_req(ucp_worker_h w, void *req, const char *what) {
    if (req == NULL)
        return;
    if (UCS_PTR_IS_ERR(req))
        die("%s: %s", what, ucs_status_string(UCS_PTR_STATUS(req)));
    ucs_status_t s;
    while ((s = ucp_request_check_status(req)) == UCS_INPROGRESS)
        ucp_worker_progress(w);
    ucp_request_free(req);
    if (s != UCS_OK)
        die("%s: %s", what, ucs_status_string(s));
}

static int is_ve_memory(const void *p) {
    void *sym = dlsym(RTLD_DEFAULT, "veo_emu_vh_to_hmem");
    void *(*f)(const void *);
    if (sym == NULL)
        return 0;
    memcpy(&f, &sym, sizeof(sym));
    return f(p) != NULL;
}

/* Bytes the veshm transport moved: VE DMA, and stores and loads through the
 * host view of the peer's area (its puts and gets up to UCX_VESHM_PIO_MAX). */
static uint64_t dma_bytes(void) {
    void *sym = dlsym(RTLD_DEFAULT, "uct_veshm_dma_stats");
    void *pio = dlsym(RTLD_DEFAULT, "uct_veshm_pio_stats");
    void (*f)(uint64_t *, uint64_t *);
    uint64_t posts = 0, bytes = 0, put = 0, get = 0;
    if (sym == NULL || pio == NULL)
        return 0;
    memcpy(&f, &sym, sizeof(sym));
    f(&posts, &bytes);
    memcpy(&f, &pio, sizeof(pio));
    f(&put, &get);
    return bytes + put + get;
}

static void setup(ucp_context_h *ctx, ucp_worker_h *w) {
    ucp_params_t p = {.field_mask = UCP_PARAM_FIELD_FEATURES, .features = UCP_FEATURE_RMA};
    ucp_config_t *cfg;
    if (ucp_config_read(NULL, NULL, &cfg) != UCS_OK)
        die("ucp_config_read");
    ucs_status_t s = ucp_init(&p, cfg, ctx);
    ucp_config_release(cfg);
    if (s != UCS_OK)
        die("ucp_init: %s", ucs_status_string(s));
    ucp_worker_params_t wp = {.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE,
                              .thread_mode = UCS_THREAD_MODE_SINGLE};
    if (ucp_worker_create(*ctx, &wp, w) != UCS_OK)
        die("ucp_worker_create");
}

static void *map(ucp_context_h ctx, ucp_mem_h *memh) {
    ucp_mem_map_params_t mp = {.field_mask =
                                   UCP_MEM_MAP_PARAM_FIELD_LENGTH | UCP_MEM_MAP_PARAM_FIELD_FLAGS,
                               .length = AREA,
                               .flags = UCP_MEM_MAP_ALLOCATE};
    if (ucp_mem_map(ctx, &mp, memh) != UCS_OK)
        die("ucp_mem_map(ALLOCATE)");
    ucp_mem_attr_t a = {.field_mask = UCP_MEM_ATTR_FIELD_ADDRESS};
    if (ucp_mem_query(*memh, &a) != UCS_OK)
        die("ucp_mem_query");
    return a.address;
}

struct check {
    uint64_t off, len, seed;
};

static const size_t sizes[] = {
    1, 3, 8, 13, 100, 2047, 4096 + 5, 65536 + 3, (1u << 20) + 1, (16u << 20) + 7};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static int target(int fd) {
    ucp_context_h ctx;
    ucp_worker_h w;
    setup(&ctx, &w);
    ucp_mem_h memh;
    uint8_t *buf = map(ctx, &memh);
    for (size_t i = 0; i < AREA; ++i)
        buf[i] = pat(i, 1);
    void *rkey;
    size_t rkey_len;
    if (ucp_rkey_pack(ctx, memh, &rkey, &rkey_len) != UCS_OK)
        die("ucp_rkey_pack");
    ucp_address_t *addr;
    size_t addr_len;
    if (ucp_worker_get_address(w, &addr, &addr_len) != UCS_OK)
        die("ucp_worker_get_address");
    uint64_t a = (uintptr_t)buf, ve = is_ve_memory(buf);
    send_all(fd, &a, sizeof(a));
    send_all(fd, &ve, sizeof(ve));
    send_blob(fd, addr, addr_len);
    send_blob(fd, rkey, rkey_len);
    ucp_rkey_buffer_release(rkey);
    ucp_worker_release_address(w, addr);
    /* The initiator's puts, then: check them. */
    size_t n;
    struct check *c = recv_blob(fd, &n, w);
    uint64_t bad = 0;
    for (size_t k = 0; k < n / sizeof(*c); ++k)
        for (size_t i = 0; i < c[k].len; ++i)
            if (buf[c[k].off + i] != pat(i, (unsigned)c[k].seed))
                ++bad;
    send_all(fd, &bad, sizeof(bad));
    uint64_t bye;
    recv_all(fd, &bye, sizeof(bye), w);
    free(c);
    ucp_mem_unmap(ctx, memh);
    ucp_worker_destroy(w);
    ucp_cleanup(ctx);
    return 0;
}

static int initiator(const char *self) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        die("socketpair: %m");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 3);
    char *argv[] = {(char *)self, "target", "3", NULL};
    pid_t pid;
    if (posix_spawn(&pid, self, &fa, NULL, argv, environ) != 0)
        die("posix_spawn: %m");
    close(sv[1]);
    int fd = sv[0];

    ucp_context_h ctx;
    ucp_worker_h w;
    setup(&ctx, &w);
    ucp_mem_h memh;
    uint8_t *local = map(ctx, &memh);
    uint64_t raddr, rve;
    recv_all(fd, &raddr, sizeof(raddr), NULL);
    recv_all(fd, &rve, sizeof(rve), NULL);
    size_t addr_len, rkey_len;
    ucp_address_t *addr = recv_blob(fd, &addr_len, NULL);
    void *rkey_buf = recv_blob(fd, &rkey_len, NULL);
    ucp_ep_params_t ep_params = {.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS, .address = addr};
    ucp_ep_h ep;
    if (ucp_ep_create(w, &ep_params, &ep) != UCS_OK)
        die("ucp_ep_create");
    ucp_rkey_h rkey;
    if (ucp_ep_rkey_unpack(ep, rkey_buf, &rkey) != UCS_OK)
        die("ucp_ep_rkey_unpack");

    int failures = 0;
    uint64_t dma0 = dma_bytes(), moved = 0;
    ucp_request_param_t rp = {.op_attr_mask = 0};
    /* Gets: remote pattern (seed 1) at odd offsets into odd local offsets. */
    size_t roff = 5, loff = 3;
    for (size_t k = 0; k < NSIZES; ++k) {
        size_t len = sizes[k];
        memset(local + loff, 0, len);
        wait_req(w, ucp_get_nbx(ep, local + loff, len, raddr + roff, rkey, &rp), "ucp_get_nbx");
        for (size_t i = 0; i < len; ++i)
            if (local[loff + i] != pat(roff + i, 1)) {
                fprintf(stderr, "get %zu B: byte %zu wrong\n", len, i);
                ++failures;
                break;
            }
        moved += len;
        roff += len + 11;
        if (roff + (16u << 20) + 64 > AREA)
            roff = 7;
    }
    /* Puts: our pattern at odd offsets, then flush. */
    struct check checks[NSIZES];
    roff = 9;
    for (size_t k = 0; k < NSIZES; ++k) {
        size_t len = sizes[k];
        unsigned seed = 100 + (unsigned)k;
        for (size_t i = 0; i < len; ++i)
            local[loff + i] = pat(i, seed);
        wait_req(w, ucp_put_nbx(ep, local + loff, len, raddr + roff, rkey, &rp), "ucp_put_nbx");
        checks[k] = (struct check){roff, len, seed};
        moved += len;
        roff = (roff + len + 13) % (AREA - (16u << 20) - 64);
        /* Keep the put regions apart: later ones must not overwrite earlier ones. */
        if (k + 1 < NSIZES && roff < checks[k].off + len)
            roff = checks[k].off + len + 13;
    }
    wait_req(w, ucp_ep_flush_nbx(ep, &rp), "ucp_ep_flush_nbx");
    uint64_t dma = dma_bytes() - dma0;

    char *info = NULL;
    size_t info_len = 0;
    FILE *f = open_memstream(&info, &info_len);
    ucp_ep_print_info(ep, f);
    fclose(f);
    /* The endpoint report lists lanes ("lane[N]: ... veshm/ve1 ...") and the
     * lanes carrying RMA ("put[N]: ..." and "get[N]: ..."): one lane must be
     * both veshm and an RMA lane for put and get. */
    int rma_veshm = 0;
    char *copy = strdup(info);
    int veshm_lane[16], nveshm = 0;
    for (char *line = strtok(copy, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char *l = strstr(line, "lane[");
        if (l != NULL && strstr(line, "veshm/") != NULL && nveshm < 16)
            veshm_lane[nveshm++] = atoi(l + 5);
    }
    for (int i = 0; i < nveshm; ++i) {
        char put[32], get[32];
        snprintf(put, sizeof(put), "put[%d]:", veshm_lane[i]);
        snprintf(get, sizeof(get), "get[%d]:", veshm_lane[i]);
        if (strstr(info, put) != NULL && strstr(info, get) != NULL) {
            printf("RMA lane %d is veshm (put and get)\n", veshm_lane[i]);
            rma_veshm = 1;
        }
    }
    if (!rma_veshm)
        printf("FAIL: no RMA lane over veshm\n");
    fputs(info, stdout);
    send_blob(fd, checks, sizeof(checks));
    uint64_t bad;
    recv_all(fd, &bad, sizeof(bad), w);
    uint64_t bye = 0;
    send_all(fd, &bye, sizeof(bye));

    printf("gets/puts of 1 B .. 16 MiB: %d get failures, %lu bytes wrong at the target\n", failures,
           (unsigned long)bad);
    printf("memory: local %s, remote %s\n", is_ve_memory(local) ? "VE" : "host",
           rve ? "VE" : "host");
    /* Not DMA: edges (< 4 B per side) and put_short stores (< 2 KiB). */
    printf("VE DMA by veshm: %lu bytes for %lu bytes moved\n", (unsigned long)dma,
           (unsigned long)moved);
    free(copy);
    free(info);
    int data_ok = failures == 0 && bad == 0;
    int ok;
    if (control) {
        ok = data_ok && !rma_veshm && dma == 0;
        printf("control: data %s, %s, %lu bytes of VE DMA by veshm\n", data_ok ? "right" : "WRONG",
               rma_veshm ? "an RMA lane over veshm" : "no RMA lane over veshm", (unsigned long)dma);
    } else {
        ok = data_ok && rma_veshm && is_ve_memory(local) && rve && dma + 8192 >= moved;
    }
    ucp_rkey_destroy(rkey);
    wait_req(w, ucp_ep_close_nbx(ep, &rp), "ucp_ep_close_nbx");
    ucp_mem_unmap(ctx, memh);
    ucp_worker_destroy(w);
    ucp_cleanup(ctx);
    int st;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        ok = 0, printf("FAIL: target exited with status %d\n", st);
    printf("%s%s\n", control ? "control " : "", ok ? "ucp_rma: OK" : "ucp_rma: FAIL");
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "target") == 0)
        return target(atoi(argv[2]));
    if (argc == 2 && strcmp(argv[1], "--control") == 0)
        control = 1;
    else if (argc != 1)
        die("usage: ucp_rma [--control]");
    return initiator("/proc/self/exe");
}
