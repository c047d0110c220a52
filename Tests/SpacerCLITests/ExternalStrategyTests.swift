import Foundation
import Testing
import SpacerCore
import SpacerExperiments
import SpacerIO
import SpacerSimulator
import SpacerStrategies
import SpacerTestSupport

/// Whether `python3` runs here; the external-strategy tests that need it are skipped otherwise
/// (Swift Testing prints the reason).
enum Python {
    static let available: Bool = {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "python3 -c 'import json, csv, sys'"]
        p.standardOutput = FileHandle.nullDevice; p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }()
    static let example = CLI.root.appendingPathComponent("examples/per_occurrence.py").path
    static var spec: String { "external[cmd=python3 \(example)]" }
}

/// `external` (docs/strategies.md, docs/formats.md "External strategy input"): a program reads the
/// workload JSON and writes a layout file; spacer-sim checks and scores it like any strategy.
@Suite(.serialized) struct ExternalStrategyTests {
    let table = "library,version,name,size,align,hash\nlib,1,f1,100,16,aa01\nlib,1,f2,200,16,aa02\nlib,2,f1,100,16,aa01\nlib,2,f2,300,16,bb02\n"
    let workload = "image,library,version\ni1,lib,1\ni2,lib,2\n"

    /// The rows of `compare --format csv` by strategy label: (strategy, frames, total_pages).
    func rows(_ csv: String) -> [(strategy: String, params: String, frames: Int, totalPages: Int)] {
        let lines = csv.split(separator: "\n").map(String.init)
        guard let head = lines.first?.split(separator: ",").map(String.init),
              let s = head.firstIndex(of: "strategy"), let f = head.firstIndex(of: "frames"), let t = head.firstIndex(of: "total_pages"),
              let p = head.firstIndex(of: "params") else { return [] }
        return lines.dropFirst().map { line in
            let v = (try? CSVReader(text: line + "\n", file: "x").records.first?.fields) ?? []
            return (v.count > s ? v[s] : "", v.count > p ? v[p] : "", Int(v.count > f ? v[f] : "") ?? -1, Int(v.count > t ? v[t] : "") ?? -1)
        }
    }

    @Test(.enabled(if: Python.available, "python3 is not installed: the Python example strategy cannot run"))
    func theExampleMatchesPerOccurrenceOnASmallWorkload() throws {
        let d = try CLI.inputs(table: table, workload: workload)
        let r = try CLI.run(["compare", "--tables", "t.csv", "--workload", "w.csv", "--strategies", "per-occurrence,\(Python.spec)",
                             "--format", "csv", "--no-timings", "--no-csv"], cwd: d)
        #expect(r.status == 0, "\(r.err)")
        let rows = rows(r.out)
        #expect(rows.count == 2)
        #expect(rows.last?.strategy == "external")
        #expect(rows.last?.params == "cmd=python3 \(Python.example);timeout=60")
        #expect(rows.first?.frames == rows.last?.frames && (rows.last?.frames ?? 0) > 0)
        #expect(rows.first?.totalPages == rows.last?.totalPages)
    }

    @Test(.enabled(if: Python.available, "python3 is not installed: the Python example strategy cannot run"))
    func theExampleMatchesPerOccurrenceOnZlib() throws {
        let r = try CLI.run(["compare", "--tables", "datasets/real", "--workload", "datasets/real/zlib-workload.csv",
                             "--strategies", "per-occurrence,\(Python.spec)", "--format", "csv", "--no-timings", "--no-csv"], cwd: CLI.root)
        #expect(r.status == 0, "\(r.err)")
        let rows = rows(r.out)
        #expect(rows.count == 2)
        print("zlib frames: per-occurrence \(rows.first?.frames ?? -1), external example \(rows.last?.frames ?? -1)")
        #expect(rows.first?.frames == rows.last?.frames && (rows.last?.frames ?? 0) > 0)
    }

