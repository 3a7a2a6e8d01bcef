/* CPU kernels of the conv family: Conv (Winograd for 3x3 stride 1, else im2col packed
 * straight into sgemm panels; filters packed once at prepare; a direct loop for depthwise)
 * and ConvTranspose (sgemm + col2im), float32, 1-D to 3-D, parallel over cinfer's pool; and
 * a naive ConvInteger. */
#include <string.h>

#include "core/alloc.h"
#include "cpu/cpu.h"
#include "cpu/gemm.h"
#include "ops/conv.h"

/* Parallel chunks that each own a slice of scratch (ConvTranspose): a fixed count. */
#define CONV_SLOTS 8

typedef struct conv_plan {
    cinfer__conv_geom g;
    cinfer__im2col_geom ig;
    int64_t cg, mg, ksize, in_size, out_size, rows; /* rows = cg * ksize */
    bool depthwise;    /* one input channel per output channel: direct loop */
    bool direct;       /* 1x1, stride 1, no padding: X is already the column matrix */
    bool wino;         /* Winograd F(2x2, 3x3) */
    bool w_const;      /* W packed once at prepare (known at plan time; at run: a state) */
    bool relu;         /* a following Relu fused into this node by a graph pass */
    cinfer__wino_geom wg;
    int64_t w_floats;  /* packed filters */
    int threads;       /* the pool's: one column-packing buffer each */
} conv_plan;

/* Winograd needs enough channels for its 16 GEMMs to run efficiently; with the filters
 * transformed once at prepare, it pays for every such layer (ResNet's 56x56 to 7x7). */
#define WINO_MIN_CHANNELS 16

static void conv_pick_wino(conv_plan *p) {
    const cinfer__conv_geom *g = &p->g;
    int64_t tw = (g->out[2] + 1) / 2;
    p->wino = g->nd == 2 && g->group == 1 && g->k[1] == 3 && g->k[2] == 3 &&
              g->c >= WINO_MIN_CHANNELS && g->m >= WINO_MIN_CHANNELS && tw <= WINO_MAX_TW;
    for (int i = 1; i < 3; i++) p->wino = p->wino && g->stride[i] == 1 && g->dil[i] == 1;
    p->wg = (cinfer__wino_geom){g->n, g->c, g->m, g->in[1], g->in[2], g->out[1], g->out[2],
                                g->pad_begin[1], g->pad_begin[2], p->relu};
}

static void conv_im2col_geom(conv_plan *p) {
    const cinfer__conv_geom *g = &p->g;
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
    p->depthwise = p->cg == 1 && g->group > 1;
    p->relu = cinfer__attr_int(ctx->node, CINFER_FUSED_RELU_ATTR, 0) != 0;
    p->direct = p->ksize == 1;
    for (int i = 0; i < 3; i++)
        if (g->stride[i] != 1 || g->pad_begin[i] || g->pad_end[i]) p->direct = false;
    conv_im2col_geom(p);
    conv_pick_wino(p);
    p->w_const = ctx->in[1]->data != NULL;
    if (p->wino) p->w_floats = (int64_t)cinfer__wino_filter_floats(&p->wg);
    else if (!p->depthwise) p->w_floats = g->m * p->rows;
    p->threads = cinfer__cpu_threads(ctx->pool);
    return CINFER_OK;
}

/* Scratch: the packed filters when W is not constant, then the run's own buffers. */
static int64_t conv_w_room(const conv_plan *p) {
    return p->w_const ? 0 : (p->w_floats + 15) / 16 * 16;
}

static int64_t conv_scratch_floats(const conv_plan *p) {
    if (p->depthwise) return 0;
    if (p->wino) return conv_w_room(p) + (int64_t)cinfer__wino_scratch_floats(&p->wg);
    return conv_w_room(p) + cinfer__gemm_b_scratch_floats(p->threads);
}

/* Packs W (per group, [mg x rows] as sgemm's A) or transforms it for Winograd into dst. */
static void conv_pack_filters(cinfer__pool *pool, const conv_plan *p, const float *w,
                              float *dst) {
    if (p->wino) {
        cinfer__wino_filters(pool, &p->wg, w, dst);
        return;
    }
    for (int64_t grp = 0; grp < p->g.group; grp++) {
        int64_t off = grp * p->mg * p->rows;
        cinfer__pack_a_par(pool, w + off, p->rows, 1, p->mg, p->rows, dst + off);
    }
}

