import Foundation
import Testing
import SpacerCore
import SpacerIO
@testable import SpacerELF

@Suite(.enabled(if: Toolchain.available, "gcc, readelf or ar not found on PATH: ELF fixtures are compiled at test time"))
struct ExtractorTests {
    /// Function rows are exactly the non-empty executable `.text.*` sections readelf lists, with
    /// readelf's sizes and alignments, named by a FUNC symbol at offset 0 of the section.
    @Test func functionSectionsAgreeWithReadelf() throws {
        let s = try Scratch()
        let obj = try s.compile("lib", Fixtures.library)
        let sections = try Readelf.sections(s, obj)
        let symbols = try Readelf.symbols(s, obj)
        let code = sections.filter { $0.flags.contains("A") && $0.flags.contains("X") && $0.size > 0 }
        let rows = try extract([obj])
        let functions = rows.functions
        #expect(functions.count == code.count)
        #expect(functions.map(\.section) == code.map(\.name))
        for (row, sec) in zip(functions, code) {
            #expect(row.size == sec.size, "\(sec.name)")
            #expect(row.align == max(sec.align, 1), "\(sec.name)")
            #expect(row.object == "lib.o")
            let names = symbols.filter { $0.ndx == String(sec.index) && $0.value == 0 && $0.type == "FUNC" }.map(\.name)
            #expect(names.contains(row.name), "\(sec.name): \(row.name) not among \(names)")
            let sym = symbols.first { $0.name == row.name && $0.ndx == String(sec.index) }
            #expect(sym.map { $0.bind.lowercased() } == row.binding.rawValue)
        }
        // Link order is a running index.
        #expect(rows.map(\.order) == Array(0..<rows.count))
        // The table is valid: it survives the strict CSV reader (unique symbols, fields inside rows).
        let table = FunctionTable(library: "lib", version: "1", entries: rows)
        let back = try TableCSV.parse(TableCSV.render([table]), file: "lib.csv")
        #expect(back[0].entries == rows)
    }

    @Test func bodyHashZeroesRelocationFields() throws {
        let s = try Scratch()
        let obj = try s.compile("lib", Fixtures.library)
        let rows = try extract([obj])
        let elf = try ELFObject(bytes: try s.bytes("lib.o"), file: "lib.o")
        let checked = try #require(rows.named("checked"))
        let sec = try #require(elf.sections.first { $0.name == ".text.checked" })
        var bytes = Array(elf.contents(of: sec.index))
        for r in checked.relocations { for i in r.offset..<(r.offset + r.type.width) { bytes[i] = 0 } }
        #expect(checked.hash == FNV1a64.hex(bytes))
        #expect(checked.relocations.map(\.offset) == checked.relocations.map(\.offset).sorted())
    }

