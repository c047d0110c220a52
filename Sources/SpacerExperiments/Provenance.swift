import Crypto
import Foundation
import SpacerCore
import SpacerIO

/// The tool that produced a result: version and the git commit it was built from.
public enum Tool {
    /// The release version, e.g. `0.2.0`.
    public static let version = "0.2.0"
    /// The commit the binary was built from (40 hex digits; `unknown` when built outside a git
    /// checkout), embedded at build time by Plugins/BuildInfoPlugin — never the commit of the
    /// folder the tool runs in.
    public static let commit = buildCommit
    /// Whether the build had uncommitted changes.
    public static let dirty = buildDirty
    /// The commit as the `tool_commit` column spells it: 12 hex digits, `-dirty` appended for a
    /// dirty build, `unknown` without git.
    public static var commitLabel: String {
        commit == "unknown" ? "unknown" : String(commit.prefix(12)) + (dirty ? "-dirty" : "")
    }
}

/// A file's SHA-256 and size, as the sidecars record every input and output.
public struct FileDigest: Sendable, Hashable, Codable {
    /// The path as given on the command line.
    public var path: String
    /// Lower-case hex SHA-256 of the file's bytes as stored (before any gunzip).
    public var sha256: String
    /// Size in bytes.
    public var bytes: Int
    /// Data rows, for outputs whose rows are counted (nil for inputs).
    public var rows: Int?

    /// A digest record as given (`sha256` lower-case hex, `bytes` ≥ 0).
    public init(path: String, sha256: String, bytes: Int, rows: Int? = nil) {
        self.path = path; self.sha256 = sha256; self.bytes = bytes; self.rows = rows
    }

    /// Hashes the file at `path`, streaming 1 MiB at a time.
    /// - Throws: `.noInput` when it cannot be opened; `.io` when a read fails.
    public static func of(file path: String) throws -> FileDigest {
        guard let h = FileHandle(forReadingAtPath: path) else { throw SpacerError.noInput(path: path) }
        defer { try? h.close() }
        var hasher = SHA256()
        var total = 0
        while true {
            let chunk: Data
            do { chunk = try h.read(upToCount: 1 << 20) ?? Data() } catch {
                throw SpacerError.io(path: path, underlying: "cannot read: \(error.localizedDescription)")
            }
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
            total += chunk.count
        }
        return FileDigest(path: path, sha256: hex(hasher.finalize()), bytes: total)
    }

    /// The digest of bytes about to be written to `path`.
    public static func of(data: Data, path: String, rows: Int? = nil) -> FileDigest {
        FileDigest(path: path, sha256: hex(SHA256.hash(data: data)), bytes: data.count, rows: rows)
    }

    static func hex<D: Sequence>(_ d: D) -> String where D.Element == UInt8 {
        d.map { String(format: "%02x", $0) }.joined()
    }

    /// The `input_digest` column: SHA-256 (hex) of the inputs' `sha256` values joined by
    /// newlines, in the order given. It changes when any input's bytes change, and not when
    /// files are moved or renamed.
    public static func combined(_ inputs: [FileDigest]) -> String {
        hex(SHA256.hash(data: Data(inputs.map(\.sha256).joined(separator: "\n").utf8)))
    }

    /// SHA-256 (hex) of a text, for inputs that are descriptions rather than files (a
    /// generator preset's resolved configuration).
    public static func of(text: String) -> String { hex(SHA256.hash(data: Data(text.utf8))) }
}

/// The sidecar JSON written beside every result file (`PATH.json`): exactly what produced it.
///
/// Schema `spacer-sim/provenance/1` (docs/formats.md). Encoded by `JSONEncoder` with sorted keys,
/// so that equal provenance gives equal bytes except `created_utc`.
public struct Provenance: Sendable, Codable {
    /// The schema name and version.
    public var schema = "spacer-sim/provenance/1"
    /// The command line, one element per argument.
    public var command: [String]
    /// The working directory the command ran in.
    public var cwd: String
    /// The tool: version, build commit, dirty flag.
    public var tool: ToolRecord
    /// Every input file with its SHA-256 and size, in the order read.
    public var inputs: [FileDigest]
    /// `input_digest` of the rows (`FileDigest.combined(inputs)` or a preset's digest).
    public var inputDigest: String
    /// Resolved options, defaults included, by option name.
    public var options: [String: String]
    /// When the output was written, ISO 8601 UTC.
    public var createdUTC: String
    /// The host name.
    public var host: String
    /// The outputs this sidecar describes, with their SHA-256 (a mismatch shows a torn write).
    public var outputs: [FileDigest] = []
    /// For sweeps: `i/n`.
    public var shard: String? = nil
    /// For sweeps: the grid, enough for `merge` to list the cells it expects.
    public var grid: SweepGridRecord? = nil

    /// The tool as recorded.
    public struct ToolRecord: Sendable, Codable, Hashable {
        /// `Tool.version`.
        public var version: String
        /// `Tool.commit`: 40 hex digits or `unknown`.
        public var commit: String
        /// `Tool.dirty`.
        public var dirty: Bool
    }

    enum CodingKeys: String, CodingKey {
        case schema, command, cwd, tool, inputs, options, host, outputs, shard, grid
        case inputDigest = "input_digest", createdUTC = "created_utc"
    }

    /// Provenance of the running process for `inputs` and `options`.
    public init(inputs: [FileDigest], inputDigest: String? = nil, options: [String: String]) {
        command = CommandLine.arguments
        cwd = FileManager.default.currentDirectoryPath
        tool = ToolRecord(version: Tool.version, commit: Tool.commit, dirty: Tool.dirty)
        self.inputs = inputs
        self.inputDigest = inputDigest ?? FileDigest.combined(inputs)
        self.options = options
        let f = ISO8601DateFormatter()
        f.timeZone = TimeZone(identifier: "UTC")
        createdUTC = f.string(from: Date())
        host = ProcessInfo.processInfo.hostName
    }

    /// The sidecar's JSON bytes.
    public func encoded() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do { return try e.encode(self) + Data("\n".utf8) } catch {
            throw SpacerError.internalInvariant("cannot encode the provenance sidecar: \(error)")
        }
    }

    /// Reads a sidecar.
    /// - Throws: `.noInput` when missing; `.data` naming the file when it is not this schema.
    public static func read(_ path: String) throws -> Provenance {
        let data = try FileIO.read(path)
        do { return try JSONDecoder().decode(Provenance.self, from: data) } catch {
            throw SpacerError.data(file: path, location: "", expected: "a spacer-sim/provenance/1 sidecar", found: "\(error)")
        }
    }

    /// Writes `output` (the result's bytes) to `path` and this sidecar to `path.json` together
    /// (`FileIO.commit`), the sidecar listing the output's SHA-256 and `rows`.
    /// - Throws: what `FileIO.commit` throws.
    public func write(_ output: Data, to path: String, rows: Int?) throws {
        var p = self
        p.outputs = [FileDigest.of(data: output, path: path, rows: rows)]
        try FileIO.commit([(path, output), (path + ".json", try p.encoded())])
    }
}
