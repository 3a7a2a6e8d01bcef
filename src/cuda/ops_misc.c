/* GPU softmax, normalizations, data movement (Transpose, DepthToSpace, SpaceToDepth, Gather,
 * Concat), pooling and reductions on the kernels of kernels/softmax.cu, norm.cu, transpose.cu,
 * copy.cu, gather.cu, pool.cu and reduce.cu. Parameters are derived at prepare into a small
 * per-step struct. */
#include <stdlib.h>

#include "cuda/module_impl.h"
#include "kernels.h"

/* What the misc ops keep per step: a [outer, mid, inner] split, an axis, an epsilon, a
 * permutation or pooling window, all fixed at prepare. */
typedef struct misc_priv {
    int64_t outer, mid, inner;
    int axis;
    float eps;
    int flag; /* softmax: log; pool: is max; reduce: op */
    cinfer_k_perm perm;
    cinfer_k_pool2d pool;
    int64_t src_off;         /* Slice: the first element read, and the strides of the read */
    cinfer_k_strides src_st; /* Slice: read strides; Pad: the pad before each dim */
    cinfer_k_pad_mode pad_mode;
    float pad_value;
    cinfer_k_dims view; /* DepthToSpace, SpaceToDepth: the 6-D input view perm permutes */
} misc_priv;

static int64_t prod(const cinfer_tensor *t, int from, int to) {
    int64_t p = 1;
    for (int d = from; d < to; d++) p *= t->dims[d];
    return p;
}

#define LAUNCHED(e, what) CINFER_CUDA_AFTER_LAUNCH(err, ctx->compute, (e), (what))

/* ---- Float activations in 32 or 16 bits (half_io, module_impl.h) ---- */

/* The kernels' element type for a float dtype (float32, fp16, bf16); false for the others. */
static bool fp_kdtype(cinfer_dtype dt, cinfer_k_dtype *k) {
    switch (dt) {
    case CINFER_DTYPE_FLOAT: *k = CINFER_K_F32; return true;
    case CINFER_DTYPE_FLOAT16: *k = CINFER_K_F16; return true;
    case CINFER_DTYPE_BFLOAT16: *k = CINFER_K_BF16; return true;
    default: return false;
    }
}

/* Softmax, the norms, pools and reductions: inputs [0, acts) and every output share one float
 * dtype (float32, or fp16/bf16 in half mode or in an fp16 model); the parameters, present
 * inputs [acts, params_end) (scale, bias, mean, var), share one dtype, float32 (constant
 * weights) or the activations' own (activations of a half region). */
static cinfer_status fp_types(const cinfer_cuda_node *n, int acts, int params_end, char *why) {
    const char *op = n->node->op_type;
    cinfer_dtype dt = n->in[0]->dtype, pdt = 0;
    cinfer_k_dtype k;
    if (!fp_kdtype(dt, &k)) return cuda_no(why, "%s: float32, float16 or bfloat16 only", op);
    for (int i = 0; i < acts; i++)
        if (!n->in[i] || n->in[i]->dtype != dt)
            return cuda_no(why, "%s: inputs of different dtypes", op);
    for (int i = 0; i < n->n_out; i++)
        if (n->out[i] && n->out[i]->dtype != dt)
            return cuda_no(why, "%s: an output of another dtype than the input", op);
    for (int i = acts; i < params_end && i < n->n_in; i++) {
        if (!n->in[i]) continue;
        if (pdt && n->in[i]->dtype != pdt)
            return cuda_no(why, "%s: parameters of different dtypes", op);
        pdt = n->in[i]->dtype;
        if (pdt != CINFER_DTYPE_FLOAT && pdt != dt)
            return cuda_no(why, "%s: parameters neither float32 nor the input's dtype", op);
    }
    return CINFER_OK;
}

/* The element type of a slot that fp_types accepted (its dtype as the step sees it). */
static cinfer_k_dtype kdt(const cinfer_tensor *t) {
    cinfer_k_dtype k = CINFER_K_F32;
    fp_kdtype(t->dtype, &k);
    return k;
}

/* ---- Softmax, LogSoftmax ---- */

/* Rows of the reduced axis: before opset 13 Softmax flattens at `axis` (the kernel's [rows,
 * cols] view directly); from 13 on it runs along one axis: the last (rows), or another
 * ([outer, mid, inner] lines, p->inner > 1). */
static cinfer_status softmax_params(const cinfer_cuda_node *n, misc_priv *p, char *why) {
    const char *op = n->node->op_type;
    if (fp_types(n, 1, 1, why) != CINFER_OK) return CINFER_UNSUPPORTED;
    const cinfer_tensor *x = n->in[0];
    bool old = n->node->opset < 13;
    int axis = cuda_axis(cuda_attr_int(n->node, "axis", old ? 1 : -1), x->rank);
    if (axis < 0 || x->rank == 0) return cuda_no(why, "%s: axis out of range", op);
    p->outer = prod(x, 0, axis);
    p->mid = old ? prod(x, axis, x->rank) : x->dims[axis];
    p->inner = old ? 1 : prod(x, axis + 1, x->rank);
    p->flag = !strcmp(op, "LogSoftmax");
    return p->mid > 0 ? CINFER_OK : cuda_no(why, "%s: empty rows", op);
}

/* ---- LayerNormalization ---- */

static cinfer_status layernorm_params(const cinfer_cuda_node *n, misc_priv *p, char *why) {
    const char *op = n->node->op_type;
    if (fp_types(n, 1, n->n_in, why) != CINFER_OK) return CINFER_UNSUPPORTED;
    const cinfer_tensor *x = n->in[0];
    int axis = cuda_axis(cuda_attr_int(n->node, "axis", -1), x->rank);
    if (axis < 0) return cuda_no(why, "%s: axis out of range", op);
    p->outer = prod(x, 0, axis);
    p->mid = prod(x, axis, x->rank);
    p->eps = cuda_attr_float(n->node, "epsilon", 1e-5f);
    if (cuda_numel(n->in[1]) != p->mid || (cuda_has_in(n, 2) && cuda_numel(n->in[2]) != p->mid))
        return cuda_no(why, "%s: scale or bias broadcast within the normalized dims", op);
    return p->mid > 0 ? CINFER_OK : cuda_no(why, "%s: empty rows", op);
}

