/* GPU Conv, ConvTranspose and FusedConv on prepared cuDNN convolutions (conv.h). cuDNN pads
 * both ends of an axis alike: a Conv with asymmetric pads (explicit, or auto_pad SAME_* with a
 * stride or an even kernel) convolves a zero-bordered copy of X (conv.h); a ConvTranspose with
 * asymmetric pads or auto_pad SAME_* runs on the CPU.
 *
 * At fp16/bf16 these ops have half_io (docs/cuda-backend.md, "Half activations"): X, Z and Y
 * arrive in 16 bits, cuDNN convolves them with an fp32 compute type, and a float constant W
 * gets a 16-bit copy once at prepare (half_const.h: a model weight's from the device object's
 * cache); the bias stays float, read by the epilogue kernel.
 *
 * CINFER_CUDA_CONV_FUSE=cudnn (an experiment) also prepares cuDNN's fused call, which takes the
 * bias (in Y's type: a 16-bit copy in half mode), Z and the ReLU into the convolution itself;
 * where cuDNN refuses it at run time the step runs as above. */
#include <stdlib.h>

#include "cuda/conv.h"
#include "cuda/half_const.h"
#include "kernels.h"
#include "cuda/module_impl.h"
#include "ir/passes.h"

/* A prepared step of any of the three ops. */
typedef struct conv_priv {
    cinfer_cuda_conv conv;
    bool relu;                 /* FusedConv: the clamp, in the epilogue */
    cinfer_cuda_half_const w;  /* half mode with a float constant W: its 16-bit copy */
    cinfer_cuda_half_const b;  /* half mode with cuDNN's fused call: the bias in 16 bits */
    bool refused;              /* cuDNN refused the fused call once: not asked again (a step's
                                  state belongs to one execution context, one run at a time) */
} conv_priv;

static void conv_release(void *p) {
    if (!p) return;
    conv_priv *c = p;
    cinfer_cuda_conv_release(&c->conv);
    cinfer_cuda_half_const_free(&c->w);
    cinfer_cuda_half_const_free(&c->b);
    free(c);
}

/* All float, or half mode: Y in the 16-bit type of the node's precision, X and Z in that type,
 * W in it or a float constant, the bias float (a constant: a float activation would have been
 * retyped). Sets the FP16 / BF16 flag for half mode. */
