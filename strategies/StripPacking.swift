import Foundation
import SpacerCore
import SpacerSolvers

/// `strip-packing` (docs/design.md §5): images along one axis, addresses along the other; each body a
/// rectangle as wide as its image span and as tall as its size, at one address in every image
/// that holds it.
///
/// 1. Image order: spectral seriation (`Seriation.spectralOrder`, Atkins–Boman–Hendrickson 1998,
///    Fiedler vector through LAPACK `dsyevd`) of the similarity S_ij = bytes of the body
///    instances (functions and data) that images i and j both hold, so that each body's image set
///    is as contiguous as possible. For versions of one library this recovers release order.
/// 2. Rectangles, per zone (code, then rodata; writable data is placed by signature as in
///    `per-occurrence`): a body instance spans the positions from the first to the last image
///    (in that order) that holds it. An image set that is not an interval is *not split*: the
///    rectangle covers the images in between, which get a hole (unused, mapped bytes) there.
///    Splitting would give the body a different address in each piece and so separate contents
///    that could be shared; a hole costs only address space and, where it falls, private pages.
/// 3. Skyline bottom-left: rectangles grouped by image set and relocation-variant partition (as
///    in `bin-packing`), widest groups first (ties: leftmost, then first appearance), bodies in
///    first-appearance order; each goes at the lowest aligned address where its whole span is
///    free (bottom-left fill, holes below the skyline included: `fill-holes`, default), or with
///    `fill-holes=false` at or above the skyline over its span. Bodies straddle pages freely;
///    groups start page-aligned only with `align-groups` (which implies the plain skyline).
///    Measured on the real default workload (8 SQLite releases + zlib + Lua): filling holes takes
///    the strip from 52 % to 1.8 % above its bound and frames from 1482 to 1464.
/// 4. Exact: a zone with at most `exact-max` rectangles is solved by GLPK (y_b = align_b · k_b,
///    one binary per pair of rectangles whose spans overlap, big-M disjunctions, minimise the strip
///    height H ≥ y_b + size_b) under min(`--time-limit`, what is left of `budget`), the skyline as
///    warm start.
///
/// Objective and bound (`solver_objective`, `solver_bound`, in bytes): Σ over zones of the strip
/// height, and Σ over zones of the largest column load (the bytes of all rectangles covering one
/// image position, holes included), which no placement of these rectangles can beat. Status:
/// `optimal` when every zone's height is proven (meets its bound, or GLPK proved it), `time_limit`
/// when a GLPK search stopped with a solution, `fallback` when a zone keeps the unproven skyline,
/// `error` when GLPK or LAPACK failed (then the image order is the workload's).
public struct StripPackingStrategy: PlacementStrategy {
    public static let name = "strip-packing"
    public static let summary = "images ordered by spectral seriation, bodies as rectangles (image span x size), skyline or GLPK"
    public static let parameters = [
        ParameterSpec("exact-max", .int, default: "10", help: "zones with at most this many rectangles are solved by GLPK", range: 0...1000),
        StrategySupport.budgetParameter,
        ParameterSpec("align-groups", .bool, default: "false", help: "start every image-set group on a page boundary"),
        ParameterSpec("fill-holes", .bool, default: "true", help: "bottom-left fill: lowest free place in the span, holes below the skyline included"),
        ParameterSpec("page-fit", .bool, default: "false", help: "a body no larger than a page never straddles a page boundary (it moves up to the next page)"),
        StrategySupport.trampolineParameter,
    ]
    let exactMax: Int
    let budget: Double
    let alignGroups: Bool
    let fillHoles: Bool
    let trampolines: Bool
    let pageFit: Bool
    public init(parameters: StrategyParameters) throws {
        pageFit = parameters.bool("page-fit")
        trampolines = parameters.bool("trampolines")
        exactMax = parameters.int("exact-max")
        budget = parameters.double("budget")
        guard exactMax >= 0, budget >= 0 else { throw SpacerError.usage("strip-packing: exact-max and budget must be ≥ 0") }
        alignGroups = parameters.bool("align-groups")
        fillHoles = parameters.bool("fill-holes")
    }