/* ---- BatchNormalization (inference), InstanceNormalization ---- */

static cinfer_status channel_norm_params(const cinfer_cuda_node *n, misc_priv *p, char *why) {
    const char *op = n->node->op_type;
    if (n->n_out > 1)
        for (int o = 1; o < n->n_out; o++)
            if (n->out[o]) return cuda_no(why, "%s: training outputs", op);
    if (cuda_attr_int(n->node, "training_mode", 0)) return cuda_no(why, "%s: training mode", op);
    if (fp_types(n, 1, n->n_in, why) != CINFER_OK) return CINFER_UNSUPPORTED;
    const cinfer_tensor *x = n->in[0];
    if (x->rank < 2) return cuda_no(why, "%s: rank below 2", op);
    p->outer = x->dims[0];
    p->mid = x->dims[1];
    p->inner = prod(x, 2, x->rank);
    p->eps = cuda_attr_float(n->node, "epsilon", 1e-5f);
    return CINFER_OK;
}

/* ---- Data movement with half activations ---- */

/* Whether a data-movement op moves input type `from` into output type `to`: the same type, or
 * a float constant into a 16-bit output in half mode (rounded on the way). */
static bool movable(cinfer_dtype from, cinfer_dtype to) {
    cinfer_k_dtype k;
    return from == to || (from == CINFER_DTYPE_FLOAT && fp_kdtype(to, &k) && k != CINFER_K_F32);
}

/* A strided copy between movable types: element for element, or float into 16 bits. */
static cudaError_t copy_typed(void *dst, cinfer_dtype to, cinfer_k_strides ds, const void *src,
                              cinfer_dtype from, cinfer_k_strides ss, cinfer_k_dims d,
                              cudaStream_t st) {
    cinfer_k_dtype k = CINFER_K_F32;
    if (from == to) return cinfer_k_copy_strided(dst, ds, src, ss, d, cuda_dtype_size(to), st);
    fp_kdtype(to, &k);
    return cinfer_k_copy_strided_f32_to_h(k, dst, ds, src, ss, d, st);
}

/* ---- Transpose ---- */

static cinfer_status transpose_params(const cinfer_cuda_node *n, misc_priv *p, char *why) {
    const cinfer_tensor *x = n->in[0];
    size_t es = cuda_dtype_size(x->dtype), c;
    if (es != 1 && es != 2 && es != 4 && es != 8) return cuda_no(why, "%s: element size", "Transpose");
    if (n->out[0]->dtype != x->dtype)
        return cuda_no(why, "%s: a float constant input in half mode", "Transpose");
    const int64_t *perm = cuda_attr_ints(n->node, "perm", &c);
    if (perm && (int)c != x->rank) return cuda_no(why, "%s: perm of the wrong length", "Transpose");
    for (int d = 0; d < x->rank; d++) {
        int64_t a = perm ? perm[d] : x->rank - 1 - d;
        if (a < 0) a += x->rank;
        p->perm.p[d] = (int32_t)a;
    }
    return CINFER_OK;
}

/* ---- DepthToSpace, SpaceToDepth: a 6-D permutation of the input (as src/cpu/shape.c) ---- */

static cinfer_status space_depth_params(const cinfer_cuda_node *n, misc_priv *p, char *why) {
    const char *op = n->node->op_type;
    const cinfer_tensor *x = n->in[0];
    size_t es = cuda_dtype_size(x->dtype);
    int64_t b = cuda_attr_int(n->node, "blocksize", 0);
    if (es != 1 && es != 2 && es != 4 && es != 8) return cuda_no(why, "%s: element size", op);
    if (n->out[0]->dtype != x->dtype)
        return cuda_no(why, "%s: a float constant input in half mode", op);
    if (x->rank != 4 || b < 1) return cuda_no(why, "%s: 4-D input and a blocksize", op);
    int64_t nn = x->dims[0], c = x->dims[1], h = x->dims[2], w = x->dims[3];
    static const int32_t dcr[6] = {0, 3, 4, 1, 5, 2}, crd[6] = {0, 1, 4, 2, 5, 3},
                         s2d[6] = {0, 3, 5, 1, 2, 4};
    const int32_t *perm;
    p->view.rank = 6;
    if (!strcmp(op, "SpaceToDepth")) {
        if (h % b || w % b) return cuda_no(why, "%s: H and W multiples of blocksize", op);
        int64_t v[6] = {nn, c, h / b, b, w / b, b};
        memcpy(p->view.size, v, sizeof v);
        perm = s2d;
    } else {
        if (c % (b * b)) return cuda_no(why, "%s: channels a multiple of blocksize^2", op);
        bool is_crd = !strcmp(cuda_attr_str(n->node, "mode", "DCR"), "CRD");
        int64_t v_dcr[6] = {nn, b, b, c / (b * b), h, w}, v_crd[6] = {nn, c / (b * b), b, b, h, w};
        memcpy(p->view.size, is_crd ? v_crd : v_dcr, sizeof v_dcr);
        perm = is_crd ? crd : dcr;
    }
    for (int d = 0; d < 6; d++) p->perm.p[d] = perm[d];
    return CINFER_OK;
}

/* ---- Gather ---- */

