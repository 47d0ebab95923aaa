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
#pragma weak ompi_mpi_char
#pragma weak ompi_mpi_signed_char
#pragma weak ompi_mpi_unsigned_char
#pragma weak ompi_mpi_short
#pragma weak ompi_mpi_unsigned_short
#pragma weak ompi_mpi_float
#pragma weak ompi_mpi_double
#pragma weak ompi_mpi_int8_t
#pragma weak ompi_mpi_uint8_t
#pragma weak ompi_mpi_int16_t
#pragma weak ompi_mpi_uint16_t
#pragma weak ompi_mpi_op_prod
#pragma weak ompi_mpi_op_max
#pragma weak ompi_mpi_op_min
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

#pragma weak ompi_mpi_byte
#pragma weak ompi_mpi_comm_self
#pragma weak PMPI_Isend
#pragma weak ompi_mpi_datatype_null
#pragma weak ompi_mpi_info_null
#pragma weak PMPI_Win_free
#pragma weak PMPI_Win_lock
#pragma weak PMPI_Win_unlock
#pragma weak PMPI_Win_lock_all
#pragma weak PMPI_Win_unlock_all
#pragma weak PMPI_Win_flush
#pragma weak PMPI_Win_flush_local
#pragma weak PMPI_Win_flush_all
#pragma weak PMPI_Win_flush_local_all
#pragma weak PMPI_Win_sync
#pragma weak PMPI_Win_fence
#pragma weak PMPI_Barrier
#pragma weak PMPI_Comm_dup
#pragma weak PMPI_Win_start
#pragma weak PMPI_Win_post
#pragma weak PMPI_Win_complete
#pragma weak PMPI_Win_wait
#pragma weak PMPI_Win_test
#pragma weak PMPI_Win_get_group
#pragma weak PMPI_Group_free
#pragma weak PMPI_Group_size
#pragma weak PMPI_Group_translate_ranks
#pragma weak PMPI_Win_call_errhandler
#pragma weak PMPI_Win_allocate_shared
#pragma weak PMPI_Win_shared_query
#pragma weak PMPI_Comm_split_type
#pragma weak PMPI_Comm_size
#pragma weak PMPI_Comm_rank
#pragma weak PMPI_Comm_free
#pragma weak PMPI_Allgather
#pragma weak PMPI_Put
#pragma weak PMPI_Get
#pragma weak PMPI_Rput
#pragma weak PMPI_Rget
#pragma weak PMPI_Accumulate
#pragma weak PMPI_Raccumulate
#pragma weak PMPI_Rget_accumulate
#pragma weak PMPI_Compare_and_swap
#pragma weak PMPI_Reduce_local
#pragma weak PMPI_Type_get_envelope
#pragma weak PMPI_Type_get_extent

#endif
