import Foundation
import Testing
import SpacerCore
import SpacerIO
@testable import SpacerELF

/// Inputs that `scripts/fuzz.sh fuzz-elf` found, rebuilt from the compiled fixture so that no
/// binary is committed. Each test names what the fuzzer saw before the fix.
@Suite(.enabled(if: Toolchain.available, "gcc, readelf or ar not found on PATH: ELF fixtures are compiled at test time"))
struct FuzzRegressionTests {
    func small() throws -> [UInt8] {
        let s = try Scratch()
        try s.compile("small", HostileInputTests.small)
        return try s.bytes("small.o")
    }

    /// Fuzz crash 78ca7196: a section whose sh_offset points far past the end of the file was
    /// reported at `byte 4415464420260381336` (the bogus offset itself), a position the file does
    /// not have. The error now points at the sh_offset field of the section header.
    @Test func sectionContentsPastTheEndNameTheHeaderField() throws {
        var bytes = try small()
        let shoff = bytes.u64(0x28)
        let elf = try ELFObject(bytes: bytes, file: "small.o")
        let sec = try #require(elf.sections.first { $0.name == ".text.f" })
        bytes.put(0x3d47_15c0_a3b1_d798, at: shoff + 64 * sec.index + 24, width: 8)
        let e = dataError { _ = try extract(bytes: bytes, name: "far.o") }
        #expect(e?.file == "far.o")
        #expect(e?.location == "byte \(shoff + 64 * sec.index + 24)")
        #expect(e?.expected.hasPrefix("the contents of section \(sec.index)") == true)
        #expect(e?.found == "the end of the data at byte \(bytes.count)")
    }

    /// The same for e_shoff: a section header table past the end is reported at byte 40.
    @Test func sectionHeaderTablePastTheEndNamesEShoff() throws {
        var bytes = try small()
        bytes.put(1 << 50, at: 0x28, width: 8)
        let e = dataError { _ = try extract(bytes: bytes, name: "shoff.o") }
        #expect(e?.location == "byte 40" && e?.found == "the end of the data at byte \(bytes.count)")
        // A table that starts inside the file but runs past its end: also byte 40.
        var long = try small()
        long.put(long.count - 64, at: 0x28, width: 8)
        #expect(dataError { _ = try extract(bytes: long, name: "long.o") }?.location == "byte 40")
    }

    static let common = """
        int common_thing;
        static int big[4];
        int h(int i) { common_thing++; big[i & 3] = i; return big[(i + 1) & 3]; }
        """

    func commonObject(_ s: Scratch) throws -> [UInt8] {
        try s.compile("common", Self.common, flags: Toolchain.sectionFlags + ["-fcommon"])
        return try s.bytes("common.o")
    }

    /// Fuzz crash cf6dca7a: a common symbol with st_size 0xf600000000000008 became a bss row of
    /// size 9223372036854775807 that the table reader then refused, so `extract` wrote a table
    /// `compare` could not read. A size above `TableEntry.maxSize` is now refused at the symbol.
    @Test func hugeCommonSymbolIsRefusedAtItsSize() throws {
        let s = try Scratch()
        var bytes = try commonObject(s)
        let elf = try ELFObject(bytes: bytes, file: "common.o")
        let symtab = try #require(elf.sections.first { $0.type == ELFConst.SHT_SYMTAB })
        let sym = try #require(elf.symbols.first { $0.name == "common_thing" })
        #expect(sym.isCommon)
        let at = symtab.offset + 24 * sym.index + 16
        bytes.put(Int(bitPattern: 0xf600_0000_0000_0008), at: at, width: 8)
        let e = dataError { _ = try extract(bytes: bytes, name: "c.o") }
        #expect(e?.file == "c.o" && e?.location == "byte \(at)")
        #expect(e?.expected == "a size of at most \(TableEntry.maxSize) bytes for common symbol common_thing")
        #expect(e?.found == "\(UInt64(0xf600_0000_0000_0008))")
        // A common alignment beyond what a table may hold (st_value holds it): refused too.
        var aligned = try commonObject(s)
        aligned.put(1 << 40, at: symtab.offset + 24 * sym.index + 8, width: 8)
        let e2 = dataError { _ = try extract(bytes: aligned, name: "a.o") }
        #expect(e2?.location == "byte \(symtab.offset + 24 * sym.index + 8)")
        #expect(e2?.expected == "a power-of-two alignment of at most \(TableEntry.maxAlign) for common symbol common_thing")
    }

    /// Found while fixing the above (same class): a NOBITS section may claim up to 2^40 bytes
    /// without any file bytes, and became a bss row as large. Refused at its sh_size field.
    @Test func hugeBssSectionIsRefusedAtItsSize() throws {
        let s = try Scratch()
        var bytes = try commonObject(s)
        let elf = try ELFObject(bytes: bytes, file: "common.o")
        let bss = try #require(elf.sections.first { $0.name == ".bss.big" })
        let at = bytes.u64(0x28) + 64 * bss.index + 32
        bytes.put(1 << 39, at: at, width: 8)
        let e = dataError { _ = try extract(bytes: bytes, name: "b.o") }
        #expect(e?.file == "b.o" && e?.location == "byte \(at)")
        #expect(e?.expected == "a section of at most \(TableEntry.maxSize) bytes for row big")
        #expect(e?.found == "\(1 << 39) bytes")
    }

