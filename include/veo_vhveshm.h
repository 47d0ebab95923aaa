/* VH System V shared memory made reachable by the DMA engine of a VE process
 * (AVEO 3.0.2's VH-VE SHM API): find a segment, attach it, use the VEHVA that
 * veo_shmat() stores with veo_dma_post() against VE memory or VESHM areas,
 * detach it. Errors: README "VH shared memory for VE DMA". */
#ifndef VEO_VHVESHM_H_INCLUDED
#define VEO_VHVESHM_H_INCLUDED

/* The same system headers as AVEO's veo_vhveshm.h, so that programs that
 * relied on them through it still compile. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>
/* key_t, and the IPC_ and SHM_ flags the calls take (key_t also where
 * sys/types.h leaves it out, as in strict ISO C modes). */
#include <sys/ipc.h>
#include <sys/shm.h>
#include "ve_offload.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The identifier of the existing segment with key, for veo_shmat(h, ...).
 * shmflag must hold SHM_HUGETLB (as on a real VE; the segment itself may use
 * any page size here) and neither IPC_CREAT, IPC_EXCL nor SHM_NORESERVE; its
 * permission bits are checked against the segment as shmget(2) does. size may
 * be smaller than the segment, not larger. Returns the identifier, or -1 with
 * errno EINVAL (flags, key IPC_PRIVATE, size larger than the segment, NULL h),
 * EACCES (no permission), ENOENT (no segment with key) or EBUSY (the VE
 * process is gone). */
int veo_shmget(struct veo_proc_handle *h, key_t key, size_t size, int shmflag);

/** Attaches the whole segment shmid in this VH process and registers it in the
 * DMAATB of h; *vehva receives its VEHVA. shmaddr must be NULL; shmflag may
 * hold SHM_RDONLY (then DMA writes into it fail with VE_DMA_EXC_PROTECTION),
 * not SHM_EXEC, SHM_REMAP or SHM_RND. Returns the address of the segment in
 * this process (to give to veo_shmdt(); it may also be read and written
 * directly), or (void *)-1 with errno EFAULT (vehva NULL), EINVAL (shmaddr
 * not NULL, flags, no such shmid, NULL h), EIDRM (shmid was returned by
 * veo_shmget() and its segment has since been removed), EACCES (no
 * permission), ENOMEM (DMAATB full, or no memory in the VH), ENOTSUP (VE OS
 * without IVED, VESHM_IVED=off), ECANCELED (the segment's size could not be
 * read) or EBUSY (the VE process is gone). Attaching a segment already marked
 * for removal works as with shmat(2). */
void *veo_shmat(struct veo_proc_handle *h, int shmid, const void *shmaddr, int shmflag,
                void **vehva);

/** Removes the DMAATB entry of an attachment made by veo_shmat() with h and
 * detaches the segment from this VH process once transfers still running on
 * it have finished. Returns 0, or -1 with errno EINVAL (no veo_shmat()
 * attachment of h at shmaddr, NULL h) or EBUSY (the VE process is gone; its
 * attachments end with veo_proc_destroy()). */
int veo_shmdt(struct veo_proc_handle *h, const void *shmaddr);

#ifdef __cplusplus
}
#endif
#endif
