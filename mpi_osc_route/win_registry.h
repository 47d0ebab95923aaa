/* Windows that carry state of this library, found by handle on every
 * operation and walked by the progress callback: a fixed table that readers
 * scan without a lock. Slots are written under the table's lock, and a
 * window is not used by the program while it is being created or freed.
 * Every state kept here starts with its window's handle. */
#ifndef VESHM_WIN_REGISTRY_H
#define VESHM_WIN_REGISTRY_H

#include <mpi.h>
#include <pthread.h>

#define WIN_REGISTRY_MAX 1024

struct win_registry {
    void *slot[WIN_REGISTRY_MAX]; /* each points at a struct whose first member is its MPI_Win */
    unsigned high;                /* slots in use are below it */
    pthread_mutex_t lock;
};

#define WIN_REGISTRY_INIT                                                                          \
    { {0}, 0, PTHREAD_MUTEX_INITIALIZER }

static inline unsigned win_registry_count(struct win_registry *r) {
    return __atomic_load_n(&r->high, __ATOMIC_ACQUIRE);
}

static inline void *win_registry_at(struct win_registry *r, unsigned i) {
    return __atomic_load_n(&r->slot[i], __ATOMIC_ACQUIRE);
}

static inline void *win_registry_find(struct win_registry *r, MPI_Win win) {
    unsigned high = win_registry_count(r);
    for (unsigned i = 0; i < high; ++i) {
        void *p = win_registry_at(r, i);
        if (p != NULL && *(const MPI_Win *)p == win)
            return p;
    }
    return NULL;
}

/* 1 if p was added, 0 if the table is full. */
static inline int win_registry_add(struct win_registry *r, void *p) {
    int added = 0;
    pthread_mutex_lock(&r->lock);
    for (unsigned i = 0; i < WIN_REGISTRY_MAX && !added; ++i) {
        if (r->slot[i] != NULL)
            continue;
        __atomic_store_n(&r->slot[i], p, __ATOMIC_RELEASE);
        if (i >= r->high)
            __atomic_store_n(&r->high, i + 1, __ATOMIC_RELEASE);
        added = 1;
    }
    pthread_mutex_unlock(&r->lock);
    return added;
}

static inline void win_registry_remove(struct win_registry *r, void *p) {
    pthread_mutex_lock(&r->lock);
    for (unsigned i = 0; i < r->high; ++i)
        if (r->slot[i] == p)
            __atomic_store_n(&r->slot[i], NULL, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&r->lock);
}

#endif
