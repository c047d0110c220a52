import ArgumentParser
import Foundation
import SpacerCore

/// The root command: `spacer-sim`.
public struct SpacerSimCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "spacer-sim",
        abstract: "Place library functions across versions so that unikernel images share memory pages.",
        discussion: """
        spacer-sim reads function tables (extracted from ELF objects of real library releases, or \
        synthetic), runs placement strategies on a workload of images, simulates every page \
        exactly and reports frames, sharing and fragmentation.

        Start with:
          spacer-sim compare                 all strategies on the committed SQLite workload
          spacer-sim strategies --verbose    what each strategy does and its parameters
          spacer-sim extract --help          build a function table from .o/.a files

        Exit status: 0 ok, 64 usage, 65 bad input data, 66 missing input, 70 internal error, 74 I/O error.
        """,
        version: spacerSimVersion,
        subcommands: [CompareCommand.self, StrategiesCommand.self, ExtractCommand.self, PlaceCommand.self, MeasureCommand.self])
    public init() {}
}

/// The tool version written into every result row.
public let spacerSimVersion = "0.1.0"

/// Runs `body`, turning a `SpacerError` into its message on stderr and its sysexits status.
func reportingErrors(_ body: () throws -> Void) throws {
    do { try body() } catch let e as SpacerError {
        FileHandle.standardError.write(Data("spacer-sim: \(e)\n".utf8))
        throw ExitCode(e.exitCode)
    }
}

/// Writes a line to stderr.
func note(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
