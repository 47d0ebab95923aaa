// The VEO API of VE code: libraries, symbols, contexts, calls and the
// asynchronous requests that run in a context's order.
#include "lib/api/api.hpp"
#include "lib/exec/call_args.hpp"
#include "wire/exec_protocol.hpp"
#include "sys/log.hpp"
#include "lib/exec/context.hpp"
#include "lib/exec/exec_state.hpp"
#include "lib/proc/hooks.hpp"
#include "lib/memory/mem_ops.hpp"
#include "lib/proc/proc.hpp"

#include "ve_offload.h"

#include <cerrno>
#include <cstring>
#include <new>

using namespace veo::emu;

namespace {

constexpr size_t kDefaultStackSize = 0x8000000; // AVEO's default for a context
constexpr size_t kMinStackSize = 4 << 20;       // and its smallest

struct ThreadAttr {
    size_t stack_size = kDefaultStackSize;
};

ThreadAttr *attr_of(veo_thr_ctxt_attr *a) {
    return reinterpret_cast<ThreadAttr *>(a);
}

const CallArgs &args_or_none(veo_args *ca) {
    static const CallArgs none;
    return ca ? *from_handle(ca) : none;
}

} // namespace

VEO_API uint64_t veo_load_library(veo_proc_handle *h, const char *libname) {
    return api_guard<uint64_t>("veo_load_library", 0, [&]() -> uint64_t {
        if (!live_handle(h) || libname == nullptr || *libname == '\0') {
            errno = EINVAL;
            return 0;
        }
        VeProc *p = from_handle(h);
        exec_quiesce(p);
        int error = 0;
        uint64_t handle = 0;
        if (p->control().call((ControlType)ExecRequest::load_library, libname, strlen(libname),
                              &error, &handle) < 0) {
            errno = ESRCH;
            return 0;
        }
        if (error != 0) {
            VEO_LOG(debug, "veo_load_library(%s) failed in VE process %d", libname, (int)p->pid());
            errno = error;
            return 0;
        }
        return handle;
    });
}

VEO_API int veo_unload_library(veo_proc_handle *h, const uint64_t libhandle) {
    return api_guard<int>("veo_unload_library", -1, [&]() -> int {
        if (!live_handle(h) || libhandle == 0) {
            errno = EINVAL;
            return -1;
        }
        VeProc *p = from_handle(h);
        exec_quiesce(p);
        int error = 0;
        if (p->control().call((ControlType)ExecRequest::unload_library, &libhandle,
                              sizeof libhandle, &error, nullptr) < 0) {
            errno = ESRCH;
            return -1;
        }
        ExecState::of(p).forget_library(libhandle);
        if (error != 0) {
            errno = error;
            return -1;
        }
        return 0;
    });
}

VEO_API uint64_t veo_get_sym(veo_proc_handle *h, uint64_t libhandle, const char *symname) {
    return api_guard<uint64_t>("veo_get_sym", 0, [&]() -> uint64_t {
        if (!live_handle(h) || symname == nullptr || *symname == '\0' ||
            strlen(symname) > VEO_SYMNAME_LEN_MAX) {
            errno = EINVAL;
            return 0;
        }
        VeProc *p = from_handle(h);
        exec_quiesce(p);
        return ExecState::of(p).symbol(libhandle, symname);
    });
}

// Contexts

VEO_API veo_thr_ctxt *veo_context_open(veo_proc_handle *h) {
    return api_guard<veo_thr_ctxt *>("veo_context_open", nullptr, [&]() -> veo_thr_ctxt * {
        if (!live_handle(h)) {
            errno = EINVAL;
            return nullptr;
        }
        VeProc *p = from_handle(h);
        exec_quiesce(p);
        return to_handle(ExecState::of(p).open_context(0));
    });
}

VEO_API veo_thr_ctxt *veo_context_open_with_attr(veo_proc_handle *h, veo_thr_ctxt_attr *attr) {
    return api_guard<veo_thr_ctxt *>(
        "veo_context_open_with_attr", nullptr, [&]() -> veo_thr_ctxt * {
            if (!live_handle(h) || attr == nullptr) {
                errno = EINVAL;
                return nullptr;
            }
            VeProc *p = from_handle(h);
            exec_quiesce(p);
            return to_handle(ExecState::of(p).open_context(attr_of(attr)->stack_size));
        });
}

VEO_API int veo_context_close(veo_thr_ctxt *ctx) {
    return api_guard<int>("veo_context_close", -1, [&]() -> int {
        if (ctx == nullptr)
            return -1;
        Context *c = from_handle(ctx);
        return ExecState::of(c->proc()).close_context(c);
    });
}

