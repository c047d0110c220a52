import ArgumentParser
import SpacerCore
import SpacerIO
import SpacerStrategies

/// `spacer-sim strategies`: the registry, one line per strategy.
struct StrategiesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strategies",
        abstract: "List the registered placement strategies.",
        discussion: "With --verbose, also each strategy's parameters (settable as --param name=value or in --strategies as name[k=v;k2=v2]).")

    @Flag(name: .shortAndLong, help: "Also show each strategy's parameters, types and defaults.")
    var verbose = false

    func run() throws {
        let width = StrategyRegistry.all.map { $0.name.count }.max() ?? 0
        var out = ""
        for s in StrategyRegistry.all {
            out += s.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + s.summary + "\n"
            if verbose {
                for p in s.parameters {
                    out += String(repeating: " ", count: width + 2) + "--param \(p.name)=<\(p.type.rawValue)>  (default \(p.defaultValue.isEmpty ? "\"\"" : p.defaultValue))  \(p.help)\n"
                }
                if s.removesEntries { out += String(repeating: " ", count: width + 2) + "(may leave unreachable entries unplaced)\n" }
                if !s.inDefaultRun { out += String(repeating: " ", count: width + 2) + "(not in compare's default run: name it in --strategies with its parameter)\n" }
            }
        }
        try reportingErrors { try FileIO.writeStandardOutput(out) }
    }
}