    /// The seriation order of `w`'s images (positions → image index), and whether LAPACK failed.
    public static func imageOrder(_ w: Workload) -> (order: [Int], failed: Bool) {
        let n = w.images.count
        // Holders of each body instance (distinct images, ascending) as one flat list per body,
        // counted first; a body's size is that of its last entry seen.
        let bodies = w.bodyInstanceCount
        var last = [Int32](repeating: -1, count: bodies), count = [Int32](repeating: 0, count: bodies)
        var size = [Int](repeating: 0, count: bodies)
        for (i, img) in w.images.enumerated() {
            for t in img.tables {
                let entries = w.tables[t].entries
                for (e, b) in w.bodyInstanceIDs[t].enumerated() {
                    let x = Int(b)
                    if last[x] != Int32(i) { last[x] = Int32(i); count[x] += 1 }
                    size[x] = entries[e].size
                }
            }
        }
        var start = [Int](repeating: 0, count: bodies + 1)
        for x in 0..<bodies { start[x + 1] = start[x] + Int(count[x]) }
        var holders = [Int](repeating: 0, count: start[bodies]), fill = start
        last = [Int32](repeating: -1, count: bodies)
        for (i, img) in w.images.enumerated() {
            for t in img.tables {
                for b in w.bodyInstanceIDs[t] where last[Int(b)] != Int32(i) {
                    last[Int(b)] = Int32(i); holders[fill[Int(b)]] = i; fill[Int(b)] += 1
                }
            }
        }
        // Integer sums (exact, so the order of addition does not matter), then the Double matrix.
        var sum = [Int](repeating: 0, count: n * n)
        for x in 0..<bodies where count[x] >= 2 {
            let hs = holders[start[x]..<start[x + 1]], s = size[x]
            for a in hs { for c in hs where a != c { sum[a * n + c] += s } }
        }
        let S = sum.map(Double.init)
        do { return (try Seriation.spectralOrder(similarity: S, n: n), false) } catch { return (Array(0..<n), true) }
    }

