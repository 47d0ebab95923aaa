#include "lib/dma/dmaatb.hpp"

#include "sys/config.hpp"
#include "veo_vedma.h"

#include <iterator>
#include <mutex>

namespace veo::emu {

namespace {
DmaatbEntry entry(DmaatbKind kind, uint8_t *host, uint64_t size, bool writable,
                  MappingRef mapping = nullptr) {
    DmaatbEntry e;
    e.kind = kind;
    e.host = host;
    e.size = size;
    e.writable = writable;
    e.mapping = std::move(mapping);
    return e;
}
} // namespace

DmaatbEntry DmaatbEntry::local(uint8_t *host, uint64_t size, MappingRef memory) {
    return entry(DmaatbKind::local, host, size, true, std::move(memory));
}

DmaatbEntry DmaatbEntry::remote(uint8_t *host, uint64_t size, bool writable, MappingRef mapping,
                                std::shared_ptr<AttachToken> token) {
    DmaatbEntry e = entry(DmaatbKind::attachment, host, size, writable, std::move(mapping));
    e.attachment = std::move(token);
    return e;
}

DmaatbEntry DmaatbEntry::vh_memory(uint8_t *host, uint64_t size) {
    return entry(DmaatbKind::vh, host, size, true);
}

DmaatbEntry DmaatbEntry::vh_segment(uint8_t *host, uint64_t size, bool writable,
                                    MappingRef mapping) {
    return entry(DmaatbKind::vh_shm, host, size, writable, std::move(mapping));
}

Dmaatb::Dmaatb(uint32_t capacity_pages, uint64_t page_size)
    : space_(kVehvaBase, kVehvaLimit - kVehvaBase), capacity_(capacity_pages),
      page_size_(page_size) {}

Dmaatb::~Dmaatb() = default;

uint64_t Dmaatb::insert(DmaatbEntry entry) {
    entry.pages = (uint32_t)((entry.size + page_size_ - 1) / page_size_);
    std::unique_lock lock(mutex_);
    if (used_ + entry.pages > capacity_)
        return 0;
    uint64_t vehva = space_.allocate((uint64_t)entry.pages * page_size_, page_size_);
    if (vehva == 0)
        return 0;
    used_ += entry.pages;
    entry.vehva = vehva;
    entries_.emplace(vehva, std::move(entry));
    return vehva;
}

bool Dmaatb::remove(uint64_t vehva, DmaatbKind kind, DmaatbEntry *out) {
    std::unique_lock lock(mutex_);
    auto it = entries_.find(vehva);
    if (it == entries_.end() && kind == DmaatbKind::vh) {
        it = entries_.upper_bound(vehva);
        if (it != entries_.begin() && vehva < std::prev(it)->first + std::prev(it)->second.size)
            --it;
        else
            it = entries_.end();
    }
    if (it == entries_.end() || it->second.kind != kind)
        return false;
    take(it, out);
    return true;
}

bool Dmaatb::remove_host(const void *host, DmaatbKind kind, DmaatbEntry *out) {
    std::unique_lock lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        if (it->second.kind == kind && it->second.host == host) {
            take(it, out);
            return true;
        }
    }
    return false;
}

void Dmaatb::take(std::map<uint64_t, DmaatbEntry>::iterator it, DmaatbEntry *out) {
    uint64_t vehva = it->first;
    *out = std::move(it->second);
    entries_.erase(it);
    used_ -= out->pages;
    space_.release(vehva);
}

int Dmaatb::translate(uint64_t vehva, uint64_t len, bool write, uint8_t **host,
                      MappingRef *keep) const {
    std::shared_lock lock(mutex_);
    auto it = entries_.upper_bound(vehva);
    if (it == entries_.begin())
        return VE_DMA_EXC_MISSING_SPACE;
    --it;
    const DmaatbEntry &e = it->second;
    if (vehva + len < vehva || vehva + len > e.vehva + e.size)
        return VE_DMA_EXC_MISSING_SPACE;
    if (write && !e.writable)
        return VE_DMA_EXC_PROTECTION;
    *host = e.host + (vehva - e.vehva);
    if (keep)
        *keep = e.mapping;
    return 0;
}

uint32_t Dmaatb::pages_used() const {
    std::shared_lock lock(mutex_);
    return used_;
}

uint32_t Dmaatb::remote_entries() const {
    std::shared_lock lock(mutex_);
    uint32_t n = 0;
    for (const auto &[vehva, e] : entries_)
        n += e.kind == DmaatbKind::attachment ? 1 : 0;
    return n;
}

std::vector<DmaatbEntry> Dmaatb::drain() {
    std::unique_lock lock(mutex_);
    std::vector<DmaatbEntry> out;
    for (auto &[vehva, e] : entries_) {
        space_.release(vehva);
        out.push_back(std::move(e));
    }
    entries_.clear();
    used_ = 0;
    return out;
}

} // namespace veo::emu
