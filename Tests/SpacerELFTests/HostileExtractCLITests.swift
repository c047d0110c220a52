import Foundation
import Testing
import SpacerCore
@testable import SpacerELF

/// Hostile ELF objects and ar archives run through `spacer-sim extract` as a process (issue 6,
/// item 3): the complete message (file and byte offset), exit status 65 (66 for a missing file),
/// nothing on standard output, no output file, and an earlier output left as it was.
/// The fixtures are the compiled `HostileInputTests.small` object and an archive, patched here.
@Suite(.serialized, .enabled(if: Toolchain.available && SpacerSimBinary.path != nil,
                             "needs gcc, readelf, ar and the spacer-sim executable next to the test bundle (swift build)"))
struct HostileExtractCLITests {
    struct Run { var status: Int32; var stdout: String; var stderr: String }

    func extract(_ file: String, in s: Scratch, output: String = "out/t.csv") throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: SpacerSimBinary.path!)
        p.arguments = ["extract", "--library", "l", "--version", "1", file, "-o", output]
        p.currentDirectoryURL = URL(fileURLWithPath: s.dir)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// Writes `bytes` as `name`, runs extract over an earlier good output, and checks the exact
    /// message, the status, and that neither the earlier output nor a fresh one is touched.
    func expectRejected(_ bytes: [UInt8], name: String, in s: Scratch, status: Int32 = 65, _ message: String,
                        sourceLocation: SourceLocation = #_sourceLocation) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: s.path(name)))
        let before = try Data(contentsOf: URL(fileURLWithPath: s.path("out/t.csv")))
        let r = try extract(name, in: s)
        #expect(r.status == status, "\(name): \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr == "spacer-sim: \(message)\n", sourceLocation: sourceLocation)
        #expect(r.stdout.isEmpty, sourceLocation: sourceLocation)
        #expect(try Data(contentsOf: URL(fileURLWithPath: s.path("out/t.csv"))) == before, "\(name): earlier output changed", sourceLocation: sourceLocation)
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.path("out")).sorted() == ["t.csv", "t.csv.json"], sourceLocation: sourceLocation)
        let fresh = try extract(name, in: s, output: "new-\(name).csv")
        #expect(fresh.status == status && !FileManager.default.fileExists(atPath: s.path("new-\(name).csv")), sourceLocation: sourceLocation)
    }

    /// A scratch folder holding small.o, lib.a and a good earlier output out/t.csv.
    func setUp() throws -> (Scratch, [UInt8]) {
        let s = try Scratch()
        try s.compile("small", HostileInputTests.small)
        let good = try extract("small.o", in: s)
        #expect(good.status == 0, "\(good.stderr)")
        return (s, try s.bytes("small.o"))
    }

    @Test func truncatedAnywhere() throws {
        let (s, good) = try setUp()
        let shoff = good.u64(0x28), shnum = good.u16(0x3c)
        #expect(shoff + 64 * shnum == good.count)  // gcc puts the section headers last
        try expectRejected([], name: "empty.o", in: s,
                           "empty.o:byte 0: expected an ELF object or an ar archive (magic 7f 45 4c 46 or !<arch>), found an empty file")
        for n in [3, 40, 63] {
            try expectRejected(Array(good[0..<n]), name: "cut\(n).o", in: s,
                               "cut\(n).o:byte 0: expected an ELF header (64 bytes), found the end of the data at byte \(n)")
        }
        // Cut before the section header table, or inside it.
        try expectRejected(Array(good[0..<(shoff + 10)]), name: "first.o", in: s,
                           "first.o:byte 40: expected the first section header (64 bytes at offset \(shoff)) inside the data, found the end of the data at byte \(shoff + 10)")
        try expectRejected(Array(good[0..<(good.count - 1)]), name: "last.o", in: s,
                           "last.o:byte 40: expected a section header table of \(shnum) entries (\(64 * shnum) bytes at offset \(shoff)) inside the data, found the end of the data at byte \(good.count - 1)")
        // Every other cut: status 65 and a message naming the file and a byte inside it.
        for n in stride(from: 64, to: good.count, by: 97) {
            try Data(good[0..<n]).write(to: URL(fileURLWithPath: s.path("any.o")))
            let r = try extract("any.o", in: s)
            #expect(r.status == 65 && r.stderr.hasPrefix("spacer-sim: any.o:byte "), "cut at \(n): \(r.stderr)")
            let at = Int(r.stderr.dropFirst("spacer-sim: any.o:byte ".count).prefix { $0.isNumber }) ?? -1
            #expect((0...n).contains(at), "cut at \(n): \(r.stderr)")
        }
    }

    @Test func wrongClassByteOrderMachineAndType() throws {
        let (s, good) = try setUp()
        var b = good; b[4] = 1
        try expectRejected(b, name: "m32.o", in: s, "m32.o:byte 4: expected a 64-bit ELF (ELFCLASS64), found ELFCLASS32")
        b = good; b[5] = 2
        try expectRejected(b, name: "be.o", in: s, "be.o:byte 5: expected a little-endian ELF (ELFDATA2LSB), found big-endian (ELFDATA2MSB)")
        b = good; b.put(183, at: 18, width: 2)
        try expectRejected(b, name: "arm.o", in: s, "arm.o:byte 18: expected an x86-64 object (e_machine EM_X86_64 = 62), found e_machine 183")
        b = good; b.put(3, at: 16, width: 2)
        try expectRejected(b, name: "dyn.o", in: s, "dyn.o:byte 16: expected a relocatable object (ET_REL, e_type 1), found a shared object or PIE (ET_DYN)")
        b = good; b[1] = 0x58
        try expectRejected(b, name: "x.o", in: s, "x.o:byte 0: expected an ELF object or an ar archive (magic 7f 45 4c 46 or !<arch>), found bytes 7f 58 4c 46")
        let missing = try extract("nope.o", in: s)
        #expect(missing.status == 66 && missing.stderr == "spacer-sim: nope.o: no such file or not readable\n")
    }

    @Test func indexesOutOfRangeAndRelocationPastItsSection() throws {
        let (s, good) = try setUp()
        let elf = try ELFObject(bytes: good, file: "small.o")
        let symtab = try #require(elf.sections.first { $0.type == ELFConst.SHT_SYMTAB })
        let rela = try #require(elf.sections.first { $0.name == ".rela.text.f" })
        let target = elf.sections[Int(rela.info)]
        let lastSym = symtab.offset + symtab.size - 24, symbols = symtab.size / 24, shnum = elf.sections.count
        var b = good; b.put(0x7000, at: lastSym + 6, width: 2)
        try expectRejected(b, name: "sym.o", in: s,
                           "sym.o:byte \(lastSym + 6): expected a section index below \(shnum) for symbol \(symbols - 1), found 28672")
        b = good; b.put(0x7fff, at: rela.offset + 12, width: 4)
        try expectRejected(b, name: "rsym.o", in: s,
                           "rsym.o:byte \(rela.offset + 8): expected a symbol index below \(symbols) in .rela.text.f, found 32767")
        b = good; b.put(target.size, at: rela.offset, width: 8)
        try expectRejected(b, name: "roff.o", in: s,
                           "roff.o:byte \(rela.offset): expected a relocation field inside the \(target.size) bytes of .text.f, found offset \(target.size) (4 bytes)")
        b = good; b.put(0x7fff_ffff, at: elf.sectionHeaderOffset(1), width: 4)
        let shstr = elf.sections[good.u16(0x3e)]
        try expectRejected(b, name: "sname.o", in: s,
                           "sname.o:byte \(elf.sectionHeaderOffset(1)): expected the name of section 1: an index inside the \(shstr.size)-byte string table, found index 2147483647")
        b = good; b.put(1 << 50, at: elf.sectionHeaderOffset(target.index) + 24, width: 8)
        try expectRejected(b, name: "far.o", in: s,
                           "far.o:byte \(elf.sectionHeaderOffset(target.index) + 24): expected the contents of section \(target.index) (\(target.size) bytes at offset \(1 << 50)) inside the data, found the end of the data at byte \(good.count)")
    }

    @Test func absurdSectionCounts() throws {
        let (s, good) = try setUp()
        let shoff = good.u64(0x28)
        var b = good; b.put(0xfff0, at: 0x3c, width: 2)
        try expectRejected(b, name: "many.o", in: s,
                           "many.o:byte 40: expected a section header table of 65520 entries (\(65520 * 64) bytes at offset \(shoff)) inside the data, found the end of the data at byte \(good.count)")
        b = good; b.put(0, at: 0x3c, width: 2); b.put(1 << 40, at: shoff + 32, width: 8)
        try expectRejected(b, name: "ext.o", in: s,
                           "ext.o:byte \(shoff + 32): expected at most \(ELFConst.maxSections) sections, found \(1 << 40)")
    }

    @Test func brokenArchives() throws {
        let (s, _) = try setUp()
        try s.compile("m1", "int one(int x) { return x + 1; }\n")
        try s.compile("m2", HostileInputTests.small)
        try s.run(Toolchain.ar!, ["rcs", "lib.a", "m1.o", "m2.o"])
        let good = try s.bytes("lib.a")
        let m2 = try #require(ArArchive.members(of: good, file: "lib.a").first { $0.name == "m2.o" })
        let h = m2.headerOffset
        var b = good; b[h + 58] = 0x41
        try expectRejected(b, name: "term.a", in: s, "term.a:byte \(h + 58): expected the ar member header terminator \"`\\n\", found bytes 41 0a")
        b = good; b.replaceSubrange((h + 48)..<(h + 58), with: Array("12x4      ".utf8))
        try expectRejected(b, name: "size.a", in: s, "size.a:byte \(h + 48): expected a decimal member size, found '12x4'")
        b = good; b.replaceSubrange((h + 48)..<(h + 58), with: Array("9999999   ".utf8))
        try expectRejected(b, name: "long.a", in: s,
                           "long.a:byte \(h + 48): expected the 9999999 bytes of ar member 'm2.o/' (header at byte \(h)), found the end of the data at byte \(good.count)")
        try expectRejected(Array(good[0..<(h + 30)]), name: "cut.a", in: s,
                           "cut.a:byte \(h): expected an ar member header (60 bytes), found the end of the data at byte \(h + 30)")
        b = good; b[h + 60 + 4] = 1
        try expectRejected(b, name: "member.a", in: s, "member.a(m2.o):byte 4: expected a 64-bit ELF (ELFCLASS64), found ELFCLASS32")
        try expectRejected(Array("!<thin>\n".utf8), name: "thin.a", in: s,
                           "thin.a:byte 0: expected a regular ar archive (!<arch>), found a thin archive (!<thin>), which holds no member data; pass the member objects instead")
    }

    /// The fuzz findings, end to end.
    @Test func fuzzFindings() throws {
        let (s, good) = try setUp()
        let elf = try ELFObject(bytes: good, file: "small.o")
        let text = try #require(elf.sections.first { $0.name == ".text.f" })
        let symtab = try #require(elf.sections.first { $0.type == ELFConst.SHT_SYMTAB })
        let f = try #require(elf.symbols.first { $0.name == "f" })
        var b = good
        b.put(0, at: elf.sectionHeaderOffset(text.index), width: 4)
        b.put(0, at: symtab.offset + 24 * f.index, width: 4)
        try expectRejected(b, name: "anon.o", in: s,
                           "anon.o:byte \(elf.sectionHeaderOffset(text.index)): expected a name for allocated section \(text.index) (sh_name), found an empty name")
        try s.compile("common", FuzzRegressionTests.common, flags: Toolchain.sectionFlags + ["-fcommon"])
        var c = try s.bytes("common.o")
        let celf = try ELFObject(bytes: c, file: "common.o")
        let cs = try #require(celf.sections.first { $0.type == ELFConst.SHT_SYMTAB })
        let sym = try #require(celf.symbols.first { $0.name == "common_thing" })
        c.put(Int(bitPattern: 0xf600_0000_0000_0008), at: cs.offset + 24 * sym.index + 16, width: 8)
        try expectRejected(c, name: "common.o", in: s,
                           "common.o:byte \(cs.offset + 24 * sym.index + 16): expected a size of at most 268435456 bytes for common symbol common_thing, found 17726168133330272264")
    }
}
