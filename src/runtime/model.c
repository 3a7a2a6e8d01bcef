/* Model handle: load (import, resolve, passes, a probe plan), I/O description, run entry. */
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "ir/static_dims.h"
#include "ir/passes.h"
#include "onnx/onnx_import.h"
#include "runtime/runtime.h"

void cinfer_model_options_init(cinfer_model_options *o) {
    *o = (cinfer_model_options){.struct_size = sizeof *o, .fold_cap_bytes = 1u << 20, .fuse = 1,
                                .cuda_graphs = 1, .precision = CINFER_PRECISION_STORED,
                                .channels_last = 1};
}

const char *cinfer_precision_name(cinfer_precision p) {
    switch (p) {
    case CINFER_PRECISION_FP32: return "fp32";
    case CINFER_PRECISION_TF32: return "tf32";
    case CINFER_PRECISION_FP16: return "fp16";
    case CINFER_PRECISION_BF16: return "bf16";
    case CINFER_PRECISION_STORED: return "stored";
    }
    return "unknown";
}

cinfer_precision cinfer_model_precision(const cinfer_model *m) {
    return m ? m->precision : CINFER_PRECISION_FP32;
}

cinfer_precision cinfer__node_precision(const cinfer_model *m, const cinfer__node *n) {
    for (int i = 0; i < m->n_fp32_ops; i++)
        if (!strcmp(m->fp32_ops[i], n->op_type)) return CINFER_PRECISION_FP32;
    return m->precision;
}

/* Checks the precision option, splits fp32_ops into m->fp32_ops and, on a CPU runtime, says
 * once that the precision does not apply there. */
static cinfer_status set_precision(cinfer_model *m, const cinfer_model_options *o,
                                   cinfer__err *err) {
    if ((unsigned)o->precision > CINFER_PRECISION_STORED)
        return cinfer__errorf(err, CINFER_INVALID_ARGUMENT,
                              "model options: precision %d is not a cinfer_precision "
                              "(FP32, TF32, FP16, BF16 or STORED)", (int)o->precision);
    m->precision = o->precision;
    /* STORED is resolved once the file says how it stores its floats (load_graph); a CPU
     * computes in fp32 whatever the file stores, and only an explicit request is worth a
     * warning. */
    if (!m->rt->cuda && m->precision == CINFER_PRECISION_STORED) m->precision = CINFER_PRECISION_FP32;
    if (!m->rt->cuda && m->precision != CINFER_PRECISION_FP32) {
        cinfer__log(m->rt, CINFER_LOG_WARN, "the CPU backend computes in fp32: precision %s "
                    "ignored", cinfer_precision_name(m->precision));
        m->precision = CINFER_PRECISION_FP32;
    }
    for (const char *s = o->fp32_ops; s && *s;) {
        size_t len = strcspn(s, ",");
        const char *e = s + len;
        while (len && (*s == ' ' || *s == '\t')) s++, len--;
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t')) len--;
        if (!len)
            return cinfer__errorf(err, CINFER_INVALID_ARGUMENT,
                                  "model options: fp32_ops '%s' has an empty entry", o->fp32_ops);
        char **ops = cinfer__realloc(m->fp32_ops, (size_t)(m->n_fp32_ops + 1) * sizeof *ops);
        if (!ops) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
        m->fp32_ops = ops;
        if (!(ops[m->n_fp32_ops] = cinfer__strndup(s, len)))
            return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
        m->n_fp32_ops++;
        s = *e ? e + 1 : e;
    }
    return CINFER_OK;
}

/* PRECISION_STORED on a GPU: the 16-bit arithmetic the model is stored in (ONNX Runtime's
 * CUDA provider runs an fp16 model in fp16 too), fp32 for a float model. */
