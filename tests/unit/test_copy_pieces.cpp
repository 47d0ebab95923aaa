// core/wire/copy_pieces.h: a copy in pieces moves every byte to its place, at
// the sizes around the piece's and from unaligned addresses, and writes
// nothing past the end.
#include "wire/copy_pieces.h"

#include <cstdint>
#include <gtest/gtest.h>
#include <vector>

namespace {

constexpr size_t kPiece = VESHM_COPY_PIECE;
constexpr size_t kGuard = 64;

TEST(CopyPieces, EveryByteInPlaceAndNothingPastTheEnd) {
    const size_t sizes[] = {0,          1,          4099,           kPiece - 1, kPiece,
                            kPiece + 1, 2 * kPiece, 3 * kPiece + 7, 5u << 20,   (5u << 20) + 3};
    for (size_t n : sizes) {
        for (size_t skew : {0u, 1u, 61u}) {
            // Never empty: memcpy's pointers must be valid even for 0 bytes.
            std::vector<uint8_t> src(n + skew + 1), dst(n + skew + kGuard, 0xA5);
            for (size_t i = 0; i < src.size(); ++i)
                src[i] = static_cast<uint8_t>(i * 7 + i / 4096 + n);
            veshm_copy_pieces(dst.data() + skew, src.data() + skew, n);
            for (size_t i = 0; i < skew; ++i)
                ASSERT_EQ(dst[i], 0xA5) << "n " << n << " skew " << skew << " byte " << i;
            for (size_t i = skew; i < n + skew; ++i)
                ASSERT_EQ(dst[i], src[i]) << "n " << n << " skew " << skew << " byte " << i;
            for (size_t i = n + skew; i < dst.size(); ++i)
                ASSERT_EQ(dst[i], 0xA5) << "n " << n << " skew " << skew << " byte " << i;
        }
    }
}

} // namespace
