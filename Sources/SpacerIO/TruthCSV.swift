import Foundation
import SpacerCore

/// The ground-truth CSV that `generate` writes beside a synthetic table (docs/formats.md, "Ground truth").
///
/// Columns `IdealSharing.PairTruth.columns`: library, version_a, version_b (a older), entries and
/// content bytes (func + rodata + data; bss excluded) of each, the body instances both hold
/// (`shared_entries`) and their bytes, in total and by kind, and `shared_pct_of_b` = 100 ×
/// shared_bytes / bytes_b (three decimals).
public enum TruthCSV {
    /// CSV text: header, then one row per pair in the given order.
    public static func render(_ pairs: [IdealSharing.PairTruth]) -> String {
        var out = IdealSharing.PairTruth.columns.joined(separator: ",") + "\n"
        for p in pairs {
            let pct = p.bytesB == 0 ? 0 : 100 * Double(p.sharedBytes) / Double(p.bytesB)
            let fields = [p.library, p.versionA, p.versionB, String(p.entriesA), String(p.entriesB), String(p.bytesA),
                          String(p.bytesB), String(p.sharedEntries), String(p.sharedBytes), String(p.sharedFunctionBytes),
                          String(p.sharedRodataBytes), String(p.sharedDataBytes), String(format: "%.3f", pct)]
            out += fields.map(csvField).joined(separator: ",") + "\n"
        }
        return out
    }
}

extension WorkloadCSV {
    /// The workload CSV text `image,library,version,instances` of `rows`.
    public static func render(_ rows: [WorkloadRow]) -> String {
        var out = "image,library,version,instances\n"
        for r in rows { out += [r.image, r.library, r.version, String(r.instances)].map(csvField).joined(separator: ",") + "\n" }
        return out
    }
}
