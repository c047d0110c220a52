import Foundation
import Testing
import SpacerCore
import SpacerExperiments
import SpacerIO
import SpacerSimulator
import SpacerStrategies
import SpacerTestSupport

/// The layout file (docs/formats.md, "Layout file"): every registered strategy's layouts are
/// written, read back identical, and scored to the strategy's own metrics.
@Suite struct LayoutFileTests {
    static let root = CLI.root
    static let zlibTables = ["1.2.11", "1.2.13", "1.3.1", "1.3.2"].map { root.appendingPathComponent("datasets/real/zlib-\($0).csv.gz").path }
    static let zlibWorkload = root.appendingPathComponent("datasets/real/zlib-workload.csv").path

    static func random() throws -> Workload {
        let h = RandomHistory.make(seed: 7, libraries: 3, versions: 5, functions: 25)
        return try Workload(rows: h.rows, tables: h.tables)
    }

    static func zlib() throws -> Workload {
        try Harness.load(workload: zlibWorkload, tables: zlibTables).workload
    }

    /// Writes `run`'s layouts, reads them back and scores them; checks identity at each step.
    func roundTrip(_ run: RunResult, _ w: Workload, config: RunConfiguration, what: String) throws {
        let layouts = try #require(run.layouts)
        let header = run.layoutHeader(pageSize: config.pageSize, workload: "w.csv", tables: "t.csv")
        let text = LayoutFile.write(layouts, workload: w, header: header, tool: "test")
        let parsed = try LayoutFile.parse(text: text, file: "x.layout.csv")
        #expect(parsed.header == header, "\(what): header")
        let back = try LayoutFile.resolve(parsed, workload: w)
        #expect(back == layouts, "\(what): layouts read back differ")
        // Field by field too (ImageLayout's == compares redirects by content).
        for (a, b) in zip(back, layouts) {
            #expect(a.addresses == b.addresses && a.extraCopies == b.extraCopies && a.trampolines == b.trampolines && a.regions == b.regions)
            #expect(a.redirects.sorted().fields == b.redirects.sorted().fields && a.redirects.sorted().slots == b.redirects.sorted().slots)
        }
        // Writing what was read gives the same bytes.
        #expect(LayoutFile.write(back, workload: w, header: parsed.header, tool: "test") == text, "\(what): rewrite differs")
        let scored = try Harness.score(back, header: parsed.header, file: "x.layout.csv", workload: w, config: config)
        #expect(scored.metrics == run.metrics, "\(what): metrics differ")
        let ctx = ResultSchema.Context(workload: "w.csv", tables: "t.csv", config: config, seed: "", images: w.images.count,
                                       instances: w.totalInstances, timings: false, defaultTotalPages: 100, inputDigest: "d")
        #expect(ResultSchema.values(scored, ctx) == ResultSchema.values(run, ctx), "\(what): rows differ")
        #expect(scored.label == run.label)
    }

    @Test(arguments: StrategyRegistry.all.map { $0.name })
    func everyStrategyRoundTripsOnARandomHistory(name: String) throws {
        let w = try Self.random()
        for config in [RunConfiguration(timeLimit: 1), RunConfiguration(pageSize: 16384, dedup: .loader, timeLimit: 1)] {
            let run = try Harness.run(try StrategySpec(name: name), workload: w, config: config, keepLayouts: true)
            try roundTrip(run, w, config: config, what: "\(name) page \(config.pageSize)")
        }
    }

    @Test(arguments: StrategyRegistry.all.map { $0.name })
    func everyStrategyRoundTripsOnZlib(name: String) throws {
        let w = try Self.zlib()
        let config = RunConfiguration(timeLimit: 1)
        let run = try Harness.run(try StrategySpec(name: name), workload: w, config: config, keepLayouts: true)
        try roundTrip(run, w, config: config, what: "\(name) zlib")
    }

    /// Variants that exercise more of the format: Spacer-Δ's content-keyed tables and its
    /// map-used-only copies.
    @Test func spacerDeltaVariantsRoundTrip() throws {
        let w = try Self.zlib()
        let config = RunConfiguration(timeLimit: 1)
        for given in [["shared-tables": "true"], ["map-used-only": "true"]] {
            let run = try Harness.run(try StrategySpec(name: "spacer-delta", given: given), workload: w, config: config, keepLayouts: true)
            let layouts = try #require(run.layouts)
            #expect(layouts.contains { !$0.trampolines.isEmpty && !$0.redirects.isEmpty }, "spacer-delta on zlib should redirect")
            try roundTrip(run, w, config: config, what: "spacer-delta \(given)")
        }
    }

