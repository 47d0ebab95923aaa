// VE DMA (veo_vedma.h): argument errors, exception bits, the descriptor ring,
// asynchronous completion and several posting threads on one engine.
#include "core_test_support.hpp"
#include "no_leftovers_test.hpp"
#include "pattern.hpp"

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sched.h>
#include <string>
#include <sys/uio.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace veshm_test {
namespace {

// Finds the first byte of [p, p+len) that differs from the pattern (as
// find_mismatch), reading memory a DMA may be writing at this very moment
// through the kernel (process_vm_readv of ourselves): as plain loads, such a
// look at a transfer in flight would be a data race for ThreadSanitizer.
int64_t find_mismatch_in_flight(const void *p, size_t len, uint64_t seed, uint64_t pos) {
    std::vector<uint8_t> copy(len);
    iovec local{copy.data(), len}, remote{const_cast<void *>(p), len};
    if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != (ssize_t)len) {
        ADD_FAILURE() << "process_vm_readv: " << strerror(errno);
        return 0;
    }
    return find_mismatch(copy.data(), len, seed, pos);
}

class Dma : public NoLeftoversTest {
  protected:
    void SetUp() override {
        ASSERT_NE(nullptr, proc.h);
        a = alloc_ve(proc, 2 * kPage);
        b = alloc_ve(proc, 2 * kPage);
        ASSERT_NE(nullptr, a);
        ASSERT_NE(nullptr, b);
        va = veo_register_mem_to_dmaatb(a, 2 * kPage);
        vb = veo_register_mem_to_dmaatb(b, 2 * kPage);
        ASSERT_NE((uint64_t)-1, va);
        ASSERT_NE((uint64_t)-1, vb);
    }
    void TearDown() override {
        if (va != (uint64_t)-1) {
            EXPECT_EQ(0, veo_unregister_mem_from_dmaatb(proc, va));
        }
        if (vb != (uint64_t)-1) {
            EXPECT_EQ(0, veo_unregister_mem_from_dmaatb(proc, vb));
        }
    }
    // Waits for a posted transfer: its result.
    int finish(ve_dma_handle_t *h) {
        int rc;
        while ((rc = veo_dma_poll(proc, h)) == -EAGAIN)
            std::this_thread::yield();
        return rc;
    }

    // Posts one transfer the engine thread takes (above the inline size), waits.
    void post_engine_transfer() {
        ve_dma_handle_t h{};
        ASSERT_EQ(0, veo_dma_post(proc, vb, va, 1 << 20, &h));
        ASSERT_EQ(0, finish(&h));
    }

    VeProcess proc{0};
    void *a = nullptr, *b = nullptr;
    uint64_t va = (uint64_t)-1, vb = (uint64_t)-1;
};

TEST_F(Dma, PostArgumentErrors) {
    ve_dma_handle_t h{};
    EXPECT_EQ(-EFAULT, veo_dma_post(proc, vb, va, 64, nullptr));
    EXPECT_EQ(-EINVAL, veo_dma_post(proc, vb + 2, va, 64, &h));
    EXPECT_EQ(-EINVAL, veo_dma_post(proc, vb, va + 1, 64, &h));
    EXPECT_EQ(-EINVAL, veo_dma_post(proc, vb, va, 6, &h));
    EXPECT_EQ(-EINVAL, veo_dma_post(proc, vb, va, 0, &h));
    EXPECT_EQ(-EINVAL, veo_dma_post(proc, vb, va, -4, &h));
    EXPECT_EQ(-EINVAL, veo_dma_post(proc, vb, va, 128 << 20, &h));
    EXPECT_EQ(-EINVAL, veo_dma_post_wait(proc, vb, va, 6));
    EXPECT_EQ(-EINVAL, veo_dma_post_wait(proc, vb + 1, va, 4));
    EXPECT_EQ(-EINVAL, veo_dma_post_wait(proc, vb, va, 128 << 20));
    EXPECT_EQ(-EFAULT, veo_dma_poll(proc, nullptr));
    EXPECT_NE(0, veo_dma_post_wait(nullptr, vb, va, 64));
    // None of them took a descriptor: a full ring still has room for all.
    veo_emu_node_info info{};
    ASSERT_EQ(0, veo_emu_get_node_info(0, &info));
    std::vector<ve_dma_handle_t> hs(info.dma_descriptors);
    for (auto &x : hs)
        ASSERT_EQ(0, veo_dma_post(proc, vb, va, 64, &x));
    for (auto &x : hs)
        EXPECT_EQ(0, finish(&x));
}

