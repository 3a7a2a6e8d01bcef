/* Fusion: scaled dot-product attention as exporters write it,
 *   MatMul(Q, K) [-> Div(., c) | Mul(., c)] [-> Add(., mask)] -> Softmax(last axis) -> MatMul(., V)
 * becomes the internal Attention(Q, K, V[, mask]) with scale = 1/c (or c): the scores
 * [.., Sq, Skv] then live only in a kernel's scratch. The fused node takes the place of the
 * last MatMul, where the mask and V are already computed.
 * When Q and V come from Transpose(perm 0,2,1,3), K from Transpose(perm 0,2,3,1) (or from
 * perm 0,2,1,3 then 0,1,3,2) and the output goes only to Transpose(perm 0,2,1,3), as BERT
 * exports split and merge their heads, the node also takes those transposes in (attribute
 * packed = 1, src/ops/attention.c): it reads the [B, S, H, D] values before them and writes
 * the [B, S, H, Dv] one after, so four copies of the activations a layer go.
 * When, further, a packed Q, K or V is Reshape(Slice(x)) or Reshape(Split(x)[i]) of a fused
 * projection x [B, S, E] (chunk(3) of one QKV MatMul), cut along the last axis at a known
 * column and split into
 * [B, S, H, D] with B and S kept (load-time shape inference proves both, static_dims.h), the
 * node reads x itself in row form (attributes heads, head_size, v_head_size, q/k/v_offset) and
 * the Slice's copy goes too. */
#include <string.h>

#include "ir/fuse.h"
#include "ir/static_dims.h"

typedef struct att_match {
    int q, k, v, mask;
    double scale;
    int dead[4 + 5 + 3], n_dead; /* the pattern's nodes, any head transposes, head splits */
} att_match;

/* Softmax over the last axis: opset 13+ (older ones flatten to 2-D at `axis`). */
static bool softmax_last(const cinfer__node *n) {
    return cinfer__fuse_is(n, "Softmax") && n->opset >= 13 && n->n_out == 1 &&
           cinfer__attr_int(n, "axis", -1) == -1;
}

/* The optional scaling node after the scores: true with *scale set, or false if n is not one. */
static bool scaling(const cinfer__graph *g, const cinfer__node *n, int scores, double *scale) {
    int c = cinfer__fuse_other_input(n, scores);
    const cinfer_tensor *t = cinfer__fuse_const_f32(g, c);
    if (!t || cinfer_tensor_numel(t) != 1 || n->n_out != 1) return false;
    double v = ((const float *)t->data)[0];
    if (cinfer__fuse_is(n, "Div") && n->in[0] == scores && v != 0.0) {
        *scale = 1.0 / v;
        return true;
    }
    if (cinfer__fuse_is(n, "Mul")) {
        *scale = v;
        return true;
    }
    return false;
}

static bool match(const cinfer__graph *g, const cinfer__use_index *ix, int i, att_match *m) {
    const cinfer__node *mm = &g->nodes[i];
    if (!cinfer__fuse_is(mm, "MatMul") || mm->n_in != 2 || mm->n_out != 1) return false;
    m->q = mm->in[0];
    m->k = mm->in[1];
    m->mask = -1;
    m->scale = 1.0;
    m->n_dead = 0;
    m->dead[m->n_dead++] = i;
    int cur = mm->out[0];
    int next = ix->uses[cur] == 1 && !g->values[cur].is_output ? ix->consumer[cur] : -1;
    if (next < 0) return false;
    if (scaling(g, &g->nodes[next], cur, &m->scale)) {
        m->dead[m->n_dead++] = next;
        cur = g->nodes[next].out[0];
        next = ix->uses[cur] == 1 && !g->values[cur].is_output ? ix->consumer[cur] : -1;
        if (next < 0) return false;
    }
    if (cinfer__fuse_is(&g->nodes[next], "Add") && g->nodes[next].n_out == 1) {
        m->mask = cinfer__fuse_other_input(&g->nodes[next], cur);
        if (m->mask < 0 || m->mask == cur) return false;
        m->dead[m->n_dead++] = next;
        cur = g->nodes[next].out[0];
    }
    int sm = cinfer__fuse_sole_consumer(g, ix, cur, "Softmax");
    if (sm < 0 || !softmax_last(&g->nodes[sm])) return false;
    m->dead[m->n_dead++] = sm;
    return true;
}

