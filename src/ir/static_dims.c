/* Load-time shape inference (static_dims.h). Each value gets a rank and dims that are known
 * numbers or named unknowns ("the same as input_ids' dim 0"), and small integer tensors get
 * their contents the same way, so the exporters' Shape -> Gather -> Concat arithmetic can be
 * followed: a dim that comes from a weight is a number, one that comes from a symbolic input
 * stays an unknown that other dims can be proven equal to. Only rules that hold for every
 * valid run-time shape are used; anything else becomes a fresh unknown. */
#include <string.h>

#include "core/alloc.h"
#include "ir/static_dims.h"

#define SD_MAX_IN 16 /* broadcasting ops with more inputs (Sum, Max...) are left unknown */

typedef struct sd_ctx {
    cinfer__graph *g;
    cinfer__svalue *v;
    cinfer_dtype *dtype; /* per value: known integer type of tracked contents, or 0 */
    int32_t next_sym;
    const char **sym_names; /* the dim_param of symbol i + 1, or NULL */
    int n_sym_names, cap_sym_names;
} sd_ctx;

static cinfer__sdim known(int64_t v) { return (cinfer__sdim){v, 0}; }

static cinfer__sdim fresh(sd_ctx *c) { return (cinfer__sdim){0, ++c->next_sym}; }

static bool is_known(cinfer__sdim d) { return d.sym == 0; }

static bool same(cinfer__sdim a, cinfer__sdim b) {
    return a.sym ? a.sym == b.sym : (b.sym == 0 && a.v == b.v);
}

static void set_unknown(cinfer__svalue *s) {
    memset(s, 0, sizeof *s);
    s->rank = -1;
    s->n_elems = -1;
}

/* The symbol of a declared dim_param: one per name, so inputs that share a name share it. */
static cinfer__sdim named(sd_ctx *c, const char *name) {
    for (int i = 0; i < c->n_sym_names; i++)
        if (c->sym_names[i] && !strcmp(c->sym_names[i], name)) return (cinfer__sdim){0, i + 1};
    return fresh(c);
}

static bool int_type(cinfer_dtype t) {
    return t == CINFER_DTYPE_INT64 || t == CINFER_DTYPE_INT32;
}

static void from_constant(sd_ctx *c, int v, const cinfer_tensor *t) {
    cinfer__svalue *s = &c->v[v];
    set_unknown(s);
    s->rank = t->rank;
    for (int d = 0; d < t->rank; d++) s->dims[d] = known(t->dims[d]);
    int64_t n = cinfer_tensor_numel(t);
    if (int_type(t->dtype) && n <= CINFER_SDIMS_MAX_ELEMS && t->data) {
        s->n_elems = (int)n;
        for (int64_t i = 0; i < n; i++)
            s->elems[i] = known(t->dtype == CINFER_DTYPE_INT64 ? ((const int64_t *)t->data)[i]
                                                               : ((const int32_t *)t->data)[i]);
        c->dtype[v] = t->dtype;
    }
}

/* Contents of value v when every element is a known number: true with n and the numbers. */
static bool const_ints(const sd_ctx *c, int v, int64_t *out, int *n) {
    if (v < 0) return false;
    const cinfer__svalue *s = &c->v[v];
    if (s->n_elems < 0) return false;
    for (int i = 0; i < s->n_elems; i++) {
        if (!is_known(s->elems[i])) return false;
        out[i] = s->elems[i].v;
    }
    *n = s->n_elems;
    return true;
}

static int norm_axis(int64_t a, int rank) { return (int)(a < 0 ? a + rank : a); }

/* ---- the op rules ---------------------------------------------------------------------- */

static bool op_in(const char *op, const char *const *list) {
    for (int i = 0; list[i]; i++)
        if (!strcmp(op, list[i])) return true;
    return false;
}

/* Output 0 has input 0's shape. */
static const char *const same_shape_ops[] = {
    "Relu", "Sigmoid", "Tanh", "Erf", "Exp", "Log", "Sqrt", "Reciprocal", "Neg", "Abs",
    "Floor", "Ceil", "Round", "Sign", "Not", "Identity", "Dropout", "Softmax", "LogSoftmax",
    "LayerNormalization", "Gelu", "Clip", "LeakyRelu", "Elu", "Selu", "Celu", "HardSigmoid",
    "HardSwish", "Softplus", "Softsign", "Mish", "BatchNormalization", "InstanceNormalization",
    "Cast", "CastLike", "IsNaN", "IsInf", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh",
    "Cosh", "Asinh", "Acosh", "Atanh", "ThresholdedRelu", "Shrink", "Hardmax", NULL};

