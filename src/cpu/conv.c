/* CPU kernels of the conv family: Conv (im2col + sgemm, a direct loop for depthwise) and
 * ConvTranspose (sgemm + col2im), float32, 1-D to 3-D, parallel over cinfer's pool; and a
 * naive ConvInteger. */
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/gemm.h"
#include "ops/conv.h"

/* Parallel chunks that each own a slice of scratch: a fixed count, independent of the pool
 * size (scratch is sized at plan time, before any pool is known). */
#define CONV_SLOTS 8
/* Per-(image, group) GEMMs below this many multiply-adds run one per thread. */
#define CONV_SMALL_MACS (1 << 20)
/* Largest im2col buffer replicated once per slot in the batched mode. */
#define CONV_SLOT_COL_BYTES ((int64_t)2 << 20)

typedef struct conv_plan {
    cinfer__conv_geom g;
    cinfer__im2col_geom ig;
    int64_t cg, mg, ksize, in_size, out_size, rows; /* rows = cg * ksize */
    int64_t units;     /* n * group */
    bool depthwise;    /* one input channel per output channel: direct loop */
    bool direct;       /* 1x1, stride 1, no padding: X is already the column matrix */
    bool batched;      /* units split over CONV_SLOTS slots, each with its own col */
    bool wino;         /* Winograd F(2x2, 3x3) */
    cinfer__wino_geom wg;
    int64_t slots;
} conv_plan;

/* Winograd pays where the multiply-adds it saves per (filter, channel) pair, 9 per output
 * pixel less 16 per 2x2 tile, outweigh transforming that pair's weights on every run (about
 * the time of 300 multiply-adds, memory bound; measured on ResNet layers: 14x14 outputs
 * gain, 7x7 lose). It also needs enough channels for its 16 GEMMs to run efficiently. */
#define WINO_MIN_SAVED_MACS 640
#define WINO_MIN_CHANNELS 16

static void conv_pick_wino(conv_plan *p) {
    const cinfer__conv_geom *g = &p->g;
    int64_t tw = (g->out[2] + 1) / 2, tiles = ((g->out[1] + 1) / 2) * tw;
    int64_t saved = g->n * (9 * g->out[1] * g->out[2] - 16 * tiles);
    p->wino = g->nd == 2 && g->group == 1 && g->k[1] == 3 && g->k[2] == 3 &&
              g->c >= WINO_MIN_CHANNELS && g->m >= WINO_MIN_CHANNELS && tw <= WINO_MAX_TW &&
              saved >= WINO_MIN_SAVED_MACS;
    for (int i = 1; i < 3; i++) p->wino = p->wino && g->stride[i] == 1 && g->dil[i] == 1;
    p->wg = (cinfer__wino_geom){g->n, g->c, g->m, g->in[1], g->in[2], g->out[1], g->out[2],
                                g->pad_begin[1], g->pad_begin[2]};
}

static cinfer_status conv_plan_make(const cinfer__cpu_ctx *ctx, conv_plan *p) {
    memset(p, 0, sizeof *p);
    CINFER_TRY(cinfer__conv_geometry(ctx->node->params, ctx->in[0], ctx->in[1], &p->g,
                                     ctx->err));
    const cinfer__conv_geom *g = &p->g;
    p->cg = g->c / g->group;
    p->mg = g->m / g->group;
    p->ksize = g->k[0] * g->k[1] * g->k[2];
    p->in_size = g->in[0] * g->in[1] * g->in[2];
    p->out_size = g->out[0] * g->out[1] * g->out[2];
    p->rows = p->cg * p->ksize;
    p->units = g->n * g->group;
    p->depthwise = p->cg == 1 && g->group > 1;
    p->direct = p->ksize == 1;
    for (int i = 0; i < 3; i++)
        if (g->stride[i] != 1 || g->pad_begin[i] || g->pad_end[i]) p->direct = false;
    cinfer__im2col_geom *ig = &p->ig;
    ig->channels = p->cg;
    for (int i = 0; i < 3; i++) {
        ig->in[i] = g->in[i];
        ig->out[i] = g->out[i];
        ig->k[i] = g->k[i];
        ig->stride[i] = g->stride[i];
        ig->dil[i] = g->dil[i];
        ig->pad[i] = g->pad_begin[i];
    }
    conv_pick_wino(p);
    int64_t col_bytes = p->direct ? 0 : p->rows * p->out_size * (int64_t)sizeof(float);
    int64_t macs = p->mg * p->rows * p->out_size;
    p->batched = p->units >= 2 && col_bytes <= CONV_SLOT_COL_BYTES &&
                 (p->units >= CONV_SLOTS || macs < CONV_SMALL_MACS);
    if (p->wino) p->batched = false;
    p->slots = p->batched ? (p->units < CONV_SLOTS ? p->units : CONV_SLOTS) : 1;
    return CINFER_OK;
}

