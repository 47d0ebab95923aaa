/* Shared by the UCT-level test and its peer process: opening the veshm
 * memory domain and interface, the data pattern and hash, and the messages
 * the two exchange over a socket. */
#ifndef VESHM_TEST_UCT_COMMON_H
#define VESHM_TEST_UCT_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <uct/api/uct.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct uct_test_ctx {
    ucs_async_context_t *async;
    uct_worker_h worker;
    uct_component_h component;
    uct_md_h md;
    uct_md_attr_t md_attr;
    uct_iface_h iface;
    uct_iface_attr_t iface_attr;
    char dev_name[UCT_DEVICE_NAME_MAX];
} uct_test_ctx_t;

/* Opens component "veshm", its MD and the veshm interface; 0 or -1. */
int uct_test_open(uct_test_ctx_t *ctx);
/* The same with more interface parameters (fields of extra's field_mask
 * beyond the open mode and device); the status of uct_iface_open in
 * *iface_status (-1 for failures before it). */
int uct_test_open_ex(uct_test_ctx_t *ctx, const uct_iface_params_t *extra,
                     ucs_status_t *iface_status);
void uct_test_close(uct_test_ctx_t *ctx);

/* Allocation by the veshm MD (uct_mem_alloc with method MD). */
ucs_status_t uct_test_md_alloc(uct_test_ctx_t *ctx, size_t length, void *address, unsigned flags,
                               uct_allocated_memory_t *mem);

uint8_t uct_test_pattern(uint64_t i, uint32_t seed);
void uct_test_fill(void *p, size_t len, uint64_t start, uint32_t seed);
uint64_t uct_test_hash(const void *p, size_t len);
/* Hash of the pattern bytes [start, start+len) without materializing them. */
uint64_t uct_test_pattern_hash(uint64_t start, size_t len, uint32_t seed);

/* PEER_AM_COLLECT: take a messages of AM id b, reply with the hash of
 * their data (in arrival order) and their number. PEER_REREGISTER: deregister
 * the last registration (not an MD allocation) and register the same memory
 * again, replying with the new key. PEER_PROGRESS: progress the worker until
 * it has copied b chunks of peers' large copies (veshm_help.h) or a
 * milliseconds have passed; reply with the chunks it copied (value) and the
 * jobs among them whose buffer it saw through a key of the test's
 * (length). PEER_UNPACK: unpack the key of a bytes that follows the request
 * and keep it (the peer then sees that memory of the test's). PEER_DENY_PVM:
 * from now on process_vm_readv/_writev fail in the peer (seccomp). */
enum {
    PEER_ALLOC = 1,
    PEER_FILL,
    PEER_HASH,
    PEER_EXIT,
    PEER_AM_COLLECT,
    PEER_CLOSE_IFACE,
    PEER_REREGISTER,
    PEER_PROGRESS,
    PEER_UNPACK,
    PEER_DENY_PVM
};
/* ALLOC kinds: md alloc, md alloc at a fixed address, VE memory registered
 * twice with the first registration released, ordinary host memory, md alloc
 * whose key names the same memory opened again as read-only areas
 * (VE_SHM_RO: what a VE program shares for reading only). */
enum { ALLOC_MD = 0, ALLOC_MD_FIXED, ALLOC_VE_REG_TWICE, ALLOC_HOST, ALLOC_VE_RO };

typedef struct peer_request {
    uint32_t cmd;
    uint32_t kind;
    uint64_t a, b, c;
} peer_request_t;

typedef struct peer_reply {
    int64_t status;
    uint64_t addr, length, value;
    uint8_t rkey[128];
    uint8_t iface_addr[64];
    uint8_t dev_addr[64];
} peer_reply_t;

int uct_test_send(int fd, const void *p, size_t n);
int uct_test_recv(int fd, void *p, size_t n);

#ifdef __cplusplus
}
#endif
#endif
