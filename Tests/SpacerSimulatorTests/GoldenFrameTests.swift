import Testing
import SpacerCore
import SpacerSimulator
import SpacerStrategies
import SpacerTestSupport

/// Frame counts worked out by hand for tiny layouts (page 4096). In every case a, b, c are
/// page-sized functions (4096 bytes, alignment 16) of one library `L`; versions:
///   v1 = a, b, c;  v2 = b modified, same size;  v3 = b grown to 4196 bytes.
/// The derivation of every number sits beside its assertion.
@Suite struct GoldenFrameTests {
    static func tables(aCalls: [(Int, String)] = []) -> [FunctionTable] {
        [Build.table("L", "1", [Build.fn("a", 4096, "A", calls: aCalls), Build.fn("b", 4096, "B1"), Build.fn("c", 4096, "C")]),
         Build.table("L", "2", [Build.fn("a", 4096, "A", calls: aCalls), Build.fn("b", 4096, "B2"), Build.fn("c", 4096, "C")]),
         Build.table("L", "3", [Build.fn("a", 4096, "A", calls: aCalls), Build.fn("b", 4196, "B3"), Build.fn("c", 4096, "C")])]
    }

    func run(_ strategy: String, _ w: Workload, params: [String: String] = [:]) throws -> Metrics {
        let s = try StrategyRegistry.make(strategy, parameters: params)
        let r = try s.place(w, context: PlacementContext())
        return try Simulator.simulate(w, layouts: r.layouts, options: SimulationOptions(), allowRemoval: type(of: s).removesEntries)
    }

    @Test func middleModifiedSameSize() throws {
        let w = try Build.workload(Self.tables(), images: [[("L", "1")], [("L", "2")]])
        // default / dce / library-aligned / function-per-page: both images hold a, b, c at the
        // same three pages; a and c pages are identical, b differs: keys {a, b1, c, b2} = 4
        // frames, 6 mapped pages, 2 keys shared by 4 pages.
        for s in ["default", "dce", "library-aligned", "function-per-page"] {
            let m = try run(s, w)
            #expect(m.frames == 4, "\(s)")
            #expect(m.totalPages == 6, "\(s)")
            #expect(m.pagesShared == 2 && m.pagesSharing == 4, "\(s)")
        }
        // per-occurrence: group {a, c} shared (2 pages each image), b1 and b2 each in their
        // image's own region: 4 frames, 6 pages.
        let po = try run("per-occurrence", w)
        #expect(po.frames == 4 && po.totalPages == 6)
        // spacer-delta: region 1 = a, b1, c (3 pages, mapped by both), region 2 = b2 (mapped by
        // image 2): 4 frames, 3 + 4 = 7 pages; b1's page is a dead copy in image 2.
        let sd = try run("spacer-delta", w)
        #expect(sd.frames == 4 && sd.totalPages == 7)
        // Lower bound: 4 distinct page-sized contents = 4 frames.
        #expect(sd.lowerBoundFrames == 4 && sd.gapPct == 0)
    }

    @Test func middleGrownPastAPage() throws {
        let w = try Build.workload(Self.tables(), images: [[("L", "1")], [("L", "3")]])
        // default, image 2: a p0 | b' 4196 B p1..p2+100 | c at 8304 → p2 (from 112) and p3
        // (112 B). Keys: a shared; b1, c (image 1); b'head, b'tail+c head, c tail → 6 frames,
        // 3 + 4 = 7 pages.
        let d = try run("default", w)
        #expect(d.frames == 6 && d.totalPages == 7)
        // function-per-page, image 2: a p0, b' p1–p2 (100 B tail), c p3: a and c pages equal
        // image 1's → keys a, c, b1, b'head, b'tail = 5 frames, 7 pages.
        let f = try run("function-per-page", w)
        #expect(f.frames == 5 && f.totalPages == 7)
        // per-occurrence: {a, c} shared, b1 / b' own → 5 frames, 2+2+1+2 = 7 pages.
        let po = try run("per-occurrence", w)
        #expect(po.frames == 5 && po.totalPages == 7)
        // spacer-delta: region 1 (3 pages) + region 2 b' (2 pages) → 5 frames, 3 + 5 = 8 pages.
        let sd = try run("spacer-delta", w)
        #expect(sd.frames == 5 && sd.totalPages == 8)
        // Lower bound: 3 × 4096 + 4196 = 16484 bytes → ceil(16484 / 4096) = 5.
        #expect(d.lowerBoundFrames == 5)
    }

    @Test func movedCallee() throws {
        // a calls c (pc32 at offset 10). With b grown, default moves c by 100 bytes (+12 of
        // alignment): a's call displacement changes, so a's page differs too.
        let w = try Build.workload(Self.tables(aCalls: [(10, "c")]), images: [[("L", "1")], [("L", "3")]])
        // default: keys a1, b1, c | a3, b'head, b'tail+c, c tail → 7 frames.
        #expect(try run("default", w).frames == 7)
        // per-occurrence keeps c at one address in both images: a's page still shared → 5.
        #expect(try run("per-occurrence", w).frames == 5)
        // spacer-delta: c stays in region 1 in both images: no trampoline needed → 5 frames.
        let sd = try run("spacer-delta", w)
        #expect(sd.frames == 5 && sd.totalPages == 8)
    }

