import Testing
import SpacerCore
import SpacerSimulator
import SpacerSolvers
import SpacerStrategies
import SpacerTestSupport

/// The `bin-packing` strategy end to end: placement, then the simulator's frame count.
@Suite struct BinPackingStrategyTests {
    static func oneImage(_ sizes: [Int], align: Int) throws -> Workload {
        let fns = sizes.enumerated().map { i, s in Build.fn("f\(i)", s, "h\(i)", align: align) }
        return try Build.workload([Build.table("L", "1", fns)], images: [[("L", "1")]])
    }

    /// anchors.md §3.2 scaled to pages: {2456, 2048, 1228, 820, 820, 820} bytes, alignment 4, one
    /// image, page 4096. Σ = 8192 = 2 pages exactly; FFD needs 3 (2456+1228 | 2048+820+820 | 820),
    /// the optimum is {2456, 820, 820} + {2048, 1228, 820}.
    @Test(arguments: ["arcflow", "assignment"])
    func textbookNeedsTwoFrames(model: String) throws {
        let w = try Self.oneImage([2456, 2048, 1228, 820, 820, 820], align: 4)
        let r = try StrategyRegistry.make("bin-packing", parameters: ["model": model]).place(w, context: PlacementContext(timeLimit: 5))
        #expect(r.status == .optimal)
        #expect(r.objective == 2 && r.provenBound == 2 && r.objectiveUnit == "pages")
        let m = try Simulator.simulate(w, layouts: r.layouts, options: SimulationOptions())
        #expect(m.frames == 2)
        #expect(m.totalPages == 2)
        #expect(m.lowerBoundFrames == 2)
        // No function straddles a page boundary.
        for (e, a) in r.layouts[0].addresses[0].enumerated() {
            let size = UInt64(w.tables[0].entries[e].size)
            #expect(a / 4096 == (a + size - 1) / 4096, "f\(e) at \(a) straddles")
        }
    }

    /// A hard instance (120 functions of 1000–2100 bytes: FFD and L2 disagree) under a 0.01 s
    /// limit: the solver cannot finish, the run says so, and the layout is still complete.
    @Test func tinyTimeLimitStillGivesALayout() throws {
        var rng = SplitMix64(seed: 5)
        let sizes = (0..<120).map { _ in 1000 + 4 * Int(rng.next() % 276) }
        let w = try Self.oneImage(sizes, align: 4)
        let p = BinPackingInstance(capacity: 4096, sizes: sizes)
        #expect(BinPacking1D.firstFitDecreasing(p).count > BinPacking1D.lowerBoundL2(p))
        let r = try StrategyRegistry.make("bin-packing").place(w, context: PlacementContext(timeLimit: 0.01))
        #expect(r.status == .timeLimit || r.status == .fallback)
        #expect(LayoutCheck.problems(workload: w, layouts: r.layouts, pageSize: 4096).isEmpty)
        #expect(!r.layouts[0].addresses[0].contains(ImageLayout.removed))
        let m = try Simulator.simulate(w, layouts: r.layouts, options: SimulationOptions())
        #expect(m.frames == r.objective)
        #expect(r.provenBound! <= m.frames)
        #expect(r.provenBound! == BinPacking1D.lowerBoundL2(p))
    }

    /// Tails of groups {0,1}, {0} and {1} (one 1000-byte function each, beside page-filling
    /// ones) share one page address: images 0 and 1 each see 2 functions there, 2 frames, where
    /// one page per group needs 3.
    @Test func tailsOfDifferentImageSetsShareAPage() throws {
        let shared = Build.fn("s", 1000, "S", align: 16)
        let a = Build.table("L", "1", [shared, Build.fn("a", 1000, "A", align: 16)])
        let b = Build.table("L", "2", [shared, Build.fn("b", 1000, "B", align: 16)])
        let w = try Build.workload([a, b], images: [[("L", "1")], [("L", "2")]])
        let r = try StrategyRegistry.make("bin-packing").place(w, context: PlacementContext())
        let m = try Simulator.simulate(w, layouts: r.layouts, options: SimulationOptions())
        #expect(m.frames == 2)        // {s, a} and {s, b} on one page address
        #expect(m.totalPages == 2)
        let noMerge = try StrategyRegistry.make("bin-packing", parameters: ["merge": "false"]).place(w, context: PlacementContext())
        #expect(try Simulator.simulate(w, layouts: noMerge.layouts, options: SimulationOptions()).frames == 3)
        let po = try StrategyRegistry.make("per-occurrence").place(w, context: PlacementContext())
        #expect(try Simulator.simulate(w, layouts: po.layouts, options: SimulationOptions()).frames == 3)
    }

    /// On seeded random version histories bin-packing never needs more frames than
    /// per-occurrence.
    @Test(arguments: [1, 2, 3, 7, 42] as [UInt64])
    func noWorseThanPerOccurrence(seed: UInt64) throws {
        let h = RandomHistory.make(seed: seed, libraries: 3, versions: 5, functions: 40)
        let w = try Workload(rows: h.rows, tables: h.tables)
        let ctx = PlacementContext(seed: seed, timeLimit: 2)
        let bp = try Simulator.simulate(w, layouts: StrategyRegistry.make("bin-packing").place(w, context: ctx).layouts, options: SimulationOptions())
        let po = try Simulator.simulate(w, layouts: StrategyRegistry.make("per-occurrence").place(w, context: ctx).layouts, options: SimulationOptions())
        #expect(bp.frames <= po.frames, "seed \(seed): bin-packing \(bp.frames) frames, per-occurrence \(po.frames)")
    }
}
