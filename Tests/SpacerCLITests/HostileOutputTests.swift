import Foundation
import Testing
import SpacerCore
import SpacerIO

/// Issue 11, the output side: an output path that is not a regular file is refused (73) and left
/// as it was; a failed write to standard output exits 74; numeric options outside their ranges
/// are usage errors (64) before any work; temporaries of dead runs are cleaned; a dry run and a
/// failed run write nothing.
@Suite(.serialized) struct HostileOutputTests {
    let table = "library,version,name,size,align,hash\nlib,1,f1,100,16,aa01\nlib,2,f1,100,16,aa01\n"
    let workload = "image,library,version\ni1,lib,1\ni2,lib,2\n"

    func inputs() throws -> URL { try CLI.inputs(table: table, workload: workload) }

    /// lstat's file type bits of `path`.
    func kind(_ path: String) -> mode_t {
        var st = stat()
        return lstat(path, &st) == 0 ? st.st_mode & S_IFMT : 0
    }

    /// A symlink, a FIFO, a character device node and a folder as `-o`, `--csv`, sweep's and
    /// merge's `-o`: exit 73 naming the path and what it is; the node is still what it was and
    /// the symlink's target unchanged.
    @Test func specialFilesAreNeverReplaced() throws {
        let d = try inputs()
        let target = d.appendingPathComponent("target.txt")
        try "keep\n".write(to: target, atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: d.appendingPathComponent("link.csv").path, withDestinationPath: target.path)
        #expect(mkfifo(d.appendingPathComponent("fifo.csv").path, 0o644) == 0)
        let dev = d.appendingPathComponent("null.csv").path
        let haveDevice = mknod(dev, S_IFCHR | 0o666, dev_t((1 << 8) | 3)) == 0  // as root: a node like /dev/null (major 1, minor 3)
        try FileManager.default.createDirectory(at: d.appendingPathComponent("dir.csv"), withIntermediateDirectories: false)
        var names = ["link.csv": "a symbolic link", "fifo.csv": "a FIFO", "dir.csv": "a folder"]
        if haveDevice { names["null.csv"] = "a device node" }
        let compare = ["compare", "--tables", "t.csv", "--workload", "w.csv", "--strategies", "default"]
        for (name, what) in names {
            let before = kind(d.appendingPathComponent(name).path)
            for args in [compare + ["-o", name], compare + ["--csv", name], ["sweep", "--presets", "small", "--versions", "2", "--strategies", "default", "-o", name],
                         ["generate", "--preset", "small", "-o", String(name.dropLast(4))] ] where !(args[0] == "generate" && name != "dir.csv") {
                let r = try CLI.run(args, cwd: d)
                if args[0] == "generate" {
                    // generate's -o is a prefix: `dir` + .tables.csv is a new file, allowed.
                    #expect(r.status == 0, "\(args): \(r.err)")
                    continue
                }
                #expect(r.status == 73 && r.err.contains(name) && r.err.contains(what), "\(args): \(r.status) \(r.err)")
                #expect(kind(d.appendingPathComponent(name).path) == before, "\(args) changed \(name)")
            }
        }
        #expect(try String(contentsOf: target, encoding: .utf8) == "keep\n")
        if !haveDevice { print("HostileOutputTests: SKIPPED the device-node case: mknod needs root") }
    }

