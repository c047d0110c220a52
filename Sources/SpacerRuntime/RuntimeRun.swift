import Foundation
import Glibc
import SpacerCore
import SpacerELF

/// Images of one strategy: what `run` starts together and reports as one `strategy`.
public struct ImageGroup: Sendable, Hashable {
    /// The label: the folder's name (a strategy's folder of scripts/real-build.sh output).
    public var label: String
    /// The executables, in order.
    public var images: [String]
    /// Each image's oracle output file (what its normal build prints), nil when none is known.
    public var oracles: [String?]

    /// A group as given.
    public init(label: String, images: [String], oracles: [String?]) {
        self.label = label; self.images = images; self.oracles = oracles
    }

    /// Groups for command-line arguments: a folder is one group of the ELF executables in it
    /// (by name), labelled by the folder's name; files are grouped by their folder's name, in
    /// order of first appearance. The oracle of `DIR/IMG` is `DIR/../normal/IMG.out` (the normal
    /// build of scripts/real-build.sh), else `DIR/IMG.out`, else none.
    /// - Throws: `SpacerError.noInput` for a missing path; `.usage` for a folder without
    ///   executables or two groups with one label.
    public static func discover(_ paths: [String]) throws -> [ImageGroup] {
        var groups: [ImageGroup] = []
        let fm = FileManager.default
        func oracle(_ path: String) -> String? {
            let url = URL(fileURLWithPath: path)
            let dir = url.deletingLastPathComponent(), name = url.lastPathComponent
            let normal = dir.deletingLastPathComponent().appendingPathComponent("normal").appendingPathComponent(name + ".out").path
            if fm.fileExists(atPath: normal) { return normal }
            let own = path + ".out"
            return fm.fileExists(atPath: own) ? own : nil
        }
        func add(_ label: String, _ image: String) {
            if let k = groups.firstIndex(where: { $0.label == label }) {
                groups[k].images.append(image); groups[k].oracles.append(oracle(image))
            } else { groups.append(ImageGroup(label: label, images: [image], oracles: [oracle(image)])) }
        }
        var folderLabels: Set<String> = []
        for p in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: p, isDirectory: &isDir) else { throw SpacerError.noInput(path: p) }
            let url = URL(fileURLWithPath: p).standardizedFileURL
            if isDir.boolValue {
                let label = url.lastPathComponent
                guard folderLabels.insert(label).inserted else { throw SpacerError.usage("two folders named '\(label)': labels must differ") }
                let names = try fm.contentsOfDirectory(atPath: url.path).sorted()
                let elfs = names.map { url.appendingPathComponent($0).path }.filter(isExecutableELF)
                guard !elfs.isEmpty else { throw SpacerError.usage("\(p): no ELF executables in this folder") }
                for e in elfs { add(label, e) }
            } else {
                add(url.deletingLastPathComponent().lastPathComponent, url.path)
            }
        }
        return groups
    }

    /// Whether `path` is a regular executable file starting with the ELF magic.
    static func isExecutableELF(_ path: String) -> Bool {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, access(path, X_OK) == 0,
              let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        return (try? h.read(upToCount: 4)) == Data([0x7f, 0x45, 0x4c, 0x46])
    }
}

/// When the instances of a group have run long enough after the last start.
public enum Settle: Sendable, Hashable {
    /// A fixed time, seconds (the paper: 30).
    case seconds(Double)
    /// Until KSM's `full_scans` advanced by `scans` after the last start, at most `cap` seconds.
    case fullScans(Int, cap: Double)
}

/// How `run` runs: mechanism, instances, timing, KSM settings.
public struct RunPlan: Sendable {
    /// `ksm` (the images in KSM-mergeable memory) or `loader` (read-only pages from a page pool).
    public var dedup: DedupModel
    /// Instances of every image.
    public var instances: Int
    /// Seconds between two starts.
    public var stagger: Double
    /// When to stop after the last start.
    public var settle: Settle
    /// Seconds between samples (1 Hz: 1).
    public var sampleInterval: Double
    /// KSM settings for `ksm` runs.
    public var profile: KSMProfile
    /// The loader binary (tools/spacer-loader).
    public var loader: String
    /// A folder for the instances' outputs and the pools.
    public var workDir: String
    /// The KSM control files.
    public var ksm: KSMControl
    /// Workload runs of each driver: 0 repeats it until stopped (the memory-over-time shape);
    /// N > 0 runs it N times and then leaves the process idle, its memory unchanged, so KSM can
    /// merge everything equal (the frames comparison). The settle time then counts from the
    /// moment every instance has finished its runs.
    public var driverIterations: Int

