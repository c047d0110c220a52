import Foundation
import SpacerCore
import SpacerStrategies

/// One strategy as a run asks for it: a registered name and its parameter values, parsed from
/// the one syntax every command and test uses, `name` or `name[k=v;k2=v2]`, plus
/// `--param name=value` / `--param strategy.name=value` settings.
public struct StrategySpec: Sendable, Hashable {
    /// The registry name, e.g. `spacer-delta`.
    public var name: String
    /// The values given (before defaults), by parameter name.
    public var given: [String: String]
    /// Every parameter with its default applied, checked against the strategy's `ParameterSpec`s.
    public var parameters: StrategyParameters

    /// A spec of `name` with `given` values.
    /// - Throws: `.usage` for an unknown strategy (with a "did you mean") or a bad parameter.
    public init(name: String, given: [String: String] = [:]) throws {
        guard let type = StrategyRegistry.named(name) else { throw Self.unknown(name) }
        self.name = name
        self.given = given
        self.parameters = try StrategyParameters(given, specs: type.parameters, strategy: name)
    }

    /// The registered type.
    public var type: any PlacementStrategy.Type { StrategyRegistry.named(name)! }

    /// A fresh strategy object.
    /// - Throws: what the strategy's initialiser throws for its parameters.
    public func make() throws -> any PlacementStrategy { try type.init(parameters: parameters) }

    /// The CSV `params` column: every parameter, `a=1;b=x`, sorted by name.
    public var canonical: String { parameters.canonical }

    /// The name with its non-default parameters, `name[k=v;…]`, as `--strategies` takes it.
    public var label: String {
        let defaults = Dictionary(uniqueKeysWithValues: type.parameters.map { ($0.name, $0.defaultValue) })
        let changed = parameters.values.keys.sorted().filter { defaults[$0] != parameters.values[$0] }
            .map { "\($0)=\(parameters.values[$0]!)" }
        return changed.isEmpty ? name : "\(name)[\(changed.joined(separator: ";"))]"
    }

    /// Parses one item, `name` or `name[k=v;k2=v2]`.
    /// - Throws: `.usage` for a malformed item, a duplicated key, an unknown strategy or parameter,
    ///   or a value of the wrong type or outside the parameter's range.
    public static func parse(_ item: String) throws -> StrategySpec {
        let text = item.trimmingCharacters(in: .whitespaces)
        var name = text
        var given: [String: String] = [:]
        if let open = text.firstIndex(of: "[") {
            guard text.hasSuffix("]") else { throw SpacerError.usage("strategy '\(text)': expected name[k=v;k2=v2] with a closing ]") }
            name = String(text[..<open])
            let body = text[text.index(after: open)..<text.index(before: text.endIndex)]
            for kv in body.split(separator: ";", omittingEmptySubsequences: true) {
                let p = kv.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard p.count == 2, !p[0].isEmpty else { throw SpacerError.usage("strategy parameter '\(kv)' in '\(text)': expected name=value") }
                guard given[p[0]] == nil else { throw SpacerError.usage("strategy parameter '\(p[0])' given twice in '\(text)'") }
                given[p[0]] = p[1]
            }
        }
        return try StrategySpec(name: name, given: given)
    }

    /// Parses a `--strategies` list (`a,b[x=1;y=2],c`; nil: `StrategyRegistry.defaultRun`, defaults)
    /// and applies `--param` settings: `name=value` to every listed strategy that declares `name`,
    /// `strategy.name=value` to that strategy only. A parameter set in brackets wins over `--param`.
    /// - Throws: `.usage` for an empty list, a strategy listed twice with the same parameters (its
    ///   rows would share one identity), a `--param` that no listed strategy declares, or what
    ///   `parse` throws.
    public static func parseList(_ list: String?, params: [String] = []) throws -> [StrategySpec] {
        let items = list.map(splitTopLevel) ?? StrategyRegistry.defaultRun.map { $0.name }
        var settings: [(strategy: String?, key: String, value: String, text: String)] = []
        for p in params {
            let kv = p.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, !kv[0].isEmpty else { throw SpacerError.usage("--param '\(p)': expected name=value or strategy.name=value") }
            if let dot = kv[0].firstIndex(of: "."), StrategyRegistry.named(String(kv[0][..<dot])) != nil {
                settings.append((String(kv[0][..<dot]), String(kv[0][kv[0].index(after: dot)...]), kv[1], p))
            } else {
                settings.append((nil, kv[0], kv[1], p))
            }
        }
        var specs: [StrategySpec] = []
        var used = Set<Int>()
        for item in items where !item.isEmpty {
            var spec = try parse(item)
            var given = spec.given
            for (i, s) in settings.enumerated() where s.strategy == nil || s.strategy == spec.name {
                guard spec.type.parameters.contains(where: { $0.name == s.key }) else { continue }
                used.insert(i)
                if given[s.key] == nil { given[s.key] = s.value }
            }
            spec = try StrategySpec(name: spec.name, given: given)
            guard !specs.contains(where: { $0.name == spec.name && $0.canonical == spec.canonical }) else {
                throw SpacerError.usage("strategy '\(item)' is listed twice with the same parameters")
            }
            specs.append(spec)
        }
        for (i, s) in settings.enumerated() where !used.contains(i) {
            throw SpacerError.usage("--param '\(s.text)': no selected strategy declares '\(s.key)' (see spacer-sim strategies --verbose)")
        }
        guard !specs.isEmpty else { throw SpacerError.usage("--strategies names no strategy") }
        return specs
    }

    /// Splits `a,b[x=1,y=2],c` at commas outside brackets, trimming spaces.
    public static func splitTopLevel(_ s: String) -> [String] {
        var out: [String] = [], cur = "", depth = 0
        for ch in s {
            if ch == "[" { depth += 1 } else if ch == "]" { depth -= 1 }
            if ch == "," && depth == 0 { out.append(cur); cur = "" } else { cur.append(ch) }
        }
        out.append(cur)
        return out.map { $0.trimmingCharacters(in: .whitespaces) }
    }

    static func unknown(_ name: String) -> SpacerError {
        let names = StrategyRegistry.all.map { $0.name }
        let hint = Suggest.closest(name, among: names).map { "; did you mean '\($0)'?" } ?? ""
        return .usage("unknown strategy '\(name)'\(hint) (registered: \(names.joined(separator: ", ")))")
    }
}

/// "Did you mean" suggestions for misspelled names (strategies, subcommands, presets).
public enum Suggest {
    /// The candidate nearest to `word` by edit distance (insertions, deletions, substitutions and
    /// adjacent swaps), if it is close: at most 2 edits, or a third of the word's length.
    public static func closest(_ word: String, among candidates: [String]) -> String? {
        let w = Array(word.lowercased())
        var best: (String, Int)? = nil
        for c in candidates {
            let d = distance(w, Array(c.lowercased()))
            if d < (best?.1 ?? Int.max) { best = (c, d) }
        }
        guard let (c, d) = best, d > 0 || word != c, d <= max(2, w.count / 3) else { return nil }
        return c
    }

    /// Optimal-string-alignment distance between `a` and `b`. O(|a|·|b|).
    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }
}
