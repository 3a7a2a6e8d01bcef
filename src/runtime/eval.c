/* Running one node outside a plan: shape inference and constant folding share this. */
#include <string.h>

#include "core/alloc.h"
#include "runtime/runtime.h"

cinfer_status cinfer__infer_node(const cinfer__node *n, const cinfer_tensor *const *in, int n_in,
                                 cinfer_tensor *const *out, cinfer__err *err) {
    if (n_in > CINFER_MAX_IO || n->n_out > CINFER_MAX_IO)
        return cinfer__errorf(err, CINFER_UNSUPPORTED, "node '%s' (%s): more than %d inputs or "
                              "outputs", n->name, n->op_type, CINFER_MAX_IO);
    cinfer__infer_ctx ctx = {.node = n, .n_in = n_in, .n_out = n->n_out, .err = err};
    for (int i = 0; i < n_in; i++) ctx.in[i] = in[i];
    for (int i = 0; i < n->n_out; i++) {
        ctx.out[i] = out[i];
        if (out[i]) {
            out[i]->dtype = CINFER_DTYPE_UNDEFINED;
            out[i]->rank = 0;
        }
    }
    for (int k = 0; k < n_in; k++)
        if ((n->def->value_inputs >> k & 1) && in[k] && !in[k]->data && cinfer_tensor_numel(in[k]))
            return cinfer__errorf(err, CINFER_UNSUPPORTED,
                                  "node '%s' (%s): output shape depends on the values of input "
                                  "%d, which are only known while the model runs",
                                  n->name, n->op_type, k);
    cinfer_status st = n->def->infer(&ctx);
    if (st != CINFER_OK) {
        cinfer__err_prefix(err, "node '%s' (%s)", n->name, n->op_type);
        return st;
    }
    for (int i = 0; i < n->n_out; i++)
        if (out[i] && (out[i]->dtype == CINFER_DTYPE_UNDEFINED || out[i]->rank < 0))
            return cinfer__errorf(err, CINFER_INTERNAL,
                                  "node '%s' (%s): shape inference left output %d undefined",
                                  n->name, n->op_type, i);
    return CINFER_OK;
}

/* Builds the kernel context for a node whose tensors are given. */
static void fill_cpu_ctx(cinfer__cpu_ctx *c, const cinfer__node *n, const cinfer_tensor *const *in,
                         int n_in, cinfer_tensor *const *out, cinfer__pool *pool,
                         cinfer__err *err) {
    memset(c, 0, sizeof *c);
    c->node = n;
    c->n_in = n_in;
    c->n_out = n->n_out;
    for (int i = 0; i < n_in; i++) c->in[i] = in[i];
    for (int i = 0; i < n->n_out; i++) c->out[i] = out[i];
    c->pool = pool;
    c->err = err;
}

cinfer_status cinfer__eval_node(const cinfer__node *n, const cinfer_tensor *const *in, int n_in,
                                cinfer_tensor *const *out, cinfer__pool *pool, cinfer__err *err) {
    CINFER_TRY(cinfer__infer_node(n, in, n_in, out, err));
    const cinfer__cpu_kernel *k = cinfer__cpu_find(n->domain, n->op_type);
    if (!k)
        return cinfer__errorf(err, CINFER_UNSUPPORTED, "node '%s': no CPU kernel for op %s",
                              n->name, n->op_type);
    cinfer__cpu_ctx c;
    fill_cpu_ctx(&c, n, in, n_in, out, pool, err);
    cinfer_status st = k->supports ? k->supports(&c) : CINFER_OK;
    size_t scratch = st == CINFER_OK && k->scratch_bytes ? k->scratch_bytes(&c) : 0;
    for (int i = 0; st == CINFER_OK && i < n->n_out; i++) {
        if (!out[i]) continue;
        out[i]->flags = 0;
        out[i]->data = cinfer__aligned_alloc(cinfer__tensor_bytes(out[i]));
        if (!out[i]->data) st = cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    }
    if (st == CINFER_OK && scratch) {
        c.scratch = cinfer__aligned_alloc(scratch);
        if (!c.scratch) st = cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    }
    void *state = NULL;
    if (st == CINFER_OK && k->prepare) st = k->prepare(&c, &state);
    c.state = state;
    if (st == CINFER_OK) st = k->run(&c);
    if (state) k->release(state);
    cinfer__aligned_free(c.scratch);
    if (st != CINFER_OK) {
        for (int i = 0; i < n->n_out; i++)
            if (out[i]) cinfer__tensor_free_data(out[i]);
        cinfer__err_prefix(err, "node '%s' (%s)", n->name, n->op_type);
    }
    return st;
}