typedef struct conv_state {
    float *w;
} conv_state;

static void conv_release(void *state) {
    conv_state *s = state;
    if (!s) return;
    cinfer__aligned_free(s->w);
    cinfer__free(s);
}

static cinfer_status conv_prepare(const cinfer__cpu_ctx *ctx, void **state) {
    conv_plan p;
    CINFER_TRY(conv_plan_make(ctx, &p));
    if (!p.w_const || p.depthwise || ctx->in[1]->dtype != CINFER_DTYPE_FLOAT) return CINFER_OK;
    conv_state *s = cinfer__calloc(1, sizeof *s);
    if (s) s->w = cinfer__aligned_alloc((size_t)p.w_floats * sizeof(float) + 64);
    if (!s || !s->w) {
        conv_release(s);
        return cinfer__errorf(ctx->err, CINFER_OUT_OF_MEMORY, "out of memory packing input W");
    }
    conv_pack_filters(ctx->pool, &p, ctx->in[1]->data, s->w);
    *state = s;
    return CINFER_OK;
}

typedef struct conv_run {
    const conv_plan *p;
    const float *x, *w, *b;   /* w: the raw filters (depthwise) or the packed ones */
    float *y, *cols;
    int64_t grp;              /* the group being computed */
} conv_run;

/* sgemm's B provider: rows [k0, k0 + kc) x columns [n0, n0 + nc) of image n's column matrix
 * (X itself for a 1x1 conv), packed. */
static void conv_pack_cols(void *arg, int64_t n, int64_t k0, int64_t kc, int64_t n0, int64_t nc,
                           float *dst) {
    const conv_run *r = arg;
    const conv_plan *p = r->p;
    const float *img = r->x + (n * p->g.c + r->grp * p->cg) * p->in_size;
    if (p->direct) {
        cinfer__pack_b(img + k0 * p->in_size + n0, p->in_size, 1, kc, nc, dst, 0, INT64_MAX / 2);
    } else {
        cinfer__im2col_packed(&p->ig, img, dst, k0, kc, n0, nc);
    }
}

/* FusedConv's addend Z (same shape as Y) added to each finished block of Y while it is in
 * cache, then the clamp: the GEMM itself stores without it. */
typedef struct residual {
    const float *y0, *z0; /* Y and Z: a block of Y at y0 + off reads Z at z0 + off */
    bool relu;
} residual;

static void residual_block(const void *ctx, float *c, int64_t ldc, int64_t rows, int64_t cols) {
    const residual *rs = ctx;
    for (int64_t i = 0; i < rows; i++) {
        float *y = c + i * ldc;
        const float *z = rs->z0 + (y - rs->y0);
        if (rs->relu)
            for (int64_t j = 0; j < cols; j++) {
                float v = y[j] + z[j];
                y[j] = v < 0.0f ? 0.0f : v;
            }
        else
            for (int64_t j = 0; j < cols; j++) y[j] += z[j];
    }
}

/* The same after the fact, for the paths without a GEMM epilogue (Winograd, depthwise) and
 * for an addend that broadcasts: Y = act(Y + Z), Z read through broadcast strides. */
typedef struct residual_pass {
    float *y;
    const cinfer_tensor *yt, *z;
    int64_t zst[CINFER_MAX_RANK];
    bool same, relu;
} residual_pass;

static void residual_range(void *arg, int64_t begin, int64_t end) {
    const residual_pass *r = arg;
    const float *z = r->z->data;
    const int64_t *d = r->yt->dims;
    for (int64_t i = begin; i < end; i++) {
        int64_t off = i;
        if (!r->same) {
            off = 0;
            for (int64_t k = r->yt->rank - 1, q = i; k >= 0; k--) {
                off += q % d[k] * r->zst[k];
                q /= d[k];
            }
        }
        float v = r->y[i] + z[off];
        r->y[i] = r->relu && v < 0.0f ? 0.0f : v;
    }
}

