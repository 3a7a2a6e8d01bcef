/* Einsum's equation: parsed once at load time, resolved against concrete shapes at plan time
 * (explicit and implicit output, "..." broadcasting, repeated labels as diagonals). */
#include <string.h>

#include "core/alloc.h"
#include "ops/misc.h"

static int letter_id(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return 26 + (c - 'a');
    return -2;
}

/* Parses one term s[0..len) into t; returns its entry count or -1 when malformed. */
static int parse_term(const char *s, size_t len, int8_t *t) {
    int n = 0, letters = 0;
    bool ellipsis = false;
    for (size_t k = 0; k < len; k++) {
        if (s[k] == '.') {
            if (ellipsis || k + 2 >= len || s[k + 1] != '.' || s[k + 2] != '.') return -1;
            ellipsis = true;
            t[n++] = CINFER__EINSUM_ELLIPSIS;
            k += 2;
            continue;
        }
        int id = letter_id(s[k]);
        if (id < 0 || ++letters > CINFER_MAX_RANK) return -1;
        t[n++] = (int8_t)id;
    }
    return n;
}

static cinfer_status parse_equation(const char *eq, cinfer__einsum_eq *p, int n_in,
                                    cinfer__err *err) {
    char buf[256];
    size_t len = 0;
    for (const char *c = eq; *c; c++)
        if (*c != ' ' && len + 1 < sizeof buf) buf[len++] = *c;
    buf[len] = 0;
    char *arrow = strstr(buf, "->");
    size_t lhs_len = arrow ? (size_t)(arrow - buf) : len;
    p->n_in = 0;
    for (size_t start = 0, k = 0; k <= lhs_len; k++) {
        if (k < lhs_len && buf[k] != ',') continue;
        if (p->n_in >= n_in) goto bad;
        int n = parse_term(buf + start, k - start, p->term[p->n_in]);
        if (n < 0) goto bad;
        p->n_terms[p->n_in++] = n;
        start = k + 1;
    }
    if (p->n_in != n_in)
        return cinfer__errorf(err, CINFER_INVALID_MODEL,
                              "attribute equation='%s' has %d operands; the node has %d inputs",
                              eq, p->n_in, n_in);
    p->explicit_out = arrow != NULL;
    if (arrow) {
        p->n_out_terms = parse_term(arrow + 2, strlen(arrow + 2), p->out_term);
        if (p->n_out_terms < 0) goto bad;
    }
    return CINFER_OK;
bad:
    return cinfer__errorf(err, CINFER_INVALID_MODEL, "attribute equation='%s' is malformed", eq);
}

/* Output letters must each appear once there and somewhere among the inputs. */
static cinfer_status check_output(const cinfer__einsum_eq *p, const char *eq, cinfer__err *err) {
    bool seen_in[CINFER__EINSUM_LETTERS] = {0}, seen_out[CINFER__EINSUM_LETTERS] = {0};
    bool in_ellipsis = false;
    for (int i = 0; i < p->n_in; i++)
        for (int k = 0; k < p->n_terms[i]; k++) {
            if (p->term[i][k] >= 0) seen_in[p->term[i][k]] = true;
            else in_ellipsis = true;
        }
    for (int k = 0; k < p->n_out_terms; k++) {
        int id = p->out_term[k];
        if (id < 0 && in_ellipsis) continue;
        if (id < 0 || !seen_in[id] || seen_out[id])
            return cinfer__errorf(err, CINFER_INVALID_MODEL,
                                  "attribute equation='%s': output subscript %d is repeated or "
                                  "not among the inputs", eq, k);
        seen_out[id] = true;
    }
    return CINFER_OK;
}

