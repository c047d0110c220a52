import Testing
import SpacerCore
import SpacerSolvers

/// Bounds, heuristics and exact models of one-dimensional bin packing.
@Suite struct BinPacking1DTests {
    /// anchors.md §3.2: {2456, 2048, 1228, 820, 820, 820}, C = 4096. OPT 2 ({2456, 820, 820},
    /// {2048, 1228, 820}), FFD 3 (2456+1228 | 2048+820+820 | 820), L1 = 8192/4096 = 2.
    static let textbook = BinPackingInstance(capacity: 4096, sizes: [2456, 2048, 1228, 820, 820, 820])

    @Test func textbookBoundsAndHeuristic() {
        let p = Self.textbook
        #expect(BinPacking1D.firstFitDecreasing(p).count == 3)
        #expect(BinPacking1D.lowerBoundL1(p) == 2)
        #expect(BinPacking1D.lowerBoundL2(p) == 2)
    }

    @Test(arguments: BinPackingModel.allCases)
    func textbookExact(model: BinPackingModel) throws {
        let p = Self.textbook
        let s = try BinPacking1D.solve(p, warm: BinPacking1D.firstFitDecreasing(p), lowerBound: BinPacking1D.lowerBoundL2(p),
                                       model: model, timeLimit: 5)
        #expect(s.status == .optimal)
        #expect(s.bins.count == 2)
        #expect(s.bound == 2)
        #expect(BinPacking1D.isFeasible(s.bins, p))
    }

    /// L2 of Martello & Toth on a case where it beats L1: three items of 2100 (> C/2) need three
    /// bins although L1 = ⌈6300/4096⌉ = 2.
    @Test func l2BeatsL1() {
        let p = BinPackingInstance(capacity: 4096, sizes: [2100, 2100, 2100])
        #expect(BinPacking1D.lowerBoundL1(p) == 2)
        #expect(BinPacking1D.lowerBoundL2(p) == 3)
        // α = 1000: J1 = {3500} (> 3096), J2 = {2500}, J3 = {1000, 1000, 1000} (≥ 1000), free
        // space of J2 = 1596: L = 1 + 1 + ⌈(3000 − 1596)/4096⌉ = 3, while L1 = ⌈9000/4096⌉ = 3 and
        // OPT = 3 too; with sizes {3500, 2500, 1000, 1000, 1000, 600}: L1 = 3, L(1000) = 3,
        // L(600) = 1 + 1 + ⌈(3600 − 1596)/4096⌉ = 3, OPT = 3.
        let q = BinPackingInstance(capacity: 4096, sizes: [3500, 2500, 1000, 1000, 1000, 600])
        #expect(BinPacking1D.lowerBoundL2(q) == 3)
    }

    /// L1 ≤ L2 ≤ OPT ≤ FFD, and both exact models reach OPT, on random small instances whose
    /// optimum is found by brute force.
    @Test func boundsAgainstBruteForce() throws {
        var rng = SplitMix64(seed: 11)
        for _ in 0..<40 {
            let n = 4 + Int(rng.next() % 5)
            let sizes = (0..<n).map { _ in 200 + Int(rng.next() % 2400) }
            let p = BinPackingInstance(capacity: 4096, sizes: sizes)
            let opt = bruteForce(sizes, 4096)
            let l1 = BinPacking1D.lowerBoundL1(p), l2 = BinPacking1D.lowerBoundL2(p)
            let ffd = BinPacking1D.firstFitDecreasing(p)
            #expect(l1 <= l2 && l2 <= opt && opt <= ffd.count, "\(sizes): L1 \(l1) L2 \(l2) OPT \(opt) FFD \(ffd.count)")
            for model in BinPackingModel.allCases {
                let s = try BinPacking1D.solve(p, warm: ffd, lowerBound: l2, model: model, timeLimit: 5)
                #expect(s.status == .optimal && s.bins.count == opt, "\(model) \(sizes)")
            }
        }
    }

    /// `first` items (tails of bodies larger than a page) never share a bin.
    @Test func firstItemsApart() throws {
        let p = BinPackingInstance(capacity: 4096, sizes: [1000, 1000, 500, 500], first: [true, true, false, false])
        #expect(BinPacking1D.lowerBoundL2(p) == 2)
        for model in BinPackingModel.allCases {
            let s = try BinPacking1D.solve(p, warm: BinPacking1D.firstFitDecreasing(p), lowerBound: 2, model: model, timeLimit: 5)
            #expect(s.bins.count == 2 && BinPacking1D.isFeasible(s.bins, p))
        }
    }

    func bruteForce(_ sizes: [Int], _ c: Int) -> Int {
        var best = sizes.count
        var loads: [Int] = []
        func go(_ k: Int) {
            if loads.count >= best { return }
            if k == sizes.count { best = loads.count; return }
            for j in loads.indices where loads[j] + sizes[k] <= c { loads[j] += sizes[k]; go(k + 1); loads[j] -= sizes[k] }
            loads.append(sizes[k]); go(k + 1); loads.removeLast()
        }
        go(0)
        return best
    }
}
