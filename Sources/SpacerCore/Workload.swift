/// One row of a workload file: image `image` holds `library` at `version`, run as `instances`
/// instances (every row of one image must give the same count).
public struct WorkloadRow: Hashable, Sendable {
    public var image: String
    public var library: String
    public var version: String
    public var instances: Int
    /// Root symbols this row gives its image (the workload's optional `roots` column): what the
    /// application references. An image's roots are the union over its rows; an image none of
    /// whose rows gives roots has none (`Image.roots` nil).
    public var roots: [String]
    /// Where the row came from, for error messages (`workload.csv:3`); nil when built in code.
    public var source: String?
    /// Where the row's roots field is (`workload.csv:3:4`), for errors about a root; nil: `source`.
    public var rootsSource: String?
    public init(image: String, library: String, version: String, instances: Int = 1, roots: [String] = [],
                source: String? = nil, rootsSource: String? = nil) {
        self.image = image; self.library = library; self.version = version
        self.instances = instances; self.roots = roots; self.source = source; self.rootsSource = rootsSource
    }
}

/// One unikernel build: the function tables it links and how many instances run.
public struct Image: Hashable, Sendable {
    public var name: String
    /// Running copies of this image, ≥ 1.
    public var instances: Int
    /// Indices into `Workload.tables`, one per library, in workload row order.
    public var tables: [Int]
    /// The image's roots (the symbols its application references), sorted and without repeats;
    /// nil when the workload gives none (then `dce` keeps every global or weak function). Every
    /// root is a global or weak entry of one of the image's tables (checked by `Workload.init`).
    public var roots: [String]?
    public init(name: String, instances: Int, tables: [Int], roots: [String]? = nil) {
        self.name = name; self.instances = instances; self.tables = tables; self.roots = roots
    }
}

/// The images to place together, with every table they use, pre-indexed for strategies and the
/// simulator: bodies, contents and symbols are interned into dense integer ids once, here.
///
/// Identity rules (docs/formats.md, "How references resolve"):
/// - **content**: (kind, hash, size). Two entries with one content have identical bytes before
///   relocation. All bss shares one zero content.
/// - **body**: content + alignment + the relocation list (offset, type, target name, addend);
///   the unit that can be shared across versions (docs/design.md §2).
/// - **body instance**: (body, k) for the k-th entry of a table with that body, so that two
///   identical stubs under different names stay two functions.
/// - **symbol**: a reference to `T` from an entry of object `O` resolves to, in order: a local
///   entry named `T` of the same object; a library-wide entry (empty `object`, not global) of the
///   same library; a global entry named `T` of any library in the image; else an external symbol
///   at one fixed address per name.
public struct Workload: Sendable {
    /// The most instances one image may run (the workload reader's and every option's limit).
    public static let maxInstances = 1_000_000

    /// Tables used by at least one image, in order of first use.
    public let tables: [FunctionTable]
    public let images: [Image]
    /// Library names in order of first appearance in the workload.
    public let libraries: [String]

    /// `bodyIDs[t][e]`: dense body id of entry `e` of table `t`.
    public let bodyIDs: [[Int32]]
    /// `bodyInstanceIDs[t][e]`: dense id of (library, body, occurrence within table t).
    public let bodyInstanceIDs: [[Int32]]
    /// `contentIDs[t][e]`: dense content id; `Workload.zeroContent` for bss.
    public let contentIDs: [[Int32]]
    /// `symbolIDs[t][e]`: the symbol entry `e` defines.
    public let symbolIDs: [[Int32]]
    /// `targetSymbols[t][e][r]`: the symbol relocation `r` of entry `e` refers to.
    public let targetSymbols: [[[Int32]]]
    /// `relocationFields[t][e][r]`: relocation `r` of entry `e` as plain values (offset, width,
    /// PC-relative or not, addend, target symbol), for the simulator's inner loop.
    public let relocationFields: [[[RelocationField]]]
    /// The same per-entry data flattened for the page walk: entry `e` of table `t` is flat entry
    /// `entryBase[t] + e`; its content id `flatContentIDs[f]`, whether it is writable
    /// `flatWritable[f]`, its size `flatSizes[f]` (bytes), and its relocation fields
    /// `flatRelocations[flatRelocationStart[f] ..< flatRelocationStart[f + 1]]`.
    public let entryBase: [Int]
    public let flatContentIDs: [Int32]
    public let flatWritable: [Bool]
    public let flatSizes: [Int]
    public let flatRelocationStart: [Int]
    public let flatRelocations: [RelocationField]
    /// Symbol names by id (for external addresses and messages).
    public let symbolNames: [String]
    /// Whether a symbol id is defined by no table of the workload.
    public let symbolIsExternal: [Bool]
    /// `AddressMap.external(symbolNames[s])` for every symbol id: where a symbol resolves in an
    /// image that does not define it (computed once, so resolvers never hash names).
    public let externalAddresses: [UInt64]
    /// Whether a symbol id is defined by a function entry (`kind == .function`) of some table, or
    /// is external (a libc call, say); false for symbols only data entries define. With
    /// `Relocation.hasDirectBranchShape` it decides which fields may go through a jump slot.
    public let symbolIsFunction: [Bool]
    public let bodyCount: Int
    public let bodyInstanceCount: Int
    public let contentCount: Int

