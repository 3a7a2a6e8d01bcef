/* GPU SkipLayerNorm and Attention (domain cinfer, written by the fusion passes) on the kernels
 * of kernels/norm.cu and kernels/attention.cu; shapes become kernel views at prepare. */
#include <stdlib.h>

#include "cuda/module_impl.h"
#include "kernels.h"
#include "ops/attention.h"

/* Attention: the kernel's view, and where Q, K and V start in their inputs (elements; nonzero
 * for packed operands in row form, src/ops/attention.h). */
typedef struct attention_priv {
    cinfer_k_attention k;
    int64_t offset[3];
} attention_priv;

typedef union fused_priv {
    cinfer_k_skip_ln ln;
    attention_priv at;
} fused_priv;

/* Strides of dense t (numpy-broadcast, right-aligned) over dims[0..rank) of the output. */
static cinfer_k_strides bcast_strides(const cinfer_tensor *t, int rank, const int64_t *dims) {
    cinfer_k_dims out = {.rank = rank};
    for (int d = 0; d < rank; d++) out.size[d] = dims[d];
    return cinfer_k_broadcast_strides(t->dims, t->rank, &out);
}

/* ---- SkipLayerNorm: inputs A, B, scale, [bias]; outputs Y, [A + B] ---- */

/* Splits strides over the output's dims into the row part [0, axis) and column part. */
static void split_strides(cinfer_k_strides all, int axis, int rank, cinfer_k_strides *row,
                          cinfer_k_strides *col) {
    memset(row, 0, sizeof *row);
    memset(col, 0, sizeof *col);
    for (int d = 0; d < rank; d++) {
        if (d < axis) row->s[d] = all.s[d];
        else col->s[d - axis] = all.s[d];
    }
}

/* The kernels' element type for float32, fp16 or bf16 (false for other dtypes). */
static bool skip_ln_kdtype(cinfer_dtype dt, cinfer_k_dtype *k) {
    switch (dt) {
    case CINFER_DTYPE_FLOAT: *k = CINFER_K_F32; return true;
    case CINFER_DTYPE_FLOAT16: *k = CINFER_K_F16; return true;
    case CINFER_DTYPE_BFLOAT16: *k = CINFER_K_BF16; return true;
    default: return false;
    }
}

/* The outputs in float32, or fp16/bf16 in half mode (half_io); A and B in Y's dtype, or in
 * half mode one of them a float32 constant (say position embeddings folded into one); scale
 * and bias share one dtype, float32 (constant weights) or Y's. */
static cinfer_status skip_ln_types(const cinfer_cuda_node *n, char *why) {
    const char *op = "SkipLayerNorm";
    if (!cuda_has_in(n, 1) || !cuda_has_in(n, 2)) return cuda_no(why, "%s: B or scale missing", op);
    cinfer_dtype dt = n->out[0]->dtype, da = n->in[0]->dtype, db = n->in[1]->dtype;
    cinfer_k_dtype k;
    if (!skip_ln_kdtype(dt, &k)) return cuda_no(why, "%s: float32, float16 or bfloat16 only", op);
    for (int i = 1; i < n->n_out; i++)
        if (n->out[i] && n->out[i]->dtype != dt)
            return cuda_no(why, "%s: outputs of different dtypes", op);
    if ((da != dt && da != CINFER_DTYPE_FLOAT) || (db != dt && db != CINFER_DTYPE_FLOAT) ||
        (da != dt && db != dt))
        return cuda_no(why, "%s: A and B neither of Y's dtype nor one a float32 constant", op);
    cinfer_dtype pdt = n->in[2]->dtype;
    if ((pdt != CINFER_DTYPE_FLOAT && pdt != dt) || (cuda_has_in(n, 3) && n->in[3]->dtype != pdt))
        return cuda_no(why, "%s: scale and bias of different dtypes, or neither float32 nor Y's",
                       op);
    return CINFER_OK;
}

