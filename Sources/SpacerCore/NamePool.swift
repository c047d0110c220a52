#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The strings of one parse (names, objects, sections, body hashes, relocation targets), each
/// stored once under a dense id `0 ..< count`: the `String`, its UTF-8 bytes and their
/// `NameInterner.hash`. Immutable; tables read from one file share one pool (issue 14 item 1).
package final class NamePool: Sendable {
    /// `strings[id]`: the string of an id.
    package let strings: [String]
    /// `hashes[id]`: `NameInterner.hash` of the string's UTF-8 bytes.
    package let hashes: [UInt64]
    /// Every string's UTF-8 bytes, concatenated: id `i` is `bytes[starts[i] ..< starts[i + 1]]`.
    package let bytes: [UInt8]
    /// Byte offsets into `bytes`, one per id plus the end (`strings.count + 1` values).
    package let starts: [Int]

    init(strings: [String], hashes: [UInt64], bytes: [UInt8], starts: [Int]) {
        self.strings = strings; self.hashes = hashes; self.bytes = bytes; self.starts = starts
    }

    /// Number of strings.
    package var count: Int { strings.count }
}

/// Interns byte strings to dense `Int32` ids in order of first appearance (open addressing,
/// load factor at most 1/2, probing compares the 64-bit hash first, then the bytes): one hash
/// of a name where it is read, and integer keys after that. Not `Hasher`: the hash is the fixed
/// `NameInterner.hash`, so that a pool's hashes can be reused to merge pools (`Workload.init`).
package struct NameInterner {
    /// Open-addressing slots: a string's hash and id (−1: empty), one record per probe.
    private struct Slot { var hash: UInt64 = 0; var id: Int32 = -1 }
    private var slots: [Slot]
    private var strings: [String] = []
    private var hashes: [UInt64] = []
    private var bytes: [UInt8] = []
    private var starts: [Int] = [0]

    /// An empty interner with room for about `capacity` strings before it grows.
    package init(capacity: Int = 512) {
        var n = 64
        while n < 2 * capacity { n <<= 1 }
        slots = Array(repeating: Slot(), count: n)
    }

    /// Number of strings interned.
    package var count: Int { strings.count }

    /// A 64-bit hash of `n` bytes at `p`, eight bytes per step (a multiply–xorshift mix per
    /// word, the length mixed in first, a murmur3 finaliser at the end). Fast on short names; the
    /// interner compares bytes on a hash match, so collisions cost time only.
    @inline(__always)
    package static func hash(_ p: UnsafePointer<UInt8>?, _ n: Int) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: n)
        guard let p, n > 0 else { return h }
        let raw = UnsafeRawPointer(p)
        var i = 0
        while i + 8 <= n {
            let v = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ v) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 31
            i += 8
        }
        if i < n {
            var v: UInt64 = 0, s: UInt64 = 0
            while i < n { v |= UInt64(p[i]) << s; s += 8; i += 1 }
            h = (h ^ v) &* 0x94D0_49BB_1331_11EB
            h ^= h >> 29
        }
        h ^= h >> 33; h = h &* 0xFF51_AFD7_ED55_8CCD; h ^= h >> 33
        return h
    }

    /// The id of the bytes `b`, interning them (as a `String` decoded from UTF-8) if new.
    @inline(__always)
    package mutating func id(_ b: UnsafeBufferPointer<UInt8>) -> Int32 {
        id(b, hash: Self.hash(b.baseAddress, b.count))
    }

    /// As `id(_:)`, with `hash == NameInterner.hash(b)` already known.
    package mutating func id(_ b: UnsafeBufferPointer<UInt8>, hash h: UInt64) -> Int32 {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let slot = slots[i]
            if slot.id < 0 { break }
            if slot.hash == h && equal(Int(slot.id), b) { return slot.id }
            i = (i + 1) & mask
        }
        let k = Int32(strings.count)
        strings.append(String(decoding: b, as: UTF8.self)); hashes.append(h)
        bytes.append(contentsOf: b); starts.append(bytes.count)
        slots[i] = Slot(hash: h, id: k)
        if strings.count * 2 > slots.count { grow() }
        return k
    }

    /// The id of `s`, interning it if new.
    package mutating func id(_ s: String) -> Int32 {
        var s = s
        return s.withUTF8 { id($0) }
    }

    /// The id of `s` if it was interned, else nil.
    package func find(_ s: String) -> Int32? {
        var s = s
        return s.withUTF8 { b -> Int32? in
            let h = Self.hash(b.baseAddress, b.count)
            let mask = slots.count - 1
            var i = Int(truncatingIfNeeded: h) & mask
            while slots[i].id >= 0 {
                if slots[i].hash == h && equal(Int(slots[i].id), b) { return slots[i].id }
                i = (i + 1) & mask
            }
            return nil
        }
    }

    /// `strings[id]`.
    package func string(_ id: Int32) -> String { strings[Int(id)] }

    /// The interned strings as an immutable pool (ids unchanged).
    package func pool() -> NamePool {
        NamePool(strings: strings, hashes: hashes, bytes: bytes, starts: starts)
    }

    @inline(__always)
    private func equal(_ k: Int, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        let a = starts[k], n = starts[k + 1] - a
        guard n == b.count else { return false }
        if n == 0 { return true }
        return bytes.withUnsafeBufferPointer { memcmp($0.baseAddress! + a, b.baseAddress!, n) == 0 }
    }

    private mutating func grow() {
        let n = slots.count * 2, mask = n - 1
        var new = [Slot](repeating: Slot(), count: n)
        for (k, h) in hashes.enumerated() {
            var j = Int(truncatingIfNeeded: h) & mask
            while new[j].id >= 0 { j = (j + 1) & mask }
            new[j] = Slot(hash: h, id: Int32(k))
        }
        slots = new
    }
}

