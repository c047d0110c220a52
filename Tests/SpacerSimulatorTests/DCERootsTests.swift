import Testing
import SpacerCore
import SpacerSimulator
import SpacerStrategies
import SpacerTestSupport

/// Issue 15 item 4: `dce` with the image's own roots from the workload. Page 4096; library `L`
/// version 1 holds four page-sized functions (4096 bytes, alignment 16), in link order
///   a (global, calls b) · b (global, calls d) · c (global, called by nobody) · d (static)
/// so every function fills exactly one page and a page's key is its function (with a's and b's
/// resolved call).
@Suite struct DCERootsTests {
    static let table = Build.table("L", "1", [
        Build.fn("a", 4096, "A", calls: [(1, "b")]), Build.fn("b", 4096, "B", calls: [(1, "d")]),
        Build.fn("c", 4096, "C"), Build.fn("d", 4096, "D", binding: .local)])

    func run(_ strategy: String, _ w: Workload, params: [String: String] = [:]) throws -> (Metrics, PlacementResult) {
        let s = try StrategyRegistry.make(strategy, parameters: params)
        let r = try s.place(w, context: PlacementContext())
        return (try Simulator.simulate(w, layouts: r.layouts, options: SimulationOptions(), allowRemoval: type(of: s).removesEntries), r)
    }

    func removed(_ r: PlacementResult, image: Int) -> [String] {
        r.layouts[image].addresses[0].enumerated().filter { $0.element == ImageLayout.removed }.map { Self.table.entries[$0.offset].name }
    }

    @Test func rootsRemoveExactlyTheUnreachable() throws {
        let w = try Workload(rows: [WorkloadRow(image: "app", library: "L", version: "1", roots: ["a"])], tables: [Self.table])
        #expect(w.images[0].roots == ["a"])
        // default: a, b, c, d on four pages, four distinct keys: 4 pages, 4 frames.
        let (d, _) = try run("default", w)
        #expect(d.totalPages == 4 && d.frames == 4)
        // dce from root a: a → b → d reachable, c not: c alone removed; a, b, d packed on three
        // pages (three keys): 3 pages, 3 frames; the bound is ⌈3 × 4096 / 4096⌉ = 3.
        let (m, r) = try run("dce", w)
        #expect(removed(r, image: 0) == ["c"])
        #expect(m.totalPages == 3 && m.frames == 3 && m.lowerBoundFrames == 3)
        // The parameter still overrides the workload's roots: roots=c keeps c alone (1 page).
        let (o, ro) = try run("dce", w, params: ["roots": "c"])
        #expect(removed(ro, image: 0) == ["a", "b", "d"])
        #expect(o.totalPages == 1 && o.frames == 1)
    }

    @Test func withoutRootsEveryGlobalFunctionIsARoot() throws {
        let w = try Workload(rows: [WorkloadRow(image: "app", library: "L", version: "1")], tables: [Self.table])
        #expect(w.images[0].roots == nil)
        // a, b, c global roots, d reached from b: nothing removed, as default (4 pages, 4 frames).
        let (m, r) = try run("dce", w)
        #expect(removed(r, image: 0).isEmpty)
        #expect(m.totalPages == 4 && m.frames == 4)
    }

    @Test func rootsArePerImageAndUnitedOverRows() throws {
        // Image x: roots a (one row) ∪ nothing; image y: roots c. Both hold L 1 (and L 1 only).
        let w = try Workload(rows: [WorkloadRow(image: "x", library: "L", version: "1", roots: ["a"]),
                                    WorkloadRow(image: "y", library: "L", version: "1", roots: ["c"])], tables: [Self.table])
        let (m, r) = try run("dce", w)
        #expect(removed(r, image: 0) == ["c"])
        #expect(removed(r, image: 1) == ["a", "b", "d"])
        // x: a, b, d on 3 pages; y: c on 1 page at x's a-page address, another key: 4 pages,
        // 4 frames, nothing shared (default: 8 pages, 4 frames, all 4 keys shared).
        #expect(m.totalPages == 4 && m.frames == 4 && m.pagesShared == 0)
        let (d, _) = try run("default", w)
        #expect(d.totalPages == 8 && d.frames == 4 && d.pagesShared == 4)
        // Two rows of one image unite their roots.
        let t2 = Build.table("M", "1", [Build.fn("m", 16, "M")])
        let u = try Workload(rows: [WorkloadRow(image: "x", library: "L", version: "1", roots: ["c", "a"]),
                                    WorkloadRow(image: "x", library: "M", version: "1", roots: ["m"])], tables: [Self.table, t2])
        #expect(u.images[0].roots == ["a", "c", "m"])
    }

    @Test func aRootNoTableOfTheImageDefinesIsRefused() throws {
        // d is static (not a root an application can reference); z is defined nowhere.
        for bad in ["d", "z"] {
            #expect(throws: SpacerError.data(file: "w.csv:2:4", location: "", expected: "roots that a table of image app defines (global or weak)", found: "'\(bad)'")) {
                _ = try Workload(rows: [WorkloadRow(image: "app", library: "L", version: "1", roots: ["a", bad], source: "w.csv:2", rootsSource: "w.csv:2:4")],
                                 tables: [Self.table])
            }
        }
    }
}
