// Core benchmark: VE memory copies, VE DMA across processes and VESHM control
// paths, each against a plain memcpy of the same size measured in the same
// run (the physical limit of this machine). Prints ratios, not just times.
//
//   bench_core [--quick] [--csv FILE]
//
// --csv appends machine-readable rows (see contrib/bench/README.md) that the
// report command turns into plots.
//
// The owner of the shared area is a separate VH process (this program re-run
// with --owner), so the DMA really crosses process boundaries.
#include <ve_offload.h>
#include <veo_vedma.h>
#include <veo_veshm.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

constexpr size_t kArea = 64UL << 20;
using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const char *what) {
    fprintf(stderr, "bench_core: %s failed (errno %d: %s)\n", what, errno, strerror(errno));
    exit(1);
}

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Best-of-reps bandwidth in GB/s of op and of the reference ref, measured in
// turns so that both see the same machine (other load comes and goes).
std::pair<double, double> bandwidth(size_t size, size_t budget, int reps,
                                    const std::function<void()> &op,
                                    const std::function<void()> &ref) {
    size_t iters = std::max<size_t>(1, budget / size);
    auto once = [&](const std::function<void()> &f) {
        auto t0 = Clock::now();
        for (size_t i = 0; i < iters; ++i)
            f();
        return (double)size * (double)iters / seconds_since(t0) / 1e9;
    };
    op(); // warm: first touch of pages is not what we measure
    ref();
    double best = 0, best_ref = 0;
    for (int r = 0; r < reps; ++r) {
        best_ref = std::max(best_ref, once(ref));
        best = std::max(best, once(op));
    }
    return {best, best_ref};
}

struct Stats {
    double median_ns, p99_ns;
};

Stats latency(int n, const std::function<void()> &op) {
    std::vector<double> ns(n);
    for (int i = 0; i < n / 10; ++i)
        op();
    for (int i = 0; i < n; ++i) {
        auto t0 = Clock::now();
        op();
        ns[i] = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    }
    std::sort(ns.begin(), ns.end());
    return {ns[n / 2], ns[(size_t)(n * 0.99)]};
}

int run_owner() {
    veo_proc_handle *h = veo_proc_create(0);
    if (!h)
        die("owner veo_proc_create");
    void *area = nullptr;
    if (veo_posix_memalign_hmem(h, &area, kArea, kArea) != 0)
        die("owner alloc");
    std::vector<char> pattern(kArea);
    for (size_t i = 0; i < kArea; ++i)
        pattern[i] = (char)(i * 131 + 7);
    if (veo_hmemcpy(area, pattern.data(), kArea) != 0)
        die("owner fill");
    if (veo_shared_mem_open(area, kArea, 0, VE_REGISTER_PCI) != 0)
        die("owner open");
    printf("%d %p\n", (int)veo_get_pid_from_hmem(area), area);
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0) {
    }
    veo_shared_mem_close(area, kArea, 0, VE_REGISTER_PCI);
    veo_proc_destroy(h);
    return 0;
}

struct Row {
    std::string what;
    size_t size;
    double gbs, ref;
};

FILE *csv = nullptr;

// bench,series,size,value,reference,unit,kind
void csv_row(const char *series, size_t size, double value, double ref, const char *unit,
             const char *kind) {
    if (csv)
        fprintf(csv, "core,%s,%zu,%.6g,%.6g,%s,%s\n", series, size, value, ref, unit, kind);
}

void print_lat(const char *what, size_t size, Stats st, Stats ref) {
    printf("%-34s %12.3f %12.3f %13.1fx\n", what, st.median_ns / 1e3, st.p99_ns / 1e3,
           st.median_ns / ref.median_ns);
    csv_row(what, size, st.median_ns / 1e3, ref.median_ns / 1e3, "us", "latency");
}

