/// A copy of a table entry mapped by an image although the image does not use it (for example
/// an old body that Spacer-Δ keeps in an earlier delta region).
public struct PlacedCopy: Hashable, Sendable {
    /// Index into `Workload.tables`.
    public var table: Int
    /// Index into that table's entries.
    public var entry: Int
    /// Virtual address of the copy's first byte.
    public var address: UInt64
    public init(table: Int, entry: Int, address: UInt64) { self.table = table; self.entry = entry; self.address = address }
}

/// One jump slot of a trampoline table: it leads to `target` (a symbol id) plus `addend`.
///
/// A slot with `canonicalStub` is also the image's **canonical function-pointer stub** of
/// `target` (addend −4: the slot's `jmp rel32` lands on the function): besides direct branches,
/// the relocation fields that take the function's address as a value (absolute, addend 0) may be
/// redirected to the slot's address, which then stands for `&target` in the whole image. The
/// slot sits at one address in every image that holds the function, so pages holding `&target`
/// stay identical when the function's body moves. `LayoutCheck.redirectProblems` holds the
/// rule that keeps pointer equality (every live reference to the address uses the one stub).
public struct TrampolineSlot: Hashable, Sendable {
    /// The symbol id (`Workload.symbolNames`) the slot's `jmp` reaches.
    public var target: Int32
    /// The addend of the branches the slot carries, in bytes (−4 for a `call`/`jmp rel32`).
    public var addend: Int64
    /// Whether address-taking fields of `target` may go through this slot (see above).
    public var canonicalStub: Bool
    /// A slot to `target` with `addend`; a canonical stub only when `canonicalStub` says so.
    public init(target: Int32, addend: Int64, canonicalStub: Bool = false) {
        self.target = target; self.addend = addend; self.canonicalStub = canonicalStub
    }
}

/// A trampoline table (`.ind`): slots of `slotSize` bytes from `address` on, at a fixed address.
/// Shared code references a slot instead of a target that differs between images.
public struct TrampolineTable: Hashable, Sendable {
    public var address: UInt64
    public var slotSize: Int
    public var slots: [TrampolineSlot]
    /// Bytes reserved for the table (≥ slots × slotSize); pages of the reservation are mapped.
    public var reservedBytes: Int
    /// Whether pages of this table are keyed by content (shareable when entries agree) rather
    /// than private to the image (docs/design.md §2: private by default).
    public var contentKeyed: Bool
    public init(address: UInt64, slotSize: Int, slots: [TrampolineSlot], reservedBytes: Int, contentKeyed: Bool = false) {
        self.address = address; self.slotSize = slotSize; self.slots = slots
        self.reservedBytes = reservedBytes; self.contentKeyed = contentKeyed
    }
}

/// An address range an image maps, `[start, start + size)`.
public struct Region: Hashable, Sendable {
    public var name: String
    public var start: UInt64
    public var size: UInt64
    /// Whether the strategy claims the region starts on a page boundary (checked).
    public var pageAligned: Bool
    public init(name: String, start: UInt64, size: UInt64, pageAligned: Bool) {
        self.name = name; self.start = start; self.size = size; self.pageAligned = pageAligned
    }
    public var end: UInt64 { start + size }
}

/// The placement of one image: the address of every entry of its tables, extra mapped copies,
/// trampoline tables, redirected relocation fields and mapped regions.
public struct ImageLayout: Hashable, Sendable {
    /// Marks an entry the strategy removed from the image (dead-code elimination).
    public static let removed = UInt64.max

    /// `addresses[k][e]`: address of entry `e` of the image's k-th table (`Image.tables[k]`),
    /// or `ImageLayout.removed`.
    public var addresses: [[UInt64]]
    public var extraCopies: [PlacedCopy]
    public var trampolines: [TrampolineTable]
    /// Field address → slot address: the relocation whose field starts at the key is resolved
    /// against the slot instead of its target (`RedirectMap`: shared runs plus single entries).
    public var redirects: RedirectMap
    /// Mapped address ranges. Every byte placed must lie in a region.
    public var regions: [Region]

    public init(addresses: [[UInt64]], extraCopies: [PlacedCopy] = [], trampolines: [TrampolineTable] = [],
                redirects: RedirectMap = [:], regions: [Region] = []) {
        self.addresses = addresses; self.extraCopies = extraCopies; self.trampolines = trampolines
        self.redirects = redirects; self.regions = regions
    }

    /// An empty layout for `image`, every entry unplaced.
    public init(for image: Image, in workload: Workload) {
        self.init(addresses: image.tables.map { [UInt64](repeating: ImageLayout.removed, count: workload.tables[$0].entries.count) })
    }
}

