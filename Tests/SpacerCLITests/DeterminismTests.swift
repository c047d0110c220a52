import Foundation
import Testing
import SpacerCore
import SpacerIO
import SpacerStrategies
import SpacerTestSupport

/// Same inputs and seed, byte-identical outputs whatever the thread count (docs/design.md §9, issue 6
/// item 5). `compare --jobs` is the only command that runs threads; each run here is a separate
/// process, so Swift's per-process hash seed differs between runs too.
@Suite(.serialized) struct DeterminismTests {
    /// Every registered strategy on seeded random version histories (3 libraries × 5 versions,
    /// edits, renames, reverts, calls and data): stdout in every format and the written CSV are
    /// identical for --jobs 1, 2, 4 and 7.
    @Test(arguments: [UInt64(3), 11])
    func randomHistoriesAcrossThreadCounts(seed: UInt64) throws {
        var h = RandomHistory.make(seed: seed, libraries: 3, versions: 5, functions: 40)
        // The builder's hashes are labels ("h0_1_0"); a table file holds hex (issue 11): the hex
        // of the label's bytes, one-to-one, so that equal bodies stay equal.
        for t in h.tables.indices {
            for e in h.tables[t].entries.indices {
                h.tables[t].entries[e].hash = h.tables[t].entries[e].hash.utf8.map { String(format: "%02x", $0) }.joined()
            }
        }
        let d = try CLI.tempDir()
        try TableCSV.render(h.tables).write(to: d.appendingPathComponent("t.csv"), atomically: true, encoding: .utf8)
        let workload = "image,library,version,instances\n" + h.rows.map { "\($0.image),\($0.library),\($0.version),\($0.instances)" }.joined(separator: "\n") + "\n"
        try workload.write(to: d.appendingPathComponent("w.csv"), atomically: true, encoding: .utf8)
        for format in ["csv", "json", "table"] {
            var outputs: [String] = [], files: [Data] = []
            for jobs in [1, 2, 4, 7] {
                let r = try CLI.run(["compare", "--tables", "t.csv", "--workload", "w.csv", "--no-timings",
                                     "--format", format, "--jobs", "\(jobs)", "--csv", "out-\(jobs).csv"], cwd: d)
                #expect(r.status == 0, "\(r.err)")
                outputs.append(r.out)
                files.append(try Data(contentsOf: d.appendingPathComponent("out-\(jobs).csv")))
            }
            #expect(Set(outputs).count == 1, "\(format): stdout differs between thread counts")
            #expect(Set(files).count == 1, "\(format): the written CSV differs between thread counts")
            // Every registered strategy ran (one header line plus one row each, for csv).
            if format == "csv" { #expect(outputs[0].split(separator: "\n").count == 1 + StrategyRegistry.defaultRun.count) }
        }
    }

    /// The committed real Lua and zlib workloads: identical CSV for --jobs 1 and 3.
    @Test(arguments: ["lua", "zlib"])
    func realWorkloadsAcrossThreadCounts(_ name: String) throws {
        let real = CLI.root.appendingPathComponent("datasets/real")
        let workload = real.appendingPathComponent("\(name)-workload.csv").path
        guard FileManager.default.fileExists(atPath: workload) else { return }
        let outs = try [1, 3].map { jobs in
            try CLI.run(["compare", "--tables", real.path, "--workload", workload, "--no-timings", "--no-csv",
                         "--format", "csv", "--jobs", "\(jobs)"])
        }
        #expect(outs.allSatisfy { $0.status == 0 }, "\(outs.map(\.err))")
        #expect(outs[0].out == outs[1].out)
        #expect(outs[0].out.split(separator: "\n").count == 1 + StrategyRegistry.defaultRun.count)
    }
}
