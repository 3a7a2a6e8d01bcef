/* GEMM on cuBLASLt with bias/activation epilogues, row-major via the transpose identity.
 * fp32 by default; TF32 compute or fp16/bf16 operands with fp32 accumulation on request, and
 * 16-bit C/D/bias as well for half activations.
 *
 * cinfer tensors are row-major; cuBLASLt's default order is column-major. A row-major R x C
 * matrix with row stride ld is, byte for byte, a column-major C x R matrix with the same ld,
 * i.e. its transpose. So for D = op(A) op(B) we ask cuBLASLt for the column-major product
 *   D^T (N x M) = op(B)^T (N x K) * op(A)^T (K x M),
 * passing our B as cuBLASLt's "A" and our A as its "B", with m and n swapped. The transpose
 * flags carry over unchanged (a stored-transposed operand stays transposed). A bonus: cuBLASLt's
 * bias vector runs along the rows of its D, which are our columns, so CUBLASLT_EPILOGUE_BIAS is
 * exactly a per-column bias of length N. (The CUBLASLT_ORDER_ROW attribute would also work, but
 * fewer kernels and epilogues support it.) */
#include "cuda/matmul.h"

#include <stdint.h>
#include <string.h>

#define ALL_FLAGS                                                                              \
    (CINFER_GEMM_TRANS_A | CINFER_GEMM_TRANS_B | CINFER_GEMM_BIAS | CINFER_GEMM_RELU |         \
     CINFER_GEMM_GELU)

/* Fills the packed defaults and checks the shape; `s` is the prepared copy. */
static cinfer_status check_shape(cinfer_cuda_gemm_shape *s, cinfer_cuda_err *err) {
    int ta = !!(s->flags & CINFER_GEMM_TRANS_A), tb = !!(s->flags & CINFER_GEMM_TRANS_B);
    if (s->m < 1 || s->n < 1 || s->k < 1 || s->batch < 1 || s->m > INT32_MAX ||
        s->n > INT32_MAX || s->k > INT32_MAX || s->batch > INT32_MAX)
        return cinfer_cuda_err_set(err, CINFER_INVALID_ARGUMENT,
                                   "GEMM shape M=%lld N=%lld K=%lld batch=%lld: each must be in "
                                   "1..2^31-1",
                                   (long long)s->m, (long long)s->n, (long long)s->k,
                                   (long long)s->batch);
    if (s->flags & ~(unsigned)ALL_FLAGS ||
        ((s->flags & CINFER_GEMM_RELU) && (s->flags & CINFER_GEMM_GELU)))
        return cinfer_cuda_err_set(err, CINFER_INVALID_ARGUMENT,
                                   "GEMM flags 0x%x: unknown bits, or both RELU and GELU",
                                   s->flags);
    int64_t a_cols = ta ? s->m : s->k, b_cols = tb ? s->k : s->n;
    if (!s->lda) s->lda = a_cols;
    if (!s->ldb) s->ldb = b_cols;
    if (!s->ldd) s->ldd = s->n;
    if (!s->align_bytes) s->align_bytes = 16;
    if (s->lda < a_cols || s->ldb < b_cols || s->ldd < s->n)
        return cinfer_cuda_err_set(err, CINFER_INVALID_ARGUMENT,
                                   "GEMM row strides lda=%lld ldb=%lld ldd=%lld shorter than the "
                                   "rows they step over (%lld, %lld, %lld)",
                                   (long long)s->lda, (long long)s->ldb, (long long)s->ldd,
                                   (long long)a_cols, (long long)b_cols, (long long)s->n);
    if (s->stride_a < 0 || s->stride_b < 0 || s->stride_bias < 0 ||
        (s->batch > 1 && s->stride_d < s->m * s->ldd))
        return cinfer_cuda_err_set(err, CINFER_INVALID_ARGUMENT,
                                   "GEMM batch strides a=%lld b=%lld d=%lld bias=%lld: negative, "
                                   "or D's batches overlap (need d >= M*ldd = %lld)",
                                   (long long)s->stride_a, (long long)s->stride_b,
                                   (long long)s->stride_d, (long long)s->stride_bias,
                                   (long long)(s->m * s->ldd));
    if ((unsigned)s->precision > CINFER_PRECISION_BF16)
        return cinfer_cuda_err_set(err, CINFER_INVALID_ARGUMENT, "GEMM precision %d unknown",
                                   (int)s->precision);
    if (s->half_io && s->precision != CINFER_PRECISION_FP16 &&
        s->precision != CINFER_PRECISION_BF16)
        return cinfer_cuda_err_set(err, CINFER_INVALID_ARGUMENT,
                                   "GEMM with 16-bit C/D at precision %d: only fp16 or bf16",
                                   (int)s->precision);
    if (s->align_bytes < 4 || (s->align_bytes & (s->align_bytes - 1)))
        return cinfer_cuda_err_set(err, CINFER_INVALID_ARGUMENT,
                                   "GEMM alignment %u: must be a power of two >= 4",
                                   s->align_bytes);
    return CINFER_OK;
}

