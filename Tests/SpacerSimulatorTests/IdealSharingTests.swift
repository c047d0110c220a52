import Testing
import SpacerCore
import SpacerSimulator
import SpacerStrategies
import SpacerTestSupport

/// Ground truth (`IdealSharing`) and the measured share of it (`Simulator.bodySharing`) on
/// histories worked out by hand.
@Suite struct IdealSharingTests {
    /// v1: a 100 B, b 200 B, c 300 B calling a, string s 24 B, data d 16 B, bss z 64 B.
    /// v2: b modified (same size), new function e 50 B; the rest unchanged.
    /// v3: a renamed a2 (same body), so c's call now names a2 (a new body for c); b reverted to
    ///     v1's body; e deleted.
    static let history: [FunctionTable] = {
        let s = Build.data("s", 24, "S"), d = Build.data("d", 16, "D", kind: .data), z = Build.data("z", 64, "", kind: .bss)
        return [
            Build.table("L", "1", [Build.fn("a", 100, "A"), Build.fn("b", 200, "B"), Build.fn("c", 300, "C", calls: [(8, "a")]), s, d, z]),
            Build.table("L", "2", [Build.fn("a", 100, "A"), Build.fn("b", 200, "B2"), Build.fn("c", 300, "C", calls: [(8, "a")]),
                                   Build.fn("e", 50, "E"), s, d, z]),
            Build.table("L", "3", [Build.fn("a2", 100, "A"), Build.fn("b", 200, "B"), Build.fn("c", 300, "C", calls: [(8, "a2")]), s, d, z]),
        ]
    }()

    @Test func groundTruthOfAHandWorkedHistory() throws {
        let p = try IdealSharing.pairs(Self.history)
        #expect(p.map { "\($0.versionA)-\($0.versionB)" } == ["1-2", "1-3", "2-3"])
        // Content bytes (bss excluded): v1 = 100+200+300+24+16 = 640; v2 = 640 + 50 = 690; v3 = 640.
        #expect(p.map(\.bytesA) == [640, 640, 690] && p.map(\.bytesB) == [690, 640, 640])
        #expect(p.map(\.entriesA) == [5, 5, 6] && p.map(\.entriesB) == [6, 5, 5])
        // 1-2: a, c (functions 400), s (rodata 24), d (data 16) = 440 bytes in 4 entries.
        #expect(p[0].sharedFunctionBytes == 400 && p[0].sharedRodataBytes == 24 && p[0].sharedDataBytes == 16)
        #expect(p[0].sharedBytes == 440 && p[0].sharedEntries == 4 && p[0].sharedReadOnlyBytes == 424)
        // 1-3: a2 has a's body (identity is the body, not the name): 100; b reverted: 200; c calls
        // a2 instead of a, a different relocation list: not shared. 300 + 24 + 16 = 340.
        #expect(p[1].sharedFunctionBytes == 300 && p[1].sharedBytes == 340 && p[1].sharedEntries == 4)
        // 2-3: a only among functions (b2 ≠ b, c differs, e deleted): 100 + 24 + 16 = 140.
        #expect(p[2].sharedFunctionBytes == 100 && p[2].sharedBytes == 140 && p[2].sharedEntries == 3)
        // The workload of the three versions: Σ over image pairs = 440 + 340 + 140.
        let w = try Build.workload(Self.history, images: [[("L", "1")], [("L", "2")], [("L", "3")]])
        #expect(IdealSharing.shareableBytes(w, includeWritable: true) == 920)
        // Under loader writable data is private: 920 − 3 pairs × 16 B of d.
        #expect(IdealSharing.shareableBytes(w, includeWritable: false) == 872)
    }

    @Test func identicalStubsCountByOccurrence() throws {
        // Two 3-byte stubs with one body in v1, one left in v2: one body instance in common.
        let t = [Build.table("L", "1", [Build.fn("x", 3, "X", align: 1), Build.fn("y", 3, "X", align: 1)]),
                 Build.table("L", "2", [Build.fn("x", 3, "X", align: 1)])]
        let p = try IdealSharing.pairs(t)
        #expect(p.count == 1 && p[0].sharedEntries == 1 && p[0].sharedBytes == 3)
    }

