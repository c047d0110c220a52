import Foundation
import Testing
import SpacerCore
import SpacerIO
import SpacerSimulator
import SpacerStrategies
import SpacerSynth

/// The synthetic history generator: determinism, each event doing what it says, the size model,
/// and generated tables being valid input for every strategy.
@Suite struct GeneratorTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func config(functions: Int = 100, versions: Int = 2, seed: UInt64 = 5, _ set: (inout ChangeRates) -> Void) -> SynthConfig {
        var c = SynthConfig()
        c.functions = functions; c.versions = versions; c.seed = seed
        c.rates = ChangeRates(modifySame: 0, modifyResize: 0, insert: 0, delete: 0, rename: 0, reorder: 0, revert: 0)
        set(&c.rates)
        return c
    }

    @Test func sameSeedGivesByteIdenticalFiles() throws {
        let p = SynthPreset.small
        let a = try SynthHistory.make(p.config, shape: p.shape, instances: p.instances)
        let b = try SynthHistory.make(p.config, shape: p.shape, instances: p.instances)
        let ta = TableCSV.render(a.tables, provenance: p.config.provenance), tb = TableCSV.render(b.tables, provenance: p.config.provenance)
        #expect(ta == tb)
        #expect(TruthCSV.render(a.truth) == TruthCSV.render(b.truth))
        #expect(WorkloadCSV.render(a.rows) == WorkloadCSV.render(b.rows))
        // Another seed gives other tables of the same shape.
        var c = p.config; c.seed = 2
        let other = try SynthHistory.make(c, shape: p.shape, instances: p.instances)
        #expect(TableCSV.render(other.tables) != TableCSV.render(a.tables))
        #expect(other.tables.count == 8 && a.tables.count == 8)   // 2 libraries × 4 versions
        // And the committed preset is exactly what the generator gives today (regenerate with
        // `spacer-sim generate --preset small --out datasets/synthetic/small` after a model change).
        let dir = Self.root.appendingPathComponent("datasets/synthetic")
        let committed = try String(contentsOf: dir.appendingPathComponent("small.tables.csv"), encoding: .utf8)
        let body = { (s: String) in s.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("#") }.joined(separator: "\n") }
        #expect(body(committed) == body(ta))
        #expect(try String(contentsOf: dir.appendingPathComponent("small.truth.csv"), encoding: .utf8) == TruthCSV.render(a.truth))
        #expect(try String(contentsOf: dir.appendingPathComponent("small.workload.csv"), encoding: .utf8) == WorkloadCSV.render(a.rows))
    }

    /// Functions of a table keyed by name: (hash, size, relocation targets).
    static func functions(_ t: FunctionTable) -> [String: TableEntry] {
        Dictionary(uniqueKeysWithValues: t.entries.filter { $0.kind == .function }.map { ($0.name, $0) })
    }

    @Test func modifyKeepingTheSize() throws {
        let t = Generator.tables(Self.config { $0.modifySame = 0.2 })
        let a = Self.functions(t[0]), b = Self.functions(t[1])
        #expect(Set(a.keys) == Set(b.keys))
        #expect(a.allSatisfy { b[$0.key]!.size == $0.value.size })
        let modified = a.filter { b[$0.key]!.hash != $0.value.hash }.count
        // Expected 0.2 × 100 = 20 (size-weighted draws, binomial spread).
        #expect((8...32).contains(modified), "\(modified) modified")
    }

    @Test func modifyChangingTheSize() throws {
        let t = Generator.tables(Self.config { $0.modifyResize = 0.2 })
        let a = Self.functions(t[0]), b = Self.functions(t[1])
        #expect(Set(a.keys) == Set(b.keys))
        let resized = a.filter { b[$0.key]!.size != $0.value.size }
        #expect((8...32).contains(resized.count), "\(resized.count) resized")
        #expect(resized.allSatisfy { b[$0.key]!.hash != $0.value.hash })
        // Every function whose size stayed kept its body.
        #expect(a.filter { b[$0.key]!.size == $0.value.size }.allSatisfy { b[$0.key]!.hash == $0.value.hash })
    }

    @Test func insertAddsCalledFunctions() throws {
        let t = Generator.tables(Self.config { $0.insert = 0.05 })
        let a = Self.functions(t[0]), b = Self.functions(t[1])
        let new = Set(b.keys).subtracting(a.keys)
        #expect(Set(a.keys).isSubset(of: Set(b.keys)))
        #expect(new.count == 5 || new.count == 6)   // floor(0.05 × 100 + U[0, 1))
        // Each new function is called by someone in the new version (callers were modified).
        let called = Set(t[1].entries.flatMap { $0.relocations.map(\.target) })
        #expect(new.allSatisfy { called.contains($0) })
    }

    @Test func deleteRedirectsCallers() throws {
        let t = Generator.tables(Self.config { $0.delete = 0.05 })
        let a = Self.functions(t[0]), b = Self.functions(t[1])
        let gone = Set(a.keys).subtracting(b.keys)
        #expect(Set(b.keys).isSubset(of: Set(a.keys)) && (gone.count == 5 || gone.count == 6))
        // Nobody calls a deleted function any more; its callers got new bodies.
        #expect(t[1].entries.allSatisfy { $0.relocations.allSatisfy { !gone.contains($0.target) } })
        let callers = a.values.filter { $0.relocations.contains { gone.contains($0.target) } && b[$0.name] != nil }
        #expect(!callers.isEmpty && callers.allSatisfy { b[$0.name]!.hash != $0.hash })
    }

    @Test func renameKeepsTheBody() throws {
        let t = Generator.tables(Self.config { $0.rename = 0.1 })
        let a = Self.functions(t[0]), b = Self.functions(t[1])
        let new = Set(b.keys).subtracting(a.keys)
        #expect(new.count == 10 || new.count == 11)
        // No new bytes at all: every (hash, size) of v2 existed in v1.
        let old = Set(a.values.map { "\($0.hash)/\($0.size)" })
        #expect(b.values.allSatisfy { old.contains("\($0.hash)/\($0.size)") })
    }

    @Test func reorderMovesOnlyPositions() throws {
        let t = Generator.tables(Self.config { $0.reorder = 0.1 })
        let key = { (e: TableEntry) in "\(e.name)|\(e.hash)|\(e.size)|\(e.relocations.map(\.encoded))" }
        let fa = t[0].entries.filter { $0.kind == .function }, fb = t[1].entries.filter { $0.kind == .function }
        #expect(fa.map(key).sorted() == fb.map(key).sorted())
        #expect(fa.map(\.name) != fb.map(\.name))
    }

    @Test func revertRestoresAnEarlierBody() throws {
        // v1 → v2 modifies, v2 → v3 modifies and reverts: floor(0.1 × 100 + U) = 10 functions of
        // v3 have their v1 body back although their v2 body differed.
        let t = Generator.tables(Self.config(versions: 3) { $0.modifySame = 0.3; $0.revert = 0.1 })
        let a = Self.functions(t[0]), b = Self.functions(t[1]), c = Self.functions(t[2])
        let reverted = c.filter { name, e in
            guard let x = a[name], let y = b[name] else { return false }
            return e.hash == x.hash && e.relocations == x.relocations && y.hash != x.hash
        }
        #expect(reverted.count == 10, "\(reverted.count) reverted")
        // The ground truth sees them: v1–v3 shares more than v2 would suggest alone.
        let truth = try IdealSharing.pairs(t)
        #expect(truth.count == 3 && truth[1].sharedFunctionBytes > 0)
    }

    @Test func sizeModelFitRecoversItsParameters() {
        var rng = SplitMix64(seed: 9)
        let m = SizeModel(mu: 5.0, sigma: 1.2, minimum: 1, maximum: 1 << 30)
        let sizes = (0..<20_000).map { _ in m.draw(&rng) }
        let f = SizeModel.fit(sizes: sizes)
        #expect(abs(f.mu - 5.0) < 0.03 && abs(f.sigma - 1.2) < 0.03, "\(f)")
        // The published-quantile fit: median exp(5.1648) = 175 B, SQLite 3.50.4's published median.
        #expect(Int(exp(SizeModel.sqlitePublished.mu).rounded()) == 175)
    }

    @Test func defaultModelsAreTheFitsOfTheCommittedRealTables() throws {
        let dir = Self.root.appendingPathComponent("datasets/real")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".csv.gz") }.sorted()
        #expect(files.count == 16)
        let entries = try files.flatMap { try TableCSV.read(path: dir.appendingPathComponent($0).path).flatMap(\.entries) }
        func fit(_ kind: EntryKind) -> SizeModel { SizeModel.fit(sizes: entries.filter { $0.kind == kind }.map(\.size)) }
        let f = fit(.function)
        #expect(entries.filter { $0.kind == .function }.count == 15_637)
        #expect(abs(f.mu - SizeModel.functions.mu) < 5e-5 && abs(f.sigma - SizeModel.functions.sigma) < 5e-5, "\(f)")
        for (kind, model) in [(EntryKind.data, SizeModel.data), (.bss, .bss)] {
            let g = fit(kind)
            #expect(abs(g.mu - model.mu) < 5e-4 && abs(g.sigma - model.sigma) < 5e-4, "\(kind): \(g)")
        }
        // Read-only data: since extract splits constant pools into one row per constant (issue 12
        // item 3), the tables hold 16,223 rodata rows (778 more: SQLite's and zlib's .rodata.cst8
        // pools, which carry addresses, were one row each), fitted by mu 2.6443, sigma 1.1304.
        // SizeModel.rodata keeps the fit of the 15,445 rows before the split so that synthetic
        // results stay comparable; the generator makes strings and constant tables, not single
        // constants.
        let r = fit(.rodata)
        #expect(entries.filter { $0.kind == .rodata }.count == 16_223)
        #expect(abs(r.mu - 2.6443) < 5e-4 && abs(r.sigma - 1.1304) < 5e-4, "rodata: \(r)")
        #expect(SizeModel.rodata.mu == 2.6756 && SizeModel.rodata.sigma == 1.1547)
    }

    @Test func generatedTablesAreValidInputForEveryStrategy() throws {
        let p = SynthPreset.small
        let h = try SynthHistory.make(p.config, shape: p.shape, instances: 2)
        // Written and read back, the tables are the same.
        let back = try TableCSV.parse(TableCSV.render(h.tables), file: "gen.csv")
        #expect(back.map(\.entries) == h.tables.map(\.entries))
        let w = try Workload(rows: h.rows, tables: back)
        #expect(w.images.count == 4 && w.totalInstances == 8)
        // The ground truth summed over the chain's image pairs is the workload's ideal.
        #expect(h.truth.reduce(0) { $0 + $1.sharedBytes } == IdealSharing.shareableBytes(w, includeWritable: true))
        for type in StrategyRegistry.all {
            let s = try StrategyRegistry.make(type.name)
            let layouts = try s.place(w, context: PlacementContext()).layouts
            let problems = LayoutCheck.problems(workload: w, layouts: layouts, pageSize: 4096, allowRemoval: type.removesEntries)
            #expect(problems.isEmpty, "\(type.name): \(problems.prefix(3))")
            let m = try Simulator.simulate(w, layouts: layouts, options: SimulationOptions(), allowRemoval: type.removesEntries)
            let x = Simulator.bodySharing(w, layouts: layouts, options: SimulationOptions())
            #expect(m.frames >= m.lowerBoundFrames && x.sharedBytes <= x.idealBytes && x.idealBytes > 0, "\(type.name)")
        }
    }

    @Test func mixWorkloadDrawsVersionsPerImage() throws {
        var c = SynthConfig(); c.libraries = 3; c.functions = 20; c.versions = 5
        let h = try SynthHistory.make(c, shape: .mix(images: 50), instances: 1)
        #expect(h.rows.count == 150 && Set(h.rows.map(\.image)).count == 50)
        // Every version of every library is used by some image (50 draws of 5 versions).
        #expect(Set(h.rows.map { "\($0.library)@\($0.version)" }).count == 15)
        #expect(h.rows[0].image == "img0000" && h.rows.last!.image == "img0049")
    }
}
