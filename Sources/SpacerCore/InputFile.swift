#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading one whole input file safely: regular files only (checked before `open`, so a FIFO
/// or a device never blocks or streams forever), at most `maxInputBytes`.
///
/// Every reader of a binary or text input (ELF objects and archives, linked executables, CSV)
/// goes through this limit, so that a hostile or mistaken input (`/dev/zero`, an 8 GiB file, a
/// FIFO) gives an error instead of a hang or an allocation failure.
public enum InputFile {
    /// The most bytes an input file may hold, before and after gzip decompression: 256 MiB (the
    /// largest real input, a SQLite object, is under 10 MiB; its table under 2 MiB).
    public static let maxInputBytes = 1 << 28

    /// The bytes of the regular file `path`.
    /// - Parameter limit: the most bytes accepted (default `maxInputBytes`).
    /// - Throws: `SpacerError.noInput` when `path` does not exist, is not readable, or is not a
    ///   regular file (a folder, FIFO, socket or device: checked with `stat` before `open`, and
    ///   again on the open descriptor, which is opened non-blocking);
    ///   `.data` at `byte <limit>` for a file larger than `limit`; `.io` for a failed read.
    public static func read(_ path: String, limit: Int = maxInputBytes) throws -> [UInt8] {
        let (fd, size) = try openRegular(path, limit: limit)
        defer { close(fd) }
        var failed = false
        // One byte more than the size, to notice a file that grew while it was read.
        let bytes = [UInt8](unsafeUninitializedCapacity: size + 1) { buf, n in
            var done = 0
            while done < size + 1 {
                let r = sysRead(fd, buf.baseAddress! + done, size + 1 - done)
                if r < 0 && errno == EINTR { continue }
                if r <= 0 { failed = r < 0; break }
                done += r
            }
            n = done
        }
        if failed { throw SpacerError.io(path: path, underlying: "cannot read: \(String(cString: strerror(errno)))") }
        guard bytes.count == size else {
            throw SpacerError.io(path: path, underlying: "the file changed size while it was read (\(size) bytes, then \(bytes.count))")
        }
        return bytes
    }

    /// Opens the regular file `path` read-only after the checks every input gets, for readers
    /// that read (`read`) or map (`MappedFile`) it: `stat` before `open` (so a FIFO or a device
    /// never blocks), opened non-blocking and close-on-exec, checked again on the descriptor.
    /// - Returns: the open descriptor (the caller closes it) and the file's size in bytes.
    /// - Throws: `SpacerError.noInput` when `path` does not exist, is not readable or is not a
    ///   regular file; `.data` at `byte <limit>` for a file larger than `limit`.
    public static func openRegular(_ path: String, limit: Int = maxInputBytes) throws -> (fd: Int32, size: Int) {
        var st = stat()
        guard !path.isEmpty, stat(path, &st) == 0 else { throw SpacerError.noInput(path: path) }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw SpacerError.noInput(path: path + " (" + kind(st.st_mode) + ", not a regular file)")
        }
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw SpacerError.noInput(path: path) }
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw SpacerError.noInput(path: path + " (not a regular file)")
        }
        let size = Int(st.st_size)
        guard size <= limit else {
            close(fd)
            throw SpacerError.data(file: path, location: "byte \(limit)", expected: "an input of at most \(limit) bytes (\(limit >> 20) MiB)",
                                   found: "\(size) bytes")
        }
        return (fd, size)
    }

    /// A short name for a file type (`st_mode & S_IFMT`), for messages.
    public static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: return "a regular file"
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO"
        case S_IFSOCK: return "a socket"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFLNK: return "a symbolic link"
        default: return "a special file"
        }
    }
}

/// `read(2)`, under a name that the static `InputFile.read` does not shadow.
@inline(__always) private func sysRead(_ fd: Int32, _ buf: UnsafeMutableRawPointer, _ n: Int) -> Int {
    read(fd, buf, n)
}
