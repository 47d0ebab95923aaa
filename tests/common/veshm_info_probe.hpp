// What a VE process itself says about its areas, read through veshm-info: the
// owner's count of attachments is the proof that a detach (or an attacher's
// death) reached the owner, which nothing in the VEO API shows.
#pragma once

#include <string>
#include <sys/types.h>

namespace veshm_test {

// Attachments the VE process ve_pid counts over all its areas (closed ones
// included), or -1 if veshm-info (program info_bin) does not list it.
int owner_attachments(const std::string &info_bin, pid_t ve_pid);

} // namespace veshm_test
