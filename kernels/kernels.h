/* cinfer's hand-written CUDA kernels: one `extern "C"` launch wrapper per kernel, taking device
 * pointers, sizes and the stream to launch on. Each returns cudaSuccess or the launch error
 * (cudaGetLastError right after the launch), or cudaErrorInvalidValue for arguments it rejects
 * before launching; none synchronizes or allocates. Sizes are element counts unless a name says
 * bytes. Bool tensors are one byte per element (0 or 1; any nonzero byte reads as true).
 * Included from C (the backend's host code) and CUDA. docs/cuda-kernels.md lists the wrappers. */
#ifndef CINFER_KERNELS_H
#define CINFER_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Shapes passed by value ------------------------------------------------------------- */

#define CINFER_K_MAX_RANK 8

/* The sizes of an iteration space of rank 0..8 (rank 0 is one element). */
typedef struct cinfer_k_dims {
    int32_t rank;
    int64_t size[CINFER_K_MAX_RANK];
} cinfer_k_dims;

/* Element strides of one operand over a cinfer_k_dims: 0 on a broadcast dim, negative for a
 * reversed slice. The operand's pointer addresses the element at coordinate (0, ..., 0). */
typedef struct cinfer_k_strides {
    int64_t s[CINFER_K_MAX_RANK];
} cinfer_k_strides;

/* A permutation of a tensor's axes: output axis d is input axis p[d]. */
typedef struct cinfer_k_perm {
    int32_t p[CINFER_K_MAX_RANK];
} cinfer_k_perm;

/* Element dtypes the dtype-generic wrappers (Cast) name. */
typedef enum cinfer_k_dtype {
    CINFER_K_F32 = 0,
    CINFER_K_I64 = 1,
    CINFER_K_I32 = 2,
    CINFER_K_BOOL = 3,
    CINFER_K_F16 = 4,   /* IEEE binary16 (__half) */
    CINFER_K_BF16 = 5,  /* bfloat16 (__nv_bfloat16) */
} cinfer_k_dtype;

/* The number of elements in dims (1 for rank 0). */
static inline int64_t cinfer_k_dims_count(const cinfer_k_dims *dims) {
    int64_t n = 1;
    for (int32_t d = 0; d < dims->rank; d++) n *= dims->size[d];
    return n;
}

/* Row-major strides of a dense tensor of these dims. */
static inline cinfer_k_strides cinfer_k_dense_strides(const cinfer_k_dims *dims) {
    cinfer_k_strides st;
    int64_t s = 1;
    for (int32_t d = CINFER_K_MAX_RANK - 1; d >= 0; d--) {
        st.s[d] = 0;
        if (d < dims->rank) {
            st.s[d] = s;
            s *= dims->size[d];
        }
    }
    return st;
}

/* Strides that read a dense operand of shape in[0..in_rank) broadcast (numpy rules: aligned on
 * the right, size-1 dims repeat) to out; in_rank <= out->rank, each in dim 1 or equal to out's. */
static inline cinfer_k_strides cinfer_k_broadcast_strides(const int64_t *in, int32_t in_rank,
                                                          const cinfer_k_dims *out) {
    cinfer_k_strides st;
    int64_t s = 1;
    for (int32_t d = CINFER_K_MAX_RANK - 1; d >= 0; d--) {
        st.s[d] = 0;
        int32_t k = d - (out->rank - in_rank);  /* the input dim aligned with output dim d */
        if (d < out->rank && k >= 0) {
            st.s[d] = in[k] == 1 ? 0 : s;
            s *= in[k];
        }
    }
    return st;
}

/* ---- fill.cu ------------------------------------------------------------------------------ */

/* y[i] = value for i < n. */
cudaError_t cinfer_k_fill_f32(float *y, float value, size_t n, cudaStream_t stream);

/* ---- elementwise.cu: broadcasting binary ops, comparisons, logic ------------------------ */

typedef enum cinfer_k_binary_op {
    CINFER_K_ADD = 0,
    CINFER_K_SUB = 1,
    CINFER_K_MUL = 2,
    CINFER_K_DIV = 3,
    CINFER_K_POW = 4,  /* floating operands only (not i64) */
    CINFER_K_MAX = 5,
    CINFER_K_MIN = 6,
    CINFER_K_PRELU = 7, /* a < 0 ? a * b : a (b the slope) */
} cinfer_k_binary_op;

typedef enum cinfer_k_compare_op {
    CINFER_K_EQUAL = 0,
    CINFER_K_LESS = 1,
    CINFER_K_LESS_EQUAL = 2,
    CINFER_K_GREATER = 3,
    CINFER_K_GREATER_EQUAL = 4,
} cinfer_k_compare_op;

typedef enum cinfer_k_logic_op {
    CINFER_K_AND = 0,
    CINFER_K_OR = 1,
    CINFER_K_XOR = 2,
} cinfer_k_logic_op;

/* y (dense over dims) = a op b, each operand read through its strides (0 = broadcast). Dense
 * same-shape operands take a contiguous path (float4 when 16-byte aligned and n % 4 == 0).
 * Integer division truncates toward zero; division by zero gives an unspecified value. */
cudaError_t cinfer_k_binary_f32(cinfer_k_binary_op op, float *y, const float *a,
                                cinfer_k_strides as, const float *b, cinfer_k_strides bs,
                                cinfer_k_dims dims, cudaStream_t stream);
