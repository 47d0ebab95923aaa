#include "lib/proc/proc.hpp"

#include "sys/config.hpp"
#include "sys/log.hpp"
#include "sys/unix_socket.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <mutex>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <string>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace veo::emu {

namespace {

std::mutex table_mutex;
std::array<std::atomic<VeProc *>, 16> table{};

int take_ident() {
    for (int i = 0; i < (int)table.size(); ++i)
        if (table[i].load() == nullptr)
            return i;
    return -1;
}

bool executable(const std::string &path) {
    return !path.empty() && access(path.c_str(), X_OK) == 0;
}

// Where the helper binary is: given, VEORUN_BIN, beside the installed
// library, the configured install path, or the build tree.
std::string find_veorun(const char *given) {
    if (given != nullptr)
        return given;
    if (const char *env = veorun_path_from_environment())
        return env;
    Dl_info info{};
    if (dladdr((void *)&find_veorun, &info) && info.dli_fname) {
        std::string lib = info.dli_fname;
        std::string dir = lib.substr(0, lib.find_last_of('/') + 1);
        std::string candidate = dir + VEORUN_RELATIVE_PATH;
        if (executable(candidate))
            return candidate;
    }
    if (executable(VEORUN_INSTALL_PATH))
        return VEORUN_INSTALL_PATH;
    return VEORUN_BUILD_PATH;
}

// Moves fd above the range the child's fixed descriptors use.
int high_fd(int fd) {
    if (fd > 5)
        return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    close(fd);
    return moved;
}

void close_in_child();
std::once_flag atfork_once;

} // namespace

VeProc::VeProc(int ident, int node, pid_t pid, int control_fd, int memfd, MappingRef memory,
               MappingRef stats)
    : ident_(ident), node_(node), pid_(pid), memfd_(memfd), memory_(std::move(memory)),
      stats_mapping_(std::move(stats)),
      stats_(reinterpret_cast<ProcStats *>(stats_mapping_->data())), control_(control_fd),
      allocator_(kVemvaBase, memory_->size()),
      attach_space_(kAttachBase, kAttachLimit - kAttachBase),
      dmaatb_(config().dmaatb_entries, config().page_size),
      dma_(dmaatb_, config().dma_descriptors) {}

VeProc *VeProc::create(int node, const char *veorun_path) {
    const PlatformConfig &cfg = config();
    if (node < 0 || node >= cfg.nodes) {
        VEO_LOG(debug, "veo_proc_create: no VE node %d (VESHM_NODES=%d)", node, cfg.nodes);
        errno = EINVAL;
        return nullptr;
    }
    std::call_once(atfork_once, [] { pthread_atfork(nullptr, nullptr, close_in_child); });
    std::lock_guard lock(table_mutex);
    int ident = take_ident();
    if (ident < 0) {
        VEO_LOG(debug, "veo_proc_create: all %zu process identifiers in use", table.size());
        errno = EMFILE;
        return nullptr;
    }
    std::string path = find_veorun(veorun_path);
    int memfd = high_fd(memfd_create("ve-memory", MFD_CLOEXEC));
    int sv[2] = {-1, -1};
    if (memfd < 0 || ftruncate(memfd, (off_t)cfg.memory_size) < 0 ||
        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        int err = errno;
        close_fd(memfd);
        errno = err;
        return nullptr;
    }
    sv[0] = high_fd(sv[0]);
    sv[1] = high_fd(sv[1]);
    int statsfd = high_fd(memfd_create("ve-stats", MFD_CLOEXEC));
    void *stats = MAP_FAILED;
    if (statsfd >= 0 && ftruncate(statsfd, kProcStatsSize) == 0)
        stats = mmap(nullptr, kProcStatsSize, PROT_READ | PROT_WRITE, MAP_SHARED, statsfd, 0);
    if (stats == MAP_FAILED) {
        int err = errno;
        close_fd(statsfd);
        close(sv[0]);
        close(sv[1]);
        close(memfd);
        errno = err;
        return nullptr;
    }
    auto stats_mapping = std::make_shared<Mapping>(stats, kProcStatsSize);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 3);
    posix_spawn_file_actions_adddup2(&fa, memfd, 4);
    posix_spawn_file_actions_adddup2(&fa, statsfd, 5);
    // Nothing else of the VH: descriptors it opened without O_CLOEXEC would
    // otherwise live on in the VE process (and keep pipes and files open).
    posix_spawn_file_actions_addclosefrom_np(&fa, 6);
    std::string node_arg = std::to_string(node), vh_arg = std::to_string(getpid());
    char *argv[] = {const_cast<char *>(path.c_str()), node_arg.data(), vh_arg.data(), nullptr};
    pid_t pid = -1;
    int rc = posix_spawn(&pid, path.c_str(), &fa, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(sv[1]);
    close(statsfd);
    if (rc != 0) {
        VEO_LOG(error, "cannot start VE process helper %s: %s", path.c_str(), strerror(rc));
        close(sv[0]);
        close(memfd);
        errno = rc == ENOENT ? ENOENT : rc;
        return nullptr;
    }

    // A helper that did not come up is ended and reaped; errno says why.
    auto abandon = [&](int err) -> VeProc * {
        close(sv[0]);
        close(memfd);
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        errno = err;
        return nullptr;
    };
    StartupReport report{0, EIO};
    pollfd pfd{sv[0], POLLIN, 0};
    if (::poll(&pfd, 1, 30000) != 1 ||
        recv_message(sv[0], &report, sizeof report) != (ssize_t)sizeof report ||
        report.magic != kControlMagic || report.error != 0) {
        int err = report.error ? report.error : EIO;
        VEO_LOG(error, "VE process helper %s did not start: %s", path.c_str(), strerror(err));
        return abandon(err);
    }
    void *mem = mmap(nullptr, cfg.memory_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                     memfd, 0);
    if (mem == MAP_FAILED)
        return abandon(errno);
    auto *p = new VeProc(ident, node, pid, sv[0], memfd,
                         std::make_shared<Mapping>(mem, cfg.memory_size), std::move(stats_mapping));
    p->publish_stats();
    table[ident].store(p);
    VEO_LOG(info, "VE process %d (pid %d) started on node %d", ident, (int)pid, node);
    return p;
}

