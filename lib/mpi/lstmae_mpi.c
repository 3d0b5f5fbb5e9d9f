/* lstmae_mpi.c - lstmae_fit_mpi: lstmae_fit_collective on an MPI
   communicator (lstmae_mpi.h, docs/distributed.md).

   The collective's all-reduce is MPI_Allreduce in place (MPI_FLOAT,
   MPI_SUM or MPI_MAX), its broadcast MPI_Bcast (MPI_BYTE) from rank 0, on
   a duplicate of the caller's communicator: the library's messages never
   meet the caller's, and the duplicate returns errors (MPI_ERRORS_RETURN)
   where the caller's communicator may abort. MPI counts are int: longer
   buffers go in pieces of at most 2^30 elements. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lstmae_mpi.h"

/* The most elements one MPI call moves (fits in an int). tests/mpi
   builds a copy with a few dozen, to run every path through the pieces. */
#ifndef LSTMAE_MPI_PIECE
#define LSTMAE_MPI_PIECE ((size_t)1 << 30)
#endif
#define PIECE ((size_t)(LSTMAE_MPI_PIECE))

typedef struct mpi_group {
    MPI_Comm comm;
    int reduce_bcast; /* LSTMAE_MPI_REDUCE_BCAST: MPI_Reduce, then MPI_Bcast */
} mpi_group;

static int bcast_bytes(MPI_Comm comm, void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        size_t k = n < PIECE ? n : PIECE;
        if (MPI_Bcast(p, (int)k, MPI_BYTE, 0, comm) != MPI_SUCCESS) return 1;
        p += k;
        n -= k;
    }
    return 0;
}

static int mpi_allreduce(void *user, float *buf, size_t n, int op)
{
    const mpi_group *g = user;
    MPI_Op mop;
    if (op == LSTMAE_REDUCE_SUM)
        mop = MPI_SUM;
    else if (op == LSTMAE_REDUCE_MAX)
        mop = MPI_MAX;
    else
        return 1;
    int rank = 0;
    if (g->reduce_bcast && MPI_Comm_rank(g->comm, &rank) != MPI_SUCCESS) return 1;
    while (n > 0) {
        size_t k = n < PIECE ? n : PIECE;
        int rc;
        if (!g->reduce_bcast) {
            rc = MPI_Allreduce(MPI_IN_PLACE, buf, (int)k, MPI_FLOAT, mop, g->comm);
        } else {
            /* rank 0's result, copied: the same bits everywhere whatever
               the MPI library's allreduce does */
            rc = MPI_Reduce(rank == 0 ? MPI_IN_PLACE : buf, rank == 0 ? buf : NULL, (int)k,
                            MPI_FLOAT, mop, 0, g->comm);
            if (rc == MPI_SUCCESS) rc = MPI_Bcast(buf, (int)k, MPI_FLOAT, 0, g->comm);
        }
        if (rc != MPI_SUCCESS) return 1;
        buf += k;
        n -= k;
    }
    return 0;
}

static int mpi_broadcast(void *user, void *buf, size_t n)
{
    const mpi_group *g = user;
    return bcast_bytes(g->comm, buf, n);
}

/* LSTMAE_MPI_REDUCE_BCAST set to anything but "" or "0". */
static int want_reduce_bcast(void)
{
    const char *v = getenv("LSTMAE_MPI_REDUCE_BCAST");
    return v && *v && strcmp(v, "0") != 0;
}

int lstmae_fit_mpi(lstmae_model *model, MPI_Comm comm, const lstmae_sequences *train,
                   const lstmae_sequences *valid, const lstmae_fit_options *opt,
                   lstmae_metrics *last_train)
{
    /* refused here alone: without a usable communicator there is no group
       to agree with */
    int up = 0, down = 0, inter = 0;
    if (MPI_Initialized(&up) != MPI_SUCCESS || !up) return LSTMAE_ERR_INVALID_ARG;
    if (MPI_Finalized(&down) != MPI_SUCCESS || down) return LSTMAE_ERR_INVALID_ARG;
    if (comm == MPI_COMM_NULL) return LSTMAE_ERR_INVALID_ARG;
    if (MPI_Comm_test_inter(comm, &inter) != MPI_SUCCESS || inter)
        return LSTMAE_ERR_INVALID_ARG;

    mpi_group g;
    g.reduce_bcast = want_reduce_bcast();
    if (MPI_Comm_dup(comm, &g.comm) != MPI_SUCCESS) return LSTMAE_ERR_IO;
    int st = LSTMAE_OK, rank = 0, size = 0;
    if (MPI_Comm_set_errhandler(g.comm, MPI_ERRORS_RETURN) != MPI_SUCCESS ||
        MPI_Comm_rank(g.comm, &rank) != MPI_SUCCESS ||
        MPI_Comm_size(g.comm, &size) != MPI_SUCCESS)
        st = LSTMAE_ERR_IO;
    if (st == LSTMAE_OK) {
        lstmae_collective c;
        memset(&c, 0, sizeof c);
        c.struct_size = sizeof c;
        c.rank = rank;
        c.size = size;
        c.user = &g;
        c.allreduce = mpi_allreduce;
        c.broadcast = mpi_broadcast;
        st = lstmae_fit_collective(model, &c, train, valid, opt, last_train);
    }
    MPI_Comm_free(&g.comm);
    return st;
}
