/* Two processes with a UCP worker each, connected by a socketpair for the
 * test's own coordination: what the UCP-level tests (ucp_stream,
 * ucp_peer_failure) share. The transports are the environment's (UCX_TLS,
 * set by CTest). */
#ifndef VESHM_TEST_UCP_PAIR_H
#define VESHM_TEST_UCP_PAIR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <ucp/api/ucp.h>

typedef struct ucp_pair {
    const char *who; /* the test's name, in messages */
    int is_child;
    pid_t child; /* in the parent */
    int fd;      /* this side of the socketpair */
    ucp_context_h ctx;
    ucp_worker_h worker;
    void *peer; /* the other side's worker address */
} ucp_pair_t;

/* Forks (before UCX is initialised in either process), then each side opens
 * a context with features and a worker and learns the other's worker
 * address. 0 on success, else -1 (with a message). */
int ucp_pair_open(ucp_pair_t *p, uint64_t features, const char *who);

/* Reads (out 0) or writes (out 1) n bytes of the socketpair; exits the
 * process with status 1 if it cannot. */
void ucp_pair_xfer(const ucp_pair_t *p, void *buf, size_t n, int out);

/* Sends n bytes of mine to the other side and receives its n into theirs,
 * progressing the worker while waiting (the other side may need it). */
void ucp_pair_swap(const ucp_pair_t *p, const void *mine, void *theirs, size_t n);

/* Progresses the worker until the socketpair has something to read or
 * timeout seconds passed (timeout <= 0: no limit). */
void ucp_pair_progress_until_readable(const ucp_pair_t *p, double timeout);

/* Waits for req (NULL: done at once) while progressing, at most timeout
 * seconds (<= 0: no limit), then frees it; 0 when it completed with UCS_OK.
 * stream_length, if not NULL, receives a stream receive's length. */
int ucp_pair_wait(const ucp_pair_t *p, void *req, double timeout, size_t *stream_length);

/* Seconds of CLOCK_MONOTONIC. */
double ucp_pair_now(void);

/* Closes ep (forced: the peer may be gone), progressing until done. */
void ucp_pair_close_ep(ucp_pair_t *p, ucp_ep_h ep);

/* Destroys the worker and the context. */
void ucp_pair_close(ucp_pair_t *p);

#endif
