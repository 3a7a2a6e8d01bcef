/* Symbolic shape inference: the model is planned for a few sets of made-up values of its
 * symbolic input dimensions, and every value's dimensions are explained as expressions of the
 * symbols ("batch", "2*seq", "batch*seq") by comparing the concrete plans. Reusing the planner
 * means every op that can be planned gets symbolic shapes for free, at the price of recognizing
 * only the expression forms tried in match_dim. */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "runtime/inspect.h"
#include "runtime/runtime.h"

/* Three plans: two determine a one-parameter expression, the third guards against a
 * coincidental fit. Two are the minimum. */
#define N_SAMPLES 3
#define ATTEMPTS_PER_TIER 4
#define SYM_LEN 256
#define MAX_SHOWN_ELEMS 16 /* folded int tensors up to this size get symbolic contents */

/* Symbol i of attempt j is mult * (odd prime number i + j): values differ within a sample and
 * across samples, and no ratio of two symbols is the same in two samples, so a dimension
 * matches at most one symbol's multiple. mult 32 keeps s/2 ... s/32 exact for models that
 * downsample (strided convs, pools, U-Nets that must re-upsample to the same size); mult 2
 * is the fallback for models that cap a dimension (position tables). The unify tiers give
 * every symbolic dim at one axis the same symbol, for models whose inputs must agree but
 * name their dims differently (input_ids and attention_mask exported with separate names). */
typedef struct tier {
    int64_t mult;
    bool unify;
} tier;
static const tier tiers[] = {{32, false}, {2, false}, {32, true}, {2, true}};

typedef struct sym_table {
    int n;
    char **names;                 /* owned */
    int *dim_sym;                 /* [input * CINFER_MAX_RANK + d]: symbol index or -1 */
    int64_t *val[N_SAMPLES];      /* val[j][s]: symbol s in successful sample j */
    cinfer__plan *plan[N_SAMPLES];
    int n_ok;                     /* successful samples */
} sym_table;

static void table_free(sym_table *t) {
    for (int s = 0; s < t->n; s++) cinfer__free(t->names[s]);
    cinfer__free(t->names);
    cinfer__free(t->dim_sym);
    for (int j = 0; j < N_SAMPLES; j++) {
        cinfer__free(t->val[j]);
        cinfer__plan_destroy(t->plan[j]);
    }
    memset(t, 0, sizeof *t);
}

/* The symbol of input i's dim d: its dim_param, or "unk_<input>_<d>". */
static void dim_symbol(const cinfer__value *v, int d, char *buf, size_t len) {
    if (v->dim_names[d] && v->dim_names[d][0]) snprintf(buf, len, "%s", v->dim_names[d]);
    else snprintf(buf, len, "unk_%s_%d", v->name, d);
}

/* Finds the symbol for this name (unifying, first the one at this axis); adds it if new. */
static int symbol_index(sym_table *t, const char *name, int axis, const int *axis_sym, bool unify,
                        cinfer__err *err) {
    if (unify && axis_sym[axis] >= 0) return axis_sym[axis];
    for (int s = 0; s < t->n; s++)
        if (!strcmp(t->names[s], name)) return s;
    if (!(t->names[t->n] = cinfer__strdup(name)))
        return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory"), -1;
    return t->n++;
}

/* One symbol per distinct name (per axis when unifying). */
static cinfer_status collect_symbols(const cinfer__graph *g, bool unify, sym_table *t,
                                     cinfer__err *err) {
    size_t cap = (size_t)g->n_inputs * CINFER_MAX_RANK + 1;
    int axis_sym[CINFER_MAX_RANK];
    for (int d = 0; d < CINFER_MAX_RANK; d++) axis_sym[d] = -1;
    t->names = cinfer__calloc(cap, sizeof *t->names);
    t->dim_sym = cinfer__calloc(cap, sizeof *t->dim_sym);
    if (!t->names || !t->dim_sym) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    for (int i = 0; i < g->n_inputs; i++) {
        const cinfer__value *v = &g->values[g->inputs[i]];
        for (int d = 0; d < CINFER_MAX_RANK; d++) {
            int *slot = &t->dim_sym[i * CINFER_MAX_RANK + d];
            *slot = -1;
            if (d >= v->rank || v->dims[d] >= 0) continue;
            char buf[SYM_LEN];
            dim_symbol(v, d, buf, sizeof buf);
            if ((*slot = symbol_index(t, buf, d, axis_sym, unify, err)) < 0)
                return CINFER_OUT_OF_MEMORY;
            axis_sym[d] = *slot;
        }
    }
    for (int j = 0; j < N_SAMPLES; j++)
        if (!(t->val[j] = cinfer__calloc((size_t)t->n + 1, sizeof *t->val[j])))
            return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    return CINFER_OK;
}