VEO_API int veo_get_context_state(veo_thr_ctxt *ctx) {
    return api_guard<int>("veo_get_context_state", VEO_STATE_UNKNOWN, [&]() -> int {
        return ctx ? from_handle(ctx)->state() : VEO_STATE_UNKNOWN;
    });
}

VEO_API void veo_context_sync(veo_thr_ctxt *ctx) {
    api_guard_void("veo_context_sync", [&] {
        if (ctx)
            from_handle(ctx)->sync();
    });
}

VEO_API int veo_num_contexts(veo_proc_handle *h) {
    return api_guard<int>("veo_num_contexts", -1, [&]() -> int {
        if (!live_handle(h)) {
            errno = EINVAL;
            return -1;
        }
        return ExecState::of(from_handle(h)).num_contexts();
    });
}

VEO_API veo_thr_ctxt *veo_get_context(veo_proc_handle *h, int idx) {
    return api_guard<veo_thr_ctxt *>("veo_get_context", nullptr, [&]() -> veo_thr_ctxt * {
        Context *c = live_handle(h) ? ExecState::of(from_handle(h)).context_at(idx) : nullptr;
        if (c == nullptr)
            errno = EINVAL;
        return to_handle(c);
    });
}

VEO_API veo_thr_ctxt_attr *veo_alloc_thr_ctxt_attr(void) {
    return api_guard<veo_thr_ctxt_attr *>(
        "veo_alloc_thr_ctxt_attr", nullptr, [&]() -> veo_thr_ctxt_attr * {
            return reinterpret_cast<veo_thr_ctxt_attr *>(new (std::nothrow) ThreadAttr);
        });
}

VEO_API int veo_free_thr_ctxt_attr(veo_thr_ctxt_attr *attr) {
    return api_guard<int>("veo_free_thr_ctxt_attr", -1, [&]() -> int {
        if (attr == nullptr) {
            errno = EINVAL;
            return -1;
        }
        delete attr_of(attr);
        return 0;
    });
}

VEO_API int veo_set_thr_ctxt_stacksize(veo_thr_ctxt_attr *attr, size_t stack_sz) {
    return api_guard<int>("veo_set_thr_ctxt_stacksize", -1, [&]() -> int {
        if (attr == nullptr || stack_sz < kMinStackSize) {
            errno = EINVAL;
            return -1;
        }
        attr_of(attr)->stack_size = stack_sz;
        return 0;
    });
}

VEO_API int veo_get_thr_ctxt_stacksize(veo_thr_ctxt_attr *attr, size_t *stack_sz) {
    return api_guard<int>("veo_get_thr_ctxt_stacksize", -1, [&]() -> int {
        if (attr == nullptr || stack_sz == nullptr) {
            errno = EINVAL;
            return -1;
        }
        *stack_sz = attr_of(attr)->stack_size;
        return 0;
    });
}

// Calls

VEO_API int veo_call_sync(veo_proc_handle *h, uint64_t addr, veo_args *ca, uint64_t *result) {
    return api_guard<int>("veo_call_sync", -1, [&]() -> int {
        if (!live_handle(h))
            return -1;
        Context *m = ExecState::of(from_handle(h)).main_context();
        if (m == nullptr)
            return -1;
        uint64_t req = m->call(addr, args_or_none(ca));
        if (req == VEO_REQUEST_ID_INVALID)
            return -1;
        uint64_t value = 0;
        int rc = m->wait(req, &value);
        if (result)
            *result = value;
        return rc == VEO_COMMAND_OK ? 0 : -1;
    });
}

VEO_API uint64_t veo_call_async(veo_thr_ctxt *ctx, uint64_t addr, veo_args *ca) {
    return api_guard<uint64_t>("veo_call_async", VEO_REQUEST_ID_INVALID, [&]() -> uint64_t {
        if (ctx == nullptr)
            return VEO_REQUEST_ID_INVALID;
        return from_handle(ctx)->call(addr, args_or_none(ca));
    });
}

VEO_API uint64_t veo_call_async_by_name(veo_thr_ctxt *ctx, uint64_t libhandle, const char *symname,
                                        veo_args *ca) {
    return api_guard<uint64_t>("veo_call_async_by_name", VEO_REQUEST_ID_INVALID, [&]() -> uint64_t {
        if (ctx == nullptr || symname == nullptr)
            return VEO_REQUEST_ID_INVALID;
        Context *c = from_handle(ctx);
        uint64_t addr = ExecState::of(c->proc()).symbol(libhandle, symname);
        if (addr == 0)
            return VEO_REQUEST_ID_INVALID;
        return c->call(addr, args_or_none(ca));
    });
}

