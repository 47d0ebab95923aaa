// A VE process as its VH sees it: the helper process that is the VE process,
// its memory mapped here too, its VEMVA attachments, its DMAATB and DMA engine.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <sys/types.h>

#include "wire/proc_stats.hpp"
#include "lib/proc/control_channel.hpp"
#include "lib/dma/dma_engine.hpp"
#include "lib/dma/dmaatb.hpp"
#include "lib/memory/mapping.hpp"
#include "lib/memory/vemva_allocator.hpp"
#include "lib/veshm/veshm_attacher.hpp"

struct veo_proc_handle; // the C handle is a VeProc

namespace veo::emu {

class ExecState;

struct VemvaAttachment {
    uint64_t size = 0;
    MappingRef mapping;                      // where this VH reaches the area
    std::shared_ptr<AttachToken> attachment; // the owner's count of it; released = detached
    bool read_only = false;                  // a VE_SHM_RO area: mapped without PROT_WRITE
};

class VeProc {
  public:
    // Starts a VE process on node (veorun_path: helper binary, null = default).
    // nullptr with errno set on failure.
    static VeProc *create(int node, const char *veorun_path);
    ~VeProc(); // ends the VE process and waits for it

    int ident() const { return ident_; }
    int node() const { return node_; }
    pid_t pid() const { return pid_; }
    bool alive() const { return !control_.broken(); }
    uint64_t memory_size() const { return memory_->size(); }
    uint8_t *memory() const { return memory_->data(); }
    const MappingRef &memory_mapping() const { return memory_; }

    // Host pointer for [vemva, vemva+len) of this VE process's memory or of an
    // area it attached with VE_REGISTER_VEMVA; nullptr if not all of it is mapped.
    // keep (if given) holds an attachment's mapping for as long as the caller
    // copies, so a concurrent detach cannot pull the pages away. write: the
    // caller stores there, so a read-only attachment does not qualify.
    uint8_t *translate(uint64_t vemva, uint64_t len, MappingRef *keep = nullptr,
                       bool write = false) const;
    // As translate(), but own memory must lie inside one allocated block:
    // what the memory API may touch.
    uint8_t *access(uint64_t vemva, uint64_t len, MappingRef *keep = nullptr,
                    bool write = false) const;
    // Inverse for own memory and VEMVA attachments; 0 if host is neither.
    uint64_t vemva_of(const void *host) const;

    VemvaAllocator &allocator() { return allocator_; }
    Dmaatb &dmaatb() { return dmaatb_; }
    DmaEngine &dma() { return dma_; }
    ControlChannel &control() { return control_; }

    // VEMVA attachments: reserve an address, then insert once mapped.
    uint64_t reserve_vemva_range(uint64_t size, uint64_t align) {
        return attach_space_.allocate(size, align);
    }
    void release_vemva_range(uint64_t vemva) { attach_space_.release(vemva); }
    void insert_vemva_attachment(uint64_t vemva, VemvaAttachment a);
    bool remove_vemva_attachment(uint64_t vemva, VemvaAttachment *out);

    // Second host mappings of own VE memory (veo_emu_map_hmem).
    uint8_t *map_alias(uint64_t vemva, uint64_t size, void *host_addr, bool fixed);
    bool unmap_alias(const void *host_addr);

    // Gives back the host pages of [vemva, vemva+len) (a freed block).
    void discard(uint64_t vemva, uint64_t len);
    // DMAATB entries, keeping the counters veshm-info shows up to date: the
    // VEHVA (0 when the DMAATB is full), or whether an entry was taken out.
    uint64_t map_dma(DmaatbEntry entry);
    bool unmap_dma(uint64_t vehva, DmaatbKind kind, DmaatbEntry *out);
    bool unmap_dma_host(const void *host, DmaatbKind kind, DmaatbEntry *out);
    // Refreshes the counters the VE process reports to veshm-info.
    void publish_stats();
    ProcStats &stats() { return *stats_; }
    // Emulated partial process swapping (attach of our areas answers EAGAIN).
    int set_swapped(bool swapped);
    // Closes the control socket without ending the VE process: for a forked
    // child, which must not keep its parent's VE processes alive.
    void forget_after_fork();

    // Slots of the HMEM process identifier: 0..15.
    static VeProc *by_ident(int ident);
    static VeProc *first_on_node(int node);
    // p is in the table of live VE processes (compared, never dereferenced).
    static bool is_live(const VeProc *p);

    // VE code execution (contexts, symbols): created on first use, ended by
    // exec_teardown() before the process is deleted (exec_state.hpp).
    std::atomic<ExecState *> exec{nullptr};

  private:
    VeProc(int ident, int node, pid_t pid, int control_fd, int memfd, MappingRef memory,
           MappingRef stats);

    int ident_ = -1;
    int node_;
    pid_t pid_;
    int memfd_;
    MappingRef memory_;
    MappingRef stats_mapping_;
    ProcStats *stats_;
    ControlChannel control_;
    VemvaAllocator allocator_;
    VemvaAllocator attach_space_;
    mutable std::shared_mutex attach_mutex_;
    std::map<uint64_t, VemvaAttachment> attachments_;
    struct Alias {
        uint64_t vemva;
        MappingRef mapping;
    };
    std::map<uintptr_t, Alias> aliases_; // by host address, under attach_mutex_
    Dmaatb dmaatb_;
    DmaEngine dma_;
};

// True if h is a VE process of this VH that is not destroyed: garbage and
// destroyed handles get the API's error value, not undefined behaviour. (A
// handle destroyed by one thread while another still uses it is the caller's
// race, as in AVEO.)
inline bool live_handle(veo_proc_handle *h) {
    return h != nullptr && VeProc::is_live(reinterpret_cast<const VeProc *>(h));
}

inline VeProc *from_handle(veo_proc_handle *h) {
    return reinterpret_cast<VeProc *>(h);
}
inline veo_proc_handle *to_handle(VeProc *p) {
    return reinterpret_cast<veo_proc_handle *>(p);
}

} // namespace veo::emu
