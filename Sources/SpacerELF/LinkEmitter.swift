import SpacerCore

/// The objects of one library version, extracted again with the bytes of every row, for
/// `LinkEmitter`.
public struct LibraryObjects: Sendable {
    public var library: String
    public var version: String
    /// Rows as `ELFExtractor` gives them (must equal the workload's table).
    public var entries: [TableEntry]
    /// Source of each row (parallel to `entries`).
    public var sources: [ELFExtractor.RowSource?]
    /// The parsed objects, in link order.
    public var objects: [ELFObject]

    /// Extracts `inputs` (the version's objects in link order).
    /// - Throws: what `ELFExtractor.extractWithSources` throws.
    public init(library: String, version: String, inputs: [ObjectInput]) throws {
        self.library = library; self.version = version
        (entries, sources, objects) = try ELFExtractor.extractWithSources(inputs)
    }

    /// The first difference between these objects' rows and `table`, or nil when they agree in
    /// every row (kind, name, object, size, alignment, hash, relocations, order).
    public func mismatch(with table: FunctionTable) -> String? {
        guard entries.count == table.entries.count else { return "\(entries.count) rows in the objects, \(table.entries.count) in the table" }
        for (a, b) in zip(entries, table.entries) where a != b {
            return "row \(b.order) \(b.name): the table has size \(b.size) hash \(b.hash), the objects \(a.name) size \(a.size) hash \(a.hash)"
        }
        return nil
    }
}

/// Turns layouts into what GNU ld needs to build them for real (issue 5): per image, one
/// relocatable object holding a copy of every placed section with its relocations retargeted,
/// and a linker script that puts each at its layout address.
///
/// **Method.** Renaming symbols with objcopy cannot retarget references to static functions
/// (they go through section symbols), and two versions of a library cannot be linked side by side
/// (their global names clash). So the emitter writes, per image, a fresh object (`ELFWriter`):
/// - one section `.spx.<address>` per placed piece (own entries and dead extra copies), holding
///   the original section's bytes (NOBITS for bss) with its alignment;
/// - every relocation of the table re-emitted with its type and addend against a symbol the
///   emitter chooses: the local symbol `spx.<address>` of the piece the image resolves the target
///   to (`SymbolResolver`: own entries first), the slot inside the trampoline section for a field
///   redirected to a slot, an absolute symbol for a field pinned to a value (dead copies only), or
///   the undefined global name for an external (libc) symbol. Every field thus gets exactly the
///   value the simulator computes for it, and no symbol of one version can capture a reference
///   of another: only the image's own global entries are exported, under their names;
/// - the trampoline tables as sections `.spx.ind.<address>`: slot k is `jmp rel32` (E9, PC32
///   relocation to the slot's target and addend) padded with int3 (0xCC). A slot that is a
///   canonical function-pointer stub (`TrampolineSlot.canonicalStub`) is the same `jmp`; the
///   address-taking fields redirected to it (absolute, addend 0: checked by `LayoutCheck`; in
///   live code only an instruction's immediate, `isImmediate`) resolve to the slot, and the
///   function's global name is exported at the stub, so that the host part's `&f` equals the
///   library's;
/// - a never-run section `.text.spacer_externs` with one `call` per external symbol of the whole
///   workload, sorted, so that every image pulls the same libc members and creates the same PLT
///   entries in the same order: libc then sits at the same addresses in every image, which is
///   what the model assumes ("an external symbol at one fixed address per name").
///
/// The linker script (used with `-T`, it augments ld's default script through `INSERT BEFORE
/// .text`) gives each run of touching regions one output section at its start address, moves
/// the location counter to each piece's offset, and pads to the end of the last region with zero
/// fill. It also lists every external in `EXTERN(...)`. The host part (crt, libc, the driver) is
/// linked by the default script at `hostBase` (`-Ttext-segment`), above every zone.
///
/// **Checks before ld runs.** `LayoutCheck.problems` (overlap, alignment, regions, trampoline
/// overflow, sound redirects), plus: every row's bytes found in the objects, objects equal to the
/// tables, slots at least 5 bytes, every slotted field preceded by a direct branch opcode (E8, E9
/// or 0F 80–8F), no branch-shaped field of a function with a canonical stub that is no branch
/// (a `lea f(%rip)` bypassing the stub would break pointer equality), no live code referencing a
/// symbol only a dead copy defines, no piece at or above `hostBase`, no carved function moved
/// away from its neighbours.
public enum LinkEmitter {
    /// Where the host part (crt, libc, driver) is linked: the default script's text segment.
    public static let hostBase: UInt64 = 0x7000_0000