static cinfer_status conv_dtypes(const cinfer_cuda_node *n, unsigned *flags, char *why) {
    const char *op = n->node->op_type;
    if (n->n_out < 1 || !n->out[0] || !cuda_has_in(n, 0) || !cuda_has_in(n, 1))
        return cuda_no(why, "%s: X, W or Y missing", op);
    cinfer_dtype t;
    cinfer_status s = cinfer_cuda_half_out(n, &t, why);
    if (s != CINFER_OK || t == CINFER_DTYPE_FLOAT) return s;
    for (int i = 0; i < n->n_in; i++) {
        const cinfer_tensor *x = n->in[i];
        if (!x) continue;
        bool ok = i == 1   ? x->dtype == t || (x->dtype == CINFER_DTYPE_FLOAT && x->data)
                  : i == 2 ? x->dtype == CINFER_DTYPE_FLOAT
                           : x->dtype == t;
        if (!ok)
            return cuda_no(why, "%s: in half mode X and Z take the output's 16-bit type, W that "
                           "type or a float constant, the bias float", op);
    }
    *flags |= t == CINFER_DTYPE_FLOAT16 ? CINFER_CONV_FP16 : CINFER_CONV_BF16;
    return CINFER_OK;
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
    memset(p, 0, sizeof *p);
    cinfer_status st = conv_dtypes(n, &p->flags, why);
    if (st != CINFER_OK) return st;
    const cinfer_tensor *x = n->in[0], *w = n->in[1], *y = n->out[0];
    int ns = x->rank - 2;
    if (ns < 1 || ns > 3) return cuda_no(why, "%s: only 1-D, 2-D and 3-D on the GPU", op);
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
    int ap = cuda_auto_pad(node);
    bool same = ap == CUDA_PAD_SAME_UPPER || ap == CUDA_PAD_SAME_LOWER;
    if (ap < 0) return cuda_no(why, "%s: auto_pad is not NOTSET, VALID or SAME_*", op);
    if (transpose && same) return cuda_no(why, "%s: auto_pad SAME_* runs on the CPU", op);
    if (transpose && cuda_attr(node, "output_shape"))
        return cuda_no(why, "%s: output_shape runs on the CPU", op);
    for (int d = 0; d < ns; d++) {
        p->in[d] = x->dims[2 + d];
        p->kernel[d] = w->dims[2 + d];
        p->pad_begin[d] = ap == CUDA_PAD_VALID ? 0 : pads[d];
        p->pad_end[d] = ap == CUDA_PAD_VALID ? 0 : pads[ns + d];
        if (same)
            cuda_same_pads(ap, p->in[d], p->kernel[d], p->stride[d], p->dilation[d],
                           &p->pad_begin[d], &p->pad_end[d]);
        if (transpose && p->pad_begin[d] != p->pad_end[d])
            return cuda_no(why, "%s: asymmetric pads (cuDNN pads both ends alike)", op);
    }
    if (transpose) p->flags |= CINFER_CONV_TRANSPOSE;
    if (cuda_has_in(n, 2)) p->flags |= CINFER_CONV_BIAS;
    if (cuda_attr_int(node, CINFER_FUSED_RELU_ATTR, 0) == 1) p->flags |= CINFER_CONV_RELU;
    /* fp16/bf16 is half mode (conv_dtypes set its flag); TF32 only a math type. */
    if (n->precision == CINFER_PRECISION_TF32) p->flags |= CINFER_CONV_TF32;
    return CINFER_OK;
}

static cinfer_status conv_supports(const cinfer_cuda_node *n, char *why) {
    cinfer_cuda_conv_params p;
    return conv_params(n, &p, why);
}

/* FusedConv (docs/fusion.md): the convolution, then bias, Z and the clamp of
 * cinfer.fused_relu in one epilogue pass. An addend that broadcasts stays on the CPU. */
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

/* The planner's output shape and cuDNN's must agree; a mismatch is a planning bug. */
static cinfer_status check_out(const cinfer_cuda_node *n, const cinfer_cuda_conv *c,
                               cinfer_cuda_err *err) {
    for (int d = 0; d < c->p.nspatial; d++)
        if (c->out[d] != n->out[0]->dims[2 + d])
            return cinfer_cuda_err_set(err, CINFER_UNSUPPORTED,
                                       "%s: cuDNN's output size %lld differs from the planned "
                                       "%lld on spatial axis %d", n->node->op_type,
                                       (long long)c->out[d], (long long)n->out[0]->dims[2 + d],
                                       d);
    return CINFER_OK;
}

/* CINFER_CUDA_CONV_FUSE: "cudnn" asks for cuDNN's fused call, unset (or empty) for the
 * epilogue pass; anything else is refused with that message. */
static cinfer_status fuse_choice(unsigned *flags, char *why) {
    const char *e = getenv("CINFER_CUDA_CONV_FUSE");
    if (!e || !*e) return CINFER_OK;
    if (strcmp(e, "cudnn"))
        return cuda_no(why, "CINFER_CUDA_CONV_FUSE=%s: expected cudnn (or unset)", e);
    *flags |= CINFER_CONV_FUSE_CUDNN;
    return CINFER_OK;
}

/* All three ops: cuDNN's descriptors and algorithm, and in half mode W's 16-bit copy. The
 * ReLU goes to the epilogue pass, with the bias (and Z), or into cuDNN's fused call. */