static void resolve_stored_precision(cinfer_model *m) {
    if (m->precision != CINFER_PRECISION_STORED) return;
    m->precision = m->stored_float == CINFER_DTYPE_FLOAT16    ? CINFER_PRECISION_FP16
                   : m->stored_float == CINFER_DTYPE_BFLOAT16 ? CINFER_PRECISION_BF16
                                                              : CINFER_PRECISION_FP32;
    if (m->precision != CINFER_PRECISION_FP32)
        cinfer__log(m->rt, CINFER_LOG_INFO, "%s is stored in %s, so its GPU steps compute in "
                    "%s too (precision stored; precision fp32 asks for float arithmetic)",
                    m->path ? m->path : "<memory>", cinfer_precision_name(m->precision),
                    cinfer_precision_name(m->precision));
}

static bool env_is(const char *name, const char *value) {
    const char *s = getenv(name);
    return s && !strcmp(s, value);
}

/* Records a failure on the model (if any) and on the calling thread. */
static cinfer_status fail(cinfer_model *m, cinfer_status st, const cinfer__err *err) {
    cinfer__set_last_error(err->msg);
    if (m) {
        pthread_mutex_lock(&m->mu);
        snprintf(m->last_error, sizeof m->last_error, "%s", err->msg);
        pthread_mutex_unlock(&m->mu);
    }
    return st;
}

static cinfer_status fill_info(const cinfer__graph *g, const int *idx, int n,
                               cinfer_value_info **out, cinfer__err *err) {
    cinfer_value_info *info = cinfer__calloc((size_t)(n ? n : 1), sizeof *info);
    if (!info) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    for (int i = 0; i < n; i++) {
        const cinfer__value *v = &g->values[idx[i]];
        info[i] = (cinfer_value_info){.name = v->name, .dtype = v->dtype, .rank = v->rank,
                                      .dims = v->dims,
                                      .dim_names = (const char *const *)v->dim_names};
    }
    *out = info;
    return CINFER_OK;
}

/* Plans the model once at load with every symbolic dimension set to 1, so that unsupported
 * dtypes or attribute values surface now rather than at the first run. Only UNSUPPORTED
 * fails the load: other errors may come from the made-up shapes. */
static cinfer_status probe_plan(cinfer_model *m, cinfer__err *err) {
    const cinfer__graph *g = m->g;
    for (int i = 0; i < g->n_inputs; i++)
        if (m->input_value_needed[i] || g->values[g->inputs[i]].rank < 0) return CINFER_OK;
    cinfer_tensor *ins = cinfer__calloc((size_t)(g->n_inputs ? g->n_inputs : 1), sizeof *ins);
    if (!ins) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory");
    for (int i = 0; i < g->n_inputs; i++) {
        const cinfer__value *v = &g->values[g->inputs[i]];
        ins[i].dtype = v->dtype;
        ins[i].rank = v->rank;
        for (int d = 0; d < v->rank; d++) ins[i].dims[d] = v->dims[d] >= 0 ? v->dims[d] : 1;
    }
    cinfer__plan *p = NULL;
    cinfer__err perr = {{0}};
    bool transient;
    cinfer_status st = cinfer__plan_get(m, ins, &p, &transient, &perr);
    if (st == CINFER_OK && transient) cinfer__plan_destroy(p);
    cinfer__free(ins);
    if (st == CINFER_UNSUPPORTED) {
        *err = perr;
        return st;
    }
    if (st != CINFER_OK)
        cinfer__log(m->rt, CINFER_LOG_DEBUG, "%s: probe plan with symbolic dims = 1: %s",
                    m->path, perr.msg);
    return CINFER_OK;
}

/* Shape arithmetic that load-time shape inference settles (a Slice bound computed from a
 * weight's dimension) becomes constants, and what those make constant is folded in turn; a few
 * rounds reach the fixed point of the exporters' Shape -> Gather -> Div -> Slice chains. The
 * last round leaves g->sdims describing the graph the fusion passes see. */
