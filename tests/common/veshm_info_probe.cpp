#include "veshm_info_probe.hpp"

#include <cstdio>
#include <cstdlib>
#include <sys/wait.h>

namespace veshm_test {

int owner_attachments(const std::string &info_bin, pid_t ve_pid) {
    FILE *p = popen((info_bin + " --json").c_str(), "r");
    if (p == nullptr)
        return -1;
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0)
        out.append(buf, n);
    if (pclose(p) != 0)
        return -1;
    // One line per process: {"pid": N, ... "areas": [{... "attachments": K, ...}, ...]}
    size_t at = out.find("{\"pid\": " + std::to_string(ve_pid) + ",");
    if (at == std::string::npos)
        return -1;
    std::string line = out.substr(at, out.find('\n', at) - at);
    const std::string key = "\"attachments\": ";
    int total = 0;
    for (size_t k = line.find(key); k != std::string::npos; k = line.find(key, k + 1))
        total += atoi(line.c_str() + k + key.size());
    return total;
}

} // namespace veshm_test
