import Foundation
import SpacerCore

/// One relocatable object to extract: a `.o` file or one member of an `ar` archive.
public struct ObjectInput: Sendable {
    /// The name errors give: the path, or `lib.a(member.o)` for an archive member.
    public var displayName: String
    /// The `object` column of the table: the file's base name, or the member name.
    public var objectName: String
    /// The object's bytes.
    public var bytes: [UInt8]

    public init(displayName: String, objectName: String, bytes: [UInt8]) {
        self.displayName = displayName; self.objectName = objectName; self.bytes = bytes
    }
}

/// Turns x86-64 ELF relocatable objects (and `ar` archives of them) into the rows of one
/// function table (docs/design.md §2, §4 "Data and external references", §8).
///
/// **Functions.** Every executable allocated section `.text.<x>` of size > 0 (what
/// `-ffunction-sections` emits, including `.text.unlikely.*`, `.text.hot.*`, `.text.startup.*`
/// and the `.cold` parts in them) is one `func` row, named by the symbol at its offset 0:
/// GLOBAL before WEAK before LOCAL, FUNC before NOTYPE, then the smallest name; symbols of size 0
/// only when no sized symbol names the section, else the section name without `.text.`. Other
/// executable sections (a plain `.text`, and the grouping sections `.text.unlikely`, `.text.hot`,
/// `.text.startup`, `.text.exit` that code without `-ffunction-sections` uses) are *carved*: one
/// row per FUNC symbol address (`st_value ..< st_value + st_size`; a FUNC symbol without a size,
/// as hand-written assembly leaves, runs to the next function or the section end), aligned as
/// the section; bytes between functions are padding and belong to no row. Note that the
/// assembler already resolved calls between local functions of one carved section, so those
/// displacements are part of the body bytes (use `-ffunction-sections` for movable bodies).
///
/// **Relocations and body hash.** A row's relocations come from the `SHT_RELA`/`SHT_REL`
/// sections that apply to its section, sorted by offset, with offsets relative to the row start.
/// The body hash is FNV-1a 64 of the row's bytes with every relocation field zeroed. Targets are
/// named so that bodies compare across versions, always keeping S + A unchanged:
/// - a named symbol resolves to the row that holds it (aliases and `foo` at offset 8 of a row
///   become the row's name with the addend shifted); GLOBAL/WEAK names resolve through the
///   definition the link keeps (first strong one, else first weak one, else a common symbol);
///   undefined names (`memcpy`) stay as they are;
/// - a section symbol or `.L` label in code resolves to the function holding
///   `value + addend (+ 4 if PC-relative)`;
/// - a reference into a mergeable string section becomes the library-wide row `str.<hash>` of
///   the NUL-terminated string it points into (hash over the string's bytes with its NUL); into a
///   mergeable constant section of entry size E (`.rodata.cst4/8/16/32`), the row
///   `cst<E>.<hash>` of the E-byte constant it points into, aligned to E. These rows have an
///   empty `object` (ld merges them across objects), binding local, and appear once per table.
///   The addend becomes the residual from the piece's start (a reference 4 bytes into a
///   constant, or at the end of the pool, stays exactly that). So a function keeps its
///   relocation list when the pool around its constants changes from release to release;
/// - a constant that carries relocations (gcc puts function and string addresses into
///   `.rodata.cst8`/`.cst16` without -fPIC) is a row of its object (`object` set, binding local)
///   with its relocations, named `cst<E>.<h>` with h the FNV-1a 64 of its `hash` and `relocs`
///   columns (see `Extraction.relocatedConstant`): identical constants of one object are one row;
/// - a reference into any other allocated section makes that section one `rodata`, `data` or
///   `bss` row (non-writable, writable with contents, `SHT_NOBITS`), named by its OBJECT symbol
///   at offset 0 or else its section name. Compiler-numbered local statics (`cnt.0`) are named
///   `cnt.N` (`cnt.N~2`, … on a clash inside one object, in symbol-table order) so that a new
///   earlier static elsewhere does not rename them. Data rows carry their own relocations, and
///   data they reference is included (transitively); unreferenced data gets no row.
///
/// **Identity and order.** Local rows are unique per (object, name) (`~k` suffixes in section
/// order on a clash), global rows per name: a later definition of a global name already defined
/// (a weak one after a strong one, a second copy) gives no row, as the link would drop it.
/// `order` is a running index in link order: objects in input order, sections in header order,
/// carved functions by address; `str`/`cst`/common rows follow the first row that references
/// them (and the literals a constant with relocations references follow it).
///
/// Every malformed input throws `SpacerError.data` naming the object (`lib.a(member.o)` for
/// archive members) and `byte N` within it; nothing traps.
public enum ELFExtractor {
    /// Reads the named files in order, splitting archives into their members.
    /// - Throws: `SpacerError.noInput` for a missing or unreadable path, or one that is not a
    ///   regular file (a directory, FIFO or device; checked before `open`);
    ///   `SpacerError.data` for a file over `InputFile.maxInputBytes` (256 MiB) or a malformed archive.
    public static func loadInputs(paths: [String]) throws -> [ObjectInput] {
        var out: [ObjectInput] = []
        for path in paths {
            let bytes = try InputFile.read(path)   // regular files only, at most 256 MiB
            if ArArchive.isArchive(bytes) {
                for m in try ArArchive.members(of: bytes, file: path) {
                    out.append(ObjectInput(displayName: "\(path)(\(m.name))", objectName: m.name, bytes: m.bytes))
                }
            } else {
                out.append(ObjectInput(displayName: path, objectName: (path as NSString).lastPathComponent, bytes: bytes))
            }
        }
        return out
    }

