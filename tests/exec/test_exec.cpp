// VE code execution: libraries, symbols, every argument type, stack
// arguments, contexts, requests in flight, order, async memory, hooks.
#include "exec_test_support.hpp"

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstring>
#include <dirent.h>
#include <thread>
#include <vector>

using namespace veshm_test;

namespace {

uint64_t bits_of(double v) {
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}
uint64_t bits_of(float v) {
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

} // namespace

TEST_F(ExecTest, LibrariesAndSymbols) {
    uint64_t add = veo_get_sym(proc, lib, "ve_add");
    EXPECT_NE(0u, add);
    EXPECT_EQ(add, veo_get_sym(proc, lib, "ve_add")); // cached or not, the same
    EXPECT_EQ(0u, veo_get_sym(proc, lib, "no_such_symbol"));
    EXPECT_EQ(0u, veo_get_sym(proc, lib, ""));
    EXPECT_EQ(0u, veo_get_sym(proc, lib, nullptr));
    EXPECT_EQ(0u, veo_get_sym(proc, 12345, "ve_add")); // not a library handle

    // Two libraries with the same symbol: each handle finds its own.
    uint64_t lib2 = veo_load_library(proc, VE_LIB2);
    ASSERT_NE(0u, lib2);
    uint64_t add2 = veo_get_sym(proc, lib2, "ve_add");
    ASSERT_NE(0u, add2);
    EXPECT_NE(add, add2);
    Args a;
    veo_args_set_u64(a, 0, 1);
    veo_args_set_u64(a, 1, 2);
    uint64_t r = 0;
    EXPECT_EQ(0, veo_call_sync(proc, add, a, &r));
    EXPECT_EQ(3u, r);
    EXPECT_EQ(0, veo_call_sync(proc, add2, a, &r));
    EXPECT_EQ(1003u, r);
    // Handle 0 looks everywhere.
    EXPECT_NE(0u, veo_get_sym(proc, 0, "ve_only_in_lib2"));
    EXPECT_EQ(0, veo_unload_library(proc, lib2));
    EXPECT_EQ(0u, veo_get_sym(proc, 0, "ve_only_in_lib2"));
    EXPECT_EQ(-1, veo_unload_library(proc, lib2)); // twice
    EXPECT_EQ(-1, veo_unload_library(proc, 0));

    // Loads are counted: loaded twice, it stays until unloaded twice.
    uint64_t again = veo_load_library(proc, VE_LIB);
    EXPECT_EQ(lib, again);
    EXPECT_EQ(0, veo_unload_library(proc, again));
    EXPECT_EQ(add, veo_get_sym(proc, lib, "ve_add"));

    EXPECT_EQ(0u, veo_load_library(proc, "/nonexistent/libnothing.so"));
    EXPECT_EQ(0u, veo_load_library(proc, ""));
    EXPECT_EQ(0u, veo_load_library(nullptr, VE_LIB));
}

TEST_F(ExecTest, EveryArgumentType) {
    struct Case {
        const char *fn;
        int (*set)(Args &);
        uint64_t expect;
    };
    const Case cases[] = {
        {"ve_echo_i64", [](Args &a) { return veo_args_set_i64(a, 0, INT64_MIN + 5); },
         (uint64_t)(INT64_MIN + 5)},
        {"ve_echo_u64", [](Args &a) { return veo_args_set_u64(a, 0, UINT64_MAX - 7); },
         UINT64_MAX - 7},
        {"ve_echo_i32", [](Args &a) { return veo_args_set_i32(a, 0, -123456); },
         (uint64_t)(int64_t)-123456},
        {"ve_echo_u32", [](Args &a) { return veo_args_set_u32(a, 0, 0xfffffff0u); }, 0xfffffff0u},
        {"ve_echo_i16", [](Args &a) { return veo_args_set_i16(a, 0, -30000); },
         (uint64_t)(int64_t)-30000},
        {"ve_echo_u16", [](Args &a) { return veo_args_set_u16(a, 0, 65000); }, 65000},
        {"ve_echo_i8", [](Args &a) { return veo_args_set_i8(a, 0, -100); },
         (uint64_t)(int64_t)-100},
        {"ve_echo_u8", [](Args &a) { return veo_args_set_u8(a, 0, 250); }, 250},
        {"ve_double_bits", [](Args &a) { return veo_args_set_double(a, 0, -2.5e300); },
         bits_of(-2.5e300)},
        {"ve_float_bits", [](Args &a) { return veo_args_set_float(a, 0, 3.25f); }, bits_of(3.25f)},
    };
    for (const Case &c : cases) {
        Args a;
        ASSERT_EQ(0, c.set(a)) << c.fn;
        EXPECT_EQ(c.expect, call(c.fn, a)) << c.fn;
    }

    Args a;
    veo_args_set_i64(a, 0, -1000000);
    veo_args_set_u64(a, 1, 2000000);
    veo_args_set_i32(a, 2, -30000);
    veo_args_set_u32(a, 3, 40000);
    veo_args_set_i16(a, 4, -500);
    veo_args_set_u16(a, 5, 600);
    veo_args_set_i8(a, 6, -7);
    veo_args_set_u8(a, 7, 8);
    veo_args_set_double(a, 8, 1.5);
    veo_args_set_float(a, 9, 2.5f);
    int64_t expect = -1000000 + 2000000 - 30000 + 40000 - 500 + 600 - 7 + 8 + 1500 + 250;
    EXPECT_EQ((uint64_t)expect, call("ve_all_types", a));

    // The same object again after clear: nothing of the old arguments stays.
    veo_args_clear(a);
    veo_args_set_u64(a, 0, 40);
    veo_args_set_u64(a, 1, 2);
    EXPECT_EQ(42u, call("ve_add", a));
}

TEST_F(ExecTest, AllArgumentSlots) {
    Args a;
    uint64_t expect = 0;
    for (int i = 0; i < VEO_MAX_NUM_ARGS; ++i) {
        ASSERT_EQ(0, veo_args_set_u64(a, i, (uint64_t)i * 3 + 1));
        expect += ((uint64_t)i * 3 + 1) * (uint64_t)(i + 1);
    }
    EXPECT_EQ(expect, call("ve_sum256", a));
    EXPECT_EQ(-1, veo_args_set_u64(a, VEO_MAX_NUM_ARGS, 1));
    EXPECT_EQ(-1, veo_args_set_i32(a, -1, 1));
    EXPECT_EQ(-1, veo_args_set_double(nullptr, 0, 1.0));

    Args m;
    double expect_m = 0;
    for (int k = 0; k < 40; ++k) {
        if (k % 2 == 0) {
            veo_args_set_i64(m, k, k - 20);
            expect_m += (double)(k - 20) * (k + 1);
        } else {
            veo_args_set_double(m, k, k * 0.5);
            expect_m += k * 0.5 * (k + 1);
        }
    }
    EXPECT_EQ((uint64_t)(int64_t)expect_m, call("ve_mixed40", m));

    // Arguments nobody set are zero.
    Args gap;
    veo_args_set_u64(gap, 1, 5);
    EXPECT_EQ(5u, call("ve_add", gap));
}

TEST_F(ExecTest, StackArgumentsInEveryIntent) {
    std::vector<uint8_t> in(1000);
    uint64_t expect = 0;
    for (size_t i = 0; i < in.size(); ++i) {
        in[i] = (uint8_t)(i * 13 + 5);
        expect += in[i] * (i + 1);
    }
    Args a;
    ASSERT_EQ(0, veo_args_set_stack(a, VEO_INTENT_IN, 0, (char *)in.data(), in.size()));
    veo_args_set_u64(a, 1, in.size());
    EXPECT_EQ(expect, call("ve_stack_in", a));

    std::vector<uint8_t> out(3000, 0xee);
    Args b;
    ASSERT_EQ(0, veo_args_set_stack(b, VEO_INTENT_OUT, 0, (char *)out.data(), out.size()));
    veo_args_set_u64(b, 1, out.size());
    EXPECT_EQ(out.size(), call("ve_stack_out", b));
    for (size_t i = 0; i < out.size(); ++i)
        ASSERT_EQ((uint8_t)(i * 3 + 1), out[i]) << i;

    std::vector<int32_t> io(257);
    for (size_t i = 0; i < io.size(); ++i)
        io[i] = (int32_t)i - 100;
    Args c;
    ASSERT_EQ(0, veo_args_set_stack(c, VEO_INTENT_INOUT, 0, (char *)io.data(),
                                    io.size() * sizeof(int32_t)));
    veo_args_set_u64(c, 1, io.size());
    EXPECT_EQ(io.size(), call("ve_stack_inout", c));
    for (size_t i = 0; i < io.size(); ++i)
        ASSERT_EQ(((int32_t)i - 100) * 2 + 1, io[i]) << i;

    // Several stack arguments of different intents in one call, with a
    // register argument between them; an IN buffer is never written back.
    const uint64_t n = 64;
    std::vector<int32_t> vin(n), vout(n, -1), vio(n);
    for (uint64_t i = 0; i < n; ++i) {
        vin[i] = (int32_t)i;
        vio[i] = (int32_t)(i * 100);
    }
    std::vector<int32_t> vin_copy = vin;
    Args d;
    veo_args_set_stack(d, VEO_INTENT_IN, 0, (char *)vin.data(), n * 4);
    veo_args_set_stack(d, VEO_INTENT_OUT, 1, (char *)vout.data(), n * 4);
    veo_args_set_u64(d, 2, n);
    veo_args_set_stack(d, VEO_INTENT_INOUT, 3, (char *)vio.data(), n * 4);
    uint64_t out_addr = call("ve_stack_multi", d);
    EXPECT_NE(0u, out_addr); // the callee saw a VE address
    for (uint64_t i = 0; i < n; ++i) {
        ASSERT_EQ((int32_t)(i + i * 100), vout[i]);
        ASSERT_EQ((int32_t)(i * 1000), vio[i]);
    }
    EXPECT_EQ(vin_copy, vin);

    // A big one (stack arguments of AVEO may be up to 63 MB).
    std::vector<uint8_t> big(8 << 20);
    Args e;
    veo_args_set_stack(e, VEO_INTENT_OUT, 0, (char *)big.data(), big.size());
    veo_args_set_u64(e, 1, big.size());
    EXPECT_EQ(big.size(), call("ve_stack_out", e));
    EXPECT_EQ((uint8_t)((big.size() - 1) * 3 + 1), big.back());

    EXPECT_EQ(-1, veo_args_set_stack(e, VEO_INTENT_IN, 0, nullptr, 8));
    EXPECT_EQ(-1, veo_args_set_stack(e, (veo_args_intent)7, 0, (char *)big.data(), 8));
    EXPECT_EQ(-1, veo_args_set_stack(e, VEO_INTENT_IN, VEO_MAX_NUM_ARGS, (char *)big.data(), 8));
}

TEST_F(ExecTest, VeCodeSeesVeMemory) {
    const size_t len = 1 << 20;
    void *hmem = nullptr;
    ASSERT_EQ(0, veo_alloc_hmem(proc, &hmem, len));
    Args a;
    ASSERT_EQ(0, veo_args_set_hmem(a, 0, hmem));
    veo_args_set_u64(a, 1, len);
    veo_args_set_u64(a, 2, 9);
    EXPECT_EQ(len, call("ve_fill", a));
    std::vector<uint8_t> back(len);
    ASSERT_EQ(0, veo_hmemcpy(back.data(), hmem, len));
    for (size_t i = 0; i < len; i += 4093)
        ASSERT_EQ((uint8_t)(9 + i * 7), back[i]) << i;

    // A veo_alloc_mem address, and veo_get_hmem_addr() of an HMEM address.
    uint64_t vemva = 0;
    ASSERT_EQ(0, veo_alloc_mem(proc, &vemva, 4096));
    uint64_t v = 0x1122334455667788ULL;
    ASSERT_EQ(0, veo_write_mem(proc, vemva, &v, sizeof v));
    Args b;
    veo_args_set_u64(b, 0, vemva);
    EXPECT_EQ(v, call("ve_load64", b));
    Args c;
    veo_args_set_u64(c, 0, (uint64_t)veo_get_hmem_addr(hmem));
    veo_args_set_u64(c, 1, 16);
    uint64_t sum = 0;
    for (int i = 0; i < 16; ++i)
        sum += (uint8_t)(9 + i * 7);
    EXPECT_EQ(sum, call("ve_sum", c));
    EXPECT_EQ(0, veo_free_mem(proc, vemva));
    EXPECT_EQ(0, veo_free_hmem(hmem));
}

TEST_F(ExecTest, ContextsAndTheirAttributes) {
    EXPECT_EQ(0, veo_num_contexts(proc));
    EXPECT_EQ(nullptr, veo_get_context(proc, 0));
    veo_thr_ctxt *first = veo_context_open(proc); // the main context, as in AVEO
    ASSERT_NE(nullptr, first);
    EXPECT_EQ(1, veo_num_contexts(proc));
    veo_thr_ctxt *second = veo_context_open(proc);
    ASSERT_NE(nullptr, second);
    EXPECT_NE(first, second);
    EXPECT_EQ(2, veo_num_contexts(proc));
    EXPECT_EQ(first, veo_get_context(proc, 0));
    EXPECT_EQ(second, veo_get_context(proc, 1));
    EXPECT_EQ(nullptr, veo_get_context(proc, 2));
    EXPECT_EQ(nullptr, veo_get_context(proc, -1));
    EXPECT_EQ(VEO_STATE_RUNNING, veo_get_context_state(first));
    EXPECT_EQ(VEO_STATE_RUNNING, veo_get_context_state(second));

    veo_thr_ctxt_attr *attr = veo_alloc_thr_ctxt_attr();
    ASSERT_NE(nullptr, attr);
    size_t sz = 0;
    EXPECT_EQ(0, veo_get_thr_ctxt_stacksize(attr, &sz));
    EXPECT_EQ(0x8000000u, sz); // AVEO's default
    EXPECT_EQ(-1, veo_set_thr_ctxt_stacksize(attr, 4096));
    EXPECT_EQ(EINVAL, errno);
    EXPECT_EQ(0, veo_set_thr_ctxt_stacksize(attr, 256 << 20));
    EXPECT_EQ(0, veo_get_thr_ctxt_stacksize(attr, &sz));
    EXPECT_EQ(256u << 20, sz);
    veo_thr_ctxt *big = veo_context_open_with_attr(proc, attr);
    ASSERT_NE(nullptr, big);
    EXPECT_EQ(0, veo_free_thr_ctxt_attr(attr));
    EXPECT_EQ(-1, veo_free_thr_ctxt_attr(nullptr));
    EXPECT_EQ(nullptr, veo_context_open_with_attr(proc, nullptr));
    // About 200 MB of stack: more than a default thread has.
    Args a;
    veo_args_set_u64(a, 0, 2000000);
    uint64_t req = veo_call_async(big, sym("ve_recurse"), a);
    ASSERT_NE(VEO_REQUEST_ID_INVALID, req);
    uint64_t r = 0;
    EXPECT_EQ(VEO_COMMAND_OK, veo_call_wait_result(big, req, &r));
    EXPECT_EQ(2000000u, r);
    EXPECT_EQ(3, veo_num_contexts(proc));

    EXPECT_EQ(0, veo_context_close(big));
    EXPECT_EQ(0, veo_context_close(second));
    EXPECT_EQ(0, veo_context_close(first)); // the main one stays
    EXPECT_EQ(1, veo_num_contexts(proc));
    EXPECT_EQ(VEO_STATE_RUNNING, veo_get_context_state(first));
    EXPECT_EQ(-1, veo_context_close(nullptr));
    EXPECT_EQ(VEO_STATE_UNKNOWN, veo_get_context_state(nullptr));
}

TEST_F(ExecTest, ResultsPeekWaitAndUnknownRequests) {
    veo_thr_ctxt *ctx = veo_context_open(proc);
    ASSERT_NE(nullptr, ctx);
    Args a;
    veo_args_set_u64(a, 0, 200000); // 200 ms
    uint64_t slow = veo_call_async(ctx, sym("ve_sleep_us"), a);
    ASSERT_NE(VEO_REQUEST_ID_INVALID, slow);
    uint64_t r = 0;
    EXPECT_EQ(VEO_COMMAND_UNFINISHED, veo_call_peek_result(ctx, slow, &r));
    EXPECT_EQ(VEO_COMMAND_OK, veo_call_wait_result(ctx, slow, &r));
    EXPECT_EQ(200000u, r);
    EXPECT_EQ(VEO_COMMAND_ERROR, veo_call_wait_result(ctx, slow, &r)); // taken already
    EXPECT_EQ(VEO_COMMAND_ERROR, veo_call_peek_result(ctx, slow, &r));
    EXPECT_EQ(VEO_COMMAND_ERROR, veo_call_wait_result(ctx, slow + 1000, &r)); // never issued
    EXPECT_EQ(VEO_COMMAND_ERROR, veo_call_wait_result(ctx, VEO_REQUEST_ID_INVALID, &r));
    EXPECT_EQ(VEO_REQUEST_ID_INVALID, veo_call_async(ctx, 0, a));
    EXPECT_EQ(VEO_REQUEST_ID_INVALID, veo_call_async_by_name(ctx, lib, "no_such_symbol", a));
    Args b;
    veo_args_set_u64(b, 0, 20);
    veo_args_set_u64(b, 1, 22);
    uint64_t byname = veo_call_async_by_name(ctx, lib, "ve_add", b);
    ASSERT_NE(VEO_REQUEST_ID_INVALID, byname);
    EXPECT_EQ(VEO_COMMAND_OK, veo_call_wait_result(ctx, byname, &r));
    EXPECT_EQ(42u, r);
    // Peek until done.
    uint64_t quick = veo_call_async(ctx, sym("ve_add"), b);
    int rc;
    while ((rc = veo_call_peek_result(ctx, quick, &r)) == VEO_COMMAND_UNFINISHED) {
    }
    EXPECT_EQ(VEO_COMMAND_OK, rc);
    EXPECT_EQ(42u, r);
}

TEST_F(ExecTest, ManyRequestsInFlight) {
    veo_thr_ctxt *ctx = veo_context_open(proc);
    ASSERT_NE(nullptr, ctx);
    uint64_t add = sym("ve_add");
    // Far more than the ring holds; results taken in reverse order.
    const int n = 5000;
    std::vector<uint64_t> reqs;
    Args a;
    for (int i = 0; i < n; ++i) {
        veo_args_set_u64(a, 0, (uint64_t)i);
        veo_args_set_u64(a, 1, 1000000);
        uint64_t req = veo_call_async(ctx, add, a);
        ASSERT_NE(VEO_REQUEST_ID_INVALID, req);
        reqs.push_back(req);
    }
    for (int i = n - 1; i >= 0; --i) {
        uint64_t r = 0;
        ASSERT_EQ(VEO_COMMAND_OK, veo_call_wait_result(ctx, reqs[(size_t)i], &r));
        ASSERT_EQ((uint64_t)i + 1000000, r);
    }
    // Stack arguments in flight: each request has its own copy.
    std::vector<std::vector<uint8_t>> outs(600, std::vector<uint8_t>(100));
    reqs.clear();
    for (auto &o : outs) {
        Args s;
        veo_args_set_stack(s, VEO_INTENT_OUT, 0, (char *)o.data(), o.size());
        veo_args_set_u64(s, 1, o.size());
        reqs.push_back(veo_call_async(ctx, sym("ve_stack_out"), s));
    }
    veo_context_sync(ctx);
    for (size_t i = 0; i < outs.size(); ++i) {
        uint64_t r = 0;
        ASSERT_EQ(VEO_COMMAND_OK, veo_call_wait_result(ctx, reqs[i], &r));
        ASSERT_EQ(199, outs[i][66]);
    }
}

TEST_F(ExecTest, ManyContextsAtOnce) {
    const int contexts = 8, calls = 300;
    std::vector<veo_thr_ctxt *> ctxs;
    for (int i = 0; i < contexts; ++i) {
        ctxs.push_back(veo_context_open(proc));
        ASSERT_NE(nullptr, ctxs.back());
    }
    uint64_t append = sym("ve_append");
    // One log per context, each context's requests appended in order, driven
    // from one VH thread per context.
    std::vector<uint64_t> logs(contexts);
    for (auto &l : logs)
        ASSERT_EQ(0, veo_alloc_mem(proc, &l, (calls + 1) * sizeof(uint64_t)));
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int c = 0; c < contexts; ++c)
        threads.emplace_back([&, c] {
            std::vector<uint64_t> reqs;
            for (int i = 0; i < calls; ++i) {
                Args a;
                veo_args_set_u64(a, 0, logs[(size_t)c]);
                veo_args_set_u64(a, 1, (uint64_t)(c * 100000 + i));
                reqs.push_back(veo_call_async(ctxs[(size_t)c], append, a));
            }
            for (int i = 0; i < calls; ++i) {
                uint64_t r = 0;
                if (veo_call_wait_result(ctxs[(size_t)c], reqs[(size_t)i], &r) != VEO_COMMAND_OK ||
                    r != (uint64_t)i + 1)
                    ++failures;
            }
        });
    for (auto &t : threads)
        t.join();
    EXPECT_EQ(0, failures.load());
    for (int c = 0; c < contexts; ++c) {
        std::vector<uint64_t> log(calls + 1);
        ASSERT_EQ(0, veo_read_mem(proc, log.data(), logs[(size_t)c], log.size() * 8));
        ASSERT_EQ((uint64_t)calls, log[0]);
        for (int i = 0; i < calls; ++i)
            ASSERT_EQ((uint64_t)(c * 100000 + i), log[(size_t)i + 1]);
    }
    for (auto *ctx : ctxs)
        EXPECT_EQ(0, veo_context_close(ctx));
}

