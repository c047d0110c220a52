import Foundation
import Testing
import SpacerCore
@testable import SpacerELF

/// `measure --jobs N` (issue 14 item 3): pages hashed on N threads, files mapped instead of read,
/// and the same result for every N, on real static executables linked here with gcc.
@Suite(.serialized, .enabled(if: Toolchain.available, "gcc, readelf or ar not found on PATH: executables are linked at test time"))
struct PageMeasureParallelTests {
    /// A small program in `variant`s that differ in one function and one initialised array, so
    /// that some pages are shared across the executables and some are not.
    static func program(_ variant: Int) -> String {
        """
        #include <stdio.h>
        #include <string.h>
        int table[64] = {\((0..<64).map { String($0 * (variant + 1)) }.joined(separator: ","))};
        static char buffer[3 * 4096];
        __attribute__((noinline)) int step(int x) { return x * \(variant + 3) + table[x & 63]; }
        int main(int argc, char **argv) {
            memset(buffer, argc, sizeof buffer);
            long s = 0;
            for (int i = 0; i < 1000; i++) s += step(i) ^ buffer[i];
            printf("%ld %s\\n", s, argv[0]);
            return 0;
        }
        """
    }

    /// Links `variants` static executables (and one PIE of variant 0) in `s`; returns their paths.
    static func link(_ s: Scratch, variants: Int) throws -> [String] {
        var out: [String] = []
        for v in 0..<variants {
            try s.compile("p\(v)", program(v), flags: ["-O2"])
            try s.run(Toolchain.gcc!, ["-static", "-no-pie", "p\(v).o", "-o", "p\(v)"])
            out.append(s.path("p\(v)"))
        }
        try s.compile("pie", program(0), flags: ["-O2", "-fPIE"])
        try s.run(Toolchain.gcc!, ["-static-pie", "pie.o", "-o", "pie"])
        out.append(s.path("pie"))
        return out
    }

    /// The pages of 4096 bytes the PT_LOAD lines of `readelf -lW` map (intervals merged), counted
    /// here independently of `PageMeasure.layout`.
    static func readelfPages(_ s: Scratch, _ path: String) throws -> Int {
        var intervals: [(UInt64, UInt64)] = []
        for line in try s.run(Toolchain.readelf!, ["-lW", path]).split(separator: "\n") {
            let t = line.split(separator: " ")
            guard t.first == "LOAD", t.count >= 6, let vaddr = UInt64(t[2].dropFirst(2), radix: 16),
                  let memsz = UInt64(t[5].dropFirst(2), radix: 16), memsz > 0 else { continue }
            intervals.append((vaddr / 4096, (vaddr + memsz - 1) / 4096 + 1))
        }
        intervals.sort { $0.0 < $1.0 }
        var total: UInt64 = 0, cur: (UInt64, UInt64)? = nil
        for i in intervals {
            if let c = cur, i.0 <= c.1 { cur = (c.0, max(c.1, i.1)) } else { if let c = cur { total += c.1 - c.0 }; cur = i }
        }
        if let c = cur { total += c.1 - c.0 }
        return Int(total)
    }