    /// The function table of `library` at `version` from objects and archives in link order.
    /// - Throws: as `loadInputs(paths:)` and `extract(_:)`.
    public static func table(library: String, version: String, paths: [String], provenance: [String] = []) throws -> FunctionTable {
        FunctionTable(library: library, version: version, entries: try extract(try loadInputs(paths: paths)), provenance: provenance)
    }

    /// The rows (functions, then the data they reference, interleaved in link order) of the
    /// objects `inputs`, given in link order. See the type's documentation for the rules.
    /// - Throws: `SpacerError.data` naming the object and byte offset for a malformed object, a
    ///   relocation type spacer-sim does not model, a relocation field that crosses a function's
    ///   end or lies between carved functions, or a symbol that runs past its section.
    public static func extract(_ inputs: [ObjectInput]) throws -> [TableEntry] {
        try extractWithSources(inputs).entries
    }

    /// Where the bytes of one row come from: `size` bytes at `start` of section `section` of
    /// object `object` (an index into the inputs). Rows of common symbols (bss with no section)
    /// have no source.
    public struct RowSource: Sendable, Hashable {
        public var object: Int
        public var section: Int
        public var start: Int
        public var size: Int
        /// Whether the section was carved into several functions (a plain `.text`): the assembler
        /// may have resolved references between them, so they cannot move apart.
        public var carvedWithOthers: Bool
    }

    /// As `extract(_:)`, also returning each row's source (parallel to `entries`) and the parsed
    /// objects, for tools that need the bytes (`place --emit-ld`).
    public static func extractWithSources(_ inputs: [ObjectInput]) throws -> (entries: [TableEntry], sources: [RowSource?], objects: [ELFObject]) {
        var x = Extraction()
        for (i, input) in inputs.enumerated() {
            x.objects.append(try ObjectState(index: i, input: input))
        }
        try x.run()
        return (x.result, x.resultSources, x.objects.map(\.elf))
    }
}

// MARK: - Per-object state

/// One function row before its body is read: where it lies and what it is called.
struct CodeRow {
    var start: Int
    var size: Int
    var name: String
    var binding: Binding
    /// False for a losing duplicate definition of a global name: no row, references go by name.
    var emitted = true
}

/// A parsed object with the naming decisions of phase 1.
final class ObjectState {
    let index: Int
    let input: ObjectInput
    let elf: ELFObject
    var file: String { input.displayName }
    /// Symbol names as rows and targets spell them (numbered local statics renamed `x.N`).
    var symbolNames: [String]
    /// Named, non-label symbols defined in each section, by section index.
    var symbolsBySection: [Int: [Int]] = [:]
    /// Function rows of each executable section, sorted by start.
    var codeRows: [Int: [CodeRow]] = [:]
    /// Row name and binding of each allocated non-executable section that is not split into
    /// literals (size > 0).
    var dataNames: [Int: (name: String, binding: Binding)] = [:]
    /// Piece starts of split mergeable sections, by section (computed on first use).
    var pieces: [Int: [Int]] = [:]
    /// Relocations by section (decoded on first use).
    var relocs: [Int: [ELFRelocation]] = [:]
    /// Executable sections carved into several functions (their gaps hold no row).
    var carved: Set<Int> = []
    /// Mergeable sections split into literal rows (`isLiteralSection`), decided once in `init`.
    var literalSections: Set<Int> = []

    init(index: Int, input: ObjectInput) throws {
        self.index = index
        self.input = input
        self.elf = try ELFObject(bytes: input.bytes, file: input.displayName)
        symbolNames = elf.symbols.map(\.name)
        renameNumberedStatics()
        for s in elf.symbols where s.isInSection && !s.isLabel && s.type != ELFConst.STT_SECTION && s.type != ELFConst.STT_FILE {
            symbolsBySection[s.section, default: []].append(s.index)
        }
        for sec in elf.sections where sec.index > 0 && sec.type != ELFConst.SHT_NULL && sec.isAlloc {
            // A row or a reference may be named after the section: it needs a name.
            guard !sec.name.isEmpty else {
                throw SpacerError.data(file: file, location: "byte \(elf.sectionHeaderOffset(sec.index))",
                                       expected: "a name for allocated section \(sec.index) (sh_name)", found: "an empty name")
            }
            guard sec.size > 0 else { continue }
            if try Self.splitsIntoLiterals(sec, elf) { literalSections.insert(sec.index) }
            if sec.isExecutable {
                guard sec.type != ELFConst.SHT_NOBITS else { continue }
                if Self.carves(sec) {
                    carved.insert(sec.index)
                    codeRows[sec.index] = try carve(sec)
                } else {
                    codeRows[sec.index] = [wholeSection(sec)]
                }
            } else if !isLiteralSection(sec) {
                if let s = canonicalSymbol(in: sec.index, at: 0, code: false) {
                    dataNames[sec.index] = (symbolNames[s], binding(of: elf.symbols[s]))
                } else {
                    dataNames[sec.index] = (sec.name, .local)
                }
            }
        }
    }