namespace {
struct VhLog {
    std::vector<int> order;
    std::mutex mutex;
};
struct VhArg {
    VhLog *log;
    int id;
};
uint64_t vh_record(void *p) {
    auto *a = static_cast<VhArg *>(p);
    std::lock_guard lock(a->log->mutex);
    a->log->order.push_back(a->id);
    return (uint64_t)a->id * 10;
}
} // namespace

TEST_F(ExecTest, RequestsOfAContextRunInOrder) {
    veo_thr_ctxt *ctx = veo_context_open(proc);
    veo_thr_ctxt *other = veo_context_open(proc);
    ASSERT_NE(nullptr, other);
    uint64_t buf = 0;
    ASSERT_EQ(0, veo_alloc_mem(proc, &buf, 4096));
    // write -> VE reads and stores -> read back, all asynchronous on another
    // context than the main one.
    uint64_t value = 0xabcdef;
    uint64_t w = veo_async_write_mem(other, buf, &value, sizeof value);
    Args a;
    veo_args_set_u64(a, 0, buf);
    uint64_t load = veo_call_async(other, sym("ve_load64"), a);
    Args s;
    veo_args_set_u64(s, 0, buf + 8);
    veo_args_set_u64(s, 1, 777);
    veo_args_set_u64(s, 2, 20000);
    uint64_t store = veo_call_async(other, sym("ve_sleep_then_store"), s);
    uint64_t back = 0;
    uint64_t rd = veo_async_read_mem(other, &back, buf + 8, sizeof back);
    VhLog log;
    VhArg v1{&log, 1}, v2{&log, 2};
    uint64_t vh1 = veo_call_async_vh(other, vh_record, &v1);
    uint64_t vh2 = veo_call_async_vh(other, vh_record, &v2);
    uint64_t r = 0;
    EXPECT_EQ(VEO_COMMAND_OK, veo_call_wait_result(other, rd, &r));
    EXPECT_EQ(777u, back);
    EXPECT_EQ(VEO_COMMAND_OK, veo_call_wait_result(other, w, &r));
    EXPECT_EQ(VEO_COMMAND_OK, veo_call_wait_result(other, load, &r));
    EXPECT_EQ(value, r);
    EXPECT_EQ(VEO_COMMAND_OK, veo_call_wait_result(other, store, &r));
    EXPECT_EQ(VEO_COMMAND_OK, veo_call_wait_result(other, vh2, &r));
    EXPECT_EQ(20u, r);
    EXPECT_EQ(VEO_COMMAND_OK, veo_call_wait_result(other, vh1, &r));
    EXPECT_EQ((std::vector<int>{1, 2}), log.order);

    // A failing async copy is an error of that request only.
    uint64_t bad = veo_async_read_mem(other, &back, 0x10, 8);
    EXPECT_EQ(VEO_COMMAND_ERROR, veo_call_wait_result(other, bad, &r));

    // Synchronous calls wait for what the main context was given.
    Args t;
    veo_args_set_u64(t, 0, buf + 16);
    veo_args_set_u64(t, 1, 4242);
    veo_args_set_u64(t, 2, 50000);
    uint64_t late = veo_call_async(ctx, sym("ve_sleep_then_store"), t);
    uint64_t seen = 0;
    ASSERT_EQ(0, veo_read_mem(proc, &seen, buf + 16, sizeof seen));
    EXPECT_EQ(4242u, seen);
    EXPECT_EQ(VEO_COMMAND_OK, veo_call_wait_result(ctx, late, &r));

    // A block of requests from one thread stays together.
    veo_req_block_begin(other);
    std::vector<uint64_t> reqs;
    for (int i = 0; i < 10; ++i) {
        Args x;
        veo_args_set_u64(x, 0, (uint64_t)i);
        veo_args_set_u64(x, 1, 1);
        reqs.push_back(veo_call_async(other, sym("ve_add"), x));
    }
    veo_req_block_end(other);
    for (int i = 0; i < 10; ++i) {
        ASSERT_EQ(VEO_COMMAND_OK, veo_call_wait_result(other, reqs[(size_t)i], &r));
        EXPECT_EQ((uint64_t)i + 1, r);
    }
    EXPECT_EQ(0, veo_free_mem(proc, buf));
    EXPECT_EQ(0, veo_context_close(other));
}