/* Numpy broadcasting of all inputs. */
static const char *const broadcast_ops[] = {
    "Add", "Sub", "Mul", "Div", "Pow", "Mod", "Equal", "Less", "Greater", "LessOrEqual",
    "GreaterOrEqual", "And", "Or", "Xor", "Where", "Max", "Min", "Sum", "Mean", "PRelu",
    "BitShift", "BitwiseAnd", "BitwiseOr", "BitwiseXor", NULL};

static cinfer__sdim bcast(sd_ctx *c, cinfer__sdim a, cinfer__sdim b) {
    if (same(a, b)) return a;
    if (is_known(a) && a.v == 1) return b;
    if (is_known(b) && b.v == 1) return a;
    if (is_known(a)) return a; /* b is a or 1 in a valid model */
    if (is_known(b)) return b;
    return fresh(c); /* two unknowns, either of which may be 1 */
}

/* out = broadcast of `n` shapes (ranks known), aligned from the right. */
static void broadcast_into(sd_ctx *c, cinfer__svalue *out, const cinfer__svalue *const *in,
                           int n) {
    int rank = 0;
    for (int i = 0; i < n; i++)
        if (in[i]->rank > rank) rank = in[i]->rank;
    out->rank = rank;
    for (int d = 0; d < rank; d++) {
        cinfer__sdim r = known(1);
        for (int i = 0; i < n; i++) {
            int k = d - (rank - in[i]->rank);
            if (k >= 0) r = bcast(c, r, in[i]->dims[k]);
        }
        out->dims[d] = r;
    }
}

static void rule_shape(const cinfer__node *n, const cinfer__svalue *x, cinfer__svalue *o) {
    if (x->rank < 0) return;
    int64_t start = cinfer__attr_int(n, "start", 0), end = cinfer__attr_int(n, "end", x->rank);
    if (start < 0) start += x->rank;
    if (end < 0) end += x->rank;
    start = start < 0 ? 0 : start > x->rank ? x->rank : start;
    end = end < 0 ? 0 : end > x->rank ? x->rank : end;
    int len = end > start ? (int)(end - start) : 0;
    o->rank = 1;
    o->dims[0] = known(len);
    if (len <= CINFER_SDIMS_MAX_ELEMS) {
        o->n_elems = len;
        for (int i = 0; i < len; i++) o->elems[i] = x->dims[start + i];
    }
}

static void rule_gather(const cinfer__node *n, const cinfer__svalue *x, const cinfer__svalue *ix,
                        cinfer__svalue *o) {
    if (x->rank < 1 || ix->rank < 0 || x->rank + ix->rank - 1 > CINFER_MAX_RANK) return;
    int axis = norm_axis(cinfer__attr_int(n, "axis", 0), x->rank);
    if (axis < 0 || axis >= x->rank) return;
    o->rank = x->rank + ix->rank - 1;
    int k = 0;
    for (int d = 0; d < axis; d++) o->dims[k++] = x->dims[d];
    for (int d = 0; d < ix->rank; d++) o->dims[k++] = ix->dims[d];
    for (int d = axis + 1; d < x->rank; d++) o->dims[k++] = x->dims[d];
    /* contents: picking elements of a tracked vector with known indices */
    if (x->rank != 1 || x->n_elems < 0 || ix->n_elems < 0) return;
    for (int i = 0; i < ix->n_elems; i++) {
        if (!is_known(ix->elems[i])) return;
        int64_t at = ix->elems[i].v < 0 ? ix->elems[i].v + x->n_elems : ix->elems[i].v;
        if (at < 0 || at >= x->n_elems) return;
        o->elems[i] = x->elems[at];
    }
    o->n_elems = ix->n_elems;
}

/* Unsqueeze's or Squeeze's axes: the input (opset 13+) or the attribute. */
static bool axes_of(const sd_ctx *c, const cinfer__node *n, int64_t *axes, int *count) {
    if (n->opset >= 13) {
        if (n->n_in < 2 || n->in[1] < 0) {
            *count = 0;
            return true;
        }
        return const_ints(c, n->in[1], axes, count);
    }
    size_t k = 0;
    const int64_t *a = cinfer__attr_ints(n, "axes", &k);
    if (k > CINFER_SDIMS_MAX_ELEMS) return false;
    for (size_t i = 0; i < k; i++) axes[i] = a[i];
    *count = (int)k;
    return true;
}

