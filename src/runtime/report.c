/* FLOP counts per node and the model report behind `cinfer inspect`. */
#include <string.h>

#include "core/alloc.h"
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

double cinfer__node_flops(const cinfer__node *n, const cinfer_tensor *const *in, int n_in,
                          const cinfer_tensor *const *out, int n_out) {
    if (n_out < 1 || !out[0] || n->domain[0]) return 0;
    double out_n = (double)cinfer_tensor_numel(out[0]);
    const char *op = n->op_type;
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
        int k = 0;
        while (k < r->n_ops && strcmp(r->ops[k].op_type, g->nodes[i].op_type)) k++;
        if (k == r->n_ops) r->ops[r->n_ops++] = (cinfer__op_count){g->nodes[i].op_type, 0};
        r->ops[k].count++;
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
    if (histogram(g, r) != CINFER_OK) return CINFER_OUT_OF_MEMORY;
    for (int v = 0; v < g->n_values; v++) {
        const cinfer_tensor *c = g->values[v].constant;
        if (!c) continue;
        r->param_bytes += cinfer__tensor_bytes(c);
        if (cinfer__dtype_is_float(c->dtype)) r->n_params += cinfer_tensor_numel(c);
    }
    cinfer__plan *p;
    cinfer_status st = cinfer__plan_get(m, inputs, &p, &err);
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
    return CINFER_OK;
}

void cinfer__model_report_free(cinfer__model_report *r) {
    cinfer__free(r->ops);
    r->ops = NULL;
}