/* The permutation of Transpose node t, when it has 4 axes: true with perm filled. */
static bool perm4(const cinfer__node *t, int64_t perm[4]) {
    size_t n = 0;
    const int64_t *p = cinfer__attr_ints(t, "perm", &n);
    if (!p || n != 4) return false;
    memcpy(perm, p, sizeof(int64_t) * 4);
    return true;
}

static bool perm_is(const int64_t p[4], int a, int b, int c, int d) {
    return p[0] == a && p[1] == b && p[2] == c && p[3] == d;
}

/* The value that one Transpose (or, when two is set, two in a row, each read only by the next)
 * turns into v with the overall permutation (a, b, c, d); -1 if none. The transposes go into
 * dead. */
static int transposed_from(const cinfer__graph *g, const cinfer__use_index *ix, int v, bool two,
                           int a, int b, int c, int d, int *dead, int *n_dead) {
    int t = cinfer__fuse_sole_producer(g, ix, v, "Transpose");
    int64_t p2[4], p1[4];
    if (t < 0 || !perm4(&g->nodes[t], p2)) return -1;
    if (perm_is(p2, a, b, c, d)) {
        dead[(*n_dead)++] = t;
        return g->nodes[t].in[0];
    }
    /* two in a row: out[i] = first's out[p2[i]] = x[p1[p2[i]]] */
    int t1 = two ? cinfer__fuse_sole_producer(g, ix, g->nodes[t].in[0], "Transpose") : -1;
    if (t1 < 0 || !perm4(&g->nodes[t1], p1)) return -1;
    int64_t c4[4];
    for (int i = 0; i < 4; i++) {
        if (p2[i] < 0 || p2[i] > 3) return -1;
        c4[i] = p1[p2[i]];
    }
    if (!perm_is(c4, a, b, c, d)) return -1;
    dead[(*n_dead)++] = t;
    dead[(*n_dead)++] = t1;
    return g->nodes[t1].in[0];
}

/* The packed-heads form around a matched attention (inputs q, k, v, output out): on success
 * in[0..2] and *out name the values outside the head transposes, which join dead. */
static bool packed_heads(const cinfer__graph *g, const cinfer__use_index *ix, int in[3],
                         int *out, int *dead, int *n_dead) {
    /* Q, V and the output one Transpose each, K one or two (the head split, then K^T, as
     * some exports write it): five nodes at most, as dead has room for. */
    int d[5], nd = 0;
    int q = transposed_from(g, ix, in[0], false, 0, 2, 1, 3, d, &nd);
    int k = q < 0 ? -1 : transposed_from(g, ix, in[1], true, 0, 2, 3, 1, d, &nd);
    int v = k < 0 ? -1 : transposed_from(g, ix, in[2], false, 0, 2, 1, 3, d, &nd);
    int t = v < 0 ? -1 : cinfer__fuse_sole_consumer(g, ix, *out, "Transpose");
    int64_t p[4];
    if (t < 0 || !perm4(&g->nodes[t], p) || !perm_is(p, 0, 2, 1, 3) || g->nodes[t].n_out != 1)
        return false;
    d[nd++] = t;
    in[0] = q, in[1] = k, in[2] = v;
    *out = g->nodes[t].out[0];
    for (int i = 0; i < nd; i++) dead[(*n_dead)++] = d[i];
    return true;
}

/* A one-element integer constant: true with its value. */
static bool const_int1(const cinfer__graph *g, int v, int64_t *out) {
    const cinfer_tensor *t = v >= 0 ? g->values[v].constant : NULL;
    if (!t || cinfer_tensor_numel(t) != 1 || !t->data || g->values[v].is_input) return false;
    if (t->dtype == CINFER_DTYPE_INT64) *out = ((const int64_t *)t->data)[0];
    else if (t->dtype == CINFER_DTYPE_INT32) *out = ((const int32_t *)t->data)[0];
    else return false;
    return true;
}

