/* zlib driver for scripts/real-build.sh: compresses and uncompresses a deterministic buffer at
 * several levels and with the gzip and raw wrappers, and prints sizes and checksums. Its output
 * is the functional oracle: an image linked with an emitted script must print exactly what the
 * normal link of the same zlib version prints. Compiled once (against one zlib.h) for all
 * versions, so that the host part of every image is the same.
 *
 * Loop mode (issue 13, `spacer-sim run`): with SPACER_DRIVER_LOOP=N in the environment the
 * workload runs N times (0: until the process is stopped), stdout carries the oracle output of the
 * first run only (so it is the same as without the variable), and stderr one line per run,
 * "iteration K ns T", its wall-clock time (CLOCK_MONOTONIC). With SPACER_DRIVER_IDLE=1 as well,
 * the process then waits (pause) until it is stopped, its memory unchanged: what `run` measures
 * when the pages must be stable for KSM. */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "zlib.h"

static int quiet;   /* after the first run of loop mode: print nothing on stdout */
#define printf(...) (quiet ? 0 : printf(__VA_ARGS__))

#define N 262144
static unsigned char src[N], comp[N + N / 8 + 1024], back[N];

static int roundtrip(int level, int windowBits, int strategy) {
    z_stream s;
    memset(&s, 0, sizeof s);
    if (deflateInit2(&s, level, Z_DEFLATED, windowBits, 8, strategy) != Z_OK) return printf("deflateInit2 failed\n"), 1;
    s.next_in = src; s.avail_in = N; s.next_out = comp; s.avail_out = sizeof comp;
    if (deflate(&s, Z_FINISH) != Z_STREAM_END) return printf("deflate failed\n"), 1;
    unsigned long clen = s.total_out;
    deflateEnd(&s);
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, windowBits) != Z_OK) return printf("inflateInit2 failed\n"), 1;
    s.next_in = comp; s.avail_in = (uInt)clen; s.next_out = back; s.avail_out = N;
    int rc = inflate(&s, Z_FINISH);
    unsigned long blen = s.total_out;
    inflateEnd(&s);
    printf("level %d window %d strategy %d: %lu -> %lu bytes, crc32 %08lx, back %lu bytes %s (rc %d)\n",
           level, windowBits, strategy, (unsigned long)N, clen, crc32(0, comp, (uInt)clen), blen,
           blen == N && memcmp(src, back, N) == 0 ? "identical" : "DIFFERENT", rc);
    return 0;
}

static int workload(void) {
    unsigned x = 12345;
    static const char alphabet[] = "the quick brown fox jumps over a lazy dog\n0123456789";
    for (int i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        src[i] = (i % 4096 < 2048) ? (unsigned char)alphabet[(x >> 16) % (sizeof alphabet - 1)] : (unsigned char)(x >> 24);
    }
    printf("zlib %s\n", zlibVersion());
    printf("input crc32 %08lx adler32 %08lx\n", crc32(0, src, N), adler32(1, src, N));
    uLongf clen = sizeof comp;
    if (compress2(comp, &clen, src, N, 6) != Z_OK) return printf("compress2 failed\n"), 1;
    uLongf blen = N;
    int rc = uncompress(back, &blen, comp, clen);
    printf("compress2/uncompress: %lu bytes, adler32 %08lx, rc %d, %s\n", (unsigned long)clen, adler32(1, comp, clen), rc,
           blen == N && memcmp(src, back, N) == 0 ? "identical" : "DIFFERENT");
    int bad = 0;
    for (int level = 0; level <= 9; level += 3) bad |= roundtrip(level, 15, Z_DEFAULT_STRATEGY);
    bad |= roundtrip(6, 31, Z_DEFAULT_STRATEGY);   /* gzip wrapper */
    bad |= roundtrip(6, -15, Z_FILTERED);          /* raw deflate */
    bad |= roundtrip(9, 15, Z_HUFFMAN_ONLY);
    bad |= roundtrip(6, 15, Z_RLE);
    printf("crc32_combine %08lx\n", crc32_combine(crc32(0, src, 1000), crc32(0, src + 1000, 5000), 5000));
    return bad;
}

#undef printf
int main(void) {
    const char *loop = getenv("SPACER_DRIVER_LOOP");
    if (!loop) return workload();
    long n = strtol(loop, 0, 10);
    int bad = 0;
    for (long k = 0; n <= 0 || k < n; k++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        bad |= workload();
        clock_gettime(CLOCK_MONOTONIC, &t1);
        quiet = 1;
        fflush(stdout);
        fprintf(stderr, "iteration %ld ns %lld\n", k, (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
    }
    const char *idle = getenv("SPACER_DRIVER_IDLE");
    if (idle && *idle == '1') for (;;) pause();
    return bad;
}
