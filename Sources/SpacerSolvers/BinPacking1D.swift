import Foundation

/// One-dimensional bin packing: heuristics, bounds and exact GLPK models.
///
/// An instance is a list of item sizes (bytes, 1 ≤ size ≤ capacity) and a capacity (bytes).
/// Items flagged `first` must start their bin (offset 0) and items flagged `last` must end it
/// (offset capacity − size), so at most one of each goes in a bin: in function placement these
/// are the partial pages of bodies larger than a page, which either start on a page boundary and
/// leave their tail as a `first` item of the page after their whole pages, or end on a page
/// boundary and leave their head as a `last` item of the page before.
public struct BinPackingInstance: Sendable, Hashable {
    /// Bin capacity in bytes, ≥ 1.
    public var capacity: Int
    /// Item sizes in bytes, each in 1...capacity.
    public var sizes: [Int]
    /// `first[i]`: item i must be the first item of its bin (at most one such item per bin).
    public var first: [Bool]
    /// `last[i]`: item i must be the last item of its bin (at most one such item per bin);
    /// never both `first` and `last`.
    public var last: [Bool]
    public init(capacity: Int, sizes: [Int], first: [Bool]? = nil, last: [Bool]? = nil) {
        self.capacity = capacity; self.sizes = sizes
        self.first = first ?? [Bool](repeating: false, count: sizes.count)
        self.last = last ?? [Bool](repeating: false, count: sizes.count)
    }
    /// 0 for an ordinary item, 1 for `last`, 2 for `first` (the order paths take in arc-flow).
    func rank(_ i: Int) -> Int { first[i] ? 2 : last[i] ? 1 : 0 }
}

/// A packing: `bins[j]` lists the item indices of bin j.
public typealias Packing = [[Int]]

/// The outcome of an exact solve of one bin-packing instance.
public struct BinPackingSolution: Sendable {
    /// A feasible packing (the solver's, or the warm start when the solver found nothing better).
    public var bins: Packing
    /// Proven lower bound on the number of bins (≥ the cheap bounds).
    public var bound: Int
    public var status: MIPStatus
    public var seconds: Double
    /// Columns and rows of the model GLPK saw (0 when no model was built).
    public var columns: Int
    public var rows: Int
}

/// Which exact model to hand to GLPK.
public enum BinPackingModel: String, Sendable, CaseIterable {
    /// Kantorovich's assignment model x_ij, y_j (Martello & Toth 1990, "Knapsack Problems",
    /// §8.1), with bins = first-fit-decreasing count, y_j ≥ y_{j+1} and item i (sorted by size,
    /// falling) allowed only in bins 0…i. LP bound = L1: weak.
    case assignment
    /// Valério de Carvalho's arc-flow model ("Exact solution of bin-packing problems using
    /// column generation and branch-and-bound", Annals of OR 86, 1999): nodes are byte offsets
    /// (divided by the gcd of all sizes and the capacity), an arc per item size from every offset
    /// reachable with larger items, loss arcs to the end; its LP bound equals Gilmore–Gomory's.
    case arcflow
}

/// One-dimensional bin packing of one instance (item sizes in bytes, bins of `capacity` bytes):
/// first-fit decreasing, the L1 and Martello–Toth L2 lower bounds, and exact solving with GLPK
/// (assignment or arc-flow, `BinPackingModel`). Used by `bin-packing` per image-set group.
public enum BinPacking1D {
    /// Validates an instance. - Throws: `SolverError.invalidModel` for a capacity < 1, a size
    /// outside 1...capacity or a `first` list of the wrong length.
    public static func validate(_ p: BinPackingInstance) throws {
        guard p.capacity >= 1 else { throw SolverError.invalidModel("capacity \(p.capacity)") }
        guard p.first.count == p.sizes.count, p.last.count == p.sizes.count else {
            throw SolverError.invalidModel("\(p.first.count) first and \(p.last.count) last flags for \(p.sizes.count) items")
        }
        if let bad = p.sizes.indices.first(where: { p.first[$0] && p.last[$0] }) { throw SolverError.invalidModel("item \(bad) is both first and last") }
        if let bad = p.sizes.firstIndex(where: { $0 < 1 || $0 > p.capacity }) {
            throw SolverError.invalidModel("item \(bad) has size \(p.sizes[bad]), outside 1...\(p.capacity)")
        }
    }

    /// Items by falling size, then `first`, `last`, others, then index (deterministic).
    static func decreasing(_ p: BinPackingInstance) -> [Int] {
        p.sizes.indices.sorted { (p.sizes[$0], p.rank($0), -$0) > (p.sizes[$1], p.rank($1), -$1) }
    }

