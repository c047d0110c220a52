import Foundation
import Testing
import SpacerCore
import SpacerIO
import SpacerSynth
@testable import SpacerExperiments
@testable import SpacerCLI

/// `sweep` and `merge`: resumable, shardable, thread-count independent, and the ideal-sharing
/// columns agree with the ground truth.
@Suite struct SweepTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// small preset × versions 2..4 × two change rates × two seeds = 12 datasets, × 6 strategies
    /// = 72 runs.
    static func grid() throws -> SweepGrid {
        var g = SweepGrid(sources: [.preset(.small)],
                          strategies: try StrategySpec.parseList("default,dce,library-aligned,per-occurrence,function-per-page,spacer-delta"))
        g.versions = [2, 3, 4]; g.changeRates = [0.1, 0.3]; g.seeds = [1, 2]
        return g
    }

    func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("sweep-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    func sweep(_ out: URL, shard: (Int, Int) = (1, 1), maxRuns: Int? = nil, jobs: Int = 1) throws -> SweepRunner.Summary {
        let r = SweepRunner(grid: try Self.grid(), output: out.path)
        r.shard = shard; r.maxRuns = maxRuns; r.jobs = jobs; r.timings = false
        return try r.run()
    }

    @Test func interruptedAndResumedEqualsOneRun() throws {
        let d = try tempDir()
        defer { try? FileManager.default.removeItem(at: d) }
        let whole = d.appendingPathComponent("whole.csv"), parts = d.appendingPathComponent("parts.csv")
        let w = try sweep(whole)
        #expect(w.ran == 72 && w.rows == 72)
        // Stopped after 7 runs (as a killed job would be after its last write): whole rows only.
        let first = try sweep(parts, maxRuns: 7)
        #expect(first.ran == 7 && first.remaining == 65)
        let partial = try String(contentsOf: parts, encoding: .utf8)
        #expect(partial.split(separator: "\n").count == 8 && partial.hasSuffix("\n"))
        #expect(try SweepTable.read(parts.path).rows.count == 7)
        // Resumed twice more: the first 7 runs are skipped, not redone.
        let second = try sweep(parts, maxRuns: 30)
        #expect(second.skipped == 7 && second.ran == 30)
        let third = try sweep(parts)
        #expect(third.skipped == 37 && third.ran == 35 && third.rows == 72)
        #expect(try String(contentsOf: parts, encoding: .utf8) == String(contentsOf: whole, encoding: .utf8))
        // Nothing left: a fourth run does nothing and leaves the bytes.
        #expect(try sweep(parts).ran == 0)
        #expect(try String(contentsOf: parts, encoding: .utf8) == String(contentsOf: whole, encoding: .utf8))
    }

    @Test func mergedShardsEqualTheUnshardedRun() throws {
        let d = try tempDir()
        defer { try? FileManager.default.removeItem(at: d) }
        let whole = d.appendingPathComponent("whole.csv")
        _ = try sweep(whole)
        var files: [SweepTable.File] = []
        var total = 0
        for i in 1...3 {
            let f = d.appendingPathComponent("shard-\(i).csv")
            let s = try sweep(f, shard: (i, 3))
            #expect(s.ran == 24)                    // 72 runs, every third
            total += s.ran
            files.append(try SweepTable.read(f.path))
        }
        #expect(total == 72)
        // Merged in any order, with a shard given twice: the unsharded bytes, duplicates counted.
        let m = SweepTable.merge([files[2], files[0], files[1], files[0]])
        #expect(m.rows.count == 72 && m.duplicates == 24 && m.conflicts == 0)
        #expect(SweepTable.render(m.rows) == (try String(contentsOf: whole, encoding: .utf8)))
    }

    @Test func shardsSplitDatasetsOrRuns() throws {
        // 12 datasets, 3 shards: each shard gets 4 whole datasets (6 runs each), none shared.
        let points = try Self.grid().points
        let shards = (1...3).map { SweepRunner.shard(points, ($0, 3)) }
        #expect(shards.map(\.count) == [24, 24, 24])
        let datasets = shards.map { Set($0.map(\.dataset)) }
        #expect(datasets.allSatisfy { $0.count == 4 } && datasets[0].isDisjoint(with: datasets[1]) && datasets[1].isDisjoint(with: datasets[2]))
        // One dataset (6 runs), 4 shards: the runs are split instead, 2 + 2 + 1 + 1.
        var one = try Self.grid(); one.versions = [3]; one.changeRates = [0.1]; one.seeds = [1]
        let split = (1...4).map { SweepRunner.shard(one.points, ($0, 4)).count }
        #expect(split == [2, 2, 1, 1])
    }

    @Test func threadsDoNotChangeTheOutput() throws {
        let d = try tempDir()
        defer { try? FileManager.default.removeItem(at: d) }
        let one = d.appendingPathComponent("one.csv"), two = d.appendingPathComponent("two.csv")
        _ = try sweep(one); _ = try sweep(two, jobs: 2)
        #expect(try String(contentsOf: one, encoding: .utf8) == String(contentsOf: two, encoding: .utf8))
    }

    @Test func idealSharingColumnsMatchTheGroundTruth() throws {
        let d = try tempDir()
        defer { try? FileManager.default.removeItem(at: d) }
        let out = d.appendingPathComponent("s.csv")
        var g = SweepGrid(sources: [.preset(.small)], strategies: try StrategySpec.parseList("default,spacer-delta"))
        g.seeds = [1]
        let r = SweepRunner(grid: g, output: out.path); r.timings = false
        _ = try r.run()
        let rows = try SweepTable.read(out.path).rows
        func col(_ row: [String], _ name: String) -> String { row[SweepTable.columns.firstIndex(of: name)!] }
        #expect(rows.count == 2)
        // The preset's own grid point is the committed small preset: the workload's ideal equals
        // the committed ground truth summed over its pairs (the chain's 4 images are its 4 versions).
        let truth = try String(contentsOf: Self.root.appendingPathComponent("datasets/synthetic/small.truth.csv"), encoding: .utf8)
        let shared = truth.split(separator: "\n").dropFirst().map { Int($0.split(separator: ",")[8])! }.reduce(0, +)
        for row in rows {
            #expect(col(row, "preset") == "small" && col(row, "versions") == "4" && col(row, "change_rate") == "0.2")
            #expect(Int(col(row, "ideal_shared_bytes")) == shared)
            #expect(col(row, "place_seconds") == "")
        }
        // Spacer-Δ shares most of the ideal: every common body at one address, branches through
        // slots, but a body whose data references diverge gets a fresh copy (sound placement),
        // so it stays below 100 %; link order shares under 1 % (every page after the first change
        // moves).
        let delta = rows.first { col($0, "strategy") == "spacer-delta" }!, link = rows.first { col($0, "strategy") == "default" }!
        let pd = Double(col(delta, "ideal_sharing_pct"))!, pl = Double(col(link, "ideal_sharing_pct"))!
        #expect(pd > 80 && pd <= 100, "spacer-delta \(pd)")
        #expect(pl < 1, "default \(pl)")
        #expect(Int(col(delta, "actual_shared_bytes"))! <= Int(col(delta, "ideal_shared_bytes"))!)
        // pages_per_default as compare fills it: default against itself is 1; Spacer-Δ maps its
        // old regions too, so more pages.
        #expect(col(link, "pages_per_default") == "1.0000")
        #expect(Double(col(delta, "pages_per_default"))! > 1)
        #expect(abs(Double(col(delta, "pages_per_default"))! - Double(col(delta, "total_pages"))! / Double(col(link, "total_pages"))!) < 1e-4)
    }

    @Test func listsAndShardsParse() throws {
        #expect(try ListSyntax.integers("2..5", option: "--versions") == [2, 3, 4, 5])
        #expect(try ListSyntax.integers("2..16:7,20", option: "--versions") == [2, 9, 16, 20])
        #expect(throws: (any Error).self) { try ListSyntax.integers("5..2", option: "--versions") }
        #expect(throws: (any Error).self) { try SweepCommand.parse(["--shard", "4/3"]).validate() }
        #expect(throws: (any Error).self) { try SweepCommand.parse(["--presets", "nope"]).validate() }
        #expect(throws: (any Error).self) { try SweepCommand.parse(["--tables", "x.csv", "--change-rates", "0.1"]).validate() }
        let g = try SweepCommand.parse(["--presets", "small,paper", "--versions", "2..4", "--seeds", "1..3", "--strategies", "default,spacer-delta"]).grid()
        #expect(g.points.count == 2 * 3 * 3 * 2)
    }

    @Test func aForeignCSVIsRefusedNotOverwritten() throws {
        let d = try tempDir()
        defer { try? FileManager.default.removeItem(at: d) }
        let out = d.appendingPathComponent("other.csv")
        try "strategy,frames\ndefault,3\n".write(to: out, atomically: true, encoding: .utf8)
        #expect(throws: SpacerError.self) { try sweep(out) }
        #expect(try String(contentsOf: out, encoding: .utf8) == "strategy,frames\ndefault,3\n")
    }
}
