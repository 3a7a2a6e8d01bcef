/* im2col / col2im over up to 3 spatial dims, for GEMM-based Conv and ConvTranspose; and an
 * im2col that writes sgemm's packed-B layout directly (no column matrix in between). */
#include <stdbool.h>
#include <string.h>

#include "cpu/gemm.h"

/* Output positions o in [lo, hi) whose input position o*stride + offset lies in [0, in). */
static void valid_range(int64_t out, int64_t stride, int64_t offset, int64_t in, int64_t *lo,
                        int64_t *hi) {
    int64_t l = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
    int64_t h = in - 1 - offset < 0 ? 0 : (in - 1 - offset) / stride + 1;
    *lo = l < out ? l : out;
    *hi = h < out ? h : out;
    if (*hi < *lo) *hi = *lo;
}

/* One kernel tap of one channel: dst[od,oh,ow] = src[id,ih,iw] (zero outside the image). */
static void im2col_tap(const cinfer__im2col_geom *g, const float *src, float *dst,
                       const int64_t kk[3]) {
    int64_t off[3], lo[3], hi[3];
    for (int i = 0; i < 3; i++) {
        off[i] = kk[i] * g->dil[i] - g->pad[i];
        valid_range(g->out[i], g->stride[i], off[i], g->in[i], &lo[i], &hi[i]);
    }
    int64_t ow = g->out[2], plane = g->out[1] * ow, sw = g->stride[2];
    for (int64_t od = 0; od < g->out[0]; od++) {
        float *dplane = dst + od * plane;
        if (od < lo[0] || od >= hi[0]) {
            memset(dplane, 0, (size_t)plane * sizeof(float));
            continue;
        }
        const float *splane = src + (od * g->stride[0] + off[0]) * g->in[1] * g->in[2];
        for (int64_t oh = 0; oh < g->out[1]; oh++) {
            float *d = dplane + oh * ow;
            if (oh < lo[1] || oh >= hi[1]) {
                memset(d, 0, (size_t)ow * sizeof(float));
                continue;
            }
            /* Row of the image; x maps to column x*sw + off[2] (in range for lo..hi). */
            const float *s = splane + (oh * g->stride[1] + off[1]) * g->in[2];
            memset(d, 0, (size_t)lo[2] * sizeof(float));
            if (sw == 1)
                memcpy(d + lo[2], s + lo[2] + off[2], (size_t)(hi[2] - lo[2]) * sizeof(float));
            else
                for (int64_t x = lo[2]; x < hi[2]; x++) d[x] = s[x * sw + off[2]];
            memset(d + hi[2], 0, (size_t)(ow - hi[2]) * sizeof(float));
        }
    }
}

/* The adjoint of im2col_tap: dst image += src columns. */
static void col2im_tap(const cinfer__im2col_geom *g, const float *src, float *dst,
                       const int64_t kk[3]) {
    int64_t off[3], lo[3], hi[3];
    for (int i = 0; i < 3; i++) {
        off[i] = kk[i] * g->dil[i] - g->pad[i];
        valid_range(g->out[i], g->stride[i], off[i], g->in[i], &lo[i], &hi[i]);
    }
    int64_t ow = g->out[2], plane = g->out[1] * ow, sw = g->stride[2];
    for (int64_t od = lo[0]; od < hi[0]; od++) {
        float *dplane = dst + (od * g->stride[0] + off[0]) * g->in[1] * g->in[2];
        for (int64_t oh = lo[1]; oh < hi[1]; oh++) {
            const float *s = src + od * plane + oh * ow;
            float *d = dplane + (oh * g->stride[1] + off[1]) * g->in[2];
            for (int64_t x = lo[2]; x < hi[2]; x++) d[x * sw + off[2]] += s[x];
        }
    }
}

static void tap_of_row(const cinfer__im2col_geom *g, int64_t r, int64_t *c, int64_t kk[3]) {
    int64_t ksize = g->k[0] * g->k[1] * g->k[2];
    int64_t t = r % ksize;
    *c = r / ksize;
    kk[2] = t % g->k[2];
    kk[1] = t / g->k[2] % g->k[1];
    kk[0] = t / (g->k[2] * g->k[1]);
}

void cinfer__im2col(const cinfer__im2col_geom *g, const float *x, float *col, int64_t r0,
                    int64_t r1) {
    int64_t in_size = g->in[0] * g->in[1] * g->in[2];
    int64_t out_size = g->out[0] * g->out[1] * g->out[2];
    for (int64_t r = r0; r < r1; r++) {
        int64_t c, kk[3];
        tap_of_row(g, r, &c, kk);
        im2col_tap(g, x + c * in_size, col + r * out_size, kk);
    }
}

