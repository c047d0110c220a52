import Foundation
import SpacerCore

/// What a layout file records besides the layouts: who made them and under which options
/// (docs/formats.md, "Layout file"). Written as `# key: value` lines after the version line.
public struct LayoutFileHeader: Sendable, Hashable {
    /// The strategy that made the layouts: a registered name (`spacer-delta`), or any name for a
    /// layout made elsewhere (`strategy` column of `score`'s row).
    public var strategy: String
    /// Every parameter of the strategy, canonical `k=v;…` sorted by name (`params` column).
    public var params: String
    /// Page size in bytes the strategy placed for.
    public var pageSize: Int
    /// Whether entries may be `removed` (a dead-code-eliminating strategy); the layout check
    /// refuses removed entries otherwise.
    public var removesEntries: Bool
    /// The strategy's solver status when it placed (`ok` for heuristics).
    public var solverStatus: SolverStatus
    /// Unit of the strategy's own model (`pages`, `bytes`), empty without a model.
    public var solverUnit: String
    /// The model's objective for the returned layouts, in `solverUnit`; nil without a model.
    public var solverObjective: Int?
    /// The lower bound the strategy proved on its model, in `solverUnit`; nil without a model.
    public var solverBound: Int?
    /// The workload path the layouts were made for, as given (informational; `score` uses it
    /// when `--workload` is not given). Empty when unknown.
    public var workload: String
    /// The table paths, space-separated, as given (informational; `score`'s default `--tables`).
    public var tables: String

    /// A header with the given values; the solver fields default to a heuristic's (`ok`, no
    /// model) and the informational paths to empty.
    public init(strategy: String, params: String, pageSize: Int, removesEntries: Bool, solverStatus: SolverStatus = .ok,
                solverUnit: String = "", solverObjective: Int? = nil, solverBound: Int? = nil, workload: String = "", tables: String = "") {
        self.strategy = strategy; self.params = params; self.pageSize = pageSize; self.removesEntries = removesEntries
        self.solverStatus = solverStatus; self.solverUnit = solverUnit; self.solverObjective = solverObjective
        self.solverBound = solverBound; self.workload = workload; self.tables = tables
    }
}

/// The layout file format, version 1 (docs/formats.md, "Layout file"): every input of the
/// simulator for one placement of one workload, as CSV.
///
/// Shape: a first line `# spacer-sim layout 1`; `# key: value` header lines (`LayoutFileHeader`);
/// a header row with `LayoutFile.columns`; then, per image in workload order, an `image` row
/// followed by that image's `entry`, `copy`, `table` (each directly followed by its `slot`
/// rows), `redirect` and `region` rows. Addresses are hexadecimal `0x…`, sizes and counts
/// decimal bytes, addends signed decimal. Unused columns of a row are empty.
///
/// Reading is in two steps: `parse` (the text alone: header and rows, nothing resolved) and
/// `resolve` (against the workload the layouts are for: every entry identity is checked against
/// the tables). Both are strict: every error is `SpacerError.data` (exit 65) naming the file,
/// `LINE` or `LINE:FIELD` (1-based field number), what was expected and what was found.
public enum LayoutFile {
    /// The format version this reader and writer speak.
    public static let formatVersion = 1
    /// The first line of every layout file.
    public static let versionLine = "# spacer-sim layout \(formatVersion)"
    /// The CSV columns, in the order the writer emits them (a reader accepts any order).
    public static let columns = ["record", "image", "library", "version", "entry", "name", "object", "kind", "size",
                                 "address", "to", "table", "slot", "slot_size", "addend", "flags"]
    /// The record kinds, in the order the writer emits them within an image.
    public static let records = ["image", "entry", "copy", "table", "slot", "redirect", "region"]
    /// Columns each record kind uses (besides `record`); the others must be empty.
    static let uses: [String: Set<String>] = [
        "image": ["image"],
        "entry": ["image", "library", "version", "entry", "name", "object", "kind", "size", "address"],
        "copy": ["image", "library", "version", "entry", "name", "object", "kind", "size", "address"],
        "table": ["image", "size", "address", "table", "slot", "slot_size", "flags"],
        "slot": ["image", "library", "version", "entry", "name", "object", "kind", "table", "slot", "addend", "flags"],
        "redirect": ["image", "address", "to"],
        "region": ["image", "name", "size", "address", "flags"],
    ]
    /// Header keys: required ones, then optional ones.
    static let requiredKeys = ["strategy", "params", "page_size", "removes_entries"]
    static let optionalKeys = ["solver_status", "solver_unit", "solver_objective", "solver_bound", "workload", "tables", "tool"]