    /// Fuzz crash 195bb16b: a function section and its symbol both without a name (name
    /// offsets pointing at an empty string) gave a row with an empty name, which the table reader
    /// refuses. An allocated section without a name is now refused at its sh_name field.
    @Test func unnamedAllocatedSectionIsRefused() throws {
        var bytes = try small()
        let elf = try ELFObject(bytes: bytes, file: "small.o")
        let text = try #require(elf.sections.first { $0.name == ".text.f" })
        let symtab = try #require(elf.sections.first { $0.type == ELFConst.SHT_SYMTAB })
        let f = try #require(elf.symbols.first { $0.name == "f" })
        bytes.put(0, at: elf.sectionHeaderOffset(text.index), width: 4)   // sh_name -> ""
        bytes.put(0, at: symtab.offset + 24 * f.index, width: 4)           // st_name -> ""
        let e = dataError { _ = try extract(bytes: bytes, name: "anon.o") }
        #expect(e?.file == "anon.o" && e?.location == "byte \(elf.sectionHeaderOffset(text.index))")
        #expect(e?.expected == "a name for allocated section \(text.index) (sh_name)" && e?.found == "an empty name")
    }

    /// Found by reading the round trip the fuzzer checks (same class as 195bb16b): a relocation
    /// target whose name holds a space cannot be written in the space-separated relocs column
    /// (it would read back as two relocations). Refused at the relocation entry.
    @Test func relocationTargetWithASpaceIsRefused() throws {
        var bytes = try small()
        let elf = try ELFObject(bytes: bytes, file: "small.o")
        let names = try #require(elf.sections.first { $0.name == ".rodata.names" })
        let symtab = try #require(elf.sections.first { $0.type == ELFConst.SHT_SYMTAB })
        let strtab = elf.sections[Int(symtab.link)]
        let sym = try #require(elf.symbols.first { $0.name == "names" })
        // "names" -> "na es" in the symbol string table.
        let nameAt = strtab.offset + bytes.u32(symtab.offset + 24 * sym.index) + 2
        bytes[nameAt] = 0x20
        let text = try #require(elf.sections.first { $0.name == ".text.f" })
        let reloc = try #require(try elf.relocations(for: text.index).first { elf.symbols[$0.symbol].section == names.index })
        let e = dataError { _ = try extract(bytes: bytes, name: "space.o") }
        #expect(e?.file == "space.o" && e?.location == "byte \(reloc.entryOffset)")
        #expect(e?.expected == "a relocation target with a name and no spaces (the relocs column is space-separated)")
        #expect(e?.found == "'na es'")
    }

    /// Fuzz crash 91698886 (after 11 minutes): one carved `.text` holding two GLOBAL FUNC
    /// symbols of the same name (a flipped byte in the string table turned `g` into `f`) gave two
    /// rows `f`, a table the reader refuses. As across objects, the first strong definition keeps
    /// the name and the later copy gives no row (the link would keep one).
    @Test func twoGlobalsOfOneNameInOneSectionGiveOneRow() throws {
        let s = try Scratch()
        try s.assemble("dup", """
                .text
                .globl f
                .type f, @function
            f:  ret
                .size f, 1
                .globl g
                .type g, @function
            g:  call f
                ret
                .size g, 6
            """)
        var bytes = try s.bytes("dup.o")
        let elf = try ELFObject(bytes: bytes, file: "dup.o")
        let symtab = try #require(elf.sections.first { $0.type == ELFConst.SHT_SYMTAB })
        let g = try #require(elf.symbols.first { $0.name == "g" })
        bytes[elf.sections[Int(symtab.link)].offset + bytes.u32(symtab.offset + 24 * g.index)] = UInt8(ascii: "f")
        let rows = try extract(bytes: bytes, name: "dup.o")
        #expect(rows.functions.map(\.name) == ["f"])
        #expect(rows.named("f")?.size == 1)
        let back = try TableCSV.parse(TableCSV.render([FunctionTable(library: "l", version: "1", entries: rows)]), file: "dup.csv")
        #expect(back[0].entries == rows)
    }

    /// Same class as the fuzz-table overlap crash: an object with two relocations on the same
    /// bytes would give a row the table reader now refuses. Refused at the second entry.
    @Test func overlappingRelocationsInAnObjectAreRefused() throws {
        var bytes = try small()
        let elf = try ELFObject(bytes: bytes, file: "small.o")
        let text = try #require(elf.sections.first { $0.name == ".text.f" })
        let rels = try elf.relocations(for: text.index)
        try #require(rels.count >= 2)
        // Move the second relocation onto the first one's field.
        bytes.put(rels[0].offset, at: rels[1].entryOffset, width: 8)
        let e = dataError { _ = try extract(bytes: bytes, name: "ovl.o") }
        #expect(e?.file == "ovl.o" && e?.location == "byte \(rels[1].entryOffset)")
        #expect(e?.expected == "relocation fields that do not overlap in f")
        #expect(e?.found?.hasPrefix("offset \(rels[0].offset)") == true)
    }
}
