/* AVX-512 versions of the transforms that feed sgemm (the portable ones are in winograd.c and
 * im2col.c): Winograd F(2x2, 3x3) input and output transforms, 16 tiles of a tile row per zmm,
 * and im2col into packed panels, 16 output columns per zmm; masked loads and stores handle
 * image edges and short rows, so 7x7 and 14x14 images run as fast per element as large ones.
 * Compiled with -mavx512f (CMakeLists.txt); only called once the CPU reported AVX-512F. */
#include <stdbool.h>

#include "cpu/gemm.h"

#if defined(__AVX512F__)
#include <immintrin.h>

/* Lanes [0, n) set, n in [0, 16]. */
static inline __mmask16 first(int64_t n) {
    return n <= 0 ? 0 : n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
}

/* 16 floats of `row` at x0 + lane, zero where x0 + lane is outside [0, w). */
static inline __m512 load_row(const float *row, int64_t x0, int64_t w) {
    int64_t lo = -x0, hi = w - x0; /* valid lanes: [lo, hi) */
    __mmask16 m = (__mmask16)(first(hi) & ~first(lo));
    if (!m) return _mm512_setzero_ps();
    return _mm512_maskz_loadu_ps(m, row + x0);
}

/* Lanes [0, n) of v into row `row` of a packed B[k, cols] starting at column col, split at
 * the panel boundary (NR = 48 is a multiple of 16, so at most one split). */
static inline void store_packed(float *dst, int64_t k, int64_t cols, int64_t nr, int64_t row,
                                int64_t col, __m512 v, int64_t n) {
    int64_t c0 = col / nr * nr, nc = cols - c0 < nr ? cols - c0 : nr;
    int64_t wp = (nc + 15) / 16 * 16, p = c0 + nc - col < n ? c0 + nc - col : n;
    _mm512_mask_storeu_ps(dst + c0 * k + row * wp + (col - c0), first(p), v);
    if (p < n) {
        int64_t c1 = c0 + nr, nc1 = cols - c1 < nr ? cols - c1 : nr;
        int64_t wp1 = (nc1 + 15) / 16 * 16;
        __m512i shift = _mm512_add_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6,
                                                          5, 4, 3, 2, 1, 0),
                                         _mm512_set1_epi32((int)p));
        __m512 rest = _mm512_permutexvar_ps(shift, v);
        _mm512_mask_storeu_ps(dst + c1 * k + row * wp1, first(n - p), rest);
    }
}

/* Horizontal pass d B of 16 tiles of one input row: h[j] for tiles t0.. from row[x0 + 2t + 0..3]
 * (x0 = 2*t0 - pad_l). */
static inline void hpass(const float *row, int64_t x0, int64_t w, __m512 h[4]) {
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4,
                                          2, 0);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    if (!row) {
        for (int j = 0; j < 4; j++) h[j] = _mm512_setzero_ps();
        return;
    }
    __m512 a0 = load_row(row, x0, w), a1 = load_row(row, x0 + 16, w);
    __m512 b0 = load_row(row, x0 + 2, w), b1 = load_row(row, x0 + 18, w);
    __m512 d0 = _mm512_permutex2var_ps(a0, even, a1), d1 = _mm512_permutex2var_ps(a0, odd, a1);
    __m512 d2 = _mm512_permutex2var_ps(b0, even, b1), d3 = _mm512_permutex2var_ps(b0, odd, b1);
    h[0] = _mm512_sub_ps(d0, d2);
    h[1] = _mm512_add_ps(d1, d2);
    h[2] = _mm512_sub_ps(d2, d1);
    h[3] = _mm512_sub_ps(d1, d3);
}

