#include "lib/api/api.hpp"

#include "sys/log.hpp"

namespace veo::emu {

void log_api_exception(const char *function, const char *what) noexcept {
    VEO_LOG(error, "%s: %s; failing with ENOMEM", function, what);
}

} // namespace veo::emu
