import Foundation
import SpacerCore

/// The function-table reader behind `TableCSV.read` and `TableCSV.parse`: one pass over the
/// bytes, no `String` per field (issue 14 item 1).
///
/// Bytes arrive in chunks (a gzip file is inflated 64 KiB at a time into the reader's buffer,
/// `Gzip.Inflater`; a plain file is one chunk). Each chunk is checked as UTF-8, then every
/// complete record in it (up to its last line break; a record inside an open quote waits for
/// more) is split into fields as byte ranges, with the grammar of `CSVReader` (BOM, `#`
/// comments, blank lines, LF or CRLF, quoted fields with `""`), and each row is validated and
/// its strings interned (`NameInterner`) at once. Tables get their entries both as
/// `TableEntry` values (strings shared through the pool) and as `TableColumns` of ids.
///
/// Errors are those of reading the whole file first and then parsing it, in the same order of
/// precedence: a gzip or size error, then the first byte that is not UTF-8, then the first CSV
/// syntax error, then the first bad row, then a file without rows. After an error of a later
/// class the reader goes on (skipping the row work) only to find one of an earlier class.
struct TableReader {
    let file: String
    private var line = 1
    private var checkedBOM = false
    /// A CSV syntax error (stops the record scan); a row error (stops the row work only).
    private var syntaxError: SpacerError? = nil
    private var rowError: SpacerError? = nil
    private var comments: [String] = []
    private var names = NameInterner(capacity: 4096)

    // The header: column indices (-1 when absent), its field count and line.
    private var headerLine = 0
    private var headerCount = -1
    private var headerNames: [String] = []
    private var cLibrary = -1, cVersion = -1, cKind = -1, cName = -1, cObject = -1, cSection = -1
    private var cBinding = -1, cOrder = -1, cSize = -1, cAlign = -1, cHash = -1, cRelocs = -1

    private struct Building {
        var library: Int32, version: Int32, line: Int
        var entries: [TableEntry]
        var columns: TableColumns
    }
    private var tables: [Building] = []
    private var tableIndex = IDPairMap(capacity: 16)
    private var last = -1
    private var seen = IDPairMap(capacity: 4096)
    private let emptyPool = NameInterner(capacity: 1).pool()

    // Scratch of one record: field starts and ends (byte offsets into the chunk), and whether a
    // quoted field holds `""` (unescaped in place once the record is complete).
    private var fieldStart: [Int] = []
    private var fieldEnd: [Int] = []
    private var fieldEscaped: [Bool] = []
    private var hashScratch: [UInt8] = []
    private var relocScratch: [(offset: Int, type: RelocationType, target: Int32, addend: Int64, start: Int, end: Int)] = []

    init(file: String) {
        self.file = file
        fieldStart.reserveCapacity(16); fieldEnd.reserveCapacity(16); fieldEscaped.reserveCapacity(16)
    }

    /// Reads `path` (plain or gzip, by its magic bytes) through the reader.
    /// - Throws: as `FileIO.readText`, then as `TableCSV.parse`.
    static func read(path: String) throws -> [(table: FunctionTable, line: Int)] {
        let raw = try FileIO.readRaw(path)
        var reader = TableReader(file: path)
        if FileIO.isGzip(raw) {
            let inflater = try Gzip.Inflater(raw, file: path, limit: FileIO.maxInputBytes)
            var buffer = ChunkBuffer(capacity: 1 << 18)
            var validated = 0          // bytes of the buffer known to be UTF-8
            var base = 0               // offset in the decompressed file of buffer[0]
            var badUTF8: Int? = nil    // offset of the first byte that is not UTF-8
            var retryAt = 0            // parse again once this many bytes are validated
            while true {
                buffer.reserve(Gzip.Inflater.chunk)
                let produced = try inflater.inflate(into: buffer.end, capacity: Gzip.Inflater.chunk)
                buffer.count += produced
                let eof = inflater.finished
                if badUTF8 == nil {
                    let (end, bad) = UTF8Check.validate(buffer.base, from: validated, to: buffer.count, final: eof)
                    if bad { badUTF8 = base + end } else { validated = end }
                }
                var consumed = 0
                if badUTF8 != nil { consumed = buffer.count }
                else if eof || validated >= retryAt {
                    var regionEnd = validated
                    if !eof {
                        while regionEnd > 0 && buffer.base[regionEnd - 1] != 0x0A { regionEnd -= 1 }
                    }
                    consumed = reader.consume(buffer.base, count: regionEnd, atEOF: eof)
                    // A record longer than what is buffered (a quoted field over many lines, a
                    // line longer than a chunk) is tried again only once the buffer has doubled:
                    // linear time on any input.
                    retryAt = consumed == 0 ? 2 * validated : 0
                }
                buffer.drop(consumed)
                validated -= min(consumed, validated)
                base += consumed
                if eof { break }
            }
            if let bad = badUTF8 { throw FileIO.notUTF8(file: path, offset: bad) }
        } else {
            try raw.withUnsafeBytes { (b: UnsafeRawBufferPointer) in
                let bytes = b.bindMemory(to: UInt8.self)
                let (end, bad) = UTF8Check.validate(bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!, from: 0, to: bytes.count, final: true)
                if bad { throw FileIO.notUTF8(file: path, offset: end) }
            }
            try reader.parseAll(Array(raw))
        }
        return try reader.finish()
    }