/* The kernel takes the summand in Y's dtype as a and a float constant one as b: A and B swap
 * when A is the constant (the sum commutes). */
static bool skip_ln_swap(const cinfer_tensor *a, const cinfer_tensor *y) {
    return a->dtype != y->dtype;
}

static cinfer_status skip_ln_params(const cinfer_cuda_node *n, cinfer_k_skip_ln *p, char *why) {
    if (skip_ln_types(n, why) != CINFER_OK) return CINFER_UNSUPPORTED;
    const cinfer_tensor *y = n->out[0];
    int axis = cuda_axis(cuda_attr_int(n->node, "axis", -1), y->rank);
    if (axis < 0 || y->rank == 0) return cuda_no(why, "%s: axis out of range", "SkipLayerNorm");
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i] && n->in[i]->rank > y->rank)
            return cuda_no(why, "%s: an input of higher rank than the output", "SkipLayerNorm");
    int nr = y->rank - axis;
    memset(p, 0, sizeof *p);
    p->rows.rank = axis;
    p->cols.rank = nr;
    for (int d = 0; d < y->rank; d++) {
        if (d < axis) p->rows.size[d] = y->dims[d];
        else p->cols.size[d - axis] = y->dims[d];
    }
    cinfer_k_strides unused;
    split_strides(bcast_strides(n->in[0], y->rank, y->dims), axis, y->rank, &p->a_row,
                  &p->a_col);
    split_strides(bcast_strides(n->in[1], y->rank, y->dims), axis, y->rank, &p->b_row,
                  &p->b_col);
    if (skip_ln_swap(n->in[0], y)) {
        cinfer_k_strides row = p->a_row, col = p->a_col;
        p->a_row = p->b_row, p->a_col = p->b_col;
        p->b_row = row, p->b_col = col;
    }
    /* Scale and bias broadcast onto the normalized dims only (any extra leading dims are 1). */
    const int64_t *ndims = y->dims + axis;
    for (int i = 2; i < 4; i++) {
        if (!cuda_has_in(n, i)) continue;
        const cinfer_tensor *t = n->in[i];
        cinfer_tensor tail = *t; /* t's last nr dims, padded with leading 1s */
        tail.rank = nr;
        for (int k = 0; k < nr; k++) {
            int tk = t->rank - nr + k;
            tail.dims[k] = tk >= 0 ? t->dims[tk] : 1;
        }
        split_strides(bcast_strides(&tail, nr, ndims), 0, nr, &unused,
                      i == 2 ? &p->gamma_col : &p->beta_col);
    }
    p->epsilon = cuda_attr_float(n->node, "epsilon", 1e-5f);
    return cinfer_k_dims_count(&p->cols) > 0 ? CINFER_OK
                                             : cuda_no(why, "%s: empty rows", "SkipLayerNorm");
}

static cinfer_status skip_ln_supports(const cinfer_cuda_node *n, char *why) {
    cinfer_k_skip_ln p;
    return skip_ln_params(n, &p, why);
}

/* The types as skip_ln_types accepted them, A and B swapped as skip_ln_params did. */
static cudaError_t skip_ln_launch(cinfer_cuda_ctx *ctx, const cuda_step *s,
                                  const cinfer_k_skip_ln *p, const void *const *in,
                                  void *const *out) {
    cinfer_k_dtype dt = CINFER_K_F32, pdt = CINFER_K_F32, bdt = CINFER_K_F32;
    skip_ln_kdtype(s->out[0].dtype, &dt);
    skip_ln_kdtype(s->in[2].dtype, &pdt);
    int a = skip_ln_swap(&s->in[0], &s->out[0]), b = !a;
    skip_ln_kdtype(s->in[b].dtype, &bdt);
    return cinfer_k_skip_layer_norm(dt, out[0], s->n_out > 1 ? out[1] : NULL, in[a], in[b], bdt,
                                    pdt, in[2], s->n_in > 3 ? in[3] : NULL, *p, ctx->compute);
}