static cinfer_status fold_static_dims(cinfer_model *m, cinfer__err *err) {
    for (int round = 0; round < 4; round++) {
        int n = 0, folded = 0;
        CINFER_TRY(cinfer__pass_static_dims(m->g, &n, err));
        m->n_folded_static += n;
        if (n == 0) break;
        CINFER_TRY(cinfer__pass_fold_constants(m, &folded, err));
        m->n_folded_load += folded;
    }
    return CINFER_OK;
}

static cinfer_status load_graph(cinfer_model *m, const void *data, size_t size,
                                const char *base_dir, cinfer__err *err) {
    CINFER_TRY(cinfer__onnx_import(data, size, base_dir, &m->g, err));
    cinfer__graph *g = m->g;
    m->n_nodes_imported = g->n_nodes;
    CINFER_TRY(cinfer__graph_resolve_ops(g, err));
    CINFER_TRY(cinfer__pass_float_compute(g, &m->stored_half, &m->stored_float, err));
    resolve_stored_precision(m);
    CINFER_TRY(cinfer__pass_fold_conv_bn(g, &m->n_folded_conv_bn, err));
    CINFER_TRY(cinfer__pass_fold_constants(m, &m->n_folded_load, err));
    CINFER_TRY(fold_static_dims(m, err));
    cinfer__pass_dead_nodes(g);
    if (m->fuse) {
        CINFER_TRY(cinfer__pass_fuse(g, &m->fusions, err));
        cinfer__pass_dead_nodes(g); /* what only the fused-away nodes' shape arithmetic read */
    }
    CINFER_TRY(cinfer__mark_value_needed(m, err));
    CINFER_TRY(fill_info(g, g->inputs, g->n_inputs, &m->in_info, err));
    CINFER_TRY(fill_info(g, g->outputs, g->n_outputs, &m->out_info, err));
    for (int i = 0; i < g->n_inputs; i++) {
        const cinfer__value *v = &g->values[g->inputs[i]];
        if (v->dtype == CINFER_DTYPE_UNDEFINED || v->rank < 0)
            return cinfer__errorf(err, CINFER_UNSUPPORTED,
                                  "input '%s' has no declared tensor type and shape", v->name);
    }
    if (m->rt->cuda) CINFER_TRY(cinfer__cuda_model_load(m, err));
    return probe_plan(m, err);
}

static cinfer_status model_load(cinfer_runtime *rt, const char *path, const void *data,
                                size_t size, const cinfer_model_options *opts,
                                cinfer_model **out) {
    cinfer__err err = {{0}};
    cinfer_model_options o;
    cinfer_model_options_init(&o);
    if (!rt || !out)
        return fail(NULL, cinfer__errorf(&err, CINFER_INVALID_ARGUMENT,
                                         "cinfer_model_load: runtime or out is NULL"), &err);
    *out = NULL;
    if (opts) {
        /* Callers built against an older, shorter struct get defaults for the newer fields. */
        size_t oldest = offsetof(cinfer_model_options, fuse);
        if (opts->struct_size < oldest)
            return fail(NULL, cinfer__errorf(&err, CINFER_INVALID_ARGUMENT,
                                             "model options: struct_size %u too small",
                                             opts->struct_size), &err);
        memcpy(&o, opts, opts->struct_size < sizeof o ? opts->struct_size : sizeof o);
        o.struct_size = sizeof o;
    }
    cinfer_model *m = cinfer__calloc(1, sizeof *m);
    if (!m) return fail(NULL, cinfer__errorf(&err, CINFER_OUT_OF_MEMORY, "out of memory"), &err);
    pthread_mutex_init(&m->mu, NULL);
    pthread_mutex_init(&m->gpu_mu, NULL);
    m->rt = rt;
    m->fold_cap = o.fold_cap_bytes;
    m->fuse = o.fuse != 0;
    m->channels_last = o.channels_last != 0;
    m->cuda_graphs = o.cuda_graphs != 0 && !env_is("CINFER_CUDA_GRAPHS", "0") &&
                     !env_is("CINFER_CUDA_SYNC", "1");
    m->guard = getenv("CINFER_GUARD_BYTES") && atoi(getenv("CINFER_GUARD_BYTES")) > 0;
    m->profile = getenv("CINFER_PROFILE") && atoi(getenv("CINFER_PROFILE")) > 0;
    m->path = cinfer__strdup(path ? path : "<memory>");
    void *file = NULL;
    char dir[PATH_MAX];
    const char *base = o.base_dir;
    cinfer_status st = m->path ? CINFER_OK
                               : cinfer__errorf(&err, CINFER_OUT_OF_MEMORY, "out of memory");
    if (st == CINFER_OK) st = set_precision(m, &o, &err);
    if (st == CINFER_OK && path) {
        st = cinfer__read_file(path, &file, &size, &err);
        data = file;
        if (!base) {
            snprintf(dir, sizeof dir, "%s", path);
            base = dirname(dir);
        }
    }
    if (st == CINFER_OK) st = load_graph(m, data, size, base, &err);
    cinfer__free(file);
    if (st != CINFER_OK) {
        cinfer__err_prefix(&err, "model '%s'", m->path ? m->path : "<memory>");
        cinfer_model_destroy(m);
        return fail(NULL, st, &err);
    }
    cinfer__log(rt, CINFER_LOG_INFO, "loaded %s: %d nodes (%d imported), %d Conv+BN folded",
                m->path, cinfer__graph_live_nodes(m->g), m->n_nodes_imported,
                m->n_folded_conv_bn);
    *out = m;
    return CINFER_OK;
}

