/* VESHM: share the memory of one VE process with other VE processes.
 *
 * Which condition gives which errno is listed in README.md, section
 * "VESHM errors"; the short form is next to each function. */
#ifndef VEO_VESHM_H_INCLUDED
#define VEO_VESHM_H_INCLUDED

#include <stddef.h>
#include <sys/types.h>
#include "ve_offload.h"
#include "veo_veshm_defs.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Register [vemva, vemva+size) of the VE process that owns the HMEM address
 * vemva as a VESHM area. 0, or -1 with errno EINVAL, ENOMEM, EACCES,
 * ECANCELED, ENOTSUP or EBUSY. */
int veo_shared_mem_open(void *vemva, size_t size, int syncnum, long long mode_flag);

/** Unregister an area opened with the same four values. Attachments made
 * before stay valid until detached. 0, or -1 with errno EINVAL, ECANCELED,
 * ENOTSUP or EBUSY. */
int veo_shared_mem_close(void *vemva, size_t size, int syncnum, long long mode_flag);

/** Attach the area (veshm_vemva, size, syncnum, open flags) of VE process pid
 * into the VE process h. mode_flag is the open flags ORed with exactly one of
 * VE_REGISTER_VEHVA (returns a VEHVA for DMA), VE_REGISTER_VEMVA (returns an
 * HMEM address of h, same VE node only) or VE_MEM_LOCAL (h's own memory into
 * its DMAATB). (void *)-1 with errno EINVAL, EFAULT, ESRCH, ENOENT, ENOMEM,
 * EACCES, ECANCELED, EAGAIN, ENOTSUP or EBUSY on failure. */
void *veo_shared_mem_attach(struct veo_proc_handle *h, pid_t pid, void *veshm_vemva, size_t size,
                            int syncnum, long long mode_flag);

/** Detach what veo_shared_mem_attach() returned; mode_flag is the attach kind
 * (VE_REGISTER_VEHVA, VE_REGISTER_VEMVA or VE_MEM_LOCAL). 0, or -1 with errno
 * EINVAL, ECANCELED (no such attachment), ENOTSUP or EBUSY. */
int veo_shared_mem_detach(struct veo_proc_handle *h, void *veshm_addr, long long mode_flag);

#ifdef __cplusplus
}
#endif
#endif
