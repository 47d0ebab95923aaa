/* The routing library's counters of a window (mpi_osc_route's
 * veshm_osc_route_window_stats and veshm_osc_route_host_stats), looked up
 * at run time: the MPI tests run with and without the library preloaded. */
#ifndef VESHM_TEST_ROUTE_STATS_H
#define VESHM_TEST_ROUTE_STATS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <mpi.h>
#include <stdint.h>
#include <string.h>

typedef int (*route_stats_fn)(MPI_Win, uint64_t *, uint64_t *, uint64_t *);

/* mpi_osc_route's counters for w, when it is loaded (*loaded) and w has a
 * same-host state: 1, else 0 (and the counters 0). */
static inline int route_stats(MPI_Win w, int *loaded, uint64_t *direct, uint64_t *through_ucx,
                              uint64_t *helped) {
    void *sym = dlsym(RTLD_DEFAULT, "veshm_osc_route_window_stats");
    *loaded = sym != NULL;
    *direct = *through_ucx = *helped = 0;
    if (sym == NULL)
        return 0;
    route_stats_fn stats;
    memcpy(&stats, &sym, sizeof(stats));
    return stats(w, direct, through_ucx, helped);
}

/* Its counters of a window over host memory (veshm_osc_route_host_stats:
 * transfers shared, chunks their targets copied, transfers left to osc/rdma
 * whole, accumulates and get_accumulates done by the routing library): 1
 * when w has such a state, else 0 (and the counters 0). */
static inline int route_host_stats(MPI_Win w, uint64_t counts[4]) {
    void *sym = dlsym(RTLD_DEFAULT, "veshm_osc_route_host_stats");
    counts[0] = counts[1] = counts[2] = counts[3] = 0;
    if (sym == NULL)
        return 0;
    int (*stats)(MPI_Win, uint64_t *, uint64_t *, uint64_t *, uint64_t *);
    memcpy(&stats, &sym, sizeof(stats));
    return stats(w, &counts[0], &counts[1], &counts[2], &counts[3]);
}

#endif
