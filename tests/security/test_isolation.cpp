// Isolation between two unprivileged users of one host: a victim (user A)
// runs VE processes and areas, an attacker (user B) tries what a hostile
// local user can do with the abstract socket namespace: impersonate an owner,
// stay silent, flood, squat names. Every case checks what the victim gets
// (result, errno, data, a bound on time), not only that nothing crashed.
//
// Run as root the suite creates both users (useradd) and removes them;
// otherwise it skips with a message.
#include "core_test_support.hpp"
#include "hostile_services.hpp"
#include "leftover_checker.hpp"
#include "no_leftovers_test.hpp"
#include "other_user_install.hpp"
#include "pattern.hpp"
#include "run_program.hpp"
#include "peer_areas.hpp"
#include "peer_process.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <thread>
#include <csignal>
#include <fstream>
#include <pwd.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace veshm_test {
namespace {

constexpr uint64_t kVictimSeed = 1111;
constexpr int kPeerTimeoutSeconds = 2;

struct TestUser {
    std::string name;
    uid_t uid = (uid_t)-1;
    gid_t gid = (gid_t)-1;
    RunAs as() const { return RunAs{uid, gid}; }
};

int run(const std::vector<std::string> &argv, std::string *output = nullptr) {
    return run_program(argv, output);
}

bool make_user(const std::string &name, TestUser *user) {
    std::string ignored;
    run({"userdel", name}, &ignored); // a leftover of a crashed run
    if (run({"useradd", "--system", "--no-create-home", "--user-group", "--shell",
             "/usr/sbin/nologin", name}) != 0)
        return false;
    passwd *pw = getpwnam(name.c_str());
    if (pw == nullptr)
        return false;
    *user = TestUser{name, pw->pw_uid, pw->pw_gid};
    return true;
}

// CPU time (user + system) a process has used so far, in clock ticks.
long cpu_ticks(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t close_paren = text.rfind(')');
    if (close_paren == std::string::npos)
        return -1;
    std::istringstream fields(text.substr(close_paren + 2));
    std::string f;
    long utime = 0, stime = 0;
    for (int i = 3; fields >> f; ++i) { // field 3 is the state
        if (i == 14)
            utime = atol(f.c_str());
        if (i == 15) {
            stime = atol(f.c_str());
            break;
        }
    }
    return utime + stime;
}

int open_descriptors(pid_t pid) {
    int n = 0;
    if (DIR *d = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
        while (readdir(d) != nullptr)
            ++n;
        closedir(d);
    }
    return n - 2;
}

pid_t last_pid() {
    std::ifstream in("/proc/sys/kernel/ns_last_pid");
    long v = 0;
    in >> v;
    return (pid_t)v;
}

class Isolation : public NoLeftoversTest {
  protected:
    static void SetUpTestSuite() {
        if (geteuid() != 0)
            return;
        // Names of this process's own: test processes running in parallel
        // create and remove users of their own.
        std::string tag = std::to_string(getpid());
        users_ok =
            make_user("veshm-v" + tag, &victim_user) && make_user("veshm-a" + tag, &attacker_user);
    }
    static void TearDownTestSuite() {
        if (!victim_user.name.empty())
            run({"userdel", victim_user.name});
        if (!attacker_user.name.empty())
            run({"userdel", attacker_user.name});
    }

    void SetUp() override {
        if (geteuid() != 0)
            GTEST_SKIP() << "the isolation suite creates two users and needs root";
        ASSERT_TRUE(users_ok) << "useradd failed";
        victim_install = std::make_unique<OtherUserInstall>(peer_program(), VEORUN_PATH);
        attacker_install = std::make_unique<OtherUserInstall>(STRANGER_PROGRAM, VEORUN_PATH);
        info_install = std::make_unique<OtherUserInstall>(VESHM_INFO_BIN, VEORUN_PATH);
        ASSERT_TRUE(victim_install->ok() && attacker_install->ok() && info_install->ok());
        victim = std::make_unique<Peer>(victim_install->peer(),
                                        as(victim_user, *victim_install, victim_env()));
        attacker = std::make_unique<Peer>(attacker_install->peer(),
                                          as(attacker_user, *attacker_install, {}));
        ASSERT_EQ(std::vector<std::string>{std::to_string(victim_user.uid)}, victim->ok("uid"));
        ASSERT_EQ(std::vector<std::string>{std::to_string(attacker_user.uid)}, attacker->ok("uid"));
        std::vector<std::string> r = attacker->ok("pid");
        ASSERT_EQ(1u, r.size());
        attacker_pid = (pid_t)number(r[0]);
    }
    void TearDown() override {
        if (attacker)
            attacker->call("release");
        attacker.reset();
        victim.reset();
    }