static void pass_contents(const cinfer__svalue *x, cinfer__svalue *o) {
    o->n_elems = x->n_elems;
    if (x->n_elems > 0) memcpy(o->elems, x->elems, sizeof(cinfer__sdim) * (size_t)x->n_elems);
}

static void rule_unsqueeze(const sd_ctx *c, const cinfer__node *n, const cinfer__svalue *x,
                           cinfer__svalue *o) {
    int64_t axes[CINFER_SDIMS_MAX_ELEMS];
    int na = 0;
    if (x->rank < 0 || !axes_of(c, n, axes, &na) || x->rank + na > CINFER_MAX_RANK) return;
    int rank = x->rank + na;
    bool one[CINFER_MAX_RANK] = {false};
    for (int i = 0; i < na; i++) {
        int a = norm_axis(axes[i], rank);
        if (a < 0 || a >= rank || one[a]) return;
        one[a] = true;
    }
    o->rank = rank;
    for (int d = 0, k = 0; d < rank; d++) o->dims[d] = one[d] ? known(1) : x->dims[k++];
    pass_contents(x, o);
}

static void rule_squeeze(const sd_ctx *c, const cinfer__node *n, const cinfer__svalue *x,
                         cinfer__svalue *o) {
    int64_t axes[CINFER_SDIMS_MAX_ELEMS];
    int na = 0;
    if (x->rank < 0 || !axes_of(c, n, axes, &na)) return;
    bool drop[CINFER_MAX_RANK] = {false};
    if (na == 0) { /* every size-1 dim: all must be known */
        for (int d = 0; d < x->rank; d++) {
            if (!is_known(x->dims[d])) return;
            drop[d] = x->dims[d].v == 1;
        }
    }
    for (int i = 0; i < na; i++) {
        int a = norm_axis(axes[i], x->rank);
        if (a < 0 || a >= x->rank) return;
        drop[a] = true;
    }
    o->rank = 0;
    for (int d = 0; d < x->rank; d++)
        if (!drop[d]) o->dims[o->rank++] = x->dims[d];
    pass_contents(x, o);
}

static void rule_concat(sd_ctx *c, const cinfer__node *n, cinfer__svalue *o) {
    const cinfer__svalue *first = NULL;
    int rank = -1;
    for (int k = 0; k < n->n_in; k++) {
        if (n->in[k] < 0) return;
        const cinfer__svalue *x = &c->v[n->in[k]];
        if (x->rank < 1 || (rank >= 0 && x->rank != rank)) return;
        rank = x->rank;
        if (!first) first = x;
    }
    if (!first) return;
    int axis = norm_axis(cinfer__attr_int(n, "axis", 0), rank);
    if (axis < 0 || axis >= rank) return;
    o->rank = rank;
    bool all_known = true;
    int64_t total = 0;
    for (int d = 0; d < rank; d++) {
        cinfer__sdim r = first->dims[d];
        for (int k = 0; k < n->n_in && d != axis; k++) /* all equal: any known one stands */
            if (is_known(c->v[n->in[k]].dims[d])) r = c->v[n->in[k]].dims[d];
        o->dims[d] = r;
    }
    int n_elems = 0;
    bool contents = rank == 1;
    for (int k = 0; k < n->n_in; k++) {
        const cinfer__svalue *x = &c->v[n->in[k]];
        if (is_known(x->dims[axis])) total += x->dims[axis].v;
        else all_known = false;
        if (x->n_elems < 0 || n_elems + x->n_elems > CINFER_SDIMS_MAX_ELEMS) contents = false;
        if (contents) {
            memcpy(o->elems + n_elems, x->elems, sizeof(cinfer__sdim) * (size_t)x->n_elems);
            n_elems += x->n_elems;
        }
    }
    o->dims[axis] = all_known ? known(total) : fresh(c);
    if (contents) o->n_elems = n_elems;
}