static cinfer_status gather_params(const cinfer_cuda_node *n, misc_priv *p, char *why) {
    const cinfer_tensor *x = n->in[0], *idx = n->in[1];
    size_t es = cuda_dtype_size(x->dtype);
    if (es != 1 && es != 2 && es != 4 && es != 8) return cuda_no(why, "%s: element size", "Gather");
    if (!movable(x->dtype, n->out[0]->dtype)) return cuda_no(why, "%s: output dtype", "Gather");
    if (idx->dtype != CINFER_DTYPE_INT64) return cuda_no(why, "%s: int64 indices only", "Gather");
    int axis = cuda_axis(cuda_attr_int(n->node, "axis", 0), x->rank);
    if (axis < 0 || x->rank == 0) return cuda_no(why, "%s: axis out of range", "Gather");
    p->axis = axis;
    p->outer = prod(x, 0, axis);
    p->mid = x->dims[axis];
    p->inner = prod(x, axis + 1, x->rank);
    /* Constant indices are checked here: the kernel turns an out-of-range one into zeros,
     * where the CPU reports an error. */
    if (idx->data)
        for (int64_t i = 0; i < cuda_numel(idx); i++) {
            int64_t v = ((const int64_t *)idx->data)[i];
            if (v < -p->mid || v >= p->mid) return cuda_no(why, "%s: index out of range", "Gather");
        }
    return CINFER_OK;
}

/* ---- GatherElements: indices of data's shape but along the axis ---- */

static cinfer_status gather_elements_params(const cinfer_cuda_node *n, misc_priv *p, char *why) {
    const char *op = "GatherElements";
    const cinfer_tensor *x = n->in[0], *idx = n->in[1];
    size_t es = cuda_dtype_size(x->dtype);
    if (es != 1 && es != 2 && es != 4 && es != 8) return cuda_no(why, "%s: element size", op);
    if (n->out[0]->dtype != x->dtype) return cuda_no(why, "%s: output dtype", op);
    if (idx->dtype != CINFER_DTYPE_INT64 && idx->dtype != CINFER_DTYPE_INT32)
        return cuda_no(why, "%s: int64 or int32 indices", op);
    p->axis = cuda_axis(cuda_attr_int(n->node, "axis", 0), x->rank);
    if (p->axis < 0 || idx->rank != x->rank) return cuda_no(why, "%s: axis or rank", op);
    for (int d = 0; d < x->rank; d++)
        if (d != p->axis && idx->dims[d] != x->dims[d])
            return cuda_no(why, "%s: indices smaller than the data off the axis", op);
    p->outer = prod(x, 0, p->axis);
    p->mid = x->dims[p->axis];
    p->inner = prod(x, p->axis + 1, x->rank);
    /* Constant indices are checked here: the kernel reads zeros for an out-of-range one,
     * where the CPU reports an error. */
    for (int64_t i = 0; idx->data && i < cuda_numel(idx); i++) {
        int64_t v = idx->dtype == CINFER_DTYPE_INT64 ? ((const int64_t *)idx->data)[i]
                                                     : ((const int32_t *)idx->data)[i];
        if (v < -p->mid || v >= p->mid) return cuda_no(why, "%s: index out of range", op);
    }
    return CINFER_OK;
}

/* ---- Concat ---- */

static cinfer_status concat_params(const cinfer_cuda_node *n, misc_priv *p, char *why) {
    const cinfer_tensor *y = n->out[0];
    size_t es = cuda_dtype_size(y->dtype);
    if (es != 1 && es != 2 && es != 4 && es != 8) return cuda_no(why, "%s: element size", "Concat");
    /* Concat-1's axis is optional with default 1; from opset 4 it is required. */
    int64_t dflt = n->node->opset < 4 ? 1 : 0;
    int axis = cuda_axis(cuda_attr_int(n->node, "axis", dflt), y->rank);
    if (axis < 0 || y->rank == 0) return cuda_no(why, "%s: axis out of range", "Concat");
    for (int i = 0; i < n->n_in; i++)
        if (!n->in[i] || !movable(n->in[i]->dtype, y->dtype) || n->in[i]->rank != y->rank)
            return cuda_no(why, "%s: operands differ in dtype or rank", "Concat");
    p->axis = axis;
    return CINFER_OK;
}

/* ---- MaxPool, AveragePool (2-D), GlobalAveragePool, GlobalMaxPool ---- */

static cinfer_status pool_params(const cinfer_cuda_node *n, misc_priv *p, char *why) {
    const char *op = n->node->op_type;
    if (n->n_out > 1 && n->out[1]) return cuda_no(why, "%s: the Indices output", op);
    if (fp_types(n, 1, 1, why) != CINFER_OK) return CINFER_UNSUPPORTED;
    const cinfer_tensor *x = n->in[0];
    p->flag = strstr(op, "Max") != NULL;
    if (!strncmp(op, "Global", 6)) {
        if (x->rank < 3) return cuda_no(why, "%s: rank below 3", op);
        p->outer = x->dims[0] * x->dims[1];
        p->inner = prod(x, 2, x->rank);
        return CINFER_OK;
    }
    if (x->rank != 4) return cuda_no(why, "%s: only 2-D pooling on the GPU", op);
    /* auto_pad's pads as src/ops/pool.c derives them (ceil(in / stride) outputs, the odd pad
     * at the end for SAME_UPPER). ceil_mode needs nothing here: the output size comes planned,
     * and the kernel counts count_include_pad's taps inside [-pad, in + pad_end) only, as the
     * CPU does, so a last window reaching past the end pad divides alike. */
    int ap = cuda_auto_pad(n->node);
    if (ap < 0) return cuda_no(why, "%s: auto_pad is not NOTSET, VALID or SAME_*", op);
    size_t ck, cs, cp, cd;
    const int64_t *k = cuda_attr_ints(n->node, "kernel_shape", &ck);
    const int64_t *s = cuda_attr_ints(n->node, "strides", &cs);
    const int64_t *pd = cuda_attr_ints(n->node, "pads", &cp);
    const int64_t *dl = cuda_attr_ints(n->node, "dilations", &cd);
    if (ck != 2 || (s && cs != 2) || (pd && cp != 4) || (dl && cd != 2))
        return cuda_no(why, "%s: attribute lengths", op);
    p->pool = (cinfer_k_pool2d){
        .kernel_h = k[0], .kernel_w = k[1], .stride_h = s ? s[0] : 1, .stride_w = s ? s[1] : 1,
        .pad_top = pd ? pd[0] : 0, .pad_left = pd ? pd[1] : 0,
        .pad_bottom = pd ? pd[2] : 0, .pad_right = pd ? pd[3] : 0,
        .dil_h = dl ? dl[0] : 1, .dil_w = dl ? dl[1] : 1,
        .count_include_pad = (int32_t)cuda_attr_int(n->node, "count_include_pad", 0)};
    cinfer_k_pool2d *q = &p->pool;
    if (ap == CUDA_PAD_VALID) q->pad_top = q->pad_left = q->pad_bottom = q->pad_right = 0;
    if (ap == CUDA_PAD_SAME_UPPER || ap == CUDA_PAD_SAME_LOWER) {
        cuda_same_pads(ap, x->dims[2], q->kernel_h, q->stride_h, q->dil_h, &q->pad_top,
                       &q->pad_bottom);
        cuda_same_pads(ap, x->dims[3], q->kernel_w, q->stride_w, q->dil_w, &q->pad_left,
                       &q->pad_right);
    }
    return CINFER_OK;
}

