/* Smallest MPI one-sided program: every rank puts its rank number into its
 * right neighbour's window and reads it back. Over veshm the window from
 * MPI_Win_allocate is VE memory that the other ranks attach through VESHM:
 * on one host MPI_Put/MPI_Get are copies through its host view, across hosts
 * VE DMA.
 *   mpicc -o hello_rma hello_rma.c && mpirun -np 4 --oversubscribe ./hello_rma */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char **argv) {
    int rank, size, *win_mem, got = -1;
    MPI_Win win;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Win_allocate(sizeof(int), sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &win_mem, &win);
    int right = (rank + 1) % size, left = (rank + size - 1) % size;

    MPI_Win_fence(0, win);
    MPI_Put(&rank, 1, MPI_INT, right, 0, 1, MPI_INT, win);
    MPI_Win_fence(0, win);
    MPI_Get(&got, 1, MPI_INT, right, 0, 1, MPI_INT, win);
    MPI_Win_fence(MPI_MODE_NOSUCCEED, win);

    printf("rank %d of %d: my window holds %d (expected %d), right neighbour's holds %d "
           "(expected %d)\n",
           rank, size, *win_mem, left, got, rank);
    int ok = *win_mem == left && got == rank;
    MPI_Win_free(&win);
    MPI_Finalize();
    return ok ? 0 : 1;
}
