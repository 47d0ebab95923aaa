// Base fixture of the core suites: whatever a test started or created must be
// gone when it ends. The check runs in the destructor, after the derived
// fixture's members (peers, VE processes) have been destroyed.
#pragma once

#include "leftover_checker.hpp"
#include "proc_table.hpp"

#include <chrono>
#include <gtest/gtest.h>
#include <string>

namespace veshm_test {

class NoLeftoversTest : public ::testing::Test {
  protected:
    NoLeftoversTest() {
        become_subreaper();
        before_ = LeftoverSnapshot::take();
    }
    ~NoLeftoversTest() override {
        std::string all;
        for (const std::string &s : find_leftovers(before_, std::chrono::seconds(10)))
            all += "\n  " + s;
        EXPECT_TRUE(all.empty()) << "left behind:" << all;
    }

  private:
    LeftoverSnapshot before_;
};

} // namespace veshm_test
