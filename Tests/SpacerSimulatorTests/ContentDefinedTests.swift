import Testing
import SpacerCore
import SpacerSimulator
import SpacerStrategies
import SpacerTestSupport

@Suite struct ContentDefinedTests {
    /// 80 functions of 1000 bytes, each calling the next; v2 grows f5 by 1000 bytes. With
    /// content-defined runs (about 4 bodies, one page each), every run after f5's starts on a page
    /// and moves by whole pages, so its pages stay identical (calls between shifted runs keep their
    /// displacement); default shifts everything after f5 by 1000 bytes and shares almost nothing.
    @Test func anEditDisturbsOnlyItsOwnRun() throws {
        func fns(_ grow: Bool) -> [TableEntry] {
            (0..<80).map { i in
                Build.fn("f\(i)", i == 5 && grow ? 2000 : 1000, i == 5 && grow ? "H5x" : "H\(i)", calls: [(4, "f\((i + 1) % 80)")])
            }
        }
        let w = try Build.workload([Build.table("L", "1", fns(false)), Build.table("L", "2", fns(true))],
                                   images: [[("L", "1")], [("L", "2")]])
        func run(_ name: String, _ p: [String: String] = [:]) throws -> (Metrics, [ImageLayout]) {
            let r = try StrategyRegistry.make(name, parameters: p).place(w, context: PlacementContext())
            return (try Simulator.simulate(w, layouts: r.layouts, options: SimulationOptions()), r.layouts)
        }
        let (cd, layouts) = try run("content-defined", ["avg-run": "4"])
        let (d, _) = try run("default")
        // Runs start where FNV(hash) mod 4 == 0; check the rule directly on image 1's addresses.
        let t = w.tables[w.images[0].tables[0]]
        for (e, entry) in t.entries.enumerated() where e > 0 && FNV1a64.value(entry.hash) % 4 == 0 {
            #expect(layouts[0].addresses[0][e] % 4096 == 0, "run start \(entry.name) not page-aligned")
        }
        // Every function after f5's run moves by a whole number of pages between the images.
        let firstBoundaryAfter5 = (6..<80).first { FNV1a64.value("H\($0)") % 4 == 0 }!
        for e in firstBoundaryAfter5..<80 {
            #expect((layouts[1].addresses[0][e] - layouts[0].addresses[0][e]) % 4096 == 0)
        }
        // default: 20 pages per image, all after f5's page differ → about 20 + 19 frames.
        // content-defined: only f5's run (and the run holding f79, which calls f0) differ.
        #expect(d.frames >= 38)
        #expect(cd.frames < d.frames)
        #expect(cd.sharingPct > 80)
    }
}
