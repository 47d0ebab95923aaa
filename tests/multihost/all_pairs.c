/* Every rank puts a block into the MPI_Win_allocate window of every other
 * rank, then checks what all the others put into its own. The block for
 * target t is 64 KiB << t bytes, so the VE DMA one origin posted (counted by
 * tests/mpi/dma_count.c) tells which targets it reached by VE DMA: bit 16+t
 * of its byte count. Each rank reports its host, pid and data check:
 *   all_pairs: rank R pid P host H data ok|BAD
 * Exit status 0 when every rank's data is right. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t block_for(int target) {
    return (size_t)64 << 10 << target;
}

static unsigned char pattern(int origin, int target, size_t i) {
    return (unsigned char)(origin * 31 + target * 7 + i * 13 + 1);
}

int main(int argc, char **argv) {
    int rank, size;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size > 8) {
        if (rank == 0)
            fprintf(stderr, "all_pairs: at most 8 ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    /* Slot o of target t's window is what origin o puts there. */
    size_t mine = block_for(rank);
    unsigned char *win_mem = NULL;
    MPI_Win win;
    MPI_Win_allocate((MPI_Aint)(mine * (size_t)size), 1, MPI_INFO_NULL, MPI_COMM_WORLD, &win_mem,
                     &win);
    memset(win_mem, 0, mine * (size_t)size);
    /* One buffer per target, all in flight together until the fence. */
    unsigned char *bufs[8] = {0};
    MPI_Win_fence(0, win);
    for (int t = 0; t < size; ++t) {
        if (t == rank)
            continue;
        bufs[t] = malloc(block_for(t));
        if (bufs[t] == NULL)
            MPI_Abort(MPI_COMM_WORLD, 2);
        for (size_t i = 0; i < block_for(t); ++i)
            bufs[t][i] = pattern(rank, t, i);
        MPI_Put(bufs[t], (int)block_for(t), MPI_BYTE, t, (MPI_Aint)(block_for(t) * (size_t)rank),
                (int)block_for(t), MPI_BYTE, win);
    }
    MPI_Win_fence(0, win);
    for (int t = 0; t < size; ++t)
        free(bufs[t]);

    int ok = 1;
    for (int o = 0; o < size && ok; ++o) {
        const unsigned char *slot = win_mem + mine * (size_t)o;
        for (size_t i = 0; i < mine; ++i) {
            unsigned char want = o == rank ? 0 : pattern(o, rank, i);
            if (slot[i] != want) {
                fprintf(stderr, "all_pairs: rank %d: byte %zu from rank %d is %u, not %u\n", rank,
                        i, o, slot[i], want);
                ok = 0;
                break;
            }
        }
    }
    char host[256] = "?";
    gethostname(host, sizeof host - 1);
    printf("all_pairs: rank %d pid %d host %s data %s\n", rank, (int)getpid(), host,
           ok ? "ok" : "BAD");
    fflush(stdout);
    MPI_Win_fence(MPI_MODE_NOSUCCEED, win);
    MPI_Win_free(&win);
    int all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    MPI_Finalize();
    return all ? 0 : 1;
}
