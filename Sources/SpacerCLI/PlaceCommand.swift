import ArgumentParser
import Foundation
import SpacerCore
import SpacerELF
import SpacerExperiments
import SpacerIO
import SpacerSimulator
import SpacerStrategies

/// `spacer-sim place`: one strategy on one workload; with `--emit-ld`, GNU ld scripts and objects
/// that build the images for real.
struct PlaceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "place",
        abstract: "Place a workload with one strategy; optionally emit GNU ld scripts and objects that build its images.",
        discussion: """
        Without --emit-ld: places, simulates and prints the metrics per address zone. With \
        --emit-ld DIR: also writes, per image, <image>.o (every placed section of the image's \
        libraries with relocations retargeted to what the layout resolves them to, dead old copies \
        included, trampoline tables as jmp slots), <image>.ld (a linker script that augments ld's \
        default one and puts each section at its address), <image>.map; and images.csv, \
        predicted.csv (the simulator's metrics per zone), ldflags. Link an image with:
          gcc $(cat DIR/ldflags) -Wl,-T,DIR/IMG.ld DIR/IMG.o driver.o -o IMG
        The objects come from --objects LIB@VERSION=PATH (a folder: its BUILDINFO 'objects:' \
        line gives link order, else its *.o by name; or comma-separated files) or --objects-root \
        DIR (DIR/<lib>-<version>/, the layout of datasets/real/build.sh's cache). They must \
        extract to exactly the tables used (checked). A layout ld cannot build (overlap, \
        misalignment, an overflowing trampoline table, a slot on a non-branch) is refused before \
        anything is written.

        Zones: code 0x100000-0x40000000, trampolines 0x40000000-0x50000000, rodata \
        0x50000000-0x60000000, writable 0x60000000-0x70000000; the host part (crt, libc, driver) \
        is linked at 0x70000000 by ld's default script.

        Example:
          spacer-sim place --strategy spacer-delta --workload datasets/real/zlib-workload.csv \\
              --objects-root ~/.cache/spacer-sim/obj --emit-ld /tmp/zlib-sd
        """)

    @Option(help: ArgumentHelp("One strategy, name or name[k=v;k2=v2] (see spacer-sim strategies --verbose).", valueName: "name"))
    var strategy: String

    @Option(name: .customLong("param"), help: ArgumentHelp("Strategy parameter name=value. Repeatable.", valueName: "name=value"))
    var params: [String] = []

    @OptionGroup(title: "Run options (as compare)") var runOptions: RunOptions

    @Option(help: ArgumentHelp("Workload CSV: image,library,version[,instances][,roots].", valueName: "file"))
    var workload: String

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Function-table CSV files or folders (default: extract them from the objects, else datasets/real).", valueName: "path"))
    var tables: [String] = []

    @Option(name: .customLong("objects"), help: ArgumentHelp("Objects of one library version, LIB@VERSION=PATH. Repeatable.", valueName: "lib@ver=path"))
    var objects: [String] = []

    @Option(help: ArgumentHelp("Folder holding <lib>-<version>/ object folders.", valueName: "dir"))
    var objectsRoot: String?

    @Option(help: ArgumentHelp("Write linker scripts, image objects and predictions here: a new or empty folder, or one spacer-sim emitted before (its .spacer-sim-emit marker); only files it wrote are replaced.", valueName: "dir"))
    var emitLd: String?

    @Option(help: ArgumentHelp("Write the strategy's layout to this file (docs/formats.md, \"Layout file\"; atomically), for spacer-sim score.", valueName: "file"))
    var layoutOut: String?

    static let zones: [(String, Range<UInt64>)] = [
        ("code", AddressMap.codeBase..<AddressMap.trampolineBase),
        ("trampolines", AddressMap.trampolineBase..<AddressMap.rodataBase),
        ("rodata", AddressMap.rodataBase..<AddressMap.writableBase),
        ("writable", AddressMap.writableBase..<LinkEmitter.hostBase),
        ("model", AddressMap.codeBase..<LinkEmitter.hostBase),
    ]

    func validate() throws {
        _ = try spec()
        for o in objects where !o.contains("@") || !o.contains("=") { throw ValidationError("--objects '\(o)': expected LIB@VERSION=PATH") }
        if let l = layoutOut { try usage { do { try FileIO.checkOutputPath(l) } catch let e as SpacerError where e.exitCode == 73 { throw ValidationError("--layout-out: \(e)") } } }
    }

    /// The one strategy asked for, with `--param` applied.
    func spec() throws -> StrategySpec {
        do {
            let specs = try StrategySpec.parseList(strategy, params: params)
            guard specs.count == 1 else { throw ValidationError("--strategy takes one strategy, found \(specs.count)") }
            return specs[0]
        } catch let SpacerError.usage(m) { throw ValidationError(m) }
    }

    func run() throws { try reportingErrors { try execute() } }

    /// The objects of (library, version), in link order, or nil when none were named.
    func objectInputs(_ library: String, _ version: String) throws -> [ObjectInput]? {
        var path: String? = nil
        for o in objects {
            let kv = o.split(separator: "=", maxSplits: 1).map(String.init)
            if kv[0] == "\(library)@\(version)" { path = kv[1] }
        }
        if path == nil, let root = objectsRoot {
            let d = (root as NSString).appendingPathComponent("\(library)-\(version)")
            if FileManager.default.fileExists(atPath: d) { path = d }
        }
        guard let path else { return nil }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            var names: [String] = []
            let info = (path as NSString).appendingPathComponent("BUILDINFO")
            if let text = try? String(contentsOfFile: info, encoding: .utf8),
               let line = text.split(separator: "\n").first(where: { $0.hasPrefix("objects:") }) {
                names = line.dropFirst("objects:".count).split(separator: " ").map(String.init)
            } else {
                names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".o") }.sorted()
            }
            guard !names.isEmpty else { throw SpacerError.noInput(path: "\(path)/*.o") }
            return try ELFExtractor.loadInputs(paths: names.map { (path as NSString).appendingPathComponent($0) })
        }
        return try ELFExtractor.loadInputs(paths: path.split(separator: ",").map(String.init))
    }

    func execute() throws {
        if let dir = emitLd { try EmitFolder.check(dir) }   // issue 11: refused before any work
        let rows = try WorkloadCSV.read(path: workload)
        if emitLd != nil || objectsRoot != nil { try EmitFolder.checkWorkloadNames(rows, file: workload) }
        var pairs: [(String, String)] = []
        for r in rows where !pairs.contains(where: { $0 == (r.library, r.version) }) { pairs.append((r.library, r.version)) }
        var libs: [String: LibraryObjects] = [:]
        for (l, v) in pairs {
            if let inputs = try objectInputs(l, v) { libs["\(l)@\(v)"] = try LibraryObjects(library: l, version: v, inputs: inputs) }
        }
        var loaded: [FunctionTable]
        var tablesUsed = tables.joined(separator: " ")       // recorded in a layout file
        if !tables.isEmpty {
            loaded = try Harness.loadTables(tables)
        } else if libs.count == pairs.count {
            loaded = pairs.map { l, v in FunctionTable(library: l, version: v, entries: libs["\(l)@\(v)"]!.entries) }
        } else {
            guard let d = Harness.locate("datasets/real") else { throw SpacerError.noInput(path: "datasets/real (pass --tables or --objects)") }
            loaded = try Harness.loadTables([d])
            tablesUsed = d
        }
        let w = try Workload(rows: rows, tables: loaded, source: workload)
        let spec = try spec()
        let type = spec.type
        let config = runOptions.config
        let pageSize = config.pageSize
        let result = try spec.make().place(w, context: config.context())
        for warning in result.warnings { note("warning: \(warning)") }
        let options = config.simulation
        var predicted = "strategy,zone,range,images,total_pages,frames,pages_shared,pages_sharing,sharing_pct,zero_pages\n"
        var table = "zone          total_pages  frames  pages_shared  pages_sharing  sharing %\n"
        for (zone, range) in Self.zones {
            let m: Metrics
            do {
                m = try Simulator.simulate(w, layouts: result.layouts, options: options, allowRemoval: type.removesEntries, pageRanges: [range])
            } catch let SpacerError.internalInvariant(text) {
                throw SpacerError.data(file: "layout of \(strategy)", location: "", expected: "a feasible layout", found: text)
            }
            let r = "0x\(String(range.lowerBound, radix: 16))-0x\(String(range.upperBound, radix: 16))"
            predicted += [strategy, zone, r, String(w.images.count), String(m.totalPages), String(m.frames), String(m.pagesShared),
                          String(m.pagesSharing), String(format: "%.3f", m.sharingPct), String(m.zeroPages)].map(csvField).joined(separator: ",") + "\n"
            table += zone.padding(toLength: 12, withPad: " ", startingAt: 0) + String(format: "  %11d  %6d  %12d  %13d  %9.1f\n", m.totalPages, m.frames, m.pagesShared, m.pagesSharing, m.sharingPct)
        }
        if let path = layoutOut {
            let header = LayoutFileHeader(strategy: spec.name, params: spec.canonical, pageSize: pageSize, removesEntries: type.removesEntries,
                                          solverStatus: result.status, solverUnit: result.objectiveUnit, solverObjective: result.objective,
                                          solverBound: result.provenBound, workload: workload, tables: tablesUsed)
            try FileIO.writeAtomically(LayoutFile.write(result.layouts, workload: w, header: header, tool: "spacer-sim \(Tool.version) (\(Tool.commitLabel))"), to: path)
        }
        try FileIO.writeStandardOutput("place: \(spec.label) on \(workload): \(w.images.count) images; predicted by the simulator (page \(pageSize) B, \(config.dedup.rawValue), xrefs \(config.xrefsLabel)):\n" + table)
        guard let dir = emitLd else { return }
        let files = try LinkEmitter.emit(workload: w, layouts: result.layouts, libraries: libs, strategy: strategy, pageSize: pageSize)
        var out: [(String, [UInt8])] = []
        var index = "image,object,script,libraries\n"
        for (i, f) in files.enumerated() {
            out.append(("\(f.image).o", f.object))
            out.append(("\(f.image).ld", Array(f.script.utf8)))
            out.append(("\(f.image).map", Array(f.map.utf8)))
            let libsOf = w.images[i].tables.map { "\(w.tables[$0].library)@\(w.tables[$0].version)" }.joined(separator: " ")
            index += [f.image, "\(f.image).o", "\(f.image).ld", libsOf].map(csvField).joined(separator: ",") + "\n"
        }
        out.append(("images.csv", Array(index.utf8)))
        out.append(("predicted.csv", Array(predicted.utf8)))
        out.append(("ldflags", Array((LinkEmitter.linkFlags.joined(separator: " ") + "\n").utf8)))
        try EmitFolder.write(out, to: dir, source: workload)
        note("place: wrote \(files.count) linker scripts and image objects to \(dir)")
    }
}
