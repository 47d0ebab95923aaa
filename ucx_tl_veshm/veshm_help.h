/* Large puts and gets shared with the peer that owns the memory
 * (core/wire/copy_help.h): the help slot of an interface is in the control
 * block of its receive FIFO, which every peer with an endpoint to it has
 * attached; the interface helps from its progress, so a peer waiting inside
 * UCX (a barrier, a quiet, a wait_until) copies half of what is put into its
 * memory or taken from it. */
#ifndef UCT_VESHM_HELP_H
#define UCT_VESHM_HELP_H

#include <stddef.h>
#include <stdint.h>

#include <ucs/type/status.h>

struct uct_veshm_ep;
struct uct_veshm_iface;

/* Measures what a helper through the kernel costs here
 * (veshm_copy_help_kernel_helper_min), once per process, when an interface
 * that shares its copies (HELP=y) opens: in the first large transfer its
 * fresh pages cost 0.57 ms on a VM with shadow paging (OSU's osu_oshm_put,
 * 100 puts of 256 KiB: 12.9 us on average, 7.2-7.9 without; UCX posix
 * 6.9-7.7). */
void uct_veshm_help_init(void);

/* Whether it was (for tests). */
int uct_veshm_help_kernel_measured(void);

/* From here a zcopy put or get is shared with the peer (core/wire/copy_help.h
 * shares from 256 KiB): at 256 KiB a second core copying through its own
 * view gains 5% on warm memory (contrib/bench/copy: 2.58 -> 2.45 us, 512 KiB
 * 7.6 -> 4.6), and where the peer's view of the buffer is fresh its first
 * access costs more: OSU's 100 puts or gets of 256 KiB, 6 alternated runs
 * each on a VM with shadow paging, helped against UCX_VESHM_HELP=n,
 * osu_oshm_get 8.53 against 6.27 us and 9.37 against 7.21, osu_oshm_put
 * 9.13 against 7.57, osu_oshm_put_mr 51.7 against 60.2 thousand puts a
 * second; at 512 KiB it won in all but one set (put 12.5 against 15.8 and
 * 14.3 against 18.6, put_mr 39.5 against 34.7 thousand, get 11.6 against
 * 12.0 and 12.6 against 14.9; a third set of gets 13.0 against 11.5). */
#define UCT_VESHM_HELP_MIN (512u * 1024)

/* Whether a put or get of length bytes is one to share (and ep can). */
int uct_veshm_help_wanted(struct uct_veshm_ep *ep, const void *buf, size_t length);

/* Copies length bytes between buf and the peer's memory at its address addr,
 * host being this process's view of it, with the peer's help. UCS_OK, or
 * UCS_ERR_ENDPOINT_TIMEOUT if the peer died before its chunks were done. */
ucs_status_t uct_veshm_help_copy(struct uct_veshm_ep *ep, uint8_t *host, uint64_t addr, void *buf,
                                 size_t length, int is_get);

/* Copies chunks of the job in iface's slot, if one is open; how many. */
unsigned uct_veshm_help_progress(struct uct_veshm_iface *iface);

/* Chunks of this process's copies that peers did, and chunks it did of its
 * peers' (all interfaces; for tests and proofs). */
void uct_veshm_help_stats(uint64_t *helped, uint64_t *served);

/* Peers' jobs whose buffer this process copied through its own view (their
 * VE memory it holds a key of) rather than through the kernel. */
void uct_veshm_help_view_stats(uint64_t *jobs);

#endif
