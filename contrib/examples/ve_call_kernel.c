/* The "VE code" of ve_call.c: an ordinary shared object that veo_load_library
 * loads into the VE process. Pointers it receives are VE addresses (VEMVAs),
 * which the VE process can dereference.
 *
 *   cc -shared -fPIC -o libve_call_kernel.so ve_call_kernel.c */
#include <stdint.h>

struct stats {
    double min, max, sum;
};

/* v[i] *= factor for n elements of VE memory; returns n. */
uint64_t scale(double *v, uint64_t n, double factor) {
    for (uint64_t i = 0; i < n; ++i)
        v[i] *= factor;
    return n;
}

/* Fills *out (a stack argument with VEO_INTENT_OUT); returns 0. */
uint64_t summarize(const double *v, uint64_t n, struct stats *out) {
    struct stats s = {v[0], v[0], 0};
    for (uint64_t i = 0; i < n; ++i) {
        s.min = v[i] < s.min ? v[i] : s.min;
        s.max = v[i] > s.max ? v[i] : s.max;
        s.sum += v[i];
    }
    *out = s;
    return 0;
}
