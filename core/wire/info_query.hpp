// Finds the VE processes on this host and asks them about themselves: what
// veshm-info shows. Needs no daemon: every VE process answers for itself.
#pragma once

#include <sys/types.h>
#include <vector>

#include "wire/veshm_protocol.hpp"

namespace veo::emu {

// Pids that listening VESHM service names claim, every user's (and any
// impostor's: query_ve_process tells them apart), ascending.
std::vector<pid_t> list_ve_processes();
// 0, or a positive errno: ESRCH (no VE process of that pid serves here),
// EACCES (another user's: nothing was sent to it), EBUSY (it did not accept
// in time), ETIMEDOUT (it accepted but did not answer in time), ECANCELED.
int query_ve_process(pid_t pid, InfoReply *reply, std::vector<AreaInfo> *areas);

} // namespace veo::emu
