import Testing
import SpacerCore
import SpacerSimulator
import SpacerStrategies
import SpacerTestSupport

/// `version-set`'s remedies, each on a tiny workload whose pages are worked out by hand (page
/// 4096 B, `ksm`, relocations resolved). Every layout must also pass `LayoutCheck`.
@Suite struct VersionSetTests {
    func run(_ tables: [FunctionTable], _ versions: [String], _ params: [String: String] = [:]) throws -> (Workload, [ImageLayout], Metrics) {
        let w = try Build.workload(tables, images: versions.map { [("L", $0)] })
        let l = try StrategyRegistry.make("version-set", parameters: params).place(w, context: PlacementContext()).layouts
        #expect(LayoutCheck.problems(workload: w, layouts: l, pageSize: 4096).isEmpty, "\(LayoutCheck.problems(workload: w, layouts: l, pageSize: 4096))")
        return (w, l, try Simulator.simulate(w, layouts: l, options: SimulationOptions()))
    }
    func addr(_ w: Workload, _ l: [ImageLayout], _ i: Int, _ name: String) -> UInt64 {
        l[i].addresses[0][w.tables[w.images[i].tables[0]].entries.firstIndex { $0.name == name }!]
    }

    @Test func stableDataSlotKeepsTheUnchangedReaderShared() throws {
        // f (64 B) reads d (pc32 −4 to a data entry: no slot may carry it); d changes D1 → D2.
        // With the slot, d has one address, so f's page is one frame; d's page has two lanes:
        // 1 + 2 = 3 frames, 2 pages per image = 4 pages. Without it, d1 and d2 sit on two pages
        // and f reads a different address in each image: 2 code frames + 2 data frames = 4.
        let v1 = Build.table("L", "1", [SpacerDeltaSoundnessTests.dataRef("f", 64, "F", "d"), Build.data("d", 8, "D1", kind: .data)])
        let v2 = Build.table("L", "2", [SpacerDeltaSoundnessTests.dataRef("f", 64, "F", "d"), Build.data("d", 8, "D2", kind: .data)])
        let (w, l, m) = try run([v1, v2], ["1", "2"])
        #expect(addr(w, l, 0, "d") == addr(w, l, 1, "d"))
        #expect(addr(w, l, 0, "f") == addr(w, l, 1, "f"))
        #expect(m.frames == 3 && m.totalPages == 4)
        let (w2, l2, off) = try run([v1, v2], ["1", "2"], ["stable-data-slots": "false"])
        #expect(addr(w2, l2, 0, "d") != addr(w2, l2, 1, "d"))
        #expect(off.frames == 4 && off.totalPages == 4)
    }

    @Test func nestedFillPutsSmallerSetsInTheTailOfALargerSetsPage() throws {
        // a (100 B) in both versions; x (100 B) only in v1, y (100 B) only in v2. Nested fill puts
        // x at 112 and y at 224 of a's page: one page, identical in both images (each maps the
        // other's body as a dead copy): 1 frame, 2 pages. Without it, a, x and y take a page
        // each: 3 frames, 4 pages.
        let v1 = Build.table("L", "1", [Build.fn("a", 100, "A"), Build.fn("x", 100, "X")])
        let v2 = Build.table("L", "2", [Build.fn("a", 100, "A"), Build.fn("y", 100, "Y")])
        let (w, l, m) = try run([v1, v2], ["1", "2"])
        let a = addr(w, l, 0, "a")
        #expect(addr(w, l, 0, "x") == a + 112 && addr(w, l, 1, "y") == a + 224)
        #expect(l[0].extraCopies.map(\.address) == [a + 224] && l[1].extraCopies.map(\.address) == [a + 112])
        #expect(m.frames == 1 && m.totalPages == 2)
        let (_, _, off) = try run([v1, v2], ["1", "2"], ["nested-fill": "false"])
        #expect(off.frames == 3 && off.totalPages == 4)
    }

