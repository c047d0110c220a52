import Foundation
import SpacerCore

/// A strict RFC 4180 CSV reader that keeps line numbers for error messages.
///
/// Accepts a UTF-8 byte-order mark, LF or CRLF line ends, quoted fields (with `""` for a quote
/// and line breaks inside quotes). Lines whose first character is `#` are comments (provenance)
/// and blank lines are skipped.
public struct CSVReader {
    /// One record: its fields and the 1-based line on which it starts.
    public struct Record {
        public var fields: [String]
        public var line: Int
        /// Whether the record ends with a line break (LF or CRLF). Only the last record of a
        /// file can lack one: a file cut short by an interrupted write ends that way, possibly
        /// inside a field (`11.576` cut to `1`), so readers of files that are appended or
        /// rewritten (sweep checkpoints, `merge` inputs) refuse or drop it (`unterminatedLast`).
        public var terminated: Bool = true
    }

    public private(set) var records: [Record] = []
    public private(set) var comments: [String] = []

    /// Parses `text`, naming `file` in errors.
    /// - Throws: `SpacerError.data` at `LINE:FIELD` (the 1-based field number, as every CSV
    ///   error gives its column) for an unterminated quote, a quote inside an unquoted field, or
    ///   text after a closing quote.
    public init(text: String, file: String) throws {
        var text = text
        let parsed = try text.withUTF8 { try CSVReader(utf8: $0, file: file) }
        self = parsed
    }

    /// Parses UTF-8 bytes, naming `file` in errors (the fast path: no per-character `String` work).
    /// - Throws: as `init(text:file:)`.
    public init(utf8 bytes: UnsafeBufferPointer<UInt8>, file: String) throws {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        let n = bytes.count
        var i = 0, line = 1
        if n >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { i = 3 }   // byte-order mark
        func string(_ a: Int, _ b: Int) -> String { String(decoding: UnsafeBufferPointer(rebasing: bytes[a..<b]), as: UTF8.self) }
        while i < n {
            if bytes[i] == UInt8(ascii: "#") {
                var j = i + 1
                while j < n && bytes[j] != lf { j += 1 }
                var e = j
                if e > i + 1 && bytes[e - 1] == cr { e -= 1 }
                var b = i + 1
                if b < e && bytes[b] == UInt8(ascii: " ") { b += 1 }
                comments.append(string(b, e))
                i = j + 1; line += 1; continue
            }
            if bytes[i] == lf { i += 1; line += 1; continue }
            if bytes[i] == cr && i + 1 < n && bytes[i + 1] == lf { i += 2; line += 1; continue }
            let startLine = line
            var terminated = true
            var fields: [String] = []
            var col = 1
            while true {
                if i < n && bytes[i] == quote {
                    let qline = line, qcol = col
                    i += 1
                    var field: [UInt8] = []
                    while true {
                        guard i < n else {
                            throw SpacerError.data(file: file, location: "\(qline):\(qcol)", expected: "a closing quote", found: "end of file")
                        }
                        let c = bytes[i]
                        if c == quote {
                            if i + 1 < n && bytes[i + 1] == quote { field.append(quote); i += 2; continue }
                            i += 1; break
                        }
                        if c == lf { line += 1 }
                        field.append(c); i += 1
                    }
                    if i < n && !(bytes[i] == comma || bytes[i] == lf || bytes[i] == cr) {
                        throw SpacerError.data(file: file, location: "\(line):\(col)", expected: "a comma or line end after a quoted field",
                                               found: "'\(string(i, min(i + 1, n)))'")
                    }
                    fields.append(String(decoding: field, as: UTF8.self))
                } else {
                    let a = i
                    while i < n && bytes[i] != comma && bytes[i] != lf && !(bytes[i] == cr && i + 1 < n && bytes[i + 1] == lf) {
                        if bytes[i] == quote {
                            throw SpacerError.data(file: file, location: "\(line):\(col)", expected: "a quote only at the start of a field", found: "a quote inside the field")
                        }
                        i += 1
                    }
                    fields.append(string(a, i))
                }
                col += 1
                if i < n && bytes[i] == comma { i += 1; continue }
                if i < n && bytes[i] == cr { i += 1 }
                if i < n && bytes[i] == lf { i += 1; line += 1; terminated = true } else { terminated = false }
                break
            }
            records.append(Record(fields: fields, line: startLine, terminated: terminated))
        }
    }
}

