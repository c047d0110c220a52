// spacer-bench: measurements for the solver strategies (not tests; run in release mode).
//   (run these from the Benchmarks/ folder: cd Benchmarks && swift run -c release spacer-bench …)
//
//   swift run -c release spacer-bench binpack [--limit S] [--seeds N] [--sizes 25,50,...]
//       Exact bin packing per sub-problem size: FFD, Martello-Toth L2, GLPK (assignment and
//       arc-flow) under the limit; solve time, status, pages vs bound.
//   swift run -c release spacer-bench strip [--limit S] [--seeds N]
//       Strip packing of n rectangles over 6 images: skyline vs GLPK's big-M model.
//   swift run -c release spacer-bench strategies [--limit S] [--functions 100,200,...]
//       bin-packing, strip-packing and per-occurrence on synthetic SQLite-like workloads of
//       growing size (8 images), scored by the simulator.
//   swift run -c release spacer-bench hard DIR
//       Writes a workload whose groups FFD and L2 disagree on (for --time-limit checks).
//   swift run -c release spacer-bench order TABLES... --workload FILE
//       Prints the image order strip-packing's seriation picks.
//   swift run -c release spacer-bench scale [--preset large] [--images 100,1000] [--functions N]
//           [--strategies spacer-delta,...] [--repeat N]
//       Placement and scoring throughput, one thread, on a generated preset (Scale.swift).
//   swift run -c release spacer-bench synth DIR [--functions N] [--seed S]
//       Writes DIR/synthetic-tables.csv and DIR/synthetic-workload.csv (8 SQLite-like versions
//       plus one zlib-like and one Lua-like library in every image) for `spacer-sim compare`.
//
//   swift run -c release spacer-bench compare|series|measure|all [--repeat N] [--csv PATH|-] …
//       Wall time, CPU time and peak memory of compare (per strategy and all), the scale series
//       (100 / 1,000 / 10,000 images) and measure (--elfs DIR), each beside the limit: touching
//       every input byte once and hashing every mapped page's key once (Limits.swift,
//       docs/benchmarks.md).
//
// Output: Markdown tables on stdout; progress on stderr.
import Foundation
import SpacerCore
import SpacerExperiments
import SpacerIO
import SpacerSimulator
import SpacerSolvers
import SpacerStrategies
import SpacerTestSupport