    /// Canonical function-pointer stubs (`TrampolineSlot.canonicalStub`, the slot row's
    /// `canonical-stub` flag) and the address fields redirected to them survive the round trip.
    @Test func versionSetStubsRoundTrip() throws {
        let w = try Self.zlib()
        let config = RunConfiguration(timeLimit: 1)
        let given = ["canonical-stubs": "true", "stable-function-slots": "false"]
        let run = try Harness.run(try StrategySpec(name: "version-set", given: given), workload: w, config: config, keepLayouts: true)
        let layouts = try #require(run.layouts)
        #expect(layouts.contains { $0.trampolines.contains { $0.slots.contains(where: \.canonicalStub) } }, "version-set on zlib should make a stub")
        try roundTrip(run, w, config: config, what: "version-set \(given)")
        let text = LayoutFile.write(layouts, workload: w, header: run.layoutHeader(pageSize: 4096, workload: "w", tables: "t"), tool: "test")
        #expect(text.contains(",canonical-stub\n"))
        let bad = text.replacingOccurrences(of: ",canonical-stub\n", with: ",canonical\n")
        #expect(throws: SpacerError.self) { _ = try LayoutFile.resolve(try LayoutFile.parse(text: bad, file: "x"), workload: w) }
    }

    @Test func fileSafeLabels() {
        #expect(LayoutFile.fileSafe("spacer-delta[map-used-only=true]") == "spacer-delta_map-used-only=true")
        #expect(LayoutFile.fileSafe("a[x=1;y=p/q]") == "a_x=1_y=p_q")
        #expect(LayoutFile.fileSafe("default") == "default")
    }

    // MARK: the reader refuses

    func text(_ strategy: String = "default") throws -> (String, Workload) {
        let w = try Self.random()
        let config = RunConfiguration(timeLimit: 1)
        let run = try Harness.run(try StrategySpec(name: strategy), workload: w, config: config, keepLayouts: true)
        return (LayoutFile.write(run.layouts!, workload: w, header: run.layoutHeader(pageSize: 4096, workload: "", tables: "")), w)
    }

    func dataError(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch let e as SpacerError {
            return e.exitCode == 65 ? e.description : "exit \(e.exitCode): \(e)"
        } catch { return "\(error)" }
    }

    @Test func malformedFilesNameFileAndLine() throws {
        let (t, w) = try text()
        let lines = t.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func read(_ s: String) -> String? { dataError { _ = try LayoutFile.resolve(try LayoutFile.parse(text: s, file: "l.csv"), workload: w) } }
        // Not a layout file, another version.
        #expect(read("image,library\n")?.hasPrefix("l.csv:1: expected '# spacer-sim layout 1'") == true)
        #expect(read(t.replacingOccurrences(of: "# spacer-sim layout 1", with: "# spacer-sim layout 2"))?.contains("version 1") == true)
        // Truncated at a line: the last image lacks entries (or images are missing).
        let cut = lines.prefix(lines.count * 2 / 3).joined(separator: "\n") + "\n"
        let e1 = read(cut)
        #expect(e1?.hasPrefix("l.csv:") == true && e1?.contains("expected") == true, "\(e1 ?? "accepted")")
        // Truncated inside a line: too few fields.
        let mid = lines.prefix(lines.count / 2).joined(separator: "\n") + "\n" + lines[lines.count / 2].prefix(12)
        let e2 = read(String(mid))
        #expect(e2?.contains("l.csv:\(lines.count / 2 + 1): expected 16 fields") == true, "\(e2 ?? "accepted")")
        // A bad address names line and field (address is field 10).
        let n = lines.firstIndex { $0.hasPrefix("entry,") }!
        var bad = lines; bad[n] = bad[n].replacingOccurrences(of: ",0x", with: ",zz")
        let e3 = read(bad.joined(separator: "\n"))
        #expect(e3?.contains("l.csv:\(n + 1):10: expected an address in hexadecimal") == true, "\(e3 ?? "accepted")")
        // A missing header key, an unknown record.
        #expect(read(lines.filter { !$0.hasPrefix("# page_size") }.joined(separator: "\n"))?.contains("page_size") == true)
        var rec = lines; rec[n] = "entree" + rec[n].dropFirst(5)
        #expect(read(rec.joined(separator: "\n"))?.contains("expected a record of image, entry") == true)
        // A duplicated entry row.
        var dup = lines; dup.insert(lines[n], at: n + 1)
        #expect(read(dup.joined(separator: "\n"))?.contains("each entry of image img0 once") == true)
    }

