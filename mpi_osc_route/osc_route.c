#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "osc_route.h"
#include "osc_route_weak.h"
#include "osc_ucx_priority.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Above osc/rdma (101) and osc/sm (100): the window goes to osc/ucx. */
#define PRIORITY_UCX 200u
/* Below every other component: osc/ucx only if nothing else can. */
#define PRIORITY_DEFAULT 0u

/* Held from osc_route_begin to osc_route_end: the priority is one value for
 * the whole process, so two threads creating windows at once (on different
 * communicators, MPI_THREAD_MULTIPLE) take turns. */
static pthread_mutex_t route_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned *route_priority;
static unsigned route_saved;

enum osc_route_policy osc_route_policy(void) {
    const char *e = getenv("VESHM_OSC_ROUTE");
    if (e != NULL && strcmp(e, "ucx") == 0)
        return OSC_POLICY_UCX;
    if (e != NULL && strcmp(e, "default") == 0)
        return OSC_POLICY_DEFAULT;
    if (e != NULL && strcmp(e, "off") == 0)
        return OSC_POLICY_OFF;
    return OSC_POLICY_AUTO;
}

void osc_route_begin(enum osc_route route) {
    pthread_mutex_lock(&route_lock);
    route_priority = osc_ucx_priority();
    if (route_priority != NULL) {
        route_saved = *route_priority;
        *route_priority = route == OSC_ROUTE_UCX ? PRIORITY_UCX : PRIORITY_DEFAULT;
    }
}

void osc_route_end(void) {
    if (route_priority != NULL)
        *route_priority = route_saved;
    route_priority = NULL;
    pthread_mutex_unlock(&route_lock);
}

/* Windows on osc/ucx carry an attribute of this key (freed with the window
 * by MPI itself). Created once, under the route lock. */
static int ucx_keyval = MPI_KEYVAL_INVALID;
static char ucx_mark;

static int keep_attr(MPI_Win win, int keyval, void *extra, void *in, void *out, int *flag) {
    (void)win, (void)keyval, (void)extra;
    *(void **)out = in;
    *flag = 1;
    return MPI_SUCCESS;
}

static int drop_attr(MPI_Win win, int keyval, void *value, void *extra) {
    (void)win, (void)keyval, (void)value, (void)extra;
    return MPI_SUCCESS;
}

void osc_route_mark_ucx(MPI_Win win) {
    pthread_mutex_lock(&route_lock);
    int keyval = __atomic_load_n(&ucx_keyval, __ATOMIC_ACQUIRE);
    if (keyval == MPI_KEYVAL_INVALID &&
        PMPI_Win_create_keyval(keep_attr, drop_attr, &keyval, NULL) == MPI_SUCCESS)
        __atomic_store_n(&ucx_keyval, keyval, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&route_lock);
    if (keyval != MPI_KEYVAL_INVALID)
        PMPI_Win_set_attr(win, keyval, &ucx_mark);
}

int osc_route_is_ucx(MPI_Win win) {
    int keyval = __atomic_load_n(&ucx_keyval, __ATOMIC_ACQUIRE);
    if (keyval == MPI_KEYVAL_INVALID)
        return 0;
    void *value = NULL;
    int flag = 0;
    if (PMPI_Win_get_attr(win, keyval, &value, &flag) != MPI_SUCCESS)
        return 0;
    return flag && value == &ucx_mark;
}

void *osc_route_symbol(const char *name) {
    return dlsym(RTLD_DEFAULT, name);
}

void *osc_route_hmem_of(const void *p) {
    void *sym = osc_route_symbol("veo_emu_vh_to_hmem");
    if (sym == NULL || p == NULL)
        return NULL;
    void *(*to_hmem)(const void *);
    memcpy(&to_hmem, &sym, sizeof(sym));
    return to_hmem(p);
}

int osc_route_is_ve_memory(const void *p) {
    return osc_route_hmem_of(p) != NULL;
}

int osc_route_direct_enabled(void) {
    const char *e = getenv("VESHM_OSC_DIRECT");
    return e == NULL || strcmp(e, "0") != 0;
}

int osc_route_help_enabled(void) {
    /* Asked before every large transfer: the environment is scanned once. */
    static int enabled = -1;
    int e = __atomic_load_n(&enabled, __ATOMIC_RELAXED);
    if (e < 0) {
        const char *v = getenv("VESHM_OSC_HELP");
        e = v == NULL || strcmp(v, "0") != 0;
        __atomic_store_n(&enabled, e, __ATOMIC_RELAXED);
    }
    return e;
}

/* Decided first without communicating, from what mpirun tells each rank
 * about the job: when it spans hosts, ranks elsewhere may run without this
 * library (mpirun forwards the preload only if told to), and a collective
 * only some ranks make would hang the window's creation. */
int osc_route_one_host(MPI_Comm comm) {
    const char *job = getenv("OMPI_COMM_WORLD_SIZE");
    const char *here = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (job == NULL || here == NULL || strcmp(job, here) != 0)
        return 0;
    /* Processes of other jobs (MPI_Comm_spawn, MPI_Comm_connect) may still
     * be elsewhere. */
    MPI_Comm node;
    int size = 0, node_size = -1;
    PMPI_Comm_size(comm, &size);
    if (PMPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) != MPI_SUCCESS)
        return 0;
    PMPI_Comm_size(node, &node_size);
    PMPI_Comm_free(&node);
    return node_size == size;
}