TEST_F(Dma, LargestTransferIsAccepted) {
    const int size = (128 << 20) - 4;
    fill_pattern(host_of(a), (size_t)size, 3, 0);
    ve_dma_handle_t h{};
    ASSERT_EQ(0, veo_dma_post(proc, vb + 4, va, size, &h));
    ASSERT_EQ(0, finish(&h));
    EXPECT_EQ(-1, find_mismatch(host_of(b) + 4, (size_t)size, 3, 0));
}

TEST_F(Dma, MissingSpaceException) {
    // An address outside every DMAATB entry is a fault of the transfer.
    ve_dma_handle_t h{};
    ASSERT_EQ(0, veo_dma_post(proc, vb, 0x1000, 64, &h));
    EXPECT_EQ(VE_DMA_EXC_MISSING_SPACE, finish(&h));
    ASSERT_EQ(0, veo_dma_post(proc, 0x1000, va, 64, &h));
    EXPECT_EQ(VE_DMA_EXC_MISSING_SPACE, finish(&h));
    // Running off the end of an entry.
    EXPECT_EQ(VE_DMA_EXC_MISSING_SPACE, veo_dma_post_wait(proc, vb, va + 2 * kPage - 8, 16));
    EXPECT_EQ(VE_DMA_EXC_MISSING_SPACE, veo_dma_post_wait(proc, vb + 2 * kPage - 8, va, 16));
    // Large transfers fault the same way.
    EXPECT_EQ(VE_DMA_EXC_MISSING_SPACE, veo_dma_post_wait(proc, vb, va + kPage, 96 << 20));
    ASSERT_EQ(0, veo_dma_post(proc, vb + kPage, va, 96 << 20, &h));
    EXPECT_EQ(VE_DMA_EXC_MISSING_SPACE, finish(&h));
    // An unregistered entry is gone for DMA.
    ASSERT_EQ(0, veo_unregister_mem_from_dmaatb(proc, vb));
    uint64_t old = vb;
    vb = (uint64_t)-1;
    EXPECT_EQ(VE_DMA_EXC_MISSING_SPACE, veo_dma_post_wait(proc, old, va, 64));
}

TEST_F(Dma, PostWaitCopies) {
    fill_pattern(host_of(a), 1 * MiB, 4, 0);
    fill_pattern(host_of(b), 1 * MiB, 5, 0);
    ASSERT_EQ(0, veo_dma_post_wait(proc, vb + 12, va + 100, 4000));
    EXPECT_EQ(-1, find_mismatch(host_of(b), 12, 5, 0));
    EXPECT_EQ(-1, find_mismatch(host_of(b) + 12, 4000, 4, 100));
    EXPECT_EQ(-1, find_mismatch(host_of(b) + 4012, 64, 5, 4012));
}

TEST_F(Dma, PcircvsycRegisterIsABarrierOnly) {
    // AVEO's veo_access_pcircvsyc_register orders VH stores before the DMA
    // that follows; here it is a memory fence: it must not disturb the
    // engine, and a store before it is what DMA after it copies.
    host_of(a)[0] = 0x5a;
    host_of(a)[1] = 0xa5;
    veo_access_pcircvsyc_register(proc);
    ASSERT_EQ(0, veo_dma_post_wait(proc, vb, va, 4));
    EXPECT_EQ(0x5a, host_of(b)[0]);
    EXPECT_EQ(0xa5, host_of(b)[1]);
    post_engine_transfer();
}

