import CGLPK
import Foundation
import SpacerCore

/// A mixed-integer linear program in a solver-neutral form: columns (variables), rows
/// (constraints `lower ≤ Σ a·x ≤ upper`) and the non-zero coefficients, all indices 0-based.
///
/// Nothing here touches GLPK; `MIPSolver.solve` validates the whole model before the first
/// GLPK call, because GLPK aborts the process on a bad index or bound (docs/design.md §7).
public struct MIPModel: Sendable {
    /// Kind of a variable.
    public enum Kind: Sendable { case continuous, integer, binary }

    /// One variable: bounds (use `-.infinity` / `.infinity` for none), objective coefficient, kind.
    public struct Column: Sendable {
        public var lower: Double
        public var upper: Double
        public var cost: Double
        public var kind: Kind
        public init(lower: Double = 0, upper: Double = .infinity, cost: Double = 0, kind: Kind = .continuous) {
            self.lower = lower; self.upper = upper; self.cost = cost; self.kind = kind
        }
    }

    /// One constraint `lower ≤ row · x ≤ upper` (infinite bounds allowed on either side).
    public struct Row: Sendable {
        public var lower: Double
        public var upper: Double
        public init(lower: Double = -.infinity, upper: Double = .infinity) { self.lower = lower; self.upper = upper }
    }

    public var columns: [Column] = []
    public var rows: [Row] = []
    /// Non-zero coefficients `(row, column, value)`; a (row, column) pair may appear once only.
    public var entries: [(row: Int, column: Int, value: Double)] = []
    /// Minimise (true) or maximise the objective `Σ cost · x`.
    public var minimize = true
    /// Whether every feasible objective value is an integer (all costs integral on integer
    /// variables): then the search stops as soon as ⌈bound⌉ meets the incumbent.
    public var integralObjective = false

    public init() {}

    /// Adds a column and returns its index.
    @discardableResult
    public mutating func addColumn(_ c: Column) -> Int { columns.append(c); return columns.count - 1 }
    /// Adds a row with its coefficients `(column, value)` and returns its index.
    @discardableResult
    public mutating func addRow(_ r: Row, _ coefficients: [(Int, Double)]) -> Int {
        rows.append(r)
        for (c, v) in coefficients { entries.append((rows.count - 1, c, v)) }
        return rows.count - 1
    }
}

/// What a MIP solve ended with.
public enum MIPStatus: String, Sendable {
    /// The incumbent is proven optimal (within GLPK's tolerances, or ⌈bound⌉ = incumbent).
    case optimal
    /// The time limit (or a stop request) ended the search with an incumbent.
    case timeLimit
    /// The time limit ended the search before any integer solution was found.
    case noSolution
    /// The model has no feasible solution (proven).
    case infeasible
    /// GLPK reported a failure (numerical trouble, …); `message` says which.
    case error
}

/// The outcome of `MIPSolver.solve`.
public struct MIPResult: Sendable {
    public var status: MIPStatus
    /// Objective value of `values`, when there is a solution.
    public var objective: Double?
    /// The best proven bound on the optimum (a lower bound when minimising), when known.
    public var bound: Double?
    /// One value per column, when there is a solution.
    public var values: [Double]?
    /// Wall-clock seconds spent in GLPK.
    public var seconds: Double
    /// Branch-and-bound nodes explored (0 when the LP relaxation settled it).
    public var nodes: Int
    /// GLPK's return code or status, for `error`.
    public var message: String
    /// The optimal solution of the LP relaxation (one value per column), when it was solved;
    /// callers may round it into a heuristic solution when the search finds nothing better.
    public var relaxation: [Double]? = nil
}

