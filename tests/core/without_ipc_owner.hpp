// Runs code with System V permissions in force even for root: on a thread of
// its own whose effective capabilities lack CAP_IPC_OWNER (capabilities
// belong to a thread, so the rest of the test keeps them).
#pragma once

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

namespace veshm_test {

template <class F> void without_ipc_owner(F &&f) {
    std::thread t([&] {
        __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
        __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
        ASSERT_EQ(0, syscall(SYS_capget, &header, data));
        data[CAP_TO_INDEX(CAP_IPC_OWNER)].effective &= ~CAP_TO_MASK(CAP_IPC_OWNER);
        ASSERT_EQ(0, syscall(SYS_capset, &header, data));
        f();
    });
    t.join();
}

} // namespace veshm_test
