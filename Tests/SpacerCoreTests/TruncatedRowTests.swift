import Foundation
import Testing
import SpacerCore
@testable import SpacerIO

/// Issue 11 items 7 and 12: rows cut short by an interrupted write, and body hashes that are not
/// hexadecimal or differ only in case.
@Suite struct TruncatedRowTests {
    @Test func recordsKnowWhetherTheyEndInALineBreak() throws {
        let r = try CSVReader(text: "a,b\n1,2\r\n3,11.5", file: "t.csv")
        #expect(r.records.map(\.terminated) == [true, true, false])
        #expect(try CSVReader(text: "a,b\n1,2\n", file: "t.csv").records.map(\.terminated) == [true, true])
        // A lone CR at the end, a quoted last field, a quoted line break: as the bytes say.
        #expect(try CSVReader(text: "a,b\n1,2\r", file: "t.csv").records.last?.terminated == false)
        #expect(try CSVReader(text: "a,b\n1,\"2\"", file: "t.csv").records.last?.terminated == false)
        #expect(try CSVReader(text: "a,b\n1,\"x\ny\"\n", file: "t.csv").records.last?.terminated == true)
        // Comments and blank lines do not count as rows.
        #expect(try CSVReader(text: "a,b\n1,2\n# end", file: "t.csv").records.last?.terminated == true)
    }

    @Test func policies() throws {
        var refuse = try CSVReader(text: "a,b\n1,11.576\n2,1", file: "s.csv")
        #expect(throws: SpacerError.data(file: "s.csv", location: "3", expected: "a last row ending in a line break (a file cut short?)", found: "an unterminated row of 2 fields")) {
            try refuse.apply(.refuse, file: "s.csv")
        }
        var drop = try CSVReader(text: "a,b\n1,11.576\n2,1", file: "s.csv")
        #expect(try drop.apply(.drop, file: "s.csv") == 3)
        #expect(drop.records.map(\.fields) == [["a", "b"], ["1", "11.576"]])
        var accept = try CSVReader(text: "a,b\n1,11.576\n2,1", file: "s.csv")
        #expect(try accept.apply(.accept, file: "s.csv") == nil)
        #expect(accept.records.count == 3)
        var whole = try CSVReader(text: "a,b\n1,2\n", file: "s.csv")
        #expect(try whole.apply(.refuse, file: "s.csv") == nil)
        #expect(try whole.apply(.drop, file: "s.csv") == nil && whole.records.count == 2)
    }

    /// Table and workload CSV: an unterminated last row is accepted when it parses completely,
    /// refused (with its line and column) when the cut left it incomplete.
    @Test func tableAndWorkloadAcceptOnlyCompleteLastRows() throws {
        let header = "library,version,name,size,align,hash\n"
        let t = try TableCSV.parse(header + "lib,1,f1,100,16,aa01\nlib,1,f2,200,16,aa02", file: "t.csv")
        #expect(t[0].entries.map(\.hash) == ["aa01", "aa02"])
        #expect(throws: SpacerError.data(file: "t.csv", location: "3", expected: "6 fields as in the header", found: "4")) {
            _ = try TableCSV.parse(header + "lib,1,f1,100,16,aa01\nlib,1,f2,200", file: "t.csv")
        }
        #expect(throws: SpacerError.data(file: "t.csv", location: "3:6", expected: "a body hash", found: "an empty field")) {
            _ = try TableCSV.parse(header + "lib,1,f1,100,16,aa01\nlib,1,f2,200,16,", file: "t.csv")
        }
        #expect(throws: SpacerError.data(file: "t.csv", location: "3:3", expected: "a closing quote", found: "end of file")) {
            _ = try TableCSV.parse(header + "lib,1,f1,100,16,aa01\nlib,1,\"f2,200,16,aa", file: "t.csv")
        }
        let w = try WorkloadCSV.parse("image,library,version,instances\ni1,lib,1,2\ni2,lib,2,3", file: "w.csv")
        #expect(w.map(\.instances) == [2, 3])
        #expect(throws: SpacerError.data(file: "w.csv", location: "3", expected: "4 fields", found: "3")) {
            _ = try WorkloadCSV.parse("image,library,version,instances\ni1,lib,1,2\ni2,lib,2", file: "w.csv")
        }
    }

    @Test func hashesAreHexAndCaseInsensitive() throws {
        let header = "library,version,name,size,align,hash\n"
        for bad in ["xyz", "a1g", "0x1f", "12 34", "é1", "-1"] {
            #expect(throws: SpacerError.data(file: "t.csv", location: "3:6", expected: "a body hash of hexadecimal digits (0-9, a-f)", found: "'\(bad)'")) {
                _ = try TableCSV.parse(header + "lib,1,f1,100,16,aa01\n" + "lib,1,f2,100,16,\(bad.contains(" ") ? "\"\(bad)\"" : bad)\n", file: "t.csv")
            }
        }
        // A1 and a1 are one body: normalised to lower case at read.
        let t = try TableCSV.parse(header + "lib,1,f1,100,16,A1\nlib,2,f1,100,16,a1\nlib,3,f1,100,16,DeadBEEF\n", file: "t.csv")
        #expect(t.map { $0.entries[0].hash } == ["a1", "a1", "deadbeef"])
        // bss rows may keep an empty hash.
        let b = try TableCSV.parse("library,version,kind,name,size,align,hash\nlib,1,bss,z,8,8,\nlib,1,func,f,8,8,AB\n", file: "b.csv")
        #expect(b[0].entries.map(\.hash) == ["", "ab"])
    }
}
