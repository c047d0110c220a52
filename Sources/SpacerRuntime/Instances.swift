import Foundation
import Glibc
import SpacerCore

/// A child process started with `posix_spawn`, standard output and error to files.
public final class Instance: @unchecked Sendable {
    /// Its process id.
    public let pid: pid_t
    /// Where its standard output goes.
    public let stdoutPath: String
    /// Where its standard error goes.
    public let stderrPath: String
    /// Its wait status once reaped.
    public private(set) var status: Int32?
    /// When it was started.
    public let started: Date

    /// Starts `argv[0]` (a path) with `argv` and the current environment plus `environment`.
    /// - Throws: `SpacerError.unavailable` when the program cannot be started.
    public init(argv: [String], environment: [String: String], stdout: String, stderr: String) throws {
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let envStrings = env.map { "\($0.key)=\($0.value)" }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var cargv = argv.map { strdup($0) } + [nil]
        var cenv = envStrings.map { strdup($0) } + [nil]
        defer { for p in cargv { free(p) }; for p in cenv { free(p) } }
        // Default dispositions and an empty mask for the signals `stop` sends: `run` ignores
        // SIGINT/SIGTERM/SIGHUP itself (RuntimeSignals), and ignored or blocked signals would be
        // inherited across exec, leaving SIGTERM without effect.
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var defaults = sigset_t(), empty = sigset_t()
        sigemptyset(&defaults); sigemptyset(&empty)
        for sig in [SIGINT, SIGTERM, SIGHUP, SIGPIPE] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, &attr, &cargv, &cenv)
        guard rc == 0 else { throw SpacerError.unavailable("cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
        self.pid = pid; self.stdoutPath = stdout; self.stderrPath = stderr; self.started = Date()
        RuntimeSignals.track(pid)
    }

    /// Whether it has exited (reaps it if so; non-blocking).
    public var exited: Bool {
        if status != nil { return true }
        var st: Int32 = 0
        if waitpid(pid, &st, WNOHANG) == pid { status = st; RuntimeSignals.untrack(pid); return true }
        return false
    }

    /// Sends `signal` without waiting (so that many instances stop together).
    public func signal(_ sig: Int32) { if status == nil { kill(pid, sig) } }

    /// Sends `signal` and waits for the exit (SIGKILL after `grace` seconds). Returns the wait
    /// status.
    @discardableResult public func stop(signal: Int32 = SIGTERM, grace: Double = 5) -> Int32 {
        if let s = status { return s }
        kill(pid, signal)
        let deadline = Date().addingTimeInterval(grace)
        while !exited && Date() < deadline { usleep(5_000) }
        if !exited { kill(pid, SIGKILL) }
        var st: Int32 = 0
        if status == nil { waitpid(pid, &st, 0); status = st; RuntimeSignals.untrack(pid) }
        return status!
    }

    /// Waits for the exit; returns the wait status.
    @discardableResult public func wait() -> Int32 {
        if let s = status { return s }
        var st: Int32 = 0
        while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
        status = st
        RuntimeSignals.untrack(pid)
        return st
    }

    /// Exit code when it exited normally, else 128 + the signal.
    public static func exitCode(_ status: Int32) -> Int32 {
        (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}

/// SIGINT, SIGTERM and SIGHUP while `run` works: the started instances are killed and KSM's
/// settings restored before the process exits with 128 + the signal.
public enum RuntimeSignals {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var pids: Set<pid_t> = []
    nonisolated(unsafe) private static var sessions: [KSMSession] = []
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    /// Installs the handlers (once).
    public static func install() {
        lock.lock(); defer { lock.unlock() }
        guard sources.isEmpty else { return }
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { cleanUpAndExit(sig) }
            s.resume()
            sources.append(s)
        }
    }

    /// Kills what is tracked, restores the sessions, exits 128 + `sig`.
    static func cleanUpAndExit(_ sig: Int32) -> Never {
        lock.lock()
        let ps = pids, ss = sessions
        lock.unlock()
        for p in ps { kill(p, SIGKILL) }
        for p in ps { var st: Int32 = 0; waitpid(p, &st, 0) }
        for s in ss { s.restore() }
        FileHandle.standardError.write(Data("spacer-sim: stopped by signal \(sig); instances killed, KSM settings restored\n".utf8))
        exit(128 + sig)
    }

    static func track(_ pid: pid_t) { lock.lock(); pids.insert(pid); lock.unlock() }
    static func untrack(_ pid: pid_t) { lock.lock(); pids.remove(pid); lock.unlock() }
    /// Registers a session for restoring on a signal.
    public static func track(_ s: KSMSession) { lock.lock(); sessions.append(s); lock.unlock() }
    /// Unregisters it (after restoring it normally).
    public static func untrack(_ s: KSMSession) { lock.lock(); sessions.removeAll { $0 === s }; lock.unlock() }
}