/// A map from a pair of 64-bit integers to an `Int32` (open addressing, load factor at most
/// 1/2, a multiply–xorshift hash; a slot's key, value and state in one 24-byte record, so that a
/// probe touches one cache line): the integer-keyed tables of loading and `Workload.init`
/// (symbol, content, body-instance keys over interned ids), without `Hasher`.
package struct IDPairMap {
    private struct Slot { var a: UInt64 = 0; var b: UInt64 = 0; var value: Int32 = 0; var used = false }
    private var slots: [Slot]
    /// Number of keys.
    package private(set) var count = 0

    /// An empty map with room for about `capacity` keys before it grows.
    package init(capacity: Int = 256) {
        var n = 16
        while n < 2 * capacity { n <<= 1 }
        slots = Array(repeating: Slot(), count: n)
    }

    @inline(__always)
    private static func slot(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var h = (a &* 0x9E37_79B9_7F4A_7C15) ^ (b &+ 0x632B_E59B_D9B4_E019)
        h = (h ^ (h >> 32)) &* 0xD6E8_FEB8_6659_FD93
        return h ^ (h >> 32)
    }

    /// The value of key (a, b), or nil.
    @inline(__always)
    package func get(_ a: UInt64, _ b: UInt64 = 0) -> Int32? {
        slots.withUnsafeBufferPointer { s -> Int32? in
            let mask = s.count - 1
            var i = Int(truncatingIfNeeded: Self.slot(a, b)) & mask
            while s[i].used {
                if s[i].a == a && s[i].b == b { return s[i].value }
                i = (i + 1) & mask
            }
            return nil
        }
    }

    /// The value of key (a, b); when absent, `value` is stored and returned with `inserted` true.
    @inline(__always)
    package mutating func insert(_ a: UInt64, _ b: UInt64 = 0, value: Int32) -> (value: Int32, inserted: Bool) {
        let found = slots.withUnsafeMutableBufferPointer { s -> Int32? in
            let mask = s.count - 1
            var i = Int(truncatingIfNeeded: Self.slot(a, b)) & mask
            while s[i].used {
                if s[i].a == a && s[i].b == b { return s[i].value }
                i = (i + 1) & mask
            }
            s[i] = Slot(a: a, b: b, value: value, used: true)
            return nil
        }
        if let found { return (found, false) }
        count += 1
        if count * 2 > slots.count { grow() }
        return (value, true)
    }

    private mutating func grow() {
        let n = slots.count * 2, mask = n - 1
        var new = [Slot](repeating: Slot(), count: n)
        for s in slots where s.used {
            var j = Int(truncatingIfNeeded: Self.slot(s.a, s.b)) & mask
            while new[j].used { j = (j + 1) & mask }
            new[j] = s
        }
        slots = new
    }
}