/* Where Split node n's output sv starts along its split axis (-1 or 2 of a rank-3 input),
 * when every earlier output's extent there is known (load-time shape inference); -1
 * otherwise. */
static int64_t split_start(const cinfer__graph *g, const cinfer__node *n, int sv) {
    int64_t axis = cinfer__attr_int(n, "axis", 0), at = 0;
    if (axis != -1 && axis != 2) return -1;
    for (int o = 0; o < n->n_out; o++) {
        if (n->out[o] == sv) return at;
        int64_t w = n->out[o] >= 0 ? cinfer__sdims_known(g, n->out[o], 2) : -1;
        if (w < 0) return -1;
        at += w;
    }
    return -1;
}

/* The first column of Slice node n's part of a rank-3 input with e columns: constant bounds
 * on the last axis, step 1; -1 otherwise. */
static int64_t slice_start(const cinfer__graph *g, const cinfer__node *n, int64_t e) {
    int64_t start, end, axis = 0, step = 1;
    if (n->opset < 10 || n->n_in < 3 || !const_int1(g, n->in[1], &start) ||
        !const_int1(g, n->in[2], &end) ||
        (n->n_in > 3 && n->in[3] >= 0 && !const_int1(g, n->in[3], &axis)) ||
        (n->n_in > 4 && n->in[4] >= 0 && !const_int1(g, n->in[4], &step)))
        return -1;
    if ((axis != -1 && axis != 2) || step != 1) return -1;
    if (start < 0) start += e;
    return start < 0 ? 0 : start > e ? e : start;
}

/* The row form of packed operand v ([B, S, H, cols], what the head split's Transpose read):
 * when v = Reshape(Slice(x, start, end, axis -1 or 2, step 1)) or Reshape(Split(x, axis -1 or
 * 2)[i]) with x [B, S, E], the Reshape keeping B and S and splitting the part's H * cols
 * columns, returns x with *offset the part's first column (the Reshape joins dead; the Slice or
 * Split, which Shape nodes or the other parts may still read, goes with the dead-node pass once
 * nothing does). Else -1. */
static int row_source(const cinfer__graph *g, const cinfer__use_index *ix, int v, int64_t *offset,
                      int64_t *h, int64_t *cols, int *dead, int *n_dead) {
    int r = cinfer__fuse_sole_producer(g, ix, v, "Reshape");
    if (r < 0) return -1;
    int sv = g->nodes[r].in[0];
    int sl = sv >= 0 ? ix->producer[sv] : -1;
    if (sl < 0) return -1;
    const cinfer__node *n = &g->nodes[sl];
    bool split = cinfer__fuse_is(n, "Split");
    if (!split && !cinfer__fuse_is(n, "Slice")) return -1;
    int x = n->in[0];
    const cinfer__svalue *xs = cinfer__sdims_of(g, x), *ss = cinfer__sdims_of(g, sv);
    const cinfer__svalue *vs = cinfer__sdims_of(g, v);
    if (!xs || !ss || !vs || xs->rank != 3 || ss->rank != 3 || vs->rank != 4) return -1;
    for (int d = 0; d < 2; d++) /* B and S through the Slice or Split and the Reshape */
        if (!cinfer__sdims_same(g, x, d, sv, d) || !cinfer__sdims_same(g, sv, d, v, d)) return -1;
    int64_t e = cinfer__sdims_known(g, x, 2), w = cinfer__sdims_known(g, sv, 2);
    *h = cinfer__sdims_known(g, v, 2), *cols = cinfer__sdims_known(g, v, 3);
    if (e < 1 || w < 1 || *h < 1 || *cols < 1 || *h * *cols != w) return -1;
    int64_t at = split ? split_start(g, n, sv) : slice_start(g, n, e);
    if (at < 0 || at + w > e) return -1; /* (the inferred width already says it fits) */
    *offset = at;
    dead[(*n_dead)++] = r;
    return x;
}

/* Which packed operands take their row form: all that qualify and agree on the heads (and Q
 * and K on the head size). */
