#include "veorun/exec/exec_service.hpp"

#include "wire/exec_protocol.hpp"
#include "sys/futex.hpp"
#include "sys/log.hpp"
#include "sys/unix_socket.hpp"
#include "ve_offload.h"
#include "veorun/ve_process.hpp"

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <ffi.h>
#include <pthread.h>
#include <set>
#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

namespace veo::emu {

namespace {

// A context thread spins this long for the next request before it sleeps:
// long enough to catch the next call of a VH that is busy submitting.
constexpr uint64_t kIdleSpinNs = 200000;
constexpr uint64_t kDefaultStack = 0x8000000; // AVEO's default (128 MiB), reserved, not committed
constexpr size_t kAltStack = 64 << 10;
constexpr int kMaxContexts = 1024;

struct ContextThread {
    Ring *ring = nullptr;
    pthread_t thread{};
    bool used = false;
};

std::vector<ContextThread> &contexts() {
    static std::vector<ContextThread> c;
    return c;
}

std::multiset<void *> &libraries() {
    static std::multiset<void *> l; // dlopen counts loads of one library; so do we
    return l;
}

// The crash handler must reach every ring without locks or allocation.
std::atomic<Ring *> crash_rings[kMaxContexts];

void announce_death() {
    for (auto &slot : crash_rings) {
        Ring *r = slot.load(std::memory_order_acquire);
        if (r == nullptr)
            continue;
        r->header.dead.store(1, std::memory_order_seq_cst);
        futex_wake(&r->header.completed, INT_MAX);
    }
}

// VE code that faults ends the VE process, as on a VE; the VH sees `dead`
// at once and completes everything outstanding with VEO_COMMAND_EXCEPTION.
void on_crash(int sig, siginfo_t *, void *) {
    announce_death();
    static const char msg[] = "veorun: VE code crashed, the VE process ends\n";
    ssize_t ignored = write(2, msg, sizeof msg - 1);
    (void)ignored;
    _exit(128 + sig);
}

void install_crash_handlers() {
    struct sigaction sa {};
    sa.sa_sigaction = on_crash;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS})
        sigaction(sig, &sa, nullptr);
}

bool is_integer(uint8_t t) {
    return t != (uint8_t)ArgType::dbl && t != (uint8_t)ArgType::flt;
}

ffi_type *ffi_type_of(uint8_t t) {
    switch ((ArgType)t) {
    case ArgType::i64:
        return &ffi_type_sint64;
    case ArgType::u32:
        return &ffi_type_uint32;
    case ArgType::i32:
        return &ffi_type_sint32;
    case ArgType::u16:
        return &ffi_type_uint16;
    case ArgType::i16:
        return &ffi_type_sint16;
    case ArgType::u8:
        return &ffi_type_uint8;
    case ArgType::i8:
        return &ffi_type_sint8;
    case ArgType::dbl:
        return &ffi_type_double;
    case ArgType::flt:
        return &ffi_type_float;
    default:
        return &ffi_type_uint64;
    }
}

using IntFn = uint64_t (*)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);

// Runs one call. Up to six integer arguments go straight into the argument
// registers (values are already extended to 64 bits, surplus registers are
// ignored by the callee); anything else is laid out by libffi.
void run_call(RingSlot &s) {
    uint32_t n = s.nargs > (uint32_t)kMaxCallArgs ? (uint32_t)kMaxCallArgs : s.nargs;
    uint64_t args[kMaxCallArgs];
    uint8_t types[kMaxCallArgs];
    memcpy(args, s.args, n * sizeof(uint64_t));
    memcpy(types, s.types, n);
    bool simple = n <= 6;
    for (uint32_t i = 0; simple && i < n; ++i)
        simple = is_integer(types[i]);
    uint64_t result = 0;
    if (simple) {
        uint64_t a[6] = {0, 0, 0, 0, 0, 0};
        memcpy(a, args, n * sizeof(uint64_t));
        result = reinterpret_cast<IntFn>(s.addr)(a[0], a[1], a[2], a[3], a[4], a[5]);
    } else {
        ffi_type *ft[kMaxCallArgs];
        void *values[kMaxCallArgs];
        for (uint32_t i = 0; i < n; ++i) {
            ft[i] = ffi_type_of(types[i]);
            values[i] = &args[i]; // little endian: narrower types are the low bytes
        }
        ffi_cif cif;
        if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, n, &ffi_type_uint64, ft) != FFI_OK) {
            s.result.store(0, std::memory_order_relaxed);
            s.status.store(VEO_COMMAND_ERROR, std::memory_order_relaxed);
            return;
        }
        ffi_arg r = 0;
        ffi_call(&cif, FFI_FN(s.addr), &r, values);
        result = r;
    }
    s.result.store(result, std::memory_order_relaxed);
    s.status.store(VEO_COMMAND_OK, std::memory_order_relaxed);
}

