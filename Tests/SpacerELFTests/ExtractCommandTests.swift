import Foundation
import Testing
import SpacerCore
import SpacerIO

/// The spacer-sim executable: `swift build` puts it next to the test bundle.
enum SpacerSimBinary {
    static let path: String? = {
        var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("spacer-sim").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        for b in Bundle.allBundles {
            let candidate = b.bundleURL.deletingLastPathComponent().appendingPathComponent("spacer-sim").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }()
}

/// The `spacer-sim extract` command, run as a process (the executable is built next to the tests).
@Suite(.enabled(if: Toolchain.available && SpacerSimBinary.path != nil,
                "needs gcc, readelf, ar and the spacer-sim executable next to the test bundle (swift build)"))
struct ExtractCommandTests {

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    func run(_ args: [String], in dir: String) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: SpacerSimBinary.path!)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    @Test func writesTableWithProvenanceAndSummary() throws {
        let s = try Scratch()
        try s.compile("lib", Fixtures.library)
        let r = try run(["extract", "--library", "lib", "--version", "1.0", "lib.o", "-o", "out/lib.csv.gz",
                         "--provenance", "gcc test", "--provenance", "flags -O2"], in: s.dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.hasPrefix("extract: lib 1.0: 17 functions"))
        #expect(r.stderr.contains("1 object"))
        let tables = try TableCSV.read(path: s.path("out/lib.csv.gz"))
        #expect(tables.count == 1 && tables[0].library == "lib" && tables[0].version == "1.0")
        #expect(tables[0].provenance == ["gcc test", "flags -O2"])
        #expect(tables[0].entries.filter { $0.kind == .function }.count == 17)
        // Standard output carries the same CSV.
        let plain = try run(["extract", "--library", "lib", "--version", "1.0", "lib.o", "--provenance", "gcc test", "--provenance", "flags -O2"], in: s.dir)
        #expect(plain.status == 0)
        #expect(try TableCSV.parse(plain.stdout, file: "-")[0].entries == tables[0].entries)
    }

    @Test func errorsExitWithTheirStatusAndWriteNothing() throws {
        let s = try Scratch()
        try s.compile("lib", Fixtures.library)
        let bytes = try s.bytes("lib.o")
        try Data(bytes[0..<(bytes.count / 2)]).write(to: URL(fileURLWithPath: s.path("cut.o")))
        let bad = try run(["extract", "--library", "l", "--version", "1", "lib.o", "cut.o", "-o", "t.csv"], in: s.dir)
        #expect(bad.status == 65)
        #expect(bad.stderr.contains("cut.o:byte "))
        #expect(!FileManager.default.fileExists(atPath: s.path("t.csv")))
        let missing = try run(["extract", "--library", "l", "--version", "1", "nope.o", "-o", "t.csv"], in: s.dir)
        #expect(missing.status == 66 && missing.stderr.contains("nope.o"))
        let usage = try run(["extract", "--library", "l", "lib.o"], in: s.dir)
        #expect(usage.status == 64)
        #expect(!FileManager.default.fileExists(atPath: s.path("t.csv")))
    }
}
