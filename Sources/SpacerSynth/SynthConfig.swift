import Foundation
import SpacerCore

/// Rates of the events between two consecutive versions of a synthetic library. Each rate is the
/// expected number of events per version as a fraction of the library's functions (0.1 with 500
/// functions: about 50 events).
///
/// Modifications are drawn per function with a probability that grows with the square root of its
/// size (p_i = min(1, rate · √size_i / mean √size)), because large functions change more often:
/// in real SQLite releases 46–93 % of functions but only 13–78 % of bytes stay unchanged
/// (real-data-sources.md §3.1). The other events pick functions uniformly.
public struct ChangeRates: Sendable, Hashable {
    /// New body, same size, same relocation targets (a bug fix inside a function).
    public var modifySame: Double
    /// New body and a new size (×exp(N(0, 0.35)), never the old size); relocations redrawn for the
    /// new size, keeping the old targets first.
    public var modifyResize: Double
    /// A new function at a random place in its object's link order, called by one existing
    /// function (which is modified to call it).
    public var insert: Double
    /// A function removed; every caller is modified to call another function instead.
    public var delete: Double
    /// A function renamed, body unchanged; callers keep their bytes but their relocation now names
    /// the new symbol (so, by the body identity of docs/design.md §2, their bodies change).
    public var rename: Double
    /// A function moved elsewhere in its object's link order, body unchanged.
    public var reorder: Double
    /// A function given back one of its earlier bodies (same hash, size and relocations as in an
    /// earlier version), when every target of that body still exists.
    public var revert: Double

    public init(modifySame: Double, modifyResize: Double, insert: Double, delete: Double, rename: Double,
                reorder: Double, revert: Double) {
        self.modifySame = modifySame; self.modifyResize = modifyResize; self.insert = insert; self.delete = delete
        self.rename = rename; self.reorder = reorder; self.revert = revert
    }

    /// The default mix for one overall change rate r (the fraction of functions an event touches
    /// per version): modify-same 0.35 r, modify-resize 0.45 r, insert 0.08 r, delete 0.04 r,
    /// rename 0.02 r, reorder 0.03 r, revert 0.03 r. r = 0.2 gives about 80 % of functions
    /// unchanged per version (callers touched by deletes, inserts and renames included), the
    /// middle of SQLite's 46–93 %.
    public static func mix(_ r: Double) -> ChangeRates {
        ChangeRates(modifySame: 0.35 * r, modifyResize: 0.45 * r, insert: 0.08 * r, delete: 0.04 * r,
                    rename: 0.02 * r, reorder: 0.03 * r, revert: 0.03 * r)
    }

    /// `modify-same=…;modify-resize=…;…` with four decimals, for provenance lines.
    public var description: String {
        [("modify-same", modifySame), ("modify-resize", modifyResize), ("insert", insert), ("delete", delete),
         ("rename", rename), ("reorder", reorder), ("revert", revert)]
            .map { "\($0.0)=\(String(format: "%.4f", $0.1))" }.joined(separator: ";")
    }
}

/// Everything that decides a synthetic version history. The same configuration gives
/// byte-identical tables (all randomness comes from `SplitMix64(seed:)`).
public struct SynthConfig: Sendable, Hashable {
    /// Number of libraries, named `syn0`, `syn1`, … unless `libraryNames` is given.
    public var libraries: Int = 1
    /// Library names (overrides `libraries` when not empty).
    public var libraryNames: [String] = []
    /// Functions of each library's first version.
    public var functions: Int = 1000
    /// Versions per library, named `1.0`, `1.1`, … (≥ 1).
    public var versions: Int = 8
    /// Seed of everything random.
    public var seed: UInt64 = 1
    /// The overall change rate `rates` was derived from (recorded in provenance; sweep key).
    public var changeRate: Double = 0.2
    /// Event rates between versions.
    public var rates: ChangeRates = .mix(0.2)
    /// Function sizes.
    public var sizes: SizeModel = .functions
    /// Functions per object file in the first version (objects group link order; static
    /// functions are called only from their own object). The real tables: median 15 (Lua 21,
    /// zlib 9; SQLite is one amalgamation object).
    public var functionsPerObject: Int = 20
    /// Fraction of functions that are global; the rest are local (static) to their object. The
    /// real tables: 0.25.
    public var globalFraction: Double = 0.25
    /// Mean code bytes per relocation. The real tables: 52.8 (15,637 functions, 7.23 MB of code).
    public var bytesPerRelocation: Double = 52.8
    /// Data entries per function of the first version. The real tables had 0.988 rodata, 0.009
    /// data and 0.012 bss rows per function; rodata is split into library-wide string literals
    /// (0.78) and per-object constant tables (0.208). (Measured before extract split constant
    /// pools into one row per constant; the re-extracted tables have 1.037 rodata rows per
    /// function, 0.080 of them single constants.)
    public var stringsPerFunction: Double = 0.78
    public var constantsPerFunction: Double = 0.208
    public var dataPerFunction: Double = 0.009
    public var bssPerFunction: Double = 0.012

