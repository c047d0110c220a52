/* zlib driver for scripts/real-build.sh: compresses and uncompresses a deterministic buffer at
 * several levels and with the gzip and raw wrappers, and prints sizes and checksums. Its output
 * is the functional oracle: an image linked with an emitted script must print exactly what the
 * normal link of the same zlib version prints. Compiled once (against one zlib.h) for all
 * versions, so that the host part of every image is the same. */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include "zlib.h"

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

int main(void) {
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