    /// A plan with these values.
    public init(dedup: DedupModel, instances: Int, stagger: Double, settle: Settle, sampleInterval: Double = 1, profile: KSMProfile,
                loader: String, workDir: String, ksm: KSMControl = KSMControl(), driverIterations: Int = 0) {
        self.dedup = dedup; self.instances = instances; self.stagger = stagger; self.settle = settle
        self.sampleInterval = sampleInterval; self.profile = profile; self.loader = loader; self.workDir = workDir; self.ksm = ksm
        self.driverIterations = driverIterations
    }
}

/// One 1 Hz sample of a group's instances.
public struct RunSample: Sendable, Hashable {
    /// The group's label.
    public var strategy: String
    /// Seconds since the group's first start.
    public var time: Double
    /// Instances alive.
    public var running: Int
    /// Σ smaps_rollup over the instances (whole processes: image, heap, stack, the loader's own text).
    public var memory: ProcStats.Memory
    /// Σ over the instances of the mappings inside the image's pages.
    public var imageMemory: ProcStats.Memory
    /// KSM's `KSMControl.counterNames`, as read (nil where absent).
    public var counters: [String: Int?]
}

/// What a group measured at the end, beside the prediction.
public struct RunOutcome: Sendable, Hashable {
    /// The group's label.
    public var strategy: String
    /// Images and instances of each.
    public var images: Int, instances: Int
    /// Mapped pages of all instances' images (the static count: every page resident).
    public var imagePages: Int
    /// The simulator's page measure of the same ELF files, each `instances` times, with the run's
    /// dedup model: frames (all pages; read-only; writable).
    public var predictedFrames: Int, predictedReadOnlyFrames: Int, predictedWritableFrames: Int
    /// Measured frames: `ksm`: imagePages − Δpages_sharing (KSM's counters, only the image
    /// mappings are mergeable); `loader`: `pfnFrames`.
    public var measuredFrames: Int
    /// Distinct physical frames behind the image pages of all instances (/proc/PID/pagemap).
    public var pfnFrames: Int
    /// Frames the model's rule gives for the pages' live contents (read through /proc/PID/mem
    /// at the end): what the prediction would be for the memory as it is.
    public var liveFrames: Int
    /// Distinct live contents ignoring the writable flag, each ⌈n / max_page_sharing⌉ (what KSM
    /// can reach: it merges read-only and writable pages alike); for `loader`, as `liveFrames`.
    public var liveFramesAnyProtection: Int
    /// Image pages (over all instances) whose live bytes differ from the file's, by class.
    public var pagesWrittenReadOnly: Int, pagesWrittenWritable: Int
    /// Pages of the pool (`loader`), else 0.
    public var poolPages: Int
    /// Instances whose output equals the oracle; instances with a known oracle.
    public var oraclePassed: Int, oracleKnown: Int
    /// The last sample.
    public var last: RunSample
    /// KSM full scans after the last start, and whether the settle condition was met (not
    /// capped).
    public var scansAfterLastStart: Int, converged: Bool

    /// The mechanism.
    public var dedup: DedupModel

    /// measured − predicted.
    public var difference: Int { measuredFrames - predictedFrames }

    /// The difference broken down: runtime writes (prediction → live), KSM ignoring
    /// protections (live → any protection), KSM not (yet) merging equal pages (→ measured).
    public var explanation: String {
        if dedup == .loader {
            return "pool of \(poolPages) read-only pages (the prediction's read-only frames: \(predictedReadOnlyFrames)) + "
                + "\(predictedWritableFrames) private writable pages; \(signed(difference)) not explained by the model"
        }
        let writes = liveFrames - predictedFrames
        let prot = liveFramesAnyProtection - liveFrames
        let rest = measuredFrames - liveFramesAnyProtection
        var parts = ["\(signed(writes)) from pages written at run time (\(pagesWrittenWritable) writable, \(pagesWrittenReadOnly) read-only page mappings differ from the file)"]
        parts.append("\(signed(prot)) from equal read-only and writable contents that KSM merges and the model keeps apart")
        parts.append("\(signed(rest)) from equal pages not merged at the end (not yet scanned twice, or rewritten: volatile)")
        return parts.joined(separator: "; ")
    }

    private func signed(_ n: Int) -> String { n >= 0 ? "+\(n)" : "\(n)" }
}

/// Runs groups of images under a dedup mechanism and measures them (`spacer-sim run`).
public struct RuntimeRun {
    /// The plan.
    public var plan: RunPlan
    /// Progress lines (standard error in the CLI).
    public var log: (String) -> Void

