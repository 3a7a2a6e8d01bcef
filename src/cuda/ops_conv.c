/* GPU Conv and ConvTranspose on prepared cuDNN convolutions (conv.h). cuDNN pads both ends of
 * an axis alike, so asymmetric pads are refused here and the node runs on the CPU. */
#include <stdlib.h>

#include "cuda/conv.h"
#include "kernels.h"
#include "cuda/module_impl.h"
#include "ir/passes.h"

static void conv_release(void *p) {
    cinfer_cuda_conv_release(p);
    free(p);
}

/* Reads an INTS attribute of nspatial entries (or `dflt` everywhere when absent). */
static bool spatial_ints(const cinfer__node *node, const char *name, int ns, int64_t *dst,
                         int64_t dflt) {
    size_t c;
    const int64_t *v = cuda_attr_ints(node, name, &c);
    for (int d = 0; d < ns; d++) dst[d] = dflt;
    if (!v) return true;
    if ((int)c != ns) return false;
    for (int d = 0; d < ns; d++) dst[d] = v[d];
    return true;
}

static cinfer_status conv_params(const cinfer_cuda_node *n, cinfer_cuda_conv_params *p,
                                 char *why) {
    const cinfer__node *node = n->node;
    const char *op = node->op_type;
    bool transpose = !strcmp(op, "ConvTranspose");
    cinfer_status st = cuda_need_f32(n, why);
    if (st != CINFER_OK) return st;
    const cinfer_tensor *x = n->in[0], *w = n->in[1], *y = n->out[0];
    int ns = x->rank - 2;
    if (ns < 1 || ns > 3) return cuda_no(why, "%s: only 1-D, 2-D and 3-D on the GPU", op);
    memset(p, 0, sizeof *p);
    p->nspatial = ns;
    p->n = x->dims[0];
    p->c_in = x->dims[1];
    p->c_out = y->dims[1];
    p->groups = cuda_attr_int(node, "group", 1);
    int64_t pads[6];
    if (!spatial_ints(node, "strides", ns, p->stride, 1) ||
        !spatial_ints(node, "dilations", ns, p->dilation, 1) ||
        !spatial_ints(node, "output_padding", ns, p->out_pad, 0))
        return cuda_no(why, "%s: strides/dilations/output_padding of the wrong length", op);
    size_t np;
    const int64_t *pv = cuda_attr_ints(node, "pads", &np);
    if (pv && (int)np != 2 * ns) return cuda_no(why, "%s: pads of the wrong length", op);
    for (int d = 0; d < 2 * ns; d++) pads[d] = pv ? pv[d] : 0;
    const char *ap = cuda_attr_str(node, "auto_pad", "NOTSET");
    if (strcmp(ap, "NOTSET") && strcmp(ap, "VALID"))
        return cuda_no(why, "%s: auto_pad SAME_* runs on the CPU", op);
    if (transpose && cuda_attr(node, "output_shape"))
        return cuda_no(why, "%s: output_shape runs on the CPU", op);
    for (int d = 0; d < ns; d++) {
        p->in[d] = x->dims[2 + d];
        p->kernel[d] = w->dims[2 + d];
        p->pad_begin[d] = pads[d];
        p->pad_end[d] = pads[ns + d];
        if (p->pad_begin[d] != p->pad_end[d])
            return cuda_no(why, "%s: asymmetric pads (cuDNN pads both ends alike)", op);
    }
    if (transpose) p->flags |= CINFER_CONV_TRANSPOSE;
    if (cuda_has_in(n, 2)) p->flags |= CINFER_CONV_BIAS;
    if (cuda_attr_int(node, CINFER_FUSED_RELU_ATTR, 0) == 1) p->flags |= CINFER_CONV_RELU;
    /* TF32 is the only reduced precision convolutions take so far: fp16/bf16 plans run them
     * in fp32 (docs/cuda-backend.md, "Precision"). */
    if (n->precision == CINFER_PRECISION_TF32) p->flags |= CINFER_CONV_TF32;
    return CINFER_OK;
}

static cinfer_status conv_supports(const cinfer_cuda_node *n, char *why) {
    cinfer_cuda_conv_params p;
    return conv_params(n, &p, why);
}