/* The k-th odd prime (k = 0 is 3); k stays small, so trial division is plenty. */
static int64_t odd_prime(int k) {
    int64_t p = 1;
    for (int found = -1; found < k;) {
        p += 2;
        bool prime = true;
        for (int64_t q = 3; q * q <= p && prime; q += 2) prime = p % q != 0;
        found += prime;
    }
    return p;
}

/* Plans one sample; on success keeps the plan and its symbol values as sample t->n_ok. */
static cinfer_status try_sample(cinfer_model *m, sym_table *t, int64_t mult, int attempt,
                                cinfer_tensor *ins, cinfer__err *err) {
    const cinfer__graph *g = m->g;
    int64_t *val = t->val[t->n_ok];
    for (int s = 0; s < t->n; s++) val[s] = mult * odd_prime(s + attempt);
    for (int i = 0; i < g->n_inputs; i++) {
        const cinfer__value *v = &g->values[g->inputs[i]];
        ins[i] = (cinfer_tensor){.dtype = v->dtype, .rank = v->rank};
        for (int d = 0; d < v->rank; d++) {
            int s = t->dim_sym[i * CINFER_MAX_RANK + d];
            ins[i].dims[d] = s >= 0 ? val[s] : v->dims[d];
        }
    }
    CINFER_TRY(cinfer__plan_build(m, ins, &t->plan[t->n_ok], err));
    t->n_ok++;
    return CINFER_OK;
}

/* Describes a sample's symbol values ("batch=96, seq=160") for error messages. */
static void sample_str(const sym_table *t, const int64_t *val, char *buf, size_t len) {
    size_t used = 0;
    snprintf(buf, len, "the declared shapes (no symbolic dims)");
    for (int s = 0; s < t->n && used < len; s++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s=%lld", s ? ", " : "",
                                 t->names[s], (long long)val[s]);
}

/* Plans up to N_SAMPLES samples of one tier into t (symbols already collected). The first
 * failure's status and message are kept in *first_st and *first; OUT_OF_MEMORY returns. */
static cinfer_status run_tier(cinfer_model *m, const tier *tr, sym_table *t, cinfer_tensor *ins,
                              cinfer__err *first, cinfer_status *first_st, cinfer__err *err) {
    /* Without symbols every sample is the same plan, and one shows every dim fixed. */
    int want = t->n ? N_SAMPLES : 1, attempts = t->n ? ATTEMPTS_PER_TIER : 1;
    for (int a = 0; a < attempts && t->n_ok < want; a++) {
        cinfer__err e = {{0}};
        cinfer_status st = try_sample(m, t, tr->mult, a, ins, &e);
        if (st == CINFER_OUT_OF_MEMORY) {
            *err = e;
            return st;
        }
        if (st == CINFER_OK) continue;
        if (*first_st == CINFER_OK) {
            char vals[512];
            sample_str(t, t->val[t->n_ok], vals, sizeof vals);
            *first_st = st;
            cinfer__errorf(first, st, "planning with %s: %s", vals, e.msg);
        }
        if (t->n_ok >= 2) break; /* larger values will not fit better */
    }
    return CINFER_OK;
}

/* Plans the samples, tier after tier, until one tier gives two or more plans (a single one
 * when nothing is symbolic). Samples of different tiers are never mixed: a dim that is exact
 * at multiples of 32 (W/8) is rounded at multiples of 2. */
static cinfer_status plan_samples(cinfer_model *m, sym_table *t, cinfer__err *err) {
    const cinfer__graph *g = m->g;
    cinfer_tensor *ins = cinfer__calloc((size_t)g->n_inputs + 1, sizeof *ins);
    if (!ins) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    cinfer__err first = {{0}};
    cinfer_status first_st = CINFER_OK, st = CINFER_OK;
    int n_distinct = 0;
    for (size_t k = 0; st == CINFER_OK && k < sizeof tiers / sizeof tiers[0]; k++) {
        table_free(t);
        st = collect_symbols(g, tiers[k].unify, t, err);
        if (st != CINFER_OK) break;
        if (!tiers[k].unify) n_distinct = t->n;
        else if (t->n == n_distinct) break; /* no axis has two symbols to merge */
        st = run_tier(m, &tiers[k], t, ins, &first, &first_st, err);
        if (t->n_ok >= 2 || !t->n) break; /* done, or nothing symbolic to vary */
    }
    cinfer__free(ins);
    if (st != CINFER_OK) return st;
    if (t->n_ok >= 2 || (!t->n && t->n_ok)) return CINFER_OK;
    if (first_st == CINFER_OK) /* fewer plans than wanted means one of them failed */
        return cinfer__errorf(err, CINFER_INTERNAL, "symbolic shapes: no sample plan");
    *err = first;
    return first_st;
}

