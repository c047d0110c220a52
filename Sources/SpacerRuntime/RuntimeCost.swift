import Foundation
import Glibc
import SpacerCore
import SpacerExperiments

/// Runtime overhead (issue 13 item 4, `spacer-sim run --runtime K`): each image's driver timed K
/// times per strategy, one process at a time.
///
/// - `short`: K whole processes (start to exit, wall clock), the driver's workload once each.
/// - `long`: one process running the workload K times (`SPACER_DRIVER_LOOP=K`), the driver's own
///   per-iteration times (CLOCK_MONOTONIC), so start-up and loading are excluded.
///
/// Modes: `direct` (the binary executed by the kernel, as the normal build runs), and the run's
/// mechanism through tools/spacer-loader: `ksm` (image in KSM-mergeable memory while ksmd scans
/// with the run's profile) or `loader` (read-only pages from the strategy's pool).
public struct RuntimeCost {
    /// One timing series.
    public struct Series: Sendable, Hashable {
        /// Group label, mode (`direct`, `ksm`, `loader`), image file name, `short` or `long`.
        public var strategy: String, mode: String, image: String, lifetime: String
        /// Times in milliseconds, in run order.
        public var millis: [Double]
    }

    /// The plan (mechanism, loader, KSM profile, work folder).
    public var plan: RunPlan
    /// Runs per series.
    public var runs: Int
    /// Progress lines.
    public var log: (String) -> Void

    /// A measurement of `runs` runs per series.
    public init(plan: RunPlan, runs: Int, log: @escaping (String) -> Void = { _ in }) { self.plan = plan; self.runs = runs; self.log = log }

    /// Times every image of every group.
    /// - Throws: `SpacerError.unavailable` (KSM, loader), `.data` when a run fails or prints
    ///   something other than its oracle.
    public func measure(_ groups: [ImageGroup]) throws -> [Series] {
        guard FileManager.default.isExecutableFile(atPath: plan.loader) else {
            throw SpacerError.unavailable("no loader at \(plan.loader): build it with tools/spacer-loader/build.sh (needs gcc) or pass --loader")
        }
        RuntimeSignals.install()
        var session: KSMSession? = nil
        if plan.dedup == .ksm {
            let s = try KSMSession(control: plan.ksm, profile: plan.profile)
            RuntimeSignals.track(s); session = s
        }
        defer { if let s = session { s.restore(); RuntimeSignals.untrack(s) } }
        // Pools (loader) first; then the runs interleaved (run k of every group and image before
        // run k + 1), so that a change in the machine's load hits every strategy alike.
        var mech: [[String]] = []
        for g in groups {
            let dir = URL(fileURLWithPath: plan.workDir).appendingPathComponent(g.label + "-runtime").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            if plan.dedup == .loader {
                let pool = dir + "/pool"
                let b = try Instance(argv: [plan.loader, "--build-pool", pool] + g.images, environment: [:], stdout: dir + "/pool.log", stderr: dir + "/pool.err")
                guard Instance.exitCode(b.wait()) == 0 else { throw SpacerError.io(path: pool, underlying: "spacer-loader --build-pool failed") }
                mech.append([plan.loader, "--pool", pool])
            } else { mech.append([plan.loader, "--ksm"]) }
        }
        var out: [Series] = []
        var index: [String: Int] = [:]
        func record(_ g: ImageGroup, _ mode: String, _ name: String, _ lifetime: String, _ ms: [Double]) {
            let key = "\(g.label)\t\(mode)\t\(name)\t\(lifetime)"
            if let k = index[key] { out[k].millis += ms } else {
                index[key] = out.count
                out.append(Series(strategy: g.label, mode: mode, image: name, lifetime: lifetime, millis: ms))
            }
        }
        for mode in ["direct", plan.dedup.rawValue] {
            log("runtime \(mode): \(runs) short-lived runs of every image, then one looping process each")
            for k in 0..<runs {
                for (gi, g) in groups.enumerated() {
                    let dir = URL(fileURLWithPath: plan.workDir).appendingPathComponent(g.label + "-runtime").path
                    for (i, image) in g.images.enumerated() {
                        let name = URL(fileURLWithPath: image).lastPathComponent
                        let prefix = mode == "direct" ? [] : mech[gi]
                        let t0 = DispatchTime.now().uptimeNanoseconds
                        let p = try Instance(argv: prefix + [image], environment: [:], stdout: "\(dir)/\(name).\(mode).out", stderr: "\(dir)/\(name).\(mode).err")
                        let st = p.wait()
                        let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
                        if k == 0 { try check(st, p, g.oracles[i], what: "\(g.label) \(name) \(mode)") }
                        record(g, mode, name, "short", [ms])
                    }
                }
            }
            for (gi, g) in groups.enumerated() {
                let dir = URL(fileURLWithPath: plan.workDir).appendingPathComponent(g.label + "-runtime").path
                for (i, image) in g.images.enumerated() {
                    let name = URL(fileURLWithPath: image).lastPathComponent
                    let prefix = mode == "direct" ? [] : mech[gi]
                    let p = try Instance(argv: prefix + [image], environment: ["SPACER_DRIVER_LOOP": String(runs)],
                                         stdout: "\(dir)/\(name).\(mode).long.out", stderr: "\(dir)/\(name).\(mode).long.err")
                    let st = p.wait()
                    try check(st, p, g.oracles[i], what: "\(g.label) \(name) \(mode) loop")
                    let text = (try? String(contentsOfFile: p.stderrPath, encoding: .utf8)) ?? ""
                    let long = text.split(separator: "\n").compactMap { l -> Double? in
                        let f = l.split(separator: " ")
                        return f.count == 4 && f[0] == "iteration" && f[2] == "ns" ? Double(f[3]).map { $0 / 1e6 } : nil
                    }
                    guard long.count == runs else {
                        throw SpacerError.data(file: p.stderrPath, location: "", expected: "\(runs) lines 'iteration K ns T' (a driver with loop mode)", found: "\(long.count)")
                    }
                    record(g, mode, name, "long", long)
                }
            }
        }
        return out
    }

