import SpacerCore

/// Mappings per page content key: the simulator's tally of how many instance-pages hold each
/// distinct `PageDigest` (docs/design.md §4, `frames` and `pages_shared`).
///
/// An open-addressing hash table (linear probing, power-of-two capacity, at most half full) over
/// one flat array of fixed-width slots (two 64-bit key words and a count). The digest is already
/// a well-mixed 128-bit hash, so its first word is the slot index: no `Hasher` runs, nothing is
/// allocated per page, and memory grows with distinct keys (24 B per slot), not with mappings.
/// Every mapping count is ≥ 1, so a count of 0 marks an empty slot.
struct PageCounter {
    struct Slot { var a: UInt64; var b: UInt64; var count: Int }
    private(set) var slots: [Slot]
    private var mask: Int
    /// Distinct keys held.
    private(set) var count = 0

    /// An empty table with room for about `capacity` keys before it first grows.
    init(capacity: Int = 1024) {
        var n = 16
        while n < 2 * capacity { n <<= 1 }
        slots = [Slot](repeating: Slot(a: 0, b: 0, count: 0), count: n)
        mask = n - 1
    }

    /// Adds `n` ≥ 1 mappings of `key`.
    @inline(__always) mutating func add(_ key: PageDigest, _ n: Int) {
        if 2 * (count + 1) > slots.count { grow() }
        let m = mask
        let inserted: Bool = slots.withUnsafeMutableBufferPointer { s in
            var i = Int(truncatingIfNeeded: key.a) & m
            while true {
                if s[i].count == 0 { s[i] = Slot(a: key.a, b: key.b, count: n); return true }
                if s[i].a == key.a && s[i].b == key.b { s[i].count += n; return false }
                i = (i + 1) & m
            }
        }
        if inserted { count += 1 }
    }

    /// Adds every key of `other` with its count.
    mutating func merge(_ other: PageCounter) {
        for s in other.slots where s.count > 0 { add(Self.digest(s), s.count) }
    }

    /// Calls `body` with the mapping count of every distinct key (in slot order, which depends on
    /// the keys only through their sums, so use it for order-free reductions).
    func forEachCount(_ body: (Int) -> Void) {
        slots.withUnsafeBufferPointer { s in for x in s where x.count > 0 { body(x.count) } }
    }

    @inline(__always) private static func digest(_ s: Slot) -> PageDigest {
        var d = PageDigest()
        d.a = s.a; d.b = s.b
        return d
    }

    private mutating func grow() {
        let old = slots
        let n = old.count * 2
        slots = [Slot](repeating: Slot(a: 0, b: 0, count: 0), count: n)
        mask = n - 1
        count = 0
        for s in old where s.count > 0 { add(Self.digest(s), s.count) }
    }
}
