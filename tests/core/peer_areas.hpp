// Areas owned by a peer process: the steps every cross-process test starts
// with, as peer commands.
#pragma once

#include "core_test_support.hpp"
#include "peer_process.hpp"

#include <string>
#include <vector>

namespace veshm_test {

struct PeerProc {
    std::string slot; // the peer's name for its VE process
    pid_t ve_pid = -1;
    int ident = -1;
};

struct PeerArea {
    PeerProc proc;
    void *hmem = nullptr; // in the peer's HMEM encoding
    size_t size = 0;
    long long flags = 0;
};

inline PeerProc peer_create(Peer &peer, int node) {
    PeerProc p;
    std::vector<std::string> r = peer.ok("create " + std::to_string(node));
    if (r.size() == 4) {
        p.slot = r[0];
        p.ident = (int)number(r[1]);
        p.ve_pid = (pid_t)number(r[2]);
    }
    return p;
}

// Allocates size bytes (VE page aligned) in proc, fills them with seed's
// pattern and opens them as an area with flags.
inline PeerArea peer_area(Peer &peer, const PeerProc &proc, size_t size, long long flags,
                          uint64_t seed) {
    PeerArea a;
    a.proc = proc;
    a.size = size;
    a.flags = flags;
    std::vector<std::string> r = peer.ok("alloc " + proc.slot + " " + hex(size) + " " + hex(kPage));
    if (r.size() != 1)
        return a;
    a.hmem = (void *)number(r[0]);
    peer.ok("fill " + hex(a.hmem) + " " + hex(size) + " " + std::to_string(seed) + " 0");
    peer.ok("open " + hex(a.hmem) + " " + hex(size) + " " + hex((uint64_t)flags));
    return a;
}

// Peer command that checks len bytes at hmem+off against seed from position pos.
inline std::string check_command(const void *hmem, uint64_t off, uint64_t len, uint64_t seed,
                                 uint64_t pos) {
    return "check " + hex((uint64_t)hmem + off) + " " + hex(len) + " " + std::to_string(seed) +
           " " + hex(pos);
}
inline std::string fill_command(const void *hmem, uint64_t off, uint64_t len, uint64_t seed,
                                uint64_t pos) {
    return "fill " + hex((uint64_t)hmem + off) + " " + hex(len) + " " + std::to_string(seed) + " " +
           hex(pos);
}

} // namespace veshm_test