    private func check(_ status: Int32, _ p: Instance, _ oracle: String?, what: String) throws {
        guard Instance.exitCode(status) == 0 else {
            throw SpacerError.data(file: p.stderrPath, location: "", expected: "\(what) to exit 0", found: "exit \(Instance.exitCode(status))")
        }
        if let o = oracle, FileManager.default.contents(atPath: p.stdoutPath) != FileManager.default.contents(atPath: o) {
            throw SpacerError.data(file: p.stdoutPath, location: "", expected: "\(what): the oracle output \(o)", found: "different output")
        }
    }

    /// The q-quantile (0…1) of `xs` by linear interpolation between order statistics (type 7, as
    /// numpy's default).
    public static func quantile(_ xs: [Double], _ q: Double) -> Double {
        let s = xs.sorted()
        guard !s.isEmpty else { return .nan }
        let h = Double(s.count - 1) * q, lo = Int(h.rounded(.down)), hi = min(lo + 1, s.count - 1)
        return s[lo] + (h - Double(lo)) * (s[hi] - s[lo])
    }

    /// The runtime table: one row per series with median, quartiles, min and max (ms) and the
    /// ratio of its median to the `default` group's (else the first group's) median for the same
    /// image position, mode and lifetime; and per (strategy, mode, lifetime) a `summary` row
    /// whose ratio is the geometric mean of its images' ratios.
    public static func table(_ series: [Series], inputDigest: String) -> TidyTable {
        let columns = ["kind", "strategy", "mode", "image", "lifetime", "runs", "median_ms", "p25_ms", "p75_ms", "min_ms", "max_ms",
                       "ratio_to_default", "tool_version", "tool_commit", "input_digest"]
        let base = series.contains { $0.strategy == "default" } ? "default" : (series.first?.strategy ?? "")
        func f(_ x: Double) -> String { String(format: "%.3f", x) }
        // Image position within its group, so that default's k-th image is the baseline of every group's k-th.
        var position: [String: [String: Int]] = [:]
        for s in series where position[s.strategy]?[s.image] == nil {
            position[s.strategy, default: [:]][s.image] = position[s.strategy]?.count ?? 0
        }
        func baseline(_ s: Series) -> Double? {
            let k = position[s.strategy]?[s.image]
            return series.first { $0.strategy == base && $0.mode == s.mode && $0.lifetime == s.lifetime && position[base]?[$0.image] == k }
                .map { quantile($0.millis, 0.5) }
        }
        var rows: [[String]] = []
        var ratios: [String: [Double]] = [:], order: [String] = []
        for s in series {
            let m = quantile(s.millis, 0.5)
            let r = baseline(s).map { m / $0 }
            rows.append(["series", s.strategy, s.mode, s.image, s.lifetime, String(s.millis.count), f(m), f(quantile(s.millis, 0.25)),
                         f(quantile(s.millis, 0.75)), f(s.millis.min() ?? .nan), f(s.millis.max() ?? .nan), r.map(f) ?? "",
                         Tool.version, Tool.commitLabel, inputDigest])
            let key = "\(s.strategy)\t\(s.mode)\t\(s.lifetime)"
            if ratios[key] == nil { order.append(key) }
            if let r { ratios[key, default: []].append(r) }
        }
        for key in order {
            let p = key.split(separator: "\t").map(String.init)
            let rs = ratios[key] ?? []
            let gm = rs.isEmpty ? Double.nan : exp(rs.map { Glibc.log($0) }.reduce(0, +) / Double(rs.count))
            let all = series.filter { $0.strategy == p[0] && $0.mode == p[1] && $0.lifetime == p[2] }.flatMap(\.millis)
            rows.append(["summary", p[0], p[1], "", p[2], String(all.count), f(quantile(all, 0.5)), f(quantile(all, 0.25)),
                         f(quantile(all, 0.75)), f(all.min() ?? .nan), f(all.max() ?? .nan), rs.isEmpty ? "" : f(gm),
                         Tool.version, Tool.commitLabel, inputDigest])
        }
        return TidyTable(columns: columns, numeric: ["runs", "median_ms", "p25_ms", "p75_ms", "min_ms", "max_ms", "ratio_to_default"], rows: rows)
    }
}
