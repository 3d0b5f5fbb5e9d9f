/**
 * @file lstmae_mpi.h
 * @brief Data-parallel training over MPI: the lstmae_mpi library.
 *
 * lstmae_fit_mpi() is lstmae_fit_collective() on an MPI communicator: its
 * all-reduce is MPI_Allreduce (MPI_FLOAT, MPI_SUM or MPI_MAX) and its
 * broadcast MPI_Bcast (MPI_BYTE) from rank 0. docs/distributed.md has the
 * semantics, how to launch it (mpirun, a hostfile, Slurm's srun), measured
 * figures and a scaling projection.
 *
 * The library is separate from lstmae (CMake target lstmae::mpi or
 * lstmae::mpi_shared, pkg-config lstmae-mpi, -llstmae_mpi), built when the
 * build finds MPI; the core library has no MPI dependency.
 *
 * MIT licensed; see LICENSE.
 */
#ifndef LSTMAE_MPI_H
#define LSTMAE_MPI_H

#include <mpi.h>

#include "lstmae.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @def LSTMAE_MPI_API
 *  Marks the public functions of lstmae_mpi, as #LSTMAE_API does lstmae's:
 *  exported from liblstmae_mpi.so (which hides every other symbol),
 *  imported on Windows. A program that links the static library on Windows
 *  defines LSTMAE_MPI_STATIC_DEFINE (the CMake target lstmae::mpi does so);
 *  the library's own build defines LSTMAE_MPI_BUILDING. */
#if defined(LSTMAE_MPI_STATIC_DEFINE)
#  define LSTMAE_MPI_API
#elif defined(_WIN32)
#  if defined(LSTMAE_MPI_BUILDING)
#    define LSTMAE_MPI_API __declspec(dllexport)
#  else
#    define LSTMAE_MPI_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define LSTMAE_MPI_API __attribute__((visibility("default")))
#else
#  define LSTMAE_MPI_API
#endif

/** @defgroup mpi Data-parallel training over MPI
 *  lstmae_fit_mpi(), in the separate library lstmae_mpi (lstmae_mpi.h).
 *  @{ */

/**
 * Data-parallel lstmae_fit() over the ranks of an MPI communicator
 * (docs/distributed.md): lstmae_fit_collective() with MPI_Allreduce and
 * MPI_Bcast on a duplicate of comm.
 *
 * Every rank of comm calls it at once with its own shard of the training
 * (and validation) data and the same options. Rank 0's model is broadcast
 * first, so every rank starts, and ends, with the same model, bit for bit.
 * A step's gradient is the mean over every valid element of the union of
 * the ranks' local batches of batch_size sequences, combined by one
 * MPI_Allreduce of the gradient sums and counts in one buffer; an epoch
 * has as many steps as the largest shard needs (a rank that has run out
 * adds nothing). So with shuffle off, and rank r holding the r-th run of
 * batch_size out of every batch_size × R sequences, R ranks compute what
 * one process fitting the whole set with batch_size × R computes (to
 * float rounding). Metrics, validation, early stopping, divergence and
 * input scaling statistics are global; with shuffle, each rank shuffles
 * its own shard. Checkpoints are written by rank 0 only, and the
 * callbacks run on rank 0 only.
 *
 * Every rank returns the same status: the arguments are checked, and the
 * outcome agreed, before any work and after every epoch, so a rank with
 * bad input (NULL or invalid arguments, NaN in a valid step, a model whose
 * configuration differs from rank 0's, e.g. another input_dim, no memory)
 * makes every rank return that status without training, instead of
 * leaving the others waiting. A rank that cannot train must still call
 * it (with train NULL, say) for that to happen.
 *
 * The calls are made from the calling thread only (MPI_THREAD_FUNNELED is
 * enough, whatever opt->num_threads). Errors of MPI itself are returned
 * as #LSTMAE_ERR_IO rather than aborting: the duplicate of comm has
 * MPI_ERRORS_RETURN (comm's own handler is left as it is). Every rank
 * must receive the same bits from an all-reduce; Open MPI's and MPICH's
 * algorithms do (the tests check that the ranks end bit-identical). Where
 * an MPI library does not, set the environment variable
 * LSTMAE_MPI_REDUCE_BCAST=1 on every rank: each all-reduce is then
 * MPI_Reduce to rank 0 and MPI_Bcast of its result (about twice the
 * traffic).
 *
 * @par Thread safety
 *      As lstmae_fit(): needs exclusive access to model; no other thread
 *      may use comm's duplicate (it is private to the call).
 *
 * @param model       this rank's model (replaced by rank 0's, then
 *                    trained).
 * @param comm        the group; a communicator of one rank trains alone.
 *                    MPI must be initialised and not finalised.
 * @param train       this rank's shard; count may be 0 (data may then be
 *                    NULL).
 * @param valid       this rank's validation shard, or NULL.
 * @param opt         the same options on every rank (NULL: defaults).
 * @param last_train  NULL, or receives the global metrics of the last
 *                    epoch.
 * @return as lstmae_fit(), the same on every rank; #LSTMAE_ERR_IO when
 *         MPI reports an error. #LSTMAE_ERR_INVALID_ARG without any
 *         communication when comm is MPI_COMM_NULL or an
 *         intercommunicator, or MPI is not initialised (or finalised).
 */
LSTMAE_MPI_API int lstmae_fit_mpi(lstmae_model *model, MPI_Comm comm,
                                  const lstmae_sequences *train, const lstmae_sequences *valid,
                                  const lstmae_fit_options *opt, lstmae_metrics *last_train);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* LSTMAE_MPI_H */