nonisolated(unsafe) var args = Array(CommandLine.arguments.dropFirst())
func option(_ name: String, _ def: String) -> String {
    if let i = args.firstIndex(of: name), i + 1 < args.count { let v = args[i + 1]; args.removeSubrange(i...(i + 1)); return v }
    return def
}
func fail(_ s: String) -> Never { FileHandle.standardError.write(Data("spacer-bench: \(s)\n".utf8)); exit(64) }
func note(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
func f(_ x: Double, _ d: Int = 2) -> String { String(format: "%.\(d)f", x) }

/// Function sizes shaped like libc.a / sqlite3.a on x86-64 (anchors.md §3.1: median ≈ 123 B,
/// p90 ≈ 820 B, 71 % ≤ 256 B, 4.8 % in 1000–2100 B, 1.4 % above 4096 B, max ≈ 36 KiB).
func libcSize(_ r: inout SplitMix64, maxSize: Int = 36_000) -> Int {
    func u(_ a: Int, _ b: Int) -> Int { a + Int(r.next() % UInt64(b - a + 1)) }
    let p = Double(r.next() % 10_000) / 10_000
    let s: Int
    switch p {
    case ..<0.50: s = u(16, 123)
    case ..<0.71: s = u(124, 256)
    case ..<0.90: s = u(257, 820)
    case ..<0.952: s = u(821, 2100)
    case ..<0.986: s = u(2101, 4096)
    default: s = u(4097, 36_000)
    }
    return min(s, maxSize)
}

// MARK: binpack

func benchBinPacking() {
    let limit = Double(option("--limit", "10"))!
    let seeds = Int(option("--seeds", "2"))!
    let sizes = option("--sizes", "25,50,100,200,400,800,1600").split(separator: ",").map { Int($0)! }
    let dists = option("--dists", "libc,medium").split(separator: ",").map(String.init)
    let models = option("--models", "assignment,arcflow").split(separator: ",").map { BinPackingModel(rawValue: String($0))! }
    let g = Int(option("--granularity", "16"))!
    print("## Exact bin packing per sub-problem (page 4096, GLPK 5.0, time limit \(f(limit, 0)) s, 1 thread)\n")
    print("Sizes are bytes rounded up to \(g) (the alignment). `libc`: anchors.md §3.1 distribution up to 4096 B; `medium`: uniform 1000-2100 B.")
    print("FFD and L2 are computed first; when they meet, GLPK is not called (time 0).\n")
    print("| dist | n | seed | L2 | FFD | model | pages | bound | status | seconds | cols | gap FFD→L2 % | gap solver % |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for dist in dists {
        for n in sizes {
            for seed in 1...seeds {
                var r = SplitMix64(seed: UInt64(seed * 1000 + n))
                let raw = (0..<n).map { _ in dist == "libc" ? libcSize(&r, maxSize: 4096) : 1000 + Int(r.next() % 1101) }
                let p = BinPackingInstance(capacity: 4096, sizes: raw.map { min(4096, ($0 + g - 1) / g * g) })
                let ffd = BinPacking1D.firstFitDecreasing(p)
                let l2 = BinPacking1D.lowerBoundL2(p)
                for model in models {
                    note("binpack \(dist) n=\(n) seed=\(seed) \(model)")
                    let clock = ContinuousClock()
                    var sol: BinPackingSolution?
                    let d = clock.measure { sol = try? BinPacking1D.solve(p, warm: ffd, lowerBound: l2, model: model, timeLimit: limit) }
                    guard let s = sol else { print("| \(dist) | \(n) | \(seed) | \(l2) | \(ffd.count) | \(model) | - | - | error | \(f(seconds(d))) | - | - | - |"); continue }
                    let gapFFD = 100 * (Double(ffd.count) / Double(l2) - 1)
                    let gap = 100 * (Double(s.bins.count) / Double(s.bound) - 1)
                    print("| \(dist) | \(n) | \(seed) | \(l2) | \(ffd.count) | \(model) | \(s.bins.count) | \(s.bound) | \(s.status.rawValue) | \(f(seconds(d))) | \(s.columns) | \(f(gapFFD, 1)) | \(f(gap, 1)) |")
                    fflush(nil)
                }
            }
        }
    }
}

// MARK: strip

func benchStrip() {
    let limit = Double(option("--limit", "10"))!
    let seeds = Int(option("--seeds", "2"))!
    let counts = option("--sizes", "6,8,10,12,14,16,20").split(separator: ",").map { Int($0)! }
    print("## Strip packing: skyline vs GLPK big-M (6 images, time limit \(f(limit, 0)) s)\n")
    print("Bound: the largest column load. `exact-max` = n forces GLPK; 0 keeps the skyline.\n")
    print("| n | seed | bound B | skyline B | skyline status | exact B | exact status | exact seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for n in counts {
        for seed in 1...seeds {
            var r = SplitMix64(seed: UInt64(seed * 7919 + n))
            // n bodies over 6 versions: each lives in an interval of versions.
            var tables: [[TableEntry]] = Array(repeating: [], count: 6)
            for b in 0..<n {
                let lo = Int(r.next() % 6), len = 1 + Int(r.next() % 6)
                let size = 100 + Int(r.next() % 3000)
                for v in lo..<min(6, lo + len) { tables[v].append(Build.fn("b\(b)", size, "h\(b)", align: 4)) }
            }
            for v in 0..<6 where tables[v].isEmpty { tables[v].append(Build.fn("own\(v)", 64, "own\(v)", align: 4)) }
            let ts = tables.enumerated().map { Build.table("L", "\($0.offset + 1)", $0.element) }
            guard let w = try? Build.workload(ts, images: (1...6).map { [("L", "\($0)")] }) else { continue }
            note("strip n=\(n) seed=\(seed)")
            let h = try! StrategyRegistry.make("strip-packing", parameters: ["exact-max": "0"]).place(w, context: PlacementContext(timeLimit: limit))
            let clock = ContinuousClock()
            var e: PlacementResult!
            let d = clock.measure { e = try! StrategyRegistry.make("strip-packing", parameters: ["exact-max": "\(n + 6)"]).place(w, context: PlacementContext(timeLimit: limit)) }
            print("| \(n) | \(seed) | \(h.provenBound!) | \(h.objective!) | \(h.status.rawValue) | \(e.objective!) | \(e.status.rawValue) | \(f(seconds(d))) |")
        }
    }
}

// MARK: synthetic SQLite-like workload

/// A library history: `versions` tables; version 1 has `functions` functions with libc-like
/// sizes, 16-byte alignment, 0-3 calls each and some string literals; each later version edits
/// about 8 % of the functions (half keeping the size), inserts 1 % and deletes 0.5 %.
func history(_ lib: String, versions: [String], functions: Int, rng: inout SplitMix64) -> [FunctionTable] {
    struct F { var name: String; var size: Int; var hash: String; var calls: [Int] }
    var fns: [F] = (0..<functions).map { i in F(name: "\(lib)_f\(i)", size: libcSize(&rng), hash: "\(lib)h\(i)", calls: []) }
    for i in fns.indices { fns[i].calls = (0..<Int(rng.next() % 4)).map { _ in Int(rng.next() % UInt64(fns.count)) } }
    var out: [FunctionTable] = []
    var serial = 0
    for (v, version) in versions.enumerated() {
        if v > 0 {
            let edits = max(1, fns.count * 8 / 100)
            for _ in 0..<edits {
                let i = Int(rng.next() % UInt64(fns.count))
                serial += 1
                fns[i].hash += "e\(serial)"
                if rng.next() % 2 == 0 { fns[i].size = max(16, fns[i].size + Int(rng.next() % 200) - 80) }
            }
            for _ in 0..<max(1, fns.count / 100) {
                serial += 1
                let at = Int(rng.next() % UInt64(fns.count))
                fns.insert(F(name: "\(lib)_n\(serial)", size: libcSize(&rng), hash: "\(lib)n\(serial)", calls: [Int(rng.next() % UInt64(fns.count))]), at: at)
            }
            for _ in 0..<max(1, fns.count / 200) { fns.remove(at: Int(rng.next() % UInt64(fns.count))) }
        }
        var entries: [TableEntry] = []
        for (i, fn) in fns.enumerated() {
            let calls = fn.calls.enumerated().compactMap { k, c -> (Int, String)? in
                let off = 1 + 5 * k
                return off + 4 <= fn.size ? (off, fns[c % fns.count].name) : nil
            }
            var e = Build.fn(fn.name, fn.size, fn.hash, align: 16, calls: calls)
            if i % 5 == 0 && fn.size >= 40 { e.relocations.append(Relocation(offset: fn.size - 8, type: .pc32, target: "\(lib)_str\(i % 50)", addend: -4)) }
            entries.append(e)
        }
        for s in 0..<50 { entries.append(Build.data("\(lib)_str\(s)", 8 + 8 * (s % 12), "\(lib)s\(s)_\(s % 7 == 0 ? v : 0)", kind: .rodata, align: 1)) }
        entries.append(Build.data("\(lib)_state", 256, "\(lib)d", kind: .data))
        entries.append(Build.data("\(lib)_buf", 1024, "", kind: .bss))
        out.append(Build.table(lib, version, entries))
    }
    return out
}

/// 8 SQLite-like versions (`functions` functions), each image also holding one zlib-like (120
/// functions) and one Lua-like (functions / 2) version.
func synthWorkload(functions: Int, seed: UInt64) -> (tables: [FunctionTable], rows: [WorkloadRow]) {
    var rng = SplitMix64(seed: seed)
    let versions = (0..<8).map { "3.\(40 + $0).0" }
    var tables = history("sqlite", versions: versions, functions: functions, rng: &rng)
    tables += history("zlib", versions: ["1.3.1"], functions: 120, rng: &rng)
    tables += history("lua", versions: ["5.4.7"], functions: max(10, functions / 2), rng: &rng)
    var rows: [WorkloadRow] = []
    for v in versions {
        rows.append(WorkloadRow(image: "sqlite-\(v)", library: "sqlite", version: v))
        rows.append(WorkloadRow(image: "sqlite-\(v)", library: "zlib", version: "1.3.1"))
        rows.append(WorkloadRow(image: "sqlite-\(v)", library: "lua", version: "5.4.7"))
    }
    return (tables, rows)
}

func benchStrategies() {
    let limit = Double(option("--limit", "10"))!
    let counts = option("--functions", "100,200,400,800,1600").split(separator: ",").map { Int($0)! }
    let names = option("--strategies", "per-occurrence,bin-packing,bin-packing[model=assignment],strip-packing").split(separator: ",").map(String.init)
    print("## Strategies on synthetic SQLite-like workloads (8 images; time limit = run budget = \(f(limit, 0)) s)\n")
    print("| functions/version | strategy | frames | lower bound | gap % | status | solver objective / bound | solver gap % | largest group | seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in counts {
        let (tables, rows) = synthWorkload(functions: n, seed: 1)
        let w = try! Workload(rows: rows, tables: tables)
        // Largest image-set group of functions (the biggest sub-problem bin-packing sees).
        var holders: [Int32: [Int]] = [:]
        for (i, img) in w.images.enumerated() { for t in img.tables { for (e, b) in w.bodyInstanceIDs[t].enumerated() where w.tables[t].entries[e].kind == .function {
            if holders[b]?.last != i { holders[b, default: []].append(i) } } } }
        var groupSize: [[Int]: Int] = [:]
        for (_, h) in holders { groupSize[h, default: 0] += 1 }
        let largest = groupSize.values.max() ?? 0
        for spec in names {
            note("strategies n=\(n) \(spec)")
            // The harness's one place → simulate path and its one name[k=v] parser.
            let r = try! Harness.run(StrategySpec.parse(spec), workload: w, config: RunConfiguration(timeLimit: limit))
            let m = r.metrics
            let model = r.solverObjective.map { "\($0) / \(r.solverBound.map(String.init) ?? "-") \(r.solverUnit)" } ?? "-"
            let sg = r.solverGapPct.map { f($0, 2) } ?? "-"
            print("| \(n) | \(spec) | \(m.frames) | \(m.lowerBoundFrames) | \(f(m.gapPct, 1)) | \(r.status.rawValue) | \(model) | \(sg) | \(largest) | \(f(r.placeSeconds)) |")
        }
    }
}

func synth() {
    let functions = Int(option("--functions", "1600"))!
    let seed = UInt64(option("--seed", "1"))!
    guard let dir = args.dropFirst().first else { fail("synth DIR: missing DIR") }
    let (tables, rows) = synthWorkload(functions: functions, seed: seed)
    let prov = ["synthetic SQLite-like history from spacer-bench synth --functions \(functions) --seed \(seed); not real tables"]
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try! FileIO.writeAtomically(TableCSV.render(tables, provenance: prov), to: dir + "/synthetic-tables.csv")
    var wl = "image,library,version,instances\n"
    for r in rows { wl += "\(r.image),\(r.library),\(r.version),\(r.instances)\n" }
    try! FileIO.writeAtomically(wl, to: dir + "/synthetic-workload.csv")
    note("wrote \(dir)/synthetic-tables.csv and \(dir)/synthetic-workload.csv")
}

/// `order TABLES... --workload FILE`: the image order strip-packing's seriation picks.
func order() {
    let wpath = option("--workload", "")
    let paths = Array(args.dropFirst())
    guard !wpath.isEmpty, !paths.isEmpty else { fail("order TABLE-FILES... --workload FILE") }
    var tables: [FunctionTable] = []
    for pth in paths {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: pth, isDirectory: &isDir), isDir.boolValue {
            for f in (try! FileManager.default.contentsOfDirectory(atPath: pth)).sorted() where (f.hasSuffix(".csv.gz") || f.hasSuffix(".csv")) && !f.contains("workload") {
                tables += try! TableCSV.read(path: pth + "/" + f)
            }
        } else { tables += try! TableCSV.read(path: pth) }
    }
    let w = try! Workload(rows: WorkloadCSV.read(path: wpath), tables: tables)
    let (o, failed) = StripPackingStrategy.imageOrder(w)
    print("seriation order\(failed ? " (LAPACK failed: workload order)" : ""): " + o.map { w.images[$0].name }.joined(separator: ", "))
}

