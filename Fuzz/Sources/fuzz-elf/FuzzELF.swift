import FuzzSupport
import SpacerCore
import SpacerELF
import SpacerIO

/// libFuzzer entry point: the input is one ELF object or ar archive.
///
/// Asserts: extraction either succeeds or throws a data error naming the input and a byte offset
/// inside it; a table extracted from it renders to CSV that the table reader accepts and reads
/// back to the same entries (what `extract` writes, `compare` must read).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzELF(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    let entries: [TableEntry]
    do {
        let inputs: [ObjectInput]
        if ArArchive.isArchive(bytes) {
            inputs = try ArArchive.members(of: bytes, file: "fuzz.a").map {
                ObjectInput(displayName: "fuzz.a(\($0.name))", objectName: $0.name, bytes: $0.bytes)
            }
        } else {
            inputs = [ObjectInput(displayName: "fuzz.o", objectName: "fuzz.o", bytes: bytes)]
        }
        entries = try ELFExtractor.extract(inputs)
    } catch {
        FuzzCheck.inputError(error, file: ArArchive.isArchive(bytes) ? "fuzz.a" : "fuzz.o", byteCount: bytes.count)
        return 0
    }
    guard !entries.isEmpty else { return 0 }
    let table = FunctionTable(library: "lib", version: "1", entries: entries)
    let text = TableCSV.render([table])
    let back: [FunctionTable]
    do { back = try TableCSV.parse(text, file: "rendered.csv") } catch {
        fatalError("extracted table does not read back: \(error)")
    }
    guard back.count == 1 else { fatalError("extracted table reads back as \(back.count) tables") }
    for (a, b) in zip(table.entries, back[0].entries) where a != canonical(b) && canonical(a) != b {
        fatalError("entry changes in the CSV round trip:\n  \(a)\n  \(b)")
    }
    guard table.entries.count == back[0].entries.count else { fatalError("entry count changes in the CSV round trip") }
    return 0
}

/// `e` with its relocations in the order the table reader gives them.
func canonical(_ e: TableEntry) -> TableEntry {
    var e = e
    e.relocations.sort { ($0.offset, $0.type.rawValue) < ($1.offset, $1.type.rawValue) }
    return e
}