// Holds the context at a VH-side request until the VH has run it.
void run_gate(RingSlot &s) {
    s.gate.store(gate_reached, std::memory_order_seq_cst);
    futex_wake(&s.gate, 1);
    auto released = [&] { return s.gate.load(std::memory_order_acquire) == gate_released; };
    if (spin_until(released, kIdleSpinNs))
        return;
    while (!released())
        futex_wait(&s.gate, gate_reached, -1);
}

void *context_main(void *arg) {
    Ring *ring = static_cast<Ring *>(arg);
    // Its own signal stack, so that a stack overflow in VE code still reaches
    // the crash handler.
    stack_t ss{};
    ss.ss_sp = malloc(kAltStack);
    ss.ss_size = kAltStack;
    if (ss.ss_sp != nullptr)
        sigaltstack(&ss, nullptr);
    RingHeader &h = ring->header;
    uint32_t next = 0;
    for (;;) {
        auto pending = [&] { return h.submitted.load(std::memory_order_acquire) != next; };
        if (!spin_until(pending, kIdleSpinNs)) {
            while (!pending()) {
                h.ve_sleeping.store(1, std::memory_order_seq_cst);
                if (h.submitted.load(std::memory_order_seq_cst) == next)
                    futex_wait(&h.submitted, next, -1);
            }
        }
        RingSlot &s = ring->slots[next % kRingSlots];
        uint32_t kind = s.kind;
        if (kind == (uint32_t)SlotKind::call) {
            run_call(s);
        } else if (kind == (uint32_t)SlotKind::gate) {
            run_gate(s);
        } else if (kind == (uint32_t)SlotKind::quit) {
            s.status.store(VEO_COMMAND_OK, std::memory_order_relaxed);
        } else {
            s.status.store(VEO_COMMAND_ERROR, std::memory_order_relaxed);
        }
        ++next;
        h.completed.store(next, std::memory_order_seq_cst);
        if (h.vh_sleeping.load(std::memory_order_seq_cst) != 0 &&
            h.vh_sleeping.exchange(0, std::memory_order_seq_cst) != 0)
            futex_wake(&h.completed, INT_MAX);
        if (kind == (uint32_t)SlotKind::quit)
            break;
    }
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, nullptr);
    free(ss.ss_sp);
    return nullptr;
}

ControlResult on_load_library(const uint8_t *p, size_t len, const int *, int) {
    ControlResult r;
    std::string path(reinterpret_cast<const char *>(p), len);
    if (path.empty() || path.find('\0') != std::string::npos) {
        r.error = EINVAL;
        return r;
    }
    void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        VEO_LOG(debug, "veo_load_library(%s): %s", path.c_str(), dlerror());
        r.error = ENOENT;
        return r;
    }
    libraries().insert(handle);
    r.value = (uint64_t)(uintptr_t)handle;
    return r;
}

