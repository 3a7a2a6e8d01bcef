/* CUDA placement: the model's weights on the device at load, and for each plan which steps run
 * on the GPU, which on the CPU, and the copies between them (docs/cuda-backend.md). */
#include <string.h>

#include "core/alloc.h"
#include "runtime/runtime.h"

#define DEV_ALIGN 256

static size_t align_up(size_t n) { return (n + DEV_ALIGN - 1) / DEV_ALIGN * DEV_ALIGN; }

/* Constants that a live node reads: the ones worth a device copy. */
static bool *live_constants(const cinfer__graph *g) {
    bool *used = cinfer__calloc((size_t)g->n_values + 1, sizeof *used);
    if (!used) return NULL;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; !g->nodes[i].dead && k < g->nodes[i].n_in; k++) {
            int v = g->nodes[i].in[k];
            if (v >= 0 && g->values[v].constant) used[v] = true;
        }
    return used;
}

cinfer_status cinfer__cuda_model_load(cinfer_model *m, cinfer__err *err) {
    const cinfer_cuda_api *api = m->rt->cuda;
    const cinfer__graph *g = m->g;
    char why[CINFER_CUDA_MSG_LEN] = "";
    bool *used = live_constants(g);
    m->dev_const = cinfer__calloc((size_t)g->n_values + 1, sizeof *m->dev_const);
    if (!used || !m->dev_const) {
        cinfer__free(used);
        return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    }
    size_t total = 0;
    for (int v = 0; v < g->n_values; v++)
        if (used[v]) total += align_up(cinfer__tensor_bytes(g->values[v].constant));
    cinfer_status st = api->device_open(m->rt->device_index, total, &m->cuda_dev, why);
    for (int v = 0; st == CINFER_OK && v < g->n_values; v++) {
        const cinfer_tensor *c = g->values[v].constant;
        size_t bytes = used[v] ? cinfer__tensor_bytes(c) : 0;
        if (bytes) st = api->weights_upload(m->cuda_dev, c->data, bytes, &m->dev_const[v], why);
    }
    cinfer__free(used);
    if (st != CINFER_OK)
        return cinfer__errorf(err, st, "uploading %zu bytes of weights to CUDA device %d: %s",
                              total, m->rt->device_index, why);
    cinfer__log(m->rt, CINFER_LOG_INFO, "%s: %zu bytes of weights on CUDA device %d", m->path,
                total, m->rt->device_index);
    return CINFER_OK;
}

void cinfer__cuda_model_free(cinfer_model *m) {
    cinfer__gpu_ctx_free_all(m); /* after the plans, whose bindings they held */
    if (m->rt && m->rt->cuda) m->rt->cuda->device_close(m->cuda_dev);
    m->cuda_dev = NULL;
    cinfer__free(m->dev_const);
    m->dev_const = NULL;
}

/* Asks the module whether step st runs on the GPU at st->precision, what it computes in and
 * whether it takes 16-bit activations. */
static cinfer_status choose_device(cinfer_model *m, cinfer__plan *p, cinfer__plan_step *st,
                                   cinfer__err *err) {
    cinfer__module_view mv;
    cinfer__module_node(m, p, st, &mv);
    char why[CINFER_CUDA_MSG_LEN] = "";
    st->gpu = m->rt->cuda->supports(&mv.node, why) == CINFER_OK;
    if (st->gpu) st->runs_in = m->rt->cuda->runs_in(&mv.node);
    st->half_io = st->gpu && m->rt->cuda->half_io && m->rt->cuda->half_io(&mv.node);
    st->layout_io = st->half_io && m->rt->cuda->layout_io ? m->rt->cuda->layout_io(&mv.node)
                                                          : CINFER_CUDA_LAYOUT_FIXED;
    if (!st->gpu && !(st->cpu_reason = cinfer__strdup(why[0] ? why : "not supported")))
        return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    return CINFER_OK;
}

