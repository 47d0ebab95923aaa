/* ucx_demo: UCP one-sided put and get between two unrelated processes, over
 * the veshm UCX transport when contrib/veshm-env.sh has loaded it.
 *
 * The target (this program started without arguments) maps 64 MiB with
 * ucp_mem_map(UCP_MEM_MAP_ALLOCATE). With UCX_ALLOC_PRIO=md:veshm,... that
 * memory is VE memory of the target's VE process, a VESHM area the host can
 * also address. It fills the memory, packs a remote key and starts the
 * initiator: this same executable again, which shares nothing with the target
 * but a socket. Over it the target sends its worker address, the buffer's
 * address and the packed key.
 *
 * The initiator (on VE node N with --initiator-node N) connects an
 * endpoint, reads the target's pattern with ucp_get_nbx, writes its own with
 * ucp_put_nbx at an odd offset, flushes, and prints the endpoint's lanes: an
 * "rma" lane on veshm means the bytes moved as VE DMA. The target then checks
 * every byte of what was put.
 *
 * Exit status 0 when every check passed; with --require-veshm also only if
 * put and get went over veshm. */
#define _GNU_SOURCE
#include <ucp/api/ucp.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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

enum { kAreaSize = 64 << 20, kPutOffset = 12345, kPutSize = (4 << 20) + 3 };

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ucx_demo: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static void check(ucs_status_t s, const char *what) {
    if (s != UCS_OK)
        die("%s: %s", what, ucs_status_string(s));
}

static unsigned char pattern(size_t i, unsigned seed) {
    return (unsigned char)((i * 131u + seed) ^ (i >> 9));
}

/* Messages over the socket: a length, then the bytes. */
static void send_blob(int fd, const void *buf, uint64_t len) {
    if (write(fd, &len, sizeof(len)) != (ssize_t)sizeof(len) ||
        (len != 0 && write(fd, buf, len) != (ssize_t)len))
        die("send: %s", strerror(errno));
}

static void *recv_blob(int fd, uint64_t *len_out) {
    uint64_t len = 0;
    if (read(fd, &len, sizeof(len)) != (ssize_t)sizeof(len) || len > (1u << 20))
        die("recv: peer gone");
    char *buf = malloc(len + 1);
    for (uint64_t got = 0; got < len;) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n <= 0)
            die("recv: peer gone");
        got += (uint64_t)n;
    }
    if (len_out != NULL)
        *len_out = len;
    return buf;
}

static void setup(ucp_context_h *ctx, ucp_worker_h *worker) {
    ucp_params_t params = {.field_mask = UCP_PARAM_FIELD_FEATURES, .features = UCP_FEATURE_RMA};
    check(ucp_init(&params, NULL, ctx), "ucp_init");
    ucp_worker_params_t wp = {.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE,
                              .thread_mode = UCS_THREAD_MODE_SINGLE};
    check(ucp_worker_create(*ctx, &wp, worker), "ucp_worker_create");
}

/* Progresses until a nonblocking request (or immediate status) completes. */
static void wait_request(ucp_worker_h worker, ucs_status_ptr_t req, const char *what) {
    if (UCS_PTR_IS_ERR(req))
        die("%s: %s", what, ucs_status_string(UCS_PTR_STATUS(req)));
    if (req == NULL)
        return;
    ucs_status_t s;
    while ((s = ucp_request_check_status(req)) == UCS_INPROGRESS)
        ucp_worker_progress(worker);
    ucp_request_free(req);
    check(s, what);
}