/* ---- Attention: inputs Q [.., sq, d], K [.., d, skv], V [.., skv, dv], [mask] ---- */

/* Batch strides of t's matrices (all but its last two dims, right-aligned to the batch shape
 * of the output), `mat` elements per matrix. */
static cinfer_k_strides batch_strides(const cinfer_tensor *t, int lead, const cinfer_k_dims *b,
                                      int64_t mat) {
    cinfer_k_strides st;
    memset(&st, 0, sizeof st);
    int64_t s = mat;
    for (int i = b->rank - 1; i >= 0; i--) {
        int ti = i - (b->rank - lead);
        int64_t d = ti >= 0 ? t->dims[ti] : 1;
        st.s[i] = d == 1 ? 0 : s;
        s *= d;
    }
    return st;
}

/* fp32 steps: float everywhere. Half mode (half_io at precision FP16/BF16): Q, K, V and Y in
 * the step's 16-bit type (the output's), the mask in it too when it is an activation, float
 * when it is a constant (constants keep their dtype). */
static cinfer_status attention_dtypes(const cinfer_cuda_node *n, char *why) {
    cinfer_dtype h = n->out[0]->dtype;
    if (h != CINFER_DTYPE_FLOAT16 && h != CINFER_DTYPE_BFLOAT16) return cuda_need_f32(n, why);
    for (int i = 0; i < 3; i++)
        if (n->in[i]->dtype != h)
            return cuda_no(why, "%s: half mode needs Q, K and V as 16-bit activations",
                           "Attention");
    if (cuda_has_in(n, 3) && n->in[3]->dtype != h && n->in[3]->dtype != CINFER_DTYPE_FLOAT)
        return cuda_no(why, "%s: a mask neither float nor the step's 16-bit type", "Attention");
    return CINFER_OK;
}

/* The tensor-core kernel's head sizes (its WMMA tiles are 16 wide). */
static bool attention_half_head(int64_t d) {
    return d >= CINFER_K_ATTENTION_HALF_MIN_HEAD && d <= CINFER_K_ATTENTION_MAX_HEAD &&
           d % 16 == 0;
}

