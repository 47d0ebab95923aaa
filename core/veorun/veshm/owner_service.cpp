#include "veorun/veshm/owner_service.hpp"

#include "veorun/veshm/attachment_mapping.hpp"

#include "sys/config.hpp"
#include "sys/log.hpp"
#include "sys/unix_socket.hpp"
#include "wire/veshm_rendezvous.hpp"
#include "wire/veshm_protocol.hpp"
#include "veo_veshm_defs.h"
#include "veorun/ve_process.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace veo::emu {

namespace {

struct Area {
    VeshmAreaKey key;
    uint32_t attachments = 0;
    bool open = true; // false once closed; kept while attachments remain, for the count
};

struct ServiceState {
    std::vector<Area> areas;
    // attacher connection -> (attachment token -> area index)
    std::unordered_map<int, std::unordered_map<uint32_t, size_t>> connections;
    bool swapped = false;
    uint32_t pciatb_pages = 0;
    uint32_t open_connections = 0; // accepted attacher connections
};

ServiceState &state() {
    static ServiceState s;
    return s;
}

bool same_key(const VeshmAreaKey &a, const VeshmAreaKey &b) {
    return a.vemva == b.vemva && a.size == b.size && a.flags == b.flags && a.syncnum == b.syncnum;
}

uint32_t pciatb_pages_of(const VeshmAreaKey &k) {
    if (!(k.flags & VE_REGISTER_PCI))
        return 0;
    uint64_t page = config().pciatb_page_size;
    return (uint32_t)((k.size + page - 1) / page);
}

ControlResult on_register(const uint8_t *p, size_t len, const int *, int) {
    ControlResult r;
    VeshmAreaKey key;
    if (!read_payload(p, len, &key)) {
        r.error = EINVAL;
        return r;
    }
    ServiceState &s = state();
    for (const Area &a : s.areas)
        if (a.open && same_key(a.key, key)) {
            r.error = EINVAL; // already open with exactly these values
            return r;
        }
    uint32_t pages = pciatb_pages_of(key);
    if (s.pciatb_pages + pages > config().pciatb_entries) {
        r.error = ENOMEM;
        return r;
    }
    s.pciatb_pages += pages;
    // Reuse a slot of a closed area nobody is attached to any more.
    for (Area &a : s.areas)
        if (!a.open && a.attachments == 0) {
            a = Area{key};
            return r;
        }
    s.areas.push_back(Area{key});
    return r;
}

ControlResult on_unregister(const uint8_t *p, size_t len, const int *, int) {
    ControlResult r;
    VeshmAreaKey key;
    if (!read_payload(p, len, &key)) {
        r.error = EINVAL;
        return r;
    }
    ServiceState &s = state();
    for (Area &a : s.areas)
        if (a.open && same_key(a.key, key)) {
            a.open = false;
            s.pciatb_pages -= pciatb_pages_of(key);
            return r;
        }
    r.error = EINVAL; // no area open with these values
    return r;
}

ControlResult on_swap(const uint8_t *p, size_t len, const int *, int) {
    ControlResult r;
    uint32_t v;
    if (!read_payload(p, len, &v)) {
        r.error = EINVAL;
        return r;
    }
    state().swapped = v != 0;
    return r;
}

// Decides an attach request; on success *area_index names the area.
int decide_attach(const AttachRequest &req, size_t *area_index) {
    // conn is of this user: on_listen hangs up on anybody else at accept.
    ServiceState &s = state();
    if (req.kind == (uint32_t)AttachKind::vemva && req.attacher_node != ve_process().node)
        return ESRCH; // VEMVA attach reaches processes of the attacher's own VE only
    if (s.swapped)
        return EAGAIN;
    for (size_t i = 0; i < s.areas.size(); ++i) {
        const Area &a = s.areas[i];
        if (!a.open || a.key.flags != req.open_flags || a.key.syncnum != req.syncnum)
            continue;
        if (req.vemva < a.key.vemva || req.vemva + req.size > a.key.vemva + a.key.size)
            continue;
        if (req.kind == (uint32_t)AttachKind::vehva && !(a.key.flags & VE_REGISTER_PCI))
            return EACCES; // not registered with PCIATB: not reachable by DMA
        *area_index = i;
        return 0;
    }
    return ENOENT;
}

void serve_info(int conn) {
    ServiceState &s = state();
    VeProcessState &ve = ve_process();
    std::vector<uint8_t> out(sizeof(InfoReply));
    InfoReply r{};
    r.magic = kInfoReplyMagic;
    r.node = ve.node;
    r.vh_pid = (int32_t)getppid();
    r.swapped = s.swapped;
    r.memory_size = ve.memory_size;
    struct stat st {};
    if (fstat(ve.memfd, &st) == 0)
        r.memory_resident = (uint64_t)st.st_blocks * 512;
    if (ve.stats) {
        r.memory_allocated = ve.stats->memory_allocated.load();
        r.dmaatb_pages = ve.stats->dmaatb_pages.load();
        r.dmaatb_capacity = ve.stats->dmaatb_capacity.load();
        r.vemva_attachments = ve.stats->vemva_attachments.load();
        r.vehva_attachments = ve.stats->vehva_attachments.load();
    }
    r.pciatb_pages = s.pciatb_pages;
    r.pciatb_capacity = config().pciatb_entries;
    for (const Area &a : s.areas) {
        if ((!a.open && a.attachments == 0) || r.area_count == kInfoMaxAreas)
            continue;
        AreaInfo info{a.key.vemva, a.key.size, a.key.flags, a.attachments, a.open ? 0u : 1u};
        const uint8_t *b = (const uint8_t *)&info;
        out.insert(out.end(), b, b + sizeof info);
        r.area_count++;
    }
    memcpy(out.data(), &r, sizeof r);
    send_message(conn, out.data(), out.size());
}

// Answers one attach request on conn; false if the connection must go.
bool serve_attach(int conn, const AttachRequest &req) {
    ServiceState &s = state();
    // A refused attacher learns the errno and nothing else (not even the node).
    AttachReply reply{kAttachReplyMagic, 0, 0, 0, 0, req.token, 0};
    size_t index = 0;
    auto &tokens = s.connections[conn];
    if (tokens.count(req.token))
        reply.error = EINVAL; // the attacher reused a live token: its bug, not ours to honour
    else
        reply.error = decide_attach(req, &index);
    int fd = -1;
    if (reply.error == 0) {
        reply.owner_node = ve_process().node;
        reply.read_only = (s.areas[index].key.flags & VE_SHM_RO) ? 1 : 0;
        reply.fd_offset = req.vemva - kVemvaBase;
        fd = reply.read_only ? ve_process().memfd_ro : ve_process().memfd;
    }
    if (send_message(conn, &reply, sizeof reply, fd >= 0 ? &fd : nullptr, fd >= 0 ? 1 : 0) != 0)
        return false;
    if (reply.error == 0) {
        s.areas[index].attachments++;
        tokens[req.token] = index;
    }
    return true;
}

void detach_token(int conn, uint32_t token) {
    ServiceState &s = state();
    auto &tokens = s.connections[conn];
    auto it = tokens.find(token);
    if (it == tokens.end())
        return;
    Area &a = s.areas[it->second];
    if (a.attachments > 0)
        --a.attachments;
    tokens.erase(it);
}

void drop_connection(int conn) {
    ServiceState &s = state();
    s.open_connections--;
    auto it = s.connections.find(conn);
    if (it != s.connections.end()) {
        for (auto &[token, index] : it->second)
            if (s.areas[index].attachments > 0)
                --s.areas[index].attachments;
        s.connections.erase(it);
    }
    close(conn);
}

// Serves every message waiting on an attacher's connection.
bool on_attach_connection(int conn, uint32_t) {
    for (;;) {
        alignas(8) uint8_t buf[sizeof(AttachRequest) + 8];
        ssize_t n = recv_message(conn, buf, sizeof buf);
        if (n == -EAGAIN)
            return true;
        AttachRequest req;
        DetachNotice notice;
        bool keep = true;
        if (n <= 0) {
            keep = false; // the attacher closed or died: everything it attached is detached
        } else if (decode_detach_notice(buf, (size_t)n, &notice)) {
            detach_token(conn, notice.token);
        } else if (decode_attach_request(buf, (size_t)n, &req)) {
            keep = serve_attach(conn, req);
        } else if (decode_info_request(buf, (size_t)n)) {
            serve_info(conn);
        } else {
            keep = false; // not our protocol
        }
        if (!keep) {
            drop_connection(conn);
            return false;
        }
    }
}

bool on_listen(int listen_fd, uint32_t);

// Accepting failed for want of descriptors or memory: the pending connection
// stays in the backlog and epoll would report it again at once, so stop
// watching the socket for a moment instead of spinning.
void pause_accepting(int listen_fd) {
    EventLoop &loop = ve_process().loop;
    int timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    itimerspec later{};
    later.it_value.tv_nsec = 100 * 1000 * 1000;
    if (timer < 0 || timerfd_settime(timer, 0, &later, nullptr) < 0) {
        close_fd(timer);
        return; // keep accepting; nothing better to do
    }
    loop.unwatch(listen_fd);
    loop.watch(timer, [listen_fd](int fd, uint32_t) {
        close(fd);
        ve_process().loop.watch(listen_fd, on_listen);
        return false;
    });
}

// At most this many attacher connections at once (each one is a descriptor):
// the configured cap, and room for the VE process's own descriptors.
uint32_t connection_cap() {
    static const uint32_t cap = [] {
        uint64_t c = config().max_connections;
        rlimit lim{};
        if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
            c = std::min<uint64_t>(c, lim.rlim_cur > 128 ? lim.rlim_cur - 64 : 64);
        return (uint32_t)c;
    }();
    return cap;
}

bool on_listen(int listen_fd, uint32_t) {
    ServiceState &s = state();
    for (;;) {
        // Non-blocking, so a client that connects and never sends cannot stall
        // the VE process's loop.
        int conn = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (conn < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS) {
                pause_accepting(listen_fd);
                return true;
            }
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return true; // EAGAIN: the backlog is empty
        }
        // Serves this user only: anybody else is hung up on before a byte is
        // read, so a stranger can neither learn anything nor hold a descriptor.
        uid_t uid;
        if (peer_credentials(conn, nullptr, &uid) < 0 || uid != getuid() ||
            s.open_connections >= connection_cap()) {
            close(conn);
            continue;
        }
        s.open_connections++;
        // Clients send their request right after connecting: serving it now
        // saves a trip through epoll on the attach path.
        if (on_attach_connection(conn, 0) && !ve_process().loop.watch(conn, on_attach_connection))
            drop_connection(conn);
    }
}

} // namespace

void register_veshm_control_handlers() {
    register_control_handler(ControlType::register_area, on_register);
    register_control_handler(ControlType::unregister_area, on_unregister);
    register_attachment_mapping_handlers();
    register_control_handler(ControlType::set_swapped, on_swap);
}

int start_veshm_service() {
    register_veshm_control_handlers();
    int fd = listen_veshm_service();
    if (fd < 0)
        return fd;
    ve_process().loop.watch(fd, on_listen);
    return 0;
}

} // namespace veo::emu