static int64_t conv_col_floats(const conv_plan *p) {
    if (p->wino) return (int64_t)cinfer__wino_scratch_floats(&p->wg);
    return p->depthwise || p->direct ? 0 : p->rows * p->out_size;
}

typedef struct conv_run {
    const conv_plan *p;
    const float *x, *w, *b;
    float *y, *scratch;
    int64_t n, grp;            /* the (image, group) being computed */
} conv_run;

/* Y[m0:m1, p0:p1] of one (image, group) = its bias (or zero), before += W*col. */
static void conv_fill(const conv_run *r, int64_t n, int64_t grp, int64_t m0, int64_t m1,
                      int64_t p0, int64_t p1) {
    const conv_plan *p = r->p;
    float *y = r->y + (n * p->g.m + grp * p->mg) * p->out_size;
    for (int64_t m = m0; m < m1; m++) {
        float *row = y + m * p->out_size;
        float bv = r->b ? r->b[grp * p->mg + m] : 0.0f;
        for (int64_t q = p0; q < p1; q++) row[q] = bv;
    }
}

static void conv_fill_cb(void *arg, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
    const conv_run *r = arg;
    conv_fill(r, r->n, r->grp, m0, m1, p0, p1);
}

/* Y of one (image, group) = bias + W_g * cols, split over the pool when pool is not NULL. */
static void conv_gemm(conv_run *r, cinfer__pool *pool, int64_t n, int64_t grp,
                      const float *cols) {
    const conv_plan *p = r->p;
    int64_t P = p->out_size;
    float *y = r->y + (n * p->g.m + grp * p->mg) * P;
    const float *w = r->w + grp * p->mg * p->rows;
    r->n = n;
    r->grp = grp;
    cinfer__sgemm_par(pool, false, false, p->mg, P, p->rows, 1.0f, w, p->rows, cols, P, 1.0f,
                      y, P, conv_fill_cb, r);
}

static const float *conv_image(const conv_run *r, int64_t n, int64_t grp) {
    const conv_plan *p = r->p;
    return r->x + (n * p->g.c + grp * p->cg) * p->in_size;
}

/* Batched mode: slot s runs its share of the (image, group) units with its own col. */
static void conv_slots(void *arg, int64_t begin, int64_t end) {
    const conv_run *shared = arg;
    const conv_plan *p = shared->p;
    conv_run r = *shared; /* conv_gemm records the unit in r: keep that per thread */
    for (int64_t s = begin; s < end; s++) {
        float *col = r.scratch + s * conv_col_floats(p);
        for (int64_t u = s * p->units / p->slots; u < (s + 1) * p->units / p->slots; u++) {
            int64_t n = u / p->g.group, grp = u % p->g.group;
            const float *img = conv_image(&r, n, grp);
            if (!p->direct) cinfer__im2col(&p->ig, img, col, 0, p->rows);
            conv_gemm(&r, NULL, n, grp, p->direct ? img : col);
        }
    }
}

static void conv_im2col_rows(void *arg, int64_t begin, int64_t end) {
    const conv_run *r = arg;
    cinfer__im2col(&r->p->ig, conv_image(r, r->n, r->grp), r->scratch, begin, end);
}

/* Tiled mode: per (image, group), im2col split by rows over the pool, then the GEMM split
 * over the pool. */
static void conv_run_tiled(conv_run *r, cinfer__pool *pool) {
    const conv_plan *p = r->p;
    int64_t grain = p->out_size >= 4096 ? 1 : 4096 / p->out_size;
    for (int64_t u = 0; u < p->units; u++) {
        int64_t n = u / p->g.group, grp = u % p->g.group;
        const float *cols = conv_image(r, n, grp);
        if (!p->direct) {
            r->n = n;
            r->grp = grp;
            cinfer__parallel_for(pool, p->rows, grain, conv_im2col_rows, r);
            cols = r->scratch;
        }
        conv_gemm(r, pool, n, grp, cols);
    }
}

