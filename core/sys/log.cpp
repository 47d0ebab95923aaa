#include "sys/config.hpp"
#include "sys/log.hpp"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace veo::emu {

namespace {
LogLevel parse_level() {
    const char *s = log_level_from_environment();
    if (s == nullptr)
        return LogLevel::warn;
    static const char *const names[] = {"none", "error", "warn", "info", "debug"};
    for (int i = 0; i < 5; ++i)
        if (strcasecmp(s, names[i]) == 0)
            return (LogLevel)i;
    return LogLevel::warn;
}
} // namespace

LogLevel log_level() {
    static const LogLevel level = parse_level();
    return level;
}

void log_message(LogLevel level, const char *fmt, ...) {
    static const char *const tags[] = {"", "error", "warn", "info", "debug"};
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "[veo %d %s] ", (int)getpid(), tags[(int)level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0                            ? 0
                              : (size_t)m < sizeof buf - n - 1 ? (size_t)m
                                                               : sizeof buf - n - 2);
    buf[len++] = '\n';
    // One write per line so lines of concurrent processes do not interleave.
    ssize_t ignored = write(STDERR_FILENO, buf, len);
    (void)ignored;
}

} // namespace veo::emu