cudaError_t cinfer_k_binary_i64(cinfer_k_binary_op op, int64_t *y, const int64_t *a,
                                cinfer_k_strides as, const int64_t *b, cinfer_k_strides bs,
                                cinfer_k_dims dims, cudaStream_t stream);
/* y (bool, dense over dims) = a cmp b. */
cudaError_t cinfer_k_compare_f32(cinfer_k_compare_op op, uint8_t *y, const float *a,
                                 cinfer_k_strides as, const float *b, cinfer_k_strides bs,
                                 cinfer_k_dims dims, cudaStream_t stream);
cudaError_t cinfer_k_compare_i64(cinfer_k_compare_op op, uint8_t *y, const int64_t *a,
                                 cinfer_k_strides as, const int64_t *b, cinfer_k_strides bs,
                                 cinfer_k_dims dims, cudaStream_t stream);
/* y (bool) = a logic b on bools. */
cudaError_t cinfer_k_logic_u8(cinfer_k_logic_op op, uint8_t *y, const uint8_t *a,
                              cinfer_k_strides as, const uint8_t *b, cinfer_k_strides bs,
                              cinfer_k_dims dims, cudaStream_t stream);
/* y[i] = !x[i] on n dense bools. */
cudaError_t cinfer_k_not_u8(uint8_t *y, const uint8_t *x, size_t n, cudaStream_t stream);
/* Half activations (docs/cuda-backend.md, "Half activations"): h (CINFER_K_F16 or
 * CINFER_K_BF16) is the type of y and of each activation operand; an operand typed CINFER_K_F32
 * is a float constant (a weight) read as it is. Values are widened to float, the op computed in
 * float as the _f32 kernel does, and the result rounded to nearest even once on store. Other
 * dtypes: cudaErrorInvalidValue. */
cudaError_t cinfer_k_binary_h(cinfer_k_binary_op op, cinfer_k_dtype h, void *y, const void *a,
                              cinfer_k_dtype at, cinfer_k_strides as, const void *b,
                              cinfer_k_dtype bt, cinfer_k_strides bs, cinfer_k_dims dims,
                              cudaStream_t stream);
/* y (bool) = a cmp b, compared in float; operand types as for cinfer_k_binary_h. */
cudaError_t cinfer_k_compare_h(cinfer_k_compare_op op, cinfer_k_dtype h, uint8_t *y,
                               const void *a, cinfer_k_dtype at, cinfer_k_strides as,
                               const void *b, cinfer_k_dtype bt, cinfer_k_strides bs,
                               cinfer_k_dims dims, cudaStream_t stream);

/* ---- where.cu ----------------------------------------------------------------------------- */

/* y (dense over dims) = cond ? a : b, all three broadcast through their strides. */
cudaError_t cinfer_k_where_f32(float *y, const uint8_t *cond, cinfer_k_strides cs, const float *a,
                               cinfer_k_strides as, const float *b, cinfer_k_strides bs,
                               cinfer_k_dims dims, cudaStream_t stream);
cudaError_t cinfer_k_where_i64(int64_t *y, const uint8_t *cond, cinfer_k_strides cs,
                               const int64_t *a, cinfer_k_strides as, const int64_t *b,
                               cinfer_k_strides bs, cinfer_k_dims dims, cudaStream_t stream);
/* The half-activation Where: y in h, a and b each in h or CINFER_K_F32 (a constant, rounded
 * to h where selected), as for cinfer_k_binary_h. */
cudaError_t cinfer_k_where_h(cinfer_k_dtype h, void *y, const uint8_t *cond, cinfer_k_strides cs,
                             const void *a, cinfer_k_dtype at, cinfer_k_strides as, const void *b,
                             cinfer_k_dtype bt, cinfer_k_strides bs, cinfer_k_dims dims,
                             cudaStream_t stream);

/* ---- unary.cu ----------------------------------------------------------------------------- */

/* alpha/beta: LeakyRelu alpha; Clip min (alpha) and max (beta); HardSigmoid alpha, beta;
 * Elu, Celu and ThresholdedRelu alpha; Selu alpha and gamma (beta); Shrink lambd (alpha) and
 * bias (beta). Other ops ignore them. */
typedef enum cinfer_k_unary_op {
    CINFER_K_SQRT = 0,
    CINFER_K_EXP = 1,
    CINFER_K_LOG = 2,
    CINFER_K_NEG = 3,
    CINFER_K_ABS = 4,
    CINFER_K_RECIPROCAL = 5,
    CINFER_K_ERF = 6,
    CINFER_K_TANH = 7,
    CINFER_K_SIGMOID = 8,
    CINFER_K_RELU = 9,
    CINFER_K_LEAKY_RELU = 10,
    CINFER_K_CLIP = 11,
    CINFER_K_HARD_SIGMOID = 12,
    CINFER_K_HARD_SWISH = 13,
    CINFER_K_GELU_ERF = 14,   /* 0.5 x (1 + erf(x / sqrt 2)) */
    CINFER_K_GELU_TANH = 15,  /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    CINFER_K_FLOOR = 16,
    CINFER_K_CEIL = 17,
    CINFER_K_ELU = 18,
    CINFER_K_SIN = 19,
    CINFER_K_COS = 20,
    CINFER_K_TAN = 21,
    CINFER_K_ASIN = 22,
    CINFER_K_ACOS = 23,
    CINFER_K_ATAN = 24,
    CINFER_K_SINH = 25,
    CINFER_K_COSH = 26,
    CINFER_K_ASINH = 27,
    CINFER_K_ACOSH = 28,
    CINFER_K_ATANH = 29,
    CINFER_K_ROUND = 30,      /* half to even, as ONNX's Round */
    CINFER_K_SIGN = 31,       /* NaN stays NaN */
    CINFER_K_SOFTPLUS = 32,   /* log(1 + e^x), without overflow for large x */
    CINFER_K_SOFTSIGN = 33,   /* x / (1 + |x|) */
    CINFER_K_MISH = 34,       /* x tanh(softplus(x)) */
    CINFER_K_SELU = 35,       /* gamma (alpha (e^x - 1) for x <= 0, x above) */
    CINFER_K_CELU = 36,       /* alpha (e^(x/alpha) - 1) for x < 0, x above */
    CINFER_K_THRESHOLDED_RELU = 37, /* x > alpha ? x : 0 */
    CINFER_K_SHRINK = 38,     /* x < -lambd ? x + bias : x > lambd ? x - bias : 0 */
    CINFER_K_UNARY_COUNT = 39,
} cinfer_k_unary_op;

