import Foundation
import Testing
import SpacerCore
@testable import SpacerELF

/// Malformed objects and archives: every one throws `SpacerError.data` naming the file, never traps.
@Suite(.enabled(if: Toolchain.available, "gcc, readelf or ar not found on PATH: ELF fixtures are compiled at test time"))
struct HostileInputTests {
    static let small = """
        static int count;
        static const char *const names[] = {"a", "bb"};
        int f(int x) { count += x; return count + (int)names[x & 1][0]; }
        """

    func smallObject(_ s: Scratch) throws -> [UInt8] {
        try s.compile("small", Self.small)
        return try s.bytes("small.o")
    }

    @Test func smallObjectExtracts() throws {
        let s = try Scratch()
        let bytes = try smallObject(s)
        #expect(bytes.count < 4096)
        #expect(try extract(bytes: bytes).named("f") != nil)
    }

    /// Every truncation of the object is rejected with a data error naming it.
    @Test func everyPrefixIsRejected() throws {
        let s = try Scratch()
        let bytes = try smallObject(s)
        for n in 0..<bytes.count {
            let e = dataError { _ = try extract(bytes: Array(bytes[0..<n]), name: "cut.o") }
            #expect(e?.file == "cut.o", "prefix \(n)")
            #expect(e?.location.hasPrefix("byte ") == true, "prefix \(n)")
        }
    }

    @Test func thirtyTwoBitClass() throws {
        var bytes = try smallObject(try Scratch())
        bytes[4] = 1  // EI_CLASS = ELFCLASS32
        let e = dataError { _ = try extract(bytes: bytes, name: "m32.o") }
        #expect(e?.file == "m32.o" && e?.location == "byte 4")
        #expect(e?.expected == "a 64-bit ELF (ELFCLASS64)" && e?.found == "ELFCLASS32")
    }

    @Test func bigEndian() throws {
        var bytes = try smallObject(try Scratch())
        bytes[5] = 2  // EI_DATA = ELFDATA2MSB
        let e = dataError { _ = try extract(bytes: bytes, name: "be.o") }
        #expect(e?.file == "be.o" && e?.location == "byte 5" && e?.found?.contains("big-endian") == true)
    }

    @Test func wrongMachineAndType() throws {
        let good = try smallObject(try Scratch())
        var arm = good
        arm.put(183, at: 18, width: 2)  // EM_AARCH64
        let e1 = dataError { _ = try extract(bytes: arm, name: "arm.o") }
        #expect(e1?.location == "byte 18" && e1?.found == "e_machine 183")
        var exec = good
        exec.put(3, at: 16, width: 2)  // ET_DYN
        let e2 = dataError { _ = try extract(bytes: exec, name: "dyn.o") }
        #expect(e2?.location == "byte 16" && e2?.found?.contains("ET_DYN") == true)
        var notELF = good
        notELF[1] = 0x58
        #expect(dataError { _ = try extract(bytes: notELF, name: "x.o") }?.location == "byte 0")
    }

    @Test func absurdSectionCount() throws {
        var bytes = try smallObject(try Scratch())
        bytes.put(0xfff0, at: 0x3c, width: 2)
        let e = dataError { _ = try extract(bytes: bytes, name: "many.o") }
        #expect(e?.file == "many.o")
        // Extended numbering with a huge count in section 0's sh_size.
        var ext = try smallObject(try Scratch())
        ext.put(0, at: 0x3c, width: 2)
        ext.put(1 << 40, at: ext.u64(0x28) + 32, width: 8)
        #expect(dataError { _ = try extract(bytes: ext, name: "ext.o") }?.file == "ext.o")
    }

    /// Offsets into the section header table and the symbol table of the fixture.
    func layout(_ bytes: [UInt8]) throws -> (shoff: Int, symtab: ELFSection, rela: ELFSection, target: ELFSection) {
        let elf = try ELFObject(bytes: bytes, file: "small.o")
        let symtab = try #require(elf.sections.first { $0.type == ELFConst.SHT_SYMTAB })
        let rela = try #require(elf.sections.first { $0.name == ".rela.text.f" })
        return (bytes.u64(0x28), symtab, rela, elf.sections[Int(rela.info)])
    }