/* Asks the module about every step not already forced to the CPU. */
static cinfer_status choose_devices(cinfer_model *m, cinfer__plan *p, cinfer__err *err) {
    for (int s = 0; s < p->n_steps; s++) {
        cinfer__plan_step *st = &p->steps[s];
        if (st->cpu_reason) continue;
        st->precision = cinfer__node_precision(m, st->node);
        CINFER_TRY(choose_device(m, p, st, err));
    }
    return CINFER_OK;
}

/* A GPU step whose prepare found no algorithm in reduced precision (a cuDNN shape without a
 * 16-bit algorithm, say) tries fp32 on the GPU before the CPU: true when it was demoted. */
static bool demote_to_fp32(cinfer_model *m, cinfer__plan *p, cinfer__plan_step *st,
                           const char *why, cinfer__err *err, cinfer_status *status) {
    *status = CINFER_OK;
    if (st->precision == CINFER_PRECISION_FP32) return false;
    cinfer_precision was = st->precision;
    st->precision = CINFER_PRECISION_FP32;
    /* Asked on float storage, as at the start: the next attempt assigns 16-bit storage anew. */
    memset(p->dev_half, 0, (size_t)p->n_values * sizeof *p->dev_half);
    memset(p->dev_layout, CINFER_CUDA_NCHW, (size_t)p->n_values);
    *status = choose_device(m, p, st, err);
    cinfer__log(m->rt, CINFER_LOG_INFO, "%s: node '%s' (%s) has no %s path here (%s); it runs "
                "in fp32 %s", m->path, st->node->name, st->node->op_type,
                cinfer_precision_name(was), why, st->gpu ? "on the GPU" : "on the CPU");
    return true;
}

static cinfer_status add_xfer(cinfer__plan *p, int *cap, int v, bool to_device,
                              cinfer__err *err) {
    if (p->n_xfers == *cap) {
        int c = *cap ? *cap * 2 : 16;
        cinfer__xfer *x = cinfer__realloc(p->xfers, (size_t)c * sizeof *x);
        if (!x) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
        p->xfers = x;
        *cap = c;
    }
    p->xfers[p->n_xfers++] = (cinfer__xfer){v, to_device};
    return CINFER_OK;
}

static cinfer_dtype half_type(cinfer_precision p) {
    return p == CINFER_PRECISION_FP16   ? CINFER_DTYPE_FLOAT16
           : p == CINFER_PRECISION_BF16 ? CINFER_DTYPE_BFLOAT16
                                        : 0;
}

/* Marks the root of every value a step reads or writes whose bytes must stay float: any
 * step that is not a half_io GPU step, or one of another 16-bit type. */
static void keep_float(const cinfer__plan *p, const cinfer__plan_step *st, cinfer_dtype want,
                       cinfer_dtype *cand) {
    const cinfer__node *n = st->node;
    bool half = st->gpu && st->half_io && half_type(st->precision) == want;
    for (int k = 0; !half && k < n->n_in; k++)
        if (n->in[k] >= 0) cand[cinfer__alias_root(p->vals, n->in[k])] = 0;
    for (int k = 0; !half && k < n->n_out; k++)
        if (n->out[k] >= 0) cand[cinfer__alias_root(p->vals, n->out[k])] = 0;
}

/* Half activations (docs/cuda-backend.md): at FP16/BF16 precision, an activation (a float
 * arena value) is stored in 16 bits on the device when every step that reads or writes it,
 * through any view, is a half_io GPU step, and it never leaves the device (no copy, not a
 * model output). Elsewhere it stays float and the module converts at the half steps' edges.
 * Offsets stay those of the float plan: a 16-bit value uses half of its slot. */
