/* CPU kernel of the internal Attention op (src/ops/attention.c): per batch entry (e.g. one
 * head of one sequence), scores = Q K on the packed sgemm, then scale + mask + softmax row by
 * row while the scores are in cache, then P V. The [Sq, Skv] scores never leave the thread's
 * scratch; batch entries run in parallel, one per thread at a time. */
#include <stdatomic.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/gemm.h"
#include "ops/attention.h"

typedef struct at_run {
    cinfer__attention_dims a;
    const float *q, *k, *v, *mask;
    float *y;
    float scale;
    /* Per batch dim: element strides of each operand's matrix (0 where broadcast). */
    int64_t sq_st[CINFER_MAX_RANK], sk_st[CINFER_MAX_RANK], sv_st[CINFER_MAX_RANK],
        sm_st[CINFER_MAX_RANK], sy_st[CINFER_MAX_RANK];
    /* Within a matrix: a query row of Q, K along the head dim and along the keys, a key row of
     * V, a query row of Y (dense: d, skv and 1, dv, dv; packed heads: H*D, 1 and H*D, ...). */
    int64_t q_rs, k_rs, k_cs, v_rs, y_rs;
    int64_t m_row, m_col;  /* the mask's strides along the scores' rows and columns */
    int64_t pa, pb;        /* floats of one slot's packed A and packed B areas */
    float *scratch;
    atomic_llong next;
} at_run;

static int64_t round16(int64_t n) { return (n + 15) / 16 * 16; }

/* Batch strides of t (its leading dims right-aligned to the batch shape), matrices of `mat`
 * elements. */
static void batch_strides(const cinfer_tensor *t, int lead, const cinfer__attention_dims *a,
                          int64_t mat, int64_t *st) {
    int64_t s = mat;
    for (int i = a->batch_rank - 1; i >= 0; i--) {
        int ti = i - (a->batch_rank - lead);
        int64_t d = ti >= 0 ? t->dims[ti] : 1;
        st[i] = d == 1 ? 0 : s;
        s *= d;
    }
}

static int64_t slot_floats(const cinfer__attention_dims *a, int64_t *pa, int64_t *pb) {
    int64_t qa = cinfer__pack_a_floats(a->sq, a->d), sa = cinfer__pack_a_floats(a->sq, a->skv);
    int64_t kb = cinfer__pack_b_floats(a->d, a->skv), vb = cinfer__pack_b_floats(a->skv, a->dv);
    *pa = round16(qa > sa ? qa : sa);
    *pb = round16(kb > vb ? kb : vb);
    return *pa + *pb + round16(a->sq * a->skv);
}

static void one_entry(at_run *r, int64_t bi, float *scr) {
    const cinfer__attention_dims *a = &r->a;
    int64_t oq = 0, ok = 0, ov = 0, om = 0, oy = 0;
    for (int i = a->batch_rank - 1; i >= 0; i--) {
        int64_t idx = bi % a->batch[i];
        bi /= a->batch[i];
        oq += idx * r->sq_st[i];
        ok += idx * r->sk_st[i];
        ov += idx * r->sv_st[i];
        om += idx * r->sm_st[i];
        oy += idx * r->sy_st[i];
    }
    float *y = r->y + oy;
    if (a->skv == 0) { /* no keys: a sum over nothing (and no softmax of an empty row) */
        for (int64_t i = 0; i < a->sq; i++)
            memset(y + i * r->y_rs, 0, sizeof(float) * (size_t)a->dv);
        return;
    }
    float *pa = scr, *pb = scr + r->pa, *s = pb + r->pb;
    /* scores[Sq, Skv] = Q K */
    cinfer__pack_a(r->q + oq, r->q_rs, 1, a->sq, a->d, pa, 0, INT64_MAX / 2);
    cinfer__pack_b(r->k + ok, r->k_rs, r->k_cs, a->d, a->skv, pb, 0, INT64_MAX / 2);
    cinfer__gemm_args g = {.m = a->sq, .n = a->skv, .k = a->d, .batch = 1, .a = pa, .b = pb,
                           .c = s, .ldc = a->skv};
    cinfer__gemm_packed(NULL, &g);
    /* P = softmax(scale * scores + mask), row by row */
    for (int64_t i = 0; i < a->sq; i++) {
        float *row = s + i * a->skv;
        const float *m = r->mask ? r->mask + om + i * r->m_row : NULL;
        if (m)
            for (int64_t j = 0; j < a->skv; j++) row[j] = row[j] * r->scale + m[j * r->m_col];
        else if (r->scale != 1.0f)
            for (int64_t j = 0; j < a->skv; j++) row[j] *= r->scale;
        cinfer__softmax_row_f32(row, row, a->skv);
    }
    /* Y[Sq, Dv] = P V */
    cinfer__pack_a(s, a->skv, 1, a->sq, a->skv, pa, 0, INT64_MAX / 2);
    cinfer__pack_b(r->v + ov, r->v_rs, 1, a->skv, a->dv, pb, 0, INT64_MAX / 2);
    g = (cinfer__gemm_args){.m = a->sq, .n = a->dv, .k = a->skv, .batch = 1, .a = pa, .b = pb,
                            .c = y, .ldc = r->y_rs};
    cinfer__gemm_packed(NULL, &g);
}