    // MARK: writing

    /// The layout file of `layouts` (one per image of `workload`, in workload order).
    ///
    /// A trampoline slot's target (a symbol id) is written as the symbol's name plus the first
    /// entry of the workload that defines it (library, version, entry index, object, kind), or
    /// the name alone for an external symbol (defined by no table), so that `resolve` finds the
    /// very same symbol id again.
    /// - Parameter tool: written as the informational `tool` header line when not empty.
    /// - Precondition: `layouts.count == workload.images.count` and each layout has one address
    ///   list per table of its image (what every strategy returns).
    public static func write(_ layouts: [ImageLayout], workload w: Workload, header h: LayoutFileHeader, tool: String = "") -> String {
        precondition(layouts.count == w.images.count, "one layout per image")
        var definer = [(Int, Int)?](repeating: nil, count: w.symbolNames.count)
        for t in w.tables.indices {
            for (e, s) in w.symbolIDs[t].enumerated() where definer[Int(s)] == nil { definer[Int(s)] = (t, e) }
        }
        func line(_ s: String) -> String { s.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ") }
        var out = versionLine + "\n"
        out += "# strategy: \(line(h.strategy))\n# params: \(line(h.params))\n# page_size: \(h.pageSize)\n"
        out += "# removes_entries: \(h.removesEntries)\n# solver_status: \(h.solverStatus.rawValue)\n"
        if !h.solverUnit.isEmpty { out += "# solver_unit: \(line(h.solverUnit))\n" }
        if let o = h.solverObjective { out += "# solver_objective: \(o)\n" }
        if let b = h.solverBound { out += "# solver_bound: \(b)\n" }
        if !h.workload.isEmpty { out += "# workload: \(line(h.workload))\n" }
        if !h.tables.isEmpty { out += "# tables: \(line(h.tables))\n" }
        if !tool.isEmpty { out += "# tool: \(line(tool))\n" }
        out += columns.joined(separator: ",") + "\n"
        func hex(_ a: UInt64) -> String { "0x" + String(a, radix: 16) }
        func row(_ v: [String]) { out += v.map(csvField).joined(separator: ",") + "\n" }
        // record, image, library, version, entry, name, object, kind, size, address, to, table, slot, slot_size, addend, flags
        func entryRow(_ record: String, _ img: String, _ t: Int, _ e: Int, _ address: String) {
            let x = w.tables[t].entries[e]
            row([record, img, w.tables[t].library, w.tables[t].version, String(e), x.name, x.object, x.kind.rawValue, String(x.size),
                 address, "", "", "", "", "", ""])
        }
        for (i, image) in w.images.enumerated() {
            let l = layouts[i]
            let name = image.name
            row(["image", name, "", "", "", "", "", "", "", "", "", "", "", "", "", ""])
            for (k, t) in image.tables.enumerated() {
                for (e, a) in l.addresses[k].enumerated() { entryRow("entry", name, t, e, a == ImageLayout.removed ? "removed" : hex(a)) }
            }
            for c in l.extraCopies { entryRow("copy", name, c.table, c.entry, hex(c.address)) }
            for (n, tt) in l.trampolines.enumerated() {
                row(["table", name, "", "", "", "", "", "", String(tt.reservedBytes), hex(tt.address), "", String(n), String(tt.slots.count),
                     String(tt.slotSize), "", tt.contentKeyed ? "content-keyed" : ""])
                for (s, slot) in tt.slots.enumerated() {
                    let sym = Int(slot.target)
                    if let (t, e) = definer[sym] {
                        let x = w.tables[t].entries[e]
                        row(["slot", name, w.tables[t].library, w.tables[t].version, String(e), x.name, x.object, x.kind.rawValue, "", "", "",
                             String(n), String(s), "", String(slot.addend), slot.canonicalStub ? "canonical-stub" : ""])
                    } else {
                        row(["slot", name, "", "", "", w.symbolNames[sym], "", "", "", "", "", String(n), String(s), "", String(slot.addend),
                             slot.canonicalStub ? "canonical-stub" : ""])
                    }
                }
            }
            let (fields, slots) = l.redirects.sorted()
            for (f, s) in zip(fields, slots) { row(["redirect", name, "", "", "", "", "", "", "", hex(f), hex(s), "", "", "", "", ""]) }
            for r in l.regions {
                row(["region", name, "", "", "", r.name, "", "", String(r.size), hex(r.start), "", "", "", "", "", r.pageAligned ? "page-aligned" : ""])
            }
        }
        return out
    }

    // MARK: reading

    /// A layout file read but not yet resolved against a workload.
    public struct Parsed: Sendable {
        /// The header lines.
        public var header: LayoutFileHeader
        /// The file name used in errors.
        public var file: String
        /// The data rows (after the column header), fields in `LayoutFile.columns` order, with
        /// their 1-based line numbers.
        public var rows: [(fields: [String], line: Int)]
    }

    /// Reads a layout file (plain or gzip) and parses it.
    /// - Throws: `.noInput` for a missing file; `.data` as `parse`.
    public static func parse(path: String) throws -> Parsed {
        try parse(text: FileIO.readText(path), file: path)
    }

    /// Parses the version line, the header lines and the rows of a layout file.
    /// - Throws: `SpacerError.data` naming `file` and the line for: a first line that is not
    ///   `# spacer-sim layout 1` (another version is named as such); a header line that is not
    ///   `# key: value` with a known key, a key given twice, a missing required key, or a value
    ///   that does not parse (`page_size` a whole number, `removes_entries` `true`/`false`,
    ///   `solver_status` one of the statuses, objective and bound whole numbers); a column header
    ///   with a missing, unknown or repeated column; a row with the wrong number of fields or an
    ///   unknown `record`; a malformed CSV quote.
    public static func parse(text: String, file: String) throws -> Parsed {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
        if let first = lines.first, first.hasPrefix("\u{FEFF}") { lines[0] = String(first.dropFirst()) }
        guard let first = lines.first, first == versionLine else {
            let found = lines.first.map { $0.isEmpty ? "an empty line" : "'\($0.prefix(60))'" } ?? "an empty file"
            if let f = lines.first, f.hasPrefix("# spacer-sim layout ") {
                throw SpacerError.data(file: file, location: "1", expected: "layout format version \(formatVersion) ('\(versionLine)'); this spacer-sim reads version \(formatVersion) only", found: found)
            }
            throw SpacerError.data(file: file, location: "1", expected: "'\(versionLine)' as the first line (a spacer-sim layout file)", found: found)
        }
        var values: [String: (String, Int)] = [:]
        var n = 1
        while n < lines.count, lines[n].hasPrefix("#") {
            let l = lines[n]
            n += 1
            guard l.hasPrefix("# "), let colon = l.firstIndex(of: ":") else {
                throw SpacerError.data(file: file, location: "\(n)", expected: "a header line '# key: value'", found: "'\(l.prefix(60))'")
            }
            let key = l[l.index(l.startIndex, offsetBy: 2)..<colon].trimmingCharacters(in: .whitespaces)
            let value = l[l.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard requiredKeys.contains(key) || optionalKeys.contains(key) else {
                throw SpacerError.data(file: file, location: "\(n)", expected: "a header key of \((requiredKeys + optionalKeys).joined(separator: ", "))", found: "'\(key)'")
            }
            guard values[key] == nil else { throw SpacerError.data(file: file, location: "\(n)", expected: "each header key once", found: "a second '\(key)'") }
            values[key] = (value, n)
        }
        for k in requiredKeys where values[k] == nil {
            throw SpacerError.data(file: file, location: "\(n + 1)", expected: "a header line '# \(k): …' before the column header", found: "none")
        }
        func int(_ k: String) throws -> Int? {
            guard let (v, at) = values[k] else { return nil }
            guard let x = Int(v) else { throw SpacerError.data(file: file, location: "\(at)", expected: "a whole number for \(k)", found: "'\(v)'") }
            return x
        }
        let ps = try int("page_size")!
        guard ps >= 1 else { throw SpacerError.data(file: file, location: "\(values["page_size"]!.1)", expected: "a positive page_size", found: "\(ps)") }
        let (rv, rl) = values["removes_entries"]!
        guard rv == "true" || rv == "false" else { throw SpacerError.data(file: file, location: "\(rl)", expected: "removes_entries true or false", found: "'\(rv)'") }
        var status = SolverStatus.ok
        if let (sv, sl) = values["solver_status"] {
            guard let s = SolverStatus(rawValue: sv) else {
                throw SpacerError.data(file: file, location: "\(sl)", expected: "a solver_status of \(SolverStatus.allCases.map(\.rawValue).joined(separator: ", "))", found: "'\(sv)'")
            }
            status = s
        }
        let header = LayoutFileHeader(strategy: values["strategy"]!.0, params: values["params"]!.0, pageSize: ps, removesEntries: rv == "true",
                                      solverStatus: status, solverUnit: values["solver_unit"]?.0 ?? "",
                                      solverObjective: try int("solver_objective"), solverBound: try int("solver_bound"),
                                      workload: values["workload"]?.0 ?? "", tables: values["tables"]?.0 ?? "")
        guard !header.strategy.isEmpty else {
            throw SpacerError.data(file: file, location: "\(values["strategy"]!.1)", expected: "a strategy name", found: "an empty value")
        }
        // The rest is CSV; blank the header lines so that line numbers stay those of the file.
        let body = Array(repeating: "", count: n) + lines[n...]
        let csv = try CSVReader(text: body.joined(separator: "\n"), file: file)
        guard let head = csv.records.first else {
            throw SpacerError.data(file: file, location: "\(n + 1)", expected: "a column header '\(columns.joined(separator: ","))'", found: "the end of the file")
        }
        var index: [String: Int] = [:]
        for (c, name) in head.fields.enumerated() {
            guard columns.contains(name) else {
                throw SpacerError.data(file: file, location: "\(head.line):\(c + 1)", expected: "a column of \(columns.joined(separator: ","))", found: "'\(name)'")
            }
            guard index[name] == nil else { throw SpacerError.data(file: file, location: "\(head.line):\(c + 1)", expected: "each column once", found: "a second '\(name)'") }
            index[name] = c
        }
        for c in columns where index[c] == nil {
            throw SpacerError.data(file: file, location: "\(head.line)", expected: "columns \(columns.joined(separator: ",")) (missing '\(c)')", found: "'\(head.fields.joined(separator: ","))'")
        }
        let order = columns.map { index[$0]! }
        var rows: [(fields: [String], line: Int)] = []
        rows.reserveCapacity(csv.records.count)
        for r in csv.records.dropFirst() {
            guard r.fields.count == columns.count else {
                throw SpacerError.data(file: file, location: "\(r.line)", expected: "\(columns.count) fields", found: "\(r.fields.count)")
            }
            let f = order.map { r.fields[$0] }
            guard let uses = uses[f[0]] else {
                throw SpacerError.data(file: file, location: "\(r.line):\(index["record"]! + 1)", expected: "a record of \(records.joined(separator: ", "))", found: "'\(f[0])'")
            }
            for (c, name) in columns.enumerated().dropFirst() where !f[c].isEmpty && !uses.contains(name) {
                throw SpacerError.data(file: file, location: "\(r.line):\(index[name]! + 1)", expected: "an empty \(name) in a \(f[0]) row", found: "'\(f[c].prefix(40))'")
            }
            rows.append((f, r.line))
        }
        return Parsed(header: header, file: file, rows: rows)
    }

    /// The layouts of a parsed file, checked against `workload`: one `ImageLayout` per image, in
    /// workload order, exactly as the simulator gets them.
    ///
    /// Checks what makes the file *readable* for this workload, not the layout's feasibility
    /// (overlap, alignment, regions, redirects: that is `LayoutCheck.problems`, run on the result):
    /// images in workload order, each introduced by its `image` row; every entry of every table of
    /// an image given exactly once, its library, version and entry index naming an entry of the
    /// image whose name, object, kind and size are those of the tables; copies naming an entry
    /// of any table of the workload; tables numbered 0, 1, … within an image, each followed by
    /// exactly its declared slots, numbered 0, 1, …; slot targets naming a defining entry or an
    /// external symbol of the workload; no field redirected twice; well-formed numbers and flags.
    /// - Throws: `SpacerError.data` naming the file, `LINE:FIELD`, what was expected and found.
    public static func resolve(_ p: Parsed, workload w: Workload) throws -> [ImageLayout] {
        let file = p.file
        let col = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1, $0) })
        func fail(_ line: Int, _ c: String?, _ expected: String, _ found: String?) -> SpacerError {
            .data(file: file, location: c.map { "\(line):\(col[$0]! + 1)" } ?? "\(line)", expected: expected, found: found)
        }
        var tableIndex: [String: Int] = [:]
        for (t, x) in w.tables.enumerated() { tableIndex["\(x.library)\u{1}\(x.version)"] = t }
        var externals: [String: Int32] = [:]
        for (s, name) in w.symbolNames.enumerated() where w.symbolIsExternal[s] { externals[name] = Int32(s) }