    static std::vector<std::string> victim_env() {
        return {"VESHM_PEER_TIMEOUT=" + std::to_string(kPeerTimeoutSeconds)};
    }
    static PeerOptions as(const TestUser &u, const OtherUserInstall &install,
                          std::vector<std::string> extra) {
        PeerOptions o;
        o.uid = u.uid;
        o.gid = u.gid;
        o.env = install.env();
        o.env.insert(o.env.end(), extra.begin(), extra.end());
        return o;
    }

    // The victim's area: a VE process on node 0 with kPage of its pattern.
    PeerArea victim_area() {
        return peer_area(*victim, peer_create(*victim, 0), kPage, VE_REGISTER_PCI, kVictimSeed);
    }

    // A second victim VE process attaches area by VEHVA and copies it by DMA
    // into its own memory; "" and the check passed, or what went wrong.
    std::string victim_reads(const PeerProc &reader, const PeerArea &area) {
        Peer &v = *victim;
        std::vector<std::string> at = v.call(
            "attach " + reader.slot + " " + std::to_string(area.proc.ve_pid) + " " +
            hex(area.hmem) + " " + hex(kPage) + " " + hex(VE_REGISTER_PCI | VE_REGISTER_VEHVA));
        if (at.size() != 2 || at[0] != "ok")
            return "attach: " + testing::PrintToString(at);
        std::vector<std::string> local =
            v.ok("alloc " + reader.slot + " " + hex(kPage) + " " + hex(kPage));
        std::vector<std::string> lv = local.size() == 1
                                          ? v.ok("regdma " + local[0] + " " + hex(kPage))
                                          : std::vector<std::string>{};
        if (lv.size() != 1)
            return "local memory";
        std::vector<std::string> dma =
            v.ok("dma " + reader.slot + " " + lv[0] + " " + at[1] + " " + hex(1 << 20));
        std::vector<std::string> check =
            v.call(check_command((void *)number(local[0]), 0, 1 << 20, kVictimSeed, 0));
        v.ok("detach " + reader.slot + " " + at[1] + " " + hex(VE_REGISTER_VEHVA));
        v.ok("detach " + reader.slot + " " + lv[0] + " " + hex(VE_MEM_LOCAL));
        if (dma != std::vector<std::string>{"0"})
            return "dma: " + testing::PrintToString(dma);
        if (check != std::vector<std::string>{"ok"})
            return "data: " + testing::PrintToString(check);
        return "";
    }

    // veshm-info run as the victim: (exit status, pids listed).
    std::vector<pid_t> victim_info(int *status, std::string *text) {
        std::vector<std::string> env = info_install->env();
        env.push_back("VESHM_PEER_TIMEOUT=" + std::to_string(kPeerTimeoutSeconds));
        RunAs victim = victim_user.as();
        *status = run_program({info_install->peer(), "--json"}, text, &victim, env);
        std::vector<pid_t> pids;
        for (size_t at = 0; (at = text->find("{\"pid\": ", at)) != std::string::npos; ++at)
            pids.push_back((pid_t)atol(text->c_str() + at + 8));
        return pids;
    }

