import Foundation
import Glibc
import SpacerCore

/// The kernel's KSM control files (`/sys/kernel/mm/ksm/`, Documentation/admin-guide/mm/ksm.rst):
/// reading the counters and settings, and writing settings. Knows nothing of saving them; see
/// `KSMSession`.
public struct KSMControl: Sendable {
    /// The folder of the control files.
    public var root: String

    /// The counters `run` samples, in output order; `general_profit` exists from Linux 6.1 on
    /// (absent ones read as nil).
    public static let counterNames = ["pages_shared", "pages_sharing", "pages_unshared", "pages_volatile", "full_scans", "general_profit"]

    /// Control files that are counters (never written, never restored).
    public static let readOnlyNames: Set<String> = ["full_scans", "general_profit", "ksm_zero_pages", "pages_scanned", "pages_shared",
                                                    "pages_sharing", "pages_skipped", "pages_unshared", "pages_volatile",
                                                    "stable_node_chains", "stable_node_dups"]

    /// A control over the files in `root` (default the kernel's).
    public init(root: String = "/sys/kernel/mm/ksm") { self.root = root }

    /// Checks that KSM can be driven: the folder and its `run` file exist, we are root, and `run`
    /// is writable.
    /// - Throws: `SpacerError.unavailable` naming what is missing.
    public func checkAvailable() throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue,
              FileManager.default.fileExists(atPath: root + "/run") else {
            throw SpacerError.unavailable("KSM: no \(root)/run (the kernel is built without CONFIG_KSM, or /sys is not mounted)")
        }
        guard geteuid() == 0 else { throw SpacerError.unavailable("KSM: \(root)/run is writable only by root (effective uid \(geteuid()))") }
        guard access(root + "/run", W_OK) == 0 else {
            throw SpacerError.unavailable("KSM: \(root)/run is not writable (\(String(cString: strerror(errno))); a read-only /sys in a container?)")
        }
    }

    /// The value of control file `name`, trimmed; nil when it does not exist or cannot be read.
    public func value(_ name: String) -> String? {
        guard let s = try? String(contentsOfFile: root + "/" + name, encoding: .utf8) else { return nil }
        return s.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Control file `name` as an integer; nil when absent or not a number.
    public func number(_ name: String) -> Int? { value(name).flatMap { Int($0) } }

    /// Every control file and its value (`advisor_mode` as the kernel prints it, e.g.
    /// "[none] scan-time"), keyed by file name.
    public func snapshot() -> [String: String] {
        var out: [String: String] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] {
            if let v = value(name) { out[name] = v }
        }
        return out
    }

    /// The settings of a snapshot (not the counters), for comparing before and after.
    public func settings() -> [String: String] { snapshot().filter { !Self.readOnlyNames.contains($0.key) } }

    /// `counterNames` read now (nil where absent).
    public func counters() -> [String: Int?] {
        var out: [String: Int?] = [:]
        for n in Self.counterNames { out[n] = number(n) }
        return out
    }

    /// Writes `value` to control file `name`.
    /// - Throws: `SpacerError.io` naming the file and the kernel's error (EBUSY for
    ///   `max_page_sharing` while pages are shared).
    public func write(_ name: String, _ value: String) throws {
        let path = root + "/" + name
        let fd = open(path, O_WRONLY)
        guard fd >= 0 else { throw SpacerError.io(path: path, underlying: "cannot open for writing: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array((value + "\n").utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else {
            throw SpacerError.io(path: path, underlying: "writing \(value): \(String(cString: strerror(errno)))")
        }
    }
}

/// A KSM configuration for one run: the settings written before the instances start.
public struct KSMProfile: Sendable, Hashable {
    /// `pages_to_scan`: pages ksmd scans per wake-up.
    public var pagesToScan: Int
    /// `sleep_millisecs`: ksmd's pause between wake-ups.
    public var sleepMillisecs: Int
    /// `max_page_sharing`: sharers per KSM frame.
    public var maxPageSharing: Int
    /// `smart_scan` (Linux 6.7+) to set, or nil to leave it: with 1, pages that failed to merge
    /// are skipped for a growing number of scans, so pages written while a workload ran merge
    /// only much later; the fast profile sets 0 so that a few full scans converge.
    public var smartScan: Int?

    /// The paper's settings (issue 13): 100 pages every 20 ms, 256 sharers a frame.
    public static let paper = KSMProfile(pagesToScan: 100, sleepMillisecs: 20, maxPageSharing: 256)
    /// For tests and quick looks: 10000 pages every 10 ms, smart_scan off (a zlib image set
    /// converges in a few full scans, well under a second).
    public static let fast = KSMProfile(pagesToScan: 10000, sleepMillisecs: 10, maxPageSharing: 256, smartScan: 0)