static cinfer_status prepare_any(cinfer_cuda_ctx *ctx, const cinfer_cuda_node *n, cuda_step *s,
                                 bool fused, cinfer_cuda_err *err) {
    char why[CINFER_CUDA_MSG_LEN];
    cinfer_cuda_conv_params p;
    cinfer_status st = fused ? fused_params(n, &p, why) : conv_params(n, &p, why);
    if (st == CINFER_OK) st = fuse_choice(&p.flags, why);
    if (st != CINFER_OK) return cinfer_cuda_err_set(err, st, "%s", why);
    conv_priv *c = calloc(1, sizeof *c);
    if (!c) return cinfer_cuda_err_set(err, CINFER_OUT_OF_MEMORY, "out of memory");
    c->relu = (p.flags & CINFER_CONV_RELU) != 0;
    p.flags &= ~(unsigned)CINFER_CONV_RELU;
    /* Channels last (module_api.c chose it from the storage): a float constant W gets a KRSC
     * copy; a 16-bit activation W is converted at the edge like X (4-D [K][C][R][S] as NHWC is
     * KRSC). */
    if (s->nhwc) p.flags |= CINFER_CONV_NHWC;
    st = cinfer_cuda_conv_prepare(ctx, &p, &c->conv, err);
    if (st == CINFER_OK) st = check_out(n, &c->conv, err);
    if (st == CINFER_OK && (p.flags & (CINFER_CONV_FP16 | CINFER_CONV_BF16)) &&
        n->in[1]->dtype == CINFER_DTYPE_FLOAT)
        st = cinfer_cuda_half_const_make(ctx, n, 1, n->precision, s->nhwc, &c->w, err);
    /* Half mode: the fused call needs the bias in 16 bits, a copy only a constant can have. */
    if (st == CINFER_OK && c->conv.fused && (p.flags & (CINFER_CONV_FP16 | CINFER_CONV_BF16))) {
        if (n->in[2]->data)
            st = cinfer_cuda_half_const_make(ctx, n, 2, n->precision, false, &c->b, err);
        else
            c->conv.fused = false;
    }
    if (st != CINFER_OK) {
        conv_release(c);
        return st;
    }
    s->priv = c;
    return CINFER_OK;
}

static cinfer_status conv_prepare(cinfer_cuda_ctx *ctx, const cinfer_cuda_node *n, cuda_step *s,
                                  cinfer_cuda_err *err) {
    return prepare_any(ctx, n, s, false, err);
}

static cinfer_status fused_prepare(cinfer_cuda_ctx *ctx, const cinfer_cuda_node *n,
                                   cuda_step *s, cinfer_cuda_err *err) {
    return prepare_any(ctx, n, s, true, err);
}

static cinfer_status conv_run(cinfer_cuda_ctx *ctx, cuda_step *s, const void *const *in,
                              void *const *out, cinfer_cuda_err *err) {
    conv_priv *c = s->priv;
    const void *bias = s->n_in > 2 && s->has_in[2] ? in[2] : NULL;
    const void *z = s->n_in > 3 && s->has_in[3] ? in[3] : NULL;
    const void *w = c->w.ptr ? c->w.ptr : in[1];
    if (c->conv.fused && !c->refused) {
        const void *bias_y = c->b.ptr ? c->b.ptr : bias;
        cinfer_status st =
            cinfer_cuda_conv_run_cudnn(ctx, &c->conv, in[0], w, bias_y, z, c->relu, out[0], err);
        if (st != CINFER_UNSUPPORTED) return st;
        c->refused = true;
    }
    return cinfer_cuda_conv_run_fused(ctx, &c->conv, in[0], w, bias, z, c->relu, out[0], err);
}

const cuda_op cinfer_cuda_ops_conv[] = {
    {"Conv", "", conv_supports, conv_prepare, conv_run, conv_release, true, CUDA_OP_NHWC},
    {"ConvTranspose", "", conv_supports, conv_prepare, conv_run, conv_release, true,
     CUDA_OP_NHWC},
    {"FusedConv", CINFER_FUSED_DOMAIN, fused_supports, fused_prepare, conv_run, conv_release,
     true, CUDA_OP_NHWC},
    {NULL, NULL, NULL, NULL, NULL, NULL, false},
};
