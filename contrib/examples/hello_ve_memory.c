/* hello_ve_memory: the smallest VEO program. It starts a VE process, allocates
 * VE memory, copies a buffer to the VE and back and checks it.
 *
 *   cc hello_ve_memory.c $(pkg-config --cflags --libs veo)
 *   ./a.out            # VE node from VE_NODE_NUMBER, else 0
 *
 * It prints the executable of the VE process too: with an installed libveo
 * that is the veorun helper of the same installation. */
#include <ve_offload.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    const size_t size = 1 << 20;
    struct veo_proc_handle *proc = veo_proc_create(-1);
    if (proc == NULL) {
        perror("veo_proc_create");
        return 1;
    }
    void *ve = NULL;
    if (veo_alloc_hmem(proc, &ve, size) != 0) {
        fprintf(stderr, "veo_alloc_hmem failed\n");
        return 1;
    }
    pid_t ve_pid = veo_get_pid_from_hmem(ve);
    char link[64], exe[PATH_MAX] = "?";
    snprintf(link, sizeof link, "/proc/%d/exe", (int)ve_pid);
    ssize_t n = readlink(link, exe, sizeof exe - 1);
    if (n > 0)
        exe[n] = '\0';
    printf("VE process: pid %d on VE node %d, identifier %d, helper %s\n", (int)ve_pid,
           veo_get_venum_from_hmem(ve), veo_proc_identifier(proc), exe);
    printf("VE memory: %zu bytes at HMEM address %p\n", size, ve);

    unsigned char *out = malloc(size), *in = malloc(size);
    if (out == NULL || in == NULL)
        return 1;
    for (size_t i = 0; i < size; ++i)
        out[i] = (unsigned char)(i * 7 + 1);
    memset(in, 0, size);
    if (veo_hmemcpy(ve, out, size) != 0 || veo_hmemcpy(in, ve, size) != 0) {
        fprintf(stderr, "veo_hmemcpy failed\n");
        return 1;
    }
    int ok = memcmp(in, out, size) == 0;
    printf("host -> VE -> host: %zu bytes %s\n", size, ok ? "match" : "DIFFER");

    free(in);
    free(out);
    veo_free_hmem(ve);
    veo_proc_destroy(proc);
    printf("%s\n", ok ? "hello VE memory: OK" : "hello VE memory: FAILED");
    return ok ? 0 : 1;
}