static cublasLtEpilogue_t epilogue_of(unsigned flags) {
    int bias = !!(flags & CINFER_GEMM_BIAS);
    if (flags & CINFER_GEMM_RELU)
        return bias ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU;
    if (flags & CINFER_GEMM_GELU)
        return bias ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_GELU;
    return bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
}

/* One column-major layout of `rows` x `cols` (cuBLASLt's terms), with batching. */
static cinfer_status make_layout(cublasLtMatrixLayout_t *out, cudaDataType_t type, int64_t rows,
                                 int64_t cols, int64_t ld, int64_t batch, int64_t stride,
                                 cinfer_cuda_err *err) {
    cinfer_status rc = CINFER_OK;
    int32_t count = (int32_t)batch;
    CUBLAS_CHECK(err, rc, cublasLtMatrixLayoutCreate(out, type, (uint64_t)rows,
                                                     (uint64_t)cols, ld), fail);
    if (batch > 1) {
        /* Every layout carries the same batch count (cuBLASLt requires it); a stride of 0
         * repeats one matrix for all batches. */
        CUBLAS_CHECK(err, rc, cublasLtMatrixLayoutSetAttribute(
                                  *out, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count),
                     fail);
        CUBLAS_CHECK(err, rc, cublasLtMatrixLayoutSetAttribute(
                                  *out, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride,
                                  sizeof stride),
                     fail);
    }
fail:
    return rc;
}

/* The type A and B are stored in: float but for fp16/bf16 operands. cuBLASLt runs 16F or 16BF
 * A/B with float C/D under CUBLAS_COMPUTE_32F and a float scale type (its documented type
 * combinations), so everything but the operands stays fp32. */
static cudaDataType_t operand_type(cinfer_precision p) {
    return p == CINFER_PRECISION_FP16 ? CUDA_R_16F
           : p == CINFER_PRECISION_BF16 ? CUDA_R_16BF : CUDA_R_32F;
}

/* The operation: fp32 compute (CUBLAS_COMPUTE_32F; _FAST_TF32 only when TF32 is asked for),
 * fp32 scale, host alpha and beta, transposes and epilogue. The bias keeps D's type (float, or
 * the 16-bit type with half_io): CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE's default (-1), which
 * cublasLt.h documents as "the same type as the elements of output matrix (Dtype)" for all but
 * IMMA and fp8 kernels. 16F/16BF A, B, C and D under CUBLAS_COMPUTE_32F with a float scale
 * is one of cublasLtMatmul's documented type combinations, as is float C/D with 16-bit A/B.
 * Our B is cuBLASLt's A (see the top of the file). */
