// VE code that crashes or a VE process that is killed: every outstanding
// request ends as VEO_COMMAND_EXCEPTION, no VH thread hangs, and the VH can
// go on with a new VE process. And VE code writing into a VESHM area of
// another process.
#include "exec_test_support.hpp"
#include "peer_areas.hpp"

#include <veo_veshm.h>

#include <chrono>
#include <csignal>
#include <sys/wait.h>
#include <thread>
#include <vector>

using namespace veshm_test;

namespace {

class ExecCrashTest : public ExecTest, public ::testing::WithParamInterface<const char *> {};

// A fresh VE process still runs VE code after one crashed.
void expect_new_process_works() {
    VeProcess fresh(0);
    ASSERT_NE(nullptr, fresh.h);
    uint64_t lib = veo_load_library(fresh, VE_LIB);
    ASSERT_NE(0u, lib);
    Args a;
    veo_args_set_u64(a, 0, 2);
    veo_args_set_u64(a, 1, 3);
    uint64_t r = 0;
    EXPECT_EQ(0, veo_call_sync(fresh, veo_get_sym(fresh, lib, "ve_add"), a, &r));
    EXPECT_EQ(5u, r);
}

// The exit status of VE process pid (our child, not reaped: WNOWAIT) once it
// ended, -1 if it still runs after timeout.
int exit_status_of(pid_t pid, std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    do {
        siginfo_t info{};
        if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid)
            return info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    } while (std::chrono::steady_clock::now() < until);
    return -1;
}

} // namespace

TEST_P(ExecCrashTest, CrashIsAnExceptionForEveryOutstandingRequest) {
    veo_thr_ctxt *main_ctx = veo_context_open(proc);
    veo_thr_ctxt *ctx = veo_context_open(proc);
    veo_thr_ctxt *bystander = veo_context_open(proc);
    ASSERT_NE(nullptr, bystander);
    Args sleep_args;
    veo_args_set_u64(sleep_args, 0, 5000000); // far longer than the test
    Args none;
    uint64_t sleep_fn = sym("ve_sleep_us"), crash_fn = sym(GetParam()), nothing = sym("ve_nothing");
    // The bystander is inside a long call and has more queued.
    uint64_t by1 = veo_call_async(bystander, sleep_fn, sleep_args);
    uint64_t by2 = veo_call_async(bystander, sleep_fn, sleep_args);
    // The crash comes after a short sleep, so everything is queued by then.
    Args short_sleep;
    veo_args_set_u64(short_sleep, 0, 50000);
    uint64_t before = veo_call_async(ctx, sleep_fn, short_sleep);
    uint64_t crash = veo_call_async(ctx, crash_fn, none);
    uint64_t after = veo_call_async(ctx, nothing, none);
    ASSERT_NE(VEO_REQUEST_ID_INVALID, crash);
    uint64_t r = 0;
    EXPECT_EQ(VEO_COMMAND_OK, veo_call_wait_result(ctx, before, &r));
    EXPECT_EQ(VEO_COMMAND_EXCEPTION, veo_call_wait_result(ctx, crash, &r));
    EXPECT_EQ(VEO_COMMAND_EXCEPTION, veo_call_wait_result(ctx, after, &r));
    EXPECT_EQ(VEO_COMMAND_EXCEPTION, veo_call_wait_result(bystander, by2, &r));
    EXPECT_EQ(VEO_COMMAND_EXCEPTION, veo_call_peek_result(bystander, by1, &r));
    EXPECT_EQ(VEO_STATE_EXIT, veo_get_context_state(ctx));
    EXPECT_EQ(VEO_STATE_EXIT, veo_get_context_state(bystander));
    EXPECT_EQ(VEO_STATE_EXIT, veo_get_context_state(main_ctx));
    // Nothing new is accepted, synchronous calls fail, nothing hangs.
    EXPECT_EQ(VEO_REQUEST_ID_INVALID, veo_call_async(ctx, nothing, none));
    EXPECT_EQ(-1, veo_call_sync(proc, 0x1234, none, &r));
    veo_context_sync(bystander);
    EXPECT_EQ(0, veo_context_close(ctx));
    proc.reset();
    expect_new_process_works();
}

TEST_P(ExecCrashTest, SynchronousCallCrashes) {
    Args none;
    uint64_t fn = sym(GetParam());
    uint64_t r = 0;
    EXPECT_EQ(-1, veo_call_sync(proc, fn, none, &r));
    proc.reset();
    expect_new_process_works();
}

INSTANTIATE_TEST_SUITE_P(Signals, ExecCrashTest, ::testing::Values("ve_segv", "ve_abort"));

TEST_F(ExecTest, KilledVeProcessEndsOutstandingRequests) {
    veo_thr_ctxt *ctx = veo_context_open(proc);
    veo_thr_ctxt *other = veo_context_open(proc);
    ASSERT_NE(nullptr, other);
    Args a;
    veo_args_set_u64(a, 0, 10000000); // 10 s
    // (Looked up first: veo_get_sym waits for what the main context was given.)
    uint64_t sleep_fn = sym("ve_sleep_us");
    std::vector<uint64_t> reqs;
    for (int i = 0; i < 5; ++i)
        reqs.push_back(veo_call_async(ctx, sleep_fn, a));
    uint64_t vh = veo_async_write_mem(other, 0x600000000000ULL, &a, 8);
    // Waiters in other threads, asleep, when the process dies.
    std::vector<int> results(reqs.size(), -2);
    std::vector<std::thread> waiters;
    for (size_t i = 0; i < reqs.size(); ++i)
        waiters.emplace_back([&, i] {
            uint64_t r = 0;
            results[i] = veo_call_wait_result(ctx, reqs[i], &r);
        });
    usleep(100000);
    kill(proc.pid(), SIGKILL);
    for (auto &t : waiters)
        t.join();
    for (int rc : results)
        EXPECT_EQ(VEO_COMMAND_EXCEPTION, rc);
    uint64_t r = 0;
    int rc = veo_call_wait_result(other, vh, &r);
    EXPECT_TRUE(rc == VEO_COMMAND_EXCEPTION || rc == VEO_COMMAND_ERROR) << rc;
    EXPECT_EQ(VEO_STATE_EXIT, veo_get_context_state(ctx));
    proc.reset();
    expect_new_process_works();
}

