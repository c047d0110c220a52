import Foundation
import SpacerCore
import SpacerIO
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `external`: a placement strategy written in any language. Runs `cmd` through `/bin/sh -c`
/// (in the current folder, with the environment of spacer-sim, in a process group of its own),
/// gives it the workload as JSON on standard input (docs/formats.md, "External strategy input")
/// and reads a layout file (docs/formats.md, "Layout file") from its standard output. The
/// layouts are checked here with the simulator's layout checks (`LayoutCheck.problems`) and then
/// scored like any strategy's.
///
/// Failures: the program exiting non-zero, killed by a signal or by the `timeout` →
/// `SpacerError.internalInvariant` (exit 70) naming the command, its status and the last lines of
/// its stderr; output that is not a layout file of this workload, or an infeasible layout →
/// `SpacerError.data` (exit 65) listing the first problems. An empty `cmd` (the default) runs no
/// program and gives `default`'s layouts, so that the conformance suite and `compare` without
/// `--strategies` run it harmlessly.
///
/// This strategy is why `SpacerStrategies` depends on `SpacerIO`: it reads the layout file with
/// the one reader `score` uses (`LayoutFile`). `SpacerIO` does not depend on the simulator, so
/// strategies still never see it.
public struct ExternalStrategy: PlacementStrategy {
    public static let name = "external"
    public static let inDefaultRun = false
    public static let summary = "runs a program (any language): workload as JSON on its stdin, a layout file on its stdout; empty cmd: default"
    public static let parameters = [
        ParameterSpec("cmd", .string, default: "",
                      help: "shell command (/bin/sh -c) that reads the workload JSON on stdin and writes a layout file on stdout; empty: default's layout, no program"),
        ParameterSpec("timeout", .double, default: "60", help: "seconds the program may run, 0.1 to 86400; then it is killed (exit 70)",
                      range: 0.1...86_400),
    ]
    /// How many lines of the program's stderr a failure message quotes.
    public static let stderrLines = 20
    /// The most bytes of standard output read (a layout file is read whole).
    public static let maxOutputBytes = 1 << 30

    let cmd: String
    let timeout: Double

    public init(parameters: StrategyParameters) throws {
        cmd = parameters.string("cmd")
        timeout = parameters.double("timeout")
    }

    public func place(_ w: Workload, context: PlacementContext) throws -> PlacementResult {
        guard !cmd.isEmpty else { return try DefaultStrategy(parameters: StrategyParameters([:], specs: [], strategy: "default")).place(w, context: context) }
        let input = Self.inputJSON(w, context: context)
        let run = try Self.runProgram(cmd, stdin: Data(input.utf8), timeout: timeout)
        let label = "stdout of external[cmd=\(cmd)]"
        if run.timedOut || run.status != 0 {
            let what = run.timedOut ? "was killed after its time limit of \(timeout) s"
                : run.signal != 0 ? "was killed by signal \(run.signal)" : "exited with status \(run.status)"
            throw SpacerError.internalInvariant("external strategy: command '\(cmd)' \(what)" + Self.tail(run.stderr))
        }
        guard !run.stdout.isEmpty else {
            throw SpacerError.data(file: label, location: "", expected: "a layout file (docs/formats.md, \"Layout file\")",
                                   found: "no output (the command exited with status 0)" + Self.tail(run.stderr))
        }
        let parsed = try LayoutFile.parse(text: String(decoding: run.stdout, as: UTF8.self), file: label)
        guard parsed.header.pageSize == context.pageSize else {
            throw SpacerError.data(file: label, location: "", expected: "a layout for page size \(context.pageSize) (the run's page_size in the input)",
                                   found: "page_size \(parsed.header.pageSize)")
        }
        let layouts = try LayoutFile.resolve(parsed, workload: w)
        let limit = 20
        let problems = LayoutCheck.problems(workload: w, layouts: layouts, pageSize: context.pageSize, allowRemoval: false, limit: limit)
        guard problems.isEmpty else {
            let count = problems.count >= limit ? "at least \(limit) problems (the first \(limit) listed)"
                : "\(problems.count) problem\(problems.count == 1 ? "" : "s")"
            throw SpacerError.data(file: label, location: "", expected: "a feasible layout", found: "\(count):\n  " + problems.joined(separator: "\n  "))
        }
        let h = parsed.header
        return PlacementResult(layouts: layouts, status: h.solverStatus, provenBound: h.solverBound, objective: h.solverObjective,
                               objectiveUnit: h.solverUnit)
    }

    /// `; the last lines of its stderr:` and up to `stderrLines` of them, or `; its stderr was empty`.
    static func tail(_ stderr: Data) -> String {
        let lines = String(decoding: stderr, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true).suffix(stderrLines)
        return lines.isEmpty ? "; its stderr was empty" : "; the last lines of its stderr:\n  " + lines.joined(separator: "\n  ")
    }

    // MARK: the input JSON

