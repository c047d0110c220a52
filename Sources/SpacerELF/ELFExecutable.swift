import SpacerCore

/// One program header of an ELF64 executable (`Elf64_Phdr`). Addresses and sizes are in bytes.
public struct ELFSegment: Sendable, Hashable {
    /// `p_type` (`PT_LOAD` = 1, `PT_TLS` = 7, …).
    public var type: UInt32
    /// `p_flags`: `PF_X` = 1, `PF_W` = 2, `PF_R` = 4.
    public var flags: UInt32
    /// File offset of the segment's bytes.
    public var offset: Int
    /// Virtual address of the first byte.
    public var vaddr: UInt64
    /// Bytes taken from the file (`p_filesz`); checked to lie inside the file.
    public var fileSize: Int
    /// Bytes in memory (`p_memsz` ≥ `p_filesz`); the rest is zero-filled.
    public var memSize: UInt64
    public var isLoad: Bool { type == ELFExecutable.PT_LOAD }
    public var isWritable: Bool { flags & 2 != 0 }
    public var isExecutable: Bool { flags & 1 != 0 }
}

/// A linked x86-64 ELF64 little-endian executable or shared object (`ET_EXEC` or `ET_DYN`): its
/// program headers, for cutting loadable segments into pages (`PageMeasure`).
///
/// `init` checks the ELF header and every program header with checked arithmetic: entry size 56,
/// the table inside the file, `p_filesz ≤ p_memsz`, file bytes inside the file, every segment
/// under 1 TiB and ending at or below `maxLoadEnd`. Errors are
/// `SpacerError.data` with `location` = `byte N`.
public struct ELFExecutable: Sendable {
    public static let PT_LOAD: UInt32 = 1
    /// The highest end address (`p_vaddr + p_memsz`) of a segment: 2^64 − 2^30, so that every
    /// page of every supported size (up to 2^30) starts and ends without overflow. (x86-64 user
    /// space ends below 2^57; kernel images sit below 2^64 − 2^31.)
    public static let maxLoadEnd: UInt64 = 0xFFFF_FFFF_C000_0000
    /// The name errors give.
    public let file: String
    /// The file's bytes: a copy of the array given to `init(bytes:file:)`, or a read-only
    /// mapping of the file (`init(mapped:)`); at a fixed address while any copy of this value lives.
    private let storage: FileBytes
    /// The file's bytes, as a new array (use `withUnsafeBytes` to read them in place).
    public var bytes: [UInt8] { Array(storage.raw.bindMemory(to: UInt8.self)) }
    /// The number of bytes in the file.
    public var count: Int { storage.raw.count }
    /// The file's bytes in place, valid while this value (or a copy of it) lives.
    var unsafeBytes: UnsafeRawBufferPointer { storage.raw }
    /// `e_type`: 2 executable, 3 shared object / PIE.
    public let type: UInt16
    public let entry: UInt64
    /// All program headers, in table order.
    public let segments: [ELFSegment]

