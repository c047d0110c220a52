import SpacerCore

/// One section header of an ELF64 relocatable object.
///
/// Offsets and sizes are in bytes. For every section that occupies file bytes (every type but
/// `SHT_NULL` and `SHT_NOBITS`) `offset ..< offset + size` has been checked to lie inside the file.
public struct ELFSection: Sendable, Hashable {
    /// Section header index (0 is the null section).
    public var index: Int
    public var name: String
    /// `sh_type` (`SHT_PROGBITS` = 1, `SHT_NOBITS` = 8, `SHT_RELA` = 4, …).
    public var type: UInt32
    /// `sh_flags` (`SHF_WRITE` = 1, `SHF_ALLOC` = 2, `SHF_EXECINSTR` = 4, `SHF_MERGE` = 0x10, …).
    public var flags: UInt64
    /// File offset of the contents.
    public var offset: Int
    /// Size in bytes (for `SHT_NOBITS`, the size in memory).
    public var size: Int
    public var link: UInt32
    public var info: UInt32
    /// Alignment in bytes, a power of two ≥ 1 (`sh_addralign` 0 is read as 1).
    public var align: Int
    /// Entry size for tables and mergeable sections, else 0.
    public var entsize: Int

    public var isAlloc: Bool { flags & ELFConst.SHF_ALLOC != 0 }
    public var isExecutable: Bool { flags & ELFConst.SHF_EXECINSTR != 0 }
    public var isWritable: Bool { flags & ELFConst.SHF_WRITE != 0 }
    public var isMerge: Bool { flags & ELFConst.SHF_MERGE != 0 }
    public var isStrings: Bool { flags & ELFConst.SHF_STRINGS != 0 }
    public var isNoBits: Bool { type == ELFConst.SHT_NOBITS }
}

/// One symbol of the object's `.symtab`.
public struct ELFSymbol: Sendable, Hashable {
    /// Index in the symbol table (0 is the null symbol).
    public var index: Int
    public var name: String
    /// `STB_LOCAL` = 0, `STB_GLOBAL` = 1, `STB_WEAK` = 2, `STB_GNU_UNIQUE` = 10.
    public var bind: UInt8
    /// `STT_NOTYPE` = 0, `STT_OBJECT` = 1, `STT_FUNC` = 2, `STT_SECTION` = 3, `STT_FILE` = 4, …
    public var type: UInt8
    /// The defining section index with `SHN_XINDEX` already resolved through `.symtab_shndx`;
    /// 0 for undefined, or one of the reserved values `SHN_ABS` (0xfff1), `SHN_COMMON` (0xfff2),
    /// `SHN_X86_64_LCOMMON` (0xff02). Any other value is a valid section index.
    public var section: Int
    /// Offset within the defining section (for common symbols: the alignment).
    public var value: UInt64
    /// Size in bytes (0 when unknown).
    public var size: UInt64

    public var isLocal: Bool { bind == ELFConst.STB_LOCAL }
    public var isUndefined: Bool { section == 0 }
    public var isCommon: Bool { section == ELFConst.SHN_COMMON || section == ELFConst.SHN_X86_64_LCOMMON }
    /// Whether the symbol is defined in a real section of the object.
    public var isInSection: Bool { section > 0 && section < ELFConst.SHN_LORESERVE }
    /// A compiler-generated local label (`.L123`, `.LC0`) or a nameless symbol: never a row name.
    public var isLabel: Bool { name.isEmpty || name.hasPrefix(".L") }
}

/// One entry of a relocation section.
public struct ELFRelocation: Sendable, Hashable {
    /// Offset of the field within the section it applies to.
    public var offset: Int
    /// Symbol table index of the symbol S (0: no symbol).
    public var symbol: Int
    /// `R_X86_64_*` type number.
    public var type: UInt32
    /// The addend A (for `SHT_REL`, read from the field).
    public var addend: Int64
    /// File offset of the relocation entry, for error messages.
    public var entryOffset: Int
}