static void rule_reshape(sd_ctx *c, const cinfer__node *n, const cinfer__svalue *x,
                         const cinfer__svalue *shape, cinfer__svalue *o) {
    if (shape->n_elems < 0 || shape->n_elems > CINFER_MAX_RANK) return;
    bool allowzero = cinfer__attr_int(n, "allowzero", 0) != 0;
    int rank = shape->n_elems, infer_at = -1;
    o->rank = rank;
    for (int i = 0; i < rank; i++) {
        cinfer__sdim e = shape->elems[i];
        if (!is_known(e)) {
            /* A dim's value: 0 copies the input's dim i (allowzero 0), which is then this same
             * unknown only when the input's dim i is it. */
            bool copies_itself = x->rank > i && same(x->dims[i], e);
            o->dims[i] = allowzero || copies_itself ? e : fresh(c);
        } else if (e.v == 0 && !allowzero) {
            o->dims[i] = x->rank > i ? x->dims[i] : fresh(c);
        } else if (e.v == -1) {
            infer_at = i;
            o->dims[i] = fresh(c);
        } else {
            o->dims[i] = e.v >= 0 ? e : fresh(c);
        }
    }
    if (infer_at < 0 || x->rank < 0) return;
    int64_t numel = 1, rest = 1;
    for (int d = 0; d < x->rank; d++) {
        if (!is_known(x->dims[d])) return;
        numel *= x->dims[d].v;
    }
    for (int i = 0; i < rank; i++) {
        if (i == infer_at) continue;
        if (!is_known(o->dims[i])) return;
        rest *= o->dims[i].v;
    }
    if (rest > 0 && numel % rest == 0) o->dims[infer_at] = known(numel / rest);
}

static void rule_transpose(const cinfer__node *n, const cinfer__svalue *x, cinfer__svalue *o) {
    if (x->rank < 0) return;
    size_t k = 0;
    const int64_t *perm = cinfer__attr_ints(n, "perm", &k);
    if (perm && (int)k != x->rank) return;
    o->rank = x->rank;
    for (int d = 0; d < x->rank; d++) {
        int64_t p = perm ? perm[d] : x->rank - 1 - d;
        if (p < 0 || p >= x->rank) {
            o->rank = -1;
            return;
        }
        o->dims[d] = x->dims[p];
    }
}

/* ONNX Slice's length along one axis of extent `dim` (clamping as the spec does). */
static int64_t slice_len(int64_t dim, int64_t start, int64_t end, int64_t step) {
    if (step == 0) return -1;
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    if (step > 0) {
        start = start < 0 ? 0 : start > dim ? dim : start;
        end = end < 0 ? 0 : end > dim ? dim : end;
        return end > start ? (end - start + step - 1) / step : 0;
    }
    start = start < 0 ? -1 : start > dim - 1 ? dim - 1 : start;
    end = end < -1 ? -1 : end > dim - 1 ? dim - 1 : end;
    return start > end ? (start - end + (-step) - 1) / (-step) : 0;
}

/* Slice: the axes (given, or as many from 0 as there are starts) must be known; along them
 * the length is a number when the input's dim, start, end and step are, the input's own dim
 * for a [0, huge) step-1 slice, else a fresh unknown. The other dims are kept. */
static void rule_slice(sd_ctx *c, const cinfer__node *n, const cinfer__svalue *x,
                       cinfer__svalue *o) {
    if (x->rank < 0 || n->opset < 10 || n->n_in < 3 || n->in[1] < 0 || n->in[2] < 0) return;
    const cinfer__svalue *st = &c->v[n->in[1]], *en = &c->v[n->in[2]];
    const cinfer__svalue *ax = n->n_in > 3 && n->in[3] >= 0 ? &c->v[n->in[3]] : NULL;
    const cinfer__svalue *sp = n->n_in > 4 && n->in[4] >= 0 ? &c->v[n->in[4]] : NULL;
    int ns = st->n_elems;
    if (ns < 0 || en->n_elems != ns || (ax && ax->n_elems != ns) || (sp && sp->n_elems != ns))
        return;
    *o = *x;
    o->n_elems = -1;
    int64_t s0 = 0, e0 = 0, t0 = 1;
    for (int i = 0; i < ns; i++) {
        if (ax && !is_known(ax->elems[i])) {
            set_unknown(o);
            return;
        }
        int a = norm_axis(ax ? ax->elems[i].v : i, x->rank);
        if (a < 0 || a >= x->rank) {
            set_unknown(o);
            return;
        }
        bool numbers = is_known(st->elems[i]) && is_known(en->elems[i]) &&
                       (!sp || is_known(sp->elems[i]));
        int64_t s = st->elems[i].v, e = en->elems[i].v, t = sp ? sp->elems[i].v : 1;
        if (i == 0) s0 = s, e0 = e, t0 = t;
        if (numbers && is_known(x->dims[a])) {
            int64_t len = slice_len(x->dims[a].v, s, e, t);
            o->dims[a] = len >= 0 ? known(len) : fresh(c);
        } else if (!(numbers && s == 0 && t == 1 && e >= INT64_MAX / 2)) {
            o->dims[a] = fresh(c);
        }
    }
    /* contents of a tracked vector sliced along its only axis with known bounds */
    if (x->rank == 1 && x->n_elems >= 0 && ns == 1 && is_known(st->elems[0]) &&
        is_known(en->elems[0]) && (!sp || is_known(sp->elems[0])) && t0 == 1) {
        int64_t len = slice_len(x->n_elems, s0, e0, t0);
        int64_t s = s0 < 0 ? s0 + x->n_elems : s0;
        s = s < 0 ? 0 : s > x->n_elems ? x->n_elems : s;
        if (len >= 0) {
            o->n_elems = (int)len;
            for (int64_t i = 0; i < len; i++) o->elems[i] = x->elems[s + i];
        }
    }
}

