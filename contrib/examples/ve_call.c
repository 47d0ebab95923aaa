/* ve_call: run VE code. Loads a VE library into a VE process, calls one
 * function synchronously and one asynchronously on a context, with VE memory,
 * a double and a stack argument that comes back (VEO_INTENT_OUT).
 *
 *   cc ve_call.c $(pkg-config --cflags --libs veo)
 *   ./a.out ./libve_call_kernel.so      # the VE library, see ve_call_kernel.c */
#include <ve_offload.h>

#include <stdio.h>
#include <stdlib.h>

struct stats {
    double min, max, sum;
};

int main(int argc, char **argv) {
    const char *kernel = argc > 1 ? argv[1] : "./libve_call_kernel.so";
    enum { N = 1000 };
    struct veo_proc_handle *proc = veo_proc_create(-1);
    if (proc == NULL) {
        perror("veo_proc_create");
        return 1;
    }
    uint64_t lib = veo_load_library(proc, kernel);
    if (lib == 0) {
        fprintf(stderr, "cannot load the VE library %s\n", kernel);
        return 1;
    }

    /* Data into VE memory. */
    double host[N];
    for (int i = 0; i < N; ++i)
        host[i] = i + 1;
    void *ve = NULL;
    if (veo_alloc_hmem(proc, &ve, sizeof host) != 0 || veo_hmemcpy(ve, host, sizeof host) != 0) {
        fprintf(stderr, "VE memory failed\n");
        return 1;
    }

    /* scale(ve, N, 0.5), synchronously on the process's main context. */
    struct veo_args *args = veo_args_alloc();
    veo_args_set_hmem(args, 0, ve);
    veo_args_set_u64(args, 1, N);
    veo_args_set_double(args, 2, 0.5);
    uint64_t result = 0;
    if (veo_call_sync(proc, veo_get_sym(proc, lib, "scale"), args, &result) != 0) {
        fprintf(stderr, "scale failed\n");
        return 1;
    }
    printf("scale: %llu elements\n", (unsigned long long)result);

    /* summarize(ve, N, &stats) on a context: submit, then wait. */
    struct veo_thr_ctxt *ctx = veo_context_open(proc);
    struct stats st = {0, 0, 0};
    veo_args_clear(args);
    veo_args_set_hmem(args, 0, ve);
    veo_args_set_u64(args, 1, N);
    veo_args_set_stack(args, VEO_INTENT_OUT, 2, (char *)&st, sizeof st);
    uint64_t req = veo_call_async_by_name(ctx, lib, "summarize", args);
    int rc = veo_call_wait_result(ctx, req, &result);
    printf("summarize: %s, min %g max %g sum %g\n", rc == VEO_COMMAND_OK ? "ok" : "failed", st.min,
           st.max, st.sum);
    int ok = rc == VEO_COMMAND_OK && st.min == 0.5 && st.max == N * 0.5 &&
             st.sum == 0.5 * N * (N + 1) / 2;

    veo_args_free(args);
    veo_context_close(ctx);
    veo_free_hmem(ve);
    veo_unload_library(proc, lib);
    veo_proc_destroy(proc);
    printf("%s\n", ok ? "ve_call: OK" : "ve_call: FAILED");
    return ok ? 0 : 1;
}
