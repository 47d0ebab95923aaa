// Call benchmark: the four call-latency tests of AVEO's benchmark (submit N
// then wait N; call-and-wait N times; submit N and wait for the last; N
// synchronous calls) of an empty VE function, and 1-byte veo_write_mem /
// veo_read_mem.
//
//   bench_calls [--quick] [--csv FILE] [--lib VE_LIBRARY]
//
// References, measured in the same run: for calls, a round trip between two
// processes that spin on a shared cache line (the physical limit of any
// cross-process call on this machine); for the copies, a 1-byte memcpy.
// AVEO's published figures on a VE10B are printed for comparison.
#include <ve_offload.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
FILE *csv = nullptr;

[[noreturn]] void die(const char *what) {
    fprintf(stderr, "bench_calls: %s failed\n", what);
    exit(1);
}

double us_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

struct Stats {
    double median, p99; // us
};

Stats stats_of(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return {v[v.size() / 2], v[std::min(v.size() - 1, (size_t)((double)v.size() * 0.99))]};
}

// Each operation timed on its own.
Stats per_op(int n, const std::function<void()> &op) {
    for (int i = 0; i < n / 10 + 1; ++i)
        op();
    std::vector<double> t((size_t)n);
    for (int i = 0; i < n; ++i) {
        auto t0 = Clock::now();
        op();
        t[(size_t)i] = us_since(t0);
    }
    return stats_of(t);
}

// A batch of n operations timed as a whole, reps times: time per operation.
// after (untimed) cleans up behind each batch.
Stats per_batch(
    int reps, int n, const std::function<void()> &batch,
    const std::function<void()> &after = [] {}) {
    batch();
    after();
    std::vector<double> t;
    for (int r = 0; r < reps; ++r) {
        auto t0 = Clock::now();
        batch();
        t.push_back(us_since(t0) / n);
        after();
    }
    return stats_of(t);
}

// Two processes bouncing a counter on a shared cache line.
Stats shm_ping_pong(int n) {
    auto *line = static_cast<std::atomic<uint64_t> *>(
        mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    if (line == MAP_FAILED)
        die("mmap");
    new (line) std::atomic<uint64_t>(0);
    pid_t child = fork();
    if (child == 0) {
        uint64_t v = 0;
        for (;;) {
            uint64_t x;
            while ((x = line->load(std::memory_order_acquire)) == v)
                __builtin_ia32_pause();
            if (x == ~0ULL)
                _exit(0);
            v = x + 1;
            line->store(v, std::memory_order_release);
        }
    }
    uint64_t v = 0;
    Stats s = per_op(n, [&] {
        line->store(v + 1, std::memory_order_release);
        while (line->load(std::memory_order_acquire) != v + 2)
            __builtin_ia32_pause();
        v += 2;
    });
    line->store(~0ULL);
    waitpid(child, nullptr, 0);
    munmap(line, 4096);
    return s;
}

void row(const char *what, const char *series, size_t size, int n, Stats s, Stats ref,
         const char *aveo) {
    printf("%-40s %8d %10.3f %10.3f %12.3f %8.1fx %14s\n", what, n, s.median, s.p99, ref.median,
           s.median / ref.median, aveo);
    if (csv)
        fprintf(csv, "calls,%s,%zu,%.6g,%.6g,us,latency\n", series, size, s.median, ref.median);
}

} // namespace

int main(int argc, char **argv) {
    bool quick = false;
    const char *lib_path = BENCH_VE_LIB;
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (strcmp(argv[i], "--csv") == 0 && i + 1 < argc) {
            csv = fopen(argv[++i], "a");
            if (!csv)
                die("opening the CSV file");
        } else if (strcmp(argv[i], "--lib") == 0 && i + 1 < argc) {
            lib_path = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--quick] [--csv FILE] [--lib VE_LIBRARY]\n", argv[0]);
            return 2;
        }
    }
    const int n = quick ? 20000 : 200000;   // timed one by one
    const int batch = quick ? 2000 : 10000; // requests per batch
    const int reps = quick ? 10 : 40;       // batches

    veo_proc_handle *h = veo_proc_create(-1);
    if (!h)
        die("veo_proc_create");
    uint64_t lib = veo_load_library(h, lib_path);
    if (!lib)
        die("veo_load_library");
    uint64_t fn = veo_get_sym(h, lib, "bench_empty");
    if (!fn)
        die("veo_get_sym");
    veo_thr_ctxt *ctx = veo_context_open(h);
    if (!ctx)
        die("veo_context_open");
    veo_args *args = veo_args_alloc();
    uint64_t mem = 0;
    if (veo_alloc_mem(h, &mem, 4096))
        die("veo_alloc_mem");

    printf("veshm call benchmark (%s), %s, %ld cores\n", veo_version_string(),
           quick ? "quick" : "full", sysconf(_SC_NPROCESSORS_ONLN));
    printf("\n%-40s %8s %10s %10s %12s %9s %14s\n", "latency per call (us)", "n", "median", "p99",
           "reference", "ratio", "AVEO VE10B");

    Stats pp = shm_ping_pong(n);
    row("reference: shm ping-pong round trip", "shm ping-pong (reference)", 0, n, pp, pp, "-");

    std::vector<uint64_t> reqs((size_t)batch);
    auto wait = [&](uint64_t req) {
        uint64_t r;
        if (veo_call_wait_result(ctx, req, &r) != VEO_COMMAND_OK)
            die("veo_call_wait_result");
    };
    row("submit N, then wait for each", "submit N then wait N", 0, batch,
        per_batch(reps, batch,
                  [&] {
                      for (auto &q : reqs)
                          q = veo_call_async(ctx, fn, args);
                      for (auto q : reqs)
                          wait(q);
                  }),
        pp, "5.6");
    row("call and wait, N times", "call-and-wait", 0, n,
        per_op(n, [&] { wait(veo_call_async(ctx, fn, args)); }), pp, "~10");
    row("submit N, wait for the last", "submit N wait last", 0, batch,
        per_batch(
            reps, batch,
            [&] {
                for (auto &q : reqs)
                    q = veo_call_async(ctx, fn, args);
                wait(reqs.back());
            },
            [&] { // the others' results, so that nothing piles up
                for (size_t i = 0; i + 1 < reqs.size(); ++i)
                    wait(reqs[i]);
            }),
        pp, "-");
    row("N synchronous calls (veo_call_sync)", "call_sync", 0, n,
        per_op(n,
               [&] {
                   uint64_t r;
                   if (veo_call_sync(h, fn, args, &r))
                       die("veo_call_sync");
               }),
        pp, "-");

    char byte = 1, sink = 0;
    Stats mc = per_op(n, [&] {
        memcpy(&sink, &byte, 1);
        asm volatile("" ::: "memory");
    });
    row("reference: memcpy 1 B", "memcpy 1 B (reference)", 1, n, mc, mc, "-");
    row("veo_write_mem 1 B", "veo_write_mem 1 B", 1, n,
        per_op(n,
               [&] {
                   if (veo_write_mem(h, mem, &byte, 1))
                       die("veo_write_mem");
               }),
        mc, "11.9");
    row("veo_read_mem 1 B", "veo_read_mem 1 B", 1, n,
        per_op(n,
               [&] {
                   if (veo_read_mem(h, &sink, mem, 1))
                       die("veo_read_mem");
               }),
        mc, "12.9");

    veo_free_mem(h, mem);
    veo_args_free(args);
    veo_proc_destroy(h);
    return 0;
}
