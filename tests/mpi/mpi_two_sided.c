/* Two-sided MPI end to end, with the proof of which transport carried it:
 *   mpi_two_sided veshm|no-veshm [max_bytes]
 * Every rank exchanges with its partner (rank ^ 1, the last of an odd count
 * sits out) MPI_Send/MPI_Recv ping-pongs and MPI_Isend/MPI_Irecv exchanges
 * of 1 B .. max_bytes (default 64 MiB, powers of two and a few odd sizes),
 * then all ranks run MPI_Alltoall; every byte received is checked.
 * Proof: the veshm module counts the active messages it sent
 * (uct_veshm_am_stats) and the VE DMA it posted (uct_veshm_dma_stats); the
 * job's sum must be at least the payload the ranks sent to each other
 * (veshm), or zero with the module loaded (no-veshm: the control, UCX_TLS
 * without veshm, passes only for that reason). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*stats_fn)(uint64_t *, uint64_t *);

static int rank, size;

static uint8_t pattern(uint64_t i, uint32_t seed) {
    return (uint8_t)(((i + 1) * 0x9e3779b97f4a7c15ull ^ seed) >> 29);
}

static void fill(uint8_t *p, size_t n, uint32_t seed) {
    for (size_t i = 0; i < n; ++i)
        p[i] = pattern(i, seed);
}

static int check(const uint8_t *p, size_t n, uint32_t seed, const char *what) {
    for (size_t i = 0; i < n; ++i) {
        if (p[i] != pattern(i, seed)) {
            fprintf(stderr, "rank %d: %s of %zu bytes: byte %zu is %u, expected %u\n", rank, what,
                    n, i, p[i], pattern(i, seed));
            return 1;
        }
    }
    return 0;
}

/* Bytes this rank sent to other ranks. */
static uint64_t sent;

static int pairs(size_t n, uint8_t *sbuf, uint8_t *rbuf) {
    int partner = rank ^ 1, errors = 0;
    if (partner >= size)
        return 0;
    int first = rank < partner;
    uint32_t mine = (uint32_t)(n * 31 + (size_t)rank),
             theirs = (uint32_t)(n * 31 + (size_t)partner);
    /* Send/Recv: the lower rank sends first, then the reply comes back. */
    fill(sbuf, n, mine);
    memset(rbuf, 0, n);
    if (first) {
        MPI_Send(sbuf, (int)n, MPI_BYTE, partner, 1, MPI_COMM_WORLD);
        MPI_Recv(rbuf, (int)n, MPI_BYTE, partner, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else {
        MPI_Recv(rbuf, (int)n, MPI_BYTE, partner, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Send(sbuf, (int)n, MPI_BYTE, partner, 2, MPI_COMM_WORLD);
    }
    errors += check(rbuf, n, theirs, "MPI_Recv");
    /* Isend/Irecv both ways at once, the receive posted after the send. */
    fill(sbuf, n, mine + 7);
    memset(rbuf, 0, n);
    MPI_Request req[2];
    MPI_Isend(sbuf, (int)n, MPI_BYTE, partner, 3, MPI_COMM_WORLD, &req[0]);
    MPI_Irecv(rbuf, (int)n, MPI_BYTE, partner, 3, MPI_COMM_WORLD, &req[1]);
    MPI_Waitall(2, req, MPI_STATUSES_IGNORE);
    errors += check(rbuf, n, theirs + 7, "MPI_Irecv");
    sent += 2 * n;
    return errors;
}

static int alltoall(size_t block) {
    uint8_t *s = malloc(block * (size_t)size), *r = malloc(block * (size_t)size);
    int errors = 0;
    for (int i = 0; i < size; ++i)
        fill(s + (size_t)i * block, block, (uint32_t)(rank * 1000 + i));
    memset(r, 0, block * (size_t)size);
    MPI_Alltoall(s, (int)block, MPI_BYTE, r, (int)block, MPI_BYTE, MPI_COMM_WORLD);
    for (int i = 0; i < size; ++i)
        errors += check(r + (size_t)i * block, block, (uint32_t)(i * 1000 + rank), "MPI_Alltoall");
    sent += block * (size_t)(size - 1);
    free(s);
    free(r);
    return errors;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const char *expect = argc > 1 ? argv[1] : "veshm";
    size_t max = argc > 2 ? strtoull(argv[2], NULL, 0) : ((size_t)64 << 20);
    uint8_t *sbuf = malloc(max), *rbuf = malloc(max);
    int errors = 0;
    for (size_t n = 1; n <= max; n *= 2) {
        errors += pairs(n, sbuf, rbuf);
        if (n >= 4 && n * 3 / 2 + 1 <= max)
            errors += pairs(n * 3 / 2 + 1, sbuf, rbuf); /* odd sizes */
    }
    errors += alltoall(1000);
    errors += alltoall((size_t)1 << 20);
    free(sbuf);
    free(rbuf);

    stats_fn am = (stats_fn)dlsym(RTLD_DEFAULT, "uct_veshm_am_stats");
    stats_fn dma = (stats_fn)dlsym(RTLD_DEFAULT, "uct_veshm_dma_stats");
    uint64_t mine[4] = {sent, 0, 0, (am != NULL && dma != NULL) ? 1 : 0}, total[4];
    if (am != NULL)
        am(NULL, &mine[1]);
    if (dma != NULL)
        dma(NULL, &mine[2]);
    int all_errors = 0;
    MPI_Reduce(&errors, &all_errors, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(mine, total, 4, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
    int rc = 0;
    if (rank == 0) {
        printf("mpi_two_sided: %d ranks, %d data errors, payload %lu bytes, veshm active messages "
               "%lu bytes, veshm VE DMA %lu bytes, module in %lu ranks\n",
               size, all_errors, (unsigned long)total[0], (unsigned long)total[1],
               (unsigned long)total[2], (unsigned long)total[3]);
        if (all_errors != 0) {
            rc = 1;
        } else if (total[3] != (uint64_t)size) {
            printf("mpi_two_sided: FAIL: the veshm module is not loaded in every rank\n");
            rc = 1;
        } else if (strcmp(expect, "veshm") == 0) {
            rc = total[1] + total[2] >= total[0] ? 0 : 1;
            printf("mpi_two_sided: %s: the traffic %s over veshm\n", rc ? "FAIL" : "OK",
                   rc ? "did not go" : "went");
        } else {
            rc = total[1] + total[2] == 0 ? 0 : 1;
            printf("mpi_two_sided: %s (control): %s\n", rc ? "FAIL" : "OK",
                   rc ? "veshm carried traffic" : "no veshm traffic");
        }
    }
    MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Finalize();
    return rc;
}
