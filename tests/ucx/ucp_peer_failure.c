/* UCP's peer error handling over veshm (UCX_TLS=veshm,self, set by CTest):
 * two processes connect with UCP_ERR_HANDLING_MODE_PEER endpoints, exchange a
 * tagged message each way, then the child is killed while the parent waits
 * for a message from it. The parent's endpoint error callback must be called
 * (UCS_ERR_ENDPOINT_TIMEOUT or UCS_ERR_CONNECTION_RESET, reported by the
 * transport through uct_iface_handle_ep_err) within 60 s: exit 0; a hang or
 * another status: exit 1. */
#define _GNU_SOURCE
#include <ucp/api/ucp.h>

#include "ucp_pair.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int err_calls;
static ucs_status_t err_status = UCS_OK;

static void on_ep_error(void *arg, ucp_ep_h ep, ucs_status_t status) {
    (void)arg;
    (void)ep;
    ++err_calls;
    err_status = status;
}

int main(void) {
    ucp_pair_t pair;
    if (ucp_pair_open(&pair, UCP_FEATURE_TAG, "ucp_peer_failure") != 0)
        return 1;
    int is_child = pair.is_child;
    ucp_worker_h worker = pair.worker;
    void *peer = pair.peer;

    ucp_ep_params_t ep_params = {.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS |
                                               UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE |
                                               UCP_EP_PARAM_FIELD_ERR_HANDLER,
                                 .address = peer,
                                 .err_mode = UCP_ERR_HANDLING_MODE_PEER,
                                 .err_handler = {.cb = on_ep_error, .arg = NULL}};
    ucp_ep_h ep;
    if (ucp_ep_create(worker, &ep_params, &ep) != UCS_OK) {
        fprintf(stderr, "ucp_peer_failure: ucp_ep_create failed (no transport with peer "
                        "error handling?)\n");
        return 1;
    }
    /* One message each way: the endpoints are wired up. */
    uint64_t out = is_child ? 2 : 1, in = 0;
    ucp_request_param_t rp = {.op_attr_mask = 0};
    void *sreq = ucp_tag_send_nbx(ep, &out, sizeof(out), 7, &rp);
    void *rreq = ucp_tag_recv_nbx(worker, &in, sizeof(in), 7, ~0ull, &rp);
    if (ucp_pair_wait(&pair, sreq, 60, NULL) != 0 || ucp_pair_wait(&pair, rreq, 60, NULL) != 0 ||
        in != (is_child ? 1 : 2)) {
        fprintf(stderr, "ucp_peer_failure[%d]: the exchange failed\n", (int)getpid());
        return 1;
    }
    char ready = 'r';
    if (is_child) {
        ucp_pair_xfer(&pair, &ready, 1, 1);
        for (;;)
            ucp_worker_progress(worker); /* until killed */
    }
    /* Parent: wait for the child to be done with its exchange, kill it. */
    ucp_pair_progress_until_readable(&pair, 60);
    ucp_pair_xfer(&pair, &ready, 1, 0);
    kill(pair.child, SIGKILL);
    waitpid(pair.child, NULL, 0);
    /* A receive the dead peer will never answer: only the error report ends
     * the wait. */
    in = 0;
    rreq = ucp_tag_recv_nbx(worker, &in, sizeof(in), 8, ~0ull, &rp);
    double t0 = ucp_pair_now();
    while (err_calls == 0 && ucp_pair_now() - t0 < 60)
        ucp_worker_progress(worker);
    double waited = ucp_pair_now() - t0;
    int ok = err_calls >= 1 &&
             (err_status == UCS_ERR_ENDPOINT_TIMEOUT || err_status == UCS_ERR_CONNECTION_RESET);
    printf("ucp_peer_failure: error callback called %d times, status %s, after %.3f s: %s\n",
           err_calls, ucs_status_string(err_status), waited, ok ? "OK" : "FAIL");
    if (!UCS_PTR_IS_ERR(rreq) && rreq != NULL) {
        ucp_request_cancel(worker, rreq);
        while (ucp_request_check_status(rreq) == UCS_INPROGRESS)
            ucp_worker_progress(worker);
        ucp_request_free(rreq);
    }
    ucp_pair_close_ep(&pair, ep);
    ucp_pair_close(&pair);
    return ok ? 0 : 1;
}
