/* veshm memory domain: VE memory allocation and registration as VESHM areas,
 * memory handles, packed keys and remote keys. The VE process the transport
 * works through is in veshm_proc.h. */
#ifndef UCT_VESHM_MD_H
#define UCT_VESHM_MD_H

#include <sys/types.h>

#include <uct/base/uct_md.h>

#include "veshm_proc.h"
#include "veshm_rkey_cache.h"
#include "veshm_rkey_format.h"
#include "veshm_scope.h"
#include "veshm_vh_cache.h"

extern uct_component_t uct_veshm_component;

typedef struct uct_veshm_md_config {
    uct_md_config_t super;
    char *node; /* "auto" or a VE node number */
} uct_veshm_md_config_t;

typedef struct uct_veshm_md {
    uct_md_t super;
    int node;
} uct_veshm_md_t;

/* A memory handle: VE memory (allocated here or registered) or, for plain
 * host memory, a placeholder whose packed key tells peers to look elsewhere. */
typedef struct uct_veshm_memh {
    int resolved; /* is_ve and the areas below are known (uct_veshm_memh_is_ve) */
    int is_ve;
    int allocated; /* from mem_alloc: freed with the handle */
    void *address; /* host address of the region */
    size_t length;
    uint64_t hmem;      /* HMEM address of address */
    void *hmem_base;    /* allocation (mem_alloc only) */
    void *alias;        /* fixed-address alias (mem_alloc with FIXED) */
    pid_t owner_pid;    /* VE process owning the memory */
    uint64_t area_hmem; /* first VESHM area */
    unsigned area_count;
    uct_veshm_attach_t **local; /* per area: our VEHVA, resolved on first use */
    /* Host memory: registered in our VE process's DMAATB on first use as a
     * DMA source or target (veshm_vh_cache.h), so VE DMA moves it without
     * staging. 0 not tried, 1 registered, -1 not possible. */
    int vh_state;
    uint64_t vh_vehva;                /* VEHVA of address */
    uct_veshm_vh_region_t *vh_region; /* the registration it uses */
} uct_veshm_memh_t;

/* What rkey_unpack returns as uct_rkey_t. */
typedef struct uct_veshm_rkey {
    /* The region from its start as one run of host views (the attachments'
     * mappings follow each other): pio_len bytes at pio_base, the whole run
     * writable (pio_put_len == pio_len) if every attachment is, else none
     * (0); 0 bytes if the first has no host view. The host-view path of
     * small puts and gets looks here first (veshm_pio.h): first in the key,
     * so that it is one cache line, the key's address (pio_addr) with it. */
    uint64_t pio_addr; /* info.region_addr */
    uint8_t *pio_base;
    uint64_t pio_len;
    uint64_t pio_put_len;
    veshm_rkey_info_t info;
    uct_veshm_attach_t **areas; /* info.area_count attachments, NULL until first use */
} uct_veshm_rkey_t;

/* uct_veshm_rkey_area's first use of area i. */
uct_veshm_attach_t *uct_veshm_rkey_area_attach(uct_veshm_rkey_t *rkey, unsigned i);

/* Attachment of area i of a remote key, attached on first use; NULL (logged,
 * with the reason) when it cannot be attached, e.g. the DMAATB is full.
 * Inline: every atomic and every short transfer looks its area up. */
static inline uct_veshm_attach_t *uct_veshm_rkey_area(uct_veshm_rkey_t *rkey, unsigned i) {
    uct_veshm_attach_t *e = __atomic_load_n(&rkey->areas[i], __ATOMIC_ACQUIRE);
    return ucs_likely(e != NULL) ? e : uct_veshm_rkey_area_attach(rkey, i);
}

void uct_veshm_memh_resolve_slow(uct_veshm_memh_t *memh);

/* Whether memh is VE memory, its areas open for peers; found out (and the
 * areas opened) on the first call. */
static inline int uct_veshm_memh_is_ve(uct_veshm_memh_t *memh) {
    if (ucs_unlikely(!__atomic_load_n(&memh->resolved, __ATOMIC_ACQUIRE)))
        uct_veshm_memh_resolve_slow(memh);
    return memh->is_ve;
}

/* The HMEM address of [address, address+length) if it is VE memory of this
 * process in areas the transport opened for its peers, else 0. */
uint64_t uct_veshm_md_exported(const void *address, size_t length);

/* Memory registrations this process's veshm memory domains made (tests). */
uint64_t uct_veshm_md_reg_count(void);

/* Local VEHVA of granule index i of a VE memory handle (attaching it on first
 * use); NULL if it cannot be reached by DMA. */
uct_veshm_attach_t *uct_veshm_memh_local(uct_veshm_memh_t *memh, unsigned i);

/* VEHVA of a host memory handle's address for VE DMA of our VE process
 * (registering the region on first use); UCS_ERR_UNREACHABLE when DMA cannot
 * reach it. */
ucs_status_t uct_veshm_memh_vh_vehva(uct_veshm_memh_t *memh, uint64_t *vehva_p);

#endif