    /// A run of `plan`.
    public init(plan: RunPlan, log: @escaping (String) -> Void = { _ in }) { self.plan = plan; self.log = log }

    /// Runs every group in turn (KSM configured once for all, restored at the end, on an error
    /// and on SIGINT/SIGTERM/SIGHUP) and returns the samples and one outcome per group.
    /// - Throws: `SpacerError.unavailable` (KSM missing or not writable, loader missing), `.data`
    ///   for an image the ELF reader refuses, `.io`.
    public func run(_ groups: [ImageGroup]) throws -> (samples: [RunSample], outcomes: [RunOutcome]) {
        guard FileManager.default.isExecutableFile(atPath: plan.loader) else {
            throw SpacerError.unavailable("no loader at \(plan.loader): build it with tools/spacer-loader/build.sh (needs gcc) or pass --loader")
        }
        RuntimeSignals.install()
        var session: KSMSession? = nil
        if plan.dedup == .ksm {
            let s = try KSMSession(control: plan.ksm, profile: plan.profile)
            RuntimeSignals.track(s)
            session = s
        }
        defer {
            if let s = session { s.restore(); RuntimeSignals.untrack(s) }
        }
        var samples: [RunSample] = [], outcomes: [RunOutcome] = []
        for g in groups {
            let (s, o) = try runGroup(g)
            samples += s; outcomes.append(o)
        }
        return (samples, outcomes)
    }

    /// Image page ranges in bytes, merged.
    static func ranges(_ pages: [PageMeasure.Page], pageSize: Int) -> [Range<UInt64>] {
        var out: [Range<UInt64>] = []
        for p in pages {
            if let l = out.last, l.upperBound == p.address { out[out.count - 1] = l.lowerBound..<(p.address + UInt64(pageSize)) }
            else { out.append(p.address..<(p.address + UInt64(pageSize))) }
        }
        return out
    }