/* y[i] = op(x[i]) for n dense floats; y may equal x. */
cudaError_t cinfer_k_unary_f32(cinfer_k_unary_op op, float *y, const float *x, size_t n,
                               float alpha, float beta, cudaStream_t stream);
/* The same on n dense h values (CINFER_K_F16 or CINFER_K_BF16), computed in float and rounded
 * once on store; y may equal x. */
cudaError_t cinfer_k_unary_h(cinfer_k_unary_op op, cinfer_k_dtype h, void *y, const void *x,
                             size_t n, float alpha, float beta, cudaStream_t stream);

/* ---- softmax.cu --------------------------------------------------------------------------- */

/* Softmax (or LogSoftmax when log != 0) of each row of a dense [rows, cols] view; the caller
 * moves the softmax axis last (and flattens) first. Max and sum in fp32. */
cudaError_t cinfer_k_softmax_f32(float *y, const float *x, int64_t rows, int64_t cols, int log,
                                 cudaStream_t stream);
/* The same for x and y of element type dt (F32, F16 or BF16): loaded to float, computed as
 * above, rounded once on store (docs/cuda-backend.md "Half activations"). */
cudaError_t cinfer_k_softmax(cinfer_k_dtype dt, void *y, const void *x, int64_t rows,
                             int64_t cols, int log, cudaStream_t stream);
/* Softmax-13 along an axis that is not the last: each line of the middle axis of a dense
 * [outer, n, inner] view (a thread per line, inner positions side by side), as above. */
cudaError_t cinfer_k_softmax_middle(cinfer_k_dtype dt, void *y, const void *x, int64_t outer,
                                    int64_t n, int64_t inner, int log, cudaStream_t stream);

/* ---- norm.cu ------------------------------------------------------------------------------ */

/* LayerNormalization of each row of a dense [rows, cols] view: y = (x - mean) * inv_std *
 * gamma[c] + beta[c] with inv_std = 1 / sqrt(var + epsilon). beta, mean and inv_std (rows
 * floats each) may be NULL. */
cudaError_t cinfer_k_layer_norm_f32(float *y, float *mean, float *inv_std, const float *x,
                                    const float *gamma, const float *beta, int64_t rows,
                                    int64_t cols, float epsilon, cudaStream_t stream);
/* SkipLayerNorm: s = a + b over a dense output of dims rows x cols (the leading dims, then the
 * normalized ones), y = (s - mean) * inv_std * gamma + beta per row with inv_std = 1 /
 * sqrt(var + epsilon). Each operand is read through strides (0 where broadcast): a and b over
 * the row dims and over the normalized dims, gamma and beta over the normalized dims only.
 * sum (may be NULL) receives s, dense like y; beta may be NULL. Statistics in fp32, two-pass. */
typedef struct cinfer_k_skip_ln {
    cinfer_k_dims rows, cols;
    cinfer_k_strides a_row, b_row;                      /* over rows */
    cinfer_k_strides a_col, b_col, gamma_col, beta_col; /* over cols */
    float epsilon;
} cinfer_k_skip_ln;
cudaError_t cinfer_k_skip_layer_norm_f32(float *y, float *sum, const float *a, const float *b,
                                         const float *gamma, const float *beta,
                                         cinfer_k_skip_ln p, cudaStream_t stream);
/* InstanceNormalization of a dense [n, channels, spatial] tensor: each (n, c) row normalized
 * over spatial, then scaled by scale[c] and shifted by bias[c]. */
cudaError_t cinfer_k_instance_norm_f32(float *y, const float *x, const float *scale,
                                       const float *bias, int64_t n, int64_t channels,
                                       int64_t spatial, float epsilon, cudaStream_t stream);
/* BatchNormalization inference on a dense [n, channels, spatial] tensor: y = (x - mean[c]) /
 * sqrt(var[c] + epsilon) * scale[c] + bias[c]. */
cudaError_t cinfer_k_batch_norm_f32(float *y, const float *x, const float *scale,
                                    const float *bias, const float *mean, const float *var,
                                    int64_t n, int64_t channels, int64_t spatial, float epsilon,
                                    cudaStream_t stream);