    /// First-fit decreasing (Johnson 1973): each `first` item opens its own bin (largest first);
    /// each `last` item, largest first, goes into the first bin with room and no `last` item yet,
    /// or a new one; then every other item, largest first, into the first bin with room, or a new
    /// one. Guarantee: FFD ≤ 11/9·OPT + 6/9 without `first`/`last` items (Dósa 2007).
    /// - Complexity: O(n · bins).
    public static func firstFitDecreasing(_ p: BinPackingInstance) -> Packing {
        var bins: Packing = [], room: [Int] = [], hasLast: [Bool] = []
        let order = decreasing(p)
        for i in order where p.first[i] { bins.append([i]); room.append(p.capacity - p.sizes[i]); hasLast.append(false) }
        for i in order where p.last[i] {
            if let j = room.indices.first(where: { !hasLast[$0] && room[$0] >= p.sizes[i] }) { bins[j].append(i); room[j] -= p.sizes[i]; hasLast[j] = true }
            else { bins.append([i]); room.append(p.capacity - p.sizes[i]); hasLast.append(true) }
        }
        for i in order where !p.first[i] && !p.last[i] {
            if let j = room.firstIndex(where: { $0 >= p.sizes[i] }) { bins[j].append(i); room[j] -= p.sizes[i] }
            else { bins.append([i]); room.append(p.capacity - p.sizes[i]) }
        }
        return bins
    }

    /// L1 = ⌈Σ sizes / capacity⌉.
    public static func lowerBoundL1(_ p: BinPackingInstance) -> Int {
        (p.sizes.reduce(0, +) + p.capacity - 1) / p.capacity
    }

    /// Martello & Toth's L2 ("Lower bounds and reduction procedures for the bin packing
    /// problem", Discrete Applied Mathematics 28 (1990) 59–70; also "Knapsack Problems", 1990,
    /// §8.3.1). For an integer 0 ≤ α ≤ C/2:
    ///   J1 = {j : w_j > C − α},  J2 = {j : C − α ≥ w_j > C/2},  J3 = {j : C/2 ≥ w_j ≥ α},
    ///   L(α) = |J1| + |J2| + max(0, ⌈(Σ_{J3} w_j − (|J2|·C − Σ_{J2} w_j)) / C⌉),
    /// and L2 = max_α L(α): items of J1 ∪ J2 need a bin each, J3 items cannot join a J1 bin and
    /// fill at most the free space of the J2 bins. L2 ≥ L1 (α = 0) and L2 ≥ 2/3·OPT. L(α) only
    /// changes where α crosses an item size w ≤ C/2 or C − w + 1 for w > C/2, so only those α
    /// (and 0) are tried. Also returned: the number of `first` items, when larger (each needs
    /// its own bin).
    /// - Complexity: O(k · n) for k candidate thresholds.
    public static func lowerBoundL2(_ p: BinPackingInstance) -> Int {
        let C = p.capacity, half = C / 2
        var candidates = Set<Int>([0])
        for w in p.sizes {
            if w <= half { candidates.insert(w) } else if C - w + 1 <= half { candidates.insert(C - w + 1) }
        }
        var best = 0
        for a in candidates {
            var j1 = 0, j2 = 0, s2 = 0, s3 = 0
            for w in p.sizes {
                if w > C - a { j1 += 1 } else if w * 2 > C { j2 += 1; s2 += w } else if w >= a { s3 += w }
            }
            let rest = max(0, s3 - (j2 * C - s2))
            best = max(best, j1 + j2 + (rest + C - 1) / C)
        }
        return max(best, p.first.filter { $0 }.count, p.last.filter { $0 }.count)
    }

    /// Whether `bins` is a feasible packing of `p`: every item exactly once, no bin over
    /// capacity, at most one `first` item per bin.
    public static func isFeasible(_ bins: Packing, _ p: BinPackingInstance) -> Bool {
        var seen = [Bool](repeating: false, count: p.sizes.count)
        for b in bins {
            var load = 0, firsts = 0, lasts = 0
            for i in b {
                guard i >= 0, i < seen.count, !seen[i] else { return false }
                seen[i] = true; load += p.sizes[i]; if p.first[i] { firsts += 1 }; if p.last[i] { lasts += 1 }
            }
            if load > p.capacity || firsts > 1 || lasts > 1 { return false }
        }
        return seen.allSatisfy { $0 }
    }