    func runGroup(_ g: ImageGroup) throws -> ([RunSample], RunOutcome) {
        let ps = 4096
        let elfs = try PageMeasure.load(paths: g.images)
        let pages = try elfs.map { try PageMeasure.pages($0, pageSize: ps) }
        let ranges = pages.map { Self.ranges($0, pageSize: ps) }
        let rule = FrameRule(dedup: plan.dedup, maxPageSharing: plan.profile.maxPageSharing)
        let predicted = try PageMeasure.measure(Array(repeating: elfs, count: plan.instances).flatMap { $0 }, pageSize: ps,
                                                dedup: plan.dedup, maxPageSharing: plan.profile.maxPageSharing)
        let dir = URL(fileURLWithPath: plan.workDir).appendingPathComponent(g.label).path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var poolPages = 0
        var mode = ["--ksm"]
        if plan.dedup == .loader {
            let pool = dir + "/pool"
            let b = try Instance(argv: [plan.loader, "--build-pool", pool] + g.images, environment: [:], stdout: dir + "/pool.log", stderr: dir + "/pool.err")
            let st = b.wait()
            guard Instance.exitCode(st) == 0 else {
                throw SpacerError.io(path: pool, underlying: "spacer-loader --build-pool failed: \((try? String(contentsOfFile: dir + "/pool.err", encoding: .utf8)) ?? "")")
            }
            poolPages = Int((try FileManager.default.attributesOfItem(atPath: pool)[.size] as? NSNumber)?.intValue ?? 0) / ps
            mode = ["--pool", pool]
        }
        let ksm = plan.ksm
        let counting = plan.dedup == .ksm
        // Wait for pages of an earlier group to be gone, then take the baseline.
        if counting {
            let deadline = Date().addingTimeInterval(15)
            while ((ksm.number("pages_sharing") ?? 0) > 0 || (ksm.number("pages_shared") ?? 0) > 0) && Date() < deadline { usleep(50_000) }
        }
        let baseSharing = ksm.number("pages_sharing") ?? 0
        // Start order: round-robin over images, `instances` rounds; one start every `stagger` s.
        var order: [(image: Int, k: Int)] = []
        for k in 0..<plan.instances { for i in g.images.indices { order.append((i, k)) } }
        var started: [(image: Int, k: Int, inst: Instance)] = []
        var samples: [RunSample] = []
        let t0 = Date()
        var nextStart = 0
        var lastStartTime: Date? = nil
        var scansAtLastStart = 0
        var nextSample = 0.0
        var converged = true
        log("run \(g.label): \(g.images.count) image(s) × \(plan.instances) instance(s), dedup \(plan.dedup.rawValue)")
        func sample() -> RunSample {
            var mem = ProcStats.Memory(), img = ProcStats.Memory(), running = 0
            for s in started where !s.inst.exited {
                running += 1
                if let m = ProcStats.rollup(pid: s.inst.pid) { mem = mem + m }
                if let m = ProcStats.mappings(pid: s.inst.pid, inside: ranges[s.image]) { img = img + m }
            }
            return RunSample(strategy: g.label, time: Date().timeIntervalSince(t0), running: running, memory: mem, imageMemory: img,
                             counters: ksm.counters())
        }
        do {
            while true {
                let now = Date().timeIntervalSince(t0)
                if nextStart < order.count && now >= Double(nextStart) * plan.stagger {
                    let (i, k) = order[nextStart]
                    let name = URL(fileURLWithPath: g.images[i]).lastPathComponent
                    let env = plan.driverIterations > 0 ? ["SPACER_DRIVER_LOOP": String(plan.driverIterations), "SPACER_DRIVER_IDLE": "1"]
                                                        : ["SPACER_DRIVER_LOOP": "0"]
                    let inst = try Instance(argv: [plan.loader] + mode + [g.images[i]], environment: env,
                                            stdout: "\(dir)/\(name).\(k).out", stderr: "\(dir)/\(name).\(k).err")
                    started.append((i, k, inst))
                    nextStart += 1
                    continue
                }
                // Ready: all started and, for driverIterations > 0, every instance done with its runs.
                if lastStartTime == nil && nextStart == order.count && (plan.driverIterations == 0 || started.allSatisfy { s in
                    s.inst.exited || Self.iterations(s.inst.stderrPath) >= plan.driverIterations }) {
                    lastStartTime = Date(); scansAtLastStart = ksm.number("full_scans") ?? 0
                }
                if now >= nextSample {
                    samples.append(sample())
                    nextSample += plan.sampleInterval
                }
                if let last = lastStartTime {
                    let since = Date().timeIntervalSince(last)
                    var done: Bool
                    switch plan.settle {
                    case .seconds(let s): done = since >= s
                    case .fullScans(let n, let cap):
                        done = !counting || (ksm.number("full_scans") ?? 0) >= scansAtLastStart + n
                        if !done && since >= cap { done = true; converged = false }
                    }
                    if done { break }
                }
                let wakeNext = min(nextSample, nextStart < order.count ? Double(nextStart) * plan.stagger : nextSample)
                let wait = max(0.002, min(0.05, wakeNext - Date().timeIntervalSince(t0)))
                usleep(UInt32(wait * 1_000_000))
            }
            // The end: a last sample, frames and live contents, then stop and check outputs.
            let last = sample()
            samples.append(last)
            let sharing = (last.counters["pages_sharing"] ?? nil) ?? 0
            var pfns: Set<UInt64> = [], absent = 0
            var liveRule: [LiveKey: Int] = [:], liveAny: [LiveKey: Int] = [:]
            var privateWritable = 0, writtenRO = 0, writtenRW = 0
            let staticKeys = pages.map { $0.map { LiveKey($0.bytes, writable: false) } }
            // Page by page: every image page whose live bytes differ from the file's.
            var written = "image,instance,address,writable,file_zero,live_zero,changed_bytes,live_hash\n"
            for s in started {
                guard !s.inst.exited else { continue }
                let addrs = pages[s.image].map(\.address)
                let frames = try ProcStats.frames(pid: s.inst.pid, addresses: addrs, pageSize: ps)
                for f in frames { if let f { pfns.insert(f) } else { absent += 1 } }
                let live = try ProcStats.pageBytes(pid: s.inst.pid, addresses: addrs, pageSize: ps)
                for (k, (p, b)) in zip(pages[s.image], live).enumerated() {
                    let any = LiveKey(b, writable: false)
                    if any != staticKeys[s.image][k] {
                        if p.writable { writtenRW += 1 } else { writtenRO += 1 }
                        let changed = Self.differingBytes(b, p.bytes)
                        written += "\(URL(fileURLWithPath: g.images[s.image]).lastPathComponent),\(s.k),0x\(String(p.address, radix: 16)),\(p.writable),"
                            + "\(Self.isZero(p.bytes)),\(Self.isZero(b)),\(changed),\(String(any.h1, radix: 16))\n"
                    }
                    if rule.isPrivate(writable: p.writable) { privateWritable += 1 } else {
                        var key = any; key.writable = p.writable
                        liveRule[key, default: 0] += 1
                    }
                    liveAny[any, default: 0] += 1
                }
            }
            try? written.write(toFile: dir + "/written-pages.csv", atomically: true, encoding: .utf8)
            let liveFrames = liveRule.values.reduce(0) { $0 + rule.frames(mappings: $1) } + privateWritable
            let liveAnyFrames = plan.dedup == .ksm ? liveAny.values.reduce(0) { $0 + rule.frames(mappings: $1) } : liveFrames
            let imagePages = pages.map(\.count).reduce(0, +) * plan.instances
            let alive = started.filter { !$0.inst.exited }.count
            if alive < started.count { log("run \(g.label): \(started.count - alive) instance(s) exited before the end (see \(dir)/*.err)") }
            for s in started { s.inst.signal(SIGTERM) }
            for s in started { s.inst.stop() }
            var passed = 0, known = 0
            for s in started {
                guard let o = g.oracles[s.image] else { continue }
                known += 1
                let got = FileManager.default.contents(atPath: s.inst.stdoutPath)
                if got != nil && got == FileManager.default.contents(atPath: o) { passed += 1 }
                else { log("run \(g.label): \(s.inst.stdoutPath) differs from the oracle \(o)") }
            }
            let measured = counting ? imagePages - (sharing - baseSharing) : pfns.count + absent
            let outcome = RunOutcome(strategy: g.label, images: g.images.count, instances: plan.instances, imagePages: imagePages,
                                     predictedFrames: predicted.all.frames, predictedReadOnlyFrames: predicted.readOnly.frames,
                                     predictedWritableFrames: predicted.writable.frames, measuredFrames: measured,
                                     pfnFrames: pfns.count + absent, liveFrames: liveFrames, liveFramesAnyProtection: liveAnyFrames,
                                     pagesWrittenReadOnly: writtenRO, pagesWrittenWritable: writtenRW, poolPages: poolPages,
                                     oraclePassed: passed, oracleKnown: known, last: last,
                                     scansAfterLastStart: (ksm.number("full_scans") ?? 0) - scansAtLastStart, converged: converged,
                                     dedup: plan.dedup)
            log("run \(g.label): predicted \(outcome.predictedFrames) frames, measured \(measured) (pagemap \(outcome.pfnFrames)), oracle \(passed)/\(known)")
            return (samples, outcome)
        } catch {
            for s in started { s.inst.stop(signal: SIGKILL) }
            throw error
        }
    }

