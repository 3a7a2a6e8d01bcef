/* Winograd F(2x2, 3x3) convolution for 3x3, stride-1, undilated, ungrouped 2-D Conv: 16
 * GEMMs of [M x C] x [C x tiles] replace the [M x 9C] x [9C x pixels] im2col GEMM, 2.25x fewer
 * multiply-adds. F(2x2, 3x3)'s transforms only scale by 1/2, so fp32 results stay within
 * a few ulps of the direct sum (F(4x4, 3x3) would save more but loses ~3 digits). */
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/gemm.h"

#define XI 16 /* transformed tile positions (4x4) */

static int64_t tiles_of(const cinfer__wino_geom *g) {
    return ((g->oh + 1) / 2) * ((g->ow + 1) / 2);
}

/* Each of the 16 matrices of U, V and O starts one cache line after a multiple of its size:
 * the transforms stream through all 16 at once, and 16 streams a power of two apart would
 * share L1 sets. */
#define XI_PAD 16

size_t cinfer__wino_scratch_floats(const cinfer__wino_geom *g) {
    int64_t t = tiles_of(g);
    return (size_t)(XI * (g->m * g->c + g->c * t + g->m * t + 3 * XI_PAD));
}

typedef struct wino_run {
    const cinfer__wino_geom *g;
    const float *x, *w, *b;
    float *y, *u, *v, *o;
    int64_t tiles, tw;
    int64_t su, sv, so; /* strides between the 16 matrices of U, V, O */
} wino_run;

#define WB 64 /* filters transformed per block */

/* U[xi][m][c] = (G g G^T)[xi] for the 3x3 filter g = W[m][c], WB filters at a time into a
 * local block, then copied out as 16 contiguous runs. */
CINFER_SIMD_CLONES
static void wino_weights(void *arg, int64_t m0, int64_t m1) {
    const wino_run *r = arg;
    int64_t nc = r->g->c;
    float blk[XI][WB];
    for (int64_t m = m0; m < m1; m++)
        for (int64_t c0 = 0; c0 < nc; c0 += WB) {
            int64_t n = nc - c0 < WB ? nc - c0 : WB;
            const float *w = r->w + (m * nc + c0) * 9;
            for (int64_t e = 0; e < n; e++) {
                const float *g = w + e * 9;
                float t[4][3];
                for (int j = 0; j < 3; j++) {
                    t[0][j] = g[j];
                    t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
                    t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
                    t[3][j] = g[6 + j];
                }
                for (int i = 0; i < 4; i++) {
                    blk[i * 4 + 0][e] = t[i][0];
                    blk[i * 4 + 1][e] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
                    blk[i * 4 + 2][e] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
                    blk[i * 4 + 3][e] = t[i][2];
                }
            }
            for (int xi = 0; xi < XI; xi++)
                memcpy(r->u + xi * r->su + m * nc + c0, blk[xi], (size_t)n * sizeof(float));
        }
}

/* Row `yy` of a channel image, zero-padded: pr[x] = img[yy][x - pad_l] for x in [0, len). */
static void padded_row(const cinfer__wino_geom *g, const float *img, int64_t yy, float *pr,
                       int64_t len) {
    if (yy < 0 || yy >= g->h) {
        memset(pr, 0, (size_t)len * sizeof(float));
        return;
    }
    const float *row = img + yy * g->w;
    for (int64_t x = 0; x < len; x++) {
        int64_t sx = x - g->pad_l;
        pr[x] = sx >= 0 && sx < g->w ? row[sx] : 0.0f;
    }
}

/* V[xi][c][t] = (B^T d B)[xi] for every tile t of channels [c0, c1), one row of tiles at a
 * time: the horizontal pass (d B) runs along each padded input row, then the vertical pass
 * (B^T .) combines four rows; both are plain loops over tiles that the compiler vectorizes. */