    /// Renames LOCAL OBJECT/TLS symbols `base.<digits>` to `base.N`, then `base.N~2`, `~3`, …
    /// on clashes, in symbol-table order.
    private func renameNumberedStatics() {
        var used: Set<String> = []
        for s in elf.symbols where s.isLocal && !s.isLabel && (s.type == ELFConst.STT_OBJECT || s.type == ELFConst.STT_TLS) {
            guard let dot = s.name.lastIndex(of: "."), dot != s.name.startIndex else { continue }
            let digits = s.name[s.name.index(after: dot)...]
            guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { continue }
            let base = String(s.name[..<dot]) + ".N"
            var name = base, k = 1
            while used.contains(name) { k += 1; name = "\(base)~\(k)" }
            used.insert(name)
            symbolNames[s.index] = name
        }
    }

    /// Whether an executable section is carved by its FUNC symbols rather than being one row.
    static func carves(_ sec: ELFSection) -> Bool {
        if !sec.name.hasPrefix(".text.") { return true }
        return [".text.unlikely", ".text.hot", ".text.startup", ".text.exit"].contains(sec.name)
    }

    func binding(of s: ELFSymbol) -> Binding {
        switch s.bind {
        case ELFConst.STB_LOCAL: return .local
        case ELFConst.STB_WEAK: return .weak
        default: return .global
        }
    }

    /// The symbol that names offset `offset` of section `section`: sized symbols first, then
    /// GLOBAL < WEAK < LOCAL, then FUNC (code) or OBJECT (data) before NOTYPE, then the name.
    func canonicalSymbol(in section: Int, at offset: Int, code: Bool) -> Int? {
        canonicalSymbol(among: symbolsBySection[section] ?? [], at: offset, code: code)
    }

    /// As `canonicalSymbol(in:at:code:)`, choosing among the symbol indexes `list`.
    func canonicalSymbol(among list: [Int], at offset: Int, code: Bool) -> Int? {
        var best: Int? = nil
        var bestKey: (Int, Int, Int, String) = (0, 0, 0, "")
        for i in list {
            let s = elf.symbols[i]
            guard s.value == UInt64(offset) else { continue }
            let key = (s.size > 0 ? 0 : 1, bindRank(s), typeRank(s, code: code), symbolNames[i])
            if best == nil || key < bestKey { best = i; bestKey = key }
        }
        return best
    }

    private func bindRank(_ s: ELFSymbol) -> Int {
        switch s.bind {
        case ELFConst.STB_GLOBAL, ELFConst.STB_GNU_UNIQUE: return 0
        case ELFConst.STB_WEAK: return 1
        default: return 2
        }
    }

    private func typeRank(_ s: ELFSymbol, code: Bool) -> Int {
        switch s.type {
        case ELFConst.STT_FUNC, ELFConst.STT_GNU_IFUNC: return code ? 0 : 2
        case ELFConst.STT_OBJECT, ELFConst.STT_TLS, ELFConst.STT_COMMON: return code ? 2 : 0
        case ELFConst.STT_NOTYPE: return 1
        default: return 3
        }
    }

    /// The single row of a `-ffunction-sections` section.
    private func wholeSection(_ sec: ELFSection) -> CodeRow {
        if let s = canonicalSymbol(in: sec.index, at: 0, code: true) {
            return CodeRow(start: 0, size: sec.size, name: symbolNames[s], binding: binding(of: elf.symbols[s]))
        }
        let bare = sec.name.hasPrefix(".text.") ? String(sec.name.dropFirst(6)) : sec.name
        return CodeRow(start: 0, size: sec.size, name: bare.isEmpty ? sec.name : bare, binding: .local)
    }

