// veshm-info: what a user looks at first, like ipcs or ucx_info. Shows the
// emulated VE nodes, the live VE processes of this user and their VESHM
// areas, DMAATB and PCIATB use. --json for scripts.
#include "sys/config.hpp"
#include "wire/info_query.hpp"
#include "sys/numa_placement.hpp"
#include "veo_veshm_defs.h"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace veo::emu;

namespace {

struct Proc {
    pid_t pid;
    InfoReply info;
    std::vector<AreaInfo> areas;
};

std::string flag_names(int64_t flags) {
    static const struct {
        int64_t bit;
        const char *name;
    } names[] = {{VE_SHM_RO, "VE_SHM_RO"},
                 {VE_PCISYNC, "VE_PCISYNC"},
                 {VE_REGISTER_PCI, "VE_REGISTER_PCI"},
                 {VE_MAP_256MB, "VE_MAP_256MB"},
                 {VE_REGISTER_NONE, "VE_REGISTER_NONE"}};
    std::string out;
    for (const auto &n : names)
        if (flags & n.bit) {
            if (!out.empty())
                out += '|';
            out += n.name;
        }
    return out.empty() ? "0" : out;
}

std::string human(uint64_t bytes) {
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    double v = (double)bytes;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    char buf[32];
    snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", v, units[u]);
    return buf;
}

void print_text(const PlatformConfig &c, const std::vector<Proc> &procs, int hidden) {
    printf("VE nodes: %d  memory %s  VE page %s  PCIATB page %s\n", c.nodes,
           human(c.memory_size).c_str(), human(c.page_size).c_str(),
           human(c.pciatb_page_size).c_str());
    printf("  per VE process: PCIATB %u pages, DMAATB %u pages, %u DMA descriptors; VESHM %s\n",
           c.pciatb_entries, c.dmaatb_entries, c.dma_descriptors,
           c.veshm_enabled ? "enabled" : "disabled (VESHM_IVED=off)");
    printf("\n%-5s %-9s %-10s %-12s\n", "node", "numa", "processes", "allocated");
    for (int n = 0; n < c.nodes; ++n) {
        int count = 0;
        uint64_t alloc = 0;
        for (const Proc &p : procs)
            if (p.info.node == n) {
                ++count;
                alloc += p.info.memory_allocated;
            }
        int numa = numa_node_of(n);
        printf("%-5d %-9s %-10d %-12s\n", n, numa < 0 ? "-" : std::to_string(numa).c_str(), count,
               human(alloc).c_str());
    }
    printf("\nVE processes (%zu of this user", procs.size());
    if (hidden)
        printf(", %d of other users not shown", hidden);
    printf(")\n%-8s %-5s %-8s %-11s %-11s %-9s %-9s %-8s %s\n", "pid", "node", "vh-pid",
           "allocated", "resident", "dmaatb", "pciatb", "attached", "state");
    for (const Proc &p : procs) {
        const InfoReply &i = p.info;
        char dma[24], pci[24], att[24];
        snprintf(dma, sizeof dma, "%u/%u", i.dmaatb_pages, i.dmaatb_capacity);
        snprintf(pci, sizeof pci, "%u/%u", i.pciatb_pages, i.pciatb_capacity);
        snprintf(att, sizeof att, "%u+%u", i.vemva_attachments, i.vehva_attachments);
        printf("%-8d %-5d %-8d %-11s %-11s %-9s %-9s %-8s %s\n", (int)p.pid, i.node, i.vh_pid,
               human(i.memory_allocated).c_str(), human(i.memory_resident).c_str(), dma, pci, att,
               i.swapped ? "swapped-out" : "running");
    }
    printf("\nVESHM areas\n%-8s %-20s %-10s %-34s %s\n", "owner", "vemva", "size", "flags",
           "attachments");
    for (const Proc &p : procs)
        for (const AreaInfo &a : p.areas)
            printf("%-8d 0x%-18" PRIx64 " %-10s %-34s %u%s\n", (int)p.pid, a.vemva,
                   human(a.size).c_str(), flag_names(a.flags).c_str(), a.attachments,
                   a.closed ? " (closed)" : "");
}

void print_json(const PlatformConfig &c, const std::vector<Proc> &procs, int hidden) {
    printf("{\n  \"config\": {\"nodes\": %d, \"memory_size\": %" PRIu64 ", \"page_size\": %" PRIu64
           ", \"pciatb_page_size\": %" PRIu64 ", \"pciatb_entries\": %u, \"dmaatb_entries\": %u, "
           "\"dma_descriptors\": %u, \"veshm_enabled\": %s},\n",
           c.nodes, c.memory_size, c.page_size, c.pciatb_page_size, c.pciatb_entries,
           c.dmaatb_entries, c.dma_descriptors, c.veshm_enabled ? "true" : "false");
    printf("  \"nodes\": [");
    for (int n = 0; n < c.nodes; ++n)
        printf("%s{\"node\": %d, \"numa_node\": %d}", n ? ", " : "", n, numa_node_of(n));
    printf("],\n  \"hidden_processes\": %d,\n  \"processes\": [", hidden);
    for (size_t k = 0; k < procs.size(); ++k) {
        const Proc &p = procs[k];
        const InfoReply &i = p.info;
        printf("%s\n    {\"pid\": %d, \"node\": %d, \"vh_pid\": %d, \"memory_allocated\": %" PRIu64
               ", \"memory_resident\": %" PRIu64 ", \"dmaatb_pages\": %u, \"dmaatb_capacity\": %u"
               ", \"pciatb_pages\": %u, \"pciatb_capacity\": %u, \"vemva_attachments\": %u"
               ", \"vehva_attachments\": %u, \"swapped\": %s, \"areas\": [",
               k ? "," : "", (int)p.pid, i.node, i.vh_pid, i.memory_allocated, i.memory_resident,
               i.dmaatb_pages, i.dmaatb_capacity, i.pciatb_pages, i.pciatb_capacity,
               i.vemva_attachments, i.vehva_attachments, i.swapped ? "true" : "false");
        for (size_t j = 0; j < p.areas.size(); ++j) {
            const AreaInfo &a = p.areas[j];
            printf("%s{\"vemva\": %" PRIu64 ", \"size\": %" PRIu64 ", \"flags\": %" PRId64
                   ", \"flag_names\": \"%s\", \"attachments\": %u, \"closed\": %s}",
                   j ? ", " : "", a.vemva, a.size, a.flags, flag_names(a.flags).c_str(),
                   a.attachments, a.closed ? "true" : "false");
        }
        printf("]}");
    }
    printf("\n  ]\n}\n");
}

} // namespace

int main(int argc, char **argv) {
    bool json = false;
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else {
            fprintf(stderr,
                    "usage: %s [--json]\n"
                    "Shows the emulated VE nodes, this user's VE processes, their VESHM\n"
                    "areas and DMAATB/PCIATB use.\n",
                    argv[0]);
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    std::vector<Proc> procs;
    int hidden = 0;
    for (pid_t pid : list_ve_processes()) {
        Proc p{pid, {}, {}};
        int err = query_ve_process(pid, &p.info, &p.areas);
        if (err == 0)
            procs.push_back(std::move(p));
        else if (err == EACCES)
            ++hidden; // another user's: that it exists is all we may say
        else if (err == EBUSY || err == ETIMEDOUT)
            fprintf(stderr, "veshm-info: VE process %d did not answer within VESHM_PEER_TIMEOUT\n",
                    (int)pid);
        // ESRCH: gone meanwhile, or a name that no VE process of that pid holds
    }
    if (json)
        print_json(config(), procs, hidden);
    else
        print_text(config(), procs, hidden);
    return 0;
}
