/* The origin's view of pages a helper of core/wire/copy_help.h copied,
 * mapped in once. Included by copy_help.h. */
#ifndef VESHM_COPY_HELP_MAP_IN_H
#define VESHM_COPY_HELP_MAP_IN_H

#include <stddef.h>
#include <stdint.h>

/* The pages a helper copied into or out of the target's memory are mapped in
 * the target's page tables, not in the origin's view: the origin's next
 * small transfers to them would each take a page fault (1.2 us a page on a
 * VM; OSU's osu_oshm_put_mr lost half its rate at 64-512 KiB after its
 * helped warm-up). So the origin maps a helper's chunks into its view once,
 * remembering which pages it did in a table of 64 KiB blocks indexed by
 * address: a slot holds the block's number (high bits) and its pages done
 * (16 low bits). Lossy on purpose: a block evicted by a collision, or a view
 * unmapped and mapped again at the same address, costs a fault later, never
 * a wrong byte.
 *
 * It maps them by one load a page, not by madvise(MADV_POPULATE_*): where
 * the hypervisor keeps page tables of its own beside the guest's (shadow
 * paging: a PVM guest), the first access of each page through each mapping
 * costs 5.5-7.6 us, mapped or not, which only an access pays ahead
 * (contrib/bench/copy/run.sh, first-touch table); a load maps the page on the
 * way at no more cost (a read fault maps up to 16 pages around it, writable
 * in a shared mapping of shared memory), where a populate first adds a pass
 * (and once, in a scratch program, made the process's other memory pay the
 * first access again). So the first access is paid once here rather than in
 * each later small transfer; the default path pays it in its own copies
 * (every byte by the origin). */
#define VESHM_COPY_HELP_BLOCK_SHIFT 16
#define VESHM_COPY_HELP_BLOCKS 8192u

static inline void veshm_copy_help_map_in(const uint8_t *p, size_t n) {
    static uint64_t seen[VESHM_COPY_HELP_BLOCKS];
    const uintptr_t page_shift = 12 /* x86-64: 16 pages a block */,
                    block = (uintptr_t)1 << VESHM_COPY_HELP_BLOCK_SHIFT;
    uintptr_t end = (uintptr_t)p + n;
    for (uintptr_t at = (uintptr_t)p; at < end;) {
        uintptr_t b = at >> VESHM_COPY_HELP_BLOCK_SHIFT, next = (b + 1)
                                                                << VESHM_COPY_HELP_BLOCK_SHIFT;
        uintptr_t to = next < end ? next : end;
        unsigned first = (unsigned)((at & (block - 1)) >> page_shift),
                 last = (unsigned)(((to - 1) & (block - 1)) >> page_shift);
        uint64_t want = ((2ull << last) - 1) & ~((1ull << first) - 1);
        uint64_t *slot = &seen[b % VESHM_COPY_HELP_BLOCKS],
                 had = __atomic_load_n(slot, __ATOMIC_RELAXED);
        uint64_t have = had >> 16 == b + 1 ? had & 0xffff : 0;
        if ((have & want) != want) {
            uintptr_t from = at & ~(((uintptr_t)1 << page_shift) - 1);
            for (uintptr_t page = from; page < to; page += (uintptr_t)1 << page_shift)
                (void)__atomic_load_n((const volatile uint8_t *)page, __ATOMIC_RELAXED);
            __atomic_store_n(slot, (uint64_t)(b + 1) << 16 | have | want, __ATOMIC_RELAXED);
        }
        at = to;
    }
}

#endif