extension CSVReader {
    /// What a reader does with a last record that has no line break after it.
    public enum UnterminatedLast: Sendable {
        /// Keep it (table and workload CSV: a hand-written file often lacks the last line break;
        /// the row is kept only because every field is then validated, so a row cut inside a
        /// field is accepted only when what is left still parses completely).
        case accept
        /// Refuse the file: `SpacerError.data` naming the file and the line (`merge` inputs).
        case refuse
        /// Drop the record (a resumed sweep's checkpoint: the row is run again).
        case drop
    }

    /// Applies `policy` to the last record.
    /// - Returns: the line of a dropped record, or nil.
    /// - Throws: with `.refuse`, `SpacerError.data` at the record's line: "expected a last row
    ///   ending in a line break (a file cut short?), found an unterminated row of N fields".
    @discardableResult
    public mutating func apply(_ policy: UnterminatedLast, file: String) throws -> Int? {
        guard let last = records.last, !last.terminated else { return nil }
        switch policy {
        case .accept: return nil
        case .refuse:
            throw SpacerError.data(file: file, location: "\(last.line)", expected: "a last row ending in a line break (a file cut short?)",
                                   found: "an unterminated row of \(last.fields.count) field\(last.fields.count == 1 ? "" : "s")")
        case .drop:
            records.removeLast()
            return last.line
        }
    }
}

/// RFC 4180 field quoting: quotes a field holding a comma, quote, CR or LF.
/// Looks at bytes: "\r\n" is one Character, equal to neither "\r" nor "\n".
public func csvField(_ s: String) -> String {
    if s.utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) {
        var out = String.UnicodeScalarView()
        out.append("\"")
        for u in s.unicodeScalars { out.append(u); if u == "\"" { out.append("\"") } }  // scalars: a quote may carry a combining mark
        out.append("\"")
        return String(out)
    }
    return s
}

/// Reads and writes whole files: gzip by content (magic bytes 1f 8b), atomic writes.
public enum FileIO {
    /// The file's bytes, gunzipped if they are gzip. Unlike the ELF readers (`InputFile.read`),
    /// a FIFO is read (`--tables <(zcat t.csv.gz)`), up to `maxInputBytes`.
    /// - Throws: `.noInput` if the file cannot be opened; `.data` for more than `maxInputBytes`
    ///   or a corrupt gzip stream.
    public static func read(_ path: String) throws -> Data {
        try decode(readRaw(path), file: path)
    }

    /// The file's bytes as stored (not gunzipped), with the checks of `read`: what the table
    /// reader streams through `Gzip.Inflater` itself.
    /// - Throws: as `read`, less the gzip errors.
    static func readRaw(_ path: String) throws -> Data {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue,
              let handle = FileHandle(forReadingAtPath: path) else { throw SpacerError.noInput(path: path) }
        defer { try? handle.close() }
        let data: Data
        do { data = try handle.read(upToCount: maxInputBytes + 1) ?? Data() } catch {
            throw SpacerError.io(path: path, underlying: "cannot read: \(error.localizedDescription)")
        }
        guard data.count <= maxInputBytes else {
            throw SpacerError.data(file: path, location: "byte \(maxInputBytes)", expected: "an input of at most \(maxInputBytes) bytes", found: "more")
        }
        return data
    }

    /// Whether `data` starts with the gzip magic bytes 1f 8b.
    static func isGzip(_ data: Data) -> Bool {
        data.count >= 2 && data[data.startIndex] == 0x1f && data[data.startIndex + 1] == 0x8b
    }

    /// The most bytes an input file may hold, before and after gzip decompression (256 MiB,
    /// `InputFile.maxInputBytes`, the limit every reader shares; the real SQLite tables are under
    /// 2 MiB). Keeps a hostile or mistaken input (a gzip bomb, `/dev/zero`) from exhausting memory.
    public static let maxInputBytes = InputFile.maxInputBytes

    /// The file as UTF-8 text (gunzipped if needed).
    /// - Throws: as `read`, plus `.data` if the bytes are not UTF-8.
    public static func readText(_ path: String) throws -> String {
        try text(read(path), file: path)
    }

