// The test's handle on one fault_actor process: started with its own pipes
// and the page where it publishes its current operation, driven by lines,
// killed or stopped, and always reaped.
#pragma once

#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

namespace veshm_faults {

class ActorProcess {
  public:
    ActorProcess(const std::string &program, const std::vector<std::string> &args);
    ~ActorProcess(); // kills and reaps it if still there
    ActorProcess(const ActorProcess &) = delete;
    ActorProcess &operator=(const ActorProcess &) = delete;

    pid_t pid() const { return pid_; }
    bool started() const { return pid_ > 0; }
    // The operation it is in (fault_actor::Op), as it last published it.
    uint32_t current_op() const;
    bool send(const std::string &line);
    // One line of its output; false on timeout or end of output.
    bool read_line(std::string *line, std::chrono::milliseconds timeout);
    // Waits for its end and reaps it: the wait status, or -1 on timeout.
    int wait(std::chrono::milliseconds timeout);

  private:
    pid_t pid_ = -1;
    int to_ = -1, from_ = -1;
    volatile uint32_t *op_ = nullptr;
    std::string pending_;
};

} // namespace veshm_faults
