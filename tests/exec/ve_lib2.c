/* A second VE library: the same symbol name as in ve_lib.c with another
 * result, so symbol look-ups per library can be told apart. */
#include <stdint.h>

uint64_t ve_add(uint64_t a, uint64_t b) {
    return a + b + 1000;
}

uint64_t ve_only_in_lib2(void) {
    return 2;
}
