/* The platform boundary: see veshm_platform.h. The only caller of veo_emu_*
 * in the transport. */
#include "veshm_platform.h"

#include <errno.h>

#include <ucs/sys/math.h>

#include "veo_emu.h"

int uct_veshm_platform_node_count(void) {
    return veo_emu_node_count();
}

int uct_veshm_platform_env_node(void) {
    return veo_emu_ve_node_number();
}

ucs_status_t uct_veshm_platform_node_info(int node, uct_veshm_node_info_t *info) {
    struct veo_emu_node_info ni;
    if (veo_emu_get_node_info(node, &ni) != 0)
        return UCS_ERR_NO_DEVICE;
    info->memory_size = ni.memory_size;
    info->granule = ucs_max(ni.page_size, ni.pciatb_page_size);
    info->dma_descriptors = ni.dma_descriptors;
    info->dma_inline_max = ni.dma_inline_max;
    return UCS_OK;
}

struct veo_proc_handle *uct_veshm_platform_proc_find(int node) {
    return veo_emu_proc_find(node);
}

pid_t uct_veshm_platform_proc_pid(struct veo_proc_handle *h) {
    return veo_emu_proc_pid(h);
}

void *uct_veshm_platform_hmem_to_vh(const void *hmem) {
    return veo_emu_hmem_to_vh(hmem);
}

uint64_t uct_veshm_platform_vh_to_hmem(const void *vh) {
    return (uint64_t)veo_emu_vh_to_hmem(vh);
}

void *uct_veshm_platform_map_fixed(const void *hmem, size_t size, void *address) {
    return veo_emu_map_hmem(hmem, size, address, 1);
}

void uct_veshm_platform_unmap(void *address) {
    (void)veo_emu_unmap_hmem(address);
}

ucs_status_t uct_veshm_platform_vh_register(struct veo_proc_handle *h, void *address, size_t length,
                                            uint64_t *vehva_p) {
    uint64_t vehva = veo_emu_register_vh_mem(h, address, length);
    if (vehva == (uint64_t)-1)
        return (errno == ENOMEM) ? UCS_ERR_NO_MEMORY : UCS_ERR_IO_ERROR;
    *vehva_p = vehva;
    return UCS_OK;
}

ucs_status_t uct_veshm_platform_vh_unregister(struct veo_proc_handle *h, uint64_t vehva) {
    return (veo_emu_unregister_vh_mem(h, vehva) == 0) ? UCS_OK : UCS_ERR_INVALID_PARAM;
}

uint8_t *uct_veshm_platform_vehva_to_vh(struct veo_proc_handle *h, uint64_t vehva, size_t size,
                                        int *writable) {
    return (uint8_t *)veo_emu_vehva_to_vh(h, vehva, size, writable);
}