static int run_target(const char *self, int require_veshm, const char *initiator_node) {
    ucp_context_h ctx;
    ucp_worker_h worker;
    setup(&ctx, &worker);

    ucp_mem_map_params_t mp = {.field_mask =
                                   UCP_MEM_MAP_PARAM_FIELD_LENGTH | UCP_MEM_MAP_PARAM_FIELD_FLAGS,
                               .length = kAreaSize,
                               .flags = UCP_MEM_MAP_ALLOCATE};
    ucp_mem_h memh;
    check(ucp_mem_map(ctx, &mp, &memh), "ucp_mem_map");
    ucp_mem_attr_t attr = {.field_mask = UCP_MEM_ATTR_FIELD_ADDRESS | UCP_MEM_ATTR_FIELD_LENGTH};
    check(ucp_mem_query(memh, &attr), "ucp_mem_query");
    unsigned char *area = attr.address;
    for (size_t i = 0; i < kAreaSize; ++i)
        area[i] = pattern(i, 1);
    printf("target   pid %d: %zu MiB mapped by UCP at %p, filled\n", (int)getpid(),
           attr.length >> 20, attr.address);

    void *rkey_buf, *addr_buf;
    size_t rkey_len, addr_len;
    check(ucp_rkey_pack(ctx, memh, &rkey_buf, &rkey_len), "ucp_rkey_pack");
    ucp_address_t *addr;
    check(ucp_worker_get_address(worker, &addr, &addr_len), "ucp_worker_get_address");
    addr_buf = addr;

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
        fcntl(sv[1], F_SETFD, 0) != 0)
        die("socketpair: %s", strerror(errno));
    char fd_arg[16];
    snprintf(fd_arg, sizeof(fd_arg), "%d", sv[1]);
    char *argv[] = {(char *)self, "--initiator", fd_arg, require_veshm ? "--require-veshm" : NULL,
                    NULL};
    /* This process's transport has chosen its VE node already. */
    if (initiator_node != NULL)
        setenv("UCX_VESHM_NODE", initiator_node, 1);
    fflush(stdout);
    pid_t child;
    int rc = posix_spawn(&child, self, NULL, NULL, argv, environ);
    if (rc != 0)
        die("posix_spawn: %s", strerror(rc));
    close(sv[1]);

    uint64_t remote = (uint64_t)(uintptr_t)area;
    send_blob(sv[0], addr_buf, addr_len);
    send_blob(sv[0], &remote, sizeof(remote));
    send_blob(sv[0], rkey_buf, rkey_len);

    /* The target's worker takes part in wire-up and in the initiator's
     * endpoint close: progress it until the initiator has reported and gone. */
    char verdict = 0, byte;
    struct pollfd pfd = {.fd = sv[0], .events = POLLIN};
    for (;;) {
        ucp_worker_progress(worker);
        if (poll(&pfd, 1, 0) == 0)
            continue;
        if (read(sv[0], &byte, 1) != 1)
            break;
        verdict = byte;
    }

    int status = 0;
    waitpid(child, &status, 0);
    int ok = verdict == 'y' && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    size_t bad = 0;
    for (size_t i = 0; i < kAreaSize; ++i) {
        int put = i >= kPutOffset && i < kPutOffset + (size_t)kPutSize;
        bad += area[i] != pattern(i, put ? 2 : 1);
    }
    printf("target   pid %d: %s; %zu bytes differ from what was expected (%d put at offset %d)\n",
           (int)getpid(), ok ? "initiator succeeded" : "initiator FAILED", bad, kPutSize,
           kPutOffset);

    ucp_rkey_buffer_release(rkey_buf);
    ucp_worker_release_address(worker, addr);
    check(ucp_mem_unmap(ctx, memh), "ucp_mem_unmap");
    ucp_worker_destroy(worker);
    ucp_cleanup(ctx);
    close(sv[0]);
    return ok && bad == 0 ? 0 : 1;
}

/* 1 if the endpoint's put and get protocols run on veshm lanes. UCP 1.13's
 * report lists the lanes ("lane[0]: 3:veshm/ve0.0 ...") and then, for RMA,
 * which lane each of put and get uses ("put[0]: 0..<short>..").*/
