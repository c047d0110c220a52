// OpenBLAS (libopenblas-dev) with the LAPACK routines it carries. The prototypes are declared
// here rather than taken from cblas.h, whose folder (…/openblas-pthread/) only pkg-config knows:
// the module then builds with or without pkg-config, and the module map links `openblas` either way.
// Only SpacerSolvers imports this module.
#include <stddef.h>

/// Number of threads OpenBLAS may use (OpenBLAS extension; the library is LP64: int is 32-bit).
void openblas_set_num_threads(int num_threads);

/// LAPACK DSYEVD: all eigenvalues (ascending) and, with jobz = 'V', orthonormal eigenvectors of a
/// real symmetric n×n matrix, divide and conquer. Fortran calling convention: every argument by
/// reference, column-major storage; the two trailing size_t are gfortran's hidden lengths of the
/// character arguments jobz and uplo (both 1).
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
             double *w, double *work, const int *lwork, int *iwork, const int *liwork, int *info,
             size_t jobz_len, size_t uplo_len);