VeProc::~VeProc() {
    {
        std::lock_guard lock(table_mutex);
        if (ident_ >= 0 && table[ident_].load() == this)
            table[ident_].store(nullptr);
    }
    std::unique_lock lock(attach_mutex_);
    attachments_.clear();
    aliases_.clear();
    lock.unlock();
    control_.shutdown();
    // The helper exits on the hang-up; the kill makes teardown independent of
    // whatever VE code it may be running.
    kill(pid_, SIGKILL);
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    close(memfd_);
}

void VeProc::forget_after_fork() {
    control_.shutdown();
    table[ident_].store(nullptr);
}

namespace {
void close_in_child() {
    // A forked child shares nothing with its parent's VE processes: drop the
    // descriptors so they end when the parent ends. The objects are left.
    for (auto &slot : table) {
        VeProc *p = slot.load();
        if (p != nullptr)
            p->forget_after_fork();
    }
}
} // namespace

uint8_t *VeProc::translate(uint64_t vemva, uint64_t len, MappingRef *keep, bool write) const {
    uint64_t size = memory_->size();
    if (vemva >= kVemvaBase && vemva - kVemvaBase < size && len <= size - (vemva - kVemvaBase))
        return memory_->data() + (vemva - kVemvaBase);
    if (vemva < kAttachBase || vemva >= kAttachLimit)
        return nullptr;
    std::shared_lock lock(attach_mutex_);
    auto it = attachments_.upper_bound(vemva);
    if (it == attachments_.begin())
        return nullptr;
    --it;
    if (vemva + len < vemva || vemva + len > it->first + it->second.size)
        return nullptr;
    if (write && it->second.read_only)
        return nullptr; // its pages are mapped read-only: a store would crash the VH
    if (keep)
        *keep = it->second.mapping;
    return it->second.mapping->data() + (vemva - it->first);
}

uint8_t *VeProc::access(uint64_t vemva, uint64_t len, MappingRef *keep, bool write) const {
    uint64_t start, size;
    if (vemva >= kVemvaBase && vemva < kVemvaBase + memory_->size() &&
        !allocator_.find(vemva, len, &start, &size))
        return nullptr;
    return translate(vemva, len, keep, write);
}

uint64_t VeProc::vemva_of(const void *host) const {
    auto *h = static_cast<const uint8_t *>(host);
    if (h >= memory_->data() && h < memory_->data() + memory_->size())
        return kVemvaBase + (uint64_t)(h - memory_->data());
    std::shared_lock lock(attach_mutex_);
    auto alias = aliases_.upper_bound((uintptr_t)h);
    if (alias != aliases_.begin()) {
        --alias;
        const Mapping &m = *alias->second.mapping;
        if (h >= m.data() && h < m.data() + m.size())
            return alias->second.vemva + (uint64_t)(h - m.data());
    }
    for (const auto &[vemva, a] : attachments_)
        if (h >= a.mapping->data() && h < a.mapping->data() + a.size)
            return vemva + (uint64_t)(h - a.mapping->data());
    return 0;
}

