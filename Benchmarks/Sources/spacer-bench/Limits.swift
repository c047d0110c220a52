// spacer-bench compare | series | measure | all: wall time, CPU time and peak memory of the
// main jobs (issue 14 item 4), each beside its "limit": the time to touch every input byte once
// and to hash every mapped page's key once. docs/benchmarks.md explains every line.
//
//   swift run -c release spacer-bench compare [--repeat 5] [--workload F] [--tables DIR]
//       `compare` on a workload (default: datasets/real/default-workload.csv) through the
//       SpacerExperiments harness as the CLI does: loading, each default-run strategy (load +
//       place + score + rows), and all of them.
//   swift run -c release spacer-bench series [--repeat 5] [--images 100,1000,10000] [--series-repeat N]
//           [--strategies spacer-delta] [--preset large]
//       The scale series: `spacer-bench scale` (Scale.swift) run as a child process once per
//       repeat and image count; its CSV gives place and score times, the child's rusage the peak.
//   swift run -c release spacer-bench measure --elfs DIR [--repeat 5] [--spacer-sim PATH] [--python python3]
//       `spacer-sim measure` on the ELF executables under DIR (the 32 of `scripts/real-build.sh
//       sqlite --out DIR`), as child processes (--jobs 1 and 2, table and csv) and in process,
//       beside scripts/reference/measure_pages.py and the two interpreters' start-up.
//   swift run -c release spacer-bench all --elfs DIR [options of the three]
//
// Every mode prints a Markdown table and, with --csv PATH, writes the same rows as CSV
// (`--csv -` prints the CSV after the table). Figures are medians of --repeat runs (warm cache:
// one untimed run first). Peak memory: in process, the peak resident set of the line alone
// (Linux: /proc/self/clear_refs 5 resets VmHWM); for a child process, its ru_maxrss.
import Foundation
import SpacerCore
import SpacerELF
import SpacerExperiments
import SpacerIO
import SpacerSimulator
import SpacerStrategies

// MARK: samples

/// One timed run: wall and CPU seconds (all threads), peak resident set in MiB.
struct Sample { var wall: Double; var cpu: Double; var peakMiB: Double }

/// Process CPU seconds, all threads (CLOCK_PROCESS_CPUTIME_ID).
func processCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

/// VmHWM of this process in MiB, after `resetPeak` the peak since then; nil off Linux.
func highWaterMiB() -> Double? {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
    return kb / 1024
}

/// Resets VmHWM to the current resident set (Linux ≥ 4.0); false when the kernel refuses.
@discardableResult func resetPeak() -> Bool {
    let fd = open("/proc/self/clear_refs", O_WRONLY)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    return write(fd, "5", 1) == 1
}

/// Runs `body` once: wall, process CPU, and the peak resident set while it ran.
func sampleInProcess(_ body: () throws -> Void) rethrows -> Sample {
    resetPeak()
    let c0 = processCPUSeconds()
    let wall = try wallSeconds(body)
    let cpu = processCPUSeconds() - c0
    return Sample(wall: wall, cpu: cpu, peakMiB: highWaterMiB() ?? peakRSSMiB())
}

