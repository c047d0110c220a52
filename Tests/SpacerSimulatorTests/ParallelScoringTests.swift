import Testing
import SpacerCore
import SpacerSimulator
import SpacerStrategies
import SpacerTestSupport

/// Issue 14 item 2: `Simulator.simulate(jobs:)` scores images in parallel; every metric and every
/// error must be the same as with one job, whatever the number of jobs.
@Suite struct ParallelScoringTests {
    /// 40 images (one per version of lib0, most with lib1 and lib2 too, 1 or 2 instances): more
    /// than enough chunks of images for every job count below to run several workers.
    static func workload() throws -> Workload {
        let h = RandomHistory.make(seed: 14, libraries: 3, versions: 40, functions: 40)
        return try Workload(rows: h.rows, tables: h.tables)
    }

    @Test func metricsAreTheSameForAnyJobs() throws {
        let w = try Self.workload()
        #expect(w.images.count == 40)
        let optionSets = [SimulationOptions(), SimulationOptions(dedup: .loader), SimulationOptions(maxPageSharing: 2),
                          SimulationOptions(xrefs: .ignore), SimulationOptions(pageSize: 1 << 16)]
        for name in ["default", "per-occurrence", "function-per-page", "spacer-delta", "dce", "version-set"] {
            let s = try StrategyRegistry.make(name)
            for options in optionSets {
                let layouts = try s.place(w, context: PlacementContext(pageSize: options.pageSize)).layouts
                let one = try Simulator.simulate(w, layouts: layouts, options: options, allowRemoval: type(of: s).removesEntries)
                #expect(one.totalPages > 0 && one.frames > 0 && one.frames <= one.totalPages, "\(name)")
                for jobs in [2, 3, 4, 64] {
                    let many = try Simulator.simulate(w, layouts: layouts, options: options, allowRemoval: type(of: s).removesEntries, jobs: jobs)
                    #expect(many == one, "\(name) \(options) jobs \(jobs)")
                }
            }
        }
        // Page ranges (compare with `measure --range`): only the code zone.
        let layouts = try StrategyRegistry.make("default").place(w, context: PlacementContext()).layouts
        let code = [AddressMap.codeBase..<AddressMap.trampolineBase]
        let one = try Simulator.simulate(w, layouts: layouts, options: SimulationOptions(), pageRanges: code)
        let all = try Simulator.simulate(w, layouts: layouts, options: SimulationOptions())
        #expect(one.totalPages > 0 && one.totalPages < all.totalPages)
        #expect(try Simulator.simulate(w, layouts: layouts, options: SimulationOptions(), pageRanges: code, jobs: 3) == one)
    }

    /// Errors come out in image order, as with one job: problems of early images, then a zone
    /// error of a later one is what is thrown; without a zone error, the problems of every image
    /// in order.
    @Test func errorsAreTheSameForAnyJobs() throws {
        let w = try Self.workload()
        let good = try StrategyRegistry.make("default").place(w, context: PlacementContext()).layouts
        // Image 3: its first function one byte off its alignment (a problem). Image 30: its first
        // function at the trampoline zone's start (a zone error).
        var bad = good
        bad[3].addresses[0][0] += 1
        var both = bad
        both[30].addresses[0][0] = AddressMap.trampolineBase
        func message(_ layouts: [ImageLayout], jobs: Int) -> String {
            do { _ = try Simulator.simulate(w, layouts: layouts, options: SimulationOptions(), jobs: jobs); return "no error" }
            catch { return "\(error)" }
        }
        let problem = message(bad, jobs: 1)
        #expect(problem.contains("infeasible layout") && problem.contains("image img3:") && problem.contains("breaks its alignment"), "\(problem)")
        let zone = message(both, jobs: 1)
        #expect(zone.contains("image img30") && zone.contains("code zone"), "\(zone)")
        var badTwice = bad
        badTwice[25].addresses[0][0] += 1
        let two = message(badTwice, jobs: 1)
        let img3 = two.range(of: "image img3:"), img25 = two.range(of: "image img25:")
        #expect(img3 != nil && img25 != nil && img3!.lowerBound < img25!.lowerBound, "\(two)")
        for jobs in [2, 4, 64] {
            #expect(message(bad, jobs: jobs) == problem)
            #expect(message(both, jobs: jobs) == zone)
            #expect(message(badTwice, jobs: jobs) == two)
        }
    }
}