void cinfer__wino_in_avx512(const cinfer__wino_io *io, const float *img, int64_t c,
                            int64_t col0) {
    const cinfer__wino_geom *g = io->g;
    int64_t tw = io->tw, th = io->tiles / tw;
    for (int64_t ty = 0; ty < th; ty++)
        for (int64_t t0 = 0; t0 < tw; t0 += 16) {
            __m512 h[4][4];
            for (int i = 0; i < 4; i++) {
                int64_t yy = ty * 2 - g->pad_t + i;
                hpass(yy >= 0 && yy < g->h ? img + yy * g->w : NULL, 2 * t0 - g->pad_l, g->w,
                      h[i]);
            }
            int64_t n = tw - t0 < 16 ? tw - t0 : 16, col = col0 + ty * tw + t0;
            for (int j = 0; j < 4; j++) {
                __m512 v[4] = {_mm512_sub_ps(h[0][j], h[2][j]), _mm512_add_ps(h[1][j], h[2][j]),
                               _mm512_sub_ps(h[2][j], h[1][j]), _mm512_sub_ps(h[1][j], h[3][j])};
                for (int q = 0; q < 4; q++)
                    store_packed(io->v + (4 * q + j) * io->vst, g->c, io->cols, io->nr, c, col,
                                 v[q], n);
            }
        }
}

void cinfer__wino_out_avx512(const cinfer__wino_io *io, const float *o, float bias_v,
                             float *out) {
    const cinfer__wino_geom *g = io->g;
    int64_t tw = io->tw, th = io->tiles / tw, mt = io->ost;
    const __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i hi = _mm512_add_epi32(lo, _mm512_set1_epi32(8));
    __m512 bias = _mm512_set1_ps(bias_v);
    for (int64_t ty = 0; ty < th; ty++)
        for (int64_t t0 = 0; t0 < tw; t0 += 16) {
            int64_t n = tw - t0 < 16 ? tw - t0 : 16;
            const float *src = o + ty * tw + t0;
            __m512 s[2][4];
            for (int j = 0; j < 4; j++) {
                __m512 o0 = _mm512_maskz_loadu_ps(first(n), src + j * mt);
                __m512 o1 = _mm512_maskz_loadu_ps(first(n), src + (4 + j) * mt);
                __m512 o2 = _mm512_maskz_loadu_ps(first(n), src + (8 + j) * mt);
                __m512 o3 = _mm512_maskz_loadu_ps(first(n), src + (12 + j) * mt);
                s[0][j] = _mm512_add_ps(_mm512_add_ps(o0, o1), o2);
                s[1][j] = _mm512_sub_ps(_mm512_sub_ps(o1, o2), o3);
            }
            int64_t x0 = 2 * t0, len = g->ow - x0 < 2 * n ? g->ow - x0 : 2 * n;
            for (int i = 0; i < 2 && ty * 2 + i < g->oh; i++) {
                __m512 e = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s[i][0], s[i][1]), s[i][2]),
                                         bias);
                __m512 d = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(s[i][1], s[i][2]), s[i][3]),
                                         bias);
                if (g->relu) {
                    e = _mm512_max_ps(e, _mm512_setzero_ps());
                    d = _mm512_max_ps(d, _mm512_setzero_ps());
                }
                float *y = out + (ty * 2 + i) * g->ow + x0;
                _mm512_mask_storeu_ps(y, first(len), _mm512_permutex2var_ps(e, lo, d));
                _mm512_mask_storeu_ps(y + 16, first(len - 16), _mm512_permutex2var_ps(e, hi, d));
            }
        }
}

/* ---- im2col into packed-B panels ---- */

/* Where the next column of packed-B row `row` goes: panel q, column pos of its nc. */
typedef struct panel_cursor {
    float *base, *o;
    int64_t k, n, nr, row, q, pos, nc;
} panel_cursor;

static inline void cursor_set(panel_cursor *c, int64_t q) {
    int64_t c0 = q * c->nr;
    c->q = q;
    c->nc = c->n - c0 < c->nr ? c->n - c0 : c->nr;
    c->o = c->base + c0 * c->k + c->row * ((c->nc + 15) / 16 * 16);
    c->pos = 0;
}

