import Foundation
import Testing
import SpacerCore
import SpacerSimulator
import SpacerStrategies
@testable import SpacerELF

/// Canonical function-pointer stubs (issue 12) built for real: two versions of a small C library
/// whose `helper` and `other` change while the code and data that take their addresses do not;
/// `version-set` without stable function slots gives them stubs, the emitter writes the stubs
/// and redirects the address-taking relocations to them, gcc and ld link the images, and each
/// must print what its normal link prints, including the pointer comparisons, made in the
/// library (`mov $helper` against a pointer table in data) and in the driver (`&other` taken by
/// the host part against the library's).
@Suite(.serialized) struct CanonicalStubEmitterTests {
    static func lib(_ v: Int) -> String {
        """
        __attribute__((noinline)) static int helper(int x) { return x * \(v == 1 ? 3 : 5) + 1; }
        __attribute__((noinline)) int other(int x) { return x - \(v == 1 ? 1 : 2000); }
        int (*ops[2])(int) = { helper, other };
        __attribute__((noinline)) int (*pick(int k))(int) { return k ? helper : other; }
        int same(void) { return (pick(1) == ops[0]) + 2 * (pick(0) == ops[1]); }
        int api(int x) { return helper(x) + ops[0](x) + pick(1)(x) + ops[1](x); }
        """
    }
    static let driver = """
        #include <stdio.h>
        int api(int); int same(void); int other(int); int (*pick(int))(int);
        int main(void) {
            for (int i = 0; i < 3; i++) printf("api(%d)=%d\\n", i, api(i));
            printf("same=%d host=%d call=%d\\n", same(), pick(0) == other, pick(0)(5));
            return 0;
        }
        """

    @Test func stubsLinkRunKeepPointerEqualityAndAgreeWithTheSimulator() throws {
        guard Toolchain.available else { return }
        let s = try Scratch()
        var libs: [String: LibraryObjects] = [:]
        var tables: [FunctionTable] = []
        for v in 1...2 {
            try FileManager.default.createDirectory(atPath: s.path("v\(v)"), withIntermediateDirectories: true)
            try s.compile("v\(v)/lib", Self.lib(v))
            let o = try LibraryObjects(library: "L", version: "\(v)", inputs: ELFExtractor.loadInputs(paths: [s.path("v\(v)/lib.o")]))
            libs["L@\(v)"] = o
            tables.append(FunctionTable(library: "L", version: "\(v)", entries: o.entries))
        }
        try s.compile("driver", Self.driver, flags: ["-O2", "-fno-pic"])
        let w = try Workload(rows: [WorkloadRow(image: "v1", library: "L", version: "1"), WorkloadRow(image: "v2", library: "L", version: "2")], tables: tables)
        let strategy = try StrategyRegistry.make("version-set", parameters: ["stable-function-slots": "false", "canonical-stubs": "true"])
        let layouts = try strategy.place(w, context: PlacementContext()).layouts
        // Both changed functions moved, and each has a canonical stub that both images use for
        // pick's and ops' fields (the same slot address in both).
        func symbol(_ name: String) -> Int32 { w.symbolIDs[0][w.tables[0].entries.firstIndex { $0.name == name }!] }
        for name in ["helper", "other"] {
            let stubs = layouts.map { l in l.trampolines.flatMap { tt in tt.slots.enumerated().filter { $0.element.canonicalStub && $0.element.target == symbol(name) }.map { tt.address + UInt64($0.offset * tt.slotSize) } } }
            #expect(stubs[0].count == 1 && stubs[0] == stubs[1], "\(name): \(stubs)")
            #expect(layouts.allSatisfy { l in l.redirects.contains { $0.value == stubs[0].first } }, "\(name): no field uses the stub")
        }
        let files = try LinkEmitter.emit(workload: w, layouts: layouts, libraries: libs, strategy: "version-set")
        var binaries: [ELFExecutable] = []
        for (i, f) in files.enumerated() {
            try Data(f.object).write(to: URL(fileURLWithPath: s.path("\(f.image).o")))
            try f.script.write(toFile: s.path("\(f.image).ld"), atomically: true, encoding: .utf8)
            try s.run(Toolchain.gcc!, ["-static", "-no-pie", "driver.o", "v\(i + 1)/lib.o", "-o", "normal\(i + 1)"])
            let normal = try s.run(s.path("normal\(i + 1)"), [])
            try s.run(Toolchain.gcc!, LinkEmitter.linkFlags + ["-Wl,-T,\(f.image).ld", "\(f.image).o", "driver.o", "-o", "stub-\(f.image)"])
            let emitted = try s.run(s.path("stub-\(f.image)"), [])
            #expect(normal.contains("same=3 host=1"), "\(normal)")
            #expect(emitted == normal, "\(f.image): the emitted image prints \(emitted), the normal build \(normal)")
            binaries.append(try ELFExecutable(bytes: s.bytes("stub-\(f.image)"), file: f.image))
        }
        // Predicted and measured pages agree in every zone.
        for zone in [AddressMap.codeBase..<AddressMap.trampolineBase, AddressMap.trampolineBase..<AddressMap.rodataBase,
                     AddressMap.rodataBase..<AddressMap.writableBase, AddressMap.writableBase..<LinkEmitter.hostBase] {
            let m = try Simulator.simulate(w, layouts: layouts, options: SimulationOptions(), pageRanges: [zone])
            let r = try PageMeasure.measure(binaries, ranges: [zone])
            #expect(m.totalPages == r.all.totalPages && m.frames == r.all.frames && m.pagesSharing == r.all.pagesSharing,
                    "zone \(zone): predicted \(m.totalPages) pages \(m.frames) frames, measured \(r.all.totalPages) / \(r.all.frames)")
        }
        // The stubs pay: without them the pages holding pick and ops differ between the images.
        let plain = try StrategyRegistry.make("version-set", parameters: ["stable-function-slots": "false", "canonical-stubs": "false"])
            .place(w, context: PlacementContext()).layouts
        let with = try Simulator.simulate(w, layouts: layouts, options: SimulationOptions())
        let without = try Simulator.simulate(w, layouts: plain, options: SimulationOptions())
        #expect(with.pagesSharing > without.pagesSharing, "with stubs \(with.pagesSharing) sharing pages, without \(without.pagesSharing)")
    }
}
