// Runs a program to its end and captures what it prints: as this process's
// user, or as another one (root only; supplementary groups dropped).
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

namespace veshm_test {

struct RunAs {
    uid_t uid;
    gid_t gid;
};

// argv[0] is looked up in PATH; env entries (NAME=VALUE) are added to the
// environment. Returns the exit status, 128 + the signal that ended it, or
// -1 if it could not be started; *output gets its standard output.
int run_program(const std::vector<std::string> &argv, std::string *output = nullptr,
                const RunAs *as = nullptr, const std::vector<std::string> &env = {});

} // namespace veshm_test