static cinfer_status attention_params(const cinfer_cuda_node *n, attention_priv *ap,
                                      char *why) {
    cinfer_k_attention *p = &ap->k;
    if (attention_dtypes(n, why) != CINFER_OK) return CINFER_UNSUPPORTED;
    const cinfer_tensor *q = n->in[0], *k = n->in[1], *v = n->in[2], *y = n->out[0];
    const cinfer_tensor *m = cuda_has_in(n, 3) ? n->in[3] : NULL;
    bool packed = cuda_attr_int(n->node, "packed", 0) != 0;
    if (q->rank < 2 || k->rank < 2 || v->rank < 2 || y->rank < 2)
        return cuda_no(why, "%s: an operand of rank below 2", "Attention");
    cinfer__attention_operand op[3] = {{0}};
    cinfer__attention_rows rows = {
        .heads = cuda_attr_int(n->node, "heads", 0),
        .head_size = cuda_attr_int(n->node, "head_size", 0),
        .v_head_size = cuda_attr_int(n->node, "v_head_size", 0),
        .offset = {cuda_attr_int(n->node, "q_offset", 0), cuda_attr_int(n->node, "k_offset", 0),
                   cuda_attr_int(n->node, "v_offset", 0)}};
    if (packed && (y->rank != 4 || !cinfer__attention_operand_of(q, 0, &rows, &op[0]) ||
                   !cinfer__attention_operand_of(k, 1, &rows, &op[1]) ||
                   !cinfer__attention_operand_of(v, 2, &rows, &op[2])))
        return cuda_no(why, "%s: packed heads need [B, S, H, D] operands or rows that hold "
                       "them", "Attention");
    memset(p, 0, sizeof *p);
    p->sq = q->dims[q->rank - 2];
    p->d = q->dims[q->rank - 1];
    p->skv = k->dims[k->rank - 1];
    p->dv = v->dims[v->rank - 1];
    /* Q [B, Sq, H, D], K [B, Skv, H, D], V [B, Skv, H, Dv], or rows holding them
     * (src/ops/attention.c) */
    ap->offset[0] = ap->offset[1] = ap->offset[2] = 0;
    if (packed) {
        p->sq = op[0].rows, p->d = op[0].cols, p->skv = op[1].rows, p->dv = op[2].cols;
        for (int i = 0; i < 3; i++) ap->offset[i] = op[i].offset;
    }
    if (p->d > CINFER_K_ATTENTION_MAX_HEAD || p->dv > CINFER_K_ATTENTION_MAX_HEAD)
        return cuda_no(why, "%s: head size above 128", "Attention");
    bool half = y->dtype != CINFER_DTYPE_FLOAT; /* attention_dtypes: FLOAT16 or BFLOAT16 */
    if (half && (!attention_half_head(p->d) || !attention_half_head(p->dv)))
        return cuda_no(why, "%s: in fp16/bf16, head sizes 32 to 128 in steps of 16 only",
                       "Attention");
    if (p->skv == 0) return cuda_no(why, "%s: no keys", "Attention");
    if (packed) {
        /* batch [B, H] (the output's: Q, K, V broadcast where theirs is 1); heads side by side
         * in each row of every operand (kernels.h) */
        int64_t b = y->dims[0], h = y->dims[2];
        p->batch.rank = 2;
        p->batch.size[0] = b, p->batch.size[1] = h;
        p->q_row = cinfer__attention_packed_strides(&op[0], p->q_batch.s);
        p->k_j = cinfer__attention_packed_strides(&op[1], p->k_batch.s);
        p->v_row = cinfer__attention_packed_strides(&op[2], p->v_batch.s);
        p->k_d = 1;
        p->y_batch.s[0] = p->sq * h * p->dv, p->y_batch.s[1] = p->dv;
        p->y_row = h * p->dv;
        if (m && m->rank > 4) return cuda_no(why, "%s: a mask of rank above 4", "Attention");
    } else {
        /* The output is dense [batch..., sq, dv]: its leading dims are the broadcast batch. */
        p->batch.rank = y->rank - 2;
        for (int d = 0; d < p->batch.rank; d++) p->batch.size[d] = y->dims[d];
        if (q->rank > y->rank || k->rank > y->rank || v->rank > y->rank ||
            (m && m->rank > y->rank))
            return cuda_no(why, "%s: an operand of higher rank than the output", "Attention");
        p->q_batch = batch_strides(q, q->rank - 2, &p->batch, p->sq * p->d);
        p->k_batch = batch_strides(k, k->rank - 2, &p->batch, p->d * p->skv);
        p->v_batch = batch_strides(v, v->rank - 2, &p->batch, p->skv * p->dv);
    }
    if (m) { /* as the CPU reads it: a mask of rank < 2 is a row (or a scalar) */
        int64_t mr = m->rank >= 2 ? m->dims[m->rank - 2] : 1;
        int64_t mc = m->rank >= 1 ? m->dims[m->rank - 1] : 1;
        p->mask_row = mr == 1 ? 0 : mc;
        p->mask_col = mc == 1 ? 0 : 1;
        p->mask_batch = batch_strides(m, m->rank > 2 ? m->rank - 2 : 0, &p->batch, mr * mc);
    }
    p->scale = cuda_attr_float(n->node, "scale", 1.0f);
    return CINFER_OK;
}

static cinfer_status attention_supports(const cinfer_cuda_node *n, char *why) {
    attention_priv p;
    return attention_params(n, &p, why);
}

/* The fp32 kernel, or in half mode the tensor-core one; the mask's dtype is its own (float
 * when constant, the step's 16-bit type when an activation). */
