#include "pattern.hpp"

#include <cstring>

namespace veshm_test {

namespace {

// splitmix64: every 8-byte word of the stream differs from its neighbours and
// from the same word of other seeds, so shifted or stale data never matches.
uint64_t word_at(uint64_t seed, uint64_t index) {
    uint64_t z = seed * 0x9e3779b97f4a7c15ULL + index + 1;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void generate(uint8_t *out, size_t len, uint64_t seed, uint64_t pos) {
    while (len > 0 && (pos & 7) != 0) {
        uint64_t w = word_at(seed, pos >> 3);
        *out++ = (uint8_t)(w >> (8 * (pos & 7)));
        ++pos;
        --len;
    }
    while (len >= 8) {
        uint64_t w = word_at(seed, pos >> 3);
        memcpy(out, &w, 8);
        out += 8;
        pos += 8;
        len -= 8;
    }
    uint64_t w = word_at(seed, pos >> 3);
    for (size_t i = 0; i < len; ++i)
        out[i] = (uint8_t)(w >> (8 * i));
}

} // namespace

void fill_pattern(void *dst, size_t len, uint64_t seed, uint64_t pos) {
    generate(static_cast<uint8_t *>(dst), len, seed, pos);
}

int64_t find_mismatch(const void *src, size_t len, uint64_t seed, uint64_t pos) {
    const auto *s = static_cast<const uint8_t *>(src);
    constexpr size_t kChunk = 64 << 10;
    alignas(64) static thread_local uint8_t expected[kChunk];
    for (size_t done = 0; done < len;) {
        size_t n = len - done < kChunk ? len - done : kChunk;
        generate(expected, n, seed, pos + done);
        if (memcmp(s + done, expected, n) != 0) {
            for (size_t i = 0; i < n; ++i)
                if (s[done + i] != expected[i])
                    return (int64_t)(done + i);
        }
        done += n;
    }
    return -1;
}

} // namespace veshm_test
