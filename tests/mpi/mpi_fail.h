/* How the MPI test programs fail: one line naming the program, the rank and
 * the phase, then the whole job aborts. Each program wraps mpi_fail_v in its
 * own fail(fmt, ...) and checks MPI calls with MPI_CHECK. The line is one
 * write: stderr is unbuffered, and mpirun once printed another rank's line
 * between the pieces of three writes (the control that looks for the
 * failure's text on one line then failed). */
#ifndef VESHM_TEST_MPI_FAIL_H
#define VESHM_TEST_MPI_FAIL_H

#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((noreturn)) static inline void
mpi_fail_v(const char *who, int rank, int nranks, const char *phase, const char *fmt, va_list ap) {
    char line[1024];
    int n = snprintf(line, sizeof(line), "%s [rank %d/%d] FAIL in %s: ", who, rank, nranks, phase);
    if (n >= 0 && (size_t)n < sizeof(line))
        vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    fprintf(stderr, "%s\n", line);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);
}

#define MPI_CHECK(call)                                                                            \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ != MPI_SUCCESS)                                                                    \
            fail("%s returned %d", #call, rc_);                                                    \
    } while (0)

#endif
