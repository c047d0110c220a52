import Foundation
import Testing

/// Issue 5 acceptance 1, as CI runs it: scripts/real-build.sh zlib builds the four zlib releases
/// normally and with the linker scripts of default, per-occurrence and spacer-delta, runs every
/// binary against its normal build (the functional oracle), measures the pages and compares them
/// with the simulator. It uses the objects of datasets/real/build.sh's cache, building them there
/// (`fetch build --libs zlib`) when they are missing.
@Suite(.serialized) struct RealBuildTests {
    /// What one run of scripts/real-build.sh left: status, stdout, stderr, agreement.csv's rows.
    struct Build { var status: Int32; var text: String; var err: String; var rows: [[String]] }

    /// Runs `scripts/real-build.sh zlib --check-code ARGS --out TMP` with this build's binary;
    /// nil (reported as skipped) when the machine has no gcc.
    func realBuild(_ args: [String]) throws -> Build? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/gcc") || FileManager.default.isExecutableFile(atPath: "/bin/gcc") else {
            print("RealBuildTests: SKIPPED: no gcc on this machine")
            return nil
        }
        let out = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(at: out) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [CLI.root.appendingPathComponent("scripts/real-build.sh").path, "zlib", "--check-code"] + args + ["--out", out.path]
        var env = ProcessInfo.processInfo.environment
        env["SPACER_SIM"] = CLI.binary
        p.environment = env
        let o = Pipe(), e = Pipe()
        p.standardOutput = o; p.standardError = e
        try p.run()
        let text = String(decoding: o.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let err = String(decoding: e.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        // agreement.csv: library,strategy,zone,pred_pages,meas_pages,pred_frames,meas_frames,pred_sharing,meas_sharing
        let agreement = out.appendingPathComponent("agreement.csv")
        let rows = ((try? String(contentsOf: agreement, encoding: .utf8)) ?? "").split(separator: "\n")
            .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        return Build(status: p.terminationStatus, text: text, err: err, rows: rows)
    }

    @Test func zlibImagesPassTheOracleAndAgreeWithTheSimulator() throws {
        guard let b = try realBuild([]) else { return }
        let text = b.text
        #expect(b.status == 0, "real-build.sh zlib failed:\n\(text)\n\(b.err)")
        for s in ["default", "per-occurrence", "spacer-delta"] {
            #expect(text.contains("oracle \(s): 4/4 images print exactly what their normal build prints"), "\(text)")
        }
        let rows = b.rows
        #expect(rows.count > 1, "no agreement.csv rows")
        var codeFrames: [String: Int] = [:]
        for r in rows.dropFirst() where r[2] != "whole image" {
            #expect(r[3] == r[4] && r[5] == r[6] && r[7] == r[8], "\(r.joined(separator: ","))")
            if r[2] == "code" { codeFrames[r[1]] = Int(r[6]) }
        }
        // Real code pages: spacer-delta needs fewer frames than default (43 vs 55 when written).
        #expect(codeFrames.count == 3 && codeFrames["spacer-delta"]! < codeFrames["default"]!)
    }

    /// Issue 15 item 4: with the zlib driver's own roots (datasets/real/zlib-roots-workload.csv,
    /// scripts/real/make-roots-workload.sh), dce places only what the driver reaches; its images
    /// still link, pass the oracle and agree with the simulator, and map fewer code pages than
    /// default.
    @Test func zlibDCEImagesWithRealRootsPassTheOracle() throws {
        guard let b = try realBuild(["--strategies", "default,dce",
                                     "--workload", CLI.root.appendingPathComponent("datasets/real/zlib-roots-workload.csv").path]) else { return }
        let text = b.text
        #expect(b.status == 0, "real-build.sh zlib (dce, roots) failed:\n\(text)\n\(b.err)")
        for s in ["default", "dce"] {
            #expect(text.contains("oracle \(s): 4/4 images print exactly what their normal build prints"), "\(text)")
        }
        let rows = b.rows
        #expect(rows.count > 1, "no agreement.csv rows")
        var codePages: [String: Int] = [:]
        for r in rows.dropFirst() where r[2] != "whole image" {
            #expect(r[3] == r[4] && r[5] == r[6] && r[7] == r[8], "\(r.joined(separator: ","))")
            if r[2] == "code" { codePages[r[1]] = Int(r[4]) }
        }
        #expect(codePages.count == 2 && codePages["dce"]! < codePages["default"]!)
    }
}
