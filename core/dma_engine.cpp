#include "dma_engine.hpp"

#include <cerrno>
#include <cstring>
#include <immintrin.h>

namespace veo::emu {

namespace {
constexpr int kMaxTransfer = 128 << 20; // exclusive

void copy(uint8_t *dst, const uint8_t *src, size_t size) {
    // Source and destination may be the same area: overlap needs memmove.
    if (dst < src + size && src < dst + size)
        memmove(dst, src, size);
    else
        memcpy(dst, src, size);
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
        if (!worker_.joinable())
            worker_ = std::thread([this] { run_worker(); });
        queue_.push_back((int)i);
    }
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

void DmaEngine::run_worker() {
    std::unique_lock lock(queue_mutex_);
    for (;;) {
        queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty())
            return; // stopping, nothing left
        int i = queue_.front();
        queue_.pop_front();
        lock.unlock();
        execute(ring_[i]);
        lock.lock();
    }
}

int DmaEngine::post(uint64_t dst, uint64_t src, int size, ve_dma_handle_t *handle) {
    if (handle == nullptr)
        return -EFAULT;
    int index = -1;
    int rc = claim(dst, src, size, size <= kInlineMax, &index);
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
