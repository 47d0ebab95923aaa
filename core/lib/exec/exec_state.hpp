// What a VE process runs code with, per VeProc: its contexts (the implicit
// main context that synchronous calls use, and those veo_context_open
// added), and the symbols looked up so far.
#pragma once

#include "lib/exec/context.hpp"
#include "lib/proc/proc.hpp"

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace veo::emu {

class ExecState {
  public:
    // The state of p, created on first use.
    static ExecState &of(VeProc *p);

    // The main context, started on first use; nullptr if it cannot start.
    Context *main_context();
    // As AVEO: the first context opened is the main context, later ones are new.
    Context *open_context(uint64_t stack_size);
    int close_context(Context *c);
    int num_contexts();
    Context *context_at(int idx);

    // Address of symbol name in library lib (0: any), remembered; 0 if absent.
    uint64_t symbol(uint64_t lib, const char *name);
    void forget_library(uint64_t lib);

    // Waits for the requests submitted to the main context, as AVEO's
    // synchronous calls do (they go through its queue).
    void quiesce() {
        Context *m = main_.load(std::memory_order_acquire);
        if (m != nullptr && !m->idle() && !Context::in_vh_job())
            m->sync();
    }
    // Closes every context (finishing what they were given).
    void teardown();

  private:
    explicit ExecState(VeProc *p) : proc_(p) {}

    VeProc *proc_;
    std::mutex mutex_;
    std::atomic<Context *> main_{nullptr};
    std::vector<Context *> listed_; // what veo_num_contexts/veo_get_context see
    std::map<std::pair<uint64_t, std::string>, uint64_t> symbols_;
};

// Before a synchronous call on p.
inline void exec_quiesce(VeProc *p) {
    if (ExecState *e = p->exec.load(std::memory_order_acquire))
        e->quiesce();
}
// Before p is deleted.
void exec_teardown(VeProc *p);

} // namespace veo::emu
