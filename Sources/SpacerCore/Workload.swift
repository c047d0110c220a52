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
        // Roots: the union over an image's rows; each must be a global or weak entry of the image.
        var rootSets: [Set<String>?] = Array(repeating: nil, count: images.count)
        for row in rows where !row.roots.isEmpty {
            let ii = imageIndex[row.image]!
            let defined = Set(images[ii].tables.flatMap { available[used[$0]].entries.filter { $0.binding != .local }.map(\.name) })
            for r in row.roots where !defined.contains(r) {
                throw SpacerError.data(file: row.rootsSource ?? row.source ?? source, location: "",
                                       expected: "roots that a table of image \(row.image) defines (global or weak)", found: "'\(r)'")
            }
            rootSets[ii] = (rootSets[ii] ?? []).union(row.roots)
        }
        for ii in images.indices { images[ii].roots = rootSets[ii].map { $0.sorted() } }
        for (ii, img) in images.enumerated() {
            var perKind = [Int](repeating: 0, count: EntryKind.allCases.count)
            for t in img.tables { for e in available[used[t]].entries { perKind[e.kind.index] += e.size } }
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
        let tables = used.map { available[$0] }
        self.tables = tables
        self.images = images
        self.libraries = libraries

        // Interning, in deterministic (table, entry) order. Every name, object and hash string is
        // hashed once, into a dense id (`StringIDs`); symbol, content, body and body-instance keys
        // are then plain integers, so no key is built by string interpolation (issue 14).
        var bodies: [BodyKey: Int32] = [:], contents: [ContentKey: Int32] = [:], bodyInst: [BodyInstanceKey: Int32] = [:]
        let libraryIndex = Dictionary(uniqueKeysWithValues: libraries.enumerated().map { ($1, Int32($0)) })
        var strings = StringIDs()
        var symbols: [SymbolKey: Int32] = [:], names: [String] = []
        var defined: [Bool] = [], definedAsData: [Bool] = []
        func symbol(_ key: SymbolKey, _ name: String, define: Bool) -> Int32 {
            if let s = symbols[key] { if define { defined[Int(s)] = true }; return s }
            let s = Int32(names.count); symbols[key] = s; names.append(name); defined.append(define); definedAsData.append(false); return s
        }
        var bodyIDs: [[Int32]] = [], instIDs: [[Int32]] = [], contentIDs: [[Int32]] = []
        var symbolIDs: [[Int32]] = [], targets: [[[Int32]]] = []
        var relocationKeys: [RelocationKey] = []
        for t in tables {
            let lib = libraryIndex[t.library]!
            // Per entry: object and name ids; the table's local symbols (object, name) and its
            // library-wide ones (name).
            var objectIDs: [Int32] = [], nameIDs: [Int32] = []
            objectIDs.reserveCapacity(t.entries.count); nameIDs.reserveCapacity(t.entries.count)
            var local: Set<Int64> = [], wide: Set<Int32> = []
            for entry in t.entries {
                let o = strings.id(entry.object), n = strings.id(entry.name)
                objectIDs.append(o); nameIDs.append(n)
                if entry.binding == .local && !entry.object.isEmpty { local.insert(Int64(o) << 32 | Int64(n)) }
                else if entry.binding == .local { wide.insert(n) }
            }
            func key(object: Int32, name: Int32) -> SymbolKey {
                if local.contains(Int64(object) << 32 | Int64(name)) { return SymbolKey(scope: 0, library: lib, object: object, name: name) }
                if wide.contains(name) { return SymbolKey(scope: 1, library: lib, object: -1, name: name) }
                return SymbolKey(scope: 2, library: -1, object: -1, name: name)
            }
            var b: [Int32] = [], bi: [Int32] = [], c: [Int32] = [], s: [Int32] = [], tg: [[Int32]] = []
            var seen: [Int32: Int32] = [:]
            b.reserveCapacity(t.entries.count)
            for (e, entry) in t.entries.enumerated() {
                let ck = ContentKey(kind: entry.kind, hash: strings.id(entry.hash), size: entry.size)
                let cid: Int32
                if entry.kind == .bss { cid = Workload.zeroContent }
                else if let x = contents[ck] { cid = x } else { cid = Int32(contents.count); contents[ck] = cid }
                relocationKeys.removeAll(keepingCapacity: true)
                var tgt: [Int32] = []
                tgt.reserveCapacity(entry.relocations.count)
                for r in entry.relocations {
                    let n = strings.id(r.target)
                    relocationKeys.append(RelocationKey(offset: r.offset, type: r.type, target: n, addend: r.addend))
                    tgt.append(n)
                }
                let bk = BodyKey(content: ck, align: entry.align, relocations: relocationKeys,
                                 zeroName: entry.kind == .bss ? nameIDs[e] : -1)
                let bid: Int32
                if let x = bodies[bk] { bid = x } else { bid = Int32(bodies.count); bodies[bk] = bid }
                let occ = seen[bid, default: 0]; seen[bid] = occ + 1
                let ik = BodyInstanceKey(library: lib, body: bid, occurrence: occ)
                let iid: Int32
                if let x = bodyInst[ik] { iid = x } else { iid = Int32(bodyInst.count); bodyInst[ik] = iid }
                b.append(bid); bi.append(iid); c.append(cid)
                let sid = symbol(key(object: objectIDs[e], name: nameIDs[e]), entry.name, define: true)
                if entry.kind != .function { definedAsData[Int(sid)] = true }
                s.append(sid)
                for (r, n) in tgt.enumerated() { tgt[r] = symbol(key(object: objectIDs[e], name: n), entry.relocations[r].target, define: false) }
                tg.append(tgt)
            }
            bodyIDs.append(b); instIDs.append(bi); contentIDs.append(c); symbolIDs.append(s); targets.append(tg)
        }
        self.bodyIDs = bodyIDs; self.bodyInstanceIDs = instIDs; self.contentIDs = contentIDs
        self.symbolIDs = symbolIDs; self.targetSymbols = targets
        self.relocationFields = tables.indices.map { t in
            tables[t].entries.indices.map { e in
                zip(tables[t].entries[e].relocations, targets[t][e]).map { r, s in
                    RelocationField(offset: r.offset, width: r.type.width, pcRelative: r.type.isPCRelative, addend: r.addend, target: s,
                                    slottable: tables[t].entries[e].kind == .function && r.hasDirectBranchShape && !definedAsData[Int(s)])
                }
            }
        }
        var base: [Int] = [], fc: [Int32] = [], fw: [Bool] = [], fs: [Int] = [], rs: [Int] = [], fr: [RelocationField] = []
        for t in tables.indices {
            base.append(fc.count)
            for e in tables[t].entries.indices {
                fc.append(contentIDs[t][e]); fw.append(tables[t].entries[e].kind.isWritable); fs.append(tables[t].entries[e].size)
                rs.append(fr.count); fr += relocationFields[t][e]
            }
        }
        rs.append(fr.count)
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

/// Dense ids of strings (names, objects, hashes) for `Workload.init`'s keys: each string is
/// hashed once, where it is read.
private struct StringIDs {
    private var ids: [FastString: Int32] = [:]
    mutating func id(_ s: String) -> Int32 {
        let k = FastString(s)
        if let i = ids[k] { return i }
        let i = Int32(ids.count); ids[k] = i; return i
    }
}
/// A string hashed by FNV-1a 64 over its UTF-8 bytes, fed to `Hasher` as one word: names are
/// short ASCII, and one multiply per byte beats `String`'s per-byte SipHash. Equality is the
/// string's.
private struct FastString: Hashable {
    let string: String
    let fingerprint: UInt64
    init(_ s: String) {
        var s = s
        string = s
        fingerprint = s.withUTF8 { b in
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for x in b { h = (h ^ UInt64(x)) &* 0x100_0000_01b3 }
            return h
        }
    }
    static func == (a: FastString, b: FastString) -> Bool { a.fingerprint == b.fingerprint && a.string == b.string }
    func hash(into h: inout Hasher) { h.combine(fingerprint) }
}
/// A symbol's identity (`Workload`'s resolution rules): scope 0 a local entry of `object` in
/// `library`, 1 a library-wide entry of `library`, 2 a global name; ids from `StringIDs`.
private struct SymbolKey: Hashable { var scope: Int8; var library: Int32; var object: Int32; var name: Int32 }
/// `hash` is a `StringIDs` id of the body hash.
private struct ContentKey: Hashable { var kind: EntryKind; var hash: Int32; var size: Int }
/// A relocation with its target name as a `StringIDs` id (bodies compare targets by name).
private struct RelocationKey: Hashable { var offset: Int; var type: RelocationType; var target: Int32; var addend: Int64 }
/// bss has no bytes, so its name is what identifies one variable across versions (`zeroName`,
/// a `StringIDs` id; −1 for other kinds).
private struct BodyKey: Hashable {
    var content: ContentKey; var align: Int; var relocations: [RelocationKey]; var zeroName: Int32
    /// Every field mixed into one word (a multiply-xorshift per value), so that `Hasher` sees
    /// one word instead of four per relocation; equality still compares every field.
    let fingerprint: UInt64
    init(content: ContentKey, align: Int, relocations: [RelocationKey], zeroName: Int32) {
        self.content = content; self.align = align; self.relocations = relocations; self.zeroName = zeroName
        @inline(__always) func mix(_ h: UInt64, _ v: UInt64) -> UInt64 {
            let x = (h ^ v) &* 0x9E37_79B9_7F4A_7C15
            return x ^ (x >> 29)
        }
        var h = mix(mix(mix(UInt64(content.kind.index), UInt64(bitPattern: Int64(content.hash))), UInt64(content.size)), UInt64(align))
        h = mix(h, UInt64(bitPattern: Int64(zeroName)))
        for r in relocations {
            h = mix(mix(mix(h, UInt64(r.offset)), UInt64(bitPattern: Int64(r.target))), UInt64(bitPattern: r.addend))   // type: equality only
        }
        fingerprint = h
    }
    static func == (a: BodyKey, b: BodyKey) -> Bool {
        a.fingerprint == b.fingerprint && a.content == b.content && a.align == b.align && a.zeroName == b.zeroName && a.relocations == b.relocations
    }
    func hash(into h: inout Hasher) { h.combine(fingerprint) }
}
private struct BodyInstanceKey: Hashable { var library: Int32; var body: Int32; var occurrence: Int32 }

private func tables_lib(_ available: [FunctionTable], _ used: [Int], _ local: Int) -> String {
    available[used[local]].library
}
