#define _GNU_SOURCE
#include "ucp_pair.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

double ucp_pair_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

void ucp_pair_xfer(const ucp_pair_t *p, void *buf, size_t n, int out) {
    char *c = buf;
    while (n > 0) {
        ssize_t r = out ? write(p->fd, c, n) : read(p->fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            fprintf(stderr, "%s[%d]: socket %s failed\n", p->who, (int)getpid(),
                    out ? "write" : "read");
            exit(1);
        }
        c += r;
        n -= (size_t)r;
    }
}

void ucp_pair_progress_until_readable(const ucp_pair_t *p, double timeout) {
    double t0 = ucp_pair_now();
    while (timeout <= 0 || ucp_pair_now() - t0 < timeout) {
        struct timeval tv = {0, 0};
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(p->fd, &fds);
        ucp_worker_progress(p->worker);
        if (select(p->fd + 1, &fds, NULL, NULL, &tv) > 0)
            return;
    }
}

void ucp_pair_swap(const ucp_pair_t *p, const void *mine, void *theirs, size_t n) {
    ucp_pair_xfer(p, (void *)mine, n, 1);
    ucp_pair_progress_until_readable(p, 0);
    ucp_pair_xfer(p, theirs, n, 0);
}

int ucp_pair_wait(const ucp_pair_t *p, void *req, double timeout, size_t *stream_length) {
    if (req == NULL)
        return 0;
    if (UCS_PTR_IS_ERR(req))
        return -1;
    ucs_status_t s;
    double t0 = ucp_pair_now();
    while ((s = ucp_request_check_status(req)) == UCS_INPROGRESS &&
           (timeout <= 0 || ucp_pair_now() - t0 < timeout))
        ucp_worker_progress(p->worker);
    if (stream_length != NULL)
        ucp_stream_recv_request_test(req, stream_length);
    ucp_request_free(req);
    return s == UCS_OK ? 0 : -1;
}

int ucp_pair_open(ucp_pair_t *p, uint64_t features, const char *who) {
    p->who = who;
    p->peer = NULL;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return -1;
    p->child = fork();
    if (p->child < 0)
        return -1;
    p->is_child = p->child == 0;
    p->fd = p->is_child ? sv[1] : sv[0];
    close(p->is_child ? sv[0] : sv[1]);

    ucp_params_t params = {.field_mask = UCP_PARAM_FIELD_FEATURES, .features = features};
    ucp_worker_params_t wp = {.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE,
                              .thread_mode = UCS_THREAD_MODE_SINGLE};
    if (ucp_init(&params, NULL, &p->ctx) != UCS_OK ||
        ucp_worker_create(p->ctx, &wp, &p->worker) != UCS_OK) {
        fprintf(stderr, "%s[%d]: UCP initialisation failed\n", who, (int)getpid());
        return -1;
    }
    ucp_address_t *addr;
    size_t len;
    if (ucp_worker_get_address(p->worker, &addr, &len) != UCS_OK)
        return -1;
    uint64_t n = len, peer_len;
    ucp_pair_xfer(p, &n, sizeof(n), 1);
    ucp_pair_xfer(p, addr, len, 1);
    ucp_pair_xfer(p, &peer_len, sizeof(peer_len), 0);
    p->peer = malloc(peer_len);
    if (p->peer == NULL)
        return -1;
    ucp_pair_xfer(p, p->peer, peer_len, 0);
    ucp_worker_release_address(p->worker, addr);
    return 0;
}

void ucp_pair_close(ucp_pair_t *p) {
    ucp_worker_destroy(p->worker);
    ucp_cleanup(p->ctx);
    free(p->peer);
    p->peer = NULL;
}

void ucp_pair_close_ep(ucp_pair_t *p, ucp_ep_h ep) {
    ucp_request_param_t cp = {.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS,
                              .flags = UCP_EP_CLOSE_FLAG_FORCE};
    void *req = ucp_ep_close_nbx(ep, &cp);
    if (req != NULL && !UCS_PTR_IS_ERR(req)) {
        while (ucp_request_check_status(req) == UCS_INPROGRESS)
            ucp_worker_progress(p->worker);
        ucp_request_free(req);
    }
}
