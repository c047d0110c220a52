import Testing
import SpacerCore
import SpacerSimulator
import SpacerTestSupport

/// Golden tests of `Simulator.attributeLoss`: one tiny hand-placed workload per cause (page
/// 4096), the split worked out by hand beside each assertion. Addresses: code from 0x100000,
/// trampolines 0x40000000, rodata 0x50000000, writable data 0x60000000 (`AddressMap`).
@Suite struct LossAttributionTests {
    static let code: UInt64 = 0x10_0000, rodata: UInt64 = 0x5000_0000, writable: UInt64 = 0x6000_0000

    /// A layout of image `i` with every entry at `at[name]` and the pages its pieces touch
    /// mapped (one page-aligned region per run of touched pages).
    static func layout(_ w: Workload, _ i: Int, _ at: [String: UInt64], trampolines: [TrampolineTable] = [],
                       redirects: RedirectMap = [:], extraCopies: [PlacedCopy] = []) -> ImageLayout {
        var l = ImageLayout(for: w.images[i], in: w)
        var spans: [(UInt64, UInt64)] = []
        for (k, t) in w.images[i].tables.enumerated() {
            for (e, entry) in w.tables[t].entries.enumerated() {
                let a = at[entry.name]!
                l.addresses[k][e] = a
                spans.append((a, a + UInt64(entry.size)))
            }
        }
        for tt in trampolines { spans.append((tt.address, tt.address + UInt64(tt.reservedBytes))) }
        for c in extraCopies { spans.append((c.address, c.address + UInt64(w.tables[c.table].entries[c.entry].size))) }
        l.extraCopies = extraCopies
        l.trampolines = trampolines
        l.redirects = redirects
        var pages = Set<UInt64>()
        for (s, e) in spans { var p = s / 4096; while p * 4096 < e { pages.insert(p); p += 1 } }
        var runs: [(UInt64, UInt64)] = []
        for p in pages.sorted() { if let last = runs.last, last.1 == p { runs[runs.count - 1].1 = p + 1 } else { runs.append((p, p + 1)) } }
        l.regions = runs.enumerated().map { Region(name: "r\($0.offset)", start: $0.element.0 * 4096, size: ($0.element.1 - $0.element.0) * 4096, pageAligned: true) }
        return l
    }

    static func explain(_ w: Workload, _ layouts: [ImageLayout], _ options: SimulationOptions = SimulationOptions()) throws -> LossAttribution {
        let a = try Simulator.attributeLoss(w, layouts: layouts, options: options)
        // Always: the parts sum exactly to frames − bound and none is negative.
        #expect(a.parts.reduce(0) { $0 + $1.frames } == a.frames - a.lowerBoundFrames)
        #expect(a.parts.allSatisfy { $0.frames >= 0 })
        return a
    }

    /// The causes with a non-zero share, as a dictionary (the others must be 0).
    static func nonZero(_ a: LossAttribution) -> [LossCause: Int] {
        Dictionary(uniqueKeysWithValues: a.parts.filter { $0.frames != 0 }.map { ($0.cause, $0.frames) })
    }

    static func fn(_ name: String, _ size: Int, _ hash: String, _ relocations: [Relocation] = []) -> TableEntry {
        var e = Build.fn(name, size, hash)
        e.relocations = relocations
        return e
    }

    @Test func padding() throws {
        // Two 100-byte functions on two pages: 2 keys = 2 frames; bound ⌈200 / 4096⌉ = 1. No key
        // step merges anything (one image); the classes hold 200 content bytes → ⌈200/4096⌉ = 1:
        // padding = 2 − 1 = 1; one copy of each, so identity and boundary are 0.
        let w = try Build.workload([Build.table("L", "1", [Build.fn("a", 100, "A"), Build.fn("b", 100, "B")])], images: [[("L", "1")]])
        let a = try Self.explain(w, [Self.layout(w, 0, ["a": Self.code, "b": Self.code + 4096])])
        #expect(a.frames == 2 && a.lowerBoundFrames == 1)
        #expect(Self.nonZero(a) == [.padding: 1])
        #expect(a.part(.padding).pages == nil)
    }