/* a*b == c*d without overflow (an overflowing product never matches). */
static bool mul_eq(int64_t a, int64_t b, int64_t c, int64_t d) {
    int64_t x, y;
    if (__builtin_mul_overflow(a, b, &x) || __builtin_mul_overflow(c, d, &y)) return false;
    return x == y;
}

static int64_t gcd64(int64_t a, int64_t b) {
    while (b) {
        int64_t r = a % b;
        a = b;
        b = r;
    }
    return a;
}

/* "num*expr/den+c", leaving out the parts that are 1 or 0; num/den is reduced here. */
static void format_ratio(int64_t num, int64_t den, const char *expr, int64_t c, char *out,
                         size_t len) {
    int64_t g = gcd64(num, den);
    num /= g;
    den /= g;
    char n[32] = "", d[32] = "", off[32] = "";
    if (num != 1) snprintf(n, sizeof n, "%lld*", (long long)num);
    if (den != 1) snprintf(d, sizeof d, "/%lld", (long long)den);
    if (c) snprintf(off, sizeof off, "%+lld", (long long)c);
    snprintf(out, len, "%s%s%s%s", n, expr, d, off);
}

/* If dim[j] = (num/den) * base[j] for every sample, writes "num*<expr>/den" (parts omitted
 * when 1) and returns true. */
static bool match_ratio(const int64_t *dim, const int64_t *base, int ns, const char *expr,
                        char *out, size_t len) {
    if (dim[0] <= 0 || base[0] <= 0) return false;
    for (int j = 1; j < ns; j++)
        if (!mul_eq(dim[j], base[0], dim[0], base[j])) return false;
    format_ratio(dim[0], base[0], expr, 0, out, len);
    return true;
}

/* dim[j] = (num/den) * a[j] + c for every sample, with num > 0 and c an integer: strided
 * windows (h/2-2). Two parameters, so only tried with three samples (one left to check). */
static bool match_affine(const int64_t *dim, const int64_t *a, int ns, const char *name,
                         char *out, size_t len) {
    if (ns < 3) return false;
    int64_t num = dim[1] - dim[0], den = a[1] - a[0], c_den, x, y;
    if (num <= 0 || den <= 0) return false;
    if (__builtin_mul_overflow(dim[0], den, &x) || __builtin_mul_overflow(num, a[0], &y))
        return false;
    c_den = x - y; /* c * den */
    if (c_den % den) return false;
    for (int j = 2; j < ns; j++)
        if (__builtin_mul_overflow(dim[j], den, &x) || __builtin_mul_overflow(num, a[j], &y) ||
            x - y != c_den)
            return false;
    format_ratio(num, den, name, c_den / den, out, len);
    return true;
}

/* dim[j] = a[j] + c for every sample (c != 0: c = 0 is the ratio 1). */
static bool match_offset(const int64_t *dim, const int64_t *a, int ns, const char *name,
                         char *out, size_t len) {
    int64_t c = dim[0] - a[0];
    for (int j = 1; j < ns; j++)
        if (dim[j] - a[j] != c) return false;
    snprintf(out, len, "%s%+lld", name, (long long)c);
    return true;
}

/* Explains a value seen across the samples: k*s/m, s+c, k*s*t/m, s+t, k*s/m+c, else "?",
 * one-parameter forms first. The caller handles values equal in every sample (fixed). */