/// ELF constants used by the reader (System V gABI and the x86-64 psABI).
public enum ELFConst {
    public static let SHT_NULL: UInt32 = 0, SHT_PROGBITS: UInt32 = 1, SHT_SYMTAB: UInt32 = 2
    public static let SHT_STRTAB: UInt32 = 3, SHT_RELA: UInt32 = 4, SHT_NOBITS: UInt32 = 8
    public static let SHT_REL: UInt32 = 9, SHT_SYMTAB_SHNDX: UInt32 = 18
    public static let SHF_WRITE: UInt64 = 0x1, SHF_ALLOC: UInt64 = 0x2, SHF_EXECINSTR: UInt64 = 0x4
    public static let SHF_MERGE: UInt64 = 0x10, SHF_STRINGS: UInt64 = 0x20, SHF_TLS: UInt64 = 0x400
    public static let STB_LOCAL: UInt8 = 0, STB_GLOBAL: UInt8 = 1, STB_WEAK: UInt8 = 2, STB_GNU_UNIQUE: UInt8 = 10
    public static let STT_NOTYPE: UInt8 = 0, STT_OBJECT: UInt8 = 1, STT_FUNC: UInt8 = 2, STT_SECTION: UInt8 = 3
    public static let STT_FILE: UInt8 = 4, STT_COMMON: UInt8 = 5, STT_TLS: UInt8 = 6, STT_GNU_IFUNC: UInt8 = 10
    public static let SHN_LORESERVE = 0xff00, SHN_X86_64_LCOMMON = 0xff02, SHN_ABS = 0xfff1
    public static let SHN_COMMON = 0xfff2, SHN_XINDEX = 0xffff
    public static let EM_X86_64: UInt16 = 62, ET_REL: UInt16 = 1
    /// More sections than this is treated as corrupt input rather than allocated.
    public static let maxSections = 1 << 22
}

/// A parsed ELF64 little-endian x86-64 relocatable object (`ET_REL`).
///
/// `init` validates the ELF header, every section header (contents inside the file, alignment a
/// power of two), section names, the symbol table (names, section indexes, extended indexes) and
/// the shape of every relocation section (entry size, linked symbol table, target section).
/// Relocation entries themselves are decoded and checked on demand by `relocations(for:)`.
/// Every failure throws `SpacerError.data` with `location` = `byte N`, a file offset within
/// `bytes`; nothing traps.
public struct ELFObject: Sendable {
    /// The name used in errors: a path, or `lib.a(member.o)`.
    public let file: String
    public let bytes: [UInt8]
    /// All section headers, by index (index 0 is the null section).
    public let sections: [ELFSection]
    /// The `.symtab` symbols, by index (index 0 is the null symbol); empty without a symbol table.
    public let symbols: [ELFSymbol]
    /// For each section index, the indexes of the relocation sections (`SHT_RELA`/`SHT_REL`)
    /// that apply to it, in section order.
    public let relocationSections: [Int: [Int]]

    /// File offset of the section header table (`e_shoff`); 0 when there are no sections.
    public let sectionHeaderTable: Int

    /// File offset of section `index`'s header, for error messages about its fields.
    public func sectionHeaderOffset(_ index: Int) -> Int { sectionHeaderTable + 64 * index }

    private var reader: ByteReader { ByteReader(bytes: bytes, file: file) }