    /// The functions of a section holding several: one row per sized FUNC symbol (aliases at one
    /// address give one row; a symbol inside an earlier function is an alias into it).
    private func carve(_ sec: ELFSection) throws -> [CodeRow] {
        var sized: [Int: Int] = [:]  // start -> extent, from FUNC symbols with a size
        var unsized: Set<Int> = []   // starts of FUNC symbols without a size (hand-written assembly)
        for i in symbolsBySection[sec.index] ?? [] {
            let s = elf.symbols[i]
            guard s.type == ELFConst.STT_FUNC || s.type == ELFConst.STT_GNU_IFUNC else { continue }
            if s.size == 0 {
                if s.value < UInt64(sec.size) { unsized.insert(Int(s.value)) }
                continue
            }
            guard s.value <= UInt64(sec.size), s.size <= UInt64(sec.size) - s.value else {
                throw SpacerError.data(file: file, location: "byte \(symbolEntryOffset(i))",
                                       expected: "function \(s.name) inside the \(sec.size) bytes of \(sec.name)",
                                       found: "offset \(s.value), size \(s.size)")
            }
            sized[Int(s.value)] = max(sized[Int(s.value)] ?? 0, Int(s.size))
        }
        let starts = Set(sized.keys).union(unsized).sorted()
        var atStart: [Int: [Int]] = [:]  // start -> every named symbol there
        for i in symbolsBySection[sec.index] ?? [] {
            let v = elf.symbols[i].value
            if v < UInt64(sec.size), sized[Int(v)] != nil || unsized.contains(Int(v)) { atStart[Int(v), default: []].append(i) }
        }
        var rows: [CodeRow] = []
        var end = 0
        for (k, start) in starts.enumerated() where start >= end {
            let size = sized[start] ?? ((k + 1 < starts.count ? starts[k + 1] : sec.size) - start)
            guard let s = canonicalSymbol(among: atStart[start] ?? [], at: start, code: true) else { continue }
            rows.append(CodeRow(start: start, size: size, name: symbolNames[s], binding: binding(of: elf.symbols[s])))
            end = start + size
        }
        return rows.isEmpty ? [wholeSection(sec)] : rows
    }

    /// File offset of symbol `i`'s table entry, for error messages.
    func symbolEntryOffset(_ i: Int) -> Int {
        guard let st = elf.sections.first(where: { $0.type == ELFConst.SHT_SYMTAB }) else { return 0 }
        return st.offset + 24 * i
    }

    /// Whether a section is split into `str.*`/`cst*.*` literal rows (decided in `init`).
    func isLiteralSection(_ sec: ELFSection) -> Bool { literalSections.contains(sec.index) }

    /// Whether an allocated, non-executable `SHF_MERGE` `PROGBITS` section is split into literal
    /// rows, one per piece (`piece(of:at:)`):
    /// - a string section (`SHF_STRINGS`) when it has no relocations (a string with a pointer in
    ///   it is no plain string: the section stays one data row);
    /// - a constant section of entry size E (`.rodata.cst4/8/16/32`) when E is a power of two of
    ///   at most `TableEntry.maxAlign` and every relocation field of the section lies inside one
    ///   E-byte piece (gcc puts function and string addresses into `.rodata.cst8`/`.cst16`
    ///   without -fPIC; such a piece becomes a row carrying its relocations, see `locate`). A
    ///   field across two pieces, or of a type spacer-sim does not model, keeps the section one
    ///   data row (whose extraction then reports the unmodelled type).
    static func splitsIntoLiterals(_ sec: ELFSection, _ elf: ELFObject) throws -> Bool {
        guard sec.isAlloc, !sec.isExecutable, sec.isMerge, sec.type == ELFConst.SHT_PROGBITS else { return false }
        let relocated = (elf.relocationSections[sec.index] ?? []).contains { elf.sections[$0].size > 0 }
        if sec.isStrings { return !relocated }
        let e = sec.entsize
        guard e > 0, e & (e - 1) == 0, e <= TableEntry.maxAlign else { return false }
        guard relocated else { return true }
        guard let relocations = try? elf.relocations(for: sec.index) else { return false }  // malformed: reported if referenced
        for r in relocations {
            guard let width = RelocationType(elfType: r.type)?.width, r.offset >= 0,
                  r.offset / e == (r.offset + width - 1) / e else { return false }
        }
        return true
    }

    /// The row holding offset `probe` of executable section `section` (the last row starting at
    /// or before it, else the first).
    func codeRow(in section: Int, at probe: Int) -> CodeRow? {
        guard let rows = codeRows[section], !rows.isEmpty else { return nil }
        var lo = 0, hi = rows.count  // first row with start > probe
        while lo < hi { let m = (lo + hi) / 2; if rows[m].start <= probe { lo = m + 1 } else { hi = m } }
        return rows[max(lo - 1, 0)]
    }

    /// The relocations of a section, decoded once.
    func relocations(for section: Int) throws -> [ELFRelocation] {
        if let r = relocs[section] { return r }
        let r = try elf.relocations(for: section)
        relocs[section] = r
        return r
    }

    /// The piece (start, end) of mergeable section `section` holding offset `probe`.
    func piece(of section: Int, at probe: Int) -> Range<Int> {
        let sec = elf.sections[section]
        if pieces[section] == nil {
            var starts: [Int] = []
            let data = elf.contents(of: section)
            let base = data.startIndex
            if sec.isStrings {
                let e = max(sec.entsize, 1)
                var p = 0
                while p < sec.size {
                    starts.append(p)
                    var q = p
                    while q < sec.size {
                        let unitEnd = min(q + e, sec.size)
                        let zero = data[(base + q)..<(base + unitEnd)].allSatisfy { $0 == 0 }
                        q = unitEnd
                        if zero { break }
                    }
                    p = q
                }
            } else {
                starts = Array(stride(from: 0, to: sec.size, by: sec.entsize))
            }
            pieces[section] = starts
        }
        let starts = pieces[section]!
        var lo = 0, hi = starts.count
        while lo < hi { let m = (lo + hi) / 2; if starts[m] <= probe { lo = m + 1 } else { hi = m } }
        let k = max(lo - 1, 0)
        return starts[k]..<(k + 1 < starts.count ? starts[k + 1] : sec.size)
    }
}