    @Test func ksmCap() throws {
        // One image, 3 instances, cap 2, a 100-byte function: 3 mappings of one key take
        // ⌈3/2⌉ = 2 frames; the bound charges ⌈100 · ⌈3/2⌉ / 4096⌉ = 1. Without the cap: 1 frame,
        // bound ⌈100/4096⌉ = 1 → excess 0: ksm-cap = 1 − 0 = 1; its pages: the 3 mappings of the
        // key over the cap.
        let w = try Build.workload([Build.table("L", "1", [Build.fn("a", 100, "A")])], images: [[("L", "1")]], instances: [3])
        let options = SimulationOptions(maxPageSharing: 2)
        let a = try Self.explain(w, [Self.layout(w, 0, ["a": Self.code])], options)
        #expect(a.frames == 2 && a.lowerBoundFrames == 1)
        #expect(Self.nonZero(a) == [.ksmCap: 1])
        #expect(a.part(.ksmCap).pages == 3)
        // A full page: 2 frames, and the bound ⌈4096 · 2 / 4096⌉ = 2 already pays the cap: nothing above it.
        let full = try Build.workload([Build.table("L", "1", [Build.fn("a", 4096, "A")])], images: [[("L", "1")]], instances: [3])
        let b = try Self.explain(full, [Self.layout(full, 0, ["a": Self.code])], options)
        #expect(b.frames == 2 && b.lowerBoundFrames == 2 && Self.nonZero(b).isEmpty)
    }

    @Test func writableUnderLoader() throws {
        // Loader, one image with 2 instances: a 4096-byte function (one shared frame) and a
        // 100-byte data entry whose page is private to each instance (2 frames): 3 frames. Bound:
        // max(2 · ⌈100/4096⌉ = 2, ⌈(4096 + 2 · 100) / 4096⌉ = 2) = 2; excess 1. Writable pages
        // keyed like read-only ones: 2 classes, bound ⌈4196/4096⌉ = 2 → excess 0: writable = 1,
        // its pages the 2 private mappings that merge.
        let w = try Build.workload([Build.table("L", "1", [Build.fn("a", 4096, "A"), Build.data("d", 100, "D", kind: .data)])],
                                   images: [[("L", "1")]], instances: [2])
        let a = try Self.explain(w, [Self.layout(w, 0, ["a": Self.code, "d": Self.writable])], SimulationOptions(dedup: .loader))
        #expect(a.frames == 3 && a.lowerBoundFrames == 2)
        #expect(Self.nonZero(a) == [.writable: 1])
        #expect(a.part(.writable).pages == 2)
    }

    @Test func trampolineTables() throws {
        // Two images holding one 4096-byte function a at one address (1 shared frame), each with
        // a private one-page trampoline table (2 frames): 3 frames; bound 1. Without the tables'
        // pages: 1 class, excess 0 → trampoline-tables = 2, pages = the 2 table pages.
        let w = try Build.workload([Build.table("L", "1", [Build.fn("a", 4096, "A")])], images: [[("L", "1")], [("L", "1")]])
        let tt = TrampolineTable(address: AddressMap.trampolineBase, slotSize: 8, slots: [TrampolineSlot(target: w.symbolIDs[0][0], addend: 0)],
                                 reservedBytes: 4096)
        let a = try Self.explain(w, (0..<2).map { Self.layout(w, $0, ["a": Self.code], trampolines: [tt]) })
        #expect(a.frames == 3 && a.lowerBoundFrames == 1)
        #expect(Self.nonZero(a) == [.trampolineTables: 2])
        #expect(a.part(.trampolineTables).pages == 2)
    }

    /// Two images of one table: a (4096 B) referencing `target` through `reloc`; the target at
    /// offset 0 of a page in both images, but on different pages, so only a's bytes differ.
    static func divergence(_ reloc: Relocation, target: TableEntry, base: UInt64) throws -> LossAttribution {
        let w = try Build.workload([Build.table("L", "1", [Self.fn("a", 4096, "A", [reloc]), target])], images: [[("L", "1")], [("L", "1")]])
        return try Self.explain(w, [Self.layout(w, 0, ["a": Self.code, target.name: base]),
                                    Self.layout(w, 1, ["a": Self.code, target.name: base + 4096])])
    }

    @Test func addressDivergence() throws {
        // a holds &c (abs64 at offset 8: a function's address as a value). c (100 B) sits at
        // offset 0 of page 1 in image 0 and of page 2 in image 1: c's pages are equal, a's
        // differ (the pointer): 3 frames; bound ⌈4196/4096⌉ = 2. Keying the pointer by (c, 0):
        // a's pages merge, 2 classes → address-divergence = 1 (the 2 pages of a merge).
        let a = try Self.divergence(Relocation(offset: 8, type: .abs64, target: "c", addend: 0), target: Build.fn("c", 100, "C"), base: Self.code + 4096)
        #expect(a.frames == 3 && a.lowerBoundFrames == 2)
        #expect(Self.nonZero(a) == [.addressDivergence: 1])
        #expect(a.part(.addressDivergence).pages == 2)
        // A jump table: rodata t holding an abs64 to a, both images' t at one address, a moved.
        let w = try Build.workload([Build.table("L", "1", [Build.fn("a", 100, "A"),
                                                           TableEntry(kind: .rodata, name: "t", binding: .local, order: 0, size: 4096, align: 8, hash: "T",
                                                                      relocations: [Relocation(offset: 0, type: .abs64, target: "a", addend: 16)])])],
                                   images: [[("L", "1")], [("L", "1")]])
        // Pages: t's page differs (a at 0x100000 vs 0x101000), a's pages are equal: 3 frames,
        // bound 2; keyed by (a, 16) t's pages merge → address-divergence = 1.
        let j = try Self.explain(w, [Self.layout(w, 0, ["a": Self.code, "t": Self.rodata]), Self.layout(w, 1, ["a": Self.code + 4096, "t": Self.rodata])])
        #expect(j.frames == 3 && Self.nonZero(j) == [.addressDivergence: 1])
    }

