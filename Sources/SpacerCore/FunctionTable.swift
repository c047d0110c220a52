/// What an entry of a function table holds: code, read-only data, initialised data or zeroed data.
public enum EntryKind: String, CaseIterable, Sendable, Hashable {
    case function = "func"
    case rodata, data, bss

    /// Whether pages holding this kind are writable at run time (docs/design.md §2, dedup model).
    public var isWritable: Bool { self == .data || self == .bss }
    /// Whether the entry has file content (bss is zero-filled and has none).
    public var hasContent: Bool { self != .bss }
    /// Position in `allCases` (0 ..< 4), for arrays indexed by kind.
    public var index: Int {
        switch self { case .function: return 0; case .rodata: return 1; case .data: return 2; case .bss: return 3 }
    }
}

/// Symbol binding as ELF gives it; decides how references find an entry (see `Workload`).
public enum Binding: String, CaseIterable, Sendable, Hashable {
    case global, local, weak
}

/// One row of a function table: a function, or a data section that functions reference.
///
/// Sizes and alignments are in bytes. `hash` is the body hash: the hash of the entry's bytes
/// with every relocation field zeroed (empty for bss). Together with `relocations` it identifies
/// the *body*, the unit that can be shared across versions (docs/design.md §2).
public struct TableEntry: Hashable, Sendable {
    public var kind: EntryKind
    /// Symbol name (for data: the object's symbol, or a normalised literal name such as `str.<hash>`).
    public var name: String
    /// Object file the entry came from (`sqlite3.o`); empty for library-wide merged literals.
    public var object: String
    /// ELF section the entry came from (`.text.sqlite3VdbeExec`); informational.
    public var section: String
    public var binding: Binding
    /// Link order: the position the default link gives the entry (smaller first).
    public var order: Int
    /// Size in bytes, ≥ 1.
    public var size: Int
    /// Alignment in bytes, a power of two ≥ 1.
    public var align: Int
    /// Body hash (hex); empty for bss.
    public var hash: String
    /// Relocations, sorted by offset.
    public var relocations: [Relocation]

    /// The largest entry a table may hold: 256 MiB, the smallest address zone (`AddressMap`).
    /// Real functions are at most a few hundred KiB; the limit keeps a hostile table from
    /// making the simulator walk billions of pages.
    public static let maxSize = 1 << 28
    /// The largest alignment a table may hold (1 GiB).
    public static let maxAlign = 1 << 30

    public init(kind: EntryKind = .function, name: String, object: String = "", section: String = "",
                binding: Binding = .global, order: Int, size: Int, align: Int, hash: String,
                relocations: [Relocation] = []) {
        self.kind = kind; self.name = name; self.object = object; self.section = section
        self.binding = binding; self.order = order; self.size = size; self.align = align
        self.hash = hash; self.relocations = relocations
    }
}

/// All functions (and the data they reference) of one library version.
public struct FunctionTable: Hashable, Sendable {
    public var library: String
    public var version: String
    /// Entries sorted by `order` (link order).
    public var entries: [TableEntry]
    /// Provenance comments (`#` lines of the CSV), without the `#`.
    public var provenance: [String]

    public init(library: String, version: String, entries: [TableEntry], provenance: [String] = []) {
        self.library = library; self.version = version
        // Tables are usually in link order already: then no copy (a stable sort keeps them as is).
        self.entries = zip(entries, entries.dropFirst()).allSatisfy({ $0.order <= $1.order }) ? entries : entries.sorted { $0.order < $1.order }
        self.provenance = provenance
    }

    /// Total bytes of the entries of `kind`.
    public func bytes(of kind: EntryKind) -> Int {
        entries.reduce(0) { $0 + ($1.kind == kind ? $1.size : 0) }
    }
}

/// Orders version strings the way releases are numbered: dot- or dash-separated parts, numeric
/// parts compared as numbers (`3.9` < `3.10`), other parts as text.
public enum VersionOrder {
    /// Whether version `a` is older than version `b`.
    public static func less(_ a: String, _ b: String) -> Bool {
        let pa = parts(a), pb = parts(b)
        for (x, y) in zip(pa, pb) where x != y {
            switch (Int(x), Int(y)) {
            case let (i?, j?): return i < j
            case (_?, nil): return true
            case (nil, _?): return false
            default: return x < y
            }
        }
        return pa.count < pb.count
    }
    private static func parts(_ v: String) -> [Substring] {
        v.split(whereSeparator: { $0 == "." || $0 == "-" || $0 == "_" })
    }
}
