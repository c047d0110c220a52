import Testing
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