    /// Parses all of `bytes` (known to be UTF-8) as the whole file.
    mutating func parseAll(_ bytes: [UInt8]) throws {
        var bytes = bytes
        let n = bytes.count
        bytes.withUnsafeMutableBufferPointer { b in
            if let p = b.baseAddress { _ = consume(p, count: n, atEOF: true) }
            else { var z: UInt8 = 0; _ = consume(&z, count: 0, atEOF: true) }
        }
    }

    /// The tables, or the error of highest precedence found.
    mutating func finish() throws -> [(table: FunctionTable, line: Int)] {
        if let e = syntaxError { throw e }
        if let e = rowError { throw e }
        guard headerCount >= 0 else {
            throw SpacerError.data(file: file, location: "1", expected: "a header row with columns \(TableCSV.required.joined(separator: ","))", found: "no rows")
        }
        guard !tables.isEmpty else {
            throw SpacerError.data(file: file, location: "\(headerLine + 1)", expected: "at least one table row after the header", found: "none")
        }
        let pool = names.pool()
        return tables.map { t in
            var columns = t.columns
            columns.pool = pool
            return (FunctionTable(library: names.string(t.library), version: names.string(t.version), entries: t.entries,
                                  columns: columns, provenance: comments), t.line)
        }
    }

    // MARK: records

    /// Parses the complete records of `p[0 ..< count]`; with `atEOF` false, a record that
    /// reaches `count` inside an open quote is left for the next call. The caller ends the
    /// region after a line break, so that no other decision needs a byte beyond it.
    /// - Returns: the bytes consumed (the start of the record left, or `count`).
    mutating func consume(_ p: UnsafeMutablePointer<UInt8>, count n: Int, atEOF: Bool) -> Int {
        guard syntaxError == nil else { return n }
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        var i = 0
        if !checkedBOM {
            if n < 3 && !atEOF { return 0 }
            checkedBOM = true
            if n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF { i = 3 }
        }
        while i < n {
            let c0 = p[i]
            if c0 == UInt8(ascii: "#") {
                var j = i + 1
                while j < n && p[j] != lf { j += 1 }
                var e = j
                if e > i + 1 && p[e - 1] == cr { e -= 1 }
                var b = i + 1
                if b < e && p[b] == UInt8(ascii: " ") { b += 1 }
                comments.append(String(decoding: UnsafeBufferPointer(start: p + b, count: e - b), as: UTF8.self))
                i = j + 1; line += 1; continue
            }
            if c0 == lf { i += 1; line += 1; continue }
            if c0 == cr && i + 1 < n && p[i + 1] == lf { i += 2; line += 1; continue }
            let startLine = line
            var ln = line, col = 1, j = i
            fieldStart.removeAll(keepingCapacity: true); fieldEnd.removeAll(keepingCapacity: true); fieldEscaped.removeAll(keepingCapacity: true)
            while true {
                if j < n && p[j] == quote {
                    let qline = ln, qcol = col
                    j += 1
                    let a = j
                    var escaped = false
                    while true {
                        guard j < n else {
                            if !atEOF { return i }   // the record continues in the next chunk
                            syntaxError = .data(file: file, location: "\(qline):\(qcol)", expected: "a closing quote", found: "end of file")
                            return n
                        }
                        let c = p[j]
                        if c == quote {
                            if j + 1 < n && p[j + 1] == quote { escaped = true; j += 2; continue }
                            break
                        }
                        if c == lf { ln += 1 }
                        j += 1
                    }
                    fieldStart.append(a); fieldEnd.append(j); fieldEscaped.append(escaped)
                    j += 1
                    if j < n && !(p[j] == comma || p[j] == lf || p[j] == cr) {
                        syntaxError = .data(file: file, location: "\(ln):\(col)", expected: "a comma or line end after a quoted field",
                                            found: "'\(String(decoding: UnsafeBufferPointer(start: p + j, count: 1), as: UTF8.self))'")
                        return n
                    }
                } else {
                    let a = j
                    while j < n {
                        let c = p[j]
                        if c == comma || c == lf || (c == cr && j + 1 < n && p[j + 1] == lf) { break }
                        if c == quote {
                            syntaxError = .data(file: file, location: "\(ln):\(col)", expected: "a quote only at the start of a field", found: "a quote inside the field")
                            return n
                        }
                        j += 1
                    }
                    fieldStart.append(a); fieldEnd.append(j); fieldEscaped.append(false)
                }
                col += 1
                if j < n && p[j] == comma { j += 1; continue }
                if j < n && p[j] == cr { j += 1 }
                if j < n && p[j] == lf { j += 1; ln += 1 }
                break
            }
            line = ln; i = j
            guard rowError == nil else { continue }
            for f in fieldEscaped.indices where fieldEscaped[f] {   // `""` → `"`, in place
                var r = fieldStart[f], w = r
                let e = fieldEnd[f]
                while r < e { p[w] = p[r]; r += p[r] == quote ? 2 : 1; w += 1 }
                fieldEnd[f] = w
            }
            do { try record(p, line: startLine) } catch let e as SpacerError { rowError = e } catch {
                rowError = .internalInvariant("\(error)")
            }
        }
        return n
    }

