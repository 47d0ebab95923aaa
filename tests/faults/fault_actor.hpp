// A VH process of the fault-injection test: an owner or an attacher of VESHM
// areas that runs its operations in a loop until told to stop, while the test
// kills it, its peer or either VE process at a random moment. It checks every
// result as it comes: a value, or an errno the API documents for what may
// have happened (a process gone); anything else is reported as "bad".
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <sys/types.h>

struct veo_proc_handle;

namespace fault_actor {

// What the actor is doing, published in a page the test shares with it, so
// the test knows which operation each kill interrupted.
enum class Op : uint32_t { idle = 0, create, open, attach, dma, detach, close, destroy, count };
inline const char *op_name(Op op) {
    static const char *const names[] = {"idle", "create", "open",  "attach",
                                        "dma",  "detach", "close", "destroy"};
    return (uint32_t)op < (uint32_t)Op::count ? names[(uint32_t)op] : "?";
}

inline constexpr uint64_t kPage = 64ULL << 20;
inline constexpr uint64_t kPatternBytes = 4ULL << 20; // the area's first bytes: never written
inline constexpr uint64_t kSlotOffset = 32ULL << 20;  // where attachers write

class Actor {
  public:
    explicit Actor(int op_fd); // op_fd: the shared page (or -1)
    void mark(Op op) {
        if (op_)
            op_->store((uint32_t)op, std::memory_order_relaxed);
    }
    // Records a failure the test will see; returns false.
    bool bad(const std::string &what);
    // Checks a call's outcome: 0, or an errno from allowed. Counts both.
    bool outcome(const char *what, int err, std::initializer_list<int> allowed);
    // True once the test said stop (or vanished).
    bool stop_requested();
    // Word i (0 = "stop") of the line that stopped the loop; "" if none.
    std::string last_line_words(size_t i) const;
    // Reads one line from the test (blocking); empty at end of input.
    std::string read_line();
    void say(const std::string &line);
    // The descriptors of this process, to compare at the end.
    static std::string fd_list();
    // The end of a run: unregisters the VEHVA lv, destroys h, checks that the
    // descriptors are those of fds_before, reports the counts; exit status.
    int finish(veo_proc_handle *h, uint64_t lv, const std::string &fds_before);

    uint64_t ops = 0, documented_errors = 0, failures = 0;

  private:
    std::atomic<uint32_t> *op_ = nullptr;
    std::string pending_;
    std::string stop_line_;
    bool eof_ = false;
};

int run_owner(Actor &a, int node, uint64_t seed);
int run_attacher(Actor &a, int node, uint64_t seed);

} // namespace fault_actor