static cudaError_t attention_launch(cinfer_cuda_ctx *ctx, const cuda_step *s,
                                    const attention_priv *p, const void *const *in,
                                    void *const *out) {
    const void *mask = s->n_in > 3 ? in[3] : NULL;
    cinfer_dtype h = s->out[0].dtype;
    size_t es = h == CINFER_DTYPE_FLOAT ? 4 : 2; /* Q, K and V are of Y's type */
    const void *qkv[3];
    for (int i = 0; i < 3; i++) qkv[i] = (const char *)in[i] + (size_t)p->offset[i] * es;
    if (h == CINFER_DTYPE_FLOAT)
        return cinfer_k_attention_f32(out[0], qkv[0], qkv[1], qkv[2], mask, p->k, ctx->compute);
    cinfer_k_dtype dt = h == CINFER_DTYPE_FLOAT16 ? CINFER_K_F16 : CINFER_K_BF16;
    cinfer_k_dtype mdt = mask && s->in[3].dtype != CINFER_DTYPE_FLOAT ? dt : CINFER_K_F32;
    return cinfer_k_attention_half(out[0], qkv[0], qkv[1], qkv[2], mask, dt, mdt, p->k,
                                   ctx->compute);
}

/* CINFER_CUDA_ATTENTION=mma or wmma picks the 16-bit kernel (cinfer_k_attention_kernel);
 * unset, the kernels' default. An experiment switch until the mma.sync kernel has been
 * measured against the WMMA one on a GPU (tools/gpu-check runs BERT both ways). */
static cinfer_status attention_kernel_choice(int32_t *kernel, char *why) {
    const char *e = getenv("CINFER_CUDA_ATTENTION");
    *kernel = CINFER_K_ATTENTION_AUTO;
    if (!e || !*e) return CINFER_OK;
    if (!strcmp(e, "mma")) *kernel = CINFER_K_ATTENTION_MMA;
    else if (!strcmp(e, "wmma")) *kernel = CINFER_K_ATTENTION_WMMA;
    else
        return cuda_no(why, "CINFER_CUDA_ATTENTION=%s: expected mma or wmma (or unset)", e);
    return CINFER_OK;
}

/* ---- prepare / run ---- */

static cinfer_status fused_prepare(cinfer_cuda_ctx *ctx, const cinfer_cuda_node *n,
                                   cuda_step *s, cinfer_cuda_err *err) {
    (void)ctx;
    char why[CINFER_CUDA_MSG_LEN];
    fused_priv *p = calloc(1, sizeof *p);
    if (!p) return cinfer_cuda_err_set(err, CINFER_OUT_OF_MEMORY, "out of memory");
    bool attention = !strcmp(n->node->op_type, "Attention");
    cinfer_status st = attention ? attention_params(n, &p->at, why) : skip_ln_params(n, &p->ln, why);
    if (st == CINFER_OK && attention) st = attention_kernel_choice(&p->at.k.kernel, why);
    if (st != CINFER_OK) {
        free(p);
        return cinfer_cuda_err_set(err, st, "%s", why);
    }
    s->priv = p;
    return CINFER_OK;
}

static cinfer_status fused_run(cinfer_cuda_ctx *ctx, cuda_step *s, const void *const *in,
                               void *const *out, cinfer_cuda_err *err) {
    const fused_priv *p = s->priv;
    const char *op = s->node->op_type;
    cudaError_t e;
    if (!strcmp(op, "Attention")) {
        e = attention_launch(ctx, s, &p->at, in, out);
    } else {
        e = skip_ln_launch(ctx, s, &p->ln, in, out);
    }
    return CINFER_CUDA_AFTER_LAUNCH(err, ctx->compute, e, op);
}

const cuda_op cinfer_cuda_ops_fused[] = {
    {"SkipLayerNorm", "cinfer", skip_ln_supports, fused_prepare, fused_run, free, true},
    {"Attention", "cinfer", attention_supports, fused_prepare, fused_run, free, true},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