static void assign_half(const cinfer_model *m, cinfer__plan *p) {
    cinfer_dtype want = half_type(m->precision);
    for (int v = 0; v < p->n_values; v++) {
        const cinfer__plan_value *pv = &p->vals[v];
        p->dev_half[v] = want && pv->store == CINFER__STORE_ARENA && pv->alias_of < 0 &&
                                 pv->t.dtype == CINFER_DTYPE_FLOAT
                             ? want
                             : 0;
    }
    if (!want) return;
    for (int s = 0; s < p->n_steps; s++) keep_float(p, &p->steps[s], want, p->dev_half);
    for (int x = 0; x < p->n_xfers; x++) p->dev_half[p->xfers[x].value] = 0;
    for (int o = 0; o < m->g->n_outputs; o++)
        p->dev_half[cinfer__alias_root(p->vals, m->g->outputs[o])] = 0;
    /* A value no step produces (never written) has no half producer. */
    for (int v = 0; v < p->n_values; v++)
        if (p->dev_half[v] && m->g->values[v].producer < 0) p->dev_half[v] = 0;
}

/* A 4-D value whose two layouts differ (C > 1 and H*W > 1): [N, C, 1, 1] and [N, 1, H, W]
 * have the same bytes either way. Keep in step with the module's cuda_has_layout. */
static bool has_layout(const cinfer_tensor *t) {
    return t->rank == 4 && t->dims[1] > 1 && t->dims[2] * t->dims[3] > 1;
}

static int find_set(int *up, int v) {
    while (up[v] != v) v = up[v] = up[up[v]];
    return v;
}

/* assign_layout's flags per value (one byte each). */
enum { LAY_OK = 1, LAY_NEAR = 2, LAY_BAD = 4, LAY_HIT = 8 };

/* Marks what one step says about the layouts of its 4-D slots: a FIXED step (or a CPU step)
 * pins its values to NCHW (no LAY_OK), an EITHER step ties them together (one layout for all
 * of them, so it never converts), an NHWC step makes its values worth storing NHWC (LAY_NEAR). */
static void layout_step(const cinfer__plan *p, const cinfer__plan_step *st, int *up,
                        unsigned char *f) {
    const cinfer__node *n = st->node;
    int lay = st->gpu && st->half_io ? st->layout_io : CINFER_CUDA_LAYOUT_FIXED;
    int first = -1;
    for (int k = 0; k < n->n_in + n->n_out; k++) {
        int v = k < n->n_in ? n->in[k] : n->out[k - n->n_in];
        if (v < 0) continue;
        int r = cinfer__alias_root(p->vals, v);
        /* A 4-D view of a value of another shape counts too: its root (viewed, so never a
         * candidate) then keeps the step's other values NCHW. */
        if (!has_layout(&p->vals[v].t) && !has_layout(&p->vals[r].t)) continue;
        if (lay == CINFER_CUDA_LAYOUT_FIXED) f[r] &= (unsigned char)~LAY_OK;
        if (lay == CINFER_CUDA_LAYOUT_NHWC) f[r] |= LAY_NEAR;
        if (lay != CINFER_CUDA_LAYOUT_EITHER) continue;
        if (first < 0) first = r;
        else up[find_set(up, r)] = find_set(up, first);
    }
}

/* Channels last (docs/cuda-backend.md): a 4-D 16-bit activation is stored NHWC when every step
 * touching it takes NHWC (EITHER or NHWC steps), it has no views (a Reshape of NHWC bytes would
 * reorder the elements), and the values EITHER steps tie it to qualify too and, together,
 * touch an NHWC step (a convolution): between convolutions the layout then never changes, and
 * the NHWC steps convert at the region's edges. */
static cinfer_status assign_layout(const cinfer_model *m, cinfer__plan *p, cinfer__err *err) {
    int n = p->n_values;
    memset(p->dev_layout, CINFER_CUDA_NCHW, (size_t)n);
    if (!m->channels_last || !half_type(m->precision)) return CINFER_OK;
    int *up = cinfer__calloc((size_t)n + 1, sizeof *up);
    unsigned char *f = cinfer__calloc((size_t)n + 1, 1);
    if (!up || !f) {
        cinfer__free(up);
        cinfer__free(f);
        return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    }
    for (int v = 0; v < n; v++) {
        up[v] = v;
        f[v] = p->dev_half[v] && has_layout(&p->vals[v].t) ? LAY_OK : 0;
    }
    for (int v = 0; v < n; v++)
        if (p->vals[v].alias_of >= 0) f[cinfer__alias_root(p->vals, v)] &= (unsigned char)~LAY_OK;
    for (int s = 0; s < p->n_steps; s++) layout_step(p, &p->steps[s], up, f);
    /* Per component (at its representative): some member is not OK, some touches NHWC. */
    for (int v = 0; v < n; v++) {
        int r = find_set(up, v);
        if (!(f[v] & LAY_OK)) f[r] |= LAY_BAD;
        if (f[v] & LAY_NEAR) f[r] |= LAY_HIT;
    }
    for (int v = 0; v < n; v++) {
        int r = find_set(up, v);
        if ((f[v] & LAY_OK) && !(f[r] & LAY_BAD) && (f[r] & LAY_HIT))
            p->dev_layout[v] = CINFER_CUDA_NHWC;
    }
    cinfer__free(up);
    cinfer__free(f);
    return CINFER_OK;
}

