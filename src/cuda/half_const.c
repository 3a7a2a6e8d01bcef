/* 16-bit copies of float constants for the GEMM and convolution steps, and the half-mode
 * output check they share (half_const.h). */
#include "cuda/half_const.h"

/* The device object's cache when input i is a model weight it can share: the weight has a
 * copy in the weights block and the context was made from that device object (contexts tests
 * create directly have none, and keep a copy per step). */
static cinfer_cuda_weights *weight_cache(const cinfer_cuda_ctx *ctx, const cinfer_cuda_node *n,
                                         int i) {
    if (!n->weight || !n->weight[i] || !ctx->owner) return NULL;
    return ctx->owner->converted;
}

/* Uploads the host constant t through a temporary float buffer and converts it into dst,
 * waiting for the result. */
static cinfer_status convert_host(cinfer_cuda_ctx *ctx, cinfer_precision p,
                                  cinfer_cuda_weights_order order, const cinfer_tensor *t,
                                  void *dst, cinfer_cuda_err *err) {
    size_t n = (size_t)cuda_numel(t);
    void *tmp = NULL;
    cinfer_status rc = CINFER_OK;
    CUDA_CHECK(err, rc, cinfer__cuda_malloc(&tmp, n * sizeof(float)), done);
    CUDA_CHECK(err, rc, cudaMemcpyAsync(tmp, t->data, n * sizeof(float), cudaMemcpyHostToDevice,
                                        ctx->compute), done);
    rc = order.c ? cinfer_cuda_to_16bit_krsc(ctx->compute, p, dst, tmp, n, order, err)
                 : cinfer_cuda_to_16bit(ctx->compute, p, dst, tmp, n, err);
    if (rc != CINFER_OK) goto done;
    CUDA_CHECK(err, rc, cudaStreamSynchronize(ctx->compute), done);
done:
    if (tmp) (void)cudaFree(tmp); /* cudaFree waits for the work that still uses it */
    (void)cudaGetLastError();     /* nor may an ignored failure of it reach the next launch */
    return rc;
}

cinfer_status cinfer_cuda_half_const_make(cinfer_cuda_ctx *ctx, const cinfer_cuda_node *n, int i,
                                          cinfer_precision p, bool krsc,
                                          cinfer_cuda_half_const *c, cinfer_cuda_err *err) {
    const cinfer_tensor *t = n->in[i];
    cinfer_cuda_weights_order order = {0, 0};
    size_t numel = (size_t)cuda_numel(t);
    cinfer_status rc = CINFER_OK;
    *c = (cinfer_cuda_half_const){0};
    if (!t->data || t->dtype != CINFER_DTYPE_FLOAT)
        return cinfer_cuda_err_set(err, CINFER_INTERNAL, "%s input %d: not a float constant",
                                   n->node->op_type, i);
    if (krsc && t->rank != 4)
        return cinfer_cuda_err_set(err, CINFER_INTERNAL, "%s input %d: a KRSC copy of a rank-%d "
                                   "tensor", n->node->op_type, i, t->rank);
    /* A 1x1 filter's KRSC bytes are its KCRS ones: the plain copy (and cache entry) serves. */
    if (krsc && t->dims[2] * t->dims[3] > 1)
        order = (cinfer_cuda_weights_order){t->dims[1], t->dims[2] * t->dims[3]};
    cinfer_cuda_weights *cache = weight_cache(ctx, n, i);
    if (cache) {
        rc = cinfer_cuda_weights_acquire(cache, ctx, n->weight[i], numel, p, order, &c->ptr,
                                         err);
        if (rc == CINFER_OK) c->cache = cache;
        else c->ptr = NULL;
        return rc;
    }
    /* Two spare bytes: a zero-element constant still gets a pointer to hand over. */
    CUDA_CHECK(err, rc, cinfer__cuda_malloc(&c->ptr, numel * 2 + 2), fail);
    if ((rc = convert_host(ctx, p, order, t, c->ptr, err)) == CINFER_OK) return rc;
fail:
    cinfer_cuda_half_const_free(c);
    return rc;
}

void cinfer_cuda_half_const_free(cinfer_cuda_half_const *c) {
    if (c->cache) {
        cinfer_cuda_weights_release(c->cache, c->ptr);
    } else if (c->ptr) {
        (void)cudaFree(c->ptr);
        (void)cudaGetLastError(); /* an ignored failure must not be reported by the next launch */
    }
    *c = (cinfer_cuda_half_const){0};
}

/* The 16-bit activation type of precision p, or 0. */
static cinfer_dtype half_of(cinfer_precision p) {
    return p == CINFER_PRECISION_FP16   ? CINFER_DTYPE_FLOAT16
           : p == CINFER_PRECISION_BF16 ? CINFER_DTYPE_BFLOAT16 : 0;
}

cinfer_status cinfer_cuda_half_out(const cinfer_cuda_node *n, cinfer_dtype *t, char *why) {
    *t = n->out[0]->dtype;
    if (*t == CINFER_DTYPE_FLOAT) return cuda_need_f32(n, why);
    if (!*t || *t != half_of(n->precision))
        return cuda_no(why, "%s: a non-float output outside an fp16/bf16 plan of its type",
                       n->node->op_type);
    return CINFER_OK;
}