// MARK: - Whole-table extraction

/// Where a row lives: the sort key of link order.
struct RowKey: Hashable, Comparable {
    var object: Int, section: Int, start: Int
    static func < (a: RowKey, b: RowKey) -> Bool { (a.object, a.section, a.start) < (b.object, b.section, b.start) }
}

/// The definition of a global name that the link keeps.
struct GlobalDefinition {
    enum Place { case section(object: Int, section: Int, value: Int), common(object: Int) }
    var place: Place
    /// 0 strong, 1 weak, 2 common: a lower rank replaces a higher one; equal ranks keep the first.
    var rank: Int
    var size = 0, align = 1
}

struct Extraction {
    var objects: [ObjectState] = []
    var globals: [String: GlobalDefinition] = [:]
    /// Built rows of functions and data sections, by link-order key.
    var rows: [RowKey: TableEntry] = [:]
    var pendingData: [RowKey] = []
    /// Library-wide rows (`str.*`, `cst*.*`, common symbols) by name.
    var shared: [String: TableEntry] = [:]
    /// Source of each library-wide literal row (its first occurrence).
    var sharedSources: [String: ELFExtractor.RowSource] = [:]
    /// Constants with relocations (rows of their object), by `objectConstantID`, and their sources.
    var objectConstants: [String: TableEntry] = [:]
    var objectConstantSources: [String: ELFExtractor.RowSource] = [:]
    /// Row name of each constant with relocations, by piece, and the pieces being built.
    var constantNames: [RowKey: String] = [:]
    var constantsInProgress: Set<RowKey> = []
    var result: [TableEntry] = []
    var resultSources: [ELFExtractor.RowSource?] = []

    mutating func run() throws {
        try collectGlobals()
        dropLosingDuplicates()
        uniquifyLocalNames()
        for o in objects {
            for (s, list) in o.codeRows.sorted(by: { $0.key < $1.key }) {
                if o.carved.contains(s) { try checkCarvedRelocations(o, section: s) }
                for row in list where row.emitted {
                    let key = RowKey(object: o.index, section: s, start: row.start)
                    rows[key] = try build(o, section: s, start: row.start, size: row.size, kind: .function,
                                          name: row.name, binding: row.binding)
                }
            }
        }
        while let key = pendingData.popLast() {
            let o = objects[key.object]
            let sec = o.elf.sections[key.section]
            let kind: EntryKind = sec.isNoBits ? .bss : (sec.isWritable ? .data : .rodata)
            let n = o.dataNames[key.section]!
            rows[key] = try build(o, section: key.section, start: 0, size: sec.size, kind: kind, name: n.name, binding: n.binding)
        }
        // Link order, with literal rows (library-wide ones and constants with relocations) after
        // the first row that references them.
        var placed: Set<String> = []
        for key in rows.keys.sorted() {
            let entry = rows[key]!
            let o = objects[key.object]
            append(entry, ELFExtractor.RowSource(object: key.object, section: key.section, start: key.start, size: entry.size,
                                                 carvedWithOthers: o.carved.contains(key.section) && (o.codeRows[key.section]?.count ?? 0) > 1))
            appendLiterals(referencedBy: entry, object: key.object, placed: &placed)
        }
    }

    /// Appends the literal rows `entry` references that are not placed yet, each followed by
    /// those it references in turn (a constant with relocations may point at strings).
    private mutating func appendLiterals(referencedBy entry: TableEntry, object: Int, placed: inout Set<String>) {
        for r in entry.relocations {
            let own = Self.objectConstantID(object, r.target)
            if let c = objectConstants[own] {
                guard placed.insert(own).inserted else { continue }
                append(c, objectConstantSources[own])
                appendLiterals(referencedBy: c, object: object, placed: &placed)
            } else if let e = shared[r.target], placed.insert(r.target).inserted {
                append(e, sharedSources[r.target])
            }
        }
    }

    private mutating func append(_ e: TableEntry, _ source: ELFExtractor.RowSource?) {
        var e = e
        e.order = result.count
        result.append(e)
        resultSources.append(source)
    }