    /// Flags to give `gcc` (or `cc`) besides the image object, the script and the driver.
    public static let linkFlags = ["-static", "-no-pie", "-Wl,-Ttext-segment=0x70000000", "-Wl,--build-id=none",
                                   "-Wl,-z,max-page-size=4096"]

    /// One image's emitted files.
    public struct ImageFiles {
        public var image: String
        /// The relocatable object (`<image>.o`).
        public var object: [UInt8]
        /// The linker script (`<image>.ld`).
        public var script: String
        /// A readable map: one line per placed piece and slot.
        public var map: String
    }

    /// Emits every image of `workload` placed by `layouts`.
    /// - Parameters:
    ///   - libraries: the objects of every (library, version) the workload uses, keyed
    ///     `library@version`.
    ///   - strategy: named in the scripts' header comment.
    /// - Throws: `SpacerError.data` for a layout that cannot be linked (the checks above), with
    ///   every problem listed; `.data` when a library's objects are missing or differ from its table.
    public static func emit(workload w: Workload, layouts: [ImageLayout], libraries: [String: LibraryObjects],
                            strategy: String, pageSize: Int = 4096) throws -> [ImageFiles] {
        // Every external of the workload, sorted: the same EXTERN list and anchor in every image.
        var externs = Set<String>()
        for t in w.tables.indices {
            for targets in w.targetSymbols[t] { for s in targets where w.symbolIsExternal[Int(s)] { externs.insert(w.symbolNames[Int(s)]) } }
        }
        let externList = externs.sorted()
        try checkNames(w, externs: externs)   // before anything else: no hostile name reaches a file
        var problems = LayoutCheck.problems(workload: w, layouts: layouts, pageSize: pageSize, allowRemoval: true, limit: 50)
        for t in w.tables {
            guard let lib = libraries["\(t.library)@\(t.version)"] else {
                throw SpacerError.data(file: "\(t.library)@\(t.version)", location: "", expected: "the objects of \(t.library) \(t.version) (--objects)", found: "none")
            }
            if let m = lib.mismatch(with: t) {
                throw SpacerError.data(file: "\(t.library)@\(t.version)", location: "", expected: "objects that extract to the table of \(t.library) \(t.version)", found: m)
            }
        }
        var out: [ImageFiles] = []
        for (i, image) in w.images.enumerated() {
            do {
                out.append(try emitImage(w, i, layouts[i], libraries, externList, strategy: strategy, pageSize: pageSize))
            } catch let SpacerError.data(_, _, expected, found) where expected == "a layout ld can build" {
                problems += (found ?? "").split(separator: "\n").map(String.init)
            }
            _ = image
        }
        guard problems.isEmpty else {
            throw SpacerError.data(file: "layout of \(strategy)", location: "", expected: "a layout ld can build",
                                   found: "\(problems.count) problem\(problems.count == 1 ? "" : "s"):\n  " + problems.prefix(50).joined(separator: "\n  "))
        }
        return out
    }

    static func hex(_ a: UInt64) -> String { "0x" + String(a, radix: 16) }

