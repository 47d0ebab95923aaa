/* Where VESHM reaches: the processes of one user under one running kernel
 * that share the PID namespace (VE processes are found and checked by pid)
 * and the network namespace (their VESHM services are abstract Unix
 * sockets). Host names and MAC addresses say nothing of either. */
#ifndef UCT_VESHM_SCOPE_H
#define UCT_VESHM_SCOPE_H

#include <stdint.h>
#include <ucs/type/status.h>

typedef struct uct_veshm_scope {
    uint8_t boot_id[16]; /* this boot of the kernel */
    uint32_t pid_ns;     /* inode of the PID namespace (the kernel's are 32-bit) */
    uint32_t net_ns;     /* inode of the network namespace */
    uint32_t uid;
} uct_veshm_scope_t; /* 28 bytes, no padding: UCP allows device addresses < 32 */

/* This process's scope, read once; NULL if the kernel does not tell. */
const uct_veshm_scope_t *uct_veshm_scope(void);

/* 1 if a peer of that scope is reachable from this process. */
int uct_veshm_scope_reaches(const uct_veshm_scope_t *peer);

/* A 64-bit digest of this process's scope, for remote keys (0 if unknown). */
uint64_t uct_veshm_scope_digest(void);

#endif
