#ifndef PORTPRESSURE_CZLIB_SHIM_H
#define PORTPRESSURE_CZLIB_SHIM_H
// zlib, for gzip response bodies. Only the HTTPServer module imports this.
#include <zlib.h>
// deflateInit2 is a macro; this shim is the callable form.
static inline int pp_deflate_init_gzip(z_streamp stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
#endif
