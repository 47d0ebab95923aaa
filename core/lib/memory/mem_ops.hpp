// VE memory allocation without the API's side effects (hooks, waiting for
// queued requests): for requests that already run in a context's order.
#pragma once

#include <cstddef>
#include <cstdint>

namespace veo::emu {

class VeProc;

// 0 with *vemva set, or -1.
int mem_alloc(VeProc *p, uint64_t *vemva, size_t size);
// addr: VEMVA or HMEM address; 0 or -1.
int mem_free(VeProc *p, uint64_t addr);

} // namespace veo::emu
