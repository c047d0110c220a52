import Foundation
import Testing
import SpacerCore
@testable import SpacerELF

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
}