namespace {
struct HookLog {
    std::atomic<int> alloc{0}, free_{0}, alloc_async{0}, free_async{0};
    std::atomic<uint64_t> last_size{0};
};
void on_alloc(void *payload, ...) {
    va_list ap;
    va_start(ap, payload);
    va_arg(ap, veo_proc_handle *);
    va_arg(ap, uint64_t *);
    static_cast<HookLog *>(payload)->last_size = va_arg(ap, size_t);
    va_end(ap);
    ++static_cast<HookLog *>(payload)->alloc;
}
void on_free(void *payload, ...) {
    ++static_cast<HookLog *>(payload)->free_;
}
void on_alloc_async(void *payload, ...) {
    ++static_cast<HookLog *>(payload)->alloc_async;
}
void on_free_async(void *payload, ...) {
    ++static_cast<HookLog *>(payload)->free_async;
}
} // namespace

TEST_F(ExecTest, AsyncAllocationAndHooks) {
    HookLog log;
    veo_register_hook((void *)&veo_alloc_mem, on_alloc, &log);
    veo_register_hook((void *)&veo_free_mem, on_free, &log);
    veo_register_hook((void *)&veo_alloc_mem_async, on_alloc_async, &log);
    veo_register_hook((void *)&veo_free_mem_async, on_free_async, &log);
    EXPECT_EQ((void *)on_alloc, veo_get_hook((void *)&veo_alloc_mem));
    EXPECT_EQ(nullptr, veo_get_hook((void *)&veo_hmemcpy));

    uint64_t a = 0;
    ASSERT_EQ(0, veo_alloc_mem(proc, &a, 12345));
    EXPECT_EQ(1, log.alloc.load());
    EXPECT_EQ(12345u, log.last_size.load());
    ASSERT_EQ(0, veo_free_mem(proc, a));
    EXPECT_EQ(1, log.free_.load());

    veo_thr_ctxt *ctx = veo_context_open(proc);
    uint64_t req = veo_alloc_mem_async(ctx, 4096);
    uint64_t addr = 0;
    ASSERT_EQ(VEO_COMMAND_OK, veo_call_wait_result(ctx, req, &addr));
    EXPECT_NE(0u, addr);
    EXPECT_EQ(1, log.alloc_async.load());
    Args st;
    veo_args_set_u64(st, 0, addr);
    veo_args_set_u64(st, 1, 99);
    EXPECT_EQ(99u, call("ve_store64", st));
    req = veo_free_mem_async(ctx, addr);
    uint64_t r = 0;
    EXPECT_EQ(VEO_COMMAND_OK, veo_call_wait_result(ctx, req, &r));
    EXPECT_EQ(1, log.free_async.load());
    req = veo_free_mem_async(ctx, addr); // twice
    EXPECT_EQ(VEO_COMMAND_ERROR, veo_call_wait_result(ctx, req, &r));

    for (void *f : {(void *)&veo_alloc_mem, (void *)&veo_free_mem, (void *)&veo_alloc_mem_async,
                    (void *)&veo_free_mem_async})
        veo_unregister_hook(f);
    EXPECT_EQ(nullptr, veo_get_hook((void *)&veo_alloc_mem));
    ASSERT_EQ(0, veo_alloc_mem(proc, &a, 100));
    EXPECT_EQ(1, log.alloc.load());
    ASSERT_EQ(0, veo_free_mem(proc, a));
}