/// Runs `argv` as a child process with standard output and error to /dev/null (or to `stdout`,
/// a file path, when given): wall, the child's user + system CPU (wait4) and its peak resident
/// set. The peak comes from GNU time (`/usr/bin/time -f %M`) when present: a child started by
/// posix_spawn (vfork) would inherit this process's resident set as its `ru_maxrss`; GNU time
/// forks from its own small process.
func sampleChild(_ argv: [String], stdout: String = "/dev/null") -> Sample {
    let gnuTime = "/usr/bin/time"
    let peakFile = NSTemporaryDirectory() + "/spacer-bench-peak-\(getpid()).txt"
    let hasTime = FileManager.default.isExecutableFile(atPath: gnuTime)
    defer { if hasTime { unlink(peakFile) } }
    let argv = hasTime ? [gnuTime, "-f", "%M", "-o", peakFile] + argv : argv
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var cargs = argv.map { strdup($0) } + [nil]
    defer { for p in cargs { free(p) } }
    var pid: pid_t = 0
    let clock = ContinuousClock()
    let t0 = clock.now
    let rc = posix_spawnp(&pid, argv[0], &actions, nil, &cargs, environ)
    guard rc == 0 else { fail("cannot run \(argv[0]): \(String(cString: strerror(rc)))") }
    var status: Int32 = 0
    var usage = rusage()
    _ = wait4(pid, &status, 0, &usage)
    let wall = seconds(clock.now - t0)
    guard status == 0 else { fail("\(argv.joined(separator: " ")) exited with status \(status >> 8)") }
    let cpu = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    let kb = hasTime ? Double(((try? String(contentsOfFile: peakFile, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) : nil
    return Sample(wall: wall, cpu: cpu, peakMiB: (kb ?? Double(usage.ru_maxrss)) / 1024)
}

func median<S: Sequence>(_ xs: S) -> Double where S.Element == Double {
    let s = xs.sorted()
    guard !s.isEmpty else { return .nan }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Medians of `repeats` samples, after one untimed warm-up run.
func medianSample(_ repeats: Int, warmUp: Bool = true, _ run: () throws -> Sample) rethrows -> Sample {
    if warmUp { _ = try run() }
    var s: [Sample] = []
    for _ in 0..<repeats { s.append(try run()) }
    return Sample(wall: median(s.map(\.wall)), cpu: median(s.map(\.cpu)), peakMiB: median(s.map(\.peakMiB)))
}

// MARK: limits

/// What a limit line touched: input bytes (after gunzip) and page keys hashed.
struct Limit { var seconds: Double; var bytes: Int; var pages: Int }

/// The least work that still sees every input: read each file once (gunzip for `.gz`), count
/// its newlines and commas (a CSV parse cannot do less), median of `repeats`. Returns seconds and
/// bytes seen (decompressed).
func touchTextFiles(_ paths: [String], repeats: Int) throws -> (Double, Int) {
    var bytes = 0
    let t = try median((0...repeats).map { _ in
        try wallSeconds {
            var n = 0, marks = 0
            for p in paths {
                let raw = try InputFile.read(p)
                let data = p.hasSuffix(".gz") ? try Gzip.decompress(Data(raw), file: p) : Data(raw)
                data.withUnsafeBytes { b in
                    for c in b where c == 0x0A || c == 0x2C { marks += 1 }
                    n += b.count
                }
            }
            bytes = n
            if marks == 0 && n > 0 { note("(no newline or comma in \(paths.count) files)") }
        }
    }.dropFirst())
    return (t, bytes)
}

/// The least work that sees every byte of binary files: map each (as `measure` does) and sum
/// its 8-byte words once, median of `repeats`.
func touchBinaryFiles(_ paths: [String], repeats: Int) throws -> (Double, Int) {
    var bytes = 0
    let t = try median((0...repeats).map { _ in
        try wallSeconds {
            var sum: UInt64 = 0, n = 0
            for p in paths {
                let m = try MappedFile(path: p)
                let words = m.bytes.count / 8
                for i in 0..<words { sum &+= m.bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self) }
                n += m.bytes.count
            }
            bytes = n
            if sum == 0x5EED { note("") }  // keeps the sum alive
        }
    }.dropFirst())
    return (t, bytes)
}

/// Hashing `pages` fixed-width page keys (two 64-bit words) once each into an open-addressing
/// table of `distinct` keys: the least a page-sharing count can do per page. Keys are made
/// before the clock starts. Median of `repeats`.
func hashPageKeys(_ pages: Int, distinct: Int, repeats: Int) -> Double {
    guard pages > 0 else { return 0 }
    var rng = SplitMix64(seed: 14)
    let pool = (0..<max(1, distinct)).map { _ in (rng.next(), rng.next()) }
    let keys = (0..<pages).map { _ in pool[Int(rng.next() % UInt64(pool.count))] }
    var capacity = 16
    while capacity < 2 * pool.count { capacity <<= 1 }
    return median((0...repeats).map { _ in
        var table = [UInt64](repeating: 0, count: 2 * capacity)
        var filled = 0
        let t = wallSeconds {
            for (a, b) in keys {
                var h = (a ^ (b &* 0x9E37_79B9_7F4A_7C15)) &* 0xFF51_AFD7_ED55_8CCD
                h ^= h >> 32
                var slot = Int(h & UInt64(capacity - 1))
                while true {
                    if table[2 * slot] == 0 && table[2 * slot + 1] == 0 { table[2 * slot] = a; table[2 * slot + 1] = b; filled += 1; break }
                    if table[2 * slot] == a && table[2 * slot + 1] == b { break }
                    slot = (slot + 1) & (capacity - 1)
                }
            }
        }
        if filled == 0 { note("") }
        return t
    }.dropFirst())
}

// MARK: report

/// One line of the results table.
struct BenchLine {
    var benchmark: String, line: String, repeats: Int
    var sample: Sample
    /// Input bytes the limit touched, page keys it hashed, and its seconds.
    var limit: Limit
    var detail: String
    var ratio: Double { limit.seconds > 0 ? sample.wall / limit.seconds : .nan }
}

nonisolated(unsafe) var report: [BenchLine] = []

func emitReport(title: String) {
    print("## \(title)\n")
    print("Medians of the repeats (warm cache). `limit s` = touching every input byte once + hashing every mapped page's key once; `× limit` = wall / limit.\n")
    print("| benchmark | line | runs | wall s | CPU s | peak MiB | limit s | × limit | input bytes | page keys | detail |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for l in report {
        print("| \(l.benchmark) | \(l.line) | \(l.repeats) | \(f(l.sample.wall, 4)) | \(f(l.sample.cpu, 4)) | \(f(l.sample.peakMiB, 1)) | \(f(l.limit.seconds, 5)) | \(f(l.ratio, 1)) | \(l.limit.bytes) | \(l.limit.pages) | \(l.detail) |")
    }
    let csvPath = option("--csv", "")
    guard !csvPath.isEmpty else { return }
    var csv = "benchmark,line,repeats,wall_s,cpu_s,peak_rss_mib,limit_s,ratio_to_limit,input_bytes,page_keys,detail\n"
    func q(_ s: String) -> String { s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s }
    for l in report {
        csv += [q(l.benchmark), q(l.line), String(l.repeats), f(l.sample.wall, 5), f(l.sample.cpu, 5), f(l.sample.peakMiB, 1),
                f(l.limit.seconds, 6), f(l.ratio, 2), String(l.limit.bytes), String(l.limit.pages), q(l.detail)].joined(separator: ",") + "\n"
    }
    if csvPath == "-" { print("\n```csv\n" + csv + "```") } else {
        do { try FileIO.writeAtomically(csv, to: csvPath); note("wrote \(csvPath)") } catch { fail("cannot write \(csvPath): \(error)") }
    }
}

// MARK: compare

/// `compare` on a workload as `spacer-sim compare --no-csv` runs it, minus process start and
/// printing: `Harness.load`, `Harness.runAll` (one strategy, or all with jobs 1), the
/// `pages_per_default` reference and the CSV rows.
func benchCompare(repeats: Int) throws {
    let workload = option("--workload", "")
    let tables = option("--tables", "")
    let tablePaths = tables.isEmpty ? [] : tables.split(separator: ",").map(String.init)
    let input = try Harness.load(workload: workload.isEmpty ? nil : workload, tables: tablePaths)
    let files = try [input.workloadPath] + Harness.tableFiles(input.tablePaths)
    note("compare: \(input.workloadPath), \(files.count) input files")
    let (touch, bytes) = try touchTextFiles(files, repeats: repeats)
    let config = RunConfiguration()
    let specs = try StrategySpec.parseList(nil)
    func run(_ s: [StrategySpec]) throws -> [RunResult] {
        let i = try Harness.load(workload: workload.isEmpty ? nil : workload, tables: tablePaths)
        let results = try Harness.runAll(s, workload: i.workload, config: config, jobs: 1)
        let reference = try Harness.defaultTotalPages(i.workload, config: config, results: results)
        let ctx = ResultSchema.Context(workload: i.workloadPath, tables: i.tablePaths.joined(separator: " "), config: config, seed: "",
                                       images: i.workload.images.count, instances: i.workload.totalInstances, timings: false,
                                       defaultTotalPages: reference, inputDigest: i.digest)
        _ = ResultSchema.table(results, ctx).csv
        return results
    }
    let load = try medianSample(repeats) { try sampleInProcess { _ = try Harness.load(workload: workload.isEmpty ? nil : workload, tables: tablePaths) } }
    report.append(BenchLine(benchmark: "compare", line: "load (tables + workload + input sha256)", repeats: repeats, sample: load,
                            limit: Limit(seconds: touch, bytes: bytes, pages: 0), detail: "\(files.count) files, \(input.workload.images.count) images"))
    var allPages = 0, allDistinct = 0
    for spec in specs {
        note("compare: \(spec.label)")
        var results: [RunResult] = []
        let s = try medianSample(repeats) { try sampleInProcess { results = try run([spec]) } }
        let m = results[0].metrics
        allPages += m.totalPages; allDistinct += m.frames
        let keys = hashPageKeys(m.totalPages, distinct: m.frames, repeats: repeats)
        report.append(BenchLine(benchmark: "compare", line: spec.label, repeats: repeats, sample: s,
                                limit: Limit(seconds: touch + keys, bytes: bytes, pages: m.totalPages),
                                detail: "\(m.totalPages) pages → \(m.frames) frames"))
    }
    note("compare: all")
    let all = try medianSample(repeats) { try sampleInProcess { _ = try run(specs) } }
    let keys = hashPageKeys(allPages, distinct: allDistinct, repeats: repeats)
    report.append(BenchLine(benchmark: "compare", line: "all \(specs.count) default-run strategies", repeats: repeats, sample: all,
                            limit: Limit(seconds: touch + keys, bytes: bytes, pages: allPages), detail: "jobs 1"))
}

// MARK: scale series

/// The scale series: `spacer-bench scale` (Scale.swift) as a child process per repeat and image
/// count; wall and CPU are its place + score figures, peak memory the child's.
func benchSeries(repeats: Int) throws {
    let images = option("--images", "100,1000,10000").split(separator: ",").compactMap { Int($0) }
    let seriesRepeats = Int(option("--series-repeat", String(repeats))) ?? repeats
    let strategies = option("--strategies", "spacer-delta")
    let preset = option("--preset", "large")
    let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
    for n in images {
        for strategy in strategies.split(separator: ",").map(String.init) {
            var samples: [Sample] = []
            var row: [String: String] = [:]
            let runs = n >= 10_000 ? min(seriesRepeats, repeats) : repeats
            for k in 0..<runs {
                note("series: \(n) images, \(strategy), run \(k + 1)/\(runs)")
                let out = NSTemporaryDirectory() + "/spacer-bench-series-\(getpid()).txt"
                defer { unlink(out) }
                let child = sampleChild([me, "scale", "--preset", preset, "--images", String(n), "--strategies", strategy], stdout: out)
                let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
                let lines = text.split(separator: "\n").map(String.init)
                guard let h = lines.firstIndex(where: { $0.hasPrefix("images,") }), h + 1 < lines.count else { fail("series: no CSV from spacer-bench scale") }
                let cols = lines[h].split(separator: ",").map(String.init), vals = lines[h + 1].split(separator: ",").map(String.init)
                row = Dictionary(zip(cols, vals), uniquingKeysWith: { a, _ in a })
                func d(_ k: String) -> Double { Double(row[k] ?? "") ?? .nan }
                samples.append(Sample(wall: d("place_s") + d("score_s"), cpu: d("place_cpu_s") + d("score_cpu_s"), peakMiB: child.peakMiB))
            }
            let s = Sample(wall: median(samples.map(\.wall)), cpu: median(samples.map(\.cpu)), peakMiB: median(samples.map(\.peakMiB)))
            let placed = Int(row["placed_functions"] ?? "") ?? 0, pages = Int(row["total_pages"] ?? "") ?? 0, frames = Int(row["frames"] ?? "") ?? 0
            // The input a placement must see: one (content id, size) pair of 32-bit words per placed function.
            let touch = touchWords(placed, repeats: repeats)
            let keys = hashPageKeys(pages, distinct: frames, repeats: repeats)
            let rate = placed > 0 && s.wall > 0 ? String(format: "%.2f M functions/s, %.2f M pages/s", Double(placed) / s.wall / 1e6, Double(pages) / s.wall / 1e6) : ""
            report.append(BenchLine(benchmark: "scale", line: "\(n) images × \(placed / max(n, 1)) functions, \(strategy): place + score", repeats: runs, sample: s,
                                    limit: Limit(seconds: touch + keys, bytes: 8 * placed, pages: pages),
                                    detail: "\(placed) placed, \(pages) pages → \(frames) frames; \(rate)"))
        }
    }
}

/// Streaming `count` (content id, size) pairs of 32-bit words once (summing them): the input of
/// a placement in its smallest form. Median of `repeats`.
func touchWords(_ count: Int, repeats: Int) -> Double {
    let words = [UInt32](unsafeUninitializedCapacity: 2 * count) { b, n in
        for i in 0..<(2 * count) { b[i] = UInt32(truncatingIfNeeded: i &* 2_654_435_761) }
        n = 2 * count
    }
    return median((0...repeats).map { _ in
        var sum: UInt64 = 0
        let t = wallSeconds { for w in words { sum &+= UInt64(w) } }
        if sum == 0x5EED { note("") }
        return t
    }.dropFirst())
}

// MARK: measure

/// The linked executables under `dir` (regular files with the ELF magic and `e_type` 2 or 3:
/// not the `.o` files beside them), sorted by path.
func elfFiles(under dir: String) -> [String] {
    guard let e = FileManager.default.enumerator(atPath: dir) else { fail("measure: cannot list \(dir)") }
    var out: [String] = []
    for case let rel as String in e {
        let p = (dir as NSString).appendingPathComponent(rel)
        var st = stat()
        guard lstat(p, &st) == 0, st.st_mode & S_IFMT == S_IFREG, let h = FileHandle(forReadingAtPath: p) else { continue }
        let head = [UInt8]((try? h.read(upToCount: 18)) ?? Data())
        try? h.close()
        if head.count == 18, head[0..<4] == [0x7f, 0x45, 0x4c, 0x46], head[16] == 2 || head[16] == 3, head[17] == 0 { out.append(p) }
    }
    return out.sorted()
}

/// `spacer-sim measure` on the executables under --elfs: the CLI (child processes), the library
/// in process, the Python reference, and both interpreters' start-up, beside the limit.
func benchMeasure(repeats: Int) throws {
    let dir = option("--elfs", "")
    guard !dir.isEmpty else { fail("measure: --elfs DIR (the --out folder of scripts/real-build.sh sqlite)") }
    let files = elfFiles(under: dir)
    guard !files.isEmpty else { fail("measure: no ELF file under \(dir)") }
    let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("spacer-sim").resolvingSymlinksInPath().path
    let sim = option("--spacer-sim", root + "/.build/release/spacer-sim")
    let python = option("--python", "python3")
    let reference = root + "/scripts/reference/measure_pages.py"
    note("measure: \(files.count) executables under \(dir); \(sim)")
    let r = try PageMeasure.measure(try PageMeasure.load(paths: files), jobs: 2)
    let (touch, bytes) = try touchBinaryFiles(files, repeats: repeats)
    let keys = hashPageKeys(r.all.totalPages, distinct: r.all.frames, repeats: repeats)
    let limit = Limit(seconds: touch + keys, bytes: bytes, pages: r.all.totalPages)
    let detail = "\(files.count) files, \(r.all.totalPages) pages → \(r.all.frames) frames"
    func child(_ line: String, _ argv: [String]) {
        note("measure: \(line)")
        let s = medianSample(repeats) { sampleChild(argv) }
        report.append(BenchLine(benchmark: "measure", line: line, repeats: repeats, sample: s, limit: limit, detail: detail))
    }
    func inProcess(_ line: String, jobs: Int) throws {
        note("measure: \(line)")
        let s = try medianSample(repeats) { try sampleInProcess { _ = try PageMeasure.measure(try PageMeasure.load(paths: files), jobs: jobs) } }
        report.append(BenchLine(benchmark: "measure", line: line, repeats: repeats, sample: s, limit: limit, detail: detail))
    }
    child("spacer-sim measure --jobs 1 (table)", [sim, "measure", "--jobs", "1"] + files)
    child("spacer-sim measure --jobs 2 (table)", [sim, "measure", "--jobs", "2"] + files)
    child("spacer-sim measure --jobs 2 --format csv (+ sha256 of every file)", [sim, "measure", "--jobs", "2", "--format", "csv"] + files)
    child("python3 measure_pages.py (reference)", [python, reference] + files)
    try inProcess("PageMeasure.load + measure, jobs 1 (in process)", jobs: 1)
    try inProcess("PageMeasure.load + measure, jobs 2 (in process)", jobs: 2)
    child("process start: spacer-sim --version", [sim, "--version"])
    child("process start: python3 -c pass", [python, "-c", "pass"])
}

func benchSuite(_ mode: String) {
    let repeats = max(1, Int(option("--repeat", "5")) ?? 5)
    do {
        switch mode {
        case "compare": try benchCompare(repeats: repeats)
        case "series": try benchSeries(repeats: repeats)
        case "measure": try benchMeasure(repeats: repeats)
        default:
            try benchMeasure(repeats: repeats)
            try benchCompare(repeats: repeats)
            try benchSeries(repeats: repeats)
        }
    } catch { fail("\(mode): \(error)") }
    emitReport(title: "spacer-bench \(mode) (\(ProcessInfo.processInfo.activeProcessorCount) cores, release build)")
}