    @Test func stableFunctionSlotNeedsNoJumpSlot() throws {
        // c calls h; h changes (H1, 64 B → H2, 80 B). With the function slot h keeps one address
        // (an 80-byte slot), so c's call needs no jump slot; c's page is shared, h's slot page has
        // two lanes: 3 frames. Without it, c's call goes through the jump table (one private page
        // per image); c, h1 and h2 share one page: 1 + 2 = 3 frames as well.
        // (`address-slots-only=false`: by default a call alone makes no slot, below.)
        let v1 = Build.table("L", "1", [Build.fn("c", 64, "C", calls: [(1, "h")]), Build.fn("h", 64, "H1")])
        let v2 = Build.table("L", "2", [Build.fn("c", 64, "C", calls: [(1, "h")]), Build.fn("h", 80, "H2")])
        let (w, l, m) = try run([v1, v2], ["1", "2"], ["address-slots-only": "false"])
        #expect(addr(w, l, 0, "h") == addr(w, l, 1, "h"))
        #expect(l[0].trampolines.isEmpty && l[1].trampolines.isEmpty && l[0].redirects.isEmpty)
        #expect(m.frames == 3 && m.totalPages == 4)
        let (w2, l2, off) = try run([v1, v2], ["1", "2"], ["stable-function-slots": "false"])
        #expect(addr(w2, l2, 0, "h") != addr(w2, l2, 1, "h"))
        let field = addr(w2, l2, 0, "c") + 1
        #expect(l2[0].redirects[field] != nil && l2[0].redirects[field] == l2[1].redirects[field])
        #expect(off.frames == 3 && off.totalPages == 4)
        // The default (address-slots-only): h is only called, so no slot; the call goes through
        // the jump table exactly as without function slots.
        let (w3, l3, byDefault) = try run([v1, v2], ["1", "2"])
        #expect(addr(w3, l3, 0, "h") != addr(w3, l3, 1, "h"))
        #expect(l3[0].redirects[addr(w3, l3, 0, "c") + 1] != nil)
        #expect(byDefault.frames == 3 && byDefault.totalPages == 4)
        // Without trampolines either, c's call differs: c's page splits (2 frames), 2 pages.
        let (_, _, none) = try run([v1, v2], ["1", "2"], ["stable-function-slots": "false", "trampolines": "false"])
        #expect(none.frames == 2 && none.totalPages == 2)
    }

    @Test func aFunctionWhoseAddressIsTakenGetsASlotByDefault() throws {
        // c (64 B) takes h's address with an absolute field (abs32s at 3: `mov $h`, which no jump
        // slot may carry); h changes (H1, 64 B → H2, 80 B). By default (address-slots-only) h
        // gets a slot all the same: one address, so c's page is one frame and h's slot page has
        // two lanes: 3 frames, 2 pages per image. Without function slots, c's field differs:
        // c, h1 and h2 share nothing across images: c splits (2 frames) + h1, h2 (2 pages, but
        // nested fill puts each into c's page) = 2 frames, 2 pages.
        func taker(_ version: String) -> TableEntry {
            TableEntry(kind: .function, name: "c", object: "o.o", section: ".text.c", binding: .global, order: 0, size: 64, align: 16,
                       hash: "C", relocations: [Relocation(offset: 3, type: .abs32s, target: "h", addend: 0)])
        }
        let v1 = Build.table("L", "1", [taker("1"), Build.fn("h", 64, "H1")])
        let v2 = Build.table("L", "2", [taker("2"), Build.fn("h", 80, "H2")])
        let (w, l, m) = try run([v1, v2], ["1", "2"])
        #expect(addr(w, l, 0, "h") == addr(w, l, 1, "h"))
        #expect(l[0].redirects.isEmpty && l[1].redirects.isEmpty)
        #expect(m.frames == 3 && m.totalPages == 4)
        let (w2, l2, off) = try run([v1, v2], ["1", "2"], ["stable-function-slots": "false", "canonical-stubs": "false"])
        #expect(addr(w2, l2, 0, "h") != addr(w2, l2, 1, "h"))
        #expect(off.frames == 2 && off.totalPages == 2)
    }

    /// c (64 B, in every version) takes h's address (`mov $h`: abs32s at 3, addend 0) and calls
    /// h (plt32 at 10); h changes in every version.
    static func stubTaker(extraFields: [Relocation] = []) -> TableEntry {
        TableEntry(kind: .function, name: "c", object: "o.o", section: ".text.c", binding: .global, order: 0, size: 64, align: 16, hash: "C",
                   relocations: [Relocation(offset: 3, type: .abs32s, target: "h", addend: 0), Relocation(offset: 10, type: .plt32, target: "h", addend: -4)])
    }