void print_bw(const std::vector<Row> &rows) {
    printf("\n%-28s %10s %12s %12s %8s\n", "bandwidth", "size", "GB/s", "memcpy GB/s", "ratio");
    for (const Row &r : rows) {
        char sz[32];
        if (r.size >= (1 << 20))
            snprintf(sz, sizeof sz, "%zu MiB", r.size >> 20);
        else
            snprintf(sz, sizeof sz, "%zu KiB", r.size >> 10);
        printf("%-28s %10s %12.2f %12.2f %7.2fx\n", r.what.c_str(), sz, r.gbs, r.ref,
               r.gbs / r.ref);
        csv_row(r.what.c_str(), r.size, r.gbs, r.ref, "GB/s", "bandwidth");
    }
}

} // namespace

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--owner") == 0)
        return run_owner();
    bool quick = false;
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (strcmp(argv[i], "--csv") == 0 && i + 1 < argc) {
            csv = fopen(argv[++i], "a");
            if (!csv)
                die("opening the CSV file");
        } else {
            fprintf(stderr, "usage: %s [--quick] [--csv FILE]\n", argv[0]);
            return 2;
        }
    }
    const size_t budget = quick ? (256UL << 20) : (1UL << 30);
    const int reps = quick ? 2 : 4;

    // The owner: another VH process with its VE process on node 0.
    int to_owner[2], from_owner[2];
    if (pipe(to_owner) || pipe(from_owner))
        die("pipe");
    pid_t owner = fork();
    if (owner == 0) {
        dup2(to_owner[0], 0);
        dup2(from_owner[1], 1);
        close(to_owner[1]);
        close(from_owner[0]);
        execl("/proc/self/exe", argv[0], "--owner", (char *)nullptr);
        _exit(127);
    }
    close(to_owner[0]);
    close(from_owner[1]);
    FILE *in = fdopen(from_owner[0], "r");
    int owner_ve_pid = 0;
    void *owner_area = nullptr;
    if (fscanf(in, "%d %p", &owner_ve_pid, &owner_area) != 2)
        die("reading the owner's area");

    veo_proc_handle *h = veo_proc_create(1);
    if (!h)
        die("veo_proc_create");
    void *local = nullptr;
    if (veo_posix_memalign_hmem(h, &local, kArea, kArea) != 0)
        die("alloc");
    uint64_t local_vehva = veo_register_mem_to_dmaatb(local, kArea);
    if (local_vehva == (uint64_t)-1)
        die("register_mem_to_dmaatb");
    void *remote = veo_shared_mem_attach(h, owner_ve_pid, owner_area, kArea, 0,
                                         VE_REGISTER_PCI | VE_REGISTER_VEHVA);
    if (remote == (void *)-1)
        die("attach");
    uint64_t remote_vehva = (uint64_t)remote;
    uint64_t local_vemva = (uint64_t)veo_get_hmem_addr(local);

    std::vector<char> src(kArea, 1), dst(kArea, 2);
    std::vector<size_t> sizes;
    for (size_t s = 1 << 10; s <= kArea; s *= 4)
        sizes.push_back(s);

    printf("veshm core benchmark (%s), %s\n", veo_version_string(), quick ? "quick" : "full");
    printf("owner VE process %d (node 0), this VE process on node 1\n", owner_ve_pid);
    std::vector<Row> rows;
    for (size_t size : sizes) {
        auto ref = [&] { memcpy(dst.data(), src.data(), size); };
        auto add = [&](const char *what, const std::function<void()> &op) {
            auto [gbs, ref_gbs] = bandwidth(size, budget, reps, op, ref);
            rows.push_back({what, size, gbs, ref_gbs});
        };
        add("hmemcpy VH->VE", [&] {
            if (veo_hmemcpy(local, src.data(), size))
                die("hmemcpy");
        });
        add("hmemcpy VE->VH", [&] {
            if (veo_hmemcpy(dst.data(), local, size))
                die("hmemcpy");
        });
        add("veo_write_mem", [&] {
            if (veo_write_mem(h, local_vemva, src.data(), size))
                die("write_mem");
        });
        add("veo_read_mem", [&] {
            if (veo_read_mem(h, dst.data(), local_vemva, size))
                die("read_mem");
        });
        // Across processes: the largest DMA is 128 MiB - 4, our area 64 MiB.
        int dsize = (int)std::min<size_t>(size, kArea - 4);
        add("DMA post_wait get (remote)", [&] {
            if (veo_dma_post_wait(h, local_vehva, remote_vehva, dsize))
                die("dma get");
        });
        add("DMA post_wait put (remote)", [&] {
            if (veo_dma_post_wait(h, remote_vehva, local_vehva, dsize))
                die("dma put");
        });
        add("DMA post+poll get (remote)", [&] {
            ve_dma_handle_t hd;
            if (veo_dma_post(h, local_vehva, remote_vehva, dsize, &hd))
                die("dma post");
            int rc;
            while ((rc = veo_dma_poll(h, &hd)) == -EAGAIN) {
            }
            if (rc)
                die("dma poll");
        });
    }
    print_bw(rows);

    const int n = quick ? 20000 : 200000;
    printf("\n%-34s %12s %12s %14s\n", "latency", "median us", "p99 us", "vs memcpy");
    Stats ref4 = latency(n, [&] { memcpy(dst.data(), src.data(), 4); });
    print_lat("memcpy 4 B (reference)", 4, ref4, ref4);
    print_lat("DMA post+poll 4 B (remote)", 4,
              latency(n,
                      [&] {
                          ve_dma_handle_t hd;
                          if (veo_dma_post(h, remote_vehva, local_vehva, 4, &hd))
                              die("dma post");
                          while (veo_dma_poll(h, &hd) == -EAGAIN) {
                          }
                      }),
              ref4);
    print_lat("veo_write_mem 1 B", 1,
              latency(n,
                      [&] {
                          if (veo_write_mem(h, local_vemva, src.data(), 1))
                              die("write_mem");
                      }),
              ref4);
    print_lat("veo_read_mem 1 B", 1,
              latency(n,
                      [&] {
                          if (veo_read_mem(h, dst.data(), local_vemva, 1))
                              die("read_mem");
                      }),
              ref4);

    const int m = quick ? 500 : 3000;
    print_lat("attach VEHVA + detach (uncached)", kArea,
              latency(m,
                      [&] {
                          void *a = veo_shared_mem_attach(h, owner_ve_pid, owner_area, kArea, 0,
                                                          VE_REGISTER_PCI | VE_REGISTER_VEHVA);
                          if (a == (void *)-1 || veo_shared_mem_detach(h, a, VE_REGISTER_VEHVA))
                              die("attach/detach");
                      }),
              ref4);
    print_lat("open + close", kArea,
              latency(m,
                      [&] {
                          if (veo_shared_mem_open(local, kArea, 0, VE_REGISTER_PCI) ||
                              veo_shared_mem_close(local, kArea, 0, VE_REGISTER_PCI))
                              die("open/close");
                      }),
              ref4);
    print_lat("register_mem_to_dmaatb + unreg", kArea,
              latency(m,
                      [&] {
                          uint64_t v = veo_register_mem_to_dmaatb(local, kArea);
                          if (v == (uint64_t)-1 || veo_unregister_mem_from_dmaatb(h, v))
                              die("register/unregister");
                      }),
              ref4);

    veo_shared_mem_detach(h, remote, VE_REGISTER_VEHVA);
    veo_unregister_mem_from_dmaatb(h, local_vehva);
    veo_proc_destroy(h);
    close(to_owner[1]);
    waitpid(owner, nullptr, 0);
    return 0;
}
