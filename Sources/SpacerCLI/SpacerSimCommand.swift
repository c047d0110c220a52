import ArgumentParser
import Foundation
import SpacerCore
import SpacerExperiments

/// The root command: `spacer-sim`.
public struct SpacerSimCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "spacer-sim",
        abstract: "Place library functions across versions so that unikernel images share memory pages.",
        discussion: """
        spacer-sim reads function tables (extracted from ELF objects of real library releases, or \
        synthetic), runs placement strategies on a workload of images, simulates every page \
        exactly and reports frames, sharing and fragmentation. Terms and metrics: docs/design.md; \
        every command and option: docs/cli.md; file formats: docs/formats.md.

        Start with:
          spacer-sim compare                 all strategies on the committed SQLite workload
          spacer-sim strategies --verbose    what each strategy does and its parameters
          spacer-sim extract --help          build a function table from .o/.a files

        Every command that writes results takes -o/--out PATH (atomically, with a provenance \
        sidecar PATH.json) and --format table|csv|json.

        spacer-sim --version prints the tool's version and the commit it was built from.

        Exit status: 0 ok, 64 usage, 65 bad input data, 66 missing input, 69 unavailable, \
        70 internal error, 73 cannot create output, 74 I/O error.
        """,
        subcommands: [CompareCommand.self, ExplainCommand.self, StrategiesCommand.self, ExtractCommand.self, RootsCommand.self, PlaceCommand.self, ScoreCommand.self, MeasureCommand.self,
                      GenerateCommand.self, SweepCommand.self, MergeCommand.self, RunCommand.self])

    public init() {}

    public func run() throws { throw CleanExit.helpRequest(self) }

    /// `main()`, with `spacer-sim --version` (the tool's version and build commit; handled here,
    /// because a root `--version` would swallow `extract --version`, the old spelling of
    /// `--library-version`) and a "did you mean" for a misspelled subcommand (exit 64).
    public static func mainWithSuggestions() {
        let args = Array(CommandLine.arguments.dropFirst())
        if args == ["--version"] {
            print("spacer-sim \(Tool.version) (\(Tool.commitLabel))")
            Glibc.exit(0)
        }
        if let first = args.first, !first.hasPrefix("-") {
            let names = configuration.subcommands.map { $0.configuration.commandName ?? "" } + ["help"]
            if !names.contains(first) {
                let hint = Suggest.closest(first, among: names).map { " Did you mean '\($0)'?" } ?? ""
                FileHandle.standardError.write(Data("spacer-sim: unknown command '\(first)'.\(hint) Commands: \(names.dropLast().joined(separator: ", ")) (spacer-sim --help)\n".utf8))
                Glibc.exit(64)
            }
        }
        main()
    }
}

/// Runs `body`, turning errors into a message on stderr and a sysexits status: a `SpacerError`
/// gets its own (64/65/66/69/70/73/74); ArgumentParser's exits pass through; anything else is
/// an unexpected error, exit 70.
func reportingErrors(_ body: () throws -> Void) throws {
    do { try body() } catch let e as SpacerError {
        FileHandle.standardError.write(Data("spacer-sim: \(e)\n".utf8))
        throw ExitCode(e.exitCode)
    } catch let e as ExitCode {
        throw e
    } catch let e as CleanExit {
        throw e
    } catch let e as ValidationError {
        throw e
    } catch {
        FileHandle.standardError.write(Data("spacer-sim: internal error: \(error)\n".utf8))
        throw ExitCode(70)
    }
}

/// Writes a line to stderr.
func note(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