cinfer_status cinfer_model_load(cinfer_runtime *rt, const char *path,
                                const cinfer_model_options *opts, cinfer_model **out) {
    if (!path) {
        cinfer__err err;
        return fail(NULL, cinfer__errorf(&err, CINFER_INVALID_ARGUMENT,
                                         "cinfer_model_load: path is NULL"), &err);
    }
    return model_load(rt, path, NULL, 0, opts, out);
}

cinfer_status cinfer_model_load_memory(cinfer_runtime *rt, const void *data, size_t size,
                                       const cinfer_model_options *opts, cinfer_model **out) {
    if (!data) {
        cinfer__err err;
        return fail(NULL, cinfer__errorf(&err, CINFER_INVALID_ARGUMENT,
                                         "cinfer_model_load_memory: data is NULL"), &err);
    }
    return model_load(rt, NULL, data, size, opts, out);
}

void cinfer_model_destroy(cinfer_model *m) {
    if (!m) return;
    cinfer__sched_detach_all(m); /* before anything they run on is freed */
    while (m->plans) {
        cinfer__plan *p = m->plans;
        m->plans = p->next;
        cinfer__plan_destroy(p);
    }
    cinfer__cuda_model_free(m); /* after the plans: their contexts use the weights */
    cinfer__graph_destroy(m->g);
    cinfer__free(m->in_info);
    cinfer__free(m->out_info);
    cinfer__free(m->input_value_needed);
    cinfer__free(m->value_needed);
    cinfer__free(m->path);
    for (int i = 0; i < m->n_fp32_ops; i++) cinfer__free(m->fp32_ops[i]);
    cinfer__free(m->fp32_ops);
    pthread_mutex_destroy(&m->mu);
    pthread_mutex_destroy(&m->gpu_mu);
    cinfer__free(m);
}

const char *cinfer_model_last_error(const cinfer_model *m) { return m ? m->last_error : ""; }
const char *cinfer__model_path(const cinfer_model *m) { return m->path; }
size_t cinfer_model_input_count(const cinfer_model *m) { return (size_t)m->g->n_inputs; }
size_t cinfer_model_output_count(const cinfer_model *m) { return (size_t)m->g->n_outputs; }

