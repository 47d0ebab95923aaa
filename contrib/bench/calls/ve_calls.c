/* The VE code the call benchmark calls: nothing, so only the call costs. */
#include <stdint.h>

uint64_t bench_empty(void) {
    return 0;
}

uint64_t bench_add(uint64_t a, uint64_t b) {
    return a + b;
}
