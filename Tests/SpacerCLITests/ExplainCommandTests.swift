import Foundation
import Testing

/// `spacer-sim explain` as a user runs it: the CSV's shape and values, the sidecar, the table,
/// and the exit statuses of compare's options.
@Suite(.serialized) struct ExplainCommandTests {
    // lib 1 = f1 (100 B) + f2 (200 B), lib 2 = f1 + f2' (300 B): default puts each image's two
    // functions in one page; the pages differ (2 frames), bound ⌈600 / 4096⌉ = 1. No key step
    // merges the two pages; their 700 content bytes fit ⌈700 / 4096⌉ = 1 frame: padding = 1.
    let table = "library,version,name,size,align,hash\nlib,1,f1,100,16,aa01\nlib,1,f2,200,16,aa02\nlib,2,f1,100,16,aa01\nlib,2,f2,300,16,bb02\n"
    let workload = "image,library,version\ni1,lib,1\ni2,lib,2\n"
    static let causes = ["ksm-cap", "writable", "trampoline-tables", "address-divergence", "call-divergence", "data-divergence",
                         "identity-duplication", "image-set-boundary", "padding"]

    @Test func csvRowsPerCauseSumToFramesAboveTheBound() throws {
        let d = try CLI.inputs(table: table, workload: workload)
        let r = try CLI.run(["explain", "--tables", "t.csv", "--workload", "w.csv", "--strategies", "default,spacer-delta", "--format", "csv"], cwd: d)
        #expect(r.status == 0, "\(r.err)")
        let lines = r.out.split(separator: "\n").map(String.init)
        #expect(lines[0] == "strategy,params,workload,tables,images,instances,page_size,dedup,max_page_sharing,xrefs,seed,cause,frames,pages,strategy_frames,lower_bound_frames,total_pages,tool_version,tool_commit,input_digest")
        #expect(lines.count == 1 + 2 * Self.causes.count)
        let rows = lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.prefix(9).map { $0[11] } == Self.causes)
        #expect(rows[8].prefix(17).joined(separator: ",") == "default,,w.csv,t.csv,2,2,4096,ksm,256,resolve,,padding,1,,2,1,2")
        #expect(rows.prefix(8).allSatisfy { $0[12] == "0" })
        // Every strategy's causes sum to strategy_frames − lower_bound_frames.
        for s in ["default", "spacer-delta"] {
            let mine = rows.filter { $0[0] == s }
            #expect(mine.count == 9)
            #expect(mine.reduce(0) { $0 + Int($1[12])! } == Int(mine[0][14])! - Int(mine[0][15])!)
            #expect(mine.allSatisfy { $0[18].count > 0 && $0[19].count == 64 })
        }
    }

    @Test func fileWithSidecarAndTable() throws {
        let d = try CLI.inputs(table: table, workload: workload)
        let r = try CLI.run(["explain", "--tables", "t.csv", "--workload", "w.csv", "--strategies", "default", "-o", "out/e.csv"], cwd: d)
        #expect(r.status == 0 && r.out.isEmpty, "\(r.err)")
        let file = try String(contentsOf: d.appendingPathComponent("out/e.csv"), encoding: .utf8)
        #expect(file.hasPrefix("strategy,params,workload") && file.split(separator: "\n").count == 10)
        let meta = try String(contentsOf: d.appendingPathComponent("out/e.csv.json"), encoding: .utf8)
        #expect(meta.contains("\"explain\"") && meta.range(of: #""rows" ?: ?9[,\n]"#, options: .regularExpression) != nil)
        let t = try CLI.run(["explain", "--tables", "t.csv", "--workload", "w.csv", "--strategies", "default"], cwd: d)
        #expect(t.status == 0)
        let lines = t.out.split(separator: "\n").map(String.init)
        #expect(lines[1].hasPrefix("strategy") && lines[1].contains("above") && lines[1].contains("boundary") && lines[1].contains("padding"))
        // default: 2 frames, bound 1, 1 above: all of it padding (the last cause column).
        let cells = lines[3].split(separator: " ").map(String.init)
        #expect(cells == ["default", "2", "1", "1", "0", "0", "0", "0", "0", "0", "0", "0", "1", "1.00"])
        // --chain: every step's frames/bound: 2 frames through the key steps, 1 once fill is gone.
        let c = try CLI.run(["explain", "--tables", "t.csv", "--workload", "w.csv", "--strategies", "default", "--chain"], cwd: d)
        let chain = c.out.split(separator: "\n").map(String.init).first { $0.hasPrefix("default") && $0.contains("/") }
        #expect(chain?.split(separator: " ").map(String.init) == ["default", "2/1", "2/1", "2/1", "2/1", "2/1", "2/1", "2/1", "2/1", "1/1", "1/1", "1/1"])
        #expect(c.out.contains("steps (frames/bound): 0 layout, 1 no ksm cap"))
    }

    @Test func jsonHasTheCSVColumnsWithNumbersUnquoted() throws {
        let d = try CLI.inputs(table: table, workload: workload)
        let r = try CLI.run(["explain", "--tables", "t.csv", "--workload", "w.csv", "--strategies", "default", "--format", "json"], cwd: d)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.hasPrefix("[\n  {\n    \"strategy\": \"default\""))
        #expect(r.out.contains("\"cause\": \"padding\",\n    \"frames\": 1,\n    \"pages\": \"\",\n    \"strategy_frames\": 2,\n    \"lower_bound_frames\": 1"))
        #expect(r.out.components(separatedBy: "\"cause\":").count == 1 + Self.causes.count)
    }

    @Test func exitStatuses() throws {
        let d = try CLI.inputs(table: table, workload: workload)
        let bad = try CLI.run(["explain", "--tables", "t.csv", "--workload", "w.csv", "--strategies", "nope"], cwd: d)
        #expect(bad.status == 64 && bad.err.contains("registered: default"))
        let page = try CLI.run(["explain", "--tables", "t.csv", "--workload", "w.csv", "--page-size", "1000"], cwd: d)
        #expect(page.status == 64)
        let param = try CLI.run(["explain", "--tables", "t.csv", "--workload", "w.csv", "--param", "nothing=1"], cwd: d)
        #expect(param.status == 64)
        let missing = try CLI.run(["explain", "--tables", "absent.csv", "--workload", "w.csv"], cwd: d)
        #expect(missing.status == 66)
        try "library,version,name,size,align,hash\nlib,1,f1,-5,16,aa01\n".write(to: d.appendingPathComponent("bad.csv"), atomically: true, encoding: .utf8)
        let data = try CLI.run(["explain", "--tables", "bad.csv", "--workload", "w.csv"], cwd: d)
        #expect(data.status == 65 && data.err.contains("bad.csv"))
        try FileManager.default.createDirectory(at: d.appendingPathComponent("dir.csv"), withIntermediateDirectories: true)
        let out = try CLI.run(["explain", "--tables", "t.csv", "--workload", "w.csv", "-o", "dir.csv"], cwd: d)
        #expect(out.status == 73)
    }
}
