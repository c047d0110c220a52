import COpenBLAS
import Foundation

/// Eigen-decomposition of real symmetric matrices with LAPACK `dsyevd` (divide and conquer)
/// from OpenBLAS.
///
/// OpenBLAS is pinned to one thread (`openblas_set_num_threads(1)`, docs/design.md §7): the matrices
/// here are tiny (one row per image) and the machine's two cores are shared.
public enum SymmetricEigen {
    private static let pinned: Bool = { openblas_set_num_threads(1); return true }()

    /// Eigenvalues in ascending order and the matching orthonormal eigenvectors.
    public struct Decomposition: Sendable {
        /// `values[k]`: the k-th smallest eigenvalue.
        public var values: [Double]
        /// `vectors[k]`: the unit eigenvector of `values[k]` (length n). Its sign is as LAPACK
        /// returns it; callers that need determinism across libraries must fix it themselves.
        public var vectors: [[Double]]
    }

    /// Decomposes the symmetric n×n `matrix` (row-major, n² values).
    /// - Throws: `SolverError.lapack` when the matrix is empty, not n×n, has a non-finite
    ///   entry or is not symmetric (|a_ij − a_ji| > 1e-9 · max|a|), or when `dsyevd` fails
    ///   (`info` ≠ 0: an illegal argument, or no convergence).
    /// - Complexity: O(n³) time, O(n²) memory.
    public static func decompose(_ matrix: [Double], n: Int) throws -> Decomposition {
        _ = pinned
        guard n >= 1, n <= 46_000, matrix.count == n * n else {
            throw SolverError.lapack("expected an n×n matrix with n ≥ 1, got \(matrix.count) values for n = \(n)")
        }
        guard matrix.allSatisfy(\.isFinite) else { throw SolverError.lapack("matrix has a non-finite entry") }
        let scale = matrix.map(abs).max() ?? 0
        for i in 0..<n { for j in 0..<i where abs(matrix[i * n + j] - matrix[j * n + i]) > 1e-9 * max(scale, 1) {
            throw SolverError.lapack("matrix is not symmetric at (\(i), \(j))")
        } }
        var a = matrix                       // symmetric: row-major = column-major
        var w = [Double](repeating: 0, count: n)
        var nn = Int32(n), lda = Int32(n), info: Int32 = 0
        var jobz = Int8(UInt8(ascii: "V")), uplo = Int8(UInt8(ascii: "U"))
        // Workspace query.
        var wq = [Double](repeating: 0, count: 1)
        var iq = [Int32](repeating: 0, count: 1)
        var lwork: Int32 = -1, liwork: Int32 = -1
        dsyevd_(&jobz, &uplo, &nn, &a, &lda, &w, &wq, &lwork, &iq, &liwork, &info, 1, 1)
        guard info == 0 else { throw SolverError.lapack("dsyevd workspace query: info = \(info)") }
        lwork = Int32(max(wq[0].rounded(.up), Double(1 + 6 * n + 2 * n * n)))
        liwork = max(iq[0], Int32(3 + 5 * n))
        var work = [Double](repeating: 0, count: Int(lwork))
        var iwork = [Int32](repeating: 0, count: Int(liwork))
        dsyevd_(&jobz, &uplo, &nn, &a, &lda, &w, &work, &lwork, &iwork, &liwork, &info, 1, 1)
        guard info == 0 else {
            throw SolverError.lapack(info < 0 ? "dsyevd: argument \(-info) illegal" : "dsyevd: no convergence (info = \(info))")
        }
        let vectors = (0..<n).map { k in Array(a[(k * n)..<((k + 1) * n)]) }
        return Decomposition(values: w, vectors: vectors)
    }
}
