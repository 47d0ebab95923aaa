/* osc/ucx's priority as Open MPI reads it when a window is created: the
 * storage of the MCA variable osc_ucx_priority. */
#ifndef VESHM_OSC_UCX_PRIORITY_H
#define VESHM_OSC_UCX_PRIORITY_H

/* The variable's storage, or NULL when Open MPI has none (osc/ucx not among
 * the components OMPI_MCA_osc selects, or not Open MPI). Valid after
 * MPI_Init. Not thread-safe: callers hold the route lock. */
unsigned *osc_ucx_priority(void);

#endif