    /// Solves `p` exactly with GLPK under `timeLimit` seconds, starting from `warm` (a feasible
    /// packing, typically first-fit decreasing), knowing the lower bound `lowerBound`.
    ///
    /// Returns `warm` with status `.optimal` at once when `warm` meets `lowerBound`. Otherwise the
    /// model (`model`) is solved; its packing replaces `warm` only when it uses fewer bins.
    /// Status: `.optimal` (proven), `.timeLimit` (stopped with a packing, possibly `warm`),
    /// `.noSolution` (nothing found in time: `warm` is returned), `.error`.
    /// - Throws: `SolverError.invalidModel` for an invalid instance or a `warm` that is not a
    ///   feasible packing of it.
    public static func solve(_ p: BinPackingInstance, warm: Packing, lowerBound: Int, model: BinPackingModel,
                             timeLimit: Double, maxColumns: Int = 200_000,
                             progress: (@Sendable (Double?, Double?, Double) -> Void)? = nil) throws -> BinPackingSolution {
        try validate(p)
        guard isFeasible(warm, p) else { throw SolverError.invalidModel("warm start is not a feasible packing") }
        if warm.count <= lowerBound || p.sizes.isEmpty {
            return BinPackingSolution(bins: warm, bound: min(lowerBound, warm.count), status: .optimal, seconds: 0, columns: 0, rows: 0)
        }
        let built: (MIPModel, [Double], ([Double]) -> Packing, (([Double]) -> Packing)?)
        switch model {
        case .assignment:
            let (m, s, d) = assignmentModel(p, warm: warm, lowerBound: lowerBound)
            built = (m, s, d, nil)
        case .arcflow: built = arcFlowModel(p, warm: warm, lowerBound: lowerBound)
        }
        let (mip, start, decode, roundLP) = built
        guard mip.columns.count <= maxColumns else {
            return BinPackingSolution(bins: warm, bound: lowerBound, status: .noSolution, seconds: 0, columns: mip.columns.count, rows: mip.rows.count)
        }
        let r = try MIPSolver.solve(mip, options: MIPOptions(timeLimit: timeLimit, warmStart: start, progress: progress))
        var bins = warm
        if let x = r.values {
            let decoded = decode(x).filter { !$0.isEmpty }
            if decoded.count < warm.count, isFeasible(decoded, p) { bins = decoded }
        }
        // Rounding the LP relaxation (arc-flow) when the search stopped without reaching it.
        var rounded = false
        if let roundLP, let lp = r.relaxation, r.status != .optimal {
            let candidate = roundLP(lp).filter { !$0.isEmpty }
            if candidate.count < bins.count, isFeasible(candidate, p) { bins = candidate; rounded = true }
        }
        let bound = max(lowerBound, Int(((r.bound ?? 0) - 1e-6).rounded(.up)))
        var status = r.status
        if status == .optimal, bins.count > bound { status = .timeLimit }          // decoding lost something: not proven
        if rounded, status == .noSolution { status = .timeLimit }                   // a solution, from the relaxation
        if status == .infeasible { status = .error }                               // the warm start is feasible: cannot be
        if bins.count <= bound { status = .optimal }
        return BinPackingSolution(bins: bins, bound: min(bound, bins.count), status: status, seconds: r.seconds,
                                  columns: mip.columns.count, rows: mip.rows.count)
    }

    // MARK: models

