/* Epochs of large puts between two ranks, the way osu_put_bibw moves data:
 * each rank puts `count` messages of `size` bytes into the other's window
 * (bi), or only rank 0 into rank 1's (uni), between two fences.
 *   bench_mpi_exchange SIZE EPOCHS bi|uni [COUNT]
 * Output (rank 0): one line per epoch after two warm-up epochs, its time in
 * microseconds. A rank's bandwidth is a mean's business, and a mean is its
 * tail's: whoever waits for a peer that lost its core pays the whole wait
 * in that epoch, so every epoch is printed for run.sh to summarize.
 * Exit status 1 if a window does not hold what its peer put. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size_of_world;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size_of_world);
    if (argc < 4 || size_of_world != 2) {
        if (rank == 0)
            fprintf(stderr, "usage: mpirun -np 2 bench_mpi_exchange SIZE EPOCHS bi|uni [COUNT]\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    size_t n = strtoull(argv[1], NULL, 0);
    int epochs = atoi(argv[2]), bi = strcmp(argv[3], "bi") == 0;
    int count = argc > 4 ? atoi(argv[4]) : 64;
    if (n == 0 || epochs < 1 || count < 1 || n > ((size_t)1 << 30) / (size_t)count)
        MPI_Abort(MPI_COMM_WORLD, 2);
    size_t bytes = n * (size_t)count;
    char *buf = malloc(bytes), *win_mem;
    if (buf == NULL)
        MPI_Abort(MPI_COMM_WORLD, 1);
    memset(buf, 'a' + rank, bytes);
    MPI_Win win;
    MPI_Win_allocate((MPI_Aint)bytes, 1, MPI_INFO_NULL, MPI_COMM_WORLD, &win_mem, &win);
    memset(win_mem, 0, bytes);
    int peer = 1 - rank, puts = bi || rank == 0;
    double *t = malloc(sizeof(double) * (size_t)epochs);
    if (t == NULL)
        MPI_Abort(MPI_COMM_WORLD, 1);
    MPI_Win_fence(0, win);
    for (int e = -2; e < epochs; e++) {
        double t0 = MPI_Wtime();
        for (int i = 0; puts && i < count; i++)
            MPI_Put(buf + (size_t)i * n, (int)n, MPI_CHAR, peer, (MPI_Aint)((size_t)i * n), (int)n,
                    MPI_CHAR, win);
        MPI_Win_fence(0, win);
        if (e >= 0)
            t[e] = (MPI_Wtime() - t0) * 1e6;
    }
    int ok = 1;
    if (bi || rank == 1)
        for (size_t i = 0; i < bytes; i++)
            ok &= win_mem[i] == 'a' + peer;
    int all_ok;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    if (rank == 0) {
        for (int e = 0; e < epochs; e++)
            printf("%.1f\n", t[e]);
        if (!all_ok)
            fprintf(stderr, "bench_mpi_exchange: a window does not hold what was put\n");
    }
    MPI_Win_free(&win);
    free(t);
    free(buf);
    MPI_Finalize();
    return all_ok ? 0 : 1;
}
