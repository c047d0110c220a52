import Foundation

/// `s` as a JSON string literal (RFC 8259): quotes, backslashes and control characters escaped,
/// everything else as is (UTF-8). The one escaper of the hand-written JSON outputs (result rows,
/// the external-strategy input); sidecars use `JSONEncoder`.
public func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}
