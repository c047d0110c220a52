import Testing
import SpacerCore
import SpacerSimulator
import SpacerStrategies
import SpacerTestSupport

/// `explain`'s promise for every registered strategy (and every boolean parameter flipped, as
/// `ConformanceTests` runs them), on seeded random version histories: the causes of
/// `Simulator.attributeLoss` are each ≥ 0 and sum exactly to frames − lower_bound_frames, every
/// counterfactual step stays at or above its own bound, and ignoring relocation values leaves no
/// divergence. A strategy added to `StrategyRegistry.all` is covered without a change here.
@Suite struct LossAttributionPropertyTests {
    static let seeds: [UInt64] = [1, 7, 42]

    static func check(_ a: LossAttribution, _ what: String) {
        #expect(a.parts.map(\.cause) == LossCause.allCases, "\(what)")
        #expect(a.parts.reduce(0) { $0 + $1.frames } == a.frames - a.lowerBoundFrames,
                "\(what): causes sum to \(a.parts.reduce(0) { $0 + $1.frames }), frames − bound = \(a.frames - a.lowerBoundFrames)")
        for p in a.parts { #expect(p.frames >= 0, "\(what): \(p.cause.rawValue) = \(p.frames)") }
        for p in a.parts { if let n = p.pages { #expect(n >= 0 && n <= a.totalPages, "\(what): \(p.cause.rawValue) pages \(n)") } }
        #expect(a.steps.first?.frames == a.frames && a.steps.last?.frames == a.steps.last?.bound, "\(what)")
        for s in a.steps { #expect(s.frames >= s.bound, "\(what): step \(s.name) \(s.frames) < \(s.bound)") }
    }

    @Test(arguments: ConformanceTests.variants, seeds)
    func causesSumExactly(variant: ConformanceTests.Variant, seed: UInt64) throws {
        let w = try ConformanceTests.workload(seed)
        let type = StrategyRegistry.named(variant.name)!
        for pageSize in [4096, 16384] {
            let placed = try StrategyRegistry.make(variant.name, parameters: variant.params)
                .place(w, context: PlacementContext(pageSize: pageSize, seed: seed, timeLimit: 2))
            for dedup in DedupModel.allCases {
                for cap in [256, 2] {
                    let options = SimulationOptions(pageSize: pageSize, dedup: dedup, maxPageSharing: cap)
                    let a = try Simulator.attributeLoss(w, layouts: placed.layouts, options: options, allowRemoval: type.removesEntries)
                    Self.check(a, "\(variant.testDescription) seed \(seed) page \(pageSize) \(dedup) cap \(cap)")
                    // The cap never binds under loader, nor at 256 with at most 2 instances an image.
                    if dedup == .loader || cap == 256 { #expect(a.part(.ksmCap).frames == 0 && a.part(.ksmCap).pages == 0) }
                }
            }
            let ignored = try Simulator.attributeLoss(w, layouts: placed.layouts, options: SimulationOptions(pageSize: pageSize, xrefs: .ignore),
                                                      allowRemoval: type.removesEntries)
            Self.check(ignored, "\(variant.testDescription) seed \(seed) page \(pageSize) xrefs ignore")
            for c in [LossCause.addressDivergence, .callDivergence, .dataDivergence] { #expect(ignored.part(c).frames == 0) }
        }
    }
}
