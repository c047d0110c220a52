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
///
/// A table read by `TableCSV` also carries its entries in interned form (`columns`: every name,
/// object, hash and relocation target as an integer id of the file's `NamePool`, and the
/// numbers `Workload.init` needs as flat arrays), so that indexing a workload hashes no string
/// per entry or relocation. Any change of `entries` drops that form (`Workload.init` then
/// interns the entries itself); equality and hashing ignore it.
public struct FunctionTable: Hashable, Sendable {
    public var library: String
    public var version: String
    /// Entries sorted by `order` (link order).
    public var entries: [TableEntry] {
        get { storedEntries }
        set { storedEntries = newValue; columns = nil }
        _modify { columns = nil; yield &storedEntries }
    }
    /// Provenance comments (`#` lines of the CSV), without the `#`.
    public var provenance: [String]
    private var storedEntries: [TableEntry]
    /// The interned form of `entries`, in their order; nil for a table built or changed in code.
    package private(set) var columns: TableColumns?

    public init(library: String, version: String, entries: [TableEntry], provenance: [String] = []) {
        self.library = library; self.version = version
        // Tables are usually in link order already: then no copy (a stable sort keeps them as is).
        self.storedEntries = zip(entries, entries.dropFirst()).allSatisfy({ $0.order <= $1.order }) ? entries : entries.sorted { $0.order < $1.order }
        self.provenance = provenance
        self.columns = nil
    }

    /// A table with its interned form: `columns` describes `entries` row by row (the reader's
    /// order); both are put in link order as `init(library:version:entries:provenance:)` does.
    package init(library: String, version: String, entries: [TableEntry], columns: TableColumns, provenance: [String]) {
        self.library = library; self.version = version; self.provenance = provenance
        if zip(entries, entries.dropFirst()).allSatisfy({ $0.order <= $1.order }) {
            self.storedEntries = entries; self.columns = columns
        } else {
            // The same sort on the same comparisons as the public init: the same permutation.
            let perm = entries.indices.sorted { entries[$0].order < entries[$1].order }
            self.storedEntries = perm.map { entries[$0] }
            self.columns = columns.permuted(perm)
        }
    }

    /// Equal when library, version, entries and provenance are; the interned `columns` are a
    /// cache of the entries and never take part.
    public static func == (a: FunctionTable, b: FunctionTable) -> Bool {
        a.library == b.library && a.version == b.version && a.storedEntries == b.storedEntries && a.provenance == b.provenance
    }

    /// Hashes what `==` compares (not `columns`).
    public func hash(into h: inout Hasher) {
        h.combine(library); h.combine(version); h.combine(storedEntries); h.combine(provenance)
    }

    /// `columns`, or the interned form built from `entries` now (a table built in code).
    package var interned: TableColumns { columns ?? TableColumns(entries: storedEntries) }

    /// Total bytes of the entries of `kind`.
    public func bytes(of kind: EntryKind) -> Int {
        entries.reduce(0) { $0 + ($1.kind == kind ? $1.size : 0) }
    }
}

/// A table's entries as column arrays over interned ids, in entry order: what `Workload.init`
/// reads instead of the entries' strings. `name`, `object`, `hash` and `relocationTarget` are
/// ids of `pool`; entry `e`'s relocations (sorted by offset, as in `TableEntry.relocations`) are
/// `relocationStart[e] ..< relocationStart[e + 1]` of the relocation columns.
package struct TableColumns: Sendable {
    package var pool: NamePool
    package var name: [Int32] = [], object: [Int32] = [], hash: [Int32] = []
    package var kind: [EntryKind] = [], binding: [Binding] = []
    package var size: [Int] = [], align: [Int] = []
    package var relocationStart: [Int] = [0]
    package var relocationTarget: [Int32] = [], relocationOffset: [Int] = [], relocationType: [RelocationType] = [], relocationAddend: [Int64] = []

    /// Empty columns over `pool` (the reader appends row by row).
    package init(pool: NamePool) { self.pool = pool }

    /// The interned form of entries built in code: every string interned here, into a pool of
    /// this table's own.
    package init(entries: [TableEntry]) {
        var names = NameInterner(capacity: entries.count * 2)
        var c = TableColumns(pool: NameInterner().pool())
        c.reserve(entries.count)
        for e in entries {
            var targets: [Int32] = []
            targets.reserveCapacity(e.relocations.count)
            for r in e.relocations { targets.append(names.id(r.target)) }
            c.append(name: names.id(e.name), object: names.id(e.object), hash: names.id(e.hash), kind: e.kind, binding: e.binding,
                     size: e.size, align: e.align)
            for (r, t) in zip(e.relocations, targets) { c.appendRelocation(target: t, offset: r.offset, type: r.type, addend: r.addend) }
            c.endEntry()
        }
        c.pool = names.pool()
        self = c
    }

    /// Number of entries.
    package var count: Int { name.count }

    /// Reserves room for `n` entries in every entry column (not in the relocation columns).
    package mutating func reserve(_ n: Int) {
        name.reserveCapacity(n); object.reserveCapacity(n); hash.reserveCapacity(n); kind.reserveCapacity(n)
        binding.reserveCapacity(n); size.reserveCapacity(n); align.reserveCapacity(n); relocationStart.reserveCapacity(n + 1)
    }

    /// Appends one entry's own columns; its relocations follow (`appendRelocation`), then `endEntry`.
    @inline(__always)
    package mutating func append(name n: Int32, object o: Int32, hash h: Int32, kind k: EntryKind, binding b: Binding, size s: Int, align a: Int) {
        name.append(n); object.append(o); hash.append(h); kind.append(k); binding.append(b); size.append(s); align.append(a)
    }

    @inline(__always)
    package mutating func appendRelocation(target: Int32, offset: Int, type: RelocationType, addend: Int64) {
        relocationTarget.append(target); relocationOffset.append(offset); relocationType.append(type); relocationAddend.append(addend)
    }

    @inline(__always)
    package mutating func endEntry() { relocationStart.append(relocationTarget.count) }

    /// The columns with entries reordered: entry `i` of the result is entry `perm[i]` of these.
    func permuted(_ perm: [Int]) -> TableColumns {
        var c = TableColumns(pool: pool)
        c.reserve(perm.count)
        for e in perm {
            c.append(name: name[e], object: object[e], hash: hash[e], kind: kind[e], binding: binding[e], size: size[e], align: align[e])
            for r in relocationStart[e]..<relocationStart[e + 1] {
                c.appendRelocation(target: relocationTarget[r], offset: relocationOffset[r], type: relocationType[r], addend: relocationAddend[r])
            }
            c.endEntry()
        }
        return c
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
