/* Smallest OpenSHMEM program: every PE puts its number into its right
 * neighbour's symmetric variable, then adds 1 to a counter on PE 0. Over
 * veshm the symmetric heap (shmem_malloc) is VE memory, puts and atomics
 * are carried by veshm.
 *   oshcc -o hello_shmem hello_shmem.c && oshrun -np 4 --oversubscribe ./hello_shmem */
#include <shmem.h>
#include <stdio.h>

int main(void) {
    shmem_init();
    int me = shmem_my_pe(), npes = shmem_n_pes();
    long *box = shmem_calloc(2, sizeof(long)); /* box[0]: from the left, box[1]: counter */
    /* Open MPI zeroes the calloc'ed block after the allocation's barrier, so
     * a fast neighbour's put could land before the zeroing: wait for all. */
    shmem_barrier_all();

    shmem_long_p(&box[0], me, (me + 1) % npes);
    shmem_long_atomic_add(&box[1], 1, 0);
    shmem_barrier_all();

    long left = (me + npes - 1) % npes;
    printf("PE %d of %d: got %ld from the left (expected %ld)%s\n", me, npes, box[0], left,
           me == 0 ? (box[1] == npes ? ", counter complete" : ", counter WRONG") : "");
    int ok = box[0] == left && (me != 0 || box[1] == npes);
    shmem_barrier_all();
    shmem_free(box);
    shmem_finalize();
    return ok ? 0 : 1;
}