    /// Content id shared by every bss entry: all zero bytes.
    public static let zeroContent: Int32 = -1

    /// Builds a workload from its rows and the available tables.
    ///
    /// - Parameters:
    ///   - rows: workload rows (`image,library,version[,instances][,roots]`), in file order.
    ///   - tables: every table that may be named; extra tables are ignored.
    /// - Throws: `SpacerError.data` naming the row's source when a row names a (library, version)
    ///   that no table holds, when an image lists one library twice, when an image's rows
    ///   disagree on `instances`, or when an image's functions, read-only data or writable data
    ///   alone exceed their address zone (`AddressMap`), which no strategy could place;
    ///   `.data` when there are no rows.
    public init(rows: [WorkloadRow], tables available: [FunctionTable], source: String = "workload") throws {
        guard !rows.isEmpty else {
            throw SpacerError.data(file: source, location: "1", expected: "at least one image row", found: "an empty workload")
        }
        var byKey: [String: Int] = [:]
        for (i, t) in available.enumerated() where byKey["\(t.library)\u{1}\(t.version)"] == nil {
            byKey["\(t.library)\u{1}\(t.version)"] = i
        }
        var used: [Int] = []          // indices into `available`
        var usedIndex: [Int: Int] = [:]
        var images: [Image] = []
        var imageIndex: [String: Int] = [:]
        var libraries: [String] = []
        var imageSource: [String] = []
        for row in rows {
            let where_ = row.source ?? source
            guard let ti = byKey["\(row.library)\u{1}\(row.version)"] else {
                let known = available.filter { $0.library == row.library }.map(\.version).sorted(by: VersionOrder.less)
                throw SpacerError.data(file: where_, location: "", expected: known.isEmpty
                    ? "a library that some table defines" : "a version of \(row.library) that a table defines (\(known.joined(separator: ", ")))",
                    found: "\(row.library) \(row.version)")
            }
            guard row.instances >= 1 else {
                throw SpacerError.data(file: where_, location: "", expected: "instances ≥ 1", found: "\(row.instances)")
            }
            if !libraries.contains(row.library) { libraries.append(row.library) }
            let local: Int
            if let u = usedIndex[ti] { local = u } else { local = used.count; usedIndex[ti] = local; used.append(ti) }
            if let ii = imageIndex[row.image] {
                if images[ii].instances != row.instances {
                    throw SpacerError.data(file: where_, location: "", expected: "the same instances for every row of image \(row.image) (\(images[ii].instances))", found: "\(row.instances)")
                }
                if images[ii].tables.contains(where: { tables_lib(available, used, $0) == row.library }) {
                    throw SpacerError.data(file: where_, location: "", expected: "one version of \(row.library) per image", found: "a second row for image \(row.image)")
                }
                images[ii].tables.append(local)
            } else {
                imageIndex[row.image] = images.count
                images.append(Image(name: row.image, instances: row.instances, tables: [local]))
                imageSource.append(where_)
            }
        }
        let tables = used.map { available[$0] }
        // Every used table's entries as interned ids (`FunctionTable.columns`: from the reader;
        // built here for a table made in code), and each pool id mapped once to a workload-wide
        // id by its bytes and stored hash: after this, every key is a few integers (issue 14).
        let columns = tables.map(\.interned)
        var global = NameInterner(capacity: 1 << 14)
        let emptyName = global.id("")
        var poolSlot: [ObjectIdentifier: Int] = [:]
        var poolMaps: [[Int32]] = []
        var gName: [[Int32]] = [], gObject: [[Int32]] = [], gHash: [[Int32]] = [], gTarget: [[Int32]] = []
        for c in columns {
            let slot: Int
            if let s = poolSlot[ObjectIdentifier(c.pool)] { slot = s } else {
                slot = poolMaps.count; poolSlot[ObjectIdentifier(c.pool)] = slot
                poolMaps.append([Int32](repeating: -1, count: c.pool.count))
            }
            let pool = c.pool
            pool.bytes.withUnsafeBufferPointer { bytes in
                func map(_ ids: [Int32]) -> [Int32] {
                    ids.map { id in
                        let k = Int(id)
                        let g = poolMaps[slot][k]
                        if g >= 0 { return g }
                        let a = pool.starts[k]
                        let v = global.id(UnsafeBufferPointer(rebasing: bytes[a..<pool.starts[k + 1]]), hash: pool.hashes[k])
                        poolMaps[slot][k] = v
                        return v
                    }
                }
                gName.append(map(c.name)); gObject.append(map(c.object)); gHash.append(map(c.hash)); gTarget.append(map(c.relocationTarget))
            }
        }
        // Roots: the union over an image's rows; each must be a global or weak entry of the image.
        var rootSets: [Set<String>?] = Array(repeating: nil, count: images.count)
        var exported: [[Bool]?] = Array(repeating: nil, count: tables.count)   // by workload-wide name id
        for row in rows where !row.roots.isEmpty {
            let ii = imageIndex[row.image]!
            for t in images[ii].tables where exported[t] == nil {
                var mark = [Bool](repeating: false, count: global.count)
                for e in 0..<columns[t].count where columns[t].binding[e] != .local { mark[Int(gName[t][e])] = true }
                exported[t] = mark
            }
            for r in row.roots {
                let g = global.find(r).map(Int.init)
                guard let g, images[ii].tables.contains(where: { exported[$0]![g] }) else {
                    throw SpacerError.data(file: row.rootsSource ?? row.source ?? source, location: "",
                                           expected: "roots that a table of image \(row.image) defines (global or weak)", found: "'\(r)'")
                }
            }
            rootSets[ii] = (rootSets[ii] ?? []).union(row.roots)
        }
        for ii in images.indices { images[ii].roots = rootSets[ii].map { $0.sorted() } }
        let tableBytes: [[Int]] = columns.map { c in
            var perKind = [Int](repeating: 0, count: EntryKind.allCases.count)
            for e in 0..<c.count { perKind[c.kind[e].index] += c.size[e] }
            return perKind
        }
        for (ii, img) in images.enumerated() {
            var perKind = [Int](repeating: 0, count: EntryKind.allCases.count)
            for t in img.tables { for k in perKind.indices { perKind[k] += tableBytes[t][k] } }
            for (what, kinds, zone) in [("functions", [EntryKind.function], AddressMap.codeZoneBytes),
                                        ("read-only data", [.rodata], AddressMap.rodataZoneBytes),
                                        ("writable data", [.data, .bss], AddressMap.writableZoneBytes)] {
                let total = kinds.reduce(0) { $0 + perKind[$1.index] }
                guard total <= zone else {
                    throw SpacerError.data(file: imageSource[ii], location: "",
                                           expected: "the \(what) of image \(img.name) to fit the \(zone)-byte zone for them",
                                           found: "\(total) bytes")
                }
            }
        }
        self.tables = tables
        self.images = images
        self.libraries = libraries

        // Interning, in deterministic (table, entry) order: content, body, body-instance and
        // symbol ids are given in order of first appearance, keyed by workload-wide name ids
        // (`IDPairMap`, no `Hasher`, no `String`).
        var contents = IDPairMap(capacity: 1 << 14), bodyByPrint = IDPairMap(capacity: 1 << 14), bodyInst = IDPairMap(capacity: 1 << 14)
        var bodies = BodyStore()
        let libraryIndex = Dictionary(uniqueKeysWithValues: libraries.enumerated().map { ($1, Int32($0)) })
        var symbols = IDPairMap(capacity: 1 << 14)
        var names: [String] = [], defined: [Bool] = [], definedAsData: [Bool] = []
        var globalSymbol = [Int32](repeating: -1, count: global.count)   // scope 2 (a global name): by name id
        @inline(__always) func symbol(_ a: UInt64, _ b: UInt64, _ name: Int32, define: Bool) -> Int32 {
            let s: Int32, inserted: Bool
            if a == 2 << 62 {
                let g = globalSymbol[Int(name)]
                if g >= 0 { s = g; inserted = false } else { s = Int32(names.count); globalSymbol[Int(name)] = s; inserted = true }
            } else { (s, inserted) = symbols.insert(a, b, value: Int32(names.count)) }
            if inserted { names.append(global.string(name)); defined.append(define); definedAsData.append(false) }
            else if define { defined[Int(s)] = true }
            return s
        }
        // Per table: whether a name has a local entry of some object (`localMark[n] == t`, then
        // `locals` says which objects) or a library-wide one (`wideMark[n] == t`).
        var localMark = [Int32](repeating: -1, count: global.count), wideMark = localMark
        var locals = IDPairMap(capacity: 1 << 10)
        var occurrence: [Int32] = [], occurrenceTable: [Int32] = []
        var bodyIDs: [[Int32]] = [], instIDs: [[Int32]] = [], contentIDs: [[Int32]] = []
        var symbolIDs: [[Int32]] = [], targets: [[[Int32]]] = []
        for (t, table) in tables.enumerated() {
            let c = columns[t], lib = libraryIndex[table.library]!, t32 = Int32(t)
            let nameG = gName[t], objectG = gObject[t], hashG = gHash[t], targetG = gTarget[t]
            for e in 0..<c.count where c.binding[e] == .local {
                let n = Int(nameG[e])
                if objectG[e] != emptyName {
                    localMark[n] = t32
                    _ = locals.insert(UInt64(t) << 32 | UInt64(UInt32(bitPattern: objectG[e])), UInt64(UInt32(bitPattern: nameG[e])), value: 0)
                } else { wideMark[n] = t32 }
            }
            // The symbol key of a reference to `name` from an entry of `object` (`Workload`'s
            // resolution rules): (scope << 62 | library << 31 | object, name).
            @inline(__always) func key(object: Int32, name: Int32) -> (UInt64, UInt64) {
                let n = UInt64(UInt32(bitPattern: name))
                if localMark[Int(name)] == t32 && locals.get(UInt64(t) << 32 | UInt64(UInt32(bitPattern: object)), n) != nil {
                    return (UInt64(lib) << 31 | UInt64(UInt32(bitPattern: object)), n)
                }
                if wideMark[Int(name)] == t32 { return (1 << 62 | UInt64(lib) << 31, n) }
                return (2 << 62, n)
            }
            var b: [Int32] = [], bi: [Int32] = [], cs: [Int32] = [], s: [Int32] = [], tg: [[Int32]] = []
            b.reserveCapacity(c.count); bi.reserveCapacity(c.count); cs.reserveCapacity(c.count); s.reserveCapacity(c.count); tg.reserveCapacity(c.count)
            for e in 0..<c.count {
                let kind = c.kind[e], size = c.size[e]
                let contentA = UInt64(kind.index) << 32 | UInt64(UInt32(bitPattern: hashG[e]))
                let cid = kind == .bss ? Workload.zeroContent : contents.insert(contentA, UInt64(size), value: Int32(contents.count)).value
                let r0 = c.relocationStart[e], r1 = c.relocationStart[e + 1]
                let zeroName = kind == .bss ? nameG[e] : -1
                let bid = bodies.id(kind: kind, hash: hashG[e], size: size, align: c.align[e], zeroName: zeroName,
                                    offsets: c.relocationOffset, types: c.relocationType, targets: targetG, addends: c.relocationAddend,
                                    from: r0, to: r1, index: &bodyByPrint)
                let bk = Int(bid)
                if bk >= occurrence.count { occurrence.append(0); occurrenceTable.append(-1) }
                if occurrenceTable[bk] != t32 { occurrenceTable[bk] = t32; occurrence[bk] = 0 }
                let occ = occurrence[bk]; occurrence[bk] = occ + 1
                let iid = bodyInst.insert(UInt64(UInt32(bitPattern: lib)) << 32 | UInt64(UInt32(bitPattern: bid)), UInt64(UInt32(bitPattern: occ)),
                                          value: Int32(bodyInst.count)).value
                b.append(bid); bi.append(iid); cs.append(cid)
                let (ka, kb) = key(object: objectG[e], name: nameG[e])
                let sid = symbol(ka, kb, nameG[e], define: true)
                if kind != .function { definedAsData[Int(sid)] = true }
                s.append(sid)
                var tgt: [Int32] = []
                tgt.reserveCapacity(r1 - r0)
                for r in r0..<r1 {
                    let (ta, tb) = key(object: objectG[e], name: targetG[r])
                    tgt.append(symbol(ta, tb, targetG[r], define: false))
                }
                tg.append(tgt)
            }
            bodyIDs.append(b); instIDs.append(bi); contentIDs.append(cs); symbolIDs.append(s); targets.append(tg)
        }
        self.bodyIDs = bodyIDs; self.bodyInstanceIDs = instIDs; self.contentIDs = contentIDs
        self.symbolIDs = symbolIDs; self.targetSymbols = targets
        var fields: [[[RelocationField]]] = [], base: [Int] = [], fc: [Int32] = [], fw: [Bool] = [], fs: [Int] = [], rs: [Int] = [], fr: [RelocationField] = []
        fields.reserveCapacity(tables.count)
        for t in tables.indices {
            let c = columns[t]
            base.append(fc.count)
            var perEntry: [[RelocationField]] = []
            perEntry.reserveCapacity(c.count)
            for e in 0..<c.count {
                let r0 = c.relocationStart[e], function = c.kind[e] == .function
                var f: [RelocationField] = []
                f.reserveCapacity(c.relocationStart[e + 1] - r0)
                for (k, sym) in targets[t][e].enumerated() {
                    let type = c.relocationType[r0 + k], addend = c.relocationAddend[r0 + k]
                    f.append(RelocationField(offset: c.relocationOffset[r0 + k], width: type.width, pcRelative: type.isPCRelative, addend: addend, target: sym,
                                             slottable: function && (type == .plt32 || type == .pc32) && addend == -4 && !definedAsData[Int(sym)]))
                }
                fc.append(contentIDs[t][e]); fw.append(c.kind[e].isWritable); fs.append(c.size[e])
                rs.append(fr.count); fr += f
                perEntry.append(f)
            }
            fields.append(perEntry)
        }
        rs.append(fr.count)
        self.relocationFields = fields
        self.entryBase = base; self.flatContentIDs = fc; self.flatWritable = fw; self.flatSizes = fs
        self.flatRelocationStart = rs; self.flatRelocations = fr
        self.symbolNames = names; self.symbolIsExternal = defined.map { !$0 }
        self.externalAddresses = names.map(AddressMap.external)
        self.symbolIsFunction = definedAsData.map { !$0 }
        self.bodyCount = bodies.count; self.bodyInstanceCount = bodyInst.count; self.contentCount = contents.count
    }

