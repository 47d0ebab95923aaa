// The DMAATB of a VE process: its VEHVA space. Each entry maps a VEHVA range
// to host memory that this VH process already has mapped, so translating a
// DMA address is a lookup, never a system call.
#pragma once

#include <cstdint>
#include <map>
#include <shared_mutex>
#include <vector>

#include "lib/memory/mapping.hpp"
#include "lib/veshm/veshm_attacher.hpp"
#include "lib/memory/vemva_allocator.hpp"

namespace veo::emu {

// What an entry maps: a VESHM attachment of another process's area, the
// process's own VE memory (VE_MEM_LOCAL), memory of this VH process
// (veo_emu_register_vh_mem), or a System V segment attached in this VH
// process by veo_shmat.
enum class DmaatbKind { attachment, local, vh, vh_shm };

struct DmaatbEntry {
    uint64_t vehva = 0;
    uint64_t size = 0;
    uint8_t *host = nullptr; // where vehva lies in this process
    bool writable = false;
    DmaatbKind kind = DmaatbKind::attachment;
    uint32_t pages = 0; // DMAATB entries it takes
    MappingRef mapping; // keeps the host memory mapped while the entry or a copy needs it
    std::shared_ptr<AttachToken> attachment; // the owner's count of it; released = detached

    // One constructor per kind, so no caller assembles an entry by hand.
    // Own VE memory (VE_MEM_LOCAL), held mapped by the process's mapping.
    static DmaatbEntry local(uint8_t *host, uint64_t size, MappingRef memory);
    // Another process's VESHM area, mapped here; the token is the owner's count.
    static DmaatbEntry remote(uint8_t *host, uint64_t size, bool writable, MappingRef mapping,
                              std::shared_ptr<AttachToken> token);
    // Memory of this VH process (veo_emu_register_vh_mem): page-aligned range.
    static DmaatbEntry vh_memory(uint8_t *host, uint64_t size);
    // A System V segment attached here by veo_shmat; mapping detaches it.
    static DmaatbEntry vh_segment(uint8_t *host, uint64_t size, bool writable, MappingRef mapping);
};

class Dmaatb {
  public:
    Dmaatb(uint32_t capacity_pages, uint64_t page_size);
    ~Dmaatb();

    // Inserts an entry (vehva is chosen here); the VEHVA, or 0 when the
    // DMAATB has no room (ENOMEM).
    uint64_t insert(DmaatbEntry entry);
    // Removes the entry of that kind starting at vehva (for kind vh: holding
    // vehva, whose registration may start inside a page); false if none.
    bool remove(uint64_t vehva, DmaatbKind kind, DmaatbEntry *out);
    // Removes the entry of that kind whose host memory starts at host (what
    // veo_shmdt is given); false if none.
    bool remove_host(const void *host, DmaatbKind kind, DmaatbEntry *out);
    // Translates [vehva, vehva+len) for reading or writing. Returns 0 with
    // *host (and *keep, if asked) set, or the DMA exception bits.
    int translate(uint64_t vehva, uint64_t len, bool write, uint8_t **host,
                  MappingRef *keep = nullptr) const;
    uint32_t pages_used() const;
    uint32_t capacity() const { return capacity_; }
    // Entries that are attachments of other processes' areas.
    uint32_t remote_entries() const;
    // Takes every entry out (process teardown).
    std::vector<DmaatbEntry> drain();

  private:
    // Takes the entry at it out, under mutex_.
    void take(std::map<uint64_t, DmaatbEntry>::iterator it, DmaatbEntry *out);

    mutable std::shared_mutex mutex_;
    std::map<uint64_t, DmaatbEntry> entries_;
    VemvaAllocator space_;
    uint32_t capacity_;
    uint64_t page_size_;
    uint32_t used_ = 0;
};

} // namespace veo::emu