    /// Refuses names that cannot be written safely into the emitted files: an external symbol
    /// (written into the script's `EXTERN(…)`) outside `SafeNames.isLinkerSymbol`, a global name
    /// holding NUL (it would be cut short in the object's string table), and an image name that
    /// is no safe path component (`SafeNames.pathComponentProblem`; it names `<image>.o` and
    /// appears in the script's comment).
    /// - Throws: `SpacerError.data` naming the library version and object of the first row that
    ///   references the symbol, and the symbol; or the image.
    public static func checkNames(_ w: Workload, externs: Set<String>) throws {
        for image in w.images {
            if let problem = SafeNames.pathComponentProblem(image.name) {
                throw SpacerError.data(file: "image \(SafeNames.quoted(image.name))", location: "",
                                       expected: "an image name that is one safe file name (no '/', NUL, control characters or leading '.')", found: problem)
            }
        }
        let bad = externs.filter { !SafeNames.isLinkerSymbol($0) }
        for t in w.tables {
            for e in t.entries {
                if e.binding != .local && e.name.utf8.contains(0) {
                    throw SpacerError.data(file: "\(t.library)@\(t.version) \(e.object.isEmpty ? "(merged literals)" : e.object)", location: "",
                                           expected: "a symbol name without NUL", found: SafeNames.quoted(e.name))
                }
                guard !bad.isEmpty else { continue }
                for r in e.relocations where bad.contains(r.target) {
                    throw SpacerError.data(file: "\(t.library)@\(t.version) \(e.object.isEmpty ? "(merged literals)" : e.object)", location: "",
                                           expected: "an external symbol that is \(SafeNames.linkerSymbolGrammar)",
                                           found: "\(SafeNames.quoted(r.target)), referenced by \(e.name)")
                }
            }
        }
        if let name = bad.sorted().first {   // not reached: every external is some relocation's target
            throw SpacerError.data(file: "workload", location: "", expected: "an external symbol that is \(SafeNames.linkerSymbolGrammar)", found: SafeNames.quoted(name))
        }
    }

