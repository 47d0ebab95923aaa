// veorun: the emulated VE process. Started by libveo with its control socket
// on fd 3 and its VE memory (a memfd) on fd 4; lives exactly as long as the
// VH process that started it.
#include "sys/config.hpp"
#include "sys/log.hpp"
#include "sys/unix_socket.hpp"
#include "sys/numa_placement.hpp"
#include "veorun/exec/exec_service.hpp"
#include "veorun/ve_process.hpp"
#include "veorun/veshm/owner_service.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

using namespace veo::emu;

namespace {

constexpr int kControlFd = 3;
constexpr int kMemFd = 4;
constexpr int kStatsFd = 5;

[[noreturn]] void fail(int error, const char *what) {
    VEO_LOG(error, "veorun: %s: %s", what, strerror(error));
    StartupReport report{kControlMagic, error};
    send_message(kControlFd, &report, sizeof report);
    _exit(1);
}

} // namespace

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "veorun is started by libveo, not by hand\n");
        return 2;
    }
    VeProcessState &ve = ve_process();
    ve.node = atoi(argv[1]);
    pid_t vh = (pid_t)atol(argv[2]);
    ve.control_fd = kControlFd;
    ve.memfd = kMemFd;
    ve.memory_size = config().memory_size;
    fcntl(kControlFd, F_SETFD, FD_CLOEXEC);
    fcntl(kMemFd, F_SETFD, FD_CLOEXEC);
    void *stats = mmap(nullptr, kProcStatsSize, PROT_READ, MAP_SHARED, kStatsFd, 0);
    close(kStatsFd);
    if (stats != MAP_FAILED)
        ve.stats = static_cast<const ProcStats *>(stats);

    // Die with the VH process, not with the thread that started us (which is
    // what PR_SET_PDEATHSIG would do): the loop watches a pidfd of the VH, and
    // the control socket's hang-up. Checking the parent after opening the
    // pidfd makes sure it names the VH, not a process that reused its pid.
    int vh_fd = (int)syscall(SYS_pidfd_open, vh, 0);
    if (vh_fd < 0 || getppid() != vh)
        _exit(1);
    signal(SIGPIPE, SIG_IGN);

    place_on_numa_node(ve.node);
    void *want = (void *)kVemvaBase;
    void *mem = mmap(want, ve.memory_size, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_NORESERVE | MAP_FIXED_NOREPLACE, kMemFd, 0);
    if (mem == MAP_FAILED || mem != want)
        fail(mem == MAP_FAILED ? errno : EEXIST, "mapping VE memory");
    bind_memory_to_numa_node(ve.node, mem, ve.memory_size);

    // A read-only descriptor of the same memory: attachers of VE_SHM_RO areas
    // get this one, so they cannot map the area writable.
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", kMemFd);
    ve.memfd_ro = open(path, O_RDONLY | O_CLOEXEC);
    if (ve.memfd_ro < 0)
        fail(errno, "opening a read-only view of VE memory");

    int rc = start_veshm_service();
    if (rc < 0)
        fail(-rc, "starting the VESHM service");
    rc = start_exec_service();
    if (rc < 0)
        fail(-rc, "starting the VE code service");
    ve.loop.watch(vh_fd, [](int, uint32_t) -> bool { _exit(0); });
    ve.loop.watch(kControlFd, [](int fd, uint32_t) {
        if (serve_control_request(fd))
            return true;
        _exit(0); // the VH is gone
    });
    StartupReport ok{kControlMagic, 0};
    if (send_message(kControlFd, &ok, sizeof ok) < 0)
        _exit(1);
    ve.loop.run();
    return 0;
}
