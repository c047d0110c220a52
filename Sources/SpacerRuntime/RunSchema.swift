import Foundation
import SpacerCore
import SpacerExperiments

/// The tidy table of `spacer-sim run` (docs/formats.md): one `sample` row per 1 Hz sample and
/// one `final` row per strategy, in one table so that a timeline and its outcome travel together.
/// Columns a row kind does not have are empty.
public enum RunSchema {
    /// The columns, in order.
    public static let columns = [
        "kind", "strategy", "dedup", "time_s", "instances_running", "pss_kib", "rss_kib", "image_pss_kib", "image_rss_kib",
        "pages_shared", "pages_sharing", "pages_unshared", "pages_volatile", "full_scans", "general_profit",
        "images", "instances", "image_pages", "predicted_frames", "measured_frames", "pfn_frames", "live_frames",
        "live_frames_any_protection", "pages_written_read_only", "pages_written_writable", "pool_pages", "difference",
        "oracle_passed", "oracle_known", "full_scans_after_last_start", "converged", "explanation",
        "tool_version", "tool_commit", "input_digest",
    ]

    /// Columns holding numbers (right-aligned in the terminal table, numbers in JSON).
    public static let numeric: Set<String> = Set(columns).subtracting(["kind", "strategy", "dedup", "converged", "explanation",
                                                                       "tool_version", "tool_commit", "input_digest"])

    static func sampleValues(_ s: RunSample, dedup: String) -> [String] {
        var v = ["sample", s.strategy, dedup, String(format: "%.2f", s.time), String(s.running), String(s.memory.pssKiB),
                 String(s.memory.rssKiB), String(s.imageMemory.pssKiB), String(s.imageMemory.rssKiB)]
        for n in KSMControl.counterNames { v.append((s.counters[n] ?? nil).map(String.init) ?? "") }
        return v
    }

    /// The table for `samples` and `outcomes` of a run with `dedup`.
    public static func table(samples: [RunSample], outcomes: [RunOutcome], dedup: DedupModel, inputDigest: String) -> TidyTable {
        let tail = [Tool.version, Tool.commitLabel, inputDigest]
        var rows: [[String]] = samples.map { sampleValues($0, dedup: dedup.rawValue) + Array(repeating: "", count: 17) + tail }
        for o in outcomes {
            var v = sampleValues(o.last, dedup: dedup.rawValue)
            v[0] = "final"
            v += [String(o.images), String(o.instances), String(o.imagePages), String(o.predictedFrames), String(o.measuredFrames),
                  String(o.pfnFrames), String(o.liveFrames), String(o.liveFramesAnyProtection), String(o.pagesWrittenReadOnly),
                  String(o.pagesWrittenWritable), String(o.poolPages), String(o.difference), String(o.oraclePassed),
                  String(o.oracleKnown), String(o.scansAfterLastStart), o.converged ? "yes" : "no", o.explanation]
            rows.append(v + tail)
        }
        return TidyTable(columns: columns, numeric: numeric, rows: rows)
    }

    /// The terminal summary: the final rows only, a few columns.
    public static func summary(_ outcomes: [RunOutcome], dedup: DedupModel) -> String {
        let head = ["strategy", "dedup", "images", "instances", "pss_kib", "image_pages", "predicted_frames", "measured_frames",
                    "pfn_frames", "live_frames", "difference", "oracle"]
        let body = outcomes.map { o in
            [o.strategy, dedup.rawValue, String(o.images), String(o.instances), String(o.last.memory.pssKiB), String(o.imagePages),
             String(o.predictedFrames), String(o.measuredFrames), String(o.pfnFrames), String(o.liveFrames), String(o.difference),
             "\(o.oraclePassed)/\(o.oracleKnown)"]
        }
        let notes = outcomes.map { "\($0.strategy): difference \($0.difference): \($0.explanation)\($0.converged ? "" : " (settle cap reached before KSM's scans)")" }
        return TidyTable(columns: head, numeric: Set(head).subtracting(["strategy", "dedup", "oracle"]), rows: body).text()
            + notes.joined(separator: "\n") + "\n"
    }
}
