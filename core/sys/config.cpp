#include "sys/config.hpp"
#include "sys/log.hpp"

#include <cstdlib>
#include <cstring>

namespace veo::emu {

bool parse_size(const char *text, uint64_t *out) {
    if (text == nullptr || *text == '\0')
        return false;
    char *end = nullptr;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 0);
    if (errno != 0 || end == text || text[0] == '-')
        return false;
    int shift = 0;
    switch (*end) {
    case '\0':
        break;
    case 'k':
    case 'K':
        shift = 10;
        ++end;
        break;
    case 'm':
    case 'M':
        shift = 20;
        ++end;
        break;
    case 'g':
    case 'G':
        shift = 30;
        ++end;
        break;
    case 't':
    case 'T':
        shift = 40;
        ++end;
        break;
    default:
        return false;
    }
    if (*end == 'i' || *end == 'B')
        ++end;
    if (*end == 'B')
        ++end;
    if (*end != '\0' || (shift && v > (~0ULL >> shift)))
        return false;
    *out = v << shift;
    return true;
}

namespace {

uint64_t env_size(const char *name, uint64_t fallback, uint64_t min, uint64_t max) {
    const char *text = getenv(name);
    if (text == nullptr)
        return fallback;
    uint64_t v = 0;
    if (!parse_size(text, &v) || v < min || v > max) {
        VEO_LOG(warn, "ignoring %s=%s (allowed %llu..%llu)", name, text, (unsigned long long)min,
                (unsigned long long)max);
        return fallback;
    }
    return v;
}

bool is_pow2(uint64_t v) {
    return v != 0 && (v & (v - 1)) == 0;
}

PlatformConfig load() {
    PlatformConfig c;
    c.nodes = (int)env_size("VESHM_NODES", c.nodes, 1, 64);
    c.page_size = env_size("VESHM_PAGE_SIZE", c.page_size, 2ULL << 20, 64ULL << 20);
    if (c.page_size != (2ULL << 20) && c.page_size != (64ULL << 20)) {
        VEO_LOG(warn, "VESHM_PAGE_SIZE must be 2M or 64M; using 64M");
        c.page_size = 64ULL << 20;
    }
    c.pciatb_page_size =
        env_size("VESHM_PCIATB_PAGE_SIZE", c.pciatb_page_size, 2ULL << 20, 1ULL << 30);
    if (!is_pow2(c.pciatb_page_size)) {
        VEO_LOG(warn, "VESHM_PCIATB_PAGE_SIZE must be a power of two; using 64M");
        c.pciatb_page_size = 64ULL << 20;
    }
    c.memory_size = env_size("VESHM_MEMORY_SIZE", c.memory_size, c.page_size, 1ULL << 40);
    c.memory_size -= c.memory_size % c.page_size;
    c.pciatb_entries = (uint32_t)env_size("VESHM_PCIATB_ENTRIES", c.pciatb_entries, 1, 1 << 20);
    c.dmaatb_entries = (uint32_t)env_size("VESHM_DMAATB_ENTRIES", c.dmaatb_entries, 1, 1 << 20);
    c.dma_descriptors = (uint32_t)env_size("VESHM_DMA_DESCRIPTORS", c.dma_descriptors, 1, 65535);
    c.peer_timeout_ms =
        (uint32_t)env_size("VESHM_PEER_TIMEOUT", c.peer_timeout_ms / 1000, 1, 3600) * 1000;
    c.max_connections = (uint32_t)env_size("VESHM_MAX_CONNECTIONS", c.max_connections, 16, 1 << 20);
    const char *ived = getenv("VESHM_IVED");
    c.veshm_enabled = !(ived && (strcmp(ived, "0") == 0 || strcmp(ived, "off") == 0));
    return c;
}

} // namespace

int ve_node_number_from_environment() {
    const char *s = getenv("VE_NODE_NUMBER");
    if (s == nullptr || *s == '\0')
        return -1;
    char *end = nullptr;
    long v = strtol(s, &end, 10);
    return (*end == '\0' && v >= 0 && v < 1 << 20) ? (int)v : -2;
}

const char *veorun_path_from_environment() {
    return getenv("VEORUN_BIN");
}

const char *veorun_fault_from_environment() {
    return getenv("VEORUN_FAULT");
}

const char *log_level_from_environment() {
    return getenv("VESHM_LOG");
}

const PlatformConfig &config() {
    static const PlatformConfig c = load();
    return c;
}

} // namespace veo::emu