/* Follows where each value's current bytes are through the steps: a GPU step needs its
 * inputs on the device, a CPU step on the host; a step's outputs exist only where it ran. */
static cinfer_status plan_copies(cinfer__plan *p, cinfer__err *err) {
    int cap = 0;
    p->n_xfers = p->n_gpu_steps = 0;
    for (int v = 0; v < p->n_values; v++) {
        const cinfer__plan_value *pv = &p->vals[v];
        p->loc[v] = pv->store == CINFER__STORE_CONST   ? CINFER__ON_HOST | CINFER__ON_DEVICE
                    : pv->store == CINFER__STORE_INPUT ? CINFER__ON_HOST
                                                       : 0;
    }
    for (int s = 0; s < p->n_steps; s++) {
        cinfer__plan_step *st = &p->steps[s];
        const cinfer__node *n = st->node;
        unsigned char need = st->gpu ? CINFER__ON_DEVICE : CINFER__ON_HOST;
        st->xfer_first = p->n_xfers;
        for (int k = 0; k < n->n_in; k++) {
            if (n->in[k] < 0) continue;
            int r = cinfer__alias_root(p->vals, n->in[k]);
            if (p->loc[r] & need) continue;
            CINFER_TRY(add_xfer(p, &cap, r, st->gpu, err));
            p->loc[r] |= need;
        }
        st->n_xfer = p->n_xfers - st->xfer_first;
        for (int o = 0; o < n->n_out; o++)
            if (n->out[o] >= 0) p->loc[n->out[o]] = need;
        p->n_gpu_steps += st->gpu;
    }
    return CINFER_OK;
}

/* Device bytes past the arena: every input a GPU step reads and every plan-folded constant
 * (graph constants are in the model's weights block). */
static cinfer_status plan_device_region(cinfer__plan *p, cinfer__err *err) {
    /* Folded constants a GPU step reads (through any view): the others need no device copy. */
    bool *gpu_read = cinfer__calloc((size_t)p->n_values + 1, sizeof *gpu_read);
    if (!gpu_read) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    for (int s = 0; s < p->n_steps; s++)
        for (int k = 0; p->steps[s].gpu && k < p->steps[s].node->n_in; k++)
            if (p->steps[s].node->in[k] >= 0)
                gpu_read[cinfer__alias_root(p->vals, p->steps[s].node->in[k])] = true;
    size_t at = align_up(p->arena_bytes), cat = 0;
    for (int v = 0; v < p->n_values; v++) {
        const cinfer__plan_value *pv = &p->vals[v];
        size_t bytes = align_up(cinfer__tensor_bytes(&pv->t));
        p->dev_off[v] = -1;
        if (pv->alias_of >= 0) continue;
        if (pv->store == CINFER__STORE_INPUT && (p->loc[v] & CINFER__ON_DEVICE)) {
            p->dev_off[v] = (int64_t)(at - align_up(p->arena_bytes));
            at += bytes;
        } else if (pv->store == CINFER__STORE_CONST && pv->folded && gpu_read[v]) {
            p->dev_off[v] = (int64_t)cat; /* in the binding's own block, not the arena */
            cat += bytes;
        }
    }
    cinfer__free(gpu_read);
    p->dev_bytes = at;
    p->const_bytes = cat;
    return CINFER_OK;
}