    /// The conformance checks of Tests/StrategyConformanceTests, applied to the example.
    @Test(.enabled(if: Python.available, "python3 is not installed: the Python example strategy cannot run"))
    func theExamplePassesTheConformanceChecks() throws {
        let h = RandomHistory.make(seed: 11, libraries: 2, versions: 4, functions: 25)
        let random = try Workload(rows: h.rows, tables: h.tables)
        let zlib = try LayoutFileTests.zlib()
        let spec = try StrategySpec.parse(Python.spec)
        for (w, what) in [(random, "random history"), (zlib, "zlib")] {
            for ps in [4096, 16384] {
                let ctx = PlacementContext(pageSize: ps)
                let a = try spec.make().place(w, context: ctx)
                let b = try spec.make().place(w, context: ctx)
                #expect(a.layouts == b.layouts, "\(what) page \(ps): not deterministic")
                #expect(LayoutCheck.problems(workload: w, layouts: a.layouts, pageSize: ps).isEmpty, "\(what) page \(ps)")
                for (i, img) in w.images.enumerated() {
                    for k in img.tables.indices {
                        #expect(!a.layouts[i].addresses[k].contains(ImageLayout.removed), "\(what): an entry of image \(i) unplaced")
                    }
                }
                for dedup in [DedupModel.ksm, .loader] {
                    let m = try Simulator.simulate(w, layouts: a.layouts, options: SimulationOptions(pageSize: ps, dedup: dedup))
                    #expect(m.lowerBoundFrames <= m.frames && m.frames <= m.totalPages, "\(what) page \(ps) \(dedup)")
                }
            }
        }
    }