/* The four norms above with activations (x, y, a, sum, and LayerNorm's mean and inv_std) of
 * element type dt (F32, F16 or BF16) and parameters (gamma, beta, scale, bias, BatchNorm's mean
 * and var) of type pdt, F32 or dt itself; SkipLayerNorm's b is of type bdt, dt or F32 (a float
 * constant summand in a half region). Statistics and arithmetic in fp32; each output rounded
 * once on store. SkipLayerNorm in F16/BF16 recomputes a + b in fp32 for each pass rather than
 * rereading a rounded sum. */
cudaError_t cinfer_k_layer_norm(cinfer_k_dtype dt, void *y, void *mean, void *inv_std,
                                const void *x, cinfer_k_dtype pdt, const void *gamma,
                                const void *beta, int64_t rows, int64_t cols, float epsilon,
                                cudaStream_t stream);
cudaError_t cinfer_k_skip_layer_norm(cinfer_k_dtype dt, void *y, void *sum, const void *a,
                                     const void *b, cinfer_k_dtype bdt, cinfer_k_dtype pdt,
                                     const void *gamma, const void *beta, cinfer_k_skip_ln p,
                                     cudaStream_t stream);
cudaError_t cinfer_k_instance_norm(cinfer_k_dtype dt, void *y, const void *x, cinfer_k_dtype pdt,
                                   const void *scale, const void *bias, int64_t n,
                                   int64_t channels, int64_t spatial, float epsilon,
                                   cudaStream_t stream);
cudaError_t cinfer_k_batch_norm(cinfer_k_dtype dt, void *y, const void *x, cinfer_k_dtype pdt,
                                const void *scale, const void *bias, const void *mean,
                                const void *var, int64_t n, int64_t channels, int64_t spatial,
                                float epsilon, cudaStream_t stream);

/* ---- attention.cu ------------------------------------------------------------------------- */

#define CINFER_K_ATTENTION_MAX_HEAD 128

/* The shapes of Attention: per batch entry (the batch dims broadcast numpy-style), Q [sq, d],
 * K [d, skv] (already transposed), V [skv, dv], an optional additive mask read at
 * mask_row * i + mask_col * j for score (i, j) (0 on a broadcast axis); the *_batch strides
 * give each operand's matrix offset per batch dim (0 where broadcast).
 * Within one batch entry the matrices are read and written through element strides: a query
 * row of Q (q_row), K along the head dim and along the keys (k_d, k_j), a key row of V
 * (v_row), a query row of Y (y_row); y_batch places each entry's Y. All zero means dense:
 * q_row = d, k_d = skv, k_j = 1, v_row = dv, y_row = dv, Y dense [batch..., sq, dv]. The
 * packed-heads layout (Q [B, sq, H, d], K [B, skv, H, d], V [B, skv, H, dv], Y [B, sq, H, dv],
 * batch [B, H]) is q_row = H * d, k_d = 1, k_j = H * d, v_row = y_row = H * dv. Rows and
 * columns always step forward (positive strides). */
typedef struct cinfer_k_attention {
    int64_t sq, d, skv, dv;
    cinfer_k_dims batch;
    cinfer_k_strides q_batch, k_batch, v_batch, mask_batch;
    int64_t mask_row, mask_col;
    float scale;
    int64_t q_row, k_d, k_j, v_row, y_row;
    cinfer_k_strides y_batch;
    int32_t kernel; /* cinfer_k_attention_kernel: which 16-bit kernel (0 = the default) */
} cinfer_k_attention;

/* The 16-bit kernels cinfer_k_attention_half can run. WMMA stages S and O through shared
 * memory (WMMA's fragment layout is opaque); MMA (mma.sync with ldmatrix, sm_80+) keeps S, P
 * and O in registers and double-buffers K and V with cp.async. AUTO is WMMA until MMA has been
 * measured on a GPU (docs/cuda-kernels.md, "Attention"). */
typedef enum cinfer_k_attention_kernel {
    CINFER_K_ATTENTION_AUTO = 0,
    CINFER_K_ATTENTION_WMMA = 1,
    CINFER_K_ATTENTION_MMA = 2
} cinfer_k_attention_kernel;

/* y ([batch..., sq, dv], dense unless y_row / y_batch say otherwise) = softmax(scale * Q K +
 * mask) V, the softmax over the keys of
 * each query, online (running max and sum in fp32) so the scores never reach memory. d and dv
 * at most CINFER_K_ATTENTION_MAX_HEAD. A query whose every score is -inf gets NaN (as a softmax
 * of all -inf gives); skv == 0 gives zeros. mask may be NULL. */
cudaError_t cinfer_k_attention_f32(float *y, const float *q, const float *k, const float *v,
                                   const float *mask, cinfer_k_attention p, cudaStream_t stream);
/* The same on tensor cores for half-I/O steps (precision FP16/BF16): q, k, v and y hold dt
 * values (CINFER_K_F16 or CINFER_K_BF16), the mask mask_dt ones (CINFER_K_F32 for a constant
 * mask, dt for an activation). Scores, softmax max and sum and the output accumulate in fp32;
 * the weights P are rounded to dt before P V; y is rounded once. d and dv multiples of 16 in
 * [CINFER_K_ATTENTION_HALF_MIN_HEAD, CINFER_K_ATTENTION_MAX_HEAD], skv >= 1, else
 * cudaErrorInvalidValue. NaN for a query whose every score is -inf, as above. */
#define CINFER_K_ATTENTION_HALF_MIN_HEAD 32
cudaError_t cinfer_k_attention_half(void *y, const void *q, const void *k, const void *v,
                                    const void *mask, cinfer_k_dtype dt, cinfer_k_dtype mask_dt,
                                    cinfer_k_attention p, cudaStream_t stream);

