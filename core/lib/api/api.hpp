// Marks the functions this library exports, and the exception boundary every
// one of them keeps: a C caller must never see a C++ exception unwind
// through it.
#pragma once

#include <cerrno>
#include <cstdint>
#include <new>

#define VEO_API extern "C" __attribute__((visibility("default")))

namespace veo::emu {

void log_api_exception(const char *function, const char *what) noexcept;
// A call that fails: says why in the debug log (VESHM_LOG=debug) and sets errno.
void log_api_failure(int err, const char *function, const char *why) noexcept;

// The failure values of the API's families, with errno set.
inline int fail(int err, const char *function, const char *why) noexcept {
    log_api_failure(err, function, why);
    return -1;
}
inline void *fail_ptr(int err, const char *function, const char *why) noexcept {
    log_api_failure(err, function, why);
    return (void *)-1;
}
inline uint64_t fail_u64(int err, const char *function, const char *why) noexcept {
    log_api_failure(err, function, why);
    return (uint64_t)-1;
}

// Runs an API function's body. std::bad_alloc (a container that could not
// grow) and anything else thrown become the function's failure value with
// errno ENOMEM, as if the library had run out of memory.
template <class T, class Body> T api_guard(const char *function, T failure, Body &&body) noexcept {
    try {
        return body();
    } catch (const std::exception &e) {
        log_api_exception(function, e.what());
    } catch (...) {
        log_api_exception(function, "unknown exception");
    }
    errno = ENOMEM;
    return failure;
}

template <class Body> void api_guard_void(const char *function, Body &&body) noexcept {
    try {
        body();
    } catch (const std::exception &e) {
        log_api_exception(function, e.what());
        errno = ENOMEM;
    } catch (...) {
        log_api_exception(function, "unknown exception");
        errno = ENOMEM;
    }
}

} // namespace veo::emu