TEST_F(ExecTest, DestroyWithRequestsOutstanding) {
    veo_thr_ctxt *ctx = veo_context_open(proc);
    veo_thr_ctxt *other = veo_context_open(proc);
    ASSERT_NE(nullptr, other);
    Args a;
    veo_args_set_u64(a, 0, 10000);
    const uint64_t sleep_fn = sym("ve_sleep_us");
    uint64_t last = VEO_REQUEST_ID_INVALID, last_other = VEO_REQUEST_ID_INVALID;
    for (int i = 0; i < 50; ++i) {
        last = veo_call_async(ctx, sleep_fn, a);
        last_other = veo_call_async(other, sleep_fn, a);
        ASSERT_NE(VEO_REQUEST_ID_INVALID, last);
        ASSERT_NE(VEO_REQUEST_ID_INVALID, last_other);
    }
    // Half a second of calls queued on each: the last ones are outstanding.
    uint64_t r = 0;
    EXPECT_EQ(VEO_COMMAND_UNFINISHED, veo_call_peek_result(ctx, last, &r));
    EXPECT_EQ(VEO_COMMAND_UNFINISHED, veo_call_peek_result(other, last_other, &r));
    proc.reset(); // finishes them, then ends the process
}

namespace {
// Threads of a process.
int threads_of(pid_t pid) {
    int n = 0;
    if (DIR *d = opendir(("/proc/" + std::to_string(pid) + "/task").c_str())) {
        while (dirent *e = readdir(d))
            n += e->d_name[0] != '.';
        closedir(d);
    }
    return n;
}
} // namespace

