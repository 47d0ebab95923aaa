/* One large copy as a run of memcpy calls of at most 512 KiB. glibc's x86
 * memcpy (2.33 and later) moves a copy with `rep movsb` up to its
 * rep_movsb_stop_threshold and with a loop of vector moves above it; on AMD
 * processors that threshold is the L2 cache's size (1 MiB on the machine of
 * the figures), where the loop is the slower of the two: one memcpy of 1 MiB
 * between shared and private memory took 19.9-21.3 us, the same bytes in
 * pieces of 512 KiB 16.2-17.0 (contrib/bench/copy/run.sh, its third table;
 * pieces of 64 KiB-1000 KiB alike). Open MPI's datatype engine
 * copies contiguous data in 128 KiB blocks, so its default one-sided path had
 * that advantage over the same-host paths' single memcpy. Where the
 * threshold is higher (Intel: the non-temporal threshold), pieces below it
 * are what glibc would do with the whole copy anyway.
 *
 * Users: core/wire/copy_help.h (every same-host copy of MPI windows and of
 * the veshm transport), the transport's copies through a host view
 * (ucx_tl_veshm/veshm_pio.c) and the emulated DMA engine
 * (core/lib/dma/dma_engine.cpp). C, header only. */
#ifndef VESHM_COPY_PIECES_H
#define VESHM_COPY_PIECES_H

#include <stddef.h>
#include <string.h>

#define VESHM_COPY_PIECE (512u * 1024)

static inline void veshm_copy_pieces(void *dst, const void *src, size_t n) {
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
    for (; n > VESHM_COPY_PIECE; n -= VESHM_COPY_PIECE) {
        memcpy(d, s, VESHM_COPY_PIECE);
        d += VESHM_COPY_PIECE;
        s += VESHM_COPY_PIECE;
    }
    memcpy(d, s, n);
}

#endif
