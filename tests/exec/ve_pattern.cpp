// The test data pattern for VE code: writes what the peer program checks.
#include "pattern.hpp"

#include <cstdint>

extern "C" uint64_t ve_fill_pattern(void *dst, uint64_t len, uint64_t seed, uint64_t pos) {
    veshm_test::fill_pattern(dst, len, seed, pos);
    return len;
}
