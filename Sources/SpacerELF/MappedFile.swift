#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SpacerCore

/// A regular file mapped read-only into memory (`mmap(2)`, `MAP_PRIVATE`), unmapped when the
/// last reference goes away. `measure` reads linked executables this way: the page cache's pages
/// are used in place, with no copy into a fresh buffer.
///
/// Opening applies the checks of `InputFile.read` with its messages: a regular file (checked
/// with `stat` before `open`, opened non-blocking, checked again on the descriptor), of at most
/// `InputFile.maxInputBytes`. The mapping is read-only and never written; the file must not be
/// truncated while it is mapped (the kernel then raises `SIGBUS` on access to the lost part, as
/// for every reader that maps files).
public final class MappedFile: @unchecked Sendable {
    /// The path as given.
    public let path: String
    /// The file's bytes (`count` = the file size when it was opened), valid only while this
    /// object lives: keep a reference (or `withExtendedLifetime`) while reading them.
    public let bytes: UnsafeRawBufferPointer
    /// Whether `bytes` is an `mmap` region (an empty file maps nothing).
    private let mapped: Bool

    /// Maps the regular file `path`.
    /// - Parameter limit: the most bytes accepted (default `InputFile.maxInputBytes`).
    /// - Throws: `SpacerError.noInput` when `path` does not exist, is not readable or is not a
    ///   regular file; `.data` at `byte <limit>` for a larger file; `.io` when `mmap` fails.
    public init(path: String, limit: Int = InputFile.maxInputBytes) throws {
        self.path = path
        let (fd, size) = try InputFile.openRegular(path, limit: limit)
        defer { close(fd) }
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            mapped = false
            return
        }
        #if canImport(Glibc)
        let flags = MAP_PRIVATE | MAP_POPULATE  // one fault-in pass at mmap time, not one fault per page later
        #else
        let flags = MAP_PRIVATE
        #endif
        guard let p = mmap(nil, size, PROT_READ, flags, fd, 0), p != MAP_FAILED else {
            throw SpacerError.io(path: path, underlying: "cannot map: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: p, count: size)
        mapped = true
    }

    deinit {
        if mapped { munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress!), bytes.count) }
    }
}