cinfer_status cinfer_model_input_info(const cinfer_model *m, size_t i, cinfer_value_info *out) {
    if (i >= (size_t)m->g->n_inputs) return CINFER_NOT_FOUND;
    *out = m->in_info[i];
    return CINFER_OK;
}

cinfer_status cinfer_model_output_info(const cinfer_model *m, size_t i, cinfer_value_info *out) {
    if (i >= (size_t)m->g->n_outputs) return CINFER_NOT_FOUND;
    *out = m->out_info[i];
    return CINFER_OK;
}

static int find_io(const cinfer__graph *g, const int *idx, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(g->values[idx[i]].name, name)) return i;
    return -1;
}

/* A CINFER_TENSOR_DEVICE input needs a CUDA runtime, and must be host memory where its values
 * decide shapes (the planner reads them on the host). */
static cinfer_status check_device_input(const cinfer_model *m, int k, cinfer__err *err) {
    const char *name = m->g->values[m->g->inputs[k]].name;
    if (!m->rt->cuda)
        return cinfer__errorf(err, CINFER_INVALID_INPUT, "input '%s' is flagged as device memory "
                              "(CINFER_TENSOR_DEVICE) but the runtime runs on the CPU", name);
    if (m->input_value_needed[k])
        return cinfer__errorf(err, CINFER_INVALID_INPUT, "input '%s' is in device memory, but "
                              "its values decide shapes and are read on the host: pass it in "
                              "host memory", name);
    return CINFER_OK;
}

/* A CINFER_TENSOR_DEVICE output needs a CUDA runtime and the caller's buffer. */
static cinfer_status check_device_output(const cinfer_model *m, int k, const cinfer_tensor *t,
                                         cinfer__err *err) {
    const char *name = m->g->values[m->g->outputs[k]].name;
    if (!(t->flags & CINFER_TENSOR_DEVICE)) return CINFER_OK;
    if (!m->rt->cuda)
        return cinfer__errorf(err, CINFER_INVALID_ARGUMENT, "output '%s' is flagged as device "
                              "memory (CINFER_TENSOR_DEVICE) but the runtime runs on the CPU",
                              name);
    if (!t->data)
        return cinfer__errorf(err, CINFER_INVALID_ARGUMENT, "output '%s' is flagged as device "
                              "memory but data is NULL: the runtime allocates host outputs "
                              "only (use cinfer_device_alloc)", name);
    return CINFER_OK;
}

/* Puts the caller's inputs into model order, checking names, dtypes and ranks. */
static cinfer_status bind_inputs(cinfer_model *m, size_t n, const char *const *names,
                                 const cinfer_tensor *inputs, cinfer_tensor *ordered,
                                 cinfer__err *err) {
    const cinfer__graph *g = m->g;
    if (n != (size_t)g->n_inputs)
        return cinfer__errorf(err, CINFER_INVALID_INPUT, "%zu inputs given, the model has %d",
                              n, g->n_inputs);
    bool seen[CINFER_MAX_IO * 16] = {0};
    for (size_t i = 0; i < n; i++) {
        int k = names ? find_io(g, g->inputs, g->n_inputs, names[i]) : (int)i;
        if (k < 0)
            return cinfer__errorf(err, CINFER_INVALID_INPUT, "the model has no input named '%s'",
                                  names[i]);
        if (k < (int)(sizeof seen) && seen[k])
            return cinfer__errorf(err, CINFER_INVALID_INPUT, "input '%s' given twice",
                                  g->values[g->inputs[k]].name);
        if (k < (int)(sizeof seen)) seen[k] = true;
        const cinfer__value *v = &g->values[g->inputs[k]];
        const cinfer_tensor *t = &inputs[i];
        if (t->dtype != v->dtype)
            return cinfer__errorf(err, CINFER_INVALID_INPUT,
                                  "input '%s': dtype %s given, the model declares %s", v->name,
                                  cinfer_dtype_name(t->dtype), cinfer_dtype_name(v->dtype));
        if (t->rank < 0 || t->rank > CINFER_MAX_RANK || (v->rank >= 0 && t->rank != v->rank))
            return cinfer__errorf(err, CINFER_INVALID_INPUT,
                                  "input '%s': rank %d given, the model declares rank %d",
                                  v->name, t->rank, v->rank);
        for (int d = 0; d < t->rank; d++) {
            if (t->dims[d] < 0 || (v->dims[d] >= 0 && t->dims[d] != v->dims[d])) {
                char got[128], want[128];
                cinfer__shape_str(t->rank, t->dims, got, sizeof got);
                cinfer__shape_str(v->rank, v->dims, want, sizeof want);
                return cinfer__errorf(err, CINFER_INVALID_INPUT,
                                      "input '%s': shape %s given, the model declares %s "
                                      "(-1 = any) and dimension %d differs",
                                      v->name, got, want, d);
            }
        }
        if (!t->data && cinfer_tensor_numel(t) > 0)
            return cinfer__errorf(err, CINFER_INVALID_INPUT, "input '%s': data is NULL", v->name);
        if (t->flags & CINFER_TENSOR_DEVICE) CINFER_TRY(check_device_input(m, k, err));
        ordered[k] = *t;
    }
    return CINFER_OK;
}