/* Depthwise: output channel m reads only input channel m / mg; taps accumulate in place. */
static void dw_plane(const conv_run *r, int64_t plane) {
    const conv_plan *p = r->p;
    const cinfer__im2col_geom *g = &p->ig;
    int64_t n = plane / p->g.m, m = plane % p->g.m;
    const float *x = r->x + (n * p->g.c + m / p->mg) * p->in_size;
    const float *w = r->w + m * p->ksize;
    float *y = r->y + plane * p->out_size;
    float bv = r->b ? r->b[m] : 0.0f;
    for (int64_t q = 0; q < p->out_size; q++) y[q] = bv;
    int64_t o1 = g->out[1], o2 = g->out[2], i1 = g->in[1], i2 = g->in[2], s2 = g->stride[2];
    for (int64_t t = 0; t < p->ksize; t++) {
        int64_t kk[3] = {t / (g->k[1] * g->k[2]), t / g->k[2] % g->k[1], t % g->k[2]};
        int64_t off[3], lo[3], hi[3];
        for (int i = 0; i < 3; i++) {
            off[i] = kk[i] * g->dil[i] - g->pad[i];
            int64_t l = off[i] >= 0 ? 0 : (-off[i] + g->stride[i] - 1) / g->stride[i];
            int64_t h = g->in[i] - 1 - off[i] < 0 ? 0 : (g->in[i] - 1 - off[i]) / g->stride[i] + 1;
            lo[i] = l;
            hi[i] = h < g->out[i] ? h : g->out[i];
        }
        float wv = w[t];
        for (int64_t od = lo[0]; od < hi[0]; od++)
            for (int64_t oh = lo[1]; oh < hi[1]; oh++) {
                const float *xs =
                    x + ((od * g->stride[0] + off[0]) * i1 + oh * g->stride[1] + off[1]) * i2;
                float *yr = y + (od * o1 + oh) * o2;
                if (s2 == 1)
                    for (int64_t ow = lo[2]; ow < hi[2]; ow++) yr[ow] += wv * xs[ow + off[2]];
                else
                    for (int64_t ow = lo[2]; ow < hi[2]; ow++)
                        yr[ow] += wv * xs[ow * s2 + off[2]];
            }
    }
}

static void dw_planes(void *arg, int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) dw_plane(arg, i);
}

static cinfer_status conv_supports(const cinfer__cpu_ctx *ctx) {
    if (ctx->in[0]->dtype != CINFER_DTYPE_FLOAT)
        return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED,
                              "dtype %s is not supported (float32 only)",
                              cinfer_dtype_name(ctx->in[0]->dtype));
    return CINFER_OK;
}

static size_t conv_scratch(const cinfer__cpu_ctx *ctx) {
    conv_plan p;
    if (conv_plan_make(ctx, &p) != CINFER_OK) return 0;
    return (size_t)(p.slots * conv_col_floats(&p)) * sizeof(float);
}

static cinfer_status conv_run_fn(cinfer__cpu_ctx *ctx) {
    conv_plan p;
    CINFER_TRY(conv_plan_make(ctx, &p));
    conv_run r = {&p, ctx->in[0]->data, ctx->in[1]->data, NULL, ctx->out[0]->data, ctx->scratch,
                  0, 0};
    if (ctx->n_in > 2 && ctx->in[2]) r.b = ctx->in[2]->data;
    if (p.wino) {
        cinfer__wino_conv(ctx->pool, &p.wg, r.x, r.w, r.b, r.y, ctx->scratch);
    } else if (p.depthwise) {
        int64_t grain = p.out_size >= 1024 ? 1 : 1024 / p.out_size;
        cinfer__parallel_for(ctx->pool, p.g.n * p.g.m, grain, dw_planes, &r);
    } else if (p.batched) {
        cinfer__parallel_for(ctx->pool, p.slots, 1, conv_slots, &r);
    } else {
        conv_run_tiled(&r, ctx->pool);
    }
    return CINFER_OK;
}

/* ConvTranspose: per (image, group, tile of output channels), col = W_g^T X_g (sgemm), then
 * col2im scatters col into Y. Tiles own disjoint output channels, so slots never collide. */
