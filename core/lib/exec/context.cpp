#include "lib/exec/context.hpp"

#include "sys/config.hpp"
#include "sys/futex.hpp"
#include "sys/log.hpp"
#include "sys/unix_socket.hpp"
#include "lib/proc/proc.hpp"

#include <cerrno>
#include <climits>
#include <cstring>
#include <sys/mman.h>
#include <unistd.h>

namespace veo::emu {

namespace {

// A waiter spins this long before it sleeps: a short VE function answers
// well within it, and the sleep costs a wake-up on the VE side.
constexpr uint64_t kWaitSpinNs = 100000;
// How often a sleeping waiter checks that the VE process still lives (a
// killed one cannot say so itself).
constexpr int64_t kLivenessCheckNs = 10000000;

thread_local bool vh_job_thread = false;

bool after(uint32_t count, uint64_t idx) {
    // count (mod 2^32) has passed idx: fewer than 2^31 requests are ever outstanding.
    return (int32_t)(count - (uint32_t)idx) > 0;
}

} // namespace

bool Context::in_vh_job() {
    return vh_job_thread;
}

Context::Context(VeProc *proc, Ring *ring, uint32_t id, bool is_main)
    : proc_(proc), ring_(ring), id_(id), main_(is_main) {}

Context *Context::open(VeProc *proc, uint64_t stack_size, bool is_main) {
    int fd = memfd_create("ve-context-ring", MFD_CLOEXEC);
    if (fd < 0)
        return nullptr;
    void *mem = MAP_FAILED;
    if (ftruncate(fd, (off_t)kRingBytes) == 0)
        mem = mmap(nullptr, kRingBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mem == MAP_FAILED) {
        close_fd(fd);
        return nullptr;
    }
    OpenContextRequest req{stack_size};
    int error = 0;
    uint64_t id = 0;
    int rc = proc->control().call((ControlType)ExecRequest::open_context, &req, sizeof req, &error,
                                  &id, nullptr, fd);
    ::close(fd);
    if (rc < 0 || error != 0) {
        munmap(mem, kRingBytes);
        VEO_LOG(debug, "veo_context_open: the VE process %s", rc < 0 ? "is gone" : "refused");
        errno = rc < 0 ? ESRCH : error;
        return nullptr;
    }
    return new Context(proc, static_cast<Ring *>(mem), (uint32_t)id, is_main);
}

Context::~Context() {
    close();
    munmap(ring_, kRingBytes);
}

bool Context::dead() {
    if (dead_.load(std::memory_order_relaxed))
        return true;
    if (ring_->header.dead.load(std::memory_order_acquire) != 0) {
        dead_.store(true);
        return true;
    }
    return false;
}

bool Context::finished(uint64_t idx) {
    return after(ring_->header.completed.load(std::memory_order_acquire), idx) || dead();
}

bool Context::idle() const {
    const RingHeader &h = ring_->header;
    return h.completed.load(std::memory_order_acquire) ==
               h.submitted.load(std::memory_order_relaxed) ||
           dead_.load(std::memory_order_relaxed) || h.dead.load(std::memory_order_relaxed);
}

void Context::wait_finished(uint64_t idx) {
    RingHeader &h = ring_->header;
    if (spin_until([&] { return finished(idx); }, kWaitSpinNs))
        return;
    while (!finished(idx)) {
        uint32_t seen = h.completed.load(std::memory_order_seq_cst);
        h.vh_sleeping.store(1, std::memory_order_seq_cst);
        if (!finished(idx))
            futex_wait(&h.completed, seen, kLivenessCheckNs);
        if (h.completed.load(std::memory_order_acquire) == seen && !proc_->alive()) {
            VEO_LOG(debug, "context %u: the VE process %d is gone", id_, (int)proc_->pid());
            dead_.store(true);
        }
    }
}

RingSlot *Context::reserve(std::unique_lock<std::mutex> &lock, uint64_t *idx) {
    while (submitted_ - reaped_ >= kRingSlots) {
        reap();
        if (submitted_ - reaped_ < kRingSlots)
            break;
        // Waits for a quarter of the ring, not one slot: then the VE thread
        // runs a batch on its own instead of both sides trading a cache line
        // for every request.
        uint64_t target = reaped_ + kRingSlots / 4;
        lock.unlock();
        wait_finished(target);
        lock.lock();
    }
    *idx = submitted_;
    RingSlot *s = &ring_->slots[*idx % kRingSlots];
    info_[*idx % kRingSlots] = SlotInfo{};
    return s;
}

void Context::publish(uint64_t idx) {
    RingHeader &h = ring_->header;
    h.submitted.store((uint32_t)(idx + 1), std::memory_order_seq_cst);
    if (h.ve_sleeping.load(std::memory_order_seq_cst) != 0 &&
        h.ve_sleeping.exchange(0, std::memory_order_seq_cst) != 0)
        futex_wake(&h.submitted, 1);
}

uint64_t Context::call(uint64_t addr, const CallArgs &args) {
    const auto &list = args.args();
    if (addr == 0 || list.size() > (size_t)kMaxCallArgs)
        return VEO_REQUEST_ID_INVALID;
    std::lock_guard submit(submit_mutex_);
    if (closed_ || dead())
        return VEO_REQUEST_ID_INVALID;

    // Stack arguments: copies in one block of VE memory, which the callee
    // reaches at its VEMVA, copied back and freed when the result is taken.
    uint64_t block = 0, total = 0;
    std::vector<StackCopy> outs;
    for (const CallArg &a : list)
        if (a.on_stack)
            total += (a.len + 15) & ~uint64_t(15);
    if (args.has_stack()) {
        block = proc_->allocator().allocate(total ? total : 16, 64);
        if (block == 0) {
            VEO_LOG(debug, "veo_call_async: no VE memory for %llu bytes of stack arguments",
                    (unsigned long long)total);
            return VEO_REQUEST_ID_INVALID;
        }
    }

    std::unique_lock lock(mutex_);
    uint64_t idx;
    RingSlot *s = reserve(lock, &idx);
    s->kind = (uint32_t)SlotKind::call;
    s->addr = addr;
    s->nargs = (uint32_t)list.size();
    s->status.store(VEO_COMMAND_UNFINISHED, std::memory_order_relaxed);
    s->result.store(0, std::memory_order_relaxed);
    uint64_t offset = 0;
    for (size_t i = 0; i < list.size(); ++i) {
        const CallArg &a = list[i];
        s->types[i] = (uint8_t)a.type;
        if (!a.on_stack) {
            s->args[i] = a.value;
            continue;
        }
        uint8_t *host = proc_->memory() + (block + offset - kVemvaBase);
        if (a.intent != VEO_INTENT_OUT && a.len)
            memcpy(host, a.buf, a.len);
        if (a.intent != VEO_INTENT_IN && a.len)
            outs.push_back(StackCopy{a.buf, a.len, offset});
        s->args[i] = block + offset;
        offset += (a.len + 15) & ~uint64_t(15);
    }
    SlotInfo &info = info_[idx % kRingSlots];
    info.stack_block = block;
    info.outs = std::move(outs);
    submitted_ = idx + 1;
    lock.unlock();
    publish(idx);
    return idx + 1;
}

uint64_t Context::vh_request(VhJob job) {
    std::lock_guard submit(submit_mutex_);
    if (closed_ || dead())
        return VEO_REQUEST_ID_INVALID;
    std::unique_lock lock(mutex_);
    uint64_t idx;
    RingSlot *s = reserve(lock, &idx);
    s->kind = (uint32_t)SlotKind::gate;
    s->nargs = 0;
    s->status.store(VEO_COMMAND_UNFINISHED, std::memory_order_relaxed);
    s->result.store(0, std::memory_order_relaxed);
    s->gate.store(gate_closed, std::memory_order_relaxed);
    submitted_ = idx + 1;
    lock.unlock();
    {
        std::lock_guard jl(jobs_mutex_);
        if (!helper_.joinable())
            helper_ = std::thread([this] { helper_main(); });
        jobs_.emplace_back(idx, std::move(job));
    }
    jobs_cv_.notify_one();
    publish(idx);
    return idx + 1;
}

void Context::helper_main() {
    vh_job_thread = true;
    for (;;) {
        std::unique_lock jl(jobs_mutex_);
        jobs_cv_.wait(jl, [&] { return stop_helper_ || !jobs_.empty(); });
        if (jobs_.empty())
            return;
        auto [idx, job] = std::move(jobs_.front());
        jobs_.pop_front();
        jl.unlock();
        // Runs once everything before it in the queue has finished, which is
        // when the VE thread reaches the gate.
        RingSlot &s = ring_->slots[idx % kRingSlots];
        auto reached = [&] {
            return s.gate.load(std::memory_order_acquire) == gate_reached || dead();
        };
        if (!spin_until(reached, kWaitSpinNs)) {
            while (!reached()) {
                futex_wait(&s.gate, gate_closed, kLivenessCheckNs);
                if (s.gate.load() == gate_closed && !proc_->alive())
                    dead_.store(true);
            }
        }
        if (dead())
            continue; // finished() reports it as an exception
        bool ok = true;
        uint64_t value = job(&ok);
        s.result.store(value, std::memory_order_relaxed);
        // Release: what the job wrote (e.g. an async read's buffer) is then
        // seen by the thread that takes the result, in this process's terms too.
        s.status.store(ok ? VEO_COMMAND_OK : VEO_COMMAND_ERROR, std::memory_order_release);
        s.gate.store(gate_released, std::memory_order_seq_cst);
        futex_wake(&s.gate, 1);
    }
}

Context::Result Context::finish(uint64_t idx) {
    SlotInfo &info = info_[idx % kRingSlots];
    const RingSlot &s = ring_->slots[idx % kRingSlots];
    bool done = after(ring_->header.completed.load(std::memory_order_acquire), idx);
    Result r{VEO_COMMAND_EXCEPTION, 0};
    if (done)
        r = Result{s.status.load(std::memory_order_acquire),
                   s.result.load(std::memory_order_relaxed)};
    if (info.stack_block) {
        if (done && r.status == VEO_COMMAND_OK) {
            const uint8_t *base = proc_->memory() + (info.stack_block - kVemvaBase);
            for (const StackCopy &c : info.outs)
                memcpy(c.buf, base + c.offset, c.len);
        }
        proc_->allocator().release(info.stack_block);
        info.stack_block = 0;
        info.outs.clear();
    }
    return r;
}

void Context::reap() {
    while (reaped_ < submitted_ && finished(reaped_)) {
        SlotInfo &info = info_[reaped_ % kRingSlots];
        if (!info.collected)
            results_[reaped_ + 1] = finish(reaped_);
        info.collected = false;
        ++reaped_;
    }
}

int Context::take(uint64_t reqid, uint64_t *ret) {
    if (reqid == 0 || reqid > submitted_)
        return VEO_COMMAND_ERROR;
    uint64_t idx = reqid - 1;
    if (idx < reaped_) {
        auto it = results_.find(reqid);
        if (it == results_.end())
            return VEO_COMMAND_ERROR; // taken already
        if (ret)
            *ret = it->second.value;
        int status = (int)it->second.status;
        results_.erase(it);
        return status;
    }
    SlotInfo &info = info_[idx % kRingSlots];
    if (info.collected)
        return VEO_COMMAND_ERROR;
    if (!finished(idx))
        return VEO_COMMAND_UNFINISHED;
    Result r = finish(idx);
    info.collected = true;
    if (ret)
        *ret = r.value;
    return (int)r.status;
}

int Context::peek(uint64_t reqid, uint64_t *ret) {
    std::lock_guard lock(mutex_);
    return take(reqid, ret);
}

int Context::wait(uint64_t reqid, uint64_t *ret) {
    for (;;) {
        {
            std::lock_guard lock(mutex_);
            int rc = take(reqid, ret);
            if (rc != VEO_COMMAND_UNFINISHED)
                return rc;
        }
        wait_finished(reqid - 1);
    }
}

void Context::sync() {
    uint64_t last;
    {
        std::lock_guard lock(mutex_);
        if (submitted_ == 0)
            return;
        last = submitted_ - 1;
    }
    wait_finished(last);
}

int Context::state() {
    if (closed_ || dead())
        return VEO_STATE_EXIT;
    if (!proc_->alive()) {
        dead_.store(true);
        return VEO_STATE_EXIT;
    }
    return VEO_STATE_RUNNING;
}

void Context::close() {
    if (closed_.exchange(true))
        return;
    std::lock_guard submit(submit_mutex_);
    bool clean = false;
    if (!dead()) {
        std::unique_lock lock(mutex_);
        uint64_t idx;
        RingSlot *s = reserve(lock, &idx);
        s->kind = (uint32_t)SlotKind::quit;
        s->nargs = 0;
        info_[idx % kRingSlots].collected = true;
        submitted_ = idx + 1;
        lock.unlock();
        publish(idx);
        wait_finished(idx);
        clean = !dead();
    }
    {
        std::lock_guard jl(jobs_mutex_);
        stop_helper_ = true;
    }
    jobs_cv_.notify_all();
    if (helper_.joinable())
        helper_.join();
    if (clean) {
        int error = 0;
        uint32_t id = id_;
        proc_->control().call((ControlType)ExecRequest::close_context, &id, sizeof id, &error,
                              nullptr);
    }
    std::lock_guard lock(mutex_);
    reap(); // gives back the stack blocks of results nobody took
    results_.clear();
}

} // namespace veo::emu
