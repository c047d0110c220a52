import Testing
@testable import SpacerExperiments
import SpacerCore
import SpacerSimulator
import SpacerStrategies
import SpacerTestSupport

/// The solver columns of the result CSV and the terminal table.
@Suite struct SolverColumnsTests {
    static func context() -> ResultSchema.Context {
        ResultSchema.Context(workload: "w.csv", tables: "t", config: RunConfiguration(), seed: "", images: 1, instances: 1,
                             timings: false, defaultTotalPages: 0, inputDigest: "d")
    }

    @Test func binPackingRowCarriesStatusObjectiveBoundAndGap() throws {
        let fns = [2456, 2048, 1228, 820, 820, 820].enumerated().map { Build.fn("f\($0)", $1, "h\($0)", align: 4) }
        let w = try Build.workload([Build.table("L", "1", fns)], images: [[("L", "1")]])
        let r = try Harness.run(StrategySpec(name: "bin-packing"), workload: w, config: RunConfiguration(timeLimit: 5))
        let row = Dictionary(uniqueKeysWithValues: zip(ResultSchema.columns, ResultSchema.values(r, Self.context())))
        #expect(row["frames"] == "2")
        #expect(row["solver_status"] == "optimal")
        #expect(row["solver_unit"] == "pages")
        #expect(row["solver_objective"] == "2" && row["solver_bound"] == "2" && row["solver_gap_pct"] == "0.000")
        #expect(ResultSchema.text([r], Self.context()).contains("2 / 2 pages"))
    }

    @Test func heuristicRowLeavesSolverColumnsEmpty() throws {
        let w = try Build.workload([Build.table("L", "1", [Build.fn("f", 100, "F")])], images: [[("L", "1")]])
        let r = try Harness.run(StrategySpec(name: "default"), workload: w, config: RunConfiguration())
        let row = Dictionary(uniqueKeysWithValues: zip(ResultSchema.columns, ResultSchema.values(r, Self.context())))
        #expect(row["solver_status"] == "ok")
        #expect(row["solver_objective"] == "" && row["solver_bound"] == "" && row["solver_gap_pct"] == "")
        #expect(ResultSchema.values(r, Self.context()).count == ResultSchema.columns.count)
    }
}
