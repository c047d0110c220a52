import Foundation
import Testing
import SpacerCore
import SpacerIO
@testable import SpacerExperiments

/// Issue 10: results a paper can cite. Provenance names the tool's own build, never the folder
/// the tool runs in; sweeps resume only current rows; merge refuses an incomplete set of shards;
/// every command that writes results takes -o and --format.
@Suite(.serialized) struct ProvenanceTests {
    let table = "library,version,name,size,align,hash\nlib,1,f1,100,16,aa01\nlib,1,f2,200,16,aa02\nlib,2,f1,100,16,aa01\nlib,2,f2,300,16,bb02\n"
    let workload = "image,library,version\ni1,lib,1\ni2,lib,2\n"

    func inputs() throws -> URL { try CLI.inputs(table: table, workload: workload) }

    func sh(_ command: String, cwd: URL) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        p.currentDirectoryURL = cwd
        let o = Pipe()
        p.standardOutput = o
        p.standardError = FileHandle.nullDevice
        try p.run()
        let out = o.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func rows(_ csv: String) -> [[String: String]] {
        let lines = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        return lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(lines[0], $0)) }
    }

    /// Acceptance 1: from another git repository's folder, the CSV and the sidecar carry the
    /// build's commit (`Tool.commitLabel`, embedded by the build plugin), not that repository's;
    /// the sidecar lists the sha256 of every input, equal to `sha256sum`'s.
    @Test func provenanceNamesTheToolsBuildNotTheCwd() throws {
        let d = try inputs()
        let repo = try sh("git init -q . && git -c user.email=a@b -c user.name=t commit -q --allow-empty -m x && git rev-parse HEAD", cwd: d)
        #expect(repo.count == 40)
        let r = try CLI.run(["compare", "--tables", "t.csv", "--workload", "w.csv", "--strategies", "default", "-o", "r.csv"], cwd: d)
        #expect(r.status == 0, "\(r.err)")
        let row = try #require(rows(try String(contentsOf: d.appendingPathComponent("r.csv"), encoding: .utf8)).first)
        #expect(row["tool_commit"] == Tool.commitLabel)
        #expect(Tool.commit == "unknown" || Tool.commit.count == 40)
        #expect(!(row["tool_commit"] ?? "").hasPrefix(String(repo.prefix(12))))
        let meta = try Provenance.read(d.appendingPathComponent("r.csv.json").path)
        #expect(meta.tool.commit == Tool.commit && meta.tool.dirty == Tool.dirty)
        for f in ["w.csv", "t.csv"] {
            let sum = try sh("sha256sum \(f) | cut -d' ' -f1", cwd: d)
            #expect(meta.inputs.contains { $0.path == f && $0.sha256 == sum }, "\(f)")
        }
        #expect(row["input_digest"] == meta.inputDigest)
        let out = try sh("sha256sum r.csv | cut -d' ' -f1", cwd: d)
        #expect(meta.outputs.first?.sha256 == out)
        #expect(meta.options["page_size"] == "4096" && meta.options["dedup"] == "ksm")
    }

    /// Acceptance 2, first half: editing an input table makes the same sweep recompute the
    /// rows of that input and say how many were stale; unchanged inputs are skipped.
    @Test func editedInputMakesRowsStale() throws {
        let d = try inputs()
        let args = ["sweep", "--tables", "t.csv", "--workload", "w.csv", "--strategies", "default,spacer-delta", "--no-timings", "-o", "s.csv"]
        let first = try CLI.run(args, cwd: d)
        #expect(first.status == 0 && first.err.contains("2 runs done (0 of them stale"), "\(first.err)")
        let again = try CLI.run(args, cwd: d)
        #expect(again.err.contains("0 runs done") && again.err.contains("2 current rows kept"), "\(again.err)")
        let before = rows(try String(contentsOf: d.appendingPathComponent("s.csv"), encoding: .utf8))
        // f2 of version 2 grows from 300 to 9000 bytes: more pages.
        try table.replacingOccurrences(of: "lib,2,f2,300,16,bb02", with: "lib,2,f2,9000,16,bb02")
            .write(to: d.appendingPathComponent("t.csv"), atomically: true, encoding: .utf8)
        let edited = try CLI.run(args, cwd: d)
        #expect(edited.status == 0 && edited.err.contains("2 runs done (2 of them stale"), "\(edited.err)")
        let after = rows(try String(contentsOf: d.appendingPathComponent("s.csv"), encoding: .utf8))
        #expect(after.count == 2)
        #expect(after[0]["input_digest"] != before[0]["input_digest"])
        #expect(Int(after[0]["total_pages"]!)! > Int(before[0]["total_pages"]!)!)
    }

    /// Acceptance 2, second half: 3 of 4 shards → exit 65 naming shard 4/4; all 4 merge; with
    /// --allow-partial the 3 merge with a warning.
    @Test func mergeRefusesAnIncompleteSetOfShards() throws {
        let d = try inputs()
        let grid = ["sweep", "--presets", "small", "--versions", "2..5", "--strategies", "default", "--no-timings"]
        for i in 1...4 {
            let r = try CLI.run(grid + ["--shard", "\(i)/4", "-o", "shard-\(i).csv"], cwd: d)
            #expect(r.status == 0, "\(r.err)")
        }
        let three = try CLI.run(["merge", "shard-1.csv", "shard-2.csv", "shard-3.csv", "-o", "m.csv"], cwd: d)
        #expect(three.status == 65 && three.err.contains("shard 4/4"), "\(three.err)")
        #expect(!FileManager.default.fileExists(atPath: d.appendingPathComponent("m.csv").path))
        let all = try CLI.run(["merge", "shard-1.csv", "shard-2.csv", "shard-3.csv", "shard-4.csv", "-o", "m.csv"], cwd: d)
        #expect(all.status == 0, "\(all.err)")
        let one = try CLI.run(grid + ["-o", "one.csv"], cwd: d)
        #expect(one.status == 0)
        #expect(try Data(contentsOf: d.appendingPathComponent("m.csv")) == Data(contentsOf: d.appendingPathComponent("one.csv")))
        let partial = try CLI.run(["merge", "shard-1.csv", "shard-2.csv", "shard-3.csv", "-o", "p.csv", "--allow-partial"], cwd: d)
        #expect(partial.status == 0 && partial.err.contains("WARNING") && partial.err.contains("shard 4/4"))
        // A shard whose CSV lost a row (a cell of a present shard): named too.
        let lines = try String(contentsOf: d.appendingPathComponent("shard-2.csv"), encoding: .utf8).split(separator: "\n")
        try (lines.dropLast().joined(separator: "\n") + "\n").write(to: d.appendingPathComponent("shard-2.csv"), atomically: true, encoding: .utf8)
        let lost = try CLI.run(["merge", "shard-1.csv", "shard-2.csv", "shard-3.csv", "shard-4.csv", "-o", "m2.csv"], cwd: d)
        #expect(lost.status == 65 && lost.err.contains("cell of shard 2/4"), "\(lost.err)")
    }

    /// Acceptance 4: `extract --library x --version 1` with no files is a usage error, and -o
    /// with --format works on compare, sweep, generate, merge, extract and measure.
    @Test func oneOutputConvention() throws {
        let d = try inputs()
        let usage = try CLI.run(["extract", "--library", "x", "--version", "1"], cwd: d)
        #expect(usage.status == 64 && usage.err.contains("give the objects"), "\(usage.err)")
        #expect(try CLI.run(["--version"], cwd: d).out.hasPrefix("spacer-sim \(Tool.version)"))
        let typo = try CLI.run(["comapre"], cwd: d)
        #expect(typo.status == 64 && typo.err.contains("did you mean 'compare'") || typo.err.contains("Did you mean 'compare'"))
        let strategyTypo = try CLI.run(["compare", "--tables", "t.csv", "--workload", "w.csv", "--strategies", "spacer-detla"], cwd: d)
        #expect(strategyTypo.status == 64 && strategyTypo.err.contains("did you mean 'spacer-delta'"), "\(strategyTypo.err)")

        func check(_ args: [String], _ out: String, json: Bool) throws {
            let r = try CLI.run(args + ["-o", out, "--format", json ? "json" : "csv"], cwd: d)
            #expect(r.status == 0, "\(args): \(r.err)")
            let text = try String(contentsOf: d.appendingPathComponent(out), encoding: .utf8)
            if json { #expect(text.hasPrefix("[") && (try? JSONSerialization.jsonObject(with: Data(text.utf8))) != nil, "\(args)") }
            #expect(FileManager.default.fileExists(atPath: d.appendingPathComponent(out + ".json").path), "\(args): no sidecar")
        }
        try check(["compare", "--tables", "t.csv", "--workload", "w.csv", "--strategies", "default"], "c.json", json: true)
        try check(["compare", "--tables", "t.csv", "--workload", "w.csv", "--strategies", "default"], "c.csv", json: false)
        try check(["sweep", "--tables", "t.csv", "--workload", "w.csv", "--strategies", "default"], "s.csv", json: false)
        try check(["merge", "s.csv"], "m.csv", json: false)
        // generate: -o is the prefix, --format the manifest on stdout.
        let g = try CLI.run(["generate", "--preset", "small", "-o", "gen/small", "--format", "json"], cwd: d)
        #expect(g.status == 0 && g.out.contains("\"kind\": \"tables\""), "\(g.err)")
        #expect(FileManager.default.fileExists(atPath: d.appendingPathComponent("gen/small.json").path))
        // extract and measure on a real object and executable.
        try "int a(int x){return x+1;}\nint main(void){return a(1);}\n".write(to: d.appendingPathComponent("m.c"), atomically: true, encoding: .utf8)
        _ = try sh("gcc -O2 -ffunction-sections -c m.c -o m.o && gcc -static -o m.elf m.o", cwd: d)
        guard FileManager.default.fileExists(atPath: d.appendingPathComponent("m.elf").path) else {
            Issue.record("gcc could not build the test objects"); return
        }
        try check(["extract", "--library", "m", "--library-version", "1", "m.o"], "e.json", json: true)
        try check(["extract", "--library", "m", "--library-version", "1", "m.o"], "e.csv", json: false)
        try check(["measure", "m.elf"], "me.json", json: true)
        try check(["measure", "m.elf"], "me.csv", json: false)
        // Old spellings stay for one release.
        #expect(try CLI.run(["extract", "--library", "m", "--version", "1", "m.o", "--output", "old.csv"], cwd: d).status == 0)
        #expect(try CLI.run(["measure", "--csv", "m.elf"], cwd: d).out.hasPrefix("class,images,page_size"))
    }

    /// Issue 10 item 5: an unexpected (non-SpacerError) failure exits 70, never 1; a page size
    /// outside 4096…2^30 and a non-finite time limit are usage errors (64) in compare and place.
    @Test func exitStatusesOfTheRunOptions() throws {
        let d = try inputs()
        for bad in [["--page-size", "2048"], ["--page-size", "2147483648"], ["--time-limit", "inf"], ["--time-limit", "1e16"],
                    ["--max-page-sharing", "1"], ["--max-page-sharing", "9223372036854775807"]] {
            let c = try CLI.run(["compare", "--tables", "t.csv", "--workload", "w.csv", "--strategies", "default"] + bad, cwd: d)
            #expect(c.status == 64, "compare \(bad): \(c.status) \(c.err)")
            let p = try CLI.run(["place", "--tables", "t.csv", "--workload", "w.csv", "--strategy", "default"] + bad, cwd: d)
            #expect(p.status == 64, "place \(bad): \(p.status) \(p.err)")
        }
        let dup = try CLI.run(["compare", "--tables", "t.csv", "--workload", "w.csv", "--strategies", "spacer-delta[slot-size=8;slot-size=16]"], cwd: d)
        #expect(dup.status == 64 && dup.err.contains("given twice"), "\(dup.err)")
        let neg = try CLI.run(["compare", "--tables", "t.csv", "--workload", "w.csv", "--strategies", "bin-packing[max-items=-1]"], cwd: d)
        #expect(neg.status == 64 && neg.err.contains("must be from 0"), "\(neg.err)")
        let twice = try CLI.run(["compare", "--tables", "t.csv", "--workload", "w.csv", "--strategies", "default,default"], cwd: d)
        #expect(twice.status == 64 && twice.err.contains("listed twice"), "\(twice.err)")
        // place accepts compare's run options and reports them.
        let p = try CLI.run(["place", "--tables", "t.csv", "--workload", "w.csv", "--strategy", "default", "--dedup", "loader", "--xrefs", "ignore"], cwd: d)
        #expect(p.status == 0 && p.out.contains("loader") && p.out.contains("ignore (upper bound)"), "\(p.err)")
    }

    /// Item 6: every document the README and `--help` cite is in the repository, and the README
    /// stays under 10 KB.
    @Test func citedDocumentsExist() throws {
        let readme = try String(contentsOf: CLI.root.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.utf8.count < 10_240)
        var cited = Set<String>()
        let link = try Regex(#"\]\(([^)#\s]+)"#)
        for m in readme.matches(of: link) { if let s = m.output[1].substring { cited.insert(String(s)) } }
        var help = ""
        for c in ["", "compare", "sweep", "merge", "extract", "measure", "generate", "place", "strategies"] {
            help += try CLI.run(c.isEmpty ? ["--help"] : [c, "--help"]).out
        }
        for m in help.matches(of: try Regex(#"docs/[a-z-]+\.md"#)) { cited.insert(String(help[m.range])) }
        #expect(cited.contains("docs/design.md"))
        for path in cited where !path.hasPrefix("http") {
            #expect(FileManager.default.fileExists(atPath: CLI.root.appendingPathComponent(path).path), "cited but missing: \(path)")
        }
        #expect(!readme.contains("../shared") && !help.contains("DESIGN.md") && !help.contains("../shared"))
    }
}