    /// Table indices of `library`'s versions used by the workload, oldest first.
    public func versions(of library: String) -> [Int] {
        tables.indices.filter { tables[$0].library == library }
            .sorted { VersionOrder.less(tables[$0].version, tables[$1].version) }
    }

    /// Indices of the images that hold table `t`.
    public func images(holding t: Int) -> [Int] {
        images.indices.filter { images[$0].tables.contains(t) }
    }

    /// Whether relocation `r` of entry `e` of table `t` may be sent through a jump slot: the entry
    /// is code, the field has a direct branch's shape (`Relocation.hasDirectBranchShape`) and its
    /// target is a function or external.
    public func isSlottable(table t: Int, entry e: Int, relocation r: Int) -> Bool {
        relocationFields[t][e][r].slottable
    }

    /// Total instances over all images.
    public var totalInstances: Int { images.reduce(0) { $0 + $1.instances } }
}

/// One relocation reduced to what decides its value: field at `offset` bytes of `width` bytes,
/// `S + A − P` when `pcRelative` else `S + A`, `S` the address of symbol `target`. 24 bytes, so
/// that the simulator's walk over millions of fields stays in cache.
public struct RelocationField: Sendable, Hashable {
    /// The addend A, bytes.
    public var addend: Int64
    /// Byte offset of the field within its entry, below 2^31 (the table reader refuses larger
    /// offsets; a larger one built in code is clamped).
    public var offset: Int32
    /// Symbol id of the target (`Workload.symbolNames`).
    public var target: Int32
    /// Field width in bytes: 1, 2, 4 or 8.
    public var width: UInt8
    public var pcRelative: Bool
    /// Whether the field may go through a jump slot (`Workload.isSlottable`): a function's
    /// direct branch (`Relocation.hasDirectBranchShape`) to a function or external symbol.
    public var slottable: Bool
    public init(offset: Int, width: Int, pcRelative: Bool, addend: Int64, target: Int32, slottable: Bool = false) {
        self.addend = addend; self.offset = Int32(clamping: offset); self.target = target
        self.width = UInt8(width); self.pcRelative = pcRelative; self.slottable = slottable
    }
}

