/// Ground truth for placement: the bytes an *ideal* placement could share between two versions of
/// a library, or between the images of a workload.
///
/// Definition (docs/formats.md, "Ground truth"). Two tables share a **body instance** when both hold an
/// entry with the same body (kind, body hash, size, alignment and relocation list, `Workload`'s
/// identity rule) at the same occurrence number within the table. An ideal placement puts every
/// shared body instance at one address in both images, page-aligned as needed, and keeps every
/// reference identical (a branch through a trampoline slot at a fixed address, a data reference
/// by its target's address), so each such body's bytes are identical in both images and can
/// share frames. The shareable bytes of a pair are therefore Σ size over the body instances both
/// hold. It is an upper bound: a sound placement may not send a data reference or a function
/// address through a jump slot, so when the data a common body refers to lies elsewhere in one
/// image, the body cannot be shared (Spacer-Δ then places a fresh copy). bss has no content and is not counted;
/// writable `data` is counted separately because it is shareable only under the `ksm` dedup model.
public enum IdealSharing {
    /// Shareable bytes between two versions of one library (versionA older than versionB).
    public struct PairTruth: Sendable, Hashable {
        /// The library, and its two versions (versionA older by `VersionOrder`).
        public var library: String
        public var versionA: String
        public var versionB: String
        /// Content bytes (func + rodata + data entries; bss excluded) of each version.
        public var bytesA: Int
        public var bytesB: Int
        /// Entries (bss excluded) of each version.
        public var entriesA: Int
        public var entriesB: Int
        /// Body instances held by both versions (bss excluded).
        public var sharedEntries: Int
        /// Bytes of shared body instances, by kind.
        public var sharedFunctionBytes: Int
        public var sharedRodataBytes: Int
        public var sharedDataBytes: Int
        /// Bytes an ideal placement shares under `ksm` (code, read-only and writable data).
        public var sharedBytes: Int { sharedFunctionBytes + sharedRodataBytes + sharedDataBytes }
        /// Bytes an ideal placement shares under `loader` (writable pages are private).
        public var sharedReadOnlyBytes: Int { sharedFunctionBytes + sharedRodataBytes }

        /// CSV column names of the ground-truth file (`TruthCSV` in SpacerIO).
        public static let columns = ["library", "version_a", "version_b", "entries_a", "entries_b", "bytes_a", "bytes_b",
                                     "shared_entries", "shared_bytes", "shared_func_bytes", "shared_rodata_bytes",
                                     "shared_data_bytes", "shared_pct_of_b"]
    }

    /// The ground truth for every pair of versions of every library in `tables`.
    ///
    /// - Parameter tables: function tables; several libraries may be mixed, each (library,
    ///   version) at most once.
    /// - Returns: for each library (in order of first appearance) and each pair of its versions
    ///   (a older than b, `VersionOrder`), one `PairTruth`, in (a, b) order.
    /// - Throws: `SpacerError.data` when a (library, version) appears twice.
    /// - Complexity: O(E) interning plus O(V² · E/V) for the pairs, where E is the number of
    ///   entries and V the number of versions of a library.
    public static func pairs(_ tables: [FunctionTable]) throws -> [PairTruth] {
        guard !tables.isEmpty else { return [] }
        // One image per table: the workload's interning gives the body instance ids.
        var seen = Set<String>()
        let rows = try tables.map { t -> WorkloadRow in
            guard seen.insert("\(t.library)\u{1}\(t.version)").inserted else {
                throw SpacerError.data(file: "tables", location: "", expected: "each (library, version) once", found: "\(t.library) \(t.version) twice")
            }
            return WorkloadRow(image: "\(t.library)@\(t.version)", library: t.library, version: t.version)
        }
        let w = try Workload(rows: rows, tables: tables)
        var out: [PairTruth] = []
        for lib in w.libraries {
            let versions = w.versions(of: lib)
            // Per version: body instance id -> kind and size, for content entries.
            let maps: [[Int32: (EntryKind, Int)]] = versions.map { t in
                var m: [Int32: (EntryKind, Int)] = [:]
                for (e, entry) in w.tables[t].entries.enumerated() where entry.kind.hasContent {
                    m[w.bodyInstanceIDs[t][e]] = (entry.kind, entry.size)
                }
                return m
            }
            for a in versions.indices {
                for b in versions.indices where b > a {
                    let ta = w.tables[versions[a]], tb = w.tables[versions[b]]
                    var p = PairTruth(library: lib, versionA: ta.version, versionB: tb.version,
                                      bytesA: contentBytes(ta), bytesB: contentBytes(tb),
                                      entriesA: maps[a].count, entriesB: maps[b].count, sharedEntries: 0,
                                      sharedFunctionBytes: 0, sharedRodataBytes: 0, sharedDataBytes: 0)
                    let (small, large) = maps[a].count <= maps[b].count ? (maps[a], maps[b]) : (maps[b], maps[a])
                    for (id, ks) in small where large[id] != nil {
                        p.sharedEntries += 1
                        switch ks.0 {
                        case .function: p.sharedFunctionBytes += ks.1
                        case .rodata: p.sharedRodataBytes += ks.1
                        case .data: p.sharedDataBytes += ks.1
                        case .bss: break
                        }
                    }
                    out.append(p)
                }
            }
        }
        return out
    }

    /// Σ size of the content entries (func, rodata, data) of `table`.
    public static func contentBytes(_ table: FunctionTable) -> Int {
        table.entries.reduce(0) { $0 + ($1.kind.hasContent ? $1.size : 0) }
    }

    /// The ground truth of a whole workload: Σ over pairs of images of the bytes their shared
    /// body instances hold, i.e. Σ over body instances b of size(b) × C(m_b, 2) where m_b is the
    /// number of images holding b. Instances of one image are not pairs (their pages are identical
    /// under any placement).
    ///
    /// - Parameter includeWritable: count `data` entries (true under `ksm`; false under `loader`,
    ///   where writable pages are private).
    /// - Returns: bytes (image pairs × bytes).
    /// - Complexity: O(Σ over images of their entries).
    public static func shareableBytes(_ w: Workload, includeWritable: Bool) -> Int {
        var holders = [Int](repeating: 0, count: w.bodyInstanceCount)
        var size = [Int](repeating: 0, count: w.bodyInstanceCount)
        for img in w.images {
            for t in img.tables {
                for (e, entry) in w.tables[t].entries.enumerated() where counts(entry.kind, includeWritable) {
                    let b = Int(w.bodyInstanceIDs[t][e])
                    holders[b] += 1; size[b] = entry.size
                }
            }
        }
        var total = 0
        for b in holders.indices where holders[b] >= 2 { total += size[b] * holders[b] * (holders[b] - 1) / 2 }
        return total
    }

    /// Whether entries of `kind` can be shared at all under the model (`includeWritable`: ksm).
    @inline(__always) public static func counts(_ kind: EntryKind, _ includeWritable: Bool) -> Bool {
        kind == .function || kind == .rodata || (kind == .data && includeWritable)
    }
}