// A VE function writes into a VESHM area that another VH process's VE process
// owns and this VE process attached with VE_REGISTER_VEMVA; the owner reads it.
TEST_F(ExecTest, VeCodeWritesIntoAttachedVeshmArea) {
    Peer owner(peer_program());
    // VE_REGISTER_VEMVA attaches areas of VE processes on the same node.
    PeerArea area = peer_area(owner, peer_create(owner, 0), kPage, VE_REGISTER_PCI, 5);
    ASSERT_NE(nullptr, area.hmem);
    void *at = veo_shared_mem_attach(proc, area.proc.ve_pid, area.hmem, area.size, 0,
                                     VE_REGISTER_PCI | VE_REGISTER_VEMVA);
    ASSERT_NE((void *)-1, at) << errno;

    const uint64_t seed = 77, len = 3 << 20, pos = 4096;
    Args a;
    veo_args_set_u64(a, 0, (uint64_t)veo_get_hmem_addr(at) + pos);
    veo_args_set_u64(a, 1, len);
    veo_args_set_u64(a, 2, seed);
    veo_args_set_u64(a, 3, pos);
    EXPECT_EQ(len, call("ve_fill_pattern", a));
    owner.ok(check_command(area.hmem, pos, len, seed, pos));
    // The bytes before it are still the owner's.
    owner.ok(check_command(area.hmem, 0, pos, 5, 0));

    EXPECT_EQ(0, veo_shared_mem_detach(proc, at, VE_REGISTER_VEMVA));
    owner.ok("close " + hex(area.hmem) + " " + hex(area.size) + " " + hex(VE_REGISTER_PCI));
}

// A stack overflow in VE code is a crash like any other (the context thread
// has a signal stack of its own for it).
TEST_F(ExecTest, StackOverflowIsAnException) {
    veo_thr_ctxt_attr *attr = veo_alloc_thr_ctxt_attr();
    ASSERT_NE(nullptr, attr);
    ASSERT_EQ(0, veo_set_thr_ctxt_stacksize(attr, 4 << 20));
    veo_context_open(proc); // the main context; the next one gets the attribute
    veo_thr_ctxt *small = veo_context_open_with_attr(proc, attr);
    veo_free_thr_ctxt_attr(attr);
    ASSERT_NE(nullptr, small);
    Args a;
    veo_args_set_u64(a, 0, 100000000); // far more than 4 MiB of frames
    uint64_t req = veo_call_async(small, sym("ve_recurse"), a);
    uint64_t r = 0;
    EXPECT_EQ(VEO_COMMAND_EXCEPTION, veo_call_wait_result(small, req, &r));
    EXPECT_EQ(VEO_STATE_EXIT, veo_get_context_state(small));
    proc.reset();
    expect_new_process_works();
}

// The VE process dies the moment it receives a control request of VE code
// execution (VEORUN_FAULT): the call fails, nothing hangs, the VH goes on.
class ExecDeathOnRequest : public NoLeftoversTest,
                           public ::testing::WithParamInterface<const char *> {};

TEST_P(ExecDeathOnRequest, VeProcessDiesDuringTheRequest) {
    const std::string fault = GetParam();
    setenv("VEORUN_FAULT", fault.c_str(), 1);
    VeProcess proc(0);
    unsetenv("VEORUN_FAULT");
    ASSERT_NE(nullptr, proc.h);
    uint64_t lib = veo_load_library(proc, VE_LIB);
    if (fault == "load_library") {
        EXPECT_EQ(0u, lib);
    } else if (fault == "get_sym") {
        ASSERT_NE(0u, lib);
        EXPECT_EQ(0u, veo_get_sym(proc, lib, "ve_add"));
    } else if (fault == "unload_library") {
        ASSERT_NE(0u, lib);
        EXPECT_EQ(-1, veo_unload_library(proc, lib));
    } else if (fault == "open_context") {
        ASSERT_NE(0u, lib);
        uint64_t r = 0;
        EXPECT_EQ(-1, veo_call_sync(proc, veo_get_sym(proc, lib, "ve_nothing"), nullptr, &r));
        EXPECT_EQ(nullptr, veo_context_open(proc));
    } else if (fault == "close_context") {
        veo_context_open(proc); // main
        veo_thr_ctxt *ctx = veo_context_open(proc);
        ASSERT_NE(nullptr, ctx);
        EXPECT_EQ(0, veo_context_close(ctx)); // closes on the VH side regardless
    }
    // It died of the injected fault (exit status 70), not of anything else,
    // and not at all would fail here.
    EXPECT_EQ(70, exit_status_of(proc.pid(), std::chrono::seconds(10)))
        << "the VE process did not die of VEORUN_FAULT=" << fault;
    proc.reset();
    expect_new_process_works();
}

INSTANTIATE_TEST_SUITE_P(Requests, ExecDeathOnRequest,
                         ::testing::Values("load_library", "get_sym", "unload_library",
                                           "open_context", "close_context"));