static void rule_matmul(sd_ctx *c, const cinfer__svalue *a, const cinfer__svalue *b,
                        cinfer__svalue *o) {
    if (a->rank < 1 || b->rank < 1) return;
    if (a->rank == 1 && b->rank == 1) {
        o->rank = 0;
        return;
    }
    if (a->rank == 1) { /* [K] x [..., K, N] -> [..., N] */
        o->rank = b->rank - 1;
        for (int d = 0; d < b->rank - 2; d++) o->dims[d] = b->dims[d];
        o->dims[b->rank - 2] = b->dims[b->rank - 1];
        return;
    }
    if (b->rank == 1) { /* [..., M, K] x [K] -> [..., M] */
        o->rank = a->rank - 1;
        for (int d = 0; d < a->rank - 1; d++) o->dims[d] = a->dims[d];
        return;
    }
    cinfer__svalue ba = *a, bb = *b;
    ba.rank -= 2, bb.rank -= 2;
    const cinfer__svalue *both[2] = {&ba, &bb};
    broadcast_into(c, o, both, 2);
    o->dims[o->rank] = a->dims[a->rank - 2];
    o->dims[o->rank + 1] = b->dims[b->rank - 1];
    o->rank += 2;
}

static void rule_gemm(const cinfer__node *n, const cinfer__svalue *a, const cinfer__svalue *b,
                      cinfer__svalue *o) {
    if (a->rank != 2 || b->rank != 2) return;
    o->rank = 2;
    o->dims[0] = a->dims[cinfer__attr_int(n, "transA", 0) ? 1 : 0];
    o->dims[1] = b->dims[cinfer__attr_int(n, "transB", 0) ? 0 : 1];
}

static void rule_expand(sd_ctx *c, const cinfer__svalue *x, const cinfer__svalue *shape,
                        cinfer__svalue *o) {
    if (x->rank < 0 || shape->n_elems < 0 || shape->n_elems > CINFER_MAX_RANK) return;
    cinfer__svalue s;
    set_unknown(&s);
    s.rank = shape->n_elems;
    memcpy(s.dims, shape->elems, sizeof(cinfer__sdim) * (size_t)s.rank);
    const cinfer__svalue *both[2] = {x, &s};
    broadcast_into(c, o, both, 2);
}

/* Split: every output keeps the input's dims but along the axis, where it has its part: the
 * sizes given (the input from opset 13, the attribute before), else equal parts of a known
 * extent (the last one smaller, as the op divides), else unknowns. */