ControlResult on_unload_library(const uint8_t *p, size_t len, const int *, int) {
    ControlResult r;
    uint64_t handle = 0;
    if (!read_payload(p, len, &handle)) {
        r.error = EINVAL;
        return r;
    }
    auto it = libraries().find((void *)(uintptr_t)handle);
    if (it == libraries().end()) {
        r.error = EINVAL;
        return r;
    }
    libraries().erase(it);
    if (dlclose((void *)(uintptr_t)handle) != 0)
        r.error = EINVAL;
    return r;
}

ControlResult on_get_sym(const uint8_t *p, size_t len, const int *, int) {
    ControlResult r;
    SymRequest req;
    if (len <= sizeof req) {
        r.error = EINVAL;
        return r;
    }
    memcpy(&req, p, sizeof req);
    std::string name(reinterpret_cast<const char *>(p + sizeof req), len - sizeof req);
    if (name.find('\0') != std::string::npos) {
        r.error = EINVAL;
        return r;
    }
    void *sym = nullptr;
    if (req.library == 0) {
        sym = dlsym(RTLD_DEFAULT, name.c_str());
        for (auto it = libraries().begin(); sym == nullptr && it != libraries().end(); ++it)
            sym = dlsym(*it, name.c_str());
    } else if (libraries().count((void *)(uintptr_t)req.library)) {
        sym = dlsym((void *)(uintptr_t)req.library, name.c_str());
    } else {
        r.error = EINVAL;
        return r;
    }
    if (sym == nullptr)
        r.error = ENOENT;
    r.value = (uint64_t)(uintptr_t)sym;
    return r;
}

ControlResult on_open_context(const uint8_t *p, size_t len, const int *fds, int) {
    ControlResult r;
    OpenContextRequest req;
    if (!read_payload(p, len, &req)) {
        close(fds[0]);
        r.error = EINVAL;
        return r;
    }
    void *mem = mmap(nullptr, kRingBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
    close(fds[0]);
    if (mem == MAP_FAILED) {
        r.error = errno;
        return r;
    }
    auto &all = contexts();
    size_t id = 0;
    while (id < all.size() && all[id].used)
        ++id;
    if (id == (size_t)kMaxContexts) {
        munmap(mem, kRingBytes);
        r.error = EAGAIN;
        return r;
    }
    if (id == all.size())
        all.emplace_back();
    ContextThread &c = all[id];
    c.ring = static_cast<Ring *>(mem);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    uint64_t stack = req.stack_size ? req.stack_size : kDefaultStack;
    if (stack < (256u << 10))
        stack = 256u << 10;
    pthread_attr_setstacksize(&attr, stack);
    crash_rings[id].store(c.ring, std::memory_order_release);
    int rc = pthread_create(&c.thread, &attr, context_main, c.ring);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        crash_rings[id].store(nullptr, std::memory_order_release);
        c = ContextThread{};
        munmap(mem, kRingBytes);
        r.error = rc;
        return r;
    }
    c.used = true;
    r.value = id;
    return r;
}

ControlResult on_close_context(const uint8_t *p, size_t len, const int *, int) {
    ControlResult r;
    uint32_t id = 0;
    if (!read_payload(p, len, &id)) {
        r.error = EINVAL;
        return r;
    }
    auto &all = contexts();
    if (id >= all.size() || !all[id].used) {
        r.error = EINVAL;
        return r;
    }
    // The VH asks only after the thread served its quit request.
    pthread_join(all[id].thread, nullptr);
    crash_rings[id].store(nullptr, std::memory_order_release);
    munmap(all[id].ring, kRingBytes);
    all[id] = ContextThread{};
    return r;
}

} // namespace

int start_exec_service() {
    install_crash_handlers();
    register_control_handler((ControlType)ExecRequest::load_library, on_load_library);
    register_control_handler((ControlType)ExecRequest::unload_library, on_unload_library);
    register_control_handler((ControlType)ExecRequest::get_sym, on_get_sym);
    register_control_handler((ControlType)ExecRequest::open_context, on_open_context, 1);
    register_control_handler((ControlType)ExecRequest::close_context, on_close_context);
    return 0;
}

} // namespace veo::emu