    @Test func aCanonicalStubKeepsTheAddressTakersPageShared() throws {
        // Without function slots h moves: h1 (64 B) at +64 and h2 (80 B) at +128 of c's page
        // (nested fill), each image mapping the other's h as a dead copy. c's call goes through
        // the jump table (one slot to h, at 0x40000000, one private page per image). Without
        // stubs c's `mov $h` reads h1 in image 0 and h2 in image 1: the code page splits,
        // 2 + 2 table frames = 4 frames, 4 pages. With canonical stubs the jump slot to h is
        // also h's stub: the abs32s field holds 0x40000000 in both images, the code page is one
        // frame: 1 + 2 = 3 frames, 4 pages (the stub costs no page: it is the jump slot).
        let v1 = Build.table("L", "1", [Self.stubTaker(), Build.fn("h", 64, "H1")])
        let v2 = Build.table("L", "2", [Self.stubTaker(), Build.fn("h", 80, "H2")])
        let (w, l, m) = try run([v1, v2], ["1", "2"], ["stable-function-slots": "false", "canonical-stubs": "true"])
        let c = addr(w, l, 0, "c")
        #expect(addr(w, l, 0, "h") == c + 64 && addr(w, l, 1, "h") == c + 128)
        let slot = AddressMap.trampolineBase
        for i in 0..<2 {
            #expect(l[i].trampolines.count == 1 && l[i].trampolines[0].slots == [TrampolineSlot(target: w.symbolIDs[0][1], addend: -4, canonicalStub: true)])
            #expect(l[i].redirects[c + 3] == slot && l[i].redirects[c + 10] == slot)
        }
        #expect(m.frames == 3 && m.totalPages == 4)
        let (_, l2, off) = try run([v1, v2], ["1", "2"], ["stable-function-slots": "false", "canonical-stubs": "false"])
        #expect(l2[0].redirects[c + 3] == nil && l2[0].redirects[c + 10] == slot)
        #expect(off.frames == 4 && off.totalPages == 4)
    }

    @Test func anImageWithAnAddressUseThatCannotTakeTheStubGetsNone() throws {
        // Three versions; in v3 a new function g (64 B) stores &h + 8 (abs64 at 0, addend 8),
        // which a stub cannot carry (the stub stands for &h only). Pointer equality: image 2
        // then uses no stub for h at all, and c's `mov $h` there stays direct; images 0 and 1
        // use the stub. Code: c at +0, h1 +64, h2 +128 (80 B), h3 +208 (96 B), g +304 on one page;
        // images 0 and 1 map h3 and g as dead copies (g's field pinned to what image 2 gives it),
        // so their pages are equal: 1 frame; image 2's differs in c's field: 1 frame. c's call goes
        // through the jump table in all three (3 private pages): 2 + 3 = 5 frames, 6 pages.
        // Without stubs c's field differs in all three: 3 + 3 = 6 frames, 6 pages.
        let g = TableEntry(kind: .function, name: "g", object: "o.o", section: ".text.g", binding: .global, order: 0, size: 64, align: 16,
                           hash: "G", relocations: [Relocation(offset: 0, type: .abs64, target: "h", addend: 8)])
        let v1 = Build.table("L", "1", [Self.stubTaker(), Build.fn("h", 64, "H1")])
        let v2 = Build.table("L", "2", [Self.stubTaker(), Build.fn("h", 80, "H2")])
        let v3 = Build.table("L", "3", [Self.stubTaker(), Build.fn("h", 96, "H3"), g])
        let (w, l, m) = try run([v1, v2, v3], ["1", "2", "3"], ["stable-function-slots": "false", "canonical-stubs": "true"])
        let c = addr(w, l, 0, "c")
        #expect(addr(w, l, 2, "h") == c + 208 && addr(w, l, 2, "g") == c + 304)
        let slot = AddressMap.trampolineBase
        #expect(l[0].redirects[c + 3] == slot && l[1].redirects[c + 3] == slot)
        #expect(l[2].redirects[c + 3] == nil && l[2].redirects[c + 304] == nil)
        #expect(l[0].redirects[c + 304] == c + 208)                   // the dead copy of g, pinned
        #expect(l.allSatisfy { $0.redirects[c + 10] == slot })
        #expect(m.frames == 5 && m.totalPages == 6)
        let (_, _, off) = try run([v1, v2, v3], ["1", "2", "3"], ["stable-function-slots": "false", "canonical-stubs": "false"])
        #expect(off.frames == 6 && off.totalPages == 6)

        // LayoutCheck refuses the unsound variants of this layout.
        func problems(_ l: [ImageLayout]) -> [String] { LayoutCheck.problems(workload: w, layouts: l, pageSize: 4096) }
        // Image 2 sends c's field through the stub while g still takes &h + 8 directly.
        var bad = l
        bad[2].redirects[c + 3] = slot
        #expect(problems(bad).contains { $0.contains("takes the address of h without its canonical stub") }, "\(problems(bad))")
        // ... and g's field too: an addend 8 cannot go through a stub.
        bad[2].redirects[c + 304] = slot
        #expect(problems(bad).contains { $0.contains("only an absolute reference to that function with addend 0") }, "\(problems(bad))")
        // Image 0 with the slot no longer a canonical stub: an address through a jump slot.
        var plain = l
        plain[0].trampolines[0].slots[0].canonicalStub = false
        #expect(problems(plain).contains { $0.contains("goes through a jump slot but is no direct branch") }, "\(problems(plain))")
        // A stub that leads elsewhere (addend 0: the jmp would not land on h).
        var off4 = l
        off4[0].trampolines[0].slots[0].addend = 0
        #expect(problems(off4).contains { $0.contains("canonical stub of h") }, "\(problems(off4))")
    }