/* The CPU kernels' prepare for the steps that stayed on the CPU (plan_node skipped it). */
static cinfer_status prepare_cpu_steps(cinfer_model *m, cinfer__plan *p, cinfer__err *err) {
    for (int s = 0; s < p->n_steps; s++) {
        cinfer__plan_step *st = &p->steps[s];
        const cinfer__node *n = st->node;
        if (st->gpu || !st->kernel->prepare || st->state) continue;
        cinfer__cpu_ctx c = {.node = n, .n_in = n->n_in, .n_out = n->n_out,
                             .pool = m->rt->pool, .err = err};
        for (int k = 0; k < n->n_in; k++) c.in[k] = n->in[k] >= 0 ? &p->vals[n->in[k]].t : NULL;
        for (int k = 0; k < n->n_out; k++)
            c.out[k] = n->out[k] >= 0 ? &p->vals[n->out[k]].t : NULL;
        cinfer_status rc = st->kernel->prepare(&c, &st->state);
        if (rc != CINFER_OK) {
            cinfer__err_prefix(err, "node '%s' (%s)", n->name, n->op_type);
            return rc;
        }
    }
    return CINFER_OK;
}

cinfer_status cinfer__place(cinfer_model *m, cinfer__plan *p, cinfer__err *err) {
    p->cuda = m->rt->cuda;
    p->loc = cinfer__calloc((size_t)p->n_values + 1, 1);
    p->dev_off = cinfer__calloc((size_t)p->n_values + 1, sizeof *p->dev_off);
    p->dev_half = cinfer__calloc((size_t)p->n_values + 1, sizeof *p->dev_half);
    p->dev_layout = cinfer__calloc((size_t)p->n_values + 1, 1);
    if (!p->loc || !p->dev_off || !p->dev_half || !p->dev_layout)
        return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    CINFER_TRY(choose_devices(m, p, err));
    /* The first context prepares every GPU step; a step whose prepare finds no algorithm
     * moves to the CPU and the copies are planned again. The memory plan does not depend on
     * placement, so it stands. */
    /* Each step can fail twice: in reduced precision, then in fp32. */
    for (int attempt = 0; attempt <= 2 * p->n_steps; attempt++) {
        CINFER_TRY(plan_copies(p, err));
        CINFER_TRY(plan_device_region(p, err));
        assign_half(m, p);
        CINFER_TRY(assign_layout(m, p, err));
        cinfer__gpu_ctx *g = NULL;
        cinfer__context *c = NULL;
        cinfer__err cerr = {{0}};
        int bad = -1;
        /* On a scheduler instance's thread, its own context (where the plan will run); else
         * one of the pool's. */
        cinfer__gpu_ctx *held = cinfer__gpu_ctx_held(m);
        g = held;
        cinfer_status st = held ? CINFER_OK : cinfer__gpu_ctx_take(m, &g, &cerr);
        /* Prepared only: the arenas grow when the plan first runs on this context. */
        if (st == CINFER_OK) st = cinfer__gpu_prepare(m, p, g, &c, &bad, &cerr);
        if (!held) cinfer__gpu_ctx_give(m, g); /* the binding stays with it for the runs */
        if (st == CINFER_OK) return prepare_cpu_steps(m, p, err);
        /* Shapes the libraries refuse are a placement question too; device errors are not. */
        if ((st != CINFER_UNSUPPORTED && st != CINFER_INVALID_ARGUMENT) || bad < 0) {
            *err = cerr;
            return st;
        }
        cinfer_status dst;
        if (demote_to_fp32(m, p, &p->steps[bad], cerr.msg, err, &dst)) {
            if (dst != CINFER_OK) return dst;
            continue;
        }
        p->steps[bad].gpu = false;
        p->steps[bad].cpu_reason = cinfer__strdup(cerr.msg);
        if (!p->steps[bad].cpu_reason)
            return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    }
    return cinfer__errorf(err, CINFER_INTERNAL, "CUDA placement did not settle");
}
