import Foundation
import Testing
import SpacerCore
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
}
