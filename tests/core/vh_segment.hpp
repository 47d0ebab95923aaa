// A System V shared memory segment on the VH for one test, with the test's
// own view of it, so data moved by VE DMA can be checked from the host side.
// Removed (and the view detached) when the object ends.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

namespace veshm_test {

class VhSegment {
  public:
    // size bytes with permission bits mode, under a key no other segment has.
    explicit VhSegment(size_t size, int mode = 0600) : size_(size) {
        for (int tries = 0; tries < 256 && id_ < 0; ++tries) {
            key_ = next_key();
            id_ = shmget(key_, size, IPC_CREAT | IPC_EXCL | mode);
            if (id_ < 0 && errno != EEXIST)
                return;
        }
        if (id_ < 0)
            return;
        void *v = shmat(id_, nullptr, (mode & 0200) ? 0 : SHM_RDONLY);
        view_ = v == (void *)-1 ? nullptr : static_cast<uint8_t *>(v);
    }
    ~VhSegment() { reset(); }
    VhSegment(const VhSegment &) = delete;
    VhSegment &operator=(const VhSegment &) = delete;

    bool ok() const { return id_ >= 0 && view_ != nullptr; }
    key_t key() const { return key_; }
    int id() const { return id_; }
    size_t size() const { return size_; }
    uint8_t *view() const { return view_; }

    // How many attachments the kernel counts (the test's view is one), -1 if
    // the segment is gone.
    int attach_count() const {
        shmid_ds ds{};
        return shmctl(id_, IPC_STAT, &ds) == 0 ? (int)ds.shm_nattch : -1;
    }
    // Marks the segment for removal: it ends with its last attachment.
    bool remove() {
        removed_ = removed_ || shmctl(id_, IPC_RMID, nullptr) == 0;
        return removed_;
    }
    // Removes the segment and detaches the view now.
    void reset() {
        if (id_ >= 0)
            remove();
        if (view_ != nullptr)
            shmdt(view_);
        view_ = nullptr;
    }

    // A key no segment has at the moment.
    static key_t unused_key() {
        for (;;) {
            key_t k = next_key();
            if (shmget(k, 0, 0) < 0 && errno == ENOENT)
                return k;
        }
    }

  private:
    // Keys of this process: its pid and a counter, so parallel tests differ.
    static key_t next_key() {
        static unsigned counter = 0;
        return (key_t)(0x40000000u | ((unsigned)getpid() & 0x3fffffu) << 7 | (counter++ & 0x7fu));
    }

    key_t key_ = IPC_PRIVATE;
    int id_ = -1;
    size_t size_;
    uint8_t *view_ = nullptr;
    bool removed_ = false;
};

} // namespace veshm_test
