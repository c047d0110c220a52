import Foundation
import SpacerCore

/// Synthetic version histories: function tables for one or more libraries over V versions, in
/// the table format of the real datasets (docs/formats.md, "Function-table CSV").
///
/// Model of one library (every parameter in `SynthConfig`):
/// - **Functions** of the first version: sizes from `SizeModel` (lognormal), alignment 16 (1 for
///   2 %, like GCC's `.cold` parts), grouped into objects in link order, a fraction global and the
///   rest static to their object.
/// - **Call graph**: a function of size s has about s / `bytesPerRelocation` relocations
///   (uniformly jittered ×0.5…1.5), spread over its bytes. Targets, in the proportions of the
///   committed real tables (datasets/real: 66.3 % functions, 21.0 % rodata, 5.1 % data, 3.2 % bss,
///   4.3 % external): another function (66.3 %; `plt32` to a global, `pc32` to a static callee, as
///   GNU as emits them; callees drawn with a lognormal "popularity" weight, so in-degree is
///   heavy-tailed and fan-out grows with size; a static callee only from its own object), a
///   string literal (17 %; library-wide `str.<hash>` symbols, as merged literals are named, new
///   with a probability that gives `stringsPerFunction` strings per function) or a constant table
///   of its own object (4 %) — both `abs32s` (87 %, the real mix under -fno-pic) or `pc32` —
///   initialised data (5.1 %) or bss (3.2 %) of the library (`pc32`), or an external libc symbol
///   (4.3 %, `plt32`, Zipf over 32 names).
/// - **Events** between versions, with `ChangeRates`: modify keeping the size, modify changing
///   the size, insert, delete, rename, reorder, revert to an earlier body; callers follow deletes,
///   inserts and renames. A modification also replaces one of the function's strings with a new
///   one (30 %) or redirects one call (30 %). Constant tables and data change their bytes with half
///   the modify rate; strings no function references any more disappear.
///
/// Deterministic: one `SplitMix64` per library, seeded from `SynthConfig.seed`; no `Hasher`-
/// seeded collection decides an order.
public enum Generator {
    /// The tables of every library and version, libraries in `config.names` order, versions
    /// oldest first (`1.0`, `1.1`, …).
    /// - Precondition: `config.problem == nil`.
    /// - Parameter progress: called after each version of each library with (versions done,
    ///   versions in all), for long runs.
    /// - Complexity: O(V · (F + R)) per library for V versions, F functions and R relocations,
    ///   plus O(I · F) for I inserted functions (`SynthConfig.expectedCost`).
    public static func tables(_ config: SynthConfig, progress: ((Int, Int) -> Void)? = nil) -> [FunctionTable] {
        precondition(config.problem == nil, config.problem ?? "")
        var master = SplitMix64(seed: config.seed)
        var out: [FunctionTable] = []
        for name in config.names {
            var lib = LibraryHistory(name: name, config: config, seed: master.next())
            for v in 0..<config.versions {
                if v > 0 { lib.evolve() }
                out.append(lib.table(version: "1.\(v)", provenance: config.provenance))
                progress?(out.count, config.names.count * config.versions)
            }
        }
        return out
    }
}

/// One relocation while generating: targets by name.
private struct Ref: Hashable {
    var offset: Int
    var type: RelocationType
    var target: String
    var kind: TargetKind
}

private enum TargetKind: Hashable { case call, string, constant, data, bss, external }

private struct Body: Hashable {
    var size: Int
    var hash: String
    var refs: [Ref]
}

private struct Fn {
    var name: String
    var object: Int
    var global: Bool
    var align: Int
    var body: Body
    var popularity: Double
    /// Distinct bodies this function had at emitted versions, oldest first.
    var history: [Body] = []
}

private struct Datum {
    var kind: EntryKind
    var name: String
    var object: Int          // -1: library-wide (strings)
    var size: Int
    var align: Int
    var hash: String         // empty for bss
}

/// libc symbols that generated code calls, most used first (Zipf weights 1/rank).
private let externals = ["memcpy", "memset", "strlen", "free", "malloc", "memcmp", "memmove", "strcmp", "realloc",
                         "__stack_chk_fail", "strncmp", "snprintf", "calloc", "abort", "strchr", "fprintf", "qsort",
                         "getenv", "strrchr", "read", "write", "close", "open", "lseek", "fstat", "mmap", "munmap",
                         "pthread_mutex_lock", "pthread_mutex_unlock", "gettimeofday", "time", "sysconf"]