    /// `> /dev/full`: every command that writes to standard output exits 74 with a message.
    @Test func fullStandardOutputIsAnError() throws {
        let d = try inputs()
        var commands = [["compare", "--tables", "t.csv", "--workload", "w.csv", "--strategies", "default", "--format", "csv", "--no-csv"],
                        ["strategies"], ["place", "--tables", "t.csv", "--workload", "w.csv", "--strategy", "default"],
                        ["generate", "--preset", "small", "-o", "g/small", "--format", "csv"]]
        // extract (it crashed on `try!` before) and measure, on an object and executable gcc makes.
        try "int a(int x){return x+1;}\nint main(void){return a(1);}\n".write(to: d.appendingPathComponent("m.c"), atomically: true, encoding: .utf8)
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: "/bin/sh")
        cc.arguments = ["-c", "gcc -O2 -ffunction-sections -c m.c -o m.o && gcc -static -o m.elf m.o"]
        cc.currentDirectoryURL = d
        try cc.run(); cc.waitUntilExit()
        if cc.terminationStatus == 0 {
            commands += [["extract", "--library", "m", "--library-version", "1", "m.o"], ["measure", "m.elf"]]
        } else {
            print("HostileOutputTests: SKIPPED extract and measure to /dev/full: gcc could not build the objects")
        }
        for args in commands {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CLI.binary)
            p.arguments = args
            p.currentDirectoryURL = d
            p.standardOutput = FileHandle(forWritingAtPath: "/dev/full")
            let e = Pipe()
            p.standardError = e
            try p.run()
            let err = String(decoding: e.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(p.terminationStatus == 74 && err.contains("standard output"), "\(args): \(p.terminationStatus) \(err)")
        }
    }

    /// Numeric options outside their documented ranges exit 64 at once (no allocation, no trap).
    @Test func numericOptionsAreCheckedAtParseTime() throws {
        let d = try inputs()
        let cases: [[String]] = [
            ["sweep", "--presets", "small", "--instances", "4611686018427387904"],
            ["sweep", "--presets", "small", "--seeds", "0..100000000"],
            ["sweep", "--presets", "small", "--page-sizes", "2147483648"],
            ["sweep", "--presets", "small", "--max-page-sharing", "9223372036854775807"],
            ["sweep", "--presets", "small", "--time-limit", "inf"],
            ["sweep", "--presets", "small", "--change-rates", "1.1"],
            ["generate", "--size-mu", "710"],
            ["generate", "--libraries", "0"],
            ["generate", "--change-rate", "1.1"],
            ["generate", "--instances", "4611686018427387904"],
            ["generate", "--insert-rate", "1"],
            ["generate", "--preset", "small", "-o", "out/"],
            ["measure", "--page-size", "2147483648", "t.csv"],
            ["compare", "--jobs", "0"],
        ]
        for args in cases {
            let start = Date()
            let r = try CLI.run(args, cwd: d)
            #expect(r.status == 64, "\(args): \(r.status) \(r.err)")
            #expect(Date().timeIntervalSince(start) < 20, "\(args) took long: it must refuse before working")
        }
        #expect(!FileManager.default.fileExists(atPath: d.appendingPathComponent("out").path))
        // The guard names the way out.
        let g = try CLI.run(["generate", "--insert-rate", "1", "--dry-run"], cwd: d)
        #expect(g.status == 0 && g.out.contains("generator steps"), "\(g.err)")
    }

    /// A temporary of a dead run beside an output is removed by the next write; a dry run and a
    /// run that fails on bad input leave no file at all.
    @Test func staleTemporariesAndEmptyRuns() throws {
        let d = try inputs()
        let stale = d.appendingPathComponent(".r.csv.tmp-999999")
        try "half a row".write(to: stale, atomically: true, encoding: .utf8)
        let r = try CLI.run(["compare", "--tables", "t.csv", "--workload", "w.csv", "--strategies", "default", "-o", "r.csv"], cwd: d)
        #expect(r.status == 0, "\(r.err)")
        #expect(!FileManager.default.fileExists(atPath: stale.path))
        let dry = try CLI.run(["sweep", "--presets", "small", "--versions", "2", "--strategies", "default", "-o", "dry.csv", "--dry-run"], cwd: d)
        #expect(dry.status == 0)
        #expect(!FileManager.default.fileExists(atPath: d.appendingPathComponent("dry.csv").path))
        try "library,version,name,size,align,hash\nlib,1,f1,-1,16,aa01\n".write(to: d.appendingPathComponent("bad.csv"), atomically: true, encoding: .utf8)
        let bad = try CLI.run(["sweep", "--tables", "bad.csv", "--workload", "w.csv", "--strategies", "default", "-o", "bad-out.csv"], cwd: d)
        #expect(bad.status == 65)
        #expect(!FileManager.default.fileExists(atPath: d.appendingPathComponent("bad-out.csv").path))
        #expect(!FileManager.default.fileExists(atPath: d.appendingPathComponent("bad-out.csv.json").path))
    }
}