/* ---- ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceSumSquare, ReduceL1, ReduceL2 and
 * ReduceLogSum over adjacent axes ---- */

static cinfer_status reduce_params(const cinfer_cuda_node *n, misc_priv *p, char *why) {
    const char *op = n->node->op_type;
    const cinfer_tensor *x = n->in[0];
    if (fp_types(n, 1, 1, why) != CINFER_OK) return CINFER_UNSUPPORTED;
    p->flag = !strcmp(op, "ReduceSum")         ? CINFER_K_REDUCE_SUM
              : !strcmp(op, "ReduceMean")      ? CINFER_K_REDUCE_MEAN
              : !strcmp(op, "ReduceMax")       ? CINFER_K_REDUCE_MAX
              : !strcmp(op, "ReduceSumSquare") ? CINFER_K_REDUCE_SUM_SQUARE
              : !strcmp(op, "ReduceL1")        ? CINFER_K_REDUCE_L1
              : !strcmp(op, "ReduceL2")        ? CINFER_K_REDUCE_L2
              : !strcmp(op, "ReduceLogSum")    ? CINFER_K_REDUCE_LOG_SUM
                                               : CINFER_K_REDUCE_MIN;
    bool reduced[CINFER_MAX_RANK] = {false};
    size_t c = 0;
    const int64_t *axes = NULL;
    if (cuda_has_in(n, 1)) {
        if (!n->in[1]->data) return cuda_no(why, "%s: axes known only at run time", op);
        axes = n->in[1]->data;
        c = (size_t)cuda_numel(n->in[1]);
    } else {
        axes = cuda_attr_ints(n->node, "axes", &c);
    }
    if (!c && cuda_attr_int(n->node, "noop_with_empty_axes", 0))
        return cuda_no(why, "%s: noop_with_empty_axes", op);
    for (int d = 0; d < x->rank; d++) reduced[d] = c == 0;
    for (size_t i = 0; i < c; i++) {
        int a = cuda_axis(axes[i], x->rank);
        if (a < 0) return cuda_no(why, "%s: axis out of range", op);
        reduced[a] = true;
    }
    int first = 0, last = x->rank - 1;
    while (first < x->rank && !reduced[first]) first++;
    while (last >= 0 && !reduced[last]) last--;
    if (first > last) return cuda_no(why, "%s: nothing to reduce", op);
    for (int d = first; d <= last; d++)
        if (!reduced[d]) return cuda_no(why, "%s: reduced axes that are not adjacent", op);
    p->outer = prod(x, 0, first);
    p->mid = prod(x, first, last + 1);
    p->inner = prod(x, last + 1, x->rank);
    return p->mid > 0 ? CINFER_OK : cuda_no(why, "%s: empty reduction", op);
}

/* ---- ArgMax, ArgMin along one axis (float32 or int64 in, int64 out). Not half_io: they read
 * float, so a 16-bit producer's values arrive widened (exactly: the same answer as on its
 * 16-bit values) at the cost of one widening pass; a 16-bit kernel would save that. ---- */

static cinfer_status arg_params(const cinfer_cuda_node *n, misc_priv *p, char *why) {
    const char *op = n->node->op_type;
    const cinfer_tensor *x = n->in[0];
    if ((x->dtype != CINFER_DTYPE_FLOAT && x->dtype != CINFER_DTYPE_INT64) ||
        n->out[0]->dtype != CINFER_DTYPE_INT64)
        return cuda_no(why, "%s: float32 or int64 input", op);
    p->axis = cuda_axis(cuda_attr_int(n->node, "axis", 0), x->rank);
    if (p->axis < 0) return cuda_no(why, "%s: axis out of range", op);
    p->outer = prod(x, 0, p->axis);
    p->mid = x->dims[p->axis];
    p->inner = prod(x, p->axis + 1, x->rank);
    p->flag = cuda_attr_int(n->node, "select_last_index", 0) != 0;
    return p->mid > 0 ? CINFER_OK : cuda_no(why, "%s: an empty axis", op);
}

/* ---- CumSum along a constant axis (float32, int32, int64; not half_io: float sums are
 * double on the CPU, and a 16-bit running sum would lose them) ---- */