/* Slot s of the pool claims batch entries one at a time, in its own part of scratch. */
static void run_slots(void *arg, int64_t s0, int64_t s1) {
    at_run *r = arg;
    int64_t per = r->pa + r->pb + round16(r->a.sq * r->a.skv);
    for (int64_t s = s0; s < s1; s++)
        for (int64_t bi; (bi = atomic_fetch_add(&r->next, 1)) < r->a.batches;)
            one_entry(r, bi, r->scratch + s * per);
}

static cinfer_status dims_of(const cinfer__cpu_ctx *ctx, cinfer__attention_dims *a) {
    cinfer__infer_ctx ic = {.node = ctx->node, .n_in = ctx->n_in, .n_out = ctx->n_out,
                            .err = ctx->err};
    for (int i = 0; i < ctx->n_in; i++) ic.in[i] = ctx->in[i];
    return cinfer__attention_shapes(&ic, a);
}

static int64_t slots_for(const cinfer__cpu_ctx *ctx, const cinfer__attention_dims *a) {
    int64_t t = cinfer__cpu_threads(ctx->pool);
    return t < a->batches ? t : a->batches > 0 ? a->batches : 1;
}

static size_t attention_scratch(const cinfer__cpu_ctx *ctx) {
    cinfer__attention_dims a;
    cinfer__err err;
    cinfer__cpu_ctx c = *ctx;
    c.err = &err;
    if (dims_of(&c, &a) != CINFER_OK) return 0;
    int64_t pa, pb;
    return (size_t)(slots_for(ctx, &a) * slot_floats(&a, &pa, &pb)) * sizeof(float);
}

/* The mask's strides: along the scores' rows and columns, and over the batch shape. */
static void mask_strides(const cinfer_tensor *m, at_run *r) {
    int64_t mr = m->rank >= 2 ? m->dims[m->rank - 2] : 1;
    int64_t mc = m->rank >= 1 ? m->dims[m->rank - 1] : 1;
    r->m_row = mr == 1 ? 0 : mc;
    r->m_col = mc == 1 ? 0 : 1;
    batch_strides(m, m->rank > 2 ? m->rank - 2 : 0, &r->a, mr * mc, r->sm_st);
}

static cinfer_status attention_run(cinfer__cpu_ctx *ctx) {
    at_run r = {.scale = cinfer__attr_float(ctx->node, "scale", 1.0f),
                .scratch = ctx->scratch, .y = ctx->out[0]->data};
    CINFER_TRY(dims_of(ctx, &r.a));
    const cinfer_tensor *q = ctx->in[0], *k = ctx->in[1], *v = ctx->in[2];
    const cinfer_tensor *m = ctx->n_in > 3 ? ctx->in[3] : NULL;
    r.q = q->data;
    r.k = k->data;
    r.v = v->data;
    if (r.a.packed) { /* [B, S, H, D] each: batch [B, H], 0 where an operand broadcasts */
        int64_t h = r.a.batch[1];
        const cinfer__attention_operand *op = r.a.op;
        r.q += op[0].offset, r.k += op[1].offset, r.v += op[2].offset;
        r.q_rs = cinfer__attention_packed_strides(&op[0], r.sq_st);
        r.k_cs = cinfer__attention_packed_strides(&op[1], r.sk_st);
        r.v_rs = cinfer__attention_packed_strides(&op[2], r.sv_st);
        r.k_rs = 1;
        r.sy_st[0] = r.a.sq * h * r.a.dv, r.sy_st[1] = r.a.dv;
        r.y_rs = h * r.a.dv;
    } else {
        batch_strides(q, q->rank - 2, &r.a, r.a.sq * r.a.d, r.sq_st);
        batch_strides(k, k->rank - 2, &r.a, r.a.d * r.a.skv, r.sk_st);
        batch_strides(v, v->rank - 2, &r.a, r.a.skv * r.a.dv, r.sv_st);
        /* the output is dense over the batch shape */
        for (int i = r.a.batch_rank - 1, s = 0; i >= 0; i--, s = 1)
            r.sy_st[i] = s ? r.sy_st[i + 1] * r.a.batch[i + 1] : r.a.sq * r.a.dv;
        r.q_rs = r.a.d, r.k_rs = r.a.skv, r.k_cs = 1, r.v_rs = r.a.dv, r.y_rs = r.a.dv;
    }
    if (m) {
        r.mask = m->data;
        mask_strides(m, &r);
    }
    slot_floats(&r.a, &r.pa, &r.pb);
    atomic_init(&r.next, 0);
    int64_t slots = slots_for(ctx, &r.a);
    if (r.a.batches <= 0 || r.a.sq <= 0 || r.a.dv <= 0) return CINFER_OK;
    if (slots <= 1) run_slots(&r, 0, 1);
    else cinfer__parallel_for(ctx->pool, slots, 1, run_slots, &r);
    return CINFER_OK;
}

const cinfer__cpu_kernel cinfer__cpu_attention[] = {
    {"Attention", "cinfer", NULL, attention_scratch, attention_run},
    {0},
};