static void match_dim(const sym_table *t, const int64_t *dim, char *out, size_t len) {
    int ns = t->n_ok;
    int64_t base[N_SAMPLES];
    char expr[2 * SYM_LEN + 2];
    for (int s = 0; s < t->n; s++) {
        for (int j = 0; j < ns; j++) base[j] = t->val[j][s];
        if (match_ratio(dim, base, ns, t->names[s], out, len)) return;
    }
    for (int s = 0; s < t->n; s++) {
        for (int j = 0; j < ns; j++) base[j] = t->val[j][s];
        if (match_offset(dim, base, ns, t->names[s], out, len)) return;
    }
    for (int s = 0; s < t->n; s++)
        for (int u = s; u < t->n; u++) {
            bool ok = true;
            for (int j = 0; j < ns; j++)
                ok &= !__builtin_mul_overflow(t->val[j][s], t->val[j][u], &base[j]);
            snprintf(expr, sizeof expr, "%s*%s", t->names[s], t->names[u]);
            if (ok && match_ratio(dim, base, ns, expr, out, len)) return;
        }
    for (int s = 0; s < t->n; s++)
        for (int u = s + 1; u < t->n; u++) {
            bool ok = true;
            for (int j = 0; j < ns; j++) ok &= dim[j] == t->val[j][s] + t->val[j][u];
            if (ok) {
                snprintf(out, len, "%s+%s", t->names[s], t->names[u]);
                return;
            }
        }
    for (int s = 0; s < t->n; s++) {
        for (int j = 0; j < ns; j++) base[j] = t->val[j][s];
        if (match_affine(dim, base, ns, t->names[s], out, len)) return;
    }
    snprintf(out, len, "?");
}

/* One dim or element: its decimal when the same in every sample, else match_dim's text.
 * Returns true when fixed. */
static bool explain(const sym_table *t, const int64_t *x, char *out, size_t len) {
    bool fixed = true;
    for (int j = 1; j < t->n_ok; j++) fixed &= x[j] == x[0];
    if (fixed) snprintf(out, len, "%lld", (long long)x[0]);
    else match_dim(t, x, out, len);
    return fixed;
}

static int64_t int_elem(const cinfer_tensor *x, int64_t i) {
    return x->dtype == CINFER_DTYPE_INT64 ? ((const int64_t *)x->data)[i]
                                          : ((const int32_t *)x->data)[i];
}

/* "[batch*seq, 8]": the contents of a small integer tensor folded while planning (a shape
 * computed by the exporter's Shape/Gather/Concat arithmetic), each element explained. */
static cinfer_status explain_contents(const sym_table *t, int v, char **out, cinfer__err *err) {
    const cinfer_tensor *t0 = &t->plan[0]->vals[v].t;
    int64_t n = cinfer_tensor_numel(t0);
    if ((t0->dtype != CINFER_DTYPE_INT64 && t0->dtype != CINFER_DTYPE_INT32) || !t0->data ||
        n > MAX_SHOWN_ELEMS)
        return CINFER_OK;
    for (int j = 1; j < t->n_ok; j++)
        if (cinfer_tensor_numel(&t->plan[j]->vals[v].t) != n || !t->plan[j]->vals[v].t.data)
            return CINFER_OK;
    char buf[MAX_SHOWN_ELEMS * 64 + 4], one[2 * SYM_LEN + 48];
    size_t used = (size_t)snprintf(buf, sizeof buf, "%s", t0->rank ? "[" : "");
    for (int64_t i = 0; i < n && used < sizeof buf; i++) {
        int64_t x[N_SAMPLES] = {0};
        for (int j = 0; j < t->n_ok; j++) x[j] = int_elem(&t->plan[j]->vals[v].t, i);
        explain(t, x, one, sizeof one);
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", i ? ", " : "", one);
    }
    if (t0->rank && used < sizeof buf) snprintf(buf + used, sizeof buf - used, "]");
    if (!(*out = cinfer__strdup(buf)))
        return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    return CINFER_OK;
}

/* Fills one result from value v of every sample plan. */
static cinfer_status describe_value(const cinfer__graph *g, const sym_table *t, int v,
                                    cinfer__value_shape *r, cinfer__err *err) {
    const cinfer_tensor *t0 = &t->plan[0]->vals[v].t;
    const cinfer__value *gv = &g->values[v];
    *r = (cinfer__value_shape){.name = gv->name, .dtype = t0->dtype, .rank = t0->rank,
                               .is_input = gv->is_input, .is_output = gv->is_output,
                               .is_constant = gv->constant != NULL, .folded = !gv->constant};
    for (int j = 0; j < t->n_ok; j++) {
        const cinfer__plan_value *pv = &t->plan[j]->vals[v];
        if (pv->t.rank != t0->rank) r->rank = -1;
        r->folded &= pv->folded;
    }
    for (int d = 0; d < r->rank; d++) {
        int64_t dim[N_SAMPLES] = {0};
        for (int j = 0; j < t->n_ok; j++) dim[j] = t->plan[j]->vals[v].t.dims[d];
        char buf[2 * SYM_LEN + 48];
        r->dims[d] = explain(t, dim, buf, sizeof buf) ? dim[0] : -1;
        if (!(r->sym[d] = cinfer__strdup(buf)))
            return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    }
    if (r->folded && r->rank >= 0) CINFER_TRY(explain_contents(t, v, &r->contents, err));
    return CINFER_OK;
}

