/// Which pages the host may merge (docs/design.md §2).
public enum DedupModel: String, CaseIterable, Sendable, Codable {
    /// Every mapped page may merge with identical ones, at most `maxPageSharing` sharers a frame.
    case ksm
    /// A load-time loader maps read-only pages (code, rodata, trampolines) from a shared pool
    /// without a cap; writable pages are private to each instance.
    case loader
}

/// The one rule that turns page mappings into frames (docs/design.md §4), used by the simulator,
/// by its lower bound and by `measure`, so that the KSM cap and the loader's private pages can
/// never drift apart between them.
///
/// - `ksm`: n mappings of one content take ⌈n / max_page_sharing⌉ frames (KSM chains a stable
///   node's rmap items up to `max_page_sharing`, then starts a new stable node).
/// - `loader`: read-only contents come from a pool of one frame each, whatever n (no cap);
///   every mapping of a writable page is a frame of its own.
public struct FrameRule: Sendable, Hashable {
    /// The dedup model.
    public var dedup: DedupModel
    /// KSM's `max_page_sharing` (≥ 2); ignored under `loader`.
    public var maxPageSharing: Int

    /// A rule for `dedup` with KSM's cap `maxPageSharing` (values below 1 count as 1).
    public init(dedup: DedupModel, maxPageSharing: Int) {
        self.dedup = dedup; self.maxPageSharing = maxPageSharing
    }

    /// Mappings one frame can serve: `max_page_sharing` under `ksm`, unbounded under `loader`.
    public var cap: Int { dedup == .ksm ? max(maxPageSharing, 1) : Int.max }

    /// Whether a page with this writability is private to each instance (never merged).
    @inline(__always) public func isPrivate(writable: Bool) -> Bool { dedup == .loader && writable }

    /// Frames taken by `mappings` ≥ 1 mappings of one shared content: ⌈mappings / cap⌉.
    @inline(__always) public func frames(mappings: Int) -> Int {
        mappings <= 0 ? 0 : (mappings - 1) / cap + 1
    }
}
