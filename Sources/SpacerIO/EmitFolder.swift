import Foundation
import SpacerCore

/// The output policy of a folder of generated files (`place --emit-ld DIR`): the tool may only
/// create DIR, fill an empty DIR, or rewrite a DIR it emitted before, and it never deletes or
/// replaces a file it did not write (issue 11: `--emit-ld .` in a project folder used to leave
/// only the emitted files).
///
/// **Marker.** Every emitted folder holds `markerName` (`.spacer-sim-emit`): a first line
/// `spacer-sim emit 1`, then one line per file the tool wrote there. Only files listed in the
/// marker are ever replaced or removed, and only when they are regular files (never a folder, a
/// symbolic link's target, or anything below DIR).
///
/// **Refused targets** (`SpacerError.cantCreate`, exit 73, with the reason): an empty path; a path whose
/// last component is `.` or `..`; `/`; the current directory or any of its ancestors; a symbolic
/// link; anything that is not a directory; a non-empty directory without the marker (with a
/// special message when it holds `Package.swift` or `.git`: a project folder); a file to be
/// written that exists in DIR but is not listed in the marker, or is not a regular file.
///
/// **Writing.** The whole new set (and its marker) is written into a temporary sibling folder
/// `.<DIR>.emit.tmp-<PID>`. A new or empty DIR is replaced by that folder with one `rename`. A
/// previously emitted DIR gets a marker listing the old and new files first (so a crash leaves
/// every file the tool may have written listed), then each file is renamed into it (each file
/// appears whole), then files of the old marker that the new set no longer has are removed, and
/// the marker is rewritten with the new set. Temporary siblings left by processes that no longer
/// run (kill -9) are removed on the next write into the same parent, when they hold a marker.
public enum EmitFolder {
    /// The name of the marker file inside an emitted folder.
    public static let markerName = ".spacer-sim-emit"
    /// The marker's first line.
    static let markerHeader = "spacer-sim emit 1"

    /// Checks that every file name is one safe path component and that no two collide.
    /// - Parameter source: named in the error (e.g. the workload file).
    /// - Throws: `SpacerError.data` naming `source` and the name: an unsafe name
    ///   (`SafeNames.pathComponentProblem`), or two names equal when case is ignored (`x.o` and
    ///   `X.o` are one file on a case-insensitive file system).
    public static func checkFileNames(_ names: [String], source: String) throws {
        var seen: [String: String] = [:]
        for n in names {
            if let problem = SafeNames.pathComponentProblem(n) {
                throw SpacerError.data(file: source, location: "", expected: "output file names that are safe path components", found: "\(SafeNames.quoted(n)): \(problem)")
            }
            let key = n.lowercased()
            if let other = seen[key] {
                throw SpacerError.data(file: source, location: "", expected: "output file names that differ in more than case",
                                       found: "\(SafeNames.quoted(other)) and \(SafeNames.quoted(n))")
            }
            seen[key] = n
        }
    }

    /// Checks the names of a workload that become path components (image names name the emitted
    /// files; library and version name `--objects-root` folders `<library>-<version>`), and that
    /// no two images map to one file name.
    /// - Parameter file: the workload file, named in errors.
    /// - Throws: `SpacerError.data` naming `file`, the row's line and the name.
    public static func checkWorkloadNames(_ rows: [WorkloadRow], file: String) throws {
        var images: [String: (name: String, source: String)] = [:]
        for r in rows {
            let at = r.source ?? file
            for (what, name) in [("image", r.image), ("library", r.library), ("version", r.version)] {
                if let problem = SafeNames.pathComponentProblem(name) {
                    throw SpacerError.data(file: at, location: "", expected: "\(what == "image" ? "an" : "a") \(what) name that is one safe file name (no '/', '\\', NUL, control characters, leading '.' or '-')",
                                           found: "\(SafeNames.quoted(name)): \(problem)")
                }
            }
            let key = r.image.lowercased()
            if let other = images[key], other.name != r.image {
                throw SpacerError.data(file: at, location: "", expected: "image names that map to distinct files",
                                       found: "\(SafeNames.quoted(r.image)) and \(SafeNames.quoted(other.name)) (\(other.source)) differ only in case")
            }
            images[key] = (r.image, at)
        }
    }

