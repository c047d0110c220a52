#include <zlib.h>
/* inflateInit2 is a macro in zlib.h; Swift cannot call macros, so wrap it. */
static inline int spacer_inflateInit2(z_streamp strm, int windowBits) {
    return inflateInit2(strm, windowBits);
}
static inline int spacer_deflateInit2(z_streamp strm, int level) {
    /* 15 + 16: gzip wrapper; deterministic (no time stamp is written by deflate itself). */
    return deflateInit2(strm, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