    /// `data` gunzipped if it starts with the gzip magic (1f 8b), else unchanged; what `read`
    /// does after opening the file.
    /// - Throws: `.data` naming `file` for a corrupt or truncated gzip stream, or one that
    ///   decompresses to more than `maxInputBytes`.
    public static func decode(_ data: Data, file: String) throws -> Data {
        if isGzip(data) {
            return try Gzip.decompress(data, file: file, limit: maxInputBytes)
        }
        return data
    }

    /// `data` (already gunzipped) as UTF-8 text.
    /// - Throws: `.data` naming `file` and the byte offset of the first byte that is not UTF-8.
    public static func text(_ data: Data, file: String) throws -> String {
        if let s = String(data: data, encoding: .utf8) { return s }
        throw notUTF8(file: file, offset: firstInvalidUTF8(data))
    }

    /// The error for a byte at `offset` of `file` that is not UTF-8.
    static func notUTF8(file: String, offset: Int) -> SpacerError {
        .data(file: file, location: "byte \(offset)", expected: "UTF-8 text", found: "a byte that is not UTF-8")
    }

    /// Offset of the first byte that does not start or continue a valid UTF-8 sequence.
    static func firstInvalidUTF8(_ data: Data) -> Int {
        let b = [UInt8](data)
        var i = 0
        while i < b.count {
            let c = b[i]
            let n: Int
            switch c {
            case 0x00...0x7f: n = 1
            case 0xc2...0xdf: n = 2
            case 0xe0...0xef: n = 3
            case 0xf0...0xf4: n = 4
            default: return i
            }
            guard i + n <= b.count else { return i }
            for k in 1..<n where b[i + k] & 0xc0 != 0x80 { return i }
            // Overlong, surrogate and beyond-U+10FFFF forms.
            if n == 3 && ((c == 0xe0 && b[i + 1] < 0xa0) || (c == 0xed && b[i + 1] >= 0xa0)) { return i }
            if n == 4 && ((c == 0xf0 && b[i + 1] < 0x90) || (c == 0xf4 && b[i + 1] >= 0x90)) { return i }
            i += n
        }
        return b.count
    }

    /// Writes `data` to `path` through a temporary sibling renamed into place, so that the file
    /// never half-exists; gzip-compresses it when `path` ends in `.gz`. The output policy of
    /// `checkOutputPath` applies (no device, FIFO, symlink or folder is ever replaced).
    /// - Throws: `.cantCreate` for a path the policy refuses; `.io` naming the path when a write
    ///   fails (disk full, no permission).
    public static func writeAtomically(_ data: Data, to path: String) throws {
        try commit([(path, data)])
    }