/* ---- reduce.cu ---------------------------------------------------------------------------- */

typedef enum cinfer_k_reduce_op {
    CINFER_K_REDUCE_SUM = 0,
    CINFER_K_REDUCE_MEAN = 1,
    CINFER_K_REDUCE_MAX = 2,
    CINFER_K_REDUCE_MIN = 3,
    CINFER_K_REDUCE_SUM_SQUARE = 4, /* sum of x^2 */
    CINFER_K_REDUCE_L1 = 5,         /* sum of |x| */
    CINFER_K_REDUCE_L2 = 6,         /* sqrt of the sum of x^2 */
    CINFER_K_REDUCE_LOG_SUM = 7,    /* log of the sum */
} cinfer_k_reduce_op;

/* y[o, i] = reduce over r of x[o, r, i] for a dense [outer, reduce, inner] view (the caller
 * merges the reduced axes into one middle dim, transposing first if they are not adjacent).
 * Sums are compensated (Kahan) in fp32. reduce must be >= 1. */
cudaError_t cinfer_k_reduce_f32(cinfer_k_reduce_op op, float *y, const float *x, int64_t outer,
                                int64_t reduce, int64_t inner, cudaStream_t stream);
/* ArgMax (is_max) or ArgMin over the middle axis of a dense [outer, n, inner] view into the
 * int64 y[outer, inner]: the first best index, or the last one with `last`
 * (select_last_index); a NaN at index 0 stays the answer, later NaNs are never taken, as the CPU
 * kernel does. n must be >= 1. */
cudaError_t cinfer_k_arg_f32(int64_t *y, const float *x, int64_t outer, int64_t n, int64_t inner,
                             int is_max, int last, cudaStream_t stream);
cudaError_t cinfer_k_arg_i64(int64_t *y, const int64_t *x, int64_t outer, int64_t n,
                             int64_t inner, int is_max, int last, cudaStream_t stream);
/* CumSum along the middle axis of a dense [outer, n, inner] view of dt (F32, I32 or I64), y of
 * the same: a thread per line in order, float sums in double and integer ones wrapping, as the
 * CPU kernel does (bitwise its results); `exclusive` leaves each element out of its own sum,
 * `reverse` sums from the end. y may not alias x. */
cudaError_t cinfer_k_cumsum(cinfer_k_dtype dt, void *y, const void *x, int64_t outer, int64_t n,
                            int64_t inner, int exclusive, int reverse, cudaStream_t stream);
/* GlobalAveragePool / GlobalMaxPool of a dense [nc, spatial] view (is_max selects). */
cudaError_t cinfer_k_global_pool_f32(float *y, const float *x, int64_t nc, int64_t spatial,
                                     int is_max, cudaStream_t stream);
/* Both for x and y of element type dt (F32, F16 or BF16); accumulation in fp32 as above. */
cudaError_t cinfer_k_reduce(cinfer_k_dtype dt, cinfer_k_reduce_op op, void *y, const void *x,
                            int64_t outer, int64_t reduce, int64_t inner, cudaStream_t stream);
cudaError_t cinfer_k_global_pool(cinfer_k_dtype dt, void *y, const void *x, int64_t nc,
                                 int64_t spatial, int is_max, cudaStream_t stream);

/* ---- transpose.cu / copy.cu --------------------------------------------------------------- */

/* y (dense) = x (dense, dims in) with its axes permuted: y's dim d is in's dim perm.p[d].
 * elem_size 1, 2, 4 or 8 bytes. Swapping the last two axes goes through shared-memory tiles. */
cudaError_t cinfer_k_transpose(void *y, const void *x, cinfer_k_dims in, cinfer_k_perm perm,
                               size_t elem_size, cudaStream_t stream);
/* dst[coord * dst_strides] = src[coord * src_strides] for every coord in dims; elem_size 1, 2,
 * 4 or 8. Slice (src strides times steps, negative for reversed), Expand (src stride 0),
 * Concat (dst strides of the whole output, dst offset to the part), Split (the reverse). The
 * destination must not overlap itself (no dst stride 0 over a dim of size > 1). */
cudaError_t cinfer_k_copy_strided(void *dst, cinfer_k_strides dst_strides, const void *src,
                                  cinfer_k_strides src_strides, cinfer_k_dims dims,
                                  size_t elem_size, cudaStream_t stream);
/* How cinfer_k_copy_strided moves its elements, planned on the host (exposed so that a
 * host-only test checks its index math: tests/gpu/test_kernels_copy.c --plan).
 *   - dims merged where both operands step contiguously (size-1 dims dropped);
 *   - when the innermost dim is contiguous in both and sizes, strides and pointers allow,
 *     moved in wider elements (4, 8 or 16 bytes: a [64,128,768] fp16 Slice moves 16-byte
 *     vectors);
 *   - below 2^31 elements, coordinates decoded with 32-bit multiply-high dividers made here,
 *     not 64-bit divisions (which cost the decode ~100 instructions per dim). */
typedef enum cinfer_k_copy_kind {
    CINFER_K_COPY_NONE = 0,    /* nothing to move */
    CINFER_K_COPY_MEMCPY = 1,  /* both dense: one cudaMemcpyAsync of n * width bytes */
    CINFER_K_COPY_INDEX32 = 2, /* strided, 32-bit decode with the dividers below */
    CINFER_K_COPY_INDEX64 = 3, /* strided, 64-bit division per dim (2^31 elements or more) */
} cinfer_k_copy_kind;