static cinfer_status make_op(cinfer_cuda_gemm *g, cinfer_cuda_err *err) {
    const cinfer_cuda_gemm_shape *s = &g->shape;
    cinfer_status rc = CINFER_OK;
    cublasOperation_t lt_ta = (s->flags & CINFER_GEMM_TRANS_B) ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasOperation_t lt_tb = (s->flags & CINFER_GEMM_TRANS_A) ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasLtEpilogue_t epi = epilogue_of(s->flags);
    cublasComputeType_t compute = s->precision == CINFER_PRECISION_TF32
                                      ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    CUBLAS_CHECK(err, rc, cublasLtMatmulDescCreate(&g->op, compute, CUDA_R_32F), fail);
    CUBLAS_CHECK(err, rc, cublasLtMatmulDescSetAttribute(g->op, CUBLASLT_MATMUL_DESC_TRANSA,
                                                         &lt_ta, sizeof lt_ta), fail);
    CUBLAS_CHECK(err, rc, cublasLtMatmulDescSetAttribute(g->op, CUBLASLT_MATMUL_DESC_TRANSB,
                                                         &lt_tb, sizeof lt_tb), fail);
    CUBLAS_CHECK(err, rc, cublasLtMatmulDescSetAttribute(g->op, CUBLASLT_MATMUL_DESC_EPILOGUE,
                                                         &epi, sizeof epi), fail);
    if (s->flags & CINFER_GEMM_BIAS) {
        /* The heuristic reads the bias pointer's alignment without dereferencing it; a stand-in
         * aligned exactly to what run promises keeps it from assuming more. */
        const void *stand_in = (const void *)(uintptr_t)s->align_bytes;
        CUBLAS_CHECK(err, rc, cublasLtMatmulDescSetAttribute(
                                  g->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &stand_in,
                                  sizeof stand_in), fail);
        if (s->batch > 1) {
            int64_t bstride = s->stride_bias;
            CUBLAS_CHECK(err, rc, cublasLtMatmulDescSetAttribute(
                                      g->op, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE, &bstride,
                                      sizeof bstride), fail);
        }
    }
fail:
    return rc;
}

static cinfer_status make_layouts(cinfer_cuda_gemm *g, cinfer_cuda_err *err) {
    const cinfer_cuda_gemm_shape *s = &g->shape;
    int ta = !!(s->flags & CINFER_GEMM_TRANS_A), tb = !!(s->flags & CINFER_GEMM_TRANS_B);
    cudaDataType_t ab = operand_type(s->precision);
    cinfer_status rc;
    /* Our B as stored (K x N, or N x K when transposed), seen column-major. */
    rc = make_layout(&g->a_layout, ab, tb ? s->k : s->n, tb ? s->n : s->k, s->ldb, s->batch,
                     s->stride_b, err);
    if (rc != CINFER_OK) return rc;
    /* Our A as stored (M x K, or K x M when transposed), seen column-major. */
    rc = make_layout(&g->b_layout, ab, ta ? s->m : s->k, ta ? s->k : s->m, s->lda, s->batch,
                     s->stride_a, err);
    if (rc != CINFER_OK) return rc;
    /* D (and C): M x N row-major is N x M column-major; float but with half_io. */
    return make_layout(&g->d_layout, s->half_io ? ab : CUDA_R_32F, s->n, s->m, s->ldd, s->batch,
                       s->stride_d, err);
}

static cinfer_status pick_algo(cinfer_cuda_ctx *ctx, cinfer_cuda_gemm *g, cinfer_cuda_err *err) {
    cinfer_status rc = CINFER_OK;
    cublasLtMatmulPreference_t pref = NULL;
    uint64_t ws = ctx->lt_workspace_bytes;
    uint32_t align = g->shape.align_bytes;
    cublasLtMatmulHeuristicResult_t result;
    int found = 0;
    CUBLAS_CHECK(err, rc, cublasLtMatmulPreferenceCreate(&pref), done);
    CUBLAS_CHECK(err, rc, cublasLtMatmulPreferenceSetAttribute(
                              pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws),
                 done);
    static const cublasLtMatmulPreferenceAttributes_t aligns[] = {
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
    for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++)
        CUBLAS_CHECK(err, rc, cublasLtMatmulPreferenceSetAttribute(pref, aligns[i], &align,
                                                                   sizeof align), done);
    memset(&result, 0, sizeof result);
    CUBLAS_CHECK(err, rc, cublasLtMatmulAlgoGetHeuristic(ctx->lt, g->op, g->a_layout, g->b_layout,
                                                         g->d_layout, g->d_layout, pref, 1,
                                                         &result, &found), done);
    if (found < 1 || result.state != CUBLAS_STATUS_SUCCESS || result.workspaceSize > ws) {
        rc = cinfer_cuda_err_set(err, CINFER_UNSUPPORTED,
                                 "cuBLASLt has no %s algorithm for GEMM M=%lld N=%lld K=%lld "
                                 "batch=%lld flags=0x%x within %llu workspace bytes on CUDA "
                                 "device %d",
                                 g->shape.precision == CINFER_PRECISION_TF32   ? "tf32"
                                 : g->shape.precision == CINFER_PRECISION_FP16 ? "fp16"
                                 : g->shape.precision == CINFER_PRECISION_BF16 ? "bf16"
                                                                               : "fp32",
                                 (long long)g->shape.m, (long long)g->shape.n,
                                 (long long)g->shape.k, (long long)g->shape.batch, g->shape.flags,
                                 (unsigned long long)ws, ctx->device);
        goto done;
    }
    g->algo = result.algo;
    g->workspace_bytes = result.workspaceSize;
done:
    if (pref) (void)cublasLtMatmulPreferenceDestroy(pref);
    return rc;
}

