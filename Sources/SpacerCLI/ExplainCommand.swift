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

    @Option(help: ArgumentHelp("Comma-separated strategies, each optionally name[k=v;k2=v2] (default: every registered strategy but order-file and external, which need a parameter; see spacer-sim strategies --verbose).", valueName: "a,b,c"))
    var strategies: String?

    @Option(name: .customLong("param"), help: ArgumentHelp("Strategy parameter, name=value (every strategy that declares it) or strategy.name=value. Repeatable.", valueName: "name=value"))
    var params: [String] = []

    @OptionGroup(title: "Run options") var runOptions: RunOptions

    @Option(help: ArgumentHelp("Strategies run in parallel, 1 to 64 (results are the same for any value).", valueName: "n"))
    var jobs = 1

    @OptionGroup(title: "Output") var output: OutputOptions

    @Flag(help: "With the table format: also print the counterfactual chain, every step's frames and bound per strategy.")
    var chain = false

    func validate() throws {
        guard (1...64).contains(jobs) else { throw ValidationError("--jobs must be from 1 to 64, found \(jobs)") }
        _ = try selection()
    }

    /// The requested strategies, checked against the registry.
    func selection() throws -> [StrategySpec] {
        do { return try StrategySpec.parseList(strategies, params: params) } catch let SpacerError.usage(m) { throw ValidationError(m) }
    }

    func run() throws { try reportingErrors { try execute() } }

    func execute() throws {
        let input = try Harness.load(workload: inputs.workload, tables: inputs.tables)
        let w = input.workload
        let config = runOptions.config
        let tty = isatty(2) != 0
        let progress: (@Sendable (String) -> Void)? = tty ? { @Sendable (s: String) in note("  " + s) } : nil
        let specs = try selection()
        let results = try Explain.run(specs, workload: w, config: config, jobs: jobs, progress: progress) { done, label in
            if tty { note("[\(done)/\(specs.count)] \(label) done") }
        }
        for r in results { for warning in r.run.warnings { note("warning: \(warning)") } }
        let ctx = ResultSchema.Context(workload: input.workloadPath, tables: input.tablePaths.joined(separator: " "), config: config,
                                       seed: "", images: w.images.count, instances: w.totalInstances, timings: false,
                                       defaultTotalPages: 0, inputDigest: input.digest)
        var options = runOptions.record
        options["strategies"] = specs.map(\.label).joined(separator: ",")
        options["jobs"] = String(jobs)
        let provenance = Provenance(inputs: input.files, options: options)
        let format = output.resolved()
        var text = Explain.rendered(results, ctx, format: format)
        if format == .table {
            let head = "workload \(input.workloadPath): \(w.images.count) images, \(w.totalInstances) instances, \(w.tables.count) tables; page \(config.pageSize) B, dedup \(config.dedup.rawValue), max_page_sharing \(config.maxPageSharing), xrefs \(config.xrefs == .ignore ? "ignore (UPPER BOUND on sharing)" : "resolve")\n"
            text = head + text
            if chain { text += "\n" + Explain.chainText(results) }
        }
        try emit(text, to: output.out, rows: results.count * LossCause.allCases.count, provenance: provenance)
        if let o = output.out, tty { note("wrote \(o) and \(o).json") }
    }
}
