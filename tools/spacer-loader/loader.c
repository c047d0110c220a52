/* spacer-loader: a user-space loader for the static x86-64 executables of scripts/real-build.sh
 * (issue 13 items 1 and 2). It runs an image's code from memory that a page-level dedup mechanism
 * can share, as guest memory of a VM is:
 *
 *   spacer-loader [--ksm | --ksm-all] [--pool FILE] [--] ELF [ARG...]
 *   spacer-loader --build-pool FILE ELF...
 *   spacer-loader --pool-stats FILE
 *
 * Loading: every page that a PT_LOAD segment overlaps (the pages of docs/design.md §4, as
 * Sources/SpacerELF/PageMeasure.swift cuts them) is mapped anonymous, private and populated
 * (MAP_POPULATE, so every page is resident, as the static count assumes; bss pages are real zero
 * pages, not the kernel's shared zero page) at its address with MAP_FIXED_NOREPLACE; the segments'
 * file bytes are copied in program-header order (a later segment replacing an earlier one), the
 * rest stays zero; then each page gets the union of the protections of the segments overlapping
 * it. The initial stack is the kernel's layout (argc, argv, envp, auxv); the auxv is the loader's
 * own (AT_RANDOM, AT_HWCAP, AT_HWCAP2, AT_SYSINFO_EHDR, AT_CLKTCK, AT_SECURE, AT_MINSIGSTKSZ ... are
 * passed through) with AT_PHDR, AT_PHNUM, AT_PHENT, AT_ENTRY, AT_EXECFN replaced and AT_BASE = 0
 * (no interpreter). Static glibc finds its TLS template through AT_PHDR, so when the program
 * headers are not inside a loaded segment a copy is kept in memory the image never reuses. The
 * loader unregisters its own rseq area before the jump so that the image's glibc registers its own.
 *
 * --ksm      madvise(MADV_MERGEABLE) on the image's mappings only: KSM may merge the image pages
 *            (the pages the simulator predicts), not heap, stack or the loader's own memory.
 * --ksm-all  prctl(PR_SET_MEMORY_MERGE, 1) (Linux >= 6.4) as well: every anonymous page of the
 *            process is mergeable, as a whole VM's memory is; falls back to --ksm with a warning.
 * --pool F   loader mode (Spacer-SLT style): every read-only page (no writable segment overlaps
 *            it) is mapped MAP_SHARED from the content-addressed page pool F, which holds each
 *            distinct read-only page once; writable pages stay private. A page missing from the
 *            pool is an error (exit 65): the pool must be built from the same images.
 * --build-pool F ELF...  writes F: the distinct read-only pages of the images, each once, in
 *            order of first appearance. Its size in pages equals `spacer-sim measure`'s read-only
 *            frames of the same images. Written to F.tmp and renamed.
 * --pool-stats F  prints "pool F: N pages".
 *
 * The pool is content-addressed without a separate index file: the loader hashes the pool's pages
 * at start (a few thousand pages, well under a millisecond) and looks each read-only page of the
 * image up by hash, comparing the bytes before it maps one (so a hash collision never maps wrong
 * bytes). One file, so the pool and its index can never disagree.
 *
 * Why a separate C program built by gcc -static-pie and not a SwiftPM C target: the loader must
 * not itself occupy the images' fixed addresses (0x400000 for a normal link, the zones below and
 * at 0x70000000 for emitted scripts); a static PIE is placed by the kernel near the top of the
 * address space with its heap, and it has no dynamic loader or Swift runtime mapped into the
 * process whose memory is being measured. Built by tools/spacer-loader/build.sh (or the `run`
 * command / tests, which call the same script).
 *
 * Exit statuses: the image's own on success (the loader execs into it); 64 usage, 65 bad ELF or
 * pool mismatch, 66 cannot open input, 70 mapping failed, 73 cannot write the pool.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/rseq.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PAGE 4096UL
#define EX_USAGE 64
#define EX_DATAERR 65
#define EX_NOINPUT 66
#define EX_SOFTWARE 70
#define EX_CANTCREAT 73

static void die(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void die(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("spacer-loader: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(code);
}

/* One image file, read whole. */
struct image {
    const char *path;
    unsigned char *bytes;
    size_t size;
    Elf64_Ehdr *eh;
    Elf64_Phdr *ph;
};

