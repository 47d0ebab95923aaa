#include "lib/dma/dma_engine.hpp"
#include "wire/copy_pieces.h"

#include <cerrno>
#include <cstring>
#include <future>
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>

namespace veo::emu {

namespace {
constexpr int kMaxTransfer = 128 << 20; // exclusive

void copy(uint8_t *dst, const uint8_t *src, size_t size) {
    // Source and destination may be the same area: overlap needs memmove.
    if (dst < src + size && src < dst + size)
        memmove(dst, src, size);
    else
        veshm_copy_pieces(dst, src, size);
}
} // namespace

DmaEngine::DmaEngine(const Dmaatb &atb, uint32_t descriptors)
    : atb_(atb), count_(descriptors), ring_(new Descriptor[descriptors]) {}

DmaEngine::~DmaEngine() {
    {
        std::lock_guard lock(queue_mutex_);
        stopping_ = true;
    }
    queue_cv_.notify_all();
    if (worker_.joinable())
        worker_.join();
}

int DmaEngine::claim(uint64_t dst, uint64_t src, int size, bool inline_copy, int *index) {
    if (size <= 0 || size >= kMaxTransfer || (size & 3) || (dst & 3) || (src & 3))
        return -EINVAL;
    std::unique_lock lock(post_mutex_);
    uint32_t i = next_;
    Descriptor &d = ring_[i];
    if (d.state.load(std::memory_order_acquire) != kFree)
        return -EAGAIN;
    d.state.store(kClaimed, std::memory_order_relaxed);
    next_ = (i + 1) % count_;
    lock.unlock();

    // Faults are a result of the transfer, reported by poll, as on hardware.
    // The mappings are held even for a copy made right here: another thread
    // may detach the area at this very moment, and the copy must not fault.
    uint8_t *to = nullptr, *from = nullptr;
    int status = atb_.translate(src, (uint64_t)size, false, &from, &d.keep_src);
    if (status == 0)
        status = atb_.translate(dst, (uint64_t)size, true, &to, &d.keep_dst);
    *index = (int)i;
    if (status != 0 || inline_copy) {
        if (status == 0)
            copy(to, from, (size_t)size);
        d.status = status;
        d.keep_src.reset();
        d.keep_dst.reset();
        d.state.store(kDone, std::memory_order_release);
        return 0;
    }
    d.dst = to;
    d.src = from;
    d.size = (size_t)size;
    d.state.store(kQueued, std::memory_order_release);
    {
        std::lock_guard qlock(queue_mutex_);
        queue_.push_back((int)i);
        queued_.fetch_add(1, std::memory_order_release);
    }
    // Read after the push: a thread that stops spinning takes queue_mutex_
    // and looks at the queue before it sleeps, so it cannot miss this one.
    if (!spinning_.load(std::memory_order_acquire))
        queue_cv_.notify_one();
    return 0;
}

bool DmaEngine::execute(Descriptor &d) {
    uint32_t queued = kQueued;
    if (!d.state.compare_exchange_strong(queued, kRunning, std::memory_order_acquire))
        return false;
    copy(d.dst, d.src, d.size);
    d.keep_src.reset();
    d.keep_dst.reset();
    d.status = 0;
    d.state.store(kDone, std::memory_order_release);
    return true;
}

void DmaEngine::start_engine_thread() {
    std::promise<bool> placed;
    std::future<bool> own = placed.get_future();
    std::lock_guard qlock(queue_mutex_);
    // The promise moves into the thread: set_value may still touch it after
    // get() returned here.
    worker_ = std::thread([this, p = std::move(placed)]() mutable { run_worker(p); });
    own_cpus_ = own.get();
}

void DmaEngine::run_worker(std::promise<bool> &placed) {
    // The CPUs the process is not bound to, if there are any: mpirun binds
    // each rank to one core, and an engine thread there would only preempt
    // the thread that posted. An unbound process has no others: the engine
    // thread then shares the poster's CPUs and the poster copies more itself.
    bool own = false;
    cpu_set_t bound, others;
    if (sched_getaffinity(0, sizeof(bound), &bound) == 0) {
        CPU_ZERO(&others);
        for (int c = 0; c < CPU_SETSIZE; ++c)
            if (!CPU_ISSET(c, &bound))
                CPU_SET(c, &others);
        // EINVAL when none of the others is online and allowed: it stays.
        own = sched_setaffinity(0, sizeof(others), &others) == 0;
    }
    // Named once placed, so that tools (and tests) that find it see where.
    pthread_setname_np(pthread_self(), "ve-dma");
    placed.set_value(own);
    std::unique_lock lock(queue_mutex_);
    for (;;) {
        // Spinning only pays on CPUs of its own: beside the poster it would
        // take the poster's time.
        if (own && queue_.empty() && !stopping_) {
            spinning_.store(true, std::memory_order_release);
            lock.unlock();
            auto until = std::chrono::steady_clock::now() + kSpin;
            while (queued_.load(std::memory_order_acquire) == 0 &&
                   std::chrono::steady_clock::now() < until)
                _mm_pause();
            lock.lock();
            spinning_.store(false, std::memory_order_release);
        }
        queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty())
            return; // stopping, nothing left
        int i = queue_.front();
        queue_.pop_front();
        queued_.fetch_sub(1, std::memory_order_relaxed);
        lock.unlock();
        execute(ring_[i]);
        lock.lock();
    }
}

int DmaEngine::post(uint64_t dst, uint64_t src, int size, ve_dma_handle_t *handle) {
    if (handle == nullptr)
        return -EFAULT;
    int index = -1;
    bool inline_copy = size <= kInlineMax;
    if (!inline_copy) {
        std::call_once(engine_started_, [this] { start_engine_thread(); });
        inline_copy = !own_cpus_ && size <= kSharedInlineMax;
    }
    int rc = claim(dst, src, size, inline_copy, &index);
    if (rc == 0) {
        handle->index = index;
        handle->status = 0;
    }
    return rc;
}

int DmaEngine::poll(ve_dma_handle_t *handle) {
    if (handle == nullptr)
        return -EFAULT;
    if (handle->index < 0 || (uint32_t)handle->index >= count_)
        return -EINVAL;
    Descriptor &d = ring_[handle->index];
    uint32_t s = d.state.load(std::memory_order_acquire);
    if (s == kQueued && execute(d))
        s = kDone;
    if (s == kQueued || s == kClaimed || s == kRunning)
        return -EAGAIN;
    if (s == kFree)
        return -EINVAL; // nothing posted on it, or its result was already taken
    int status = d.status;
    d.state.store(kFree, std::memory_order_release);
    handle->status = status;
    return status;
}

int DmaEngine::post_wait(uint64_t dst, uint64_t src, int size) {
    int index = -1;
    int rc = claim(dst, src, size, true, &index);
    if (rc != 0)
        return rc;
    ve_dma_handle_t h{0, index};
    return poll(&h);
}

} // namespace veo::emu