cinfer_status cinfer_model_run(cinfer_model *m, size_t n_inputs, const char *const *input_names,
                               const cinfer_tensor *inputs, size_t n_outputs,
                               const char *const *output_names, cinfer_tensor *outputs) {
    cinfer__err err = {{0}};
    if (!m || (n_inputs && !inputs) || (n_outputs && !outputs))
        return fail(m, cinfer__errorf(&err, CINFER_INVALID_ARGUMENT,
                                      "cinfer_model_run: NULL model, inputs or outputs"), &err);
    const cinfer__graph *g = m->g;
    if (n_outputs > (size_t)g->n_outputs)
        return fail(m, cinfer__errorf(&err, CINFER_INVALID_ARGUMENT,
                                      "model '%s': %zu outputs asked for, it has %d", m->path,
                                      n_outputs, g->n_outputs), &err);
    cinfer_tensor ordered_stack[16];
    int out_idx_stack[16];
    cinfer_tensor *ordered = g->n_inputs <= 16 ? ordered_stack
                                               : cinfer__calloc((size_t)g->n_inputs,
                                                                sizeof *ordered);
    int *out_idx = n_outputs <= 16 ? out_idx_stack : cinfer__calloc(n_outputs, sizeof(int));
    cinfer_status st = CINFER_OK;
    if (!ordered || !out_idx) {
        st = cinfer__errorf(&err, CINFER_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    st = bind_inputs(m, n_inputs, input_names, inputs, ordered, &err);
    for (size_t i = 0; st == CINFER_OK && i < n_outputs; i++) {
        out_idx[i] = output_names ? find_io(g, g->outputs, g->n_outputs, output_names[i])
                                  : (int)i;
        if (out_idx[i] < 0)
            st = cinfer__errorf(&err, CINFER_INVALID_ARGUMENT, "the model has no output '%s'",
                                output_names[i]);
        else
            st = check_device_output(m, out_idx[i], &outputs[i], &err);
    }
    cinfer__plan *p = NULL;
    bool transient = false;
    if (st == CINFER_OK) st = cinfer__plan_get(m, ordered, &p, &transient, &err);
    if (st == CINFER_OK) st = cinfer__plan_run(m, p, ordered, n_outputs, out_idx, outputs, &err);
    if (transient) cinfer__plan_destroy(p);
done:
    if (ordered != ordered_stack) cinfer__free(ordered);
    if (out_idx != out_idx_stack) cinfer__free(out_idx);
    if (st != CINFER_OK) {
        cinfer__err_prefix(&err, "model '%s'", m->path);
        return fail(m, st, &err);
    }
    return CINFER_OK;
}