static void read_image(const char *path, struct image *im) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) die(EX_NOINPUT, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) die(EX_NOINPUT, "%s: cannot stat: %s", path, strerror(errno));
    im->path = path;
    im->size = (size_t)st.st_size;
    im->bytes = mmap(NULL, im->size ? im->size : 1, PROT_READ, MAP_PRIVATE, fd, 0);
    if (im->bytes == MAP_FAILED) die(EX_NOINPUT, "%s: cannot map: %s", path, strerror(errno));
    close(fd);
    if (im->size < sizeof(Elf64_Ehdr) || memcmp(im->bytes, ELFMAG, SELFMAG) != 0)
        die(EX_DATAERR, "%s: expected an ELF file", path);
    im->eh = (Elf64_Ehdr *)im->bytes;
    if (im->eh->e_ident[EI_CLASS] != ELFCLASS64 || im->eh->e_machine != EM_X86_64 || im->eh->e_type != ET_EXEC)
        die(EX_DATAERR, "%s: expected a static x86-64 ELF64 executable (ET_EXEC), found class %d machine %d type %d", path,
            im->eh->e_ident[EI_CLASS], im->eh->e_machine, im->eh->e_type);
    if (im->eh->e_phentsize != sizeof(Elf64_Phdr) || im->eh->e_phoff > im->size ||
        (im->size - im->eh->e_phoff) / sizeof(Elf64_Phdr) < im->eh->e_phnum)
        die(EX_DATAERR, "%s: program header table outside the file", path);
    im->ph = (Elf64_Phdr *)(im->bytes + im->eh->e_phoff);
    for (int k = 0; k < im->eh->e_phnum; k++) {
        Elf64_Phdr *p = &im->ph[k];
        if (p->p_type == PT_INTERP) die(EX_DATAERR, "%s: has PT_INTERP: only static executables are loaded", path);
        if (p->p_type != PT_LOAD) continue;
        if (p->p_filesz > p->p_memsz || p->p_offset > im->size || im->size - p->p_offset < p->p_filesz)
            die(EX_DATAERR, "%s: PT_LOAD %d: file bytes outside the file or p_filesz > p_memsz", path, k);
        if (p->p_vaddr + p->p_memsz < p->p_vaddr || p->p_vaddr + p->p_memsz > 0x7f0000000000UL)
            die(EX_DATAERR, "%s: PT_LOAD %d: address range outside user space", path, k);
    }
}

/* The page intervals [first, end) (in pages) that the loadable segments overlap, merged. */
struct span { uint64_t first, end; };

static int spans(const struct image *im, struct span *out, int cap) {
    /* Segments sorted by address (insertion sort; a handful of segments). */
    int idx[64], n = 0;
    for (int k = 0; k < im->eh->e_phnum && n < 64; k++)
        if (im->ph[k].p_type == PT_LOAD && im->ph[k].p_memsz > 0) idx[n++] = k;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && im->ph[idx[j]].p_vaddr < im->ph[idx[j - 1]].p_vaddr; j--) {
            int t = idx[j]; idx[j] = idx[j - 1]; idx[j - 1] = t;
        }
    int m = 0;
    for (int i = 0; i < n; i++) {
        const Elf64_Phdr *p = &im->ph[idx[i]];
        uint64_t first = p->p_vaddr / PAGE, end = (p->p_vaddr + p->p_memsz - 1) / PAGE + 1;
        if (m > 0 && first <= out[m - 1].end) {
            if (end > out[m - 1].end) out[m - 1].end = end;
        } else {
            if (m == cap) die(EX_DATAERR, "%s: more than %d separate page ranges", im->path, cap);
            out[m].first = first; out[m].end = end; m++;
        }
    }
    return m;
}

/* Writes page `pn`'s bytes into `dst` (PAGE bytes) as PageMeasure.assemble does; returns its
 * protection (PROT_* union of the overlapping segments). */
static int page_bytes(const struct image *im, uint64_t pn, unsigned char *dst) {
    uint64_t ps = pn * PAGE, pe = ps + PAGE;
    int prot = 0;
    memset(dst, 0, PAGE);
    for (int k = 0; k < im->eh->e_phnum; k++) {
        const Elf64_Phdr *p = &im->ph[k];
        if (p->p_type != PT_LOAD || p->p_memsz == 0) continue;
        uint64_t lo = ps > p->p_vaddr ? ps : p->p_vaddr, hi = pe < p->p_vaddr + p->p_memsz ? pe : p->p_vaddr + p->p_memsz;
        if (lo >= hi) continue;
        prot |= (p->p_flags & PF_R ? PROT_READ : 0) | (p->p_flags & PF_W ? PROT_WRITE : 0) | (p->p_flags & PF_X ? PROT_EXEC : 0);
        uint64_t fend = p->p_vaddr + p->p_filesz < hi ? p->p_vaddr + p->p_filesz : hi;
        if (lo < fend) memcpy(dst + (lo - ps), im->bytes + p->p_offset + (lo - p->p_vaddr), fend - lo);
        if ((lo > fend ? lo : fend) < hi) memset(dst + ((lo > fend ? lo : fend) - ps), 0, hi - (lo > fend ? lo : fend));
    }
    return prot;
}

