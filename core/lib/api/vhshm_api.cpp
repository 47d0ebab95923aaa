// VH System V shared memory for VE DMA (veo_vhveshm.h). On a real VH the VE
// OS attaches the segment and enters its pages into the VE process's DMAATB.
// Here the DMA engine runs in this VH process, so the segment is attached
// here and its host address goes into the DMAATB, as veo_emu_register_vh_mem
// does for other VH memory; the DMAATB entry holds the attachment, so a
// transfer still running keeps the pages, and veo_proc_destroy detaches
// whatever the caller left attached.
#include "lib/api/api.hpp"
#include "sys/config.hpp"
#include "sys/log.hpp"
#include "lib/proc/proc.hpp"

#include "veo_vhveshm.h"

#include <cerrno>
#include <cstring>
#include <mutex>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unordered_set>

using namespace veo::emu;

namespace {

// The process of a handle the caller gave; nullptr for a NULL, destroyed or
// garbage handle.
VeProc *proc_of(veo_proc_handle *h) {
    return live_handle(h) ? from_handle(h) : nullptr;
}

// Identifiers veo_shmget returned: when shmat(2) no longer knows one, its
// segment was removed (EIDRM), where an identifier never seen is just
// invalid (EINVAL). System V identifiers carry a sequence number, so a
// removed one does not come back for another segment soon.
std::mutex issued_mutex;
std::unordered_set<int> issued_ids;

void remember_issued(int shmid) {
    std::lock_guard lock(issued_mutex);
    issued_ids.insert(shmid);
}

bool was_issued(int shmid) {
    std::lock_guard lock(issued_mutex);
    return issued_ids.count(shmid) != 0;
}

constexpr uint64_t kHostPage = 4096;

} // namespace

VEO_API int veo_shmget(veo_proc_handle *h, key_t key, size_t size, int shmflag) {
    return api_guard<int>("veo_shmget", -1, [&]() -> int {
        const char *fn = "veo_shmget";
        VeProc *p = proc_of(h);
        if (p == nullptr)
            return fail(EINVAL, fn, "NULL, destroyed or garbage process handle");
        // The segment must exist already: the VE side only looks segments up.
        if (!(shmflag & SHM_HUGETLB) || (shmflag & (IPC_CREAT | IPC_EXCL | SHM_NORESERVE)))
            return fail(EINVAL, fn,
                        "shmflag needs SHM_HUGETLB, without IPC_CREAT/IPC_EXCL/SHM_NORESERVE");
        if (key == IPC_PRIVATE)
            return fail(EINVAL, fn, "key IPC_PRIVATE names no existing segment");
        if (!p->alive())
            return fail(EBUSY, fn, "the VE process is gone");
        // Only the permission bits matter for a lookup; the kernel answers
        // EINVAL (size larger than the segment), EACCES and ENOENT.
        int shmid = shmget(key, size, shmflag & 0777);
        if (shmid < 0)
            return fail(errno, fn, "shmget refused the lookup");
        remember_issued(shmid);
        return shmid;
    });
}

VEO_API void *veo_shmat(veo_proc_handle *h, int shmid, const void *shmaddr, int shmflag,
                        void **vehva) {
    return api_guard<void *>("veo_shmat", (void *)-1, [&]() -> void * {
        const char *fn = "veo_shmat";
        if (vehva == nullptr)
            return fail_ptr(EFAULT, fn, "NULL vehva");
        VeProc *p = proc_of(h);
        if (p == nullptr)
            return fail_ptr(EINVAL, fn, "NULL process handle");
        if (shmaddr != nullptr)
            return fail_ptr(EINVAL, fn, "shmaddr must be NULL (the VE OS picks the address)");
        if (shmflag & (SHM_EXEC | SHM_REMAP | SHM_RND))
            return fail_ptr(EINVAL, fn, "SHM_EXEC, SHM_REMAP and SHM_RND are not allowed");
        if (!config().veshm_enabled)
            return fail_ptr(ENOTSUP, fn, "no IVED (VESHM_IVED=off)");
        if (!p->alive())
            return fail_ptr(EBUSY, fn, "the VE process is gone");

        void *addr = shmat(shmid, nullptr, shmflag & SHM_RDONLY);
        if (addr == (void *)-1) {
            int err = errno;
            if (err == EINVAL && was_issued(shmid))
                return fail_ptr(EIDRM, fn, "the segment of this identifier was removed");
            return fail_ptr(err, fn, "shmat refused the segment");
        }
        shmid_ds ds{};
        if (shmctl(shmid, IPC_STAT, &ds) != 0 || ds.shm_segsz == 0) {
            shmdt(addr);
            return fail_ptr(ECANCELED, fn, "the segment's size cannot be read");
        }
        uint64_t size = (ds.shm_segsz + kHostPage - 1) & ~(kHostPage - 1);
        // From here the mapping detaches the segment when its last holder (the
        // entry, a transfer in flight) lets go.
        uint64_t v = p->map_dma(DmaatbEntry::vh_segment(
            static_cast<uint8_t *>(addr), size, !(shmflag & SHM_RDONLY),
            std::make_shared<Mapping>(addr, size, Mapping::Release::shmdt)));
        if (v == 0) // the refused entry took the attachment with it
            return fail_ptr(ENOMEM, fn, "DMAATB full");
        *vehva = (void *)v;
        return addr;
    });
}

VEO_API int veo_shmdt(veo_proc_handle *h, const void *shmaddr) {
    return api_guard<int>("veo_shmdt", -1, [&]() -> int {
        const char *fn = "veo_shmdt";
        VeProc *p = proc_of(h);
        if (p == nullptr)
            return fail(EINVAL, fn, "NULL, destroyed or garbage process handle");
        if (!p->alive())
            return fail(EBUSY, fn, "the VE process is gone");
        DmaatbEntry e;
        if (!p->unmap_dma_host(shmaddr, DmaatbKind::vh_shm, &e))
            return fail(EINVAL, fn, "no veo_shmat attachment of this process at shmaddr");
        return 0; // e's mapping detaches the segment, or the last transfer on it does
    });
}