    /// The workload as the program reads it (docs/formats.md, "External strategy input").
    public static func inputJSON(_ w: Workload, context: PlacementContext) -> String {
        var o = "{\n"
        o += "\"format\": \"spacer-sim/external-input/1\",\n"
        o += "\"page_size\": \(context.pageSize),\n"
        o += "\"time_limit\": \(context.timeLimit),\n"
        o += "\"address_map\": {\"code_start\": \(AddressMap.codeStart(pageSize: context.pageSize)), \"code_base\": \(AddressMap.codeBase), "
        o += "\"trampoline_base\": \(AddressMap.trampolineBase), \"rodata_base\": \(AddressMap.rodataBase), "
        o += "\"writable_base\": \(AddressMap.writableBase), \"writable_end\": \(AddressMap.writableBase + UInt64(AddressMap.writableZoneBytes))},\n"
        o += "\"libraries\": [" + w.libraries.map(jsonString).joined(separator: ", ") + "],\n"
        o += "\"images\": [\n"
        o += w.images.enumerated().map { i, img in
            "{\"index\": \(i), \"name\": \(jsonString(img.name)), \"instances\": \(img.instances), \"tables\": [\(img.tables.map(String.init).joined(separator: ", "))]}"
        }.joined(separator: ",\n")
        o += "\n],\n\"tables\": [\n"
        for (t, table) in w.tables.enumerated() {
            o += "{\"index\": \(t), \"library\": \(jsonString(table.library)), \"version\": \(jsonString(table.version)), \"entries\": [\n"
            for (e, x) in table.entries.enumerated() {
                o += "{\"index\": \(e), \"kind\": \"\(x.kind.rawValue)\", \"name\": \(jsonString(x.name)), \"object\": \(jsonString(x.object)), "
                o += "\"binding\": \"\(x.binding.rawValue)\", \"size\": \(x.size), \"align\": \(x.align), \"hash\": \(jsonString(x.hash)), "
                o += "\"body\": \(w.bodyIDs[t][e]), \"body_instance\": \(w.bodyInstanceIDs[t][e]), \"content\": \(w.contentIDs[t][e]), "
                o += "\"symbol\": \(w.symbolIDs[t][e]), \"relocations\": ["
                o += x.relocations.enumerated().map { r, rel in
                    "{\"offset\": \(rel.offset), \"type\": \"\(rel.type.rawValue)\", \"target\": \(jsonString(rel.target)), \"addend\": \(rel.addend), " +
                    "\"symbol\": \(w.targetSymbols[t][e][r]), \"slottable\": \(w.isSlottable(table: t, entry: e, relocation: r))}"
                }.joined(separator: ", ")
                o += e + 1 < table.entries.count ? "]},\n" : "]}\n"
            }
            o += t + 1 < w.tables.count ? "]},\n" : "]}\n"
        }
        o += "],\n\"symbols\": [\n"
        o += w.symbolNames.indices.map { s in
            "{\"index\": \(s), \"name\": \(jsonString(w.symbolNames[s])), \"external\": \(w.symbolIsExternal[s]), \"function\": \(w.symbolIsFunction[s]), " +
            "\"external_address\": \(w.externalAddresses[s])}"
        }.joined(separator: ",\n")
        o += "\n]\n}\n"
        return o
    }

    // MARK: running the program

    /// What a finished (or killed) program left.
    struct ProgramRun {
        var status: Int32
        var signal: Int32
        var timedOut: Bool
        var stdout: Data
        var stderr: Data
    }

    /// Runs `/bin/sh -c cmd` in a process group of its own, `stdin` as its standard input;
    /// standard output and error go to files of a private temporary folder (so that no pipe can
    /// fill up or break), read when it ends. After `timeout` seconds the whole group gets SIGKILL.
    /// - Throws: `.internalInvariant` when the program cannot be started.
    static func runProgram(_ cmd: String, stdin: Data, timeout: Double) throws -> ProgramRun {
        var template = Array((NSTemporaryDirectory() + "/spacer-external-XXXXXX").utf8CString)
        guard let dirPtr = mkdtemp(&template) else {
            throw SpacerError.internalInvariant("external strategy: cannot create a temporary folder for command '\(cmd)'")
        }
        let dir = String(cString: dirPtr)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let inPath = dir + "/input.json", outPath = dir + "/stdout", errPath = dir + "/stderr"
        guard FileManager.default.createFile(atPath: inPath, contents: stdin) else {
            throw SpacerError.internalInvariant("external strategy: cannot write the input of command '\(cmd)' to \(inPath)")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, inPath, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        posix_spawnattr_setpgroup(&attr, 0)
        var defaults = sigset_t(), empty = sigset_t()
        sigemptyset(&defaults); sigaddset(&defaults, SIGPIPE); sigaddset(&defaults, SIGINT); sigaddset(&defaults, SIGTERM)
        sigemptyset(&empty)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setsigmask(&attr, &empty)
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("sh"), strdup("-c"), strdup(cmd), nil]
        defer { for a in argv { free(a) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, environ)
        guard rc == 0 else {
            throw SpacerError.internalInvariant("external strategy: cannot start /bin/sh for command '\(cmd)': \(String(cString: strerror(rc)))")
        }
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        var timedOut = false
        var pause: useconds_t = 1000
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR { break }
            if Date() >= deadline {
                timedOut = true
                kill(-pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                break
            }
            usleep(pause)
            pause = min(pause * 2, 50_000)
        }
        let exited = (status & 0x7f) == 0
        let read = { (p: String) -> Data in
            guard let h = FileHandle(forReadingAtPath: p) else { return Data() }
            defer { try? h.close() }
            return (try? h.read(upToCount: maxOutputBytes)) ?? Data()
        }
        return ProgramRun(status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), signal: exited ? 0 : status & 0x7f,
                          timedOut: timedOut, stdout: read(outPath), stderr: read(errPath))
    }
}