static int rma_over_veshm(ucp_ep_h ep) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ucp_ep_print_info(ep, f);
    fclose(f);
    /* UCP tries an endpoint's RMA lanes in order (put[N]/get[N] name lane N)
     * and takes the first whose memory domain the key names; the target's key
     * names veshm's alone, so the first put and get lanes must be veshm's. */
    enum { kMaxLanes = 64 };
    int veshm_lane[kMaxLanes] = {0}, first_put = -1, first_get = -1;
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        line += strspn(line, "# ");
        unsigned lane;
        if (sscanf(line, "lane[%u]", &lane) == 1 && lane < kMaxLanes) {
            veshm_lane[lane] = strstr(line, "veshm") != NULL;
            printf("initiator: %s\n", line);
        } else if (sscanf(line, "put[%u]", &lane) == 1 && lane < kMaxLanes) {
            first_put = first_put < 0 ? (int)lane : first_put;
            printf("initiator: %s\n", line);
        } else if (sscanf(line, "get[%u]", &lane) == 1 && lane < kMaxLanes) {
            first_get = first_get < 0 ? (int)lane : first_get;
            printf("initiator: %s\n", line);
        }
    }
    free(text);
    return first_put >= 0 && first_get >= 0 && veshm_lane[first_put] && veshm_lane[first_get];
}

static int run_initiator(int fd, int require_veshm) {
    ucp_context_h ctx;
    ucp_worker_h worker;
    setup(&ctx, &worker);

    void *peer_addr = recv_blob(fd, NULL);
    uint64_t *remote = recv_blob(fd, NULL);
    void *rkey_buf = recv_blob(fd, NULL);

    ucp_ep_params_t ep_params = {.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS,
                                 .address = peer_addr};
    ucp_ep_h ep;
    check(ucp_ep_create(worker, &ep_params, &ep), "ucp_ep_create");
    ucp_rkey_h rkey;
    check(ucp_ep_rkey_unpack(ep, rkey_buf, &rkey), "ucp_ep_rkey_unpack");

    ucp_request_param_t none = {.op_attr_mask = 0};
    unsigned char *buf = malloc(kPutSize);
    wait_request(worker, ucp_get_nbx(ep, buf, kPutSize, *remote + kPutOffset, rkey, &none),
                 "ucp_get_nbx");
    size_t bad = 0;
    for (size_t i = 0; i < (size_t)kPutSize; ++i)
        bad += buf[i] != pattern(kPutOffset + i, 1);
    printf("initiator pid %d: got %d bytes at offset %d, %zu differ\n", (int)getpid(), kPutSize,
           kPutOffset, bad);

    for (size_t i = 0; i < (size_t)kPutSize; ++i)
        buf[i] = pattern(kPutOffset + i, 2);
    wait_request(worker, ucp_put_nbx(ep, buf, kPutSize, *remote + kPutOffset, rkey, &none),
                 "ucp_put_nbx");
    wait_request(worker, ucp_ep_flush_nbx(ep, &none), "ucp_ep_flush_nbx");
    printf("initiator pid %d: put %d bytes at offset %d and flushed\n", (int)getpid(), kPutSize,
           kPutOffset);

    int veshm = rma_over_veshm(ep);
    printf("initiator: put and get %s over veshm\n", veshm ? "went" : "did NOT go");
    int ok = bad == 0 && (veshm || !require_veshm);
    char verdict = ok ? 'y' : 'n';
    if (write(fd, &verdict, 1) != 1)
        ok = 0;

    ucp_rkey_destroy(rkey);
    wait_request(worker, ucp_ep_close_nbx(ep, &none), "ucp_ep_close_nbx");
    ucp_worker_destroy(worker);
    ucp_cleanup(ctx);
    free(buf);
    free(peer_addr);
    free(remote);
    free(rkey_buf);
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    int require_veshm = 0, initiator_fd = -1;
    const char *initiator_node = NULL;
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--require-veshm") == 0)
            require_veshm = 1;
        else if (strcmp(argv[i], "--initiator") == 0 && i + 1 < argc)
            initiator_fd = atoi(argv[++i]);
        else if (strcmp(argv[i], "--initiator-node") == 0 && i + 1 < argc)
            initiator_node = argv[++i];
        else
            die("usage: %s [--require-veshm] [--initiator-node N]", argv[0]);
    }
    if (initiator_fd >= 0)
        return run_initiator(initiator_fd, require_veshm);
    /* The initiator is a new program image: its own path must be absolute. */
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        die("readlink /proc/self/exe: %s", strerror(errno));
    self[n] = '\0';
    return run_target(self, require_veshm, initiator_node);
}