    /// Records, for every GLOBAL/WEAK name, the definition the link keeps.
    /// - Throws: `.data` at the symbol's `st_size` or `st_value` field for a common symbol larger
    ///   than `TableEntry.maxSize` or aligned to more than `TableEntry.maxAlign` or to a
    ///   non-power of two (a table could not hold its row).
    private mutating func collectGlobals() throws {
        for o in objects {
            for s in o.elf.symbols where !s.isLocal && !s.name.isEmpty {
                var def: GlobalDefinition
                if s.isInSection {
                    def = GlobalDefinition(place: .section(object: o.index, section: s.section, value: Int(clamping: s.value)),
                                           rank: s.bind == ELFConst.STB_WEAK ? 1 : 0)
                } else if s.isCommon {
                    let entry = o.symbolEntryOffset(s.index)
                    guard s.size <= UInt64(TableEntry.maxSize) else {
                        throw SpacerError.data(file: o.file, location: "byte \(entry + 16)",
                                               expected: "a size of at most \(TableEntry.maxSize) bytes for common symbol \(s.name)",
                                               found: "\(s.size)")
                    }
                    let align = max(s.value, 1)
                    guard align <= UInt64(TableEntry.maxAlign), align & (align - 1) == 0 else {
                        throw SpacerError.data(file: o.file, location: "byte \(entry + 8)",
                                               expected: "a power-of-two alignment of at most \(TableEntry.maxAlign) for common symbol \(s.name)",
                                               found: "\(s.value)")
                    }
                    def = GlobalDefinition(place: .common(object: o.index), rank: 2, size: Int(s.size), align: Int(align))
                } else { continue }
                if let old = globals[s.name] {
                    if old.rank == 2 && def.rank == 2 {  // tentative definitions merge: largest size and alignment
                        globals[s.name]!.size = max(old.size, def.size)
                        globals[s.name]!.align = max(old.align, def.align)
                    } else if def.rank < old.rank {
                        globals[s.name] = def
                    }
                } else {
                    globals[s.name] = def
                }
            }
        }
    }

    /// A function or data section named by a global name whose kept definition is elsewhere
    /// gives no row (the link keeps one copy).
    private func dropLosingDuplicates() {
        for o in objects {
            for (s, list) in o.codeRows {
                var list = list
                for k in list.indices where list[k].binding != .local {
                    // The kept definition must be this very row: same object, section and start
                    // (a second copy carved from one section loses too).
                    if case let .section(obj, sec, value)? = globals[list[k].name]?.place, obj == o.index, sec == s,
                       value == list[k].start || !o.carved.contains(s) { continue }
                    list[k].emitted = false
                }
                o.codeRows[s] = list
            }
        }
    }

    /// Gives local rows of one object name distinct names: the first keeps its name, later ones
    /// get `~2`, `~3`, … in section order.
    private func uniquifyLocalNames() {
        var used: [String: Set<String>] = [:]
        for o in objects {
            for sec in o.elf.sections {
                if var list = o.codeRows[sec.index] {
                    for k in list.indices where list[k].binding == .local {
                        list[k].name = Self.unique(list[k].name, in: &used[o.input.objectName, default: []])
                    }
                    o.codeRows[sec.index] = list
                } else if let d = o.dataNames[sec.index], d.binding == .local {
                    o.dataNames[sec.index] = (Self.unique(d.name, in: &used[o.input.objectName, default: []]), .local)
                }
            }
        }
    }

    private static func unique(_ name: String, in used: inout Set<String>) -> String {
        var n = name, k = 1
        while used.contains(n) { k += 1; n = "\(name)~\(k)" }
        used.insert(n)
        return n
    }

    /// In a carved section, every relocation field must lie inside one function.
    private func checkCarvedRelocations(_ o: ObjectState, section s: Int) throws {
        for r in try o.relocations(for: s) {
            let width = RelocationType(elfType: r.type)?.width ?? 4
            guard let row = o.codeRow(in: s, at: r.offset), r.offset >= row.start, r.offset + width <= row.start + row.size else {
                throw SpacerError.data(file: o.file, location: "byte \(r.entryOffset)",
                                       expected: "a relocation field inside a function of \(o.elf.sections[s].name)",
                                       found: "offset \(r.offset), between functions")
            }
        }
    }

