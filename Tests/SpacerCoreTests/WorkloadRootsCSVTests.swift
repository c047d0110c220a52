import Testing
import SpacerCore
@testable import SpacerIO

/// Issue 15 item 4: the workload CSV's optional `roots` column (space-separated symbol names on
/// any row of an image), and the strict `file:line:col` errors for a malformed one.
@Suite struct WorkloadRootsCSVTests {
    @Test func rootsColumnIsOptionalAndParsed() throws {
        let rows = try WorkloadCSV.parse("image,library,version,roots\napp,zlib,1.3.1,deflate inflate crc32\napp,lua,5.4.7,\nplain,zlib,1.3.1,\n", file: "w.csv")
        #expect(rows.map(\.roots) == [["deflate", "inflate", "crc32"], [], []])
        #expect(rows[0].rootsSource == "w.csv:2:4" && rows[0].source == "w.csv:2")
        let withInstances = try WorkloadCSV.parse("image,library,version,instances,roots\napp,zlib,1.3.1,3,\"sqlite3_open z_errmsg\"\n", file: "w.csv")
        #expect(withInstances[0].instances == 3 && withInstances[0].roots == ["sqlite3_open", "z_errmsg"])
        // Old workloads stay valid and have no roots.
        let old = try WorkloadCSV.parse("image,library,version\napp,zlib,1.3.1\n", file: "w.csv")
        #expect(old[0].roots.isEmpty && old[0].rootsSource == nil)
        let oldInstances = try WorkloadCSV.parse("image,library,version,instances\napp,zlib,1.3.1,2\n", file: "w.csv")
        #expect(oldInstances[0].instances == 2 && oldInstances[0].roots.isEmpty)
    }

    @Test func malformedRootsAreRefusedWithLineAndColumn() throws {
        let cases: [(String, String, String)] = [
            ("a  b", "root symbol names separated by single spaces", "an empty name (name 2)"),
            (" a", "root symbol names separated by single spaces", "an empty name (name 1)"),
            ("a b ", "root symbol names separated by single spaces", "an empty name (name 3)"),
            ("a,b", "a root symbol name (letters, digits, _ . $ @)", "'a,b'"),
            ("a\tb", "a root symbol name (letters, digits, _ . $ @)", "'a\tb'"),
            ("deflate deflate", "each root once", "'deflate' twice"),
        ]
        for (field, expected, found) in cases {
            #expect(throws: SpacerError.data(file: "w.csv", location: "3:5", expected: expected, found: found), "\(field)") {
                _ = try WorkloadCSV.parse("image,library,version,instances,roots\nok,zlib,1.3.1,1,crc32\napp,zlib,1.3.1,1,\"\(field)\"\n", file: "w.csv")
            }
        }
        // The header must still be one of the four forms.
        #expect(throws: SpacerError.data(file: "w.csv", location: "1", expected: "the header image,library,version[,instances][,roots]", found: "image,library,version,roots,instances")) {
            _ = try WorkloadCSV.parse("image,library,version,roots,instances\napp,zlib,1.3.1,,1\n", file: "w.csv")
        }
    }
}