typedef struct cinfer_k_copy_plan {
    int32_t kind;              /* cinfer_k_copy_kind */
    int32_t width;             /* bytes per moved element */
    int64_t n;                 /* moved elements */
    cinfer_k_dims dims;        /* merged iteration space */
    cinfer_k_strides dst, src; /* strides in moved elements */
    uint32_t mul[CINFER_K_MAX_RANK];  /* INDEX32: q = (mulhi(i, mul) + i) >> shift = i / size */
    uint32_t shift[CINFER_K_MAX_RANK];
} cinfer_k_copy_plan;

/* Plans a cinfer_k_copy_strided (same arguments); 0, or -1 for arguments it rejects. */
int cinfer_k_copy_plan_make(cinfer_k_copy_plan *plan, const void *dst,
                            cinfer_k_strides dst_strides, const void *src,
                            cinfer_k_strides src_strides, cinfer_k_dims dims, size_t elem_size);
/* The element offsets (in moved elements) of moved element i, as the kernel computes them. */
void cinfer_k_copy_plan_offsets(const cinfer_k_copy_plan *plan, int64_t i, int64_t *dst_off,
                                int64_t *src_off);
/* Tile: y (dense, dims out) at coord c = x (dense, dims in, same rank) at c % in; out's dims
 * are in's times the repeats. */
cudaError_t cinfer_k_tile(void *y, const void *x, cinfer_k_dims in, cinfer_k_dims out,
                          size_t elem_size, cudaStream_t stream);
/* cinfer_k_copy_strided from a float source (a constant) into an h destination (CINFER_K_F16
 * or CINFER_K_BF16), each element rounded to nearest even: a constant part of a half-mode
 * Concat, Slice, Split or Expand. */
cudaError_t cinfer_k_copy_strided_f32_to_h(cinfer_k_dtype h, void *dst,
                                           cinfer_k_strides dst_strides, const float *src,
                                           cinfer_k_strides src_strides, cinfer_k_dims dims,
                                           cudaStream_t stream);

typedef enum cinfer_k_pad_mode {
    CINFER_K_PAD_CONSTANT = 0,
    CINFER_K_PAD_REFLECT = 1,
    CINFER_K_PAD_EDGE = 2,
} cinfer_k_pad_mode;

/* Pad: y (dense, dims out) at coord c reads x (dense, dims in) at c - begin (begin.s[d] is
 * the pad before dim d; negative crops). Outside x: value (constant), the mirror without
 * repeating the edge (reflect; needs in dims >= 2 where padded), or the nearest edge. */
cudaError_t cinfer_k_pad_f32(float *y, const float *x, cinfer_k_dims in, cinfer_k_dims out,
                             cinfer_k_strides begin, cinfer_k_pad_mode mode, float value,
                             cudaStream_t stream);
/* The same on h values (CINFER_K_F16 or CINFER_K_BF16): value rounded to h once. */
cudaError_t cinfer_k_pad_h(cinfer_k_dtype h, void *y, const void *x, cinfer_k_dims in,
                           cinfer_k_dims out, cinfer_k_strides begin, cinfer_k_pad_mode mode,
                           float value, cudaStream_t stream);

/* ---- gather.cu ---------------------------------------------------------------------------- */

/* Gather along an axis of a dense [outer, axis_dim, inner] view: y[o, k, i] =
 * data[o, indices[k], i] for k < n_indices; negative indices count from the end; an index still
 * out of [0, axis_dim) yields zero bytes (the caller validates constant indices at load time).
 * elem_size 1, 2, 4 or 8. */
cudaError_t cinfer_k_gather(void *y, const void *data, const int64_t *indices, int64_t outer,
                            int64_t axis_dim, int64_t inner, int64_t n_indices,
                            size_t elem_size, cudaStream_t stream);
/* GatherElements along the middle axis when indices have data's shape but for that axis:
 * y[o, k, i] = data[o, indices[o, k, i], i] over dense [outer, k_count, inner] (y and indices)
 * and [outer, axis_dim, inner] (data); indices int64 (idx64) or int32, negative ones count from
 * the end, one still out of range gives zero bytes. elem_size 1, 2, 4 or 8. */
cudaError_t cinfer_k_gather_elements(void *y, const void *data, const void *indices, int idx64,
                                     int64_t outer, int64_t axis_dim, int64_t inner,
                                     int64_t k_count, size_t elem_size, cudaStream_t stream);
/* cinfer_k_gather from float data (a constant table: embeddings) into an h output
 * (CINFER_K_F16 or CINFER_K_BF16), each element rounded to nearest even. */
cudaError_t cinfer_k_gather_f32_to_h(cinfer_k_dtype h, void *y, const float *data,
                                     const int64_t *indices, int64_t outer, int64_t axis_dim,
                                     int64_t inner, int64_t n_indices, cudaStream_t stream);

/* ---- cast.cu ------------------------------------------------------------------------------ */

/* y[i] = (to) x[i] for n elements: float to integer truncates toward zero (out of range is
 * unspecified), anything to bool is x != 0, bool to anything is 0 or 1; float to fp16 / bf16
 * rounds to nearest even with inf beyond the range (as the CPU's Cast), fp16 / bf16 to float
 * is exact. The 16-bit types pair with float, or with themselves (a copy: a Cast between float
 * and a 16-bit type whose float side a half-mode plan stores in that same type). */