    /// Bytes that differ between two pages of equal length (word by word: fast in debug builds too).
    static func differingBytes(_ a: [UInt8], _ b: [UInt8]) -> Int {
        a.withUnsafeBytes { ra in
            b.withUnsafeBytes { rb in
                let wa = ra.bindMemory(to: UInt64.self), wb = rb.bindMemory(to: UInt64.self)
                var n = 0
                for k in 0..<min(wa.count, wb.count) {
                    var x = wa[k] ^ wb[k]
                    while x != 0 { if x & 0xff != 0 { n += 1 }; x >>= 8 }
                }
                return n
            }
        }
    }

    /// Whether every byte is zero.
    static func isZero(_ a: [UInt8]) -> Bool {
        a.withUnsafeBytes { r in
            var acc: UInt64 = 0
            for w in r.bindMemory(to: UInt64.self) { acc |= w }
            return acc == 0
        }
    }

    /// "iteration K ns T" lines in a driver's standard error so far.
    static func iterations(_ path: String) -> Int {
        guard let d = FileManager.default.contents(atPath: path) else { return 0 }
        return String(decoding: d, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("iteration ") }.count
    }

    /// A page content by a 128-bit hash (two 64-bit multiply-xorshift lanes over the page's
    /// words; for counting live contents, where a collision, at 2^-128, is not worth a byte
    /// comparison) and the model's writable flag.
    struct LiveKey: Hashable {
        var h1: UInt64, h2: UInt64, writable: Bool
        init(_ bytes: [UInt8], writable: Bool) {
            var a: UInt64 = 0x9E37_79B9_7F4A_7C15, b: UInt64 = 0xC2B2_AE3D_27D4_EB4F
            bytes.withUnsafeBytes { raw in
                let w = raw.bindMemory(to: UInt64.self)
                for x in w {
                    a = (a ^ x) &* 0xFF51_AFD7_ED55_8CCD; a ^= a >> 29
                    b = (b &+ x) &* 0xC4CE_B9FE_1A85_EC53; b ^= b >> 31
                }
            }
            h1 = a; h2 = b; self.writable = writable
        }
    }
}
