// veo_register_hook: functions that upper layers (e.g. a memory tracker)
// want called after certain API functions succeeded. A hook gets its payload
// and then the arguments that function documents, as varargs.
#pragma once

#include <atomic>

namespace veo::emu {

using Hook = void (*)(void *, ...);

// The hook registered for api_function (nullptr if none) and its payload.
Hook find_hook(void *api_function, void **payload);
extern std::atomic<int> hook_count; // lets callers skip the look-up

template <typename... A> void run_hook(void *api_function, A... args) {
    if (hook_count.load(std::memory_order_relaxed) == 0)
        return;
    void *payload = nullptr;
    if (Hook h = find_hook(api_function, &payload))
        h(payload, args...);
}

} // namespace veo::emu
