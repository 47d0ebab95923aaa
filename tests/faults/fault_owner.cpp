// The owner's loop: opens and closes a second area, attaches its own area to
// itself and copies from it by DMA, while its first area (the pattern the
// attacher checks) stays open. At the end its data must be intact and, if its
// VE process lived, the attacher's attachments all gone from the registry.
#include "fault_actor.hpp"
#include "fault_errors.hpp"
#include "pattern.hpp"

#include "wire/info_query.hpp"

#include <ve_offload.h>
#include <veo_emu.h>
#include <veo_vedma.h>
#include <veo_veshm.h>

#include <cerrno>
#include <chrono>
#include <random>
#include <thread>

namespace fault_actor {

namespace {
std::string hex(uint64_t v) {
    char b[32];
    snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
    return b;
}

int attachments_of(pid_t helper, uint64_t vemva) {
    veo::emu::InfoReply r{};
    std::vector<veo::emu::AreaInfo> areas;
    if (veo::emu::query_ve_process(helper, &r, &areas) != 0)
        return -1;
    for (const auto &a : areas)
        if (a.vemva == vemva)
            return (int)a.attachments;
    return -1;
}
} // namespace

int run_owner(Actor &a, int node, uint64_t seed) {
    const long long PCI = VE_REGISTER_PCI;
    std::string fds_before = Actor::fd_list();
    a.mark(Op::create);
    veo_proc_handle *h = veo_proc_create(node);
    void *area = nullptr, *local = nullptr;
    if (h == nullptr || veo_posix_memalign_hmem(h, &area, kPage, 2 * kPage) != 0 ||
        veo_posix_memalign_hmem(h, &local, kPage, kPage) != 0) {
        a.say("bad setup");
        return 3;
    }
    pid_t helper = veo_emu_proc_pid(h);
    void *churn = (uint8_t *)area + kPage;
    auto *host = static_cast<uint8_t *>(veo_emu_hmem_to_vh(area));
    auto *local_host = static_cast<uint8_t *>(veo_emu_hmem_to_vh(local));
    veshm_test::fill_pattern(host, kPatternBytes, seed, 0);
    a.mark(Op::open);
    uint64_t lv = veo_register_mem_to_dmaatb(local, kPage);
    if (veo_shared_mem_open(area, kPage, 0, PCI) != 0 || lv == (uint64_t)-1) {
        a.say("bad setup open");
        return 3;
    }
    a.mark(Op::idle);
    a.say("ready " + std::to_string(helper) + " " + hex((uint64_t)area) + " " +
          hex((uint64_t)churn));
    if (a.read_line() != "go")
        return 4;

    ErrorLog errors;
    std::mt19937_64 rng(seed);
    bool churn_open = false;
    auto err_of = [](int rc) { return rc == 0 ? 0 : errno; };
    while (!a.stop_requested()) {
        if (!churn_open) {
            a.mark(Op::open);
            int e = err_of(veo_shared_mem_open(churn, kPage, 0, PCI));
            churn_open = a.outcome("open", e, {EBUSY, ECANCELED});
            errors.note("open", e);
        }
        a.mark(Op::attach);
        void *sv = veo_shared_mem_attach(h, helper, area, kPage, 0, PCI | VE_REGISTER_VEHVA);
        int e = sv == (void *)-1 ? errno : 0;
        errors.note("attach", e);
        if (a.outcome("attach", e, {ESRCH, ECANCELED, EBUSY})) {
            a.mark(Op::dma);
            int len = (int)(4 + 4 * (rng() % (64 << 10)));
            uint64_t off = 4 * (rng() % ((kPatternBytes - (uint64_t)len) / 4));
            int rc = veo_dma_post_wait(h, lv, (uint64_t)sv + off, len);
            ++a.ops;
            if (rc != 0)
                a.bad("DMA from own area gave " + std::to_string(rc));
            else if (veshm_test::find_mismatch(local_host, (size_t)len, seed, off) >= 0)
                a.bad("own area read back wrong");
            a.mark(Op::detach);
            e = err_of(veo_shared_mem_detach(h, sv, VE_REGISTER_VEHVA));
            errors.note("detach", e);
            a.outcome("detach", e, {EBUSY});
        }
        if (churn_open) {
            a.mark(Op::close);
            e = err_of(veo_shared_mem_close(churn, kPage, 0, PCI));
            errors.note("close", e);
            if (a.outcome("close", e, {EBUSY, ECANCELED}))
                churn_open = false;
        }
        a.mark(Op::idle);
    }
    std::string victim = a.last_line_words(1);
    for (const std::string &f : errors.unexplained(owner_allowed(victim)))
        a.bad(f + " with victim " + victim);

    // The pattern lives in this VH process's own mapping: intact whatever died.
    if (veshm_test::find_mismatch(host, kPatternBytes, seed, 0) >= 0)
        a.bad("owner's pattern damaged");
    if (victim != "owner-ve") {
        // The attacher has ended: its attachments (a dead attacher's too) are
        // released by the owner's VE process, asynchronously but promptly.
        uint64_t vemva = (uint64_t)veo_get_hmem_addr(area);
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        int n;
        while ((n = attachments_of(helper, vemva)) != 0 &&
               std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        if (n != 0)
            a.bad("area still has " + std::to_string(n) + " attachments");
        a.mark(Op::close);
        if (veo_shared_mem_close(area, kPage, 0, PCI) != 0)
            a.bad("closing the area failed");
        if (churn_open && veo_shared_mem_close(churn, kPage, 0, PCI) != 0)
            a.bad("closing the second area failed");
    }
    return a.finish(h, lv, fds_before);
}

} // namespace fault_actor
