/// The address zones of a layout, per page size, and which zone each kind of piece must lie in
/// (issue 11 item 6: a layout that ran past its zone used to be scored, or failed as an
/// internal error).
extension AddressMap {
    /// The largest page size a placement supports: 2^28 (256 MiB). The zones start at 0x100000
    /// (code, rounded up to the page size), 0x40000000, 0x50000000 and 0x60000000, and the host
    /// part at 0x70000000; every zone but code is 256 MiB long, so a larger page could not be
    /// aligned inside its zone. (`measure` takes pages up to 2^30: it places nothing.)
    public static let maxPlacementPageSize = 1 << 28

    /// Why `pageSize` cannot be used for placement, or nil: it must be a power of two from 4096
    /// to `maxPlacementPageSize`.
    public static func pageSizeProblem(_ pageSize: Int) -> String? {
        guard pageSize >= 4096, pageSize <= maxPlacementPageSize, pageSize & (pageSize - 1) == 0 else {
            return "--page-size must be a power of two from 4096 to 2^28 (268435456; the address zones are 256 MiB), found \(pageSize)"
        }
        return nil
    }

    /// Where code starts for `pageSize`: `codeBase` rounded up to a page boundary (0x100000 for
    /// pages up to 1 MiB, so every layout at those sizes is unchanged; 0x200000 for 2 MiB pages).
    public static func codeStart(pageSize: Int) -> UInt64 { alignUp(codeBase, pageSize) }

    /// One address zone: its name and range (`end` exclusive).
    public struct Zone: Sendable, Hashable {
        public var name: String
        public var range: Range<UInt64>
        public var text: String { "\(name) zone 0x\(String(range.lowerBound, radix: 16))-0x\(String(range.upperBound, radix: 16))" }
    }

    /// The zones for `pageSize`: code, trampolines, rodata, writable (data and bss).
    public static func zones(pageSize: Int) -> [Zone] {
        [Zone(name: "code", range: codeStart(pageSize: pageSize)..<trampolineBase),
         Zone(name: "trampolines", range: trampolineBase..<rodataBase),
         Zone(name: "rodata", range: rodataBase..<writableBase),
         Zone(name: "writable", range: writableBase..<(writableBase + UInt64(writableZoneBytes)))]
    }

    /// The zones a piece of `kind` (nil: a trampoline table) may lie in, as indices into
    /// `zones(pageSize:)`: functions in code; read-only data in rodata, or in code (Spacer-Δ
    /// keeps a version's read-only data beside its functions); data and bss in writable;
    /// trampoline tables in trampolines.
    public static func allowedZones(_ kind: EntryKind?) -> [Int] {
        switch kind {
        case nil: return [1]
        case .function?: return [0]
        case .rodata?: return [2, 0]
        case .data?, .bss?: return [3]
        }
    }
}

extension LayoutCheck {
    /// The first piece of image `image` that does not lie wholly inside a zone its kind may use
    /// (`AddressMap.allowedZones`), as an error, or nil.
    /// - Returns: `SpacerError.data` naming the image and the zone: "image X: expected every
    ///   function inside the code zone 0x100000-0x40000000 (the strategy's layout overflows its
    ///   zone), found lib 1 f at 0x…-0x…".
    public static func zoneError(workload w: Workload, image i: Int, pieces: [Piece], pageSize: Int) -> SpacerError? {
        let zones = AddressMap.zones(pageSize: pageSize)
        for p in pieces where p.size > 0 {
            let kind: EntryKind? = p.table < 0 ? nil : w.tables[p.table].entries[p.entry].kind
            let allowed = AddressMap.allowedZones(kind)
            if allowed.contains(where: { zones[$0].range.lowerBound <= p.start && p.end <= zones[$0].range.upperBound && p.start <= p.end }) { continue }
            let what: String
            switch kind {
            case nil: what = "trampoline table"
            case .function?: what = "function"
            case .rodata?: what = "read-only data entry"
            case .data?, .bss?: what = "writable data entry"
            }
            let name = p.table < 0 ? "trampoline table \(p.entry)" : "\(w.tables[p.table].library) \(w.tables[p.table].version) \(w.tables[p.table].entries[p.entry].name)"
            let inside = allowed.map { zones[$0].text }.joined(separator: " or the ")
            return SpacerError.data(file: "image \(w.images[i].name)", location: "",
                                    expected: "every \(what) inside the \(inside) (the strategy's layout overflows its zone)",
                                    found: "\(name) at 0x\(String(p.start, radix: 16))-0x\(String(p.end, radix: 16))")
        }
        return nil
    }
}