/* The report order: model inputs, node outputs in execution order, then the rest (weights). */
static cinfer_status collect_values(const cinfer__graph *g, const sym_table *t,
                                    cinfer__value_shape *res, int *n_res, cinfer__err *err) {
    bool *seen = cinfer__calloc((size_t)g->n_values + 1, sizeof *seen);
    int *order = cinfer__calloc((size_t)g->n_values + 1, sizeof *order);
    int n = 0;
    cinfer_status st = CINFER_OK;
    if (!seen || !order) st = cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
#define ADD(v)                                                                             \
    do {                                                                                   \
        if ((v) >= 0 && !seen[v] && t->plan[0]->vals[v].t.dtype != CINFER_DTYPE_UNDEFINED) \
            seen[v] = true, order[n++] = (v);                                              \
    } while (0)
    for (int i = 0; st == CINFER_OK && i < g->n_inputs; i++) ADD(g->inputs[i]);
    for (int k = 0; st == CINFER_OK && k < g->n_nodes; k++)
        for (int o = 0; !g->nodes[k].dead && o < g->nodes[k].n_out; o++) ADD(g->nodes[k].out[o]);
    for (int v = 0; st == CINFER_OK && v < g->n_values; v++) ADD(v);
#undef ADD
    for (int i = 0; st == CINFER_OK && i < n; i++) {
        *n_res = i + 1;
        st = describe_value(g, t, order[i], &res[i], err);
    }
    cinfer__free(seen);
    cinfer__free(order);
    return st;
}

static cinfer_status symbolic_shapes(cinfer_model *m, cinfer__value_shape **out, int *n_out,
                                     cinfer__err *err) {
    const cinfer__graph *g = m->g;
    for (int i = 0; i < g->n_inputs; i++)
        if (m->input_value_needed[i])
            return cinfer__errorf(err, CINFER_UNSUPPORTED,
                                  "symbolic shapes: the contents of input '%s' decide shapes, "
                                  "so shapes cannot be inferred without data",
                                  g->values[g->inputs[i]].name);
    sym_table t = {0};
    cinfer_status st = plan_samples(m, &t, err);
    cinfer__value_shape *res = NULL;
    int n = 0;
    if (st == CINFER_OK && !(res = cinfer__calloc((size_t)g->n_values + 1, sizeof *res)))
        st = cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    if (st == CINFER_OK) st = collect_values(g, &t, res, &n, err);
    table_free(&t);
    if (st != CINFER_OK) {
        cinfer__value_shapes_free(res, n);
        return st;
    }
    *out = res;
    *n_out = n;
    return CINFER_OK;
}

cinfer_status cinfer__model_symbolic_shapes(cinfer_model *m, cinfer__value_shape **out,
                                            int *n_out) {
    cinfer__err err = {{0}};
    if (!m || !out || !n_out) {
        cinfer__errorf(&err, CINFER_INVALID_ARGUMENT, "symbolic shapes: NULL argument");
        cinfer__set_last_error(err.msg);
        return CINFER_INVALID_ARGUMENT;
    }
    *out = NULL;
    *n_out = 0;
    cinfer_status st = symbolic_shapes(m, out, n_out, &err);
    if (st != CINFER_OK) {
        cinfer__err_prefix(&err, "model '%s'", m->path);
        cinfer__set_last_error(err.msg);
    }
    return st;
}

void cinfer__value_shapes_free(cinfer__value_shape *shapes, int n) {
    if (!shapes) return;
    for (int i = 0; i < n; i++) {
        for (int d = 0; d < CINFER_MAX_RANK; d++) cinfer__free(shapes[i].sym[d]);
        cinfer__free(shapes[i].contents);
    }
    cinfer__free(shapes);
}

char *cinfer__value_shape_str(const cinfer__value_shape *s, char *buf, size_t len) {
    if (s->rank < 0) {
        snprintf(buf, len, "(rank depends on the symbols)");
        return buf;
    }
    size_t used = (size_t)snprintf(buf, len, "[");
    for (int d = 0; d < s->rank && used < len; d++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", d ? " x " : "", s->sym[d]);
    if (used < len) snprintf(buf + used, len - used, "]");
    return buf;
}