    @Test func largeFunctionColdPartsAndClones() throws {
        let s = try Scratch()
        let obj = try s.compile("lib", Fixtures.library)
        let symbols = try Readelf.symbols(s, obj)
        let rows = try extract([obj])
        let big = try #require(rows.named("big_function"))
        #expect(big.size > 4096)
        #expect(big.size == symbols.first { $0.name == "big_function" }?.size)

        // Hot/cold splitting: `checked.cold` is its own row in .text.unlikely.checked, local, and
        // the hot part calls it by that name.
        let cold = try #require(rows.named("checked.cold"))
        #expect(cold.section == ".text.unlikely.checked")
        #expect(cold.binding == .local)
        #expect(rows.named("checked")!.relocations.contains { $0.target == "checked.cold" })
        #expect(cold.relocations.contains { $0.target.hasPrefix("fail") })

        // Clone names stay as gcc spells them (assert only those gcc made).
        let clones = symbols.filter { $0.type == "FUNC" && ($0.name.contains(".constprop.") || $0.name.contains(".isra.") || $0.name.contains(".part.")) }
        for c in clones { #expect(rows.named(c.name) != nil, "clone \(c.name)") }
        if let sc = clones.first(where: { $0.name.hasPrefix("scale.") }) {
            #expect(rows.named("use_scale")!.relocations.contains { $0.target == sc.name })
        }
    }

    @Test func dataRowsLiteralsAndRenamedStatics() throws {
        let s = try Scratch()
        let obj = try s.compile("lib", Fixtures.library)
        let rows = try extract([obj])
        // Only referenced data gets rows.
        #expect(rows.named("unused_table") == nil)
        // Numbered static locals: calls.0 -> calls.N, misses.1 -> misses.N; bss has no hash.
        let calls = try #require(rows.named("calls.N"))
        #expect(calls.kind == .bss && calls.hash.isEmpty && calls.binding == .local && calls.object == "lib.o")
        #expect(rows.named("misses.N")?.kind == .bss)
        #expect(rows.named("checked")!.relocations.contains { $0.target == "calls.N" })
        // A pointer table in .rodata referencing strings: rodata row with abs64 relocations to str rows.
        let colours = try #require(rows.named("colours"))
        #expect(colours.kind == .rodata && colours.size == 32)
        #expect(colours.relocations.map(\.type) == [.abs64, .abs64, .abs64, .abs64])
        for r in colours.relocations {
            let str = try #require(rows.named(r.target))
            #expect(str.name.hasPrefix("str.") && str.object.isEmpty && str.binding == .local && str.kind == .rodata)
            #expect(r.addend == 0)
        }
        #expect(Set(colours.relocations.map(\.target)).count == 4)
        let red = Array("red".utf8) + [0]
        #expect(rows.named("str." + FNV1a64.hex(red))?.size == 4)
        // Constants in .rodata.cst8 become cst8.<hash> rows.
        let poly = try #require(rows.named("poly"))
        let csts = poly.relocations.filter { $0.target.hasPrefix("cst8.") }
        #expect(!csts.isEmpty)
        for c in csts { #expect(rows.named(c.target)?.size == 8) }
        // Global data referenced by two functions: one row.
        #expect(rows.filter { $0.name == "shared_total" }.count == 1)
        // Literal rows appear once per table and right after their first reference.
        #expect(Set(rows.map(\.name)).count == rows.count)
        for (i, row) in rows.enumerated() where row.object.isEmpty {
            let first = rows.firstIndex { $0.relocations.contains { $0.target == row.name } }!
            #expect(first < i)
        }
    }

    /// A switch jump table (`.rodata.<fn>`, no symbol) is a row named by its section whose
    /// entries point back into the function.
    @Test func jumpTablesPointBackIntoTheirFunction() throws {
        let s = try Scratch()
        let obj = try s.compile("lib", Fixtures.library)
        let rows = try extract([obj])
        let jump = try #require(rows.named("jump"))
        let tables = jump.relocations.filter { rows.named($0.target)?.kind == .rodata && !$0.target.hasPrefix("str.") }
        for t in tables {
            let table = try #require(rows.named(t.target))
            #expect(table.relocations.allSatisfy { $0.target == "jump" && $0.addend > 0 && Int($0.addend) < jump.size })
        }
    }

    /// Aliases resolve to the row name; a reference from another object to an alias does too.
    @Test func aliasesAndGlobalsAcrossObjects() throws {
        let s = try Scratch()
        let a = try s.compile("a", """
            int value;
            int get(void) { return value; }
            int get_alias(void) __attribute__((alias("get")));
            __attribute__((weak)) int hook(int x) { return x + 1; }
            int table_a[4] = {1, 2, 3, 4};
            """)
        let b = try s.compile("b", """
            extern int get_alias(void);
            extern int value;
            extern int table_a[4];
            int hook(int x) { return x * 2; }
            int user(int i) { return get_alias() + value + table_a[i & 3] + hook(i); }
            """)
        let rows = try extract([a, b])
        let user = try #require(rows.named("user"))
        #expect(user.relocations.contains { $0.target == "get" && $0.type == .plt32 })
        #expect(!user.relocations.contains { $0.target == "get_alias" })
        // table_a is referenced only from b.o but defined in a.o: it is a row of a.o.
        #expect(rows.named("table_a")?.object == "a.o")
        #expect(rows.named("value")?.object == "a.o")
        // The strong hook of b.o wins over the weak one of a.o: one row.
        let hooks = rows.filter { $0.name == "hook" }
        #expect(hooks.count == 1)
        #expect(hooks.first?.object == "b.o" && hooks.first?.binding == .global)
    }

    /// Editing another part of a file (a new string literal, a new numbered static local, a new
    /// floating-point constant) renumbers `.LC` labels, shifts offsets in `.rodata.str1.1` and
    /// renumbers `x.N` statics (gcc 12 numbers statics and lays out strings from the end of the
    /// file, so edits both before and after are made), but must not change an untouched function.
    @Test func renumberingInvariance() throws {
        let s = try Scratch()
        let middle = """
            static const char *const words[] = {"alpha", "beta"};
            int untouched(int x) {
                static int hits;
                hits++;
                printf("value %d %s\\n", x, words[x & 1]);
                return x * 3.5 > 10.25 ? hits : -hits;
            }

            """
        let v1 = try s.compile("v1", "#include <stdio.h>\nint first(int x) { return x + 1; }\n" + middle)
        let v2 = try s.compile("v2", """
            #include <stdio.h>
            static const char *const before[] = {"zeta", "eta"};
            const char *first(int x) { static int seen; seen += x; printf("first %d\\n", seen); return before[x & 1] + (int)(x * 1.75); }

            """ + middle + """
            static const char *const after[] = {"theta", "iota"};
            const char *last(int x) { static int other; other += x; printf("last %d\\n", other); return after[x & 1] + (int)(x * 2.5); }
            """)
        // The edit really renumbered something in the raw object.
        let raw1 = try Readelf.symbols(s, v1).filter { $0.name.hasPrefix("hits.") || $0.name.hasPrefix(".LC") }.map { "\($0.name)@\($0.value)" }
        let raw2 = try Readelf.symbols(s, v2).filter { $0.name.hasPrefix("hits.") || $0.name.hasPrefix(".LC") }.map { "\($0.name)@\($0.value)" }
        #expect(Set(raw1) != Set(raw2))

        let r1 = try extract([v1]), r2 = try extract([v2])
        let u1 = try #require(r1.named("untouched")), u2 = try #require(r2.named("untouched"))
        #expect(u1.hash == u2.hash)
        #expect(u1.relocations == u2.relocations)
        #expect(u1.relocations.contains { $0.target == "hits.N" })
        #expect(u1.relocations.contains { $0.target.hasPrefix("cst8.") })
        #expect(r1.named("words")?.relocations == r2.named("words")?.relocations)
        #expect(r1.named("words")?.hash == r2.named("words")?.hash)
        #expect(r1.named("first")?.hash != r2.named("first")?.hash)

        // A changed string is visible: same bytes, different str.* target.
        let v3 = try s.compile("v3", "#include <stdio.h>\nint first(int x) { return x + 1; }\n"
                               + middle.replacingOccurrences(of: "value %d", with: "Value %d"))
        let u3 = try #require(try extract([v3]).named("untouched"))
        #expect(u3.hash == u1.hash)
        #expect(u3.relocations != u1.relocations)
        let changed = zip(u1.relocations, u3.relocations).filter { $0 != $1 }
        #expect(changed.count == 1 && changed.allSatisfy { $0.0.target.hasPrefix("str.") && $0.1.target.hasPrefix("str.") })
    }

    /// Two static locals with one name in one object: `x.N` and `x.N~2` in symbol-table order.
    @Test func collidingStaticsGetSuffixes() throws {
        let s = try Scratch()
        let obj = try s.compile("c", """
            int f(void) { static int n; return ++n; }
            int g(void) { static int n; return n += 2; }
            """)
        let rows = try extract([obj])
        let symbols = try Readelf.symbols(s, obj).filter { $0.name.hasPrefix("n.") }
        #expect(symbols.count == 2)
        let names = rows.filter { $0.kind == .bss }.map(\.name).sorted()
        #expect(names == ["n.N", "n.N~2"])
        let f = try #require(rows.named("f")), g = try #require(rows.named("g"))
        #expect(Set(f.relocations.map(\.target)).count == 1 && Set(g.relocations.map(\.target)).count == 1)
        #expect(f.relocations[0].target != g.relocations[0].target)
    }

    /// Two static functions with one name in two members of an archive are two rows.
    @Test func sameStaticNameInTwoArchiveMembers() throws {
        let s = try Scratch()
        try s.compile("a", "__attribute__((noinline)) static int helper(int x) { return x * 5 + 1; }\nint fa(int x) { return helper(x) + helper(x + 2); }\n")
        try s.compile("b", "__attribute__((noinline)) static int helper(int x) { return x * 9 - 4; }\nint fb(int x) { return helper(x) - helper(x ^ 3); }\n")
        try s.run(Toolchain.ar!, ["rcs", "libab.a", "a.o", "b.o"])
        let rows = try extract([s.path("libab.a")])
        let helpers = rows.filter { $0.name.hasPrefix("helper") }
        #expect(helpers.count == 2)
        #expect(Set(helpers.map(\.object)) == ["a.o", "b.o"])
        #expect(helpers.allSatisfy { $0.binding == .local })
        #expect(helpers[0].hash != helpers[1].hash)
        #expect(rows.named("fa")?.object == "a.o" && rows.named("fb")?.object == "b.o")
        #expect(rows.named("fa")!.relocations.allSatisfy { $0.target.hasPrefix("helper") })
        _ = try TableCSV.parse(TableCSV.render([FunctionTable(library: "ab", version: "1", entries: rows)]), file: "ab.csv")
    }

    /// Archive members with long names (the `//` table) keep their names.
    @Test func longMemberNames() throws {
        let s = try Scratch()
        try s.compile("a_member_with_a_rather_long_name", "int long_named(int x) { return x + 41; }\n")
        try s.compile("short", "int short_named(int x) { return x - 41; }\n")
        try s.run(Toolchain.ar!, ["rcs", "libl.a", "a_member_with_a_rather_long_name.o", "short.o"])
        let rows = try extract([s.path("libl.a")])
        #expect(rows.named("long_named")?.object == "a_member_with_a_rather_long_name.o")
        #expect(rows.named("short_named")?.object == "short.o")
    }

    /// Without -ffunction-sections, functions are carved out of .text by their symbols.
    @Test func carveModeWithoutFunctionSections() throws {
        let s = try Scratch()
        let obj = try s.compile("plain", Fixtures.library, flags: ["-O2", "-fno-pic"])
        let sections = try Readelf.sections(s, obj)
        let symbols = try Readelf.symbols(s, obj)
        let rows = try extract([obj])
        let text = try #require(sections.first { $0.name == ".text" })
        let funcs = symbols.filter { $0.type == "FUNC" && $0.ndx == String(text.index) && $0.size > 0 }
        let textRows = rows.functions.filter { $0.section == ".text" }
        // One row per address (aliases such as total_alias share one).
        #expect(textRows.count == Set(funcs.map(\.value)).count)
        for row in textRows {
            let sym = try #require(funcs.first { $0.name == row.name })
            #expect(row.size == sym.size)
            #expect(row.align == text.align)
        }
        #expect(rows.named("big_function")!.size > 4096)
        // Cold parts live in .text.unlikely, carved the same way.
        #expect(rows.named("checked.cold")?.section == ".text.unlikely")
        // References between .text and .text.unlikely go through section symbols + addend and
        // resolve to the function they land in.
        #expect(rows.named("checked")!.relocations.contains { $0.target == "checked.cold" })
        #expect(rows.named("jump.cold")!.relocations.contains { $0.target == "jump" && $0.addend > 0 })
        // A call to a local function of the same section was resolved by the assembler: no
        // relocation, the displacement is part of the body (documented limit of carve mode).
        #expect(!rows.named("use_scale")!.relocations.contains { $0.target.hasPrefix("scale") })
        // Data without -fdata-sections: one row per referenced section, named by its symbol at
        // offset 0; other objects in it are that row plus an addend.
        let bss = try #require(rows.first { $0.section == ".bss" })
        #expect(rows.named("checked")!.relocations.contains { $0.target == bss.name })
        #expect(rows.map(\.order) == Array(0..<rows.count))
        _ = try TableCSV.parse(TableCSV.render([FunctionTable(library: "p", version: "1", entries: rows)]), file: "p.csv")
    }

    /// Input order is link order; a later object's rows follow an earlier object's.
    @Test func linkOrderFollowsInputOrder() throws {
        let s = try Scratch()
        let a = try s.compile("a", "int fa1(int x) { return x + 1; }\nint fa2(int x) { return x + 2; }\n")
        let b = try s.compile("b", "int fb(int x) { return x + 3; }\n")
        #expect(try extract([a, b]).functions.map(\.name) == ["fa1", "fa2", "fb"])
        #expect(try extract([b, a]).functions.map(\.name) == ["fb", "fa1", "fa2"])
    }

    /// Tentative definitions (`-fcommon`) in two objects merge into one bss row.
    @Test func commonSymbolsMerge() throws {
        let s = try Scratch()
        let a = try s.compile("a", "int tentative[4];\nint fa(int i) { return tentative[i & 3]; }\n", flags: Toolchain.sectionFlags + ["-fcommon"])
        let b = try s.compile("b", "int tentative[8];\nint fb(int i) { return tentative[i & 7] + 1; }\n", flags: Toolchain.sectionFlags + ["-fcommon"])
        let rows = try extract([a, b])
        let t = rows.filter { $0.name == "tentative" }
        #expect(t.count == 1)
        #expect(t.first?.kind == .bss && t.first?.size == 32 && t.first?.section == "COMMON" && t.first?.object == "a.o")
    }

    /// Thread-local data: .tbss is bss, .tdata is data; TLS relocation types are modelled.
    @Test func threadLocalData() throws {
        let s = try Scratch()
        let src = "__thread int tls_zero;\n__thread int tls_init = 7;\nint bump(void) { tls_zero++; return tls_zero + tls_init; }\n"
        let rows = try extract([try s.compile("tls", src)])
        #expect(rows.named("tls_zero")?.kind == .bss)
        #expect(rows.named("tls_init")?.kind == .data)
        #expect(rows.named("bump")!.relocations.allSatisfy { $0.type == .tpoff32 })
        // Position-independent code: GOT and TLS general-dynamic relocations.
        let pic = try extract([try s.compile("pic", src + Fixtures.library, flags: ["-O2", "-ffunction-sections", "-fdata-sections", "-fPIC"])])
        let types = Set(pic.flatMap { $0.relocations.map(\.type) })
        #expect(types.contains(.tlsgd) || types.contains(.gottpoff))
        #expect(types.contains(.rexGotpcrelx) || types.contains(.gotpcrel) || types.contains(.gotpcrelx))
        _ = try TableCSV.parse(TableCSV.render([FunctionTable(library: "pic", version: "1", entries: pic)]), file: "pic.csv")
    }

    /// SHT_REL entries keep their addend in the field: read sign-extended by width.
    @Test func implicitAddends() {
        let bytes: [UInt8] = [0xfc, 0xff, 0xff, 0xff, 0x10, 0, 0, 0, 0, 0, 0, 0x80]
        #expect(ELFObject.implicitAddend(bytes, at: 0, width: 4) == -4)
        #expect(ELFObject.implicitAddend(bytes, at: 4, width: 8) == Int64(bitPattern: 0x8000_0000_0000_0010))
        #expect(ELFObject.implicitAddend(bytes, at: 4, width: 1) == 16)
        #expect(ELFObject.implicitAddend(bytes, at: 0, width: 2) == -4)
    }

    /// Hand-written assembly: a FUNC symbol without .size runs to the next function; a global
    /// call inside one section keeps its relocation.
    @Test func carveAssemblyWithUnsizedFunctions() throws {
        let s = try Scratch()
        let obj = try s.assemble("asm", """
                .text
                .globl asm_one
                .type asm_one, @function
            asm_one:
                call asm_two
                ret
                .p2align 4
                .globl asm_two
                .type asm_two, @function
            asm_two:
                movl $1, %eax
                call memcpy
                ret
                .size asm_two, .-asm_two

            """)
        let rows = try extract([obj])
        #expect(rows.functions.map(\.name) == ["asm_one", "asm_two"])
        #expect(rows.named("asm_one")?.size == 16)
        #expect(rows.named("asm_two")?.size == 11)
        #expect(rows.named("asm_one")?.relocations.map(\.target) == ["asm_two"])
        #expect(rows.named("asm_two")?.relocations.map(\.target) == ["memcpy"])
    }
}
