import Testing
import SpacerCore
import SpacerSolvers

/// The solver layer: GLPK MIP solves and LAPACK eigenproblems behind validated interfaces.
@Suite struct SolverTests {
    /// max 5x + 4y s.t. 6x + 4y ≤ 24, x + 2y ≤ 6, x, y integer ≥ 0: optimum 20 at (4, 0)
    /// (LP optimum 21 at (3, 1.5)).
    @Test func smallIntegerProgram() throws {
        var m = MIPModel()
        m.minimize = false
        let x = m.addColumn(.init(cost: 5, kind: .integer)), y = m.addColumn(.init(cost: 4, kind: .integer))
        m.addRow(.init(upper: 24), [(x, 6), (y, 4)])
        m.addRow(.init(upper: 6), [(x, 1), (y, 2)])
        let r = try MIPSolver.solve(m, options: MIPOptions(timeLimit: 5))
        #expect(r.status == .optimal)
        #expect(r.objective == 20)
        #expect(r.values == [4, 0])
    }

    @Test func badIndicesAreRefusedBeforeGLPK() {
        var m = MIPModel()
        m.addColumn(.init(cost: 1))
        m.addRow(.init(lower: 1), [(3, 1)])     // column 3 does not exist: GLPK would abort
        #expect(throws: SolverError.self) { try MIPSolver.solve(m, options: MIPOptions(timeLimit: 1)) }
        var d = MIPModel()
        d.addColumn(.init(cost: 1))
        d.addRow(.init(lower: 1), [(0, 1), (0, 2)])  // duplicate coefficient: GLPK would abort
        #expect(throws: SolverError.self) { try MIPSolver.solve(d, options: MIPOptions(timeLimit: 1)) }
        var b = MIPModel()
        b.addColumn(.init(lower: 2, upper: 1))
        #expect(throws: SolverError.self) { try MIPSolver.solve(b, options: MIPOptions(timeLimit: 1)) }
        var w = MIPModel()
        w.addColumn(.init(cost: 1, kind: .binary))
        #expect(throws: SolverError.self) { try MIPSolver.solve(w, options: MIPOptions(timeLimit: 1, warmStart: [0, 1])) }
    }

    @Test func infeasibleModel() throws {
        var m = MIPModel()
        let x = m.addColumn(.init(upper: 1, cost: 1, kind: .binary))
        m.addRow(.init(lower: 2), [(x, 1)])
        #expect(try MIPSolver.solve(m, options: MIPOptions(timeLimit: 1)).status == .infeasible)
    }

    /// The path graph 0–1–2–3: Laplacian eigenvalues 2 − 2cos(kπ/4) = 0, 2 − √2, 2, 2 + √2; the
    /// Fiedler vector is monotone along the path.
    @Test func pathLaplacian() throws {
        let L: [Double] = [1, -1, 0, 0, -1, 2, -1, 0, 0, -1, 2, -1, 0, 0, -1, 1]
        let d = try SymmetricEigen.decompose(L, n: 4)
        let expected = [0, 2 - 2.0.squareRoot(), 2, 2 + 2.0.squareRoot()]
        for (a, b) in zip(d.values, expected) { #expect(abs(a - b) < 1e-12) }
        let f = d.vectors[1]
        #expect((f[0] < f[1] && f[1] < f[2] && f[2] < f[3]) || (f[0] > f[1] && f[1] > f[2] && f[2] > f[3]))
        #expect(throws: SolverError.self) { try SymmetricEigen.decompose([1, 2, 3, 4], n: 2) }  // not symmetric
    }
}

/// Random, often malformed models (indices out of range, duplicates, NaN and infinite values,
/// crossed bounds, bad warm starts): each either throws `SolverError` or solves. GLPK aborts the
/// whole process on bad input, so reaching the end of this test is the assertion.
@Suite struct SolverFuzzTests {
    @Test func malformedModelsNeverReachGLPK() {
        var rng = SpacerCore.SplitMix64(seed: 99)
        func r(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        let odd: [Double] = [0, 1, -1, 2.5, .nan, .infinity, -.infinity, 1e300]
        var thrown = 0, solved = 0
        for _ in 0..<300 {
            // Half the models are well formed (small bounded MIPs), half draw from hostile values.
            let hostile = r(2) == 0
            let pool: [Double] = hostile ? odd : [0, 1, 2, 3]
            var m = MIPModel()
            let n = hostile ? r(4) : 1 + r(3), rows = r(4)
            for _ in 0..<n {
                let a = pool[r(pool.count)], b = pool[r(pool.count)]
                m.columns.append(.init(lower: hostile ? a : min(a, b), upper: hostile ? b : max(a, b), cost: pool[r(pool.count)],
                                       kind: hostile ? [.continuous, .integer, .binary][r(3)] : [.continuous, .integer][r(2)]))
            }
            for _ in 0..<rows {
                let a = pool[r(pool.count)], b = pool[r(pool.count)] + 3
                m.rows.append(.init(lower: hostile ? a : -.infinity, upper: hostile ? pool[r(pool.count)] : b))
            }
            var seen = Set<Int>()
            for _ in 0..<r(6) {
                let i = hostile ? r(rows + 2) - 1 : (rows == 0 ? -1 : r(rows)), j = hostile ? r(n + 2) - 1 : r(n)
                if !hostile && (i < 0 || !seen.insert(i * 8 + j).inserted) { continue }
                m.entries.append((i, j, pool[r(pool.count)]))
            }
            let warm: [Double]? = r(2) == 0 ? nil : (0..<(n + (hostile ? r(2) : 0))).map { _ in pool[r(pool.count)] }
            do { _ = try MIPSolver.solve(m, options: MIPOptions(timeLimit: 0.2, warmStart: warm)); solved += 1 }
            catch is SolverError { thrown += 1 }
            catch { Issue.record("unexpected error \(error)") }
        }
        #expect(thrown + solved == 300)
        #expect(thrown > 100 && solved > 100, "thrown \(thrown), solved \(solved)")
    }
}