typedef struct convt_plan {
    cinfer__conv_geom g;
    cinfer__im2col_geom ig;   /* image side = Y, column side = X */
    int64_t cg, mg, ksize, in_size, out_size;
    int64_t n_mt, mtile, units, slots;
} convt_plan;

static cinfer_status convt_plan_make(const cinfer__cpu_ctx *ctx, convt_plan *p) {
    memset(p, 0, sizeof *p);
    CINFER_TRY(cinfer__conv_geometry(ctx->node->params, ctx->in[0], ctx->in[1], &p->g,
                                     ctx->err));
    const cinfer__conv_geom *g = &p->g;
    p->cg = g->c / g->group;
    p->mg = g->m / g->group;
    p->ksize = g->k[0] * g->k[1] * g->k[2];
    p->in_size = g->in[0] * g->in[1] * g->in[2];
    p->out_size = g->out[0] * g->out[1] * g->out[2];
    int64_t ng = g->n * g->group;
    p->n_mt = ng >= CONV_SLOTS ? 1 : (CONV_SLOTS + ng - 1) / ng;
    if (p->n_mt > p->mg) p->n_mt = p->mg;
    p->mtile = (p->mg + p->n_mt - 1) / p->n_mt;
    p->n_mt = (p->mg + p->mtile - 1) / p->mtile;
    p->units = ng * p->n_mt;
    p->slots = p->units < CONV_SLOTS ? p->units : CONV_SLOTS;
    cinfer__im2col_geom *ig = &p->ig;
    for (int i = 0; i < 3; i++) {
        ig->in[i] = g->out[i];
        ig->out[i] = g->in[i];
        ig->k[i] = g->k[i];
        ig->stride[i] = g->stride[i];
        ig->dil[i] = g->dil[i];
        ig->pad[i] = g->pad_begin[i];
    }
    return CINFER_OK;
}

static int64_t convt_col_floats(const convt_plan *p) {
    return p->mtile * p->ksize * p->in_size;
}

typedef struct convt_run {
    const convt_plan *p;
    const float *x, *w, *b;
    float *y, *scratch;
} convt_run;

static void convt_unit(const convt_run *r, int64_t u, float *col) {
    const convt_plan *p = r->p;
    int64_t mt = u % p->n_mt, grp = u / p->n_mt % p->g.group, n = u / p->n_mt / p->g.group;
    int64_t m0 = mt * p->mtile, m1 = m0 + p->mtile < p->mg ? m0 + p->mtile : p->mg;
    int64_t k = p->ksize, rows = (m1 - m0) * k;
    const float *w = r->w + grp * p->cg * p->mg * k + m0 * k;
    const float *x = r->x + (n * p->g.c + grp * p->cg) * p->in_size;
    cinfer__sgemm(true, false, rows, p->in_size, p->cg, 1.0f, w, p->mg * k, x, p->in_size, 0.0f,
                  col, p->in_size);
    int64_t m_abs = grp * p->mg + m0;
    float *y = r->y + (n * p->g.m + m_abs) * p->out_size;
    for (int64_t m = 0; m < m1 - m0; m++) {
        float bv = r->b ? r->b[m_abs + m] : 0.0f;
        for (int64_t q = 0; q < p->out_size; q++) y[m * p->out_size + q] = bv;
    }
    cinfer__col2im(&p->ig, col, y, 0, rows);
}

static void convt_slots(void *arg, int64_t begin, int64_t end) {
    const convt_run *r = arg;
    const convt_plan *p = r->p;
    for (int64_t s = begin; s < end; s++)
        for (int64_t u = s * p->units / p->slots; u < (s + 1) * p->units / p->slots; u++)
            convt_unit(r, u, r->scratch + s * convt_col_floats(p));
}

static size_t convt_scratch(const cinfer__cpu_ctx *ctx) {
    convt_plan p;
    if (convt_plan_make(ctx, &p) != CINFER_OK) return 0;
    return (size_t)(p.slots * convt_col_floats(&p)) * sizeof(float);
}

