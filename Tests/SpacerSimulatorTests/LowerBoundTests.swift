import Testing
import SpacerCore
import SpacerSimulator
import SpacerStrategies
import SpacerTestSupport

/// `lower_bound_frames` under the dedup models (page 4096); the derivation beside each number.
@Suite struct LowerBoundTests {
    func metrics(_ strategy: String, _ w: Workload, _ o: SimulationOptions) throws -> Metrics {
        let r = try StrategyRegistry.make(strategy).place(w, context: PlacementContext())
        return try Simulator.simulate(w, layouts: r.layouts, options: o)
    }

    /// One image, 3 instances: a 100-byte function and 100 bytes of data. KSM: 200 distinct
    /// bytes → 1 frame. Loader: each instance's data page is private (3 × ⌈100/4096⌉ = 3) —
    /// the old ⌈distinct bytes / page⌉ said 1. `default` puts code and data on separate pages:
    /// 1 shared code frame + 3 private data frames = 4.
    @Test func loaderCountsPrivateWritablePages() throws {
        let t = Build.table("L", "1", [Build.fn("f", 100, "F"), Build.data("d", 100, "D", kind: .data)])
        let w = try Build.workload([t], images: [[("L", "1")]], instances: [3])
        let ksm = try metrics("default", w, SimulationOptions(dedup: .ksm))
        #expect(ksm.lowerBoundFrames == 1)
        let loader = try metrics("default", w, SimulationOptions(dedup: .loader))
        #expect(loader.lowerBoundFrames == 3)
        #expect(loader.frames == 4)
    }

    /// Issue 10's loader case: one 4096-byte function, one image, 300 instances, cap 2. KSM
    /// chains ⌈300/2⌉ = 150 frames and the bound says 150. The loader's pool has no cap: the
    /// function's page is one frame for all 300 instances, so frames = 1 and the bound must be
    /// 1 (it said 150, above frames, before the cap rule became one `FrameRule`).
    @Test func loaderBoundIgnoresKSMCap() throws {
        let t = Build.table("L", "1", [Build.fn("f", 4096, "F")])
        let w = try Build.workload([t], images: [[("L", "1")]], instances: [300])
        let ksm = try metrics("default", w, SimulationOptions(dedup: .ksm, maxPageSharing: 2))
        #expect(ksm.frames == 150 && ksm.lowerBoundFrames == 150)
        let loader = try metrics("default", w, SimulationOptions(dedup: .loader, maxPageSharing: 2))
        #expect(loader.frames == 1 && loader.lowerBoundFrames == 1)
    }

    /// 600 instances of one image holding one page-sized function, max_page_sharing 256: every
    /// instance maps the page, a frame serves 256 of them: ⌈600/256⌉ = 3 frames, and the bound
    /// knows it (⌈4096 · 3 / 4096⌉ = 3).
    @Test func ksmCapNeedsMoreFrames() throws {
        let t = Build.table("L", "1", [Build.fn("f", 4096, "F")])
        let w = try Build.workload([t], images: [[("L", "1")]], instances: [600])
        let m = try metrics("default", w, SimulationOptions(dedup: .ksm, maxPageSharing: 256))
        #expect(m.frames == 3)
        #expect(m.lowerBoundFrames == 3)
        #expect(m.gapPct == 0)
    }

    /// Why the simulator does not use L2: three 2100-byte functions (alignment 4) in one image
    /// have L2 = 3 (each is larger than half a page) but `default` packs them into 2 pages.
    @Test func l2IsNotABoundForStraddlingStrategies() throws {
        let t = Build.table("L", "1", (0..<3).map { Build.fn("f\($0)", 2100, "F\($0)", align: 4) })
        let w = try Build.workload([t], images: [[("L", "1")]])
        let m = try metrics("default", w, SimulationOptions())
        #expect(m.frames == 2 && m.lowerBoundFrames == 2)
        let bp = try StrategyRegistry.make("bin-packing").place(w, context: PlacementContext())
        #expect(bp.provenBound == 3 && bp.objective == 3)      // its own model: no straddling
    }
}