void VeProc::insert_vemva_attachment(uint64_t vemva, VemvaAttachment a) {
    std::unique_lock lock(attach_mutex_);
    attachments_[vemva] = std::move(a);
}

bool VeProc::remove_vemva_attachment(uint64_t vemva, VemvaAttachment *out) {
    std::unique_lock lock(attach_mutex_);
    auto it = attachments_.find(vemva);
    if (it == attachments_.end())
        return false;
    *out = std::move(it->second);
    attachments_.erase(it);
    return true;
}

uint8_t *VeProc::map_alias(uint64_t vemva, uint64_t size, void *host_addr, bool fixed) {
    uint64_t off = vemva - kVemvaBase;
    if (vemva < kVemvaBase || off >= memory_->size() || size > memory_->size() - off ||
        (off & 4095) || ((uintptr_t)host_addr & 4095)) {
        errno = EINVAL;
        return nullptr;
    }
    void *addr = mmap(host_addr, size, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_NORESERVE | (fixed ? MAP_FIXED : 0), memfd_, (off_t)off);
    if (addr == MAP_FAILED) {
        errno = ENOMEM;
        return nullptr;
    }
    std::unique_lock lock(attach_mutex_);
    aliases_[(uintptr_t)addr] = Alias{vemva, std::make_shared<Mapping>(addr, size)};
    return static_cast<uint8_t *>(addr);
}

bool VeProc::unmap_alias(const void *host_addr) {
    std::unique_lock lock(attach_mutex_);
    return aliases_.erase((uintptr_t)host_addr) == 1;
}

void VeProc::discard(uint64_t vemva, uint64_t len) {
    // Only whole host pages can be given back; small blocks are not worth it.
    const uint64_t page = 4096;
    if (len < (1 << 20))
        return;
    uint64_t off = vemva - kVemvaBase;
    uint64_t start = (off + page - 1) & ~(page - 1), end = (off + len) & ~(page - 1);
    if (end > start)
        fallocate(memfd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)start,
                  (off_t)(end - start));
}

uint64_t VeProc::map_dma(DmaatbEntry entry) {
    uint64_t vehva = dmaatb_.insert(std::move(entry));
    if (vehva != 0)
        publish_stats();
    return vehva;
}

bool VeProc::unmap_dma(uint64_t vehva, DmaatbKind kind, DmaatbEntry *out) {
    if (!dmaatb_.remove(vehva, kind, out))
        return false;
    publish_stats();
    return true;
}

bool VeProc::unmap_dma_host(const void *host, DmaatbKind kind, DmaatbEntry *out) {
    if (!dmaatb_.remove_host(host, kind, out))
        return false;
    publish_stats();
    return true;
}

void VeProc::publish_stats() {
    stats_->memory_allocated.store(allocator_.bytes_in_use(), std::memory_order_relaxed);
    stats_->dmaatb_pages.store(dmaatb_.pages_used(), std::memory_order_relaxed);
    stats_->dmaatb_capacity.store(dmaatb_.capacity(), std::memory_order_relaxed);
    std::shared_lock lock(attach_mutex_);
    stats_->vemva_attachments.store((uint32_t)attachments_.size(), std::memory_order_relaxed);
    stats_->vehva_attachments.store(dmaatb_.remote_entries(), std::memory_order_relaxed);
}

int VeProc::set_swapped(bool swapped) {
    uint32_t v = swapped ? 1 : 0;
    int error = 0;
    if (control_.call(ControlType::set_swapped, &v, sizeof v, &error, nullptr) < 0)
        return EBUSY;
    return error;
}

VeProc *VeProc::by_ident(int ident) {
    if (ident < 0 || ident >= (int)table.size())
        return nullptr;
    return table[ident].load(std::memory_order_acquire);
}

bool VeProc::is_live(const VeProc *p) {
    for (auto &slot : table)
        if (slot.load(std::memory_order_acquire) == p)
            return true;
    return false;
}

VeProc *VeProc::first_on_node(int node) {
    for (auto &slot : table) {
        VeProc *p = slot.load();
        if (p != nullptr && p->node() == node)
            return p;
    }
    return nullptr;
}

} // namespace veo::emu
