/// C sources compiled at test time.
enum Fixtures {
    /// A function of more than 4096 bytes of code: many volatile stores that -O2 cannot merge.
    static var bigFunction: String {
        var s = "int big_function(volatile int *p) {\n"
        for i in 0..<600 { s += "  p[\(i % 97)] = p[\((i * 7) % 89)] * \(i + 3) + \(i);\n" }
        return s + "  return p[0];\n}\n"
    }

    /// A small library touching every extraction rule: cold parts, clones, static locals, strings,
    /// pointer tables, constants, switch tables, an alias, a weak function, a large function.
    static var library: String {
        """
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>

        struct entry { const char *name; int (*fn)(int); };
        static int counter;
        int shared_total;
        int unused_table[64] = {1, 2, 3};
        static const char *const colours[] = {"red", "green", "blue", "cyan"};

        __attribute__((noinline, cold)) static void fail(const char *msg, int code) {
            fprintf(stderr, "fail: %s %d\\n", msg, code);
            abort();
        }

        int checked(int x) {
            if (__builtin_expect(x < 0, 0)) fail("negative", x);
            static int calls;
            calls++;
            return x * 2 + calls;
        }

        __attribute__((noinline)) static int scale(int x, int k) { return x * k + (x >> k) - (x & k); }
        int use_scale(int x) { return scale(x, 7) + scale(x + 1, 7); }

        static int twice(int x) { return 2 * x; }
        static int thrice(int x) { return 3 * x; }
        static const struct entry table[] = {{"twice", twice}, {"thrice", thrice}};

        int dispatch(const char *name, int x) {
            for (unsigned i = 0; i < sizeof table / sizeof table[0]; i++)
                if (strcmp(table[i].name, name) == 0) return table[i].fn(x);
            static int misses;
            misses++;
            return -1 - misses;
        }

        const char *colour(int i) { counter++; return colours[i & 3]; }

        double poly(double x) { return 1.5 * x * x + 2.25 * x + 3.125; }

        int classify(int c) {
            switch (c) {
            case 0: return 11; case 1: return 27; case 2: return 39; case 3: return 41;
            case 4: return 53; case 5: return 67; case 6: return 71; case 7: return 89;
            default: return 0;
            }
        }

        int jump(int c, int x) {
            switch (c) {
            case 0: puts("zero"); return x + 1;
            case 1: puts("one"); return x * 3;
            case 2: puts("two"); return x - 7;
            case 3: puts("three"); return x ^ 5;
            case 4: puts("four"); return x << 2;
            case 5: puts("five"); return x >> 1;
            default: return x;
            }
        }

        void add_total(int x) { shared_total += x; }
        int get_total(void) { return shared_total; }
        int total_alias(void) __attribute__((alias("get_total")));
        __attribute__((weak)) int hook(int x) { return x + 1; }

        """ + bigFunction
    }
}
