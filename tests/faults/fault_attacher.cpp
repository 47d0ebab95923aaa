// The attacher's loop: keeps one attachment of the owner's area for the whole
// run and, around it, attaches the area (VEHVA and VEMVA) and the owner's
// second area again and again, reading the pattern and writing a slot of its
// own. At the end the long-lived attachment must still read the pattern,
// whoever died: attachments outlive their owner.
#include "fault_actor.hpp"
#include "fault_errors.hpp"
#include "pattern.hpp"

#include <ve_offload.h>
#include <veo_emu.h>
#include <veo_vedma.h>
#include <veo_veshm.h>

#include <cerrno>
#include <random>
#include <sstream>

namespace fault_actor {

int run_attacher(Actor &a, int node, uint64_t seed) {
    const long long PCI = VE_REGISTER_PCI;
    std::string fds_before = Actor::fd_list();
    a.mark(Op::create);
    veo_proc_handle *h = veo_proc_create(node);
    void *local = nullptr;
    if (h == nullptr || veo_posix_memalign_hmem(h, &local, kPage, kPage) != 0) {
        a.say("bad setup");
        return 3;
    }
    uint64_t lv = veo_register_mem_to_dmaatb(local, kPage);
    if (lv == (uint64_t)-1) {
        a.say("bad setup dmaatb");
        return 3;
    }
    auto *lh = static_cast<uint8_t *>(veo_emu_hmem_to_vh(local));
    a.mark(Op::idle);
    a.say("ready " + std::to_string(veo_emu_proc_pid(h)));
    std::istringstream go(a.read_line());
    std::string word;
    pid_t owner = 0;
    uint64_t area = 0, churn = 0;
    int owner_node = -1;
    go >> word >> owner >> std::hex >> area >> churn >> std::dec >> owner_node;
    if (word != "go")
        return 4;

    ErrorLog errors;
    std::mt19937_64 rng(seed ^ 0xa77ac4);
    auto attach = [&](const char *what, uint64_t at, long long kind) -> void * {
        a.mark(Op::attach);
        void *r = veo_shared_mem_attach(h, owner, (void *)at, kPage, 0, PCI | kind);
        int e = r == (void *)-1 ? errno : 0;
        errors.note(what, e);
        return a.outcome(what, e, {ESRCH, ECANCELED, EBUSY, ENOENT}) ? r : nullptr;
    };
    auto detach = [&](const char *what, void *at, long long kind) {
        a.mark(Op::detach);
        int e = veo_shared_mem_detach(h, at, kind) == 0 ? 0 : errno;
        errors.note(what, e);
        a.outcome(what, e, {EBUSY, ECANCELED});
    };
    auto dma = [&](uint64_t dst, uint64_t src, int len) {
        a.mark(Op::dma);
        ++a.ops;
        int rc = veo_dma_post_wait(h, dst, src, len);
        if (rc != 0)
            a.bad("DMA gave " + std::to_string(rc));
        return rc == 0;
    };
    auto random_piece = [&](uint64_t limit, int *len) {
        *len = (int)(4 + 4 * (rng() % (64 << 10)));
        return 4 * (rng() % ((limit - (uint64_t)*len) / 4));
    };

    void *keep = attach("attach-long", area, VE_REGISTER_VEHVA);
    while (!a.stop_requested()) {
        int len;
        if (void *sv = attach("attach", area, VE_REGISTER_VEHVA)) {
            uint64_t off = random_piece(kPatternBytes, &len);
            if (dma(lv, (uint64_t)sv + off, len) &&
                veshm_test::find_mismatch(lh, (size_t)len, seed, off) >= 0)
                a.bad("pattern read through a new attachment wrong");
            off = random_piece(kPatternBytes, &len);
            uint64_t stamp = rng();
            veshm_test::fill_pattern(lh, (size_t)len, stamp, 0);
            if (dma((uint64_t)sv + kSlotOffset + off, lv, len) &&
                dma(lv + (32 << 20), (uint64_t)sv + kSlotOffset + off, len) &&
                veshm_test::find_mismatch(lh + (32 << 20), (size_t)len, stamp, 0) >= 0)
                a.bad("own slot read back wrong");
            detach("detach", sv, VE_REGISTER_VEHVA);
        }
        if (void *cv = attach("attach-churn", churn, VE_REGISTER_VEHVA)) {
            int n;
            uint64_t off = random_piece(kPage, &n);
            dma((uint64_t)cv + off, lv, n);
            detach("detach", cv, VE_REGISTER_VEHVA);
        }
        if (owner_node == node) {
            if (void *vv = attach("attach-vemva", area, VE_REGISTER_VEMVA)) {
                a.mark(Op::dma);
                uint64_t off = random_piece(kPatternBytes, &len);
                ++a.ops;
                if (veo_hmemcpy(local, (uint8_t *)vv + off, (size_t)len) != 0)
                    a.bad("hmemcpy from a VEMVA attachment failed");
                else if (veshm_test::find_mismatch(lh, (size_t)len, seed, off) >= 0)
                    a.bad("pattern read through a VEMVA attachment wrong");
                detach("detach-vemva", vv, VE_REGISTER_VEMVA);
            }
        }
        a.mark(Op::idle);
    }
    std::string victim = a.last_line_words(1);
    if (keep != nullptr) {
        // Whoever died, an attachment stays valid until detached.
        if (dma(lv, (uint64_t)keep, (int)kPatternBytes) &&
            veshm_test::find_mismatch(lh, kPatternBytes, seed, 0) >= 0)
            a.bad("pattern read through the long-lived attachment wrong");
        detach("detach-long", keep, VE_REGISTER_VEHVA);
    }
    for (const std::string &f : errors.unexplained(attacher_allowed(victim)))
        a.bad(f + " with victim " + victim);
    return a.finish(h, lv, fds_before);
}

} // namespace fault_actor