static cinfer_status cumsum_params(const cinfer_cuda_node *n, misc_priv *p, char *why) {
    const char *op = n->node->op_type;
    const cinfer_tensor *x = n->in[0], *ax = n->in[1];
    cinfer_dtype dt = x->dtype;
    if ((dt != CINFER_DTYPE_FLOAT && dt != CINFER_DTYPE_INT32 && dt != CINFER_DTYPE_INT64) ||
        n->out[0]->dtype != dt)
        return cuda_no(why, "%s: float32, int32 or int64", op);
    if (!ax || !ax->data || cuda_numel(ax) != 1 ||
        (ax->dtype != CINFER_DTYPE_INT64 && ax->dtype != CINFER_DTYPE_INT32))
        return cuda_no(why, "%s: axis known only at run time", op);
    int64_t a = ax->dtype == CINFER_DTYPE_INT64 ? *(const int64_t *)ax->data
                                                : *(const int32_t *)ax->data;
    p->axis = cuda_axis(a, x->rank);
    if (p->axis < 0) return cuda_no(why, "%s: axis out of range", op);
    p->outer = prod(x, 0, p->axis);
    p->mid = x->dims[p->axis];
    p->inner = prod(x, p->axis + 1, x->rank);
    p->flag = (cuda_attr_int(n->node, "exclusive", 0) != 0) |
              (cuda_attr_int(n->node, "reverse", 0) != 0) << 1;
    return CINFER_OK;
}

/* ---- Slice (constant starts, axes and steps; ends are in the planned output shape; before
 * opset 10, starts and axes are attributes and steps 1) ---- */

static bool const_ints(const cinfer_cuda_node *n, int i, int64_t *dst, int64_t count) {
    const cinfer_tensor *t = n->in[i];
    if (!t->data || (t->dtype != CINFER_DTYPE_INT64 && t->dtype != CINFER_DTYPE_INT32) ||
        cuda_numel(t) != count)
        return false;
    for (int64_t k = 0; k < count; k++)
        dst[k] = t->dtype == CINFER_DTYPE_INT64 ? ((const int64_t *)t->data)[k]
                                                : ((const int32_t *)t->data)[k];
    return true;
}

static cinfer_status slice_params(const cinfer_cuda_node *n, misc_priv *p, char *why) {
    const cinfer_tensor *x = n->in[0];
    size_t es = cuda_dtype_size(x->dtype);
    if (es != 1 && es != 2 && es != 4 && es != 8) return cuda_no(why, "%s: element size", "Slice");
    if (!movable(x->dtype, n->out[0]->dtype)) return cuda_no(why, "%s: output dtype", "Slice");
    int64_t m, starts[CINFER_MAX_RANK], axes[CINFER_MAX_RANK], steps[CINFER_MAX_RANK];
    bool attrs = n->node->opset < 10;
    size_t count = 0, n_axes = 0;
    const int64_t *a_starts = attrs ? cuda_attr_ints(n->node, "starts", &count) : NULL;
    const int64_t *a_axes = attrs ? cuda_attr_ints(n->node, "axes", &n_axes) : NULL;
    m = attrs ? (int64_t)count : cuda_numel(n->in[1]);
    if (m > x->rank || (attrs ? !a_starts || (a_axes && (int64_t)n_axes != m)
                              : !const_ints(n, 1, starts, m)))
        return cuda_no(why, "%s: starts known only at run time", "Slice");
    for (int64_t k = 0; k < m; k++) {
        if (attrs) starts[k] = a_starts[k];
        axes[k] = a_axes ? a_axes[k] : k;
        steps[k] = 1;
    }
    if (!attrs && ((cuda_has_in(n, 3) && !const_ints(n, 3, axes, m)) ||
                   (cuda_has_in(n, 4) && !const_ints(n, 4, steps, m))))
        return cuda_no(why, "%s: axes or steps known only at run time", "Slice");
    int64_t in_st[CINFER_MAX_RANK], acc = 1;
    for (int d = x->rank - 1; d >= 0; d--) {
        in_st[d] = acc;
        acc *= x->dims[d];
        p->src_st.s[d] = in_st[d];
    }
    p->src_off = 0;
    for (int64_t k = 0; k < m; k++) {
        int a = cuda_axis(axes[k], x->rank);
        if (a < 0 || steps[k] == 0) return cuda_no(why, "%s: bad axes or steps", "Slice");
        int64_t dim = x->dims[a], st = starts[k] < 0 ? starts[k] + dim : starts[k];
        int64_t hi = steps[k] > 0 ? dim : dim - 1;
        st = st < 0 ? 0 : st > hi ? hi : st;
        if (n->out[0]->dims[a] > 0) p->src_off += st * in_st[a];
        p->src_st.s[a] = in_st[a] * steps[k];
    }
    return CINFER_OK;
}

/* ---- Split, Expand, Tile: strided copies over the planned output shapes ---- */

static cinfer_status movement_params(const cinfer_cuda_node *n, misc_priv *p, char *why) {
    const char *op = n->node->op_type;
    const cinfer_tensor *x = n->in[0];
    size_t es = cuda_dtype_size(x->dtype);
    if (es != 1 && es != 2 && es != 4 && es != 8) return cuda_no(why, "%s: element size", op);
    bool expand = !strcmp(op, "Expand");
    for (int o = 0; o < n->n_out; o++) {
        if (!n->out[o]) return cuda_no(why, "%s: an omitted output", op);
        if (expand ? x->rank > n->out[o]->rank : x->rank != n->out[o]->rank)
            return cuda_no(why, "%s: output rank", op);
        /* Tile moves elements as they are; Split and Expand may round a float constant. */
        if (strcmp(op, "Tile") ? !movable(x->dtype, n->out[o]->dtype)
                               : x->dtype != n->out[o]->dtype)
            return cuda_no(why, "%s: output dtype", op);
    }
    if (!strcmp(op, "Split")) {
        p->axis = cuda_axis(cuda_attr_int(n->node, "axis", 0), x->rank);
        if (p->axis < 0 || n->n_out > CUDA_OP_MAX_IO) return cuda_no(why, "%s: axis", op);
    }
    return CINFER_OK;
}

/* Dense dims of t as a kernel shape. */
static cinfer_k_dims k_dims(const cinfer_tensor *t);