    public func place(_ w: Workload, context: PlacementContext) throws -> PlacementResult {
        var layouts = w.images.map { ImageLayout(for: $0, in: w) }
        let (order, failed) = Self.imageOrder(w)
        var pos = [Int](repeating: 0, count: w.images.count)
        for (k, i) in order.enumerated() { pos[i] = k }
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int(((budget > 0 ? budget : context.timeLimit) * 1000).rounded()))
        var status: SolverStatus = failed ? .error : .ok
        var objective = 0, bound = 0
        for (kinds, zone, name) in [([EntryKind.function], AddressMap.codeStart(pageSize: context.pageSize), "code"), ([.rodata], AddressMap.rodataBase, "rodata")] {
            let r = packZone(w, &layouts, kinds: Set(kinds), zone: zone, regionName: name, pos: pos, context: context, deadline: deadline)
            status = max(status, r.status); objective += r.height; bound += r.bound
        }
        StrategySupport.placeBySignature(w, &layouts, kinds: [.data, .bss], zone: AddressMap.writableBase,
                                         pageSize: context.pageSize, alignGroups: true, regionName: "data")
        if trampolines {
            StrategySupport.addBranchTrampolines(w, &layouts, pageSize: context.pageSize)
        }
        return PlacementResult(layouts: layouts, status: status == .ok ? .optimal : status, provenBound: bound,
                               objective: objective, objectiveUnit: "bytes")
    }

    struct Rect { var body: Int32; var lo: Int; var hi: Int; var size: Int; var align: Int; var sig: [Int]; var variants: [UInt64] }

    func packZone(_ w: Workload, _ layouts: inout [ImageLayout], kinds: Set<EntryKind>, zone: UInt64, regionName: String,
                  pos: [Int], context: PlacementContext, deadline: ContinuousClock.Instant) -> (status: SolverStatus, height: Int, bound: Int) {
        let ps = context.pageSize
        // Rectangles in first-appearance order; `index` maps a body instance to its rectangle.
        var rects: [Rect] = []
        let index = StrategySupport.forEachBodyInstance(w, kinds: kinds, new: { i, t, e, variant in
            let entry = w.tables[t].entries[e]
            rects.append(Rect(body: w.bodyInstanceIDs[t][e], lo: pos[i], hi: pos[i], size: entry.size, align: entry.align, sig: [i],
                              variants: [variant]))
        }, again: { x, i, variant in
            rects[x].lo = min(rects[x].lo, pos[i]); rects[x].hi = max(rects[x].hi, pos[i])
            rects[x].sig.append(i); rects[x].variants.append(variant)
        })
        guard !rects.isEmpty else { return (.ok, 0, 0) }
        let cols = w.images.count
        // Column loads: the strip-height bound.
        var load = [Int](repeating: 0, count: cols)
        for r in rects { for c in r.lo...r.hi { load[c] += r.size } }
        let lb = load.max() ?? 0

        // Skyline bottom-left, groups by image set, widest first.
        var groupOf: [[Int]: Int] = [:]
        var groups: [[Int]] = []
        for x in rects.indices {
            // Image set plus how relocation variants split it (as bin-packing's groups).
            let key = rects[x].sig + rects[x].variants.map { v in rects[x].variants.firstIndex(of: v)! }
            if let g = groupOf[key] { groups[g].append(x) } else { groupOf[key] = groups.count; groups.append([x]) }
        }
        let sortedGroups = groups.indices.sorted {
            let a = rects[groups[$0][0]], b = rects[groups[$1][0]]
            return (a.hi - a.lo, -a.lo, -$0) > (b.hi - b.lo, -b.lo, -$1)
        }
        var sky = Skyline(columns: cols, pageSize: ps, pageFit: pageFit)
        var y = [Int](repeating: 0, count: rects.count)
        for g in sortedGroups {
            let r0 = rects[groups[g][0]]
            if alignGroups { sky.raise(r0.lo...r0.hi, to: Int(alignUp(UInt64(sky.top(r0.lo...r0.hi)), ps))) }
            for x in groups[g] {
                let r = rects[x]
                let at = fillHoles && !alignGroups ? sky.lowestFit(r.lo...r.hi, height: r.size, align: r.align)
                                                   : sky.fitPage(Int(alignUp(UInt64(sky.top(r.lo...r.hi)), r.align)), r.size)
                y[x] = at
                sky.occupy(r.lo...r.hi, at: at, height: r.size)
            }
        }
        var height = sky.height
        var status: SolverStatus = height <= lb ? .optimal : .fallback

        // Exact on small zones.
        let left = clock_seconds(until: deadline)
        if status != .optimal && rects.count <= exactMax && left > 0.05 {
            do {
                let r = try exactStrip(rects, warm: y, height: height, lowerBound: lb, timeLimit: min(context.timeLimit, left))
                if let better = r.y, r.height < height { y = better; height = r.height }
                switch r.status {
                case .optimal: status = .optimal
                case .timeLimit: status = .timeLimit
                case .noSolution, .infeasible: status = .fallback
                case .error: status = .error
                }
            } catch { status = .error }
        }

        // Addresses (every entry of a body instance at its rectangle's) and one region per image:
        // [zone, zone + its column's top).
        for (i, img) in w.images.enumerated() {
            for (k, t) in img.tables.enumerated() {
                let entries = w.tables[t].entries, ids = w.bodyInstanceIDs[t]
                for e in entries.indices where kinds.contains(entries[e].kind) {
                    layouts[i].addresses[k][e] = zone + UInt64(y[Int(index[Int(ids[e])])])
                }
            }
        }
        var top = [Int](repeating: 0, count: cols)
        for x in rects.indices {
            for c in rects[x].lo...rects[x].hi { top[c] = max(top[c], y[x] + rects[x].size) }
        }
        for (i, p) in pos.enumerated() where top[p] > 0 {
            layouts[i].regions.append(Region(name: "\(regionName):strip", start: zone, size: alignUp(UInt64(top[p]), ps), pageAligned: true))
        }
        return (status, height, status == .optimal ? height : lb)
    }

    /// The big-M model of step 4; returns the improved addresses (offsets from the zone) if any.
    func exactStrip(_ rects: [Rect], warm: [Int], height: Int, lowerBound: Int, timeLimit: Double) throws
        -> (status: MIPStatus, y: [Int]?, height: Int) {
        var m = MIPModel()
        m.integralObjective = true
        let M = Double(height)
        let H = m.addColumn(.init(lower: Double(lowerBound), upper: M, cost: 1, kind: .continuous))
        let k = rects.map { r in m.addColumn(.init(lower: 0, upper: Double((height - r.size) / r.align), cost: 0, kind: .integer)) }
        var start = [Double](repeating: 0, count: 0)
        start.append(Double(height))
        for (x, r) in rects.enumerated() { start.append(Double(warm[x] / r.align)) }
        for (x, r) in rects.enumerated() { m.addRow(.init(lower: Double(r.size)), [(H, 1), (k[x], -Double(r.align))]) }
        for a in rects.indices {
            for b in rects.indices where b > a && rects[a].lo <= rects[b].hi && rects[b].lo <= rects[a].hi {
                let z = m.addColumn(.init(lower: 0, upper: 1, cost: 0, kind: .binary))
                let ra = rects[a], rb = rects[b]
                // z = 1: a below b (y_a + s_a ≤ y_b); z = 0: b below a.
                m.addRow(.init(upper: M - Double(ra.size)), [(k[a], Double(ra.align)), (k[b], -Double(rb.align)), (z, M)])
                m.addRow(.init(upper: -Double(rb.size)), [(k[b], Double(rb.align)), (k[a], -Double(ra.align)), (z, -M)])
                start.append(warm[a] + ra.size <= warm[b] ? 1 : 0)
            }
        }
        let r = try MIPSolver.solve(m, options: MIPOptions(timeLimit: timeLimit, warmStart: start))
        guard let v = r.values else { return (r.status, nil, height) }
        let ys = rects.indices.map { Int(v[k[$0]].rounded()) * rects[$0].align }
        // Check the decoded placement before trusting it.
        for a in rects.indices {
            for b in rects.indices where b > a && rects[a].lo <= rects[b].hi && rects[b].lo <= rects[a].hi {
                if ys[a] < ys[b] + rects[b].size && ys[b] < ys[a] + rects[a].size { return (.error, nil, height) }
            }
        }
        return (r.status, ys, rects.indices.map { ys[$0] + rects[$0].size }.max() ?? 0)
    }
}

