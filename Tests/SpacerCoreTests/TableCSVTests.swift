import Foundation
import Testing
import SpacerCore
@testable import SpacerIO

@Suite struct TableCSVTests {
    @Test func roundTrip() throws {
        let text = """
        # built with gcc 12.2
        library,version,name,size,align,hash,relocs
        lib,1,f1,100,16,aa01,4:plt32:f2:-4
        lib,1,f2,200,16,aa02,
        """
        let tables = try TableCSV.parse(text, file: "t.csv")
        #expect(tables.count == 1)
        #expect(tables[0].entries.map(\.name) == ["f1", "f2"])
        #expect(tables[0].entries[0].relocations == [Relocation(offset: 4, type: .plt32, target: "f2", addend: -4)])
        #expect(tables[0].provenance == ["built with gcc 12.2"])
        let again = try TableCSV.parse(TableCSV.render(tables), file: "r.csv")
        #expect(again.map(\.entries) == tables.map(\.entries))
    }

    @Test func negativeSizeNamesFileLineAndColumn() {
        let text = "library,version,name,size,align,hash\nlib,1,f,-10,1,abc\n"
        #expect(throws: SpacerError.data(file: "neg.csv", location: "2:4", expected: "a size in bytes, a whole number from 1 to 268435456", found: "'-10'")) {
            try TableCSV.parse(text, file: "neg.csv")
        }
    }

    @Test func missingColumn() {
        let text = "library,version,name,size,align\nlib,1,f,10,1\n"
        #expect(throws: SpacerError.data(file: "m.csv", location: "1", expected: "columns library,version,name,size,align,hash in the header", found: "no column hash")) {
            try TableCSV.parse(text, file: "m.csv")
        }
    }

    @Test func bomCRLFAndQuotes() throws {
        let text = "\u{FEFF}library,version,name,size,align,hash\r\nlib,1,\"we,ird\",10,1,ab\r\n"
        let t = try TableCSV.parse(text, file: "b.csv")
        #expect(t[0].entries[0].name == "we,ird")
    }

    @Test func relocationOutsideEntryIsRejected() {
        let text = "library,version,name,size,align,hash,relocs\nlib,1,f,6,1,ab,4:pc32:g:-4\n"
        #expect(throws: SpacerError.self) { try TableCSV.parse(text, file: "r.csv") }
    }

    /// Fuzz crash (fuzz-elf, final run): a relocation addend of Int64.min, which an ELF r_addend
    /// can hold, was written by extract but refused by the reader (its decimal parser overflowed
    /// on the magnitude before negating). Both Int64 extremes now read back.
    @Test func addendsAtTheInt64ExtremesReadBack() throws {
        let table = FunctionTable(library: "lib", version: "1", entries: [
            TableEntry(name: "f", order: 0, size: 32, align: 16, hash: "ab",
                       relocations: [Relocation(offset: 0, type: .abs64, target: "g", addend: .min),
                                     Relocation(offset: 8, type: .abs64, target: "h", addend: .max)]),
        ])
        let back = try TableCSV.parse(TableCSV.render([table]), file: "x.csv")
        #expect(back[0].entries == table.entries)
        #expect(throws: SpacerError.self) {
            try TableCSV.parse("library,version,name,size,align,hash,relocs\nl,1,f,32,1,ab,0:abs64:g:-9223372036854775809\n", file: "y.csv")
        }
    }

    /// Fuzz crash (fuzz-table, final run, 43 s in): a row with two relocations at one offset
    /// (`0:plt32:g:-4 0:abs64:g:0`) was accepted; spacer-delta gave the call a jump slot, which
    /// the abs64 at the same field address then used too, and compare exited 70. Two relocations
    /// cannot write the same bytes: overlapping fields are refused.
    @Test func overlappingRelocationFieldsAreRefused() {
        let text = "library,version,name,size,align,hash,relocs\nl,1,f,64,16,ab,4:plt32:g:-4 0:plt32:g:-4 0:abs64:g:0\n"
        #expect(throws: SpacerError.data(file: "o.csv", location: "2:7", expected: "relocation fields that do not overlap",
                                         found: "'0:abs64:g:0' (8 bytes at 0) and '0:plt32:g:-4' (4 bytes at 0)")) {
            try TableCSV.parse(text, file: "o.csv")
        }
        // Adjacent fields are fine; a field inside an earlier, longer one is not.
        #expect(throws: Never.self) { try TableCSV.parse("library,version,name,size,align,hash,relocs\nl,1,f,64,16,ab,0:pc32:g:-4 4:pc32:h:-4\n", file: "a.csv") }
        #expect(throws: SpacerError.self) { try TableCSV.parse("library,version,name,size,align,hash,relocs\nl,1,f,64,16,ab,0:abs64:g:0 2:pc8:h:0 4:pc32:k:-4\n", file: "b.csv") }
    }

    /// Fuzz crash 006edd0e (fuzz-table, final run, 9 minutes in): a quoted name holding CRLF
    /// was read correctly but written back unquoted, because the writer compared Characters and
    /// "\r\n" is one Character that is neither "\r" nor "\n"; the rendered row broke in two.
    @Test func aFieldHoldingCRLFIsQuotedByTheWriter() throws {
        #expect(csvField("a\r\n") == "\"a\r\n\"")
        #expect(csvField("a\r\nb,c") == "\"a\r\nb,c\"")
        // A quote carrying a combining mark is still doubled.
        #expect(csvField("x\"\u{301}") == "\"x\"\"\u{301}\"")
        let odd = FunctionTable(library: "l", version: "1", entries: [TableEntry(name: "q\"\u{301},\r\n", order: 0, size: 8, align: 1, hash: "ab")])
        #expect(try TableCSV.parse(TableCSV.render([odd]), file: "o.csv")[0].entries == odd.entries)
        let text = "library,version,name,size,align,hash\nl,1,\"a\r\n\",8,1,ab\n"
        let tables = try TableCSV.parse(text, file: "crlf.csv")
        #expect(tables[0].entries[0].name == "a\r\n")
        #expect(try TableCSV.parse(TableCSV.render(tables), file: "r.csv")[0].entries == tables[0].entries)
    }

    /// A gzip stream that would inflate past the limit stops with a data error at the input
    /// byte reached (a gzip bomb; `FileIO` uses `maxInputBytes`, 256 MiB).
    @Test func gzipBombStopsAtTheLimit() throws {
        let z = try Gzip.compress(Data(repeating: 0, count: 1 << 20))
        #expect(z.count < 2000)
        do {
            _ = try Gzip.decompress(z, file: "bomb.gz", limit: 100_000)
            Issue.record("a 1 MiB stream passed a 100 kB limit")
        } catch let SpacerError.data(file, location, expected, found) {
            #expect(file == "bomb.gz" && location.hasPrefix("byte "))
            #expect(expected == "a gzip stream of at most 100000 bytes decompressed" && found == "more")
        }
        #expect(try Gzip.decompress(z, file: "ok.gz", limit: 1 << 20).count == 1 << 20)
    }

    @Test func gzipRoundTrip() throws {
        let payload = Array("library,version,name,size,align,hash\n".utf8) + Array(repeating: UInt8(ascii: "x"), count: 100_000)
        let z = try Gzip.compress(.init(payload))
        #expect(z.count < 2000)
        #expect(Array(try Gzip.decompress(z, file: "z.gz")) == payload)
        #expect(throws: SpacerError.self) { try Gzip.decompress(z.prefix(z.count / 2), file: "z.gz") }
    }

    /// Found probing hostile sizes for issue 6 (the fuzz-table target later hit the same trap):
    /// a relocation offset near Int.max overflowed `offset + width` and trapped the process
    /// (signal 4) instead of giving a data error.
    @Test func relocationOffsetNearIntMaxIsADataError() {
        let text = "library,version,name,size,align,hash,relocs\nlib,1,f,6,1,ab,9223372036854775807:pc32:g:-4\n"
        #expect(throws: SpacerError.data(file: "o.csv", location: "2:7", expected: "a relocation field inside the entry's 6 bytes",
                                         found: "'9223372036854775807:pc32:g:-4'")) {
            try TableCSV.parse(text, file: "o.csv")
        }
    }

    /// Fuzz crash c9cc7b2f (fuzz-elf): a relocation target starting with a combining mark
    /// (U+031A) glued to the ':' before it into one Swift Character, so the reader's split on
    /// ':' missed it and refused a table that `extract` had written. Relocations are now split
    /// on bytes, not grapheme clusters.
    @Test func relocationTargetStartingWithACombiningMarkReadsBack() throws {
        let target = "\u{31A}t"
        let table = FunctionTable(library: "lib", version: "1", entries: [
            TableEntry(name: "f", order: 0, size: 32, align: 16, hash: "ab",
                       relocations: [Relocation(offset: 16, type: .abs32s, target: target, addend: 0),
                                     Relocation(offset: 20, type: .pc32, target: "\u{301}", addend: -4)]),
        ])
        let back = try TableCSV.parse(TableCSV.render([table]), file: "c.csv")
        #expect(back[0].entries[0].relocations.map(\.target) == [target, "\u{301}"])
        #expect(back[0].entries == table.entries)
    }
}

@Suite struct RelocationFieldTests {
    func parse(_ relocs: String, size: Int = 64) throws -> [Relocation] {
        try TableCSV.parse("library,version,name,size,align,hash,relocs\nl,1,f,\(size),1,ab,\(relocs)\n", file: "r.csv")[0].entries[0].relocations
    }
    @Test func acceptsColonsInTargetsAndSignedAddends() throws {
        #expect(try parse("0:abs64:ns::sym:+8  9:pc32:g:-4") == [
            Relocation(offset: 0, type: .abs64, target: "ns::sym", addend: 8),
            Relocation(offset: 9, type: .pc32, target: "g", addend: -4)])
    }
    @Test(arguments: ["1:pc32:g", "x:pc32:g:0", "1:pc99:g:0", "1:pc32::0", "1:pc32:g:99999999999999999999", "62:pc32:g:0", "-1:pc32:g:0"])
    func rejects(_ bad: String) {
        #expect(throws: SpacerError.self) { try parse(bad) }
    }
}