static cinfer_status convt_run_fn(cinfer__cpu_ctx *ctx) {
    convt_plan p;
    CINFER_TRY(convt_plan_make(ctx, &p));
    convt_run r = {&p, ctx->in[0]->data, ctx->in[1]->data, NULL, ctx->out[0]->data,
                   ctx->scratch};
    if (ctx->n_in > 2 && ctx->in[2]) r.b = ctx->in[2]->data;
    cinfer__parallel_for(ctx->pool, p.slots, 1, convt_slots, &r);
    return CINFER_OK;
}

/* ConvInteger, naive (quantized models are not a target; this covers ONNX's semantics):
 * X and W minus their zero points into int32 scratch, then a direct loop. Padding
 * contributes zero, i.e. pads with the zero point. */
static int32_t ld8(const cinfer_tensor *t, int64_t i) {
    if (!t) return 0;
    return t->dtype == CINFER_DTYPE_UINT8 ? ((const uint8_t *)t->data)[i]
                                          : ((const int8_t *)t->data)[i];
}

static size_t conv_int_scratch(const cinfer__cpu_ctx *ctx) {
    return (size_t)(cinfer_tensor_numel(ctx->in[0]) + cinfer_tensor_numel(ctx->in[1])) *
           sizeof(int32_t);
}

static int32_t conv_int_point(const conv_plan *p, const int32_t *x, const int32_t *w,
                              const int64_t o[3]) {
    const cinfer__im2col_geom *g = &p->ig;
    uint32_t acc = 0; /* wraps like int32 arithmetic, without signed-overflow UB */
    for (int64_t c = 0; c < p->cg; c++)
        for (int64_t t = 0; t < p->ksize; t++) {
            int64_t kk[3] = {t / (g->k[1] * g->k[2]), t / g->k[2] % g->k[1], t % g->k[2]};
            int64_t pos = 0;
            bool inside = true;
            for (int i = 0; i < 3 && inside; i++) {
                int64_t q = o[i] * g->stride[i] + kk[i] * g->dil[i] - g->pad[i];
                inside = q >= 0 && q < g->in[i];
                pos = pos * g->in[i] + q;
            }
            if (inside) acc += (uint32_t)(x[c * p->in_size + pos] * w[c * p->ksize + t]);
        }
    return (int32_t)acc;
}

static cinfer_status conv_int_run(cinfer__cpu_ctx *ctx) {
    conv_plan p;
    CINFER_TRY(conv_plan_make(ctx, &p));
    const cinfer_tensor *x = ctx->in[0], *w = ctx->in[1];
    const cinfer_tensor *zx = ctx->n_in > 2 ? ctx->in[2] : NULL;
    const cinfer_tensor *zw = ctx->n_in > 3 ? ctx->in[3] : NULL;
    int64_t nx = cinfer_tensor_numel(x), nw = cinfer_tensor_numel(w), per_m = p.rows;
    bool zw_per_m = zw && cinfer_tensor_numel(zw) > 1;
    int32_t *x32 = ctx->scratch, *w32 = x32 + nx, *y = ctx->out[0]->data;
    for (int64_t i = 0; i < nx; i++) x32[i] = ld8(x, i) - ld8(zx, 0);
    for (int64_t i = 0; i < nw; i++) w32[i] = ld8(w, i) - ld8(zw, zw_per_m ? i / per_m : 0);
    for (int64_t n = 0; n < p.g.n; n++)
        for (int64_t m = 0; m < p.g.m; m++) {
            const int32_t *xi = x32 + (n * p.g.c + m / p.mg * p.cg) * p.in_size;
            int32_t *yo = y + (n * p.g.m + m) * p.out_size;
            int64_t o[3];
            for (o[0] = 0; o[0] < p.ig.out[0]; o[0]++)
                for (o[1] = 0; o[1] < p.ig.out[1]; o[1]++)
                    for (o[2] = 0; o[2] < p.ig.out[2]; o[2]++)
                        yo[(o[0] * p.ig.out[1] + o[1]) * p.ig.out[2] + o[2]] =
                            conv_int_point(&p, xi, w32 + m * per_m, o);
        }
    return CINFER_OK;
}

const cinfer__cpu_kernel cinfer__cpu_conv[] = {
    {"Conv", "", conv_supports, conv_scratch, conv_run_fn},
    {"ConvTranspose", "", conv_supports, convt_scratch, convt_run_fn},
    {"ConvInteger", "", NULL, conv_int_scratch, conv_int_run},
    {0},
};
