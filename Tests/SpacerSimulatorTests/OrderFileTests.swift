import Foundation
import Testing
import SpacerCore
import SpacerSimulator
import SpacerStrategies
import SpacerTestSupport

/// `order-file` (docs/strategies.md): the listed functions first, in the file's order, the rest in
/// link order, packed like `default`; unknown names are warnings.
@Suite struct OrderFileTests {
    /// Two images of one library (versions 1 and 2, the same bodies): A 2048 B, B 4096 B aligned
    /// to 4096, C 2048 B. `default` in each image: A at 0x100000, B at 0x101000 (its alignment
    /// leaves 2048 B of padding), C at 0x102000: 3 pages per image, 6 in all, 3 frames (both
    /// images identical). The order `lib@2:C` then `A`: image 0 gets A first (as default, 3
    /// pages); image 1 gets C at 0x100000, A at 0x100800, B at 0x101000: 2 pages. Total 5 pages;
    /// frames: image 0's three pages, image 1's [C A] page, and its [B] page equals image 0's →
    /// 4 frames.
    static func workload() throws -> Workload {
        let fns = [Build.fn("A", 2048, "aaaa"), Build.fn("B", 4096, "bbbb", align: 4096), Build.fn("C", 2048, "cccc")]
        return try Build.workload([Build.table("lib", "1", fns), Build.table("lib", "2", fns)], images: [[("lib", "1")], [("lib", "2")]])
    }

    static func orderFile(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("order-\(UUID().uuidString).txt").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aHandMadeOrderGivesTheHandCountedPages() throws {
        let w = try Self.workload()
        let path = try Self.orderFile("# hot functions first\n\nlib@2:C\n  A   # then A everywhere\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try StrategyRegistry.make("order-file", parameters: ["file": path]).place(w, context: PlacementContext())
        #expect(r.warnings.isEmpty)
        #expect(r.layouts[0].addresses[0] == [0x100000, 0x101000, 0x102000])
        #expect(r.layouts[1].addresses[0] == [0x100800, 0x101000, 0x100000])
        let m = try Simulator.simulate(w, layouts: r.layouts, options: SimulationOptions())
        #expect(m.totalPages == 5)
        #expect(m.frames == 4)
        let d = try Simulator.simulate(w, layouts: StrategyRegistry.make("default").place(w, context: PlacementContext()).layouts,
                                       options: SimulationOptions())
        #expect(d.totalPages == 6)
        #expect(d.frames == 3)
        #expect(LayoutCheck.problems(workload: w, layouts: r.layouts, pageSize: 4096).isEmpty)
    }

    @Test func unknownNamesAreWarningsNotErrors() throws {
        let w = try Self.workload()
        let path = try Self.orderFile("C\nnosuch\nzz:A\nlib@9:B\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        final class Lines: @unchecked Sendable { let lock = NSLock(); var lines: [String] = [] }
        let seen = Lines()
        let ctx = PlacementContext(progress: { s in seen.lock.lock(); seen.lines.append(s); seen.lock.unlock() })
        let r = try StrategyRegistry.make("order-file", parameters: ["file": path]).place(w, context: ctx)
        #expect(r.warnings.count == 3)
        #expect(r.warnings[0].contains(":2: 'nosuch' names no function"))
        #expect(r.warnings[1].contains(":3: 'zz:A'"))
        #expect(r.warnings[2].contains(":4: 'lib@9:B'"))
        #expect(seen.lines == r.warnings)
        // C first in both images, then A, B in link order.
        #expect(r.layouts[0].addresses[0] == [0x100800, 0x101000, 0x100000])
    }

    @Test func anEmptyFileParameterIsDefault() throws {
        let w = try Self.workload()
        let a = try StrategyRegistry.make("order-file").place(w, context: PlacementContext())
        let d = try StrategyRegistry.make("default").place(w, context: PlacementContext())
        #expect(a.layouts == d.layouts)
    }

    @Test func aMissingFileIsNoInputAndABadLineIsData() throws {
        #expect(throws: SpacerError.noInput(path: "/nonexistent/order.txt")) {
            try StrategyRegistry.make("order-file", parameters: ["file": "/nonexistent/order.txt"])
        }
        let path = try Self.orderFile("A\nlib@:B\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: SpacerError.data(file: path, location: "2", expected: "name, library:name or library@version:name", found: "'lib@:B'")) {
            try StrategyRegistry.make("order-file", parameters: ["file": path])
        }
    }
}
