import Foundation
import Testing
import SpacerCore
@testable import SpacerELF

/// Hostile linked executables through `PageMeasure` and `spacer-sim measure` (issue 11 item 3):
/// checked arithmetic on every program header field, the 4 GiB span cap, the 256 MiB input cap,
/// page-size limits, FIFOs refused before `open`, and overlapping PT_LOADs as the kernel maps
/// them (the Python reference agreeing). Executables are built here byte by byte.
@Suite(.serialized) struct HostileMeasureTests {
    struct Phdr { var type: UInt32 = 1; var flags: UInt32 = 5; var offset: UInt64; var vaddr: UInt64; var filesz: UInt64; var memsz: UInt64 }

    /// An ET_EXEC x86-64 ELF64: header, program headers at 64, then `payload`.
    static func elf(_ phdrs: [Phdr], payload: [UInt8] = []) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 64 + 56 * phdrs.count)
        func put(_ v: UInt64, _ at: Int, _ w: Int) { for i in 0..<w { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
        b[0] = 0x7f; b[1] = 0x45; b[2] = 0x4c; b[3] = 0x46; b[4] = 2; b[5] = 1; b[6] = 1
        put(2, 16, 2); put(62, 18, 2); put(1, 20, 4); put(0x401000, 24, 8); put(64, 32, 8)
        put(64, 52, 2); put(56, 54, 2); put(UInt64(phdrs.count), 56, 2)
        for (k, p) in phdrs.enumerated() {
            let h = 64 + 56 * k
            put(UInt64(p.type), h, 4); put(UInt64(p.flags), h + 4, 4); put(p.offset, h + 8, 8); put(p.vaddr, h + 16, 8)
            put(p.vaddr, h + 24, 8); put(p.filesz, h + 32, 8); put(p.memsz, h + 40, 8); put(4096, h + 48, 8)
        }
        return b + payload
    }

    static func scratch() throws -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("measure-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    struct Run { var status: Int32; var stdout: String; var stderr: String }
    static func spacerSim(_ args: [String], in dir: String) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: SpacerSimBinary.path!)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// Was a trap (exit 132): `p_vaddr` 0xfffffffffffff000 overflowed the page loop.
    @Test func topOfAddressSpaceIsRefusedNotTrapped() throws {
        let bytes = Self.elf([Phdr(offset: 0, vaddr: 0xffff_ffff_ffff_f000, filesz: 0, memsz: 0x1000)], payload: [UInt8](repeating: 0, count: 16))
        #expect(bytes.count == 136)
        #expect(throws: SpacerError.data(file: "top.elf", location: "byte 80", expected: "a segment under 1 TiB that ends at or below 0xffffffffc0000000 in program header 0",
                                         found: "address 0xfffffffffffff000, size 4096")) {
            _ = try ELFExecutable(bytes: bytes, file: "top.elf")
        }
        // The highest accepted end, with the largest page size: counted without overflow.
        let high = try ELFExecutable(bytes: Self.elf([Phdr(offset: 0, vaddr: ELFExecutable.maxLoadEnd - 0x1000, filesz: 0, memsz: 0x1000)]), file: "high.elf")
        for ps in [4096, 1 << 21] {   // (2^30 pages: commandExitsCleanly, one 1 GiB page)
            let r = try PageMeasure.measure([high], pageSize: ps)
            #expect(r.all.totalPages == 1 && r.all.frames == 1 && r.all.zeroPages == 1, "page \(ps)")
        }
    }

    /// Was 4 GB of memory and no output: `p_memsz` 2^40 − 1 is refused by the span cap.
    @Test func hugeMemSizeIsRefusedBySpanCap() throws {
        let e = try ELFExecutable(bytes: Self.elf([Phdr(offset: 0, vaddr: 0x400000, filesz: 0, memsz: (1 << 40) - 1)], payload: [0, 0, 0, 0]), file: "big.elf")
        #expect(throws: SpacerError.data(file: "big.elf", location: "", expected: "loadable segments that map at most 4294967296 bytes (4 GiB) per image",
                                         found: "268435456 pages of 4096 bytes")) {
            _ = try PageMeasure.measure([e])
        }
        // Exactly 4 GiB is accepted (counted, not hashed here: that is 4 GiB of zeros); one byte
        // more, rounded to whole pages, is not. Overlapping segments count once.
        let edge = try ELFExecutable(bytes: Self.elf([Phdr(offset: 0, vaddr: 1 << 32, filesz: 0, memsz: 1 << 32)]), file: "edge.elf")
        #expect(try PageMeasure.layout(edge, pageSize: 1 << 30).pages == 4)
        #expect(try PageMeasure.layout(edge, pageSize: 4096).pages == 1 << 20)
        let twice = try ELFExecutable(bytes: Self.elf([Phdr(offset: 0, vaddr: 1 << 32, filesz: 0, memsz: 1 << 31),
                                                       Phdr(offset: 0, vaddr: 1 << 32, filesz: 0, memsz: 1 << 32)]), file: "twice.elf")
        #expect(try PageMeasure.layout(twice, pageSize: 4096).pages == 1 << 20)
        let over = try ELFExecutable(bytes: Self.elf([Phdr(offset: 0, vaddr: (1 << 32) - 1, filesz: 0, memsz: 1 << 32)]), file: "over.elf")
        #expect(throws: SpacerError.data(file: "over.elf", location: "", expected: "loadable segments that map at most 4294967296 bytes (4 GiB) per image",
                                         found: "1048577 pages of 4096 bytes")) { _ = try PageMeasure.layout(over, pageSize: 4096) }
    }

    @Test func pageSizesOutsideTheRangeAreRefused() throws {
        let e = try ELFExecutable(bytes: Self.elf([Phdr(offset: 0, vaddr: 0x400000, filesz: 0, memsz: 16)]), file: "e.elf")
        for ps in [0, 2048, 4097, 1 << 31, 1 << 40, 1 << 62] {
            #expect(throws: SpacerError.usage("--page-size must be a power of two from 4096 to 2^30, found \(ps)")) { _ = try PageMeasure.measure([e], pageSize: ps) }
        }
    }

    /// Overlapping PT_LOADs: the later segment in the table wins for its whole memory range
    /// (file bytes, then zeros), as the kernel maps them; the Python reference agrees.
    @Test func overlappingSegmentsLaterWins() throws {
        // Segment 0: a page of 0xAA at 0x400000. Segment 1 (later): 16 bytes of 0xBB at the same
        // address, memsz 32. The page is BB×16, 00×16, AA×4064.
        let payloadAt = UInt64(64 + 56 * 2)
        let overlapping = Self.elf([Phdr(offset: payloadAt, vaddr: 0x400000, filesz: 4096, memsz: 4096),
                                    Phdr(offset: payloadAt + 4096, vaddr: 0x400000, filesz: 16, memsz: 32)],
                                   payload: [UInt8](repeating: 0xAA, count: 4096) + [UInt8](repeating: 0xBB, count: 16))
        let expectedPage = [UInt8](repeating: 0xBB, count: 16) + [UInt8](repeating: 0, count: 16) + [UInt8](repeating: 0xAA, count: 4064)
        let plain = Self.elf([Phdr(offset: UInt64(64 + 56), vaddr: 0x400000, filesz: 4096, memsz: 4096)], payload: expectedPage)
        let a = try ELFExecutable(bytes: overlapping, file: "a"), b = try ELFExecutable(bytes: plain, file: "b")
        let r = try PageMeasure.measure([a, b])
        #expect(r.all.totalPages == 2 && r.all.frames == 1 && r.all.pagesShared == 1 && r.all.pagesSharing == 2)
        // Reversed table order: segment 0 (the small one) loses to the full page.
        let reversed = Self.elf([Phdr(offset: payloadAt + 4096, vaddr: 0x400000, filesz: 16, memsz: 32),
                                 Phdr(offset: payloadAt, vaddr: 0x400000, filesz: 4096, memsz: 4096)],
                                payload: [UInt8](repeating: 0xAA, count: 4096) + [UInt8](repeating: 0xBB, count: 16))
        let allAA = Self.elf([Phdr(offset: UInt64(64 + 56), vaddr: 0x400000, filesz: 4096, memsz: 4096)], payload: [UInt8](repeating: 0xAA, count: 4096))
        let r2 = try PageMeasure.measure([try ELFExecutable(bytes: reversed, file: "c"), try ELFExecutable(bytes: allAA, file: "d"), a])
        #expect(r2.all.totalPages == 3 && r2.all.frames == 2 && r2.all.pagesShared == 1)
        // The Python reference hasher gives the same counts.
        guard let python = Toolchain.which("python3") else { Issue.record("skipped the reference check: python3 not found"); return }
        let d = try Self.scratch()
        for (n, bytes) in [("a", overlapping), ("b", plain), ("c", reversed), ("d", allAA)] { try Data(bytes).write(to: URL(fileURLWithPath: d + "/" + n)) }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/reference/measure_pages.py").path
        for (files, expected) in [(["a", "b"], "2,1,1,2,100.000,0"), (["c", "d", "a"], "3,2,1,2,66.667,0")] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: python)
            p.arguments = [script] + files.map { d + "/" + $0 }
            let out = Pipe(); p.standardOutput = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(text.split(separator: "\n").last.map(String.init) == expected, "\(files)")
        }
    }

    @Test(.enabled(if: SpacerSimBinary.path != nil, "needs the spacer-sim executable (swift build)"))
    func commandExitsCleanly() throws {
        let d = try Self.scratch()
        try Data(Self.elf([Phdr(offset: 0, vaddr: 0xffff_ffff_ffff_f000, filesz: 0, memsz: 0x1000)], payload: [UInt8](repeating: 0, count: 16)))
            .write(to: URL(fileURLWithPath: d + "/top.elf"))
        try Data(Self.elf([Phdr(offset: 0, vaddr: 0x400000, filesz: 0, memsz: (1 << 40) - 1)])).write(to: URL(fileURLWithPath: d + "/big.elf"))
        try Data(Self.elf([Phdr(offset: 0, vaddr: 0x400000, filesz: 0, memsz: 16)])).write(to: URL(fileURLWithPath: d + "/ok.elf"))
        let top = try Self.spacerSim(["measure", "top.elf"], in: d)
        #expect(top.status == 65 && top.stdout.isEmpty)
        #expect(top.stderr == "spacer-sim: top.elf:byte 80: expected a segment under 1 TiB that ends at or below 0xffffffffc0000000 in program header 0, found address 0xfffffffffffff000, size 4096\n")
        let big = try Self.spacerSim(["measure", "big.elf"], in: d)
        #expect(big.status == 65)
        #expect(big.stderr == "spacer-sim: big.elf: expected loadable segments that map at most 4294967296 bytes (4 GiB) per image, found 268435456 pages of 4096 bytes\n")
        for ps in ["2147483648", "1099511627776", "4611686018427387904"] {
            let r = try Self.spacerSim(["measure", "--page-size", ps, "ok.elf"], in: d)
            #expect(r.status == 64 && r.stderr.contains("--page-size must be a power of two from 4096 to 2^30, found \(ps)"), "\(ps): \(r.stderr)")
        }
        let ok = try Self.spacerSim(["measure", "--csv", "--page-size", "1073741824", "ok.elf"], in: d)
        #expect(ok.status == 0)
        #expect(ok.stdout.split(separator: "\n")[1].hasPrefix("all,1,1073741824,ksm,,1,1,0,0,0.000,1,"))  // then tool_version, tool_commit, input_digest
        // A FIFO is refused before open (which would block with no writer); extract too.
        #expect(mkfifo(d + "/fifo", 0o600) == 0)
        for cmd in [["measure", "fifo"], ["extract", "--library", "l", "--version", "1", "fifo"]] {
            let r = try Self.spacerSim(cmd, in: d)
            #expect(r.status == 66 && r.stderr == "spacer-sim: fifo (a FIFO, not a regular file): no such file or not readable\n", "\(cmd[0]): \(r.stderr)")
        }
        // The 256 MiB input cap, before reading (a sparse file: no disk used).
        let huge = d + "/huge.elf"
        #expect(FileManager.default.createFile(atPath: huge, contents: Data(Self.elf([]))))
        #expect(truncate(huge, 300 << 20) == 0)
        for cmd in [["measure", "huge.elf"], ["extract", "--library", "l", "--version", "1", "huge.elf"]] {
            let r = try Self.spacerSim(cmd, in: d)
            #expect(r.status == 65 && r.stderr == "spacer-sim: huge.elf:byte 268435456: expected an input of at most 268435456 bytes (256 MiB), found 314572800 bytes\n", "\(cmd[0]): \(r.stderr)")
        }
        // A device (endless input) is not a regular file.
        let zero = try Self.spacerSim(["measure", "/dev/zero"], in: d)
        #expect(zero.status == 66 && zero.stderr == "spacer-sim: /dev/zero (a character device, not a regular file): no such file or not readable\n")
    }
}
