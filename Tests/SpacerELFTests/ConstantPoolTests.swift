import Foundation
import Testing
import SpacerCore
import SpacerIO
@testable import SpacerELF

/// Mergeable constant pools (`.rodata.cst4/8/16/32`) split into one content-addressed row per
/// constant, with or without relocations, checked against `readelf -r` and `readelf -x`.
@Suite(.enabled(if: Toolchain.available, "gcc, readelf or ar not found on PATH: ELF fixtures are compiled at test time"))
struct ConstantPoolTests {
    /// The bytes of section `name` as `readelf -x` dumps them (relocations not applied).
    static func hexDump(_ s: Scratch, _ object: String, _ name: String) throws -> [UInt8] {
        var out: [UInt8] = []
        for line in try s.run(Toolchain.readelf!, ["-x", name, object]).split(separator: "\n") {
            let t = line.split(separator: " ", omittingEmptySubsequences: true)
            guard t.count >= 2, t[0].hasPrefix("0x") else { continue }
            for word in t.dropFirst().prefix(4) where word.count % 2 == 0 && word.allSatisfy(\.isHexDigit) {
                var i = word.startIndex
                while i < word.endIndex {
                    let j = word.index(i, offsetBy: 2)
                    out.append(UInt8(word[i..<j], radix: 16)!)
                    i = j
                }
            }
        }
        return out
    }

    /// One line of `readelf -rW`: the relocation section it belongs to, offset, type, symbol
    /// value and name, addend.
    struct ReadelfRela { var section: String, offset: Int, type: String, value: Int, symbol: String, addend: Int64 }

    static func relocations(_ s: Scratch, _ object: String) throws -> [ReadelfRela] {
        var out: [ReadelfRela] = [], current = ""
        for line in try s.run(Toolchain.readelf!, ["-rW", object]).split(separator: "\n") {
            if line.hasPrefix("Relocation section '") {
                current = String(line.split(separator: "'")[1]); continue
            }
            let t = line.split(separator: " ").map(String.init)
            guard t.count == 7, t[2].hasPrefix("R_X86_64_"), let off = Int(t[0], radix: 16), let value = Int(t[3], radix: 16),
                  let mag = Int64(t[6], radix: 16) else { continue }
            out.append(ReadelfRela(section: current, offset: off, type: t[2], value: value, symbol: t[4], addend: t[5] == "-" ? -mag : mag))
        }
        return out
    }

    /// The expected row name of an 8-byte constant carrying relocations: `cst8.` + FNV-1a 64 of
    /// `<hash>,<relocs>`, hash over its bytes with the relocation fields zeroed.
    static func relocatedName(_ e: Int, zeroed: [UInt8], relocs: String) -> String {
        "cst\(e)." + FNV1a64.hex(Array((FNV1a64.hex(zeroed) + "," + relocs).utf8))
    }

    /// Hand-written pool (offsets worked out by hand): .LCa 0 = 3.125, .LCc 8 = 3.5, .LCp 16 and
    /// .LCq 24 = &g_target (two identical constants with a relocation), .LCb 32 = 3.125 again;
    /// pool end 40. A cst16 pair {&g_target, &g_target + 1}.
    static let pool = """
            .section .text.f_pool,"ax",@progbits
            .globl f_pool
            .type f_pool,@function
        f_pool:
            movsd .LCa(%rip), %xmm0
            addsd .LCb(%rip), %xmm0
            movl $.LCc+4, %eax
            movl $.Lend, %edx
            movq .LCp(%rip), %rcx
            movq .LCq(%rip), %rsi
            movdqa .LCv(%rip), %xmm1
            ret
            .size f_pool, .-f_pool
            .section .text.g_target,"ax",@progbits
            .type g_target,@function
        g_target:
            ret
            .size g_target, .-g_target
            .section .rodata.cst8,"aM",@progbits,8
            .align 8
        .LCa: .quad 0x4009000000000000
        .LCc: .quad 0x400c000000000000
        .LCp: .quad g_target
        .LCq: .quad g_target
        .LCb: .quad 0x4009000000000000
        .Lend:
            .section .rodata.cst16,"aM",@progbits,16
            .align 16
        .LCv: .quad g_target, g_target+1

        """

