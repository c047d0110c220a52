import Foundation
import Testing
import SpacerCore
import SpacerStrategies
@testable import SpacerELF

/// Issue 11 item 2: a symbol name written verbatim into a linker script's `EXTERN(…)` can make
/// ld load another object. Names outside `SafeNames.isLinkerSymbol` are refused by `extract`
/// (the object) and by `place --emit-ld` (a table row), before ld could see them.
@Suite(.serialized, .enabled(if: Toolchain.available, "needs gcc, readelf and ar (objects are assembled at test time)"))
struct LinkerScriptInjectionTests {
    static let evil = "puts)INPUT(evil.o)EXTERN(x"

    /// An object whose function `f` calls the undefined symbol `evil` (GNU as takes quoted names).
    static func injectionObject(_ s: Scratch, name: String = "inject") throws -> String {
        try s.assemble(name, """
            .section .text.f,"ax",@progbits
            .globl f
            .type f, @function
        f:
            call "\(evil)"
            ret
            .size f, .-f
        """)
    }

    /// The attack is real with this ld: the injected INPUT makes ld load evil.o, whose symbol
    /// then appears in the output. (Why the check exists; also proves the fixture is hostile.)
    @Test func ldLoadsTheInjectedObjectWhenTheNameIsWrittenVerbatim() throws {
        guard let ld = Toolchain.which("ld") else { Issue.record("skipped: ld not found"); return }
        let s = try Scratch()
        try s.compile("evil", "int evil_was_linked = 42;", flags: ["-c"])
        try s.compile("m", "int main(void) { return 0; }", flags: ["-c"])
        try "EXTERN(\(Self.evil))\n".write(toFile: s.path("t.ld"), atomically: true, encoding: .utf8)
        try s.run(ld, ["-r", "-T", "t.ld", "m.o", "-o", "out.o"])
        let nm = try s.run(Toolchain.which("nm")!, ["out.o"])
        #expect(nm.contains("evil_was_linked"))
    }

    /// Every name the grammar accepts is read back by ld as exactly one undefined symbol of that
    /// name; names it refuses are ones ld splits or rejects.
    @Test func grammarAgreesWithLd() throws {
        guard let ld = Toolchain.which("ld"), let nmTool = Toolchain.which("nm") else { Issue.record("skipped: ld or nm not found"); return }
        let s = try Scratch()
        try s.compile("m", "int main(void) { return 0; }", flags: ["-c"])
        for name in ["memcpy", "_start", "a.b$c_d9", ".Lx", "$x", "foo.constprop.0", "__stack_chk_fail", "_ZN3foo3barEv"] {
            #expect(SafeNames.isLinkerSymbol(name), "\(name)")
            try "EXTERN(\(name))\n".write(toFile: s.path("t.ld"), atomically: true, encoding: .utf8)
            try s.run(ld, ["-r", "-T", "t.ld", "m.o", "-o", "out.o"])
            let undefined = try s.run(nmTool, ["-u", "out.o"]).split(separator: "\n").map { $0.split(separator: " ").last.map(String.init) ?? "" }
            #expect(undefined == [name], "\(name): ld read \(undefined)")
        }
        for name in ["", "9a", "a-b", "a@b", "a+b", "a:b", "a=b", "a[b]", "a b", "a(b", "a)b", "a\"b", "a\nb", "a\u{0}b", "é", Self.evil] {
            #expect(!SafeNames.isLinkerSymbol(name), "\(SafeNames.quoted(name))")
        }
    }

    @Test func extractRefusesTheObject() throws {
        let s = try Scratch()
        let path = try Self.injectionObject(s)
        let e = dataError { _ = try ELFExtractor.extract(ELFExtractor.loadInputs(paths: [path])) }
        #expect(e?.file == path)
        #expect(e?.location.hasPrefix("byte ") == true)
        #expect(e?.expected == "an undefined symbol that is a symbol name a GNU ld script can hold ([A-Za-z_.$][A-Za-z0-9_.$]*)")
        #expect(e?.found == "'\(Self.evil)'")
        // The byte offset is the relocation entry's: inside the object.
        let size = try s.bytes("inject.o").count
        if let loc = e?.location, let n = Int(loc.dropFirst(5)) { #expect(n > 0 && n < size) }
    }

    @Test(.enabled(if: SpacerSimBinary.path != nil, "needs the spacer-sim executable (swift build)"))
    func extractCommandExits65WritingNothing() throws {
        let s = try Scratch()
        _ = try Self.injectionObject(s)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: SpacerSimBinary.path!)
        p.arguments = ["extract", "--library", "l", "--version", "1", "inject.o", "-o", "t.csv"]
        p.currentDirectoryURL = URL(fileURLWithPath: s.dir)
        let err = Pipe(); p.standardError = err; p.standardOutput = Pipe()
        try p.run()
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 65)
        #expect(e.hasPrefix("spacer-sim: inject.o:byte "))
        #expect(e.hasSuffix(": expected an undefined symbol that is a symbol name a GNU ld script can hold ([A-Za-z_.$][A-Za-z0-9_.$]*), found '\(Self.evil)'\n"))
        #expect(!FileManager.default.fileExists(atPath: s.path("t.csv")))
    }

    /// A table row (not from extract: a CSV anyone can write) carrying the name: the emitter
    /// refuses it before reading any object, naming library version, object and symbol.
    @Test func emitterRefusesATableRowCarryingTheName() throws {
        let f = TableEntry(name: "f", object: "inject.o", section: ".text.f", order: 0, size: 6, align: 16, hash: "ab",
                           relocations: [Relocation(offset: 1, type: .plt32, target: Self.evil, addend: -4)])
        let t = FunctionTable(library: "L", version: "1", entries: [f])
        let w = try Workload(rows: [WorkloadRow(image: "img", library: "L", version: "1")], tables: [t])
        let r = try StrategyRegistry.make("default").place(w, context: PlacementContext(pageSize: 4096))
        let e = dataError { _ = try LinkEmitter.emit(workload: w, layouts: r.layouts, libraries: [:], strategy: "default") }
        #expect(e?.file == "L@1 inject.o")
        #expect(e?.expected == "an external symbol that is a symbol name a GNU ld script can hold ([A-Za-z_.$][A-Za-z0-9_.$]*)")
        #expect(e?.found == "'\(Self.evil)', referenced by f")
    }

    /// An image name that is no safe file name is refused by the emitter itself (it names files
    /// and appears in the script's comment).
    @Test func emitterRefusesUnsafeImageNames() throws {
        let t = FunctionTable(library: "L", version: "1", entries: [TableEntry(name: "f", order: 0, size: 6, align: 16, hash: "ab")])
        for name in ["../x", "a/b", ".hidden", "x\u{1}y", "-rf"] {
            let w = try Workload(rows: [WorkloadRow(image: name, library: "L", version: "1")], tables: [t])
            let r = try StrategyRegistry.make("default").place(w, context: PlacementContext(pageSize: 4096))
            let e = dataError { _ = try LinkEmitter.emit(workload: w, layouts: r.layouts, libraries: [:], strategy: "default") }
            #expect(e?.file == "image \(SafeNames.quoted(name))", "\(name)")
        }
    }
}
