/* UCP tag rendezvous between VE memory buffers over veshm alone (CTest sets
 * UCX_TLS=veshm,self, UCX_ALLOC_PRIO with md:veshm first and
 * UCX_RNDV_THRESH=64k): the child sends MSGS messages of 512 KiB from VE
 * memory, each with its own pattern; the parent receives each into VE memory
 * and checks every byte. UCP unpacks the sender's key for every rendezvous
 * message and releases it after the transfer: the transport's attachment
 * cache must serve all but the first from the attachment it kept (a few
 * attaches in all, hits for nearly every message). Attaching anew per message
 * cost more than the 256 KiB it moved (issue 15's benchmark). */
#define _GNU_SOURCE
#include <ucp/api/ucp.h>

#include "ucp_pair.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MSGS 200
#define LEN ((size_t)512 << 10)
#define TAG 0x7e5bu

typedef void (*cache_stats_fn)(uint64_t *hits, uint64_t *misses);

static uint8_t pattern(size_t i, unsigned msg) {
    return (uint8_t)(((i + 1) * 0x9e3779b97f4a7c15ull + msg * 0x632be59bd9b4e019ull) >> 56);
}

static void *ve_buffer(ucp_context_h ctx, ucp_mem_h *memh) {
    ucp_mem_map_params_t mp = {.field_mask = UCP_MEM_MAP_PARAM_FIELD_ADDRESS |
                                             UCP_MEM_MAP_PARAM_FIELD_LENGTH |
                                             UCP_MEM_MAP_PARAM_FIELD_FLAGS,
                               .address = NULL,
                               .length = LEN,
                               .flags = UCP_MEM_MAP_ALLOCATE};
    if (ucp_mem_map(ctx, &mp, memh) != UCS_OK)
        return NULL;
    ucp_mem_attr_t attr = {.field_mask = UCP_MEM_ATTR_FIELD_ADDRESS};
    return ucp_mem_query(*memh, &attr) == UCS_OK ? attr.address : NULL;
}

/* The messages, sent (child) or received and checked (parent); 0 when all
 * went and every byte matched. */
static int transfer(const ucp_pair_t *pair, ucp_ep_h ep, uint8_t *buf) {
    ucp_request_param_t p = {.op_attr_mask = 0};
    for (unsigned m = 0; m < MSGS; ++m) {
        if (pair->is_child) {
            for (size_t i = 0; i < LEN; ++i)
                buf[i] = pattern(i, m);
            if (ucp_pair_wait(pair, ucp_tag_send_nbx(ep, buf, LEN, TAG, &p), 60, NULL) != 0)
                return -1;
            continue;
        }
        memset(buf, 0, LEN);
        void *req = ucp_tag_recv_nbx(pair->worker, buf, LEN, TAG, ~(ucp_tag_t)0, &p);
        if (ucp_pair_wait(pair, req, 60, NULL) != 0)
            return -1;
        for (size_t i = 0; i < LEN; ++i) {
            if (buf[i] != pattern(i, m)) {
                fprintf(stderr, "ucp_rndv: message %u byte %zu is %u, expected %u\n", m, i, buf[i],
                        pattern(i, m));
                return -1;
            }
        }
    }
    return 0;
}

int main(void) {
    ucp_pair_t pair;
    if (ucp_pair_open(&pair, UCP_FEATURE_TAG, "ucp_rndv") != 0)
        return 1;
    cache_stats_fn stats = (cache_stats_fn)dlsym(RTLD_DEFAULT, "uct_veshm_rkey_cache_stats");
    if (stats == NULL) {
        fprintf(stderr, "ucp_rndv: the veshm module is not loaded\n");
        return 1;
    }
    ucp_ep_params_t ep_params = {.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS,
                                 .address = pair.peer};
    ucp_ep_h ep;
    ucp_mem_h memh;
    uint8_t *buf = NULL;
    int rc = ucp_ep_create(pair.worker, &ep_params, &ep) == UCS_OK ? 0 : -1;
    if (rc == 0) {
        buf = ve_buffer(pair.ctx, &memh);
        rc = buf != NULL ? 0 : -1;
    }
    uint64_t hits0 = 0, misses0 = 0, hits = 0, misses = 0;
    stats(&hits0, &misses0);
    if (rc == 0)
        rc = transfer(&pair, ep, buf);
    stats(&hits, &misses);
    uint64_t mine[3] = {hits - hits0, misses - misses0, (uint64_t)rc}, theirs[3];
    ucp_pair_swap(&pair, mine, theirs, sizeof mine);
    if (buf != NULL)
        ucp_mem_unmap(pair.ctx, memh);
    ucp_pair_close_ep(&pair, ep);
    ucp_pair_close(&pair);
    if (pair.is_child)
        return rc ? 1 : 0;
    int st = 0;
    waitpid(pair.child, &st, 0);
    uint64_t all_hits = mine[0] + theirs[0], all_misses = mine[1] + theirs[1];
    /* The first message attaches; a few more are allowed (an endpoint or
     * a lane set up late), nothing near one per message. */
    int cached = all_misses <= 4 && all_hits >= MSGS - 4;
    int ok = !rc && theirs[2] == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 && cached;
    printf("ucp_rndv: %d messages of %zu KiB from VE memory, every byte checked; attachment cache "
           "during them: %llu attaches, %llu hits: %s\n",
           MSGS, LEN >> 10, (unsigned long long)all_misses, (unsigned long long)all_hits,
           ok ? "OK" : "FAIL");
    return ok ? 0 : 1;
}
