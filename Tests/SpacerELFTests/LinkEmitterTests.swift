import Foundation
import Testing
import SpacerCore
import SpacerSimulator
import SpacerStrategies
@testable import SpacerELF

/// End to end without any download: two versions of a small C library written here (a static
/// helper that changes, an address-taken function, pointer tables, bss), placed by each
/// strategy, emitted, linked with gcc and ld, run against the normal link (the functional oracle),
/// and measured against the simulator's prediction.
@Suite(.serialized) struct LinkEmitterTests {
    static func lib(_ v: Int) -> String {
        """
        #include <string.h>
        static int counter;
        static const char *names[] = {"alpha", "beta", "gamma"};
        int table[4] = {1, 2, 3, \(v == 1 ? 4 : 5)};
        __attribute__((noinline)) static int helper(int x) { return x * \(v == 1 ? 3 : 5) + table[x & 3]; }
        __attribute__((noinline)) static int twice(int x) { return 2 * x + (int)strlen(names[x % 3]); }
        int (*pick(int k))(int) { return k ? helper : twice; }
        int api(int x) { counter++; return helper(x) + twice(x) + counter; }
        const char *name(int i) { return names[i % 3]; }
        long sum(int n) { long s = 0; for (int i = 0; i < n; i++) s += api(i) ^ twice(i); return s; }
        \(v == 2 ? "double extra(double x) { return x * 1.25; }" : "")
        struct walker { int (*pre)(int); int (*post)(int); double scale; };
        __attribute__((noinline)) static int pre(int x) { return x + 11; }
        __attribute__((noinline)) static int post(int x) { return x * 7; }
        __attribute__((noinline)) static int walk(struct walker *w, int x) { return w->pre(x) + w->post(x) + (int)(w->scale * x); }
        int walkers(int x) { struct walker w; w.pre = pre; w.post = post; w.scale = 2.5; return walk(&w, x) + (int)(x * 0.75); }
        """
    }
    static let driver = """
        #include <stdio.h>
        int api(int); int (*pick(int))(int); const char *name(int); long sum(int); int walkers(int);
        int main(void) {
            for (int i = 0; i < 4; i++) printf("api(%d)=%d name=%s walkers=%d\\n", i, api(i), name(i), walkers(i));
            printf("pick %d %d sum %ld\\n", pick(0)(7), pick(1)(7), sum(100));
            return 0;
        }
        """

    /// Compiles both versions and the driver; returns (scratch, library objects, tables).
    static func setUp() throws -> (Scratch, [String: LibraryObjects], [FunctionTable]) {
        let s = try Scratch()
        var libs: [String: LibraryObjects] = [:]
        var tables: [FunctionTable] = []
        for v in 1...2 {
            // The same object name in every version, as real releases have (local symbols are
            // matched across versions by object and name).
            try FileManager.default.createDirectory(atPath: s.path("v\(v)"), withIntermediateDirectories: true)
            try s.compile("v\(v)/lib", lib(v))
            let o = try LibraryObjects(library: "L", version: "\(v)", inputs: ELFExtractor.loadInputs(paths: [s.path("v\(v)/lib.o")]))
            libs["L@\(v)"] = o
            tables.append(FunctionTable(library: "L", version: "\(v)", entries: o.entries))
        }
        try s.compile("driver", driver, flags: ["-O2", "-fno-pic"])
        return (s, libs, tables)
    }

    func link(_ s: Scratch, _ args: [String], _ out: String) throws -> String {
        try s.run(Toolchain.gcc!, args + ["-o", out])
        return try s.run(s.path(out), [])
    }