cudaError_t cinfer_k_cast(void *y, cinfer_k_dtype to, const void *x, cinfer_k_dtype from, size_t n,
                          cudaStream_t stream);
/* y[i] = x[i] rounded to nearest even as IEEE fp16 (y: n halves) or as bfloat16 (y: n
 * bfloat16s), for the GEMM operands of fp16/bf16 plans; finite values beyond the type's range
 * saturate to its largest finite value (half_access.cuh). */
cudaError_t cinfer_k_f32_to_f16(void *y, const float *x, size_t n, cudaStream_t stream);
cudaError_t cinfer_k_f32_to_bf16(void *y, const float *x, size_t n, cudaStream_t stream);
/* The way back: n fp16 (or bfloat16) values of x widened exactly to float (half-I/O steps whose
 * output a float consumer reads, docs/cuda-backend.md "Half activations"). */
cudaError_t cinfer_k_f16_to_f32(float *y, const void *x, size_t n, cudaStream_t stream);
cudaError_t cinfer_k_bf16_to_f32(float *y, const void *x, size_t n, cudaStream_t stream);

/* ---- relayout.cu -------------------------------------------------------------------------- */

/* Copies n matrices [c][hw] (x_nhwc = 0: NCHW) or [hw][c] (x_nhwc != 0: NHWC) of element type
 * x_t into y in layout y_nhwc and type y_t (F32, F16 or BF16; 16-bit stores round to nearest
 * even and saturate finite overflow): a 4-D activation between the layouts of the channels-last
 * paths, or a filter [K][C][R*S] into [K][R*S][C] (n = K, hw = R*S). Same layouts: a plain
 * conversion (a copy when the types match too). y must not overlap x. */
cudaError_t cinfer_k_relayout(cinfer_k_dtype y_t, void *y, int y_nhwc, cinfer_k_dtype x_t,
                              const void *x, int x_nhwc, int64_t n, int64_t c, int64_t hw,
                              cudaStream_t stream);

/* ---- pool.cu ------------------------------------------------------------------------------ */

/* A 2-D pooling window over NCHW: output (oh, ow) covers input rows oh*stride_h - pad_top +
 * kh*dil_h for kh < kernel_h (columns alike). count_include_pad: the average divides by the
 * window positions inside the padded input rather than only the real ones. */
typedef struct cinfer_k_pool2d {
    int64_t kernel_h, kernel_w;
    int64_t stride_h, stride_w;
    int64_t pad_top, pad_left, pad_bottom, pad_right;
    int64_t dil_h, dil_w;
    int32_t count_include_pad;
} cinfer_k_pool2d;

/* MaxPool / AveragePool of dense [nc, h, w] into dense [nc, oh, ow]. */
cudaError_t cinfer_k_max_pool2d_f32(float *y, const float *x, int64_t nc, int64_t h, int64_t w,
                                    int64_t oh, int64_t ow, cinfer_k_pool2d p,
                                    cudaStream_t stream);
cudaError_t cinfer_k_avg_pool2d_f32(float *y, const float *x, int64_t nc, int64_t h, int64_t w,
                                    int64_t oh, int64_t ow, cinfer_k_pool2d p,
                                    cudaStream_t stream);
/* Both for x and y of element type dt (F32, F16 or BF16); the average sums in fp32. */
cudaError_t cinfer_k_max_pool2d(cinfer_k_dtype dt, void *y, const void *x, int64_t nc, int64_t h,
                                int64_t w, int64_t oh, int64_t ow, cinfer_k_pool2d p,
                                cudaStream_t stream);
cudaError_t cinfer_k_avg_pool2d(cinfer_k_dtype dt, void *y, const void *x, int64_t nc, int64_t h,
                                int64_t w, int64_t oh, int64_t ow, cinfer_k_pool2d p,
                                cudaStream_t stream);

/* The same over channels-last storage: x [batch][h][w][c], y [batch][oh][ow][c]; is_max
 * nonzero for MaxPool, else AveragePool. */
cudaError_t cinfer_k_pool2d_nhwc(cinfer_k_dtype dt, int is_max, void *y, const void *x,
                                 int64_t batch, int64_t c, int64_t h, int64_t w, int64_t oh,
                                 int64_t ow, cinfer_k_pool2d p, cudaStream_t stream);

/* ---- resize.cu ---------------------------------------------------------------------------- */

typedef enum cinfer_k_resize_mode {
    CINFER_K_RESIZE_NEAREST = 0,
    CINFER_K_RESIZE_LINEAR = 1,
} cinfer_k_resize_mode;

/* ONNX coordinate_transformation_mode (Resize-10, Upsample: asymmetric). */
typedef enum cinfer_k_resize_coord {
    CINFER_K_COORD_HALF_PIXEL = 0,
    CINFER_K_COORD_PYTORCH_HALF_PIXEL = 1,
    CINFER_K_COORD_ALIGN_CORNERS = 2,
    CINFER_K_COORD_ASYMMETRIC = 3,
    CINFER_K_COORD_TF_HALF_PIXEL_FOR_NN = 4,
    CINFER_K_COORD_HALF_PIXEL_SYMMETRIC = 5,
} cinfer_k_resize_coord;

/* ONNX nearest_mode; SIMPLE is Resize-10 and Upsample (no nearest_mode): ceil where the axis
 * is downsampled (scale < 1), floor otherwise, as ONNX Runtime and the CPU backend do. */