static cudaError_t movement_launch(cuda_step *s, const misc_priv *p, const void *const *in,
                                   void *const *out, cudaStream_t stream) {
    const char *op = s->node->op_type;
    size_t es = cuda_dtype_size(s->in[0].dtype);
    cinfer_k_dims xd = k_dims(&s->in[0]);
    if (!strcmp(op, "Tile")) return cinfer_k_tile(out[0], in[0], xd, k_dims(&s->out[0]), es,
                                                  stream);
    cinfer_dtype from = s->in[0].dtype;
    if (!strcmp(op, "Expand")) {
        cinfer_k_dims yd = k_dims(&s->out[0]);
        if (cinfer_k_dims_count(&yd) == 0) return cudaSuccess;
        return copy_typed(out[0], s->out[0].dtype, cinfer_k_dense_strides(&yd), in[0], from,
                          cinfer_k_broadcast_strides(s->in[0].dims, s->in[0].rank, &yd), yd,
                          stream);
    }
    cinfer_k_strides xs = cinfer_k_dense_strides(&xd);
    int64_t at = 0;
    for (int o = 0; o < s->n_out; o++) {
        cinfer_k_dims yd = k_dims(&s->out[o]);
        if (cinfer_k_dims_count(&yd)) {
            const char *src = (const char *)in[0] + (size_t)(at * xs.s[p->axis]) * es;
            cudaError_t e = copy_typed(out[o], s->out[o].dtype, cinfer_k_dense_strides(&yd), src,
                                       from, xs, yd, stream);
            if (e != cudaSuccess) return e;
        }
        at += s->out[o].dims[p->axis];
    }
    return cudaSuccess;
}

/* ---- Pad (constant pads and value) ---- */

static cinfer_status pad_params(const cinfer_cuda_node *n, misc_priv *p, char *why) {
    const cinfer_tensor *x = n->in[0];
    cinfer_k_dtype k;
    if (!fp_kdtype(x->dtype, &k) || n->out[0]->dtype != x->dtype)
        return cuda_no(why, "%s: float32 or 16-bit floats, the output alike", "Pad");
    const char *mode = cuda_attr_str(n->node, "mode", "constant");
    p->pad_mode = !strcmp(mode, "reflect") ? CINFER_K_PAD_REFLECT
                  : !strcmp(mode, "edge")  ? CINFER_K_PAD_EDGE
                                           : CINFER_K_PAD_CONSTANT;
    if (strcmp(mode, "constant") && p->pad_mode == CINFER_K_PAD_CONSTANT)
        return cuda_no(why, "Pad: mode '%s'", mode);
    int64_t pads[2 * CINFER_MAX_RANK];
    p->pad_value = 0;
    if (n->node->opset < 11) {
        size_t c;
        const int64_t *a = cuda_attr_ints(n->node, "pads", &c);
        if (!a || (int)c != 2 * x->rank) return cuda_no(why, "%s: pads", "Pad");
        memcpy(pads, a, c * sizeof *a);
        p->pad_value = cuda_attr_float(n->node, "value", 0.0f);
    } else {
        if (cuda_has_in(n, 3)) return cuda_no(why, "%s: the axes input", "Pad");
        if (!const_ints(n, 1, pads, 2 * x->rank))
            return cuda_no(why, "%s: pads known only at run time", "Pad");
        if (cuda_has_in(n, 2)) {
            const cinfer_tensor *v = n->in[2];
            if (!v->data || cuda_numel(v) != 1 || v->dtype != CINFER_DTYPE_FLOAT)
                return cuda_no(why, "%s: constant_value known only at run time", "Pad");
            p->pad_value = *(const float *)v->data;
        }
    }
    for (int d = 0; d < CINFER_K_MAX_RANK; d++) p->src_st.s[d] = d < x->rank ? pads[d] : 0;
    for (int d = 0; d < x->rank; d++)
        if (p->pad_mode != CINFER_K_PAD_CONSTANT && (pads[d] || pads[x->rank + d]) &&
            x->dims[d] < (p->pad_mode == CINFER_K_PAD_REFLECT ? 2 : 1))
            return cuda_no(why, "%s: reflect/edge over a dimension too small", "Pad");
    return CINFER_OK;
}

/* ---- Dispatch by op ---- */

typedef cinfer_status (*params_fn)(const cinfer_cuda_node *n, misc_priv *p, char *why);

static params_fn params_of(const char *op) {
    if (!strcmp(op, "Softmax") || !strcmp(op, "LogSoftmax")) return softmax_params;
    if (!strcmp(op, "LayerNormalization")) return layernorm_params;
    if (!strcmp(op, "BatchNormalization") || !strcmp(op, "InstanceNormalization"))
        return channel_norm_params;
    if (!strcmp(op, "Transpose")) return transpose_params;
    if (!strcmp(op, "DepthToSpace") || !strcmp(op, "SpaceToDepth")) return space_depth_params;
    if (!strcmp(op, "ArgMax") || !strcmp(op, "ArgMin")) return arg_params;
    if (!strcmp(op, "CumSum")) return cumsum_params;
    if (!strcmp(op, "GatherElements")) return gather_elements_params;
    if (!strcmp(op, "Gather")) return gather_params;
    if (!strcmp(op, "Concat")) return concat_params;
    if (!strcmp(op, "Slice")) return slice_params;
    if (!strcmp(op, "Pad")) return pad_params;
    if (!strcmp(op, "Split") || !strcmp(op, "Expand") || !strcmp(op, "Tile"))
        return movement_params;
    if (strstr(op, "Pool")) return pool_params;
    return reduce_params;
}

static cinfer_status misc_supports(const cinfer_cuda_node *n, char *why) {
    misc_priv p;
    memset(&p, 0, sizeof p);
    return params_of(n->node->op_type)(n, &p, why);
}