/* ---- the content-addressed pool ---- */

static uint64_t page_hash(const unsigned char *p) {   /* FNV-1a, 64 bit, over the 4096 bytes */
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < PAGE; i++) { h ^= p[i]; h *= 1099511628211ULL; }
    return h;
}

struct table { uint64_t *hash; int64_t *page; size_t cap; };   /* open addressing, page -1 = empty */

static void table_init(struct table *t, size_t n) {
    t->cap = 16;
    while (t->cap < 2 * n + 16) t->cap *= 2;
    t->hash = calloc(t->cap, sizeof *t->hash);
    t->page = malloc(t->cap * sizeof *t->page);
    if (!t->hash || !t->page) die(EX_SOFTWARE, "out of memory");
    for (size_t i = 0; i < t->cap; i++) t->page[i] = -1;
}

/* The pool page with bytes `p`, or -1; `base` holds the pool's pages. */
static int64_t table_find(const struct table *t, const unsigned char *base, const unsigned char *p, uint64_t h) {
    for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        if (t->page[i] < 0) return -1;
        if (t->hash[i] == h && memcmp(base + (size_t)t->page[i] * PAGE, p, PAGE) == 0) return t->page[i];
    }
}

static void table_add(struct table *t, uint64_t h, int64_t page) {
    size_t i = h & (t->cap - 1);
    while (t->page[i] >= 0) i = (i + 1) & (t->cap - 1);
    t->hash[i] = h; t->page[i] = page;
}

static int build_pool(const char *out, int n, char **paths) {
    size_t total = 0;
    struct image *ims = calloc((size_t)n, sizeof *ims);
    struct span sp[64];
    for (int i = 0; i < n; i++) {
        read_image(paths[i], &ims[i]);
        int m = spans(&ims[i], sp, 64);
        for (int j = 0; j < m; j++) total += sp[j].end - sp[j].first;
    }
    unsigned char *pool = malloc(total * PAGE + PAGE);
    if (!pool) die(EX_SOFTWARE, "out of memory for %zu pages", total);
    struct table t;
    table_init(&t, total);
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        int m = spans(&ims[i], sp, 64);
        for (int j = 0; j < m; j++)
            for (uint64_t pn = sp[j].first; pn < sp[j].end; pn++) {
                unsigned char *slot = pool + used * PAGE;
                if (page_bytes(&ims[i], pn, slot) & PROT_WRITE) continue;
                uint64_t h = page_hash(slot);
                if (table_find(&t, pool, slot, h) >= 0) continue;
                table_add(&t, h, (int64_t)used);
                used++;
            }
    }
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", out) >= (int)sizeof tmp) die(EX_USAGE, "pool path too long");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) die(EX_CANTCREAT, "%s: cannot create: %s", tmp, strerror(errno));
    for (size_t off = 0; off < used * PAGE;) {
        ssize_t w = write(fd, pool + off, used * PAGE - off);
        if (w <= 0) die(EX_CANTCREAT, "%s: write failed: %s", tmp, strerror(errno));
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, out) != 0) die(EX_CANTCREAT, "%s: cannot commit: %s", out, strerror(errno));
    printf("pool %s: %zu pages\n", out, used);
    return 0;
}

/* ---- loading and starting an image ---- */

extern char **environ;

