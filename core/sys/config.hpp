// Configuration of the emulated VE platform, read once from the environment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace veo::emu {

struct PlatformConfig {
    int nodes = 8;
    uint64_t memory_size = 48ULL << 30;
    uint64_t page_size = 64ULL << 20;
    uint64_t pciatb_page_size = 64ULL << 20;
    uint32_t pciatb_entries = 1024;
    uint32_t dmaatb_entries = 1024;
    uint32_t dma_descriptors = 128;
    bool veshm_enabled = true; // false emulates a VE OS without IVED: VESHM answers ENOTSUP
    // How long a wait on another process (a VE process's VESHM service) may
    // take before it fails (VESHM_PEER_TIMEOUT, seconds): a silent or stopped
    // peer costs this much, never a hang.
    uint32_t peer_timeout_ms = 5000;
    // Connections a VE process's VESHM service keeps open at once
    // (VESHM_MAX_CONNECTIONS); one per attaching process of the same user.
    uint32_t max_connections = 4096;
};

// The process-wide configuration (environment read on first use).
const PlatformConfig &config();

// Variables read each time they matter, as AVEO does, or before the log can
// be used. Every environment variable of libveo and veorun is read in
// config.cpp; these are the ones config() does not hold.
// VE_NODE_NUMBER: the node, -1 when unset or empty, -2 when it is not a
// decimal number from 0 to 2^20 - 1.
int ve_node_number_from_environment();
// VEORUN_BIN: the helper binary to start, or nullptr.
const char *veorun_path_from_environment();
// VEORUN_FAULT (tests only): the control request on which veorun exits.
const char *veorun_fault_from_environment();
// VESHM_LOG: the log level's name, or nullptr.
const char *log_level_from_environment();

// Parses "123", "64K", "2M", "48G" (powers of 1024); false on garbage.
bool parse_size(const char *text, uint64_t *out);

// VEMVA layout of every VE process: its memory is mapped at kVemvaBase, areas
// it attaches with VE_REGISTER_VEMVA from kAttachBase on.
inline constexpr uint64_t kVemvaBase = 0x600000000000ULL;
inline constexpr uint64_t kAttachBase = 0x700000000000ULL;
inline constexpr uint64_t kAttachLimit = 0x780000000000ULL;
// VEHVA space of a VE process (DMAATB addresses); never overlaps a VEMVA.
inline constexpr uint64_t kVehvaBase = 0x000100000000ULL;
inline constexpr uint64_t kVehvaLimit = 0x400000000000ULL;

} // namespace veo::emu
