// veo_args: typed call arguments.
#include "lib/exec/call_args.hpp"

#include "lib/api/api.hpp"
#include "sys/log.hpp"

#include <cstring>
#include <new>

using namespace veo::emu;

namespace veo::emu {

CallArg *CallArgs::slot(int argnum) {
    if (argnum < 0 || argnum >= VEO_MAX_NUM_ARGS) {
        VEO_LOG(debug, "veo_args: argument %d out of range (0..%d)", argnum, VEO_MAX_NUM_ARGS - 1);
        return nullptr;
    }
    if ((size_t)argnum >= args_.size())
        args_.resize((size_t)argnum + 1);
    return &args_[(size_t)argnum];
}

int CallArgs::set(int argnum, ArgType type, uint64_t value) {
    CallArg *a = slot(argnum);
    if (a == nullptr)
        return -1;
    *a = CallArg{type, value};
    return 0;
}

int CallArgs::set_stack(int intent, int argnum, char *buf, size_t len) {
    if (intent != VEO_INTENT_IN && intent != VEO_INTENT_INOUT && intent != VEO_INTENT_OUT)
        return -1;
    if (buf == nullptr && len != 0)
        return -1;
    CallArg *a = slot(argnum);
    if (a == nullptr)
        return -1;
    *a = CallArg{ArgType::u64, 0, true, (veo_args_intent)intent, buf, len};
    return 0;
}

bool CallArgs::has_stack() const {
    for (const CallArg &a : args_)
        if (a.on_stack)
            return true;
    return false;
}

} // namespace veo::emu

VEO_API veo_args *veo_args_alloc(void) {
    return api_guard<veo_args *>("veo_args_alloc", nullptr, [&]() -> veo_args * {
        return to_handle(new (std::nothrow) CallArgs);
    });
}

VEO_API void veo_args_free(veo_args *ca) {
    api_guard_void("veo_args_free", [&] { delete from_handle(ca); });
}

VEO_API void veo_args_clear(veo_args *ca) {
    api_guard_void("veo_args_clear", [&] {
        if (ca)
            from_handle(ca)->clear();
    });
}

// Integers travel extended to 64 bits as their C type would be in a register;
// floating point values as their bits.
#define VEO_ARGS_SETTER(name, ctype, argtype, widen)                                               \
    VEO_API int veo_args_set_##name(veo_args *ca, int argnum, ctype val) {                         \
        if (ca == nullptr)                                                                         \
            return -1;                                                                             \
        return from_handle(ca)->set(argnum, ArgType::argtype, (uint64_t)(widen)val);               \
    }

VEO_ARGS_SETTER(i64, int64_t, i64, int64_t)
VEO_ARGS_SETTER(u64, uint64_t, u64, uint64_t)
VEO_ARGS_SETTER(i32, int32_t, i32, int64_t)
VEO_ARGS_SETTER(u32, uint32_t, u32, uint64_t)
VEO_ARGS_SETTER(i16, int16_t, i16, int64_t)
VEO_ARGS_SETTER(u16, uint16_t, u16, uint64_t)
VEO_ARGS_SETTER(i8, int8_t, i8, int64_t)
VEO_ARGS_SETTER(u8, uint8_t, u8, uint64_t)

VEO_API int veo_args_set_double(veo_args *ca, int argnum, double val) {
    return api_guard<int>("veo_args_set_double", -1, [&]() -> int {
        if (ca == nullptr)
            return -1;
        uint64_t bits;
        memcpy(&bits, &val, sizeof bits);
        return from_handle(ca)->set(argnum, ArgType::dbl, bits);
    });
}

VEO_API int veo_args_set_float(veo_args *ca, int argnum, float val) {
    return api_guard<int>("veo_args_set_float", -1, [&]() -> int {
        if (ca == nullptr)
            return -1;
        uint32_t bits;
        memcpy(&bits, &val, sizeof bits);
        return from_handle(ca)->set(argnum, ArgType::flt, bits);
    });
}

VEO_API int veo_args_set_stack(veo_args *ca, enum veo_args_intent inout, int argnum, char *buff,
                               size_t len) {
    // A C caller may pass any int as the intent: copied as bytes, never read
    // as the enum (an out-of-range enum load is undefined).
    int intent = 0;
    static_assert(sizeof intent == sizeof inout);
    memcpy(&intent, &inout, sizeof intent);
    return api_guard<int>("veo_args_set_stack", -1, [&]() -> int {
        if (ca == nullptr)
            return -1;
        return from_handle(ca)->set_stack(intent, argnum, buff, len);
    });
}

// VE code dereferences VEMVAs, so the HMEM tag is taken off here.
VEO_API int veo_args_set_hmem(veo_args *ca, int argnum, void *hmem) {
    return api_guard<int>("veo_args_set_hmem", -1, [&]() -> int {
        if (ca == nullptr)
            return -1;
        return from_handle(ca)->set(argnum, ArgType::u64, (uint64_t)veo_get_hmem_addr(hmem));
    });
}
