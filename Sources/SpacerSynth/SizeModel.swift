import Foundation
import SpacerCore

/// A lognormal size distribution: ln(size) ~ Normal(mu, sigma), rounded to whole bytes and
/// clamped to [minimum, maximum].
///
/// The defaults are maximum-likelihood fits (mean and standard deviation of ln size) to the 16
/// committed real tables, `datasets/real/` (SQLite ×8, Lua ×4, zlib ×4, gcc 12.2 -O2): 15,637
/// function rows give mu = 5.0254, sigma = 1.4896 (median 152 B, mean 462 B; the data: median
/// 161 B, mean 462 B, p10 17 B, p90 896 B, p99 4452 B, max 42,750 B). Before those tables existed
/// the model was fitted to the published SQLite 3.50.4 quantiles (`sqlitePublished`).
/// `fit(sizes:)` refits on other tables (`generate --fit-sizes`).
public struct SizeModel: Sendable, Hashable, CustomStringConvertible {
    /// Mean of ln(size), size in bytes.
    public var mu: Double
    /// Standard deviation of ln(size).
    public var sigma: Double
    /// Smallest size drawn, bytes (≥ 1).
    public var minimum: Int
    /// Largest size drawn, bytes.
    public var maximum: Int

    public init(mu: Double, sigma: Double, minimum: Int = 1, maximum: Int = 65536) {
        self.mu = mu; self.sigma = sigma; self.minimum = max(1, minimum); self.maximum = max(self.minimum, maximum)
    }

    /// Function sizes: MLE over the committed real tables' 15,637 functions, 1 B … 64 KiB.
    public static let functions = SizeModel(mu: 5.0254, sigma: 1.4896, minimum: 1, maximum: 65536)
    /// Function sizes fitted to the published SQLite 3.50.4 quantiles (real-data-sources.md §3.1:
    /// p10 16 B, median 175 B, p90 1054 B, p99 4.9 KB): mu = ln 175 anchors the median, sigma is
    /// the least-squares fit of ln q = mu + sigma·z over p10, p90, p99 (z = ∓1.2816, 2.3263).
    public static let sqlitePublished = SizeModel(mu: 5.1648, sigma: 1.508, minimum: 1, maximum: 65536)
    /// Read-only data (string literals and constant tables): MLE over the real tables' 15,445
    /// rodata rows as extracted before constant pools were split into one row per constant,
    /// mu = 2.6756, sigma = 1.1547 (median 15 B, mean 47 B). Kept so that synthetic results stay
    /// comparable: the re-extracted tables' 16,223 rodata rows give mu = 2.6443, sigma = 1.1304
    /// (median 14 B); the generator makes strings and constant tables, not single constants.
    public static let rodata = SizeModel(mu: 2.6756, sigma: 1.1547, minimum: 1, maximum: 65536)
    /// Initialised data: MLE over the real tables' 136 data rows, mu = 5.376, sigma = 1.723.
    public static let data = SizeModel(mu: 5.376, sigma: 1.723, minimum: 1, maximum: 65536)
    /// Zeroed data: MLE over the real tables' 182 bss rows, mu = 2.914, sigma = 1.616.
    public static let bss = SizeModel(mu: 2.914, sigma: 1.616, minimum: 1, maximum: 65536)

    /// One size in bytes.
    public func draw(_ rng: inout SplitMix64) -> Int {
        let x = exp(mu + sigma * standardNormal(&rng))
        guard x.isFinite else { return maximum }
        return min(maximum, max(minimum, Int(x.rounded())))
    }

    /// The maximum-likelihood lognormal for `sizes`: mu and sigma are the mean and (population)
    /// standard deviation of ln(size); minimum and maximum are the sample's extremes.
    /// - Precondition: `sizes` is not empty and every size is ≥ 1.
    public static func fit(sizes: [Int]) -> SizeModel {
        let logs = sizes.map { log(Double(max($0, 1))) }
        let n = Double(logs.count)
        let mu = logs.reduce(0, +) / n
        let variance = logs.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / n
        return SizeModel(mu: mu, sigma: variance.squareRoot(), minimum: sizes.min() ?? 1, maximum: sizes.max() ?? 1)
    }

    /// `lognormal(mu=…, sigma=…, median=… B, mean=… B, min…max B)`.
    public var description: String {
        "lognormal(mu=\(String(format: "%.4f", mu)), sigma=\(String(format: "%.4f", sigma)), median=\(Int(exp(mu).rounded())) B, mean=\(Int(exp(mu + sigma * sigma / 2).rounded())) B, \(minimum)..\(maximum) B)"
    }
}

/// A uniform double in [0, 1) from the top 53 bits of one draw.
@inline(__always) func unit(_ rng: inout SplitMix64) -> Double {
    Double(rng.next() >> 11) * 0x1p-53
}

/// A uniform integer in 0..<n (n ≥ 1); the modulo bias is below 2^-40 for the n used here.
@inline(__always) func below(_ n: Int, _ rng: inout SplitMix64) -> Int {
    Int(rng.next() % UInt64(max(n, 1)))
}

/// A standard normal deviate by the Box–Muller transform (Box and Muller, "A note on the
/// generation of random normal deviates", Ann. Math. Statist. 29(2), 1958). Uses two draws.
func standardNormal(_ rng: inout SplitMix64) -> Double {
    let u1 = 1 - unit(&rng)          // (0, 1]: log is finite
    let u2 = unit(&rng)
    return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
}
