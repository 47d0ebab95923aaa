// Fixture of the exec suite: a VE process with the test's VE library loaded,
// and small RAII helpers for veo_args.
#pragma once

#include "core_test_support.hpp"
#include "no_leftovers_test.hpp"

#include <ve_offload.h>

#include <cstdint>
#include <gtest/gtest.h>
#include <string>

namespace veshm_test {

class Args {
  public:
    Args() : a(veo_args_alloc()) {}
    ~Args() { veo_args_free(a); }
    Args(const Args &) = delete;
    Args &operator=(const Args &) = delete;
    operator veo_args *() const { return a; }
    veo_args *a;
};

class ExecTest : public NoLeftoversTest {
  protected:
    void SetUp() override {
        ASSERT_NE(nullptr, proc.h);
        lib = veo_load_library(proc, VE_LIB);
        ASSERT_NE(0u, lib);
    }
    uint64_t sym(const char *name) {
        uint64_t a = veo_get_sym(proc, lib, name);
        EXPECT_NE(0u, a) << name;
        return a;
    }
    // Synchronous call; the result (the test fails if the call does).
    uint64_t call(const char *name, veo_args *args) {
        uint64_t r = 0;
        EXPECT_EQ(0, veo_call_sync(proc, sym(name), args, &r)) << name;
        return r;
    }

    VeProcess proc{0};
    uint64_t lib = 0;
};

} // namespace veshm_test
