import Foundation
import Testing
import SpacerCore
import SpacerIO
import SpacerSynth
@testable import SpacerExperiments

/// Issue 11 item 7: a sweep CSV cut inside its last row (`11.576` became `1`) is refused by
/// `merge` (naming file and line) and dropped, with a warning, by a resumed sweep, which then
/// runs that point again.
@Suite(.serialized) struct TruncatedSweepTests {
    static func grid() throws -> SweepGrid {
        var g = SweepGrid(sources: [.preset(.small)], strategies: try StrategySpec.parseList("default,spacer-delta"))
        g.versions = [2]; g.changeRates = [0.1]; g.seeds = [1, 2]
        return g
    }

    func run(_ out: String) throws -> SweepRunner.Summary {
        let r = SweepRunner(grid: try Self.grid(), output: out)
        r.timings = false
        return try r.run()
    }

    @Test func resumedSweepDropsACutRowAndRunsItAgain() throws {
        let d = try CLI.tempDir().path
        let whole = d + "/whole.csv", cut = d + "/cut.csv"
        #expect(try run(whole).ran == 4)
        let text = try String(contentsOfFile: whole, encoding: .utf8)
        // Cut the file inside the last field of its last row.
        let truncated = String(text.dropLast(3))
        #expect(!truncated.hasSuffix("\n"))
        try truncated.write(toFile: cut, atomically: false, encoding: .utf8)
        #expect(throws: SpacerError.data(file: cut, location: "5", expected: "a last row ending in a line break (a file cut short?)",
                                         found: "an unterminated row of \(SweepTable.columns.count) fields")) {
            _ = try SweepTable.read(cut)
        }
        let f = try SweepTable.read(cut, unterminated: .drop)
        #expect(f.droppedLine == 5 && f.rows.count == 3)
        let again = try run(cut)
        #expect(again.skipped == 3 && again.ran == 1 && again.rows == 4)
        #expect(try String(contentsOfFile: cut, encoding: .utf8) == text)
    }

    @Test func mergeRefusesACutFile() throws {
        let d = try CLI.tempDir()
        #expect(try run(d.path + "/a.csv").ran == 4)
        let text = try String(contentsOfFile: d.path + "/a.csv", encoding: .utf8)
        try String(text.dropLast(3)).write(toFile: d.path + "/cut.csv", atomically: false, encoding: .utf8)
        let r = try CLI.run(["merge", "a.csv", "cut.csv", "--out", "m.csv"], cwd: d)
        #expect(r.status == 65)
        #expect(r.err == "spacer-sim: cut.csv:5: expected a last row ending in a line break (a file cut short?), found an unterminated row of \(SweepTable.columns.count) fields\n")
        #expect(!FileManager.default.fileExists(atPath: d.path + "/m.csv"))
        // The whole file merges (written by the runner without a shard sidecar, so the shard set
        // cannot be checked: --allow-partial).
        let ok = try CLI.run(["merge", "a.csv", "--out", "m.csv", "--allow-partial"], cwd: d)
        #expect(ok.status == 0, "\(ok.err)")
    }
}
