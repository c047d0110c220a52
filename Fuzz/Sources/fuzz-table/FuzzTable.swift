import Foundation
import FuzzSupport
import SpacerCore
import SpacerIO
import SpacerSimulator
import SpacerStrategies

/// libFuzzer entry point: the input is a function-table or workload CSV file, plain or gzip.
///
/// Asserts: every reader either succeeds or throws a data error naming the file and a line
/// (and column) inside it, or a byte offset; an accepted table renders and reads back unchanged;
/// a small accepted table set runs through every registered strategy and the simulator without
/// an internal error, with lower bound ≤ frames ≤ total pages.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTable(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let raw = size == 0 || data == nil ? Data() : Data(bytes: data!, count: size)
    let file = "fuzz.csv"
    let text: String
    do { text = try FileIO.text(FileIO.decode(raw, file: file), file: file) } catch {
        FuzzCheck.inputError(error, file: file, byteCount: Int.max)
        return 0
    }
    let lines = text.utf8.reduce(into: 1) { n, b in if b == 0x0a { n += 1 } }
    do { _ = try WorkloadCSV.parse(text, file: file) } catch { FuzzCheck.inputError(error, file: file, lineCount: lines) }
    let tables: [FunctionTable]
    do { tables = try TableCSV.parse(text, file: file) } catch {
        FuzzCheck.inputError(error, file: file, lineCount: lines)
        return 0
    }
    // Round trip through the writer.
    let back: [FunctionTable]
    do { back = try TableCSV.parse(TableCSV.render(tables), file: "rendered.csv") } catch {
        fatalError("an accepted table does not read back after rendering: \(error)")
    }
    guard back.map(\.entries) == tables.map(\.entries), back.map(\.library) == tables.map(\.library),
          back.map(\.version) == tables.map(\.version) else {
        fatalError("tables change in the CSV round trip")
    }
    // The whole pipeline on small inputs: one image per table, plus one image holding the
    // first table of every library.
    let bytes = tables.reduce(0) { $0 + $1.entries.reduce(0) { $0 + $1.size } }
    guard bytes <= 8 << 20, tables.count <= 16 else { return 0 }
    var rows: [WorkloadRow] = []
    for (n, t) in tables.enumerated() { rows.append(WorkloadRow(image: "i\(n)", library: t.library, version: t.version)) }
    var libs: Set<String> = []
    for t in tables where libs.insert(t.library).inserted {
        rows.append(WorkloadRow(image: "all", library: t.library, version: t.version, instances: 2))
    }
    let w: Workload
    do { w = try Workload(rows: rows, tables: tables, source: "w.csv") } catch {
        FuzzCheck.inputError(error, file: "w.csv")
        return 0
    }
    for type in StrategyRegistry.all {
        do {
            let s = try StrategyRegistry.make(type.name)
            let r = try s.place(w, context: PlacementContext(pageSize: 4096, seed: 1, timeLimit: 0.2))
            let m = try Simulator.simulate(w, layouts: r.layouts, options: SimulationOptions(), allowRemoval: type.removesEntries)
            guard m.lowerBoundFrames <= m.frames, m.frames <= m.totalPages else {
                fatalError("\(type.name): bounds broken: \(m)")
            }
        } catch let e as SpacerError {
            if case .data = e { continue }  // a workload the strategy cannot place, said so
            fatalError("\(type.name) on an accepted table: \(e)")
        } catch {
            fatalError("\(type.name): \(error)")
        }
    }
    return 0
}
