import Testing
@testable import SpacerCLI
import SpacerCore
import SpacerSimulator
import SpacerStrategies
import SpacerTestSupport

/// The solver columns of the result CSV and the terminal table.
@Suite struct SolverColumnsTests {
    static func context() -> ResultTable.Context {
        ResultTable.Context(workload: "w.csv", tables: "t", options: SimulationOptions(), seed: 1, images: 1, instances: 1,
                            timings: false, toolVersion: "0", gitCommit: "x")
    }

    @Test func binPackingRowCarriesStatusObjectiveBoundAndGap() throws {
        let fns = [2456, 2048, 1228, 820, 820, 820].enumerated().map { Build.fn("f\($0)", $1, "h\($0)", align: 4) }
        let w = try Build.workload([Build.table("L", "1", fns)], images: [[("L", "1")]])
        let r = try Runner.run(StrategyRegistry.make("bin-packing"), workload: w, context: PlacementContext(timeLimit: 5),
                               options: SimulationOptions(), params: "")
        let row = Dictionary(uniqueKeysWithValues: zip(ResultTable.columns, ResultTable.values(r, Self.context())))
        #expect(row["frames"] == "2")
        #expect(row["solver_status"] == "optimal")
        #expect(row["solver_unit"] == "pages")
        #expect(row["solver_objective"] == "2" && row["solver_bound"] == "2" && row["solver_gap_pct"] == "0.000")
        #expect(ResultTable.text([r], Self.context()).contains("2 / 2 pages"))
    }

    @Test func heuristicRowLeavesSolverColumnsEmpty() throws {
        let w = try Build.workload([Build.table("L", "1", [Build.fn("f", 100, "F")])], images: [[("L", "1")]])
        let r = try Runner.run(StrategyRegistry.make("default"), workload: w, context: PlacementContext(), options: SimulationOptions(), params: "")
        let row = Dictionary(uniqueKeysWithValues: zip(ResultTable.columns, ResultTable.values(r, Self.context())))
        #expect(row["solver_status"] == "ok")
        #expect(row["solver_objective"] == "" && row["solver_bound"] == "" && row["solver_gap_pct"] == "")
        #expect(ResultTable.values(r, Self.context()).count == ResultTable.columns.count)
    }
}
