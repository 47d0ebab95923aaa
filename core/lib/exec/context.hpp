// A VEO context as the VH sees it: the request queue of one thread of the
// VE process. Requests are slots of a ring shared with that thread (see
// common/exec_protocol.hpp); requests that run on the VH (async memory
// copies, veo_call_async_vh) hold the ring at their place in the order
// while a VH helper thread runs them.
#pragma once

#include "lib/exec/call_args.hpp"
#include "wire/exec_protocol.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

struct veo_thr_ctxt; // the C handle is a Context

namespace veo::emu {

class VeProc;

class Context {
  public:
    // A VH-side request; *ok = false makes it VEO_COMMAND_ERROR.
    using VhJob = std::function<uint64_t(bool *ok)>;

    // Starts the VE thread; nullptr with errno set on failure.
    static Context *open(VeProc *proc, uint64_t stack_size, bool is_main);
    ~Context(); // close() first

    VeProc *proc() const { return proc_; }
    bool is_main() const { return main_; }

    // Request IDs, or VEO_REQUEST_ID_INVALID.
    uint64_t call(uint64_t addr, const CallArgs &args);
    uint64_t vh_request(VhJob job);

    int peek(uint64_t reqid, uint64_t *ret);
    int wait(uint64_t reqid, uint64_t *ret);
    // Waits until everything submitted so far has finished.
    void sync();
    // Nothing submitted is still unfinished (cheap: two shared counters).
    bool idle() const;
    int state();
    // Finishes what was submitted, ends the VE thread. Idempotent.
    void close();

    // veo_req_block_begin/end: one thread submits a batch, nobody else in between.
    void block_begin() { submit_mutex_.lock(); }
    void block_end() { submit_mutex_.unlock(); }

    // True in a VH helper thread: synchronous calls made by a VH request must
    // not wait for the queue that runs them.
    static bool in_vh_job();

  private:
    struct StackCopy {
        char *buf;
        size_t len;
        uint64_t offset; // in the stack block
    };
    struct SlotInfo {
        bool collected = false; // result taken (or internal: nobody will ask)
        uint64_t stack_block = 0;
        std::vector<StackCopy> outs;
    };
    struct Result {
        uint32_t status;
        uint64_t value;
    };

    Context(VeProc *proc, Ring *ring, uint32_t id, bool is_main);
    // Takes a free slot (waiting for one if the ring is full) under mutex_.
    RingSlot *reserve(std::unique_lock<std::mutex> &lock, uint64_t *idx);
    void publish(uint64_t idx);
    bool finished(uint64_t idx);
    bool dead();
    Result finish(uint64_t idx);
    void reap();
    int take(uint64_t reqid, uint64_t *ret);
    // Sleeps until request idx finished (or the VE process is gone).
    void wait_finished(uint64_t idx);
    void helper_main();

    VeProc *proc_;
    Ring *ring_;
    uint32_t id_;
    bool main_;
    std::atomic<bool> dead_{false};
    std::atomic<bool> closed_{false};

    std::recursive_mutex submit_mutex_; // order of submission
    std::mutex mutex_;                  // the bookkeeping below
    uint64_t submitted_ = 0;            // requests handed to the ring
    uint64_t reaped_ = 0;               // requests whose slot is free again
    SlotInfo info_[kRingSlots];
    std::unordered_map<uint64_t, Result> results_; // reaped, not yet taken

    std::mutex jobs_mutex_;
    std::condition_variable jobs_cv_;
    std::deque<std::pair<uint64_t, VhJob>> jobs_;
    bool stop_helper_ = false;
    std::thread helper_;
};

inline Context *from_handle(veo_thr_ctxt *c) {
    return reinterpret_cast<Context *>(c);
}
inline veo_thr_ctxt *to_handle(Context *c) {
    return reinterpret_cast<veo_thr_ctxt *>(c);
}

} // namespace veo::emu