    /// Assignment model over m = |warm| bins (see `BinPackingModel.assignment`).
    static func assignmentModel(_ p: BinPackingInstance, warm: Packing, lowerBound: Int) -> (MIPModel, [Double], ([Double]) -> Packing) {
        let order = decreasing(p)                         // position → item
        var pos = [Int](repeating: 0, count: p.sizes.count)
        for (k, i) in order.enumerated() { pos[i] = k }
        let n = order.count, m = warm.count
        var mip = MIPModel()
        mip.integralObjective = true
        let y = (0..<m).map { _ in mip.addColumn(.init(lower: 0, upper: 1, cost: 1, kind: .binary)) }
        // x[k][j] for j ≤ min(k, m − 1): item at position k only in bins 0…k.
        var x: [[Int]] = []
        for k in 0..<n { x.append((0...min(k, m - 1)).map { _ in mip.addColumn(.init(lower: 0, upper: 1, cost: 0, kind: .binary)) }) }
        for k in 0..<n { mip.addRow(.init(lower: 1, upper: 1), x[k].map { ($0, 1.0) }) }
        for j in 0..<m {
            var row: [(Int, Double)] = [(y[j], -Double(p.capacity))]
            var firsts: [(Int, Double)] = [], lasts: [(Int, Double)] = []
            for k in j..<n {
                row.append((x[k][j], Double(p.sizes[order[k]])))
                if p.first[order[k]] { firsts.append((x[k][j], 1)) }
                if p.last[order[k]] { lasts.append((x[k][j], 1)) }
            }
            mip.addRow(.init(upper: 0), row)
            if firsts.count > 1 { mip.addRow(.init(upper: 1), firsts) }
            if lasts.count > 1 { mip.addRow(.init(upper: 1), lasts) }
            if j + 1 < m { mip.addRow(.init(lower: 0), [(y[j], 1), (y[j + 1], -1)]) }
        }
        mip.addRow(.init(lower: Double(lowerBound)), y.map { ($0, 1.0) })
        // Warm start: bins ordered by their first (largest) item's position, so bin j's first
        // item sits at position ≥ j.
        let sortedWarm = warm.map { $0.sorted { pos[$0] < pos[$1] } }.sorted { pos[$0[0]] < pos[$1[0]] }
        var start = [Double](repeating: 0, count: mip.columns.count)
        for (j, b) in sortedWarm.enumerated() {
            start[y[j]] = 1
            for i in b { start[x[pos[i]][j]] = 1 }
        }
        let decode: ([Double]) -> Packing = { v in
            var bins = Packing(repeating: [], count: m)
            for k in 0..<n {
                if let j = x[k].indices.max(by: { v[x[k][$0]] < v[x[k][$1]] }) { bins[j].append(order[k]) }
            }
            return bins
        }
        return (mip, start, decode)
    }