TEST_F(ExecTest, ContextsComeAndGo) {
    veo_context_open(proc); // the main context
    uint64_t add = sym("ve_add");
    const int threads_before = threads_of(proc.pid());
    for (int round = 0; round < 3; ++round) {
        std::vector<veo_thr_ctxt *> ctxs;
        for (int i = 0; i < 32; ++i) {
            ctxs.push_back(veo_context_open(proc));
            ASSERT_NE(nullptr, ctxs.back());
        }
        EXPECT_EQ(33, veo_num_contexts(proc));
        std::vector<uint64_t> reqs;
        Args a;
        for (size_t i = 0; i < ctxs.size(); ++i) {
            veo_args_set_u64(a, 0, i);
            veo_args_set_u64(a, 1, (uint64_t)round);
            reqs.push_back(veo_call_async(ctxs[i], add, a));
        }
        // Closed with their results not taken: close finishes them.
        for (size_t i = 0; i < ctxs.size(); i += 2)
            EXPECT_EQ(0, veo_context_close(ctxs[i]));
        for (size_t i = 1; i < ctxs.size(); i += 2) {
            uint64_t r = 0;
            EXPECT_EQ(VEO_COMMAND_OK, veo_call_wait_result(ctxs[i], reqs[i], &r));
            EXPECT_EQ(i + (uint64_t)round, r);
            EXPECT_EQ(0, veo_context_close(ctxs[i]));
        }
        EXPECT_EQ(1, veo_num_contexts(proc));
    }
    // The VE process's context threads ended with their contexts.
    EXPECT_EQ(threads_before, threads_of(proc.pid()));
}
