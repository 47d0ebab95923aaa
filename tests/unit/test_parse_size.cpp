// parse_size: the sizes every VESHM_* variable takes.
#include "sys/config.hpp"

#include <gtest/gtest.h>

namespace veo::emu {
namespace {

uint64_t size_of(const char *text) {
    uint64_t v = 12345;
    EXPECT_TRUE(parse_size(text, &v)) << text;
    return v;
}

bool refused(const char *text) {
    uint64_t v = 0;
    return !parse_size(text, &v);
}

TEST(ParseSize, UnitsArePowersOf1024) {
    EXPECT_EQ(123u, size_of("123"));
    EXPECT_EQ(64u << 10, size_of("64K"));
    EXPECT_EQ(2u << 20, size_of("2M"));
    EXPECT_EQ(48ULL << 30, size_of("48G"));
    EXPECT_EQ(1ULL << 40, size_of("1T"));
    EXPECT_EQ(64u << 20, size_of("64MiB"));
    EXPECT_EQ(64u << 20, size_of("64MB"));
    EXPECT_EQ(0x10u, size_of("0x10"));
}

TEST(ParseSize, GarbageAndOverflowAreRefused) {
    EXPECT_TRUE(refused(""));
    EXPECT_TRUE(refused("M"));
    EXPECT_TRUE(refused("12Q"));
    EXPECT_TRUE(refused("1 M"));
    EXPECT_TRUE(refused("64MiBs"));
    EXPECT_TRUE(refused("-1"));
    EXPECT_TRUE(refused("99999999999T")) << "overflows 64 bits";
}

} // namespace
} // namespace veo::emu
