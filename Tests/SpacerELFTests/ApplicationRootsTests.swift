import Foundation
import Testing
import SpacerCore
@testable import SpacerELF
import SpacerStrategies

/// Issue 15 item 4: the roots of an application object, compiled at test time, against a table
/// extracted from a library compiled at test time; checked against `nm -u`.
@Suite(.enabled(if: Toolchain.available && Toolchain.which("nm") != nil, "gcc, readelf, ar or nm not found on PATH"))
struct ApplicationRootsTests {
    @Test func rootsAreTheUndefinedSymbolsATableDefines() throws {
        let s = try Scratch()
        let lib = try s.compile("lib", """
            int counter;
            const char lib_name[] = "lib";
            static int helper(int x) { return x * 3 + counter; }
            int lib_add(int a, int b) { return helper(a) + b; }
            int lib_mul(int a, int b) { return a * b + lib_name[b & 3]; }
            int lib_unused(int a) { return helper(a) - 1; }
            __attribute__((weak)) int lib_hook(void) { return 7; }
            """)
        let app = try s.compile("app", """
            #include <stdio.h>
            extern int counter;
            extern const char lib_name[];
            int lib_add(int, int); int lib_mul(int, int); int lib_hook(void);
            int app_local(int x) { return lib_add(x, 1); }
            int main(void) { counter = 2; printf("%d %d %s\\n", app_local(3), lib_mul(2, 4) + lib_hook(), lib_name); return 0; }
            """, flags: ["-O2", "-fno-pic"])
        let table = FunctionTable(library: "lib", version: "1", entries: try ELFExtractor.extract(try ELFExtractor.loadInputs(paths: [lib])))
        let roots = try ApplicationRoots.roots(of: try ELFExtractor.loadInputs(paths: [app]), tables: [table])
        // nm -u lists every undefined symbol (libc's printf/puts too); the roots are those the
        // table defines as global or weak entries, functions and data alike.
        let nm = try s.run(Toolchain.which("nm")!, ["-u", "app.o"]).split(separator: "\n")
            .map { String($0.split(separator: " ").last!) }
        let defined = Set(table.entries.filter { $0.binding != .local }.map(\.name))
        #expect(roots == nm.filter(defined.contains).sorted())
        #expect(roots == ["counter", "lib_add", "lib_hook", "lib_mul", "lib_name"])
        #expect(!roots.contains("lib_unused") && !roots.contains("app_local") && !roots.contains("printf"))
        // An archive of the application gives the same roots; a symbol another input defines is
        // not a root (app_local, defined by app.o, referenced by a second object).
        let more = try s.compile("more", "int app_local(int); int lib_add(int, int); int more(void) { return app_local(1) + lib_add(1, 2); }", flags: ["-O2", "-fno-pic"])
        try s.run(Toolchain.ar!, ["rc", "app.a", "app.o", "more.o"])
        #expect(try ApplicationRoots.roots(of: try ELFExtractor.loadInputs(paths: [s.path("app.a")]), tables: [table]) == roots)
        #expect(try ApplicationRoots.roots(of: try ELFExtractor.loadInputs(paths: [more]), tables: [table]) == ["lib_add"])
    }

    /// What `dce` removes from the roots of an application is what GNU ld's `--gc-sections`
    /// removes from the same objects: reachability through relocations, data included.
    @Test func dceRemovesWhatLdGCSectionsRemoves() throws {
        let s = try Scratch()
        let lib = try s.compile("lib", """
            int calls;
            static int inner(int x) { calls++; return x ^ 5; }
            __attribute__((noinline)) int leaf(int x) { return x * 7 + calls; }
            __attribute__((noinline)) int viaTable(int x) { return inner(x) + 1; }
            __attribute__((noinline)) int unusedLeaf(int x) { return x - 3; }
            __attribute__((noinline)) int unused(int x) { return unusedLeaf(x) + leaf(x); }
            int (*const ops[2])(int) = { leaf, viaTable };
            __attribute__((noinline)) int entry(int x) { return leaf(x) + inner(x); }
            __attribute__((weak, noinline)) int weakUnused(int x) { return x; }
            __attribute__((noinline)) int callOp(int i, int x) { return ops[i](x); }
            """)
        let app = try s.compile("app", """
            #include <stdio.h>
            int entry(int); extern int (*const ops[2])(int);
            int main(void) { printf("%d %d\\n", entry(2), ops[1](3)); return 0; }
            """, flags: ["-O2", "-fno-pic"])
        let table = FunctionTable(library: "lib", version: "1", entries: try ELFExtractor.extract(try ELFExtractor.loadInputs(paths: [lib])))
        let roots = try ApplicationRoots.roots(of: try ELFExtractor.loadInputs(paths: [app]), tables: [table])
        #expect(roots == ["entry", "ops"])
        let w = try Workload(rows: [WorkloadRow(image: "app", library: "lib", version: "1", roots: roots)], tables: [table])
        let placed = try StrategyRegistry.make("dce", parameters: [:]).place(w, context: PlacementContext())
        let removed = table.entries.indices.filter { placed.layouts[0].addresses[0][$0] == ImageLayout.removed && table.entries[$0].kind == .function }
            .map { table.entries[$0].name }.sorted()
        // ld: link, and list the sections of lib.o it collects.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Toolchain.gcc!)
        p.arguments = ["-no-pie", "-Wl,--gc-sections", "-Wl,--print-gc-sections", "app.o", "lib.o", "-o", "app"]
        p.currentDirectoryURL = URL(fileURLWithPath: s.dir)
        let err = Pipe()
        p.standardError = err; p.standardOutput = Pipe()
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(text)")
        let ld = text.split(separator: "\n").filter { $0.contains("lib.o'") }.compactMap { line -> String? in
            guard let r = line.range(of: "'.text.") else { return nil }
            return String(line[r.upperBound...].prefix { $0 != "'" })
        }.sorted()
        // ops is a root (data the application reads), so viaTable, reached only through it, stays;
        // callOp, which also reads ops, is not reached (extract lists only the data that some
        // function references: without callOp, ops would have no row, and no layout could place it).
        #expect(removed == ["callOp", "unused", "unusedLeaf", "weakUnused"])
        #expect(removed == ld, "ld --gc-sections removed \(ld)")
    }
}