    /// The reason `path` may not be emitted into, or nil when it may (see the type's rules).
    /// Looks only; changes nothing.
    /// - Parameter currentDirectory: the process's working directory (a parameter for tests).
    public static func refusal(_ path: String, currentDirectory: String = FileManager.default.currentDirectoryPath) -> String? {
        if path.isEmpty { return "an empty path (an unset variable?) is refused" }
        let last = (path as NSString).lastPathComponent
        if last.bytesEqual(".") || last.bytesEqual("..") || path.bytesHaveSuffix("/.") || path.bytesHaveSuffix("/..") || path.bytesEqual("..") {
            return "a path ending in '.' or '..' is refused"
        }
        var st = stat()
        let exists = lstat(path, &st) == 0
        if exists {
            if st.st_mode & S_IFMT == S_IFLNK { return "a symbolic link is refused (name the folder itself)" }
            if st.st_mode & S_IFMT != S_IFDIR { return "it is \(InputFile.kind(st.st_mode)), not a directory; refusing to replace it" }
        }
        guard let canonical = canonicalPath(path) else { return "its parent folder cannot be resolved" }
        if canonical.bytesEqual("/") { return "the root directory is refused" }
        if let cwd = canonicalPath(currentDirectory) {
            if canonical.bytesEqual(cwd) { return "the current directory is refused" }
            if cwd.bytesHavePrefix(canonical + "/") { return "an ancestor of the current directory is refused" }
        }
        guard exists else { return nil }
        let entries: [String]
        do { entries = try FileManager.default.contentsOfDirectory(atPath: path) } catch { return "it cannot be listed: \(error.localizedDescription)" }
        if entries.isEmpty { return nil }
        if entries.contains(markerName) {
            if readMarker(path) == nil { return "its \(markerName) marker is not one spacer-sim wrote" }
            return nil
        }
        if entries.contains("Package.swift") || entries.contains(".git") {
            return "it holds \(entries.contains(".git") ? ".git" : "Package.swift") and no \(markerName) marker: a project folder, not one spacer-sim emitted"
        }
        return "it is a non-empty folder without a \(markerName) marker (not emitted by spacer-sim); choose a new or empty folder"
    }

    /// Throws when `path` may not be emitted into (see `refusal`).
    /// - Throws: `SpacerError.cantCreate` naming `path` (shown as `''` when empty) and the reason.
    public static func check(_ path: String, currentDirectory: String = FileManager.default.currentDirectoryPath) throws {
        if let why = refusal(path, currentDirectory: currentDirectory) {
            throw SpacerError.cantCreate(path: path.isEmpty ? "''" : path, reason: "cannot emit here: \(why)")
        }
    }

    /// Writes `files` (name inside the folder, bytes) as the new content of the folder `path`,
    /// under the rules of the type.
    /// - Throws: `SpacerError.data` for unsafe or colliding names (`checkFileNames`, naming
    ///   `source`); `SpacerError.io` naming the path for a refused target or a failed write; a
    ///   failure before the final renames leaves `path` as it was.
    public static func write(_ files: [(String, [UInt8])], to path: String, source: String = "emitted files",
                             currentDirectory: String = FileManager.default.currentDirectoryPath) throws {
        let names = files.map(\.0)
        try checkFileNames(names, source: source)
        if names.contains(markerName) { throw SpacerError.internalInvariant("emit: a file may not be named \(markerName)") }
        try check(path, currentDirectory: currentDirectory)
        let fm = FileManager.default
        let url = URL(fileURLWithPath: path)
        let parent = url.deletingLastPathComponent().path
        let base = url.lastPathComponent
        func fail(_ what: String) -> SpacerError { SpacerError.io(path: path, underlying: what) }
        do { try fm.createDirectory(atPath: parent, withIntermediateDirectories: true) } catch {
            throw fail("cannot create the parent folder: \(error.localizedDescription)")
        }
        cleanStaleTemporaries(parent: parent, base: base)
        // Names the old marker lists; a file to write that exists but is not listed is not ours.
        var oldListed: [String] = []
        var st = stat()
        let exists = lstat(path, &st) == 0
        if exists, let m = readMarker(path) { oldListed = m }
        if exists {
            for n in names {
                let p = path + "/" + n
                guard lstat(p, &st) == 0 else { continue }
                guard oldListed.contains(n) else { throw fail("cannot emit here: \(n) exists and spacer-sim did not write it (not in \(markerName)); refusing to replace it") }
                guard st.st_mode & S_IFMT == S_IFREG else { throw fail("cannot emit here: \(n) is \(InputFile.kind(st.st_mode)), not a file spacer-sim wrote") }
            }
        }
        let tmp = parent + "/." + base + ".emit.tmp-\(getpid())"
        removeTemporary(tmp)
        do {
            try fm.createDirectory(atPath: tmp, withIntermediateDirectories: false)
            try markerText(names).write(toFile: tmp + "/" + markerName, atomically: false, encoding: .utf8)
            for (name, bytes) in files { try Data(bytes).write(to: URL(fileURLWithPath: tmp + "/" + name)) }
        } catch {
            removeTemporary(tmp)
            throw fail("cannot write: \(error.localizedDescription)")
        }
        if !exists || (try? fm.contentsOfDirectory(atPath: path))?.isEmpty == true {
            // rename(2) replaces an empty directory; it fails on a non-empty one (a race: refused).
            guard rename(tmp, path) == 0 else {
                let e = String(cString: strerror(errno))
                removeTemporary(tmp)
                throw fail("cannot move the emitted folder into place: \(e)")
            }
            return
        }
        // A folder emitted before: list old and new, move each file in, drop stale ones.
        do {
            let union = oldListed + names.filter { !oldListed.contains($0) }
            try replaceFile(path + "/" + markerName, with: Data(markerText(union).utf8), tmpDir: tmp)
            for n in names {
                guard rename(tmp + "/" + n, path + "/" + n) == 0 else { throw fail("cannot move \(n) into place: \(String(cString: strerror(errno)))") }
            }
            for n in oldListed where !names.contains(n) && SafeNames.pathComponentProblem(n) == nil && n != markerName {
                let p = path + "/" + n
                if lstat(p, &st) == 0, st.st_mode & S_IFMT == S_IFREG { unlink(p) }
            }
            try replaceFile(path + "/" + markerName, with: Data(markerText(names).utf8), tmpDir: tmp)
        } catch let e as SpacerError {
            removeTemporary(tmp)
            throw e
        } catch {
            removeTemporary(tmp)
            throw fail("cannot write: \(error.localizedDescription)")
        }
        removeTemporary(tmp)
    }