    @Test(arguments: ["default", "per-occurrence", "spacer-delta", "version-set"])
    func emittedImagesRunAndAgreeWithTheSimulator(strategy: String) throws {
        guard Toolchain.available else { return }
        let (s, libs, tables) = try Self.setUp()
        let w = try Workload(rows: [WorkloadRow(image: "v1", library: "L", version: "1"), WorkloadRow(image: "v2", library: "L", version: "2")], tables: tables)
        // extra's constant (1.25, new in version 2) moves the constants of the .rodata.cst8 pool, among them
        // &post, which gcc stores there for walkers (a constant with a relocation): walkers
        // still has one body in both versions, referencing &post's own row.
        let walkers = tables.map { $0.entries.first { $0.name == "walkers" }! }
        #expect(walkers[0].hash == walkers[1].hash && walkers[0].relocations == walkers[1].relocations)
        let post = tables[0].entries.first { e in walkers[0].relocations.contains { $0.target == e.name } && e.name.hasPrefix("cst8.") && !e.relocations.isEmpty }
        #expect(post?.relocations.map(\.target) == ["post"] && post?.object == "lib.o")
        let layouts = try StrategyRegistry.make(strategy).place(w, context: PlacementContext()).layouts
        let files = try LinkEmitter.emit(workload: w, layouts: layouts, libraries: libs, strategy: strategy)
        #expect(files.count == 2)
        var binaries: [ELFExecutable] = []
        for (i, f) in files.enumerated() {
            try Data(f.object).write(to: URL(fileURLWithPath: s.path("\(f.image).o")))
            try f.script.write(toFile: s.path("\(f.image).ld"), atomically: true, encoding: .utf8)
            let normal = try link(s, ["-static", "-no-pie", "driver.o", "v\(i + 1)/lib.o"], "normal\(i + 1)")
            let emitted = try link(s, LinkEmitter.linkFlags + ["-Wl,-T,\(f.image).ld", "\(f.image).o", "driver.o"], "\(strategy)-\(f.image)")
            #expect(emitted == normal, "\(strategy) \(f.image): the emitted image prints something else")
            #expect(normal.contains("name=beta"))
            binaries.append(try ELFExecutable(bytes: s.bytes("\(strategy)-\(f.image)"), file: f.image))
            // The script places every piece at its layout address: check one global function.
            let nm = try s.run(Toolchain.which("nm")!, [s.path("\(strategy)-\(f.image)")])
            let api = w.tables[w.images[i].tables[0]].entries.firstIndex { $0.name == "api" }!
            #expect(nm.contains(String(format: "%016lx T api", layouts[i].addresses[0][api])))
        }
        // Predicted and measured pages agree in every zone of the model.
        for zone in [AddressMap.codeBase..<AddressMap.trampolineBase, AddressMap.trampolineBase..<AddressMap.rodataBase,
                     AddressMap.rodataBase..<AddressMap.writableBase, AddressMap.writableBase..<LinkEmitter.hostBase] {
            let m = try Simulator.simulate(w, layouts: layouts, options: SimulationOptions(), pageRanges: [zone])
            let r = try PageMeasure.measure(binaries, ranges: [zone])
            #expect(m.totalPages == r.all.totalPages && m.frames == r.all.frames && m.pagesSharing == r.all.pagesSharing,
                    "\(strategy) zone \(zone): predicted \(m.totalPages) pages \(m.frames) frames, measured \(r.all.totalPages) / \(r.all.frames)")
        }
        if strategy == "spacer-delta" {
            // helper changed: the unchanged api calls it through a slot; pick takes &helper, so it
            // got a fresh copy instead (a slot would break &helper == &helper).
            #expect(!layouts[1].trampolines.isEmpty)
            let e2 = w.tables[w.images[1].tables[0]].entries, e1 = w.tables[w.images[0].tables[0]].entries
            let a1 = layouts[0].addresses[0][e1.firstIndex { $0.name == "api" }!], a2 = layouts[1].addresses[0][e2.firstIndex { $0.name == "api" }!]
            let p1 = layouts[0].addresses[0][e1.firstIndex { $0.name == "pick" }!], p2 = layouts[1].addresses[0][e2.firstIndex { $0.name == "pick" }!]
            #expect(a1 == a2 && p1 != p2)
        }
        if strategy == "version-set" {
            // helper changed: its stable slot keeps one address, so api and pick (which takes
            // &helper) keep their bytes and one address without any jump slot.
            let e2 = w.tables[w.images[1].tables[0]].entries, e1 = w.tables[w.images[0].tables[0]].entries
            for name in ["helper", "api", "pick"] {
                #expect(layouts[0].addresses[0][e1.firstIndex { $0.name == name }!] == layouts[1].addresses[0][e2.firstIndex { $0.name == name }!], "\(name)")
            }
            #expect(layouts[0].trampolines.isEmpty && layouts[1].trampolines.isEmpty)
        }
    }

    @Test func aSharedTableSlotToAFunctionTheImageLacksStaysUnreferenced() throws {
        // One jump table for both images (as version-set's compact table is) with a slot that
        // leads to `extra`, which only version 2 defines, and that no field of either image
        // reaches. Image v1 must still link (ld would fail on an undefined `extra`) and print what
        // its normal build prints; v2's slot jumps to its own `extra`. The table pages are private,
        // so predicted and measured agree in the trampoline zone (2 pages, 2 frames).
        guard Toolchain.available else { return }
        let (s, libs, tables) = try Self.setUp()
        let w = try Workload(rows: [WorkloadRow(image: "v1", library: "L", version: "1"), WorkloadRow(image: "v2", library: "L", version: "2")], tables: tables)
        var layouts = try StrategyRegistry.make("default").place(w, context: PlacementContext()).layouts
        let t2 = w.images[1].tables[0]
        let extra = w.symbolIDs[t2][w.tables[t2].entries.firstIndex { $0.name == "extra" }!]
        let table = TrampolineTable(address: AddressMap.trampolineBase, slotSize: 8, slots: [TrampolineSlot(target: extra, addend: 0)], reservedBytes: 4096)
        for i in layouts.indices {
            layouts[i].trampolines.append(table)
            layouts[i].regions.append(Region(name: "ind", start: AddressMap.trampolineBase, size: 4096, pageAligned: true))
        }
        let files = try LinkEmitter.emit(workload: w, layouts: layouts, libraries: libs, strategy: "default")
        var binaries: [ELFExecutable] = []
        for (i, f) in files.enumerated() {
            try Data(f.object).write(to: URL(fileURLWithPath: s.path("\(f.image).o")))
            try f.script.write(toFile: s.path("\(f.image).ld"), atomically: true, encoding: .utf8)
            let normal = try link(s, ["-static", "-no-pie", "driver.o", "v\(i + 1)/lib.o"], "normal\(i + 1)")
            let emitted = try link(s, LinkEmitter.linkFlags + ["-Wl,-T,\(f.image).ld", "\(f.image).o", "driver.o"], "slot-\(f.image)")
            #expect(emitted == normal, "\(f.image): the emitted image prints something else")
            binaries.append(try ELFExecutable(bytes: s.bytes("slot-\(f.image)"), file: f.image))
        }
        let zone = AddressMap.trampolineBase..<AddressMap.rodataBase
        let m = try Simulator.simulate(w, layouts: layouts, options: SimulationOptions(), pageRanges: [zone])
        let r = try PageMeasure.measure(binaries, ranges: [zone])
        #expect(m.totalPages == 2 && r.all.totalPages == 2 && m.frames == 2 && r.all.frames == 2)
    }

    @Test func measureMatchesThePythonReference() throws {
        guard Toolchain.available, let python = Toolchain.which("python3") else { return }
        let (s, _, _) = try Self.setUp()
        _ = try link(s, ["-static", "-no-pie", "driver.o", "v1/lib.o"], "n1")
        _ = try link(s, ["-static", "-no-pie", "driver.o", "v2/lib.o"], "n2")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/reference/measure_pages.py").path
        let py = try s.run(python, [script, s.path("n1"), s.path("n2")]).split(separator: "\n")[1].split(separator: ",")
        let r = try PageMeasure.measure([try ELFExecutable(bytes: s.bytes("n1"), file: "n1"), try ELFExecutable(bytes: s.bytes("n2"), file: "n2")])
        #expect([r.all.totalPages, r.all.frames, r.all.pagesShared, r.all.pagesSharing, r.all.zeroPages].map(String.init) == [py[0], py[1], py[2], py[3], py[5]].map(String.init))
        #expect(r.all.totalPages > 100 && r.all.pagesShared > 0 && r.readOnly.totalPages + r.writable.totalPages == r.all.totalPages)
    }

    @Test func unbuildableLayoutsAreRefusedBeforeLd() throws {
        guard Toolchain.available else { return }
        let (_, libs, tables) = try Self.setUp()
        let w = try Workload(rows: [WorkloadRow(image: "v1", library: "L", version: "1"), WorkloadRow(image: "v2", library: "L", version: "2")], tables: tables)
        let good = try StrategyRegistry.make("spacer-delta").place(w, context: PlacementContext()).layouts
        func refusal(_ l: [ImageLayout]) -> String {
            do { _ = try LinkEmitter.emit(workload: w, layouts: l, libraries: libs, strategy: "test"); return "" } catch { return "\(error)" }
        }
        #expect(refusal(good).isEmpty)
        let f = w.tables[w.images[0].tables[0]].entries.indices.filter { w.tables[w.images[0].tables[0]].entries[$0].kind == .function }
        var overlap = good
        overlap[0].addresses[0][f[1]] = overlap[0].addresses[0][f[0]]
        #expect(refusal(overlap).contains("overlap"))
        var misaligned = good
        misaligned[0].addresses[0][f[0]] += 1
        #expect(refusal(misaligned).contains("breaks its alignment 16"))
        var overflow = good
        overflow[1].trampolines[0].reservedBytes = overflow[1].trampolines[0].slotSize * overflow[1].trampolines[0].slots.count - 1
        #expect(refusal(overflow).contains("overflows"))
        var tiny = good
        tiny[1].trampolines[0].slotSize = 4
        #expect(refusal(tiny).contains("cannot hold a 5-byte jmp rel32"))
        var mismatched = libs
        mismatched["L@2"] = libs["L@1"]!
        #expect(refusal(good).isEmpty && { do { _ = try LinkEmitter.emit(workload: w, layouts: good, libraries: mismatched, strategy: "t"); return false } catch { return "\(error)".contains("extract to the table of L 2") } }())
    }

    @Test func writerRoundTripsThroughTheReader() throws {
        var wr = ELFWriter()
        let text = wr.add(ELFWriter.Section(name: ".text.f", flags: ELFConst.SHF_ALLOC | ELFConst.SHF_EXECINSTR, align: 16, bytes: [0xE8, 0, 0, 0, 0, 0xC3]))
        wr.add(ELFWriter.Section(name: ".bss.b", type: ELFConst.SHT_NOBITS, flags: ELFConst.SHF_ALLOC | ELFConst.SHF_WRITE, align: 8, bytes: [], size: 64))
        let local = wr.add(ELFWriter.Symbol(name: "spx.f", bind: ELFConst.STB_LOCAL, type: ELFConst.STT_FUNC, section: text, value: 0, size: 6))
        let ext = wr.add(ELFWriter.Symbol(name: "memcpy", bind: ELFConst.STB_GLOBAL, type: ELFConst.STT_NOTYPE, section: 0, value: 0, size: 0))
        wr.sections[0].relocations = [ELFWriter.Rela(offset: 1, symbol: ext, type: 4, addend: -4)]
        let o = try ELFObject(bytes: try wr.bytes(), file: "w.o")
        #expect(o.sections.map(\.name) == ["", ".text.f", ".bss.b", ".rela.text.f", ".symtab", ".strtab", ".shstrtab"])
        #expect(o.sections[2].isNoBits && o.sections[2].size == 64 && o.sections[1].align == 16)
        #expect(o.symbols[local].name == "spx.f" && o.symbols[ext].name == "memcpy" && o.symbols[ext].isUndefined)
        let r = try o.relocations(for: 1)
        #expect(r.count == 1 && r[0].offset == 1 && r[0].symbol == ext && r[0].type == 4 && r[0].addend == -4)
    }
}
