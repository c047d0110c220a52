import Foundation
import SpacerCore

/// The list syntax of sweep axes: comma-separated values, integers also as ranges `a..b` or
/// `a..b:step` (`2..16`, `1..3,8`).
public enum ListSyntax {
    /// The most values one list may expand to (a seeds range of 10^8 would allocate gigabytes
    /// before the grid's own size check).
    public static let maxValues = 1_000_000

    /// Parses `2..16`, `2..16:2`, `1,2,4` or a mix (`2..4,8`) into integers, each in `range`.
    /// - Throws: `.usage` naming `option` for anything else, an empty list, a value outside
    ///   `range`, or more than `maxValues` values (counted before any is listed).
    public static func integers(_ text: String, option: String, range: ClosedRange<Int> = Int.min...Int.max) throws -> [Int] {
        var out: [Int] = []
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if let r = part.range(of: "..") {
                let lo = Int(part[..<r.lowerBound])
                var rest = String(part[r.upperBound...]), step = 1
                if let c = rest.firstIndex(of: ":") { step = Int(rest[rest.index(after: c)...]) ?? 0; rest = String(rest[..<c]) }
                guard let a = lo, let b = Int(rest), a <= b, step >= 1 else {
                    throw SpacerError.usage("\(option): expected a..b or a..b:step with a ≤ b, found '\(part)'")
                }
                let (span, o) = b.subtractingReportingOverflow(a)
                guard !o, span / step < maxValues - out.count else {
                    throw SpacerError.usage("\(option): '\(part)' has more than \(maxValues) values")
                }
                out += Array(stride(from: a, through: b, by: step))
            } else {
                guard let n = Int(part) else { throw SpacerError.usage("\(option): expected integers, found '\(part)'") }
                out.append(n)
            }
        }
        guard !out.isEmpty else { throw SpacerError.usage("\(option): empty list") }
        for n in out where !range.contains(n) {
            throw SpacerError.usage("\(option): values must be from \(range.lowerBound) to \(range.upperBound), found \(n)")
        }
        return out
    }

    /// Comma-separated numbers, each finite and in `range`.
    /// - Throws: `.usage` naming `option`.
    public static func doubles(_ text: String, option: String, range: ClosedRange<Double>) throws -> [Double] {
        let out = try text.split(separator: ",").map { x -> Double in
            guard let d = Double(x.trimmingCharacters(in: .whitespaces)), d.isFinite, range.contains(d) else {
                throw SpacerError.usage("\(option): expected numbers from \(range.lowerBound) to \(range.upperBound), found '\(x)'")
            }
            return d
        }
        guard !out.isEmpty else { throw SpacerError.usage("\(option): empty list") }
        return out
    }
}
