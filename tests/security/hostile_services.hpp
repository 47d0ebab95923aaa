// What a hostile local user can do with the abstract socket namespace, for
// the isolation tests (test_isolation.cpp): hold VESHM service names that
// belong to others (squatting), serve them with a fake owner that approves
// every attach with its own memory (impersonation) or never answers
// (silence), and open connections to a victim's VE process by the thousand
// (flood). Everything is held until release_all().
#pragma once

#include <cstdint>
#include <sys/types.h>

namespace veshm_security {

enum class FakeMode { silent, approve };

// Binds "veshm.ve.<uid>.<pid>" and the old "veshm.ve.<pid>" for every pid in
// [first, first + count) and listens on them (a fake owner thread serves
// them in approve mode). Returns how many names were bound.
int squat_names(uid_t uid, pid_t first, int count, FakeMode mode);
// Connects count times to whatever listens under names claiming pid and keeps
// the connections; how many connected.
int flood_connections(pid_t pid, int count);
// Bytes a fake owner's memory holds: what a fooled victim would read.
inline constexpr uint8_t kFakeByte = 0xBB;
// The VH pid a fake owner's info reply names: what a fooled veshm-info shows.
inline constexpr int kFakeVhPid = 424242;
void release_all();

} // namespace veshm_security
