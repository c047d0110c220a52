import Foundation
import Testing

/// Runs the built `spacer-sim` binary as a user would and checks output, exit status and files.
enum CLI {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var binary: String { root.appendingPathComponent(".build/debug/spacer-sim").path }

    struct Result { var status: Int32; var out: String; var err: String }

    static func run(_ args: [String], cwd: URL? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        p.currentDirectoryURL = cwd ?? FileManager.default.temporaryDirectory
        let o = Pipe(), e = Pipe()
        p.standardOutput = o; p.standardError = e
        try p.run()
        let out = o.fileHandleForReading.readDataToEndOfFile(), err = e.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, out: String(decoding: out, as: UTF8.self), err: String(decoding: err, as: UTF8.self))
    }

    static func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("spacer-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    /// A fresh folder holding `table` as t.csv and `workload` as w.csv.
    static func inputs(table: String, workload: String) throws -> URL {
        let d = try tempDir()
        try table.write(to: d.appendingPathComponent("t.csv"), atomically: true, encoding: .utf8)
        try workload.write(to: d.appendingPathComponent("w.csv"), atomically: true, encoding: .utf8)
        return d
    }
}

@Suite(.serialized) struct CLIEndToEndTests {
    let table = "library,version,name,size,align,hash\nlib,1,f1,100,16,aa01\nlib,1,f2,200,16,aa02\nlib,2,f1,100,16,aa01\nlib,2,f2,300,16,bb02\n"
    let workload = "image,library,version\ni1,lib,1\ni2,lib,2\n"

    func inputs() throws -> URL { try CLI.inputs(table: table, workload: workload) }

    @Test func compareWritesTidyCSVAndSidecar() throws {
        let d = try inputs()
        let r = try CLI.run(["compare", "--tables", "t.csv", "--workload", "w.csv", "--strategies", "default,spacer-delta",
                             "--format", "csv", "--csv", "out/r.csv"], cwd: d)
        #expect(r.status == 0, "\(r.err)")
        let lines = r.out.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("strategy,params,workload"))
        // default: f1+f2 in one page per image, the pages differ: 2 frames (see GoldenFrameTests).
        #expect(lines[1].hasPrefix("default,,w.csv,t.csv,2,2,4096,ksm,256,resolve,,2,2,"))
        let file = try String(contentsOf: d.appendingPathComponent("out/r.csv"), encoding: .utf8)
        #expect(file == r.out)
        let meta = try String(contentsOf: d.appendingPathComponent("out/r.csv.json"), encoding: .utf8)
        #expect(meta.contains("\"command\"") && meta.contains("\"compare\",\n    \"--tables\",\n    \"t.csv\""))
    }

    @Test func outputsAreByteIdenticalWithoutTimings() throws {
        let d = try inputs()
        let a = try CLI.run(["compare", "--tables", "t.csv", "--workload", "w.csv", "--format", "json", "--no-csv", "--no-timings"], cwd: d)
        let b = try CLI.run(["compare", "--tables", "t.csv", "--workload", "w.csv", "--format", "json", "--no-csv", "--no-timings"], cwd: d)
        #expect(a.status == 0 && a.out == b.out && a.out.contains("\"frames\": 2"))
    }

    @Test func badDataExits65NamingFileAndWritesNothing() throws {
        let d = try inputs()
        let cases = [
            ("missing.csv", "library,version,name,size,align\nlib,1,f,10,1\n", "missing.csv:1: expected columns"),
            ("neg.csv", "library,version,name,size,align,hash\nlib,1,f,-10,1,abc\n", "neg.csv:2:4: expected a size in bytes"),
        ]
        for (name, text, message) in cases {
            try text.write(to: d.appendingPathComponent(name), atomically: true, encoding: .utf8)
            let r = try CLI.run(["compare", "--tables", name, "--workload", "w.csv", "--csv", "o-\(name)"], cwd: d)
            #expect(r.status == 65, "\(name): \(r.err)")
            #expect(r.err.contains(message), "\(r.err)")
            #expect(!FileManager.default.fileExists(atPath: d.appendingPathComponent("o-\(name)").path))
        }
        // A workload naming a version no table holds.
        try "image,library,version\ni1,lib,9\n".write(to: d.appendingPathComponent("w9.csv"), atomically: true, encoding: .utf8)
        let r = try CLI.run(["compare", "--tables", "t.csv", "--workload", "w9.csv", "--no-csv"], cwd: d)
        #expect(r.status == 65 && r.err.contains("w9.csv:2") && r.err.contains("(1, 2)"), "\(r.err)")
    }

    @Test func usageAndMissingInput() throws {
        let d = try inputs()
        let u = try CLI.run(["compare", "--tables", "t.csv", "--workload", "w.csv", "--strategies", "nope"], cwd: d)
        #expect(u.status == 64 && u.err.contains("registered: default"))
        let p = try CLI.run(["compare", "--tables", "t.csv", "--workload", "w.csv", "--param", "nothing=1"], cwd: d)
        #expect(p.status == 64)
        let m = try CLI.run(["compare", "--tables", "absent.csv", "--workload", "w.csv"], cwd: d)
        #expect(m.status == 66 && m.err.contains("absent.csv"))
    }

    @Test func xrefsIgnoreIsLabelledAnUpperBound() throws {
        let d = try inputs()
        let r = try CLI.run(["compare", "--tables", "t.csv", "--workload", "w.csv", "--xrefs", "ignore", "--no-csv"], cwd: d)
        #expect(r.status == 0 && r.out.contains("UPPER BOUND"))
        let c = try CLI.run(["compare", "--tables", "t.csv", "--workload", "w.csv", "--xrefs", "ignore", "--no-csv", "--format", "csv"], cwd: d)
        #expect(c.out.contains("ignore (upper bound)"))
    }

    @Test func strategyVariantsInOneRun() throws {
        let d = try inputs()
        let r = try CLI.run(["compare", "--tables", "t.csv", "--workload", "w.csv", "--no-csv", "--format", "csv",
                             "--strategies", "spacer-delta,spacer-delta[shared-tables=true;slot-size=8]"], cwd: d)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("shared-tables=true;slot-size=8"))
        // The terminal table tells the two runs apart by their non-default parameters.
        let t = try CLI.run(["compare", "--tables", "t.csv", "--workload", "w.csv", "--no-csv",
                             "--strategies", "spacer-delta,spacer-delta[shared-tables=true;slot-size=8]"], cwd: d)
        let rows = t.out.split(separator: "\n").dropFirst(3).map { String($0.prefix { $0 != " " }) }
        #expect(rows == ["spacer-delta", "spacer-delta[shared-tables=true;slot-size=8]"])
    }
}