void cinfer__col2im(const cinfer__im2col_geom *g, const float *col, float *y, int64_t r0,
                    int64_t r1) {
    int64_t in_size = g->in[0] * g->in[1] * g->in[2];
    int64_t out_size = g->out[0] * g->out[1] * g->out[2];
    for (int64_t r = r0; r < r1; r++) {
        int64_t c, kk[3];
        tap_of_row(g, r, &c, kk);
        col2im_tap(g, col + r * out_size, y + c * in_size, kk);
    }
}

/* Packed-B im2col walks one row of the column matrix in order, keeping its place in the
 * panels (no divisions per run of columns). */
typedef struct pack_cursor {
    float *base, *o;          /* base of packed B; o: this row's segment in panel q */
    int64_t k, n, nr, vl, r;  /* rows, columns, panel width, vector length, row */
    int64_t q, pos, nc, wp;   /* panel, column within it, its columns, its padded width */
} pack_cursor;

static inline void cursor_panel(pack_cursor *c) {
    int64_t c0 = c->q * c->nr;
    c->nc = c->n - c0 < c->nr ? c->n - c0 : c->nr;
    c->wp = (c->nc + c->vl - 1) / c->vl * c->vl;
    c->o = c->base + c0 * c->k + c->r * c->wp;
    c->pos = 0;
}

/* Appends len columns: src[i * sw] for i in [lo, hi), zero elsewhere (src NULL: all zero). */
static inline __attribute__((always_inline)) void cursor_put(pack_cursor *c, int64_t len,
                                                             const float *src, int64_t sw,
                                                             int64_t lo, int64_t hi) {
    if (!src) lo = hi = len;
    int64_t i = 0;
    while (i < len) {
        int64_t s = i, e = len - i < c->nc - c->pos ? len : i + (c->nc - c->pos);
        float *o = c->o + c->pos;
        int64_t a = lo < e ? lo : e, v = hi < e ? hi : e;
        for (; i < a; i++) o[i - s] = 0.0f;
        if (sw == 1)
            for (; i < v; i++) o[i - s] = src[i];
        else if (sw == 2)
            for (; i < v; i++) o[i - s] = src[2 * i];
        else
            for (; i < v; i++) o[i - s] = src[i * sw];
        for (; i < e; i++) o[i - s] = 0.0f;
        c->pos += e - s;
        if (c->pos == c->nc && (c->q + 1) * c->nr < c->n) {
            c->q++;
            cursor_panel(c);
        }
    }
}

/* Row c->r of the packed block: columns [n0, n0 + nc) of one kernel tap. */
static inline __attribute__((always_inline)) void im2col_tap_packed(
    const cinfer__im2col_geom *g, const float *src, pack_cursor *c, const int64_t kk[3],
    int64_t n0) {
    int64_t off[3], lo[3], hi[3];
    for (int i = 0; i < 3; i++) {
        off[i] = kk[i] * g->dil[i] - g->pad[i];
        valid_range(g->out[i], g->stride[i], off[i], g->in[i], &lo[i], &hi[i]);
    }
    c->q = 0;
    cursor_panel(c);
    int64_t o1 = g->out[1], o2 = g->out[2], sw = g->stride[2];
    int64_t od = n0 / (o1 * o2), oh = n0 / o2 % o1, ow = n0 % o2;
    for (int64_t left = c->n; left > 0; ow = 0) {
        int64_t len = o2 - ow < left ? o2 - ow : left;
        const float *s = NULL;
        if (od >= lo[0] && od < hi[0] && oh >= lo[1] && oh < hi[1])
            s = src + ((od * g->stride[0] + off[0]) * g->in[1] + oh * g->stride[1] + off[1]) *
                          g->in[2] + off[2] + ow * sw;
        cursor_put(c, len, s, sw, lo[2] - ow, hi[2] - ow);
        left -= len;
        if (++oh == o1) {
            oh = 0;
            od++;
        }
    }
    for (int64_t j = c->pos; j < c->wp; j++) c->o[j] = 0.0f; /* the last panel's padding */
}

CINFER_SIMD_CLONES
void cinfer__im2col_packed(const cinfer__im2col_geom *g, const float *x, float *dst, int64_t k0,
                           int64_t kc, int64_t n0, int64_t nc) {
    const cinfer__sgemm_isa *isa = cinfer__sgemm_isa_get();
    if (isa->kernel == cinfer__ukr_avx512 && isa->nr == 48 && g->stride[2] <= 2) {
        cinfer__im2col_packed_avx512(g, x, dst, k0, kc, n0, nc);
        return;
    }
    int64_t in_size = g->in[0] * g->in[1] * g->in[2];
    pack_cursor c = {.base = dst, .k = kc, .n = nc, .nr = isa->nr, .vl = isa->vl};
    for (int64_t r = k0; r < k0 + kc; r++) {
        int64_t ch, kk[3];
        tap_of_row(g, r, &ch, kk);
        c.r = r - k0;
        im2col_tap_packed(g, x + ch * in_size, &c, kk, n0);
    }
}
