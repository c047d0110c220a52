/// Spectral seriation: orders objects so that similar ones sit together.
///
/// Source: Atkins, Boman, Hendrickson, "A spectral algorithm for seriation and the consecutive
/// ones problem", SIAM J. Comput. 28(1), 1998: sort the objects by their component of the Fiedler
/// vector (the eigenvector of the second-smallest eigenvalue of the Laplacian L = D − S of the
/// similarity matrix S). If S is a Robinson matrix in some order (similarity falls off away from
/// the diagonal) and the Fiedler value is simple, the sorted order is such an order; for a 0/1
/// matrix with the consecutive-ones property and S = AᵀA (A: sets × objects), every set is then
/// contiguous. The eigenproblem is solved with LAPACK `dsyevd` (`SymmetricEigen`).
public enum Seriation {
    /// The seriation order of n objects given their symmetric similarity matrix.
    ///
    /// - Parameter similarity: n×n, row-major, symmetric, entries ≥ 0 (the diagonal is ignored).
    /// - Returns: a permutation of 0..<n. Connected components (objects linked by positive
    ///   similarity) are ordered separately and placed one after the other, by their smallest
    ///   index; components of one or two objects keep index order. Within a component the Fiedler
    ///   vector's sign is fixed so that Σ rank·v ≥ 0 (the order leans to index order), and equal
    ///   components (within 1e-9) keep index order: the result is deterministic.
    /// - Throws: `SolverError.lapack` for a matrix that is not n×n, not symmetric, has a negative
    ///   or non-finite entry, or when `dsyevd` fails.
    /// - Complexity: O(n³).
    public static func spectralOrder(similarity s: [Double], n: Int) throws -> [Int] {
        guard n >= 0, s.count == n * n else { throw SolverError.lapack("similarity must be n×n, got \(s.count) values for n = \(n)") }
        guard s.allSatisfy({ $0.isFinite && $0 >= 0 }) else { throw SolverError.lapack("similarity entries must be finite and ≥ 0") }
        var seen = [Bool](repeating: false, count: n)
        var order: [Int] = []
        for root in 0..<n where !seen[root] {
            var comp = [root], stack = [root]
            seen[root] = true
            while let u = stack.popLast() {
                for v in 0..<n where !seen[v] && v != u && s[u * n + v] > 0 { seen[v] = true; comp.append(v); stack.append(v) }
            }
            comp.sort()
            guard comp.count >= 3 else { order += comp; continue }
            let m = comp.count
            var L = [Double](repeating: 0, count: m * m)
            for a in 0..<m {
                for b in 0..<m where a != b {
                    let w = (s[comp[a] * n + comp[b]] + s[comp[b] * n + comp[a]]) / 2
                    L[a * m + b] = -w
                    L[a * m + a] += w
                }
            }
            let d = try SymmetricEigen.decompose(L, n: m)
            var f = d.vectors[1]
            if zip(0..<m, f).reduce(0.0, { $0 + Double($1.0) * $1.1 }) < 0 { f = f.map { -$0 } }
            order += (0..<m).sorted { f[$0] < f[$1] - 1e-9 || (abs(f[$0] - f[$1]) <= 1e-9 && $0 < $1) }.map { comp[$0] }
        }
        return order
    }
}
