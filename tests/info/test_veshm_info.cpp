// veshm-info reports what the VE processes of this user really hold, and
// tells another user nothing but that they exist.
#include <ve_offload.h>
#include <veo_veshm.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <gtest/gtest.h>
#include <string>
#include <unistd.h>

#include "run_program.hpp"

using veshm_test::run_program;
using veshm_test::RunAs;

namespace {

constexpr size_t kArea = 64UL << 20;

std::string run_info(const char *args) {
    std::string cmd = std::string(VESHM_INFO_BIN) + " " + args;
    FILE *p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    size_t n;
    while (p && (n = fread(buf, 1, sizeof buf, p)) > 0)
        out.append(buf, n);
    EXPECT_EQ(0, p ? pclose(p) : -1);
    return out;
}

// The JSON object of one process, from its "pid" key to the end of its areas.
std::string process_entry(const std::string &json, pid_t pid) {
    std::string key = "{\"pid\": " + std::to_string(pid) + ",";
    size_t at = json.find(key);
    if (at == std::string::npos)
        return "";
    return json.substr(at, json.find("]}", at) + 2 - at);
}

TEST(VeshmInfo, ReportsProcessesAreasAndAttachments) {
    veo_proc_handle *owner = veo_proc_create(3), *attacher = veo_proc_create(5);
    ASSERT_NE(nullptr, owner);
    ASSERT_NE(nullptr, attacher);
    void *area = nullptr;
    ASSERT_EQ(0, veo_posix_memalign_hmem(owner, &area, kArea, 2 * kArea));
    ASSERT_EQ(0, veo_shared_mem_open(area, 2 * kArea, 0, VE_REGISTER_PCI | VE_SHM_RO));
    pid_t owner_pid = veo_get_pid_from_hmem(area);
    void *vehva = veo_shared_mem_attach(attacher, owner_pid, area, 2 * kArea, 0,
                                        VE_REGISTER_PCI | VE_SHM_RO | VE_REGISTER_VEHVA);
    ASSERT_NE((void *)-1, vehva);

    std::string json = run_info("--json");
    std::string o = process_entry(json, owner_pid);
    ASSERT_FALSE(o.empty()) << json;
    EXPECT_NE(std::string::npos, o.find("\"node\": 3,")) << o;
    EXPECT_NE(std::string::npos, o.find("\"vh_pid\": " + std::to_string(getpid()) + ",")) << o;
    EXPECT_NE(std::string::npos, o.find("\"memory_allocated\": 134217728,")) << o;
    EXPECT_NE(std::string::npos, o.find("\"pciatb_pages\": 2,")) << o;
    EXPECT_NE(std::string::npos, o.find("\"size\": 134217728, \"flags\": 5,")) << o;
    EXPECT_NE(std::string::npos, o.find("\"attachments\": 1,")) << o;

    void *attacher_mem = nullptr;
    ASSERT_EQ(0, veo_alloc_hmem(attacher, &attacher_mem, 4096));
    std::string a = process_entry(json, veo_get_pid_from_hmem(attacher_mem));
    ASSERT_FALSE(a.empty()) << json;
    EXPECT_NE(std::string::npos, a.find("\"node\": 5,")) << a;
    EXPECT_NE(std::string::npos, a.find("\"dmaatb_pages\": 2,")) << a;
    EXPECT_NE(std::string::npos, a.find("\"vehva_attachments\": 1,")) << a;

    // Detach and close: the counts go back.
    ASSERT_EQ(0, veo_shared_mem_detach(attacher, vehva, VE_REGISTER_VEHVA));
    ASSERT_EQ(0, veo_shared_mem_close(area, 2 * kArea, 0, VE_REGISTER_PCI | VE_SHM_RO));
    json = run_info("--json");
    o = process_entry(json, owner_pid);
    EXPECT_NE(std::string::npos, o.find("\"pciatb_pages\": 0,")) << o;
    EXPECT_NE(std::string::npos, o.find("\"areas\": []")) << o;
    std::string text = run_info("");
    EXPECT_NE(std::string::npos, text.find("VE processes")) << text;
    EXPECT_EQ(0, veo_proc_destroy(attacher));
    EXPECT_EQ(0, veo_proc_destroy(owner));
}

TEST(VeshmInfo, AnotherUserSeesNoDetails) {
    if (getuid() != 0)
        GTEST_SKIP() << "needs root to run a child as nobody";
    veo_proc_handle *h = veo_proc_create(0);
    ASSERT_NE(nullptr, h);
    void *mem = nullptr;
    ASSERT_EQ(0, veo_alloc_hmem(h, &mem, 4096));
    pid_t ve_pid = veo_get_pid_from_hmem(mem);
    // nobody, without root's supplementary groups.
    std::string out;
    RunAs nobody{65534, 65534};
    ASSERT_EQ(0, run_program({VESHM_INFO_BIN, "--json"}, &out, &nobody));
    // It saw the platform and our VE process, counted as hidden, and no detail
    // of it (an empty or cut report fails here).
    EXPECT_NE(std::string::npos, out.find("\"nodes\"")) << out;
    size_t at = out.find("\"hidden_processes\": ");
    ASSERT_NE(std::string::npos, at) << out;
    EXPECT_GE(atoi(out.c_str() + at + strlen("\"hidden_processes\": ")), 1) << out;
    EXPECT_NE(std::string::npos, out.find("\"processes\": [")) << out;
    EXPECT_EQ(std::string::npos, out.find("\"pid\": " + std::to_string(ve_pid) + ",")) << out;
    EXPECT_EQ(0, veo_proc_destroy(h));
}

} // namespace