    /// Every reference into the pool names the constant holding the byte it points at, with the
    /// residual addend that keeps S + A; identical constants are one row; constants with
    /// relocations carry them; alignment is the entry size.
    @Test func handWrittenPoolSplitsIntoConstants() throws {
        let s = try Scratch()
        let obj = try s.assemble("pool", Self.pool)
        let rows = try extract([obj])
        let bytes = try Self.hexDump(s, obj, ".rodata.cst8")
        #expect(bytes.count == 40)
        let f = try #require(rows.named("f_pool"))
        let pi = Array(bytes[0..<8])   // 3.125
        let plain = "cst8." + FNV1a64.hex(pi)
        let half = "cst8." + FNV1a64.hex(Array(bytes[8..<16]))
        let pointer = Self.relocatedName(8, zeroed: [UInt8](repeating: 0, count: 8), relocs: "0:abs64:g_target:0")
        let pair = Self.relocatedName(16, zeroed: [UInt8](repeating: 0, count: 16), relocs: "0:abs64:g_target:0 8:abs64:g_target:1")
        // By hand: .LCa and .LCb (same bytes) -> one row, addend -4; $.LCc+4 -> inside .LCc, 4;
        // $.Lend -> the end of the last constant (.LCb = 3.125), 8; .LCp and .LCq -> one row.
        #expect(f.relocations.map { "\($0.type.rawValue):\($0.target):\($0.addend)" } == [
            "pc32:\(plain):-4", "pc32:\(plain):-4", "abs32:\(half):4", "abs32:\(plain):8",
            "pc32:\(pointer):-4", "pc32:\(pointer):-4", "pc32:\(pair):-4"])
        // The same, derived from readelf: S + A of each raw relocation (symbol value + addend)
        // lands in the 8-byte constant holding S + A (+4 when PC-relative), at the same residual.
        let raw = try Self.relocations(s, obj).filter { $0.section == ".rela.text.f_pool" && !$0.symbol.contains("cst16") && !$0.symbol.hasPrefix(".LCv") }
        #expect(raw.count == 6)
        for (r, row) in zip(raw, f.relocations) {
            let sa = Int64(r.value) + r.addend
            let pointed = min(Int(sa) + (r.type == "R_X86_64_PC32" ? 4 : 0), 39)
            let start = pointed / 8 * 8
            #expect(row.addend == sa - Int64(start), "\(r.symbol)")
            let target = try #require(rows.named(row.target))
            #expect(target.hash == FNV1a64.hex(start == 16 || start == 24 ? [UInt8](repeating: 0, count: 8) : Array(bytes[start..<(start + 8)])))
        }
        // Three cst8 rows (3.125, 3.5, &g_target) and one cst16, each aligned to its entry size.
        let constants = rows.filter { $0.name.hasPrefix("cst") }
        #expect(constants.map(\.name).sorted() == [pair, plain, half, pointer].sorted())
        for c in constants {
            #expect(c.kind == .rodata && c.binding == .local && c.align == c.size && c.section.hasPrefix(".rodata.cst"))
        }
        // Plain constants are library-wide; constants with relocations belong to their object and
        // carry readelf's relocations (.rela.rodata.cst8: R_X86_64_64 g_target at 16 and 24).
        #expect(rows.named(plain)!.object.isEmpty && rows.named(half)!.object.isEmpty)
        let p = try #require(rows.named(pointer))
        #expect(p.object == "pool.o" && p.relocations == [Relocation(offset: 0, type: .abs64, target: "g_target", addend: 0)])
        let rawPool = try Self.relocations(s, obj).filter { $0.section == ".rela.rodata.cst8" }
        #expect(rawPool.map(\.offset) == [16, 24] && rawPool.allSatisfy { $0.type == "R_X86_64_64" && $0.addend == 0 })
        #expect(rows.named(pair)!.relocations.map(\.addend) == [0, 1])
        // A valid table, literal rows right after their first reference.
        let back = try TableCSV.parse(TableCSV.render([FunctionTable(library: "p", version: "1", entries: rows)]), file: "p.csv")
        #expect(back[0].entries == rows)
        let fi = rows.firstIndex { $0.name == "f_pool" }!
        #expect(rows[(fi + 1)...].prefix(4).map(\.name) == [plain, half, pointer, pair])
    }

    /// A relocation field across two entries cannot be split: the pool stays one data row with
    /// its relocation, as before.
    @Test func fieldAcrossConstantsKeepsThePoolWhole() throws {
        let s = try Scratch()
        let obj = try s.assemble("odd", """
                .section .text.f_odd,"ax",@progbits
                .globl f_odd
                .type f_odd,@function
            f_odd:
                movq .LCo(%rip), %rax
                ret
                .size f_odd, .-f_odd
                .section .rodata.cst8,"aM",@progbits,8
                .align 8
            .LCo: .long 7
                .quad f_odd
                .long 0

            """)
        let rows = try extract([obj])
        let pool = try #require(rows.named(".rodata.cst8"))
        #expect(pool.kind == .rodata && pool.size == 16 && pool.object == "odd.o")
        #expect(pool.relocations == [Relocation(offset: 4, type: .abs64, target: "f_odd", addend: 0)])
        #expect(rows.named("f_odd")!.relocations.map(\.target) == [".rodata.cst8"])
    }

    /// gcc with the project's flags: doubles and a function-pointer constant in `.rodata.cst8`
    /// (with relocations, as SQLite's pool has). A second release adds a constant in an earlier
    /// function, which moves every later constant in the pool (readelf shows the labels move);
    /// the unchanged functions keep byte-identical rows, relocations included.
    @Test func unchangedFunctionsKeepTheirRowsWhenThePoolMoves() throws {
        func source(_ v: Int) -> String {
            """
            double first(double x) { return x * \(v == 1 ? "2.0" : "2.0 + 0.125 * x"); }
            typedef struct W { int (*a)(struct W *, int); int (*b)(struct W *, int); void (*c)(struct W *, int); int depth; } W;
            static int cbA(W *w, int x) { return w->depth + x; }
            static int cbB(W *w, int x) { return w->depth * 3 + x; }
            static void cbC(W *w, int x) { w->depth = x; }
            extern int walk(W *w, int x);
            int run_walk(int x) { W w; w.a = cbA; w.b = cbB; w.c = cbC; w.depth = 0; return walk(&w, x); }
            double scale(double x) { return x * 3.25 + 1.5; }
            """
        }
        let s = try Scratch()
        var tables: [[TableEntry]] = []
        var labels: [[String: Int]] = []
        for v in 1...2 {
            try FileManager.default.createDirectory(atPath: s.path("v\(v)"), withIntermediateDirectories: true)
            let obj = try s.compile("v\(v)/w", source(v))
            let rows = try extract([obj])
            tables.append(rows)
            // Where scale's and run_walk's constants sit in this release's pool (label values).
            let raw = try Self.relocations(s, obj)
            labels.append(Dictionary(raw.filter { $0.symbol.hasPrefix(".LC") && ($0.section == ".rela.text.scale" || $0.section == ".rela.text.run_walk") }
                .map { ("\($0.section)@\($0.offset)", $0.value) }, uniquingKeysWith: { a, _ in a }))
            // The pool carries a relocation to cbB (gcc stores &cbB as a constant), so before
            // this change it stayed one row; now &cbB is a row of the object with that relocation.
            let poolRelocs = raw.filter { $0.section == ".rela.rodata.cst8" }
            #expect(poolRelocs.count == 1 && poolRelocs[0].type == "R_X86_64_64" && poolRelocs[0].symbol == ".text.cbB")
            let walk = try #require(rows.named("run_walk"))
            let ptr = try #require(walk.relocations.compactMap { rows.named($0.target) }.first { $0.name.hasPrefix("cst8.") })
            #expect(ptr.object == "w.o" && ptr.relocations == [Relocation(offset: 0, type: .abs64, target: "cbB", addend: 0)])
            #expect(ptr.name == Self.relocatedName(8, zeroed: [UInt8](repeating: 0, count: 8), relocs: "0:abs64:cbB:0"))
            // Plain constants hold readelf's bytes: every cst8 row without relocations is an
            // 8-byte slice of the dump at a multiple of 8.
            let dump = try Self.hexDump(s, obj, ".rodata.cst8")
            let slices = Set(stride(from: 0, to: dump.count, by: 8).map { FNV1a64.hex(Array(dump[$0..<($0 + 8)])) })
            for c in rows where c.name.hasPrefix("cst8.") && c.relocations.isEmpty {
                #expect(c.object.isEmpty && c.size == 8 && c.align == 8 && slices.contains(c.hash) && c.name == "cst8.\(c.hash)")
            }
            #expect(rows.named(".rodata.cst8") == nil)
        }
        // The pool moved under the unchanged functions ...
        #expect(labels[0] != labels[1], "the second release should move the constants: \(labels)")
        // ... and their rows did not change (name, size, hash, relocations).
        for name in ["scale", "run_walk", "cbA", "cbB", "cbC"] {
            let a = try #require(tables[0].named(name)), b = try #require(tables[1].named(name))
            #expect(a.hash == b.hash && a.relocations == b.relocations && a.size == b.size, "\(name)")
        }
        #expect(tables[0].named("first")!.hash != tables[1].named("first")!.hash)
    }
}
