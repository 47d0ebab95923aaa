// Diagnostics on stderr, filtered by VESHM_LOG (none, error, warn, info, debug;
// default warn). Errors the API reports as errno are explained at debug level.
#pragma once

namespace veo::emu {

enum class LogLevel { none = 0, error, warn, info, debug };

LogLevel log_level();
void log_message(LogLevel level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

} // namespace veo::emu

// A macro so that the arguments cost nothing when the level is filtered out.
#define VEO_LOG(level, ...)                                                                        \
    do {                                                                                           \
        if (::veo::emu::LogLevel::level <= ::veo::emu::log_level())                                \
            ::veo::emu::log_message(::veo::emu::LogLevel::level, __VA_ARGS__);                     \
    } while (0)