cinfer_status cinfer__einsum_check(cinfer__node *node, cinfer__err *err) {
    const char *eq = cinfer__attr_string(node, "equation", NULL);
    if (!eq) return cinfer__errorf(err, CINFER_INVALID_MODEL, "attribute equation is missing");
    if (node->n_in > CINFER__EINSUM_MAX_IN)
        return cinfer__errorf(err, CINFER_UNSUPPORTED, "%d operands; at most %d are supported",
                              node->n_in, CINFER__EINSUM_MAX_IN);
    cinfer__einsum_eq *p = cinfer__calloc(1, sizeof *p);
    if (!p) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    cinfer_status st = parse_equation(eq, p, node->n_in, err);
    if (st == CINFER_OK && p->explicit_out) st = check_output(p, eq, err);
    if (st != CINFER_OK) {
        cinfer__free(p);
        return st;
    }
    cinfer__free(node->params);
    node->params = p;
    return CINFER_OK;
}

/* Maps every input axis to a label id; sizes[id] gets the broadcast size (-1 if unused). */
static cinfer_status label_axes(const cinfer__einsum_eq *eq, const cinfer_tensor *const *in,
                                cinfer__einsum_plan *p, int64_t *sizes, int *ell,
                                cinfer__err *err) {
    int ell_len[CINFER__EINSUM_MAX_IN];
    *ell = 0;
    for (int i = 0; i < eq->n_in; i++) {
        bool has = false;
        for (int k = 0; k < eq->n_terms[i]; k++) has |= eq->term[i][k] < 0;
        ell_len[i] = in[i]->rank - (eq->n_terms[i] - (has ? 1 : 0));
        if (ell_len[i] < 0 || (!has && ell_len[i] != 0))
            return cinfer__errorf(err, CINFER_INVALID_INPUT,
                                  "input %d has rank %d; its equation term needs %s%d", i,
                                  in[i]->rank, has ? "at least " : "",
                                  eq->n_terms[i] - (has ? 1 : 0));
        if (ell_len[i] > *ell) *ell = ell_len[i];
    }
    for (int id = 0; id < CINFER__EINSUM_LABELS; id++) sizes[id] = -1;
    for (int i = 0; i < eq->n_in; i++) {
        p->in_rank[i] = in[i]->rank;
        for (int k = 0, ax = 0; k < eq->n_terms[i]; k++) {
            int n = eq->term[i][k] < 0 ? ell_len[i] : 1;
            for (int j = 0; j < n; j++, ax++) {
                int id = eq->term[i][k] >= 0 ? eq->term[i][k]
                                             : CINFER__EINSUM_LETTERS + *ell - ell_len[i] + j;
                int64_t d = in[i]->dims[ax];
                p->in_label[i][ax] = id;
                if (sizes[id] < 0 || sizes[id] == 1) sizes[id] = d;
                else if (d != 1 && d != sizes[id])
                    return cinfer__errorf(err, CINFER_INVALID_INPUT,
                                          "input %d axis %d has size %lld; its subscript has "
                                          "size %lld elsewhere", i, ax, (long long)d,
                                          (long long)sizes[id]);
            }
        }
    }
    return CINFER_OK;
}

/* Output label ids: the explicit list, or "..." then the letters used once, in ASCII order. */
static int output_labels(const cinfer__einsum_eq *eq, int ell, int *out) {
    int n = 0;
    if (eq->explicit_out) {
        for (int k = 0; k < eq->n_out_terms; k++) {
            if (eq->out_term[k] >= 0) {
                if (n < CINFER_MAX_RANK + 1) out[n++] = eq->out_term[k];
                continue;
            }
            for (int j = 0; j < ell; j++)
                if (n < CINFER_MAX_RANK + 1) out[n++] = CINFER__EINSUM_LETTERS + j;
        }
        return n;
    }
    int count[CINFER__EINSUM_LETTERS] = {0};
    for (int i = 0; i < eq->n_in; i++)
        for (int k = 0; k < eq->n_terms[i]; k++)
            if (eq->term[i][k] >= 0) count[eq->term[i][k]]++;
    for (int j = 0; j < ell; j++) out[n++] = CINFER__EINSUM_LETTERS + j;
    for (int id = 0; id < CINFER__EINSUM_LETTERS; id++)
        if (count[id] == 1 && n < CINFER_MAX_RANK + 1) out[n++] = id;
    return n;
}

