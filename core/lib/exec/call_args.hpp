// The arguments of a VE function call (veo_args): typed values by position,
// and buffers that live on the callee's side for the duration of the call.
#pragma once

#include "wire/exec_protocol.hpp"
#include "ve_offload.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace veo::emu {

struct CallArg {
    ArgType type = ArgType::i64; // an argument nobody set passes 0
    uint64_t value = 0;
    // A stack argument: the callee gets the VE address of a copy of buf.
    bool on_stack = false;
    veo_args_intent intent = VEO_INTENT_IN;
    char *buf = nullptr;
    size_t len = 0;
};

class CallArgs {
  public:
    int set(int argnum, ArgType type, uint64_t value);
    // intent as the C caller passed it: any int, checked here.
    int set_stack(int intent, int argnum, char *buf, size_t len);
    void clear() { args_.clear(); }
    const std::vector<CallArg> &args() const { return args_; }
    bool has_stack() const;

  private:
    CallArg *slot(int argnum);
    std::vector<CallArg> args_;
};

inline CallArgs *from_handle(veo_args *a) {
    return reinterpret_cast<CallArgs *>(a);
}
inline veo_args *to_handle(CallArgs *a) {
    return reinterpret_cast<veo_args *>(a);
}

} // namespace veo::emu