    @Test func outOfRangeIndexes() throws {
        let good = try smallObject(try Scratch())
        let l = try layout(good)
        // A symbol's section index past the section count.
        var badSym = good
        let lastSym = l.symtab.offset + l.symtab.size - 24
        badSym.put(0x7000, at: lastSym + 6, width: 2)
        let e1 = dataError { _ = try extract(bytes: badSym, name: "sym.o") }
        #expect(e1?.location == "byte \(lastSym + 6)" && e1?.file == "sym.o")
        // A symbol name outside the string table.
        var badName = good
        badName.put(0x7fff_ffff, at: lastSym, width: 4)
        #expect(dataError { _ = try extract(bytes: badName, name: "name.o") }?.location == "byte \(lastSym)")
        // A relocation naming a symbol past the table.
        var badRelSym = good
        badRelSym.put(0x7fff, at: l.rela.offset + 12, width: 4)
        #expect(dataError { _ = try extract(bytes: badRelSym, name: "rsym.o") }?.location == "byte \(l.rela.offset + 8)")
        // A relocation whose field lies past its section.
        var badOffset = good
        badOffset.put(l.target.size, at: l.rela.offset, width: 8)
        let e4 = dataError { _ = try extract(bytes: badOffset, name: "roff.o") }
        #expect(e4?.location == "byte \(l.rela.offset)" && e4?.expected.contains(".text.f") == true)
        // A section name outside the section name table.
        var badSecName = good
        badSecName.put(0x7fff_ffff, at: l.shoff + 64, width: 4)
        #expect(dataError { _ = try extract(bytes: badSecName, name: "sname.o") }?.location == "byte \(l.shoff + 64)")
        // A section whose contents lie outside the file.
        var badContents = good
        badContents.put(good.count, at: l.shoff + 64 * l.target.index + 24, width: 8)
        #expect(dataError { _ = try extract(bytes: badContents, name: "cont.o") }?.file == "cont.o")
    }

    @Test func unknownRelocationTypeIsNamed() throws {
        var bytes = try smallObject(try Scratch())
        let l = try layout(bytes)
        bytes.put(26, at: l.rela.offset + 8, width: 4)  // R_X86_64_GOTPC32
        let e = dataError { _ = try extract(bytes: bytes, name: "rel.o") }
        #expect(e?.file == "rel.o" && e?.location == "byte \(l.rela.offset)")
        #expect(e?.found?.contains("type 26") == true && e?.found?.contains("GOTPC32") == true)
    }

