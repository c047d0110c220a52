import SpacerCore

/// Bounds-checked little-endian reads from a byte array.
///
/// Every read checks that the bytes it needs lie inside the array and otherwise throws
/// `SpacerError.data(file:location:expected:found:)` with `location` = `byte N` (the offset of the
/// read within `bytes`), so that malformed or truncated input never traps.
struct ByteReader {
    let bytes: [UInt8]
    /// The name errors give (`lib.o`, or `lib.a(member.o)` for an archive member).
    let file: String

    var count: Int { bytes.count }

    /// The error for a read of `length` bytes at `offset` that does not fit.
    func truncated(_ what: String, at offset: Int, length: Int) -> SpacerError {
        Self.truncated(file: file, count: bytes.count, what, at: offset, length: length)
    }

    /// The error for a read of `length` bytes at `offset` past the end of `count` bytes of `file`
    /// (shared with readers of mapped files, so that both give the same message).
    static func truncated(file: String, count: Int, _ what: String, at offset: Int, length: Int) -> SpacerError {
        SpacerError.data(file: file, location: "byte \(max(offset, 0))",
                         expected: "\(what) (\(length) bytes)",
                         found: "the end of the data at byte \(count)")
    }

    /// The error for `length` bytes at the 64-bit file offset `offset`, held by the header field
    /// at `field`, that do not lie inside `count` bytes of `file`.
    static func outside(file: String, count: Int, _ what: String, offset: UInt64, length: UInt64, field: Int) -> SpacerError {
        SpacerError.data(file: file, location: "byte \(field)",
                         expected: "\(what) (\(length) bytes at offset \(offset)) inside the data",
                         found: "the end of the data at byte \(count)")
    }

    /// Throws unless `length` bytes starting at `offset` lie inside the data.
    func require(_ offset: Int, _ length: Int, _ what: String) throws {
        guard offset >= 0, length >= 0, offset <= bytes.count, length <= bytes.count - offset else {
            throw truncated(what, at: offset, length: length)
        }
    }

    /// Throws unless `length` bytes at the 64-bit file offset `offset` lie inside the data;
    /// returns the offset as an `Int`.
    /// - Parameter field: the file offset of the header field that holds `offset`; the error
    ///   names it, since the offset itself may lie anywhere (even past the end of the file).
    func require(_ offset: UInt64, _ length: UInt64, _ what: String, field: Int) throws -> Int {
        guard offset <= UInt64(bytes.count), length <= UInt64(bytes.count) - offset else {
            throw Self.outside(file: file, count: bytes.count, what, offset: offset, length: length, field: field)
        }
        return Int(offset)
    }

    func u8(_ at: Int, _ what: String) throws -> UInt8 {
        try require(at, 1, what)
        return bytes[at]
    }

    func u16(_ at: Int, _ what: String) throws -> UInt16 {
        try require(at, 2, what)
        return UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
    }

    func u32(_ at: Int, _ what: String) throws -> UInt32 {
        try require(at, 4, what)
        var v: UInt32 = 0
        for i in (0..<4).reversed() { v = v << 8 | UInt32(bytes[at + i]) }
        return v
    }

    func u64(_ at: Int, _ what: String) throws -> UInt64 {
        try require(at, 8, what)
        var v: UInt64 = 0
        for i in (0..<8).reversed() { v = v << 8 | UInt64(bytes[at + i]) }
        return v
    }

    func i64(_ at: Int, _ what: String) throws -> Int64 {
        Int64(bitPattern: try u64(at, what))
    }

    /// The NUL-terminated string at `offset` within the string table occupying
    /// `table` (a range of `bytes`).
    /// - Throws: `.data` when the offset lies outside the table or the string has no NUL inside it.
    func cString(table: Range<Int>, offset: UInt32, what: String, at location: Int) throws -> String {
        let start = table.lowerBound + Int(offset)
        guard Int(offset) < table.count else {
            throw SpacerError.data(file: file, location: "byte \(location)",
                                   expected: "\(what): an index inside the \(table.count)-byte string table",
                                   found: "index \(offset)")
        }
        var end = start
        while end < table.upperBound && bytes[end] != 0 { end += 1 }
        guard end < table.upperBound else {
            throw SpacerError.data(file: file, location: "byte \(location)",
                                   expected: "\(what): a NUL-terminated string inside the string table",
                                   found: "no NUL before the end of the table")
        }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
