/// Every error spacer-sim reports, with the exit status of docs/design.md §9 (sysexits).
///
/// Messages are compiler-style: `path:line:col: expected …, found …` for text inputs and
/// `path: byte N: expected …` for binary inputs, so that a researcher can jump to the place.
public enum SpacerError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Bad command-line usage (exit 64).
    case usage(String)
    /// Malformed input data (exit 65). `location` is `LINE`, `LINE:COLUMN`, `byte N`, or empty.
    case data(file: String, location: String, expected: String, found: String?)
    /// An input file that does not exist or cannot be opened (exit 66).
    case noInput(path: String)
    /// A service or facility the command needs is missing (exit 69), e.g. KSM or Slurm.
    case unavailable(String)
    /// An output that cannot be created where asked (exit 73): a device, FIFO or symlink as an
    /// output path, an output folder that is not spacer-sim's own. `reason` starts with what
    /// could not be done ("cannot create output: …", "cannot emit here: …").
    case cantCreate(path: String, reason: String)
    /// A broken internal invariant: a bug in spacer-sim or in a strategy (exit 70).
    case internalInvariant(String)
    /// A failed read or write (exit 74).
    case io(path: String, underlying: String)

    /// The sysexits status for this error: 64 usage, 65 data, 66 no input, 69 unavailable,
    /// 70 internal, 73 cannot create output, 74 I/O.
    public var exitCode: Int32 {
        switch self {
        case .usage: return 64
        case .data: return 65
        case .noInput: return 66
        case .unavailable: return 69
        case .cantCreate: return 73
        case .internalInvariant: return 70
        case .io: return 74
        }
    }

    public var description: String {
        switch self {
        case .usage(let message):
            return "usage: \(message)"
        case let .data(file, location, expected, found):
            var text = location.isEmpty ? "\(file): expected \(expected)" : "\(file):\(location): expected \(expected)"
            if let found { text += ", found \(found)" }
            return text
        case .noInput(let path):
            return "\(path): no such file or not readable"
        case .unavailable(let message):
            return "unavailable: \(message)"
        case let .cantCreate(path, reason):
            return "\(path): \(reason)"
        case .internalInvariant(let message):
            return "internal error: \(message)"
        case let .io(path, underlying):
            return "\(path): \(underlying)"
        }
    }
}