    /// Arc-flow model (see `BinPackingModel.arcflow`).
    static func arcFlowModel(_ p: BinPackingInstance, warm: Packing, lowerBound: Int)
        -> (MIPModel, [Double], ([Double]) -> Packing, (([Double]) -> Packing)?) {
        var g = p.capacity
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        for s in p.sizes { g = gcd(g, s) }
        let C = p.capacity / g
        // Item types: (size in units, rank) with their items. A path takes a `first` item (from
        // offset 0 only), then a `last` item (its physical place is the bin's end, but in the
        // path it only needs to come once), then ordinary items by falling size.
        struct TypeKey: Hashable { var size: Int; var rank: Int }
        var typeOf: [TypeKey: Int] = [:], types: [TypeKey] = [], members: [[Int]] = []
        for i in decreasing(p) {
            let key = TypeKey(size: p.sizes[i] / g, rank: p.rank(i))
            if let t = typeOf[key] { members[t].append(i) } else { typeOf[key] = types.count; types.append(key); members.append([i]) }
        }
        let typeOrder = types.indices.sorted { (types[$0].rank, types[$0].size) > (types[$1].rank, types[$1].size) }
        // Arcs (from, to, type); type −1 is a loss arc to C.
        var arcs: [(from: Int, to: Int, type: Int)] = []
        var arcIndex: [Int: Int] = [:]             // (from · (C+1) + to) · (types+1) + type+1 → arc
        func key(_ a: Int, _ b: Int, _ t: Int) -> Int { (a * (C + 1) + b) * (types.count + 1) + t + 1 }
        var reach = [Bool](repeating: false, count: C + 1)
        reach[0] = true
        for t in typeOrder where types[t].rank == 2 {
            let w = types[t].size
            arcIndex[key(0, w, t)] = arcs.count; arcs.append((0, w, t))
        }
        for t in typeOrder where types[t].rank == 2 { reach[types[t].size] = true }
        let afterFirst = reach                       // offsets a path may have before its `last` item
        var afterLast = reach
        for t in typeOrder where types[t].rank == 1 {
            let w = types[t].size
            for v in 0...C where afterFirst[v] && v + w <= C {
                arcIndex[key(v, v + w, t)] = arcs.count; arcs.append((v, v + w, t))
                afterLast[v + w] = true
            }
        }
        reach = afterLast
        for t in typeOrder where types[t].rank == 0 {
            let w = types[t].size
            for v in 0...C where reach[v] && v + w <= C {
                arcIndex[key(v, v + w, t)] = arcs.count; arcs.append((v, v + w, t))
                reach[v + w] = true               // visited later in this same pass: several copies
            }
        }
        for v in 0..<C where reach[v] { arcIndex[key(v, C, -1)] = arcs.count; arcs.append((v, C, -1)) }
        var mip = MIPModel()
        mip.integralObjective = true
        let z = mip.addColumn(.init(lower: Double(lowerBound), upper: Double(warm.count), cost: 1, kind: .integer))
        let f = arcs.map { a in mip.addColumn(.init(lower: 0, upper: Double(a.type >= 0 ? members[a.type].count : warm.count), cost: 0, kind: .integer)) }
        var out = [[(Int, Double)]](repeating: [], count: C + 1)
        for (k, a) in arcs.enumerated() { out[a.from].append((f[k], 1)); out[a.to].append((f[k], -1)) }
        // Flow conservation: out − in = z at 0, −z at C, 0 elsewhere.
        for v in 0...C where !out[v].isEmpty {
            var row = out[v]
            if v == 0 { row.append((z, -1)) } else if v == C { row.append((z, 1)) }
            // Merge duplicate columns (an arc never starts and ends at one node, so none arise).
            mip.addRow(.init(lower: 0, upper: 0), row)
        }
        var byType = [[(Int, Double)]](repeating: [], count: types.count)
        for (k, a) in arcs.enumerated() where a.type >= 0 { byType[a.type].append((f[k], 1)) }
        for t in types.indices { mip.addRow(.init(lower: Double(members[t].count)), byType[t]) }
        // Warm start: each bin is a path through its items (firsts, then falling sizes).
        var start = [Double](repeating: 0, count: mip.columns.count)
        start[z] = Double(warm.count)
        var warmOK = true
        for b in warm {
            let items = b.sorted { (p.rank($0), p.sizes[$0], -$0) > (p.rank($1), p.sizes[$1], -$1) }
            var v = 0
            for i in items {
                let t = typeOf[TypeKey(size: p.sizes[i] / g, rank: p.rank(i))]!
                guard let k = arcIndex[key(v, v + types[t].size, t)] else { warmOK = false; break }
                start[f[k]] += 1; v += types[t].size
            }
            if v < C { if let k = arcIndex[key(v, C, -1)] { start[f[k]] += 1 } else { warmOK = false } }
        }
        if !warmOK { start = [Double](repeating: 0, count: mip.columns.count) }   // GLPK rejects it; harmless
        let decode: ([Double]) -> Packing = { x in
            var flow = arcs.indices.map { Int(x[f[$0]].rounded()) }
            var outArcs = [[Int]](repeating: [], count: C + 1)
            for (k, a) in arcs.enumerated() { outArcs[a.from].append(k) }
            var left = members
            var bins: Packing = []
            let paths = Int(x[z].rounded())
            for _ in 0..<paths {
                var v = 0, bin: [Int] = [], steps = 0
                while v != C && steps <= C + 1 {
                    steps += 1
                    guard let k = outArcs[v].first(where: { flow[$0] > 0 }) else { break }
                    flow[k] -= 1
                    let t = arcs[k].type
                    if t >= 0, let i = left[t].popLast() { bin.append(i) }
                    v = arcs[k].to
                }
                bins.append(bin)
            }
            if left.contains(where: { !$0.isEmpty }) { return [] }   // infeasible decode: caller keeps warm
            return bins
        }
        // LP rounding: decompose the fractional flow into paths, keep ⌊weight⌋ bins of each path's
        // pattern while items of its types remain, then pack what is left by first-fit decreasing.
        let roundLP: ([Double]) -> Packing = { x in
            var flow = arcs.indices.map { x[f[$0]] }
            var outArcs = [[Int]](repeating: [], count: C + 1)
            for (k, a) in arcs.enumerated() { outArcs[a.from].append(k) }
            var left = members
            var bins: Packing = []
            for _ in 0..<(4 * arcs.count) {
                var v = 0, path: [Int] = []
                while v != C {
                    guard let k = outArcs[v].max(by: { flow[$0] < flow[$1] }), flow[k] > 1e-6 else { break }
                    path.append(k); v = arcs[k].to
                }
                guard v == C, !path.isEmpty else { break }
                let weight = path.map { flow[$0] }.min()!
                for k in path { flow[k] -= weight }
                for _ in 0..<Int((weight + 1e-6).rounded(.down)) {
                    var bin: [Int] = []
                    for k in path where arcs[k].type >= 0 { if let i = left[arcs[k].type].popLast() { bin.append(i) } }
                    if !bin.isEmpty { bins.append(bin) }
                }
            }
            let rest = left.flatMap { $0 }
            guard !rest.isEmpty else { return bins }
            let sub = BinPackingInstance(capacity: p.capacity, sizes: rest.map { p.sizes[$0] },
                                         first: rest.map { p.first[$0] }, last: rest.map { p.last[$0] })
            return bins + firstFitDecreasing(sub).map { $0.map { rest[$0] } }
        }
        return (mip, start, decode, roundLP)
    }
}