    @Test func parallelMeasureEqualsSerialMeasure() throws {
        let s = try Scratch()
        let paths = try Self.link(s, variants: 3)
        let mapped = try PageMeasure.load(paths: paths)
        let arrays = try paths.map { try ELFExecutable(bytes: s.bytes(($0 as NSString).lastPathComponent), file: $0) }
        // Each executable's pages are what readelf's program headers map.
        let pages = try paths.map { try Self.readelfPages(s, $0) }
        let serial = try PageMeasure.measure(arrays, jobs: 1)
        #expect(serial.pagesPerImage == pages)
        // More than one 256-page chunk, so that two or more threads take part.
        #expect(serial.all.totalPages == pages.reduce(0, +))
        #expect(serial.all.totalPages > 256, "\(serial.all.totalPages) pages")
        #expect(serial.all.pagesShared > 0 && serial.all.frames < serial.all.totalPages)
        for jobs in [2, 3, 8] {
            #expect(try PageMeasure.measure(mapped, jobs: jobs) == serial, "jobs \(jobs)")
            #expect(try PageMeasure.measure(arrays, jobs: jobs) == serial, "jobs \(jobs), arrays")
        }
        #expect(try PageMeasure.measure(mapped, jobs: 1) == serial)
        for dedup in [DedupModel.ksm, .loader] {
            let one = try PageMeasure.measure(mapped, dedup: dedup, maxPageSharing: 2, jobs: 1)
            #expect(try PageMeasure.measure(mapped, dedup: dedup, maxPageSharing: 2, jobs: 4) == one, "\(dedup)")
            let zone = [0x400000..<0x480000 as Range<UInt64>]
            let z1 = try PageMeasure.measure(mapped, dedup: dedup, ranges: zone, jobs: 1)
            #expect(try PageMeasure.measure(mapped, dedup: dedup, ranges: zone, jobs: 2) == z1, "\(dedup) range")
            #expect(z1.all.totalPages < serial.all.totalPages && z1.all.totalPages > 0)
        }
    }

    /// The same executable twice: every page shares with its copy, so under KSM (cap 256) the
    /// frames are those of one copy and every page is sharing, on any number of threads.
    @Test func anImageTwiceSharesEveryPage() throws {
        let s = try Scratch()
        let paths = try Self.link(s, variants: 1)
        let one = try PageMeasure.measure(PageMeasure.load(paths: [paths[0]]), jobs: 1)
        for jobs in [1, 2] {
            let two = try PageMeasure.measure(PageMeasure.load(paths: [paths[0], paths[0]]), jobs: jobs)
            #expect(two.all.totalPages == 2 * one.all.totalPages)
            #expect(two.all.frames == one.all.frames)
            #expect(two.all.pagesSharing == two.all.totalPages)
            #expect(two.all.zeroPages == 2 * one.all.zeroPages)
        }
    }

    /// Every page hash forced equal (mask 0): the byte check finds the unequal pages of a group
    /// and the exact path (candidates compared byte for byte) gives the true result.
    @Test func collidingHashesNeverMergeUnequalPages() throws {
        let s = try Scratch()
        let mapped = try PageMeasure.load(paths: try Self.link(s, variants: 2))
        let truth = try PageMeasure.measure(mapped, jobs: 1)
        for jobs in [1, 2] {
            let collided = try PageMeasure.measure(mapped, pageSize: 4096, dedup: .ksm, maxPageSharing: 256, ranges: [], jobs: jobs, hashMask: 0)
            #expect(collided == truth, "jobs \(jobs)")
        }
        #expect(truth.all.frames > 2)
    }

    @Test func mappedFilesKeepTheReadChecks() throws {
        let s = try Scratch()
        #expect(throws: SpacerError.noInput(path: s.dir + " (a directory, not a regular file)")) { _ = try MappedFile(path: s.dir) }
        #expect(throws: SpacerError.noInput(path: s.path("missing"))) { _ = try MappedFile(path: s.path("missing")) }
        #expect(FileManager.default.createFile(atPath: s.path("empty"), contents: Data()))
        #expect(try MappedFile(path: s.path("empty")).bytes.count == 0)
        #expect(throws: SpacerError.data(file: s.path("empty"), location: "byte 0", expected: "an ELF file (magic 7f 45 4c 46)", found: "an empty file")) {
            _ = try PageMeasure.load(paths: [s.path("empty")])
        }
        #expect(FileManager.default.createFile(atPath: s.path("five"), contents: Data([1, 2, 3, 4, 5])))
        let five = try MappedFile(path: s.path("five"))
        #expect(withExtendedLifetime(five) { Array(five.bytes) } == [1, 2, 3, 4, 5])
        #expect(throws: SpacerError.data(file: s.path("five"), location: "byte 4", expected: "an input of at most 4 bytes (0 MiB)", found: "5 bytes")) {
            _ = try MappedFile(path: s.path("five"), limit: 4)
        }
    }
}
