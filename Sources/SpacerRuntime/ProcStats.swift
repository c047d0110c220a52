import Foundation
import Glibc
import SpacerCore

/// Memory of running processes from /proc (proc(5)): smaps_rollup, smaps per mapping, pagemap
/// (physical frame numbers; root only) and mem (page contents).
public enum ProcStats {
    /// Rss and Pss in KiB.
    public struct Memory: Sendable, Hashable {
        /// Resident set, KiB.
        public var rssKiB = 0
        /// Proportional set (shared pages divided among their mappers), KiB.
        public var pssKiB = 0
        /// Memory of `rssKiB` resident and `pssKiB` proportional KiB (both ≥ 0).
        public init(rssKiB: Int = 0, pssKiB: Int = 0) { self.rssKiB = rssKiB; self.pssKiB = pssKiB }
        static func + (a: Memory, b: Memory) -> Memory { Memory(rssKiB: a.rssKiB + b.rssKiB, pssKiB: a.pssKiB + b.pssKiB) }
    }

    /// A /proc file's whole text, read with read(2) until end of file (procfs files report size
    /// 0 and are generated in pieces, so a reader that trusts the size or one read gets a
    /// truncated smaps); nil when it cannot be opened.
    public static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            out.append(contentsOf: buf[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The whole process: `/proc/PID/smaps_rollup`'s Rss and Pss; nil when the process is gone.
    public static func rollup(pid: pid_t) -> Memory? {
        guard let text = read("/proc/\(pid)/smaps_rollup"), !text.isEmpty else { return nil }
        var m = Memory()
        for line in text.split(separator: "\n") {
            if line.hasPrefix("Rss:") { m.rssKiB = kib(line) } else if line.hasPrefix("Pss:") { m.pssKiB = kib(line) }
        }
        return m
    }

    /// Rss and Pss of the mappings (from `/proc/PID/smaps`) that lie inside `ranges` (byte
    /// address ranges; the image's pages); nil when the process is gone.
    public static func mappings(pid: pid_t, inside ranges: [Range<UInt64>]) -> Memory? {
        guard let text = read("/proc/\(pid)/smaps"), !text.isEmpty else { return nil }
        var m = Memory()
        var inside = false
        for line in text.split(separator: "\n") {
            if let dash = line.firstIndex(of: "-"), line.first?.isHexDigit == true, let sp = line.firstIndex(of: " "), dash < sp,
               let lo = UInt64(line[..<dash], radix: 16), let hi = UInt64(line[line.index(after: dash)..<sp], radix: 16) {
                inside = ranges.contains { $0.lowerBound <= lo && hi <= $0.upperBound }
            } else if inside {
                if line.hasPrefix("Rss:") { m.rssKiB += kib(line) } else if line.hasPrefix("Pss:") { m.pssKiB += kib(line) }
            }
        }
        return m
    }

    private static func kib(_ line: Substring) -> Int {
        Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
    }

    /// The physical frame number backing each page at `addresses` (page-aligned) in process `pid`,
    /// from `/proc/PID/pagemap` (bits 0–54 when bit 63, present, is set; the kernel shows frame
    /// numbers to root only); nil for a page not present.
    /// - Throws: `SpacerError.io` when pagemap cannot be read.
    public static func frames(pid: pid_t, addresses: [UInt64], pageSize: Int = 4096) throws -> [UInt64?] {
        let path = "/proc/\(pid)/pagemap"
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw SpacerError.io(path: path, underlying: String(cString: strerror(errno))) }
        defer { close(fd) }
        var out: [UInt64?] = []
        out.reserveCapacity(addresses.count)
        var entry: UInt64 = 0
        for a in addresses {
            let n = withUnsafeMutableBytes(of: &entry) { pread(fd, $0.baseAddress, 8, off_t(a / UInt64(pageSize) * 8)) }
            guard n == 8 else { throw SpacerError.io(path: path, underlying: "short read at page \(a): \(String(cString: strerror(errno)))") }
            let pfn = entry & ((1 << 55) - 1)
            out.append(entry & (1 << 63) != 0 && pfn != 0 ? pfn : nil)
        }
        return out
    }

    /// The bytes of the pages at `addresses` in process `pid`, from `/proc/PID/mem` (needs ptrace
    /// access: root, or the parent of an undumpable-free child).
    /// - Throws: `SpacerError.io` naming the page that cannot be read.
    public static func pageBytes(pid: pid_t, addresses: [UInt64], pageSize: Int = 4096) throws -> [[UInt8]] {
        let path = "/proc/\(pid)/mem"
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw SpacerError.io(path: path, underlying: String(cString: strerror(errno))) }
        defer { close(fd) }
        return try addresses.map { a in
            var b = [UInt8](repeating: 0, count: pageSize)
            let n = b.withUnsafeMutableBytes { pread(fd, $0.baseAddress, pageSize, off_t(Int64(bitPattern: a))) }
            guard n == pageSize else { throw SpacerError.io(path: path, underlying: "cannot read page 0x\(String(a, radix: 16)): \(String(cString: strerror(errno)))") }
            return b
        }
    }
}
