#include "lib/exec/exec_state.hpp"

#include "wire/exec_protocol.hpp"
#include "sys/log.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace veo::emu {

namespace {
std::mutex create_mutex;
}

ExecState &ExecState::of(VeProc *p) {
    if (ExecState *e = p->exec.load(std::memory_order_acquire))
        return *e;
    std::lock_guard lock(create_mutex);
    ExecState *e = p->exec.load();
    if (e == nullptr) {
        e = new ExecState(p);
        p->exec.store(e, std::memory_order_release);
    }
    return *e;
}

Context *ExecState::main_context() {
    if (Context *m = main_.load(std::memory_order_acquire))
        return m;
    std::lock_guard lock(mutex_);
    Context *m = main_.load();
    if (m == nullptr) {
        m = Context::open(proc_, 0, true);
        main_.store(m, std::memory_order_release);
    }
    return m;
}

Context *ExecState::open_context(uint64_t stack_size) {
    Context *m = main_context();
    if (m == nullptr)
        return nullptr;
    std::lock_guard lock(mutex_);
    if (listed_.empty()) {
        listed_.push_back(m);
        return m;
    }
    Context *c = Context::open(proc_, stack_size, false);
    if (c != nullptr)
        listed_.push_back(c);
    return c;
}

int ExecState::close_context(Context *c) {
    if (c->is_main())
        return 0; // lives as long as the process
    {
        std::lock_guard lock(mutex_);
        auto it = std::find(listed_.begin(), listed_.end(), c);
        if (it == listed_.end())
            return -1;
        listed_.erase(it);
    }
    delete c;
    return 0;
}

int ExecState::num_contexts() {
    std::lock_guard lock(mutex_);
    return (int)listed_.size();
}

Context *ExecState::context_at(int idx) {
    std::lock_guard lock(mutex_);
    if (idx < 0 || (size_t)idx >= listed_.size())
        return nullptr;
    return listed_[(size_t)idx];
}

uint64_t ExecState::symbol(uint64_t lib, const char *name) {
    std::string key(name);
    {
        std::lock_guard lock(mutex_);
        auto it = symbols_.find({lib, key});
        if (it != symbols_.end())
            return it->second;
    }
    std::vector<uint8_t> msg(sizeof(SymRequest) + key.size());
    SymRequest req{lib};
    memcpy(msg.data(), &req, sizeof req);
    memcpy(msg.data() + sizeof req, key.data(), key.size());
    int error = 0;
    uint64_t addr = 0;
    if (proc_->control().call((ControlType)ExecRequest::get_sym, msg.data(), msg.size(), &error,
                              &addr) < 0 ||
        error != 0) {
        VEO_LOG(debug, "veo_get_sym(%s): %s", name, error ? strerror(error) : "VE process gone");
        errno = error ? error : ESRCH;
        return 0;
    }
    std::lock_guard lock(mutex_);
    symbols_[{lib, key}] = addr;
    return addr;
}

void ExecState::forget_library(uint64_t lib) {
    std::lock_guard lock(mutex_);
    // Symbols found through "any library" may have come from it too.
    for (auto it = symbols_.begin(); it != symbols_.end();)
        it = (it->first.first == lib || it->first.first == 0) ? symbols_.erase(it) : std::next(it);
}

void ExecState::teardown() {
    std::vector<Context *> others;
    {
        std::lock_guard lock(mutex_);
        for (Context *c : listed_)
            if (!c->is_main())
                others.push_back(c);
        listed_.clear();
    }
    for (Context *c : others)
        delete c;
    delete main_.exchange(nullptr);
}

void exec_teardown(VeProc *p) {
    ExecState *e = p->exec.exchange(nullptr);
    if (e == nullptr)
        return;
    e->teardown();
    delete e;
}

} // namespace veo::emu