/* Appends lanes [0, n) of v (n <= 16 <= nr: at most one panel boundary inside). */
static inline void cursor_put16(panel_cursor *c, __m512 v, int64_t n) {
    int64_t p = c->nc - c->pos < n ? c->nc - c->pos : n;
    _mm512_mask_storeu_ps(c->o + c->pos, first(p), v);
    c->pos += p;
    if (c->pos == c->nc && (c->q + 1) * c->nr < c->n) {
        cursor_set(c, c->q + 1);
        if (p < n) {
            __m512i shift = _mm512_add_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6,
                                                              5, 4, 3, 2, 1, 0),
                                             _mm512_set1_epi32((int)p));
            _mm512_mask_storeu_ps(c->o, first(n - p), _mm512_permutexvar_ps(shift, v));
            c->pos = n - p;
        }
    }
}

/* 16 output columns of one image row: row[x0 + s*l] for lanes l (s = 1 or 2), zero where the
 * position is outside [0, w). */
static inline __m512 gather_row(const float *row, int64_t x0, int64_t s, int64_t w) {
    if (s == 1) return load_row(row, x0, w);
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4,
                                          2, 0);
    return _mm512_permutex2var_ps(load_row(row, x0, w), even, load_row(row, x0 + 16, w));
}

void cinfer__im2col_packed_avx512(const cinfer__im2col_geom *g, const float *x, float *dst,
                                  int64_t k0, int64_t kc, int64_t n0, int64_t nc) {
    int64_t ks = g->k[0] * g->k[1] * g->k[2], o1 = g->out[1], o2 = g->out[2];
    int64_t in_size = g->in[0] * g->in[1] * g->in[2], sw = g->stride[2];
    panel_cursor c = {.base = dst, .k = kc, .n = nc, .nr = 48};
    for (int64_t r = k0; r < k0 + kc; r++) {
        int64_t t = r % ks, kk[3] = {t / (g->k[1] * g->k[2]), t / g->k[2] % g->k[1], t % g->k[2]};
        int64_t off[3];
        for (int i = 0; i < 3; i++) off[i] = kk[i] * g->dil[i] - g->pad[i];
        const float *src = x + r / ks * in_size;
        c.row = r - k0;
        cursor_set(&c, 0);
        int64_t od = n0 / (o1 * o2), oh = n0 / o2 % o1, ow = n0 % o2;
        for (int64_t left = nc; left > 0; ow = 0) {
            int64_t len = o2 - ow < left ? o2 - ow : left;
            int64_t id = od * g->stride[0] + off[0], ih = oh * g->stride[1] + off[1];
            const float *row = id >= 0 && id < g->in[0] && ih >= 0 && ih < g->in[1]
                                   ? src + (id * g->in[1] + ih) * g->in[2]
                                   : NULL;
            for (int64_t j = 0; j < len; j += 16) {
                int64_t n = len - j < 16 ? len - j : 16;
                __m512 v = row ? gather_row(row, (ow + j) * sw + off[2], sw, g->in[2])
                               : _mm512_setzero_ps();
                cursor_put16(&c, v, n);
            }
            left -= len;
            if (++oh == o1) {
                oh = 0;
                od++;
            }
        }
        /* The last panel's padding columns. */
        int64_t wp = (c.nc + 15) / 16 * 16;
        _mm512_mask_storeu_ps(c.o + c.pos, (__mmask16)(first(wp - c.pos) & 0xFFFF),
                              _mm512_setzero_ps());
        if (wp - c.pos > 16) _mm512_mask_storeu_ps(c.o + c.pos + 16, first(wp - c.pos - 16),
                                                   _mm512_setzero_ps());
    }
}

#else
/* Not an x86 build with AVX-512: never selected (winograd.c checks the CPU first). */
void cinfer__wino_in_avx512(const cinfer__wino_io *io, const float *img, int64_t c,
                            int64_t col0) {
    (void)io, (void)img, (void)c, (void)col0;
}
void cinfer__wino_out_avx512(const cinfer__wino_io *io, const float *o, float bias_v,
                             float *out) {
    (void)io, (void)o, (void)bias_v, (void)out;
}
void cinfer__im2col_packed_avx512(const cinfer__im2col_geom *g, const float *x, float *dst,
                                  int64_t k0, int64_t kc, int64_t n0, int64_t nc) {
    (void)g, (void)x, (void)dst, (void)k0, (void)kc, (void)n0, (void)nc;
}
#endif
