import Foundation
import SpacerCore
import SpacerSimulator

/// The options of one run of strategies on a workload, validated in one place for every command
/// (compare, place, sweep, and the harness's callers): page size, dedup model with its cap rule,
/// cross-reference mode and solver time limit.
///
/// `validate()` is the only range check of these options; commands call it at parse time so that
/// a bad value exits 64 naming the option and its range before any work starts.
public struct RunConfiguration: Sendable, Hashable, Codable {
    /// Page size in bytes: a power of two in `RunConfiguration.pageSizes`.
    public var pageSize: Int = 4096
    /// Which pages may merge; `FrameRule` turns this and `maxPageSharing` into frames.
    public var dedup: DedupModel = .ksm
    /// KSM's `max_page_sharing`, in `RunConfiguration.maxPageSharingRange`; ignored by `loader`.
    public var maxPageSharing: Int = 256
    /// Whether relocation values are part of page content (`ignore`: an upper bound on sharing).
    public var xrefs: XrefMode = .resolve
    /// Seconds a solver may spend per sub-problem (and, unless a strategy's budget parameter
    /// says otherwise, in one strategy's whole run); finite, in `timeLimits`.
    public var timeLimit: Double = 10

    /// Supported page sizes for placement: powers of two from 4 KiB to 256 MiB
    /// (`AddressMap.maxPlacementPageSize`: every address zone but code is 256 MiB long).
    public static let pageSizes: ClosedRange<Int> = 4096...AddressMap.maxPlacementPageSize
    /// KSM's cap: at least 2 (the kernel's minimum), at most 2^31.
    public static let maxPageSharingRange: ClosedRange<Int> = 2...(1 << 31)
    /// Solver time limits: 0 s (heuristics only) to one day.
    public static let timeLimits: ClosedRange<Double> = 0...86_400
    /// Instances per image: 1 to `Workload.maxInstances` (the workload reader's limit).
    public static let instancesRange: ClosedRange<Int> = 1...Workload.maxInstances

    /// The defaults: 4096-byte pages, ksm with cap 256, relocations resolved, 10 s limit.
    public init() {}

    /// A configuration with the given values (not yet validated: call `validate()`).
    public init(pageSize: Int = 4096, dedup: DedupModel = .ksm, maxPageSharing: Int = 256,
                xrefs: XrefMode = .resolve, timeLimit: Double = 10) {
        self.pageSize = pageSize; self.dedup = dedup; self.maxPageSharing = maxPageSharing
        self.xrefs = xrefs; self.timeLimit = timeLimit
    }

    /// Checks every value against its documented range.
    /// - Throws: `SpacerError.usage` naming the option (`--page-size`, …), the range and the value.
    public func validate() throws {
        try Self.checkPageSize(pageSize, option: "--page-size")
        try Self.check(maxPageSharing, in: Self.maxPageSharingRange, option: "--max-page-sharing")
        try Self.checkSeconds(timeLimit, option: "--time-limit")
    }

    /// - Parameter max: the largest size allowed (`measure`, which places nothing, takes 2^30).
    /// - Throws: `.usage` unless `n` is a power of two from 4096 to `max` (for placement,
    ///   `AddressMap.pageSizeProblem`, the one rule the simulator applies too).
    public static func checkPageSize(_ n: Int, option: String, max: Int = AddressMap.maxPlacementPageSize) throws {
        if max == AddressMap.maxPlacementPageSize, let problem = AddressMap.pageSizeProblem(n) {
            throw SpacerError.usage(problem.replacingOccurrences(of: "--page-size", with: option))
        }
        guard n >= 4096, n <= max, n & (n - 1) == 0 else {
            throw SpacerError.usage("\(option) must be a power of two from 4096 to 2^\(max.trailingZeroBitCount), found \(n)")
        }
    }

    /// - Throws: `.usage` unless `n` lies in `range`.
    public static func check(_ n: Int, in range: ClosedRange<Int>, option: String) throws {
        guard range.contains(n) else {
            throw SpacerError.usage("\(option) must be from \(range.lowerBound) to \(range.upperBound), found \(n)")
        }
    }

    /// - Throws: `.usage` unless `s` is a finite number of seconds in `timeLimits`.
    public static func checkSeconds(_ s: Double, option: String) throws {
        guard s.isFinite, timeLimits.contains(s) else {
            throw SpacerError.usage("\(option) must be a finite number of seconds from 0 to 86400 (one day), found \(s)")
        }
    }

    /// The simulator's options for this run.
    public var simulation: SimulationOptions {
        SimulationOptions(pageSize: pageSize, dedup: dedup, maxPageSharing: maxPageSharing, xrefs: xrefs)
    }

    /// What a strategy sees: page size, time limit, `seed` (the generator's seed in a sweep; no
    /// registered strategy makes a random choice) and a progress sink.
    public func context(seed: UInt64 = 1, progress: (@Sendable (String) -> Void)? = nil) -> PlacementContext {
        PlacementContext(pageSize: pageSize, seed: seed, timeLimit: timeLimit, progress: progress)
    }

    /// The `xrefs` column's spelling: `resolve`, or `ignore (upper bound)` so that no reader can
    /// mistake an upper bound for a result.
    public var xrefsLabel: String { xrefs == .resolve ? "resolve" : "ignore (upper bound)" }
}
