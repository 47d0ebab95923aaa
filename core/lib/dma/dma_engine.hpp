// The VE DMA engine of one VE process: a ring of descriptors between VEHVAs.
// Small transfers are copied by the posting thread at post time; larger ones
// by an engine thread, so the poster overlaps them with its own work. A poll
// that finds its transfer not yet started copies it itself, so poster and
// engine thread share a burst of descriptors between two cores. The engine
// thread stands for hardware beside the VH process: it runs on the CPUs the
// process is not bound to, and after a transfer it spins a little before it
// sleeps, so that the next descriptor of a stream costs no wake-up. A
// descriptor stays in use until poll() has returned its result.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include "lib/dma/dmaatb.hpp"
#include "veo_vedma.h"

namespace veo::emu {

class DmaEngine {
  public:
    DmaEngine(const Dmaatb &atb, uint32_t descriptors);
    ~DmaEngine();
    DmaEngine(const DmaEngine &) = delete;
    DmaEngine &operator=(const DmaEngine &) = delete;

    // As veo_dma_post / veo_dma_poll / veo_dma_post_wait.
    int post(uint64_t dst, uint64_t src, int size, ve_dma_handle_t *handle);
    int poll(ve_dma_handle_t *handle);
    int post_wait(uint64_t dst, uint64_t src, int size);

    // Transfers up to this size are copied at post time: below it, handing a
    // copy to the engine thread costs more than the copy.
    static constexpr int kInlineMax = 64 << 10;
    // Up to this size too when the engine thread has no CPU of its own: it
    // would take the time of the poster, who can copy as fast.
    static constexpr int kSharedInlineMax = 256 << 10;
    // How long the idle engine thread looks for new work before it sleeps.
    static constexpr std::chrono::microseconds kSpin{200};

  private:
    enum : uint32_t { kFree = 0, kClaimed = 1, kQueued = 2, kRunning = 3, kDone = 4 };
    struct Descriptor {
        std::atomic<uint32_t> state{kFree};
        int status = 0;
        uint8_t *dst = nullptr;
        const uint8_t *src = nullptr;
        size_t size = 0;
        MappingRef keep_dst, keep_src;
    };

    int claim(uint64_t dst, uint64_t src, int size, bool inline_copy, int *index);
    // Once, by the first poster of a transfer for the engine thread; returns
    // when the thread has placed itself and own_cpus_ says where.
    void start_engine_thread();
    void run_worker(std::promise<bool> &placed);
    // Copies a queued descriptor if nobody has started it yet; true if it did.
    bool execute(Descriptor &d);

    const Dmaatb &atb_;
    const uint32_t count_;
    std::unique_ptr<Descriptor[]> ring_;
    std::mutex post_mutex_;
    uint32_t next_ = 0;

    std::mutex queue_mutex_;
    std::condition_variable queue_cv_;
    std::deque<int> queue_;
    bool stopping_ = false;
    // Mirrors queue_.size(), for the spinning engine thread to read unlocked.
    std::atomic<uint32_t> queued_{0};
    // The engine thread is spinning: posters need not wake it.
    std::atomic<bool> spinning_{false};
    std::once_flag engine_started_;
    // The engine thread runs on CPUs the posters are not bound to.
    bool own_cpus_ = false;
    std::thread worker_;
};

} // namespace veo::emu