    static inline TestUser victim_user, attacker_user;
    static inline bool users_ok = false;
    std::unique_ptr<OtherUserInstall> victim_install, attacker_install, info_install;
    std::unique_ptr<Peer> victim, attacker;
    pid_t attacker_pid = -1;
};

// B serves, under every name the victim could look up for B's pid, a fake
// owner that approves every attach with B's own memory and describes an
// invented VE process: A's attach gets EACCES, and veshm-info run by A lists
// only A's VE processes.
TEST_F(Isolation, ForgedOwnerIsRefusedAndNotListed) {
    ASSERT_EQ(std::vector<std::string>{"2"},
              attacker->ok("squat " + std::to_string(victim_user.uid) + " " +
                           std::to_string(attacker_pid) + " 1 approve"));
    // B's own uid under its own name, too.
    ASSERT_EQ(std::vector<std::string>{"1"},
              attacker->ok("squat " + std::to_string(attacker_user.uid) + " " +
                           std::to_string(attacker_pid) + " 1 approve"));
    PeerArea area = victim_area();
    ASSERT_NE(nullptr, area.hmem);
    PeerProc reader = peer_create(*victim, 1);
    for (long long how : {VE_REGISTER_VEHVA, VE_REGISTER_VEMVA}) {
        EXPECT_EQ(EACCES, victim->err("attach " + reader.slot + " " + std::to_string(attacker_pid) +
                                      " " + hex(area.hmem) + " " + hex(kPage) + " " +
                                      hex(VE_REGISTER_PCI | how)));
    }
    // The victim's own data still moves, and is its own.
    EXPECT_EQ("", victim_reads(reader, area));

    int status = -1;
    std::string text;
    std::vector<pid_t> listed = victim_info(&status, &text);
    EXPECT_EQ(0, status) << text;
    std::sort(listed.begin(), listed.end());
    std::vector<pid_t> own = {area.proc.ve_pid, reader.ve_pid};
    std::sort(own.begin(), own.end());
    EXPECT_EQ(own, listed) << text;
    EXPECT_EQ(std::string::npos,
              text.find("\"vh_pid\": " + std::to_string(veshm_security::kFakeVhPid)))
        << "the invented VE process is listed";
}

// B holds the names of the next pids before A's VE processes exist, served by
// a fake owner: A's veo_proc_create still works for every pid, and A's
// processes attach each other's areas and read A's data, not B's.
TEST_F(Isolation, SquattedNamesNeitherStopVeProcCreateNorFoolAttaches) {
    constexpr int kSquatted = 1000;
    pid_t first = last_pid() + 1;
    std::vector<std::string> r =
        attacker->ok("squat " + std::to_string(victim_user.uid) + " " + std::to_string(first) +
                     " " + std::to_string(kSquatted) + " approve");
    // Every name with the victim's uid, and the old pid-only names not in use.
    ASSERT_EQ(1u, r.size());
    ASSERT_GE(number(r[0]), (uint64_t)kSquatted);
    std::vector<PeerProc> procs;
    int squatted = 0;
    for (int i = 0; i < 8; ++i) {
        procs.push_back(peer_create(*victim, i % 2));
        ASSERT_GT(procs.back().ve_pid, 0) << "veo_proc_create failed with names squatted";
        squatted += procs.back().ve_pid >= first && procs.back().ve_pid < first + kSquatted;
    }
    ASSERT_GT(squatted, 0) << "no VE process got a squatted pid: the test proved nothing";
    PeerArea area = peer_area(*victim, procs[0], kPage, VE_REGISTER_PCI, kVictimSeed);
    ASSERT_NE(nullptr, area.hmem);
    EXPECT_EQ("", victim_reads(procs[1], area));
}

// A silent server of another user costs the victim nothing (refused before a
// byte is sent); a silent VE process of the victim's own (stopped) costs
// VESHM_PEER_TIMEOUT and gives EBUSY, never a hang, and works again after.
TEST_F(Isolation, SilentPeersGiveErrorsNotHangs) {
    ASSERT_EQ(std::vector<std::string>{"2"},
              attacker->ok("squat " + std::to_string(victim_user.uid) + " " +
                           std::to_string(attacker_pid) + " 1 silent"));
    PeerArea area = victim_area();
    ASSERT_NE(nullptr, area.hmem);
    PeerProc reader = peer_create(*victim, 1);
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(EACCES, victim->err("attach " + reader.slot + " " + std::to_string(attacker_pid) +
                                  " " + hex(area.hmem) + " " + hex(kPage) + " " +
                                  hex(VE_REGISTER_PCI | VE_REGISTER_VEHVA)));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(kPeerTimeoutSeconds));

    ASSERT_EQ(0, kill(area.proc.ve_pid, SIGSTOP));
    t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(EBUSY, victim->err("attach " + reader.slot + " " + std::to_string(area.proc.ve_pid) +
                                 " " + hex(area.hmem) + " " + hex(kPage) + " " +
                                 hex(VE_REGISTER_PCI | VE_REGISTER_VEHVA)));
    auto waited = std::chrono::steady_clock::now() - t0;
    EXPECT_GE(waited, std::chrono::seconds(kPeerTimeoutSeconds) - std::chrono::milliseconds(100));
    EXPECT_LT(waited, std::chrono::seconds(kPeerTimeoutSeconds + 8));
    // veshm-info as the victim ends too, saying who did not answer.
    int status = -1;
    std::string text;
    victim_info(&status, &text);
    EXPECT_EQ(0, status);
    ASSERT_EQ(0, kill(area.proc.ve_pid, SIGCONT));
    EXPECT_EQ("", victim_reads(reader, area));
}

// B connects thousands of times to A's VE process and holds the connections:
// A's VE process hangs up on each at once (no descriptor held, no busy loop)
// and A's attaches keep working.
TEST_F(Isolation, ConnectionFloodNeitherBlocksNorBurnsTheOwner) {
    PeerArea area = victim_area();
    ASSERT_NE(nullptr, area.hmem);
    PeerProc reader = peer_create(*victim, 1);
    std::vector<std::string> r =
        attacker->ok("flood " + std::to_string(area.proc.ve_pid) + " 3000");
    ASSERT_EQ(1u, r.size());
    EXPECT_GT(number(r[0]), 0u) << "the flood connected nowhere: the test proved nothing";
    EXPECT_LT(open_descriptors(area.proc.ve_pid), 64);
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ("", victim_reads(reader, area)) << "attach " << i << " under the flood";
    // Idle with the flood held: the owner sleeps (it used to spin on accept).
    long before = cpu_ticks(area.proc.ve_pid);
    std::this_thread::sleep_for(std::chrono::seconds(1));
    long used = cpu_ticks(area.proc.ve_pid) - before;
    EXPECT_LE(used, sysconf(_SC_CLK_TCK) / 10) << "ticks of CPU in 1 s idle under the flood";
}

} // namespace
} // namespace veshm_test