typedef enum cinfer_k_resize_nearest {
    CINFER_K_NEAREST_ROUND_PREFER_FLOOR = 0,
    CINFER_K_NEAREST_ROUND_PREFER_CEIL = 1,
    CINFER_K_NEAREST_FLOOR = 2,
    CINFER_K_NEAREST_CEIL = 3,
    CINFER_K_NEAREST_SIMPLE = 4,
} cinfer_k_resize_nearest;

/* A Resize: mode, coordinate rule, rounding (nearest only) and per axis the scale (output /
 * input, in double: the model's float scale, or output size / input size when it gave sizes),
 * 1.0 on axes that are not resized. */
typedef struct cinfer_k_resize_params {
    cinfer_k_resize_mode mode;
    cinfer_k_resize_coord coord;
    cinfer_k_resize_nearest nearest;
    double scale[CINFER_K_MAX_RANK];
} cinfer_k_resize_params;

/* Resize dense x of dims `in` into dense y of dims `out` (same rank, 1..8) on every axis.
 * Source coordinates are computed in double with the CPU backend's operations (so nearest picks
 * the same sample at .5 boundaries); linear clamps to the input, blends in float32 in the CPU's
 * order, and needs elem_size 4 (float32); nearest moves elements of 1, 2, 4 or 8 bytes. */
cudaError_t cinfer_k_resize(void *y, const void *x, cinfer_k_dims in, cinfer_k_dims out,
                            size_t elem_size, cinfer_k_resize_params p, cudaStream_t stream);

/* ---- range.cu ----------------------------------------------------------------------------- */

/* y[i] = start + i * delta for i < n (the caller computes n from limit): floating dtypes in
 * double, then rounded once to the output's type; integer dtypes in int64, then narrowed (the
 * CPU backend's arithmetic). */
cudaError_t cinfer_k_range_f32(float *y, float start, float delta, size_t n, cudaStream_t stream);
cudaError_t cinfer_k_range_f64(double *y, double start, double delta, size_t n,
                               cudaStream_t stream);
cudaError_t cinfer_k_range_i32(int32_t *y, int64_t start, int64_t delta, size_t n,
                               cudaStream_t stream);
cudaError_t cinfer_k_range_i64(int64_t *y, int64_t start, int64_t delta, size_t n,
                               cudaStream_t stream);

/* ---- chain.cu ------------------------------------------------------------------------------ */

/* An ElementwiseChain (src/ops/chain.h, same numbering): n_ops ops applied in order to each
 * element, binary ones with a constant c[k] or the chain's input x as the other operand. */
#define CINFER_K_CHAIN_MAX_OPS 16
enum {
    CINFER_K_CHAIN_RELU, CINFER_K_CHAIN_SIGMOID, CINFER_K_CHAIN_TANH, CINFER_K_CHAIN_EXP,
    CINFER_K_CHAIN_LOG, CINFER_K_CHAIN_NEG, CINFER_K_CHAIN_ABS, CINFER_K_CHAIN_SQRT,
    CINFER_K_CHAIN_RECIPROCAL, CINFER_K_CHAIN_ERF, CINFER_K_CHAIN_ADD, CINFER_K_CHAIN_SUB,
    CINFER_K_CHAIN_MUL, CINFER_K_CHAIN_DIV, CINFER_K_CHAIN_MAX, CINFER_K_CHAIN_MIN
};
enum {
    CINFER_K_CHAIN_UNARY, CINFER_K_CHAIN_CONST_RIGHT, CINFER_K_CHAIN_CONST_LEFT,
    CINFER_K_CHAIN_INPUT_RIGHT, CINFER_K_CHAIN_INPUT_LEFT
};
typedef struct cinfer_k_chain {
    int32_t n_ops;
    int32_t op[CINFER_K_CHAIN_MAX_OPS], operand[CINFER_K_CHAIN_MAX_OPS];
    float c[CINFER_K_CHAIN_MAX_OPS];
} cinfer_k_chain;

/* y[i] = chain(x[i]) for n dense floats; y must not overlap x (input operands reread x). */
cudaError_t cinfer_k_chain_f32(float *y, const float *x, size_t n, const cinfer_k_chain *ch,
                               cudaStream_t stream);
/* The same on n dense h values (CINFER_K_F16 or CINFER_K_BF16): the chain runs in float (the
 * constants too) and rounds once on store. */
cudaError_t cinfer_k_chain_h(cinfer_k_dtype h, void *y, const void *x, size_t n,
                             const cinfer_k_chain *ch, cudaStream_t stream);

/* ---- epilogue.cu --------------------------------------------------------------------------- */

/* After a convolution, in place on Y [batch, channels, spatial...] (spatial = the product of
 * the spatial dims): y = act(y + bias[c] + z), bias (channels floats), z (Y's shape) and the
 * ReLU each optional (NULL / 0). Nothing to do when all three are absent. */
cudaError_t cinfer_k_conv_epilogue_f32(float *y, const float *bias, const float *z,
                                       int64_t batch, int64_t channels, int64_t spatial,
                                       int relu, cudaStream_t stream);
/* The same over Y and Z of element type dt (CINFER_K_F32, _F16 or _BF16: half activations),
 * computed in float and rounded once on store; the bias stays float. */
cudaError_t cinfer_k_conv_epilogue(cinfer_k_dtype dt, void *y, const float *bias, const void *z,
                                   int64_t batch, int64_t channels, int64_t spatial, int relu,
                                   cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