static cinfer_status misc_prepare(cinfer_cuda_ctx *ctx, const cinfer_cuda_node *n, cuda_step *s,
                                  cinfer_cuda_err *err) {
    (void)ctx;
    char why[CINFER_CUDA_MSG_LEN];
    misc_priv *p = calloc(1, sizeof *p);
    if (!p) return cinfer_cuda_err_set(err, CINFER_OUT_OF_MEMORY, "out of memory");
    cinfer_status st = params_of(n->node->op_type)(n, p, why);
    if (st != CINFER_OK) {
        free(p);
        return cinfer_cuda_err_set(err, st, "%s", why);
    }
    s->priv = p;
    return CINFER_OK;
}

static cinfer_k_dims k_dims(const cinfer_tensor *t) {
    cinfer_k_dims d = {.rank = t->rank};
    for (int i = 0; i < t->rank; i++) d.size[i] = t->dims[i];
    return d;
}

/* Each input copied into its slab of the output: the output's strides, offset along axis. */
/* Channels last (s->nhwc), every operand is 4-D: Concat runs on their NHWC-ordered views,
 * along the axis where the NCHW one lies there (module_impl.h, CUDA_OP_AXIS). */
static cudaError_t concat_launch(cuda_step *s, const misc_priv *p, const void *const *in,
                                 void *out, cudaStream_t stream) {
    cinfer_tensor y = s->nhwc ? cuda_nhwc_view(&s->out[0]) : s->out[0];
    int axis = s->nhwc ? cuda_nhwc_axis(p->axis) : p->axis;
    cinfer_k_dims yd = k_dims(&y);
    cinfer_k_strides ys = cinfer_k_dense_strides(&yd);
    size_t es = cuda_dtype_size(s->out[0].dtype);
    int64_t at = 0;
    for (int i = 0; i < s->n_in; i++) {
        cinfer_tensor x = s->nhwc ? cuda_nhwc_view(&s->in[i]) : s->in[i];
        cinfer_k_dims d = k_dims(&x);
        int64_t n = cinfer_k_dims_count(&d);
        if (n) {
            cudaError_t e = copy_typed((char *)out + (size_t)(at * ys.s[axis]) * es,
                                       s->out[0].dtype, ys, in[i], s->in[i].dtype,
                                       cinfer_k_dense_strides(&d), d, stream);
            if (e != cudaSuccess) return e;
        }
        at += x.dims[axis];
    }
    return cudaSuccess;
}

/* Gather: a float table (a constant) into a 16-bit output is rounded on the way. */
static cudaError_t gather_launch(cuda_step *s, const misc_priv *p, const void *const *in,
                                 void *out, cudaStream_t stream) {
    int64_t k = cuda_numel(&s->in[1]);
    if (s->in[0].dtype == s->out[0].dtype)
        return cinfer_k_gather(out, in[0], in[1], p->outer, p->mid, p->inner, k,
                               cuda_dtype_size(s->in[0].dtype), stream);
    return cinfer_k_gather_f32_to_h(kdt(&s->out[0]), out, in[0], in[1], p->outer, p->mid,
                                    p->inner, k, stream);
}

/* Slice: the read starts src_off elements of the input's type into it. */
static cudaError_t slice_launch(cuda_step *s, const misc_priv *p, const void *const *in,
                                void *out, cudaStream_t stream) {
    cinfer_k_dims d = k_dims(&s->out[0]);
    if (cinfer_k_dims_count(&d) == 0) return cudaSuccess;
    const char *src = (const char *)in[0] + (size_t)p->src_off * cuda_dtype_size(s->in[0].dtype);
    return copy_typed(out, s->out[0].dtype, cinfer_k_dense_strides(&d), src, s->in[0].dtype,
                      p->src_st, d, stream);
}

static cudaError_t pad_launch(cuda_step *s, const misc_priv *p, const void *const *in,
                              void *out, cudaStream_t stream) {
    cinfer_k_dims xd = k_dims(&s->in[0]), yd = k_dims(&s->out[0]);
    cinfer_k_dtype k = kdt(&s->in[0]);
    if (k == CINFER_K_F32)
        return cinfer_k_pad_f32(out, in[0], xd, yd, p->src_st, p->pad_mode, p->pad_value, stream);
    return cinfer_k_pad_h(k, out, in[0], xd, yd, p->src_st, p->pad_mode, p->pad_value, stream);
}

