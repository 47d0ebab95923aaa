/* See uct_common.h. */
#include "uct_common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int uct_test_open(uct_test_ctx_t *ctx) {
    ucs_status_t s;
    return uct_test_open_ex(ctx, NULL, &s);
}

int uct_test_open_ex(uct_test_ctx_t *ctx, const uct_iface_params_t *extra,
                     ucs_status_t *iface_status) {
    *iface_status = (ucs_status_t)-1;
    memset(ctx, 0, sizeof(*ctx));
    uct_component_h *components;
    unsigned count;
    if (uct_query_components(&components, &count) != UCS_OK)
        return -1;
    for (unsigned i = 0; i < count; ++i) {
        uct_component_attr_t attr = {.field_mask = UCT_COMPONENT_ATTR_FIELD_NAME};
        if (uct_component_query(components[i], &attr) == UCS_OK && strcmp(attr.name, "veshm") == 0)
            ctx->component = components[i];
    }
    uct_release_component_list(components);
    if (ctx->component == NULL) {
        fprintf(stderr, "uct test: no veshm component (module not loaded?)\n");
        return -1;
    }
    if (ucs_async_context_create(UCS_ASYNC_MODE_THREAD_SPINLOCK, &ctx->async) != UCS_OK ||
        uct_worker_create(ctx->async, UCS_THREAD_MODE_SINGLE, &ctx->worker) != UCS_OK)
        return -1;
    uct_md_config_t *md_config;
    if (uct_md_config_read(ctx->component, NULL, NULL, &md_config) != UCS_OK)
        return -1;
    ucs_status_t s = uct_md_open(ctx->component, "veshm", md_config, &ctx->md);
    uct_config_release(md_config);
    if (s != UCS_OK || uct_md_query(ctx->md, &ctx->md_attr) != UCS_OK)
        return -1;
    uct_tl_resource_desc_t *tls;
    unsigned ntls;
    if (uct_md_query_tl_resources(ctx->md, &tls, &ntls) != UCS_OK || ntls == 0)
        return -1;
    snprintf(ctx->dev_name, sizeof(ctx->dev_name), "%s", tls[0].dev_name);
    uct_release_tl_resource_list(tls);
    uct_iface_config_t *iface_config;
    if (uct_md_iface_config_read(ctx->md, "veshm", NULL, NULL, &iface_config) != UCS_OK)
        return -1;
    uct_iface_params_t params;
    memset(&params, 0, sizeof(params));
    if (extra != NULL)
        params = *extra;
    params.field_mask |= UCT_IFACE_PARAM_FIELD_OPEN_MODE | UCT_IFACE_PARAM_FIELD_DEVICE;
    params.open_mode = UCT_IFACE_OPEN_MODE_DEVICE;
    params.mode.device.tl_name = "veshm";
    params.mode.device.dev_name = ctx->dev_name;
    s = uct_iface_open(ctx->md, ctx->worker, &params, iface_config, &ctx->iface);
    uct_config_release(iface_config);
    *iface_status = s;
    if (s != UCS_OK || uct_iface_query(ctx->iface, &ctx->iface_attr) != UCS_OK)
        return -1;
    uct_iface_progress_enable(ctx->iface, UCT_PROGRESS_SEND | UCT_PROGRESS_RECV);
    return 0;
}

void uct_test_close(uct_test_ctx_t *ctx) {
    if (ctx->iface)
        uct_iface_close(ctx->iface);
    if (ctx->md)
        uct_md_close(ctx->md);
    if (ctx->worker)
        uct_worker_destroy(ctx->worker);
    if (ctx->async)
        ucs_async_context_destroy(ctx->async);
    memset(ctx, 0, sizeof(*ctx));
}

ucs_status_t uct_test_md_alloc(uct_test_ctx_t *ctx, size_t length, void *address, unsigned flags,
                               uct_allocated_memory_t *mem) {
    uct_alloc_method_t method = UCT_ALLOC_METHOD_MD;
    uct_mem_alloc_params_t params;
    memset(&params, 0, sizeof(params));
    params.field_mask = UCT_MEM_ALLOC_PARAM_FIELD_FLAGS | UCT_MEM_ALLOC_PARAM_FIELD_ADDRESS |
                        UCT_MEM_ALLOC_PARAM_FIELD_MEM_TYPE | UCT_MEM_ALLOC_PARAM_FIELD_MDS |
                        UCT_MEM_ALLOC_PARAM_FIELD_NAME;
    params.flags = flags | UCT_MD_MEM_ACCESS_ALL;
    params.address = address;
    params.mem_type = UCS_MEMORY_TYPE_HOST;
    params.mds.mds = &ctx->md;
    params.mds.count = 1;
    params.name = "veshm test";
    ucs_status_t s = uct_mem_alloc(length, &method, 1, &params, mem);
    if (s == UCS_OK && mem->method != UCT_ALLOC_METHOD_MD) {
        uct_mem_free(mem);
        return UCS_ERR_UNSUPPORTED;
    }
    return s;
}

uint8_t uct_test_pattern(uint64_t i, uint32_t seed) {
    uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull ^ seed;
    return (uint8_t)(x >> 29);
}

void uct_test_fill(void *p, size_t len, uint64_t start, uint32_t seed) {
    uint8_t *b = (uint8_t *)p;
    for (size_t i = 0; i < len; ++i)
        b[i] = uct_test_pattern(start + i, seed);
}

uint64_t uct_test_hash(const void *p, size_t len) {
    const uint8_t *b = (const uint8_t *)p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; ++i)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

uint64_t uct_test_pattern_hash(uint64_t start, size_t len, uint32_t seed) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; ++i)
        h = (h ^ uct_test_pattern(start + i, seed)) * 1099511628211ull;
    return h;
}

int uct_test_send(int fd, const void *p, size_t n) {
    const char *c = (const char *)p;
    while (n > 0) {
        ssize_t r = write(fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

int uct_test_recv(int fd, void *p, size_t n) {
    char *c = (char *)p;
    while (n > 0) {
        ssize_t r = read(fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}
