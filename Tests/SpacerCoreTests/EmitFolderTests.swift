import Foundation
import Testing
import SpacerCore
@testable import SpacerIO

/// The emitted-folder policy (issue 11 item 1): which targets are refused, that only files the
/// tool wrote are replaced or removed, and that temporaries of dead runs are cleaned.
@Suite struct EmitFolderTests {
    static func scratch() throws -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("emit-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return (d as NSString).resolvingSymlinksInPath
    }
    static func write(_ path: String, _ text: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
    }
    static func files(_ names: [String], tag: String = "1") -> [(String, [UInt8])] { names.map { ($0, Array("\($0) \(tag)\n".utf8)) } }
    static func ls(_ dir: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }

    @Test func refusedTargets() throws {
        let d = try Self.scratch()
        let cwd = d + "/project/sub"
        try FileManager.default.createDirectory(atPath: cwd, withIntermediateDirectories: true)
        try Self.write(d + "/file", "x")
        try Self.write(d + "/proj/Package.swift", "// swift-tools-version:6.0")
        try FileManager.default.createDirectory(atPath: d + "/repo/.git", withIntermediateDirectories: true)
        try Self.write(d + "/full/notes.txt", "mine")
        try FileManager.default.createSymbolicLink(atPath: d + "/link", withDestinationPath: d + "/proj")
        try Self.write(d + "/forged/.spacer-sim-emit", "not a marker\n")
        let cases: [(String, String)] = [
            ("", "an empty path (an unset variable?) is refused"),
            (".", "a path ending in '.' or '..' is refused"),
            ("..", "a path ending in '.' or '..' is refused"),
            (d + "/x/..", "a path ending in '.' or '..' is refused"),
            ("/", "the root directory is refused"),
            (cwd, "the current directory is refused"),
            (cwd + "/", "the current directory is refused"),
            (cwd + "/../sub", "the current directory is refused"),
            (d + "/project", "an ancestor of the current directory is refused"),
            (d, "an ancestor of the current directory is refused"),
            (d + "/file", "it is a regular file, not a directory; refusing to replace it"),
            ("/dev/null", "it is a character device, not a directory; refusing to replace it"),
            (d + "/link", "a symbolic link is refused (name the folder itself)"),
            (d + "/proj", "it holds Package.swift and no .spacer-sim-emit marker: a project folder, not one spacer-sim emitted"),
            (d + "/repo", "it holds .git and no .spacer-sim-emit marker: a project folder, not one spacer-sim emitted"),
            (d + "/full", "it is a non-empty folder without a .spacer-sim-emit marker (not emitted by spacer-sim); choose a new or empty folder"),
            (d + "/forged", "its .spacer-sim-emit marker is not one spacer-sim wrote"),
        ]
        for (path, why) in cases {
            #expect(EmitFolder.refusal(path, currentDirectory: cwd) == why, "\(path)")
            #expect(throws: SpacerError.cantCreate(path: path.isEmpty ? "''" : path, reason: "cannot emit here: \(why)")) {
                try EmitFolder.write(Self.files(["a.o"]), to: path, currentDirectory: cwd)
            }
        }
        // Nothing was changed by any refusal.
        #expect(Self.ls(d + "/full") == ["notes.txt"])
        #expect(Self.ls(d + "/proj") == ["Package.swift"])
        #expect(try String(contentsOfFile: d + "/file", encoding: .utf8) == "x")
        // Allowed: a new path (parents created), an empty folder.
        #expect(EmitFolder.refusal(d + "/new/deep/out", currentDirectory: cwd) == nil)
        try FileManager.default.createDirectory(atPath: d + "/empty", withIntermediateDirectories: true)
        #expect(EmitFolder.refusal(d + "/empty", currentDirectory: cwd) == nil)
    }

    @Test func writesNewAndEmptyFoldersWithAMarker() throws {
        let d = try Self.scratch()
        try EmitFolder.write(Self.files(["a.o", "a.ld"]), to: d + "/new/out", currentDirectory: d + "/new")
        #expect(Self.ls(d + "/new/out") == [".spacer-sim-emit", "a.ld", "a.o"])
        #expect(try String(contentsOfFile: d + "/new/out/.spacer-sim-emit", encoding: .utf8) == "spacer-sim emit 1\na.o\na.ld\n")
        #expect(try String(contentsOfFile: d + "/new/out/a.o", encoding: .utf8) == "a.o 1\n")
        try FileManager.default.createDirectory(atPath: d + "/empty", withIntermediateDirectories: true)
        try EmitFolder.write(Self.files(["b.o"]), to: d + "/empty", currentDirectory: "/")
        #expect(Self.ls(d + "/empty") == [".spacer-sim-emit", "b.o"])
        #expect(Self.ls(d).sorted() == ["empty", "new"])   // no temporary left
        #expect(Self.ls(d + "/new") == ["out"])
    }

    /// Rewriting an emitted folder: its own files replaced, stale own files removed, anything
    /// else (a user's notes, a subfolder) kept; a file of the new set that exists but is not
    /// listed in the marker is refused.
    @Test func rewritesOnlyItsOwnFiles() throws {
        let d = try Self.scratch()
        let out = d + "/out"
        try EmitFolder.write(Self.files(["a.o", "a.ld", "b.o"]), to: out, currentDirectory: d)
        try Self.write(out + "/notes.txt", "mine")
        try Self.write(out + "/sub/keep", "mine too")
        try EmitFolder.write(Self.files(["a.o", "a.ld", "c.o"], tag: "2"), to: out, currentDirectory: d)
        #expect(Self.ls(out) == [".spacer-sim-emit", "a.ld", "a.o", "c.o", "notes.txt", "sub"])
        #expect(try String(contentsOfFile: out + "/a.o", encoding: .utf8) == "a.o 2\n")
        #expect(try String(contentsOfFile: out + "/notes.txt", encoding: .utf8) == "mine")
        #expect(try String(contentsOfFile: out + "/sub/keep", encoding: .utf8) == "mine too")
        #expect(try String(contentsOfFile: out + "/.spacer-sim-emit", encoding: .utf8) == "spacer-sim emit 1\na.o\na.ld\nc.o\n")
        // notes.txt is not the tool's: a new set that would write it is refused, nothing changes.
        #expect(throws: SpacerError.io(path: out, underlying: "cannot emit here: notes.txt exists and spacer-sim did not write it (not in .spacer-sim-emit); refusing to replace it")) {
            try EmitFolder.write(Self.files(["a.o", "notes.txt"], tag: "3"), to: out, currentDirectory: d)
        }
        #expect(try String(contentsOfFile: out + "/a.o", encoding: .utf8) == "a.o 2\n")
        // A listed name that is now a folder is not a file the tool wrote: refused, kept.
        try FileManager.default.removeItem(atPath: out + "/c.o")
        try FileManager.default.createDirectory(atPath: out + "/c.o", withIntermediateDirectories: false)
        #expect(throws: SpacerError.io(path: out, underlying: "cannot emit here: c.o is a directory, not a file spacer-sim wrote")) {
            try EmitFolder.write(Self.files(["c.o"]), to: out, currentDirectory: d)
        }
        #expect(Self.ls(d) == ["out"])
    }

    /// A forged marker can list only safe names: it cannot make the tool delete outside the folder.
    @Test func aForgedMarkerCannotReachOutside() throws {
        let d = try Self.scratch()
        try Self.write(d + "/victim", "keep")
        try Self.write(d + "/out/.spacer-sim-emit", "spacer-sim emit 1\n../victim\n/etc/passwd\n.hidden\nold.o\n")
        try Self.write(d + "/out/old.o", "old")
        #expect(EmitFolder.readMarker(d + "/out") == ["old.o"])
        try EmitFolder.write(Self.files(["new.o"]), to: d + "/out", currentDirectory: d)
        #expect(try String(contentsOfFile: d + "/victim", encoding: .utf8) == "keep")
        #expect(Self.ls(d + "/out") == [".spacer-sim-emit", "new.o"])
    }

    @Test func staleTemporariesOfDeadRunsAreRemoved() throws {
        let d = try Self.scratch()
        // A process that has exited: its PID names a dead run.
        let p = Process(); p.executableURL = URL(fileURLWithPath: "/bin/true"); try p.run(); p.waitUntilExit()
        let dead = p.processIdentifier
        try Self.write(d + "/.out.emit.tmp-\(dead)/.spacer-sim-emit", "spacer-sim emit 1\na.o\n")
        try Self.write(d + "/.out.emit.tmp-\(dead)/a.o", "half")
        // Not ours (no marker), or of a live process (this one's parent): kept.
        try Self.write(d + "/.out.emit.tmp-\(dead + 1_000_000)/x", "not ours")
        try Self.write(d + "/.out.emit.tmp-\(getppid())/.spacer-sim-emit", "spacer-sim emit 1\n")
        try EmitFolder.write(Self.files(["a.o"]), to: d + "/out", currentDirectory: d)
        #expect(Self.ls(d) == [".out.emit.tmp-\(dead + 1_000_000)", ".out.emit.tmp-\(getppid())", "out"])
    }

    /// Found by fuzz-emit (its scratch check missed "out/\u{5BA}…" as under "out/"): path and
    /// name checks compare bytes, not Characters, where a slash or a dot followed by a combining
    /// mark is one Character.
    @Test func combiningMarksDoNotHidePrefixes() throws {
        #expect(SafeNames.pathComponentProblem(".\u{301}x") == "a name starting with '.'")
        #expect(SafeNames.pathComponentProblem("-\u{301}x") == "a name starting with '-'")
        #expect(SafeNames.pathComponentProblem("\u{5BA}x") == nil)
        let d = try Self.scratch()
        // An ancestor of the working directory that holds a marker: still refused.
        let cwd = d + "/\u{5BA}proj"
        try FileManager.default.createDirectory(atPath: cwd, withIntermediateDirectories: true)
        try Self.write(d + "/.spacer-sim-emit", "spacer-sim emit 1\n")
        #expect(EmitFolder.refusal(d, currentDirectory: cwd) == "an ancestor of the current directory is refused")
        #expect(EmitFolder.refusal(d + "/\u{5BA}proj", currentDirectory: cwd) == "the current directory is refused")
        // "\u{600}/." ends in "/." by bytes (U+0600 joins the slash into one Character).
        #expect(EmitFolder.refusal("x\u{600}/.", currentDirectory: cwd) == "a path ending in '.' or '..' is refused")
        // The fuzz input's file names: written inside the folder, nothing beside it changes.
        let names = ["\u{5BA}\u{FFFD}~ERN(xN(x.o", "\u{5BA}\u{FFFD}~ERN(xN(x.ld", "img.o"]
        try EmitFolder.write(Self.files(names), to: d + "/out", currentDirectory: cwd)
        #expect(Self.ls(d + "/out") == ([".spacer-sim-emit"] + names).sorted())
        #expect(Self.ls(d) == [".spacer-sim-emit", "out", "\u{5BA}proj"].sorted())
        // A stale temporary whose base name starts with a combining mark is found and removed.
        let p = Process(); p.executableURL = URL(fileURLWithPath: "/bin/true"); try p.run(); p.waitUntilExit()
        try Self.write(d + "/.\u{5BA}o.emit.tmp-\(p.processIdentifier)/.spacer-sim-emit", "spacer-sim emit 1\n")
        try EmitFolder.write(Self.files(["a.o"]), to: d + "/\u{5BA}o", currentDirectory: cwd)
        #expect(!Self.ls(d).contains(".\u{5BA}o.emit.tmp-\(p.processIdentifier)"))
    }

    @Test func fileAndWorkloadNames() throws {
        #expect(throws: SpacerError.data(file: "w.csv", location: "", expected: "output file names that differ in more than case", found: "'x.o' and 'X.o'")) {
            try EmitFolder.checkFileNames(["x.o", "X.o"], source: "w.csv")
        }
        #expect(throws: SpacerError.data(file: "w.csv", location: "", expected: "output file names that are safe path components", found: "'../x.o': a name starting with '.'")) {
            try EmitFolder.checkFileNames(["../x.o"], source: "w.csv")
        }
        let expected = "an image name that is one safe file name (no '/', '\\', NUL, control characters, leading '.' or '-')"
        for (name, problem) in [("../../../../victim/lib", "a name starting with '.'"), ("./x", "a name starting with '.'"), ("a/b", "a name holding '/'"),
                                ("", "an empty name"), ("x\u{0}y", "a name holding the control character U+0"), ("x\ny", "a name holding the control character U+A"),
                                (String(repeating: "a", count: 201), "a name of 201 bytes (at most 200)"), ("-o", "a name starting with '-'")] {
            #expect(throws: SpacerError.data(file: "w.csv:2", location: "", expected: expected, found: "\(SafeNames.quoted(name)): \(problem)")) {
                try EmitFolder.checkWorkloadNames([WorkloadRow(image: name, library: "zlib", version: "1.3.1", source: "w.csv:2")], file: "w.csv")
            }
        }
        #expect(throws: SpacerError.data(file: "w.csv:3", location: "", expected: "a version name that is one safe file name (no '/', '\\', NUL, control characters, leading '.' or '-')",
                                         found: "'../1': a name starting with '.'")) {
            try EmitFolder.checkWorkloadNames([WorkloadRow(image: "a", library: "zlib", version: "1", source: "w.csv:2"),
                                               WorkloadRow(image: "b", library: "zlib", version: "../1", source: "w.csv:3")], file: "w.csv")
        }
        #expect(throws: SpacerError.data(file: "w.csv:3", location: "", expected: "image names that map to distinct files", found: "'X' and 'x' (w.csv:2) differ only in case")) {
            try EmitFolder.checkWorkloadNames([WorkloadRow(image: "x", library: "zlib", version: "1", source: "w.csv:2"),
                                               WorkloadRow(image: "X", library: "zlib", version: "2", source: "w.csv:3")], file: "w.csv")
        }
        // One image over several rows is fine.
        try EmitFolder.checkWorkloadNames([WorkloadRow(image: "x", library: "zlib", version: "1"), WorkloadRow(image: "x", library: "lua", version: "5.4")], file: "w.csv")
    }
}
