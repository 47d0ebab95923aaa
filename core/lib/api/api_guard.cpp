#include "lib/api/api.hpp"

#include "sys/log.hpp"

#include <cstring>

namespace veo::emu {

void log_api_failure(int err, const char *function, const char *why) noexcept {
    VEO_LOG(debug, "%s: %s (%s)", function, why, strerrorname_np(err));
    errno = err;
}

void log_api_exception(const char *function, const char *what) noexcept {
    VEO_LOG(error, "%s: %s; failing with ENOMEM", function, what);
}

} // namespace veo::emu
