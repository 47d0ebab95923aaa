#include "lib/proc/hooks.hpp"

#include "lib/api/api.hpp"

#include <map>
#include <mutex>
#include <utility>

namespace veo::emu {

std::atomic<int> hook_count{0};

namespace {
std::mutex hooks_mutex;
std::map<void *, std::pair<Hook, void *>> &hooks() {
    static std::map<void *, std::pair<Hook, void *>> h;
    return h;
}
} // namespace

Hook find_hook(void *api_function, void **payload) {
    std::lock_guard lock(hooks_mutex);
    auto it = hooks().find(api_function);
    if (it == hooks().end())
        return nullptr;
    *payload = it->second.second;
    return it->second.first;
}

} // namespace veo::emu

using namespace veo::emu;

VEO_API void veo_register_hook(void *func, void (*hook)(void *, ...), void *payload) {
    api_guard_void("veo_register_hook", [&] {
        std::lock_guard lock(hooks_mutex);
        hooks()[func] = {hook, payload};
        hook_count.store((int)hooks().size());
    });
}

VEO_API void *veo_get_hook(void *func) {
    return api_guard<void *>("veo_get_hook", nullptr, [&]() -> void * {
        void *payload = nullptr;
        return (void *)find_hook(func, &payload);
    });
}

VEO_API void veo_unregister_hook(void *func) {
    api_guard_void("veo_unregister_hook", [&] {
        std::lock_guard lock(hooks_mutex);
        hooks().erase(func);
        hook_count.store((int)hooks().size());
    });
}