static void rule_split(sd_ctx *c, const cinfer__node *n, const cinfer__svalue *x) {
    if (x->rank < 1 || n->n_out > CINFER_SDIMS_MAX_ELEMS) return;
    int axis = norm_axis(cinfer__attr_int(n, "axis", 0), x->rank);
    if (axis < 0 || axis >= x->rank) return;
    int64_t sizes[CINFER_SDIMS_MAX_ELEMS];
    int ns = 0;
    bool have = false;
    if (n->opset >= 13 && n->n_in > 1 && n->in[1] >= 0) {
        have = const_ints(c, n->in[1], sizes, &ns) && ns == n->n_out;
    } else if (n->opset < 13) {
        size_t k = 0;
        const int64_t *a = cinfer__attr_ints(n, "split", &k);
        if (a && (int)k == n->n_out) {
            for (int i = 0; i < n->n_out; i++) sizes[i] = a[i];
            have = true;
        }
    }
    if (!have && is_known(x->dims[axis]) && !(n->opset >= 13 && n->n_in > 1 && n->in[1] >= 0)) {
        int64_t dim = x->dims[axis].v, parts = n->n_out, chunk = (dim + parts - 1) / parts;
        for (int i = 0; i < n->n_out; i++)
            sizes[i] = i < n->n_out - 1 ? chunk : dim - chunk * (parts - 1);
        have = true;
    }
    for (int o = 0; o < n->n_out; o++) {
        if (n->out[o] < 0) continue;
        cinfer__svalue *out = &c->v[n->out[o]];
        *out = *x;
        out->n_elems = -1;
        out->dims[axis] = have && sizes[o] >= 0 ? known(sizes[o]) : fresh(c);
    }
}

/* Reduce*: the reduced axes become 1 (keepdims, the default) or go; axes from the attribute
 * or, for ReduceSum from opset 13 and the others from 18, the second input; none given means
 * all (unless noop_with_empty_axes). */
static void rule_reduce(const sd_ctx *c, const cinfer__node *n, const cinfer__svalue *x,
                        cinfer__svalue *o) {
    if (x->rank < 0) return;
    bool input_axes = !strcmp(n->op_type, "ReduceSum") ? n->opset >= 13 : n->opset >= 18;
    int64_t axes[CINFER_SDIMS_MAX_ELEMS];
    int na = 0;
    if (input_axes) {
        if (n->n_in > 1 && n->in[1] >= 0 && !const_ints(c, n->in[1], axes, &na)) return;
    } else {
        size_t k = 0;
        const int64_t *a = cinfer__attr_ints(n, "axes", &k);
        if (k > CINFER_SDIMS_MAX_ELEMS) return;
        for (size_t i = 0; i < k; i++) axes[i] = a[i];
        na = (int)k;
    }
    bool reduced[CINFER_MAX_RANK] = {false};
    if (na == 0 && cinfer__attr_int(n, "noop_with_empty_axes", 0)) {
        *o = *x;
        o->n_elems = -1;
        return;
    }
    for (int d = 0; d < x->rank; d++) reduced[d] = na == 0;
    for (int i = 0; i < na; i++) {
        int a = norm_axis(axes[i], x->rank);
        if (a < 0 || a >= x->rank) return;
        reduced[a] = true;
    }
    bool keep = cinfer__attr_int(n, "keepdims", 1) != 0;
    o->rank = 0;
    for (int d = 0; d < x->rank; d++) {
        if (!reduced[d]) o->dims[o->rank++] = x->dims[d];
        else if (keep) o->dims[o->rank++] = known(1);
    }
}

/* The dtype of tracked contents for the ops that keep or make integers. */
static cinfer_dtype contents_type(const sd_ctx *c, const cinfer__node *n) {
    const char *op = n->op_type;
    if (!strcmp(op, "Shape") || !strcmp(op, "Size")) return CINFER_DTYPE_INT64;
    if (!strcmp(op, "Cast")) {
        cinfer_dtype to = (cinfer_dtype)cinfer__attr_int(n, "to", 0);
        return int_type(to) && n->in[0] >= 0 && c->dtype[n->in[0]] ? to : 0;
    }
    return n->n_in > 0 && n->in[0] >= 0 ? c->dtype[n->in[0]] : 0;
}

