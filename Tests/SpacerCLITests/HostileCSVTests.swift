import Foundation
import Testing
import SpacerStrategies

/// Hostile function-table and workload CSV files (issue 6, item 3), each run through
/// `spacer-sim compare` as a process: the exact message (file, line and column or byte offset,
/// what was expected), the sysexits status, and no output written. Fixtures are generated here.
@Suite(.serialized) struct HostileCSVTests {
    static let header = "library,version,name,size,align,hash"
    static let rows = "lib,1,f1,100,16,aa01\nlib,1,f2,200,16,aa02\nlib,2,f1,100,16,aa01\nlib,2,f2,300,16,bb02\n"
    static let workload = "image,library,version\ni1,lib,1\ni2,lib,2\n"

    /// One hostile case: files to write (name → bytes), the `compare` inputs, and the expected
    /// exit status and complete standard error.
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var files: [String: [UInt8]]
        var tables: [String]
        var workload = "w.csv"
        var status: Int32
        var message: String
        var testDescription: String { name }
    }

    static func table(_ body: String, header: String = header) -> [UInt8] { Array((header + "\n" + body).utf8) }

    static let rejected: [Case] = [
        Case(name: "missing column", files: ["t.csv": Array("library,version,name,size,align\nlib,1,f,10,1\n".utf8)], tables: ["t.csv"],
             status: 65, message: "t.csv:1: expected columns library,version,name,size,align,hash in the header, found no column hash"),
        Case(name: "unknown column", files: ["t.csv": table("lib,1,f,10,1,aa,red\n", header: header + ",color")], tables: ["t.csv"],
             status: 65, message: "t.csv:1:7: expected a column of library,version,kind,name,object,section,binding,order,size,align,hash,relocs, found 'color'"),
        Case(name: "row with a missing field", files: ["t.csv": table("lib,1,f1,100,16,aa01\nlib,1,f2,200,16\n")], tables: ["t.csv"],
             status: 65, message: "t.csv:3: expected 6 fields as in the header, found 5"),
        Case(name: "row with an extra field", files: ["t.csv": table("lib,1,f1,100,16,aa01\nlib,1,f2,200,16,aa02,x\n")], tables: ["t.csv"],
             status: 65, message: "t.csv:3: expected 6 fields as in the header, found 7"),
        Case(name: "duplicate row", files: ["t.csv": table("lib,1,f1,100,16,aa01\nlib,1,f1,100,16,aa01\n")], tables: ["t.csv"],
             status: 65, message: "t.csv:3:3: expected one row per symbol of lib 1, found a second row for f1"),
        Case(name: "size negative", files: ["t.csv": table("lib,1,f1,-10,16,aa01\n")], tables: ["t.csv"],
             status: 65, message: "t.csv:2:4: expected a size in bytes, a whole number from 1 to 268435456, found '-10'"),
        Case(name: "size zero", files: ["t.csv": table("lib,1,f1,0,16,aa01\n")], tables: ["t.csv"],
             status: 65, message: "t.csv:2:4: expected a size in bytes, a whole number from 1 to 268435456, found '0'"),
        Case(name: "size non-numeric", files: ["t.csv": table("lib,1,f1,12a,16,aa01\n")], tables: ["t.csv"],
             status: 65, message: "t.csv:2:4: expected a size in bytes, a whole number from 1 to 268435456, found '12a'"),
        Case(name: "size hexadecimal", files: ["t.csv": table("lib,1,f1,0x10,16,aa01\n")], tables: ["t.csv"],
             status: 65, message: "t.csv:2:4: expected a size in bytes, a whole number from 1 to 268435456, found '0x10'"),
        Case(name: "size fractional", files: ["t.csv": table("lib,1,f1,1.5,16,aa01\n")], tables: ["t.csv"],
             status: 65, message: "t.csv:2:4: expected a size in bytes, a whole number from 1 to 268435456, found '1.5'"),
        Case(name: "size empty", files: ["t.csv": table("lib,1,f1,,16,aa01\n")], tables: ["t.csv"],
             status: 65, message: "t.csv:2:4: expected a size in bytes, a whole number from 1 to 268435456, found ''"),
        Case(name: "size 2^64 (overflows 64 bits)", files: ["t.csv": table("lib,1,f1,18446744073709551616,16,aa01\n")], tables: ["t.csv"],
             status: 65, message: "t.csv:2:4: expected a size in bytes, a whole number from 1 to 268435456, found '18446744073709551616'"),
        Case(name: "size 2^63-1", files: ["t.csv": table("lib,1,f1,9223372036854775807,16,aa01\n")], tables: ["t.csv"],
             status: 65, message: "t.csv:2:4: expected a size in bytes, a whole number from 1 to 268435456, found '9223372036854775807'"),
        // Before issue 6 a 2^40-byte entry was accepted and the simulator walked 2^28 pages (a hang).
        Case(name: "size 2^40 (was a hang)", files: ["t.csv": table("lib,1,f1,1099511627776,16,aa01\n")], tables: ["t.csv"],
             status: 65, message: "t.csv:2:4: expected a size in bytes, a whole number from 1 to 268435456, found '1099511627776'"),
        Case(name: "alignment not a power of two", files: ["t.csv": table("lib,1,f1,100,3,aa01\n")], tables: ["t.csv"],
             status: 65, message: "t.csv:2:5: expected an alignment in bytes, a power of two from 1 to 1073741824, found '3'"),
        Case(name: "empty hash", files: ["t.csv": table("lib,1,f1,100,16,\n")], tables: ["t.csv"],
             status: 65, message: "t.csv:2:6: expected a body hash, found an empty field"),
        // Issue 11 item 12: a hash is hex digits (compared case-insensitively).
        Case(name: "hash not hexadecimal", files: ["t.csv": table("lib,1,f1,100,16,xyz\n")], tables: ["t.csv"],
             status: 65, message: "t.csv:2:6: expected a body hash of hexadecimal digits (0-9, a-f), found 'xyz'"),
        // Issue 11 item 6: a layout past its address zone is a data error naming image and zone.
        Case(name: "functions aligned to 1 GiB overflow the code zone",
             files: ["g.csv": table("lib,1,f1,100,1073741824,a1\nlib,1,f2,100,1073741824,a2\n"), "wg.csv": Array("image,library,version\ni1,lib,1\n".utf8)],
             tables: ["g.csv"], workload: "wg.csv", status: 65,
             message: "image i1: expected every function inside the code zone 0x100000-0x40000000 (the strategy's layout overflows its zone), found lib 1 f1 at 0x40000000-0x40000064"),
        Case(name: "unterminated quote", files: ["t.csv": table("lib,1,\"f1,100,16,aa\n")], tables: ["t.csv"],
             status: 65, message: "t.csv:2:3: expected a closing quote, found end of file"),
        Case(name: "quote inside a field", files: ["t.csv": table("lib,1,f\"1,100,16,aa\n")], tables: ["t.csv"],
             status: 65, message: "t.csv:2:3: expected a quote only at the start of a field, found a quote inside the field"),
        Case(name: "text after a closing quote", files: ["t.csv": table("lib,1,\"f1\"x,100,16,aa\n")], tables: ["t.csv"],
             status: 65, message: "t.csv:2:3: expected a comma or line end after a quoted field, found 'x'"),
        Case(name: "not UTF-8", files: ["t.csv": table("lib,1,f1,100,16,a") + [0xff, 0x0a]], tables: ["t.csv"],
             status: 65, message: "t.csv:byte 54: expected UTF-8 text, found a byte that is not UTF-8"),
        Case(name: "empty table file", files: ["t.csv": []], tables: ["t.csv"],
             status: 65, message: "t.csv:1: expected a header row with columns library,version,name,size,align,hash, found no rows"),
        Case(name: "header only", files: ["t.csv": table("")], tables: ["t.csv"],
             status: 65, message: "t.csv:2: expected at least one table row after the header, found none"),
        Case(name: "relocation past its entry", files: ["t.csv": table("lib,1,f,6,1,ab,4:pc32:g:-4\n", header: header + ",relocs")], tables: ["t.csv"],
             status: 65, message: "t.csv:2:7: expected a relocation field inside the entry's 6 bytes, found '4:pc32:g:-4'"),
        // Before issue 6 this trapped (signal 4): offset + width overflowed.
        Case(name: "relocation offset 2^63-1 (was a trap)", files: ["t.csv": table("lib,1,f,6,1,ab,9223372036854775807:pc32:g:-4\n", header: header + ",relocs")],
             tables: ["t.csv"], status: 65, message: "t.csv:2:7: expected a relocation field inside the entry's 6 bytes, found '9223372036854775807:pc32:g:-4'"),
        Case(name: "overlapping relocation fields (was exit 70)", files: ["t.csv": table("lib,1,f,64,16,ab,0:plt32:g:-4 0:abs64:g:0\n", header: header + ",relocs")],
             tables: ["t.csv"], status: 65,
             message: "t.csv:2:7: expected relocation fields that do not overlap, found '0:abs64:g:0' (8 bytes at 0) and '0:plt32:g:-4' (4 bytes at 0)"),
        Case(name: "truncated gzip", files: ["t.csv.gz": Array(gzipped(table(rows)).prefix(40))], tables: ["t.csv.gz"],
             status: 65, message: "t.csv.gz:byte 40: expected the rest of the gzip stream, found end of file"),
        Case(name: "one library version in two files", files: ["a.csv": table(rows), "b.csv": table("lib,3,f1,100,16,aa01\nlib,1,f1,100,16,aa01\n")],
             tables: ["a.csv", "b.csv"], status: 65, message: "b.csv:3: expected each library version in one file only, found lib 1, also in a.csv:2"),
        Case(name: "endless input (/dev/zero)", files: [:], tables: ["/dev/zero"],
             status: 65, message: "/dev/zero:byte 268435456: expected an input of at most 268435456 bytes, found more"),
        Case(name: "missing table file", files: [:], tables: ["absent.csv"],
             status: 66, message: "absent.csv: no such file or not readable"),
        // Workloads (the tables are the good ones).
        Case(name: "workload names a version no table has", files: ["w9.csv": Array("image,library,version\ni1,lib,1\ni2,lib,9\n".utf8)], tables: ["good.csv"],
             workload: "w9.csv", status: 65, message: "w9.csv:3: expected a version of lib that a table defines (1, 2), found lib 9"),
        Case(name: "workload names a library no table has", files: ["wl.csv": Array("image,library,version\ni1,zstd,1.5\n".utf8)], tables: ["good.csv"],
             workload: "wl.csv", status: 65, message: "wl.csv:2: expected a library that some table defines, found zstd 1.5"),
        Case(name: "empty workload (header only)", files: ["we.csv": Array("image,library,version\n".utf8)], tables: ["good.csv"],
             workload: "we.csv", status: 65, message: "we.csv:2: expected at least one image row, found an empty workload"),
        Case(name: "empty workload file", files: ["we.csv": []], tables: ["good.csv"],
             workload: "we.csv", status: 65, message: "we.csv:1: expected a header image,library,version[,instances][,roots], found an empty file"),
        Case(name: "workload wrong header", files: ["wh.csv": Array("image,lib,version\ni1,lib,1\n".utf8)], tables: ["good.csv"],
             workload: "wh.csv", status: 65, message: "wh.csv:1: expected the header image,library,version[,instances][,roots], found image,lib,version"),
        Case(name: "workload row with a missing field", files: ["wm.csv": Array("image,library,version\ni1,lib\n".utf8)], tables: ["good.csv"],
             workload: "wm.csv", status: 65, message: "wm.csv:2: expected 3 fields, found 2"),
        Case(name: "workload duplicate row", files: ["wd.csv": Array("image,library,version\ni1,lib,1\ni1,lib,1\n".utf8)], tables: ["good.csv"],
             workload: "wd.csv", status: 65, message: "wd.csv:3: expected one version of lib per image, found a second row for image i1"),
        Case(name: "workload instances zero", files: ["wi.csv": Array("image,library,version,instances\ni1,lib,1,0\n".utf8)], tables: ["good.csv"],
             workload: "wi.csv", status: 65, message: "wi.csv:2:4: expected instances, a whole number from 1 to 1000000, found '0'"),
        Case(name: "workload instances overflow 64 bits", files: ["wi.csv": Array("image,library,version,instances\ni1,lib,1,99999999999999999999\n".utf8)],
             tables: ["good.csv"], workload: "wi.csv", status: 65,
             message: "wi.csv:2:4: expected instances, a whole number from 1 to 1000000, found '99999999999999999999'"),
        Case(name: "workload instances disagree", files: ["wi.csv": Array("image,library,version,instances\ni1,lib,1,2\ni1,other,1,3\n".utf8),
                                                        "o.csv": table("other,1,g,10,1,cc\n")],
             tables: ["good.csv", "o.csv"], workload: "wi.csv", status: 65,
             message: "wi.csv:3: expected the same instances for every row of image i1 (2), found 3"),
        Case(name: "image larger than its address zone", files: ["big.csv": table((1...5).map { "big,1,f\($0),268435456,16,b\($0)\n" }.joined()),
                                                             "wb.csv": Array("image,library,version\ni1,big,1\n".utf8)],
             tables: ["big.csv"], workload: "wb.csv", status: 65,
             message: "wb.csv:2: expected the functions of image i1 to fit the 1072693248-byte zone for them, found 1342177280 bytes"),
        Case(name: "missing workload file", files: [:], tables: ["good.csv"], workload: "absent-w.csv",
             status: 66, message: "absent-w.csv: no such file or not readable"),
    ]

    /// Writes the case's files next to the good table and workload; returns the folder.
    static func setUp(_ files: [String: [UInt8]]) throws -> URL {
        let d = try CLI.tempDir()
        try Data(table(rows)).write(to: d.appendingPathComponent("good.csv"))
        try Data(workload.utf8).write(to: d.appendingPathComponent("w.csv"))
        for (name, bytes) in files { try Data(bytes).write(to: d.appendingPathComponent(name)) }
        return d
    }

    @Test(arguments: rejected)
    func rejectedWithMessageAndStatusWritingNothing(_ c: Case) throws {
        let d = try Self.setUp(c.files)
        // A result from an earlier good run must survive the failed run untouched.
        let good = try CLI.run(["compare", "--tables", "good.csv", "--workload", "w.csv", "--no-timings", "--format", "csv", "--csv", "out/r.csv"], cwd: d)
        #expect(good.status == 0)
        let before = try Data(contentsOf: d.appendingPathComponent("out/r.csv"))
        let r = try CLI.run(["compare", "--tables"] + c.tables + ["--workload", c.workload, "--csv", "out/r.csv"], cwd: d)
        #expect(r.status == c.status, "\(c.name): \(r.err)")
        #expect(r.err == "spacer-sim: \(c.message)\n")
        #expect(r.out.isEmpty)
        #expect(try Data(contentsOf: d.appendingPathComponent("out/r.csv")) == before, "\(c.name): the earlier output changed")
        // Nothing else in the output folder: no partial or temporary file.
        #expect(try FileManager.default.contentsOfDirectory(atPath: d.appendingPathComponent("out").path).sorted() == ["r.csv", "r.csv.json"])
        // And with no earlier output, no file at all.
        let fresh = try CLI.run(["compare", "--tables"] + c.tables + ["--workload", c.workload, "--csv", "new/r.csv"], cwd: d)
        #expect(fresh.status == c.status)
        #expect(!FileManager.default.fileExists(atPath: d.appendingPathComponent("new/r.csv").path))
        #expect(!FileManager.default.fileExists(atPath: d.appendingPathComponent("new/r.csv.json").path))
    }

    /// A byte-order mark, CRLF line ends and quoted fields (with commas, doubled quotes and line
    /// breaks inside) are accepted, in tables and workloads, plain or gzip, and give the same
    /// result as the plain spelling.
    @Test func bomCRLFAndQuotesAreAccepted() throws {
        let crlf = Array(("\u{FEFF}" + Self.header + "\r\n" + Self.rows.replacingOccurrences(of: "\n", with: "\r\n")).utf8)
        let quoted = Array((Self.header + "\n" + """
            "lib","1","f1","100","16","aa01"
            lib,1,f2,200,16,aa02
            lib,"2","f1",100,16,aa01
            lib,2,f2,"300",16,"bb02"

            """).utf8)
        // Names with a comma, a quote and a line break: different names, same layout.
        let odd = Array((Self.header + "\n" + "lib,1,\"f,1\",100,16,aa01\nlib,1,\"f\"\"2\",200,16,aa02\nlib,2,\"f,1\",100,16,aa01\nlib,2,\"f\n2\",300,16,bb02\n").utf8)
        let workloadCRLF = Array("\u{FEFF}image,library,version\r\n\"i1\",lib,1\r\ni2,\"lib\",2\r\n".utf8)
        let d = try Self.setUp(["crlf.csv": crlf, "quoted.csv": quoted, "odd.csv": odd, "crlf.csv.gz": Self.gzipped(crlf), "wq.csv": workloadCRLF])
        func metrics(_ t: String, _ w: String = "w.csv") throws -> [String] {
            let r = try CLI.run(["compare", "--tables", t, "--workload", w, "--no-csv", "--no-timings", "--format", "csv"], cwd: d)
            #expect(r.status == 0, "\(t) \(w): \(r.err)")
            // Everything from total_pages on, minus the run-specific tables/workload columns and
            // the input digest (the files' bytes differ on purpose).
            return r.out.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).dropFirst(11).dropLast().joined(separator: ",") }
        }
        let plain = try metrics("good.csv")
        #expect(plain.count == StrategyRegistry.defaultRun.count)
        #expect(plain[0].hasPrefix("2,2,"))  // default: two pages, two frames (see CLIEndToEndTests)
        for t in ["crlf.csv", "quoted.csv", "odd.csv", "crlf.csv.gz"] { #expect(try metrics(t) == plain, "\(t)") }
        #expect(try metrics("good.csv", "wq.csv") == plain)
    }

    /// Gzip through the system gzip tool (the fixture is made the way a user makes one).
    static func gzipped(_ bytes: [UInt8]) -> [UInt8] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["gzip", "-9nc"]
        let input = Pipe(), output = Pipe()
        p.standardInput = input; p.standardOutput = output
        try! p.run()
        input.fileHandleForWriting.write(Data(bytes))
        try! input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Array(out)
    }
}