static cinfer_status conv_prepare(cinfer_cuda_ctx *ctx, const cinfer_cuda_node *n, cuda_step *s,
                                  cinfer_cuda_err *err) {
    char why[CINFER_CUDA_MSG_LEN];
    cinfer_cuda_conv_params p;
    cinfer_status st = conv_params(n, &p, why);
    if (st != CINFER_OK) return cinfer_cuda_err_set(err, st, "%s", why);
    cinfer_cuda_conv *c = calloc(1, sizeof *c);
    if (!c) return cinfer_cuda_err_set(err, CINFER_OUT_OF_MEMORY, "out of memory");
    if ((st = cinfer_cuda_conv_prepare(ctx, &p, c, err)) != CINFER_OK) {
        conv_release(c);
        return st;
    }
    /* The planner's output shape and cuDNN's must agree; a mismatch is a planning bug. */
    for (int d = 0; d < p.nspatial; d++)
        if (c->out[d] != n->out[0]->dims[2 + d]) {
            long long got = (long long)c->out[d];
            conv_release(c);
            return cinfer_cuda_err_set(err, CINFER_UNSUPPORTED,
                                       "%s: cuDNN's output size %lld differs from the planned "
                                       "%lld on spatial axis %d", n->node->op_type, got,
                                       (long long)n->out[0]->dims[2 + d], d);
        }
    s->priv = c;
    return CINFER_OK;
}

static cinfer_status conv_run(cinfer_cuda_ctx *ctx, cuda_step *s, const void *const *in,
                              void *const *out, cinfer_cuda_err *err) {
    const void *bias = s->n_in > 2 && s->has_in[2] ? in[2] : NULL;
    return cinfer_cuda_conv_run(ctx, s->priv, in[0], in[1], bias, out[0], err);
}

/* FusedConv (docs/fusion.md): the convolution, then bias, Z and the clamp of
 * cinfer.fused_relu in one epilogue pass. An addend that broadcasts stays on the CPU. */
typedef struct fused_conv {
    cinfer_cuda_conv conv;
    bool relu;
    int64_t n; /* elements of Y (and Z) */
} fused_conv;

static void fused_release(void *p) {
    if (!p) return;
    cinfer_cuda_conv_release(&((fused_conv *)p)->conv);
    free(p);
}

static cinfer_status fused_params(const cinfer_cuda_node *n, cinfer_cuda_conv_params *p,
                                  char *why) {
    cinfer_status st = conv_params(n, p, why);
    if (st != CINFER_OK) return st;
    if (!cuda_has_in(n, 3) || cuda_numel(n->in[3]) != cuda_numel(n->out[0]))
        return cuda_no(why, "%s: an addend that broadcasts runs on the CPU", "FusedConv");
    return CINFER_OK;
}

static cinfer_status fused_supports(const cinfer_cuda_node *n, char *why) {
    cinfer_cuda_conv_params p;
    return fused_params(n, &p, why);
}

static cinfer_status fused_prepare(cinfer_cuda_ctx *ctx, const cinfer_cuda_node *n,
                                   cuda_step *s, cinfer_cuda_err *err) {
    char why[CINFER_CUDA_MSG_LEN];
    cinfer_cuda_conv_params p;
    cinfer_status st = fused_params(n, &p, why);
    if (st != CINFER_OK) return cinfer_cuda_err_set(err, st, "%s", why);
    fused_conv *f = calloc(1, sizeof *f);
    if (!f) return cinfer_cuda_err_set(err, CINFER_OUT_OF_MEMORY, "out of memory");
    f->relu = (p.flags & CINFER_CONV_RELU) != 0;
    p.flags &= ~(unsigned)CINFER_CONV_RELU;
    f->n = cuda_numel(n->out[0]);
    if ((st = cinfer_cuda_conv_prepare(ctx, &p, &f->conv, err)) != CINFER_OK) {
        fused_release(f);
        return st;
    }
    for (int d = 0; d < p.nspatial; d++)
        if (f->conv.out[d] != n->out[0]->dims[2 + d]) {
            fused_release(f);
            return cinfer_cuda_err_set(err, CINFER_UNSUPPORTED,
                                       "FusedConv: cuDNN's output size differs from the "
                                       "planned one on spatial axis %d", d);
        }
    s->priv = f;
    return CINFER_OK;
}

static cinfer_status fused_run(cinfer_cuda_ctx *ctx, cuda_step *s, const void *const *in,
                               void *const *out, cinfer_cuda_err *err) {
    const fused_conv *f = s->priv;
    const void *bias = s->n_in > 2 && s->has_in[2] ? in[2] : NULL;
    return cinfer_cuda_conv_run_fused(ctx, &f->conv, in[0], in[1], bias, in[3], f->relu, out[0],
                                      err);
}

const cuda_op cinfer_cuda_ops_conv[] = {
    {"Conv", "", conv_supports, conv_prepare, conv_run, conv_release},
    {"ConvTranspose", "", conv_supports, conv_prepare, conv_run, conv_release},
    {"FusedConv", CINFER_FUSED_DOMAIN, fused_supports, fused_prepare, fused_run, fused_release},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};