    @Test func aLayoutForAnotherWorkloadIsRefused() throws {
        let (t, _) = try text()
        let h = RandomHistory.make(seed: 8, libraries: 3, versions: 5, functions: 25)
        let other = try Workload(rows: h.rows, tables: h.tables)
        let e = dataError { _ = try LayoutFile.resolve(try LayoutFile.parse(text: t, file: "l.csv"), workload: other) }
        #expect(e?.contains("the layout is for other tables or another workload") == true || e?.contains("l.csv:") == true, "\(e ?? "accepted")")
        #expect(e != nil)
        // Same images, libraries and versions, but entry 1 has another name.
        let a = Build.table("lib", "1", [Build.fn("f1", 100, "aa01"), Build.fn("f2", 200, "aa02")])
        let b = Build.table("lib", "1", [Build.fn("f1", 100, "aa01"), Build.fn("g2", 200, "aa02")])
        let wa = try Build.workload([a], images: [[("lib", "1")]]), wb = try Build.workload([b], images: [[("lib", "1")]])
        let run = try Harness.run(try StrategySpec(name: "default"), workload: wa, config: RunConfiguration(), keepLayouts: true)
        let la = LayoutFile.write(run.layouts!, workload: wa, header: run.layoutHeader(pageSize: 4096, workload: "", tables: ""))
        let e2 = dataError { _ = try LayoutFile.resolve(try LayoutFile.parse(text: la, file: "l.csv"), workload: wb) }
        #expect(e2?.contains("expected entry 1 of lib 1 to be g2 (object 'o.o', kind func): the layout is for other tables or another workload, found f2") == true, "\(e2 ?? "accepted")")
        #expect(e2?.hasPrefix("l.csv:") == true)
    }

    @Test func overlappingEntriesAreListedAsProblems() throws {
        let (t, w) = try text()
        var lines = t.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // Give the second entry row of img0 the address of the first.
        let rows = lines.indices.filter { lines[$0].hasPrefix("entry,img0,") }
        let a0 = lines[rows[0]].split(separator: ",")[9]
        var f = lines[rows[1]].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        f[9] = String(a0)
        lines[rows[1]] = f.joined(separator: ",")
        let p = try LayoutFile.parse(text: lines.joined(separator: "\n"), file: "l.csv")
        let layouts = try LayoutFile.resolve(p, workload: w)
        let e = dataError { _ = try Harness.score(layouts, header: p.header, file: "l.csv", workload: w, config: RunConfiguration()) }
        #expect(e?.contains("l.csv: expected a feasible layout") == true && e?.contains("image img0:") == true && e?.contains("overlap") == true, "\(e ?? "accepted")")
    }
}

/// `place --layout-out`, `compare --layouts-out` and `score --layout` through the binary.
@Suite(.serialized) struct LayoutCLITests {
    static let tables = ["1.2.11", "1.2.13", "1.3.1", "1.3.2"].map { "datasets/real/zlib-\($0).csv.gz" }
    static let common = ["--workload", "datasets/real/zlib-workload.csv", "--tables"] + tables + ["--time-limit", "0"]

    func rows(_ csv: String) -> [String: String] {
        var out: [String: String] = [:]
        for l in csv.split(separator: "\n").dropFirst() { out[String(l.prefix { $0 != "," })] = String(l) }
        return out
    }