CINFER_SIMD_CLONES
static void wino_inputs(void *arg, int64_t c0, int64_t c1) {
    const wino_run *r = arg;
    const cinfer__wino_geom *g = r->g;
    int64_t tw = r->tw, th = r->tiles / tw, ct = r->sv, len = 2 * tw + 2;
    float pr[2 * WINO_MAX_TW + 2], h[4][4][WINO_MAX_TW];
    for (int64_t c = c0; c < c1; c++) {
        const float *img = r->x + c * g->h * g->w;
        for (int64_t ty = 0; ty < th; ty++) {
            for (int i = 0; i < 4; i++) {
                padded_row(g, img, ty * 2 - g->pad_t + i, pr, len);
                for (int64_t t = 0; t < tw; t++) {
                    const float *d = pr + 2 * t;
                    h[i][0][t] = d[0] - d[2];
                    h[i][1][t] = d[1] + d[2];
                    h[i][2][t] = d[2] - d[1];
                    h[i][3][t] = d[1] - d[3];
                }
            }
            float *v = r->v + c * r->tiles + ty * tw;
            for (int j = 0; j < 4; j++)
                for (int64_t t = 0; t < tw; t++) {
                    v[j * ct + t] = h[0][j][t] - h[2][j][t];
                    v[(4 + j) * ct + t] = h[1][j][t] + h[2][j][t];
                    v[(8 + j) * ct + t] = h[2][j][t] - h[1][j][t];
                    v[(12 + j) * ct + t] = h[1][j][t] - h[3][j][t];
                }
        }
    }
}

static void wino_gemms(void *arg, int64_t x0, int64_t x1) {
    const wino_run *r = arg;
    const cinfer__wino_geom *g = r->g;
    for (int64_t xi = x0; xi < x1; xi++)
        cinfer__sgemm(false, false, g->m, r->tiles, g->c, 1.0f, r->u + xi * r->su, g->c,
                      r->v + xi * r->sv, r->tiles, 0.0f, r->o + xi * r->so, r->tiles);
}

/* Y[m] = A^T O A + bias, one row of tiles at a time (vertical pass, then horizontal into a
 * row buffer cropped to the output width). */
CINFER_SIMD_CLONES
static void wino_outputs(void *arg, int64_t m0, int64_t m1) {
    const wino_run *r = arg;
    const cinfer__wino_geom *g = r->g;
    int64_t mt = r->so, tw = r->tw, th = r->tiles / tw;
    float s[2][4][WINO_MAX_TW], row[2 * WINO_MAX_TW];
    for (int64_t m = m0; m < m1; m++) {
        float bias = r->b ? r->b[m] : 0.0f, *out = r->y + m * g->oh * g->ow;
        for (int64_t ty = 0; ty < th; ty++) {
            const float *o = r->o + m * r->tiles + ty * tw;
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
                memcpy(out + (ty * 2 + i) * g->ow, row, (size_t)g->ow * sizeof(float));
            }
        }
    }
}

void cinfer__wino_conv(cinfer__pool *pool, const cinfer__wino_geom *g, const float *x,
                       const float *w, const float *b, float *y, float *scratch) {
    wino_run r = {g, x, w, b, y, scratch, NULL, NULL, tiles_of(g), (g->ow + 1) / 2, 0, 0, 0};
    r.su = g->m * g->c + XI_PAD;
    r.sv = g->c * r.tiles + XI_PAD;
    r.so = g->m * r.tiles + XI_PAD;
    r.v = r.u + XI * r.su;
    r.o = r.v + XI * r.sv;
    int64_t in_plane = g->c * g->h * g->w, out_plane = g->m * g->oh * g->ow;
    cinfer__parallel_for(pool, g->m, 1, wino_weights, &r);
    for (int64_t n = 0; n < g->n; n++) {
        r.x = x + n * in_plane;
        r.y = y + n * out_plane;
        cinfer__parallel_for(pool, g->c, 1, wino_inputs, &r);
        cinfer__parallel_for(pool, XI, 1, wino_gemms, &r);
        cinfer__parallel_for(pool, g->m, 1, wino_outputs, &r);
    }
}
