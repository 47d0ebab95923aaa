/* Names for the bits of AVEO's HMEM address encoding, which veo_hmem.h
 * documents but does not name (an extension of this project, not AVEO's):
 * bit 63 marks VE memory, bits 62..59 carry the process identifier
 * (0..VEO_MAX_HMEM_PROCS-1), bits 58..0 the VE virtual address. */
#ifndef VEO_EMU_HMEM_H_INCLUDED
#define VEO_EMU_HMEM_H_INCLUDED

#define VEO_EMU_HMEM_VE_FLAG 0x8000000000000000ULL
#define VEO_EMU_HMEM_IDENT_SHIFT 59
#define VEO_EMU_HMEM_IDENT_MASK 0x7800000000000000ULL
#define VEO_EMU_HMEM_ADDR_MASK 0x07ffffffffffffffULL

#endif