    /// The row for `size` bytes at `start` of a section: bytes with relocation fields zeroed,
    /// hash, and relocations with normalised targets.
    private mutating func build(_ o: ObjectState, section s: Int, start: Int, size: Int, kind: EntryKind,
                                name: String, binding: Binding) throws -> TableEntry {
        let sec = o.elf.sections[s]
        guard size <= TableEntry.maxSize else {  // only NOBITS sections can claim more than the file holds
            throw SpacerError.data(file: o.file, location: "byte \(o.elf.sectionHeaderOffset(s) + 32)",
                                   expected: "a section of at most \(TableEntry.maxSize) bytes for row \(name)", found: "\(size) bytes")
        }
        var bytes = kind == .bss ? [] : Array(o.elf.contents(of: s)[(sec.offset + start)..<(sec.offset + start + size)])
        var out: [Relocation] = []
        let all = try o.relocations(for: s)
        var lo = 0, hi = all.count  // first relocation at or after start
        while lo < hi { let m = (lo + hi) / 2; if all[m].offset < start { lo = m + 1 } else { hi = m } }
        var fieldEnd = 0   // end of the furthest relocation field so far, from the row start
        for r in all[lo...] {
            if r.offset >= start + size { break }
            guard let type = RelocationType(elfType: r.type) else {
                throw SpacerError.data(file: o.file, location: "byte \(r.entryOffset)",
                                       expected: "an x86-64 relocation type spacer-sim models (\(Self.modelledTypes))",
                                       found: "type \(r.type)\(Self.typeNames[r.type].map { " (R_X86_64_\($0))" } ?? "") at offset \(r.offset) of \(sec.name)")
            }
            let off = r.offset - start
            guard off + type.width <= size else {
                throw SpacerError.data(file: o.file, location: "byte \(r.entryOffset)",
                                       expected: "a relocation field inside the \(size) bytes of \(name)",
                                       found: "\(type.width) bytes at offset \(off)")
            }
            guard off >= fieldEnd else {   // the table reader refuses overlapping fields too
                throw SpacerError.data(file: o.file, location: "byte \(r.entryOffset)",
                                       expected: "relocation fields that do not overlap in \(name)",
                                       found: "offset \(off) (\(type.width) bytes) inside the field that ends at \(fieldEnd)")
            }
            fieldEnd = off + type.width
            if kind != .bss { for i in off..<(off + type.width) { bytes[i] = 0 } }
            let (target, addend) = try resolve(o, r, type)
            guard !target.isEmpty, !target.contains(" ") else {
                throw SpacerError.data(file: o.file, location: "byte \(r.entryOffset)",
                                       expected: "a relocation target with a name and no spaces (the relocs column is space-separated)",
                                       found: "'\(target)'")
            }
            out.append(Relocation(offset: off, type: type, target: target, addend: addend))
        }
        return TableEntry(kind: kind, name: name, object: o.input.objectName, section: sec.name, binding: binding,
                          order: 0, size: size, align: sec.align, hash: kind == .bss ? "" : FNV1a64.hex(bytes),
                          relocations: out)
    }

    /// The normalised (target, addend) of relocation `r` of object `o`; registers the data and
    /// library-wide rows it reaches.
    private mutating func resolve(_ o: ObjectState, _ r: ELFRelocation, _ type: RelocationType) throws -> (String, Int64) {
        let sym = o.elf.symbols[r.symbol]
        let name = o.symbolNames[r.symbol]
        if r.symbol == 0 { return ("*ABS*", r.addend) }
        if !sym.isLocal && !name.isEmpty {
            guard let def = globals[name] else { return (try external(name, o, r), r.addend) }  // undefined: external
            switch def.place {
            case let .section(obj, sec, value):
                return try locate(objects[obj], section: sec, value: value, addend: r.addend, type: type, named: true, fallback: name)
            case let .common(obj):
                if shared[name] == nil {
                    shared[name] = TableEntry(kind: .bss, name: name, object: objects[obj].input.objectName, section: "COMMON",
                                              binding: .global, order: 0, size: max(def.size, 1), align: def.align, hash: "")
                }
                return (name, r.addend)
            }
        }
        guard sym.isInSection else { return (name.isEmpty ? "*ABS*" : try external(name, o, r), r.addend) }
        let named = sym.type != ELFConst.STT_SECTION && !sym.isLabel
        return try locate(o, section: sym.section, value: Int(clamping: sym.value), addend: r.addend, type: type,
                          named: named, fallback: named ? name : o.elf.sections[sym.section].name)
    }

    /// `name`, a symbol no object defines (an external that `place --emit-ld` writes into its
    /// linker scripts' `EXTERN(…)`), when ld reads it back as that one name.
    /// - Throws: `.data` naming the object and the relocation's byte offset for any other name
    ///   (`puts)INPUT(evil.o)EXTERN(x` would make ld load another object).
    private func external(_ name: String, _ o: ObjectState, _ r: ELFRelocation) throws -> String {
        guard SafeNames.isLinkerSymbol(name) else {
            throw SpacerError.data(file: o.file, location: "byte \(r.entryOffset)",
                                   expected: "an undefined symbol that is \(SafeNames.linkerSymbolGrammar)",
                                   found: SafeNames.quoted(name))
        }
        return name
    }

