// HMEM addresses (VEO_API.md, veo_hmem.h): bit 63 marks VE memory, bits
// 62..59 the process identifier, the rest is the VEMVA.
#include "core_test_support.hpp"
#include "no_leftovers_test.hpp"
#include "proc_table.hpp"

#include <string>
#include <unistd.h>

namespace veshm_test {
namespace {

class Hmem : public NoLeftoversTest {};

constexpr uint64_t kVeFlag = 0x8000000000000000ULL;
constexpr uint64_t kVemva = 0x600000001000ULL;

uint64_t tagged(uint64_t vemva, int ident) {
    return kVeFlag | ((uint64_t)ident << 59) | vemva;
}

TEST_F(Hmem, HostAddressesAreNotVeAddresses) {
    int x = 0;
    EXPECT_EQ(0, veo_is_ve_addr(&x));
    EXPECT_EQ(0, veo_is_ve_addr(nullptr));
    EXPECT_EQ(0, veo_is_ve_addr((void *)0x7fffffffffffULL));
    EXPECT_EQ(&x, veo_get_hmem_addr(&x));
    EXPECT_EQ(-1, veo_get_proc_identifier_from_hmem(&x));
    EXPECT_EQ(nullptr, veo_get_proc_handle_from_hmem(&x));
    EXPECT_EQ(-1, veo_get_pid_from_hmem(&x));
    EXPECT_EQ(-1, veo_get_venum_from_hmem(&x));
}

TEST_F(Hmem, EncodingIsAveos) {
    EXPECT_EQ(16, VEO_MAX_HMEM_PROCS);
    EXPECT_EQ(16, veo_get_max_proc_identifier());
    for (int ident = 0; ident < 16; ++ident) {
        void *a = veo_set_proc_identifier((void *)kVemva, ident);
        EXPECT_EQ(tagged(kVemva, ident), (uint64_t)a) << ident;
        EXPECT_EQ(1, veo_is_ve_addr(a));
        EXPECT_EQ(ident, veo_get_proc_identifier_from_hmem(a));
        EXPECT_EQ((void *)kVemva, veo_get_hmem_addr(a));
    }
    EXPECT_EQ(1, veo_is_ve_addr((void *)kVeFlag));
    EXPECT_EQ(0, veo_get_proc_identifier_from_hmem((void *)kVeFlag));
    // Re-tagging keeps the VEMVA and replaces the identifier.
    void *retagged = veo_set_proc_identifier((void *)tagged(kVemva, 9), 2);
    EXPECT_EQ(tagged(kVemva, 2), (uint64_t)retagged);
}

TEST_F(Hmem, SetProcIdentifierRejectsOutOfRange) {
    EXPECT_EQ(nullptr, veo_set_proc_identifier((void *)kVemva, 16));
    EXPECT_EQ(nullptr, veo_set_proc_identifier((void *)kVemva, -1));
    EXPECT_EQ(nullptr, veo_set_proc_identifier((void *)kVemva, 1000));
}

TEST_F(Hmem, AddressesFindTheirProcess) {
    VeProcess p(2);
    ASSERT_NE(nullptr, p.h);
    void *mem = nullptr;
    ASSERT_EQ(0, veo_alloc_hmem(p, &mem, 4096));
    EXPECT_EQ(1, veo_is_ve_addr(mem));
    EXPECT_EQ(veo_proc_identifier(p), veo_get_proc_identifier_from_hmem(mem));
    EXPECT_EQ(p.h, veo_get_proc_handle_from_hmem(mem));
    EXPECT_EQ(2, veo_get_venum_from_hmem(mem));
    pid_t pid = veo_get_pid_from_hmem(mem);
    EXPECT_EQ(p.pid(), pid);
    ProcEntry e;
    ASSERT_TRUE(read_proc_entry(pid, &e));
    EXPECT_EQ("veorun", e.name);
    EXPECT_EQ(getpid(), e.ppid);
    EXPECT_NE(getpid(), pid);

    // The same VEMVA tagged with an identifier nobody holds finds nothing.
    int other = (veo_proc_identifier(p) + 1) % 16;
    void *stranger = veo_set_proc_identifier(veo_get_hmem_addr(mem), other);
    EXPECT_EQ(nullptr, veo_get_proc_handle_from_hmem(stranger));
    EXPECT_EQ(-1, veo_get_pid_from_hmem(stranger));
    EXPECT_EQ(-1, veo_get_venum_from_hmem(stranger));
    EXPECT_EQ(0, veo_free_hmem(mem));
}

TEST_F(Hmem, VersionAndArchitecture) {
    EXPECT_EQ(16, VEO_API_VERSION);
    EXPECT_EQ(VEO_API_VERSION, veo_api_version());
    ASSERT_NE(nullptr, veo_version_string());
    EXPECT_NE(std::string(veo_version_string()), "");
    EXPECT_GT(veo_get_ve_arch(0), 0);
    EXPECT_GT(veo_get_ve_arch(veo_emu_node_count() - 1), 0);
    EXPECT_LE(veo_get_ve_arch(veo_emu_node_count()), 0);
    EXPECT_LE(veo_get_ve_arch(-5), 0);
}

} // namespace
} // namespace veshm_test
