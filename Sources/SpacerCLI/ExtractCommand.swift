import ArgumentParser
import Foundation
import SpacerCore
import SpacerELF
import SpacerExperiments
import SpacerIO

/// `spacer-sim extract`: ELF objects and archives of one library version -> a function-table CSV.
public struct ExtractCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Read the functions (and the data they reference) of one library version from ELF objects.",
        discussion: """
        FILE arguments are x86-64 ELF relocatable objects (.o) or ar archives (.a) of them, given in \
        link order. Build them with -ffunction-sections -fdata-sections so that every function is a \
        section of its own; a plain .text is carved by its function symbols instead.

        Each function becomes one row (size, alignment, body hash over its bytes with relocation \
        fields zeroed, relocations with normalised targets). Data that functions reference becomes \
        rodata/data/bss rows; string and constant literals become library-wide str.<hash> and \
        cst<E>.<hash> rows, so that renumbered .LC labels and static locals do not change a body.

        Examples:
          gcc -O2 -ffunction-sections -fdata-sections -fno-pic -c sqlite3.c
          spacer-sim extract --library sqlite --library-version 3.45.1 sqlite3.o \\
              --provenance "gcc 12.2.0 -O2 -ffunction-sections -fdata-sections" \\
              -o datasets/real/sqlite-3.45.1.csv.gz
          spacer-sim extract --library zlib --library-version 1.3 libz.a > zlib-1.3.csv

        Writes the table (provenance lines as '# ' comments, then the CSV header; --format json \
        or table for the rows as JSON objects or aligned columns) to -o/--out (atomically, with \
        a sidecar OUT.json holding the sha256 of every object; gzip-compressed when the name \
        ends in .gz) or to standard output, and a one-line summary to standard error. Exit \
        status: 0 ok, 64 usage, 65 malformed input (the message names the file and byte \
        offset), 66 missing input, 73 an output path that is not a regular file, 74 write \
        error; nothing is written on error.
        """)

    @Option(name: .long, help: "Library name, e.g. sqlite.")
    public var library: String

    @Option(name: .customLong("library-version"), help: ArgumentHelp("Library version, e.g. 3.45.1.", valueName: "version"))
    public var libraryVersion: String?

    /// The spelling before `--library-version`, which collided with the built-in `--version`.
    @Option(name: .customLong("version"), help: .hidden)
    public var versionAlias: String?

    @Argument(help: ArgumentHelp("Relocatable objects (.o) and ar archives (.a), in link order.", valueName: "FILE"))
    public var files: [String] = []

    @Option(name: [.short, .customLong("out")], help: ArgumentHelp("Write the table here instead of standard output (.gz: compressed), with a sidecar OUT.json.", valueName: "OUT.csv"))
    public var out: String?

    @Option(name: .customLong("output"), help: .hidden)
    public var outputAlias: String?

    @Option(help: ArgumentHelp("csv (the function-table format, default), json or table.", valueName: "format"))
    public var format: OutputFormat?

    /// The library version, from either spelling.
    var version: String { libraryVersion ?? versionAlias ?? "" }
    /// The output path, from either spelling.
    var output: String? { out ?? outputAlias }

    @Option(name: .customLong("provenance"), help: ArgumentHelp("A provenance line for the CSV (repeatable): compiler, flags, source sha256.", valueName: "LINE"))
    public var provenance: [String] = []

    public init() {}

    public func validate() throws {
        guard libraryVersion == nil || versionAlias == nil else { throw ValidationError("give the version once: --library-version") }
        guard !library.isEmpty, !version.isEmpty else { throw ValidationError("--library and --library-version must be given and not empty") }
        guard !files.isEmpty else { throw ValidationError("give the objects (.o) or archives (.a) to read, in link order") }
        guard out == nil || outputAlias == nil else { throw ValidationError("give the output once: -o/--out") }
        if let o = output { try checkedOutputPath(o) }
        for p in provenance where p.contains("\n") || p.contains("\r") {
            throw ValidationError("a --provenance line must be a single line")
        }
    }

    public func run() throws {
        try reportingErrors {
            let inputs = try ELFExtractor.loadInputs(paths: files)
            let entries = try ELFExtractor.extract(inputs)
            guard entries.contains(where: { $0.kind == .function }) else {
                throw SpacerError.data(file: files.joined(separator: ", "), location: "",
                                       expected: "at least one function (a non-empty executable section)", found: "none")
            }
            let table = FunctionTable(library: library, version: version, entries: entries, provenance: provenance)
            var text = TableCSV.render([table], provenance: provenance)
            let fmt = format ?? output.flatMap { OutputFormat.implied(by: $0) } ?? .csv
            if fmt != .csv {
                let body = text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("#") }.joined(separator: "\n")
                let records = try CSVReader(text: body, file: "extracted table").records
                let header = records.first?.fields ?? []
                text = TidyTable(columns: header, numeric: ["size", "align", "order"], rows: records.dropFirst().map(\.fields)).rendered(fmt)
            }
            try emit(text, to: output, rows: entries.count,
                     provenance: Provenance(inputs: try files.map(FileDigest.of(file:)),
                                            options: ["library": library, "library_version": version, "format": fmt.rawValue,
                                                      "provenance": provenance.joined(separator: " | ")]))
            let functions = entries.filter { $0.kind == .function }
            let bytes = functions.reduce(0) { $0 + $1.size }
            let summary = "extract: \(library) \(version): \(functions.count) functions (\(bytes) bytes), "
                + "\(entries.count - functions.count) data rows, \(inputs.count) object\(inputs.count == 1 ? "" : "s")"
                + (output.map { " -> \($0)" } ?? "")
            FileHandle.standardError.write(Data((summary + "\n").utf8))
        }
    }
}
