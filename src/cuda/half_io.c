/* Half activations: the op's 16-bit view of a node and the conversions at region edges
 * (half_io.h). */
#include <stdlib.h>

#include "cuda/half_io.h"
#include "kernels.h"

cinfer_dtype cinfer_cuda_half_type(const cuda_op *op, const cinfer_cuda_node *n) {
    if (!op || !op->half_io) return 0;
    if (n->precision == CINFER_PRECISION_FP16) return CINFER_DTYPE_FLOAT16;
    if (n->precision == CINFER_PRECISION_BF16) return CINFER_DTYPE_BFLOAT16;
    return 0;
}

/* An activation slot the half view types `half`: float (storage planned float) or already
 * `half`. A value of the OTHER 16-bit type (a model's own fp16 at bf16 precision) is not one:
 * retyping it would reinterpret its bits (cinfer_cuda_half_mismatch refuses such nodes). */
static bool is_act(const cinfer_tensor *t, bool output, cinfer_dtype half) {
    return t && (output || !t->data) && (t->dtype == CINFER_DTYPE_FLOAT || t->dtype == half);
}

static bool other_half(const cinfer_tensor *t, cinfer_dtype half) {
    return t && (t->dtype == CINFER_DTYPE_FLOAT16 || t->dtype == CINFER_DTYPE_BFLOAT16) &&
           t->dtype != half;
}

bool cinfer_cuda_half_has_act(const cinfer_cuda_node *n, cinfer_dtype half) {
    for (int k = 0; k < n->n_in; k++)
        if (is_act(n->in[k], false, half)) return true;
    for (int k = 0; k < n->n_out; k++)
        if (is_act(n->out[k], true, half)) return true;
    return false;
}

bool cinfer_cuda_half_mismatch(const cinfer_cuda_node *n, cinfer_dtype half) {
    for (int k = 0; k < n->n_in; k++)
        if (other_half(n->in[k], half)) return true;
    for (int k = 0; k < n->n_out; k++)
        if (other_half(n->out[k], half)) return true;
    return false;
}

/* dst[k] = src[k], or for an activation slot a copy in tmp[k] typed `half`. */
static void retype(const cinfer_tensor *const *src, int n, bool output, cinfer_dtype half,
                   const cinfer_tensor **dst, cinfer_tensor *tmp) {
    for (int k = 0; k < n && k < CUDA_OP_MAX_IO; k++) {
        dst[k] = src[k];
        if (!is_act(src[k], output, half)) continue;
        tmp[k] = *src[k];
        tmp[k].dtype = half;
        dst[k] = &tmp[k];
    }
}

void cinfer_cuda_half_view(const cinfer_cuda_node *n, cinfer_dtype half, cinfer_cuda_node *view,
                           const cinfer_tensor **in, const cinfer_tensor **out,
                           cinfer_tensor *tin, cinfer_tensor *tout) {
    *view = *n;
    retype(n->in, n->n_in, false, half, in, tin);
    retype(n->out, n->n_out, true, half, out, tout);
    view->in = in;
    view->out = out;
}

/* A slot the op reads or writes through a buffer: stored as float, or (a 4-D one) in the other
 * layout than the step runs in (s->lay_*, s->nhwc: set_layouts in module_api.c). */
static bool converted(const cinfer_tensor *t, unsigned char stored, const cuda_step *s) {
    return t->dtype == CINFER_DTYPE_FLOAT ||
           (cuda_has_layout(t) && (stored == CINFER_CUDA_NHWC) != s->nhwc);
}

cinfer_status cinfer_cuda_half_buffers(const cinfer_cuda_node *n, cinfer_dtype half,
                                       cuda_step *s, cinfer_cuda_err *err) {
    cinfer_status rc = CINFER_OK;
    s->half = half;
    for (int k = 0; k < n->n_in; k++)
        if (is_act(n->in[k], false, half) && converted(n->in[k], s->lay_in[k], s))
            CUDA_CHECK(err, rc, cinfer__cuda_malloc(&s->conv_in[k],
                                                    2 * (size_t)cuda_numel(n->in[k]) + 2), fail);
    for (int k = 0; k < n->n_out; k++)
        if (is_act(n->out[k], true, half) && converted(n->out[k], s->lay_out[k], s))
            CUDA_CHECK(err, rc, cinfer__cuda_malloc(&s->conv_out[k],
                                                    2 * (size_t)cuda_numel(n->out[k]) + 2), fail);
fail:
    return rc;
}