TEST_F(Dma, RingFullUntilPolled) {
    veo_emu_node_info info{};
    ASSERT_EQ(0, veo_emu_get_node_info(0, &info));
    ASSERT_EQ(128u, info.dma_descriptors); // the documented default
    const uint32_t n = info.dma_descriptors;
    fill_pattern(host_of(a), n * 64, 6, 0);
    std::vector<ve_dma_handle_t> hs(n + 1);
    for (uint32_t i = 0; i < n; ++i)
        ASSERT_EQ(0, veo_dma_post(proc, vb + i * 64, va + i * 64, 64, &hs[i])) << i;
    // Every transfer finished long ago, but none was polled: no free descriptor.
    EXPECT_EQ(-EAGAIN, veo_dma_post(proc, vb, va, 64, &hs[n]));
    EXPECT_EQ(-EAGAIN, veo_dma_post(proc, vb, va, 64, &hs[n]));
    EXPECT_EQ(0, finish(&hs[0]));
    ASSERT_EQ(0, veo_dma_post(proc, vb + n * 64, va, 64, &hs[n]));
    for (uint32_t i = 1; i <= n; ++i)
        EXPECT_EQ(0, finish(&hs[i])) << i;
    EXPECT_EQ(-1, find_mismatch(host_of(b), n * 64, 6, 0));
    EXPECT_EQ(-1, find_mismatch(host_of(b) + n * 64, 64, 6, 0));
}

TEST_F(Dma, RingFullWithLargeTransfers) {
    // Large transfers go through the engine thread: the ring rule is the same.
    veo_emu_node_info info{};
    ASSERT_EQ(0, veo_emu_get_node_info(0, &info));
    const uint32_t n = info.dma_descriptors;
    const int size = 512 << 10;
    // Each to a destination of its own: the engine thread and the polls below
    // copy outstanding transfers at the same time.
    const uint64_t slots = 2 * kPage / size;
    ASSERT_LE(n, slots);
    std::vector<ve_dma_handle_t> hs(n + 1);
    for (uint32_t i = 0; i < n; ++i)
        ASSERT_EQ(0, veo_dma_post(proc, vb + i * (uint64_t)size, va, size, &hs[i])) << i;
    EXPECT_EQ(-EAGAIN, veo_dma_post(proc, vb, va, size, &hs[n]));
    for (uint32_t i = 0; i < n; ++i)
        EXPECT_EQ(0, finish(&hs[i])) << i;
}

TEST_F(Dma, LargeTransferCompletesAsynchronously) {
    // The post hands a large transfer to the engine and returns before the
    // data is there: right after it the last bytes of the destination still
    // hold their old values (a copy at post time would have written them;
    // memcpy writes the end last). Copying 96 MiB takes milliseconds, looking
    // at 64 bytes nanoseconds; a round in which the engine finished first
    // anyway (we were preempted) is repeated, a few times at most.
    const int size = 96 << 20;
    const uint64_t tail = 64;
    fill_pattern(host_of(a), (size_t)size + 8, 8, 0);
    int asynchronous = 0, polls = 0;
    for (int round = 0; round < 5 && asynchronous == 0; ++round) {
        fill_pattern(host_of(b), (size_t)size + 16, 9 + round, 0);
        ve_dma_handle_t h{};
        ASSERT_EQ(0, veo_dma_post(proc, vb + 8, va + 4, size, &h));
        bool done_at_post =
            find_mismatch_in_flight(host_of(b) + 8 + size - tail, tail, 8, 4 + size - tail) == -1;
        int rc;
        polls = 0;
        while ((rc = veo_dma_poll(proc, &h)) == -EAGAIN)
            ++polls;
        EXPECT_EQ(0, rc);
        EXPECT_EQ(-1, find_mismatch(host_of(b), 8, 9 + round, 0));
        EXPECT_EQ(-1, find_mismatch(host_of(b) + 8, (size_t)size, 8, 4));
        EXPECT_EQ(-1, find_mismatch(host_of(b) + 8 + size, 8, 9 + round, 8 + (uint64_t)size));
        asynchronous += !done_at_post;
    }
    EXPECT_EQ(1, asynchronous) << "every post of 96 MiB returned with the data already copied";
    RecordProperty("polls_before_done", polls);
}

