import SpacerCore

/// A minimal writer of x86-64 ELF64 relocatable objects (`ET_REL`): sections with bytes (or
/// NOBITS), their RELA relocations, and a symbol table. Enough for `place --emit-ld` to hand `ld`
/// exactly the bytes and relocations a layout prescribes; checked by reading the result back
/// with `ELFObject` and by `readelf` in the tests.
public struct ELFWriter {
    /// One section to write. `bytes` is ignored for NOBITS (`type` 8), which takes `size`.
    public struct Section {
        public var name: String
        public var type: UInt32
        public var flags: UInt64
        public var align: Int
        public var bytes: [UInt8]
        public var size: Int
        public var relocations: [Rela] = []
        public init(name: String, type: UInt32 = ELFConst.SHT_PROGBITS, flags: UInt64, align: Int, bytes: [UInt8], size: Int? = nil) {
            self.name = name; self.type = type; self.flags = flags; self.align = max(align, 1); self.bytes = bytes
            self.size = size ?? bytes.count
        }
    }
    /// One RELA entry: field `offset` within its section, symbol index (into `symbols`, 1-based as
    /// ELF counts, 0 = no symbol), `R_X86_64_*` type, addend.
    /// One `Elf64_Rela`: the field's offset in its section, a symbol index (1-based, as `add`
    /// returns), the `R_X86_64_*` type, the addend.
    public struct Rela {
        public var offset: Int; public var symbol: Int; public var type: UInt32; public var addend: Int64
        public init(offset: Int, symbol: Int, type: UInt32, addend: Int64) {
            self.offset = offset; self.symbol = symbol; self.type = type; self.addend = addend
        }
    }
    /// One symbol. `section` is a 1-based index into `sections` (0 undefined, `SHN_ABS` absolute).
    public struct Symbol {
        public var name: String
        public var bind: UInt8
        public var type: UInt8
        public var section: Int
        public var value: UInt64
        public var size: UInt64
        public init(name: String, bind: UInt8, type: UInt8, section: Int, value: UInt64, size: UInt64) {
            self.name = name; self.bind = bind; self.type = type; self.section = section; self.value = value; self.size = size
        }
    }

    public var sections: [Section] = []
    /// Symbols without the null symbol. Locals must come first (`ELFWriter` checks).
    public var symbols: [Symbol] = []
    public init() {}

    /// Adds a section; returns its ELF section index.
    @discardableResult public mutating func add(_ s: Section) -> Int { sections.append(s); return sections.count }
    /// Adds a symbol; returns its ELF symbol index.
    @discardableResult public mutating func add(_ s: Symbol) -> Int { symbols.append(s); return symbols.count }

