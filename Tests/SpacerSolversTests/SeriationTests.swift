import Testing
import SpacerCore
import SpacerSolvers

/// Spectral seriation (Atkins, Boman, Hendrickson 1998) recovers consecutive-ones orders.
@Suite struct SeriationTests {
    /// Random interval sets over n objects (a consecutive-ones matrix), objects shuffled; the
    /// order from S = AᵀA must make every set contiguous again.
    @Test(arguments: Array(1...20) as [UInt64])
    func recoversConsecutiveOnes(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let n = 6 + Int(rng.next() % 7)
        var sets: [[Int]] = (0..<(n - 1)).map { [$0, $0 + 1] }      // a chain keeps it connected
        for _ in 0..<(3 * n) {
            let a = Int(rng.next() % UInt64(n)), len = 1 + Int(rng.next() % UInt64(n / 2))
            sets.append(Array(a..<min(n, a + len)))
        }
        var perm = Array(0..<n)
        perm.shuffle(using: &rng)                                   // object perm[k] is hidden as k
        var hidden = [Int](repeating: 0, count: n)
        for (k, o) in perm.enumerated() { hidden[o] = k }
        let shuffled = sets.map { $0.map { hidden[$0] } }
        var S = [Double](repeating: 0, count: n * n)
        for set in shuffled { for a in set { for b in set where a != b { S[a * n + b] += 1 } } }
        let order = try Seriation.spectralOrder(similarity: S, n: n)
        #expect(order.sorted() == Array(0..<n))
        var pos = [Int](repeating: 0, count: n)
        for (k, o) in order.enumerated() { pos[o] = k }
        for set in shuffled {
            let p = set.map { pos[$0] }
            #expect(p.max()! - p.min()! + 1 == p.count, "seed \(seed): set \(set) is split in order \(order)")
        }
    }

    @Test func componentsAndSmallCases() throws {
        #expect(try Seriation.spectralOrder(similarity: [], n: 0) == [])
        #expect(try Seriation.spectralOrder(similarity: [0], n: 1) == [0])
        // Two components {0, 2} and {1}: by smallest index, each in index order.
        #expect(try Seriation.spectralOrder(similarity: [0, 0, 1, 0, 0, 0, 1, 0, 0], n: 3) == [0, 2, 1])
        #expect(throws: SolverError.self) { try Seriation.spectralOrder(similarity: [0, -1, -1, 0], n: 2) }
    }
}
