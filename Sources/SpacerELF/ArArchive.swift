import SpacerCore

/// A Unix `ar` archive (`.a`) split into its members.
///
/// Reads the GNU/System V format that `ar rcs` writes: the `!<arch>\n` magic, 60-byte member
/// headers (`name[16] date[12] uid[6] gid[6] mode[8] size[10] "`\n"`), the `/` (and `/SYM64/`)
/// symbol index, the `//` long-name table with `/N` references, `name/` short names, and members
/// padded to an even offset. BSD `#1/N` names (the name stored before the data) are read too.
/// Thin archives (`!<thin>\n`) hold no member data and are rejected.
public enum ArArchive {
    /// One archive member.
    public struct Member: Sendable {
        /// Member file name (`sqlite3.o`).
        public var name: String
        /// The member's data.
        public var bytes: [UInt8]
        /// Offset of the member's header within the archive, in bytes.
        public var headerOffset: Int
    }

    /// Whether `bytes` starts like an archive (regular or thin).
    public static func isArchive(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 8 && (bytes[0..<8].elementsEqual("!<arch>\n".utf8) || bytes[0..<8].elementsEqual("!<thin>\n".utf8))
    }

    /// The object members of the archive in archive order (the symbol index and the long-name
    /// table are not members).
    /// - Parameters:
    ///   - bytes: the whole archive.
    ///   - file: the archive's path, for errors.
    /// - Throws: `SpacerError.data` with `location` = `byte N` (offset in the archive) for a wrong
    ///   magic, a thin archive, a truncated or malformed member header (bad terminator, a size that
    ///   is not a decimal number or runs past the end), or a long name that points outside the
    ///   long-name table.
    public static func members(of bytes: [UInt8], file: String) throws -> [Member] {
        let r = ByteReader(bytes: bytes, file: file)
        try r.require(0, 8, "the archive magic !<arch>")
        if bytes[0..<8].elementsEqual("!<thin>\n".utf8) {
            throw SpacerError.data(file: file, location: "byte 0", expected: "a regular ar archive (!<arch>)",
                                   found: "a thin archive (!<thin>), which holds no member data; pass the member objects instead")
        }
        guard bytes[0..<8].elementsEqual("!<arch>\n".utf8) else {
            throw SpacerError.data(file: file, location: "byte 0", expected: "an ar archive (magic !<arch>)", found: "other bytes")
        }
        var members: [Member] = []
        var longNames: Range<Int>? = nil
        var p = 8
        while p < bytes.count {
            if bytes[p] == 0x0a && p == bytes.count - 1 { break }  // stray final padding byte
            try r.require(p, 60, "an ar member header")
            guard bytes[p + 58] == 0x60, bytes[p + 59] == 0x0a else {
                throw SpacerError.data(file: file, location: "byte \(p + 58)", expected: "the ar member header terminator \"`\\n\"",
                                       found: "bytes \(hex2(bytes[p + 58])) \(hex2(bytes[p + 59]))")
            }
            let rawName = String(decoding: bytes[p..<(p + 16)], as: UTF8.self)
            let sizeField = String(decoding: bytes[(p + 48)..<(p + 58)], as: UTF8.self).trimmingSpaces
            guard !sizeField.isEmpty, sizeField.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let size = Int(sizeField) else {
                throw SpacerError.data(file: file, location: "byte \(p + 48)", expected: "a decimal member size", found: "'\(sizeField)'")
            }
            let dataStart = p + 60
            guard size <= bytes.count - dataStart else {  // reported at the size field that claims it
                throw SpacerError.data(file: file, location: "byte \(p + 48)",
                                       expected: "the \(size) bytes of ar member '\(rawName.trimmingSpaces)' (header at byte \(p))",
                                       found: "the end of the data at byte \(bytes.count)")
            }
            var data = dataStart..<(dataStart + size)
            let trimmed = rawName.trimmingSpaces
            let name: String?  // nil: the symbol index or the long-name table, not a member
            if trimmed == "/" || trimmed == "/SYM64/" || trimmed.hasPrefix("__.SYMDEF") {
                name = nil
            } else if trimmed == "//" {
                longNames = data
                name = nil
            } else if trimmed.hasPrefix("#1/") {  // BSD: name stored at the start of the data
                guard let n = Int(trimmed.dropFirst(3)), n >= 0, n <= size else {
                    throw SpacerError.data(file: file, location: "byte \(p)", expected: "a BSD long name length #1/N within the member", found: "'\(trimmed)'")
                }
                name = String(decoding: bytes[dataStart..<(dataStart + n)].prefix { $0 != 0 }, as: UTF8.self)
                data = (dataStart + n)..<data.upperBound
            } else if trimmed.hasPrefix("/") {
                guard let table = longNames else {
                    throw SpacerError.data(file: file, location: "byte \(p)", expected: "a long-name table (//) before long name '\(trimmed)'", found: "none")
                }
                guard let k = Int(trimmed.dropFirst()), k >= 0, k < table.count else {
                    throw SpacerError.data(file: file, location: "byte \(p)", expected: "a long name /N with N inside the \(table.count)-byte long-name table", found: "'\(trimmed)'")
                }
                var e = table.lowerBound + k
                while e < table.upperBound && bytes[e] != 0x0a && bytes[e] != 0 { e += 1 }
                var n = String(decoding: bytes[(table.lowerBound + k)..<e], as: UTF8.self)
                if n.hasSuffix("/") { n.removeLast() }
                name = n
            } else {
                name = trimmed.hasSuffix("/") ? String(trimmed.dropLast()) : trimmed
            }
            if let name {
                guard !name.isEmpty else {
                    throw SpacerError.data(file: file, location: "byte \(p)", expected: "an ar member name", found: "an empty name")
                }
                members.append(Member(name: name, bytes: Array(bytes[data]), headerOffset: p))
            }
            p = dataStart + size
            if p % 2 == 1 { p += 1 }
        }
        return members
    }
}

extension String {
    /// The string without leading and trailing spaces (ar pads header fields with spaces).
    var trimmingSpaces: String {
        let u = Array(utf8)
        guard let s = u.firstIndex(where: { $0 != 0x20 }), let e = u.lastIndex(where: { $0 != 0x20 }) else { return "" }
        return String(decoding: u[s...e], as: UTF8.self)
    }
}