    /// The marker's text for the file names `names`.
    static func markerText(_ names: [String]) -> String {
        ([markerHeader] + names).joined(separator: "\n") + "\n"
    }

    /// The file names the marker of folder `dir` lists, or nil when it has none, it is not a
    /// regular file, or it does not start with the header line. Names that are not safe path
    /// components are dropped (a forged marker cannot point outside the folder).
    public static func readMarker(_ dir: String) -> [String]? {
        let p = dir + "/" + markerName
        var st = stat()
        guard lstat(p, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_size < 1 << 24,
              let text = try? String(contentsOfFile: p, encoding: .utf8) else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard lines.first == markerHeader else { return nil }
        return lines.dropFirst().filter { SafeNames.pathComponentProblem($0) == nil }
    }

    /// Replaces file `path` with `data` through a file in `tmpDir` renamed over it.
    static func replaceFile(_ path: String, with data: Data, tmpDir: String) throws {
        let t = tmpDir + "/.marker.new"
        try data.write(to: URL(fileURLWithPath: t))
        guard rename(t, path) == 0 else { throw SpacerError.io(path: path, underlying: "cannot replace: \(String(cString: strerror(errno)))") }
    }

    /// Removes a temporary folder this tool made: its regular files (direct children only), then
    /// the folder if it is then empty. Anything else inside keeps the folder.
    static func removeTemporary(_ dir: String) {
        var st = stat()
        guard lstat(dir, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else { return }
        for n in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
            let p = dir + "/" + n
            if lstat(p, &st) == 0, st.st_mode & S_IFMT == S_IFREG { unlink(p) }
        }
        rmdir(dir)
    }

    /// Removes `.<base>.emit.tmp-<PID>` folders in `parent` whose process no longer runs and
    /// that hold a marker (so were made by this tool).
    static func cleanStaleTemporaries(parent: String, base: String) {
        let prefix = "." + base + ".emit.tmp-"
        for n in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] where n.bytesHavePrefix(prefix) {
            guard let pid = Int32(String(decoding: n.utf8.dropFirst(prefix.utf8.count), as: UTF8.self)), pid > 0, pid != getpid() else { continue }
            if kill(pid, 0) == 0 || errno == EPERM { continue }   // still running
            let dir = parent + "/" + n
            var st = stat()
            guard lstat(dir + "/" + markerName, &st) == 0 else { continue }
            removeTemporary(dir)
        }
    }

    /// The absolute path of `path` with symbolic links resolved; for a path that does not exist
    /// yet, its deepest existing ancestor resolved and the rest appended. Nil when nothing of it
    /// resolves.
    static func canonicalPath(_ path: String) -> String? {
        let abs = path.utf8.first == UInt8(ascii: "/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var rest: [String] = []
        var p = abs
        while true {
            if let r = realpath(p, nil) {
                defer { free(r) }
                var out = String(cString: r)
                for c in rest.reversed() {
                    if c.bytesEqual(".") || c.isEmpty { continue }
                    if c.bytesEqual("..") { out = (out as NSString).deletingLastPathComponent; continue }
                    out += (out.utf8.last == UInt8(ascii: "/") ? "" : "/") + c
                }
                return out
            }
            let ns = p as NSString
            if ns.length <= 1 { return nil }
            rest.append(ns.lastPathComponent)
            p = ns.deletingLastPathComponent
            if p.isEmpty { return nil }
        }
    }
}

/// Path comparisons by UTF-8 bytes, as the kernel compares paths. `String`'s `==` and
/// `hasPrefix` compare grapheme clusters under canonical equivalence: `"out/\u{5BA}x"` does not
/// have the prefix `"out/"` (the slash and the combining mark are one character), and `"é"` in
/// two spellings is one string but two file names. Fuzzing `fuzz-emit` found the first.
extension String {
    func bytesEqual(_ other: String) -> Bool { utf8.elementsEqual(other.utf8) }
    func bytesHavePrefix(_ p: String) -> Bool { utf8.starts(with: p.utf8) }
    func bytesHaveSuffix(_ p: String) -> Bool { utf8.count >= p.utf8.count && utf8.suffix(p.utf8.count).elementsEqual(p.utf8) }
}
