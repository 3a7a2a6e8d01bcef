/* Winograd F(2x2, 3x3) convolution for 3x3, stride-1, undilated, ungrouped 2-D Conv: 16
 * GEMMs of [M x C] x [C x tiles] replace the [M x 9C] x [9C x pixels] im2col GEMM, 2.25x fewer
 * multiply-adds. F(2x2, 3x3)'s transforms only scale by 1/2, so fp32 results stay within
 * a few ulps of the direct sum (F(4x4, 3x3) would save more but loses ~3 digits).
 *
 * The filters are transformed once (at prepare when W is constant) straight into sgemm's
 * packed-A layout; each run transforms a group of images into packed-B panels, runs the 16
 * GEMMs as one batched sgemm, and transforms the products back. */
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/gemm.h"

#define XI 16 /* transformed tile positions (4x4) */
/* Images transformed together: enough tile columns for full GEMM panels, bounded so the
 * transformed inputs and products stay a few MiB. */
#define WINO_COLS 256
#define WINO_MAX_FLOATS ((int64_t)2 << 20)

static int64_t tiles_of(const cinfer__wino_geom *g) {
    return ((g->oh + 1) / 2) * ((g->ow + 1) / 2);
}

/* Each of the 16 matrices of V and O starts one cache line after a multiple of its size:
 * the transforms stream through all 16 at once, and 16 streams a power of two apart would
 * share L1 sets. */
static int64_t pad_stride(int64_t floats) { return (floats + 15) / 16 * 16 + 16; }

static int64_t wino_group(const cinfer__wino_geom *g) {
    int64_t t = tiles_of(g), grp = (WINO_COLS + t - 1) / t;
    while (grp > 1 && XI * grp * t * (g->c + g->m) > WINO_MAX_FLOATS) grp--;
    return grp < g->n ? grp : g->n;
}

static void wino_strides(const cinfer__wino_geom *g, int64_t cols, int64_t *vst, int64_t *ost) {
    *vst = pad_stride(cinfer__pack_b_floats(g->c, cols));
    *ost = pad_stride(g->m * cols);
}

size_t cinfer__wino_scratch_floats(const cinfer__wino_geom *g) {
    int64_t vst, ost;
    wino_strides(g, wino_group(g) * tiles_of(g), &vst, &ost);
    return (size_t)(XI * (vst + ost));
}

size_t cinfer__wino_filter_floats(const cinfer__wino_geom *g) {
    return (size_t)(XI * g->m * g->c);
}

typedef struct wino_run {
    const cinfer__wino_geom *g;
    const float *x, *w, *b;
    float *y, *u, *v, *o;
    int64_t tiles, tw, grp, cols; /* images in this pass, tile columns of the pass */
    int64_t vst, ost;             /* strides between the 16 matrices of V, O */
    int64_t nr, vl;               /* sgemm's packed-B panel width and vector length */
    bool avx512;                  /* use the AVX-512 transforms */
    cinfer__wino_io io;
} wino_run;

/* U[xi] = (G g G^T)[xi] for the 3x3 filter g = W[m][c], written into the packed-A layout of
 * the 16 [M x C] matrices: (m, c) of a panel of rows [r0, r0 + w) is at r0*C + c*w + m - r0. */
static void wino_filters(void *arg, int64_t m0, int64_t m1) {
    const wino_run *r = arg;
    int64_t nc = r->g->c, nm = r->g->m, mr = cinfer__sgemm_isa_get()->mr;
    for (int64_t m = m0; m < m1; m++) {
        int64_t p0 = m / mr * mr, w = nm - p0 < mr ? nm - p0 : mr;
        for (int64_t c = 0; c < nc; c++) {
            const float *g = r->w + (m * nc + c) * 9;
            float t[4][3], u[XI];
            for (int j = 0; j < 3; j++) {
                t[0][j] = g[j];
                t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
                t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
                t[3][j] = g[6 + j];
            }
            for (int i = 0; i < 4; i++) {
                u[i * 4 + 0] = t[i][0];
                u[i * 4 + 1] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
                u[i * 4 + 2] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
                u[i * 4 + 3] = t[i][2];
            }
            float *dst = r->u + p0 * nc + c * w + (m - p0);
            for (int xi = 0; xi < XI; xi++) dst[xi * nm * nc] = u[xi];
        }
    }
}

void cinfer__wino_filters(cinfer__pool *pool, const cinfer__wino_geom *g, const float *w,
                          float *u) {
    wino_run r = {.g = g, .w = w, .u = u};
    cinfer__parallel_for(pool, g->m, 4, wino_filters, &r);
}