        var layouts: [ImageLayout] = []
        var cur = -1                                   // image index
        var imageLine = 0
        var addresses: [[UInt64]] = [], seen: [[Bool]] = []
        var local: [Int: Int] = [:]                    // workload table -> index in the image
        var copies: [PlacedCopy] = [], tables: [TrampolineTable] = [], regions: [Region] = []
        var fields: [UInt64] = [], slots: [UInt64] = [], redirectLines: [Int] = []
        var pendingSlots = 0, tableLine = 0

        func hex(_ f: [String], _ line: Int, _ c: String) throws -> UInt64 {
            let v = f[col[c]!]
            guard v.hasPrefix("0x") || v.hasPrefix("0X"), v.count > 2, v.count <= 18, let x = UInt64(v.dropFirst(2), radix: 16) else {
                throw fail(line, c, "an address in hexadecimal, 0x…", v.isEmpty ? "an empty field" : "'\(v.prefix(40))'")
            }
            return x
        }
        func count(_ f: [String], _ line: Int, _ c: String) throws -> Int {
            let v = f[col[c]!]
            guard let x = Int(v), x >= 0, x <= Int(Int32.max) else {
                throw fail(line, c, "a whole number from 0 to \(Int32.max) for \(c)", v.isEmpty ? "an empty field" : "'\(v.prefix(40))'")
            }
            return x
        }
        /// The workload table and entry a row names, checked against the tables.
        func entry(_ f: [String], _ line: Int, within image: Image?) throws -> (table: Int, entry: Int) {
            let lib = f[col["library"]!], ver = f[col["version"]!]
            guard let t = tableIndex["\(lib)\u{1}\(ver)"], image.map({ $0.tables.contains(t) }) ?? true else {
                let known = (image?.tables ?? Array(w.tables.indices)).map { "\(w.tables[$0].library) \(w.tables[$0].version)" }
                throw fail(line, "library", image.map { "a library version of image \($0.name) (\(known.joined(separator: ", ")))" }
                    ?? "a library version of the workload (\(known.joined(separator: ", ")))", "\(lib) \(ver)")
            }
            let entries = w.tables[t].entries
            let ev = f[col["entry"]!]
            guard let e = Int(ev), e >= 0, e < entries.count else {
                throw fail(line, "entry", "an entry index of \(lib) \(ver), 0 to \(entries.count - 1)", "'\(ev.prefix(40))'")
            }
            let x = entries[e]
            let given = (f[col["name"]!], f[col["object"]!], f[col["kind"]!])
            guard given == (x.name, x.object, x.kind.rawValue) else {
                throw fail(line, "name", "entry \(e) of \(lib) \(ver) to be \(x.name) (object '\(x.object)', kind \(x.kind.rawValue)): the layout is for other tables or another workload",
                           "\(given.0) (object '\(given.1)', kind \(given.2))")
            }
            return (t, e)
        }
        func checkSize(_ f: [String], _ line: Int, _ t: Int, _ e: Int) throws {
            let v = f[col["size"]!], x = w.tables[t].entries[e]
            guard v == String(x.size) else {
                throw fail(line, "size", "size \(x.size) for \(x.name) of \(w.tables[t].library) \(w.tables[t].version)", v.isEmpty ? "an empty field" : "'\(v.prefix(40))'")
            }
        }
        func finishTable() throws {
            if pendingSlots > 0 {
                throw fail(tableLine, "slot", "\(tables.last!.slots.count + pendingSlots) slot rows after this table row", "\(tables.last!.slots.count)")
            }
        }
        func finishImage(at line: Int) throws {
            guard cur >= 0 else { return }
            try finishTable()
            let image = w.images[cur]
            for (k, t) in image.tables.enumerated() {
                if let e = seen[k].firstIndex(of: false) {
                    throw fail(imageLine, "image", "an entry row for every entry of image \(image.name): \(w.tables[t].library) \(w.tables[t].version) entry \(e) (\(w.tables[t].entries[e].name)) has none", nil)
                }
            }
            var order = Array(fields.indices)
            order.sort { fields[$0] < fields[$1] }
            for j in order.indices.dropFirst() where fields[order[j]] == fields[order[j - 1]] {
                let l = max(redirectLines[order[j]], redirectLines[order[j - 1]])
                throw fail(l, "address", "each field redirected once in image \(image.name)", "a second redirect of 0x\(String(fields[order[j]], radix: 16))")
            }
            var redirects = RedirectMap()
            redirects.add(RedirectMap.Run(fields: order.map { fields[$0] }, slots: order.map { slots[$0] }))
            layouts.append(ImageLayout(addresses: addresses, extraCopies: copies, trampolines: tables, redirects: redirects, regions: regions))
        }

