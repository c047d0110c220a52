import Foundation
import Testing
import SpacerCore

/// `spacer-sim place --emit-ld` against hostile output paths, names and symbols (issue 11 items
/// 1 and 2), as a process in a scratch project folder. Around every case a snapshot of the
/// whole folder (a sentinel tree: Package.swift, .git, datasets, a symbolic link, nested files)
/// proves that nothing outside the output folder was created, changed or deleted.
enum PlaceToolchain {
    static let gcc: String? = ["/usr/bin/gcc", "/usr/local/bin/gcc"].first { FileManager.default.isExecutableFile(atPath: $0) }
}

@Suite(.serialized, .enabled(if: PlaceToolchain.gcc != nil, "needs gcc on PATH (the library object is compiled at test time)"))
struct HostilePlaceTests {
    static let gcc = PlaceToolchain.gcc
    static let evil = "puts)INPUT(evil.o)EXTERN(x"

    /// Every entry below `root` (relative path → kind and content), skipping `skip` (relative).
    static func snapshot(_ root: String, skip: String? = nil) -> [String: String] {
        var out: [String: String] = [:]
        func walk(_ rel: String) {
            let p = rel.isEmpty ? root : root + "/" + rel
            var st = stat()
            guard lstat(p, &st) == 0 else { return }
            if let skip, rel == skip || rel.hasPrefix(skip + "/") { return }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                out[rel] = "dir \(st.st_mode & 0o7777)"
                for n in ((try? FileManager.default.contentsOfDirectory(atPath: p)) ?? []).sorted() { walk(rel.isEmpty ? n : rel + "/" + n) }
            case S_IFLNK:
                out[rel] = "link " + ((try? FileManager.default.destinationOfSymbolicLink(atPath: p)) ?? "?")
            default:
                let data = FileManager.default.contents(atPath: p) ?? Data()
                out[rel] = "file \(st.st_mode & 0o7777) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec) " + data.base64EncodedString()
            }
        }
        walk("")
        return out
    }

    /// A scratch project: sources, datasets, a library object, workloads, tables, sentinels.
    static func setUp() throws -> String {
        let d = try CLI.tempDir().path
        func put(_ rel: String, _ text: String) throws {
            try FileManager.default.createDirectory(atPath: ((d + "/" + rel) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: d + "/" + rel, atomically: false, encoding: .utf8)
        }
        try put("Package.swift", "// swift-tools-version:6.0\n")
        try put(".git/HEAD", "ref: refs/heads/main\n")
        try put("datasets/keep.csv", "precious\n")
        try put("sentinel/file.txt", "sentinel\n")
        try put("sentinel/deep/er/file", "deep\n")
        try put("proj/Package.swift", "// another project\n")
        try put("victim/lib.o", "victim object\n")
        try FileManager.default.createSymbolicLink(atPath: d + "/link", withDestinationPath: "sentinel")
        try put("lib.c", "int helper(int x) { return x * 3; }\nint api(int x) { return helper(x) + 1; }\n")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: gcc!)
        p.arguments = ["-O2", "-ffunction-sections", "-fdata-sections", "-fno-pic", "-c", "lib.c", "-o", "lib.o"]
        p.currentDirectoryURL = URL(fileURLWithPath: d)
        try p.run(); p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        try put("w.csv", "image,library,version\nimg,L,1\n")
        try put("w-other.csv", "image,library,version\nother,L,1\n")
        try put("w-traversal.csv", "image,library,version\n../../../../victim/lib,L,1\n")
        try put("w-dot.csv", "image,library,version\nx,L,1\n./x,L,1\n")
        try put("w-case.csv", "image,library,version\nx,L,1\nX,L,1\n")
        try put("w-version.csv", "image,library,version\nimg,L,../1\n")
        try put("inject.csv", "library,version,kind,name,object,size,align,hash,relocs\nL,1,func,f,inject.o,6,16,ab,1:plt32:\(evil):-4\n")
        return d
    }

    static func place(_ emit: String, workload: String = "w.csv", extra: [String] = ["--objects", "L@1=lib.o"], in d: String) throws -> CLI.Result {
        try CLI.run(["place", "--strategy", "default", "--workload", workload] + extra + ["--emit-ld", emit], cwd: URL(fileURLWithPath: d))
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var emit: String
        var workload = "w.csv"
        var extra = ["--objects", "L@1=lib.o"]
        var status: Int32
        var message: String
        var testDescription: String { name }
    }

    static let refused: [Case] = [
        Case(name: "empty path (unset variable)", emit: "", status: 73, message: "'': cannot emit here: an empty path (an unset variable?) is refused"),
        Case(name: "current directory", emit: ".", status: 73, message: ".: cannot emit here: a path ending in '.' or '..' is refused"),
        Case(name: "current directory, slash", emit: "./", status: 73, message: "./: cannot emit here: a path ending in '.' or '..' is refused"),
        Case(name: "parent directory", emit: "..", status: 73, message: "..: cannot emit here: a path ending in '.' or '..' is refused"),
        Case(name: "root", emit: "/", status: 73, message: "/: cannot emit here: the root directory is refused"),
        Case(name: "an ancestor by name", emit: "/tmp", status: 73, message: "/tmp: cannot emit here: an ancestor of the current directory is refused"),
        Case(name: "a regular file", emit: "sentinel/file.txt", status: 73, message: "sentinel/file.txt: cannot emit here: it is a regular file, not a directory; refusing to replace it"),
        Case(name: "a device", emit: "/dev/null", status: 73, message: "/dev/null: cannot emit here: it is a character device, not a directory; refusing to replace it"),
        Case(name: "a folder not emitted", emit: "sentinel", status: 73,
             message: "sentinel: cannot emit here: it is a non-empty folder without a .spacer-sim-emit marker (not emitted by spacer-sim); choose a new or empty folder"),
        Case(name: "a folder with datasets", emit: "datasets", status: 73,
             message: "datasets: cannot emit here: it is a non-empty folder without a .spacer-sim-emit marker (not emitted by spacer-sim); choose a new or empty folder"),
        Case(name: "a symbolic link", emit: "link", status: 73, message: "link: cannot emit here: a symbolic link is refused (name the folder itself)"),
        Case(name: "a project folder", emit: "proj", status: 73,
             message: "proj: cannot emit here: it holds Package.swift and no .spacer-sim-emit marker: a project folder, not one spacer-sim emitted"),
        Case(name: "image name traversal", emit: "out/x", workload: "w-traversal.csv", status: 65,
             message: "w-traversal.csv:2: expected an image name that is one safe file name (no '/', '\\', NUL, control characters, leading '.' or '-'), found '../../../../victim/lib': a name starting with '.'"),
        Case(name: "images x and ./x", emit: "out/x", workload: "w-dot.csv", status: 65,
             message: "w-dot.csv:3: expected an image name that is one safe file name (no '/', '\\', NUL, control characters, leading '.' or '-'), found './x': a name starting with '.'"),
        Case(name: "images x and X", emit: "out/x", workload: "w-case.csv", status: 65,
             message: "w-case.csv:3: expected image names that map to distinct files, found 'X' and 'x' (w-case.csv:2) differ only in case"),
        Case(name: "version traversal (objects-root folder name)", emit: "out/x", workload: "w-version.csv", extra: ["--objects-root", "."], status: 65,
             message: "w-version.csv:2: expected a version name that is one safe file name (no '/', '\\', NUL, control characters, leading '.' or '-'), found '../1': a name starting with '.'"),
        Case(name: "linker-script injection in a table row", emit: "out/x", extra: ["--tables", "inject.csv"], status: 65,
             message: "L@1 inject.o: expected an external symbol that is a symbol name a GNU ld script can hold ([A-Za-z_.$][A-Za-z0-9_.$]*), found '\(evil)', referenced by f"),
    ]

    @Test(arguments: refused)
    func refusedChangingNothing(_ c: Case) throws {
        let d = try Self.setUp()
        let before = Self.snapshot(d)
        let r = try Self.place(c.emit, workload: c.workload, extra: c.extra, in: d)
        #expect(r.status == c.status, "\(c.name): \(r.err)")
        #expect(r.err == "spacer-sim: \(c.message)\n")
        #expect(Self.snapshot(d) == before, "\(c.name): the folder changed")
        #expect(!FileManager.default.fileExists(atPath: d + "/out"))
    }

    /// The good path: a new folder is created with the emitted set and its marker; a rerun
    /// replaces the tool's own files, keeps a user's file, removes the tool's stale files; and
    /// nothing outside the output folder changes at any step.
    @Test func emitsRewritesAndKeepsForeignFiles() throws {
        let d = try Self.setUp()
        let outside = Self.snapshot(d)
        let r = try Self.place("out/x", in: d)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.contains("place: wrote 1 linker scripts and image objects to out/x"))
        let emitted = [".spacer-sim-emit", "images.csv", "img.ld", "img.map", "img.o", "ldflags", "predicted.csv"]
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: d + "/out/x")) ?? []).sorted() == emitted)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: d + "/out")) ?? []) == ["x"])   // no temporary left
        #expect(try String(contentsOfFile: d + "/out/x/.spacer-sim-emit", encoding: .utf8)
                == "spacer-sim emit 1\nimg.o\nimg.ld\nimg.map\nimages.csv\npredicted.csv\nldflags\n")
        #expect(Self.snapshot(d, skip: "out") == outside)
        // A user's file in the emitted folder survives a rerun; a different image set drops the
        // tool's old image files.
        try "mine\n".write(toFile: d + "/out/x/NOTES", atomically: false, encoding: .utf8)
        let again = try Self.place("out/x", workload: "w-other.csv", in: d)
        #expect(again.status == 0, "\(again.err)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: d + "/out/x")) ?? []).sorted()
                == [".spacer-sim-emit", "NOTES", "images.csv", "ldflags", "other.ld", "other.map", "other.o", "predicted.csv"])
        #expect(try String(contentsOfFile: d + "/out/x/NOTES", encoding: .utf8) == "mine\n")
        #expect(Self.snapshot(d, skip: "out") == outside)
        // An empty existing folder is fine too.
        try FileManager.default.createDirectory(atPath: d + "/out/empty", withIntermediateDirectories: false)
        #expect(try Self.place("out/empty", in: d).status == 0)
        #expect(FileManager.default.fileExists(atPath: d + "/out/empty/img.o"))
        #expect(Self.snapshot(d, skip: "out") == outside)
    }
}
