import Foundation
import FuzzSupport
import SpacerCore
import SpacerELF
import SpacerIO
import SpacerStrategies

/// libFuzzer entry point for the `place --emit-ld` path with hostile names and symbols, through
/// the library functions the command calls (not the CLI).
///
/// The input is a list of length-prefixed strings (a length byte, low 6 bits, then the bytes):
/// library, version, strategy text, then image names and external symbol names (the first
/// byte's bits say how many of each). The target writes a relocatable object with `ELFWriter`
/// whose functions call the external symbols, extracts it (`LibraryObjects`), builds the
/// workload, checks the names (`EmitFolder.checkWorkloadNames`), places it with `default`,
/// emits (`LinkEmitter.emit`) and writes the folder (`EmitFolder.write`) into a scratch tree.
///
/// Asserts: extraction refuses exactly the external names outside the ld grammar (checked
/// against a regular expression, independently of `SafeNames`) and names no other file; every
/// refusal is a data or I/O error, never a trap or an internal error; an emitted script has one
/// comment, and its `EXTERN(…)` holds exactly the workload's externals; the folder holds only
/// files the emitter named plus the marker; and nothing in the scratch tree outside the output
/// folder is ever created, changed or removed.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEmit(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    guard let first = bytes.first else { return 0 }
    var at = 1
    func next() -> String? {
        guard at < bytes.count else { return nil }
        let n = Int(bytes[at] & 63); at += 1
        let s = bytes[at..<min(at + n, bytes.count)]; at += n
        return String(decoding: s, as: UTF8.self)
    }
    let library = next() ?? "lib", version = next() ?? "1", strategyText = next() ?? "default"
    let nImages = 1 + Int(first & 3), nExterns = Int((first >> 2) & 3)
    var images: [String] = [], externs: [String] = []
    for _ in 0..<nImages { images.append(next() ?? "img") }
    for _ in 0..<nExterns { externs.append(next() ?? "memcpy") }

    // The object: f0 (ret) and one function per external, `call ext; ret`.
    var writer = ELFWriter()
    var fns: [(name: String, call: String?)] = [("f0", nil)]
    for (k, e) in externs.enumerated() { fns.append(("f\(k + 1)", e)) }
    var externSymbol: [String: Int] = [:]
    var sections: [(Int, String?)] = []
    for f in fns {
        let body: [UInt8] = f.call == nil ? [0xC3] : [0xE8, 0, 0, 0, 0, 0xC3]
        let sec = writer.add(ELFWriter.Section(name: ".text.\(f.name)", flags: ELFConst.SHF_ALLOC | ELFConst.SHF_EXECINSTR, align: 16, bytes: body))
        sections.append((sec, f.call))
    }
    for (k, f) in fns.enumerated() {
        writer.add(ELFWriter.Symbol(name: f.name, bind: ELFConst.STB_GLOBAL, type: ELFConst.STT_FUNC, section: sections[k].0, value: 0, size: f.call == nil ? 1 : 6))
    }
    for (sec, call) in sections {
        guard let call else { continue }
        let sym: Int
        if let s = externSymbol[call] { sym = s } else {
            sym = writer.add(ELFWriter.Symbol(name: call, bind: ELFConst.STB_GLOBAL, type: ELFConst.STT_NOTYPE, section: 0, value: 0, size: 0))
            externSymbol[call] = sym
        }
        writer.sections[sec - 1].relocations = [ELFWriter.Rela(offset: 1, symbol: sym, type: RelocationType.plt32.elfType, addend: -4)]
    }
    let object: [UInt8]
    do { object = try writer.bytes() } catch { return 0 }   // the writer's own limits (not under test)

    // Extraction: refuses exactly the unsafe external names. A name read back from the string
    // table ends at its first NUL; a name that is some function's (f1…) is no external.
    let readBack = externs.map { String(decoding: $0.utf8.prefix { $0 != 0 }, as: UTF8.self) }
    let defined = Set(fns.map(\.name))
    func safe(_ s: String) -> Bool { linkerGrammar.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil }
    let unsafeExtern = readBack.contains { !defined.contains($0) && !$0.isEmpty && !safe($0) }
    let lib: LibraryObjects
    do {
        lib = try LibraryObjects(library: library, version: version, inputs: [ObjectInput(displayName: "fuzz.o", objectName: "fuzz.o", bytes: object)])
    } catch {
        FuzzCheck.inputError(error, file: "fuzz.o", byteCount: object.count)
        return 0
    }
    if unsafeExtern { fatalError("extraction accepted an external name outside the ld grammar: \(readBack.map(SafeNames.quoted))") }
    // (`*ABS*`, the extractor's name for a relocation against an unnamed symbol, is refused by
    // the emitter's own check below.)
    for e in lib.entries { for r in e.relocations where !defined.contains(r.target) && r.target != "*ABS*" && !safe(r.target) { fatalError("extracted unsafe target \(SafeNames.quoted(r.target))") } }

    let table = FunctionTable(library: library, version: version, entries: lib.entries)
    let rows = images.enumerated().map { WorkloadRow(image: $0.element, library: library, version: version, source: "w.csv:\($0.offset + 2)") }
    /// A data error naming the workload (its rows are `w.csv:LINE`).
    func workloadError(_ error: Error) {
        guard let e = error as? SpacerError, case let .data(file, _, expected, _) = e, file.hasPrefix("w.csv"), !expected.isEmpty else {
            fatalError("not a data error naming the workload: \(error)")
        }
    }
    do { try EmitFolder.checkWorkloadNames(rows, file: "w.csv") } catch {
        workloadError(error)
        let bad = rows.contains { r in [r.image, r.library, r.version].contains { SafeNames.pathComponentProblem($0) != nil } }
            || Set(rows.map { $0.image.lowercased() }).count < Set(rows.map(\.image)).count
        if !bad { fatalError("names refused without a reason: \(error)") }
        return 0
    }
    let w: Workload
    do { w = try Workload(rows: rows, tables: [table], source: "w.csv") } catch {
        workloadError(error)
        return 0
    }
    let layouts: [ImageLayout]
    do { layouts = try StrategyRegistry.make("default").place(w, context: PlacementContext(pageSize: 4096)).layouts } catch { fatalError("default: \(error)") }
    let files: [LinkEmitter.ImageFiles]
    do {
        files = try LinkEmitter.emit(workload: w, layouts: layouts, libraries: ["\(library)@\(version)": lib], strategy: strategyText)
    } catch let e as SpacerError {
        guard case .data = e else { fatalError("emit: \(e)") }
        return 0
    } catch { fatalError("emit: \(error)") }
    let expectedExterns = Set(readBack.filter { !defined.contains($0) && !$0.isEmpty })
    var out: [(String, [UInt8])] = []
    for f in files {
        let s = f.script
        guard s.components(separatedBy: "/*").count == 2, s.components(separatedBy: "*/").count == 2 else { fatalError("script comment broken:\n\(s)") }
        let externLine = s.split(separator: "\n").first { $0.hasPrefix("EXTERN(") }
        let listed = externLine.map { Set($0.dropFirst(7).dropLast().split(separator: " ").map(String.init)) } ?? []
        guard listed == expectedExterns else { fatalError("EXTERN lists \(listed), expected \(expectedExterns)") }
        out += [("\(f.image).o", f.object), ("\(f.image).ld", Array(s.utf8)), ("\(f.image).map", Array(f.map.utf8))]
    }
    out.append(("images.csv", Array("image\n".utf8)))
    let before = Scratch.shared.snapshot()
    do { try EmitFolder.write(out, to: Scratch.shared.out, source: "w.csv", currentDirectory: Scratch.shared.cwd) } catch let e as SpacerError {
        switch e { case .data, .io: break; default: fatalError("write: \(e)") }
    } catch { fatalError("write: \(error)") }
    let after = Scratch.shared.snapshot()
    guard after == before else {
        let changed = Set(before.keys).symmetricDifference(after.keys).union(before.keys.filter { after[$0] != nil && after[$0] != before[$0] })
        fatalError("something outside the output folder changed: \(changed.sorted().map(SafeNames.quoted)); files \(out.map { SafeNames.quoted($0.0) })")
    }
    let inOut = Set((try? FileManager.default.contentsOfDirectory(atPath: Scratch.shared.out)) ?? [])
    if !inOut.isEmpty, !inOut.isSubset(of: Scratch.shared.everWritten.union(out.map(\.0) + [EmitFolder.markerName])) {
        fatalError("the output folder holds files nobody named: \(inOut)")
    }
    Scratch.shared.everWritten.formUnion(out.map(\.0))
    return 0
}

