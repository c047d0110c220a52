// spacer-bench scale: placement and scoring throughput on a generated preset, one thread.
//
//   swift run -c release spacer-bench scale                      # large preset, 100 and 1000 images, spacer-delta
//   swift run -c release spacer-bench scale --images 1000 --functions 50      # 10× fewer functions per image
//   swift run -c release spacer-bench scale --strategies spacer-delta,default --repeat 3
//
// For each image count: generate the preset's tables (--functions per library), build the mix
// workload, then per strategy time `place` and `Simulator.simulate` (scoring): wall clock, best
// of --repeat, and thread CPU seconds (robust to other load on a shared machine). Prints one line
// per run and a CSV block. No figure of this program is asserted by a test.
import Foundation
import SpacerCore
import SpacerSimulator
import SpacerStrategies
import SpacerSynth

/// Wall-clock seconds of `body`.
func wallSeconds(_ body: () throws -> Void) rethrows -> Double {
    let clock = ContinuousClock()
    return seconds(try clock.measure(body))
}

/// CPU seconds this thread has used (CLOCK_THREAD_CPUTIME_ID): unlike wall time, not inflated
/// when other processes share the cores.
func cpuSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
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
    guard let preset = SynthPreset.named(presetName) else { fail("scale: unknown preset \(presetName)") }
    var config = preset.config
    if functions > 0 { config.functions = functions }
    do { try scale(preset: preset, config: config, imageCounts: imageCounts, strategies: strategies, repeats: repeats) }
    catch { fail("scale: \(error)") }
}

func scale(preset: SynthPreset, config: SynthConfig, imageCounts: [Int], strategies: [String], repeats: Int) throws {
    var csv = ["images,functions_per_image,placed_functions,strategy,generate_s,workload_s,place_s,score_s,total_s,place_cpu_s,score_cpu_s,functions_per_s,total_pages,frames,peak_rss_mib"]
    print("preset \(preset.name): \(config.names.count) libraries × \(config.functions) functions × \(config.versions) versions, change rate \(config.changeRate), seed \(config.seed); one thread")
    for n in imageCounts {
        var tables: [FunctionTable] = []
        let gen = wallSeconds { tables = Generator.tables(config) }
        let rows = WorkloadShape.mix(images: n).rows(tables: tables, instances: preset.instances, seed: config.seed)
        var w: Workload!
        let build = try wallSeconds { w = try Workload(rows: rows, tables: tables) }
        let functionsOf = w.tables.map { t in t.entries.reduce(0) { $0 + ($1.kind == .function ? 1 : 0) } }
        let placed = w.images.reduce(0) { acc, img in acc + img.tables.reduce(0) { $0 + functionsOf[$1] } }
        for name in strategies {
            let s = try StrategyRegistry.make(name)
            var best = (place: Double.infinity, score: Double.infinity)
            var cpu = (place: Double.infinity, score: Double.infinity)
            var metrics = Metrics()
            for _ in 0..<repeats {
                var layouts: [ImageLayout] = []
                let c0 = cpuSeconds()
                let p = try wallSeconds { layouts = try s.place(w, context: PlacementContext()).layouts }
                let c1 = cpuSeconds()
                let q = try wallSeconds { metrics = try Simulator.simulate(w, layouts: layouts, options: SimulationOptions(), allowRemoval: type(of: s).removesEntries) }
                let c2 = cpuSeconds()
                best = (min(best.place, p), min(best.score, q))
                cpu = (min(cpu.place, c1 - c0), min(cpu.score, c2 - c1))
            }
            let total = best.place + best.score
            let line = String(format: "%5d images × %4d functions = %8d placed  %-14@ generate %.2f s  workload %.2f s  place %.2f s  score %.2f s  place+score %.2f s (CPU %.2f + %.2f s)  (%.0f functions/s)  %d pages → %d frames  peak RSS %.0f MiB",
                              n, placed / max(n, 1), placed, name as NSString, gen, build, best.place, best.score, total, cpu.place, cpu.score,
                              Double(placed) / total, metrics.totalPages, metrics.frames, peakRSSMiB())
            print(line)
            csv.append([String(n), String(placed / max(n, 1)), String(placed), name, String(format: "%.3f", gen), String(format: "%.3f", build),
                        String(format: "%.3f", best.place), String(format: "%.3f", best.score), String(format: "%.3f", total),
                        String(format: "%.3f", cpu.place), String(format: "%.3f", cpu.score),
                        String(format: "%.0f", Double(placed) / total), String(metrics.totalPages), String(metrics.frames),
                        String(format: "%.0f", peakRSSMiB())].joined(separator: ","))
        }
    }
    print("")
    print(csv.joined(separator: "\n"))
}
