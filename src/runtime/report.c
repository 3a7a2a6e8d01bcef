/* FLOP counts per node and the model report behind `cinfer inspect`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "ops/attention.h"
#include "runtime/inspect.h"
#include "runtime/runtime.h"

static bool is_data_movement(const char *op) {
    static const char *const ops[] = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose",
                                      "Concat", "Split", "Slice", "Gather", "GatherElements",
                                      "Expand", "Tile", "Pad", "Identity", "Dropout", "Cast",
                                      "Shape", "Size", "ConstantOfShape", "Range",
                                      "DepthToSpace", "SpaceToDepth", NULL};
    for (int i = 0; ops[i]; i++)
        if (!strcmp(op, ops[i])) return true;
    return false;
}

/* The fusion passes' ops count what the ops they replaced count, so FLOPs do not depend on
 * whether fusion ran. */
static double fused_flops(const cinfer__node *n, const cinfer_tensor *const *in, int n_in,
                          double out_n) {
    const char *op = n->op_type;
    if (!strcmp(op, "FusedMatMul") && n_in >= 1 && in[0]->rank >= 1) {
        const char *act = cinfer__attr_string(n, "activation", "none");
        return out_n * (2.0 * (double)in[0]->dims[in[0]->rank - 1] + (n_in > 2 && in[2]) +
                        (strcmp(act, "none") != 0));
    }
    if (!strcmp(op, "Attention") && n_in >= 3 && in[0]->rank >= 2 && in[1]->rank >= 2) {
        double sq = (double)in[0]->dims[in[0]->rank - 2], d = (double)in[0]->dims[in[0]->rank - 1];
        double skv = (double)in[1]->dims[in[1]->rank - 1];
        double dv = (double)in[2]->dims[in[2]->rank - 1];
        if (cinfer__attr_int(n, "packed", 0)) { /* [B, S, H, D] operands, or rows of them */
            cinfer__attention_rows r;
            cinfer__attention_operand o[3];
            cinfer__attention_rows_of(n, &r);
            for (int i = 0; i < 3; i++)
                if (!cinfer__attention_operand_of(in[i], i, &r, &o[i])) return out_n;
            sq = (double)o[0].rows, d = (double)o[0].cols, skv = (double)o[1].rows;
            dv = (double)o[2].cols;
        }
        double entries = sq * dv > 0 ? out_n / (sq * dv) : 0, scores = entries * sq * skv;
        /* Q K and P V, then scale, mask and softmax once per score (as Div, Add, Softmax) */
        return 2.0 * scores * d + 2.0 * scores * dv + scores * (2.0 + (n_in > 3 && in[3]));
    }
    if (!strcmp(op, "SkipLayerNorm")) return 2.0 * out_n; /* Add + LayerNormalization */
    if (!strcmp(op, "FusedConv") && n_in >= 2 && in[1]->rank >= 1 && in[1]->dims[0] > 0)
        return out_n * (2.0 * (double)(cinfer_tensor_numel(in[1]) / in[1]->dims[0]) + 1.0);
    return out_n;
}

double cinfer__node_flops(const cinfer__node *n, const cinfer_tensor *const *in, int n_in,
                          const cinfer_tensor *const *out, int n_out) {
    if (n_out < 1 || !out[0]) return 0;
    double out_n = (double)cinfer_tensor_numel(out[0]);
    const char *op = n->op_type;
    if (!strcmp(n->domain, CINFER_FUSED_DOMAIN)) return fused_flops(n, in, n_in, out_n);
    if (n->domain[0]) return 0;
    if (!strcmp(op, "MatMul") && n_in >= 1 && in[0]->rank >= 1)
        return 2.0 * out_n * (double)in[0]->dims[in[0]->rank - 1];
    if (!strcmp(op, "Gemm") && n_in >= 2) {
        int64_t k = cinfer__attr_int(n, "transA", 0) ? in[0]->dims[0] : in[0]->dims[1];
        return 2.0 * out_n * (double)k;
    }
    if (!strcmp(op, "Conv") && n_in >= 2) /* W is (M, C/group, k...) */
        return 2.0 * out_n * (double)(cinfer_tensor_numel(in[1]) / in[1]->dims[0]);
    if (!strcmp(op, "ConvTranspose") && n_in >= 2) /* W is (C, M/group, k...) */
        return 2.0 * (double)cinfer_tensor_numel(in[0]) *
               (double)(cinfer_tensor_numel(in[1]) / in[1]->dims[0]);
    if (is_data_movement(op)) return 0;
    return out_n;
}

