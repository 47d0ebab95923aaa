#include "common/info_query.hpp"

#include "common/unix_socket.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <unistd.h>

namespace veo::emu {

std::vector<pid_t> list_ve_processes() {
    std::vector<pid_t> pids;
    std::ifstream in("/proc/net/unix");
    const std::string prefix = std::string("@") + kVeshmServicePrefix;
    std::string line;
    while (std::getline(in, line)) {
        size_t at = line.rfind(' ');
        if (at == std::string::npos)
            continue;
        std::string path = line.substr(at + 1);
        // Listening sockets only: connected ones repeat the name.
        if (path.compare(0, prefix.size(), prefix) != 0 ||
            line.find(" 00010000 ") == std::string::npos)
            continue;
        char *end = nullptr;
        long pid = strtol(path.c_str() + prefix.size(), &end, 10);
        if (*end == '\0' && pid > 0)
            pids.push_back((pid_t)pid);
    }
    std::sort(pids.begin(), pids.end());
    pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
    return pids;
}

int query_ve_process(pid_t pid, InfoReply *reply, std::vector<AreaInfo> *areas) {
    int conn = connect_abstract(veshm_service_name(pid));
    if (conn < 0)
        return ESRCH;
    pid_t peer = -1;
    InfoRequest req{kInfoRequestMagic, 0};
    std::vector<uint8_t> buf(sizeof(InfoReply) + kInfoMaxAreas * sizeof(AreaInfo));
    int err = ESRCH;
    if (peer_credentials(conn, &peer, nullptr) == 0 && peer == pid &&
        send_message(conn, &req, sizeof req) == 0) {
        ssize_t n = recv_message(conn, buf.data(), buf.size());
        err = (n > 0 && decode_info_reply(buf.data(), (size_t)n, reply, areas)) ? reply->error
                                                                                : ECANCELED;
    }
    close(conn);
    return err;
}

} // namespace veo::emu