    // MARK: rows

    @inline(__always)
    private func text(_ p: UnsafeMutablePointer<UInt8>, _ f: Int) -> String {
        f < 0 ? "" : String(decoding: UnsafeBufferPointer(start: p + fieldStart[f], count: fieldEnd[f] - fieldStart[f]), as: UTF8.self)
    }

    @inline(__always)
    private func bytes(_ p: UnsafeMutablePointer<UInt8>, _ f: Int) -> UnsafeBufferPointer<UInt8> {
        f < 0 ? UnsafeBufferPointer(start: p, count: 0) : UnsafeBufferPointer(start: p + fieldStart[f], count: fieldEnd[f] - fieldStart[f])
    }

    @inline(__always)
    private func isEmpty(_ f: Int) -> Bool { f < 0 || fieldEnd[f] == fieldStart[f] }

    private mutating func header(_ p: UnsafeMutablePointer<UInt8>, line: Int) throws {
        headerLine = line
        var col: [String: Int] = [:]
        for f in fieldStart.indices {
            let n = text(p, f).trimmingCharacters(in: .whitespaces)
            guard TableCSV.columns.contains(n) else {
                throw SpacerError.data(file: file, location: "\(line):\(f + 1)", expected: "a column of \(TableCSV.columns.joined(separator: ","))", found: "'\(n)'")
            }
            guard col[n] == nil else { throw SpacerError.data(file: file, location: "\(line):\(f + 1)", expected: "each column once", found: "'\(n)' twice") }
            col[n] = f
        }
        let missing = TableCSV.required.filter { col[$0] == nil }
        guard missing.isEmpty else {
            throw SpacerError.data(file: file, location: "\(line)", expected: "columns \(TableCSV.required.joined(separator: ",")) in the header",
                                   found: "no column \(missing.joined(separator: ", "))")
        }
        headerCount = fieldStart.count
        cLibrary = col["library"]!; cVersion = col["version"]!; cName = col["name"]!; cSize = col["size"]!; cAlign = col["align"]!; cHash = col["hash"]!
        cKind = col["kind"] ?? -1; cObject = col["object"] ?? -1; cSection = col["section"] ?? -1; cBinding = col["binding"] ?? -1
        cOrder = col["order"] ?? -1; cRelocs = col["relocs"] ?? -1
    }