/* Horizontal pass (d B) of one input row over tiles [0, tw): h[j][t] from row[2t - pad_l +
 * 0..3], zero outside the image (row == NULL: a padding row). Interior tiles run as a plain
 * loop the compiler vectorizes; the few edge tiles check bounds. */
static inline void wino_hpass(const cinfer__wino_geom *g, const float *row, int64_t tw,
                              float h[4][WINO_MAX_TW]) {
    if (!row) {
        for (int j = 0; j < 4; j++)
            for (int64_t t = 0; t < tw; t++) h[j][t] = 0.0f;
        return;
    }
    /* Interior: 2t - pad_l >= 0 and 2t - pad_l + 3 < w. */
    int64_t lo = (g->pad_l + 1) / 2, last = g->w - 4 + g->pad_l; /* 2 * last interior tile */
    int64_t hi = last < 0 ? 0 : last / 2 + 1;
    if (hi > tw) hi = tw;
    if (hi < lo) hi = lo;
    if (lo > tw) lo = hi = tw;
    for (int64_t t = lo; t < hi; t++) {
        const float *d = row + 2 * t - g->pad_l;
        h[0][t] = d[0] - d[2];
        h[1][t] = d[1] + d[2];
        h[2][t] = d[2] - d[1];
        h[3][t] = d[1] - d[3];
    }
    for (int64_t t = 0; t < tw; t++) {
        if (t == lo) t = hi;
        if (t >= tw) break;
        float d[4];
        for (int k = 0; k < 4; k++) {
            int64_t x = 2 * t - g->pad_l + k;
            d[k] = x >= 0 && x < g->w ? row[x] : 0.0f;
        }
        h[0][t] = d[0] - d[2];
        h[1][t] = d[1] + d[2];
        h[2][t] = d[2] - d[1];
        h[3][t] = d[1] - d[3];
    }
}

/* Vertical pass (B^T .) of tiles [t0, t1) into V[xi] at dst[xi * vst + t - t0]. */
static inline void wino_vpass(float h[4][4][WINO_MAX_TW], int64_t t0, int64_t t1, float *dst,
                              int64_t vst) {
    for (int j = 0; j < 4; j++) {
        float *v0 = dst + j * vst - t0, *v1 = dst + (4 + j) * vst - t0;
        float *v2 = dst + (8 + j) * vst - t0, *v3 = dst + (12 + j) * vst - t0;
        for (int64_t t = t0; t < t1; t++) {
            v0[t] = h[0][j][t] - h[2][j][t];
            v1[t] = h[1][j][t] + h[2][j][t];
            v2[t] = h[2][j][t] - h[1][j][t];
            v3[t] = h[1][j][t] - h[3][j][t];
        }
    }
}

/* V[xi][c][t] = (B^T d B)[xi] for every tile t of one (image, channel) unit, one row of tiles
 * at a time, written straight into the packed-B panels of the 16 V matrices (a tile row
 * splits where it crosses a panel boundary). */
CINFER_SIMD_CLONES
static void wino_in_generic(const wino_run *r, const float *img, int64_t c, int64_t gi) {
    const cinfer__wino_geom *g = r->g;
    int64_t tw = r->tw, th = r->tiles / tw, k = g->c;
    float h[4][4][WINO_MAX_TW];
    for (int64_t ty = 0; ty < th; ty++) {
        for (int i = 0; i < 4; i++) {
            int64_t yy = ty * 2 - g->pad_t + i;
            wino_hpass(g, yy >= 0 && yy < g->h ? img + yy * g->w : NULL, tw, h[i]);
        }
        int64_t col = gi * r->tiles + ty * tw;
        for (int64_t t0 = 0; t0 < tw;) {
            int64_t c0 = (col + t0) / r->nr * r->nr;
            int64_t nc = r->cols - c0 < r->nr ? r->cols - c0 : r->nr;
            int64_t wp = (nc + r->vl - 1) / r->vl * r->vl;
            int64_t t1 = c0 + nc - col < tw ? c0 + nc - col : tw;
            wino_vpass(h, t0, t1, r->v + c0 * k + c * wp + (col + t0 - c0), r->vst);
            t0 = t1;
        }
    }
}

/* V[xi][c][t] = (B^T d B)[xi] for every tile t of each (image, channel) unit, one row of
 * tiles at a time, written straight into the packed-B panels of the 16 V matrices (a tile
 * row splits where it crosses a panel boundary). */
