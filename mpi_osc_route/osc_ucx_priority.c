#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "osc_route.h"
#include "osc_ucx_priority.h"

#include <string.h>

/* Open MPI's MCA variable interface (libopen-pal, loaded with libmpi):
 * mca_base_var_find(project, framework, component, name) gives the
 * variable's index; mca_base_var_get_value(index, &storage, NULL, NULL)
 * gives a pointer to the value the component reads. The priority cannot be
 * set through MPI_T (osc/ucx registers it without the settable flag), so
 * the storage is written directly; osc/ucx's query returns it as is. */
typedef int (*var_find_fn)(const char *, const char *, const char *, const char *);
typedef int (*var_get_value_fn)(int, const void *, void *, const char **);

unsigned *osc_ucx_priority(void) {
    static unsigned *storage;
    static int looked;
    if (looked)
        return storage;
    void *find_sym = osc_route_symbol("mca_base_var_find");
    void *get_sym = osc_route_symbol("mca_base_var_get_value");
    if (find_sym == NULL || get_sym == NULL) {
        looked = 1;
        return NULL;
    }
    var_find_fn find;
    var_get_value_fn get_value;
    memcpy(&find, &find_sym, sizeof(find));
    memcpy(&get_value, &get_sym, sizeof(get_value));
    int index = find("ompi", "osc", "ucx", "priority");
    if (index < 0) {
        /* Registered during MPI_Init: look again on the next window. */
        return NULL;
    }
    looked = 1;
    void *value = NULL;
    if (get_value(index, &value, NULL, NULL) == 0)
        storage = value;
    return storage;
}
