// Small helpers of the core suites: VE processes that end with the test,
// VE memory, errno capture and the peer program's location.
#pragma once

#include <ve_offload.h>
#include <veo_emu.h>
#include <veo_vedma.h>
#include <veo_veshm.h>

#include "veshm_info_probe.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <gtest/gtest.h>
#include <string>
#include <sys/wait.h>

namespace veshm_test {

inline constexpr size_t kPage = 64UL << 20; // default VE and PCIATB page size
inline constexpr size_t MiB = 1UL << 20;

// A VE process that lives exactly as long as this object.
class VeProcess {
  public:
    explicit VeProcess(int node) : h(veo_proc_create(node)) {}
    ~VeProcess() { reset(); }
    VeProcess(const VeProcess &) = delete;
    VeProcess &operator=(const VeProcess &) = delete;
    void reset() {
        if (h != nullptr)
            veo_proc_destroy(h);
        h = nullptr;
    }
    pid_t pid() const { return veo_emu_proc_pid(h); }
    operator veo_proc_handle *() const { return h; }

    veo_proc_handle *h;
};

// VE memory of h (HMEM address) with the given alignment; nullptr on failure.
inline void *alloc_ve(veo_proc_handle *h, size_t size, size_t alignment = kPage) {
    void *p = nullptr;
    return veo_posix_memalign_hmem(h, &p, alignment, size) == 0 ? p : nullptr;
}

// Where this process reaches the VE memory at hmem.
inline uint8_t *host_of(const void *hmem) {
    return static_cast<uint8_t *>(veo_emu_hmem_to_vh(hmem));
}

inline void *offset(void *hmem, uint64_t off) {
    return (void *)((uint64_t)hmem + off);
}

// 0 if the call succeeded, else its errno (and the failure value was right).
inline int open_error(void *vemva, size_t size, long long flags, int syncnum = 0) {
    errno = 0;
    int rc = veo_shared_mem_open(vemva, size, syncnum, flags);
    if (rc == 0)
        return 0;
    EXPECT_EQ(-1, rc);
    return errno;
}
inline int close_error(void *vemva, size_t size, long long flags, int syncnum = 0) {
    errno = 0;
    int rc = veo_shared_mem_close(vemva, size, syncnum, flags);
    if (rc == 0)
        return 0;
    EXPECT_EQ(-1, rc);
    return errno;
}
// Attaches; on success *at holds the address.
inline int attach_error(veo_proc_handle *h, pid_t pid, void *vemva, size_t size, long long flags,
                        void **at = nullptr, int syncnum = 0) {
    errno = 0;
    void *r = veo_shared_mem_attach(h, pid, vemva, size, syncnum, flags);
    if (at)
        *at = r;
    return r == (void *)-1 ? errno : 0;
}
inline int detach_error(veo_proc_handle *h, void *at, long long flags) {
    errno = 0;
    int rc = veo_shared_mem_detach(h, at, flags);
    if (rc == 0)
        return 0;
    EXPECT_EQ(-1, rc);
    return errno;
}

// Waits for our child pid to end without reaping it (its owner reaps it).
inline bool wait_child_ended(pid_t pid) {
    siginfo_t info{};
    while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) < 0)
        if (errno != EINTR)
            return false;
    return true;
}

inline std::string peer_program() {
    return VESHM_PEER;
}

// The owner VE process's own count of attachments to its areas, once it has
// seen every detach and hang-up that happened before this call. Those events
// and the query are served by one loop in an order the kernel picks within a
// batch; all of them were pending before the first query was sent, so they are
// handled by the time the second one is.
inline int attachments_of(pid_t ve_pid) {
    owner_attachments(VESHM_INFO_BIN, ve_pid);
    return owner_attachments(VESHM_INFO_BIN, ve_pid);
}

} // namespace veshm_test
