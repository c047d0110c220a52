import Foundation
import Testing
import SpacerCore
@testable import SpacerELF

/// Test fixtures are compiled at test time with the machine's gcc into a temporary folder (no
/// committed binaries), and checked against `readelf`.
enum Toolchain {
    static func which(_ tool: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let p = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }
    static let gcc = which("gcc")
    static let readelf = which("readelf")
    static let ar = which("ar")
    /// Whether gcc, readelf and ar are all present; tests that compile fixtures are skipped otherwise.
    static let available = gcc != nil && readelf != nil && ar != nil

    /// The flags every real table is built with (docs/design.md §8).
    static let sectionFlags = ["-O2", "-ffunction-sections", "-fdata-sections", "-fno-pic"]
}

struct ToolError: Error, CustomStringConvertible {
    var description: String
}

/// A temporary folder removed when the value is released.
final class Scratch {
    let dir: String
    init() throws {
        dir = NSTemporaryDirectory() + "/spacer-elf-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: dir) }

    func path(_ name: String) -> String { "\(dir)/\(name)" }

    /// Runs `tool` with `args` in the folder; returns standard output, throws on failure.
    @discardableResult
    func run(_ tool: String, _ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw ToolError(description: "\(tool) \(args.joined(separator: " ")) failed: \(String(decoding: errData, as: UTF8.self))")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Compiles C `source` to `name.o` with `flags` (default: the real-table flags); returns its path.
    @discardableResult
    func compile(_ name: String, _ source: String, flags: [String] = Toolchain.sectionFlags) throws -> String {
        try source.write(toFile: path("\(name).c"), atomically: true, encoding: .utf8)
        try run(Toolchain.gcc!, flags + ["-c", "\(name).c", "-o", "\(name).o"])
        return path("\(name).o")
    }

    /// Assembles GNU assembler `source` to `name.o` with gcc; returns its path.
    @discardableResult
    func assemble(_ name: String, _ source: String) throws -> String {
        try source.write(toFile: path("\(name).s"), atomically: true, encoding: .utf8)
        try run(Toolchain.gcc!, ["-c", "\(name).s", "-o", "\(name).o"])
        return path("\(name).o")
    }

    func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }
}

/// One section line of `readelf -SW`.
struct ReadelfSection {
    var index: Int, name: String, type: String, size: Int, flags: String, align: Int
}

/// One symbol line of `readelf -sW`.
struct ReadelfSymbol {
    var value: Int, size: Int, type: String, bind: String, ndx: String, name: String
}

enum Readelf {
    static func sections(_ scratch: Scratch, _ object: String) throws -> [ReadelfSection] {
        var out: [ReadelfSection] = []
        for line in try scratch.run(Toolchain.readelf!, ["-SW", object]).split(separator: "\n") {
            guard let open = line.firstIndex(of: "["), let close = line.firstIndex(of: "]"), open < close,
                  let index = Int(line[line.index(after: open)..<close].trimmingCharacters(in: .whitespaces)) else { continue }
            let t = line[line.index(after: close)...].split(separator: " ").map(String.init)
            // Name Type Address Off Size ES [Flg] Lk Inf Al
            guard t.count == 9 || t.count == 10 else { continue }
            out.append(ReadelfSection(index: index, name: t[0], type: t[1], size: Int(t[4], radix: 16)!,
                                      flags: t.count == 10 ? t[6] : "", align: Int(t[t.count - 1])!))
        }
        return out
    }

    static func symbols(_ scratch: Scratch, _ object: String) throws -> [ReadelfSymbol] {
        var out: [ReadelfSymbol] = []
        for line in try scratch.run(Toolchain.readelf!, ["-sW", object]).split(separator: "\n") {
            let t = line.split(separator: " ").map(String.init)
            guard t.count == 8, t[0].hasSuffix(":"), Int(t[0].dropLast()) != nil else { continue }
            let size = t[2].hasPrefix("0x") ? Int(t[2].dropFirst(2), radix: 16)! : Int(t[2])!
            out.append(ReadelfSymbol(value: Int(t[1], radix: 16)!, size: size, type: t[3], bind: t[4], ndx: t[6], name: t[7]))
        }
        return out
    }
}

/// Extracts the table rows of object or archive files.
func extract(_ paths: [String]) throws -> [TableEntry] {
    try ELFExtractor.extract(ELFExtractor.loadInputs(paths: paths))
}

/// Extracts rows from raw bytes named `name`.
func extract(bytes: [UInt8], name: String = "fixture.o") throws -> [TableEntry] {
    try ELFExtractor.extract([ObjectInput(displayName: name, objectName: name, bytes: bytes)])
}

/// The data error `body` throws; records an issue when it throws something else or nothing.
func dataError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> (file: String, location: String, expected: String, found: String?)? {
    do {
        try body()
        Issue.record("expected a SpacerError.data, got success", sourceLocation: sourceLocation)
    } catch let SpacerError.data(file, location, expected, found) {
        return (file, location, expected, found)
    } catch {
        Issue.record("expected a SpacerError.data, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

extension Array where Element == TableEntry {
    func named(_ name: String) -> TableEntry? { first { $0.name == name } }
    var functions: [TableEntry] { filter { $0.kind == .function } }
}

/// Little-endian patching of fixture bytes.
extension Array where Element == UInt8 {
    func u16(_ at: Int) -> Int { Int(self[at]) | Int(self[at + 1]) << 8 }
    func u32(_ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(self[at + $1]) << (8 * $1) } }
    func u64(_ at: Int) -> Int { (0..<8).reduce(0) { $0 | Int(self[at + $1]) << (8 * $1) } }
    mutating func put(_ value: Int, at: Int, width: Int) {
        for i in 0..<width { self[at + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }
}