private struct LibraryHistory {
    let name: String
    let c: SynthConfig
    var rng: SplitMix64
    var fns: [Fn] = []
    var strings: [Datum] = []                 // live strings, creation order
    var allStrings: [String: Datum] = [:]     // every string ever made, for reverts (lookup only)
    var objectData: [Datum] = []              // constants, data, bss of the objects
    var objects = 0
    var nextID = 0
    var nextBody = 0
    // Callee sampler: prefix sums of popularity over `fns` (rebuilt after structural changes).
    var prefix: [Double] = []
    var globals: [Int] = []
    var constantsOf: [Int: [Int]] = [:]       // object -> its constant tables (indices into objectData)
    var libraryData: [TargetKind: [Int]] = [:] // .data / .bss -> indices into objectData
    var stringNew = 0.5                       // probability that a string reference makes a new literal

    init(name: String, config: SynthConfig, seed: UInt64) {
        self.name = name; self.c = config; self.rng = SplitMix64(seed: seed)
        let n = config.functions
        objects = max(1, (n + config.functionsPerObject - 1) / config.functionsPerObject)
        // Functions: object k holds functions [k·n/objects, (k+1)·n/objects).
        for i in 0..<n {
            let object = i * objects / n
            let global = unit(&rng) < config.globalFraction
            fns.append(Fn(name: freshName(global: global), object: object, global: global,
                          align: unit(&rng) < 0.02 ? 1 : 16, body: Body(size: config.sizes.draw(&rng), hash: "", refs: []),
                          popularity: exp(1.2 * standardNormal(&rng))))
        }
        // Constant tables per object, in proportion to its functions; data and bss per library.
        func datum(_ kind: EntryKind, object k: Int) -> Datum {
            let prefixName = kind == .rodata ? "tbl" : kind == .data ? "var" : "buf"
            defer { nextID += 1 }
            return Datum(kind: kind, name: "\(name)_\(prefixName)\(nextID)", object: k,
                         size: (kind == .rodata ? SizeModel.rodata : kind == .data ? SizeModel.data : SizeModel.bss).draw(&rng),
                         align: kind == .rodata ? 8 : 32, hash: kind == .bss ? "" : newHash())
        }
        for k in 0..<objects {
            let count = fns.filter { $0.object == k }.count
            for _ in 0..<Int(Double(count) * config.constantsPerFunction + unit(&rng)) { objectData.append(datum(.rodata, object: k)) }
        }
        for (kind, per) in [(EntryKind.data, config.dataPerFunction), (.bss, config.bssPerFunction)] {
            for _ in 0..<Int(Double(n) * per + unit(&rng)) { objectData.append(datum(kind, object: below(objects, &rng))) }
        }
        // String references per function ≈ 17 % of its relocations, mean size / bytes per
        // relocation of them: make `stringsPerFunction` of those new literals.
        let meanSize = exp(config.sizes.mu + config.sizes.sigma * config.sizes.sigma / 2)
        stringNew = min(1, config.stringsPerFunction / max(0.17 * meanSize / config.bytesPerRelocation, 1e-9))
        indexData()
        rebuildSampler()
        // Bodies: hash and relocations, now that every target exists. Strings appear as needed.
        for i in fns.indices {
            fns[i].body.hash = newHash()
            fns[i].body.refs = makeRefs(caller: i, size: fns[i].body.size, keep: [])
        }
    }

    // MARK: names, hashes

    mutating func freshName(global: Bool) -> String {
        defer { nextID += 1 }
        return "\(name)_\(global ? "f" : "s")\(nextID)"
    }

