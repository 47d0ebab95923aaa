// First-fit allocator of a VE process's virtual address range. Free ranges
// are kept coalesced, so fragmentation stays bounded by what is in use.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>

namespace veo::emu {

class VemvaAllocator {
  public:
    VemvaAllocator(uint64_t base, uint64_t size);
    // 0 when nothing fits. alignment must be a power of two.
    uint64_t allocate(uint64_t size, uint64_t alignment);
    // Size of the block that starts at addr, 0 if none does.
    uint64_t release(uint64_t addr);
    // Size of the allocated block containing [addr, addr+len), with its start.
    bool find(uint64_t addr, uint64_t len, uint64_t *block_start, uint64_t *block_size) const;
    // True if every page-sized granule of [addr, addr+len) overlaps an
    // allocated block: what a VE process has mapped, since VE memory is
    // mapped a whole page at a time however little of it malloc handed out.
    bool pages_in_use(uint64_t addr, uint64_t len, uint64_t page) const;
    uint64_t bytes_in_use() const;

  private:
    mutable std::mutex mutex_;
    std::map<uint64_t, uint64_t> free_; // start -> size
    std::map<uint64_t, uint64_t> used_; // start -> size
    uint64_t in_use_ = 0;
};

} // namespace veo::emu
