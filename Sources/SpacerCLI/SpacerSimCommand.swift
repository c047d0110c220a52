import ArgumentParser
import SpacerCore

/// The root command: `spacer-sim`.
public struct SpacerSimCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "spacer-sim",
        abstract: "Place library functions across versions so that unikernel images share memory pages.",
        subcommands: [ExtractCommand.self])
    public init() {}
}
