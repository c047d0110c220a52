import SpacerCore

/// Compact builders for hand-made tables and workloads in tests.
public enum Build {
    /// A function entry: `name`, `size` bytes, body hash `hash`, alignment 16 unless given,
    /// relocations as (offset, target) pc32 calls with addend −4.
    public static func fn(_ name: String, _ size: Int, _ hash: String, align: Int = 16, calls: [(Int, String)] = [],
                          binding: Binding = .global, object: String = "o.o") -> TableEntry {
        TableEntry(kind: .function, name: name, object: object, section: ".text.\(name)", binding: binding, order: 0,
                   size: size, align: align, hash: hash,
                   relocations: calls.map { Relocation(offset: $0.0, type: .plt32, target: $0.1, addend: -4) })
    }

    /// A data entry of `kind`.
    public static func data(_ name: String, _ size: Int, _ hash: String, kind: EntryKind = .rodata, align: Int = 8) -> TableEntry {
        TableEntry(kind: kind, name: name, object: "", section: ".\(kind.rawValue).\(name)", binding: .local, order: 0,
                   size: size, align: align, hash: kind == .bss ? "" : hash)
    }

    /// A table whose entries take link order from their position.
    public static func table(_ library: String, _ version: String, _ entries: [TableEntry]) -> FunctionTable {
        FunctionTable(library: library, version: version,
                      entries: entries.enumerated().map { i, e in var e = e; e.order = i; return e })
    }

    /// A workload with one image per (library, version) list, named i0, i1, ….
    public static func workload(_ tables: [FunctionTable], images: [[(String, String)]], instances: [Int]? = nil) throws -> Workload {
        var rows: [WorkloadRow] = []
        for (i, libs) in images.enumerated() {
            for (l, v) in libs { rows.append(WorkloadRow(image: "i\(i)", library: l, version: v, instances: instances?[i] ?? 1)) }
        }
        return try Workload(rows: rows, tables: tables)
    }
}

/// Seeded random version histories for property tests: several libraries, each a chain of
/// versions with modifications (same and new size), inserts, deletes, renames and reverts,
/// calls between functions, references to data, and some static functions.
public enum RandomHistory {
    public static func make(seed: UInt64, libraries: Int = 2, versions: Int = 4, functions: Int = 30) -> (tables: [FunctionTable], rows: [WorkloadRow]) {
        var rng = SplitMix64(seed: seed)
        func r(_ n: Int) -> Int { Int(rng.next() % UInt64(max(n, 1))) }
        var tables: [FunctionTable] = []
        var rows: [WorkloadRow] = []
        for l in 0..<libraries {
            let lib = "lib\(l)"
            var fns: [(name: String, size: Int, hash: String, local: Bool)] = (0..<functions).map { i in
                (lib + "_f\(i)", [16, 48, 200, 700, 1500, 4096, 5000][r(7)], "h\(l)_\(i)_0", r(4) == 0)
            }
            var history: [[(String, Int, String, Bool)]] = []
            for v in 0..<versions {
                if v > 0 {
                    for _ in 0..<(1 + r(4)) {
                        let i = r(fns.count)
                        switch r(6) {
                        case 0: fns[i].hash += "m"                                   // same size
                        case 1: fns[i].hash += "g"; fns[i].size += 8 * (1 + r(40))   // new size
                        case 2: fns.insert((lib + "_n\(v)_\(i)", 32 + r(900), "new\(l)_\(v)_\(i)", false), at: i)
                        case 3: if fns.count > 3 { fns.remove(at: i) }
                        case 4: fns[i].name += "_r"                                  // rename
                        default: if let old = history.first?.first(where: { $0.0 == fns[i].name }) { fns[i].hash = old.2; fns[i].size = old.1 } // revert
                        }
                    }
                }
                history.append(fns)
                var entries: [TableEntry] = []
                for (i, f) in fns.enumerated() {
                    var calls: [(Int, String)] = []
                    if f.size >= 16 {
                        let callee = fns[(i * 7 + 3) % fns.count].name
                        calls.append((1, callee))
                        if f.size >= 32 { calls.append((12, "\(lib)_str\(i % 5)")) }
                        if f.size >= 64 { calls.append((40, "memcpy")) }
                    }
                    entries.append(Build.fn(f.name, f.size, f.hash, calls: calls, binding: f.local ? .local : .global))
                }
                for s in 0..<5 { entries.append(Build.data("\(lib)_str\(s)", 24 + 8 * s, "s\(l)_\(s)_\(v / 2)")) }
                entries.append(Build.data("\(lib)_state", 64, "d\(l)", kind: .data))
                entries.append(Build.data("\(lib)_buf", 300, "", kind: .bss))
                tables.append(Build.table(lib, "1.\(v)", entries))
            }
        }
        // Images: each picks one version of lib0 and, often, a version of the others.
        for i in 0..<versions {
            rows.append(WorkloadRow(image: "img\(i)", library: "lib0", version: "1.\(i)", instances: 1 + (i % 2)))
            for l in 1..<max(libraries, 1) where (i + l) % 3 != 0 {
                rows.append(WorkloadRow(image: "img\(i)", library: "lib\(l)", version: "1.\((i + l) % versions)", instances: 1 + (i % 2)))
            }
        }
        return (tables, rows)
    }
}
