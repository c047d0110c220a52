/// Which names read from inputs may be written into files and paths that other tools interpret:
/// GNU ld linker scripts and file-system path components. Inputs are hostile until checked
/// (issue 11): a symbol named `puts)INPUT(evil.o)EXTERN(x` written verbatim into `EXTERN(…)`
/// makes ld load `evil.o`, and an image named `../../victim` written as `<image>.o` escapes the
/// output folder.
public enum SafeNames {
    /// Whether `name` can be written unquoted into a GNU ld script (`EXTERN(name)`, symbol
    /// assignments) and is read back by ld as exactly that one symbol: `[A-Za-z_.$][A-Za-z0-9_.$]*`.
    ///
    /// ld's script lexer accepts more characters in names (`~`, `/`, `\`), but splits or rejects
    /// others silently (`a@b` becomes the two symbols `a` and `b`, `a-b` and `9a` are syntax
    /// errors, `)` ends the command); the grammar here is the subset that every lexer state takes
    /// as one name, checked with GNU ld 2.40. Every C identifier and every GCC-made suffix
    /// (`.constprop.0`, `.cold`, `.isra.0`) is in it.
    public static func isLinkerSymbol(_ name: String) -> Bool {
        var first = true
        for b in name.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "$"):
                break
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if first { return false }
            default:
                return false
            }
            first = false
        }
        return !first
    }

    /// What `isLinkerSymbol` accepts, for messages.
    public static let linkerSymbolGrammar = "a symbol name a GNU ld script can hold ([A-Za-z_.$][A-Za-z0-9_.$]*)"

    /// The longest name accepted as a path component: 200 bytes, leaving room for the suffix
    /// (`.ld`, `.map`) within NAME_MAX (255).
    public static let maxComponentBytes = 200

    /// Why `name` cannot be one path component, or nil when it can: it must be non-empty, at most
    /// `maxComponentBytes` bytes of UTF-8, and hold no `/`, `\`, NUL or other control character
    /// (U+0000–U+001F, U+007F), and not start with `.` (which also excludes `.` and `..`, and
    /// hidden files) or `-` (an option to the tools that read the folder).
    public static func pathComponentProblem(_ name: String) -> String? {
        if name.isEmpty { return "an empty name" }
        if name.utf8.count > maxComponentBytes { return "a name of \(name.utf8.count) bytes (at most \(maxComponentBytes))" }
        // By byte: `hasPrefix(".")` misses ".\u{301}x" (a dot and a combining mark are one
        // Character).
        if name.utf8.first == UInt8(ascii: ".") { return "a name starting with '.'" }
        if name.utf8.first == UInt8(ascii: "-") { return "a name starting with '-'" }
        for u in name.unicodeScalars {
            if u == "/" || u == "\\" { return "a name holding '\(u)'" }
            if u.value < 0x20 || u.value == 0x7f { return "a name holding the control character U+\(String(u.value, radix: 16, uppercase: true))" }
        }
        return nil
    }

    /// `name` quoted for a message: in single quotes, control characters as `\u{…}`.
    public static func quoted(_ name: String) -> String {
        var out = "'"
        for u in name.unicodeScalars {
            if u.value < 0x20 || u.value == 0x7f { out += "\\u{\(String(u.value, radix: 16))}" } else { out.unicodeScalars.append(u) }
        }
        return out + "'"
    }
}