/// Options of one MIP solve.
public struct MIPOptions: Sendable {
    /// Wall-clock seconds for the whole solve (LP relaxation plus branch and bound), > 0.
    /// GLPK's `tm_lim` is in milliseconds; the callback also stops the search at the deadline.
    public var timeLimit: Double
    /// A feasible integer solution (one value per column) handed to GLPK as the first incumbent
    /// (`glp_ios_heur_sol` at the first heuristic call); ignored by GLPK if infeasible.
    public var warmStart: [Double]?
    /// Called about once a second after the first second, from the solving thread, with the
    /// incumbent (nil before one exists), the bound and the elapsed seconds.
    public var progress: (@Sendable (_ incumbent: Double?, _ bound: Double?, _ seconds: Double) -> Void)?
    /// GLPK cut generators (Gomory, MIR, cover, clique); on by default: measured to help the
    /// bin-packing models.
    public var cuts: Bool
    public init(timeLimit: Double, warmStart: [Double]? = nil, cuts: Bool = true,
                progress: (@Sendable (_ incumbent: Double?, _ bound: Double?, _ seconds: Double) -> Void)? = nil) {
        self.timeLimit = timeLimit; self.warmStart = warmStart; self.cuts = cuts; self.progress = progress
    }
}

/// Errors of the solver layer (nothing here ever aborts the process).
public enum SolverError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The model would make GLPK abort: an index out of range, a duplicate coefficient, a NaN or
    /// infinite coefficient, crossed bounds, a warm start of the wrong length …
    case invalidModel(String)
    /// A LAPACK routine failed (`info` ≠ 0) or its input was invalid.
    case lapack(String)
    public var description: String {
        switch self {
        case .invalidModel(let s): return "invalid model: \(s)"
        case .lapack(let s): return "LAPACK: \(s)"
        }
    }
}

/// GLPK's branch-and-cut (`glp_simplex` then `glp_intopt`, GLPK 5.0) behind a validated,
/// solver-neutral interface.
///
/// Thread safety: each call creates, uses and deletes its own `glp_prob` on the calling thread
/// and silences GLPK's terminal output on that thread first (`glp_term_out(GLP_OFF)`; GLPK's
/// environment is thread-local). Calls from different threads are independent.
///
/// Time: GLPK's `tm_lim` (milliseconds) bounds the LP relaxation and the search, and the callback
/// stops the search at the deadline. Cut rounds and a node's LP cannot be interrupted, so cuts are
/// off for models above 20 000 columns and the search stops early by 1.5 × the root LP's time
/// (at most half the limit): measured overrun ≤ 0.1 s at limits of 1 and 3 s on a 70 000-column
/// model that overran by 0.9 s before. `SPACER_SOLVER_TRACE=1` in the environment prints each
/// phase's time to stderr.
///
/// Warm start: the MIP presolver is off, so that the columns GLPK searches are the model's own and
/// the warm start can be handed over as is; the LP relaxation is solved first by the simplex
/// method (an optimal basis is what `glp_intopt` needs without its presolver).
public enum MIPSolver {
    /// Checks `model` (and `warmStart`) for everything that would make GLPK abort.
    /// - Throws: `SolverError.invalidModel` naming the first problem.
    public static func validate(_ model: MIPModel, warmStart: [Double]? = nil) throws {
        let n = model.columns.count, m = model.rows.count
        guard n >= 1 else { throw SolverError.invalidModel("no columns") }
        guard n < Int(Int32.max) - 1, m < Int(Int32.max) - 1, model.entries.count < Int(Int32.max) - 1 else {
            throw SolverError.invalidModel("model too large for GLPK's 32-bit indices")
        }
        for (j, c) in model.columns.enumerated() {
            guard !c.lower.isNaN, !c.upper.isNaN, c.cost.isFinite else { throw SolverError.invalidModel("column \(j): NaN bound or non-finite cost") }
            guard c.lower <= c.upper, c.lower != .infinity, c.upper != -.infinity else {
                throw SolverError.invalidModel("column \(j): bounds [\(c.lower), \(c.upper)]")
            }
            if c.kind == .binary, c.lower < 0 || c.upper > 1 { throw SolverError.invalidModel("column \(j): binary with bounds [\(c.lower), \(c.upper)]") }
        }
        for (i, r) in model.rows.enumerated() {
            guard !r.lower.isNaN, !r.upper.isNaN, r.lower <= r.upper, r.lower != .infinity, r.upper != -.infinity else {
                throw SolverError.invalidModel("row \(i): bounds [\(r.lower), \(r.upper)]")
            }
        }
        var seen = Set<Int>()
        seen.reserveCapacity(model.entries.count)
        for (k, e) in model.entries.enumerated() {
            guard e.row >= 0, e.row < m else { throw SolverError.invalidModel("coefficient \(k): row \(e.row) outside 0..<\(m)") }
            guard e.column >= 0, e.column < n else { throw SolverError.invalidModel("coefficient \(k): column \(e.column) outside 0..<\(n)") }
            guard e.value.isFinite else { throw SolverError.invalidModel("coefficient \(k) (row \(e.row), column \(e.column)): \(e.value)") }
            guard seen.insert(e.row * n + e.column).inserted else {
                throw SolverError.invalidModel("coefficient \(k): (row \(e.row), column \(e.column)) given twice")
            }
        }
        if let w = warmStart {
            guard w.count == n else { throw SolverError.invalidModel("warm start has \(w.count) values for \(n) columns") }
            guard w.allSatisfy(\.isFinite) else { throw SolverError.invalidModel("warm start has a non-finite value") }
        }
    }