    static func emitImage(_ w: Workload, _ i: Int, _ l: ImageLayout, _ libs: [String: LibraryObjects], _ externs: [String],
                          strategy: String, pageSize: Int) throws -> ImageFiles {
        let image = w.images[i]
        var problems: [String] = []
        let pieces = LayoutCheck.pieces(workload: w, image: i, layout: l).filter { $0.size > 0 }
        let resolver = SymbolResolver(workload: w, image: i, layout: l)
        var ownSymbols = Set<Int32>()
        var ownAt = Set<UInt64>()
        for (k, t) in image.tables.enumerated() {
            for (e, a) in l.addresses[k].enumerated() where a != ImageLayout.removed { ownSymbols.insert(w.symbolIDs[t][e]); ownAt.insert(a) }
        }
        // Canonical function-pointer stubs this image uses: function -> stub address (the slot an
        // address-taking field of a live entry is redirected to; `LayoutCheck` holds the rule that
        // every such field of the function uses the one stub).
        var stubOf: [Int32: UInt64] = [:]
        for tt in l.trampolines {
            for (k, slot) in tt.slots.enumerated() where slot.canonicalStub { stubOf[slot.target] = tt.address + UInt64(k * tt.slotSize) }
        }
        var stubbed: [Int32: UInt64] = [:]
        if !stubOf.isEmpty {
            for (k, t) in image.tables.enumerated() {
                for (e, a) in l.addresses[k].enumerated() where a != ImageLayout.removed {
                    for f in w.relocationFields[t][e] where !f.slottable {
                        if let stub = stubOf[f.target], l.redirects[a + UInt64(f.offset)] == stub { stubbed[f.target] = stub }
                    }
                }
            }
        }
        var writer = ELFWriter()
        // Section 1: the externals anchor (never run).
        var anchor: [UInt8] = []
        var anchorRelocs: [(Int, String)] = []
        for name in externs { anchorRelocs.append((anchor.count + 1, name)); anchor += [0xE8, 0, 0, 0, 0] }
        anchor.append(0xCC)
        let anchorSection = writer.add(ELFWriter.Section(name: ".text.spacer_externs", flags: ELFConst.SHF_ALLOC | ELFConst.SHF_EXECINSTR, align: 16, bytes: anchor))
        // Piece sections.
        var sectionOf: [UInt64: Int] = [:]        // piece start -> section index
        var mapLines: [String] = []
        for p in pieces {
            if p.table < 0 {
                let tt = l.trampolines[p.entry]
                if tt.slotSize < 5 { problems.append("image \(image.name): trampoline slots of \(tt.slotSize) bytes cannot hold a 5-byte jmp rel32") }
                var bytes = [UInt8](repeating: 0xCC, count: p.size)
                for k in tt.slots.indices where k * tt.slotSize + 5 <= p.size {
                    bytes[k * tt.slotSize] = 0xE9
                    for b in 1...4 { bytes[k * tt.slotSize + b] = 0 }
                }
                sectionOf[p.start] = writer.add(ELFWriter.Section(name: ".spx.ind.\(String(p.start, radix: 16))", flags: ELFConst.SHF_ALLOC | ELFConst.SHF_EXECINSTR, align: 16, bytes: bytes))
                mapLines.append("\(hex(p.start)) \(p.size) trampolines \(tt.slots.count) slots of \(tt.slotSize)")
                continue
            }
            let t = w.tables[p.table]
            let entry = t.entries[p.entry]
            guard let lib = libs["\(t.library)@\(t.version)"], let src = lib.sources[p.entry] ?? (entry.kind == .bss ? ELFExtractor.RowSource(object: -1, section: -1, start: 0, size: entry.size, carvedWithOthers: false) : nil) else {
                problems.append("image \(image.name): no bytes for \(t.library) \(t.version) \(entry.name) in its objects"); continue
            }
            if src.carvedWithOthers { problems.append("image \(image.name): \(entry.name) shares a carved section with other functions (build with -ffunction-sections)") }
            if p.start >= hostBase { problems.append("image \(image.name): \(entry.name) at \(hex(p.start)) lies in the host part (≥ \(hex(hostBase)))") }
            let flags: UInt64
            switch entry.kind {
            case .function: flags = ELFConst.SHF_ALLOC | ELFConst.SHF_EXECINSTR
            case .rodata: flags = ELFConst.SHF_ALLOC
            case .data, .bss: flags = ELFConst.SHF_ALLOC | ELFConst.SHF_WRITE
            }
            let name = ".spx.\(String(p.start, radix: 16))"
            if entry.kind == .bss {
                sectionOf[p.start] = writer.add(ELFWriter.Section(name: name, type: ELFConst.SHT_NOBITS, flags: flags, align: entry.align, bytes: [], size: entry.size))
            } else {
                let obj = lib.objects[src.object]
                let sec = obj.sections[src.section]
                let data = Array(obj.bytes[(sec.offset + src.start)..<(sec.offset + src.start + src.size)])
                sectionOf[p.start] = writer.add(ELFWriter.Section(name: name, flags: flags, align: entry.align, bytes: data))
            }
            mapLines.append("\(hex(p.start)) \(entry.size) \(entry.kind.rawValue) \(t.library)@\(t.version) \(entry.name)\(ownAt.contains(p.start) ? "" : " (dead copy)")")
        }
        // Symbols: locals (one per piece, then absolute pins), then globals and externals.
        var pieceSymbol: [UInt64: Int] = [:]
        for p in pieces {
            guard let sec = sectionOf[p.start] else { continue }
            let kind = p.table < 0 ? ELFConst.STT_FUNC : (w.tables[p.table].entries[p.entry].kind == .function ? ELFConst.STT_FUNC : ELFConst.STT_OBJECT)
            pieceSymbol[p.start] = writer.add(ELFWriter.Symbol(name: "spx.\(String(p.start, radix: 16))", bind: ELFConst.STB_LOCAL, type: kind,
                                                               section: sec, value: 0, size: UInt64(p.size)))
        }
        var absSymbol: [UInt64: Int] = [:]
        for a in Set(l.redirects.values).sorted() where !l.trampolines.contains(where: { a >= $0.address && a < $0.address + UInt64($0.reservedBytes) }) {
            absSymbol[a] = writer.add(ELFWriter.Symbol(name: "spx.pin.\(String(a, radix: 16))", bind: ELFConst.STB_LOCAL, type: ELFConst.STT_NOTYPE,
                                                       section: ELFConst.SHN_ABS, value: a, size: 0))
        }
        var exported = Set<String>()
        for (k, t) in image.tables.enumerated() {
            for (e, entry) in w.tables[t].entries.enumerated() where entry.binding != .local {
                let a = l.addresses[k][e]
                guard a != ImageLayout.removed, let sec = sectionOf[a] else { continue }
                guard exported.insert(entry.name).inserted else { problems.append("image \(image.name): two entries export the global name \(entry.name)"); continue }
                // A function with a canonical stub is exported at its stub, so that the host part
                // (the driver) takes the same address as the library's own references.
                if entry.kind == .function, let stub = stubbed[w.symbolIDs[t][e]],
                   let tt = l.trampolines.first(where: { stub >= $0.address && stub < $0.address + UInt64($0.reservedBytes) }), let tsec = sectionOf[tt.address] {
                    writer.add(ELFWriter.Symbol(name: entry.name, bind: ELFConst.STB_GLOBAL, type: ELFConst.STT_FUNC,
                                                section: tsec, value: stub - tt.address, size: UInt64(tt.slotSize)))
                    continue
                }
                writer.add(ELFWriter.Symbol(name: entry.name, bind: ELFConst.STB_GLOBAL, type: entry.kind == .function ? ELFConst.STT_FUNC : ELFConst.STT_OBJECT,
                                            section: sec, value: 0, size: UInt64(entry.size)))
            }
        }
        var externSymbol: [String: Int] = [:]
        func external(_ name: String) -> Int {
            if let s = externSymbol[name] { return s }
            let s = writer.add(ELFWriter.Symbol(name: name, bind: ELFConst.STB_GLOBAL, type: ELFConst.STT_NOTYPE, section: 0, value: 0, size: 0))
            externSymbol[name] = s
            return s
        }
        writer.sections[anchorSection - 1].relocations = anchorRelocs.map { ELFWriter.Rela(offset: $0.0, symbol: external($0.1), type: RelocationType.plt32.elfType, addend: -4) }
        // Relocations of pieces and slots.
        var usedSlots = Set<UInt64>()
        for (_, slot) in l.redirects { usedSlots.insert(slot) }
        for p in pieces {
            guard let sec = sectionOf[p.start] else { continue }
            if p.table < 0 {
                let tt = l.trampolines[p.entry]
                var rel: [ELFWriter.Rela] = []
                for (k, slot) in tt.slots.enumerated() {
                    // A slot of a table shared by every image (one slot list, so that shared code
                    // keeps one slot address) may lead to a symbol this image does not define and
                    // no library defines for it either; no field of this image reaches it, so it
                    // stays `jmp` +0 (never run) instead of naming a symbol ld cannot resolve.
                    if !resolver.defines(slot.target) && !w.symbolIsExternal[Int(slot.target)]
                        && !usedSlots.contains(tt.address + UInt64(k * tt.slotSize)) { continue }
                    guard let (sym, add) = symbolFor(address: resolver.resolve(slot.target), symbol: slot.target, w, resolver, pieceSymbol, pieces, external) else {
                        problems.append("image \(image.name): slot \(k) of the table at \(hex(tt.address)) leads to \(w.symbolNames[Int(slot.target)]), which is not placed"); continue
                    }
                    rel.append(ELFWriter.Rela(offset: k * tt.slotSize + 1, symbol: sym, type: RelocationType.pc32.elfType, addend: slot.addend + add))
                }
                writer.sections[sec - 1].relocations = rel
                continue
            }
            let entry = w.tables[p.table].entries[p.entry]
            let targets = w.targetSymbols[p.table][p.entry]
            let live = ownAt.contains(p.start)
            let bytes = writer.sections[sec - 1].bytes
            var rel: [ELFWriter.Rela] = []
            for (r, rl) in entry.relocations.enumerated() {
                let field = p.start + UInt64(rl.offset)
                let s = targets[r]
                if let S = l.redirects[field] {
                    if let tt = l.trampolines.first(where: { S >= $0.address && S < $0.address + UInt64($0.reservedBytes) }) {
                        let o = rl.offset
                        let isBranch = o >= 1 && (bytes[o - 1] == 0xE8 || bytes[o - 1] == 0xE9 || (o >= 2 && bytes[o - 2] == 0x0F && bytes[o - 1] & 0xF0 == 0x80))
                        let fieldInfo = w.relocationFields[p.table][p.entry][r]
                        let k = tt.slotSize > 0 ? Int(S - tt.address) / tt.slotSize : 0
                        if !fieldInfo.slottable && k < tt.slots.count && tt.slots[k].canonicalStub {
                            // An address taken through the canonical stub (LayoutCheck: absolute,
                            // addend 0, so a pointer in data). In live code the field must be an
                            // instruction's immediate (`mov $f`, `push $f`, `cmp $f`, …): a
                            // displacement `f(%reg)` would read the stub's bytes, not f's. A dead
                            // copy's field pinned to a stub never runs.
                            if live && entry.kind == .function && !isImmediate(bytes, at: o) {
                                problems.append("image \(image.name): \(entry.name)+\(o) takes the address of \(w.symbolNames[Int(s)]) through its canonical stub, but the field is no instruction immediate (bytes before the field: \(bytes[max(o - 4, 0)..<o].map { String($0, radix: 16) }.joined(separator: " ")))")
                            }
                        } else if !isBranch {
                            problems.append("image \(image.name): \(entry.name)+\(o) goes through a slot but the instruction is no call/jmp/jcc rel32 (bytes before the field: \(bytes[max(o - 2, 0)..<o].map { String($0, radix: 16) }.joined(separator: " ")))")
                        }
                        rel.append(ELFWriter.Rela(offset: rl.offset, symbol: pieceSymbol[tt.address]!, type: rl.type.elfType, addend: rl.addend + Int64(S - tt.address)))
                    } else {
                        rel.append(ELFWriter.Rela(offset: rl.offset, symbol: absSymbol[S]!, type: rl.type.elfType, addend: rl.addend))
                    }
                    continue
                }
                if live && stubbed[s] != nil && w.relocationFields[p.table][p.entry][r].slottable {
                    let o = rl.offset
                    let isBranch = o >= 1 && (bytes[o - 1] == 0xE8 || bytes[o - 1] == 0xE9 || (o >= 2 && bytes[o - 2] == 0x0F && bytes[o - 1] & 0xF0 == 0x80))
                    if !isBranch {
                        problems.append("image \(image.name): \(entry.name)+\(o) takes the address of \(w.symbolNames[Int(s)]) (no call/jmp/jcc before the field) without its canonical stub, which the image's other references use: the addresses would not compare equal")
                    }
                }
                if live && !w.symbolIsExternal[Int(s)] && !ownSymbols.contains(s) && resolver.defines(s) {
                    problems.append("image \(image.name): \(entry.name) runs but references \(w.symbolNames[Int(s)]), which only a dead copy defines")
                }
                guard let (sym, add) = symbolFor(address: resolver.resolve(s), symbol: s, w, resolver, pieceSymbol, pieces, external) else {
                    problems.append("image \(image.name): \(entry.name) references \(w.symbolNames[Int(s)]), which is not placed"); continue
                }
                rel.append(ELFWriter.Rela(offset: rl.offset, symbol: sym, type: rl.type.elfType, addend: rl.addend + add))
            }
            writer.sections[sec - 1].relocations = rel
        }
        guard problems.isEmpty else {
            throw SpacerError.data(file: image.name, location: "", expected: "a layout ld can build", found: problems.joined(separator: "\n"))
        }
        // The linker script: one output section per run of touching regions (and tables).
        var spans: [(start: UInt64, end: UInt64)] = []
        var ranges = l.regions.filter { $0.size > 0 }.map { ($0.start, $0.end) }
        ranges += pieces.map { ($0.start, $0.end) }
        for (s, e) in ranges.sorted(by: { $0.0 < $1.0 }) {
            if let last = spans.last, s <= last.end { spans[spans.count - 1].end = max(last.end, e) } else { spans.append((s, e)) }
        }
        // The strategy text comes from the caller: keep it from closing the comment.
        let strategyText = String(String.UnicodeScalarView(strategy.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f && $0 != "*" }))
        var script = """
        /* Generated by spacer-sim place --emit-ld: strategy \(strategyText), image \(image.name).
           Every section of the image's libraries at its layout address (one output section per run
           of touching regions, zero fill between pieces); trampoline tables as .spx.ind.* sections.
           Use with: gcc \(linkFlags.joined(separator: " ")) -Wl,-T,\(image.name).ld \(image.name).o DRIVER.o
           The host part (crt, libc, driver) is laid out by ld's default script at \(hex(hostBase)). */

        """
        if !externs.isEmpty {
            script += "EXTERN(" + externs.joined(separator: " ") + ")\n"
        }
        script += "SECTIONS\n{\n  __spacer_saved_dot = .;\n"
        var pi = 0
        for (n, span) in spans.enumerated() {
            script += "  .spacer.\(n) \(hex(span.start)) :\n  {\n"
            while pi < pieces.count && pieces[pi].start < span.end {
                let p = pieces[pi]; pi += 1
                script += "    . = \(hex(p.start - span.start)); KEEP(*(.spx.\(p.table < 0 ? "ind." : "")\(String(p.start, radix: 16))))\n"
            }
            script += "    . = \(hex(span.end - span.start));\n  } =0\n"
        }
        script += "  . = __spacer_saved_dot;\n}\nINSERT BEFORE .text;\n"
        return ImageFiles(image: image.name, object: try writer.bytes(), script: script, map: mapLines.joined(separator: "\n") + "\n")
    }

    /// Whether the 4- or 8-byte field at `o` of the code `bytes` is the immediate operand of an
    /// x86-64 instruction that puts the value in a register or memory or compares it: `mov
    /// r32/r64, imm` (B8+r, with or without REX), `push imm32` (68), or an instruction with a
    /// ModRM byte and an imm32 after it (`mov r/m, imm32` C7 /0, the ALU group 81 /0–7), the
    /// ModRM, SIB and displacement lengths decoded (Intel SDM vol. 2, §2.1). Conservative: an
    /// encoding not listed is refused.
    static func isImmediate(_ bytes: [UInt8], at o: Int) -> Bool {
        guard o >= 1 else { return false }
        let b = bytes[o - 1]
        if b >= 0xB8 && b <= 0xBF { return true }              // mov r, imm32 / movabs r, imm64 (REX.W)
        if b == 0x68 { return true }                            // push imm32
        // opcode q, ModRM q+1, [SIB], [disp], imm32 at o: try every start that could reach o.
        for q in stride(from: o - 2, through: max(o - 7, 0), by: -1) where bytes[q] == 0xC7 || bytes[q] == 0x81 {
            let m = bytes[q + 1], mod = m >> 6, rm = m & 7, reg = (m >> 3) & 7
            if bytes[q] == 0xC7 && reg != 0 { continue }
            var len = 1
            if mod != 3 && rm == 4 {
                len += 1
                if mod == 0 && q + 2 < o && bytes[q + 2] & 7 == 5 { len += 4 }
            }
            if mod == 1 { len += 1 } else if mod == 2 || (mod == 0 && rm == 5) { len += 4 }
            if q + 1 + len == o { return true }
        }
        return false
    }

    /// The symbol (and addend shift) for a reference that resolves to `address`: the local symbol
    /// of the piece starting there, or the external's undefined symbol; nil when the image
    /// defines the symbol but no piece starts at its address.
    static func symbolFor(address: UInt64, symbol s: Int32, _ w: Workload, _ resolver: SymbolResolver, _ pieceSymbol: [UInt64: Int],
                          _ pieces: [LayoutCheck.Piece], _ external: (String) -> Int) -> (Int, Int64)? {
        if !resolver.defines(s) { return (external(w.symbolNames[Int(s)]), 0) }
        if let p = pieceSymbol[address] { return (p, 0) }
        return nil
    }
}