    /// Writes several outputs that belong together (a CSV and its sidecar) so that none
    /// half-exists and a failure before the renames leaves every old file as it was: each file
    /// goes to a temporary sibling `.NAME.tmp-PID` (fsynced) first, then all are renamed into
    /// place in order. A crash between two renames can still leave an old sidecar beside a new
    /// CSV; the sidecar records each output's sha256, so the mismatch is detectable. Temporaries
    /// left by dead processes beside any of the paths are removed first.
    /// - Throws: `.cantCreate` for a path the policy refuses; `.io` naming the path that failed.
    public static func commit(_ files: [(path: String, data: Data)]) throws {
        for f in files { try checkOutputPath(f.path) }
        var written: [(tmp: String, path: String)] = []
        do {
            for f in files {
                let out = f.path.hasSuffix(".gz") ? try Gzip.compress(f.data) : f.data
                let dir = (f.path as NSString).deletingLastPathComponent
                if !dir.isEmpty {
                    do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                        throw SpacerError.cantCreate(path: dir, reason: "cannot create output: cannot create the folder: \(error.localizedDescription)")
                    }
                }
                removeStaleTemporaries(of: f.path)
                let tmp = temporaryName(for: f.path)
                try writeNew(out, to: tmp, reportAs: f.path)
                written.append((tmp, f.path))
            }
            for w in written {
                guard rename(w.tmp, w.path) == 0 else {
                    throw SpacerError.io(path: w.path, underlying: "cannot rename into place: \(String(cString: strerror(errno)))")
                }
            }
        } catch {
            for w in written { unlink(w.tmp) }
            throw error
        }
    }

    /// The output policy for a file path: it may not exist yet, or be a regular file (replaced).
    /// A folder, a symlink (even to a regular file), a device node, a FIFO or a socket is refused:
    /// replacing `/dev/null` or a link's target by accident is never what a user meant. An empty
    /// path is refused. Standard output is not a path: commands write to it directly.
    /// - Throws: `.cantCreate` (exit 73) naming the path and what it is.
    public static func checkOutputPath(_ path: String) throws {
        guard !path.isEmpty else { throw SpacerError.cantCreate(path: "''", reason: "cannot create output: an empty output path") }
        guard !path.hasSuffix("/") else { throw SpacerError.cantCreate(path: path, reason: "cannot create output: expected an output file path, not a folder") }
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        let kind: String
        switch st.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFDIR: kind = "a folder"
        case S_IFLNK: kind = "a symbolic link"
        case S_IFCHR, S_IFBLK: kind = "a device node"
        case S_IFIFO: kind = "a FIFO"
        case S_IFSOCK: kind = "a socket"
        default: kind = "not a regular file"
        }
        throw SpacerError.cantCreate(path: path, reason: "cannot create output: it is \(kind); outputs replace regular files only (write to standard output, or pick a file path)")
    }

    /// `.NAME.tmp-PID` beside `path`.
    static func temporaryName(for path: String) -> String {
        let dir = (path as NSString).deletingLastPathComponent
        let name = "." + (path as NSString).lastPathComponent + ".tmp-\(getpid())"
        return dir.isEmpty ? name : (dir as NSString).appendingPathComponent(name)
    }

    /// Removes `.NAME.tmp-PID` files beside `path` whose process is gone (kill -9, power loss).
    static func removeStaleTemporaries(of path: String) {
        let dir = (path as NSString).deletingLastPathComponent
        let prefix = "." + (path as NSString).lastPathComponent + ".tmp-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir) else { return }
        for n in names where n.hasPrefix(prefix) {
            guard let pid = Int32(n.dropFirst(prefix.count)), pid != getpid() else { continue }
            if kill(pid, 0) == 0 || errno == EPERM { continue }
            unlink(dir.isEmpty ? n : (dir as NSString).appendingPathComponent(n))
        }
    }

    /// Creates `tmp` (exclusively, mode 0644 less the umask), writes `data`, fsyncs and closes it.
    static func writeNew(_ data: Data, to tmp: String, reportAs path: String) throws {
        unlink(tmp)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw SpacerError.cantCreate(path: path, reason: "cannot create output: cannot create \(tmp): \(String(cString: strerror(errno)))")
        }
        var failure: String? = nil
        data.withUnsafeBytes { (b: UnsafeRawBufferPointer) in
            var off = 0
            while off < b.count {
                let n = write(fd, b.baseAddress! + off, b.count - off)
                if n < 0 { if errno == EINTR { continue }; failure = String(cString: strerror(errno)); return }
                off += n
            }
        }
        if failure == nil && fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        if close(fd) != 0 && failure == nil { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(tmp)
            throw SpacerError.io(path: path, underlying: "cannot write: \(failure)")
        }
    }

    /// Writes `text` to standard output and checks that it arrived: a full disk or a closed
    /// file (`> /dev/full`) is an error, not a silent truncation. A closed pipe ends the process
    /// by SIGPIPE as usual (exit 141, quiet).
    /// - Throws: `.io` naming standard output.
    public static func writeStandardOutput(_ text: String) throws {
        var failure: String? = nil
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { b in
            var off = 0
            while off < b.count {
                let n = write(1, b.baseAddress! + off, b.count - off)
                if n < 0 { if errno == EINTR { continue }; failure = String(cString: strerror(errno)); return }
                off += n
            }
        }
        if let failure { throw SpacerError.io(path: "standard output", underlying: "cannot write: \(failure)") }
    }

    /// Writes UTF-8 `text` atomically (see `writeAtomically(_:to:)`).
    public static func writeAtomically(_ text: String, to path: String) throws {
        try writeAtomically(Data(text.utf8), to: path)
    }
}