    /// Validates and interns one record (the header first).
    private mutating func record(_ p: UnsafeMutablePointer<UInt8>, line: Int) throws {
        if headerCount < 0 { try header(p, line: line); return }
        let nf = fieldStart.count
        guard nf == headerCount else {
            throw SpacerError.data(file: file, location: "\(line)", expected: "\(headerCount) fields as in the header", found: "\(nf)")
        }
        func loc(_ c: Int) -> String { "\(line):\(max(c, 0) + 1)" }
        if isEmpty(cLibrary) || isEmpty(cVersion) || isEmpty(cName) {
            let (k, c) = isEmpty(cLibrary) ? ("library", cLibrary) : isEmpty(cVersion) ? ("version", cVersion) : ("name", cName)
            throw SpacerError.data(file: file, location: loc(c), expected: "a non-empty \(k)", found: "an empty field")
        }
        let kind: EntryKind
        switch Spelling.kind(bytes(p, cKind)) {
        case let k?: kind = k
        case nil: throw SpacerError.data(file: file, location: loc(cKind), expected: "kind func, rodata, data or bss", found: "'\(text(p, cKind))'")
        }
        let sb = bytes(p, cSize)
        guard let size64 = TableCSV.decimal(sb.baseAddress!, 0, sb.count), size64 >= 1, size64 <= Int64(TableEntry.maxSize) else {
            throw SpacerError.data(file: file, location: loc(cSize), expected: "a size in bytes, a whole number from 1 to \(TableEntry.maxSize)", found: "'\(text(p, cSize))'")
        }
        let size = Int(size64)
        let ab = bytes(p, cAlign)
        guard let align64 = TableCSV.decimal(ab.baseAddress!, 0, ab.count), align64 >= 1, align64 <= Int64(TableEntry.maxAlign), align64 & (align64 - 1) == 0 else {
            throw SpacerError.data(file: file, location: loc(cAlign), expected: "an alignment in bytes, a power of two from 1 to \(TableEntry.maxAlign)", found: "'\(text(p, cAlign))'")
        }
        let align = Int(align64)
        let hb = bytes(p, cHash)
        if hb.isEmpty && kind != .bss {
            throw SpacerError.data(file: file, location: loc(cHash), expected: "a body hash", found: "an empty field")
        }
        // Hex digits, compared case-insensitively: normalised to lower case here, so that `A1`
        // and `a1` are one body (issue 11 item 12).
        var upper = false
        for x in hb {
            if (x >= 0x30 && x <= 0x39) || (x >= 0x61 && x <= 0x66) { continue }
            if x >= 0x41 && x <= 0x46 { upper = true; continue }
            throw SpacerError.data(file: file, location: loc(cHash), expected: "a body hash of hexadecimal digits (0-9, a-f)", found: "'\(text(p, cHash))'")
        }
        let hashID: Int32
        if upper {
            hashScratch.removeAll(keepingCapacity: true)
            for x in hb { hashScratch.append(x >= 0x41 && x <= 0x46 ? x + 0x20 : x) }
            hashID = hashScratch.withUnsafeBufferPointer { names.id($0) }
        } else { hashID = names.id(hb) }
        guard let binding = Spelling.binding(bytes(p, cBinding)) else {
            throw SpacerError.data(file: file, location: loc(cBinding), expected: "binding global, local or weak", found: "'\(text(p, cBinding))'")
        }
        let libID = names.id(bytes(p, cLibrary)), verID = names.id(bytes(p, cVersion))
        let t: Int
        if last >= 0 && tables[last].library == libID && tables[last].version == verID { t = last }
        else {
            let (v, inserted) = tableIndex.insert(UInt64(UInt32(bitPattern: libID)), UInt64(UInt32(bitPattern: verID)), value: Int32(tables.count))
            t = Int(v)
            if inserted { tables.append(Building(library: libID, version: verID, line: line, entries: [], columns: TableColumns(pool: emptyPool))) }
        }
        last = t
        let ord: Int
        if isEmpty(cOrder) { ord = tables[t].entries.count }
        else {
            let ob = bytes(p, cOrder)
            guard let o = TableCSV.decimal(ob.baseAddress!, 0, ob.count), o >= 0 else {
                throw SpacerError.data(file: file, location: loc(cOrder), expected: "a link-order index, a whole number ≥ 0", found: "'\(text(p, cOrder))'")
            }
            ord = Int(o)
        }
        let nameID = names.id(bytes(p, cName)), objectID = names.id(bytes(p, cObject))
        let scope: UInt64 = binding == .local ? UInt64(UInt32(bitPattern: objectID)) + 1 : 0
        guard seen.insert(UInt64(t) << 32 | scope, UInt64(UInt32(bitPattern: nameID)), value: 0).inserted else {
            let object = names.string(objectID)
            throw SpacerError.data(file: file, location: loc(cName), expected: "one row per symbol of \(names.string(libID)) \(names.string(verID))",
                                   found: "a second row for \(names.string(nameID))\(object.isEmpty ? "" : " in \(object)")")
        }
        var relocs: [Relocation] = []
        relocScratch.removeAll(keepingCapacity: true)
        if !isEmpty(cRelocs) {
            try relocations(p, field: cRelocs, size: size, location: loc(cRelocs))
            var increasing = true
            for k in relocScratch.indices.dropFirst() where relocScratch[k - 1].offset >= relocScratch[k].offset { increasing = false; break }
            if !increasing {
                relocScratch.sort { ($0.offset, $0.type.rawValue) < ($1.offset, $1.type.rawValue) }
            }
            relocs.reserveCapacity(relocScratch.count)
            for r in relocScratch { relocs.append(Relocation(offset: r.offset, type: r.type, target: names.string(r.target), addend: r.addend)) }
            // Two relocations cannot write the same bytes (a strategy would resolve one field
            // address two ways).
            var reach: Relocation? = nil   // the field that ends furthest so far
            for r in relocs {
                if let q = reach, r.offset < q.offset + q.type.width {
                    throw SpacerError.data(file: file, location: loc(cRelocs), expected: "relocation fields that do not overlap",
                                           found: "'\(q.encoded)' (\(q.type.width) bytes at \(q.offset)) and '\(r.encoded)' (\(r.type.width) bytes at \(r.offset))")
                }
                if reach.map({ r.offset + r.type.width > $0.offset + $0.type.width }) ?? true { reach = r }
            }
        }
        let sectionID = names.id(bytes(p, cSection))
        let entry = TableEntry(kind: kind, name: names.string(nameID), object: names.string(objectID), section: names.string(sectionID),
                               binding: binding, order: ord, size: size, align: align, hash: names.string(hashID), relocations: relocs)
        tables[t].entries.append(entry)
        tables[t].columns.append(name: nameID, object: objectID, hash: hashID, kind: kind, binding: binding, size: size, align: align)
        for r in relocScratch { tables[t].columns.appendRelocation(target: r.target, offset: r.offset, type: r.type, addend: r.addend) }
        tables[t].columns.endEntry()
    }

