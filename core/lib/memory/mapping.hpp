// A host mapping of VE memory, shared by whoever may still touch it: a DMA
// descriptor in flight keeps the mapping of the area it copies alive, so a
// concurrent detach can never pull the pages from under a copy. A System V
// segment attached for VE DMA (veo_shmat) is such a mapping too; it ends with
// shmdt, which also lowers the segment's attach count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <sys/mman.h>
#include <sys/shm.h>

namespace veo::emu {

class Mapping {
  public:
    enum class Release { munmap, shmdt };
    Mapping(void *addr, size_t len, Release release = Release::munmap)
        : addr_(static_cast<uint8_t *>(addr)), len_(len), release_(release) {}
    ~Mapping() {
        if (release_ == Release::shmdt)
            shmdt(addr_);
        else
            munmap(addr_, len_);
    }
    Mapping(const Mapping &) = delete;
    Mapping &operator=(const Mapping &) = delete;
    uint8_t *data() const { return addr_; }
    size_t size() const { return len_; }

  private:
    uint8_t *addr_;
    size_t len_;
    Release release_;
};

using MappingRef = std::shared_ptr<Mapping>;

} // namespace veo::emu