/// The distinct bodies of a workload (`Workload`'s identity rules): content (kind, hash id,
/// size), alignment, the bss name (`zeroName`, −1 for other kinds) and the relocation list
/// (offset, type, workload-wide target name id, addend), stored flat. A body is found by a
/// 64-bit fingerprint of all of these (`IDPairMap`), then compared field by field; bodies with
/// one fingerprint are chained (`next`).
private struct BodyStore {
    private var kind: [EntryKind] = [], hash: [Int32] = [], size: [Int] = [], align: [Int] = [], zeroName: [Int32] = []
    private var start: [Int] = [0], next: [Int32] = []
    private var offset: [Int] = [], type: [RelocationType] = [], target: [Int32] = [], addend: [Int64] = []
    var count: Int { kind.count }

    @inline(__always) private static func mix(_ h: UInt64, _ v: UInt64) -> UInt64 {
        let x = (h ^ v) &* 0x9E37_79B9_7F4A_7C15
        return x ^ (x >> 29)
    }

    /// The id of the body, a new one (the next in order) if it was not seen.
    mutating func id(kind k: EntryKind, hash h: Int32, size s: Int, align a: Int, zeroName z: Int32,
                     offsets: [Int], types: [RelocationType], targets: [Int32], addends: [Int64],
                     from r0: Int, to r1: Int, index: inout IDPairMap) -> Int32 {
        var f = Self.mix(Self.mix(Self.mix(UInt64(k.index), UInt64(UInt32(bitPattern: h))), UInt64(s)), UInt64(a))
        f = Self.mix(f, UInt64(UInt32(bitPattern: z)))
        for r in r0..<r1 {
            f = Self.mix(Self.mix(Self.mix(Self.mix(f, UInt64(offsets[r])), UInt64(types[r].width)), UInt64(UInt32(bitPattern: targets[r]))), UInt64(bitPattern: addends[r]))
        }
        let candidate = Int32(count)
        let (first, inserted) = index.insert(f, UInt64(r1 - r0), value: candidate)
        if !inserted {
            var b = first
            while b >= 0 {
                let i = Int(b)
                if kind[i] == k && hash[i] == h && size[i] == s && align[i] == a && zeroName[i] == z && start[i + 1] - start[i] == r1 - r0 {
                    var same = true
                    var q = start[i]
                    for r in r0..<r1 {
                        if offset[q] != offsets[r] || type[q] != types[r] || target[q] != targets[r] || addend[q] != addends[r] { same = false; break }
                        q += 1
                    }
                    if same { return b }
                }
                if next[i] < 0 { next[i] = candidate; break }
                b = next[i]
            }
        }
        kind.append(k); hash.append(h); size.append(s); align.append(a); zeroName.append(z); next.append(-1)
        for r in r0..<r1 { offset.append(offsets[r]); type.append(types[r]); target.append(targets[r]); addend.append(addends[r]) }
        start.append(offset.count)
        return candidate
    }
}

private func tables_lib(_ available: [FunctionTable], _ used: [Int], _ local: Int) -> String {
    available[used[local]].library
}
