/* Mode flags of the VESHM API (values as in AVEO 3.0.2). */
#ifndef VEO_VESHM_DEFS_H_INCLUDED
#define VEO_VESHM_DEFS_H_INCLUDED

/* Flags given to veo_shared_mem_open() (and repeated at attach). */
enum VESHM_mode_flag {
    VE_SHM_RO = 0x0000000000000001LL,       /* attachers may only read */
    VE_PCISYNC = 0x0000000000000002LL,      /* synchronised PCI access, needs VE_REGISTER_PCI */
    VE_REGISTER_PCI = 0x0000000000000004LL, /* reachable from every VE (PCIATB) */
    VE_MAP_256MB = 0x0000000000000010LL,
};

/* Flags that say where an area is registered or attached. */
enum VESHM_additional_mode_flag {
    VE_REGISTER_NONE = 0x0000000000001000LL,  /* reachable from the same VE only */
    VE_REGISTER_VEMVA = 0x0000000000002000LL, /* attach into VEMVA (same VE) */
    VE_REGISTER_VEHVA = 0x0000000000004000LL, /* attach into VEHVA / DMAATB (any VE) */
    VE_MEM_LOCAL = 0x0000000000008000LL,      /* own memory into VEHVA / DMAATB */
};

#ifdef __cplusplus
/* C++20 deprecates '|' between two different enumerations, yet combining a
 * register flag with an attach flag is how this API is used. */
constexpr long long operator|(VESHM_mode_flag a, VESHM_additional_mode_flag b) {
    return (long long)a | (long long)b;
}
constexpr long long operator|(VESHM_additional_mode_flag a, VESHM_mode_flag b) {
    return (long long)a | (long long)b;
}
#endif

#endif