/// Fixed address zones shared by the built-in strategies. Code starts where Unikraft's does;
/// every zone lies below 2 GiB so that a `-fno-pic` (small code model) link can reach it.
/// Zone sizes: code 1 GiB − 1 MiB, trampolines, rodata and writable data 256 MiB each; a layout
/// that overflows a zone overlaps the next one and is refused by `LayoutCheck`.
public enum AddressMap {
    /// First code address (Unikraft's 0x100000).
    public static let codeBase: UInt64 = 0x10_0000
    /// Trampoline tables.
    public static let trampolineBase: UInt64 = 0x4000_0000
    /// Read-only data.
    public static let rodataBase: UInt64 = 0x5000_0000
    /// Writable data (data, then bss).
    public static let writableBase: UInt64 = 0x6000_0000
    /// Bytes of the code zone (`codeBase` up to `trampolineBase`).
    public static let codeZoneBytes = Int(trampolineBase - codeBase)
    /// Bytes of the read-only data zone.
    public static let rodataZoneBytes = Int(writableBase - rodataBase)
    /// Bytes of the writable data zone (up to the external-symbol addresses).
    public static let writableZoneBytes = Int(0x7000_0000 - writableBase)
    /// Symbols that no table defines: one fixed address per name in every image.
    public static func external(_ name: String) -> UInt64 {
        0x7000_0000 + (FNV1a64.value(name) % (1 << 24)) * 16
    }
}

/// Rounds `x` up to a multiple of `a` (a power of two).
@inline(__always) public func alignUp(_ x: UInt64, _ a: Int) -> UInt64 {
    let m = UInt64(max(a, 1)) - 1
    return (x + m) & ~m
}

/// Resolves symbols to addresses inside one image's layout.
///
/// Own entries win; extra copies define the symbols the image's own tables lack (a dead old copy
/// calling another dead copy); anything else is external (`AddressMap.external`).
///
/// Storage is one dense array indexed by symbol id (8 bytes × `workload.symbolNames.count`), so a
/// lookup is an array read; external addresses come from `Workload.externalAddresses`.
public struct SymbolResolver: Sendable {
    private var address: [UInt64]
    private let external: [UInt64]
    private static let undefined = UInt64.max

    /// - Complexity: O(symbols of the workload + entries of the image + extra copies).
    public init(workload: Workload, image: Int, layout: ImageLayout) {
        external = workload.externalAddresses
        address = [UInt64](repeating: SymbolResolver.undefined, count: workload.symbolNames.count)
        for c in layout.extraCopies { address[Int(workload.symbolIDs[c.table][c.entry])] = c.address }
        for (k, t) in workload.images[image].tables.enumerated() {
            let syms = workload.symbolIDs[t]
            for (e, a) in layout.addresses[k].enumerated() where a != ImageLayout.removed { address[Int(syms[e])] = a }
        }
    }
    /// Address of symbol `s` in this image.
    @inline(__always) public func resolve(_ s: Int32) -> UInt64 {
        let a = address[Int(s)]
        return a != SymbolResolver.undefined ? a : external[Int(s)]
    }
    /// Whether the image defines `s` (own entry or extra copy).
    public func defines(_ s: Int32) -> Bool { address[Int(s)] != SymbolResolver.undefined }
}

/// Redirected relocation fields of one image: field address → trampoline slot address.
///
/// A map with the interface of `[UInt64: UInt64]` (subscript, iteration as `(key, value)`,
/// `count`, dictionary literals), stored as immutable sorted runs plus single entries. A strategy
/// that gives many images the same redirects (Spacer-Δ: every image that maps a region redirects
/// the same fields of it) adds one `Run` to each of them: the run's arrays are shared, not copied,
/// so memory grows with the regions, not with images × fields.
///
/// A field should appear at most once over all runs; a single entry (`subscript` set) overrides a
/// run's entry for its field.
public struct RedirectMap: Hashable, Sendable, Sequence, ExpressibleByDictionaryLiteral {
    /// Redirected fields sorted ascending (no duplicates), and the slot address of each.
    public final class Run: Sendable {
        public let fields: [UInt64]
        public let slots: [UInt64]
        /// - Precondition: `fields` sorted ascending without duplicates; `slots.count == fields.count`.
        public init(fields: [UInt64], slots: [UInt64]) {
            precondition(fields.count == slots.count, "a run needs one slot per field")
            self.fields = fields; self.slots = slots
        }
        /// The slot of `field`, by binary search; O(log n).
        public func slot(_ field: UInt64) -> UInt64? {
            guard let first = fields.first, field >= first, field <= fields[fields.count - 1] else { return nil }
            var lo = 0, hi = fields.count
            while lo < hi { let mid = (lo + hi) / 2; if fields[mid] < field { lo = mid + 1 } else { hi = mid } }
            return lo < fields.count && fields[lo] == field ? slots[lo] : nil
        }
    }

    /// The shared runs, in the order added.
    public private(set) var runs: [Run] = []
    private var single: [UInt64: UInt64] = [:]
    /// The single entries (set through the subscript); they override runs.
    public var singles: [UInt64: UInt64] { single }