/* Loop strides: each axis adds its element stride to its label (repeats make diagonals);
 * a size-1 axis broadcast against a larger label adds nothing. */
static void fill_strides(const cinfer_tensor *const *in, const int *pos_of,
                         cinfer__einsum_plan *p) {
    for (int i = 0; i < p->n_in; i++) {
        int64_t st[CINFER_MAX_RANK];
        cinfer__strides(in[i]->rank, in[i]->dims, st);
        for (int l = 0; l < p->n_labels; l++) p->stride[i][l] = 0;
        for (int ax = 0; ax < in[i]->rank; ax++) {
            int pos = pos_of[p->in_label[i][ax]];
            if (in[i]->dims[ax] == 1 && p->size[pos] != 1) continue;
            p->stride[i][pos] += st[ax];
        }
    }
}

cinfer_status cinfer__einsum_resolve(const cinfer__einsum_eq *eq, int n_in,
                                     const cinfer_tensor *const *in, cinfer__einsum_plan *p,
                                     cinfer__err *err) {
    memset(p, 0, sizeof *p);
    p->n_in = n_in;
    int64_t sizes[CINFER__EINSUM_LABELS];
    int ell, out[CINFER_MAX_RANK + 1], pos_of[CINFER__EINSUM_LABELS];
    CINFER_TRY(label_axes(eq, in, p, sizes, &ell, err));
    int n_out = output_labels(eq, ell, out);
    if (n_out > CINFER_MAX_RANK)
        return cinfer__errorf(err, CINFER_UNSUPPORTED, "output rank %d exceeds %d", n_out,
                              CINFER_MAX_RANK);
    for (int id = 0; id < CINFER__EINSUM_LABELS; id++) pos_of[id] = -1;
    for (int k = 0; k < n_out; k++) {
        pos_of[out[k]] = k;
        p->label[k] = out[k];
        p->size[k] = sizes[out[k]];
    }
    p->out_rank = p->n_labels = n_out;
    for (int id = 0; id < CINFER__EINSUM_LABELS; id++)
        if (sizes[id] >= 0 && pos_of[id] < 0) {
            pos_of[id] = p->n_labels;
            p->label[p->n_labels] = id;
            p->size[p->n_labels++] = sizes[id];
        }
    p->n_sum = p->n_labels - p->out_rank;
    fill_strides(in, pos_of, p);
    return CINFER_OK;
}

cinfer_status cinfer__einsum_infer(cinfer__infer_ctx *ctx) {
    const cinfer__einsum_eq *eq = ctx->node->params;
    cinfer_dtype dt = ctx->in[0]->dtype;
    if (dt != CINFER_DTYPE_FLOAT && dt != CINFER_DTYPE_DOUBLE && dt != CINFER_DTYPE_INT32 &&
        dt != CINFER_DTYPE_INT64)
        return cinfer__errorf(ctx->err, CINFER_UNSUPPORTED,
                              "dtype %s is not supported (float, double, int32, int64)",
                              cinfer_dtype_name(dt));
    for (int i = 1; i < ctx->n_in; i++)
        if (!ctx->in[i] || ctx->in[i]->dtype != dt)
            return cinfer__errorf(ctx->err, CINFER_INVALID_MODEL,
                                  "input %d is missing or its dtype differs from input 0's", i);
    if (!eq) return cinfer__errorf(ctx->err, CINFER_INTERNAL, "equation was not parsed");
    cinfer__einsum_plan *p = cinfer__malloc(sizeof *p);
    if (!p) return cinfer__errorf(ctx->err, CINFER_OUT_OF_MEMORY, "out of memory");
    cinfer_status st = cinfer__einsum_resolve(eq, ctx->n_in, ctx->in, p, ctx->err);
    if (st == CINFER_OK) cinfer__set_out(ctx->out[0], dt, p->out_rank, p->size);
    cinfer__free(p);
    return st;
}