/// ld's unquoted-name grammar, independently of `SafeNames` (compiled once).
nonisolated(unsafe) let linkerGrammar = try! NSRegularExpression(pattern: "^[A-Za-z_.$][A-Za-z0-9_.$]*$")

/// The scratch tree's path, for the exit handler (kept after a crash, for the reproduction).
nonisolated(unsafe) var scratchRoot = ""

/// A scratch tree for the target: sentinels beside the output folder, and a working directory.
final class Scratch: @unchecked Sendable {
    static let shared = Scratch()
    let root: String, out: String, cwd: String
    var everWritten: Set<String> = []
    init() {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("spacer-fuzz-emit-\(getpid())").path
        out = root + "/out"
        cwd = root + "/cwd"
        try? FileManager.default.createDirectory(atPath: cwd, withIntermediateDirectories: true)
        try? "sentinel\n".write(toFile: root + "/sentinel", atomically: false, encoding: .utf8)
        try? "// swift-tools-version:6.0\n".write(toFile: root + "/Package.swift", atomically: false, encoding: .utf8)
        try? FileManager.default.createDirectory(atPath: root + "/victim", withIntermediateDirectories: true)
        try? "victim\n".write(toFile: root + "/victim/lib.o", atomically: false, encoding: .utf8)
        scratchRoot = root
        atexit { if !scratchRoot.isEmpty { try? FileManager.default.removeItem(atPath: scratchRoot) } }   // a normal end of the run
    }
    /// Every path under `root` except the output folder, with its size and content.
    func snapshot() -> [String: Data] {
        var out: [String: Data] = [:]
        guard let e = FileManager.default.enumerator(atPath: root) else { return out }
        while let p = e.nextObject() as? String {
            if p.utf8.elementsEqual("out".utf8) || p.utf8.starts(with: "out/".utf8) { continue }   // by byte: "out/\u{5BA}" has no prefix "out/" as a String
            out[p] = FileManager.default.contents(atPath: root + "/" + p) ?? Data("dir".utf8)
        }
        return out
    }
}
