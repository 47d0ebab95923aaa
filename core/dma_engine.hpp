// The VE DMA engine of one VE process: a ring of descriptors between VEHVAs.
// Small transfers are copied by the posting thread at post time; larger ones
// by an engine thread, so the poster overlaps them with its own work. A poll
// that finds its transfer not yet started copies it itself: on a busy machine
// the poller's core is the one that is free. A descriptor stays in use until
// poll() has returned its result.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "dmaatb.hpp"
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

    // Transfers up to this size are copied at post time.
    static constexpr int kInlineMax = 256 << 10;

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
    void run_worker();
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
    std::thread worker_;
};

} // namespace veo::emu
