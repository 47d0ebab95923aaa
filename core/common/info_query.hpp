// Finds the VE processes on this host and asks them about themselves: what
// veshm-info shows. Needs no daemon: every VE process answers for itself.
#pragma once

#include <sys/types.h>
#include <vector>

#include "common/veshm_protocol.hpp"

namespace veo::emu {

// Pids of the VE processes of every user, from the abstract socket names in
// /proc/net/unix, ascending.
std::vector<pid_t> list_ve_processes();
// 0, or a positive errno (ESRCH: gone; EACCES: another user's).
int query_ve_process(pid_t pid, InfoReply *reply, std::vector<AreaInfo> *areas);

} // namespace veo::emu