    /// a, b, c of 4096 bytes (GoldenFrameTests): v1 = a b1 c; v2 = b2 same size; v3 = b grown.
    static let pages: [FunctionTable] = [
        Build.table("L", "1", [Build.fn("a", 4096, "A"), Build.fn("b", 4096, "B1"), Build.fn("c", 4096, "C")]),
        Build.table("L", "2", [Build.fn("a", 4096, "A"), Build.fn("b", 4096, "B2"), Build.fn("c", 4096, "C")]),
        Build.table("L", "3", [Build.fn("a", 4096, "A"), Build.fn("b", 4196, "B3"), Build.fn("c", 4096, "C")]),
    ]

    func sharing(_ strategy: String, _ versions: [String]) throws -> Simulator.BodySharing {
        let w = try Build.workload(Self.pages, images: versions.map { [("L", $0)] })
        let s = try StrategyRegistry.make(strategy)
        let layouts = try s.place(w, context: PlacementContext()).layouts
        return Simulator.bodySharing(w, layouts: layouts, options: SimulationOptions())
    }

    @Test func measuredSharingOfHandWorkedLayouts() throws {
        // v1 vs v2: ideal = a + c = 8192. Link order keeps a and c on identical pages in both
        // images, and so does every strategy here: all of it is shared.
        for s in ["default", "function-per-page", "per-occurrence", "spacer-delta"] {
            let x = try sharing(s, ["1", "2"])
            #expect(x.idealBytes == 8192 && x.sharedBytes == 8192, "\(s)")
            #expect(x.pct == 100, "\(s)")
        }
        // v1 vs v3: b grew by 100 B, so in link order c starts 100 B (+ alignment: 112) later in
        // v3, at another offset within its page: only a is shared, 4096 of 8192 = 50 %.
        let d = try sharing("default", ["1", "3"])
        #expect(d.idealBytes == 8192 && d.sharedBytes == 4096 && d.pct == 50)
        // function-per-page puts c on a page boundary in both: a and c shared, 100 %.
        #expect(try sharing("function-per-page", ["1", "3"]).sharedBytes == 8192)
        // spacer-delta keeps c at its first address: 100 %.
        #expect(try sharing("spacer-delta", ["1", "3"]).sharedBytes == 8192)
        // Three images v1, v2, v3 under default: a is shared by all three pairs (3 × 4096), c only
        // by (1,2) (4096); ideal = 3 pairs × (a + c) = 24576.
        let three = try sharing("default", ["1", "2", "3"])
        #expect(three.idealBytes == 24576 && three.sharedBytes == 4 * 4096)
    }

    @Test func onlySlicesOnIdenticalPagesAreShared() throws {
        // v1: f 64 B calling h, g 4000 B, h 64 B; v2: g modified, same size.
        let t = [Build.table("L", "1", [Build.fn("f", 64, "F", calls: [(1, "h")]), Build.fn("g", 4000, "G"), Build.fn("h", 64, "H1")]),
                 Build.table("L", "2", [Build.fn("f", 64, "F", calls: [(1, "h")]), Build.fn("g", 4000, "G2"), Build.fn("h", 64, "H1")])]
        let w = try Build.workload(t, images: [[("L", "1")], [("L", "2")]])
        // Ideal: f (64) + h (64) = 128 B. Under default, f is at 0, g at 64, h at 4064 in both
        // images, so f's call bytes are equal; but page 0 also holds g, whose bytes differ, so f
        // is not shared. h spans 4064…4128: its page-0 slice (32 B) is not shared, its page-1
        // slice (32 B) is alone on an identical page: shared.
        let l = try StrategyRegistry.make("default").place(w, context: PlacementContext()).layouts
        let x = Simulator.bodySharing(w, layouts: l, options: SimulationOptions())
        #expect(x.idealBytes == 128 && x.sharedBytes == 32)
    }
}
