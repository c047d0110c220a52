import Testing
import SpacerCore
import SpacerSimulator
import SpacerStrategies
import SpacerTestSupport

/// Issue 11 item 6: a layout that puts code into another zone or past its zone is refused as a
/// data error naming image and zone; page sizes up to 2^28 place (code starts page-aligned),
/// larger ones are refused with the supported range.
@Suite struct ZoneOverflowTests {
    func simulate(_ w: Workload, _ strategy: String, pageSize: Int = 4096) throws -> Metrics {
        let s = try StrategyRegistry.make(strategy)
        let r = try s.place(w, context: PlacementContext(pageSize: pageSize))
        return try Simulator.simulate(w, layouts: r.layouts, options: SimulationOptions(pageSize: pageSize), allowRemoval: type(of: s).removesEntries)
    }

    /// Two functions aligned to 1 GiB (the largest alignment a table may hold): the first lands
    /// on 0x40000000, the trampoline zone. Was exit 0 with code in other zones.
    @Test func gibAlignedFunctionsOverflowTheCodeZone() throws {
        let t = Build.table("lib", "1", [Build.fn("f1", 100, "a1", align: 1 << 30), Build.fn("f2", 100, "a2", align: 1 << 30)])
        let w = try Build.workload([t], images: [[("lib", "1")]])
        for strategy in ["default", "function-per-page", "spacer-delta"] {
            #expect(throws: SpacerError.data(file: "image i0", location: "",
                                             expected: "every function inside the code zone 0x100000-0x40000000 (the strategy's layout overflows its zone)",
                                             found: "lib 1 f1 at 0x40000000-0x40000064"), "\(strategy)") {
                _ = try simulate(w, strategy)
            }
        }
    }

    /// Function-per-page past the end of the code zone (1100 functions × 1 MiB pages > 1 GiB;
    /// the same rule as 330 k functions × 4 KiB pages).
    @Test func functionPerPagePastTheZone() throws {
        let t = Build.table("lib", "1", (0..<1100).map { Build.fn("f\($0)", 64, String(format: "%04x", $0)) })
        let w = try Build.workload([t], images: [[("lib", "1")]])
        #expect(throws: SpacerError.data(file: "image i0", location: "",
                                         expected: "every function inside the code zone 0x100000-0x40000000 (the strategy's layout overflows its zone)",
                                         found: "lib 1 f1023 at 0x40000000-0x40000040")) {
            _ = try simulate(w, "function-per-page", pageSize: 1 << 20)
        }
        // The same table packed by `default` fits.
        #expect(try simulate(w, "default", pageSize: 1 << 20).totalPages == 1)
    }

    /// Pages above 1 MiB: code starts at the first page boundary above 0x100000, and every
    /// strategy places and is scored (was exit 70 "region code claims page alignment but starts
    /// at 0x100000"). Pages up to 1 MiB keep code at 0x100000 (layouts unchanged).
    @Test func largePagesPlace() throws {
        #expect(AddressMap.codeStart(pageSize: 4096) == 0x100000 && AddressMap.codeStart(pageSize: 1 << 20) == 0x100000)
        #expect(AddressMap.codeStart(pageSize: 1 << 21) == 0x200000 && AddressMap.codeStart(pageSize: 1 << 28) == 0x1000_0000)
        let h = RandomHistory.make(seed: 5, libraries: 2, versions: 3, functions: 20)
        let w = try Workload(rows: h.rows, tables: h.tables)
        for ps in [1 << 21, 1 << 24] {
            for type in StrategyRegistry.all {
                let s = try StrategyRegistry.make(type.name)
                let r = try s.place(w, context: PlacementContext(pageSize: ps, timeLimit: 0.5))
                #expect(LayoutCheck.problems(workload: w, layouts: r.layouts, pageSize: ps, allowRemoval: type.removesEntries).isEmpty, "\(type.name) at \(ps)")
                let m = try Simulator.simulate(w, layouts: r.layouts, options: SimulationOptions(pageSize: ps), allowRemoval: type.removesEntries)
                #expect(m.frames >= 1 && m.frames <= m.totalPages, "\(type.name) at \(ps)")
            }
        }
        // 2^28: every zone but code is one page, so a strategy that gives each library its own
        // page-aligned data region overflows with two libraries; that is a data error naming the
        // zone, never an internal one.
        // With one library, `default` places at 2^28.
        let h1 = RandomHistory.make(seed: 5, libraries: 1, versions: 2, functions: 10)
        let one = try Workload(rows: h1.rows, tables: h1.tables)
        for (workload, name) in [(w, "two libraries"), (one, "one library")] {
            var placed: [String] = []
            for type in StrategyRegistry.all {
                let s = try StrategyRegistry.make(type.name)
                let r = try s.place(workload, context: PlacementContext(pageSize: 1 << 28, timeLimit: 0.5))
                do {
                    _ = try Simulator.simulate(workload, layouts: r.layouts, options: SimulationOptions(pageSize: 1 << 28), allowRemoval: type.removesEntries)
                    placed.append(type.name)
                } catch let SpacerError.data(file, _, expected, _) {
                    #expect(file.hasPrefix("image ") && expected.hasPrefix("every ") && expected.contains(" zone 0x"), "\(type.name): \(expected)")
                }
            }
            if name == "one library" { #expect(placed.contains("default"), "\(placed)") }
        }
    }

    @Test func pageSizesAboveTheZoneSizeAreRefused() throws {
        #expect(AddressMap.pageSizeProblem(1 << 28) == nil && AddressMap.pageSizeProblem(4096) == nil)
        for ps in [1 << 29, 1 << 30, 2048, 12288] {
            #expect(AddressMap.pageSizeProblem(ps) == "--page-size must be a power of two from 4096 to 2^28 (268435456; the address zones are 256 MiB), found \(ps)")
        }
        let t = Build.table("lib", "1", [Build.fn("f", 64, "ab")])
        let w = try Build.workload([t], images: [[("lib", "1")]])
        let r = try StrategyRegistry.make("default").place(w, context: PlacementContext(pageSize: 4096))
        #expect(throws: SpacerError.usage("--page-size must be a power of two from 4096 to 2^28 (268435456; the address zones are 256 MiB), found 1073741824")) {
            _ = try Simulator.simulate(w, layouts: r.layouts, options: SimulationOptions(pageSize: 1 << 30))
        }
    }
}