    /// Parses a `relocs` field into `relocScratch`: space-separated `offset:type:target:addend`
    /// (the target may itself hold colons; offset and addend are decimal).
    private mutating func relocations(_ p: UnsafeMutablePointer<UInt8>, field f: Int, size: Int, location: String) throws {
        let e = fieldEnd[f]
        var i = fieldStart[f]
        while i < e {
            while i < e && p[i] == 0x20 { i += 1 }
            if i == e { break }
            let s = i
            while i < e && p[i] != 0x20 { i += 1 }
            try relocation(p, s, i, size: size, location: location)
        }
    }

    private mutating func relocation(_ p: UnsafeMutablePointer<UInt8>, _ s: Int, _ e: Int, size: Int, location: String) throws {
        func bad(_ expected: String) -> SpacerError {
            .data(file: file, location: location, expected: expected, found: "'\(String(decoding: UnsafeBufferPointer(start: p + s, count: e - s), as: UTF8.self))'")
        }
        // offset : type : target (may hold colons) : addend
        var c1 = s
        while c1 < e && p[c1] != 0x3A { c1 += 1 }
        var c3 = e - 1
        while c3 >= s && p[c3] != 0x3A { c3 -= 1 }
        guard c1 < e, c3 > c1 else { throw bad("a relocation offset:type:target:addend") }
        var typeEnd = c1 + 1
        while typeEnd < c3 && p[typeEnd] != 0x3A { typeEnd += 1 }
        guard typeEnd < c3 else { throw bad("a relocation offset:type:target:addend") }
        guard let off = TableCSV.decimal(p, s, c1), let addend = TableCSV.decimal(p, c3 + 1, e) else {
            throw bad("a relocation offset:type:target:addend")
        }
        guard let type = Spelling.relocationType(UnsafeBufferPointer(start: p + c1 + 1, count: typeEnd - c1 - 1)) else {
            let typeText = String(decoding: UnsafeBufferPointer(start: p + c1 + 1, count: typeEnd - c1 - 1), as: UTF8.self)
            throw SpacerError.data(file: file, location: location, expected: "a relocation type (\(RelocationType.allCases.map(\.rawValue).joined(separator: ", ")))", found: "'\(typeText)'")
        }
        guard typeEnd + 1 < c3 else { throw bad("a relocation target symbol") }
        let target = names.id(UnsafeBufferPointer(start: p + typeEnd + 1, count: c3 - typeEnd - 1))
        guard off >= 0, off <= Int64(size - type.width), off < 1 << 31 else {
            throw bad("a relocation field inside the entry's \(size) bytes")
        }
        relocScratch.append((Int(off), type, target, addend, s, e))
    }
}

