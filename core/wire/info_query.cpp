#include "wire/info_query.hpp"

#include "sys/unix_socket.hpp"
#include "wire/veshm_rendezvous.hpp"

#include <algorithm>
#include <cerrno>
#include <unistd.h>

namespace veo::emu {

std::vector<pid_t> list_ve_processes() {
    std::vector<pid_t> pids;
    for (const ServiceName &s : list_veshm_services())
        pids.push_back(s.pid);
    pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
    return pids;
}

int query_ve_process(pid_t pid, InfoReply *reply, std::vector<AreaInfo> *areas) {
    auto deadline = peer_deadline();
    int conn = connect_veshm_service(pid, deadline);
    if (conn < 0)
        return -conn;
    InfoRequest req{kInfoRequestMagic, 0};
    std::vector<uint8_t> buf(sizeof(InfoReply) + kInfoMaxAreas * sizeof(AreaInfo));
    int err = ECANCELED;
    if (send_message(conn, &req, sizeof req) == 0) {
        ssize_t n = recv_message_until(conn, buf.data(), buf.size(), nullptr, nullptr, deadline);
        if (n == -ETIMEDOUT)
            err = ETIMEDOUT;
        else if (n > 0 && decode_info_reply(buf.data(), (size_t)n, reply, areas))
            err = reply->error;
    }
    close(conn);
    return err;
}

} // namespace veo::emu
