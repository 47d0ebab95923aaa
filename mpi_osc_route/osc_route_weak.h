/* The Open MPI symbols this library uses, weak: libveshm_osc_route.so is
 * preloaded into every program mpirun starts, MPI or not, and links no MPI
 * library. A program without libmpi leaves them unresolved (null) and never
 * calls the wrappers that use them. Include after <mpi.h>. */
#ifndef VESHM_OSC_ROUTE_WEAK_H
#define VESHM_OSC_ROUTE_WEAK_H

#pragma weak ompi_mpi_int
#pragma weak ompi_mpi_unsigned
#pragma weak ompi_mpi_long
#pragma weak ompi_mpi_unsigned_long
#pragma weak ompi_mpi_long_long_int
#pragma weak ompi_mpi_unsigned_long_long
#pragma weak ompi_mpi_int32_t
#pragma weak ompi_mpi_int64_t
#pragma weak ompi_mpi_uint32_t
#pragma weak ompi_mpi_uint64_t
#pragma weak ompi_mpi_aint
#pragma weak ompi_mpi_offset
#pragma weak ompi_mpi_count
#pragma weak ompi_mpi_integer
#pragma weak ompi_mpi_integer4
#pragma weak ompi_mpi_integer8
#pragma weak ompi_mpi_op_max
#pragma weak ompi_mpi_op_sum
#pragma weak ompi_mpi_op_no_op
#pragma weak ompi_mpi_op_replace
#pragma weak PMPI_Allreduce
#pragma weak PMPI_Win_allocate
#pragma weak PMPI_Win_create
#pragma weak PMPI_Win_create_dynamic
#pragma weak PMPI_Win_create_keyval
#pragma weak PMPI_Win_set_attr
#pragma weak PMPI_Win_get_attr
#pragma weak PMPI_Fetch_and_op
#pragma weak PMPI_Get_accumulate
#pragma weak PMPI_Type_size

#endif
