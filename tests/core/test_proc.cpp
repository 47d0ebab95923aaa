// VE processes: real helper processes, one per veo_proc_create, node choice
// (VE_NODE_NUMBER for -1), the 16-identifier limit and teardown.
#include "core_test_support.hpp"
#include "no_leftovers_test.hpp"
#include "proc_table.hpp"

#include <csignal>
#include <cstdlib>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace veshm_test {
namespace {

class Proc : public NoLeftoversTest {};

// Sets or removes VE_NODE_NUMBER for one scope.
class NodeNumberEnv {
  public:
    explicit NodeNumberEnv(const char *value) {
        if (const char *old = getenv("VE_NODE_NUMBER"))
            old_ = old;
        if (value)
            setenv("VE_NODE_NUMBER", value, 1);
        else
            unsetenv("VE_NODE_NUMBER");
    }
    ~NodeNumberEnv() {
        if (old_)
            setenv("VE_NODE_NUMBER", old_->c_str(), 1);
        else
            unsetenv("VE_NODE_NUMBER");
    }

  private:
    std::optional<std::string> old_;
};

TEST_F(Proc, CreateStartsAHelperThatDestroyEnds) {
    veo_proc_handle *h = veo_proc_create(0);
    ASSERT_NE(nullptr, h);
    pid_t pid = veo_emu_proc_pid(h);
    ASSERT_GT(pid, 0);
    ProcEntry e;
    ASSERT_TRUE(read_proc_entry(pid, &e));
    EXPECT_EQ("veorun", e.name);
    EXPECT_EQ(getpid(), e.ppid);
    // Its VE memory is a memfd mapped at the VEMVA base in the helper.
    EXPECT_NE(std::string::npos, mapping_at(pid, 0x600000000000ULL).find("memfd:ve-memory"))
        << mapping_at(pid, 0x600000000000ULL);
    EXPECT_EQ(0, veo_emu_proc_node(h));
    int ident = veo_proc_identifier(h);
    EXPECT_GE(ident, 0);
    EXPECT_LT(ident, 16);
    EXPECT_EQ(0, veo_proc_destroy(h));
    // Destroy kills and reaps: not even a zombie is left.
    EXPECT_FALSE(read_proc_entry(pid, &e));
}

TEST_F(Proc, NullHandles) {
    EXPECT_EQ(-1, veo_proc_destroy(nullptr));
    EXPECT_EQ(-1, veo_proc_identifier(nullptr));
}

TEST_F(Proc, EveryNodeCanBeUsed) {
    int nodes = veo_emu_node_count();
    ASSERT_GE(nodes, 2);
    for (int node : {0, nodes - 1}) {
        VeProcess p(node);
        ASSERT_NE(nullptr, p.h) << node;
        EXPECT_EQ(node, veo_emu_proc_node(p));
    }
}

TEST_F(Proc, MinusOneTakesVeNodeNumber) {
    {
        NodeNumberEnv env("3");
        VeProcess p(-1);
        ASSERT_NE(nullptr, p.h);
        EXPECT_EQ(3, veo_emu_proc_node(p));
    }
    {
        NodeNumberEnv env(nullptr);
        VeProcess p(-1);
        ASSERT_NE(nullptr, p.h);
        EXPECT_EQ(0, veo_emu_proc_node(p));
    }
}

TEST_F(Proc, MinusOneWithBadVeNodeNumberFails) {
    std::string beyond = std::to_string(veo_emu_node_count());
    for (const char *bad : {beyond.c_str(), "x", "1x", "-3"}) {
        NodeNumberEnv env(bad);
        veo_proc_handle *h = veo_proc_create(-1);
        EXPECT_EQ(nullptr, h) << "VE_NODE_NUMBER=" << bad;
        if (h)
            veo_proc_destroy(h);
    }
}

TEST_F(Proc, NodeOutOfRangeFails) {
    for (int node : {veo_emu_node_count(), veo_emu_node_count() + 1, 1000, -2, -100}) {
        veo_proc_handle *h = veo_proc_create(node);
        EXPECT_EQ(nullptr, h) << node;
        if (h)
            veo_proc_destroy(h);
    }
}

TEST_F(Proc, SixteenProcessesAtMost) {
    std::vector<std::unique_ptr<VeProcess>> procs;
    std::set<int> idents;
    for (int i = 0; i < 16; ++i) {
        procs.push_back(std::make_unique<VeProcess>(i % veo_emu_node_count()));
        ASSERT_NE(nullptr, procs.back()->h) << "process " << i;
        idents.insert(veo_proc_identifier(*procs.back()));
    }
    EXPECT_EQ(16u, idents.size());
    EXPECT_EQ(0, *idents.begin());
    EXPECT_EQ(15, *idents.rbegin());
    size_t helpers_before = children_of(getpid()).size();
    veo_proc_handle *extra = veo_proc_create(0);
    EXPECT_EQ(nullptr, extra);
    if (extra)
        veo_proc_destroy(extra);
    // A refused create starts no helper.
    EXPECT_EQ(helpers_before, children_of(getpid()).size());

    // A freed identifier is given out again.
    int freed = veo_proc_identifier(*procs[7]);
    procs[7]->reset();
    VeProcess again(1);
    ASSERT_NE(nullptr, again.h);
    EXPECT_EQ(freed, veo_proc_identifier(again));
}

TEST_F(Proc, HelperOutlivesTheThreadThatCreatedIt) {
    veo_proc_handle *h = nullptr;
    std::thread([&] { h = veo_proc_create(1); }).join();
    ASSERT_NE(nullptr, h);
    pid_t pid = veo_emu_proc_pid(h);
    void *area = alloc_ve(h, kPage);
    ASSERT_NE(nullptr, area);
    // A control request after the creating thread ended still gets served.
    EXPECT_EQ(0, open_error(area, kPage, VE_REGISTER_PCI));
    EXPECT_EQ(0, close_error(area, kPage, VE_REGISTER_PCI));
    EXPECT_TRUE(is_running(pid));
    EXPECT_EQ(0, veo_proc_destroy(h));
}

TEST_F(Proc, MissingHelperBinaryFails) {
    char bogus[] = "/nonexistent/veorun";
    veo_proc_handle *h = veo_proc_create_static(0, bogus);
    EXPECT_EQ(nullptr, h);
    if (h)
        veo_proc_destroy(h);
}

} // namespace
} // namespace veshm_test