    /// A folder holding the tiny inputs and `files` (name → text).
    func folder(_ files: [String: String]) throws -> URL {
        let d = try CLI.inputs(table: table, workload: workload)
        for (name, text) in files { try text.write(to: d.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return d
    }

    func compare(_ cmd: String, in d: URL, extra: [String] = []) throws -> CLI.Result {
        try CLI.run(["compare", "--tables", "t.csv", "--workload", "w.csv", "--strategies", "default,external[cmd=\(cmd)\(extra.isEmpty ? "" : ";" + extra.joined(separator: ";"))]",
                     "--no-csv", "--no-timings", "-o", "out.csv"], cwd: d)
    }

    func expectNothingWritten(_ d: URL, _ r: CLI.Result) {
        #expect(r.out.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: d.appendingPathComponent("out.csv").path), "a row was written")
        #expect(!FileManager.default.fileExists(atPath: d.appendingPathComponent("out.csv.json").path))
    }

    @Test func twoOverlappingEntriesExit65ListingTheProblem() throws {
        let layout = """
        # spacer-sim layout 1
        # strategy: broken
        # params:
        # page_size: 4096
        # removes_entries: false
        record,image,library,version,entry,name,object,kind,size,address,to,table,slot,slot_size,addend,flags
        image,i1,,,,,,,,,,,,,,
        entry,i1,lib,1,0,f1,,func,100,0x100000,,,,,,
        entry,i1,lib,1,1,f2,,func,200,0x100040,,,,,,
        region,i1,,,,code,,,4096,0x100000,,,,,,page-aligned
        image,i2,,,,,,,,,,,,,,
        entry,i2,lib,2,0,f1,,func,100,0x100000,,,,,,
        entry,i2,lib,2,1,f2,,func,300,0x100050,,,,,,
        region,i2,,,,code,,,4096,0x100000,,,,,,page-aligned

        """
        let d = try folder(["overlap.layout.csv": layout])
        let r = try compare("cat overlap.layout.csv", in: d)
        #expect(r.status == 65, "\(r.err)")
        #expect(r.err.contains("stdout of external[cmd=cat overlap.layout.csv]: expected a feasible layout, found 2 problems"), "\(r.err)")
        #expect(r.err.contains("i1") && r.err.contains("f2") && r.err.contains("overlap"), "\(r.err)")
        expectNothingWritten(d, r)
    }

    @Test func garbageOutputExits65() throws {
        let d = try folder([:])
        let r = try compare("echo garbage", in: d)
        #expect(r.status == 65, "\(r.err)")
        #expect(r.err.contains("stdout of external[cmd=echo garbage]:1: expected '# spacer-sim layout 1' as the first line"), "\(r.err)")
        expectNothingWritten(d, r)
    }

    @Test func noOutputExits65() throws {
        let d = try folder([:])
        let r = try compare("true", in: d)
        #expect(r.status == 65, "\(r.err)")
        #expect(r.err.contains("stdout of external[cmd=true]: expected a layout file"), "\(r.err)")
        #expect(r.err.contains("found no output (the command exited with status 0); its stderr was empty"), "\(r.err)")
        expectNothingWritten(d, r)
    }

    @Test func aFailingProgramExits70WithItsStatusAndStderr() throws {
        let d = try folder(["fail.sh": "echo 'reading the workload' >&2\necho 'something went wrong' >&2\nexit 3\n"])
        let r = try compare("sh fail.sh", in: d)
        #expect(r.status == 70, "\(r.err)")
        #expect(r.err.contains("command 'sh fail.sh' exited with status 3; the last lines of its stderr:\n  reading the workload\n  something went wrong"), "\(r.err)")
        expectNothingWritten(d, r)
    }

    @Test func aProgramOverItsTimeLimitIsKilledAndExits70() throws {
        let d = try folder(["slow.sh": "echo 'thinking' >&2\nsleep 30\n"])
        let start = Date()
        let r = try compare("sh slow.sh", in: d, extra: ["timeout=0.5"])
        #expect(Date().timeIntervalSince(start) < 15)
        #expect(r.status == 70, "\(r.err)")
        #expect(r.err.contains("command 'sh slow.sh' was killed after its time limit of 0.5 s; the last lines of its stderr:\n  thinking"), "\(r.err)")
        expectNothingWritten(d, r)
    }

    @Test func theInputIsTheDocumentedJSON() throws {
        let w = try Build.workload([Build.table("lib", "1", [Build.fn("f", 10, "aa01", calls: [(1, "g")]), Build.data("s", 4, "bb01")])],
                                   images: [[("lib", "1")]], instances: [3])
        let text = ExternalStrategy.inputJSON(w, context: PlacementContext(pageSize: 16384))
        let o = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(o["format"] as? String == "spacer-sim/external-input/1")
        #expect(o["page_size"] as? Int == 16384)
        let images = try #require(o["images"] as? [[String: Any]])
        #expect(images.count == 1 && images[0]["instances"] as? Int == 3 && images[0]["tables"] as? [Int] == [0])
        let tables = try #require(o["tables"] as? [[String: Any]])
        let entries = try #require(tables[0]["entries"] as? [[String: Any]])
        #expect(entries.count == 2 && entries[0]["name"] as? String == "f" && entries[1]["kind"] as? String == "rodata")
        let rel = try #require((entries[0]["relocations"] as? [[String: Any]])?.first)
        #expect(rel["target"] as? String == "g" && rel["type"] as? String == "plt32" && rel["addend"] as? Int == -4 && rel["offset"] as? Int == 1)
        let symbols = try #require(o["symbols"] as? [[String: Any]])
        #expect(symbols.contains { $0["name"] as? String == "g" && $0["external"] as? Bool == true })
    }

    @Test func anEmptyCmdRunsNoProgramAndIsDefault() throws {
        let w = try LayoutFileTests.random()
        let e = try StrategyRegistry.make("external").place(w, context: PlacementContext())
        let d = try StrategyRegistry.make("default").place(w, context: PlacementContext())
        #expect(e.layouts == d.layouts)
        #expect(throws: SpacerError.self) { try StrategySpec.parse("external[timeout=0]") }
    }
}
