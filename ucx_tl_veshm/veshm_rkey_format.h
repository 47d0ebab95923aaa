/* Packed remote key of the veshm transport: what a peer needs to attach the
 * VESHM areas behind a registered region and to translate the owner's
 * addresses into them. Encoding and decoding are pure functions of their
 * arguments (no UCX, no VEO), so they can be tested and fuzzed alone.
 *
 * Wire layout (little endian, VESHM_RKEY_PACKED_SIZE bytes):
 *   off  size  field
 *     0     4  magic "VSHK"
 *     4     2  format version (1)
 *     6     2  kind: 1 = VE memory, 2 = host memory (not reachable by DMA)
 *     8     4  owner pid (VE process that owns the areas)
 *    12     4  syncnum
 *    16     8  mode flags the areas were opened with
 *    24     8  granule size (bytes per VESHM area; power of two)
 *    32     8  HMEM address of the first area
 *    40     4  number of areas (consecutive, one granule each)
 *    44     4  reserved, zero
 *    48     8  owner's host address of the region
 *    56     8  HMEM address of the region
 *    64     8  region length
 *    72     8  scope digest of the owner (veshm_scope.h: boot, namespaces, uid)
 *    80     8  area epoch of the owner (see epoch below)
 *    88     4  FNV-1a checksum of bytes 0..87
 *    92     4  reserved, zero
 * A host-memory key carries only magic, version, kind, host identity and
 * checksum; every other field is zero. */
#ifndef VESHM_RKEY_FORMAT_H
#define VESHM_RKEY_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VESHM_RKEY_PACKED_SIZE 96u
#define VESHM_RKEY_VERSION 2u
#define VESHM_RKEY_MAX_AREAS (1u << 20)
#define VESHM_RKEY_MIN_GRANULE 4096u

enum veshm_rkey_kind {
    VESHM_RKEY_KIND_VE = 1,  /* VE memory in VESHM areas */
    VESHM_RKEY_KIND_HOST = 2 /* ordinary host memory: peers answer UNREACHABLE */
};

typedef struct veshm_rkey_info {
    uint32_t kind;        /* enum veshm_rkey_kind */
    int32_t owner_pid;    /* VE process owning the areas */
    int32_t syncnum;      /* as given to veo_shared_mem_open */
    uint64_t mode_flag;   /* as given to veo_shared_mem_open */
    uint64_t granule;     /* bytes per area */
    uint64_t area_hmem;   /* HMEM address of the first area */
    uint32_t area_count;  /* consecutive areas */
    uint64_t region_addr; /* owner's host address of the region */
    uint64_t region_hmem; /* HMEM address of region_addr */
    uint64_t region_len;
    uint64_t host_guid; /* scope digest of the owner (boot id, namespaces, uid) */
    /* Changes whenever the owner closes one of its areas (and differs between
     * processes): two keys with the same epoch name the same opening of an
     * area, so a peer may reuse an attachment made for the first. */
    uint64_t epoch;
} veshm_rkey_info_t;

/* Error codes of the functions below (negative errno style, stable). */
#define VESHM_RKEY_OK 0
#define VESHM_RKEY_ETRUNC (-1)    /* buffer shorter than VESHM_RKEY_PACKED_SIZE */
#define VESHM_RKEY_EMAGIC (-2)    /* not a veshm key */
#define VESHM_RKEY_EVERSION (-3)  /* unknown format version */
#define VESHM_RKEY_ECHECKSUM (-4) /* corrupted */
#define VESHM_RKEY_EFIELD (-5)    /* a field is out of range or inconsistent */

/* Encodes info into buf (len >= VESHM_RKEY_PACKED_SIZE). Validates info the
 * same way the decoder does; returns VESHM_RKEY_OK or an error code. */
int veshm_rkey_encode(const veshm_rkey_info_t *info, void *buf, size_t len);

/* Decodes and validates a packed key of len bytes. On VESHM_RKEY_OK, *info
 * holds a key whose region lies inside its areas and whose arithmetic does
 * not overflow; on error *info is zeroed. Never reads beyond buf[len-1] and
 * never beyond VESHM_RKEY_PACKED_SIZE bytes. */
int veshm_rkey_decode(const void *buf, size_t len, veshm_rkey_info_t *info);

/* The checks shared by encoder and decoder. */
int veshm_rkey_validate(const veshm_rkey_info_t *info);

/* Short name of an error code. */
const char *veshm_rkey_strerror(int code);

#ifdef __cplusplus
}
#endif
#endif