TEST_F(Dma, PollCopiesATransferTheEngineHasNotStarted) {
    // Four large transfers queued: the engine thread copies them in order.
    // A poll of the last one, which the engine has not started, copies it
    // right away, ahead of the engine: it is done while the third one is
    // not yet. (Would the poll only wait, the last one could not be done
    // before the third.) A round in which the engine was done with the third
    // one first anyway (we were preempted) is repeated, a few times at most.
    const uint64_t len = 24 << 20, tail = 64;
    fill_pattern(host_of(a), 4 * len, 11, 0);
    int overtaken = 0;
    for (int round = 0; round < 5 && overtaken == 0; ++round) {
        fill_pattern(host_of(b), 4 * len, 12 + round, 0);
        ve_dma_handle_t h[4];
        for (uint64_t i = 0; i < 4; ++i)
            ASSERT_EQ(0, veo_dma_post(proc, vb + i * len, va + i * len, (int)len, &h[i]));
        int rc;
        while ((rc = veo_dma_poll(proc, &h[3])) == -EAGAIN)
            std::this_thread::yield();
        EXPECT_EQ(0, rc);
        bool third_done =
            find_mismatch_in_flight(host_of(b) + 3 * len - tail, tail, 11, 3 * len - tail) == -1;
        for (int i = 0; i < 3; ++i)
            EXPECT_EQ(0, finish(&h[i])) << i;
        EXPECT_EQ(-1, find_mismatch(host_of(b), 4 * len, 11, 0));
        overtaken += !third_done;
    }
    EXPECT_EQ(1, overtaken) << "the last transfer was never done before the third: polls only wait";
}

TEST_F(Dma, ConcurrentPostersOnOneEngine) {
    constexpr int kThreads = 4;
    const size_t slice = 2 * kPage / kThreads;
    fill_pattern(host_of(a), 2 * kPage, 10, 0);
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            uint64_t base = t * slice;
            // Sizes on both sides of the inline/engine-thread boundary (64 KiB).
            const int sizes[] = {4, 60, 4096, 65532, 65536, 65540, 3 << 20};
            uint64_t off = base;
            for (int round = 0; round < 40; ++round) {
                int size = sizes[(round + t) % 7];
                if (off + size + 8 > base + slice)
                    off = base;
                ve_dma_handle_t h{};
                int rc;
                while ((rc = veo_dma_post(proc, vb + off, va + off, size, &h)) == -EAGAIN)
                    std::this_thread::yield(); // another thread holds the next descriptor
                if (rc != 0 || finish(&h) != 0)
                    failures++;
                off += (uint64_t)size + 4;
            }
        });
    for (auto &t : threads)
        t.join();
    EXPECT_EQ(0, failures.load());
    // Every byte that was copied equals its source; check the whole range that
    // the threads covered by comparing where they wrote.
    for (int t = 0; t < kThreads; ++t) {
        uint64_t base = t * slice;
        const int sizes[] = {4, 60, 4096, 65532, 65536, 65540, 3 << 20};
        uint64_t off = base;
        for (int round = 0; round < 40; ++round) {
            int size = sizes[(round + t) % 7];
            if (off + size + 8 > base + slice)
                off = base;
            ASSERT_EQ(-1, find_mismatch(host_of(b) + off, (size_t)size, 10, off))
                << "thread " << t << " round " << round;
            off += (uint64_t)size + 4;
        }
    }
}

