import SpacerCore

/// Invariants the fuzz targets assert. A violation calls `fatalError`, which libFuzzer reports
/// as a crash and saves the input (a "crash" here may be a wrong message as well as a trap).
public enum FuzzCheck {
    /// Fails unless `error` is a well-formed input error for `file`: a data error whose location
    /// is `byte N` with N ≤ `byteCount` (binary input), or `LINE` / `LINE:COLUMN` with the line
    /// at most `lineCount` + 1 (text input); never an internal error.
    public static func inputError(_ error: Error, file: String, byteCount: Int? = nil, lineCount: Int? = nil) {
        guard let e = error as? SpacerError else { fatalError("not a SpacerError: \(error)") }
        guard case let .data(f, location, expected, _) = e else { fatalError("not a data error: \(e)") }
        guard f == file || f.hasPrefix(file + "(") else { fatalError("error names \(f), not \(file): \(e)") }
        guard !expected.isEmpty else { fatalError("error says nothing expected: \(e)") }
        if location.hasPrefix("byte ") {
            guard let n = Int(location.dropFirst(5)), n >= 0 else { fatalError("bad byte location: \(e)") }
            if let byteCount, n > byteCount { fatalError("byte \(n) lies past the \(byteCount)-byte input: \(e)") }
        } else if !location.isEmpty {
            let parts = location.split(separator: ":", omittingEmptySubsequences: false)
            guard (1...2).contains(parts.count), let line = Int(parts[0]), line >= 1,
                  parts.count == 1 || Int(parts[1]).map({ $0 >= 1 }) == true else {
                fatalError("bad text location '\(location)': \(e)")
            }
            if let lineCount, line > lineCount + 1 { fatalError("line \(line) past the \(lineCount)-line input: \(e)") }
        }
    }
}