    /// Parses and validates `bytes` as an x86-64 ELF64 relocatable object.
    /// - Parameters:
    ///   - bytes: the whole object file.
    ///   - file: the name errors give.
    /// - Throws: `SpacerError.data` for anything but a well-formed little-endian x86-64 ELF64
    ///   `ET_REL`: wrong magic, class, byte order, version, type or machine; a truncated header or
    ///   section header table; section contents outside the file; an absurd section count; an
    ///   out-of-range string, section or symbol index; a malformed symbol or relocation table.
    public init(bytes: [UInt8], file: String) throws {
        self.file = file
        self.bytes = bytes
        let r = ByteReader(bytes: bytes, file: file)
        let magic: [UInt8] = [0x7f, 0x45, 0x4c, 0x46]
        guard bytes.starts(with: magic) || (!bytes.isEmpty && bytes.count < 4 && magic.starts(with: bytes)) else {
            throw SpacerError.data(file: file, location: "byte 0", expected: "an ELF object or an ar archive (magic 7f 45 4c 46 or !<arch>)",
                                   found: bytes.isEmpty ? "an empty file" : "bytes " + bytes.prefix(4).map { hex2($0) }.joined(separator: " "))
        }
        try r.require(0, 64, "an ELF header")
        switch bytes[4] {
        case 2: break
        case 1: throw SpacerError.data(file: file, location: "byte 4", expected: "a 64-bit ELF (ELFCLASS64)", found: "ELFCLASS32")
        default: throw SpacerError.data(file: file, location: "byte 4", expected: "a 64-bit ELF (ELFCLASS64)", found: "ELF class \(bytes[4])")
        }
        switch bytes[5] {
        case 1: break
        case 2: throw SpacerError.data(file: file, location: "byte 5", expected: "a little-endian ELF (ELFDATA2LSB)", found: "big-endian (ELFDATA2MSB)")
        default: throw SpacerError.data(file: file, location: "byte 5", expected: "a little-endian ELF (ELFDATA2LSB)", found: "data encoding \(bytes[5])")
        }
        guard bytes[6] == 1 else {
            throw SpacerError.data(file: file, location: "byte 6", expected: "ELF version 1 (EV_CURRENT)", found: "version \(bytes[6])")
        }
        let type = try r.u16(16, "e_type")
        guard type == ELFConst.ET_REL else {
            let names: [UInt16: String] = [2: "an executable (ET_EXEC)", 3: "a shared object or PIE (ET_DYN)", 4: "a core file (ET_CORE)"]
            throw SpacerError.data(file: file, location: "byte 16", expected: "a relocatable object (ET_REL, e_type 1)",
                                   found: names[type] ?? "e_type \(type)")
        }
        let machine = try r.u16(18, "e_machine")
        guard machine == ELFConst.EM_X86_64 else {
            throw SpacerError.data(file: file, location: "byte 18", expected: "an x86-64 object (e_machine EM_X86_64 = 62)",
                                   found: "e_machine \(machine)")
        }
        let shoff = try r.u64(0x28, "e_shoff")
        let shentsize = try r.u16(0x3a, "e_shentsize")
        var shnum = Int(try r.u16(0x3c, "e_shnum"))
        var shstrndx = Int(try r.u16(0x3e, "e_shstrndx"))
        if shoff == 0 {
            guard shnum == 0 else {
                throw SpacerError.data(file: file, location: "byte 40", expected: "a section header table offset (e_shoff)", found: "0 with \(shnum) sections")
            }
            self.sections = []; self.symbols = []; self.relocationSections = [:]; self.sectionHeaderTable = 0
            return
        }
        guard shentsize == 64 else {
            throw SpacerError.data(file: file, location: "byte 58", expected: "section header entries of 64 bytes (e_shentsize)", found: "\(shentsize)")
        }
        let shBase = try r.require(shoff, 64, "the first section header", field: 0x28)
        if shnum == 0 {  // extended numbering: the count is in section 0's sh_size
            let n = try r.u64(shBase + 32, "the extended section count (sh_size of section 0)")
            guard n <= UInt64(ELFConst.maxSections) else {
                throw SpacerError.data(file: file, location: "byte \(shBase + 32)", expected: "at most \(ELFConst.maxSections) sections", found: "\(n)")
            }
            shnum = Int(n)
        }
        if shstrndx == ELFConst.SHN_XINDEX {
            shstrndx = Int(try r.u32(shBase + 40, "the extended section name table index (sh_link of section 0)"))
        }
        _ = try r.require(shoff, UInt64(shnum) * 64, "a section header table of \(shnum) entries", field: 0x28)
        guard shstrndx > 0, shstrndx < shnum else {
            throw SpacerError.data(file: file, location: "byte 62", expected: "a section name table index below \(shnum) (e_shstrndx)", found: "\(shstrndx)")
        }

        // Section headers, names still empty.
        var secs: [ELFSection] = []
        secs.reserveCapacity(shnum)
        var nameOffsets: [UInt32] = []
        for i in 0..<shnum {
            let h = shBase + 64 * i
            let shType = try r.u32(h + 4, "sh_type")
            let size64 = try r.u64(h + 32, "sh_size")
            let off64 = try r.u64(h + 24, "sh_offset")
            let align64 = try r.u64(h + 48, "sh_addralign")
            let ent64 = try r.u64(h + 56, "sh_entsize")
            var offset = 0
            if shType != ELFConst.SHT_NULL && shType != ELFConst.SHT_NOBITS {
                offset = try r.require(off64, size64, "the contents of section \(i)", field: h + 24)
            } else if size64 > UInt64(1) << 40 {
                throw SpacerError.data(file: file, location: "byte \(h + 32)", expected: "a section size below 2^40 bytes", found: "\(size64)")
            }
            guard align64 == 0 || (align64 & (align64 - 1)) == 0, align64 <= 1 << 30 else {
                throw SpacerError.data(file: file, location: "byte \(h + 48)", expected: "a section alignment that is a power of two (sh_addralign)", found: "\(align64)")
            }
            guard ent64 <= 1 << 30 else {
                throw SpacerError.data(file: file, location: "byte \(h + 56)", expected: "a plausible entry size (sh_entsize)", found: "\(ent64)")
            }
            nameOffsets.append(try r.u32(h, "sh_name"))
            secs.append(ELFSection(index: i, name: "", type: shType, flags: try r.u64(h + 8, "sh_flags"),
                                   offset: offset, size: Int(size64), link: try r.u32(h + 40, "sh_link"),
                                   info: try r.u32(h + 44, "sh_info"), align: max(Int(align64), 1), entsize: Int(ent64)))
        }
        let shstr = secs[shstrndx]
        guard shstr.type == ELFConst.SHT_STRTAB else {
            throw SpacerError.data(file: file, location: "byte \(shBase + 64 * shstrndx + 4)", expected: "a string table (SHT_STRTAB) as section name table", found: "section type \(shstr.type)")
        }
        let shstrRange = shstr.offset..<(shstr.offset + shstr.size)
        for i in 0..<shnum where i > 0 {
            secs[i].name = try r.cString(table: shstrRange, offset: nameOffsets[i], what: "the name of section \(i)", at: shBase + 64 * i)
        }

        // Symbol table (at most one in a relocatable object), with its extended index table.
        var syms: [ELFSymbol] = []
        if let st = secs.first(where: { $0.type == ELFConst.SHT_SYMTAB }) {
            let h = shBase + 64 * st.index
            guard st.entsize == 24, st.size % 24 == 0 else {
                throw SpacerError.data(file: file, location: "byte \(h + 56)", expected: "symbol table entries of 24 bytes filling the section",
                                       found: "entry size \(st.entsize), section size \(st.size)")
            }
            guard Int(st.link) > 0, Int(st.link) < shnum, secs[Int(st.link)].type == ELFConst.SHT_STRTAB else {
                throw SpacerError.data(file: file, location: "byte \(h + 40)", expected: "a string table index for .symtab (sh_link)", found: "\(st.link)")
            }
            let strtab = secs[Int(st.link)]
            let strRange = strtab.offset..<(strtab.offset + strtab.size)
            let count = st.size / 24
            var shndxTable: (offset: Int, count: Int)? = nil
            if let x = secs.first(where: { $0.type == ELFConst.SHT_SYMTAB_SHNDX && Int($0.link) == st.index }) {
                shndxTable = (x.offset, x.size / 4)
            }
            syms.reserveCapacity(count)
            for k in 0..<count {
                let e = st.offset + 24 * k
                let info = try r.u8(e + 4, "st_info")
                var shndx = Int(try r.u16(e + 6, "st_shndx"))
                if shndx == ELFConst.SHN_XINDEX {
                    guard let t = shndxTable, k < t.count else {
                        throw SpacerError.data(file: file, location: "byte \(e + 6)", expected: "an extended section index table entry (.symtab_shndx) for symbol \(k)", found: "none")
                    }
                    shndx = Int(try r.u32(t.offset + 4 * k, "an extended section index"))
                    guard shndx < shnum else {
                        throw SpacerError.data(file: file, location: "byte \(t.offset + 4 * k)", expected: "a section index below \(shnum) for symbol \(k)", found: "\(shndx)")
                    }
                } else if shndx >= shnum && ![ELFConst.SHN_ABS, ELFConst.SHN_COMMON, ELFConst.SHN_X86_64_LCOMMON].contains(shndx) {
                    throw SpacerError.data(file: file, location: "byte \(e + 6)", expected: "a section index below \(shnum) for symbol \(k)", found: "\(shndx)")
                }
                let name = k == 0 ? "" : try r.cString(table: strRange, offset: try r.u32(e, "st_name"), what: "the name of symbol \(k)", at: e)
                syms.append(ELFSymbol(index: k, name: name, bind: info >> 4, type: info & 0xf, section: shndx,
                                      value: try r.u64(e + 8, "st_value"), size: try r.u64(e + 16, "st_size")))
            }
        }

        // Relocation sections: shape checks and the map from target section to relocation sections.
        var relMap: [Int: [Int]] = [:]
        for s in secs where s.type == ELFConst.SHT_RELA || s.type == ELFConst.SHT_REL {
            let h = shBase + 64 * s.index
            let want = s.type == ELFConst.SHT_RELA ? 24 : 16
            guard s.entsize == want, s.size % want == 0 else {
                throw SpacerError.data(file: file, location: "byte \(h + 56)", expected: "relocation entries of \(want) bytes filling \(s.name)",
                                       found: "entry size \(s.entsize), section size \(s.size)")
            }
            guard Int(s.info) > 0, Int(s.info) < shnum else {
                throw SpacerError.data(file: file, location: "byte \(h + 44)", expected: "the index of the section \(s.name) applies to (sh_info, below \(shnum))", found: "\(s.info)")
            }
            guard s.size == 0 || (Int(s.link) < shnum && secs[Int(s.link)].type == ELFConst.SHT_SYMTAB) else {
                throw SpacerError.data(file: file, location: "byte \(h + 40)", expected: "the symbol table index for \(s.name) (sh_link)", found: "\(s.link)")
            }
            relMap[Int(s.info), default: []].append(s.index)
        }
        self.sections = secs
        self.sectionHeaderTable = shBase
        self.symbols = syms
        self.relocationSections = relMap
    }

