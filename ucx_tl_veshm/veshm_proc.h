/* The VE process of this host process that all veshm memory domains and
 * interfaces use (the application's own on the configured node if it has one,
 * else one started here), and the VESHM areas the transport opened in it. */
#ifndef UCT_VESHM_PROC_H
#define UCT_VESHM_PROC_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include <ucs/debug/assert.h>
#include <ucs/type/status.h>

#include "veo_veshm_defs.h"
#include "veshm_rkey_cache.h"

/* How the transport opens the areas of its memory, and their syncnum. */
#define UCT_VESHM_OPEN_FLAGS VE_REGISTER_PCI
#define UCT_VESHM_SYNCNUM 0

typedef struct uct_veshm_proc {
    pthread_mutex_t lock;
    pthread_t owner; /* holder of lock, for assertions */
    int locked;
    int users;                      /* open MDs, memory handles and rkeys */
    struct veo_proc_handle *handle; /* NULL until the first MD opens */
    int created;                    /* started by the transport */
    int node;
    pid_t ve_pid;                 /* VESHM owner pid of our VE memory */
    uint64_t granule;             /* VESHM area size and alignment */
    uct_veshm_rkey_cache_t cache; /* VEHVA attachments and registrations */
    struct {                      /* VESHM areas we opened, reference counted */
        uint64_t *hmem;
        unsigned *refs;
        unsigned count, capacity;
    } open_areas;
    /* Random at start, advanced by every area we close: what a key's epoch
     * field carries (veshm_rkey_format.h). */
    uint64_t area_epoch;
} uct_veshm_proc_t;

extern uct_veshm_proc_t uct_veshm_proc;

/* The lock and its holder; the holder is read by other threads only in
 * assertions, hence relaxed atomics. */
static inline void uct_veshm_proc_lock(void) {
    pthread_mutex_lock(&uct_veshm_proc.lock);
    __atomic_store_n(&uct_veshm_proc.owner, pthread_self(), __ATOMIC_RELAXED);
    __atomic_store_n(&uct_veshm_proc.locked, 1, __ATOMIC_RELAXED);
}

static inline void uct_veshm_proc_unlock(void) {
    __atomic_store_n(&uct_veshm_proc.locked, 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&uct_veshm_proc.lock);
}

/* Whether the calling thread holds the proc lock (for ucs_assert). */
static inline int uct_veshm_proc_is_locked(void) {
    return __atomic_load_n(&uct_veshm_proc.locked, __ATOMIC_RELAXED) &&
           pthread_equal(__atomic_load_n(&uct_veshm_proc.owner, __ATOMIC_RELAXED), pthread_self());
}

/* The VE node chosen by configuration string cfg ("auto" or a number). */
int uct_veshm_select_node(const char *cfg);

/* Takes a user of the VE process, starting it on node for the first. */
ucs_status_t uct_veshm_proc_get(int node);
/* Another user of the started VE process; proc lock held. */
void uct_veshm_proc_ref_locked(void);
/* Drops a user; the last one ends the VE process's use by the transport. */
void uct_veshm_proc_put(void);
void uct_veshm_proc_put_locked(void);

/* Opens (or references) the VESHM area at hmem; proc lock held. */
ucs_status_t uct_veshm_area_open(uint64_t hmem);
/* Drops a reference to the area at hmem, closing it with the last; proc lock
 * held. */
void uct_veshm_area_close(uint64_t hmem);
/* Whether the transport has the area at hmem open; proc lock held. */
int uct_veshm_area_is_open(uint64_t hmem);

#endif
