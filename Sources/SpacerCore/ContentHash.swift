/// Deterministic hashing. Swift's `Hasher` is seeded per process and must never decide a result
/// (docs/design.md §7), so every hash that reaches a table, a page key or an output is computed here.

/// 64-bit FNV-1a over bytes: the body hash of function tables (16 lowercase hex digits).
///
/// Source: Fowler, Noll, Vo, "FNV hash", IETF draft-eastlake-fnv (offset basis 0xcbf29ce484222325,
/// prime 0x100000001b3).
public struct FNV1a64: Sendable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    public init() {}
    /// Mixes `bytes` into the hash, one byte at a time.
    public mutating func update<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        var h = value
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        value = h
    }
    /// The hash as 16 lowercase hexadecimal digits.
    public var hex: String {
        let s = String(value, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
    /// Hash of `bytes` as 16 hex digits.
    public static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var h = FNV1a64(); h.update(bytes); return h.hex
    }
    /// Hash of a string's UTF-8 bytes as a 64-bit value.
    public static func value(_ string: String) -> UInt64 {
        var h = FNV1a64(); h.update(string.utf8); return h.value
    }
}

/// A 128-bit page content key digest: two independent 64-bit lanes, each a multiply-xorshift mix
/// of 64-bit words (the splitmix64 finaliser). Keys are compared as digests; a false merge needs
/// a 128-bit collision.
public struct PageDigest: Hashable, Sendable {
    public var a: UInt64
    public var b: UInt64
    public init() { a = 0x9e37_79b9_7f4a_7c15; b = 0xc2b2_ae3d_27d4_eb4f }
    // @inlinable: the simulator mixes tens of millions of words per run; a call per word cost 18 %
    // of scoring time on the large preset (perf, spacer-bench).
    @inlinable static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    /// Mixes one 64-bit word into both lanes.
    @inlinable public mutating func add(_ w: UInt64) {
        a = PageDigest.mix(a ^ w) &+ 0x9e37_79b9_7f4a_7c15
        b = PageDigest.mix(b &+ (w &* 0xff51_afd7_ed55_8ccd)) ^ 0xc4ce_b9fe_1a85_ec53
    }
    @inlinable public mutating func add(_ w: Int) { add(UInt64(bitPattern: Int64(w))) }
}

/// SplitMix64: the seeded, deterministic generator every randomised strategy and generator uses.
///
/// Source: Steele, Lea, Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        return PageDigest.mix(state)
    }
}