static cinfer_status histogram(const cinfer__graph *g, cinfer__model_report *r) {
    r->ops = cinfer__calloc((size_t)g->n_nodes + 1, sizeof *r->ops);
    if (!r->ops) return CINFER_OUT_OF_MEMORY;
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].dead) continue; /* what runs: after folding, DCE and fusion */
        int k = 0;
        while (k < r->n_ops && strcmp(r->ops[k].op_type, g->nodes[i].op_type)) k++;
        if (k == r->n_ops) r->ops[r->n_ops++] = (cinfer__op_count){g->nodes[i].op_type, 0};
        r->ops[k].count++;
    }
    return CINFER_OK;
}

/* Whether a step reads or writes a value stored channels last (it runs NHWC then, but for a
 * convolution cuDNN refuses in NHWC, which converts at its edges instead). */
static bool touches_nhwc(const cinfer__plan *p, const cinfer__node *n) {
    for (int k = 0; p->dev_layout && k < n->n_in + n->n_out; k++) {
        int v = k < n->n_in ? n->in[k] : n->out[k - n->n_in];
        if (v >= 0 && p->dev_layout[cinfer__alias_root(p->vals, v)] == CINFER_CUDA_NHWC)
            return true;
    }
    return false;
}

static cinfer_status report_placement(const cinfer__plan *p, cinfer__model_report *r) {
    r->cuda = true;
    r->n_gpu_steps = p->n_gpu_steps;
    r->n_copies = p->n_xfers;
    r->n_graph_segments = cinfer__plan_graph_segments(p);
    for (int v = 0; p->dev_half && v < p->n_values; v++)
        if (p->dev_half[v]) {
            r->n_half_values++;
            r->half_bytes += cinfer__tensor_bytes(&p->vals[v].t) / 2;
            if (p->dev_layout && p->dev_layout[v] == CINFER_CUDA_NHWC) {
                r->n_nhwc_values++;
                r->nhwc_bytes += cinfer__tensor_bytes(&p->vals[v].t) / 2;
            }
        }
    r->place = cinfer__calloc((size_t)p->n_steps + 1, sizeof *r->place);
    if (!r->place) return CINFER_OUT_OF_MEMORY;
    for (int s = 0; s < p->n_steps; s++) {
        const cinfer__plan_step *st = &p->steps[s];
        r->place[s] = (cinfer__step_place){.name = st->node->name,
                                           .op_type = st->node->op_type, .gpu = st->gpu,
                                           .precision = st->runs_in,
                                           .nhwc = touches_nhwc(p, st->node)};
        if (!st->gpu)
            snprintf(r->place[s].reason, sizeof r->place[s].reason, "%s",
                     st->cpu_reason ? st->cpu_reason : "");
    }
    return CINFER_OK;
}