    /// The bytes of section `index` (empty for `SHT_NOBITS` and `SHT_NULL`).
    public func contents(of index: Int) -> ArraySlice<UInt8> {
        let s = sections[index]
        if s.type == ELFConst.SHT_NOBITS || s.type == ELFConst.SHT_NULL { return [] }
        return bytes[s.offset..<(s.offset + s.size)]
    }

    /// The relocations that apply to section `index`, sorted by offset (stable).
    ///
    /// Checks each entry: its symbol index exists, and its field (of the width its type gives,
    /// 4 bytes for types spacer-sim does not model) lies inside the section. `R_X86_64_NONE`
    /// entries are dropped. The type is not checked here (see `RelocationType(elfType:)`).
    /// - Throws: `SpacerError.data` at the entry's file offset.
    public func relocations(for index: Int) throws -> [ELFRelocation] {
        guard let relSecs = relocationSections[index] else { return [] }
        let r = reader
        let target = sections[index]
        var out: [ELFRelocation] = []
        for ri in relSecs {
            let rs = sections[ri]
            let isRela = rs.type == ELFConst.SHT_RELA
            let step = isRela ? 24 : 16
            for e in stride(from: rs.offset, to: rs.offset + rs.size, by: step) {
                let off = try r.u64(e, "r_offset")
                let info = try r.u64(e + 8, "r_info")
                let sym = Int(info >> 32), type = UInt32(truncatingIfNeeded: info)
                if type == 0 { continue }  // R_X86_64_NONE
                guard sym < symbols.count else {
                    throw SpacerError.data(file: file, location: "byte \(e + 8)", expected: "a symbol index below \(symbols.count) in \(rs.name)", found: "\(sym)")
                }
                let width = UInt64(RelocationType(elfType: type)?.width ?? 4)
                guard off <= UInt64(target.size), width <= UInt64(target.size) - off else {
                    throw SpacerError.data(file: file, location: "byte \(e)",
                                           expected: "a relocation field inside the \(target.size) bytes of \(target.name)",
                                           found: "offset \(off) (\(width) bytes)")
                }
                var addend: Int64
                if isRela {
                    addend = try r.i64(e + 16, "r_addend")
                } else {
                    guard target.type != ELFConst.SHT_NOBITS else {
                        throw SpacerError.data(file: file, location: "byte \(e)", expected: "REL relocations only in sections with contents", found: "\(target.name) (NOBITS)")
                    }
                    addend = Self.implicitAddend(bytes, at: target.offset + Int(off), width: Int(width))
                }
                out.append(ELFRelocation(offset: Int(off), symbol: sym, type: type, addend: addend, entryOffset: e))
            }
        }
        // Stable sort by offset: keeps table order for two entries at one offset.
        return out.enumerated().sorted { ($0.element.offset, $0.offset) < ($1.element.offset, $1.offset) }.map(\.element)
    }

    /// The addend a `SHT_REL` entry keeps in its field: the field's bytes, sign-extended.
    static func implicitAddend(_ bytes: [UInt8], at p: Int, width: Int) -> Int64 {
        var v: UInt64 = 0
        for i in (0..<width).reversed() { v = v << 8 | UInt64(bytes[p + i]) }
        if width < 8 {
            let shift = UInt64(64 - 8 * width)
            return Int64(bitPattern: v << shift) >> Int64(shift)
        }
        return Int64(bitPattern: v)
    }
}

@inline(__always) func hex2(_ b: UInt8) -> String {
    let s = String(b, radix: 16)
    return s.count == 1 ? "0" + s : s
}
