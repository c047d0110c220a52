import ArgumentParser
import Foundation
import SpacerCore
import SpacerELF
import SpacerExperiments
import SpacerIO

/// `spacer-sim roots`: the library symbols an application object references, i.e. its undefined
/// symbols that a function table defines (global or weak): an image's roots for `dce`.
public struct RootsCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "roots",
        abstract: "List the library symbols an application's objects reference (an image's roots for dce).",
        discussion: """
        FILE arguments are the application's x86-64 ELF relocatable objects (.o) or ar archives \
        (.a). A root is an undefined symbol of one of them (what `nm -u` lists) that some table of \
        --tables defines as a global or weak entry; undefined symbols no table defines (libc) are \
        left out, and so are symbols the objects define themselves. Roots are sorted by name \
        (bytewise), each once.

        Examples:
          gcc -O2 -fno-pic -I zlib-1.3.1 -c scripts/real/zlib-driver.c -o driver.o
          spacer-sim roots driver.o --tables datasets/real/zlib-1.3.1.csv.gz
          spacer-sim roots driver.o --tables datasets/real --format field

        --format lines (default) prints one root per line; field prints them on one line, \
        separated by single spaces: the workload's `roots` field (docs/formats.md). Exit status: \
        0 ok, 64 usage, 65 malformed object or table, 66 missing input, 74 write error.
        """)

    @Argument(help: ArgumentHelp("The application's relocatable objects (.o) and ar archives (.a).", valueName: "FILE"))
    public var files: [String] = []

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Function-table CSV files or folders that define the library symbols (default: datasets/real).", valueName: "path"))
    public var tables: [String] = []

    @Option(help: ArgumentHelp("lines (one root per line, default) or field (space-separated, the workload's roots field).", valueName: "format"))
    public var format: Format = .lines

    public enum Format: String, ExpressibleByArgument, Sendable { case lines, field }

    public init() {}

    public func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give the application's objects (.o) or archives (.a)") }
    }

    public func run() throws {
        try reportingErrors {
            let loaded: [FunctionTable]
            if !tables.isEmpty { loaded = try Harness.loadTables(tables) } else {
                guard let d = Harness.locate("datasets/real") else { throw SpacerError.noInput(path: "datasets/real (pass --tables)") }
                loaded = try Harness.loadTables([d])
            }
            let roots = try ApplicationRoots.roots(of: try ELFExtractor.loadInputs(paths: files), tables: loaded)
            let text = format == .lines ? roots.map { $0 + "\n" }.joined() : roots.joined(separator: " ") + "\n"
            try FileIO.writeStandardOutput(text)
            FileHandle.standardError.write(Data("roots: \(roots.count) library symbols referenced by \(files.count) file\(files.count == 1 ? "" : "s")\n".utf8))
        }
    }
}