    /// The row holding address `value` (a named symbol) or `value + addend (+4 if PC-relative)`
    /// (a section symbol or label) of a section, with the addend shifted so that S + A stays.
    private mutating func locate(_ o: ObjectState, section s: Int, value: Int, addend: Int64, type: RelocationType,
                                 named: Bool, fallback: String) throws -> (String, Int64) {
        let sec = o.elf.sections[s]
        guard sec.isAlloc, sec.size > 0 else { return (fallback, addend) }
        let v = min(value, sec.size)
        let pointed = Int(clamping: Int64(v).addingReportingOverflow(addend &+ (type.isPCRelative ? 4 : 0)).partialValue)
        let probe = min(max(pointed, 0), sec.size - 1)
        if sec.isExecutable {
            guard let row = o.codeRow(in: s, at: named ? min(v, sec.size - 1) : probe) else { return (fallback, addend) }
            return (row.name, addend &+ Int64(v - row.start))
        }
        if o.isLiteralSection(sec) {
            let piece = o.piece(of: s, at: probe)
            let residual = addend &+ Int64(v - piece.lowerBound)   // S + A stays: piece start + residual
            if !sec.isStrings, try o.relocations(for: s).contains(where: { piece.contains($0.offset) }) {
                return (try relocatedConstant(o, section: s, piece: piece), residual)
            }
            let data = o.elf.contents(of: s)
            let bytes = data[(data.startIndex + piece.lowerBound)..<(data.startIndex + piece.upperBound)]
            let hash = FNV1a64.hex(bytes)
            let literal = sec.isStrings ? "str.\(hash)" : "cst\(sec.entsize).\(hash)"
            // A constant is aligned to its entry size (its offset in the pool is a multiple of
            // it; the pool's own alignment says nothing more about one constant).
            let align = sec.isStrings ? sec.align : sec.entsize
            if var e = shared[literal] {
                if align > e.align { e.align = align; shared[literal] = e }
            } else {
                shared[literal] = TableEntry(kind: .rodata, name: literal, object: "", section: sec.name, binding: .local,
                                             order: 0, size: piece.count, align: align, hash: hash)
                sharedSources[literal] = ELFExtractor.RowSource(object: o.index, section: s, start: piece.lowerBound, size: piece.count, carvedWithOthers: false)
            }
            return (literal, residual)
        }
        guard let d = o.dataNames[s] else { return (fallback, addend) }
        if d.binding != .local {  // a losing duplicate of a global name: the kept copy answers
            guard case let .section(obj, sec2, _)? = globals[d.name]?.place, obj == o.index, sec2 == s else {
                return (d.name, addend &+ Int64(v))
            }
        }
        let key = RowKey(object: o.index, section: s, start: 0)
        if rows[key] == nil {
            pendingData.append(key)
            rows[key] = TableEntry(name: d.name, order: 0, size: 1, align: 1, hash: "")  // placeholder until built
        }
        return (d.name, addend &+ Int64(v))
    }

    /// The row name of the constant `piece` of constant section `s` of object `o` when the piece
    /// carries relocations: `cst<E>.<h>`, h the FNV-1a 64 of the UTF-8 text `<hash>,<relocs>`
    /// (the row's `hash` and `relocs` columns as the table writes them), so that two constants
    /// are one row exactly when their bytes and normalised relocations agree. Unlike a plain
    /// constant the row is the object's own (`object` set, binding local): ld does not merge a
    /// section with relocations across objects, and its targets (static functions) resolve
    /// within the object. Identical constants of one object are one row (the first piece's).
    /// - Throws: as `build`; `.data` for a constant whose relocations lead back to itself.
    private mutating func relocatedConstant(_ o: ObjectState, section s: Int, piece: Range<Int>) throws -> String {
        let key = RowKey(object: o.index, section: s, start: piece.lowerBound)
        if let name = constantNames[key] { return name }
        let sec = o.elf.sections[s]
        guard constantsInProgress.insert(key).inserted else {
            throw SpacerError.data(file: o.file, location: "byte \(sec.offset + piece.lowerBound)",
                                   expected: "constants of \(sec.name) whose relocations do not lead back to themselves",
                                   found: "a cycle through the constant at offset \(piece.lowerBound)")
        }
        var e = try build(o, section: s, start: piece.lowerBound, size: piece.count, kind: .rodata,
                          name: "constant at offset \(piece.lowerBound) of \(sec.name)", binding: .local)
        constantsInProgress.remove(key)
        e.name = "cst\(sec.entsize).\(FNV1a64.hex(Array((e.hash + "," + e.relocations.map(\.encoded).joined(separator: " ")).utf8)))"
        e.align = sec.entsize
        constantNames[key] = e.name
        let id = Self.objectConstantID(o.index, e.name)
        if objectConstants[id] == nil {
            objectConstants[id] = e
            objectConstantSources[id] = ELFExtractor.RowSource(object: o.index, section: s, start: piece.lowerBound, size: piece.count, carvedWithOthers: false)
        }
        return e.name
    }

    /// The key of an object's own constant row `name` in `objectConstants`.
    static func objectConstantID(_ object: Int, _ name: String) -> String { "\(object)\u{1}\(name)" }

    static let modelledTypes = "R_X86_64_64, PC32, PLT32, 32, 32S, 16, PC16, 8, PC8, PC64, GOTPCREL, GOTPCRELX, REX_GOTPCRELX, TLSGD, TLSLD, DTPOFF32, GOTTPOFF, TPOFF32, SIZE32, SIZE64"
    static let typeNames: [UInt32: String] = [
        3: "GOT32", 5: "COPY", 6: "GLOB_DAT", 7: "JUMP_SLOT", 8: "RELATIVE", 16: "DTPMOD64", 17: "DTPOFF64",
        18: "TPOFF64", 25: "GOTOFF64", 26: "GOTPC32", 27: "GOT64", 28: "GOTPCREL64", 29: "GOTPC64", 30: "GOTPLT64",
        31: "PLTOFF64", 34: "GOTPC32_TLSDESC", 35: "TLSDESC_CALL", 36: "TLSDESC", 37: "IRELATIVE", 38: "RELATIVE64",
        43: "CODE_4_GOTPCRELX", 44: "CODE_4_GOTTPOFF", 45: "CODE_4_GOTPC32_TLSDESC",
    ]
}