    public init() {}
    public init(dictionaryLiteral elements: (UInt64, UInt64)...) {
        for (k, v) in elements { single[k] = v }
    }

    /// Adds a shared run. - Complexity: O(1).
    public mutating func add(_ run: Run) { if !run.fields.isEmpty { runs.append(run) } }

    /// The slot of `field`, or nil; setting adds or removes a single entry.
    /// - Complexity: get O(r + log n) for r runs; set O(1) amortised.
    public subscript(field: UInt64) -> UInt64? {
        get {
            if let v = single[field] { return v }
            for r in runs { if let v = r.slot(field) { return v } }
            return nil
        }
        set { single[field] = newValue }
    }

    /// Number of redirected fields.
    public var count: Int { sorted().fields.count }
    /// The redirected field addresses, ascending (as `Dictionary.keys`, but sorted).
    public var keys: [UInt64] { sorted().fields }
    /// The slot (or pinned) addresses, in the order of `keys`.
    public var values: [UInt64] { sorted().slots }
    public var isEmpty: Bool { single.isEmpty && runs.isEmpty }

    /// Every redirect as two arrays sorted by field (single entries override runs).
    /// - Complexity: O(n · c + r · c) for n redirects in r runs that form c chains of
    ///   non-overlapping runs (one chain: a concatenation, O(n)), plus O(s log s) for s singles.
    public func sorted() -> (fields: [UInt64], slots: [UInt64]) {
        if single.isEmpty && runs.count == 1 { return (runs[0].fields, runs[0].slots) }
        let total = runs.reduce(0) { $0 + $1.fields.count }
        var fields: [UInt64] = [], slots: [UInt64] = []
        fields.reserveCapacity(total + single.count); slots.reserveCapacity(total + single.count)
        let order = runs.indices.filter { !runs[$0].fields.isEmpty }.sorted { runs[$0].fields[0] < runs[$1].fields[0] }
        // Chains: runs that follow each other without overlapping read as one sorted sequence
        // (Spacer-Δ's per-region slot runs form one chain, each image's pin runs a few more).
        var chains: [[Int]] = []
        for r in order {
            if let c = chains.firstIndex(where: { runs[$0.last!].fields.last! < runs[r].fields[0] }) { chains[c].append(r) }
            else { chains.append([r]) }
        }
        // Each chain as plain arrays, then two-way merges (c is small: a handful of chains).
        for r in chains.first ?? [] { fields += runs[r].fields; slots += runs[r].slots }
        for chain in chains.dropFirst() {
            var cf: [UInt64] = [], cs: [UInt64] = []
            for r in chain { cf += runs[r].fields; cs += runs[r].slots }
            var mf: [UInt64] = [], ms: [UInt64] = []
            mf.reserveCapacity(fields.count + cf.count); ms.reserveCapacity(fields.count + cf.count)
            var i = 0, j = 0
            while i < fields.count || j < cf.count {
                // Equal fields (a field in two runs): the later run (this chain) wins.
                if j == cf.count || (i < fields.count && fields[i] < cf[j]) { mf.append(fields[i]); ms.append(slots[i]); i += 1 }
                else { if i < fields.count && fields[i] == cf[j] { i += 1 }; mf.append(cf[j]); ms.append(cs[j]); j += 1 }
            }
            fields = mf; slots = ms
        }
        guard !single.isEmpty else { return (fields, slots) }
        // Singles override: merge them in.
        let extra = single.sorted { $0.key < $1.key }
        var f2: [UInt64] = [], s2: [UInt64] = []
        f2.reserveCapacity(fields.count + extra.count); s2.reserveCapacity(fields.count + extra.count)
        var i = 0
        for (k, v) in extra {
            while i < fields.count && fields[i] < k { f2.append(fields[i]); s2.append(slots[i]); i += 1 }
            if i < fields.count && fields[i] == k { i += 1 }
            f2.append(k); s2.append(v)
        }
        while i < fields.count { f2.append(fields[i]); s2.append(slots[i]); i += 1 }
        return (f2, s2)
    }

    public func makeIterator() -> IndexingIterator<[(key: UInt64, value: UInt64)]> {
        let s = sorted()
        return zip(s.fields, s.slots).map { (key: $0.0, value: $0.1) }.makeIterator()
    }

    public static func == (a: RedirectMap, b: RedirectMap) -> Bool {
        if a.single == b.single && a.runs.count == b.runs.count && zip(a.runs, b.runs).allSatisfy({ $0 === $1 }) { return true }
        let x = a.sorted(), y = b.sorted()
        return x.fields == y.fields && x.slots == y.slots
    }
    public func hash(into h: inout Hasher) {
        let s = sorted()
        h.combine(s.fields); h.combine(s.slots)
    }
}
