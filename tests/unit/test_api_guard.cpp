// The C API's exception boundary: what a C caller gets when the library
// throws inside (a container that cannot grow).
#include "lib/api/api.hpp"

#include <gtest/gtest.h>
#include <stdexcept>

namespace veo::emu {
namespace {

TEST(ApiGuard, ExceptionsBecomeTheFailureValueWithEnomem) {
    errno = 0;
    EXPECT_EQ(-1, api_guard<int>("f", -1, []() -> int { throw std::bad_alloc(); }));
    EXPECT_EQ(ENOMEM, errno);
    errno = 0;
    EXPECT_EQ((void *)-1, api_guard<void *>("g", (void *)-1,
                                            []() -> void * { throw std::runtime_error("boom"); }));
    EXPECT_EQ(ENOMEM, errno);
    errno = 0;
    EXPECT_EQ(7, api_guard<int>("h", -1, [] { return 7; }));
    EXPECT_EQ(0, errno) << "a body that returns leaves errno alone";
    bool ran = false;
    api_guard_void("v", [&] {
        ran = true;
        throw 42;
    });
    EXPECT_TRUE(ran);
    EXPECT_EQ(ENOMEM, errno);
}

} // namespace
} // namespace veo::emu