    @Test func callDivergence() throws {
        // As addressDivergence, but a calls c (plt32 at offset 1, addend −4: a direct branch):
        // call-divergence = 1, nothing else.
        let a = try Self.divergence(Relocation(offset: 1, type: .plt32, target: "c", addend: -4), target: Build.fn("c", 100, "C"), base: Self.code + 4096)
        #expect(a.frames == 3 && a.lowerBoundFrames == 2)
        #expect(Self.nonZero(a) == [.callDivergence: 1])
        #expect(a.part(.callDivergence).pages == 2)
        // The same call through a jump slot at one address in both images: a's bytes agree, 2
        // frames for the code; the private table pages cost 2 more → trampoline-tables = 2.
        let w = try Build.workload([Build.table("L", "1", [Self.fn("a", 4096, "A", [Relocation(offset: 1, type: .plt32, target: "c", addend: -4)]),
                                                           Build.fn("c", 100, "C")])], images: [[("L", "1")], [("L", "1")]])
        let c = w.symbolIDs[0][1]
        let tt = TrampolineTable(address: AddressMap.trampolineBase, slotSize: 8, slots: [TrampolineSlot(target: c, addend: -4)], reservedBytes: 4096)
        let t = try Self.explain(w, (0..<2).map { i in
            Self.layout(w, i, ["a": Self.code, "c": Self.code + 4096 * UInt64(1 + i)], trampolines: [tt], redirects: [Self.code + 1: AddressMap.trampolineBase])
        })
        #expect(t.frames == 4 && t.lowerBoundFrames == 2 && Self.nonZero(t) == [.trampolineTables: 2])
    }

    @Test func dataDivergence() throws {
        // As addressDivergence, but a references rodata r (pc32 at offset 3, addend −4: lea
        // r(%rip)) placed at the start of different rodata pages: data-divergence = 1.
        let a = try Self.divergence(Relocation(offset: 3, type: .pc32, target: "r", addend: -4), target: Build.data("r", 100, "R"), base: Self.rodata)
        #expect(a.frames == 3 && a.lowerBoundFrames == 2)
        #expect(Self.nonZero(a) == [.dataDivergence: 1])
    }

    /// v1 and v2 of one library: a (hash A, 4096 B) calling x1 in v1 and x2 in v2 (symbols
    /// no table defines: same body hash, different relocation lists).
    static func renamedCallee() throws -> Workload {
        let call = { (t: String) in [Relocation(offset: 1, type: .plt32, target: t, addend: -4)] }
        return try Build.workload([Build.table("L", "1", [Self.fn("a", 4096, "A", call("x1"))]), Build.table("L", "2", [Self.fn("a", 4096, "A", call("x2"))])],
                                  images: [[("L", "1")], [("L", "2")]])
    }

    @Test func identityDuplicationSameAddress() throws {
        // a at one address in both images: its pages differ in the call's value (2 frames;
        // bound: one content of 4096 B = 1). Keying calls by target keeps them apart (x1 ≠ x2);
        // keying by content alone merges them → identity-duplication = 1, 2 pages.
        let w = try Self.renamedCallee()
        let a = try Self.explain(w, (0..<2).map { Self.layout(w, $0, ["a": Self.code]) })
        #expect(a.frames == 2 && a.lowerBoundFrames == 1)
        #expect(Self.nonZero(a) == [.identityDuplication: 1])
        #expect(a.part(.identityDuplication).pages == 2)
    }

    @Test func identityDuplicationCopies() throws {
        // a at 0x100000 in image 0 and at 0x100800 in image 1 (straddling two pages): 3 keys,
        // 3 frames; bound 1. No key step merges (the slices differ). Classes hold 4096 + 2048 +
        // 2048 = 8192 bytes → ⌈8192/4096⌉ = 2: padding = 1. a's duplicate bytes 8192 − 4096 =
        // 4096, a has m = 2 bodies (two relocation lists) → X = min(4096, 1 · 4096) = 4096 →
        // ⌈4096/4096⌉ = 1: identity-duplication = 1; boundary 1 − 1 = 0.
        let w = try Self.renamedCallee()
        let a = try Self.explain(w, [Self.layout(w, 0, ["a": Self.code]), Self.layout(w, 1, ["a": Self.code + 2048])])
        #expect(a.frames == 3 && a.lowerBoundFrames == 1)
        #expect(Self.nonZero(a) == [.padding: 1, .identityDuplication: 1])
        #expect(a.part(.identityDuplication).pages == 0)
    }