static cinfer_status misc_run(cinfer_cuda_ctx *ctx, cuda_step *s, const void *const *in,
                              void *const *out, cinfer_cuda_err *err) {
    const misc_priv *p = s->priv;
    const char *op = s->node->op_type;
    cudaStream_t st = ctx->compute;
    cudaError_t e;
    if (!strcmp(op, "Softmax") || !strcmp(op, "LogSoftmax")) {
        e = p->inner != 1 ? cinfer_k_softmax_middle(kdt(&s->in[0]), out[0], in[0], p->outer,
                                                   p->mid, p->inner, p->flag, st)
                         : cinfer_k_softmax(kdt(&s->in[0]), out[0], in[0], p->outer, p->mid,
                                            p->flag, st);
    } else if (!strcmp(op, "LayerNormalization")) {
        e = cinfer_k_layer_norm(kdt(&s->in[0]), out[0], s->n_out > 1 ? out[1] : NULL,
                                s->n_out > 2 ? out[2] : NULL, in[0], kdt(&s->in[1]), in[1],
                                s->n_in > 2 ? in[2] : NULL, p->outer, p->mid, p->eps, st);
    } else if (!strcmp(op, "BatchNormalization")) {
        /* Channels last: N*H*W pixels of C channels each (s->nhwc, module_impl.h). */
        e = cinfer_k_batch_norm(kdt(&s->in[0]), out[0], in[0], kdt(&s->in[1]), in[1], in[2],
                                in[3], in[4], s->nhwc ? p->outer * p->inner : p->outer, p->mid,
                                s->nhwc ? 1 : p->inner, p->eps, st);
    } else if (!strcmp(op, "InstanceNormalization")) {
        e = cinfer_k_instance_norm(kdt(&s->in[0]), out[0], in[0], kdt(&s->in[1]), in[1], in[2],
                                   p->outer, p->mid, p->inner, p->eps, st);
    } else if (!strcmp(op, "Transpose")) {
        e = cinfer_k_transpose(out[0], in[0], k_dims(&s->in[0]), p->perm,
                               cuda_dtype_size(s->in[0].dtype), st);
    } else if (!strcmp(op, "DepthToSpace") || !strcmp(op, "SpaceToDepth")) {
        e = cinfer_k_transpose(out[0], in[0], p->view, p->perm, cuda_dtype_size(s->in[0].dtype),
                               st);
    } else if (!strcmp(op, "ArgMax") || !strcmp(op, "ArgMin")) {
        int is_max = !strcmp(op, "ArgMax");
        e = s->in[0].dtype == CINFER_DTYPE_FLOAT
                ? cinfer_k_arg_f32(out[0], in[0], p->outer, p->mid, p->inner, is_max, p->flag, st)
                : cinfer_k_arg_i64(out[0], in[0], p->outer, p->mid, p->inner, is_max, p->flag, st);
    } else if (!strcmp(op, "GatherElements")) {
        e = cinfer_k_gather_elements(out[0], in[0], in[1], s->in[1].dtype == CINFER_DTYPE_INT64,
                                     p->outer, p->mid, p->inner, s->in[1].dims[p->axis],
                                     cuda_dtype_size(s->in[0].dtype), st);
    } else if (!strcmp(op, "CumSum")) {
        cinfer_k_dtype k = s->in[0].dtype == CINFER_DTYPE_FLOAT   ? CINFER_K_F32
                           : s->in[0].dtype == CINFER_DTYPE_INT32 ? CINFER_K_I32
                                                                  : CINFER_K_I64;
        e = cinfer_k_cumsum(k, out[0], in[0], p->outer, p->mid, p->inner, p->flag & 1,
                            (p->flag >> 1) & 1, st);
    } else if (!strcmp(op, "Gather")) {
        e = gather_launch(s, p, in, out[0], st);
    } else if (!strcmp(op, "Concat")) {
        e = concat_launch(s, p, in, out[0], st);
    } else if (!strcmp(op, "Split") || !strcmp(op, "Expand") || !strcmp(op, "Tile")) {
        e = movement_launch(s, p, in, out, st);
    } else if (!strcmp(op, "Pad")) {
        e = pad_launch(s, p, in, out[0], st);
    } else if (!strcmp(op, "Slice")) {
        e = slice_launch(s, p, in, out[0], st);
    } else if (!strncmp(op, "Global", 6) && s->nhwc) {
        /* [N][HW][C] reduced over HW: [N][C], the bytes of Y [N, C, 1, 1] in either layout. */
        const cinfer_tensor *x = &s->in[0];
        e = cinfer_k_reduce(kdt(x), p->flag ? CINFER_K_REDUCE_MAX : CINFER_K_REDUCE_MEAN, out[0],
                            in[0], x->dims[0], p->inner, x->dims[1], st);
    } else if (!strncmp(op, "Global", 6)) {
        e = cinfer_k_global_pool(kdt(&s->in[0]), out[0], in[0], p->outer, p->inner, p->flag, st);
    } else if (strstr(op, "Pool")) {
        const cinfer_tensor *x = &s->in[0], *y = &s->out[0];
        e = s->nhwc ? cinfer_k_pool2d_nhwc(kdt(x), p->flag, out[0], in[0], x->dims[0], x->dims[1],
                                           x->dims[2], x->dims[3], y->dims[2], y->dims[3],
                                           p->pool, st)
                    : (p->flag ? cinfer_k_max_pool2d : cinfer_k_avg_pool2d)(
                          kdt(x), out[0], in[0], x->dims[0] * x->dims[1], x->dims[2],
                          x->dims[3], y->dims[2], y->dims[3], p->pool, st);
    } else {
        e = cinfer_k_reduce(kdt(&s->in[0]), p->flag, out[0], in[0], p->outer, p->mid, p->inner,
                            st);
    }
    return LAUNCHED(e, op);
}

#define MISC(name) {name, "", misc_supports, misc_prepare, misc_run, free}
/* An op whose kernels also take fp16/bf16 activations (half_io, module_impl.h). */
#define MISC_HALF(name) {name, "", misc_supports, misc_prepare, misc_run, free, true}
/* ... that also run on channels-last storage (module_impl.h, CUDA_OP_EITHER). */
#define MISC_NHWC(name) \
    {name, "", misc_supports, misc_prepare, misc_run, free, true, CUDA_OP_EITHER}

const cuda_op cinfer_cuda_ops_misc[] = {
    MISC_HALF("Softmax"), MISC_HALF("LogSoftmax"), MISC_HALF("LayerNormalization"),
    MISC_NHWC("BatchNormalization"), MISC_HALF("InstanceNormalization"), MISC_HALF("Transpose"),
    MISC_HALF("Gather"), MISC_HALF("DepthToSpace"), MISC_HALF("SpaceToDepth"),
    {"Concat", "", misc_supports, misc_prepare, misc_run, free, true, CUDA_OP_AXIS},
    MISC_HALF("Slice"), MISC_HALF("Split"),
    MISC_HALF("Expand"), MISC_HALF("Tile"), MISC_HALF("Pad"), MISC_NHWC("MaxPool"),
    MISC_NHWC("AveragePool"),
    MISC_NHWC("GlobalAveragePool"), MISC_NHWC("GlobalMaxPool"), MISC_HALF("ReduceSum"),
    MISC_HALF("ReduceMean"), MISC_HALF("ReduceMax"), MISC_HALF("ReduceMin"),
    MISC("ArgMax"), MISC("ArgMin"), MISC("CumSum"), MISC("GatherElements"),
    MISC("ReduceSumSquare"), MISC("ReduceL1"),
    MISC_HALF("ReduceL2"),
    MISC_HALF("ReduceLogSum"),
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
