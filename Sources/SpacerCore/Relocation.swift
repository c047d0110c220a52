/// The x86-64 relocation kinds spacer-sim models, by their table spelling.
///
/// The type decides the value written into the field: PC-relative kinds write `S + A − P`,
/// absolute kinds write `S + A`, truncated to `width` bytes (System V x86-64 psABI §4.4).
public enum RelocationType: String, CaseIterable, Sendable, Hashable {
    case pc32, plt32, gotpcrel, gotpcrelx, rexGotpcrelx = "rex_gotpcrelx"
    case pc64, pc16, pc8
    case abs64, abs32, abs32s, abs16, abs8
    case tpoff32, gottpoff, tlsgd, tlsld, dtpoff32, size32, size64

    /// Field width in bytes.
    public var width: Int {
        switch self {
        case .pc64, .abs64, .size64: return 8
        case .pc16, .abs16: return 2
        case .pc8, .abs8: return 1
        default: return 4
        }
    }
    /// Whether the value is relative to the field's own address (`S + A − P`).
    public var isPCRelative: Bool {
        switch self {
        case .pc32, .plt32, .gotpcrel, .gotpcrelx, .rexGotpcrelx, .pc64, .pc16, .pc8, .gottpoff, .tlsgd, .tlsld:
            return true
        default: return false
        }
    }
    /// The table type for an ELF `R_X86_64_*` number, or nil for a type spacer-sim does not model.
    public init?(elfType: UInt32) {
        switch elfType {
        case 1: self = .abs64
        case 2: self = .pc32
        case 4: self = .plt32
        case 9: self = .gotpcrel
        case 10: self = .abs32
        case 11: self = .abs32s
        case 12: self = .abs16
        case 13: self = .pc16
        case 14: self = .abs8
        case 15: self = .pc8
        case 19: self = .tlsgd
        case 20: self = .tlsld
        case 21: self = .dtpoff32
        case 22: self = .gottpoff
        case 23: self = .tpoff32
        case 24: self = .pc64
        case 32: self = .size32
        case 33: self = .size64
        case 41: self = .gotpcrelx
        case 42: self = .rexGotpcrelx
        default: return nil
        }
    }
}

/// One relocation of a function or data entry: a field at `offset` bytes from the entry's start
/// whose value depends on where `target` is placed.
public struct Relocation: Hashable, Sendable {
    /// Byte offset of the field within the entry.
    public var offset: Int
    public var type: RelocationType
    /// Symbol name as the table spells it (function, data entry, or an external symbol).
    public var target: String
    /// The addend A, in bytes.
    public var addend: Int64

    public init(offset: Int, type: RelocationType, target: String, addend: Int64) {
        self.offset = offset; self.type = type; self.target = target; self.addend = addend
    }

    /// Whether the field has the shape of a direct branch's rel32 (a `call`, `jmp` or `jcc` to a
    /// symbol): `plt32` or `pc32` with addend −4, so that the branch lands exactly on `S`.
    ///
    /// Only such a field may be sent through a jump slot (`TrampolineSlot`): the branch then
    /// lands on the slot, whose `jmp` continues to the target. A data reference or a function's
    /// address taken as a value must never go through a slot (the slot is code, not the data, and
    /// `&f` would no longer compare equal to `&f` taken elsewhere). The shape is necessary, not
    /// sufficient (`lea f(%rip)` has it too); the target must also be a function
    /// (`Workload.symbolIsFunction`), and `place --emit-ld` checks the opcode byte (E8, E9,
    /// 0F 80–8F) in the object before it emits a slot.
    public var hasDirectBranchShape: Bool { (type == .plt32 || type == .pc32) && addend == -4 }

    /// Table spelling `offset:type:target:addend`.
    public var encoded: String { "\(offset):\(type.rawValue):\(target):\(addend)" }
}