    @Test func modifiedCalleeGoesThroughTrampolines() throws {
        // a calls b; b modified (same size). spacer-delta: b1 in region 1, b2 in region 2, so the
        // call's target differs between images: it goes through slot 0 of region 1's table.
        // Code pages: a (shared), b1, c (shared), b2 = 4 frames; each image maps one private
        // table page: 6 frames; pages 3 + 1 (image 1) + 4 + 1 (image 2) = 9. Private pages: b2
        // and the two table pages = 3 (b1 is a dead copy that image 2 maps too, so it is shared).
        let w = try Build.workload(Self.tables(aCalls: [(10, "b")]), images: [[("L", "1")], [("L", "2")]])
        let sd = try run("spacer-delta", w)
        #expect(sd.frames == 6 && sd.totalPages == 9 && sd.privatePages == 3)
        // With shared tables the two table pages still differ (targets differ): also 6.
        #expect(try run("spacer-delta", w, params: ["shared-tables": "true"]).frames == 6)
        // default: b1/b2 at one address, a's bytes equal: 4 frames, as without the call.
        #expect(try run("default", w).frames == 4)
        // --xrefs ignore can only merge more: the same 4 for default.
        let s = try StrategyRegistry.make("default")
        let m = try Simulator.simulate(w, layouts: s.place(w, context: PlacementContext()).layouts,
                                       options: SimulationOptions(xrefs: .ignore))
        #expect(m.frames == 4)
    }

    @Test func ksmCapAndInstances() throws {
        // One image, 3 instances, one 4096-byte function: 3 mapped pages, one key seen 3 times.
        // max_page_sharing 2 → ceil(3 / 2) = 2 frames; 256 → 1.
        let t = [Build.table("L", "1", [Build.fn("a", 4096, "A")])]
        let w = try Build.workload(t, images: [[("L", "1")]], instances: [3])
        let layouts = try StrategyRegistry.make("default").place(w, context: PlacementContext()).layouts
        let capped = try Simulator.simulate(w, layouts: layouts, options: SimulationOptions(maxPageSharing: 2))
        #expect(capped.totalPages == 3 && capped.frames == 2)
        // The loader's pool has no sharing cap: 1 frame even with max_page_sharing 2.
        #expect(try Simulator.simulate(w, layouts: layouts, options: SimulationOptions(dedup: .loader, maxPageSharing: 2)).frames == 1)
        let free = try Simulator.simulate(w, layouts: layouts, options: SimulationOptions())
        #expect(free.frames == 1 && free.pagesShared == 1 && free.pagesSharing == 3 && free.sharingPct == 100)
    }

    @Test func loaderKeepsWritablePagesPrivate() throws {
        // One 100-byte function and one 64-byte writable data entry, 2 instances of one image.
        // ksm: code page and data page each shared by 2 instances → 2 frames.
        // loader: code page shared (1 frame), the data page private per instance (2) → 3.
        let t = [Build.table("L", "1", [Build.fn("a", 100, "A"), Build.data("d", 64, "D", kind: .data)])]
        let w = try Build.workload(t, images: [[("L", "1")]], instances: [2])
        let layouts = try StrategyRegistry.make("default").place(w, context: PlacementContext()).layouts
        #expect(try Simulator.simulate(w, layouts: layouts, options: SimulationOptions(dedup: .ksm)).frames == 2)
        let loader = try Simulator.simulate(w, layouts: layouts, options: SimulationOptions(dedup: .loader))
        #expect(loader.frames == 3 && loader.privatePages == 2)
        // padding: 2 pages × 2 instances × 4096 − 2 × (100 + 64) = 16056 bytes.
        #expect(loader.paddingBytes == 16384 - 328)
    }

    @Test func infeasibleLayoutIsRefused() throws {
        let t = [Build.table("L", "1", [Build.fn("a", 100, "A"), Build.fn("b", 100, "B")])]
        let w = try Build.workload(t, images: [[("L", "1")]])
        var l = ImageLayout(for: w.images[0], in: w)
        l.addresses[0] = [0x1000, 0x1010]   // overlap: a ends at 0x1064
        l.regions = [Region(name: "code", start: 0x1000, size: 0x1000, pageAligned: true)]
        #expect(throws: SpacerError.self) { try Simulator.simulate(w, layouts: [l], options: SimulationOptions()) }
    }
}

@Suite struct BranchTrampolineTests {
    /// v1 = a (4096 B, calls b at offset 10), b (100 B); v2 = a, x (100 B, new), b' (100 B,
    /// modified). per-occurrence: a is common (one page, same address); single-image bodies start
    /// at one common address: image 1 {b1}, image 2 {x, b2'} so b moves by 112 bytes.
    @Test func perOccurrenceWithAndWithoutTrampolines() throws {
        let t = [Build.table("L", "1", [Build.fn("a", 4096, "A", calls: [(10, "b")]), Build.fn("b", 100, "B1")]),
                 Build.table("L", "2", [Build.fn("a", 4096, "A", calls: [(10, "b")]), Build.fn("x", 100, "X"), Build.fn("b", 100, "B2")])]
        let w = try Build.workload(t, images: [[("L", "1")], [("L", "2")]])
        func run(_ p: [String: String]) throws -> Metrics {
            let r = try StrategyRegistry.make("per-occurrence", parameters: p).place(w, context: PlacementContext())
            return try Simulator.simulate(w, layouts: r.layouts, options: SimulationOptions())
        }
        // Without: a's call displacement differs, so a1 ≠ a2; own pages {b1}, {x, b2}: 4 frames,
        // 4 pages, nothing shared.
        let plain = try run([:])
        #expect(plain.frames == 4 && plain.totalPages == 4 && plain.pagesShared == 0)
        // With: a calls its slot (same bytes in both images): 1 shared frame; own pages 2; each
        // image maps a private one-page table: 2. 5 frames, 6 pages, 1 key shared by 2 pages.
        let tramp = try run(["trampolines": "true"])
        #expect(tramp.frames == 5 && tramp.totalPages == 6 && tramp.pagesShared == 1 && tramp.pagesSharing == 2)
    }
}