cinfer_status cinfer__model_report_make(cinfer_model *m, size_t n_inputs,
                                        const cinfer_tensor *inputs, cinfer__model_report *r) {
    cinfer__err err = {{0}};
    const cinfer__graph *g = m->g;
    memset(r, 0, sizeof *r);
    if (n_inputs != (size_t)g->n_inputs) {
        cinfer__errorf(&err, CINFER_INVALID_ARGUMENT, "%zu input shapes given, the model has %d",
                       n_inputs, g->n_inputs);
        cinfer__set_last_error(err.msg);
        return CINFER_INVALID_ARGUMENT;
    }
    r->n_nodes_imported = m->n_nodes_imported;
    r->n_nodes = cinfer__graph_live_nodes(g);
    r->n_folded_conv_bn = m->n_folded_conv_bn;
    r->stored_half = m->stored_half;
    r->stored_float = m->stored_float;
    r->fusion_on = m->fuse;
    r->precision = m->precision;
    r->fusions = m->fusions;
    if (histogram(g, r) != CINFER_OK) return CINFER_OUT_OF_MEMORY;
    for (int v = 0; v < g->n_values; v++) {
        const cinfer_tensor *c = g->values[v].constant;
        if (!c) continue;
        r->param_bytes += cinfer__tensor_bytes(c);
        if (cinfer__dtype_is_float(c->dtype)) r->n_params += cinfer_tensor_numel(c);
    }
    cinfer__plan *p;
    bool transient;
    cinfer_status st = cinfer__plan_get(m, inputs, &p, &transient, &err);
    if (st != CINFER_OK) {
        cinfer__err_prefix(&err, "model '%s'", m->path);
        cinfer__set_last_error(err.msg);
        cinfer__model_report_free(r);
        return st;
    }
    r->n_steps = p->n_steps;
    r->flops = p->flops;
    r->arena_bytes = p->arena_bytes;
    r->naive_bytes = p->naive_bytes;
    r->peak_live_bytes = p->peak_live_bytes;
    r->folded_bytes = p->folded_bytes;
    for (int i = 0; i < g->n_inputs; i++) r->n_dynamic += m->input_value_needed[i];
    if (p->cuda) st = report_placement(p, r);
    r->cuda_graphs = m->cuda_graphs;
    if (transient) cinfer__plan_destroy(p);
    if (st != CINFER_OK) {
        cinfer__model_report_free(r);
        return st;
    }
    return CINFER_OK;
}

void cinfer__model_report_free(cinfer__model_report *r) {
    cinfer__free(r->ops);
    r->ops = NULL;
    cinfer__free(r->place);
    r->place = NULL;
}

typedef struct prof_row {
    const char *name;
    const char *op_type;
    double ms;
    uint64_t calls;
} prof_row;

static int by_ms_desc(const void *a, const void *b) {
    const prof_row *x = a, *y = b;
    return x->ms < y->ms ? 1 : x->ms > y->ms ? -1 : 0;
}

static void print_rows(FILE *f, prof_row *rows, int n, int limit, double total) {
    qsort(rows, (size_t)n, sizeof *rows, by_ms_desc);
    for (int i = 0; i < n && i < limit; i++)
        fprintf(f, "  %-28.28s %-22.22s %10.3f ms %6.1f%% %8llu calls\n", rows[i].name,
                rows[i].op_type, rows[i].ms, total > 0 ? 100.0 * rows[i].ms / total : 0.0,
                (unsigned long long)rows[i].calls);
}

void cinfer__model_profile_print(const cinfer_model *m, FILE *f) {
    if (!m->profile) {
        fprintf(f, "profile: set CINFER_PROFILE=1 before loading the model to time each op\n");
        return;
    }
    int n = 0;
    for (const cinfer__plan *p = m->plans; p; p = p->next) n += p->n_steps;
    prof_row *nodes = cinfer__calloc((size_t)n + 1, sizeof *nodes);
    prof_row *ops = cinfer__calloc((size_t)n + 1, sizeof *ops);
    if (!nodes || !ops) goto done;
    int n_nodes = 0, n_ops = 0;
    double total = 0;
    for (const cinfer__plan *p = m->plans; p; p = p->next)
        for (int s = 0; s < p->n_steps; s++) {
            const cinfer__plan_step *st = &p->steps[s];
            double ms = (double)atomic_load(&st->prof_ns) / 1e6;
            uint64_t calls = atomic_load(&st->prof_calls);
            if (!calls) continue;
            total += ms;
            nodes[n_nodes++] = (prof_row){st->node->name, st->node->op_type, ms, calls};
            int k = 0;
            while (k < n_ops && strcmp(ops[k].name, st->node->op_type)) k++;
            if (k == n_ops) ops[n_ops++] = (prof_row){st->node->op_type, "", 0, 0};
            ops[k].ms += ms;
            ops[k].calls += calls;
        }
    fprintf(f, "profile: %.3f ms in kernels over all runs\nby op type:\n", total);
    print_rows(f, ops, n_ops, n_ops, total);
    fprintf(f, "slowest nodes:\n");
    print_rows(f, nodes, n_nodes, 15, total);
done:
    cinfer__free(nodes);
    cinfer__free(ops);
}
