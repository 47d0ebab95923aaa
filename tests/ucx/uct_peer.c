/* The other process of the UCT-level test: opens the veshm transport, makes
 * memory available to the test (kinds in uct_common.h) and answers requests
 * on the socket whose descriptor is argv[1]. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "uct_common.h"
#include "ve_offload.h"
#include "veo_emu.h"
#include "veo_veshm.h"
#include "veshm_rkey_format.h"

void uct_veshm_help_stats(uint64_t *helped, uint64_t *served);
void uct_veshm_help_view_stats(uint64_t *jobs);

/* process_vm_readv and process_vm_writev fail with EPERM from now on. */
static int deny_process_vm(void) {
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_process_vm_readv, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_process_vm_writev, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof(f) / sizeof(f[0])), f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

static uint64_t now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Messages taken by PEER_AM_COLLECT. */
typedef struct {
    uint64_t hash, count;
} am_collect_t;

static ucs_status_t am_collect(void *arg, void *data, size_t length, unsigned flags) {
    (void)flags;
    am_collect_t *c = arg;
    const uint8_t *b = data;
    for (size_t i = 0; i < length; ++i)
        c->hash = (c->hash ^ b[i]) * 1099511628211ull;
    ++c->count;
    return UCS_OK;
}

/* Opens the areas of the key in rkey again, read-only, and makes the key
 * name those: the memory stays open read-write for the transport's own key
 * (an area is named by its flags too). Closed when this process's VE process
 * ends. */
