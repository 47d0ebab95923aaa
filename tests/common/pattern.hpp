// Deterministic test data: a byte stream per seed, addressable by absolute
// position, so any piece of it can be checked wherever a copy put it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace veshm_test {

// Writes bytes pos..pos+len of the stream for seed to dst.
void fill_pattern(void *dst, size_t len, uint64_t seed, uint64_t pos);

// Offset (from src) of the first byte that is not bytes pos..pos+len of the
// stream for seed, or -1 when all of them are.
int64_t find_mismatch(const void *src, size_t len, uint64_t seed, uint64_t pos);

} // namespace veshm_test