    /// Calls `body` with the file's bytes, without copying them (valid only inside `body`).
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(storage) { try body(storage.raw) }
    }

    /// Parses `bytes` as a linked x86-64 ELF64 file.
    /// - Throws: `SpacerError.data` for a non-ELF, 32-bit, big-endian, relocatable (`ET_REL`: link
    ///   it first) or non-x86-64 file, a truncated header or program header table, a segment whose
    ///   file bytes lie outside the file, or `p_filesz > p_memsz`.
    public init(bytes: [UInt8], file: String) throws {
        self.file = file
        self.storage = FileBytes(copying: bytes)
        (type, entry, segments) = try Self.parse(storage.raw, file: file)
    }

    /// Parses the mapped file `mapped` (named `mapped.path` in errors) as `init(bytes:file:)`
    /// does, keeping the mapping instead of a copy of its bytes.
    /// - Throws: as `init(bytes:file:)`.
    public init(mapped: MappedFile) throws {
        self.file = mapped.path
        self.storage = FileBytes(mapped: mapped)
        (type, entry, segments) = try Self.parse(mapped.bytes, file: mapped.path)
    }

    /// The header checks of `init(bytes:file:)` over raw bytes: `e_type`, `e_entry` and the
    /// program headers.
    private static func parse(_ bytes: UnsafeRawBufferPointer, file: String) throws -> (UInt16, UInt64, [ELFSegment]) {
        let r = HeaderReader(bytes: bytes, file: file)
        guard bytes.count >= 4, bytes[0] == 0x7f, bytes[1] == 0x45, bytes[2] == 0x4c, bytes[3] == 0x46 else {
            throw SpacerError.data(file: file, location: "byte 0", expected: "an ELF file (magic 7f 45 4c 46)",
                                   found: bytes.isEmpty ? "an empty file" : "bytes " + bytes.prefix(4).map { hex2($0) }.joined(separator: " "))
        }
        try r.require(0, 64, "an ELF header")
        guard bytes[4] == 2 else { throw SpacerError.data(file: file, location: "byte 4", expected: "a 64-bit ELF (ELFCLASS64)", found: "class \(bytes[4])") }
        guard bytes[5] == 1 else { throw SpacerError.data(file: file, location: "byte 5", expected: "a little-endian ELF", found: "data encoding \(bytes[5])") }
        let type = try r.u16(16, "e_type")
        guard type == 2 || type == 3 else {
            throw SpacerError.data(file: file, location: "byte 16", expected: "a linked executable (ET_EXEC or ET_DYN)",
                                   found: type == 1 ? "a relocatable object (ET_REL): link it first" : "e_type \(type)")
        }
        let machine = try r.u16(18, "e_machine")
        guard machine == ELFConst.EM_X86_64 else {
            throw SpacerError.data(file: file, location: "byte 18", expected: "an x86-64 executable (e_machine 62)", found: "e_machine \(machine)")
        }
        let entry = try r.u64(24, "e_entry")
        let phoff = try r.u64(32, "e_phoff")
        let phentsize = try r.u16(54, "e_phentsize")
        let phnum = Int(try r.u16(56, "e_phnum"))
        guard phnum == 0 || phentsize == 56 else {
            throw SpacerError.data(file: file, location: "byte 54", expected: "program header entries of 56 bytes (e_phentsize)", found: "\(phentsize)")
        }
        let base = try r.require(phoff, UInt64(phnum) * 56, "a program header table of \(phnum) entries", field: 32)
        var segs: [ELFSegment] = []
        for k in 0..<phnum {
            let h = base + 56 * k
            let off = try r.u64(h + 8, "p_offset"), vaddr = try r.u64(h + 16, "p_vaddr")
            let filesz = try r.u64(h + 32, "p_filesz"), memsz = try r.u64(h + 40, "p_memsz")
            let ptype = try r.u32(h, "p_type")
            guard filesz <= memsz else {
                throw SpacerError.data(file: file, location: "byte \(h + 32)", expected: "p_filesz ≤ p_memsz in program header \(k)", found: "\(filesz) > \(memsz)")
            }
            guard memsz < 1 << 40, vaddr <= Self.maxLoadEnd - memsz else {
                throw SpacerError.data(file: file, location: "byte \(h + 16)", expected: "a segment under 1 TiB that ends at or below 0x\(String(Self.maxLoadEnd, radix: 16)) in program header \(k)",
                                       found: "address 0x\(String(vaddr, radix: 16)), size \(memsz)")
            }
            let o = ptype == Self.PT_LOAD ? try r.require(off, filesz, "the file bytes of segment \(k)", field: h + 8) : Int(clamping: off)
            segs.append(ELFSegment(type: ptype, flags: try r.u32(h + 4, "p_flags"), offset: o, vaddr: vaddr,
                                   fileSize: Int(filesz), memSize: memsz))
        }
        return (type, entry, segs)
    }

    /// The loadable segments (`PT_LOAD`), in table order.
    public var loadSegments: [ELFSegment] { segments.filter(\.isLoad) }
}

/// The bytes of an `ELFExecutable`: its own copy, or a mapped file kept alive.
private final class FileBytes: @unchecked Sendable {
    let raw: UnsafeRawBufferPointer
    private let mapping: MappedFile?

    init(copying bytes: [UInt8]) {
        let b = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 16)
        bytes.withUnsafeBytes { b.copyMemory(from: $0) }
        raw = UnsafeRawBufferPointer(b)
        mapping = nil
    }

    init(mapped: MappedFile) {
        raw = mapped.bytes
        mapping = mapped
    }

    deinit { if mapping == nil { raw.deallocate() } }
}

/// Bounds-checked little-endian reads of header fields from raw bytes, with `ByteReader`'s
/// errors (`location` = `byte N`).
private struct HeaderReader {
    let bytes: UnsafeRawBufferPointer
    let file: String

    func require(_ offset: Int, _ length: Int, _ what: String) throws {
        guard offset >= 0, length >= 0, offset <= bytes.count, length <= bytes.count - offset else {
            throw ByteReader.truncated(file: file, count: bytes.count, what, at: offset, length: length)
        }
    }

    func require(_ offset: UInt64, _ length: UInt64, _ what: String, field: Int) throws -> Int {
        guard offset <= UInt64(bytes.count), length <= UInt64(bytes.count) - offset else {
            throw ByteReader.outside(file: file, count: bytes.count, what, offset: offset, length: length, field: field)
        }
        return Int(offset)
    }

    func u16(_ at: Int, _ what: String) throws -> UInt16 {
        try require(at, 2, what)
        return UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt16.self))
    }

    func u32(_ at: Int, _ what: String) throws -> UInt32 {
        try require(at, 4, what)
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self))
    }

    func u64(_ at: Int, _ what: String) throws -> UInt64 {
        try require(at, 8, what)
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self))
    }
}
