import Testing
import SpacerCore

/// `RedirectMap` behaves as the `[UInt64: UInt64]` it replaced, with shared runs.
@Suite struct RedirectMapTests {
    @Test func runsAndSinglesActAsOneMap() {
        let run = RedirectMap.Run(fields: [0x1000, 0x1010, 0x2000], slots: [0x4000_0000, 0x4000_0010, 0x4000_0000])
        var a = RedirectMap()
        a.add(run)
        a[0x3000] = 0x4000_0020
        #expect(a[0x1010] == 0x4000_0010 && a[0x3000] == 0x4000_0020 && a[0x1008] == nil)
        #expect(a.count == 4)
        // A single entry overrides the run's entry for its field.
        a[0x2000] = 0x4000_0030
        #expect(a[0x2000] == 0x4000_0030 && a.count == 4)
        // Iteration and `sorted()` give every pair once, ascending.
        #expect(a.map(\.key) == [0x1000, 0x1010, 0x2000, 0x3000])
        #expect(a.sorted().slots == [0x4000_0000, 0x4000_0010, 0x4000_0030, 0x4000_0020])
        // Equality is the map's: the same pairs built as a literal compare equal.
        let b: RedirectMap = [0x1000: 0x4000_0000, 0x1010: 0x4000_0010, 0x2000: 0x4000_0030, 0x3000: 0x4000_0020]
        #expect(a == b && a.hashValue == b.hashValue)
        // Two images given one run share its storage and compare equal without copying it.
        var c = RedirectMap(), d = RedirectMap()
        c.add(run); d.add(run)
        #expect(c == d && c.runs[0] === d.runs[0])
        #expect(RedirectMap().isEmpty && !c.isEmpty)
    }

    @Test func interleavedRunsMergeInOrder() {
        // Two runs whose ranges interleave (a region's slots and an image's pins), plus a single.
        var m = RedirectMap()
        m.add(RedirectMap.Run(fields: [0x100, 0x300, 0x500], slots: [1, 3, 5]))
        m.add(RedirectMap.Run(fields: [0x200, 0x400], slots: [2, 4]))
        m[0x250] = 25
        #expect(m.keys == [0x100, 0x200, 0x250, 0x300, 0x400, 0x500])
        #expect(m.values == [1, 2, 25, 3, 4, 5])
        #expect(m[0x400] == 4 && m[0x450] == nil && m.count == 6)
    }
}