    @Test func aSlotNoSharedBodyReferencesIsNotMade() throws {
        // d changes (D1 → D2) but only f1 / f2, themselves different in each version, read it:
        // keeping d's address would keep no shared body's bytes, so d1 and d2 stay two bodies.
        // Code: f1 {0} and f2 {1} on pages of their own (no page holds both sets): 2 frames;
        // data likewise 2: 4 frames, 4 pages.
        let v1 = Build.table("L", "1", [SpacerDeltaSoundnessTests.dataRef("f", 64, "F1", "d"), Build.data("d", 8, "D1", kind: .data)])
        let v2 = Build.table("L", "2", [SpacerDeltaSoundnessTests.dataRef("f", 64, "F2", "d"), Build.data("d", 8, "D2", kind: .data)])
        let (w, l, m) = try run([v1, v2], ["1", "2"], ["stable-function-slots": "false"])
        #expect(addr(w, l, 0, "d") != addr(w, l, 1, "d"))
        #expect(m.frames == 4 && m.totalPages == 4)
    }

    @Test func deadCopyFieldsArePinnedToTheRunnersValue() throws {
        // a (100 B) in both versions; x only in v1 calls h, which changes (H1 → H2, both only
        // called by x). Nested fill puts x into a's page; image 2 maps x as a dead copy, whose call
        // would resolve to h2 there: it is pinned to h1's address, so the page stays one frame.
        let v1 = Build.table("L", "1", [Build.fn("a", 100, "A"), Build.fn("x", 100, "X", calls: [(1, "h")]), Build.fn("h", 64, "H1")])
        let v2 = Build.table("L", "2", [Build.fn("a", 100, "A"), Build.fn("h", 64, "H2")])
        let (w, l, _) = try run([v1, v2], ["1", "2"])
        let x = addr(w, l, 0, "x")
        #expect(l[1].extraCopies.contains { $0.address == x })
        #expect(l[1].redirects[x + 1] == addr(w, l, 0, "h") && l[0].redirects[x + 1] == nil)
        let keys0 = Simulator.pageKeys(w, image: 0, layout: l[0], options: SimulationOptions())
        let keys1 = Simulator.pageKeys(w, image: 1, layout: l[1], options: SimulationOptions())
        let page = x / 4096
        #expect(keys0.first { $0.number == page }?.key == keys1.first { $0.number == page }?.key)
    }
}
