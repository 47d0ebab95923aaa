// veshm_peer: a separate VH process the core tests drive over stdin/stdout,
// to own or attach VESHM areas from another process (and another user).
// One command per line, one reply per command: "ok ..." or "err <errno>".
// End of input destroys its VE processes and exits.
//
//   create <node>                         -> ok <slot> <ident> <ve-pid> <node>
//   destroy <slot>                        -> ok
//   alloc <slot> <size> <alignment>       -> ok <hmem>
//   fill <hmem> <len> <seed> <pos>        -> ok        (pattern bytes pos.. at hmem)
//   check <hmem> <len> <seed> <pos>       -> ok | err 0 <first bad offset>
//   open|close <hmem> <size> <flags>      -> ok | err <errno>
//   attach <slot> <pid> <hmem> <size> <flags> -> ok <address> | err <errno>
//   detach <slot> <address> <flags>       -> ok | err <errno>
//   regdma <hmem> <size>                  -> ok <vehva> | err <errno>
//   dma <slot> <dst> <src> <len>          -> ok <post_wait result>
//   swap <slot> <1 out | 0 in>            -> ok | err <errno>
//   uid                                   -> ok <uid>
#include "pattern.hpp"

#include <ve_offload.h>
#include <veo_emu.h>
#include <veo_vedma.h>
#include <veo_veshm.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

std::vector<veo_proc_handle *> procs;

uint64_t num(std::istringstream &in) {
    std::string w;
    in >> w;
    return strtoull(w.c_str(), nullptr, 0);
}

veo_proc_handle *slot(std::istringstream &in) {
    uint64_t i = num(in);
    return i < procs.size() ? procs[i] : nullptr;
}

std::string hex(uint64_t v) {
    char buf[32];
    snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)v);
    return buf;
}

std::string err(int e) {
    return "err " + std::to_string(e);
}

std::string serve(const std::string &line) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    if (cmd == "create") {
        int node = (int)(int64_t)num(in);
        veo_proc_handle *h = veo_proc_create(node);
        if (h == nullptr)
            return err(errno);
        procs.push_back(h);
        return "ok " + std::to_string(procs.size() - 1) + " " +
               std::to_string(veo_proc_identifier(h)) + " " + std::to_string(veo_emu_proc_pid(h)) +
               " " + std::to_string(veo_emu_proc_node(h));
    }
    if (cmd == "destroy") {
        uint64_t i = num(in);
        if (i >= procs.size() || procs[i] == nullptr)
            return err(EINVAL);
        int rc = veo_proc_destroy(procs[i]);
        procs[i] = nullptr;
        return rc == 0 ? "ok" : err(EIO);
    }
    if (cmd == "alloc") {
        veo_proc_handle *h = slot(in);
        uint64_t size = num(in), align = num(in);
        void *p = nullptr;
        int rc = veo_posix_memalign_hmem(h, &p, align, size);
        return rc == 0 ? "ok " + hex((uint64_t)p) : err(rc);
    }
    if (cmd == "fill" || cmd == "check") {
        void *hmem = (void *)num(in);
        uint64_t len = num(in), seed = num(in), pos = num(in);
        void *host = veo_emu_hmem_to_vh(hmem);
        if (host == nullptr)
            return err(EFAULT);
        if (cmd == "fill") {
            veshm_test::fill_pattern(host, len, seed, pos);
            return "ok";
        }
        int64_t bad = veshm_test::find_mismatch(host, len, seed, pos);
        return bad < 0 ? "ok" : "err 0 " + std::to_string(bad);
    }
    if (cmd == "open" || cmd == "close") {
        void *hmem = (void *)num(in);
        uint64_t size = num(in);
        long long flags = (long long)num(in);
        int rc = cmd == "open" ? veo_shared_mem_open(hmem, size, 0, flags)
                               : veo_shared_mem_close(hmem, size, 0, flags);
        return rc == 0 ? "ok" : err(errno);
    }
    if (cmd == "attach") {
        veo_proc_handle *h = slot(in);
        pid_t pid = (pid_t)num(in);
        void *hmem = (void *)num(in);
        uint64_t size = num(in);
        long long flags = (long long)num(in);
        void *at = veo_shared_mem_attach(h, pid, hmem, size, 0, flags);
        return at == (void *)-1 ? err(errno) : "ok " + hex((uint64_t)at);
    }
    if (cmd == "detach") {
        veo_proc_handle *h = slot(in);
        void *at = (void *)num(in);
        long long flags = (long long)num(in);
        return veo_shared_mem_detach(h, at, flags) == 0 ? "ok" : err(errno);
    }
    if (cmd == "regdma") {
        void *hmem = (void *)num(in);
        uint64_t size = num(in);
        uint64_t vehva = veo_register_mem_to_dmaatb(hmem, size);
        return vehva == (uint64_t)-1 ? err(errno) : "ok " + hex(vehva);
    }
    if (cmd == "dma") {
        veo_proc_handle *h = slot(in);
        uint64_t dst = num(in), src = num(in);
        int len = (int)num(in);
        return "ok " + std::to_string(veo_dma_post_wait(h, dst, src, len));
    }
    if (cmd == "swap") {
        veo_proc_handle *h = slot(in);
        int rc = num(in) ? veo_emu_proc_swap_out(h) : veo_emu_proc_swap_in(h);
        return rc == 0 ? "ok" : err(errno);
    }
    if (cmd == "uid")
        return "ok " + std::to_string(getuid());
    return err(ENOSYS);
}

} // namespace

int main() {
    std::string line;
    while (std::getline(std::cin, line)) {
        std::cout << serve(line) << std::endl;
        if (!std::cout)
            break;
    }
    for (veo_proc_handle *h : procs)
        if (h != nullptr)
            veo_proc_destroy(h);
    return 0;
}