VEO_API uint64_t veo_call_async_vh(veo_thr_ctxt *ctx, uint64_t (*func)(void *), void *arg) {
    return api_guard<uint64_t>("veo_call_async_vh", VEO_REQUEST_ID_INVALID, [&]() -> uint64_t {
        if (ctx == nullptr || func == nullptr)
            return VEO_REQUEST_ID_INVALID;
        return from_handle(ctx)->vh_request([func, arg](bool *) { return func(arg); });
    });
}

VEO_API int veo_call_peek_result(veo_thr_ctxt *ctx, uint64_t reqid, uint64_t *retp) {
    return api_guard<int>("veo_call_peek_result", -1, [&]() -> int {
        if (ctx == nullptr)
            return -1;
        return from_handle(ctx)->peek(reqid, retp);
    });
}

VEO_API int veo_call_wait_result(veo_thr_ctxt *ctx, uint64_t reqid, uint64_t *retp) {
    return api_guard<int>("veo_call_wait_result", -1, [&]() -> int {
        if (ctx == nullptr)
            return -1;
        return from_handle(ctx)->wait(reqid, retp);
    });
}

// Asynchronous memory requests: VH-side copies at their place in the queue.

VEO_API uint64_t veo_alloc_mem_async(veo_thr_ctxt *ctx, const size_t size) {
    return api_guard<uint64_t>("veo_alloc_mem_async", VEO_REQUEST_ID_INVALID, [&]() -> uint64_t {
        if (ctx == nullptr)
            return VEO_REQUEST_ID_INVALID;
        Context *c = from_handle(ctx);
        return c->vh_request([c, ctx, size](bool *ok) -> uint64_t {
            uint64_t addr = 0;
            if (mem_alloc(c->proc(), &addr, size) != 0) {
                *ok = false;
                return 0;
            }
            run_hook((void *)&veo_alloc_mem_async, ctx, addr, size);
            return addr;
        });
    });
}

VEO_API uint64_t veo_free_mem_async(veo_thr_ctxt *ctx, uint64_t addr) {
    return api_guard<uint64_t>("veo_free_mem_async", VEO_REQUEST_ID_INVALID, [&]() -> uint64_t {
        if (ctx == nullptr)
            return VEO_REQUEST_ID_INVALID;
        Context *c = from_handle(ctx);
        return c->vh_request([c, ctx, addr](bool *ok) -> uint64_t {
            if (mem_free(c->proc(), addr) != 0) {
                *ok = false;
                return (uint64_t)-1;
            }
            run_hook((void *)&veo_free_mem_async, ctx, addr);
            return 0;
        });
    });
}

VEO_API uint64_t veo_async_read_mem(veo_thr_ctxt *ctx, void *dst, uint64_t src, size_t size) {
    return api_guard<uint64_t>("veo_async_read_mem", VEO_REQUEST_ID_INVALID, [&]() -> uint64_t {
        if (ctx == nullptr)
            return VEO_REQUEST_ID_INVALID;
        veo_proc_handle *h = to_handle(from_handle(ctx)->proc());
        return from_handle(ctx)->vh_request([h, dst, src, size](bool *ok) -> uint64_t {
            int rc = veo_read_mem(h, dst, src, size);
            *ok = rc == 0;
            return (uint64_t)(int64_t)rc;
        });
    });
}

VEO_API uint64_t veo_async_write_mem(veo_thr_ctxt *ctx, uint64_t dst, const void *src,
                                     size_t size) {
    return api_guard<uint64_t>("veo_async_write_mem", VEO_REQUEST_ID_INVALID, [&]() -> uint64_t {
        if (ctx == nullptr)
            return VEO_REQUEST_ID_INVALID;
        veo_proc_handle *h = to_handle(from_handle(ctx)->proc());
        return from_handle(ctx)->vh_request([h, dst, src, size](bool *ok) -> uint64_t {
            int rc = veo_write_mem(h, dst, src, size);
            *ok = rc == 0;
            return (uint64_t)(int64_t)rc;
        });
    });
}

VEO_API void veo_req_block_begin(veo_thr_ctxt *ctx) {
    api_guard_void("veo_req_block_begin", [&] {
        if (ctx)
            from_handle(ctx)->block_begin();
    });
}

VEO_API void veo_req_block_end(veo_thr_ctxt *ctx) {
    api_guard_void("veo_req_block_end", [&] {
        if (ctx)
            from_handle(ctx)->block_end();
    });
}
