// Futex wait/wake on words in memory shared between processes (no
// FUTEX_PRIVATE_FLAG), and the short spin both sides of a ring do first.
#pragma once

#include <atomic>
#include <cstdint>
#include <ctime>
#include <sched.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace veo::emu {

// Sleeps while *word == expected, at most timeout_ns (< 0: no limit).
inline void futex_wait(std::atomic<uint32_t> *word, uint32_t expected, int64_t timeout_ns) {
    timespec ts{}, *tp = nullptr;
    if (timeout_ns >= 0) {
        ts.tv_sec = timeout_ns / 1000000000;
        ts.tv_nsec = timeout_ns % 1000000000;
        tp = &ts;
    }
    syscall(SYS_futex, reinterpret_cast<uint32_t *>(word), FUTEX_WAIT, expected, tp, nullptr, 0);
}

inline void futex_wake(std::atomic<uint32_t> *word, int count) {
    syscall(SYS_futex, reinterpret_cast<uint32_t *>(word), FUTEX_WAKE, count, nullptr, nullptr, 0);
}

inline uint64_t monotonic_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

// Spins until ready() or spin_ns passed; true if ready. The clock is read
// only every few rounds: it costs more than a pause. Past 50 us the spinner
// also yields, for machines with more runnable threads than cores, where the
// side it waits for may be queued behind it. Not sooner: on a busy machine
// the scheduler sometimes puts both sides of a ring on one CPU, and two
// threads that keep yielding to each other stay there (3.8 us round trips
// instead of 0.2 us); two that spin get spread out again.
template <typename Ready> bool spin_until(Ready ready, uint64_t spin_ns) {
    constexpr uint64_t kYieldAfterNs = 50000;
    uint64_t start = 0;
    for (uint32_t i = 0;; ++i) {
        if (ready())
            return true;
        __builtin_ia32_pause();
        if ((i & 63) == 63) {
            uint64_t now = monotonic_ns();
            if (start == 0)
                start = now;
            else if (now - start >= spin_ns)
                return false;
            else if (now - start >= kYieldAfterNs)
                sched_yield();
        }
    }
}

} // namespace veo::emu
