// spacer-bench scale: placement and scoring throughput on a generated preset.
//
//   swift run -c release spacer-bench scale                      # large preset, 100 and 1000 images, spacer-delta
//   swift run -c release spacer-bench scale --images 100,1000,10000 --strategies default,spacer-delta
//   swift run -c release spacer-bench scale --images 1000 --functions 50      # 10× fewer functions per image
//   swift run -c release spacer-bench scale --strategies spacer-delta,default --repeat 3 --jobs 2
//   swift run -c release spacer-bench scale --workload ../datasets/real/default-workload.csv --tables ../datasets/real \
//       --strategies default,per-occurrence,function-per-page,spacer-delta --repeat 5
//
// For each image count: generate the preset's tables (--functions per library), build the mix
// workload (or, with --workload, read that workload and its --tables once), then per strategy
// time `place` (one thread) and `Simulator.simulate` (scoring, --jobs images at a time, default
// 1): wall clock and process CPU seconds, median of --repeat. Placed functions/s is placed
// functions / (place + score) wall; scored pages/s is mapped pages (per image) / score wall.
// Prints one line per run and a CSV block. No figure of this program is asserted by a test.
import Foundation
import SpacerCore
import SpacerExperiments
import SpacerSimulator
import SpacerStrategies
import SpacerSynth

/// Wall-clock seconds of `body`.
func wallSeconds(_ body: () throws -> Void) rethrows -> Double {
    let clock = ContinuousClock()
    return seconds(try clock.measure(body))
}

/// CPU seconds this process has used, all threads (CLOCK_PROCESS_CPUTIME_ID): unlike wall time,
/// not inflated when other processes share the cores.
func cpuSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

/// Peak resident set of this process, MiB.
func peakRSSMiB() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_maxrss) / 1024
}

func benchScale() {
    let presetName = option("--preset", "large")
    let imageCounts = option("--images", "100,1000").split(separator: ",").compactMap { Int($0) }
    let strategies = option("--strategies", "spacer-delta").split(separator: ",").map(String.init)
    let functions = Int(option("--functions", "0")) ?? 0
    let repeats = max(1, Int(option("--repeat", "1")) ?? 1)
    let jobs = max(1, Int(option("--jobs", "1")) ?? 1)
    let workloadPath = option("--workload", "")
    let tablePaths = option("--tables", "").split(separator: ",").map(String.init)
    guard let preset = SynthPreset.named(presetName) else { fail("scale: unknown preset \(presetName)") }
    var config = preset.config
    if functions > 0 { config.functions = functions }
    do {
        if !workloadPath.isEmpty {
            var inputs: ExperimentInputs!
            let load = try wallSeconds { inputs = try Harness.load(workload: workloadPath, tables: tablePaths) }
            print("workload \(workloadPath): \(inputs.workload.images.count) images; scoring with \(jobs) job(s)")
            var csv = [header]
            try run(inputs.workload, label: workloadPath, generate: 0, build: load, strategies: strategies, repeats: repeats, jobs: jobs, csv: &csv)
            print("")
            print(csv.joined(separator: "\n"))
        } else {
            try scale(preset: preset, config: config, imageCounts: imageCounts, strategies: strategies, repeats: repeats, jobs: jobs)
        }
    } catch { fail("scale: \(error)") }
}

let header = "images,functions_per_image,placed_functions,strategy,jobs,generate_s,workload_s,place_s,score_s,total_s,place_cpu_s,score_cpu_s,functions_per_s,scored_pages,scored_pages_per_s,total_pages,frames,peak_rss_mib"

/// The median of `xs` (the mean of the middle two for an even count).
func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func scale(preset: SynthPreset, config: SynthConfig, imageCounts: [Int], strategies: [String], repeats: Int, jobs: Int) throws {
    var csv = [header]
    print("preset \(preset.name): \(config.names.count) libraries × \(config.functions) functions × \(config.versions) versions, change rate \(config.changeRate), seed \(config.seed); place on one thread, score with \(jobs) job(s)")
    for n in imageCounts {
        var tables: [FunctionTable] = []
        let gen = wallSeconds { tables = Generator.tables(config) }
        let rows = WorkloadShape.mix(images: n).rows(tables: tables, instances: preset.instances, seed: config.seed)
        var w: Workload!
        let build = try wallSeconds { w = try Workload(rows: rows, tables: tables) }
        try run(w, label: "\(n)", generate: gen, build: build, strategies: strategies, repeats: repeats, jobs: jobs, csv: &csv)
    }
    print("")
    print(csv.joined(separator: "\n"))
}

/// Places and scores `w` with each strategy, `repeats` times; prints one line per strategy and
/// appends a CSV row (medians).
func run(_ w: Workload, label: String, generate gen: Double, build: Double, strategies: [String], repeats: Int, jobs: Int, csv: inout [String]) throws {
    let n = w.images.count
    let functionsOf = w.tables.map { t in t.entries.reduce(0) { $0 + ($1.kind == .function ? 1 : 0) } }
    let placed = w.images.reduce(0) { acc, img in acc + img.tables.reduce(0) { $0 + functionsOf[$1] } }
    let options = SimulationOptions()
    for name in strategies {
        let s = try StrategyRegistry.make(name)
        var wall = (place: [Double](), score: [Double]())
        var cpu = (place: [Double](), score: [Double]())
        var metrics = Metrics()
        for _ in 0..<repeats {
            var layouts: [ImageLayout] = []
            let c0 = cpuSeconds()
            let p = try wallSeconds { layouts = try s.place(w, context: PlacementContext()).layouts }
            let c1 = cpuSeconds()
            let q = try wallSeconds { metrics = try Simulator.simulate(w, layouts: layouts, options: options, allowRemoval: type(of: s).removesEntries, jobs: jobs) }
            let c2 = cpuSeconds()
            wall.place.append(p); wall.score.append(q)
            cpu.place.append(c1 - c0); cpu.score.append(c2 - c1)
        }
        let place = median(wall.place), score = median(wall.score)
        let total = place + score
        let pages = metrics.imageBytes / options.pageSize
        let line = String(format: "%5d images × %4d functions = %8d placed  %-17@ generate %.2f s  workload %.2f s  place %.3f s  score %.3f s  place+score %.3f s (CPU %.3f + %.3f s)  %.2f M functions/s  %d pages scored, %.2f M pages/s  %d pages → %d frames  peak RSS %.0f MiB",
                          n, placed / max(n, 1), placed, name as NSString, gen, build, place, score, total, median(cpu.place), median(cpu.score),
                          Double(placed) / total / 1e6, pages, Double(pages) / score / 1e6, metrics.totalPages, metrics.frames, peakRSSMiB())
        print(line)
        csv.append([label, String(placed / max(n, 1)), String(placed), name, String(jobs), String(format: "%.3f", gen), String(format: "%.3f", build),
                    String(format: "%.4f", place), String(format: "%.4f", score), String(format: "%.4f", total),
                    String(format: "%.4f", median(cpu.place)), String(format: "%.4f", median(cpu.score)),
                    String(format: "%.0f", Double(placed) / total), String(pages), String(format: "%.0f", Double(pages) / score),
                    String(metrics.totalPages), String(metrics.frames), String(format: "%.0f", peakRSSMiB())].joined(separator: ","))
    }
}