static void infer_node(sd_ctx *c, const cinfer__node *n) {
    for (int o = 0; o < n->n_out; o++)
        if (n->out[o] >= 0) set_unknown(&c->v[n->out[o]]);
    if (n->n_out < 1 || n->out[0] < 0 || n->domain[0]) return;
    for (int k = 0; k < n->n_in; k++)
        if (n->in[k] >= (int)c->g->n_values) return;
    cinfer__svalue *o = &c->v[n->out[0]];
    static const cinfer__svalue none = {.rank = -1, .n_elems = -1};
    const cinfer__svalue *x = n->n_in > 0 && n->in[0] >= 0 ? &c->v[n->in[0]] : &none;
    const cinfer__svalue *y = n->n_in > 1 && n->in[1] >= 0 ? &c->v[n->in[1]] : &none;
    const char *op = n->op_type;
    if (!strcmp(op, "Split")) { /* several outputs, no tracked contents */
        rule_split(c, n, x);
        for (int k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0) c->dtype[n->out[k]] = 0;
        return;
    }
    if (op_in(op, same_shape_ops)) {
        o->rank = x->rank;
        memcpy(o->dims, x->dims, sizeof o->dims);
        if (!strcmp(op, "Identity") || !strcmp(op, "Cast")) pass_contents(x, o);
    } else if (op_in(op, broadcast_ops)) {
        const cinfer__svalue *in[SD_MAX_IN];
        if (n->n_in > SD_MAX_IN) return;
        for (int k = 0; k < n->n_in; k++) {
            if (n->in[k] < 0 || c->v[n->in[k]].rank < 0) return;
            in[k] = &c->v[n->in[k]];
        }
        broadcast_into(c, o, in, n->n_in);
    } else if (!strcmp(op, "Shape")) {
        rule_shape(n, x, o);
    } else if (!strcmp(op, "Size")) {
        o->rank = 0;
        int64_t numel = 1;
        for (int d = 0; x->rank >= 0 && d < x->rank && numel >= 0; d++)
            numel = is_known(x->dims[d]) ? numel * x->dims[d].v : -1;
        if (x->rank >= 0 && numel >= 0) {
            o->n_elems = 1;
            o->elems[0] = known(numel);
        }
    } else if (!strcmp(op, "Gather")) {
        rule_gather(n, x, y, o);
    } else if (!strcmp(op, "Unsqueeze")) {
        rule_unsqueeze(c, n, x, o);
    } else if (!strcmp(op, "Squeeze")) {
        rule_squeeze(c, n, x, o);
    } else if (!strcmp(op, "Concat")) {
        rule_concat(c, n, o);
    } else if (!strcmp(op, "Reshape")) {
        rule_reshape(c, n, x, y, o);
    } else if (!strcmp(op, "Transpose")) {
        rule_transpose(n, x, o);
    } else if (!strcmp(op, "Slice")) {
        rule_slice(c, n, x, o);
    } else if (!strcmp(op, "MatMul")) {
        rule_matmul(c, x, y, o);
    } else if (!strcmp(op, "Gemm")) {
        rule_gemm(n, x, y, o);
    } else if (!strncmp(op, "Reduce", 6)) {
        rule_reduce(c, n, x, o);
    } else if (!strcmp(op, "Expand")) {
        rule_expand(c, x, y, o);
    }
    c->dtype[n->out[0]] = o->n_elems >= 0 ? contents_type(c, n) : 0;
    if (!c->dtype[n->out[0]]) o->n_elems = -1;
}

/* ---- the pass --------------------------------------------------------------------------- */

static cinfer_status seed_inputs(sd_ctx *c, cinfer__err *err) {
    const cinfer__graph *g = c->g;
    for (int v = 0; v < g->n_values; v++) set_unknown(&c->v[v]);
    for (int v = 0; v < g->n_values; v++)
        if (g->values[v].constant) from_constant(c, v, g->values[v].constant);
    for (int i = 0; i < g->n_inputs; i++) {
        const cinfer__value *in = &g->values[g->inputs[i]];
        cinfer__svalue *s = &c->v[g->inputs[i]];
        if (in->rank < 0 || in->constant) continue;
        s->rank = in->rank;
        for (int d = 0; d < in->rank; d++) {
            if (in->dims[d] >= 0) {
                s->dims[d] = known(in->dims[d]);
                continue;
            }
            const char *name = in->dim_names[d] && in->dim_names[d][0] ? in->dim_names[d] : NULL;
            s->dims[d] = name ? named(c, name) : fresh(c);
            int sym = s->dims[d].sym;
            if (name && sym > c->n_sym_names) { /* a new name: remember it at index sym - 1 */
                if (sym > c->cap_sym_names) {
                    int cap = c->cap_sym_names ? 2 * c->cap_sym_names : 16;
                    while (cap < sym) cap *= 2;
                    const char **p = cinfer__realloc(c->sym_names, (size_t)cap * sizeof *p);
                    if (!p) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
                    c->sym_names = p;
                    c->cap_sym_names = cap;
                }
                while (c->n_sym_names < sym - 1) c->sym_names[c->n_sym_names++] = NULL;
                c->sym_names[c->n_sym_names++] = name;
            }
        }
    }
    return CINFER_OK;
}

/* The value's contents as a new constant tensor when all are known numbers of an integer
 * type and its dims are known; NULL otherwise (or out of memory: folding is optional). */