        for (f, line) in p.rows {
            let record = f[0]
            let name = f[col["image"]!]
            if record == "image" {
                try finishImage(at: line)
                cur += 1
                guard cur < w.images.count else {
                    throw fail(line, "image", "\(w.images.count) images (those of the workload)", "a further image '\(name)'")
                }
                guard name == w.images[cur].name else {
                    throw fail(line, "image", "image \(w.images[cur].name) (image \(cur + 1) of the workload, in workload order)", "'\(name)'")
                }
                let image = w.images[cur]
                imageLine = line
                addresses = image.tables.map { [UInt64](repeating: ImageLayout.removed, count: w.tables[$0].entries.count) }
                seen = image.tables.map { [Bool](repeating: false, count: w.tables[$0].entries.count) }
                local = Dictionary(uniqueKeysWithValues: image.tables.enumerated().map { ($1, $0) })
                copies = []; tables = []; regions = []; fields = []; slots = []; redirectLines = []; pendingSlots = 0
                continue
            }
            guard cur >= 0 else { throw fail(line, "record", "an image row first", "a \(record) row") }
            let image = w.images[cur]
            guard name == image.name else { throw fail(line, "image", "image \(image.name) (the rows of an image follow its image row)", "'\(name)'") }
            if record != "slot" { try finishTable() }
            switch record {
            case "entry":
                let (t, e) = try entry(f, line, within: image)
                let k = local[t]!
                guard !seen[k][e] else { throw fail(line, "entry", "each entry of image \(image.name) once", "a second row for \(w.tables[t].entries[e].name)") }
                try checkSize(f, line, t, e)
                seen[k][e] = true
                let v = f[col["address"]!]
                addresses[k][e] = try v == "removed" ? ImageLayout.removed : hex(f, line, "address")
                if v != "removed" && addresses[k][e] == ImageLayout.removed {
                    throw fail(line, "address", "an address below 0xffffffffffffffff, or 'removed'", v)
                }
            case "copy":
                let (t, e) = try entry(f, line, within: nil)
                try checkSize(f, line, t, e)
                let a = try hex(f, line, "address")
                guard a != ImageLayout.removed else { throw fail(line, "address", "an address below 0xffffffffffffffff", f[col["address"]!]) }
                copies.append(PlacedCopy(table: t, entry: e, address: a))
            case "table":
                let n = try count(f, line, "table")
                guard n == tables.count else { throw fail(line, "table", "trampoline table \(tables.count) (tables numbered from 0 in order)", "\(n)") }
                let flags = f[col["flags"]!]
                guard flags.isEmpty || flags == "content-keyed" else { throw fail(line, "flags", "'content-keyed' or nothing", "'\(flags)'") }
                tables.append(TrampolineTable(address: try hex(f, line, "address"), slotSize: try count(f, line, "slot_size"), slots: [],
                                              reservedBytes: try count(f, line, "size"), contentKeyed: flags == "content-keyed"))
                pendingSlots = try count(f, line, "slot")
                tableLine = line
            case "slot":
                let n = try count(f, line, "table"), s = try count(f, line, "slot")
                guard !tables.isEmpty, n == tables.count - 1, pendingSlots > 0 else {
                    throw fail(line, "table", "a slot row only after its table row, within the slot count it declares", "a slot of table \(n)")
                }
                guard s == tables[n].slots.count else { throw fail(line, "slot", "slot \(tables[n].slots.count) (slots numbered from 0 in order)", "\(s)") }
                let target: Int32
                if f[col["library"]!].isEmpty && f[col["version"]!].isEmpty && f[col["entry"]!].isEmpty && f[col["object"]!].isEmpty && f[col["kind"]!].isEmpty {
                    guard let x = externals[f[col["name"]!]] else {
                        throw fail(line, "name", "an external symbol of the workload (one no table defines), or the library, version and entry defining the target", "'\(f[col["name"]!].prefix(60))'")
                    }
                    target = x
                } else {
                    let (t, e) = try entry(f, line, within: nil)
                    target = w.symbolIDs[t][e]
                }
                let av = f[col["addend"]!]
                guard let addend = Int64(av) else { throw fail(line, "addend", "a signed decimal addend", av.isEmpty ? "an empty field" : "'\(av.prefix(40))'") }
                let flags = f[col["flags"]!]
                guard flags.isEmpty || flags == "canonical-stub" else { throw fail(line, "flags", "'canonical-stub' or nothing", "'\(flags.prefix(40))'") }
                tables[n].slots.append(TrampolineSlot(target: target, addend: addend, canonicalStub: flags == "canonical-stub"))
                pendingSlots -= 1
            case "redirect":
                fields.append(try hex(f, line, "address")); slots.append(try hex(f, line, "to")); redirectLines.append(line)
            case "region":
                let flags = f[col["flags"]!]
                guard flags.isEmpty || flags == "page-aligned" else { throw fail(line, "flags", "'page-aligned' or nothing", "'\(flags)'") }
                let sv = f[col["size"]!]
                guard let size = UInt64(sv) else { throw fail(line, "size", "a region size in bytes (a whole number)", "'\(sv.prefix(40))'") }
                let start = try hex(f, line, "address")
                guard size <= UInt64.max - start else { throw fail(line, "size", "a region that ends below 2^64", sv) }
                regions.append(Region(name: f[col["name"]!], start: start, size: size, pageAligned: flags == "page-aligned"))
            default:
                throw fail(line, "record", "a record of \(records.joined(separator: ", "))", "'\(record)'")
            }
        }
        let end = (p.rows.last?.line ?? 0) + 1
        try finishImage(at: end)
        guard layouts.count == w.images.count else {
            let missing = w.images[layouts.count].name
            throw SpacerError.data(file: file, location: "\(end)", expected: "\(w.images.count) images (those of the workload); image \(missing) has no rows",
                                   found: "\(layouts.count) (a truncated file, or one for another workload)")
        }
        return layouts
    }

    /// Reads a layout file and resolves it against `workload` (`parse`, then `resolve`).
    /// - Throws: as `parse(path:)` and `resolve(_:workload:)`.
    public static func read(path: String, workload: Workload) throws -> (header: LayoutFileHeader, layouts: [ImageLayout]) {
        let p = try parse(path: path)
        return (p.header, try resolve(p, workload: workload))
    }

    /// A file-safe name for a strategy label (`spacer-delta[map-used-only=true]` →
    /// `spacer-delta_map-used-only=true`): `[` and `;` become `_`, a closing `]` is dropped,
    /// and any character outside `A-Z a-z 0-9 . _ - = +` becomes `_`.
    public static func fileSafe(_ label: String) -> String {
        var out = ""
        for ch in label {
            if ch == "]" { continue }
            if ch.isASCII && (ch.isLetter || ch.isNumber || ".-_=+".contains(ch)) { out.append(ch) } else { out.append("_") }
        }
        if out.hasPrefix(".") { out = "_" + out.dropFirst() }
        return out.isEmpty ? "_" : out
    }
}
