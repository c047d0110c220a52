import Foundation
import Glibc
import SpacerRuntime
import Testing

/// Issue 13 items 1, 2 and 6, as CI runs them: the four zlib images of scripts/real-build.sh
/// (default, per-occurrence, spacer-delta and the normal links) through tools/spacer-loader, then
/// `spacer-sim run` with 2 instances each under the kernel's KSM (fast profile) and from a page
/// pool. Skipped, with the reason, without gcc, root or a writable /sys/kernel/mm/ksm.
@Suite(.serialized) struct RuntimeRunTests {
    /// Why the machine cannot run these tests, or nil.
    static func missing(ksm: Bool = true) -> String? {
        let fm = FileManager.default
        if !(fm.isExecutableFile(atPath: "/usr/bin/gcc") || fm.isExecutableFile(atPath: "/bin/gcc")) { return "no gcc" }
        if geteuid() != 0 { return "not root (KSM and /proc/PID/pagemap frame numbers need root)" }
        if ksm {
            do { try KSMControl().checkAvailable() } catch { return "\(error)" }
        }
        return nil
    }

    /// One real-build output shared by the tests of this suite (built on first use).
    nonisolated(unsafe) static var built: (dir: URL, text: String, status: Int32)? = nil

    static func realBuild() throws -> (dir: URL, text: String, status: Int32) {
        if let b = built { return b }
        let out = try CLI.tempDir()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [CLI.root.appendingPathComponent("scripts/real-build.sh").path, "zlib", "--loader", "--out", out.path]
        var env = ProcessInfo.processInfo.environment
        env["SPACER_SIM"] = CLI.binary
        p.environment = env
        let o = Pipe()
        p.standardOutput = o; p.standardError = o
        try p.run()
        let text = String(decoding: o.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        built = (out, text, p.terminationStatus)
        return built!
    }

    /// The loader real-build.sh --loader built (tools/spacer-loader/build.sh into its output).
    static var loader: String { (built?.dir.appendingPathComponent("spacer-loader").path) ?? "/nonexistent/spacer-loader" }

    /// Final rows of a `run --format csv` output, keyed by strategy, as column → value.
    static func finals(_ csv: String) -> [String: [String: String]] {
        let lines = csv.split(separator: "\n").map(String.init)
        guard let head = lines.first?.split(separator: ",", omittingEmptySubsequences: false).map(String.init) else { return [:] }
        var out: [String: [String: String]] = [:]
        for l in lines.dropFirst() where l.hasPrefix("final,") {
            // The explanation holds commas and is quoted; the columns before it do not.
            let cells = l.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            var row: [String: String] = [:]
            for (k, name) in head.enumerated() where k < cells.count && name != "explanation" { row[name] = cells[k] }
            out[row["strategy"] ?? ""] = row
        }
        return out
    }

    /// Item 1/2: every zlib binary prints its oracle through the loader, from KSM-mergeable memory
    /// and from a pool; each pool holds exactly `measure`'s read-only frames.
    @Test func loaderRunsEveryZlibImageWithTheOracleOutput() throws {
        if let why = Self.missing(ksm: false) { print("RuntimeRunTests: SKIPPED: \(why)"); return }
        let b = try Self.realBuild()
        #expect(b.status == 0, "real-build.sh zlib --loader failed:\n\(b.text)")
        for s in ["default", "per-occurrence", "spacer-delta", "normal link"] {
            #expect(b.text.contains("loader \(s): 4/4 through --ksm, 4/4 from a pool of"), "\(b.text)")
        }
        let rows = ((try? String(contentsOf: b.dir.appendingPathComponent("loader.csv"), encoding: .utf8)) ?? "").split(separator: "\n").dropFirst()
        #expect(rows.count == 4)
        for r in rows {
            let c = r.split(separator: ",").map(String.init)
            #expect(c.count == 6 && c[4] == c[5], "pool pages vs measure's read-only frames: \(r)")
        }
    }

    /// Item 6: 2 instances of each zlib image under KSM (fast profile). KSM's converged counters
    /// give the frames the live memory predicts, and the difference from the static prediction is
    /// only what the instances wrote (docs/design.md §4); every instance prints its oracle; KSM's
    /// settings are the same afterwards.
    @Test func ksmFramesOfTwoInstancesMatchThePrediction() throws {
        if let why = Self.missing() { print("RuntimeRunTests: SKIPPED: \(why)"); return }
        let b = try Self.realBuild()
        guard b.status == 0 else { Issue.record("real-build.sh zlib failed:\n\(b.text)"); return }
        let ksm = KSMControl()
        let before = ksm.settings()
        let dirs = ["default", "per-occurrence", "spacer-delta", "normal"].map { b.dir.appendingPathComponent($0).path }
        let r = try CLI.run(["run", "--dedup", "ksm", "--instances", "2", "--profile", "fast", "--stagger", "0.2", "--driver-iterations", "1", "--loader", Self.loader,
                             "--format", "csv", "--work-dir", b.dir.appendingPathComponent("run-ksm").path] + dirs)
        #expect(ksm.settings() == before, "KSM settings changed: before \(before), after \(ksm.settings())")
        #expect(r.status == 0, "\(r.err)")
        let f = Self.finals(r.out)
        #expect(f.count == 4, "\(r.out)")
        for (s, row) in f {
            #expect(row["oracle_passed"] == "8" && row["oracle_known"] == "8", "\(s): \(row)")
            #expect(row["converged"] == "yes", "\(s): \(row)")
            let predicted = Int(row["predicted_frames"] ?? "") ?? -1, measured = Int(row["measured_frames"] ?? "") ?? -1
            let live = Int(row["live_frames_any_protection"] ?? "") ?? -1, pfn = Int(row["pfn_frames"] ?? "") ?? -1
            let written = Int(row["pages_written_writable"] ?? "") ?? -1
            // KSM's counters and the page tables agree, and both equal what the live contents allow.
            #expect(measured == pfn, "\(s): counters \(measured) vs pagemap \(pfn)")
            #expect(measured == live, "\(s): measured \(measured) vs live contents \(live)")
            // Read-only pages are never written; the difference is bounded by the written pages.
            #expect(row["pages_written_read_only"] == "0", "\(s): \(row)")
            #expect(abs(measured - predicted) <= written + 1, "\(s): predicted \(predicted), measured \(measured), written \(written)")
        }
    }

    /// Item 2: loader mode. The pool is shared: the distinct physical frames of all instances'
    /// image pages are the pool's pages plus every instance's writable pages, i.e. the
    /// prediction under `loader` exactly.
    @Test func loaderModeFramesEqualThePrediction() throws {
        if let why = Self.missing(ksm: false) { print("RuntimeRunTests: SKIPPED: \(why)"); return }
        let b = try Self.realBuild()
        guard b.status == 0 else { Issue.record("real-build.sh zlib failed:\n\(b.text)"); return }
        let dirs = ["default", "spacer-delta"].map { b.dir.appendingPathComponent($0).path }
        let r = try CLI.run(["run", "--dedup", "loader", "--instances", "2", "--profile", "fast", "--stagger", "0.2", "--settle", "0.5", "--loader", Self.loader,
                             "--format", "csv", "--work-dir", b.dir.appendingPathComponent("run-loader").path] + dirs)
        #expect(r.status == 0, "\(r.err)")
        let f = Self.finals(r.out)
        #expect(f.count == 2, "\(r.out)")
        for (s, row) in f {
            #expect(row["oracle_passed"] == "8", "\(s): \(row)")
            #expect(row["measured_frames"] == row["predicted_frames"], "\(s): \(row)")
            #expect(row["pages_written_read_only"] == "0", "\(s): \(row)")
        }
    }

    /// SIGTERM in the middle of a run: the instances are killed and KSM's settings restored.
    @Test func sigtermRestoresKSMSettings() throws {
        if let why = Self.missing() { print("RuntimeRunTests: SKIPPED: \(why)"); return }
        let b = try Self.realBuild()
        guard b.status == 0 else { Issue.record("real-build.sh zlib failed:\n\(b.text)"); return }
        let ksm = KSMControl()
        let before = ksm.settings()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = ["run", "--dedup", "ksm", "--profile", "fast", "--settle", "600", "--loader", Self.loader, "--format", "csv",
                       "--pages-to-scan", "4321", "--work-dir", b.dir.appendingPathComponent("run-term").path,
                       b.dir.appendingPathComponent("default").path]
        p.standardOutput = FileHandle.nullDevice; p.standardError = FileHandle.nullDevice
        try p.run()
        // Wait until run has configured KSM (our pages_to_scan) and started instances.
        let deadline = Date().addingTimeInterval(30)
        while ksm.value("pages_to_scan") != "4321" && Date() < deadline { usleep(20_000) }
        #expect(ksm.value("pages_to_scan") == "4321", "run never configured KSM")
        usleep(1_500_000)
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationStatus == 128 + SIGTERM)
        #expect(ksm.settings() == before, "KSM settings changed: before \(before), after \(ksm.settings())")
        // No loader instance of this run is left.
        let left = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap { Int32($0) }.filter { pid in
            ((try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? "").contains(b.dir.appendingPathComponent("default").path)
        } ?? []
        #expect(left.isEmpty, "instances left: \(left)")
    }
}