static ucs_status_t read_only_key(uint8_t *rkey) {
    veshm_rkey_info_t k;
    if (veshm_rkey_decode(rkey, VESHM_RKEY_PACKED_SIZE, &k) != VESHM_RKEY_OK)
        return UCS_ERR_INVALID_PARAM;
    k.mode_flag |= VE_SHM_RO;
    for (uint32_t i = 0; i < k.area_count; ++i) {
        if (veo_shared_mem_open((void *)(uintptr_t)(k.area_hmem + (uint64_t)i * k.granule),
                                k.granule, k.syncnum, (long long)k.mode_flag) != 0)
            return UCS_ERR_IO_ERROR;
    }
    return veshm_rkey_encode(&k, rkey, VESHM_RKEY_PACKED_SIZE) == VESHM_RKEY_OK
               ? UCS_OK
               : UCS_ERR_INVALID_PARAM;
}

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    int fd = atoi(argv[1]);
    uct_test_ctx_t ctx;
    if (uct_test_open(&ctx) != 0)
        return 3;
    uint8_t *base = NULL;
    size_t length = 0;
    uct_mem_h memh = NULL;
    /* What to give back at exit, so that a leak check (LeakSanitizer) in this
     * process reports only real leaks: its exit status fails the test. */
    uct_allocated_memory_t md_mem[64]; /* every ALLOC_MD of the test */
    unsigned n_md_mem = 0;
    int memh_is_md = 0;                    /* memh belongs to md_mem[n_md_mem - 1] */
    void *host_mem = NULL, *ve_mem = NULL; /* registered in memh */
    uct_rkey_bundle_t keys[8];             /* PEER_UNPACK's */
    unsigned n_keys = 0;
    peer_request_t req;
    while (uct_test_recv(fd, &req, sizeof(req)) == 0) {
        peer_reply_t rep;
        memset(&rep, 0, sizeof(rep));
        ucs_status_t s = UCS_OK;
        switch (req.cmd) {
        case PEER_ALLOC: {
            if (req.a == 0) { /* only the addresses: for active messages */
                s = uct_iface_get_address(ctx.iface, (uct_iface_addr_t *)rep.iface_addr);
                if (s == UCS_OK)
                    s = uct_iface_get_device_address(ctx.iface, (uct_device_addr_t *)rep.dev_addr);
                break;
            }
            length = req.a;
            void *addr = NULL;
            int md_kind =
                req.kind == ALLOC_MD || req.kind == ALLOC_MD_FIXED || req.kind == ALLOC_VE_RO;
            if (md_kind) {
                if (n_md_mem == sizeof(md_mem) / sizeof(md_mem[0])) {
                    s = UCS_ERR_EXCEEDS_LIMIT;
                    break;
                }
                unsigned flags = 0;
                if (req.kind == ALLOC_MD_FIXED) {
                    /* Reserve a range, then ask for VE memory exactly there. */
                    size_t g = 64ul << 20;
                    void *r = mmap(NULL, length + g, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                    addr = (void *)(((uintptr_t)r + g - 1) & ~(uintptr_t)(g - 1));
                    flags |= UCT_MD_MEM_FLAG_FIXED;
                    rep.value = (uint64_t)(uintptr_t)addr;
                }
                uct_allocated_memory_t mem;
                s = uct_test_md_alloc(&ctx, length, addr, flags, &mem);
                if (s == UCS_OK) {
                    addr = mem.address;
                    length = mem.length;
                    if (memh != NULL && !memh_is_md)
                        uct_md_mem_dereg(ctx.md, memh);
                    memh = mem.memh;
                    md_mem[n_md_mem++] = mem;
                    memh_is_md = 1;
                }
            } else if (req.kind == ALLOC_VE_REG_TWICE) {
                struct veo_proc_handle *h = NULL; /* the transport's VE process */
                for (int n = 0; h == NULL && n < veo_emu_node_count(); ++n)
                    h = veo_emu_proc_find(n);
                void *hmem = NULL;
                if (h == NULL || veo_alloc_hmem(h, &hmem, length) != 0) {
                    s = UCS_ERR_NO_MEMORY;
                    break;
                }
                ve_mem = hmem;
                addr = veo_emu_hmem_to_vh(hmem);
                uct_mem_h first;
                s = uct_md_mem_reg(ctx.md, addr, length, UCT_MD_MEM_ACCESS_ALL, &first);
                /* Packed, so that it holds the areas: a registration opens
                 * them when first packed or used, not before. */
                if (s == UCS_OK)
                    s = uct_md_mkey_pack(ctx.md, first, rep.rkey);
                if (s == UCS_OK)
                    s = uct_md_mem_reg(ctx.md, addr, length, UCT_MD_MEM_ACCESS_ALL, &memh);
                if (s == UCS_OK)
                    s = uct_md_mem_dereg(ctx.md, first);
            } else {
                addr = aligned_alloc(4096, length);
                host_mem = addr;
                s = uct_md_mem_reg(ctx.md, addr, length, UCT_MD_MEM_ACCESS_ALL, &memh);
            }
            if (s != UCS_OK)
                break;
            if (!md_kind)
                memh_is_md = 0;
            base = addr;
            rep.addr = (uint64_t)(uintptr_t)addr;
            rep.length = length;
            s = uct_md_mkey_pack(ctx.md, memh, rep.rkey);
            if (s == UCS_OK && req.kind == ALLOC_VE_RO)
                s = read_only_key(rep.rkey);
            if (s == UCS_OK)
                s = uct_iface_get_address(ctx.iface, (uct_iface_addr_t *)rep.iface_addr);
            if (s == UCS_OK)
                s = uct_iface_get_device_address(ctx.iface, (uct_device_addr_t *)rep.dev_addr);
            break;
        }
        case PEER_FILL:
            uct_test_fill(base + req.a, req.b, req.a, (uint32_t)req.c);
            break;
        case PEER_HASH:
            rep.value = uct_test_hash(base + req.a, req.b);
            break;
        case PEER_AM_COLLECT: {
            am_collect_t c = {1469598103934665603ull, 0};
            s = uct_iface_set_am_handler(ctx.iface, (uint8_t)req.b, am_collect, &c, 0);
            while (s == UCS_OK && c.count < req.a)
                uct_worker_progress(ctx.worker);
            uct_iface_set_am_handler(ctx.iface, (uint8_t)req.b, NULL, NULL, 0);
            rep.value = c.hash;
            rep.length = c.count;
            break;
        }
        case PEER_REREGISTER: /* the last registration, closed and opened again */
            if (memh == NULL || memh_is_md) {
                s = UCS_ERR_INVALID_PARAM;
                break;
            }
            s = uct_md_mem_dereg(ctx.md, memh);
            memh = NULL;
            if (s == UCS_OK)
                s = uct_md_mem_reg(ctx.md, base, length, UCT_MD_MEM_ACCESS_ALL, &memh);
            if (s == UCS_OK)
                s = uct_md_mkey_pack(ctx.md, memh, rep.rkey);
            rep.addr = (uint64_t)(uintptr_t)base;
            rep.length = length;
            break;
        case PEER_PROGRESS: {
            uint64_t served0, served, viewed0, viewed, end = now_ms() + req.a;
            uct_veshm_help_stats(NULL, &served0);
            uct_veshm_help_view_stats(&viewed0);
            do {
                uct_worker_progress(ctx.worker);
                uct_veshm_help_stats(NULL, &served);
            } while (served - served0 < req.b && now_ms() < end);
            uct_veshm_help_view_stats(&viewed);
            rep.value = served - served0;
            rep.length = viewed - viewed0;
            break;
        }
        case PEER_UNPACK: {
            uint8_t key[sizeof(rep.rkey)];
            if (req.a > sizeof(key) || uct_test_recv(fd, key, req.a) != 0)
                return 4;
            if (n_keys == sizeof(keys) / sizeof(keys[0])) {
                s = UCS_ERR_NO_MEMORY;
                break;
            }
            s = uct_rkey_unpack(ctx.component, key, &keys[n_keys]);
            if (s == UCS_OK)
                ++n_keys;
            break;
        }
        case PEER_DENY_PVM:
            s = deny_process_vm() == 0 ? UCS_OK : UCS_ERR_UNSUPPORTED;
            break;
        case PEER_CLOSE_IFACE: /* the process (and its VE process) stays */
            if (ctx.iface != NULL)
                uct_iface_close(ctx.iface);
            ctx.iface = NULL;
            break;
        case PEER_EXIT:
            while (n_keys > 0)
                uct_rkey_release(ctx.component, &keys[--n_keys]);
            while (n_md_mem > 0)
                uct_mem_free(&md_mem[--n_md_mem]);
            if (memh != NULL && !memh_is_md)
                uct_md_mem_dereg(ctx.md, memh);
            free(host_mem);
            if (ve_mem != NULL)
                veo_free_hmem(ve_mem);
            uct_test_close(&ctx);
            return uct_test_send(fd, &rep, sizeof(rep)) == 0 ? 0 : 4;
        default:
            s = UCS_ERR_INVALID_PARAM;
        }
        rep.status = s;
        if (uct_test_send(fd, &rep, sizeof(rep)) != 0)
            return 4;
    }
    return 0;
}