// CPUs the engine thread of the test's VE process may run on, once it exists
// (it starts with the first transfer the poster does not copy itself).
std::optional<cpu_set_t> engine_thread_cpus() {
    for (int tries = 0; tries < 500; ++tries) {
        for (const auto &task : std::filesystem::directory_iterator("/proc/self/task")) {
            std::ifstream comm(task.path() / "comm");
            std::string name;
            if (!std::getline(comm, name) || name != "ve-dma")
                continue;
            cpu_set_t cpus;
            pid_t tid = std::stoi(task.path().filename().string());
            if (sched_getaffinity(tid, sizeof(cpus), &cpus) != 0)
                return std::nullopt;
            return cpus;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::nullopt;
}

TEST_F(Dma, EngineThreadRunsBesideABoundPoster) {
    // mpirun binds each rank to a core: the engine thread must leave that
    // core to the rank and run on the others.
    cpu_set_t all;
    ASSERT_EQ(0, sched_getaffinity(0, sizeof(all), &all));
    if (CPU_COUNT(&all) < 2)
        GTEST_SKIP() << "needs two CPUs";
    int first = 0;
    while (!CPU_ISSET(first, &all))
        ++first;
    std::thread poster([&] {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(first, &one);
        ASSERT_EQ(0, sched_setaffinity(0, sizeof(one), &one));
        post_engine_transfer();
    });
    poster.join();
    auto cpus = engine_thread_cpus();
    ASSERT_TRUE(cpus.has_value());
    EXPECT_FALSE(CPU_ISSET(first, &*cpus));
    for (int c = first + 1; c < CPU_SETSIZE; ++c) {
        if (CPU_ISSET(c, &all)) {
            EXPECT_TRUE(CPU_ISSET(c, &*cpus)) << "CPU " << c;
        }
    }
}

TEST_F(Dma, EngineThreadOfAnUnboundPosterKeepsItsCpus) {
    cpu_set_t all;
    ASSERT_EQ(0, sched_getaffinity(0, sizeof(all), &all));
    if (CPU_COUNT(&all) < sysconf(_SC_NPROCESSORS_ONLN))
        GTEST_SKIP() << "the test itself runs bound (taskset?)";
    post_engine_transfer();
    auto cpus = engine_thread_cpus();
    ASSERT_TRUE(cpus.has_value());
    EXPECT_TRUE(CPU_EQUAL(&all, &*cpus));
}

TEST_F(Dma, DestroyWithTransfersInFlight) {
    // Destroyed with transfers posted and never polled: destroy must wait for
    // or drop them, never crash or hang. The round counts only if a transfer
    // was still in flight just before the destroy (the end of the last
    // destination not yet written); one where the engine was done first is
    // repeated, a few times at most.
    const uint64_t len = 16 << 20, tail = 64;
    int in_flight = 0;
    for (int round = 0; round < 5 && in_flight == 0; ++round) {
        VeProcess other(1);
        ASSERT_NE(nullptr, other.h);
        void *m = alloc_ve(other, 2 * kPage);
        ASSERT_NE(nullptr, m);
        uint64_t v = veo_register_mem_to_dmaatb(m, 2 * kPage);
        ASSERT_NE((uint64_t)-1, v);
        uint8_t *host = host_of(m);
        fill_pattern(host + 3 * len - tail, tail, 1, 0);         // the last source's end
        fill_pattern(host + kPage + 3 * len - tail, tail, 2, 0); // the last destination's
        ve_dma_handle_t h[3];
        for (uint64_t i = 0; i < 3; ++i)
            ASSERT_EQ(0, veo_dma_post(other, v + kPage + i * len, v + i * len, (int)len, &h[i]));
        in_flight += find_mismatch_in_flight(host + kPage + 3 * len - tail, tail, 2, 0) == -1;
        other.reset();
    }
    EXPECT_EQ(1, in_flight) << "the transfers were done before every destroy";
}

TEST_F(Dma, RegisterErrors) {
    int x;
    errno = 0;
    EXPECT_EQ((uint64_t)-1, veo_register_mem_to_dmaatb(&x, kPage));
    EXPECT_EQ(EINVAL, errno);
    void *c = alloc_ve(proc, kPage);
    ASSERT_NE(nullptr, c);
    errno = 0;
    EXPECT_EQ((uint64_t)-1, veo_register_mem_to_dmaatb(offset(c, 4096), kPage));
    EXPECT_EQ(EINVAL, errno);
    errno = 0;
    EXPECT_EQ((uint64_t)-1, veo_register_mem_to_dmaatb(c, 4096));
    EXPECT_EQ(EINVAL, errno);
    errno = 0;
    EXPECT_EQ((uint64_t)-1, veo_register_mem_to_dmaatb(offset(c, 16 * kPage), kPage));
    EXPECT_EQ(EFAULT, errno);
    uint64_t vc = veo_register_mem_to_dmaatb(c, kPage);
    ASSERT_NE((uint64_t)-1, vc);
    EXPECT_EQ(0, veo_unregister_mem_from_dmaatb(proc, vc));
    errno = 0;
    EXPECT_EQ(-1, veo_unregister_mem_from_dmaatb(proc, vc));
    EXPECT_EQ(ECANCELED, errno);
    EXPECT_EQ(0, veo_free_hmem(c));
}

} // namespace
} // namespace veshm_test