    /// The object file's bytes.
    /// - Throws: `SpacerError.internalInvariant` when a local symbol follows a global one, a
    ///   relocation names a symbol that does not exist, or a section index is out of range.
    public func bytes() throws -> [UInt8] {
        if let g = symbols.firstIndex(where: { $0.bind != ELFConst.STB_LOCAL }),
           symbols[g...].contains(where: { $0.bind == ELFConst.STB_LOCAL }) {
            throw SpacerError.internalInvariant("ELFWriter: local symbols must precede global ones")
        }
        var out = [UInt8](repeating: 0, count: 64)
        func pad(_ a: Int) { while out.count % a != 0 { out.append(0) } }
        func put16(_ v: UInt16, at p: Int) { out[p] = UInt8(v & 0xff); out[p + 1] = UInt8(v >> 8) }
        func append(_ v: UInt64, _ n: Int) { for i in 0..<n { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
        // Section header string table and the list of all headers.
        var shstr: [UInt8] = [0]
        func shname(_ s: String) -> UInt32 { let o = UInt32(shstr.count); shstr += Array(s.utf8) + [0]; return o }
        struct Header { var name: UInt32; var type: UInt32; var flags: UInt64; var offset: Int; var size: Int; var link: UInt32; var info: UInt32; var align: Int; var entsize: Int }
        var headers: [Header] = [Header(name: 0, type: 0, flags: 0, offset: 0, size: 0, link: 0, info: 0, align: 0, entsize: 0)]
        for s in sections {
            var off = 0
            if s.type != ELFConst.SHT_NOBITS { pad(max(s.align, 1)); off = out.count; out += s.bytes }
            headers.append(Header(name: shname(s.name), type: s.type, flags: s.flags, offset: off, size: s.type == ELFConst.SHT_NOBITS ? s.size : s.bytes.count,
                                  link: 0, info: 0, align: s.align, entsize: 0))
        }
        let symtabIndex = sections.count + sections.filter { !$0.relocations.isEmpty }.count + 1
        for (i, s) in sections.enumerated() where !s.relocations.isEmpty {
            pad(8)
            let off = out.count
            for r in s.relocations {
                guard r.symbol >= 0 && r.symbol <= symbols.count else { throw SpacerError.internalInvariant("ELFWriter: relocation names symbol \(r.symbol) of \(symbols.count)") }
                append(UInt64(r.offset), 8); append(UInt64(r.symbol) << 32 | UInt64(r.type), 8); append(UInt64(bitPattern: r.addend), 8)
            }
            headers.append(Header(name: shname(".rela" + s.name), type: ELFConst.SHT_RELA, flags: 0x40, offset: off, size: out.count - off,
                                  link: UInt32(symtabIndex), info: UInt32(i + 1), align: 8, entsize: 24))
        }
        // Symbol and string tables.
        var strtab: [UInt8] = [0]
        pad(8)
        let symOff = out.count
        append(0, 24)
        for s in symbols {
            guard s.section == 0 || s.section == ELFConst.SHN_ABS || (s.section >= 1 && s.section <= sections.count) else {
                throw SpacerError.internalInvariant("ELFWriter: symbol \(s.name) names section \(s.section)")
            }
            let n = UInt32(strtab.count); strtab += Array(s.name.utf8) + [0]
            append(UInt64(n), 4); out.append(s.bind << 4 | s.type); out.append(0); append(UInt64(s.section), 2)
            append(s.value, 8); append(s.size, 8)
        }
        let firstGlobal = (symbols.firstIndex { $0.bind != ELFConst.STB_LOCAL } ?? symbols.count) + 1
        headers.append(Header(name: shname(".symtab"), type: ELFConst.SHT_SYMTAB, flags: 0, offset: symOff, size: out.count - symOff,
                              link: UInt32(symtabIndex + 1), info: UInt32(firstGlobal), align: 8, entsize: 24))
        let strOff = out.count; out += strtab
        headers.append(Header(name: shname(".strtab"), type: ELFConst.SHT_STRTAB, flags: 0, offset: strOff, size: strtab.count, link: 0, info: 0, align: 1, entsize: 0))
        let shstrName = shname(".shstrtab")
        let shstrOff = out.count; out += shstr
        headers.append(Header(name: shstrName, type: ELFConst.SHT_STRTAB, flags: 0, offset: shstrOff, size: shstr.count, link: 0, info: 0, align: 1, entsize: 0))
        pad(8)
        let shoff = out.count
        for h in headers {
            append(UInt64(h.name), 4); append(UInt64(h.type), 4); append(h.flags, 8); append(0, 8)
            append(UInt64(h.offset), 8); append(UInt64(h.size), 8); append(UInt64(h.link), 4); append(UInt64(h.info), 4)
            append(UInt64(h.align), 8); append(UInt64(h.entsize), 8)
        }
        guard headers.count < ELFConst.SHN_LORESERVE else {
            throw SpacerError.internalInvariant("ELFWriter: \(headers.count) sections need extended numbering, which this writer does not do")
        }
        // ELF header.
        let ident: [UInt8] = [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]
        for (i, b) in ident.enumerated() { out[i] = b }
        put16(ELFConst.ET_REL, at: 16); put16(ELFConst.EM_X86_64, at: 18); out[20] = 1
        for i in 0..<8 { out[40 + i] = UInt8(truncatingIfNeeded: UInt64(shoff) >> (8 * UInt64(i))) }
        put16(64, at: 52); put16(0, at: 54); put16(0, at: 56); put16(64, at: 58)
        put16(UInt16(headers.count), at: 60); put16(UInt16(headers.count - 1), at: 62)
        return out
    }
}

extension RelocationType {
    /// The `R_X86_64_*` number of this type (the inverse of `init(elfType:)`).
    public var elfType: UInt32 {
        switch self {
        case .abs64: return 1
        case .pc32: return 2
        case .plt32: return 4
        case .gotpcrel: return 9
        case .abs32: return 10
        case .abs32s: return 11
        case .abs16: return 12
        case .pc16: return 13
        case .abs8: return 14
        case .pc8: return 15
        case .tlsgd: return 19
        case .tlsld: return 20
        case .dtpoff32: return 21
        case .gottpoff: return 22
        case .tpoff32: return 23
        case .pc64: return 24
        case .size32: return 32
        case .size64: return 33
        case .gotpcrelx: return 41
        case .rexGotpcrelx: return 42
        }
    }
}