static cinfer_tensor *contents_tensor(const sd_ctx *c, int v) {
    const cinfer__svalue *s = &c->v[v];
    cinfer_dtype t = c->dtype[v];
    if (s->n_elems < 0 || !int_type(t) || s->rank < 0) return NULL;
    int64_t numel = 1;
    for (int d = 0; d < s->rank; d++) {
        if (!is_known(s->dims[d])) return NULL;
        numel *= s->dims[d].v;
    }
    if (numel != s->n_elems) return NULL;
    for (int i = 0; i < s->n_elems; i++)
        if (!is_known(s->elems[i])) return NULL;
    cinfer_tensor *out = cinfer__calloc(1, sizeof *out);
    size_t esize = t == CINFER_DTYPE_INT64 ? 8 : 4;
    void *data = out ? cinfer__aligned_alloc(esize * (size_t)(numel ? numel : 1)) : NULL;
    if (!data) {
        cinfer__free(out);
        return NULL;
    }
    out->dtype = t;
    out->rank = s->rank;
    for (int d = 0; d < s->rank; d++) out->dims[d] = s->dims[d].v;
    for (int i = 0; i < s->n_elems; i++) {
        if (t == CINFER_DTYPE_INT64) ((int64_t *)data)[i] = s->elems[i].v;
        else ((int32_t *)data)[i] = (int32_t)s->elems[i].v;
    }
    out->data = data;
    return out;
}

cinfer_status cinfer__pass_static_dims(cinfer__graph *g, int *n_folded, cinfer__err *err) {
    *n_folded = 0;
    cinfer__static_dims_free(g->sdims);
    g->sdims = NULL;
    sd_ctx c = {.g = g};
    c.v = cinfer__calloc((size_t)g->n_values + 1, sizeof *c.v);
    c.dtype = cinfer__calloc((size_t)g->n_values + 1, sizeof *c.dtype);
    cinfer__static_dims *sd = cinfer__calloc(1, sizeof *sd);
    cinfer_status st = c.v && c.dtype && sd ? CINFER_OK
                                            : cinfer__errorf(err, CINFER_OUT_OF_MEMORY,
                                                             "out of memory inferring shapes");
    if (st == CINFER_OK) st = seed_inputs(&c, err);
    for (int i = 0; st == CINFER_OK && i < g->n_nodes; i++) {
        cinfer__node *n = &g->nodes[i];
        if (n->dead) continue;
        infer_node(&c, n);
        /* fold now, so that the ops after it see a constant */
        if (n->n_out != 1 || n->out[0] < 0) continue;
        cinfer__value *out = &g->values[n->out[0]];
        if (out->constant || out->is_output) continue;
        cinfer_tensor *t = contents_tensor(&c, n->out[0]);
        if (!t) continue;
        cinfer__value_set_constant(out, t);
        out->producer = -1;
        n->dead = true;
        (*n_folded)++;
    }
    if (st == CINFER_OK) {
        sd->v = c.v;
        sd->n_values = g->n_values;
        g->sdims = sd;
        c.v = NULL;
        sd = NULL;
    }
    cinfer__free(sd);
    cinfer__free(c.v);
    cinfer__free(c.dtype);
    cinfer__free(c.sym_names);
    return st;
}

const cinfer__svalue *cinfer__sdims_of(const cinfer__graph *g, int v) {
    if (!g->sdims || v < 0 || v >= g->sdims->n_values) return NULL;
    return &g->sdims->v[v];
}

static const cinfer__sdim *dim_at(const cinfer__graph *g, int v, int a) {
    const cinfer__svalue *s = cinfer__sdims_of(g, v);
    if (!s || s->rank < 0) return NULL;
    if (a < 0) a += s->rank;
    return a >= 0 && a < s->rank ? &s->dims[a] : NULL;
}

bool cinfer__sdims_same(const cinfer__graph *g, int va, int a, int vb, int b) {
    const cinfer__sdim *x = dim_at(g, va, a), *y = dim_at(g, vb, b);
    return x && y && same(*x, *y);
}

int64_t cinfer__sdims_known(const cinfer__graph *g, int v, int a) {
    const cinfer__sdim *x = dim_at(g, v, a);
    return x && is_known(*x) ? x->v : -1;
}

void cinfer__static_dims_free(cinfer__static_dims *sd) {
    if (!sd) return;
    cinfer__free(sd->v);
    cinfer__free(sd);
}