cinfer_status cinfer_cuda_gemm_prepare(cinfer_cuda_ctx *ctx, const cinfer_cuda_gemm_shape *shape,
                                       cinfer_cuda_gemm *g, cinfer_cuda_err *err) {
    memset(g, 0, sizeof *g);
    g->shape = *shape;
    cinfer_status rc = check_shape(&g->shape, err);
    if (rc == CINFER_OK) rc = make_op(g, err);
    if (rc == CINFER_OK) rc = make_layouts(g, err);
    if (rc == CINFER_OK) rc = pick_algo(ctx, g, err);
    if (rc != CINFER_OK) cinfer_cuda_gemm_release(g);
    return rc;
}

static int misaligned(const void *p, unsigned align) { return ((uintptr_t)p & (align - 1)) != 0; }

static cinfer_status check_run_args(const cinfer_cuda_gemm *g, const void *a, const void *b,
                                    const void *c, void *d, const void *bias,
                                    cinfer_cuda_err *err) {
    const cinfer_cuda_gemm_shape *s = &g->shape;
    int want_bias = !!(s->flags & CINFER_GEMM_BIAS);
    if (!g->op || !a || !b || !d || (!c && s->beta != 0.0f) || (!bias) == want_bias)
        return cinfer_cuda_err_set(err, CINFER_INVALID_ARGUMENT,
                                   "GEMM run: unprepared, or a NULL operand (C is needed when "
                                   "beta != 0, bias exactly when the BIAS flag is set)");
    unsigned al = s->align_bytes;
    if (misaligned(a, al) || misaligned(b, al) || (c && misaligned(c, al)) || misaligned(d, al) ||
        (bias && misaligned(bias, al)))
        return cinfer_cuda_err_set(err, CINFER_INVALID_ARGUMENT,
                                   "GEMM run: an operand is not %u-byte aligned as prepared", al);
    return CINFER_OK;
}

cinfer_status cinfer_cuda_gemm_run(cinfer_cuda_ctx *ctx, cinfer_cuda_gemm *g, const void *a,
                                   const void *b, const void *c, void *d, const void *bias,
                                   cinfer_cuda_err *err) {
    cinfer_status rc = check_run_args(g, a, b, c, d, bias, err);
    if (rc != CINFER_OK) return rc;
    if (bias)
        CUBLAS_CHECK(err, rc, cublasLtMatmulDescSetAttribute(
                                  g->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias),
                     fail);
    /* Swapped operands: see the top of the file. With beta == 0, C is never read; D stands in. */
    CUBLAS_CHECK(err, rc, cublasLtMatmul(ctx->lt, g->op, &g->shape.alpha, b, g->a_layout, a,
                                         g->b_layout, &g->shape.beta, c ? c : d,
                                         g->d_layout, d, g->d_layout, &g->algo, ctx->lt_workspace,
                                         g->workspace_bytes, ctx->compute), fail);
    /* cublasLtMatmul's status is the launch's; cudaGetLastError here would also report an
     * error some earlier, ignored call left pending on this thread. */
    return CINFER_CUDA_AFTER_LAUNCH(err, ctx->compute, cudaSuccess, "cublasLtMatmul");
fail:
    return rc;
}

void cinfer_cuda_gemm_release(cinfer_cuda_gemm *g) {
    if (g->d_layout) (void)cublasLtMatrixLayoutDestroy(g->d_layout);
    if (g->b_layout) (void)cublasLtMatrixLayoutDestroy(g->b_layout);
    if (g->a_layout) (void)cublasLtMatrixLayoutDestroy(g->a_layout);
    if (g->op) (void)cublasLtMatmulDescDestroy(g->op);
    memset(g, 0, sizeof *g);
}