    /// A profile with these settings.
    public init(pagesToScan: Int, sleepMillisecs: Int, maxPageSharing: Int, smartScan: Int? = nil) {
        self.pagesToScan = pagesToScan; self.sleepMillisecs = sleepMillisecs; self.maxPageSharing = maxPageSharing
        self.smartScan = smartScan
    }

    /// The writes, in order: `max_page_sharing` first (the kernel refuses it while pages are
    /// shared), `run=1` last.
    public var writes: [(String, String)] {
        [("max_page_sharing", String(maxPageSharing)), ("pages_to_scan", String(pagesToScan)),
         ("sleep_millisecs", String(sleepMillisecs))] + (smartScan.map { [("smart_scan", String($0))] } ?? []) + [("run", "1")]
    }
}

/// KSM configured for a run: every setting it changes is saved first and written back by
/// `restore()` (idempotent; also from the signal handler of `RuntimeSignals`).
public final class KSMSession: @unchecked Sendable {
    /// The control files.
    public let control: KSMControl
    /// The saved settings, in the order they were changed.
    public private(set) var saved: [(String, String)] = []
    private let lock = NSLock()
    private var restored = false
    /// `pages_shared` and `pages_sharing` when the session began.
    private var baseline: (shared: Int, sharing: Int) = (0, 0)

    /// Saves and writes `profile`'s settings.
    /// - Throws: `SpacerError.unavailable` as `KSMControl.checkAvailable`; `.io` for a write the
    ///   kernel refuses (what was already changed is restored first).
    public init(control: KSMControl, profile: KSMProfile) throws {
        self.control = control
        try control.checkAvailable()
        baseline = (control.number("pages_shared") ?? 0, control.number("pages_sharing") ?? 0)
        do {
            for (name, value) in profile.writes {
                guard let old = control.value(name) else {
                    if name == "smart_scan" { continue }   // before Linux 6.7: nothing to turn off
                    throw SpacerError.unavailable("KSM: no \(control.root)/\(name)")
                }
                saved.append((name, old))
                if old != value {
                    if name == "max_page_sharing" { try writeWhenUnshared(name, value) } else { try control.write(name, value) }
                }
            }
        } catch {
            restore()
            throw error
        }
    }

    /// `max_page_sharing` can change only while no page is shared: with shared pages left by
    /// others, unmerge them (`run=2`) first, as the kernel documentation says, then write.
    private func writeWhenUnshared(_ name: String, _ value: String) throws {
        do { try control.write(name, value) } catch {
            guard (control.number("pages_shared") ?? 0) > 0 else { throw error }
            try control.write("run", "2")
            let deadline = Date().addingTimeInterval(10)
            while (control.number("pages_shared") ?? 0) > 0 && Date() < deadline { usleep(20_000) }
            try control.write(name, value)
        }
    }

    /// Writes the saved settings back, `run` first (so ksmd stops before the others change).
    /// Errors go to standard error; a second call does nothing.
    public func restore() {
        lock.lock(); defer { lock.unlock() }
        guard !restored else { return }
        restored = true
        // The instances are gone, but their stable nodes stay counted until ksmd scans again:
        // with ksmd still running, wait (at most 10 s) for the counters to fall back to where
        // they were, so that stopping ksmd (run=0) leaves them as found.
        if control.value("run") == "1" {
            let deadline = Date().addingTimeInterval(10)
            while ((control.number("pages_shared") ?? 0) > baseline.shared || (control.number("pages_sharing") ?? 0) > baseline.sharing)
                    && Date() < deadline { usleep(20_000) }
        }
        let order = saved.filter { $0.0 == "run" } + saved.filter { $0.0 != "run" }.reversed()
        // With run restored to 0 KSM keeps merged pages; max_page_sharing needs none shared.
        for (name, value) in order where control.value(name) != value {
            do {
                if name == "max_page_sharing" { try writeWhenUnshared(name, value) } else { try control.write(name, value) }
            } catch {
                FileHandle.standardError.write(Data("spacer-sim: could not restore KSM \(name)=\(value): \(error)\n".utf8))
            }
        }
        // run=2 (used to unmerge) leaves run at 2: put the saved value back.
        if let run = saved.first(where: { $0.0 == "run" })?.1, control.value("run") != run { try? control.write("run", run) }
    }

    deinit { restore() }
}
