import Foundation
import Testing

/// Issue 15 item 4 end to end: `spacer-sim roots` on an object gcc compiles here, its field in a
/// workload's `roots` column, and `dce` on that workload through `compare`.
@Suite struct RootsCommandTests {
    @Test func rootsFieldDrivesDCEThroughCompare() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/gcc") || FileManager.default.isExecutableFile(atPath: "/bin/gcc") else { return }
        // f1 global, f2 weak, s static, h global and unreachable: 100 + (pad to 112) 200 = 312
        // bytes, then h (4096) from 320: default maps 2 pages; dce from roots f1 f2 keeps f1, f2
        // only: 1 page.
        let d = try CLI.inputs(table: "library,version,name,binding,size,align,hash\nlib,1,f1,global,100,16,aa01\nlib,1,f2,weak,200,16,aa02\nlib,1,s,local,50,16,aa03\nlib,1,h,global,4096,16,aa04\n",
                               workload: "")
        defer { try? FileManager.default.removeItem(at: d) }
        try "#include <stdio.h>\nint f1(void); int f2(void); int s(void);\nint main(void) { printf(\"%d\\n\", f1() + f2() + s()); return 0; }\n"
            .write(to: d.appendingPathComponent("app.c"), atomically: true, encoding: .utf8)
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: "/bin/sh")
        cc.arguments = ["-c", "gcc -O2 -fno-pic -c app.c -o app.o"]
        cc.currentDirectoryURL = d
        try cc.run(); cc.waitUntilExit()
        #expect(cc.terminationStatus == 0)
        let lines = try CLI.run(["roots", "app.o", "--tables", "t.csv"], cwd: d)
        #expect(lines.status == 0 && lines.out == "f1\nf2\n", "\(lines.err)")
        let field = try CLI.run(["roots", "app.o", "--tables", "t.csv", "--format", "field"], cwd: d)
        #expect(field.status == 0 && field.out == "f1 f2\n")
        #expect(try CLI.run(["roots"], cwd: d).status == 64)
        #expect(try CLI.run(["roots", "missing.o", "--tables", "t.csv"], cwd: d).status == 66)
        #expect(try CLI.run(["roots", "t.csv", "--tables", "t.csv"], cwd: d).status == 65)

        try "image,library,version,roots\napp,lib,1,\(field.out.trimmingCharacters(in: .newlines))\n"
            .write(to: d.appendingPathComponent("w.csv"), atomically: true, encoding: .utf8)
        let c = try CLI.run(["compare", "--no-timings", "--workload", "w.csv", "--tables", "t.csv", "--strategies", "default,dce", "--format", "csv"], cwd: d)
        #expect(c.status == 0, "\(c.err)")
        let rows = c.out.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let col = try #require(rows.first?.firstIndex(of: "total_pages"))
        #expect(rows.dropFirst().map { "\($0[0])=\($0[col])" } == ["default=2", "dce=1"])
        // A root the image's tables do not define is refused at its line and column.
        try "image,library,version,roots\napp,lib,1,f1 nope\n".write(to: d.appendingPathComponent("bad.csv"), atomically: true, encoding: .utf8)
        let bad = try CLI.run(["compare", "--workload", "bad.csv", "--tables", "t.csv", "--strategies", "dce"], cwd: d)
        #expect(bad.status == 65 && bad.err.contains("bad.csv:2:4: expected roots that a table of image app defines (global or weak), found 'nope'"), "\(bad.err)")
    }
}