static void residual_after(cinfer__pool *pool, float *y, const cinfer_tensor *yt,
                           const cinfer_tensor *z, bool relu) {
    residual_pass r = {.y = y, .yt = yt, .z = z, .relu = relu, .same = z->rank == yt->rank};
    int64_t zs[CINFER_MAX_RANK];
    cinfer__strides(z->rank, z->dims, zs);
    for (int k = 0; k < yt->rank; k++) {
        int zk = k - (yt->rank - z->rank);
        bool real = zk >= 0 && z->dims[zk] != 1;
        r.zst[k] = real ? zs[zk] : 0;
        r.same = r.same && z->dims[k] == yt->dims[k];
    }
    cinfer__parallel_for(pool, cinfer_tensor_numel(yt), 1 << 14, residual_range, &r);
}

/* GEMM path: per group, Y = W * cols + bias as one batched sgemm over the images, the
 * column matrix packed block by block as the sgemm goes (it stays in cache). */
static void conv_run_gemm(conv_run *r, cinfer__pool *pool, const residual *res) {
    const conv_plan *p = r->p;
    for (r->grp = 0; r->grp < p->g.group; r->grp++) {
        cinfer__gemm_args ga = {
            .m = p->mg, .n = p->out_size, .k = p->rows, .batch = p->g.n,
            .a = r->w + r->grp * p->mg * p->rows, .c = r->y + r->grp * p->mg * p->out_size,
            .ldc = p->out_size, .c_stride = p->g.m * p->out_size,
            .bias_r = r->b ? r->b + r->grp * p->mg : NULL, .relu = p->relu && !res,
            .pack_b = conv_pack_cols,
            .pack_ctx = r, .b_scratch = r->cols,
            .epilogue = res ? residual_block : NULL, .epilogue_ctx = res};
        cinfer__gemm_packed(pool, &ga);
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
    if (p->relu)
        for (int64_t q = 0; q < p->out_size; q++) y[q] = y[q] < 0.0f ? 0.0f : y[q];
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
    return (size_t)conv_scratch_floats(&p) * sizeof(float);
}

static cinfer_status conv_run_fn(cinfer__cpu_ctx *ctx) {
    conv_plan p;
    CINFER_TRY(conv_plan_make(ctx, &p));
    const conv_state *st = ctx->state;
    conv_run r = {&p, ctx->in[0]->data, ctx->in[1]->data, NULL, ctx->out[0]->data, NULL};
    if (ctx->n_in > 2 && ctx->in[2]) r.b = ctx->in[2]->data;
    /* FusedConv: the addend Z; the clamp then waits until Z is in. */
    const cinfer_tensor *z = ctx->n_in > 3 ? ctx->in[3] : NULL;
    bool relu = p.relu;
    if (z) p.relu = p.wg.relu = false;
    bool z_same = z && cinfer_tensor_numel(z) == cinfer_tensor_numel(ctx->out[0]);
    if (p.depthwise) {
        int64_t grain = p.out_size >= 1024 ? 1 : 1024 / p.out_size;
        cinfer__parallel_for(ctx->pool, p.g.n * p.g.m, grain, dw_planes, &r);
        if (z) residual_after(ctx->pool, r.y, ctx->out[0], z, relu);
        return CINFER_OK;
    }
    /* At run every input has data: whether W was constant at plan time shows in the state. */
    float *scratch = ctx->scratch;
    p.w_const = st != NULL;
    if (st) {
        r.w = st->w;
    } else {
        conv_pack_filters(ctx->pool, &p, r.w, scratch);
        r.w = scratch;
    }
    scratch += conv_w_room(&p);
    residual res = {r.y, z ? z->data : NULL, relu};
    if (p.wino) {
        cinfer__wino_conv(ctx->pool, &p.wg, r.x, r.w, r.b, r.y, scratch);
    } else {
        r.cols = scratch;
        conv_run_gemm(&r, ctx->pool, z_same ? &res : NULL);
    }
    if (z && (p.wino || !z_same)) residual_after(ctx->pool, r.y, ctx->out[0], z, relu);
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
    {"Conv", "", conv_supports, conv_scratch, conv_run_fn, conv_prepare, conv_release},
    {"FusedConv", "cinfer", conv_supports, conv_scratch, conv_run_fn, conv_prepare, conv_release},
    {"ConvTranspose", "", conv_supports, convt_scratch, convt_run_fn},
    {"ConvInteger", "", NULL, conv_int_scratch, conv_int_run},
    {0},
};
