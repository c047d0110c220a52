import Testing
import SpacerCore
import SpacerSimulator
import SpacerStrategies
import SpacerTestSupport

/// Properties every registered strategy must have, checked on seeded random version histories
/// (modifications of same and new size, inserts, deletes, renames, reverts, calls, data).
/// A new strategy is covered as soon as it is in `StrategyRegistry.all`.
@Suite struct ConformanceTests {
    /// Every strategy with its defaults, plus one variant per boolean parameter flipped.
    static let variants: [Variant] = StrategyRegistry.all.flatMap { t in
        [Variant(name: t.name, params: [:])] + t.parameters.filter { $0.type == .bool }.map {
            Variant(name: t.name, params: [$0.name: $0.defaultValue == "true" ? "false" : "true"])
        }
    }
    struct Variant: CustomTestStringConvertible, Sendable {
        var name: String
        var params: [String: String]
        var testDescription: String {
            params.isEmpty ? name : "\(name)[\(params.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ";"))]"
        }
    }
    static let seeds: [UInt64] = [1, 2, 3, 7, 42]

    static func workload(_ seed: UInt64) throws -> Workload {
        let h = RandomHistory.make(seed: seed, libraries: 3, versions: 5, functions: 25)
        return try Workload(rows: h.rows, tables: h.tables)
    }

    @Test(arguments: variants, seeds)
    func feasibleDeterministicAndBounded(variant: Variant, seed: UInt64) throws {
        let name = variant.name
        let w = try Self.workload(seed)
        let type = StrategyRegistry.named(name)!
        for pageSize in [4096, 16384] {
            let ctx = PlacementContext(pageSize: pageSize, seed: seed, timeLimit: 2)
            let a = try StrategyRegistry.make(name, parameters: variant.params).place(w, context: ctx)
            let b = try StrategyRegistry.make(name, parameters: variant.params).place(w, context: ctx)
            // Deterministic for a seed.
            #expect(a.layouts == b.layouts, "\(name) seed \(seed): two runs differ")
            // Each entry placed exactly once per image (one address slot each), aligned, no
            // overlap, inside mapped regions, page-aligned where claimed, redirects into tables.
            let problems = LayoutCheck.problems(workload: w, layouts: a.layouts, pageSize: pageSize, allowRemoval: type.removesEntries)
            #expect(problems.isEmpty, "\(name) seed \(seed) page \(pageSize): \(problems.joined(separator: "; "))")
            guard problems.isEmpty else { return }
            if !type.removesEntries {
                for l in a.layouts { #expect(!l.addresses.joined().contains(ImageLayout.removed)) }
            }
            // Every redirected field of an image's own entry leads, through its slot, to the very
            // symbol (and addend) the entry references: redirection never changes meaning.
            for (i, img) in w.images.enumerated() {
                let l = a.layouts[i]
                for (k, t) in img.tables.enumerated() {
                    for (e, addr) in l.addresses[k].enumerated() where addr != ImageLayout.removed {
                        for (r, rel) in w.tables[t].entries[e].relocations.enumerated() {
                            guard let slot = l.redirects[addr + UInt64(rel.offset)] else { continue }
                            let tt = l.trampolines.first { slot >= $0.address && slot < $0.address + UInt64($0.reservedBytes) }!
                            let s = tt.slots[Int(slot - tt.address) / tt.slotSize]
                            #expect(s.target == w.targetSymbols[t][e][r] && s.addend == rel.addend,
                                    "\(name): \(img.name) \(w.tables[t].entries[e].name) reloc \(r) redirected to the wrong target")
                        }
                    }
                }
            }
            // lower_bound_frames ≤ frames ≤ total_pages; ignoring xrefs never needs more frames.
            for dedup in DedupModel.allCases {
                let m = try Simulator.simulate(w, layouts: a.layouts, options: SimulationOptions(pageSize: pageSize, dedup: dedup), allowRemoval: type.removesEntries)
                #expect(m.lowerBoundFrames <= m.frames && m.frames <= m.totalPages, "\(name) \(dedup): \(m)")
                #expect(m.sharingPct >= 0 && m.sharingPct <= 100 && m.fragmentationPct >= 0 && m.fragmentationPct < 100)
                let ig = try Simulator.simulate(w, layouts: a.layouts, options: SimulationOptions(pageSize: pageSize, dedup: dedup, xrefs: .ignore), allowRemoval: type.removesEntries)
                #expect(ig.frames <= m.frames)
            }
        }
    }

    /// lower_bound_frames ≤ frames under both dedup models when instances exceed KSM's cap
    /// (cap 2, 3 to 7 instances per image), for every variant: the cap applies to `ksm` only.
    @Test(arguments: variants)
    func boundHoldsWithASmallKSMCap(variant: Variant) throws {
        let h = RandomHistory.make(seed: 5, libraries: 2, versions: 4, functions: 20)
        var images: [String] = []
        for r in h.rows where !images.contains(r.image) { images.append(r.image) }
        let rows = h.rows.map { r -> WorkloadRow in var r = r; r.instances = 3 + images.firstIndex(of: r.image)! % 5; return r }
        let w = try Workload(rows: rows, tables: h.tables)
        let type = StrategyRegistry.named(variant.name)!
        let a = try StrategyRegistry.make(variant.name, parameters: variant.params).place(w, context: PlacementContext(timeLimit: 2))
        for dedup in DedupModel.allCases {
            let m = try Simulator.simulate(w, layouts: a.layouts, options: SimulationOptions(dedup: dedup, maxPageSharing: 2),
                                           allowRemoval: type.removesEntries)
            #expect(m.lowerBoundFrames <= m.frames, "\(variant.testDescription) \(dedup): bound \(m.lowerBoundFrames) > frames \(m.frames)")
        }
    }
}
