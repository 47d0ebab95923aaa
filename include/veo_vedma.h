/* VE DMA between VE host virtual addresses (VEHVA) of one VE process. */
#ifndef VEO_VEDMA_H_INCLUDED
#define VEO_VEDMA_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "ve_offload.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ve_dma_handle {
    int status;
    int index;
} ve_dma_handle_t;

/* Exception bits a failed transfer reports from poll and post_wait. */
#define VE_DMA_EXC_PROTECTION 0x8000 /* e.g. a write into a VE_SHM_RO area */
#define VE_DMA_EXC_MISSING_PAGE 0x4000
#define VE_DMA_EXC_MISSING_SPACE 0x2000 /* an address outside every DMAATB entry */
#define VE_DMA_EXC_MEMORY_ACCESS 0x1000
#define VE_DMA_EXC_IO_ACCESS 0x0800

/** Start copying size bytes from VEHVA src to VEHVA dst. Both 4-byte aligned,
 * size a positive multiple of 4 below 128 MiB. 0 when posted; -EAGAIN when the
 * next descriptor is still in use (poll it, then post again); -EFAULT for a NULL
 * handle; -EINVAL for bad size or alignment or an unknown process. */
int veo_dma_post(struct veo_proc_handle *h, uint64_t dst, uint64_t src, int size,
                 ve_dma_handle_t *handle);
/** 0 when the transfer finished, -EAGAIN while it runs, else its exception bits.
 * A finished descriptor is free for reuse once its result was returned here. */
int veo_dma_poll(struct veo_proc_handle *h, ve_dma_handle_t *handle);
/** Post and wait: returns like veo_dma_poll() (or like post if posting failed). */
int veo_dma_post_wait(struct veo_proc_handle *h, uint64_t dst, uint64_t src, int size);
/** Put own VE memory (HMEM address, VE page aligned) into the DMAATB of its
 * process; returns the VEHVA, or (uint64_t)-1 with errno as for attach. */
uint64_t veo_register_mem_to_dmaatb(void *vemva, size_t size);
/** Undo veo_register_mem_to_dmaatb(): 0, or -1 with errno as for detach. */
int veo_unregister_mem_from_dmaatb(struct veo_proc_handle *h, uint64_t vehva);
/** Make inbound transfers already completed visible to later reads. */
void veo_access_pcircvsyc_register(struct veo_proc_handle *h);

#ifdef __cplusplus
}
#endif
#endif