    @Test func placeThenScoreGivesComparesRow() throws {
        let d = try CLI.tempDir()
        let strategies = StrategyRegistry.all.map { $0.name }
        let c = try CLI.run(["compare"] + Self.common + ["--strategies", strategies.joined(separator: ","), "--no-timings", "--format", "csv", "--no-csv"], cwd: CLI.root)
        #expect(c.status == 0, "\(c.err)")
        let expected = rows(c.out)
        let header = c.out.split(separator: "\n").first.map(String.init)
        for s in strategies {
            let file = d.appendingPathComponent("\(s).layout.csv").path
            let p = try CLI.run(["place", "--strategy", s] + Self.common + ["--layout-out", file], cwd: CLI.root)
            #expect(p.status == 0, "\(s): \(p.err)")
            let r = try CLI.run(["score", "--layout", file, "--tables"] + Self.tables + ["--workload", "datasets/real/zlib-workload.csv", "--format", "csv"], cwd: CLI.root)
            #expect(r.status == 0, "\(s): \(r.err)")
            #expect(r.out.split(separator: "\n").first.map(String.init) == header)
            #expect(rows(r.out)[s] == expected[s], "\(s): score's row differs from compare's")
            // Without --tables and --workload: those the file records.
            let r2 = try CLI.run(["score", "--layout", file, "--format", "csv"], cwd: CLI.root)
            #expect(rows(r2.out)[s] == expected[s], "\(s): \(r2.err)")
        }
    }

    @Test func compareWritesOneLayoutPerRun() throws {
        let d = try CLI.tempDir()
        let dir = d.appendingPathComponent("layouts").path
        let c = try CLI.run(["compare"] + Self.common + ["--strategies", "default,spacer-delta[map-used-only=true]", "--no-timings",
                                                        "--format", "csv", "--no-csv", "--layouts-out", dir], cwd: CLI.root)
        #expect(c.status == 0, "\(c.err)")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(names == ["default.layout.csv", "spacer-delta_map-used-only=true.layout.csv"])
        let r = try CLI.run(["score", "--layout", dir + "/spacer-delta_map-used-only=true.layout.csv", "--format", "csv", "--time-limit", "0"], cwd: CLI.root)
        #expect(r.status == 0, "\(r.err)")
        #expect(rows(r.out)["spacer-delta"] == rows(c.out)["spacer-delta"])
    }

    @Test func hostileLayoutsExit65() throws {
        let d = try CLI.tempDir()
        let file = d.appendingPathComponent("d.layout.csv").path
        let p = try CLI.run(["place", "--strategy", "default"] + Self.common + ["--layout-out", file], cwd: CLI.root)
        #expect(p.status == 0, "\(p.err)")
        let text = try String(contentsOfFile: file, encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // Overlap: the second entry at the first one's address.
        let rows = lines.indices.filter { lines[$0].hasPrefix("entry,zlib-1.2.11,") }
        let f0 = lines[rows[0]].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        var f1 = lines[rows[1]].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        f1[9] = f0[9]
        lines[rows[1]] = f1.joined(separator: ",")
        var f2 = lines[rows[2]].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        f2[9] = "0x3"                        // and a misaligned one outside every region
        lines[rows[2]] = f2.joined(separator: ",")
        let bad = d.appendingPathComponent("overlap.layout.csv").path
        try lines.joined(separator: "\n").write(toFile: bad, atomically: true, encoding: .utf8)
        let o = try CLI.run(["score", "--layout", bad], cwd: CLI.root)
        #expect(o.status == 65, "\(o.err)")
        #expect(o.err.contains("overlap.layout.csv: expected a feasible layout") && o.err.contains("image zlib-1.2.11:") && o.err.contains("breaks its alignment") && o.err.contains("overlap at"), "\(o.err)")
        // Truncated in the middle of a row.
        let cut = d.appendingPathComponent("cut.layout.csv").path
        try String(text.prefix(text.count / 2)).write(toFile: cut, atomically: true, encoding: .utf8)
        let t = try CLI.run(["score", "--layout", cut], cwd: CLI.root)
        #expect(t.status == 65 && t.err.contains("cut.layout.csv:"), "\(t.err)")
        // Another workload: the zlib layout scored against the lua tables.
        let l = try CLI.run(["score", "--layout", file, "--workload", "datasets/real/lua-workload.csv", "--tables", "datasets/real"], cwd: CLI.root)
        #expect(l.status == 65 && l.err.contains("d.layout.csv:"), "\(l.err)")
        // Not a layout file at all.
        let w = try CLI.run(["score", "--layout", "datasets/real/zlib-workload.csv"], cwd: CLI.root)
        #expect(w.status == 65 && w.err.contains("zlib-workload.csv:1: expected '# spacer-sim layout 1'"), "\(w.err)")
    }
}