static cudaError_t narrow(cinfer_dtype half, void *y, const void *x, size_t n, cudaStream_t st) {
    return half == CINFER_DTYPE_FLOAT16 ? cinfer_k_f32_to_f16(y, x, n, st)
                                        : cinfer_k_f32_to_bf16(y, x, n, st);
}

static cudaError_t widen(cinfer_dtype half, void *y, const void *x, size_t n, cudaStream_t st) {
    return half == CINFER_DTYPE_FLOAT16 ? cinfer_k_f16_to_f32(y, x, n, st)
                                        : cinfer_k_bf16_to_f32(y, x, n, st);
}

static cinfer_k_dtype k_of(cinfer_dtype t) {
    return t == CINFER_DTYPE_FLOAT16    ? CINFER_K_F16
           : t == CINFER_DTYPE_BFLOAT16 ? CINFER_K_BF16
                                        : CINFER_K_F32;
}

/* One edge conversion: a 4-D slot between its stored layout and type and the step's (one
 * relayout pass, also when only the type differs), any other slot between float and 16 bits. */
static cinfer_status convert(cinfer_cuda_ctx *ctx, const cuda_step *s, const cinfer_tensor *t,
                             bool input, cinfer_dtype stored, unsigned char lay, void *dst,
                             const void *src, cinfer_cuda_err *err) {
    cudaError_t e;
    if (cuda_has_layout(t)) {
        int st_nhwc = lay == CINFER_CUDA_NHWC, run_nhwc = s->nhwc;
        int64_t n = t->dims[0], c = t->dims[1], hw = t->dims[2] * t->dims[3];
        e = input ? cinfer_k_relayout(k_of(s->half), dst, run_nhwc, k_of(stored), src, st_nhwc,
                                      n, c, hw, ctx->compute)
                  : cinfer_k_relayout(k_of(stored), dst, st_nhwc, k_of(s->half), src, run_nhwc,
                                      n, c, hw, ctx->compute);
    } else {
        size_t count = (size_t)cuda_numel(t);
        e = input ? narrow(s->half, dst, src, count, ctx->compute)
                  : widen(s->half, dst, src, count, ctx->compute);
    }
    return CINFER_CUDA_AFTER_LAUNCH(err, ctx->compute, e,
                                    input ? "converting an input at a half region's edge"
                                          : "converting an output at a half region's edge");
}

cinfer_status cinfer_cuda_half_run(cinfer_cuda_ctx *ctx, cuda_step *s, const void *const *in,
                                   void *const *out, cinfer_cuda_err *err) {
    const void *hin[CUDA_OP_MAX_IO];
    void *hout[CUDA_OP_MAX_IO];
    cinfer_status rc = CINFER_OK;
    for (int k = 0; k < s->n_in; k++) {
        hin[k] = in[k];
        if (!s->conv_in[k]) continue;
        rc = convert(ctx, s, &s->in[k], true, s->store_in[k], s->lay_in[k], s->conv_in[k], in[k],
                     err);
        if (rc != CINFER_OK) return rc;
        hin[k] = s->conv_in[k];
    }
    for (int k = 0; k < s->n_out; k++) hout[k] = s->conv_out[k] ? s->conv_out[k] : out[k];
    if ((rc = s->op->run(ctx, s, hin, hout, err)) != CINFER_OK) return rc;
    for (int k = 0; k < s->n_out; k++) {
        if (!s->conv_out[k]) continue;
        rc = convert(ctx, s, &s->out[k], false, s->store_out[k], s->lay_out[k], out[k],
                     s->conv_out[k], err);
        if (rc != CINFER_OK) return rc;
    }
    return CINFER_OK;
}

void cinfer_cuda_half_release(cuda_step *s) {
    for (int k = 0; k < CUDA_OP_MAX_IO; k++) {
        if (s->conv_in[k]) (void)cudaFree(s->conv_in[k]);
        if (s->conv_out[k]) (void)cudaFree(s->conv_out[k]);
    }
}
