/* HMEM addresses: VE virtual addresses tagged so the host can tell them from
 * host pointers and find the VE process they belong to. Interface of AVEO
 * 3.0.2 (bit 63 = VE memory, bits 62..59 = process identifier). */
#ifndef VEO_HMEM_H_INCLUDED
#define VEO_HMEM_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

#define VEO_MAX_HMEM_PROCS 16

/** 1 if addr carries the VE flag (bit 63), else 0. */
int veo_is_ve_addr(const void *addr);
/** The VEMVA of a VE address (tag bits cleared); host addresses unchanged. */
void *veo_get_hmem_addr(void *addr);
/** Number of process identifiers an HMEM address can encode (16). */
int veo_get_max_proc_identifier(void);
/** Process identifier (0..15) encoded in a VE address, -1 for host addresses. */
int veo_get_proc_identifier_from_hmem(const void *addr);

#ifdef __cplusplus
}
#endif
#endif