static void unregister_rseq(void) {
#ifdef RSEQ_SIG
    if (__rseq_size > 0) {
        struct rseq *area = (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
        syscall(SYS_rseq, area, (uint32_t)__rseq_size < 32 ? 32 : (uint32_t)__rseq_size, RSEQ_FLAG_UNREGISTER, RSEQ_SIG);
    }
#endif
}

static void usage(void) {
    fputs("usage: spacer-loader [--ksm | --ksm-all] [--pool FILE] [--] ELF [ARG...]\n"
          "       spacer-loader --build-pool FILE ELF...\n"
          "       spacer-loader --pool-stats FILE\n", stderr);
    exit(EX_USAGE);
}

int main(int argc, char **argv) {
    int ksm = 0, a = 1;
    const char *poolPath = NULL;
    for (; a < argc; a++) {
        if (!strcmp(argv[a], "--ksm")) ksm = 1;
        else if (!strcmp(argv[a], "--ksm-all")) ksm = 2;
        else if (!strcmp(argv[a], "--pool") && a + 1 < argc) poolPath = argv[++a];
        else if (!strcmp(argv[a], "--build-pool") && a + 2 < argc) return build_pool(argv[a + 1], argc - a - 2, argv + a + 2);
        else if (!strcmp(argv[a], "--pool-stats") && a + 1 < argc) {
            struct stat st;
            if (stat(argv[a + 1], &st) != 0) die(EX_NOINPUT, "%s: %s", argv[a + 1], strerror(errno));
            printf("pool %s: %lld pages\n", argv[a + 1], (long long)(st.st_size / (off_t)PAGE));
            return 0;
        } else if (!strcmp(argv[a], "--")) { a++; break; }
        else if (argv[a][0] == '-') usage();
        else break;
    }
    if (a >= argc) usage();
    struct image im;
    read_image(argv[a], &im);

    /* The pool: mapped read-only, its pages hashed. */
    int poolFd = -1;
    unsigned char *pool = NULL;
    size_t poolPages = 0;
    struct table t = {0};
    if (poolPath) {
        poolFd = open(poolPath, O_RDONLY | O_CLOEXEC);
        if (poolFd < 0) die(EX_NOINPUT, "%s: cannot open the pool: %s", poolPath, strerror(errno));
        struct stat st;
        if (fstat(poolFd, &st) != 0 || st.st_size % (off_t)PAGE != 0)
            die(EX_DATAERR, "%s: a pool is a whole number of %lu-byte pages", poolPath, PAGE);
        poolPages = (size_t)st.st_size / PAGE;
        if (poolPages) {
            pool = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, poolFd, 0);
            if (pool == MAP_FAILED) die(EX_SOFTWARE, "%s: cannot map the pool: %s", poolPath, strerror(errno));
        }
        table_init(&t, poolPages);
        for (size_t i = 0; i < poolPages; i++) table_add(&t, page_hash(pool + i * PAGE), (int64_t)i);
    }

    /* Map and fill. */
    struct span sp[64];
    int m = spans(&im, sp, 64);
    unsigned char buf[PAGE] __attribute__((aligned(64)));
    for (int j = 0; j < m; j++) {
        size_t len = (sp[j].end - sp[j].first) * PAGE;
        void *want = (void *)(sp[j].first * PAGE);
        void *got = mmap(want, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_POPULATE, -1, 0);
        if (got != want)
            die(EX_SOFTWARE, "%s: cannot map pages %#lx-%#lx: %s", im.path, (unsigned long)(sp[j].first * PAGE),
                (unsigned long)(sp[j].end * PAGE), got == MAP_FAILED ? strerror(errno) : "the kernel chose another address");
        for (uint64_t pn = sp[j].first; pn < sp[j].end; pn++) {
            int prot = page_bytes(&im, pn, buf);
            memcpy((void *)(pn * PAGE), buf, PAGE);
            if (pool && !(prot & PROT_WRITE)) {
                int64_t k = table_find(&t, pool, buf, page_hash(buf));
                if (k < 0) die(EX_DATAERR, "%s: read-only page %#lx is not in the pool %s (build the pool from the same images)",
                               im.path, (unsigned long)(pn * PAGE), poolPath);
                if (mmap((void *)(pn * PAGE), PAGE, prot, MAP_SHARED | MAP_FIXED | MAP_POPULATE, poolFd, (off_t)k * (off_t)PAGE) == MAP_FAILED)
                    die(EX_SOFTWARE, "%s: cannot map pool page %lld at %#lx: %s", im.path, (long long)k,
                        (unsigned long)(pn * PAGE), strerror(errno));
            } else if (mprotect((void *)(pn * PAGE), PAGE, prot) != 0)
                die(EX_SOFTWARE, "%s: mprotect %#lx: %s", im.path, (unsigned long)(pn * PAGE), strerror(errno));
        }
        if (ksm && madvise(want, len, MADV_MERGEABLE) != 0)
            die(EX_SOFTWARE, "%s: madvise(MADV_MERGEABLE) %#lx+%zu: %s (is the kernel built with CONFIG_KSM?)", im.path,
                (unsigned long)want, len, strerror(errno));
    }
    if (ksm == 2 && prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0) != 0)
        fprintf(stderr, "spacer-loader: prctl(PR_SET_MEMORY_MERGE): %s; only the image mappings are mergeable\n", strerror(errno));
    if (pool) munmap(pool, poolPages * PAGE);
    if (poolFd >= 0) close(poolFd);

    /* AT_PHDR: the program headers in the image's memory, or a copy that stays mapped. */
    uint64_t phdr = 0;
    for (int k = 0; k < im.eh->e_phnum; k++)
        if (im.ph[k].p_type == PT_PHDR) phdr = im.ph[k].p_vaddr;
    for (int k = 0; !phdr && k < im.eh->e_phnum; k++) {
        const Elf64_Phdr *p = &im.ph[k];
        if (p->p_type == PT_LOAD && im.eh->e_phoff >= p->p_offset &&
            im.eh->e_phoff + im.eh->e_phnum * sizeof(Elf64_Phdr) <= p->p_offset + p->p_filesz)
            phdr = p->p_vaddr + (im.eh->e_phoff - p->p_offset);
    }
    if (!phdr) {
        void *copy = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (copy == MAP_FAILED) die(EX_SOFTWARE, "cannot map the program header copy");
        memcpy(copy, im.ph, im.eh->e_phnum * sizeof(Elf64_Phdr));
        phdr = (uint64_t)copy;
    }

    /* The initial stack, on a fresh 8 MiB mapping: argc, argv, NULL, envp, NULL, auxv, AT_NULL. */
    int iargc = argc - a;
    size_t nenv = 0;
    while (environ[nenv]) nenv++;
    Elf64_auxv_t own[64];
    int naux = 0;
    {
        int fd = open("/proc/self/auxv", O_RDONLY | O_CLOEXEC);
        if (fd < 0) die(EX_SOFTWARE, "/proc/self/auxv: %s", strerror(errno));
        ssize_t r = read(fd, own, sizeof own);
        close(fd);
        if (r <= 0) die(EX_SOFTWARE, "/proc/self/auxv: empty");
        naux = (int)(r / (ssize_t)sizeof(Elf64_auxv_t));
    }
    size_t stackSize = 8UL << 20;
    char *stack = mmap(NULL, stackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) die(EX_SOFTWARE, "cannot map a stack: %s", strerror(errno));
    size_t words = 1 + (size_t)iargc + 1 + nenv + 1 + 2 * ((size_t)naux + 8);
    uint64_t *sp0 = (uint64_t *)(((uintptr_t)(stack + stackSize - 256) - words * 8) & ~(uintptr_t)15);
    uint64_t *w = sp0;
    *w++ = (uint64_t)iargc;
    for (int i = 0; i < iargc; i++) *w++ = (uint64_t)argv[a + i];
    *w++ = 0;
    for (size_t i = 0; i < nenv; i++) *w++ = (uint64_t)environ[i];
    *w++ = 0;
    for (int i = 0; i < naux; i++) {
        uint64_t type = own[i].a_type, val = own[i].a_un.a_val;
        switch (type) {
        case AT_NULL: continue;
        case AT_PHDR: val = phdr; break;
        case AT_PHNUM: val = im.eh->e_phnum; break;
        case AT_PHENT: val = sizeof(Elf64_Phdr); break;
        case AT_ENTRY: val = im.eh->e_entry; break;
        case AT_BASE: val = 0; break;
        case AT_EXECFN: val = (uint64_t)argv[a]; break;
        default: break;
        }
        *w++ = type; *w++ = val;
    }
    *w++ = AT_NULL; *w++ = 0;
    uint64_t entry = im.eh->e_entry;
    munmap(im.bytes, im.size);   /* the file copy: the image runs from the mappings above only */
    fflush(NULL);
    unregister_rseq();
    /* The x86-64 process entry: rsp at argc, rdx = 0 (no rtld_fini), other registers cleared. */
    __asm__ volatile("mov %0, %%rsp\n\t"
                     "xor %%edx, %%edx\n\t"
                     "xor %%ebp, %%ebp\n\t"
                     "jmp *%1\n\t"
                     :: "c"(sp0), "a"(entry) : "memory");
    __builtin_unreachable();
}
