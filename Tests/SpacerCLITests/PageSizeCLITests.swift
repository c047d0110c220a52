import Foundation
import Testing

/// Issue 11 item 6 (page sizes): `compare --page-size 2097152` used to exit 70 for every strategy
/// ("region code claims page alignment but starts at 0x100000"); pages up to 2^28 now place,
/// larger ones are refused at parse time with the supported range.
@Suite(.serialized) struct PageSizeCLITests {
    static let table = "library,version,name,size,align,hash\nlib,1,f1,100,16,aa01\nlib,1,f2,200,16,aa02\nlib,2,f1,100,16,aa01\nlib,2,f2,300,16,bb02\n"
    static let workload = "image,library,version\ni1,lib,1\ni2,lib,2\n"

    @Test func twoMiBPagesPlaceWithEveryStrategy() throws {
        let d = try CLI.tempDir()
        try Self.table.write(to: d.appendingPathComponent("t.csv"), atomically: true, encoding: .utf8)
        try Self.workload.write(to: d.appendingPathComponent("w.csv"), atomically: true, encoding: .utf8)
        let r = try CLI.run(["compare", "--tables", "t.csv", "--workload", "w.csv", "--page-size", "2097152", "--no-csv", "--no-timings", "--format", "csv"], cwd: d)
        #expect(r.status == 0, "\(r.err)")
        let rows = r.out.split(separator: "\n").dropFirst()
        #expect(!rows.isEmpty)
        // default: one 2 MiB page per image, two frames (the pages differ).
        #expect(rows.first?.hasPrefix("default,,w.csv,t.csv,2,2,2097152,ksm,256,resolve,,2,2,") == true, "\(rows.first ?? "")")
        for big in ["536870912", "1073741824"] {
            let refused = try CLI.run(["compare", "--tables", "t.csv", "--workload", "w.csv", "--page-size", big, "--no-csv"], cwd: d)
            #expect(refused.status == 64)
            #expect(refused.err.contains("--page-size must be a power of two from 4096 to 2^28 (268435456; the address zones are 256 MiB), found \(big)"), "\(refused.err)")
        }
    }
}