@Suite struct CLIJobsTests {
    @Test func outputIsTheSameWhateverTheThreadCount() throws {
        let d = try CLI.tempDir()
        try CLIEndToEndTests().table.write(to: d.appendingPathComponent("t.csv"), atomically: true, encoding: .utf8)
        try CLIEndToEndTests().workload.write(to: d.appendingPathComponent("w.csv"), atomically: true, encoding: .utf8)
        let outs = try [1, 2, 4].map { j in
            try CLI.run(["compare", "--tables", "t.csv", "--workload", "w.csv", "--no-csv", "--format", "csv", "--no-timings", "--jobs", "\(j)"], cwd: d)
        }
        #expect(outs.allSatisfy { $0.status == 0 })
        #expect(outs[0].out == outs[1].out && outs[1].out == outs[2].out)
    }
}

@Suite struct TradeOffColumnTests {
    /// Hand-made table of CLIEndToEndTests: default maps 2 pages (2 frames, lower bound 1);
    /// spacer-delta maps 3 pages (region 1 in both images, region 2 in image 2) in 2 frames.
    @Test func ratiosAgainstBoundAndDefault() throws {
        let d = try CLI.tempDir()
        try CLIEndToEndTests().table.write(to: d.appendingPathComponent("t.csv"), atomically: true, encoding: .utf8)
        try CLIEndToEndTests().workload.write(to: d.appendingPathComponent("w.csv"), atomically: true, encoding: .utf8)
        // default is not selected: its pages are computed as the reference anyway.
        let r = try CLI.run(["compare", "--tables", "t.csv", "--workload", "w.csv", "--strategies", "spacer-delta",
                             "--no-csv", "--format", "json", "--no-timings"], cwd: d)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("\"frames_per_bound\": 2.0000") && r.out.contains("\"pages_per_default\": 1.5000"), "\(r.out)")
    }
}