    @Test func imageSetBoundary() throws {
        // Link order shifted by a changed neighbour: v1 = b1 (2048 B), a (4096 B); v2 = b2
        // (1024 B), a. Image 0: page 0 = b1 + a[0, 2048), page 1 = a[2048, 4096); image 1:
        // page 0 = b2 + a[0, 3072), page 1 = a[3072, 4096). 4 keys = 4 frames; bound
        // ⌈(2048 + 1024 + 4096) / 4096⌉ = 2. Classes hold 4096 + 2048 + 4096 + 1024 = 11264
        // bytes → 3: padding = 1. a has one body (m = 1) → no identity copies → 3; boundary =
        // 3 − 2 = 1.
        let w = try Build.workload([Build.table("L", "1", [Build.fn("b", 2048, "B1"), Build.fn("a", 4096, "A")]),
                                    Build.table("L", "2", [Build.fn("b", 1024, "B2"), Build.fn("a", 4096, "A")])],
                                   images: [[("L", "1")], [("L", "2")]])
        let a = try Self.explain(w, [Self.layout(w, 0, ["b": Self.code, "a": Self.code + 2048]), Self.layout(w, 1, ["b": Self.code, "a": Self.code + 1024])])
        #expect(a.frames == 4 && a.lowerBoundFrames == 2)
        #expect(Self.nonZero(a) == [.padding: 1, .imageSetBoundary: 1])
        // The chain, step by step: 4 frames through every key step, then 3, 3, 2.
        #expect(a.steps.map(\.frames) == [4, 4, 4, 4, 4, 4, 4, 4, 3, 3, 2])
    }

    @Test func pinnedFieldAgreesWithTheDirectOne() throws {
        // Spacer-Δ's dead copies: v1 = a (A, calls c) + c; v2 = a (A2, calls c) + c. Image 0
        // (v1): a at 0x100000, c at 0x101000. Image 1 (v2): a dead copy of v1's a at 0x100000
        // whose call is pinned to image 0's c (0x101000), its own a at 0x102000, c at 0x103000.
        // Pages: v1 a (shared by both: the pin gives the same bytes), c (offset 0 in both:
        // shared), v2 a: 3 frames; bound ⌈(4096 + 100 + 4096) / 4096⌉ = 3: nothing above it. Every
        // step stays at 3: keyed by target, the pinned field (redirected) and image 0's direct
        // one (not redirected) both name c, so no step splits the shared page.
        let call = [Relocation(offset: 1, type: .plt32, target: "c", addend: -4)]
        let w = try Build.workload([Build.table("L", "1", [Self.fn("a", 4096, "A", call), Build.fn("c", 100, "C")]),
                                    Build.table("L", "2", [Self.fn("a", 4096, "A2", call), Build.fn("c", 100, "C")])],
                                   images: [[("L", "1")], [("L", "2")]])
        let a = try Self.explain(w, [
            Self.layout(w, 0, ["a": Self.code, "c": Self.code + 4096]),
            Self.layout(w, 1, ["a": Self.code + 8192, "c": Self.code + 12288], redirects: [Self.code + 1: Self.code + 4096],
                        extraCopies: [PlacedCopy(table: 0, entry: 0, address: Self.code)])])
        #expect(a.frames == 3 && a.lowerBoundFrames == 3 && Self.nonZero(a).isEmpty)
        #expect(a.steps.map(\.frames) == Array(repeating: 3, count: 11))
    }

    @Test func xrefsIgnoreHasNoDivergence() throws {
        // Ignoring relocation values (an upper bound), the call of callDivergence costs nothing:
        // 2 frames = the bound.
        let w = try Build.workload([Build.table("L", "1", [Self.fn("a", 4096, "A", [Relocation(offset: 1, type: .plt32, target: "c", addend: -4)]),
                                                           Build.fn("c", 100, "C")])], images: [[("L", "1")], [("L", "1")]])
        let a = try Self.explain(w, [Self.layout(w, 0, ["a": Self.code, "c": Self.code + 4096]), Self.layout(w, 1, ["a": Self.code, "c": Self.code + 8192])],
                                 SimulationOptions(xrefs: .ignore))
        #expect(a.frames == 2 && a.lowerBoundFrames == 2 && Self.nonZero(a).isEmpty)
    }
}