/// `hard DIR`: a workload where first-fit decreasing and L2 disagree (mid-sized functions, 4-byte
/// alignment): two images sharing 460 functions of 1000–2100 B, each with 40 of its own.
func hard() {
    guard let dir = args.dropFirst().first else { fail("hard DIR: missing DIR") }
    var r = SplitMix64(seed: 3)
    func mid() -> Int { 1000 + Int(r.next() % 1101) }
    let shared = (0..<460).map { Build.fn("s\($0)", mid(), "s\($0)", align: 4) }
    let a = Build.table("mid", "1", shared + (0..<40).map { Build.fn("a\($0)", mid(), "a\($0)", align: 4) })
    let b = Build.table("mid", "2", shared + (0..<40).map { Build.fn("b\($0)", mid(), "b\($0)", align: 4) })
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try! FileIO.writeAtomically(TableCSV.render([a, b], provenance: ["spacer-bench hard: synthetic, mid-sized functions"]), to: dir + "/hard-tables.csv")
    try! FileIO.writeAtomically("image,library,version\nA,mid,1\nB,mid,2\n", to: dir + "/hard-workload.csv")
    note("wrote \(dir)/hard-tables.csv and \(dir)/hard-workload.csv")
}

switch args.first {
case "hard": hard()
case "order": order()
case "binpack": benchBinPacking()
case "strip": benchStrip()
case "strategies": benchStrategies()
case "synth": synth()
case "scale": benchScale()
case "compare", "series", "measure", "all": benchSuite(args.first!)
default: fail("usage: spacer-bench binpack|strip|strategies|scale|synth DIR|compare|series|measure|all [options] (see the header of Sources/spacer-bench/main.swift)")
}