typedef struct att_rows {
    int src[3];                   /* the row-form source of Q, K, V, or -1 */
    int64_t offset[3], cols[3], heads;
} att_rows;

static bool find_rows(const cinfer__graph *g, const cinfer__use_index *ix, const int in[3],
                      att_match *m, att_rows *r) {
    bool any = false;
    r->heads = 0;
    for (int i = 0; i < 3; i++) {
        int nd = m->n_dead;
        int64_t h = 0;
        r->src[i] = row_source(g, ix, in[i], &r->offset[i], &h, &r->cols[i], m->dead, &m->n_dead);
        if (r->src[i] < 0) continue;
        if ((r->heads && h != r->heads) || (i == 1 && r->src[0] >= 0 && r->cols[0] != r->cols[1])) {
            r->src[i] = -1;
            m->n_dead = nd;
            continue;
        }
        r->heads = h;
        any = true;
    }
    return any;
}

/* The row-form inputs and attributes on the rewritten node. */
static cinfer_status write_rows(cinfer__node *att, const att_rows *r, cinfer__err *err) {
    static const char *const offsets[3] = {"q_offset", "k_offset", "v_offset"};
    for (int i = 0; i < 3; i++) {
        if (r->src[i] < 0) continue;
        att->in[i] = r->src[i];
        CINFER_TRY(cinfer__fuse_attr_int(att, offsets[i], r->offset[i], err));
    }
    CINFER_TRY(cinfer__fuse_attr_int(att, "heads", r->heads, err));
    int qk = r->src[0] >= 0 ? 0 : r->src[1] >= 0 ? 1 : -1;
    if (qk >= 0) CINFER_TRY(cinfer__fuse_attr_int(att, "head_size", r->cols[qk], err));
    if (r->src[2] >= 0) CINFER_TRY(cinfer__fuse_attr_int(att, "v_head_size", r->cols[2], err));
    return cinfer__node_resolve(att, err);
}

cinfer_status cinfer__fuse_attention(cinfer__graph *g, int *count, int *heads, int *rows,
                                     cinfer__err *err) {
    *count = 0;
    cinfer__use_index ix;
    CINFER_TRY(cinfer__use_index_build(g, &ix, err));
    cinfer_status st = CINFER_OK;
    for (int i = 0; st == CINFER_OK && i < g->n_nodes; i++) {
        att_match m;
        if (g->nodes[i].dead || !match(g, &ix, i, &m)) continue;
        int p = g->nodes[m.dead[m.n_dead - 1]].out[0];
        int mm2 = cinfer__fuse_sole_consumer(g, &ix, p, "MatMul");
        if (mm2 < 0 || g->nodes[mm2].in[0] != p || g->nodes[mm2].n_out != 1) continue;
        int in[4] = {m.q, m.k, g->nodes[mm2].in[1], m.mask}, out = g->nodes[mm2].out[0];
        bool packed = packed_heads(g, &ix, in, &out, m.dead, &m.n_dead);
        att_rows r = {.src = {-1, -1, -1}};
        bool row_form = packed && find_rows(g, &ix, in, &m, &r);
        for (int k = 0; k < m.n_dead; k++) g->nodes[m.dead[k]].dead = true;
        st = cinfer__fuse_rewrite(&g->nodes[mm2], "Attention", CINFER_FUSED_DOMAIN, 1,
                                  m.mask >= 0 ? 4 : 3, in, 1, &out, err);
        if (st == CINFER_OK && m.scale != 1.0)
            st = cinfer__fuse_attr_float(&g->nodes[mm2], "scale", (float)m.scale, err);
        if (st == CINFER_OK && packed) {
            st = cinfer__fuse_attr_int(&g->nodes[mm2], "packed", 1, err);
            if (st == CINFER_OK && heads) (*heads)++;
        }
        if (st == CINFER_OK && row_form) {
            st = write_rows(&g->nodes[mm2], &r, err);
            if (st == CINFER_OK && rows) (*rows)++;
        }
        if (st == CINFER_OK) (*count)++;
    }
    cinfer__use_index_free(&ix);
    return st;
}