/// Seconds from now until `deadline` (negative when past).
func clock_seconds(until deadline: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now.duration(to: deadline)
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

/// The columns of `strip-packing`'s strip (one per image position): per column the occupied
/// address ranges (merged, sorted, disjoint) and the skyline (the top of the highest range),
/// with the bottom-left placement rule of step 3.
public struct Skyline: Sendable {
    /// Occupied `[start, end)` byte ranges per column, sorted by start, disjoint (touching ranges merged).
    public private(set) var used: [[(start: Int, end: Int)]]
    /// Per column the highest end of a range (or a raised floor), in bytes.
    public private(set) var sky: [Int]
    let pageSize: Int
    let pageFit: Bool

    /// An empty strip of `columns` columns; `pageFit`: a body of at most `pageSize` bytes never
    /// straddles a page boundary (`fitPage`).
    public init(columns: Int, pageSize: Int, pageFit: Bool) {
        used = Array(repeating: [], count: columns); sky = Array(repeating: 0, count: columns)
        self.pageSize = pageSize; self.pageFit = pageFit
    }

    /// The strip's height: the highest skyline.
    public var height: Int { sky.max() ?? 0 }
    /// The highest skyline over `span`.
    public func top(_ span: ClosedRange<Int>) -> Int { sky[span].max()! }
    /// Raises the skyline of every column of `span` to `floor` (ranges stay as they are).
    public mutating func raise(_ span: ClosedRange<Int>, to floor: Int) { for c in span { sky[c] = floor } }

    /// `at` moved up to the next page when `pageFit` is on and a body of `h` ≤ page bytes
    /// would straddle a page boundary there.
    public func fitPage(_ at: Int, _ h: Int) -> Int {
        guard pageFit, h <= pageSize, at / pageSize != (at + h - 1) / pageSize else { return at }
        return Int(alignUp(UInt64(at), pageSize))
    }

    /// The lowest placement of `height` bytes at `align` (a power of two) free in every column of
    /// `span`: of the candidates 0 and every range end in those columns, the smallest c whose
    /// placement `T(c) = fitPage(alignUp(c, align), height)` is free, returned as `T(c)`.
    ///
    /// An end e whose column's next range starts less than `height` bytes above it is no
    /// candidate worth trying: either that range blocks `T(e)`, or `T(e)` lies at or beyond the
    /// range's end e′ and then `T(e) = T(e′)` (`T` is monotone and constant between them), so e′
    /// gives the same answer. Only the ends before a gap of at least `height` bytes (and each
    /// column's last end) are sorted and tried; in real tables most gaps are alignment slivers.
    /// - Complexity: O(R + K log K + K · |span| · log R) for R ranges in the span and K kept candidates.
    public func lowestFit(_ span: ClosedRange<Int>, height h: Int, align: Int) -> Int {
        var candidates = [0]
        for c in span {
            let col = used[c]
            for j in col.indices where j + 1 == col.count || col[j + 1].start - col[j].end >= h { candidates.append(col[j].end) }
        }
        candidates.sort()
        var last = -1
        for c0 in candidates where c0 != last {
            last = c0
            let at = fitPage(Int(alignUp(UInt64(c0), align)), h)
            var free = true
            for c in span {
                let col = used[c]
                // First range ending after `at`.
                var a = 0, b = col.count
                while a < b { let m = (a + b) / 2; if col[m].end <= at { a = m + 1 } else { b = m } }
                if a < col.count && col[a].start < at + h { free = false; break }
            }
            if free { return at }
        }
        return fitPage(Int(alignUp(UInt64(top(span)), align)), h)   // not reached: the highest end fits
    }

    /// Marks `[at, at + height)` occupied in every column of `span` (free there: a `lowestFit`
    /// or at or above the skyline) and raises the skyline.
    public mutating func occupy(_ span: ClosedRange<Int>, at s: Int, height h: Int) {
        let e = s + h
        for c in span {
            sky[c] = max(sky[c], e)
            var a = 0, b = used[c].count
            while a < b { let m = (a + b) / 2; if used[c][m].start < s { a = m + 1 } else { b = m } }
            used[c].insert((s, e), at: a)
            if a + 1 < used[c].count && used[c][a + 1].start <= e { used[c][a].end = max(e, used[c][a + 1].end); used[c].remove(at: a + 1) }
            if a > 0 && used[c][a - 1].end >= s { used[c][a - 1].end = max(used[c][a - 1].end, used[c][a].end); used[c].remove(at: a) }
        }
    }
}
