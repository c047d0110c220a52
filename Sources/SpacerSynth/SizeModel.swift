import Foundation
import SpacerCore

/// A lognormal size distribution: ln(size) ~ Normal(mu, sigma), rounded to whole bytes and
/// clamped to [minimum, maximum].
///
/// The default for function sizes (`SizeModel.functions`) is fitted to the published SQLite 3.50.4
/// size quantiles (../shared/reference/real-data-sources.md §3.1: p10 16 B, median 175 B, p90
/// 1054 B, p99 4.9 KB, max 42.5 KB): mu = ln(175) anchors the median exactly and sigma is the least
/// squares fit of ln(q) = mu + sigma·z over the p10, p90 and p99 quantiles (z = ∓1.2816, 2.3263),
/// which gives sigma = 1.508. Check: the model's mean, exp(mu + sigma²/2) = 546 B, is within 4 % of
/// SQLite's measured mean (826,463 B / 1577 functions = 524 B). `fit(sizes:)` refits on real tables.
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

    /// Function sizes: lognormal(mu = ln 175 = 5.1648, sigma = 1.508), 1 B … 64 KiB (see the type).
    public static let functions = SizeModel(mu: 5.1648, sigma: 1.508, minimum: 1, maximum: 65536)
    /// String literals (`.rodata.str*`): median 24 B. A guess, not fitted (the tables measured in
    /// real-data-sources.md list code only).
    public static let strings = SizeModel(mu: log(24), sigma: 0.9, minimum: 2, maximum: 4096)
    /// Constant tables (`.rodata.<name>`): median 96 B. A guess, not fitted.
    public static let constants = SizeModel(mu: log(96), sigma: 1.2, minimum: 4, maximum: 32768)
    /// Initialised data (`.data.<name>`): median 16 B. A guess, not fitted.
    public static let data = SizeModel(mu: log(16), sigma: 1.0, minimum: 1, maximum: 8192)
    /// Zeroed data (`.bss.<name>`): median 64 B. A guess, not fitted.
    public static let bss = SizeModel(mu: log(64), sigma: 1.5, minimum: 1, maximum: 65536)

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