/// The table spellings of kinds, bindings and relocation types, matched on bytes.
enum Spelling {
    private static let relocationTypes: [(bytes: [UInt8], type: RelocationType)] = RelocationType.allCases.map { (Array($0.rawValue.utf8), $0) }

    @inline(__always)
    private static func equal(_ b: UnsafeBufferPointer<UInt8>, _ s: StaticString) -> Bool {
        guard b.count == s.utf8CodeUnitCount else { return false }
        let q = s.utf8Start
        for k in 0..<b.count where b[k] != q[k] { return false }
        return true
    }

    /// `func` (or empty), `rodata`, `data`, `bss`.
    static func kind(_ b: UnsafeBufferPointer<UInt8>) -> EntryKind? {
        if b.isEmpty || equal(b, "func") { return .function }
        if equal(b, "rodata") { return .rodata }
        if equal(b, "data") { return .data }
        if equal(b, "bss") { return .bss }
        return nil
    }

    /// `global` (or empty), `local`, `weak`.
    static func binding(_ b: UnsafeBufferPointer<UInt8>) -> Binding? {
        if b.isEmpty || equal(b, "global") { return .global }
        if equal(b, "local") { return .local }
        if equal(b, "weak") { return .weak }
        return nil
    }

    /// A `RelocationType` by its raw value.
    static func relocationType(_ b: UnsafeBufferPointer<UInt8>) -> RelocationType? {
        for (s, t) in relocationTypes where s.count == b.count {
            if s.withUnsafeBufferPointer({ memcmp($0.baseAddress!, b.baseAddress!, b.count) == 0 }) { return t }
        }
        return nil
    }
}

/// A growable byte buffer whose front is dropped as it is consumed (the reader's window).
struct ChunkBuffer: ~Copyable {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }
    deinit { base.deallocate() }

    /// Where the next bytes go.
    var end: UnsafeMutablePointer<UInt8> { base + count }

    /// Room for `n` more bytes after `count`.
    mutating func reserve(_ n: Int) {
        guard count + n > capacity else { return }
        var c = capacity
        while count + n > c { c *= 2 }
        let b = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
        b.update(from: base, count: count)
        base.deallocate()
        base = b; capacity = c
    }

    /// Drops the first `n` bytes.
    mutating func drop(_ n: Int) {
        guard n > 0 else { return }
        if n < count { (base).update(from: base + n, count: count - n) }
        count -= n
    }
}

/// UTF-8 validation over bytes (the rules of `FileIO.firstInvalidUTF8`).
enum UTF8Check {
    /// Checks `p[from ..< to]`.
    /// - Returns: `bad` false and `end` = `to`, or the start of a sequence cut at `to` when not
    ///   `final` (checked again with more bytes); or `bad` true and the offset of the first byte
    ///   that does not start or continue a valid sequence.
    static func validate(_ p: UnsafePointer<UInt8>, from: Int, to: Int, final: Bool) -> (end: Int, bad: Bool) {
        var i = from
        let raw = UnsafeRawPointer(p)
        while i < to {
            while i + 8 <= to && raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 { i += 8 }
            guard i < to else { break }
            let c = p[i]
            if c < 0x80 { i += 1; continue }
            let n: Int
            switch c {
            case 0xc2...0xdf: n = 2
            case 0xe0...0xef: n = 3
            case 0xf0...0xf4: n = 4
            default: return (i, true)
            }
            guard i + n <= to else { return (i, final) }
            for k in 1..<n where p[i + k] & 0xc0 != 0x80 { return (i, true) }
            if n == 3 && ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] >= 0xa0)) { return (i, true) }
            if n == 4 && ((c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] >= 0x90)) { return (i, true) }
            i += n
        }
        return (to, false)
    }
}