    /// Random byte corruption never traps: extraction either succeeds or throws SpacerError.
    /// Mutations aim at the structures the reader trusts (ELF header, section headers, symbol
    /// and relocation tables) as well as anywhere in the file.
    @Test func randomCorruptionNeverTraps() throws {
        let good = try smallObject(try Scratch())
        let elf = try ELFObject(bytes: good, file: "small.o")
        var regions: [Range<Int>] = [0..<good.count, 0..<64, good.u64(0x28)..<good.count]
        for sec in elf.sections where sec.type == ELFConst.SHT_SYMTAB || sec.type == ELFConst.SHT_RELA {
            regions.append(sec.offset..<(sec.offset + sec.size))
        }
        var rng = SplitMix64(seed: 42)
        for i in 0..<6000 {
            var b = good
            let region = regions[i % regions.count]
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let at = Int.random(in: region, using: &rng)
                switch i % 3 {
                case 0: b[at] = UInt8.random(in: 0...255, using: &rng)
                case 1: b[at] ^= 1 << UInt8.random(in: 0...7, using: &rng)
                default: b[at] = [0x00, 0xff, 0x7f, 0x80][Int.random(in: 0..<4, using: &rng)]
                }
            }
            do { _ = try extract(bytes: b) } catch is SpacerError {} catch { Issue.record("unexpected \(error)") }
        }
    }

    /// Regression (found by fuzzing): an allocated section of type SHT_NULL has no contents.
    @Test func allocatedNullSectionHasNoContents() throws {
        var bytes = try smallObject(try Scratch())
        let elf = try ELFObject(bytes: bytes, file: "small.o")
        let shoff = bytes.u64(0x28)
        for sec in elf.sections where sec.name.hasPrefix(".rodata.names") || sec.name.hasPrefix(".bss.count") {
            bytes.put(0, at: shoff + 64 * sec.index + 4, width: 4)
        }
        let rows = try extract(bytes: bytes)
        #expect(rows.named("f") != nil)
        #expect(rows.named("names") == nil)
    }

    // MARK: archives

    func archive(_ s: Scratch) throws -> [UInt8] {
        try s.compile("m1", "int one(int x) { return x + 1; }\n")
        try s.compile("m2", Self.small)
        try s.run(Toolchain.ar!, ["rcs", "lib.a", "m1.o", "m2.o"])
        return try s.bytes("lib.a")
    }

    func extractArchive(_ bytes: [UInt8], _ s: Scratch, name: String = "bad.a") throws -> [TableEntry] {
        try Data(bytes).write(to: URL(fileURLWithPath: s.path(name)))
        return try extract([s.path(name)])
    }

    @Test func brokenArchiveHeaders() throws {
        let s = try Scratch()
        let good = try archive(s)
        #expect(try extractArchive(good, s, name: "good.a").functions.count == 2)
        // Offsets of the member headers: walk the archive.
        var headers: [Int] = []
        var p = 8
        while p + 60 <= good.count {
            headers.append(p)
            p += 60 + Int(String(decoding: good[(p + 48)..<(p + 58)], as: UTF8.self).trimmingCharacters(in: .whitespaces))!
            p += p % 2
        }
        let last = try #require(headers.last)
        var badMagic = good
        badMagic[last + 58] = 0x41
        let e1 = dataError { _ = try extractArchive(badMagic, s) }
        #expect(e1?.file.hasSuffix("bad.a") == true && e1?.location == "byte \(last + 58)")
        var badSize = good
        badSize.replaceSubrange((last + 48)..<(last + 58), with: Array("12x4      ".utf8))
        #expect(dataError { _ = try extractArchive(badSize, s) }?.location == "byte \(last + 48)")
        var tooLong = good
        tooLong.replaceSubrange((last + 48)..<(last + 58), with: Array("9999999   ".utf8))
        let e3 = dataError { _ = try extractArchive(tooLong, s) }
        #expect(e3?.file.hasSuffix("bad.a") == true && e3?.location == "byte \(last + 48)")
        #expect(e3?.expected.hasPrefix("the 9999999 bytes of ar member") == true)
        // Every truncation inside a member header or member data is rejected (a cut exactly at
        // a member boundary leaves a valid, shorter archive).
        for n in stride(from: 1, to: good.count - 1, by: 5) where !headers.contains(n) && n != 8 {
            #expect(throws: SpacerError.self, "cut at \(n)") { _ = try extractArchive(Array(good[0..<n]), s) }
        }
    }

    @Test func archiveMemberErrorsNameTheMember() throws {
        let s = try Scratch()
        var bytes = try archive(s)
        // Flip EI_CLASS of the member m2.o.
        let member = try #require(ArArchive.members(of: bytes, file: "lib.a").first { $0.name == "m2.o" })
        bytes[member.headerOffset + 60 + 4] = 1
        let e = dataError { _ = try extractArchive(bytes, s, name: "lib.a") }
        #expect(e?.file.hasSuffix("lib.a(m2.o)") == true)
        #expect(e?.location == "byte 4" && e?.found == "ELFCLASS32")
    }

    @Test func missingInputIsNoInput() {
        #expect(throws: SpacerError.noInput(path: "/nonexistent/x.o")) { _ = try extract(["/nonexistent/x.o"]) }
    }
}
