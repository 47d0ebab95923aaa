/* The transport's one boundary to the emulated platform: everything it needs
 * beyond the VEO C API (veo_emu_*, include/veo_emu.h) goes through here, so
 * the rest of the transport is not tied to the emulator. */
#ifndef UCT_VESHM_PLATFORM_H
#define UCT_VESHM_PLATFORM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ucs/type/status.h>

struct veo_proc_handle;

/* What the transport needs to know of a VE node. */
typedef struct uct_veshm_node_info {
    uint64_t memory_size;     /* VE memory capacity in bytes */
    uint64_t granule;         /* VESHM area size and alignment */
    unsigned dma_descriptors; /* descriptors in a VE process's DMA ring */
    size_t dma_inline_max;    /* transfers the engine may copy at post time */
} uct_veshm_node_info_t;

/* Number of VE nodes on this host. */
int uct_veshm_platform_node_count(void);
/* VE_NODE_NUMBER as libveo reads it: the node, -1 unset, -2 invalid. */
int uct_veshm_platform_env_node(void);
/* Facts of node; UCS_ERR_NO_DEVICE for an unknown node. */
ucs_status_t uct_veshm_platform_node_info(int node, uct_veshm_node_info_t *info);

/* A VE process this host process already has on node, or NULL. */
struct veo_proc_handle *uct_veshm_platform_proc_find(int node);
/* Host pid of VE process h (the VESHM owner pid of its memory). */
pid_t uct_veshm_platform_proc_pid(struct veo_proc_handle *h);

/* Host view of own VE memory at HMEM address hmem, or NULL. */
void *uct_veshm_platform_hmem_to_vh(const void *hmem);
/* HMEM address of VE memory at host address vh, or 0 if it is none. */
uint64_t uct_veshm_platform_vh_to_hmem(const void *vh);
/* Maps size bytes of own VE memory at hmem again at exactly address; NULL on
 * failure. */
void *uct_veshm_platform_map_fixed(const void *hmem, size_t size, void *address);
void uct_veshm_platform_unmap(void *address);

/* Registers host memory [address, address+length) in h's DMAATB; *vehva_p
 * its VEHVA. UCS_ERR_NO_MEMORY when the DMAATB is full. */
ucs_status_t uct_veshm_platform_vh_register(struct veo_proc_handle *h, void *address, size_t length,
                                            uint64_t *vehva_p);
ucs_status_t uct_veshm_platform_vh_unregister(struct veo_proc_handle *h, uint64_t vehva);

/* Host view of size bytes at VEHVA vehva of h; *writable whether stores
 * through it are allowed. NULL if there is none. */
uint8_t *uct_veshm_platform_vehva_to_vh(struct veo_proc_handle *h, uint64_t vehva, size_t size,
                                        int *writable);

#endif
