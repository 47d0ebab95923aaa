/* UCP streams over veshm (UCX_TLS=veshm,self, set by CTest): the child sends
 * 64 MiB of a pattern as stream sends of 1 B .. 4 MiB; the parent receives it
 * in pieces of other sizes and checks every byte, then the parent streams it
 * back the same way. Exit 0 when both directions arrived intact. With
 * UCX_TLS=veshm,self nothing but veshm reaches the other process. */
#define _GNU_SOURCE
#include <ucp/api/ucp.h>

#include "ucp_pair.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define TOTAL ((size_t)64 << 20)

static uint8_t pattern(size_t i) {
    return (uint8_t)(((i + 1) * 0x9e3779b97f4a7c15ull) >> 53);
}

/* Sends TOTAL bytes of the pattern in pieces growing 1 B .. 4 MiB. */
static int send_all(const ucp_pair_t *pair, ucp_ep_h ep, const uint8_t *data) {
    ucp_request_param_t p = {.op_attr_mask = 0};
    size_t piece = 1;
    for (size_t off = 0; off < TOTAL;) {
        size_t n = piece < TOTAL - off ? piece : TOTAL - off;
        if (ucp_pair_wait(pair, ucp_stream_send_nbx(ep, data + off, n, &p), 0, NULL) != 0)
            return -1;
        off += n;
        piece = piece >= ((size_t)4 << 20) ? 1 : piece * 3 + 1;
    }
    return 0;
}

/* Receives TOTAL bytes in pieces of up to 3 MiB - 1; 0 when all match. */
static int recv_all(const ucp_pair_t *pair, ucp_ep_h ep, uint8_t *buf) {
    ucp_request_param_t p = {.op_attr_mask = 0};
    size_t off = 0, piece = 7;
    memset(buf, 0, TOTAL);
    while (off < TOTAL) {
        size_t want = piece < TOTAL - off ? piece : TOTAL - off, got = 0;
        void *req = ucp_stream_recv_nbx(ep, buf + off, want, &got, &p);
        if (ucp_pair_wait(pair, req, 0, req != NULL ? &got : NULL) != 0)
            return -1;
        off += got;
        piece = piece >= ((size_t)3 << 20) ? 7 : piece * 5 + 3;
    }
    for (size_t i = 0; i < TOTAL; ++i) {
        if (buf[i] != pattern(i)) {
            fprintf(stderr, "ucp_stream[%d]: byte %zu is %u, expected %u\n", (int)getpid(), i,
                    buf[i], pattern(i));
            return -1;
        }
    }
    return 0;
}

int main(void) {
    ucp_pair_t pair;
    if (ucp_pair_open(&pair, UCP_FEATURE_STREAM, "ucp_stream") != 0)
        return 1;
    int is_child = pair.is_child;
    ucp_worker_h worker = pair.worker;
    void *peer = pair.peer;
    ucp_ep_params_t ep_params = {.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS, .address = peer};
    ucp_ep_h ep;
    if (ucp_ep_create(worker, &ep_params, &ep) != UCS_OK)
        return 1;

    uint8_t *data = malloc(TOTAL), *buf = malloc(TOTAL);
    for (size_t i = 0; i < TOTAL; ++i)
        data[i] = pattern(i);
    int rc;
    if (is_child)
        rc = send_all(&pair, ep, data) || recv_all(&pair, ep, buf);
    else
        rc = recv_all(&pair, ep, buf) || send_all(&pair, ep, data);
    /* Both directions done before either side closes. */
    char done = rc ? 'x' : 'd', other;
    ucp_pair_swap(&pair, &done, &other, 1);
    ucp_pair_close_ep(&pair, ep);
    ucp_pair_close(&pair);
    free(data);
    free(buf);
    if (is_child)
        return rc ? 1 : 0;
    int st = 0;
    waitpid(pair.child, &st, 0);
    int ok = !rc && other == 'd' && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    printf("ucp_stream: 64 MiB each way, every byte checked: %s\n", ok ? "OK" : "FAIL");
    return ok ? 0 : 1;
}