    public init() {}

    /// The names of the libraries generated.
    public var names: [String] {
        libraryNames.isEmpty ? (0..<max(libraries, 1)).map { "syn\($0)" } : libraryNames
    }

    /// Sets `changeRate` and `rates = .mix(rate)`.
    public mutating func setChangeRate(_ rate: Double) {
        changeRate = rate; rates = .mix(rate)
    }

    /// Why the configuration cannot be generated, or nil: at least one function and version,
    /// rates in [0, 1], positive sizes and densities.
    public var problem: String? {
        if functions < 1 { return "functions must be ≥ 1, found \(functions)" }
        if versions < 1 { return "versions must be ≥ 1, found \(versions)" }
        if names.isEmpty || Set(names).count != names.count { return "library names must be distinct and not empty" }
        let r = rates
        for (n, x) in [("modify-same", r.modifySame), ("modify-resize", r.modifyResize), ("insert", r.insert), ("delete", r.delete),
                       ("rename", r.rename), ("reorder", r.reorder), ("revert", r.revert)] where !(0...1).contains(x) {
            return "\(n) rate must be in [0, 1], found \(x)"
        }
        if functionsPerObject < 1 { return "functions per object must be ≥ 1" }
        if !(0...1).contains(globalFraction) { return "global fraction must be in [0, 1]" }
        if !(bytesPerRelocation > 0) { return "bytes per relocation must be > 0" }
        if !(sizes.sigma >= 0) || !sizes.mu.isFinite { return "size model needs a finite mu and sigma ≥ 0" }
        return nil
    }

    /// What generating this history costs, expected values over the random events:
    /// `rows`, the function rows of all versions and libraries (the first version's functions,
    /// then each version × (1 + insert − delete)); `work`, the generator's steps, rows plus, for
    /// every inserted function, the functions of its version (each insert rescans the callee
    /// sampler and the callers, so insert-heavy histories grow quadratically). Measured in a
    /// debug build: about 1.3 µs a step (1000 functions, 3 versions, insert rate 1: 7.5 M steps,
    /// 10 s of CPU).
    public var expectedCost: (rows: Double, work: Double) {
        let growth = max(1 + rates.insert - rates.delete, 0)
        var n = Double(functions), rows = 0.0, work = 0.0
        for v in 0..<versions {
            rows += n
            work += n
            if v > 0 { work += rates.insert * n * n }
            n *= growth
            if !rows.isFinite || rows > 1e18 { return (.infinity, .infinity) }
        }
        let libs = Double(max(names.count, 1))
        return (rows * libs, work * libs)
    }

    /// The most generator steps (`expectedCost.work`) a history may take without `--force`:
    /// 10^9, about 20 minutes of a debug build and a few minutes of a release build. The
    /// committed presets stay far below (large: about 7·10^7).
    public static let maxWorkWithoutForce = 1e9

    /// Provenance lines written at the top of the generated table CSV.
    public var provenance: [String] {
        ["synthetic function tables from spacer-sim generate (not measured; docs/cli.md, \"generate\")",
         "libraries=\(names.joined(separator: " ")) functions=\(functions) versions=\(versions) seed=\(seed) change_rate=\(changeRate)",
         "rates: \(rates.description)",
         "function sizes: \(sizes)",
         "objects of \(functionsPerObject) functions; global fraction \(globalFraction); \(bytesPerRelocation) code bytes per relocation",
         "data per function: strings \(stringsPerFunction), constants \(constantsPerFunction), data \(dataPerFunction), bss \(bssPerFunction)"]
    }
}
