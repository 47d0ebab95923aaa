// Which documented errors a survivor may see, by what the test killed. During
// the loop any documented error is accepted and noted; once the survivor
// learns the victim, every error noted must be one that this death explains
// (an owner's death explains ESRCH for an attacher, not EBUSY, and so on).
#pragma once

#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace fault_actor {

class ErrorLog {
  public:
    void note(const char *op, int err) {
        if (err != 0)
            ++seen_[std::string(op) + ":" + strerrorname_np(err)];
    }
    // "op:ERRNO xN" for each noted error not in allowed.
    std::vector<std::string> unexplained(const std::set<std::string> &allowed) const {
        std::vector<std::string> out;
        for (const auto &[key, n] : seen_)
            if (!allowed.count(key))
                out.push_back(key + " x" + std::to_string(n));
        return out;
    }

  private:
    std::map<std::string, int> seen_;
};

// Victims: owner-vh, owner-ve (its VE process), attacher-vh, attacher-ve.
inline std::set<std::string> owner_allowed(const std::string &victim) {
    if (victim == "owner-ve")
        return {"open:EBUSY",   "open:ECANCELED",   "close:EBUSY",  "close:ECANCELED",
                "attach:ESRCH", "attach:ECANCELED", "attach:EBUSY", "detach:EBUSY"};
    return {}; // an attacher's death is nothing the owner may notice
}

inline std::set<std::string> attacher_allowed(const std::string &victim) {
    // The owner closes its second area now and then: ENOENT is always possible there.
    std::set<std::string> always = {"attach-churn:ENOENT"};
    std::set<std::string> extra;
    if (victim == "owner-vh" || victim == "owner-ve")
        extra = {"attach-long:ESRCH",  "attach-long:ECANCELED", "attach:ESRCH",
                 "attach:ECANCELED",   "attach-churn:ESRCH",    "attach-churn:ECANCELED",
                 "attach-vemva:ESRCH", "attach-vemva:ECANCELED"};
    else if (victim == "attacher-ve")
        extra = {"attach-long:EBUSY",      "attach:EBUSY",       "attach-churn:EBUSY",
                 "attach-vemva:ECANCELED", "attach-vemva:EBUSY", "detach:EBUSY",
                 "detach-vemva:ECANCELED", "detach-vemva:EBUSY", "detach-long:EBUSY"};
    always.insert(extra.begin(), extra.end());
    return always;
}

} // namespace fault_actor
