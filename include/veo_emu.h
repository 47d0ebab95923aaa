/* Extensions of this project (not part of AVEO): what the emulated VE platform
 * can tell and do beyond the VEO API. Upper layers that want to stay portable
 * to real VEs use only the VEO headers; the UCX transport uses these too. */
#ifndef VEO_EMU_H_INCLUDED
#define VEO_EMU_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "ve_offload.h"
#include "veo_emu_hmem.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Configuration of one emulated VE node (see README "Configuration"). */
struct veo_emu_node_info {
    int node;                  /* node number */
    int numa_node;             /* host NUMA node its helpers and memory are bound to, -1 none */
    uint64_t memory_size;      /* VE memory capacity in bytes */
    uint64_t page_size;        /* VE page size: 64 MiB or 2 MiB */
    uint64_t pciatb_page_size; /* PCIATB page size */
    uint32_t pciatb_entries;   /* PCIATB capacity, in pages, per VE process */
    uint32_t dmaatb_entries;   /* DMAATB capacity, in pages, per VE process */
    uint32_t dma_descriptors;  /* descriptors in a VE process's DMA ring */
    uint64_t dma_inline_max;   /* transfers up to this size are copied at post time
                                  by the posting thread unless the DMA engine
                                  thread has CPUs of its own */
};

/** VE_NODE_NUMBER as this library reads it: the node, -1 when it is unset or
 * empty, -2 when it is not a node number. What veo_proc_create(-1) uses. */
int veo_emu_ve_node_number(void);

/** Number of emulated VE nodes on this host. */
int veo_emu_node_count(void);
/** Fill *info for node; 0, or -1 with errno EINVAL for an unknown node. */
int veo_emu_get_node_info(int node, struct veo_emu_node_info *info);

/** VE node of a VE process of this VH, -1 for NULL. */
int veo_emu_proc_node(struct veo_proc_handle *h);
/** Host pid of the VE process (the helper that is the VE process). */
pid_t veo_emu_proc_pid(struct veo_proc_handle *h);
/** A VE process this VH already has on node, or NULL (lowest identifier first). */
struct veo_proc_handle *veo_emu_proc_find(int node);

/** Host pointer, valid in this process, through which the VE memory at HMEM
 * address hmem is reachable (own memory or a VE_REGISTER_VEMVA attachment);
 * NULL with errno EFAULT if hmem is not mapped in this process. */
void *veo_emu_hmem_to_vh(const void *hmem);
/** The inverse: HMEM address of the VE memory that host pointer vh_ptr points
 * into, or NULL with errno EFAULT if it is no VE memory of this process. */
void *veo_emu_vh_to_hmem(const void *vh_ptr);
/** Maps size bytes of this process's VE memory at HMEM address hmem a second
 * time into this host process: at exactly host_addr when fixed is non-zero
 * (replacing what was there, like mmap's MAP_FIXED), else where the kernel
 * picks (host_addr is then a hint or NULL). The alias shares the VE memory's
 * pages; veo_emu_vh_to_hmem() resolves addresses inside it. Returns the host
 * address, or NULL with errno EINVAL (not own VE memory, size 0, address not
 * page aligned) or ENOMEM. */
void *veo_emu_map_hmem(const void *hmem, size_t size, void *host_addr, int fixed);
/** Removes an alias made by veo_emu_map_hmem(): 0, or -1 with errno EINVAL. */
int veo_emu_unmap_hmem(void *host_addr);

/** Host pointer of a VEHVA of h for len bytes, NULL with errno EFAULT if the
 * range is not inside one DMAATB entry. writable is set to 0 for read-only. */
void *veo_emu_vehva_to_vh(struct veo_proc_handle *h, uint64_t vehva, size_t len, int *writable);

/** Registers size bytes of this VH process's memory at vh_addr (any
 * alignment; memory the caller keeps mapped until it unregisters) into the
 * DMAATB of h, so that VE DMA of h reads and writes it: the emulated
 * counterpart of VH memory made reachable by VE DMA (VEO's veo_shmat). The
 * VEHVA has the address's offset within its 4 KiB page. Returns the VEHVA of
 * vh_addr, or (uint64_t)-1 with errno EINVAL (NULL h or address, size 0),
 * EFAULT (range not mapped), ENOMEM (DMAATB full) or EBUSY (VE process
 * gone). */
uint64_t veo_emu_register_vh_mem(struct veo_proc_handle *h, void *vh_addr, size_t size);
/** Removes a registration of veo_emu_register_vh_mem() by the VEHVA it
 * returned: 0, or -1 with errno EINVAL (NULL h) or ECANCELED (no such
 * registration). Transfers posted on it must have been polled to completion
 * before (the DMA engine does not keep VH memory alive). */
int veo_emu_unregister_vh_mem(struct veo_proc_handle *h, uint64_t vehva);

/** Emulate VE partial process swapping: while swapped out, attaching an area
 * of h fails with EAGAIN. 0, or -1 with errno EINVAL. */
int veo_emu_proc_swap_out(struct veo_proc_handle *h);
int veo_emu_proc_swap_in(struct veo_proc_handle *h);

#ifdef __cplusplus
}
#endif
#endif
