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
public struct TrampolineSlot: Hashable, Sendable {
    public var target: Int32
    public var addend: Int64
    public init(target: Int32, addend: Int64) { self.target = target; self.addend = addend }
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
    /// than private to the image (DESIGN.md §2: private by default).
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
    /// against the slot instead of its target.
    public var redirects: [UInt64: UInt64]
    /// Mapped address ranges. Every byte placed must lie in a region.
    public var regions: [Region]

    public init(addresses: [[UInt64]], extraCopies: [PlacedCopy] = [], trampolines: [TrampolineTable] = [],
                redirects: [UInt64: UInt64] = [:], regions: [Region] = []) {
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
public struct SymbolResolver: Sendable {
    private var address: [Int32: UInt64] = [:]
    private let names: [String]

    /// - Complexity: O(entries of the image + extra copies).
    public init(workload: Workload, image: Int, layout: ImageLayout) {
        names = workload.symbolNames
        for c in layout.extraCopies { address[workload.symbolIDs[c.table][c.entry]] = c.address }
        for (k, t) in workload.images[image].tables.enumerated() {
            let syms = workload.symbolIDs[t]
            for (e, a) in layout.addresses[k].enumerated() where a != ImageLayout.removed { address[syms[e]] = a }
        }
    }
    /// Address of symbol `s` in this image.
    @inline(__always) public func resolve(_ s: Int32) -> UInt64 {
        if let a = address[s] { return a }
        return AddressMap.external(names[Int(s)])
    }
    /// Whether the image defines `s` (own entry or extra copy).
    public func defines(_ s: Int32) -> Bool { address[s] != nil }
}