    /// A new body hash: a counter, salted with the library name (FNV-1a 64) and mixed by one
    /// SplitMix64 step, as 16 hex digits; every new body gets a distinct, well-spread hash.
    mutating func newHash() -> String {
        defer { nextBody += 1 }
        var mix = SplitMix64(seed: FNV1a64.value(name) ^ UInt64(nextBody))
        let s = String(mix.next(), radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    // MARK: samplers

    mutating func rebuildSampler() {
        prefix.removeAll(keepingCapacity: true)
        globals.removeAll(keepingCapacity: true)
        var s = 0.0
        for (i, f) in fns.enumerated() {
            s += f.popularity; prefix.append(s)
            if f.global { globals.append(i) }
        }
    }

    mutating func indexData() {
        constantsOf = [:]; libraryData = [:]
        for (i, d) in objectData.enumerated() {
            switch d.kind {
            case .rodata: constantsOf[d.object, default: []].append(i)
            case .data: libraryData[.data, default: []].append(i)
            default: libraryData[.bss, default: []].append(i)
            }
        }
    }

    /// A callee for function `caller` (index into `fns`): popularity-weighted, callable from the
    /// caller's object, not the caller itself; nil if none can be found.
    mutating func callee(caller: Int) -> String? { calleeIndex(caller: caller).map { fns[$0].name } }

    mutating func calleeIndex(caller: Int) -> Int? {
        guard let total = prefix.last, total > 0, fns.count > 1 else { return nil }
        let object = fns[caller].object
        for _ in 0..<8 {
            let x = unit(&rng) * total
            var lo = 0, hi = prefix.count - 1
            while lo < hi { let mid = (lo + hi) / 2; if prefix[mid] <= x { lo = mid + 1 } else { hi = mid } }
            if lo != caller && lo < fns.count && (fns[lo].global || fns[lo].object == object) { return lo }
        }
        let candidates = globals.filter { $0 != caller && $0 < fns.count }
        return candidates.isEmpty ? nil : candidates[below(candidates.count, &rng)]
    }

    mutating func newString() -> String {
        let hash = newHash()
        let d = Datum(kind: .rodata, name: "str.\(hash.prefix(12))", object: -1, size: SizeModel.rodata.draw(&rng), align: 1, hash: hash)
        strings.append(d); allStrings[d.name] = d
        return d.name
    }

    /// A target of `kind` for function `caller`, or a fallback kind when none exists: the symbol,
    /// its kind, and the relocation type that reaches it.
    mutating func target(_ kind: TargetKind, caller: Int) -> (String, TargetKind, RelocationType) {
        switch kind {
        case .call:
            if let j = calleeIndex(caller: caller) { return (fns[j].name, .call, fns[j].global ? .plt32 : .pc32) }
            return target(.external, caller: caller)
        case .string:
            let name = strings.isEmpty || unit(&rng) < stringNew ? newString() : strings[below(strings.count, &rng)].name
            return (name, .string, readOnlyType())
        case .constant:
            let list = constantsOf[fns[caller].object] ?? []
            if list.isEmpty { return target(.string, caller: caller) }
            return (objectData[list[below(list.count, &rng)]].name, .constant, readOnlyType())
        case .data, .bss:
            let list = libraryData[kind] ?? []
            if list.isEmpty { return target(.string, caller: caller) }
            return (objectData[list[below(list.count, &rng)]].name, kind, .pc32)
        case .external:
            // Zipf(1) over the names: weight 1/(rank+1).
            let h = externals.indices.reduce(0.0) { $0 + 1 / Double($1 + 1) }
            var x = unit(&rng) * h
            for (r, n) in externals.enumerated() { x -= 1 / Double(r + 1); if x < 0 { return (n, .external, .plt32) } }
            return (externals[0], .external, .plt32)
        }
    }

    /// Read-only data is reached by `abs32s` 87 % of the time (the real -fno-pic mix), else `pc32`.
    mutating func readOnlyType() -> RelocationType { unit(&rng) < 0.87 ? .abs32s : .pc32 }

    mutating func drawKind() -> TargetKind {
        let u = unit(&rng)
        if u < 0.663 { return .call }
        if u < 0.833 { return .string }
        if u < 0.873 { return .constant }
        if u < 0.924 { return .data }
        if u < 0.956 { return .bss }
        return .external
    }

    /// Relocations for a body of `size` bytes of function `caller`: about size /
    /// bytesPerRelocation fields of 4 bytes, one per slot of size/k bytes, targets of `keep`
    /// first (in order), then fresh ones.
    mutating func makeRefs(caller: Int, size: Int, keep: [Ref]) -> [Ref] {
        let kmax = size >= 9 ? (size - 4) / 5 : 0
        let k = min(kmax, Int(Double(size) / c.bytesPerRelocation * (0.5 + unit(&rng))))
        guard k > 0 else { return [] }
        let slot = (size - 4) / k
        var out: [Ref] = []
        out.reserveCapacity(k)
        for j in 0..<k {
            let offset = j * slot + below(slot - 3, &rng)
            if j < keep.count { out.append(Ref(offset: offset, type: keep[j].type, target: keep[j].target, kind: keep[j].kind)); continue }
            let (t, kind, type) = target(drawKind(), caller: caller)
            out.append(Ref(offset: offset, type: type, target: t, kind: kind))
        }
        return out
    }

    // MARK: events

    mutating func count(_ rate: Double) -> Int {
        Int(rate * Double(fns.count) + unit(&rng))
    }

    /// One version step: the events of `ChangeRates`, in the order delete, rename, insert,
    /// modify, revert, reorder, data changes, then unused strings are dropped.
    mutating func evolve() {
        let r = c.rates

        // Delete (never below two functions).
        var deleted = Set<String>()
        for _ in 0..<count(r.delete) where fns.count > 2 {
            let i = below(fns.count, &rng)
            deleted.insert(fns[i].name)
            fns.remove(at: i)
        }
        // Rename.
        var renamed: [String: String] = [:]
        for _ in 0..<count(r.rename) {
            let i = below(fns.count, &rng)
            let new = freshName(global: fns[i].global)
            renamed[fns[i].name] = new
            fns[i].name = new
        }
        rebuildSampler()
        // Callers follow: a call to a deleted function goes elsewhere (new code); a call to a
        // renamed one names the new symbol (same bytes).
        if !deleted.isEmpty || !renamed.isEmpty {
            for i in fns.indices {
                var edited = false
                for j in fns[i].body.refs.indices {
                    let t = fns[i].body.refs[j].target
                    if deleted.contains(t) {
                        let (nt, kind, type) = target(.call, caller: i)
                        fns[i].body.refs[j].target = nt; fns[i].body.refs[j].kind = kind
                        fns[i].body.refs[j].type = type
                        edited = true
                    } else if let n = renamed[t] {
                        fns[i].body.refs[j].target = n
                    }
                }
                if edited { fns[i].body.hash = newHash() }
            }
        }
        // Insert, each called by one existing function.
        var inserted = [Bool](repeating: false, count: fns.count)
        for _ in 0..<count(r.insert) {
            let p = below(fns.count + 1, &rng)
            let object = fns[min(p, fns.count - 1)].object
            let global = unit(&rng) < c.globalFraction
            let f = Fn(name: freshName(global: global), object: object, global: global, align: unit(&rng) < 0.02 ? 1 : 16,
                       body: Body(size: c.sizes.draw(&rng), hash: newHash(), refs: []), popularity: exp(1.2 * standardNormal(&rng)))
            fns.insert(f, at: p); inserted.insert(true, at: p)
            rebuildSampler()
            fns[p].body.refs = makeRefs(caller: p, size: fns[p].body.size, keep: [])
            // One caller that already calls something: in the same object (any, when the new
            // function is global); it now calls the new function instead.
            let callers = fns.indices.filter { q in
                q != p && !inserted[q] && (global || fns[q].object == object) && fns[q].body.refs.contains { $0.kind == .call }
            }
            if !callers.isEmpty {
                let q = callers[below(callers.count, &rng)]
                let calls = fns[q].body.refs.indices.filter { fns[q].body.refs[$0].kind == .call }
                let j = calls[below(calls.count, &rng)]
                fns[q].body.refs[j].target = fns[p].name
                fns[q].body.refs[j].type = global ? .plt32 : .pc32
                fns[q].body.hash = newHash()
            }
        }
        // Modify, with probability growing with √size.
        let weights = fns.map { Double($0.body.size).squareRoot() }
        let meanW = weights.reduce(0, +) / Double(max(weights.count, 1))
        for i in fns.indices where !inserted[i] {
            let w = weights[i] / meanW
            let pResize = min(1, r.modifyResize * w), pSame = min(1, r.modifySame * w)
            let u = unit(&rng)
            if u < pResize {
                var size = Int((Double(fns[i].body.size) * exp(0.35 * standardNormal(&rng))).rounded())
                size = min(c.sizes.maximum, max(1, size))
                if size == fns[i].body.size { size += 16 }
                fns[i].body.refs = makeRefs(caller: i, size: size, keep: fns[i].body.refs)
                fns[i].body.size = size
                fns[i].body.hash = newHash()
            } else if u < pResize + pSame {
                fns[i].body.hash = newHash()
            } else { continue }
            // Edits often touch a string or a call.
            if !fns[i].body.refs.isEmpty {
                let x = unit(&rng)
                if x < 0.3, let j = fns[i].body.refs.firstIndex(where: { $0.kind == .string }) {
                    fns[i].body.refs[j].target = newString()
                } else if x < 0.6 {
                    let j = below(fns[i].body.refs.count, &rng)
                    if fns[i].body.refs[j].kind == .call, let c = calleeIndex(caller: i) {
                        fns[i].body.refs[j].target = fns[c].name; fns[i].body.refs[j].type = fns[c].global ? .plt32 : .pc32
                    }
                }
            }
        }
        // Revert to a body from two or more versions ago (going back to the previous version's
        // body would be no change at all) whose targets all still exist.
        let names = Set(fns.map(\.name))
        let dataNames = Set(objectData.map(\.name))
        func older(_ f: Fn) -> [Body] { f.history.dropLast().filter { $0 != f.body && $0 != f.history.last } }
        var candidates = fns.indices.filter { !older(fns[$0]).isEmpty }
        var reverts = count(r.revert)
        while reverts > 0 && !candidates.isEmpty {
            let i = candidates.remove(at: below(candidates.count, &rng))
            let bodies = older(fns[i])
            let b = bodies[below(bodies.count, &rng)]
            let ok = b.refs.allSatisfy { ref in
                switch ref.kind {
                case .call: return names.contains(ref.target)
                case .string: return allStrings[ref.target] != nil
                case .constant, .data, .bss: return dataNames.contains(ref.target)
                case .external: return true
                }
            }
            guard ok else { continue }
            for ref in b.refs where ref.kind == .string && !strings.contains(where: { $0.name == ref.target }) {
                strings.append(allStrings[ref.target]!)   // the literal comes back with the code
            }
            fns[i].body = b
            reverts -= 1
        }
        // Reorder within the function's object.
        for _ in 0..<count(r.reorder) where fns.count > 1 {
            let i = below(fns.count, &rng)
            let f = fns.remove(at: i)
            let same = fns.indices.filter { fns[$0].object == f.object }
            let p = same.isEmpty ? below(fns.count + 1, &rng) : same[below(same.count, &rng)] + below(2, &rng)
            fns.insert(f, at: p)
        }
        // Constant tables and data change bytes (sometimes size) with half the modify rate.
        let pData = (r.modifySame + r.modifyResize) / 2
        for d in objectData.indices {
            guard unit(&rng) < (objectData[d].kind == .bss ? pData / 2 : pData) else { continue }
            if objectData[d].kind != .bss { objectData[d].hash = newHash() }
            if objectData[d].kind == .bss || unit(&rng) < 0.5 {
                let model: SizeModel = objectData[d].kind == .rodata ? .rodata : objectData[d].kind == .data ? .data : .bss
                objectData[d].size = model.draw(&rng)
            }
        }
        // Strings nobody references any more disappear (the linker merges only what is used).
        var used = Set<String>()
        for f in fns { for ref in f.body.refs where ref.kind == .string { used.insert(ref.target) } }
        strings.removeAll { !used.contains($0.name) }
        rebuildSampler()
    }

    // MARK: output

    /// The current version as a table; records each function's body in its history.
    mutating func table(version: String, provenance: [String]) -> FunctionTable {
        var entries: [TableEntry] = []
        entries.reserveCapacity(fns.count + strings.count + objectData.count)
        for i in fns.indices {
            if fns[i].history.last != fns[i].body { fns[i].history.append(fns[i].body) }
            let f = fns[i]
            entries.append(TableEntry(kind: .function, name: f.name, object: objectName(f.object), section: ".text.\(f.name)",
                                      binding: f.global ? .global : .local, order: entries.count, size: f.body.size,
                                      align: f.align, hash: f.body.hash,
                                      relocations: f.body.refs.map { Relocation(offset: $0.offset, type: $0.type, target: $0.target, addend: $0.type.isPCRelative ? -4 : 0) }))
        }
        for s in strings {
            entries.append(TableEntry(kind: .rodata, name: s.name, object: "", section: ".rodata.str1.1", binding: .local,
                                      order: entries.count, size: s.size, align: s.align, hash: s.hash))
        }
        for d in objectData {
            entries.append(TableEntry(kind: d.kind, name: d.name, object: objectName(d.object), section: ".\(d.kind.rawValue).\(d.name)",
                                      binding: d.kind == .rodata ? .local : .global, order: entries.count, size: d.size,
                                      align: d.align, hash: d.hash))
        }
        return FunctionTable(library: name, version: version, entries: entries, provenance: provenance)
    }

    func objectName(_ k: Int) -> String { "\(name)_o\(k).o" }
}
