import ArgumentParser
import Foundation
import SpacerCore
import SpacerExperiments
import SpacerRuntime

/// `spacer-sim run`: the images on the real mechanisms (issue 13).
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run linked images under the kernel's KSM or from a load-time page pool and measure their memory.",
        discussion: """
        Each ELF (or each folder of scripts/real-build.sh output, labelled by the folder's name: a \
        strategy) is started --instances times through tools/spacer-loader, its drivers looping \
        (SPACER_DRIVER_LOOP=0). --dedup ksm: the image pages are in KSM-mergeable anonymous \
        memory; KSM's settings (pages_to_scan, sleep_millisecs, max_page_sharing, run) are saved, \
        set, and restored at the end, on an error and on SIGINT/SIGTERM/SIGHUP. --dedup loader: \
        every read-only page comes from one page pool per strategy (MAP_SHARED), writable pages \
        are private. Instances start --stagger seconds apart; --settle after the last start; \
        samples at 1 Hz: Σ Pss/Rss of the instances (smaps_rollup), of their image mappings \
        (smaps), and KSM's counters. One final row per strategy: predicted_frames (the page \
        measure of the same files, each --instances times) beside measured_frames (ksm: image \
        pages − pages_sharing; loader: distinct physical frames from /proc/PID/pagemap), the \
        difference and its explanation (docs/design.md §4), and whether every instance printed \
        its oracle (DIR/../normal/IMG.out). Needs root, and for ksm /sys/kernel/mm/ksm (exit 69 \
        naming what is missing).

        Examples:
          scripts/real-build.sh zlib --out /tmp/z
          spacer-sim run --dedup ksm --instances 2 --profile fast /tmp/z/default /tmp/z/spacer-delta
          spacer-sim run --dedup loader --instances 4 /tmp/s/*/ -o notebooks-out/run-loader.csv
        """)

    @Argument(help: ArgumentHelp("Static x86-64 executables, or folders of them (one strategy each).", valueName: "ELF|DIR"))
    var paths: [String] = []

    @Option(help: "Mechanism: ksm (image pages in KSM-mergeable memory) or loader (read-only pages from a shared page pool).")
    var dedup: DedupModel = .ksm

    @Option(help: ArgumentHelp("Instances of every image, 1 to 64.", valueName: "n"))
    var instances = 1

    @Option(help: "paper (stagger 10 s, settle 30 s, pages_to_scan 100, sleep_millisecs 20) or fast (stagger 0.5 s, settle until KSM's full_scans advanced by --settle-scans after the last start, pages_to_scan 10000, sleep_millisecs 10, smart_scan 0).")
    var profile: Profile = .paper

    @Option(help: ArgumentHelp("Seconds between two starts (default: the profile's).", valueName: "s"))
    var stagger: Double?

    @Option(help: ArgumentHelp("Seconds to run after the last start (default: the profile's).", valueName: "s"))
    var settle: Double?

    @Option(help: ArgumentHelp("fast profile: KSM full scans to wait for after the last start.", valueName: "n"))
    var settleScans = 5

    @Option(help: ArgumentHelp("KSM pages_to_scan (default: the profile's).", valueName: "n"))
    var pagesToScan: Int?

    @Option(help: ArgumentHelp("KSM sleep_millisecs (default: the profile's).", valueName: "ms"))
    var sleepMillisecs: Int?

    @Option(help: ArgumentHelp("KSM max_page_sharing, 2 to 2^31.", valueName: "n"))
    var maxPageSharing = 256

    @Option(help: ArgumentHelp("The loader binary (default: $SPACER_LOADER, else built with tools/spacer-loader/build.sh into .build/spacer-loader).", valueName: "path"))
    var loader: String?

    @Option(help: ArgumentHelp("Folder for the instances' outputs and pools (default: a new temporary folder, kept).", valueName: "dir"))
    var workDir: String?

    @Option(help: ArgumentHelp("Workload runs per driver: 0 repeats it until stopped; N > 0 runs it N times, then the instance idles with its memory unchanged (settle counts from when all are done).", valueName: "n"))
    var driverIterations = 0

    @Option(help: ArgumentHelp("Instead of memory: time each image's driver K times per strategy, one process at a time: short-lived (whole processes) and long-lived (per-iteration times of one looping process), directly and through the mechanism; median, quartiles, ratio to default.", valueName: "K"))
    var runtime: Int?

    @OptionGroup(title: "Output") var output: OutputOptions

    enum Profile: String, ExpressibleByArgument, CaseIterable { case paper, fast }

    func validate() throws {
        guard !paths.isEmpty else { throw ValidationError("give the images (or folders of images) to run") }
        guard (1...64).contains(instances) else { throw ValidationError("--instances must be 1 to 64, found \(instances)") }
        if let s = stagger, !(0...3600).contains(s) { throw ValidationError("--stagger must be 0 to 3600 s, found \(s)") }
        if let s = settle, !(0...3600).contains(s) { throw ValidationError("--settle must be 0 to 3600 s, found \(s)") }
        if let k = runtime, !(1...10_000).contains(k) { throw ValidationError("--runtime must be 1 to 10000, found \(k)") }
        guard (0...1_000_000).contains(driverIterations) else { throw ValidationError("--driver-iterations must be 0 to 1000000, found \(driverIterations)") }
        guard (1...1000).contains(settleScans) else { throw ValidationError("--settle-scans must be 1 to 1000, found \(settleScans)") }
        if let n = pagesToScan, !(1...100_000).contains(n) { throw ValidationError("--pages-to-scan must be 1 to 100000, found \(n)") }
        if let n = sleepMillisecs, !(0...10_000).contains(n) { throw ValidationError("--sleep-millisecs must be 0 to 10000, found \(n)") }
        try usage { try RunConfiguration.check(maxPageSharing, in: RunConfiguration.maxPageSharingRange, option: "--max-page-sharing") }
    }

    /// The plan the options describe.
    func plan(loader: String, workDir: String) -> RunPlan {
        var p = profile == .fast ? KSMProfile.fast : KSMProfile.paper
        if let n = pagesToScan { p.pagesToScan = n }
        if let n = sleepMillisecs { p.sleepMillisecs = n }
        p.maxPageSharing = maxPageSharing
        let settleRule: Settle = settle.map { .seconds($0) } ?? (profile == .fast ? .fullScans(settleScans, cap: 60) : .seconds(30))
        return RunPlan(dedup: dedup, instances: instances, stagger: stagger ?? (profile == .fast ? 0.5 : 10), settle: settleRule,
                       profile: p, loader: loader, workDir: workDir, driverIterations: driverIterations)
    }

    func run() throws {
        try reportingErrors {
            let groups = try ImageGroup.discover(paths)
            let loaderPath = try loader ?? Self.findLoader()
            let dir = try workDir ?? FileManager.default.url(for: .itemReplacementDirectory, in: .userDomainMask,
                                                             appropriateFor: URL(fileURLWithPath: NSTemporaryDirectory()), create: true).path
            let p = plan(loader: loaderPath, workDir: dir)
            let images = groups.flatMap(\.images)
            let digests = try images.map(FileDigest.of(file:))
            if let k = runtime {
                let series = try RuntimeCost(plan: p, runs: k, log: note).measure(groups)
                let table = RuntimeCost.table(series, inputDigest: FileDigest.combined(digests))
                let format = output.resolved()
                let text = format == .table
                    ? TidyTable(columns: table.columns, numeric: table.numeric, rows: table.rows.filter { $0[0] == "summary" }).text()
                    : table.rendered(format)
                try emit(text, to: output.out, rows: table.rows.count,
                         provenance: Provenance(inputs: digests, options: ["dedup": dedup.rawValue, "runtime": String(k), "profile": profile.rawValue,
                                                                           "pages_to_scan": String(p.profile.pagesToScan),
                                                                           "sleep_millisecs": String(p.profile.sleepMillisecs), "loader": loaderPath]))
                return
            }
            let r = try RuntimeRun(plan: p, log: note).run(groups)
            let table = RunSchema.table(samples: r.samples, outcomes: r.outcomes, dedup: dedup, inputDigest: FileDigest.combined(digests))
            let format = output.resolved()
            let text = format == .table ? RunSchema.summary(r.outcomes, dedup: dedup) : table.rendered(format)
            note("run: instance outputs in \(dir)")
            try emit(text, to: output.out, rows: table.rows.count,
                     provenance: Provenance(inputs: digests, options: [
                        "dedup": dedup.rawValue, "instances": String(instances), "profile": profile.rawValue,
                        "stagger_s": String(p.stagger), "settle": "\(p.settle)", "pages_to_scan": String(p.profile.pagesToScan),
                        "sleep_millisecs": String(p.profile.sleepMillisecs), "max_page_sharing": String(maxPageSharing),
                        "loader": loaderPath, "driver_iterations": String(driverIterations)]))
            if r.outcomes.contains(where: { $0.oraclePassed < $0.oracleKnown }) {
                throw SpacerError.data(file: dir, location: "", expected: "every instance prints its normal build's output", found: "instances that differ (see the log above)")
            }
        }
    }

    /// $SPACER_LOADER, else tools/spacer-loader/build.sh of the checkout this binary was built in
    /// (found from the executable's path upwards), which builds .build/spacer-loader.
    /// - Throws: `SpacerError.unavailable` when neither works.
    static func findLoader() throws -> String {
        if let l = ProcessInfo.processInfo.environment["SPACER_LOADER"], !l.isEmpty { return l }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let script = dir.appendingPathComponent("tools/spacer-loader/build.sh").path
            if FileManager.default.fileExists(atPath: script) {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/bin/bash")
                p.arguments = [script]
                let o = Pipe()
                p.standardOutput = o
                try p.run()
                let path = String(decoding: o.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                p.waitUntilExit()
                guard p.terminationStatus == 0 else { throw SpacerError.unavailable("tools/spacer-loader/build.sh failed (is gcc installed?)") }
                return path
            }
            dir = dir.deletingLastPathComponent()
        }
        throw SpacerError.unavailable("no loader: set SPACER_LOADER or pass --loader (build it with tools/spacer-loader/build.sh)")
    }
}