    /// Solves `model` under `options.timeLimit`.
    ///
    /// - Returns: the status, the solution when there is one, and the best bound GLPK proved
    ///   (the best active node's LP bound during the search, or the optimum).
    /// - Throws: `SolverError.invalidModel` before any GLPK call when the model is malformed.
    /// - Complexity: exponential in the worst case; bounded in time by `options.timeLimit`.
    public static func solve(_ model: MIPModel, options: MIPOptions) throws -> MIPResult {
        try validate(model, warmStart: options.warmStart)
        let clock = ContinuousClock()
        let start = clock.now
        func elapsed() -> Double {
            let d = clock.now - start
            return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        }
        let limit = max(options.timeLimit, 0.001)
        let trace = ProcessInfo.processInfo.environment["SPACER_SOLVER_TRACE"] != nil
        func phase(_ name: String) {
            if trace { FileHandle.standardError.write(Data("mip: \(name) at \(String(format: "%.3f", elapsed())) s (\(model.columns.count) cols, \(model.rows.count) rows)\n".utf8)) }
        }

        glp_term_out(GLP_OFF)
        guard let P = glp_create_prob() else { return MIPResult(status: .error, seconds: 0, nodes: 0, message: "glp_create_prob failed") }
        defer { glp_delete_prob(P) }
        let n = model.columns.count, m = model.rows.count
        glp_set_obj_dir(P, model.minimize ? GLP_MIN : GLP_MAX)
        if m > 0 { glp_add_rows(P, Int32(m)) }
        glp_add_cols(P, Int32(n))
        func bounds(_ lo: Double, _ hi: Double) -> (Int32, Double, Double) {
            switch (lo.isFinite, hi.isFinite) {
            case (false, false): return (GLP_FR, 0, 0)
            case (true, false): return (GLP_LO, lo, 0)
            case (false, true): return (GLP_UP, 0, hi)
            case (true, true): return lo == hi ? (GLP_FX, lo, hi) : (GLP_DB, lo, hi)
            }
        }
        for (i, r) in model.rows.enumerated() {
            let (t, lo, hi) = bounds(r.lower, r.upper)
            glp_set_row_bnds(P, Int32(i + 1), t, lo, hi)
        }
        var hasInteger = false
        for (j, c) in model.columns.enumerated() {
            let col = Int32(j + 1)
            let (t, lo, hi) = bounds(c.lower, c.upper)
            glp_set_col_bnds(P, col, t, lo, hi)
            glp_set_obj_coef(P, col, c.cost)
            if c.kind != .continuous {
                hasInteger = true
                glp_set_col_kind(P, col, GLP_IV)   // bounds kept as validated (binary: within [0, 1])
            }
        }
        let nz = model.entries.count
        if nz > 0 {
            var ia = [Int32](repeating: 0, count: nz + 1), ja = [Int32](repeating: 0, count: nz + 1)
            var ar = [Double](repeating: 0, count: nz + 1)
            for (k, e) in model.entries.enumerated() { ia[k + 1] = Int32(e.row + 1); ja[k + 1] = Int32(e.column + 1); ar[k + 1] = e.value }
            glp_load_matrix(P, Int32(nz), ia, ja, ar)
        }

        phase("loaded")
        // LP relaxation.
        var smcp = glp_smcp()
        glp_init_smcp(&smcp)
        smcp.msg_lev = GLP_MSG_OFF
        smcp.presolve = GLP_OFF
        smcp.tm_lim = Int32(clamping: Int((limit * 1000).rounded(.up)))
        glp_adv_basis(P, 0)
        phase("basis")
        let lpRet = glp_simplex(P, &smcp)
        phase("simplex returned \(lpRet)")
        if lpRet == GLP_ETMLIM || lpRet == GLP_EITLIM {
            return MIPResult(status: .noSolution, seconds: elapsed(), nodes: 0, message: "time limit in the LP relaxation")
        }
        guard lpRet == 0 else { return MIPResult(status: .error, seconds: elapsed(), nodes: 0, message: "glp_simplex returned \(lpRet)") }
        let lpStatus = glp_get_status(P)
        if lpStatus == GLP_NOFEAS { return MIPResult(status: .infeasible, seconds: elapsed(), nodes: 0, message: "LP relaxation infeasible") }
        guard lpStatus == GLP_OPT else {
            return MIPResult(status: .error, seconds: elapsed(), nodes: 0, message: "LP relaxation status \(lpStatus)")
        }
        let lpBound = glp_get_obj_val(P)
        let relaxation = (0..<n).map { glp_get_col_prim(P, Int32($0 + 1)) }
        if !hasInteger {
            return MIPResult(status: .optimal, objective: lpBound, bound: lpBound, values: relaxation, seconds: elapsed(), nodes: 0, message: "",
                             relaxation: relaxation)
        }

        // Branch and cut, with a callback for the warm start, the bound, the deadline and progress.
        let box = CallbackState(model: model, options: options, start: start, limit: limit, lpBound: lpBound)
        var iocp = glp_iocp()
        glp_init_iocp(&iocp)
        iocp.msg_lev = GLP_MSG_OFF
        iocp.presolve = GLP_OFF
        iocp.br_tech = GLP_BR_DTH
        iocp.bt_tech = GLP_BT_BLB
        // Cut rounds at the root run without a callback; on large models they overran a 1 s limit
        // by 0.9 s (assignment model, 70k columns), so they are kept for models below 20k columns.
        if options.cuts && n <= 20_000 { iocp.gmi_cuts = GLP_ON; iocp.mir_cuts = GLP_ON; iocp.cov_cuts = GLP_ON; iocp.clq_cuts = GLP_ON }
        // One node LP cannot be interrupted either: stop early by a margin of 1.5 root LP times.
        let lpSeconds = elapsed()
        box.limit = max(0.001, limit - min(0.5 * limit, 1.5 * lpSeconds + 0.02))
        let remaining = max(box.limit - elapsed(), 0.001)
        iocp.tm_lim = Int32(clamping: Int((remaining * 1000).rounded(.up)))
        iocp.cb_func = mipCallback
        let unmanaged = Unmanaged.passRetained(box)
        defer { unmanaged.release() }
        iocp.cb_info = unmanaged.toOpaque()
        let ret = glp_intopt(P, &iocp)
        phase("intopt returned \(ret) after \(box.nodes) nodes")
        let mipStatus = glp_mip_status(P)
        let have = mipStatus == GLP_OPT || mipStatus == GLP_FEAS
        var values: [Double]? = nil, objective: Double? = nil
        if have {
            values = (0..<n).map { glp_mip_col_val(P, Int32($0 + 1)) }
            objective = glp_mip_obj_val(P)
        }
        var bound = box.bound
        let secs = elapsed()
        func result(_ s: MIPStatus, _ msg: String = "") -> MIPResult {
            MIPResult(status: s, objective: objective, bound: bound, values: values, seconds: secs, nodes: box.nodes, message: msg,
                      relaxation: relaxation)
        }
        switch ret {
        case 0:
            switch mipStatus {
            case GLP_OPT: bound = objective; return result(.optimal)
            case GLP_NOFEAS: return result(.infeasible)
            case GLP_FEAS: return result(.timeLimit, "stopped with a feasible solution")
            default: return result(.error, "glp_intopt status \(mipStatus)")
            }
        case GLP_ESTOP:
            if box.provenOptimal && have { bound = objective; return result(.optimal) }
            return result(have ? .timeLimit : .noSolution)
        case GLP_ETMLIM:
            return result(have ? .timeLimit : .noSolution)
        case GLP_EMIPGAP:
            return result(have ? .timeLimit : .noSolution, "MIP gap tolerance reached")
        default:
            return result(.error, "glp_intopt returned \(ret)")
        }
    }
}