static void wino_inputs(void *arg, int64_t u0, int64_t u1) {
    const wino_run *r = arg;
    const cinfer__wino_geom *g = r->g;
    for (int64_t unit = u0; unit < u1; unit++) {
        int64_t gi = unit / g->c, c = unit % g->c;
        const float *img = r->x + (gi * g->c + c) * g->h * g->w;
        if (r->avx512) cinfer__wino_in_avx512(&r->io, img, c, gi * r->tiles);
        else wino_in_generic(r, img, c, gi);
        if (gi == r->grp - 1)
            for (int xi = 0; xi < XI; xi++)
                cinfer__pack_b_zero_pad(r->v + xi * r->vst, g->c, r->cols, c);
    }
}

/* Y[m] = A^T O A + bias for one (image, output channel) unit, one row of tiles at a time
 * (vertical pass, then horizontal into a row buffer cropped to the output width). */
CINFER_SIMD_CLONES
static void wino_outputs(void *arg, int64_t u0, int64_t u1) {
    const wino_run *r = arg;
    const cinfer__wino_geom *g = r->g;
    int64_t mt = r->ost, tw = r->tw, th = r->tiles / tw;
    float s[2][4][WINO_MAX_TW], row[2 * WINO_MAX_TW];
    for (int64_t unit = u0; unit < u1; unit++) {
        int64_t gi = unit / g->m, m = unit % g->m;
        float bias = r->b ? r->b[m] : 0.0f, *out = r->y + (gi * g->m + m) * g->oh * g->ow;
        if (r->avx512) {
            cinfer__wino_out_avx512(&r->io, r->o + m * r->cols + gi * r->tiles, bias, out);
            continue;
        }
        for (int64_t ty = 0; ty < th; ty++) {
            const float *o = r->o + m * r->cols + gi * r->tiles + ty * tw;
            for (int j = 0; j < 4; j++)
                for (int64_t t = 0; t < tw; t++) {
                    float o1 = o[(4 + j) * mt + t], o2 = o[(8 + j) * mt + t];
                    s[0][j][t] = o[j * mt + t] + o1 + o2;
                    s[1][j][t] = o1 - o2 - o[(12 + j) * mt + t];
                }
            for (int i = 0; i < 2 && ty * 2 + i < g->oh; i++) {
                for (int64_t t = 0; t < tw; t++) {
                    row[2 * t] = s[i][0][t] + s[i][1][t] + s[i][2][t] + bias;
                    row[2 * t + 1] = s[i][1][t] - s[i][2][t] - s[i][3][t] + bias;
                }
                if (g->relu)
                    for (int64_t t = 0; t < 2 * tw; t++) row[t] = row[t] < 0.0f ? 0.0f : row[t];
                memcpy(out + (ty * 2 + i) * g->ow, row, (size_t)g->ow * sizeof(float));
            }
        }
    }
}

void cinfer__wino_conv(cinfer__pool *pool, const cinfer__wino_geom *g, const float *x,
                       const float *u, const float *b, float *y, float *scratch) {
    wino_run r = {g, x, NULL, b, y, (float *)u, scratch, NULL, tiles_of(g), (g->ow + 1) / 2};
    int64_t grp = wino_group(g), in_plane = g->c * g->h * g->w;
    int64_t out_plane = g->m * g->oh * g->ow;
    wino_strides(g, grp * r.tiles, &r.vst, &r.ost);
    r.nr = cinfer__sgemm_isa_get()->nr;
    r.vl = cinfer__sgemm_isa_get()->vl;
    r.avx512 = cinfer__sgemm_isa_get()->kernel == cinfer__ukr_avx512;
    r.o = r.v + XI * r.vst;
    for (int64_t n0 = 0; n0 < g->n; n0 += grp) {
        r.grp = g->n - n0 < grp ? g->n - n0 : grp;
        r.cols = r.grp * r.tiles;
        r.x = x + n0 * in_plane;
        r.y = y + n0 * out_plane;
        r.io = (cinfer__wino_io){g, r.v, r.vst, r.ost, r.tiles, r.tw, r.cols, r.nr};
        cinfer__parallel_for(pool, r.grp * g->c, 1, wino_inputs, &r);
        cinfer__gemm_args ga = {.m = g->m, .n = r.cols, .k = g->c, .batch = XI, .a = u,
                                .a_stride = g->m * g->c, .b = r.v, .b_stride = r.vst, .c = r.o,
                                .ldc = r.cols, .c_stride = r.ost};
        cinfer__gemm_packed(pool, &ga);
        cinfer__parallel_for(pool, r.grp * g->m, 1, wino_outputs, &r);
    }
}
