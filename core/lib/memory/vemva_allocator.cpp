#include "lib/memory/vemva_allocator.hpp"

namespace veo::emu {

VemvaAllocator::VemvaAllocator(uint64_t base, uint64_t size) {
    free_[base] = size;
}

uint64_t VemvaAllocator::allocate(uint64_t size, uint64_t alignment) {
    if (size == 0 || alignment == 0 || (alignment & (alignment - 1)) != 0)
        return 0;
    std::lock_guard lock(mutex_);
    for (auto it = free_.begin(); it != free_.end(); ++it) {
        uint64_t start = it->first, len = it->second;
        uint64_t aligned = (start + alignment - 1) & ~(alignment - 1);
        if (aligned < start || aligned - start > len || len - (aligned - start) < size)
            continue;
        free_.erase(it);
        if (aligned > start)
            free_[start] = aligned - start;
        uint64_t tail = start + len - (aligned + size);
        if (tail > 0)
            free_[aligned + size] = tail;
        used_[aligned] = size;
        in_use_ += size;
        return aligned;
    }
    return 0;
}

uint64_t VemvaAllocator::release(uint64_t addr) {
    std::lock_guard lock(mutex_);
    auto it = used_.find(addr);
    if (it == used_.end())
        return 0;
    uint64_t size = it->second;
    used_.erase(it);
    in_use_ -= size;
    uint64_t start = addr, len = size;
    auto next = free_.lower_bound(addr);
    if (next != free_.end() && next->first == addr + size) {
        len += next->second;
        next = free_.erase(next);
    }
    if (next != free_.begin()) {
        auto prev = std::prev(next);
        if (prev->first + prev->second == addr) {
            start = prev->first;
            len += prev->second;
            free_.erase(prev);
        }
    }
    free_[start] = len;
    return size;
}

bool VemvaAllocator::find(uint64_t addr, uint64_t len, uint64_t *block_start,
                          uint64_t *block_size) const {
    std::lock_guard lock(mutex_);
    auto it = used_.upper_bound(addr);
    if (it == used_.begin())
        return false;
    --it;
    if (addr + len < addr || addr + len > it->first + it->second)
        return false;
    *block_start = it->first;
    *block_size = it->second;
    return true;
}

bool VemvaAllocator::pages_in_use(uint64_t addr, uint64_t len, uint64_t page) const {
    if (len == 0 || addr + len < addr)
        return false;
    std::lock_guard lock(mutex_);
    for (uint64_t p = addr & ~(page - 1); p < addr + len; p += page) {
        // The last block starting below the page's end overlaps it if it ends past its start.
        auto it = used_.lower_bound(p + page);
        if (it == used_.begin())
            return false;
        --it;
        if (it->first + it->second <= p)
            return false;
    }
    return true;
}

uint64_t VemvaAllocator::bytes_in_use() const {
    std::lock_guard lock(mutex_);
    return in_use_;
}

} // namespace veo::emu