/// State shared with the C callback of one `glp_intopt` call (same thread, same lifetime).
private final class CallbackState {
    let model: MIPModel
    let options: MIPOptions
    let start: ContinuousClock.Instant
    var limit: Double
    var bound: Double?
    var warmStartGiven = false
    var provenOptimal = false
    var lastProgress = 0.0
    var nodes = 0
    init(model: MIPModel, options: MIPOptions, start: ContinuousClock.Instant, limit: Double, lpBound: Double) {
        self.model = model; self.options = options; self.start = start; self.limit = limit; self.bound = lpBound
    }
    var elapsed: Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

/// The `cb_func` of `glp_intopt`: hands over the warm start, tracks the best bound, stops the
/// search when ⌈bound⌉ reaches the incumbent of an integral objective or at the deadline, and
/// reports progress.
private let mipCallback: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Void = { tree, info in
    guard let tree, let info else { return }
    let s = Unmanaged<CallbackState>.fromOpaque(info).takeUnretainedValue()
    let reason = glp_ios_reason(tree)
    if reason == GLP_IHEUR, !s.warmStartGiven, let w = s.options.warmStart {
        s.warmStartGiven = true
        var x = [Double](repeating: 0, count: w.count + 1)
        for (j, v) in w.enumerated() { x[j + 1] = v }
        _ = glp_ios_heur_sol(tree, x)   // GLPK checks feasibility itself and ignores a bad point
    }
    let best = glp_ios_best_node(tree)
    if best != 0 {
        let b = glp_ios_node_bound(tree, best)
        if b.isFinite { s.bound = s.model.minimize ? max(s.bound ?? -.infinity, b) : min(s.bound ?? .infinity, b) }
    }
    var a: Int32 = 0, n: Int32 = 0, t: Int32 = 0
    glp_ios_tree_size(tree, &a, &n, &t)
    s.nodes = Int(t)
    var incumbent: Double? = nil
    if let P = glp_ios_get_prob(tree) {
        let st = glp_mip_status(P)
        if st == GLP_FEAS || st == GLP_OPT { incumbent = glp_mip_obj_val(P) }
    }
    if let inc = incumbent, let b = s.bound {
        s.bound = s.model.minimize ? min(b, inc) : max(b, inc)   // the incumbent bounds the optimum too
    }
    if s.model.integralObjective, let inc = incumbent, let b = s.bound {
        let proven = s.model.minimize ? (b - 1e-6).rounded(.up) >= inc - 1e-6 : (b + 1e-6).rounded(.down) <= inc + 1e-6
        if proven { s.provenOptimal = true; s.bound = inc; glp_ios_terminate(tree); return }
    }
    let e = s.elapsed
    if e >= s.limit { glp_ios_terminate(tree); return }
    if let p = s.options.progress, e >= 1, e - s.lastProgress >= 1 {
        s.lastProgress = e
        p(incumbent, s.bound, e)
    }
}
