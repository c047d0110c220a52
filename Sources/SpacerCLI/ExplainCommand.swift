import ArgumentParser
import Foundation
import SpacerCore
import SpacerExperiments
import SpacerIO
import SpacerSimulator

/// `spacer-sim explain`: where every frame above `lower_bound_frames` goes, per strategy.
struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Split each strategy's frames above the lower bound into causes that add up exactly.",
        discussion: """
        For each strategy, frames − lower_bound_frames is split into ksm-cap, writable, \
        trampoline-tables, address-divergence, call-divergence, data-divergence, \
        identity-duplication, image-set-boundary and padding, each measured by a counterfactual \
        simulation of the same layout (docs/design.md §4, "Loss attribution"; never by the \
        strategy). Inputs, strategies and run options are compare's. The table (one row per \
        strategy, a column per cause) goes to standard output; with -o a tidy CSV or JSON (one \
        row per strategy and cause, docs/formats.md "Explain CSV") and its provenance sidecar.

        Examples:
          spacer-sim explain --strategies 'default,per-occurrence[trampolines=true],spacer-delta'
          spacer-sim explain --workload datasets/real/lua-workload.csv -o notebooks-out/explain-lua-workload.csv
        """)

    @OptionGroup(title: "Inputs") var inputs: InputOptions

    @OptionGroup var selection: StrategyOptions

    @OptionGroup(title: "Run options") var runOptions: RunOptions

    @OptionGroup(title: "Output") var output: OutputOptions

    @Flag(help: "With the table format: also print the counterfactual chain, every step's frames and bound per strategy.")
    var chain = false

    func run() throws { try reportingErrors { try execute() } }

    func execute() throws {
        let input = try Harness.load(workload: inputs.workload, tables: inputs.tables)
        let w = input.workload
        let config = runOptions.config
        let tty = isatty(2) != 0
        let progress: (@Sendable (String) -> Void)? = tty ? { @Sendable (s: String) in note("  " + s) } : nil
        let specs = try selection.specs()
        let results = try Explain.run(specs, workload: w, config: config, jobs: selection.jobs, progress: progress) { done, label in
            if tty { note("[\(done)/\(specs.count)] \(label) done") }
        }
        for r in results { for warning in r.run.warnings { note("warning: \(warning)") } }
        let ctx = ResultSchema.Context(workload: input.workloadPath, tables: input.tablePaths.joined(separator: " "), config: config,
                                       seed: "", images: w.images.count, instances: w.totalInstances, timings: false,
                                       defaultTotalPages: 0, inputDigest: input.digest)
        var options = runOptions.record
        options.merge(selection.record(specs)) { $1 }
        let provenance = Provenance(inputs: input.files, options: options)
        let format = output.resolved()
        var text = Explain.rendered(results, ctx, format: format)
        if format == .table {
            let head = workloadSummary(input, config) + "\n"
            text = head + text
            if chain { text += "\n" + Explain.chainText(results) }
        }
        try emit(text, to: output.out, rows: results.count * LossCause.allCases.count, provenance: provenance)
        if let o = output.out, tty { note("wrote \(o) and \(o).json") }
    }
}
